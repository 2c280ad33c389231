"""A/B of several modules of one filter in real Envoy: one Envoy per module, plus one with no
filter, all with the filter's benchmark configuration (bench/suites.py) and measured the way
bench/run.py measures, the rounds alternated (the order rotated every round, so drift cancels).
For a change (old against new module), the null twin and probe modules in one session, which
`run.py --variant-module` (one variant per filter) cannot do. Prints the median Envoy CPU per
request of each module and writes every run to WORK/runs.json.

  .venv/bin/python bench/ab.py --filter metadata_exchange --module twin=T.wasm \\
      --module old=OLD.wasm --module new=dist/metadata_exchange.wasm --rounds 6 --work /tmp/ab
"""
import argparse
import json
import statistics
import subprocess
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import envoy_config as ec  # noqa: E402
import run as R  # noqa: E402
import suites as su  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--filter", required=True, help="the suite (bench/suites.py) whose configuration and request are used")
    p.add_argument("--module", action="append", default=[], metavar="NAME=PATH", help="a module to measure (repeat)")
    p.add_argument("--config", help="another plugin configuration (JSON) for every module")
    p.add_argument("--rounds", type=int, default=3)
    p.add_argument("--duration", type=int, default=5, help="seconds per measured run")
    p.add_argument("--warmup", type=int, default=1, help="seconds of load before each measured run")
    p.add_argument("--setups", default="direct,proxied")
    p.add_argument("--envoy", default=str(ROOT / ".venv/bin/envoy"))
    p.add_argument("--upstream", default=str(ROOT / "target/release/echo-upstream"))
    p.add_argument("--work", required=True)
    a = p.parse_args()
    modules = []
    for m in a.module:
        name, sep, path = m.partition("=")
        if not sep or not name or not Path(path).is_file():
            p.error(f"--module {m!r}: expected NAME=PATH of an existing .wasm file")
        modules.append((name, Path(path)))
    matching = [s for s in su.suites() if s.filter == a.filter]
    if not matching:
        p.error(f"--filter {a.filter!r}: no such suite (known: {', '.join(sorted({s.filter for s in su.suites()}))})")
    suite = matching[0]
    config = a.config or suite.wasm_config
    args = argparse.Namespace(envoy=a.envoy, upstream=a.upstream, nice=-10, envoy_core="0", load_core="1",
                              connections=16, rate_connections=10, warmup=a.warmup, duration=a.duration)
    work = Path(a.work)
    work.mkdir(parents=True, exist_ok=True)
    port_file = work / "upstream.port"
    port_file.unlink(missing_ok=True)
    upstream = subprocess.Popen(R.pinned(args, args.load_core) + [args.upstream, "serve", "--port-file", str(port_file)],
                                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    envoys = {}
    try:
        port = int(R.wait_for(lambda: port_file.exists() and port_file.read_text().strip(), 30, "upstream"))
        envoys["no filter"] = R.Envoy(args, "nofilter", lambda p_, d: ec.bootstrap(p_, port, [], None), work)
        for name, path in modules:
            envoys[name] = R.Envoy(args, name, lambda p_, d, path=path: ec.bootstrap(
                p_, port, [ec.wasm_filter(a.filter, path, config)], None), work)
        for e in envoys.values():
            e.wait_ready()
        for name, e in envoys.items():
            R.check_status(e, suite, name)
        results = []
        order = list(envoys)
        for setup in a.setups.split(","):
            for rnd in range(a.rounds):
                k = rnd % len(order)
                for name in order[k:] + order[:k]:
                    R.measure(args, envoys[name], suite, name, setup, rnd, results)
        (work / "runs.json").write_text(json.dumps(results, indent=1))
        print("\nmedian Envoy CPU µs/request (each round)")
        for setup in a.setups.split(","):
            for name in order:
                v = [r["cpu_us_per_request"] for r in results if r["role"] == name and r["setup"] == setup]
                print(f"  {setup:<8} {name:<14} {statistics.median(v):6.2f}   {' '.join(f'{x:.1f}' for x in v)}")
    finally:
        for e in envoys.values():
            e.stop()
        upstream.terminate()


if __name__ == "__main__":
    main()
