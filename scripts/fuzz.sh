#!/usr/bin/env bash
# Fuzzes every filter through the harness (tools/reliability): random hostile streams and
# random configurations; zero traps and zero panics allowed.
#
#   scripts/fuzz.sh                 # the default run (as in CI): 10,000 streams, 2,500 configs per filter
#   scripts/fuzz.sh --long          # 1,000,000 streams and 50,000 configs per filter; records the
#                                   # result in tools/reliability/LONG-RUN.md
#   scripts/fuzz.sh --seed 0x1234   # another seed (default: the fixed CI seed)
#
# Counts: RELIABILITY_CASES (streams per filter) and RELIABILITY_CONFIG_CASES (configurations
# per filter) override the mode's. A failure prints the seed and case to replay.
set -euo pipefail
cd "$(dirname "$0")/.."
# shellcheck source=scripts/lib/common.sh
. scripts/lib/common.sh

long=0
seed=""
while [ $# -gt 0 ]; do
  case "$1" in
    --long) long=1 ;;
    --seed) [ $# -ge 2 ] || die 2 "--seed needs a value"; seed=$2; shift ;;
    -h|--help) sed -n '2,12p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) die 2 "unknown argument '$1' (expected --long, --seed N)" ;;
  esac
  shift
done

if [ "$long" = 1 ]; then
  export RELIABILITY_CASES="${RELIABILITY_CASES:-1000000}"
  export RELIABILITY_CONFIG_CASES="${RELIABILITY_CONFIG_CASES:-50000}"
fi
[ -z "$seed" ] || export RELIABILITY_SEED="$seed"

ensure_wasm_target
ensure_nextest
out=$(mktemp)
trap 'rm -f "$out"' EXIT
step "fuzz: ${RELIABILITY_CASES:-10000} streams and ${RELIABILITY_CONFIG_CASES:-2500} configurations per filter"
started=$(date -u +%Y-%m-%dT%H:%M:%SZ)
t0=$(date +%s)
status=0
cargo nextest run -p reliability --no-fail-fast --success-output immediate --failure-output immediate \
  -E 'binary(/^fuzz_/)' 2>&1 | tee "$out" || status=$?
elapsed=$(( $(date +%s) - t0 ))
results=$(grep -o 'FUZZ-RESULT .*' "$out" | sort || true)
[ -n "$results" ] || die 1 "no fuzz result lines in the output"
info "$results"

if [ "$long" = 1 ]; then
  record=tools/reliability/LONG-RUN.md
  {
    echo "# Last long fuzz run"
    echo
    echo "Written by \`scripts/fuzz.sh --long\`; do not edit by hand."
    echo
    echo "- started: $started, took ${elapsed} s wall clock on $(nproc) cores"
    echo "- commit: $(git rev-parse --short HEAD)$(git diff --quiet HEAD -- filters harness tools/reliability || echo ' (with local changes)')"
    echo "- streams per filter: $RELIABILITY_CASES; configurations per filter: $RELIABILITY_CONFIG_CASES"
    if [ "$status" = 0 ]; then
      echo "- result: **passed** — zero traps, zero panics, every property held"
    else
      echo "- result: **FAILED** (exit $status) — see the failing case below"
    fi
    echo
    echo '```'
    echo "$results"
    if [ "$status" != 0 ]; then grep -E 'case [0-9]+ failed|replay:' "$out" | head -20 || true; fi
    echo '```'
  } >"$record"
  info "recorded in $record"
fi
exit "$status"
