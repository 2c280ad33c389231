# shellcheck shell=bash
# A filter's committed kustomization (deploy/<filter>, deploy/<filter>/envoyfilter,
# deploy/<filter>/trafficextension) rendered with what only a deploy knows, through a kustomize
# overlay in a temporary copy: the pushed image's digest (wasmplugin, trafficextension) or the
# module's sha256 (envoyfilter); with --target cluster also the registry, the namespace and the
# pull secret. The committed files stay as they are. Needs scripts/lib/common.sh (die, ROOT).

# shellcheck source=deploy/kind/versions.env
. "$ROOT/deploy/kind/versions.env"

MESH_METHODS="wasmplugin envoyfilter trafficextension"
# A ConfigMap holds at most 1 MiB of data (the API server sums the values' bytes; Kubernetes
# pkg/apis/core/validation ValidateConfigMap against MaxSecretSize = 1 * 1024 * 1024).
MESH_CONFIGMAP_MAX=1048576

# Kubernetes object names cannot hold '_': http_headers -> http-headers.
mesh_resource_name() { printf '%s\n' "${1//_/-}"; }

# mesh_dir FILTER METHOD: the kustomization directory, relative to the checkout.
mesh_dir() {
  case "$2" in
    wasmplugin) printf 'deploy/%s\n' "$1" ;;
    envoyfilter | trafficextension) printf 'deploy/%s/%s\n' "$1" "$2" ;;
    *) die 2 "unknown method '$2' (expected ${MESH_METHODS// /, })" ;;
  esac
}

# shellcheck disable=SC2034 # the variables are the interface to the callers
# mesh_load_demo FILTER: reads deploy/<filter>/demo.env (WORKLOADS, PROOF_*) and checks it, and
# that the filter's kustomizations are there.
mesh_load_demo() {
  local filter=$1 where="deploy/$1/demo.env" m w
  WORKLOADS="" PROOF_PATH="" PROOF_EXPECT="" PROOF_LOG_EXPECT=""
  for m in $MESH_METHODS; do
    [ -f "$ROOT/$(mesh_dir "$filter" "$m")/kustomization.yaml" ] ||
      die 2 "$(mesh_dir "$filter" "$m")/kustomization.yaml is missing (the filter's $m manifests; scripts/new-filter.sh creates them)"
  done
  [ -f "$ROOT/$where" ] || die 2 "$where is missing (WORKLOADS the plugin selects, PROOF_PATH and PROOF_EXPECT of the demonstration request)"
  # shellcheck source=/dev/null
  . "$ROOT/$where"
  [ -n "$WORKLOADS" ] || die 2 "$where: WORKLOADS is empty (expected sample workloads: echo, client)"
  for w in $WORKLOADS; do
    case "$w" in echo | client) ;; *) die 2 "$where: WORKLOADS has '$w' (the sample workloads are echo and client)" ;; esac
  done
  { [ -n "$PROOF_PATH" ] && [ -n "$PROOF_EXPECT" ]; } || die 2 "$where: PROOF_PATH and PROOF_EXPECT are required"
}

# mesh_overlay FILTER METHOD WORKDIR: writes WORKDIR/overlay/kustomization.yaml on top of a copy
# of the committed kustomization and prints the overlay directory. Inputs (unset: as committed):
#   MESH_IMAGE        pinned reference HOST[:PORT]/REPOSITORY@sha256:HEX (wasmplugin, trafficextension)
#   MESH_MODULE       the module file (envoyfilter: copied to the ConfigMap's source, its sha256
#                     into the EnvoyFilter)
#   MESH_NAMESPACE    another namespace than deploy/kind/versions.env's DEMO_NAMESPACE
#   MESH_PULL_SECRET  imagePullSecret of the plugin
mesh_overlay() {
  local filter=$1 method=$2 work=$3 resource dir base
  resource=$(mesh_resource_name "$filter")
  dir=$(mesh_dir "$filter" "$method")
  rm -rf "$work/deploy" "$work/ns" "$work/overlay"
  mkdir -p "$work/deploy/kind" "$work/overlay"
  cp -r "$ROOT/deploy/$filter" "$work/deploy/"
  cp -r "$ROOT/deploy/kind/demo" "$ROOT/deploy/kind/auth-service" "$work/deploy/kind/"
  base="../$dir"
  if [ "$method" = envoyfilter ]; then
    local module=${MESH_MODULE:-$ROOT/dist/$filter.wasm} size
    [ -f "$module" ] || die 1 "$module not found (scripts/build.sh $filter builds it)"
    size=$(wc -c <"$module")
    [ "$size" -le "$MESH_CONFIGMAP_MAX" ] ||
      die 1 "$module is $size bytes: a ConfigMap holds at most $MESH_CONFIGMAP_MAX bytes, so the envoyfilter method cannot carry it; use --method wasmplugin"
    cp "$module" "$work/deploy/$filter/envoyfilter/$filter.wasm"
  fi
  if [ -n "${MESH_NAMESPACE:-}" ] && [ "$MESH_NAMESPACE" != "$DEMO_NAMESPACE" ]; then
    if [ "$method" = envoyfilter ] && [ -d "$ROOT/deploy/$filter/namespace" ]; then
      die 2 "$filter's EnvoyFilter holds the namespace inside its configuration string: --namespace works with --method wasmplugin or trafficextension"
    fi
    mkdir -p "$work/ns"
    printf 'apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\nnamespace: %s\nresources:\n  - ../%s\n' \
      "$MESH_NAMESPACE" "$dir" >"$work/ns/kustomization.yaml"
    base="../ns"
  fi
  {
    printf '# Written by scripts/deploy.sh: the committed %s with what only this deploy knows.\n' "$dir"
    printf 'apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\nresources:\n  - %s\n' "$base"
    if [ "$base" = ../ns ] && [ -d "$ROOT/deploy/$filter/namespace" ]; then
      printf 'components:\n  - ../deploy/%s/namespace\n' "$filter"
    fi
    mesh_patches "$filter" "$method" "$resource"
  } >"$work/overlay/kustomization.yaml"
  printf '%s\n' "$work/overlay"
}

# The overlay's patches (JSON 6902), or nothing.
mesh_patches() {
  local filter=$1 method=$2 resource=$3 ops="" prefix
  case "$method" in
    wasmplugin | trafficextension)
      prefix=/spec
      [ "$method" = trafficextension ] && prefix=/spec/wasm
      if [ -n "${MESH_IMAGE:-}" ]; then
        [[ $MESH_IMAGE =~ @sha256:([a-f0-9]{64})$ ]] || die 1 "mesh_overlay: '$MESH_IMAGE' is not pinned by a sha256 digest"
        ops+="      - op: replace\n        path: $prefix/url\n        value: \"oci://$MESH_IMAGE\"\n"
        ops+="      - op: add\n        path: $prefix/sha256\n        value: \"${BASH_REMATCH[1]}\"\n"
      fi
      if [ -n "${MESH_PULL_SECRET:-}" ]; then
        ops+="      - op: add\n        path: $prefix/imagePullSecret\n        value: \"$MESH_PULL_SECRET\"\n"
      fi
      [ -z "$ops" ] || printf 'patches:\n  - target:\n      group: extensions.istio.io\n      kind: %s\n      name: %s\n    patch: |-\n%b' \
        "$([ "$method" = wasmplugin ] && echo WasmPlugin || echo TrafficExtension)" "$resource" "$ops"
      ;;
    envoyfilter)
      local sha n i
      sha=$(sha256sum "${MESH_MODULE:-$ROOT/dist/$filter.wasm}" | cut -d' ' -f1)
      n=$(grep -c '^    - applyTo: ' "$ROOT/deploy/$filter/envoyfilter/envoyfilter.yaml" || true)
      [ "$n" -gt 0 ] || die 1 "deploy/$filter/envoyfilter/envoyfilter.yaml has no configPatches entry"
      for ((i = 0; i < n; i++)); do
        ops+="      - op: add\n        path: /spec/configPatches/$i/patch/value/typed_config/config/vm_config/environment_variables\n"
        ops+="        value:\n          key_values:\n            PROXY_WASM_MODULE_SHA256: \"$sha\"\n"
      done
      printf 'patches:\n  - target:\n      group: networking.istio.io\n      kind: EnvoyFilter\n      name: %s\n    patch: |-\n%b' "$resource" "$ops"
      ;;
  esac
}

# mesh_kustomize_cmd DIR METHOD: the kubectl kustomize command line for DIR (the same for every
# method: the envoyfilter kustomization reads the module from its own directory).
mesh_kustomize_cmd() {
  printf '%s\n' kubectl kustomize "$1"
}
