#!/usr/bin/env bash
# Reliability in real Envoy (tools/reliability/tests/envoy_failure_modes.rs): a module that
# traps yields 503 wasm_fail_stream when fail-closed and lets later traffic through when
# fail-open; configurations refused by on_configure stop Envoy with the filter's message.
# The fuzz, memory and security tests of tools/reliability run in `cargo nextest run
# --workspace`; the long fuzz run is scripts/fuzz.sh --long (not part of CI).
set -euo pipefail
cd "$(dirname "$0")/../.."
# shellcheck source=scripts/lib/common.sh
. scripts/lib/common.sh
# shellcheck source=scripts/lib/envoy.sh
. scripts/lib/envoy.sh

ensure_envoy
ensure_wasm_target
ensure_nextest
step "failure modes in real Envoy"
# --workspace with a filter reuses scripts/test.sh's build (one package alone would unify
# dependency features differently and recompile wasmtime).
cargo nextest run --workspace -E 'package(reliability)' --run-ignored ignored-only --no-fail-fast
