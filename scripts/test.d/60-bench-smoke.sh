#!/usr/bin/env bash
# Smoke test of the benchmark: `scripts/bench.sh --quick` must run to the end and write its
# report (every section, a row per filter, the null modules and Lua measured) and its chart.
# Timings are not asserted: they belong to the benchmark, and CI machines are noisy.
set -euo pipefail
cd "$(dirname "$0")/../.."
# shellcheck source=scripts/lib/common.sh
. scripts/lib/common.sh

out="$ROOT/target/bench/smoke"
rm -rf "$out"
step "benchmark smoke run (scripts/bench.sh --quick)"
scripts/bench.sh --quick --out "$out"

report="$out/RESULTS.md"
[ -s "$report" ] || die 1 "bench.sh wrote no $report"
[ -s "$out/ratios.png" ] || die 1 "bench.sh wrote no $out/ratios.png"
[ "$(head -c 8 "$out/ratios.png" | od -An -tx1 | tr -d ' \n')" = 89504e470d0a1a0a ] \
  || die 1 "$out/ratios.png is not a PNG"
for section in "## Goals" "## The floor" "## Proxied" "## Direct response" "## Latency at a moderate fixed rate" \
               "## Module size" "## Harness"; do
  grep -qF -- "$section" "$report" || die 1 "$report has no section '$section'"
done
for f in http_headers auth_check request_logging metadata_exchange; do
  grep -q "^| $f (vs " "$report" || die 1 "$report has no direct-response row for $f"
  grep -q "^| $f | no filter |" "$report" || die 1 "$report has no proxied rows for $f"
done
# The floor: every suite measured next to the null modules, with its counts from the harness.
for f in http_headers auth_check "auth_check api_key" request_logging metadata_exchange; do
  grep -q "^| $f (vs .* | direct response | " "$report" || die 1 "$report has no floor row for $f"
  grep -q "^| $f | [0-9]* | .*context_create" "$report" || die 1 "$report has no harness counts for $f"
done
for role in "bare null module" "null twin" "Lua"; do
  grep -q "^|  | $role |" "$report" || die 1 "$report has no proxied row for the role '$role'"
done
grep -q "^| bare | 2 | " "$report" || die 1 "$report has no harness counts for the bare null module"
grep -q '^| request (headers both ways' "$report" || die 1 "$report has no harness request benchmark"
info "benchmark smoke run: report and chart written ($report)"
