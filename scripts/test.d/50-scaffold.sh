#!/usr/bin/env bash
# Tests of scripts/new-filter.sh. In a temporary copy of the workspace (tracked and untracked,
# not ignored files; target/ and .venv/ are symlinks to this checkout's, so nothing heavy is
# rebuilt or reinstalled) it checks the name validation errors and that a failed run leaves
# nothing behind, then creates one filter from each template and runs on all of them: fmt and
# clippy, the workspace wasm build, scripts/build.sh (size budgets), their tests, and per filter
# `scripts/deploy.sh --target envoy <name> --once` (a real Envoy) and
# the kustomizations of the three mesh methods (rendered, validated against the Istio CRDs and
# Kubernetes schemas) and `scripts/deploy.sh <name> --dry-run` for each method.
set -euo pipefail
cd "$(dirname "$0")/../.."
# shellcheck source=scripts/lib/common.sh
. scripts/lib/common.sh
# shellcheck source=scripts/lib/envoy.sh
. scripts/lib/envoy.sh
# shellcheck source=scripts/lib/scaffold.sh
. scripts/lib/scaffold.sh
# shellcheck source=scripts/lib/scaffold_test.sh
. scripts/lib/scaffold_test.sh
# shellcheck source=scripts/lib/mesh_venv.sh
. scripts/lib/mesh_venv.sh

ensure_wasm_target
ensure_envoy # exports ENVOY_BIN, which the copy's scripts then use
# The mesh manifests of the new filters are validated like the built-in ones.
SCTEST_PY=$(mesh_venv)
SCTEST_CRDS=${ISTIO_CRDS:-$ROOT/../shared/istio/crds.yaml}
[ -f "$SCTEST_CRDS" ] || die 1 "Istio CRD schemas not found at $SCTEST_CRDS (set ISTIO_CRDS)"
command -v kubectl >/dev/null || die 1 "kubectl (kustomize) is needed to render the new filters' manifests"

WORK=$(mktemp -d "${TMPDIR:-/tmp}/scaffold-test.XXXXXX")
trap 'rm -rf "$WORK"' EXIT
COPY="$WORK/ws"
step "copying the workspace to $COPY"
sctest_copy_workspace "$COPY"
# HARNESS_WORKSPACE: a harness built by an earlier run in another copy has that copy's path.
export CARGO_TARGET_DIR="$ROOT/target" HARNESS_WORKSPACE="$COPY" ENVOY_DEPLOY_STATE="$WORK/envoy"
cd "$COPY"

step "name validation: clear errors, exit 2, nothing written"
sctest_rejects "" "which name?"
sctest_rejects Bad "starts with a lower-case letter"
sctest_rejects 9lives "starts with a lower-case letter"
sctest_rejects _x "starts with a lower-case letter"
sctest_rejects a.b "only lower-case letters, digits, '_' and '-'"
sctest_rejects x__y "no '__', '--' or '_-' and no trailing '_' or '-'"
sctest_rejects x--y "no '__', '--' or '_-' and no trailing '_' or '-'"
sctest_rejects x_-y "no '__', '--' or '_-' and no trailing '_' or '-'"
sctest_rejects x_ "no '__', '--' or '_-' and no trailing '_' or '-'"
sctest_rejects x- "no '__', '--' or '_-' and no trailing '_' or '-'"
sctest_rejects http-headers "'http_headers' is already a filter"
sctest_rejects "a$(printf 'b%.0s' {1..40})" "at most 40 characters"
sctest_rejects common "'common' is the shared helper crate"
sctest_rejects http_headers "'http_headers' is already a filter"
sctest_rejects envoy "'envoy': deploy/envoy already exists"
sctest_rejects fn "'fn' is a Rust keyword"
sctest_rejects try "'try' is a Rust keyword"
sctest_rejects abstract "'abstract' is a Rust keyword"
sctest_rejects std "'std' is the name of a built-in Rust crate"
sctest_rejects serde "'serde' is the name of a crate the workspace already uses"
sctest_rejects filter_common "'filter_common' is the name of a crate the workspace already uses"
sctest_rejects echo_upstream "'echo_upstream' is the name of a crate the workspace already uses"
sctest_rejects "config --from http_headers" "its type name Config is already an identifier in the http_headers template"
sctest_rejects "fields --from request_logging" "the request_logging template has a test target of that name (tests/fields)"
sctest_rejects "ok_name --from nope" "unknown template 'nope'"
sctest_rejects "ok_name --bogus" "unknown option '--bogus'"
sctest_rejects "a b" "one name at a time"

step "a failed run leaves nothing behind"
# Fails after filters/<name> is in place (deploy/ is missing): that directory must go again.
mv deploy deploy.off
sctest_fails_cleanly half_done "cannot move"
mv deploy.off deploy
# Fails while staging (a template with a misspelt placeholder).
printf '// {{name_dns}}\n' >scripts/templates/minimal/filter/src/typo.rs
sctest_fails_cleanly bad_template "uses a placeholder new-filter.sh does not know: filter/src/typo.rs"
rm scripts/templates/minimal/filter/src/typo.rs

step "one filter from each template"
# The new names do not contain the template's, so a leftover template name is visible.
declare -A FROM=([sc_minimal]=minimal [sc_headers]=http_headers [sc_logging]=request_logging
  [sc_auth]=auth_check [sc_peers]=metadata_exchange)
NAMES=(sc_minimal sc_headers sc_logging sc_auth sc_peers)
for name in "${NAMES[@]}"; do
  template=${FROM[$name]}
  if [ "$template" = minimal ]; then
    # Asked for with '-' (the Kubernetes spelling): the filter is sc_minimal all the same.
    scripts/new-filter.sh "${name//_/-}" 2>"$WORK/new.log" || { cat "$WORK/new.log" >&2; die 1 "new-filter.sh ${name//_/-} failed"; }
    grep -qF "using '$name'" "$WORK/new.log" || { cat "$WORK/new.log" >&2; die 1 "new-filter.sh ${name//_/-}: no note that it creates $name"; }
  else
    scripts/new-filter.sh "$name" --from "$template" 2>"$WORK/new.log" || { cat "$WORK/new.log" >&2; die 1 "new-filter.sh $name --from $template failed"; }
  fi
  sctest_check_renamed "$name" "$template"
  info "ok: filters/$name deploy/$name (from $template)"
done
[ "$(ROOT=$COPY filter_names | grep -c "^sc_")" = 5 ] || die 1 "filter_names (used by build.sh, deploy.sh and test.sh) does not list the new filters"
PKGS=()
for name in "${NAMES[@]}"; do PKGS+=(-p "$name"); done

step "fmt and clippy of the new crates"
# Lint failures are collected (the test goes on, so one run shows everything) and fail the test
# at the end: a scaffolded filter must pass scripts/test.sh's own checks.
LINT_FAILURES=()
cargo fmt --check "${PKGS[@]}" || LINT_FAILURES+=("cargo fmt --check")
for name in "${NAMES[@]}"; do
  cargo clippy --quiet --all-targets -p "$name" -- -D warnings ||
    LINT_FAILURES+=("clippy --all-targets -p $name (from ${FROM[$name]})")
done
cargo clippy --quiet --target wasm32-wasip1 "${PKGS[@]}" -- -D warnings ||
  LINT_FAILURES+=("clippy --target wasm32-wasip1")

step "cargo build --workspace --target wasm32-wasip1"
cargo build --quiet --workspace --target wasm32-wasip1
for name in "${NAMES[@]}"; do
  [ -f "$CARGO_TARGET_DIR/wasm32-wasip1/debug/$name.wasm" ] || die 1 "the workspace build made no $name.wasm"
done

step "scripts/build.sh (release, wasm-opt, size budgets)"
scripts/build.sh "${NAMES[@]}"

step "the new filters' tests"
cargo test --quiet "${PKGS[@]}" 2>&1 | tee "$WORK/test.log" | grep -E '^(test result|running)' >&2 || true
if grep -q 'test result: FAILED' "$WORK/test.log"; then
  sed -n '/^failures:$/,/^test result: FAILED/p' "$WORK/test.log" | head -80 >&2
  die 1 "tests of the new filters failed (see above)"
fi
grep -q 'test result: ok' "$WORK/test.log" || { tail -30 "$WORK/test.log" >&2; die 1 "the new filters' tests did not run"; }

step "scripts/deploy.sh --target envoy <name> --once (real Envoy)"
# (by its Kubernetes spelling: deploy.sh reads '-' as '_' like new-filter.sh)
sctest_envoy sc-minimal '^HTTP/1.1 200' '^x-wasm-filter: sc_minimal'
sctest_envoy sc_headers '^HTTP/1.1 200' '^x-powered-by: proxy-wasm-rust' '"x-wasm-filter: sc_headers"'
sctest_envoy sc_logging '^HTTP/1.1 200'
sctest_envoy_log sc_logging main 'wasm log sc_logging sc_logging sc_logging: {"start_time":'
sctest_envoy_log sc_logging main '"path":"/demo"'
sctest_envoy sc_auth '^HTTP/1.1 401' '"error":"missing credentials"'
sctest_envoy sc_peers '^HTTP/1.1 200'
sctest_envoy_log sc_peers server 'access: GET /demo 200 DOWNSTREAM_PEER_ID=sidecar~127.0.0.2~client'
sctest_envoy_log sc_peers client 'access: GET /demo 200 UPSTREAM_PEER_ID=sidecar~127.0.0.3~echo'

step "the mesh kustomizations and scripts/deploy.sh <name> --dry-run (kind + Istio)"
for name in "${NAMES[@]}"; do
  grep -qF "\"name\": \"wasm-${name//_/-}\"" deploy/kind/demo/workloads.yaml ||
    die 1 "new-filter.sh $name did not add wasm-${name//_/-} to the sample workloads' module volume"
  sctest_dry_run "$name"
done
[ "$(grep -c '"name": "wasm-sc-minimal"' deploy/kind/demo/workloads.yaml)" = 2 ] ||
  die 1 "wasm-sc-minimal should be in both sample workloads' module volume exactly once"
if [ "${#LINT_FAILURES[@]}" -gt 0 ]; then
  die 1 "the new filters build, pass their tests and run, but fail lints: ${LINT_FAILURES[*]}"
fi
step "scaffold tests passed"
