"""Real-Envoy benchmark runner (called by scripts/bench.sh): starts the echo upstream and one
Envoy per configuration (baseline, each wasm filter, each native/Lua counterpart, and with
--null-modules the bare null module and each filter's null twin, see bench/nullmodule.py),
checks that every configuration does its work, then measures with wrk in rounds that alternate
the configurations (A/B/C, then B/C/A, ...) so that drift on a shared machine cancels out.
The fixed-rate latency setup measures only no filter, wasm and native.

Envoy runs with --concurrency 1 pinned to core 0; wrk and the upstream share core 1.
Writes one JSON object with every run to --out."""

import argparse
import json
import os
import re
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import envoy_config as ec  # noqa: E402
import suites as su  # noqa: E402

CLK_TCK = os.sysconf("SC_CLK_TCK")


def parse_args():
    p = argparse.ArgumentParser()
    p.add_argument("--envoy", required=True)
    p.add_argument("--upstream", required=True, help="echo-upstream binary")
    p.add_argument("--modules", required=True, help="directory with <filter>.wasm")
    p.add_argument("--work", required=True)
    p.add_argument("--out", required=True)
    p.add_argument("--filters", default="http_headers,auth_check,request_logging,metadata_exchange",
                   help="modules whose suites run (every mode of each)")
    p.add_argument("--null-modules", help="directory with bare.wasm and <filter>-twin.wasm (bench/nullmodule.py)")
    p.add_argument("--rounds", type=int, default=4)
    p.add_argument("--duration", type=int, default=8, help="seconds per measured run")
    p.add_argument("--warmup", type=int, default=1, help="seconds of load before each measured run")
    p.add_argument("--connections", type=int, default=16)
    p.add_argument("--rate-rounds", type=int, default=3)
    p.add_argument("--rate-connections", type=int, default=10)
    p.add_argument("--rate-delay-ms", type=int, default=10, help="pause between a connection's requests")
    p.add_argument("--setups", default="proxied,direct,rate")
    p.add_argument("--wasm-config", action="append", default=[], metavar="FILTER=JSON",
                   help="another configuration for a wasm filter (experiments)")
    p.add_argument("--variant-module", action="append", default=[], metavar="FILTER=PATH",
                   help="experiment: also measure this module of FILTER (role 'variant')")
    p.add_argument("--variant-config", action="append", default=[], metavar="FILTER=JSON",
                   help="experiment: also measure FILTER with this configuration (role 'variant')")
    p.add_argument("--variant-log", action="append", default=[], metavar="FILTER",
                   help="experiment: the variant's Envoy also writes the suite's variant access log "
                        "(request_logging: the line from filter state, for \"output\": \"filter_state\")")
    p.add_argument("--nice", type=int, default=-10,
                   help="niceness of Envoy, wrk and the upstream when allowed (root), against other jobs")
    p.add_argument("--envoy-core", default="0")
    p.add_argument("--load-core", default="1")
    return p.parse_args()


def pinned(args, core):
    """taskset (and nice, when this user may raise priority) for a benchmark process."""
    prefix = ["nice", "-n", str(args.nice)] if os.geteuid() == 0 and args.nice else []
    return prefix + ["taskset", "-c", core]


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def cpu_seconds(pid):
    """User + system CPU time of a process (all its threads), from /proc/<pid>/stat."""
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / CLK_TCK


def wait_for(predicate, timeout, what):
    deadline = time.time() + timeout
    while time.time() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.1)
    raise SystemExit(f"bench: timed out waiting for {what}")


class Envoy:
    def __init__(self, args, name, config, work):
        self.name = name
        self.dir = work / name
        self.dir.mkdir(parents=True, exist_ok=True)
        self.port = free_port()
        self.log = self.dir / "envoy.log"
        self.admin_file = self.dir / "admin.txt"
        (self.dir / "envoy.json").write_text(ec.dumps(config(self.port, self.dir)))
        self.proc = subprocess.Popen(
            pinned(args, args.envoy_core) + [args.envoy, "-c", str(self.dir / "envoy.json"),
             "--concurrency", "1", "--use-dynamic-base-id", "--admin-address-path", str(self.admin_file),
             "--log-path", str(self.log)],
            stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT,
        )

    def wait_ready(self):
        def ready():
            if self.proc.poll() is not None:
                raise SystemExit(f"bench: Envoy '{self.name}' exited ({self.proc.returncode}); its log:\n"
                                 + self.log.read_text(errors="replace")[-4000:])
            if not self.admin_file.exists():
                return False
            try:
                with urllib.request.urlopen(f"http://{self.admin_file.read_text().strip()}/ready", timeout=2) as r:
                    return r.status == 200
            except (urllib.error.URLError, OSError):
                return False

        wait_for(ready, 60, f"Envoy '{self.name}' to be ready")

    def url(self, path):
        return f"http://127.0.0.1:{self.port}{path}"

    def stop(self):
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()


# Roles measured in every setup; the others (null modules, Lua next to a native filter) only in
# the saturated ones (direct, proxied), where Envoy CPU per request splits a filter's cost.
LATENCY_ROLES = ("baseline", "wasm", "native")


def request(url, headers):
    req = urllib.request.Request(url, headers=headers)
    try:
        with urllib.request.urlopen(req, timeout=5) as r:
            return r.status, {k.lower(): v for k, v in r.headers.items()}, r.read()
    except urllib.error.HTTPError as e:
        return e.code, {k.lower(): v for k, v in e.headers.items()}, e.read()


def check(envoy, suite, role):
    """The configuration does its work on both routes (else the numbers would mean nothing)."""
    if role in ("bare", "twin"):  # they do nothing by construction: they must only answer
        return check_status(envoy, suite, role)
    for path in ("/bench", "/direct/bench"):
        status, headers, body = request(envoy.url(path), suite.headers)
        error = suite.check(role, headers, status, envoy.dir)
        if error:
            raise SystemExit(f"bench: {suite.name}/{role} on {path}: {error}")
        if path == "/bench" and suite.upstream and role != "baseline" and not getattr(suite, "overridden", False):
            try:
                seen = json.loads(body).get("headers", [])
            except ValueError:
                seen = []
            if suite.upstream not in seen:
                raise SystemExit(f"bench: {suite.name}/{role}: the upstream did not receive '{suite.upstream}' "
                                 f"(it saw {seen})")
        if suite.refusal and role != "baseline":
            status, _, _ = request(envoy.url(path), suite.refusal[0])
            if status != suite.refusal[1]:
                raise SystemExit(f"bench: {suite.name}/{role} on {path}: bad credentials got {status}, expected {suite.refusal[1]}")
    if suite.filter == "request_logging" and role != "baseline" and not (role == "wasm" and getattr(suite, "overridden", False)):
        log = envoy.dir / "access.log" if role == "native" else envoy.log

        def logged():  # both logs are flushed by Envoy in the background
            return log.exists() and re.search(r'"path": ?"/bench"', log.read_text(errors="replace"))

        wait_for(logged, 15, f"request_logging/{role} to log the request to /bench")


def check_status(envoy, suite, role):
    for path in ("/bench", "/direct/bench"):
        status, _, _ = request(envoy.url(path), suite.headers)
        if status != 200:
            raise SystemExit(f"bench: {suite.name}/{role} on {path}: status {status}, expected 200")


UNITS = {"us": 1.0, "ms": 1000.0, "s": 1_000_000.0}


def to_us(text):
    m = re.fullmatch(r"([\d.]+)(us|ms|s)", text.strip())
    if not m:
        raise ValueError(f"cannot read wrk time '{text}'")
    return float(m.group(1)) * UNITS[m.group(2)]


def parse_wrk(out):
    result = {}
    m = re.search(r"Requests/sec:\s+([\d.]+)", out)
    result["rps"] = float(m.group(1)) if m else 0.0
    m = re.search(r"(\d+) requests in ([\d.]+)(\w+)", out)
    result["requests"] = int(m.group(1)) if m else 0
    for pct in ("50", "75", "90", "99"):
        m = re.search(rf"^\s+{pct}%\s+(\S+)", out, re.M)
        result[f"p{pct}_us"] = to_us(m.group(1)) if m else None
    m = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    result["non2xx"] = int(m.group(1)) if m else 0
    m = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", out)
    result["socket_errors"] = sum(int(x) for x in m.groups()) if m else 0
    return result


def wrk(args, url, headers, duration, connections, script=None):
    cmd = pinned(args, args.load_core) + ["wrk", "-t1", f"-c{connections}", f"-d{duration}s", "--latency"]
    for k, v in headers.items():
        cmd += ["-H", f"{k}: {v}"]
    if script:
        cmd += ["-s", str(script)]
    cmd.append(url)
    done = subprocess.run(cmd, capture_output=True, text=True, timeout=duration + 60)
    if done.returncode != 0:
        raise SystemExit(f"bench: wrk failed ({done.returncode}): {done.stderr}")
    return parse_wrk(done.stdout), done.stdout


def measure(args, envoy, suite, role, setup, rnd, results, script=None):
    path = "/direct/bench" if setup == "direct" else "/bench"
    connections = args.rate_connections if setup == "rate" else args.connections
    if args.warmup > 0:
        wrk(args, envoy.url(path), suite.headers, args.warmup, connections, script)
    before, t0 = cpu_seconds(envoy.proc.pid), time.time()
    res, raw = wrk(args, envoy.url(path), suite.headers, args.duration, connections, script)
    cpu, wall = cpu_seconds(envoy.proc.pid) - before, time.time() - t0
    res.update(filter=suite.name, role=role, setup=setup, round=rnd, envoy_cpu_s=cpu, wall_s=wall,
               cpu_us_per_request=(cpu * 1e6 / res["requests"]) if res["requests"] else None,
               envoy_cpu_share=cpu / wall if wall else None)
    if res["non2xx"] or res["socket_errors"] or not res["requests"]:
        raise SystemExit(f"bench: {suite.name}/{role}/{setup}: {res['non2xx']} non-2xx answers, "
                         f"{res['socket_errors']} socket errors, {res['requests']} requests:\n{raw}")
    print(f"  {suite.name:<20} {setup:<8} {role:<8} round {rnd}: {res['rps']:>9.0f} req/s  "
          f"p50 {res['p50_us']:>8.0f} us  p99 {res['p99_us']:>8.0f} us  "
          f"cpu {res['cpu_us_per_request']:.1f} us/req ({res['envoy_cpu_share']:.0%})", flush=True)
    results.append(res)


def main():
    args = parse_args()
    work = Path(args.work)
    work.mkdir(parents=True, exist_ok=True)
    modules = Path(args.modules)
    wanted = args.filters.split(",")
    selected = [s for s in su.suites() if s.filter in wanted]
    for override in args.wasm_config:
        name, _, config = override.partition("=")
        for s in selected:
            if s.name == name:
                s.wasm_config = config
                s.overridden = True  # the checks below assume the suite's own configuration

    port_file = work / "upstream.port"
    port_file.unlink(missing_ok=True)
    upstream = subprocess.Popen(pinned(args, args.load_core) + [args.upstream, "serve", "--port-file", str(port_file)],
                                stdout=subprocess.DEVNULL, stderr=open(work / "upstream.log", "w"))
    envoys = []
    try:
        upstream_port = int(wait_for(lambda: port_file.exists() and port_file.read_text().strip(), 30, "the echo upstream"))

        def config(filters_of, log_of=lambda d: None):
            return lambda port, d: ec.bootstrap(port, upstream_port, filters_of(d), log_of(d))

        baseline = Envoy(args, "baseline", config(lambda d: []), work)
        envoys.append(baseline)
        nulls = Path(args.null_modules) if args.null_modules else None
        if nulls:
            bare = Envoy(args, "bare", config(lambda d: [ec.wasm_filter("bare", nulls / "bare.wasm", "")]), work)
            envoys.append(bare)
        twins = {}  # one per module, shared by its suites (a twin has no configuration)
        per_suite = {}
        for s in selected:
            slug = s.name.replace(" ", "-")
            wasm = Envoy(args, f"{slug}-wasm",
                         config(lambda d, s=s: [ec.wasm_filter(s.filter, modules / f"{s.filter}.wasm", s.wasm_config)]), work)
            native = Envoy(args, f"{slug}-native", config(s.native_filters, s.native_log), work)
            envoys += [wasm, native]
            per_suite[s.name] = {"baseline": baseline, "wasm": wasm, "native": native}
            if s.lua:
                per_suite[s.name]["lua"] = Envoy(args, f"{slug}-lua", config(s.lua), work)
                envoys.append(per_suite[s.name]["lua"])
            if nulls:
                if s.filter not in twins:
                    twin = nulls / f"{s.filter}-twin.wasm"
                    twins[s.filter] = Envoy(args, f"{s.filter}-twin",
                                            config(lambda d, t=twin, f=s.filter: [ec.wasm_filter(f, t, "")]), work)
                    envoys.append(twins[s.filter])
                per_suite[s.name].update(bare=bare, twin=twins[s.filter])
            module = dict(v.split("=", 1) for v in args.variant_module).get(s.name)
            variant_config = dict(v.split("=", 1) for v in args.variant_config).get(s.name)
            if module or variant_config:
                if s.name in args.variant_log and not s.variant_log:
                    raise SystemExit(f"bench: --variant-log {s.name}: the suite has no variant access log")
                variant_log = s.variant_log if s.name in args.variant_log else (lambda d: None)
                variant = Envoy(args, f"{slug}-variant", config(
                    lambda d, s=s, m=module or modules / f"{s.filter}.wasm", c=variant_config or s.wasm_config:
                    [ec.wasm_filter(s.filter, m, c)], variant_log), work)
                envoys.append(variant)
                per_suite[s.name]["variant"] = variant
        for e in envoys:
            e.wait_ready()
        for s in selected:
            for role, e in per_suite[s.name].items():
                if role == "variant":  # its configuration may do less (e.g. sample_rate 0)
                    check_status(e, s, role)
                    if s.name in args.variant_log:  # its access log must print the line
                        log = e.dir / "access.log"
                        wait_for(lambda log=log: log.exists() and re.search(r'"path": ?"/bench"', log.read_text(errors="replace")),
                                 15, f"{s.name}/variant to print the request to /bench in its access log")
                else:
                    check(e, s, role)
        print("bench: every configuration answers and does its work", flush=True)

        pace = work / "pace.lua"
        pace.write_text(f"function delay()\n  return {args.rate_delay_ms}\nend\n")
        results = []
        for s in selected:
            setups = [(x, args.rate_rounds if x == "rate" else args.rounds) for x in args.setups.split(",")]
            for setup, rounds in setups:
                order = [r for r in per_suite[s.name] if setup != "rate" or r in LATENCY_ROLES]
                for rnd in range(rounds):
                    # Rotate the order each round: no configuration always runs first or last.
                    k = rnd % len(order)
                    rotated = order[k:] + order[:k]
                    for role in rotated:
                        measure(args, per_suite[s.name][role], s, role, setup, rnd, results,
                                pace if setup == "rate" else None)
        meta = {
            "rounds": args.rounds, "duration_s": args.duration, "warmup_s": args.warmup,
            "connections": args.connections, "rate_rounds": args.rate_rounds,
            "rate_connections": args.rate_connections, "rate_delay_ms": args.rate_delay_ms,
            "envoy_core": args.envoy_core, "load_core": args.load_core,
            "nice": args.nice if os.geteuid() == 0 else 0,
            "counterparts": {s.name: s.counterpart for s in selected},
            "modules": {s.name: s.filter for s in selected},
            "variants": {**{k: f"module {v}" for k, v in (x.split("=", 1) for x in args.variant_module)},
                         **{k: f"configuration {v}" for k, v in (x.split("=", 1) for x in args.variant_config)}},
            "variant_logs": args.variant_log,
        }
        Path(args.out).write_text(json.dumps({"meta": meta, "runs": results}, indent=1))
    finally:
        for e in envoys:
            e.stop()
        upstream.terminate()
        upstream.wait(10)


if __name__ == "__main__":
    main()
