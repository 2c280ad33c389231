#!/usr/bin/env bash
# Every filter's kustomizations as committed (deploy/<filter>, .../envoyfilter,
# .../trafficextension), rendered by `kubectl kustomize` and validated against the Istio CRD schemas
# (../shared/istio/crds.yaml, read in place) and the Kubernetes schemas of the built-in kinds, then
# checked for meaning (check_rendered.py); the same for the overlays scripts/deploy.sh renders (digest
# pinned, module sha256, another namespace). Also: the shared kind/Istio pieces, the failure policy
# each filter must have, and clear errors for missing per-filter files.
set -euo pipefail
cd "$(dirname "$0")/../../.."
. scripts/lib/common.sh
. scripts/lib/mesh_venv.sh
. scripts/lib/mesh_render.sh
. deploy/kind/tests/lib.sh

crds=${ISTIO_CRDS:-$ROOT/../shared/istio/crds.yaml}
[ -f "$crds" ] || die 1 "Istio CRD schemas not found at $crds (set ISTIO_CRDS, or extract them from a cluster: kubectl get crd wasmplugins.extensions.istio.io trafficextensions.extensions.istio.io envoyfilters.networking.istio.io -o yaml)"
command -v kubectl >/dev/null || die 1 "kubectl (with its built-in kustomize) is needed to render the manifests"
py=$(mesh_venv)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
validate() { "$py" deploy/kind/tests/validate_manifests.py --crds "$crds" "$@"; }
schemas() { # WHAT FILE
  local out
  if out=$(validate "$2" 2>&1); then pass "$1: $out"; else fail "$1:"; printf '%s\n' "$out" | sed 's/^/       /'; fi
}

filters=$(filter_names)
for f in $filters; do if [ ! -f "dist/$f.wasm" ] || [ ! -f "deploy/$f/envoyfilter/$f.wasm" ]; then scripts/build.sh; break; fi; done
# All digits: YAML reads an unquoted one as a number, which the schema refuses.
digest=$(printf '0123456789%.0s' 1 2 3 4 5 6)0123

for f in $filters; do
  echo "$f: kubectl kustomize of each method, as committed"
  for m in $MESH_METHODS; do
    mapfile -t cmd < <(mesh_kustomize_cmd "$(mesh_dir "$f" "$m")" "$m")
    if "${cmd[@]}" >"$work/$f-$m.yaml" 2>"$work/err"; then pass "$(mesh_dir "$f" "$m") renders"; else fail "$(mesh_dir "$f" "$m"): $(cat "$work/err")"; continue; fi
    schemas "$(mesh_dir "$f" "$m")" "$work/$f-$m.yaml"
  done
  mesh_load_demo "$f"
  "$py" deploy/kind/tests/check_rendered.py "$f" "deploy/$f/config.json" "dist/$f.wasm" "$WORKLOADS" \
    "$work/$f-wasmplugin.yaml" "$work/$f-envoyfilter.yaml" "$work/$f-trafficextension.yaml" || FAILURES=$((FAILURES + 1))

  echo "$f: the overlays scripts/deploy.sh renders"
  for m in $MESH_METHODS; do
    overlay=$(MESH_IMAGE="kind-registry:5000/proxy-wasm/$f@sha256:$digest" MESH_MODULE="dist/$f.wasm" mesh_overlay "$f" "$m" "$work/ov-$f-$m")
    mapfile -t cmd < <(mesh_kustomize_cmd "$overlay" "$m")
    "${cmd[@]}" >"$work/ov-$f-$m.yaml"
    schemas "overlay of $(mesh_dir "$f" "$m")" "$work/ov-$f-$m.yaml"
    # Only the pinned image / module digest differ from the committed rendering.
    changed=$("$py" - "$work/$f-$m.yaml" "$work/ov-$f-$m.yaml" <<'PY'
import sys, yaml
a = [d for d in yaml.safe_load_all(open(sys.argv[1])) if d]
b = [d for d in yaml.safe_load_all(open(sys.argv[2])) if d]
def flat(x, p=""):
    if isinstance(x, dict):
        for k, v in x.items(): yield from flat(v, f"{p}.{k}")
    elif isinstance(x, list):
        for i, v in enumerate(x): yield from flat(v, f"{p}[{i}]")
    else: yield p, x
fa = {(d["kind"], d["metadata"]["name"]): dict(flat(d)) for d in a}
fb = {(d["kind"], d["metadata"]["name"]): dict(flat(d)) for d in b}
out = set()
for key in fa.keys() | fb.keys():
    x, y = fa.get(key, {}), fb.get(key, {})
    for p in x.keys() | y.keys():
        if x.get(p) != y.get(p): out.add(f"{key[0]}{p}")
print(" ".join(sorted(out)))
PY
)
    case "$m" in
      wasmplugin) want="WasmPlugin.spec.sha256 WasmPlugin.spec.url" ;;
      trafficextension) want="TrafficExtension.spec.wasm.sha256 TrafficExtension.spec.wasm.url" ;;
      envoyfilter) want=$(n=$(grep -c '^    - applyTo: ' "deploy/$f/envoyfilter/envoyfilter.yaml"); for ((i = 0; i < n; i++)); do printf 'EnvoyFilter.spec.configPatches[%d].patch.value.typed_config.config.vm_config.environment_variables.key_values.PROXY_WASM_MODULE_SHA256 ' "$i"; done | sed 's/ $//') ;;
    esac
    expect_eq "overlay of $(mesh_dir "$f" "$m"): only the digest changes" "$want" "$changed"
  done
  expect_contains "the pinned sha256 stays a string (a digest of digits would otherwise be a number)" \
    "sha256: \"$digest\"" "$(cat "$work/ov-$f-wasmplugin.yaml")"
done

echo "another namespace (--target cluster --namespace)"
overlay=$(MESH_NAMESPACE=shop MESH_IMAGE="r.example.com/team/auth_check@sha256:$digest" MESH_PULL_SECRET=regcred mesh_overlay auth_check wasmplugin "$work/ns-auth")
kubectl kustomize "$overlay" >"$work/ns-auth.yaml"
schemas "auth_check in namespace shop" "$work/ns-auth.yaml"
expect_eq "every object is in shop (the Namespace renamed)" "shop" \
  "$("$py" -c 'import sys,yaml; print(" ".join(sorted({d["metadata"].get("namespace", d["metadata"]["name"]) for d in yaml.safe_load_all(open(sys.argv[1])) if d})))' "$work/ns-auth.yaml")"
expect_contains "the auth service's cluster name follows" "cluster: outbound|8080||auth.shop.svc.cluster.local" "$(cat "$work/ns-auth.yaml")"
err=$( (MESH_NAMESPACE=shop mesh_overlay auth_check envoyfilter "$work/ns-auth-ef") 2>&1 >/dev/null || true)
expect_contains "auth_check's EnvoyFilter in another namespace: a clear refusal" "holds the namespace inside its configuration string: --namespace works with --method wasmplugin or trafficextension" "$err"

echo "failure policies the filters must have"
for f in $filters; do
  policy=$("$py" -c 'import sys,yaml; d=[x for x in yaml.safe_load_all(open(sys.argv[1])) if x and x["kind"]=="WasmPlugin"][0]["spec"]; print(d["phase"], d["failStrategy"])' "$work/$f-wasmplugin.yaml")
  case "$f" in
    auth_check) expect_eq "auth_check fails closed in AUTHN" "AUTHN FAIL_CLOSE" "$policy" ;;
    request_logging) expect_eq "request_logging is STATS, fail open" "STATS FAIL_OPEN" "$policy" ;;
    *) pass "$f: $policy (see deploy/$f/wasmplugin.yaml)" ;;
  esac
done

echo "request_logging through Envoy's access log (deploy/request_logging/access-log)"
kubectl kustomize deploy/request_logging/access-log >"$work/rl-access-log.yaml"
# The shared CRDs have no Telemetry: its object is checked by check_access_log.py, the rest here.
"$py" -c 'import sys,yaml; yaml.safe_dump_all([d for d in yaml.safe_load_all(open(sys.argv[1])) if d and d["kind"] != "Telemetry"], open(sys.argv[2], "w"))' \
  "$work/rl-access-log.yaml" "$work/rl-access-log-crds.yaml"
schemas "request_logging access-log overlay" "$work/rl-access-log-crds.yaml"
if out=$("$py" deploy/kind/tests/check_access_log.py "$work/rl-access-log.yaml" "$work/request_logging-wasmplugin.yaml" \
  deploy/request_logging/access-log/istio.yaml 2>&1); then pass "$out"; else fail "access-log overlay: $out"; fi

echo "shared pieces"
kubectl kustomize deploy/kind/registry-hosting >"$work/registry-hosting.yaml"
schemas "local-registry-hosting" "$work/registry-hosting.yaml"
hosting=$("$py" -c 'import sys,yaml; print(yaml.safe_load(open(sys.argv[1]))["data"]["localRegistryHosting.v1"])' "$work/registry-hosting.yaml")
expect_contains "hostFromContainerRuntime is the host the nodes' containerd has a mirror for" 'hostFromContainerRuntime: "localhost:5001"' "$hosting"
expect_contains "hostFromClusterNetwork is the registry container" 'hostFromClusterNetwork: "kind-registry:5000"' "$hosting"
if out=$("$py" deploy/kind/tests/check_shared.py deploy/kind/cluster.yaml deploy/kind/istio.yaml deploy/kind/versions.env 2>&1); then
  pass "$out"
else
  fail "kind/Istio settings: $out"
fi
expect_eq "every filter has its module ConfigMap in the workloads' projected volume (scripts/new-filter.sh adds new ones)" \
  "$(for f in $filters; do printf 'wasm-%s\n' "${f//_/-}"; done | sort)" \
  "$(grep -o '"name": "wasm-[a-z0-9-]*"' deploy/kind/demo/workloads.yaml | sed 's/.*"\(wasm-[^"]*\)"/\1/' | sort -u)"

echo "missing per-filter files give clear errors"
fake="$work/root"
mkdir -p "$fake/deploy/kind"
cp -r deploy/http_headers "$fake/deploy/bogus"
cp deploy/kind/versions.env "$fake/deploy/kind/"
rm "$fake/deploy/bogus/demo.env"
err=$( (ROOT=$fake; . scripts/lib/mesh_render.sh; mesh_load_demo bogus) 2>&1 >/dev/null || true)
expect_contains "missing demo.env" "deploy/bogus/demo.env is missing" "$err"
rm -r "$fake/deploy/bogus/trafficextension"
err=$( (ROOT=$fake; . scripts/lib/mesh_render.sh; mesh_load_demo bogus) 2>&1 >/dev/null || true)
expect_contains "missing method kustomization" "deploy/bogus/trafficextension/kustomization.yaml is missing" "$err"
cp -r deploy/http_headers/trafficextension "$fake/deploy/bogus/"
printf 'WORKLOADS="echo db"\nPROOF_PATH=/\nPROOF_EXPECT=x\n' >"$fake/deploy/bogus/demo.env"
err=$( (ROOT=$fake; . scripts/lib/mesh_render.sh; mesh_load_demo bogus) 2>&1 >/dev/null || true)
expect_contains "unknown workload" "WORKLOADS has 'db' (the sample workloads are echo and client)" "$err"

finish test_manifests
