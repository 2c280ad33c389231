"""What crosses the host/module boundary per request, for each filter with the benchmark's
configuration and request (bench/suites.py) and for the null modules: VM entries, host calls,
host-call bytes and allocations in the module, counted by the harness (`harness run --count`)
at Envoy's default log level (info). Counts are those of the second request (the first one
warms up lazy state). Writes JSON: {suite name | "<filter> twin" | "bare": counters}."""

import argparse
import json
import subprocess
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import envoy_config as ec  # noqa: E402
import suites as su  # noqa: E402


def scenario(suite):
    request = {"path": "/bench", "authority": "127.0.0.1", "headers": suite.headers,
               "response": {"status": 200, "headers": {"content-type": "application/json"}, "body": "{}"}}
    return {
        "plugin": {"name": suite.filter, "root_id": suite.filter, "vm_id": suite.filter, "config": suite.wasm_config},
        "node": {"id": ec.NODE["id"], "cluster": ec.NODE["cluster"], "metadata": ec.NODE["metadata"]},
        # The benchmark's listener is inbound (traffic_direction INBOUND).
        "properties": [{"path": ["xds", "listener_direction"], "int": 1}, {"path": ["listener_direction"], "int": 1}],
        "requests": [dict(request, name="warm-up"), dict(request, name="measured")],
    }


def count(harness, module, scenario_file):
    done = subprocess.run([harness, "run", str(module), "--scenario", str(scenario_file), "--json", "--count",
                           "--log-level", "info"], capture_output=True, text=True)
    if done.returncode != 0:
        raise SystemExit(f"profile: harness run of {module} failed ({done.returncode}): {done.stderr}\n{done.stdout[:2000]}")
    return json.loads(done.stdout)["requests"][-1]["counters"]


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--harness", required=True)
    p.add_argument("--modules", required=True)
    p.add_argument("--null-modules", help="bare.wasm and <filter>-twin.wasm (bench/nullmodule.py)")
    p.add_argument("--work", required=True)
    p.add_argument("--out", required=True)
    args = p.parse_args()
    work = Path(args.work)
    work.mkdir(parents=True, exist_ok=True)
    result = {}
    for suite in su.suites():
        scenario_file = work / f"{suite.name.replace(' ', '-')}.scenario.json"
        scenario_file.write_text(json.dumps(scenario(suite), indent=1))
        runs = [(suite.name, Path(args.modules) / f"{suite.filter}.wasm")]
        if args.null_modules:  # the null modules run the same requests
            runs += [(f"{suite.filter} twin", Path(args.null_modules) / f"{suite.filter}-twin.wasm"),
                     ("bare", Path(args.null_modules) / "bare.wasm")]
        for name, module in runs:
            if name in result:
                continue
            c = result[name] = count(args.harness, module, scenario_file)
            print(f"  {name:<20} {c['vm_entries']} VM entries, {c['host_calls']} host calls, "
                  f"{c['host_call_bytes']} host-call bytes, {c['allocations']} allocations per request", flush=True)
    Path(args.out).write_text(json.dumps(result, indent=1))


if __name__ == "__main__":
    main()
