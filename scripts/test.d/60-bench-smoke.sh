#!/usr/bin/env bash
# Smoke test of the benchmark: `scripts/bench.sh --quick` must run to the end and write its
# report (every section, a row per filter) and its chart. Timings are not asserted: they belong
# to the benchmark, and CI machines are noisy.
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
for section in "## Goals" "## Proxied" "## Direct response" "## Latency at a moderate fixed rate" \
               "## Module size" "## Harness"; do
  grep -qF -- "$section" "$report" || die 1 "$report has no section '$section'"
done
for f in http_headers auth_check request_logging metadata_exchange; do
  grep -q "^| $f (vs " "$report" || die 1 "$report has no direct-response row for $f"
  grep -q "^| $f | no filter |" "$report" || die 1 "$report has no proxied rows for $f"
done
grep -q '^| request (headers both ways' "$report" || die 1 "$report has no harness request benchmark"
info "benchmark smoke run: report and chart written ($report)"
