#!/usr/bin/env bash
# Every filter's manifests, rendered for both methods, validated against the Istio CRD schemas
# (../shared/istio/crds.yaml, read in place) and the Kubernetes schemas of the built-in kinds, then
# checked for meaning (check_rendered.py). Also: the shared kind/Istio pieces, the failure policy
# each filter must have, and clear errors for bad per-filter facts.
set -euo pipefail
cd "$(dirname "$0")/../../.."
. scripts/lib/common.sh
. scripts/lib/mesh_venv.sh
. scripts/lib/mesh_render.sh
. deploy/kind/tests/lib.sh

crds=${ISTIO_CRDS:-$ROOT/../shared/istio/crds.yaml}
[ -f "$crds" ] || die 1 "Istio CRD schemas not found at $crds (set ISTIO_CRDS, or extract them from a cluster: kubectl get crd wasmplugins.extensions.istio.io envoyfilters.networking.istio.io -o yaml)"
py=$(mesh_venv)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
validate() { "$py" deploy/kind/tests/validate_manifests.py --crds "$crds" "$@"; }

filters=$(filter_names)
for f in $filters; do [ -f "dist/$f.wasm" ] || { scripts/build.sh; break; }; done
# A snapshot of the modules: a build running meanwhile must not change them under the test.
mkdir -p "$work/dist"
for f in $filters; do cp "dist/$f.wasm" "$work/dist/"; done

for f in $filters; do
  sha=$(sha256sum "$work/dist/$f.wasm" | cut -d' ' -f1)
  url="oci://kind-registry:5000/proxy-wasm/$f@sha256:$sha"
  mesh_load_filter "$f"
  for method in wasmplugin envoyfilter; do
    echo "$f, $method"
    { render_workloads "$f" "$method" "$sha"; printf -- '---\n'; render_plugin "$f" "$method" "$url" "$sha" "$work/dist/$f.wasm"; } >"$work/$f-$method.yaml"
    if out=$(validate "$work/$f-$method.yaml" 2>&1); then pass "schemas: $out"; else fail "schemas:"; printf '%s\n' "$out" | sed 's/^/       /'; fi
    "$py" deploy/kind/tests/check_rendered.py "$f" "$method" "deploy/$f/config.json" "$work/dist/$f.wasm" "$sha" \
      "$PHASE" "$FAIL_STRATEGY" "$MATCH_MODE" "$WORKLOADS" "$MESH_CLUSTERS" <"$work/$f-$method.yaml" || FAILURES=$((FAILURES + 1))
  done
done

echo "failure policies the filters must have"
for f in $filters; do
  mesh_load_filter "$f"
  case "$f" in
    auth_check)
      expect_eq "auth_check fails closed in AUTHN" "AUTHN FAIL_CLOSE" "$PHASE $FAIL_STRATEGY"
      expect_contains "auth_check calls the auth service's mesh cluster" \
        '"outbound|8080||auth.proxy-wasm-demo.svc.cluster.local"' "$(cat "$work/$f-wasmplugin.yaml")" ;;
    request_logging) expect_eq "request_logging is STATS, fail open" "STATS FAIL_OPEN" "$PHASE $FAIL_STRATEGY" ;;
    *) pass "$f: $PHASE $FAIL_STRATEGY (see deploy/$f/mesh.env)" ;;
  esac
done

echo "shared pieces"
R=() R[REGISTRY_PORT]=5001
render_template deploy/kind/templates/local-registry-hosting.yaml >"$work/registry-hosting.yaml"
if out=$(validate "$work/registry-hosting.yaml" 2>&1); then pass "local-registry-hosting: $out"; else fail "local-registry-hosting: $out"; fi
if out=$("$py" deploy/kind/tests/check_shared.py deploy/kind/cluster.yaml deploy/kind/istio.yaml 2>&1); then
  pass "$out"
else
  fail "kind/Istio settings: $out"
fi

echo "bad per-filter facts give clear errors"
fake="$work/root"
mkdir -p "$fake/deploy/bogus" "$fake/deploy/kind"
ln -s "$ROOT/deploy/kind/templates" "$fake/deploy/kind/templates"
cp deploy/kind/versions.env "$fake/deploy/kind/"
cp deploy/http_headers/mesh.env "$fake/deploy/bogus/"
bad_fact() { # WHAT SED EXPECTED
  sed "$2" deploy/http_headers/mesh.env >"$fake/deploy/bogus/mesh.env"
  printf '{"a":1}\n' >"$fake/deploy/bogus/config.json"
  local err
  err=$( (ROOT=$fake; . scripts/lib/mesh_render.sh; render_wasmplugin bogus oci://x/y "$(printf 'a%.0s' {1..64})") 2>&1 >/dev/null || true)
  expect_contains "$1" "$3" "$err"
}
bad_fact "unknown phase" 's/^PHASE=.*/PHASE=LATE/' "deploy/bogus/mesh.env: PHASE='LATE' (expected AUTHN, AUTHZ, STATS or UNSPECIFIED_PHASE)"
bad_fact "unknown failStrategy" 's/^FAIL_STRATEGY=.*/FAIL_STRATEGY=MAYBE/' "FAIL_STRATEGY='MAYBE' (expected FAIL_CLOSE or FAIL_OPEN)"
bad_fact "priority not a number" 's/^PRIORITY=.*/PRIORITY=high/' "PRIORITY='high' is not an integer"
bad_fact "renaming a cluster the config does not name" 's/^PHASE=.*/PHASE=STATS MESH_CLUSTERS="nope=outbound|80||x"/' "MESH_CLUSTERS renames 'nope', which deploy/bogus/config.json does not mention"
bad_fact "unknown workload" 's/^WORKLOADS=.*/WORKLOADS="echo db"/' "WORKLOADS has 'db' (the sample workloads are echo and client)"
rm "$fake/deploy/bogus/mesh.env"
err=$( (ROOT=$fake; . scripts/lib/mesh_render.sh; render_wasmplugin bogus oci://x/y "$(printf 'a%.0s' {1..64})") 2>&1 >/dev/null || true)
expect_contains "missing mesh.env" "deploy/bogus/mesh.env is missing" "$err"
cp deploy/http_headers/mesh.env "$fake/deploy/bogus/"
printf '["not", "an object"]\n' >"$fake/deploy/bogus/config.json"
err=$( (ROOT=$fake; . scripts/lib/mesh_render.sh; render_wasmplugin bogus oci://x/y "$(printf 'a%.0s' {1..64})") 2>&1 >/dev/null || true)
expect_contains "config.json not an object" "deploy/bogus/config.json: the plugin configuration must be a JSON object" "$err"

finish test_manifests
