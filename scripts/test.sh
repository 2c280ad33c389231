#!/usr/bin/env bash
# Runs every test of the project. Installs what the tests need first (the wasm target,
# Envoy in a project-local venv, a local OCI registry), so it works on a fresh machine.
#
#   scripts/test.sh            # everything
#   scripts/test.sh --quick    # unit and harness tests only (no Envoy, no registry)
set -euo pipefail
cd "$(dirname "$0")/.."
# shellcheck source=scripts/lib/common.sh
. scripts/lib/common.sh

quick=0
for arg in "$@"; do
  case "$arg" in
    --quick) quick=1 ;;
    -h|--help) sed -n '2,7p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) die 2 "unknown argument '$arg' (expected --quick)" ;;
  esac
done

ensure_wasm_target
step "format and lints"
cargo fmt --all --check
cargo clippy --workspace --all-targets --quiet -- -D warnings
cargo clippy --workspace --target wasm32-wasip1 --quiet -- -D warnings
command -v shellcheck >/dev/null || apt_install shellcheck
(shopt -s nullglob; shellcheck -x scripts/*.sh scripts/lib/*.sh scripts/test.d/*.sh)

step "wasm build and size budgets"
scripts/build.sh

step "unit and harness tests"
ensure_nextest
# The harness tests run the shipped modules (dist/: callbacks trimmed, optimised), so what is
# tested is what Envoy loads.
HARNESS_WASM_DIR="$ROOT/dist" cargo nextest run --workspace --no-fail-fast

if [ "$quick" = 0 ]; then
  for t in scripts/test.d/*.sh; do
    [ -e "$t" ] || continue
    step "$(basename "$t" .sh)"
    bash "$t"
  done
fi
step "all tests passed"
