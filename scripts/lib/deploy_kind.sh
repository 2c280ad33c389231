# shellcheck shell=bash
# scripts/deploy.sh --target kind: a filter from source to a kind cluster with Istio.
#
# Sequence: preflight -> local registry (kind's recipe) -> cluster -> Istio -> build -> sample
# workloads -> push (wasmplugin) or ConfigMap (envoyfilter) -> apply the plugin pinned by digest ->
# wait until the sidecar loaded it -> a request from the client pod as proof.
# Everything that exists already (registry, cluster, Istio) is reused. Inputs from deploy.sh:
# METHOD, DRY_RUN, NO_BUILD (deploy the module in $DIST_DIR as it is). With DRY_RUN=1 the commands and manifests are printed on stdout, nothing runs,
# and every check assumes a fresh machine.
# Needs scripts/lib/common.sh.

# shellcheck source=scripts/lib/mesh_render.sh
. "$ROOT/scripts/lib/mesh_render.sh"

KUBE_CONTEXT="kind-$CLUSTER_NAME"
# Where the built modules are: scripts/build.sh writes dist/<filter>.wasm.
DIST_DIR=${DIST_DIR:-$ROOT/dist}
# How long to wait for rollouts and for the sidecar to load the plugin.
KIND_WAIT_TIMEOUT=${KIND_WAIT_TIMEOUT:-300}
KIND_POLL_SECONDS=${KIND_POLL_SECONDS:-3}

# The command line as a shell would need it typed.
kind_quote() {
  local out="" a
  for a in "$@"; do
    if [[ $a =~ ^[A-Za-z0-9_./:=@,+%-]+$ ]]; then out+="$a "; else out+="$(printf '%q' "$a") "; fi
  done
  printf '%s' "${out% }"
}

# Dry-run output goes to fd 3 (the caller's stdout, opened by deploy_kind), so that checks run
# inside $(...) still show up in the listing.
dry() {
  local format=$1
  shift
  # shellcheck disable=SC2059 # the format is the caller's literal
  printf "$format" "$@" >&3
}

# kind_run CMD...: show and run a command that changes something, its output on stderr (dry run:
# show only).
kind_run() {
  if [ "${DRY_RUN:-0}" = 1 ]; then
    dry '%s\n' "$(kind_quote "$@")"
  else
    printf '+ %s\n' "$(kind_quote "$@")" >&2
    "$@" >&2
  fi
}

# kind_check CMD...: run a read-only check quietly. Dry run: print it as a comment and answer
# "absent" (status 1), as on a fresh machine.
kind_check() {
  if [ "${DRY_RUN:-0}" = 1 ]; then
    dry '# check: %s\n' "$(kind_quote "$@")"
    return 1
  fi
  "$@"
}

kc() { kubectl --context "$KUBE_CONTEXT" "$@"; }

# kind_apply: kubectl apply of the manifest on stdin (dry run: print it as a here-document).
kind_apply() {
  local manifest
  manifest=$(cat)
  if [ "${DRY_RUN:-0}" = 1 ]; then
    dry 'kubectl --context %s apply -f - <<'"'"'EOF'"'"'\n%s\nEOF\n' "$KUBE_CONTEXT" "$manifest"
  else
    printf '+ kubectl --context %s apply -f -\n' "$KUBE_CONTEXT" >&2
    kc apply -f - <<<"$manifest" >&2
  fi
}

# version_ge A B: A >= B for dotted versions.
version_ge() { [ "$(printf '%s\n%s\n' "$2" "$1" | sort -V | head -1)" = "$2" ]; }
first_version() { grep -oE '[0-9]+\.[0-9]+\.[0-9]+' | head -1; }

kind_preflight() {
  local filter=$1 hint t v missing=()
  hint="No cluster needed to try the filter: scripts/deploy.sh --target envoy $filter"
  if [ "${DRY_RUN:-0}" = 1 ]; then
    dry '# check: docker, kind, kubectl and istioctl on PATH; docker info; versions (kind >= %s, kubectl >= %s, istioctl %s)\n' \
      "$KIND_MIN_VERSION" "$KUBECTL_MIN_VERSION" "$ISTIO_ACCEPTED_MINORS"
    return 0
  fi
  for t in docker kind kubectl istioctl; do command -v "$t" >/dev/null || missing+=("$t"); done
  if [ ${#missing[@]} -gt 0 ]; then
    die 1 "the kind target needs docker, kind, kubectl and istioctl; not found: ${missing[*]}.
  Install them (kind: https://kind.sigs.k8s.io/docs/user/quick-start/#installation,
  istioctl $ISTIO_VERSION: https://istio.io/latest/docs/setup/getting-started/#download).
  $hint"
  fi
  local out
  if ! out=$(docker info 2>&1 >/dev/null); then
    die 1 "the Docker engine is not running or not reachable ('docker info' failed: $(printf '%s' "$out" | grep -m1 -v '^\s*$')).
  Start it (e.g. 'sudo systemctl start docker') and retry.
  $hint"
  fi
  local kind_v kubectl_v
  kind_v=$(kind version 2>/dev/null | first_version || true)
  { [ -n "$kind_v" ] && version_ge "$kind_v" "$KIND_MIN_VERSION"; } ||
    die 1 "kind ${kind_v:-of unknown version} found; need >= $KIND_MIN_VERSION. $hint"
  kubectl_v=$(kubectl version --client 2>/dev/null | first_version || true)
  { [ -n "$kubectl_v" ] && version_ge "$kubectl_v" "$KUBECTL_MIN_VERSION"; } ||
    die 1 "kubectl ${kubectl_v:-of unknown version} found; need >= $KUBECTL_MIN_VERSION. $hint"
  v=$(istioctl version --remote=false 2>/dev/null | first_version || true)
  case " $ISTIO_ACCEPTED_MINORS " in
    *" ${v%.*} "*) ;;
    *) die 1 "istioctl ${v:-of unknown version} found; this deployment is pinned to Istio $ISTIO_VERSION (accepted: $ISTIO_ACCEPTED_MINORS).
  Get it: curl -L https://istio.io/downloadIstio | ISTIO_VERSION=$ISTIO_VERSION sh -
  $hint" ;;
  esac
  info "preflight: docker engine up, kind $kind_v, kubectl $kubectl_v, istioctl $v"
}

# The registry container of kind's local-registry recipe, published on 127.0.0.1:$REGISTRY_PORT.
kind_ensure_registry() {
  local state
  state=$(kind_check docker inspect -f '{{.State.Running}}' "$REGISTRY_NAME" 2>/dev/null) || state=absent
  case "$state" in
    true) info "registry $REGISTRY_NAME: running" ;;
    false) kind_run docker start "$REGISTRY_NAME" ;;
    *) kind_run docker run -d --restart=always -p "127.0.0.1:$REGISTRY_PORT:5000" --network bridge \
         --name "$REGISTRY_NAME" "$REGISTRY_IMAGE" ;;
  esac
}

kind_ensure_cluster() {
  local clusters node dir="/etc/containerd/certs.d/localhost:$REGISTRY_PORT"
  clusters=$(kind_check kind get clusters 2>/dev/null) || clusters=""
  if grep -qx "$CLUSTER_NAME" <<<"$clusters"; then
    info "cluster $CLUSTER_NAME: exists"
  else
    kind_run kind create cluster --name "$CLUSTER_NAME" --config deploy/kind/cluster.yaml --wait 120s
    # Nodes resolve localhost:$REGISTRY_PORT to the registry container over the kind network.
    local nodes
    if [ "${DRY_RUN:-0}" = 1 ]; then nodes="$CLUSTER_NAME-control-plane"; else nodes=$(kind get nodes --name "$CLUSTER_NAME"); fi
    for node in $nodes; do
      kind_run docker exec "$node" mkdir -p "$dir"
      if [ "${DRY_RUN:-0}" = 1 ]; then
        dry '%s <<<%q\n' "$(kind_quote docker exec -i "$node" cp /dev/stdin "$dir/hosts.toml")" "[host.\"http://$REGISTRY_NAME:5000\"]"
      else
        printf '[host."http://%s:5000"]\n' "$REGISTRY_NAME" | kind_run docker exec -i "$node" cp /dev/stdin "$dir/hosts.toml"
      fi
    done
  fi
  local net
  net=$(kind_check docker inspect -f '{{json .NetworkSettings.Networks.kind}}' "$REGISTRY_NAME" 2>/dev/null) || net=null
  [ "$net" != null ] || kind_run docker network connect kind "$REGISTRY_NAME"
  R=() R[REGISTRY_PORT]=$REGISTRY_PORT
  render_template "$MESH_TEMPLATES/local-registry-hosting.yaml" | kind_apply
}

kind_ensure_istio() {
  if kind_check kubectl --context "$KUBE_CONTEXT" -n istio-system get deployment istiod >/dev/null 2>&1; then
    info "Istio: installed"
    return
  fi
  kind_run istioctl --context "$KUBE_CONTEXT" install -y -f deploy/kind/istio.yaml
  kind_run kubectl --context "$KUBE_CONTEXT" -n istio-system rollout status deployment/istiod --timeout="${KIND_WAIT_TIMEOUT}s"
}

kind_wait_workloads() {
  kind_run kubectl --context "$KUBE_CONTEXT" -n "$DEMO_NAMESPACE" rollout status deployment/echo --timeout="${KIND_WAIT_TIMEOUT}s"
  kind_run kubectl --context "$KUBE_CONTEXT" -n "$DEMO_NAMESPACE" rollout status deployment/client --timeout="${KIND_WAIT_TIMEOUT}s"
  kind_run kubectl --context "$KUBE_CONTEXT" -n "$DEMO_NAMESPACE" wait --for=condition=Available deployment --all --timeout="${KIND_WAIT_TIMEOUT}s"
}

# kind_wait_loaded FILTER METHOD: polls the echo sidecar's Envoy config until the filter is in it
# as a Wasm filter. (When the agent cannot fetch a WasmPlugin, it puts an RBAC filter under the
# same name instead, so the name alone is no proof.)
kind_wait_loaded() {
  local filter=$1 method=$2 resource deadline dump what
  resource=$(mesh_resource_name "$filter")
  if [ "$method" = wasmplugin ]; then
    what="config_dump?resource=ecds_filters"
  else
    what="config_dump"
  fi
  local cmd=(kubectl --context "$KUBE_CONTEXT" -n "$DEMO_NAMESPACE" exec deploy/echo -c istio-proxy -- pilot-agent request GET "$what")
  if [ "${DRY_RUN:-0}" = 1 ]; then
    dry '# wait until the sidecar loaded the plugin: poll %s\n' "$(kind_quote "${cmd[@]}")"
    return 0
  fi
  step "waiting for the echo sidecar to load $filter"
  deadline=$((SECONDS + KIND_WAIT_TIMEOUT))
  while :; do
    dump=$("${cmd[@]}" 2>/dev/null || true)
    if [ "$method" = wasmplugin ]; then
      if grep -q "$DEMO_NAMESPACE.$resource" <<<"$dump" && grep -q 'envoy.extensions.filters.http.wasm.v3.Wasm' <<<"$dump"; then
        info "loaded: ECDS filter $DEMO_NAMESPACE.$resource is a Wasm filter in the echo sidecar"
        return 0
      fi
    elif grep -q "/var/local/lib/wasm-filters/$filter.wasm" <<<"$dump"; then
      info "loaded: the echo sidecar's listeners run /var/local/lib/wasm-filters/$filter.wasm"
      return 0
    fi
    if [ "$SECONDS" -ge "$deadline" ]; then
      info "the echo sidecar's recent Wasm log lines:"
      kc -n "$DEMO_NAMESPACE" logs deploy/echo -c istio-proxy --tail=300 2>&1 | grep -i wasm | tail -20 >&2 || true
      die 1 "the echo sidecar did not load $filter within ${KIND_WAIT_TIMEOUT}s (see the log lines above; 'kubectl --context $KUBE_CONTEXT -n $DEMO_NAMESPACE get wasmplugin,envoyfilter' and the istio-proxy logs tell more)"
    fi
    sleep "$KIND_POLL_SECONDS"
  done
}

# kind_proof FILTER: a request from the client pod through the sidecars, printed, checked against
# the filter's PROOF_EXPECT (and PROOF_LOG_EXPECT in the echo sidecar's log).
kind_proof() {
  local filter=$1 out deadline
  local cmd=(kubectl --context "$KUBE_CONTEXT" -n "$DEMO_NAMESPACE" exec deploy/client -c client -- curl -sS -i --max-time 10 "http://echo:8080$PROOF_PATH")
  local logs=(kubectl --context "$KUBE_CONTEXT" -n "$DEMO_NAMESPACE" logs deploy/echo -c istio-proxy --since=5m)
  if [ "${DRY_RUN:-0}" = 1 ]; then
    dry '%s\n' "$(kind_quote "${cmd[@]}")"
    dry '# expect a line matching: %s\n' "$PROOF_EXPECT"
    [ -z "$PROOF_LOG_EXPECT" ] || dry '%s | grep -F %q\n' "$(kind_quote "${logs[@]}")" "$PROOF_LOG_EXPECT"
    return 0
  fi
  step "proof: a request from the client pod"
  printf '+ %s\n' "$(kind_quote "${cmd[@]}")" >&2
  deadline=$((SECONDS + 60))
  # The config may reach the sidecar's workers a moment after the config dump shows it.
  until out=$("${cmd[@]}" 2>&1 | tr -d '\r') && grep -Eiq "$PROOF_EXPECT" <<<"$out"; do
    if [ "$SECONDS" -ge "$deadline" ]; then
      printf '%s\n' "$out"
      die 1 "no line of the response matches '$PROOF_EXPECT': the filter is loaded but does not act as expected"
    fi
    sleep "$KIND_POLL_SECONDS"
  done
  printf '%s\n' "$out"
  info "proof: $(grep -Eim1 "$PROOF_EXPECT" <<<"$out")"
  if [ -n "$PROOF_LOG_EXPECT" ]; then
    local line
    line=$("${logs[@]}" 2>/dev/null | grep -F "$PROOF_LOG_EXPECT" | tail -1 || true)
    [ -n "$line" ] || die 1 "the echo sidecar logged no line containing '$PROOF_LOG_EXPECT'"
    info "proof (echo sidecar log): $line"
  fi
}

# Pushes dist/FILTER.wasm to the local registry; prints the digest-pinned reference (dry run:
# prints the command, and a reference with a zero digest).
kind_push() {
  local filter=$1 cmd
  cmd=(scripts/push.sh "$filter" --registry "localhost:$REGISTRY_PORT" --wasm "${2#"$ROOT/"}")
  if [ "${DRY_RUN:-0}" = 1 ]; then
    dry '%s\n' "$(kind_quote "${cmd[@]}")"
    printf 'localhost:%s/proxy-wasm/%s@sha256:%s\n' "$REGISTRY_PORT" "$filter" "$(printf '0%.0s' {1..64})"
    return 0
  fi
  printf '+ %s\n' "$(kind_quote "${cmd[@]}")" >&2
  "${cmd[@]}"
}

deploy_kind() {
  local filter=$1 method=${METHOD:-wasmplugin} wasm pinned digest url resource
  mesh_load_filter "$filter" # bad facts fail before anything runs
  resource=$(mesh_resource_name "$filter")
  wasm="$DIST_DIR/$filter.wasm"
  exec 3>&1
  [ "${DRY_RUN:-0}" = 1 ] && dry '# scripts/deploy.sh --target kind --method %s %s (dry run: nothing is run)\n' "$method" "$filter"
  step "preflight"
  kind_preflight "$filter"
  step "local registry, kind cluster $CLUSTER_NAME, Istio"
  kind_ensure_registry
  kind_ensure_cluster
  kind_ensure_istio
  if [ "${NO_BUILD:-0}" = 1 ]; then
    [ "${DRY_RUN:-0}" = 1 ] || [ -f "$wasm" ] || die 1 "--no-build: $wasm does not exist"
  else
    step "build $filter"
    kind_run scripts/build.sh "$filter"
    [ "${DRY_RUN:-0}" = 1 ] || [ -f "$wasm" ] || die 1 "scripts/build.sh did not produce $wasm"
  fi
  if [ "$method" = wasmplugin ]; then
    step "sample workloads"
    render_workloads "$filter" wasmplugin | kind_apply
    kind_wait_workloads
    # Switching methods: the EnvoyFilter copy must go (the pods no longer mount its module).
    kind_run kubectl --context "$KUBE_CONTEXT" -n "$DEMO_NAMESPACE" delete \
      "envoyfilter.networking.istio.io/$resource" "configmap/wasm-$resource" --ignore-not-found
    step "push $filter"
    pinned=$(kind_push "$filter" "$wasm" | tail -1)
    [[ $pinned == *@sha256:* ]] || die 1 "push.sh printed '$pinned', not a digest-pinned reference"
    info "pushed: $pinned"
    digest=${pinned##*@sha256:}
    # The host pushes to localhost:PORT; the sidecar's agent pulls from the registry container.
    url="oci://$REGISTRY_NAME:5000/${pinned#*/}"
    step "apply the WasmPlugin (pinned: $url)"
    if [ "${DRY_RUN:-0}" = 1 ]; then
      dry '# (a real run puts the digest push.sh prints in place of the zeros)\n'
    fi
    render_wasmplugin "$filter" "$url" "$digest" | kind_apply
  else
    local module_sha="<sha256 of dist/$filter.wasm>"
    [ "${DRY_RUN:-0}" = 1 ] || module_sha=$(sha256sum "$wasm" | cut -d' ' -f1)
    step "ConfigMap with the module, workloads mounting it, EnvoyFilter"
    # The module is in place before pods that mount it start (a new module rolls the pods).
    render_namespace | kind_apply
    if [ "${DRY_RUN:-0}" = 1 ]; then
      render_configmap "$filter" "$wasm" "<base64 of dist/$filter.wasm>" | kind_apply
    else
      render_configmap "$filter" "$wasm" | kind_apply
    fi
    render_workloads "$filter" envoyfilter "$module_sha" | kind_apply
    kind_wait_workloads
    # Switching methods: one copy of the filter, not two.
    kind_run kubectl --context "$KUBE_CONTEXT" -n "$DEMO_NAMESPACE" delete wasmplugin.extensions.istio.io "$resource" --ignore-not-found
    render_envoyfilter "$filter" | kind_apply
  fi
  kind_wait_loaded "$filter" "$method"
  kind_proof "$filter"
  [ "${DRY_RUN:-0}" = 1 ] || step "$filter runs in the mesh (undo: scripts/undeploy.sh $filter)"
}

# undeploy_kind FILTER: removes the filter's objects; DELETE_CLUSTER=1 also removes the cluster and
# the registry container.
undeploy_kind() {
  local filter=$1 resource
  exec 3>&1
  resource=$(mesh_resource_name "$filter")
  if [ "${DELETE_CLUSTER:-0}" = 1 ]; then
    kind_preflight_light
    local clusters
    clusters=$(kind_check kind get clusters 2>/dev/null) || clusters=""
    if grep -qx "$CLUSTER_NAME" <<<"$clusters"; then
      kind_run kind delete cluster --name "$CLUSTER_NAME"
    else
      info "cluster $CLUSTER_NAME: absent"
    fi
    if kind_check docker inspect "$REGISTRY_NAME" >/dev/null 2>&1; then
      kind_run docker rm -f "$REGISTRY_NAME" >/dev/null
    else
      info "registry $REGISTRY_NAME: absent"
    fi
    return 0
  fi
  kind_preflight_light
  if [ "${DRY_RUN:-0}" = 0 ] && ! kc get namespace "$DEMO_NAMESPACE" >/dev/null 2>&1; then
    info "namespace $DEMO_NAMESPACE is absent in $KUBE_CONTEXT: nothing to remove"
    return 0
  fi
  kind_run kubectl --context "$KUBE_CONTEXT" -n "$DEMO_NAMESPACE" delete wasmplugin.extensions.istio.io,envoyfilter.networking.istio.io "$resource" --ignore-not-found
  # Drop the module volume annotations before the ConfigMap goes, so no pod waits for it.
  render_workloads "$filter" wasmplugin | kind_apply
  kind_run kubectl --context "$KUBE_CONTEXT" -n "$DEMO_NAMESPACE" delete configmap "wasm-$resource" --ignore-not-found
  if [ -f "$ROOT/deploy/$filter/extras.yaml" ]; then
    R=() R[NAMESPACE]=$DEMO_NAMESPACE
    local extras
    extras=$(render_template "$ROOT/deploy/$filter/extras.yaml")
    if [ "${DRY_RUN:-0}" = 1 ]; then
      dry 'kubectl --context %s delete --ignore-not-found -f - <<'"'"'EOF'"'"'\n%s\nEOF\n' "$KUBE_CONTEXT" "$extras"
    else
      printf '+ kubectl --context %s delete --ignore-not-found -f -\n' "$KUBE_CONTEXT" >&2
      kc delete --ignore-not-found -f - <<<"$extras" >&2
    fi
  fi
  [ "${DRY_RUN:-0}" = 1 ] || step "$filter removed from $KUBE_CONTEXT (the sample workloads, Istio and the cluster stay; --delete-cluster removes them)"
}

# Undeploy needs the tools and the engine, not the version pins.
kind_preflight_light() {
  [ "${DRY_RUN:-0}" = 1 ] && return 0
  local t
  for t in docker kind kubectl; do
    command -v "$t" >/dev/null || die 1 "$t not found: nothing deployed on kind can be removed from this machine"
  done
  docker info >/dev/null 2>&1 || die 1 "the Docker engine is not running ('docker info' failed): start it and retry"
}
