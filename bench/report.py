"""Writes bench/RESULTS.md (Markdown tables) and the ratio chart from what scripts/bench.sh
collected: the runs JSON of run.py, module sizes, `cargo bench -p harness` output, machine facts."""

import argparse
import json
import re
import statistics
from pathlib import Path

# Goals of issue 9.
GOAL_NATIVE_RATIO = 0.95  # proxied throughput, http_headers and auth_check, wasm/native
GOAL_BASELINE_RATIO = 0.90  # proxied throughput, every filter, wasm/baseline
GOAL_ADDED_P99_US = 50.0  # added p99 at a moderate fixed rate, http_headers and auth_check
GOAL_DIRECT_ADDED_US = 5.0  # Envoy CPU per request over native, direct response, http_headers
# Goals of issue 20: Envoy CPU per request over the filter's null twin (its own work), direct
# response and proxied.
GOAL_OVER_TWIN_US = {"http_headers": 1.0, "auth_check": 3.0, "auth_check api_key": 3.0,
                     "metadata_exchange": 4.0, "request_logging": 6.0}
# Roles of run.py and how the report names them.
ROLE_LABELS = {"baseline": "no filter", "bare": "bare null module", "twin": "null twin", "wasm": "wasm"}
DEFAULT_BUDGET = 131072
# What scripts/bench.sh's experiment variants are.
VARIANTS = {
    "request_logging": "`sample_rate: 0`: header maps, clock and metrics as before, no properties, no JSON line, "
                       "no `proxy_log`",
}


def parse_args():
    p = argparse.ArgumentParser()
    p.add_argument("--runs", required=True)
    p.add_argument("--root", required=True)
    p.add_argument("--modules", required=True, help="the optimised modules measured")
    p.add_argument("--built", required=True, help="the same modules as cargo built them")
    p.add_argument("--harness", required=True, help="output of cargo bench -p harness")
    p.add_argument("--profile", required=True, help="counts per request (profile.py)")
    p.add_argument("--machine", required=True, help="JSON with machine and versions")
    p.add_argument("--out-md", required=True)
    p.add_argument("--out-png", required=True)
    p.add_argument("--command", required=True)
    p.add_argument("--quick", action="store_true")
    return p.parse_args()


def med(values):
    values = [v for v in values if v is not None]
    return statistics.median(values) if values else None


def fmt_int(v):
    return "–" if v is None else f"{v:,.0f}"


def fmt_us(v):
    if v is None:
        return "–"
    return f"{v / 1000:.2f} ms" if v >= 1000 else f"{v:.0f} µs"


def fmt_ratio(v):
    return "–" if v is None else f"{v:.2f}×"


def spread(values):
    """(max − min) / median of the runs, in percent."""
    if len(values) < 2:
        return "–"
    m = statistics.median(values)
    return f"±{(max(values) - min(values)) / m / 2 * 100:.0f}%" if m else "–"


def summarize(runs):
    """{(filter, setup, role): {...medians...}}"""
    groups = {}
    for r in runs:
        groups.setdefault((r["filter"], r["setup"], r["role"]), []).append(r)
    out = {}
    for key, rs in groups.items():
        rps = [r["rps"] for r in rs]
        out[key] = {
            "rps": med(rps),
            "rps_all": rps,
            "p50": med([r["p50_us"] for r in rs]),
            "p99": med([r["p99_us"] for r in rs]),
            "cpu": med([r["cpu_us_per_request"] for r in rs]),
            "cpu_share": med([r["envoy_cpu_share"] for r in rs]),
            "n": len(rs),
        }
    return out


def sizes(root, modules, built_dir):
    rows = []
    for f in sorted(p.stem for p in Path(modules).glob("*.wasm")):
        built = Path(built_dir) / f"{f}.wasm"
        opt = Path(modules) / f"{f}.wasm"
        toml = (Path(root) / "filters" / f / "Cargo.toml").read_text()
        m = re.search(r"^size_budget\s*=\s*(\d+)", toml, re.M)
        budget = int(m.group(1)) if m else DEFAULT_BUDGET
        built_size = built.stat().st_size if built.exists() else None
        opt_size = opt.stat().st_size
        rows.append((f, built_size, opt_size, budget, "ok" if opt_size <= budget else "OVER"))
    return rows


def harness_rows(text):
    rows = []
    for line in text.splitlines():
        m = re.match(r"^(.+?)\s+median\s+(\S+)\s+mean\s+(\S+)\s+best\s+(\S+)\s+\((\d+) runs\)(.*)$", line)
        if m:
            goal = m.group(6).strip().strip("()")
            rows.append((m.group(1).strip(), m.group(2), m.group(3), m.group(4), m.group(5), goal or "–"))
    return rows


def chart(s, filters, counterparts, path):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    series = [
        ("proxied req/s: wasm / native", lambda f: ratio(s, f, "proxied", "wasm", "native", "rps")),
        ("proxied, by Envoy CPU/request: wasm / native", lambda f: ratio(s, f, "proxied", "native", "wasm", "cpu")),
        ("proxied req/s: wasm / no filter", lambda f: ratio(s, f, "proxied", "wasm", "baseline", "rps")),
        ("proxied, by Envoy CPU/request: wasm / no filter", lambda f: ratio(s, f, "proxied", "baseline", "wasm", "cpu")),
        ("direct response, by Envoy CPU/request: wasm / native", lambda f: ratio(s, f, "direct", "native", "wasm", "cpu")),
        ("direct response, by Envoy CPU/request: wasm / no filter", lambda f: ratio(s, f, "direct", "baseline", "wasm", "cpu")),
    ]
    fig, (ax, floor) = plt.subplots(2, 1, figsize=(12, 11), height_ratios=[1, 1])
    width = 0.8 / len(series)
    for i, (label, fn) in enumerate(series):
        xs = [j + (i - (len(series) - 1) / 2) * width for j in range(len(filters))]
        ys = [fn(f) or 0 for f in filters]
        bars = ax.bar(xs, ys, width, label=label)
        ax.bar_label(bars, labels=[f"{y:.2f}" for y in ys], fontsize=7)
    ax.axhline(GOAL_NATIVE_RATIO, color="green", linestyle="--", linewidth=1, label="goal 0.95× native")
    ax.axhline(GOAL_BASELINE_RATIO, color="red", linestyle=":", linewidth=1, label="goal 0.90× no filter")
    ax.set_xticks(range(len(filters)))
    ax.set_xticklabels([f"{f}\n(vs {counterparts.get(f, 'native')})" for f in filters])
    ax.set_ylabel("ratio (medians; by CPU: inverse of Envoy CPU/request)")
    ax.set_ylim(0, 1.45)
    ax.set_title("proxy-wasm filters in Envoy 1.40 (v8), --concurrency 1: throughput ratios")
    ax.legend(fontsize=8, loc="upper right", ncol=2)
    floor_chart(floor, s, filters, counterparts)
    fig.tight_layout()
    fig.savefig(path, dpi=110)


def floor_chart(ax, s, filters, counterparts):
    """Envoy CPU per request over no filter, stacked: proxy-wasm itself (bare − no filter), the
    filter's callbacks (twin − bare), its own work (wasm − twin); native and Lua as markers."""
    steps = [("proxy-wasm at all (bare − no filter)", "baseline", "bare"),
             ("its callbacks (twin − bare)", "bare", "twin"),
             ("its own work (wasm − twin)", "twin", "wasm")]
    colors = ["#9ecae1", "#4292c6", "#08519c"]
    xs, labels = [], []
    for j, f in enumerate(filters):
        ax.text(j * 2.6 + 0.5, -0.09, f, transform=ax.get_xaxis_transform(), ha="center", va="top", fontsize=8)
        for k, setup in enumerate(("direct", "proxied")):
            x = j * 2.6 + k
            xs.append(x)
            labels.append("direct" if setup == "direct" else "proxied")
            base = cpu(s, f, setup, "baseline")
            bottom = 0.0
            for i, (label, lo, hi) in enumerate(steps):
                a, b = cpu(s, f, setup, lo), cpu(s, f, setup, hi)
                if a is None or b is None:
                    continue
                ax.bar(x, b - a, 0.8, bottom=bottom, color=colors[i], label=label if not j and not k else None)
                bottom += b - a
            lua = lua_role(s, f, counterparts)
            markers = [("native", "_", "black", "native")] if lua != "native" else []
            markers += [(lua, "x", "red", "Lua")] if lua else []
            for role, marker, color, name in markers:
                v = cpu(s, f, setup, role)
                if v is not None and base is not None:
                    ax.scatter([x], [v - base], marker=marker, s=200, color=color, zorder=3,
                               label=name if not j and not k else None)
    ax.axhline(0, color="grey", linewidth=0.5)
    ax.set_xticks(xs)
    ax.set_xticklabels(labels, fontsize=7)
    ax.tick_params(axis="x", length=0)
    ax.set_ylabel("Envoy CPU µs/request over no filter")
    ax.set_title("where a wasm filter's cost goes (medians; markers: native (—) and Lua (×) over no filter)")
    ax.legend(fontsize=8, loc="upper left")


def ratio(s, f, setup, a, b, key):
    x, y = s.get((f, setup, a)), s.get((f, setup, b))
    if not x or not y or not y[key]:
        return None
    return x[key] / y[key]


def added(s, f, setup, a, b, key):
    x, y = s.get((f, setup, a)), s.get((f, setup, b))
    if not x or not y or x[key] is None or y[key] is None:
        return None
    return x[key] - y[key]


def lua_role(s, f, cp):
    """The role holding the suite's Lua filter: its own, or native when the counterpart is Lua."""
    if any(k[0] == f and k[2] == "lua" for k in s):
        return "lua"
    return "native" if cp.get(f) == "Lua" else None


def cpu(s, f, setup, role):
    x = s.get((f, setup, role)) if role else None
    return x["cpu"] if x and x["cpu"] is not None else None


def diff(a, b):
    return "–" if a is None or b is None else f"{a - b:+.1f} µs"


def counts_of(c):
    """VM entries, host calls, host-call bytes, allocations of a profile entry (None: absent)."""
    return {k: c.get(v) for k, v in (("vm", "vm_entries"), ("hc", "host_calls"),
                                      ("bytes", "host_call_bytes"), ("alloc", "allocations"))}


def floor_rows(s, f, cp):
    """Per setup: Envoy CPU/request of every role and the steps between them."""
    lua = lua_role(s, f, cp)
    rows = []
    for setup in ("direct", "proxied"):
        base, bare, twin, wasm, native, lua_cpu = (cpu(s, f, setup, r) for r in ("baseline", "bare", "twin", "wasm", "native", lua))
        if wasm is None:
            continue
        values = " / ".join("–" if v is None else f"{v:.1f}" for v in (base, bare, twin, wasm, native, lua_cpu))
        rows.append((setup, values, diff(bare, base), diff(twin, bare), diff(wasm, twin),
                     diff(wasm, native), diff(wasm, lua_cpu), wasm - twin if twin is not None else None))
    return rows


# bench/RESULTS.md is the one place to read about speed: below this line it holds the
# hand-written notes (profiles, A/B runs, what was tried), which every full run keeps.
NOTES_MARKER = "<!-- Hand-written below this line: scripts/bench.sh keeps it when it rewrites this file. -->"


def hand_written_notes():
    """The notes of the committed bench/RESULTS.md, marker included ("" if it has none)."""
    results = Path(__file__).resolve().parent / "RESULTS.md"
    text = results.read_text() if results.exists() else ""
    at = text.find(NOTES_MARKER)
    return text[at:] if at >= 0 else ""


def main():
    args = parse_args()
    data = json.loads(Path(args.runs).read_text())
    meta, runs = data["meta"], data["runs"]
    machine = json.loads(Path(args.machine).read_text())
    s = summarize(runs)
    filters = list(dict.fromkeys(r["filter"] for r in runs))
    cp = meta["counterparts"]
    L = []
    w = L.append
    w("# Benchmark results")
    w("")
    if args.quick:
        w("**Quick run (`--quick`): one short round per configuration, a smoke test of the benchmark, "
          "not a measurement.** The committed full run is `bench/RESULTS.md`.")
        w("")
    w(f"Command: `{args.command}` — generated {machine['date']}.")
    w("")
    w(f"Machine: {machine['nproc']} CPUs ({machine['cpu']}), kernel {machine['kernel']}, load average at start "
      f"{machine['loadavg']} (a shared machine: other jobs ran during the measurement). "
      f"Versions: Envoy {machine['envoy']}, {machine['rustc']}, {machine['wrk']}.")
    w("")
    w(f"Setup: Envoy `--concurrency 1 --use-dynamic-base-id` pinned to core {meta['envoy_core']} (`taskset`{', nice ' + str(meta['nice']) if meta.get('nice') else ''}); "
      f"`wrk -t1 -c{meta['connections']} --latency` and the echo upstream (`tools/echo-upstream`) pinned to core "
      f"{meta['load_core']}. Every configuration runs in its own Envoy, all started before measuring and checked to do "
      f"their work (status, headers set, log lines written, bad credentials refused). {meta['rounds']} rounds of "
      f"{meta['duration_s']} s per configuration and setup after {meta['warmup_s']} s of warm-up load, the order "
      "of the configurations rotated every round (A/B/C, B/C/A, C/A/B) so drift cancels; the null modules and "
      "Lua next to a native filter are measured in the saturated setups only. Figures are medians over "
      "the rounds; spread is ±half the range of the rounds' req/s around the median.")
    w("")
    w("## Summary")
    w("")
    profile = json.loads(Path(args.profile).read_text())
    size_of = {row[0]: row[2] for row in sizes(args.root, args.modules, args.built)}
    w("| filter | vs | proxied req/s wasm/native (by Envoy CPU) | proxied req/s wasm/no filter (by Envoy CPU) | "
      "direct response: Envoy CPU/request over native / over no filter | host calls / VM entries per request | module |")
    w("|---|---|---:|---:|---:|---:|---:|")
    for f in filters:
        x, n, b = (s.get((f, "direct", r)) for r in ("wasm", "native", "baseline"))
        direct = f"{x['cpu'] - n['cpu']:+.1f} / {x['cpu'] - b['cpu']:+.1f} µs" if x and n and b else "–"
        c = counts_of(profile.get(f, {}))
        calls = f"{fmt_int(c['hc'])} / {fmt_int(c['vm'])}"
        w(f"| {f} | {cp[f]} | {fmt_ratio(ratio(s, f, 'proxied', 'wasm', 'native', 'rps'))} "
          f"({fmt_ratio(ratio(s, f, 'proxied', 'native', 'wasm', 'cpu'))}) | "
          f"{fmt_ratio(ratio(s, f, 'proxied', 'wasm', 'baseline', 'rps'))} "
          f"({fmt_ratio(ratio(s, f, 'proxied', 'baseline', 'wasm', 'cpu'))}) | {direct} | {calls} | "
          f"{size_of.get(meta.get('modules', {}).get(f, f), 0) / 1024:.1f} KiB |")
    w("")
    w("## Goals")
    w("")
    goals = []
    for f in filters:
        if f in ("http_headers", "auth_check"):
            r = ratio(s, f, "proxied", "wasm", "native", "rps")
            by_cpu = fmt_ratio(ratio(s, f, "proxied", "native", "wasm", "cpu"))
            goals.append((f"{f}: proxied req/s wasm/{cp[f]} ≥ {GOAL_NATIVE_RATIO}", f"{fmt_ratio(r)} (by CPU {by_cpu})",
                          r is not None and r >= GOAL_NATIVE_RATIO))
            a = added(s, f, "rate", "wasm", "baseline", "p99")
            p99s = [r["p99_us"] for r in runs if (r["filter"], r["setup"], r["role"]) == (f, "rate", "baseline")]
            noise = max(p99s) - min(p99s) if len(p99s) > 1 else 0.0
            verdict = a is not None and a <= GOAL_ADDED_P99_US
            if noise > GOAL_ADDED_P99_US:  # the no-filter p99 alone moved more than the goal
                verdict = f"not resolvable here (no-filter p99 moved {noise:.0f} µs between rounds)"
            goals.append((f"{f}: added p99 at a fixed moderate rate ≤ {GOAL_ADDED_P99_US:.0f} µs (vs no filter)",
                          "–" if a is None else f"{a:+.0f} µs", verdict))
    for f in filters:
        r = ratio(s, f, "proxied", "wasm", "baseline", "rps")
        by_cpu = fmt_ratio(ratio(s, f, "proxied", "baseline", "wasm", "cpu"))
        goals.append((f"{f}: proxied req/s wasm/no filter ≥ {GOAL_BASELINE_RATIO}", f"{fmt_ratio(r)} (by CPU {by_cpu})",
                      r is not None and r >= GOAL_BASELINE_RATIO))
    if "http_headers" in filters:
        a = added(s, "http_headers", "direct", "wasm", "native", "cpu")
        goals.append((f"http_headers: direct response, Envoy CPU per request over {cp['http_headers']} ≤ {GOAL_DIRECT_ADDED_US:.0f} µs",
                      "–" if a is None else f"{a:+.1f} µs", a is not None and a <= GOAL_DIRECT_ADDED_US))
    for f in filters:
        goal = GOAL_OVER_TWIN_US.get(f)
        for setup, _, _, _, own, _, _, value in floor_rows(s, f, cp) if goal is not None else []:
            where = "direct response" if setup == "direct" else "proxied"
            goals.append((f"{f}: {where}, Envoy CPU per request over its null twin ≤ {goal:.0f} µs", own,
                          value is not None and value <= goal))
    w("| goal | measured | |")
    w("|---|---|---|")
    for text, value, ok in goals:
        w(f"| {text} | {value} | {ok if isinstance(ok, str) else 'met' if ok else '**missed**'} |")
    w("")
    w("## The floor: a filter's own work, its callbacks, proxy-wasm itself")
    w("")
    w("Each filter is measured next to two null modules (`bench/nullmodule.py`, WAT built at bench time) in the "
      "same alternated rounds: the **bare** module exports only what Envoy needs plus `proxy_on_context_create` and "
      "`proxy_on_request_headers` (→ Continue); the filter's **null twin** exports exactly the `proxy_on_*` callbacks "
      "of the shipped module, each returning Continue and calling nothing. So *bare − no filter* is what any "
      "proxy-wasm filter costs in Envoy (v8), *twin − bare* the price of the callbacks the filter needs (each exported "
      "callback is a VM entry per request), and *wasm − twin* the filter's own work (host calls, allocations, "
      "parsing, logging). Envoy CPU per request, medians. The per-request counts are from the harness "
      "(section *Host calls and VM entries* below); Lua is the counterpart many users would write instead.")
    w("")
    w("| filter | setup | Envoy CPU/request µs: no filter / bare / twin / wasm / native / Lua | proxy-wasm at all (bare − no filter) "
      "| its callbacks (twin − bare) | its own work (wasm − twin) | wasm − native | wasm − Lua | VM entries | host calls | host-call bytes | allocations |")
    w("|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
    for f in filters:
        c = counts_of(profile.get(f, {}))
        for i, (setup, values, proxy_wasm, callbacks, own, over_native, over_lua, _) in enumerate(floor_rows(s, f, cp)):
            label = f"{f} (vs {cp[f]}{', Lua' if lua_role(s, f, cp) == 'lua' else ''})" if i == 0 else ""
            counted = [fmt_int(c[k]) for k in ("vm", "hc", "bytes", "alloc")] if i == 0 else [""] * 4
            w(f"| {label} | {'direct response' if setup == 'direct' else 'proxied'} | {values} | {proxy_wasm} | {callbacks} | "
              f"**{own}** | {over_native} | {over_lua} | " + " | ".join(counted) + " |")
    w("")
    w("## Proxied (Envoy → echo upstream on loopback) — the headline")
    w("")
    w("Envoy CPU/request is Envoy's CPU time over the run divided by the requests completed; its inverse ratio "
      "(no filter or native CPU/request over wasm CPU/request, in parentheses) is the throughput ratio Envoy "
      "would show if it alone were the bottleneck. When *Envoy CPU busy* is well below 100%, the load side "
      "(wrk and the upstream on the other core, plus whatever else runs on the machine) limited the req/s.")
    w("")
    w("| filter | config | req/s (median) | spread | p50 | p99 | Envoy CPU busy | Envoy CPU/request | wasm/native (by CPU) | wasm/no filter (by CPU) |")
    w("|---|---|---:|---:|---:|---:|---:|---:|---:|---:|")
    for f in filters:
        for role, label in (*list(ROLE_LABELS.items())[:4], ("native", cp[f]), ("lua", "Lua")):
            x = s.get((f, "proxied", role))
            if not x:
                continue
            rn = rb = ""
            if role == "wasm":
                rn = (f"{fmt_ratio(ratio(s, f, 'proxied', 'wasm', 'native', 'rps'))} "
                      f"({fmt_ratio(ratio(s, f, 'proxied', 'native', 'wasm', 'cpu'))})")
                rb = (f"{fmt_ratio(ratio(s, f, 'proxied', 'wasm', 'baseline', 'rps'))} "
                      f"({fmt_ratio(ratio(s, f, 'proxied', 'baseline', 'wasm', 'cpu'))})")
            w(f"| {f if role == 'baseline' else ''} | {label} | {fmt_int(x['rps'])} | {spread(x['rps_all'])} | "
              f"{fmt_us(x['p50'])} | {fmt_us(x['p99'])} | {x['cpu_share']:.0%} | {x['cpu']:.1f} µs | {rn} | {rb} |")
    w("")
    w("## Direct response (Envoy answers itself): the filter's own cost")
    w("")
    w("Envoy CPU time (user + system, all threads, `/proc/<pid>/stat`) over a run divided by the requests wrk "
      "completed in it.")
    w("")
    w("| filter | Envoy CPU/request: no filter | wasm | native | wasm − no filter | wasm − native | req/s wasm/native | req/s wasm/no filter |")
    w("|---|---:|---:|---:|---:|---:|---:|---:|")
    for f in filters:
        b, x, n = (s.get((f, "direct", r)) for r in ("baseline", "wasm", "native"))
        if not (b and x and n):
            continue
        w(f"| {f} (vs {cp[f]}) | {b['cpu']:.1f} µs | {x['cpu']:.1f} µs | {n['cpu']:.1f} µs | "
          f"{x['cpu'] - b['cpu']:+.1f} µs | {x['cpu'] - n['cpu']:+.1f} µs | "
          f"{fmt_ratio(ratio(s, f, 'direct', 'wasm', 'native', 'rps'))} | {fmt_ratio(ratio(s, f, 'direct', 'wasm', 'baseline', 'rps'))} |")
    w("")
    w("## Latency at a moderate fixed rate (proxied)")
    w("")
    w(f"wrk has no fixed-rate mode (wrk2 is not in Debian): each of {meta['rate_connections']} connections waits "
      f"{meta['rate_delay_ms']} ms (wrk's `delay()` hook) before each request, which paces the load at the rate "
      "shown, far below saturation. Latency is per request as wrk measures it (not corrected for coordinated "
      f"omission, which at this rate and these latencies hardly matters). {meta['rate_rounds']} rounds, medians.")
    w("")
    w("The last column is the noise floor: how far the no-filter configuration's own p99 moved between rounds.")
    w("")
    w("| filter | req/s | p50 no filter / wasm / native | added p50 vs no filter / vs native | p99 no filter / wasm / native | added p99 vs no filter / vs native | no-filter p99 across rounds |")
    w("|---|---:|---:|---:|---:|---:|---:|")
    for f in filters:
        b, x, n = (s.get((f, "rate", r)) for r in ("baseline", "wasm", "native"))
        if not (b and x and n):
            continue
        p99s = [r["p99_us"] for r in runs if (r["filter"], r["setup"], r["role"]) == (f, "rate", "baseline")]
        w(f"| {f} (vs {cp[f]}) | {fmt_int(x['rps'])} | {fmt_us(b['p50'])} / {fmt_us(x['p50'])} / {fmt_us(n['p50'])} | "
          f"{x['p50'] - b['p50']:+.0f} / {x['p50'] - n['p50']:+.0f} µs | "
          f"{fmt_us(b['p99'])} / {fmt_us(x['p99'])} / {fmt_us(n['p99'])} | {x['p99'] - b['p99']:+.0f} / {x['p99'] - n['p99']:+.0f} µs | "
          f"{fmt_us(min(p99s))} – {fmt_us(max(p99s))} |")
    w("")
    w("## Host calls and VM entries per request")
    w("")
    w("Counted by the harness (`harness run --count --log-level info`, `bench/profile.py`) with the benchmark's "
      "configuration and request, the response with a body, at Envoy's default log level; the second request of "
      "a VM (the first warms up lazy state). A VM entry is a call from the host into the module: the callbacks, and "
      "`proxy_on_memory_allocate` for each value the host returns (header value, property, header map), which is "
      "also an allocation in the module. Host-call bytes are the values read from the module's memory or copied "
      "into it. The null modules run the same requests.")
    w("")
    w("| module | VM entries | of which | host calls | of which | host-call bytes | allocations |")
    w("|---|---:|---|---:|---|---:|---:|")
    twins = [f"{m} twin" for m in dict.fromkeys(meta.get("modules", {}).values())]
    for f in filters + twins + ["bare"]:
        c = profile.get(f)
        if not c:
            continue

        def detail(d):
            return ", ".join(f"{k.removeprefix('proxy_')} {v}" for k, v in sorted(d.items(), key=lambda kv: -kv[1]))

        w(f"| {f} | {c['vm_entries']} | {detail(c['vm_entries_by_export'])} | {c['host_calls']} | "
          f"{detail(c['host_calls_by_import'])} | {fmt_int(c['host_call_bytes'])} | {c['allocations']} |")
    w("")
    w("## Module size")
    w("")
    w("| filter | as built (cargo, release) | after wasm-opt -Oz | budget | |")
    w("|---|---:|---:|---:|---|")
    for f, built, opt, budget, status in sizes(args.root, args.modules, args.built):
        w(f"| {f} | {fmt_int(built)} B | {fmt_int(opt)} B ({opt / 1024:.1f} KiB) | {budget // 1024} KiB | {status} |")
    w("")
    w("## Harness (`cargo bench -p harness`, wasmtime)")
    w("")
    if args.quick:
        w("Quick run: built with the dev profile (`--profile dev`), so these times are not representative.")
        w("")
    rows = harness_rows(Path(args.harness).read_text(errors="replace"))
    if rows:
        w("| benchmark | median | mean | best | runs | goal |")
        w("|---|---:|---:|---:|---:|---|")
        for r in rows:
            w("| " + " | ".join(r) + " |")
    else:
        w("`cargo bench -p harness` printed no results (see its output in the run's work directory).")
    w("")
    variants = sorted({r["filter"] for r in runs if r["role"] == "variant"})
    if variants:
        w("## Experiments")
        w("")
        w("Variants measured in the same rounds as the configurations above (same alternation), to see where a "
          "filter's cost goes. *variant − wasm* is what the change saves (negative) or costs.")
        w("")
        w("| filter | variant | direct: Envoy CPU/request wasm / variant / native | variant − wasm | "
          "proxied: Envoy CPU/request wasm / variant / native | variant − wasm | proxied req/s wasm / variant / native |")
        w("|---|---|---:|---:|---:|---:|---:|")
        for f in variants:
            d = [s.get((f, "direct", r)) for r in ("wasm", "variant", "native")]
            p_ = [s.get((f, "proxied", r)) for r in ("wasm", "variant", "native")]
            if not all(d) or not all(p_):
                continue
            what = VARIANTS.get(f, meta.get("variants", {}).get(f, "variant"))
            w(f"| {f} | {what} | {d[0]['cpu']:.1f} / {d[1]['cpu']:.1f} / {d[2]['cpu']:.1f} µs | {d[1]['cpu'] - d[0]['cpu']:+.1f} µs | "
              f"{p_[0]['cpu']:.1f} / {p_[1]['cpu']:.1f} / {p_[2]['cpu']:.1f} µs | {p_[1]['cpu'] - p_[0]['cpu']:+.1f} µs | "
              f"{fmt_int(p_[0]['rps'])} / {fmt_int(p_[1]['rps'])} / {fmt_int(p_[2]['rps'])} |")
        w("")
    w(f"![throughput ratios]({Path(args.out_png).name})")
    w("")
    if not args.quick:  # the notes discuss full runs
        w(hand_written_notes())
    Path(args.out_md).write_text("\n".join(L))
    chart(s, filters, cp, args.out_png)


if __name__ == "__main__":
    main()
