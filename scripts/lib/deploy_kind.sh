# shellcheck shell=bash
# scripts/deploy.sh --target kind | cluster, --status, and scripts/undeploy.sh: a filter from source
# to Istio sidecars.
#
# kind:    preflight -> local registry (kind's recipe) -> cluster -> Istio -> build -> sample
#          workloads -> push -> the plugin pinned by digest -> wait until the sidecars loaded it ->
#          a request from the client pod as proof -> the filter's status.
# cluster: the same on an existing cluster with Istio and the user's registry; creates nothing but
#          the kustomization's objects.
# Everything that exists already is reused. Inputs from deploy.sh / undeploy.sh: TARGET, METHOD,
# DRY_RUN, NO_BUILD, and for the cluster target KUBE_CONTEXT, MESH_NAMESPACE, CLUSTER_REGISTRY,
# MESH_PULL_SECRET. With DRY_RUN=1 the commands and objects are printed on stdout, nothing that
# changes anything runs, and every check assumes a fresh machine.
# Needs scripts/lib/common.sh.

# shellcheck source=scripts/lib/mesh_render.sh
. "$ROOT/scripts/lib/mesh_render.sh"

TARGET=${TARGET:-kind}
if [ "$TARGET" = kind ]; then KUBE_CONTEXT="kind-$CLUSTER_NAME"; fi
NS=${MESH_NAMESPACE:-$DEMO_NAMESPACE}
# Where the built modules are: scripts/build.sh writes dist/<filter>.wasm.
DIST_DIR=${DIST_DIR:-$ROOT/dist}
# How long to wait for rollouts and for the sidecars to load (or drop) the plugin.
KIND_WAIT_TIMEOUT=${KIND_WAIT_TIMEOUT:-300}
KIND_POLL_SECONDS=${KIND_POLL_SECONDS:-3}
ISTIO_NAMESPACE=${ISTIO_NAMESPACE:-istio-system}
FIELD_MANAGER=proxy-wasm-filters
SIDECAR_STATE="$ROOT/deploy/kind/sidecar_state.py"
WASM_DIR=/var/local/lib/wasm-filters

# The command line as a shell would need it typed.
kind_quote() {
  local out="" a
  for a in "$@"; do
    if [[ $a =~ ^[A-Za-z0-9_./:=@,+%-]+$ ]]; then out+="$a "; else out+="$(printf '%q' "$a") "; fi
  done
  printf '%s' "${out% }"
}

# Dry-run output goes to fd 3 (the caller's stdout, opened by the entry points), so that checks run
# inside $(...) still show up in the listing.
dry() {
  local format=$1
  shift
  # shellcheck disable=SC2059 # the format is the caller's literal
  printf "$format" "$@" >&3
}
is_dry() { [ "${DRY_RUN:-0}" = 1 ]; }

# kind_run CMD...: show and run a command that changes something, its output on stderr (dry run:
# show only).
kind_run() {
  if is_dry; then
    dry '%s\n' "$(kind_quote "$@")"
  else
    printf '+ %s\n' "$(kind_quote "$@")" >&2
    "$@" >&2
  fi
}

# kind_check CMD...: run a read-only check quietly. Dry run: print it as a comment and answer
# "absent" (status 1), as on a fresh machine.
kind_check() {
  if is_dry; then
    dry '# check: %s\n' "$(kind_quote "$@")"
    return 1
  fi
  "$@"
}

kc() { kubectl --context "$KUBE_CONTEXT" "$@"; }

# kind_apply SELECTOR FILE: server-side apply of the objects of FILE that match the label
# SELECTOR (empty: all). Server-side: client-side apply keeps a copy of each object in an annotation capped at
# 256 KiB (kubernetes/apimachinery pkg/api/validation/objectmeta.go:39), too small for a module
# ConfigMap. Dry run: the objects as a here-document (a module's bytes are left out).
kind_apply() {
  local selector=$1 file=$2
  local cmd=(kubectl --context "$KUBE_CONTEXT" apply --server-side --force-conflicts --field-manager="$FIELD_MANAGER")
  [ -z "$selector" ] || cmd+=(-l "$selector")
  cmd+=(-f -)
  if is_dry; then
    dry "%s <<'EOF'\n%s\nEOF\n" "$(kind_quote "${cmd[@]}")" "$(kind_select "$selector" <"$file" | kind_hide_modules)"
  else
    printf '+ %s\n' "$(kind_quote "${cmd[@]}")" >&2
    "${cmd[@]}" <"$file" >&2
  fi
}

# The documents of a kustomize output whose labels match SELECTOR (role=plugin or role!=plugin;
# for the dry-run listing only: kubectl does the selection in a real run).
kind_select() {
  local key value negate=0
  if [ -z "$1" ]; then cat; return; fi
  if [[ $1 == *'!='* ]]; then negate=1 key=${1%%!=*} value=${1#*!=}; else key=${1%%=*} value=${1#*=}; fi
  awk -v key="$key" -v value="$value" -v negate="$negate" '
    function flush() { if (doc != "") { hit = (doc ~ ("\n    " key ": " value "\n")); if (hit != negate) printf "%s%s", (n++ ? "---\n" : ""), doc }; doc = "" }
    /^---$/ { flush(); next }
    { doc = doc $0 "\n" }
    END { flush() }'
}

# Dry-run listings show a module's size instead of its base64.
kind_hide_modules() {
  awk '/^binaryData:$/ { print "binaryData:  # the module, left out of this listing"; skip = 1; next }
       skip && /^  / { next }
       { skip = 0; print }'
}

# version_ge A B: A >= B for dotted versions.
version_ge() { [ "$(printf '%s\n%s\n' "$2" "$1" | sort -V | head -1)" = "$2" ]; }
first_version() { grep -oE '[0-9]+\.[0-9]+\.[0-9]+' | head -1; }

# istio_check VERSION WHAT: dies unless this Istio version is in the support matrix for METHOD.
istio_check() {
  local v=$1 what=$2 minor ok=0 s
  [ -n "$v" ] || die 1 "$what: version unknown; supported: Istio 1.29.x, and 1.30.2 or newer (pinned: $ISTIO_VERSION)"
  case " $ISTIO_REFUSED " in
    *" $v "*) die 1 "$what is Istio $v, which pushes WasmPlugins excessively (fixed in 1.30.2). Upgrade to $ISTIO_VERSION (istioctl upgrade, or istioctl $ISTIO_VERSION: curl -L https://istio.io/downloadIstio | ISTIO_VERSION=$ISTIO_VERSION sh -)" ;;
  esac
  minor=${v%.*}
  for s in $ISTIO_SUPPORTED; do
    if [ "${s%.*}" = "$minor" ] && version_ge "$v" "$s"; then ok=1; fi
  done
  [ "$ok" = 1 ] || die 1 "$what is Istio $v; supported: Istio 1.29.x, and 1.30.2 or newer (pinned: $ISTIO_VERSION; deploy/README.md has the support matrix)"
  if [ "${METHOD:-wasmplugin}" = trafficextension ] && ! version_ge "$v" "$ISTIO_TRAFFICEXTENSION_MIN"; then
    die 1 "$what is Istio $v: TrafficExtension needs Istio 1.30 or newer; use --method wasmplugin"
  fi
}

kind_preflight() {
  local filter=$1 hint t v missing=()
  hint="No cluster needed to try the filter: scripts/deploy.sh --target envoy $filter"
  if is_dry; then
    dry '# check: docker, kind, kubectl, istioctl and python3 on PATH; docker info; kind %s.x, kubectl >= %s, istioctl 1.29.x or >= 1.30.2 (deploy/README.md, support matrix)\n' \
      "$KIND_SUPPORTED_MINOR" "$KUBECTL_MIN_VERSION"
    return 0
  fi
  for t in docker kind kubectl istioctl python3; do command -v "$t" >/dev/null || missing+=("$t"); done
  if [ ${#missing[@]} -gt 0 ]; then
    die 1 "the kind target needs docker, kind, kubectl, istioctl and python3; not found: ${missing[*]}.
  Install them (kind v$KIND_VERSION: https://kind.sigs.k8s.io/docs/user/quick-start/#installation,
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
  [ "${kind_v%.*}" = "$KIND_SUPPORTED_MINOR" ] ||
    die 1 "kind ${kind_v:-of unknown version} found; this deployment needs kind $KIND_SUPPORTED_MINOR.x (its node image ${KIND_NODE_IMAGE%@*} is kind v$KIND_VERSION's: a node image belongs to the kind release that built it). $hint"
  kubectl_v=$(kubectl version --client 2>/dev/null | first_version || true)
  { [ -n "$kubectl_v" ] && version_ge "$kubectl_v" "$KUBECTL_MIN_VERSION"; } ||
    die 1 "kubectl ${kubectl_v:-of unknown version} found; need >= $KUBECTL_MIN_VERSION. $hint"
  v=$(istioctl version --remote=false 2>/dev/null | first_version || true)
  istio_check "$v" "istioctl on PATH"
  info "preflight: docker engine up, kind $kind_v, kubectl $kubectl_v, istioctl $v"
}

# --target cluster: kubectl and python3, a reachable context with a supported Kubernetes and Istio.
cluster_preflight() {
  local filter=$1 t missing=() out v
  if is_dry; then
    dry '# check: kubectl and python3 on PATH; context %s reachable, Kubernetes >= %s, Istio in %s (1.29.x or >= 1.30.2)\n' \
      "$KUBE_CONTEXT" "$KUBERNETES_MIN_VERSION" "$ISTIO_NAMESPACE"
    return 0
  fi
  for t in kubectl python3; do command -v "$t" >/dev/null || missing+=("$t"); done
  [ ${#missing[@]} -eq 0 ] || die 1 "the cluster target needs kubectl and python3; not found: ${missing[*]}"
  if ! out=$(kc get --raw /version --request-timeout=10s 2>&1); then
    die 1 "context '$KUBE_CONTEXT' is not reachable: $(printf '%s' "$out" | grep -m1 -v '^\s*$')
  Check 'kubectl config get-contexts' and pass --context NAME."
  fi
  v=$(grep -o '"gitVersion": *"[^"]*"' <<<"$out" | first_version || true)
  { [ -n "$v" ] && version_ge "$v" "$KUBERNETES_MIN_VERSION"; } ||
    die 1 "context '$KUBE_CONTEXT' runs Kubernetes ${v:-of unknown version}; Istio 1.30 needs >= $KUBERNETES_MIN_VERSION"
  v=$(istio_installed_version) ||
    die 1 "context '$KUBE_CONTEXT' has no Istio (no deployment istiod in $ISTIO_NAMESPACE; set ISTIO_NAMESPACE if it lives elsewhere). Install Istio $ISTIO_VERSION first: this target creates no cluster and no mesh."
  istio_check "$v" "the Istio of context '$KUBE_CONTEXT'"
  info "preflight: context $KUBE_CONTEXT reachable, Kubernetes $(grep -o '"gitVersion": *"[^"]*"' <<<"$out" | first_version), Istio $v"
}

# Prints the version of the Istio running in the cluster (istiod's image tag); status 1 if none.
istio_installed_version() {
  local image
  image=$(kind_check kubectl --context "$KUBE_CONTEXT" -n "$ISTIO_NAMESPACE" get deployment istiod \
    -o 'jsonpath={.spec.template.spec.containers[0].image}' 2>/dev/null) || return 1
  [ -n "$image" ] || return 1
  printf '%s\n' "${image##*:}" | first_version || printf '?\n'
}

# The registry container of kind's local-registry recipe (site/static/examples/kind-with-registry.sh:18-25).
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
  local clusters node dir="/etc/containerd/certs.d/localhost:$REGISTRY_PORT" work=$1
  clusters=$(kind_check kind get clusters 2>/dev/null) || clusters=""
  if grep -qx "$CLUSTER_NAME" <<<"$clusters"; then
    info "cluster $CLUSTER_NAME: exists"
  else
    # The node image is pinned in deploy/kind/cluster.yaml.
    kind_run kind create cluster --name "$CLUSTER_NAME" --config deploy/kind/cluster.yaml --wait 120s
    # Nodes resolve localhost:$REGISTRY_PORT to the registry container over the kind network.
    local nodes
    if is_dry; then nodes="$CLUSTER_NAME-control-plane"; else nodes=$(kind get nodes --name "$CLUSTER_NAME"); fi
    for node in $nodes; do
      kind_run docker exec "$node" mkdir -p "$dir"
      if is_dry; then
        dry '%s <<<%q\n' "$(kind_quote docker exec -i "$node" cp /dev/stdin "$dir/hosts.toml")" "[host.\"http://$REGISTRY_NAME:5000\"]"
      else
        printf '[host."http://%s:5000"]\n' "$REGISTRY_NAME" | kind_run docker exec -i "$node" cp /dev/stdin "$dir/hosts.toml"
      fi
    done
  fi
  local net
  net=$(kind_check docker inspect -f '{{json .NetworkSettings.Networks.kind}}' "$REGISTRY_NAME" 2>/dev/null) || net=null
  [ "$net" != null ] || kind_run docker network connect kind "$REGISTRY_NAME"
  # kube-public/local-registry-hosting, with this run's port.
  mkdir -p "$work/hosting"
  cp -r "$ROOT/deploy/kind/registry-hosting" "$work/hosting/base"
  {
    printf 'apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\nresources:\n  - base\n'
    if [ "$REGISTRY_PORT" != 5001 ]; then
      printf 'patches:\n  - target:\n      kind: ConfigMap\n      name: local-registry-hosting\n    patch: |-\n'
      printf '      - op: replace\n        path: /data/localRegistryHosting.v1\n        value: |\n'
      printf '          %s: "%s"\n' host "localhost:$REGISTRY_PORT" hostFromContainerRuntime "localhost:$REGISTRY_PORT" \
        hostFromClusterNetwork "$REGISTRY_NAME:5000" help "https://kind.sigs.k8s.io/docs/user/local-registry/"
    fi
  } >"$work/hosting/kustomization.yaml"
  kubectl kustomize "$work/hosting" >"$work/hosting.yaml"
  kind_apply '' "$work/hosting.yaml"
}

kind_ensure_istio() {
  local v
  if v=$(istio_installed_version); then
    istio_check "$v" "the Istio installed in $KUBE_CONTEXT"
    info "Istio: installed ($v)"
    return
  fi
  kind_run istioctl --context "$KUBE_CONTEXT" install -y -f deploy/kind/istio.yaml
  kind_run kubectl --context "$KUBE_CONTEXT" -n "$ISTIO_NAMESPACE" rollout status deployment/istiod --timeout="${KIND_WAIT_TIMEOUT}s"
}

kind_wait_workloads() {
  kind_run kubectl --context "$KUBE_CONTEXT" -n "$NS" rollout status deployment/echo --timeout="${KIND_WAIT_TIMEOUT}s"
  kind_run kubectl --context "$KUBE_CONTEXT" -n "$NS" rollout status deployment/client --timeout="${KIND_WAIT_TIMEOUT}s"
  kind_run kubectl --context "$KUBE_CONTEXT" -n "$NS" wait --for=condition=Available deployment --all --timeout="${KIND_WAIT_TIMEOUT}s"
}

# sidecar_exec WORKLOAD CMD...: a command in the workload's istio-proxy container.
sidecar_cmd() { local w=$1; shift; printf '%s\0' kubectl --context "$KUBE_CONTEXT" -n "$NS" exec "deploy/$w" -c istio-proxy -- "$@"; }

# plugin_state FILTER METHOD WORKLOAD [unused]: one line on what the workload's sidecar runs of the
# filter (sidecar_state.py); status 0 when loaded (or, with "unused", when no listener uses it).
# The ECDS names Istio gives the plugin (pilot/pkg/model/extensions.go): a TrafficExtension is
# extensions.istio.io/trafficextension/<ns>.<name> (Istio 1.30.3 extensions.go:53 and :352); a
# WasmPlugin is translated into one named <name>~istio-translated-wasmplugin
# (pilot/pkg/config/kube/extensions/translate.go:27 and :70, registered for every cluster in
# pilot/pkg/bootstrap/configcontroller.go:173-177); Istio 1.29 named it
# extensions.istio.io/wasmplugin/<ns>.<name>.
plugin_state() {
  local filter=$1 method=$2 w=$3 mode=${4:-loaded} resource cmd
  resource=$(mesh_resource_name "$filter")
  if [ "$method" = envoyfilter ]; then
    mapfile -d '' cmd < <(sidecar_cmd "$w" pilot-agent request GET 'config_dump?resource=dynamic_listeners')
    local what=listeners
    [ "$mode" = unused ] && what=unused
    "${cmd[@]}" 2>&1 | python3 "$SIDECAR_STATE" "$what" "$WASM_DIR/$filter.wasm"
  else
    mapfile -d '' cmd < <(sidecar_cmd "$w" pilot-agent request GET 'config_dump?resource=ecds_filters')
    local names=("extensions.istio.io/trafficextension/$NS.$resource")
    [ "$method" = wasmplugin ] && names=("extensions.istio.io/trafficextension/$NS.$resource~istio-translated-wasmplugin" "extensions.istio.io/wasmplugin/$NS.$resource")
    "${cmd[@]}" 2>&1 | python3 "$SIDECAR_STATE" ecds "${names[@]}"
  fi
}

# kind_wait FILTER METHOD [unused]: polls the sidecars of the filter's workloads until each one
# runs the filter (or, with "unused", until none uses its module file any more).
kind_wait() {
  local filter=$1 method=$2 mode=${3:-loaded} w line deadline
  local probe="config_dump?resource=ecds_filters"
  [ "$method" = envoyfilter ] && probe="config_dump?resource=dynamic_listeners"
  for w in $WORKLOADS; do
    if is_dry; then
      dry '# wait until the %s sidecar %s: poll %s | python3 deploy/kind/sidecar_state.py ...\n' "$w" \
        "$([ "$mode" = unused ] && echo "no longer uses $WASM_DIR/$filter.wasm" || echo "runs $filter")" \
        "$(kind_quote kubectl --context "$KUBE_CONTEXT" -n "$NS" exec "deploy/$w" -c istio-proxy -- pilot-agent request GET "$probe")"
      continue
    fi
    deadline=$((SECONDS + KIND_WAIT_TIMEOUT))
    until line=$(plugin_state "$filter" "$method" "$w" "$mode"); do
      if [ "$SECONDS" -ge "$deadline" ]; then
        info "the $w sidecar's recent Wasm log lines:"
        kc -n "$NS" logs "deploy/$w" -c istio-proxy --tail=300 2>&1 | grep -i wasm | tail -20 >&2 || true
        if [ "$mode" = unused ]; then
          die 1 "the $w sidecar still uses $WASM_DIR/$filter.wasm after ${KIND_WAIT_TIMEOUT}s ($line); its module ConfigMap is kept"
        fi
        die 1 "the $w sidecar did not load $filter within ${KIND_WAIT_TIMEOUT}s: $line
  (the log lines above, 'scripts/deploy.sh --status $filter' and 'kubectl --context $KUBE_CONTEXT -n $NS get wasmplugin,trafficextension,envoyfilter' tell more)"
      fi
      sleep "$KIND_POLL_SECONDS"
    done
    info "$w sidecar: $line"
  done
}

# kind_wait_module FILTER SHA256: the envoyfilter method reads the module from a file, which the
# kubelet updates in the pods some time after the ConfigMap changed: wait until each sidecar sees
# this module before pointing Envoy at it.
kind_wait_module() {
  local filter=$1 sha=$2 w got deadline cmd
  for w in $WORKLOADS; do
    mapfile -d '' cmd < <(sidecar_cmd "$w" sha256sum "$WASM_DIR/$filter.wasm")
    if is_dry; then
      dry '# wait until the %s sidecar has the module: poll %s\n' "$w" "$(kind_quote "${cmd[@]}")"
      continue
    fi
    deadline=$((SECONDS + KIND_WAIT_TIMEOUT))
    until got=$("${cmd[@]}" 2>/dev/null | cut -d' ' -f1) && [ "$got" = "$sha" ]; do
      [ "$SECONDS" -lt "$deadline" ] || die 1 "the $w sidecar does not see $WASM_DIR/$filter.wasm with sha256 $sha after ${KIND_WAIT_TIMEOUT}s (has: ${got:-no file}); check 'kubectl --context $KUBE_CONTEXT -n $NS get configmap wasm-$(mesh_resource_name "$filter")'"
      sleep "$KIND_POLL_SECONDS"
    done
    info "$w sidecar: $WASM_DIR/$filter.wasm is the module ($sha)"
  done
}

# kind_proof FILTER: a request from the client pod through the sidecars, printed, checked against
# the filter's PROOF_EXPECT (and PROOF_LOG_EXPECT in the echo sidecar's log).
kind_proof() {
  local filter=$1 out deadline
  local cmd=(kubectl --context "$KUBE_CONTEXT" -n "$NS" exec deploy/client -c client -- curl -sS -i --max-time 10 "http://echo:8080$PROOF_PATH")
  local logs=(kubectl --context "$KUBE_CONTEXT" -n "$NS" logs deploy/echo -c istio-proxy --since=5m)
  if is_dry; then
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
    [ -n "$line" ] || die 1 "the echo sidecar logged no line containing '$PROOF_LOG_EXPECT' (its wasm log level comes from the sidecar.istio.io/componentLogLevel annotation of deploy/kind/demo/workloads.yaml)"
    info "proof (echo sidecar log): $line"
  fi
}

# kind_status FILTER METHOD: what a user looks for first, per sidecar: the plugin's state as Envoy
# has it, the Istio agent's Wasm fetch counters, the filter's own counters, and its log lines.
kind_status() {
  local filter=$1 method=$2 w line
  for w in $WORKLOADS; do
    local dump=(pilot-agent request GET 'config_dump?resource=ecds_filters') check="ecds <name>"
    if [ "$method" = envoyfilter ]; then
      dump=(pilot-agent request GET 'config_dump?resource=dynamic_listeners') check="listeners $WASM_DIR/$filter.wasm"
    fi
    # The agent's own metrics are on its port 15020 (pilot-agent request --debug-port accepts 15000,
    # 15020, 15021, 15004: Istio 1.30.3 pilot/cmd/pilot-agent/app/request.go:30-35, :69).
    local agent=(pilot-agent request --debug-port 15020 GET stats/prometheus)
    # Filter metrics are Envoy stats under wasmcustom.; Istio's stats matcher keeps them (the
    # required inclusion prefix "wasm", Istio 1.30.3 pkg/bootstrap/config.go:64).
    local stats=(pilot-agent request GET 'stats?filter=^wasmcustom\.')
    local exec_w=(kubectl --context "$KUBE_CONTEXT" -n "$NS" exec "deploy/$w" -c istio-proxy --)
    local logs=(kubectl --context "$KUBE_CONTEXT" -n "$NS" logs "deploy/$w" -c istio-proxy)
    if is_dry; then
      dry '# status of %s in the %s sidecar (later: scripts/deploy.sh --status %s):\n' "$filter" "$w" "$filter"
      dry '%s | python3 deploy/kind/sidecar_state.py %s\n' "$(kind_quote "${exec_w[@]}" "${dump[@]}")" "$check"
      dry '%s | grep ^istio_agent_wasm_\n' "$(kind_quote "${exec_w[@]}" "${agent[@]}")"
      dry '%s\n' "$(kind_quote "${exec_w[@]}" "${stats[@]}")"
      dry "%s | grep 'wasm log'\n" "$(kind_quote "${logs[@]}")"
      continue
    fi
    printf '\n%s sidecar (%s):\n' "$w" "$method"
    line=$(plugin_state "$filter" "$method" "$w") || true
    printf '  plugin: %s\n' "$line"
    printf '  Istio agent Wasm fetches (%s):\n' "$(kind_quote "${exec_w[@]}" "${agent[@]}")"
    "${exec_w[@]}" "${agent[@]}" 2>/dev/null | grep -E '^istio_agent_wasm_' | sed 's/^/    /' || printf '    (none)\n'
    printf '  filter counters (%s):\n' "$(kind_quote "${exec_w[@]}" "${stats[@]}")"
    "${exec_w[@]}" "${stats[@]}" 2>/dev/null | grep . | sed 's/^/    /' || printf '    (none yet: send a request)\n'
    printf "  log lines (%s | grep 'wasm log'):\n" "$(kind_quote "${logs[@]}")"
    "${logs[@]}" --tail=200 2>/dev/null | grep -F "wasm log" | tail -3 | sed 's/^/    /' || printf '    (none)\n'
  done
}

# The method a filter is deployed with in the cluster (from its plugin object), or nothing.
kind_deployed_method() {
  local resource=$1 kind
  for kind in wasmplugin.extensions.istio.io trafficextension.extensions.istio.io envoyfilter.networking.istio.io; do
    if [ -n "$(kc -n "$NS" get "$kind" -l "proxy-wasm-filters/filter=$resource" -o name 2>/dev/null)" ]; then
      printf '%s\n' "${kind%%.*}"
      return 0
    fi
  done
  return 1
}

# Pushes the module; prints the digest-pinned reference the sidecars pull (without oci://).
# Dry run: prints the command and a placeholder.
mesh_push() {
  local filter=$1 wasm=$2 cmd push_ref
  if [ "$TARGET" = kind ]; then
    cmd=(scripts/push.sh "$filter" --registry "localhost:$REGISTRY_PORT" --wasm "${wasm#"$ROOT/"}")
  else
    cmd=(scripts/push.sh "$filter" --registry "${CLUSTER_REGISTRY%%/*}" --repository "${CLUSTER_REGISTRY#*/}/$filter" --wasm "${wasm#"$ROOT/"}")
  fi
  if is_dry; then
    dry '%s\n' "$(kind_quote "${cmd[@]}")"
    return 0
  fi
  printf '+ %s\n' "$(kind_quote "${cmd[@]}")" >&2
  push_ref=$("${cmd[@]}" | tail -1) || exit $?
  [[ $push_ref == *@sha256:* ]] || die 1 "push.sh printed '$push_ref', not a digest-pinned reference"
  info "pushed: $push_ref"
  if [ "$TARGET" = kind ]; then
    # The host pushes to localhost:PORT; the sidecar's agent pulls from the registry container.
    printf '%s:5000/%s\n' "$REGISTRY_NAME" "${push_ref#*/}"
  else
    printf '%s\n' "$push_ref"
  fi
}

# kind_remove_plugin FILTER METHODS...: removes the filter's plugin objects of those methods, then
# (once no sidecar uses its module file) its module ConfigMap: Envoy rejects a whole listener
# whose EnvoyFilter reads a file that is not there.
kind_remove_plugin() {
  local filter=$1 resource m
  shift
  resource=$(mesh_resource_name "$filter")
  for m in "$@"; do
    case "$m" in
      wasmplugin) kind_run kubectl --context "$KUBE_CONTEXT" -n "$NS" delete wasmplugin.extensions.istio.io -l "proxy-wasm-filters/filter=$resource" --ignore-not-found ;;
      trafficextension)
        if is_dry || kc get crd trafficextensions.extensions.istio.io >/dev/null 2>&1; then
          kind_run kubectl --context "$KUBE_CONTEXT" -n "$NS" delete trafficextension.extensions.istio.io -l "proxy-wasm-filters/filter=$resource" --ignore-not-found
        fi ;;
      envoyfilter)
        kind_run kubectl --context "$KUBE_CONTEXT" -n "$NS" delete envoyfilter.networking.istio.io -l "proxy-wasm-filters/filter=$resource" --ignore-not-found
        kind_wait "$filter" envoyfilter unused
        kind_run kubectl --context "$KUBE_CONTEXT" -n "$NS" delete configmap -l "proxy-wasm-filters/filter=$resource,proxy-wasm-filters/role=module" --ignore-not-found ;;
    esac
  done
}

deploy_kind() {
  local filter=$1 method=${METHOD:-wasmplugin} wasm work overlay ref="" m others=()
  mesh_load_demo "$filter" # bad facts fail before anything runs
  wasm="$DIST_DIR/$filter.wasm"
  exec 3>&1
  work=$(mktemp -d "${TMPDIR:-/tmp}/proxy-wasm-deploy.XXXXXX")
  # shellcheck disable=SC2064 # the path is fixed now
  trap "rm -rf '$work'" EXIT
  is_dry && dry '# scripts/deploy.sh --target %s --method %s %s (dry run: nothing is run)\n' "$TARGET" "$method" "$filter"
  step "preflight"
  if [ "$TARGET" = kind ]; then
    kind_preflight "$filter"
    step "local registry, kind cluster $CLUSTER_NAME, Istio"
    kind_ensure_registry
    kind_ensure_cluster "$work"
    kind_ensure_istio
  else
    cluster_preflight "$filter"
  fi
  if [ "${NO_BUILD:-0}" = 1 ]; then
    is_dry || [ -f "$wasm" ] || die 1 "--no-build: $wasm does not exist"
  else
    step "build $filter"
    kind_run scripts/build.sh "$filter"
    is_dry || [ -f "$wasm" ] || die 1 "scripts/build.sh did not produce $wasm"
  fi
  if [ "$method" != envoyfilter ]; then
    step "push $filter"
    ref=$(mesh_push "$filter" "$wasm") || exit $?
  fi
  step "render $(mesh_dir "$filter" "$method") (kustomize)"
  if is_dry; then
    # The committed kustomization as it is, and what a real run sets on top of it.
    [ "$method" != envoyfilter ] || [ -f "$wasm" ] || { mkdir -p "$work/stub"; printf '\0asm\1\0\0\0' >"$work/stub/$filter.wasm"; wasm="$work/stub/$filter.wasm"; }
    MESH_MODULE=$wasm MESH_IMAGE="" overlay=$(mesh_overlay "$filter" "$method" "$work") || exit $?
    dry '# the committed %s; a real run adds in a kustomize overlay: %s\n' "$(mesh_dir "$filter" "$method")" \
      "$([ "$method" = envoyfilter ] && echo "the module's sha256 (VM environment variable PROXY_WASM_MODULE_SHA256)" || echo "url ...@sha256:<digest push.sh prints> and sha256: <that digest>")"
  else
    MESH_MODULE=$wasm MESH_IMAGE=$ref overlay=$(mesh_overlay "$filter" "$method" "$work") || exit $?
  fi
  local kcmd
  mapfile -t kcmd < <(mesh_kustomize_cmd "$overlay" "$method")
  is_dry || printf '+ %s\n' "$(kind_quote "${kcmd[@]}")" >&2
  "${kcmd[@]}" >"$work/rendered.yaml" || die 1 "kustomize could not render $(mesh_dir "$filter" "$method") (see above)"
  step "namespace $NS, sample workloads$([ "$method" = envoyfilter ] && echo ", module ConfigMap")"
  kind_apply 'proxy-wasm-filters/role!=plugin' "$work/rendered.yaml"
  kind_wait_workloads
  if [ "$method" = envoyfilter ]; then
    kind_wait_module "$filter" "$(sha256sum "$wasm" | cut -d' ' -f1)"
  fi
  # Switching methods: one copy of the filter, not two.
  for m in $MESH_METHODS; do [ "$m" = "$method" ] || others+=("$m"); done
  kind_remove_plugin "$filter" "${others[@]}"
  step "apply the plugin ($method)"
  kind_apply 'proxy-wasm-filters/role=plugin' "$work/rendered.yaml"
  kind_wait "$filter" "$method"
  kind_proof "$filter"
  step "status"
  kind_status "$filter" "$method"
  is_dry || step "$filter runs in the mesh (status: scripts/deploy.sh --status $filter; undo: scripts/undeploy.sh $filter)"
}

# deploy.sh --status FILTER
status_kind() {
  local filter=$1 method resource
  mesh_load_demo "$filter"
  exec 3>&1
  resource=$(mesh_resource_name "$filter")
  if is_dry; then
    kind_status "$filter" "${METHOD:-wasmplugin}"
    return 0
  fi
  command -v kubectl >/dev/null || die 1 "kubectl not found"
  command -v python3 >/dev/null || die 1 "python3 not found (deploy/kind/sidecar_state.py reads the config dumps)"
  method=$(kind_deployed_method "$resource") ||
    die 1 "$filter is not deployed in namespace $NS of $KUBE_CONTEXT (no WasmPlugin, TrafficExtension or EnvoyFilter labelled proxy-wasm-filters/filter=$resource)"
  info "$filter: $method $resource in $NS ($KUBE_CONTEXT)"
  kind_status "$filter" "$method"
}

# undeploy_kind FILTER: removes one filter (plugin objects, then its module ConfigMap and the
# objects only it uses, such as auth_check's auth service). The sample workloads, the other
# filters, Istio and the cluster stay.
undeploy_kind() {
  local filter=$1 resource
  exec 3>&1
  mesh_load_demo "$filter"
  resource=$(mesh_resource_name "$filter")
  undeploy_preflight
  if ! is_dry && ! kc get namespace "$NS" >/dev/null 2>&1; then
    info "namespace $NS is absent in $KUBE_CONTEXT: nothing to remove"
    return 0
  fi
  # shellcheck disable=SC2086 # a word list
  kind_remove_plugin "$filter" $MESH_METHODS
  kind_run kubectl --context "$KUBE_CONTEXT" -n "$NS" delete service,deployment,configmap -l "proxy-wasm-filters/filter=$resource" --ignore-not-found
  is_dry || step "$filter removed from $KUBE_CONTEXT (the sample workloads and other filters stay; --delete-namespace removes the demo, --delete-cluster the kind cluster)"
}

# undeploy.sh --delete-namespace: every filter and the sample workloads.
undeploy_namespace() {
  exec 3>&1
  undeploy_preflight
  kind_run kubectl --context "$KUBE_CONTEXT" delete namespace "$NS" --ignore-not-found --wait=true
  is_dry || step "namespace $NS removed from $KUBE_CONTEXT (Istio and the cluster stay)"
}

# undeploy.sh --delete-cluster: the kind cluster and the registry container. The dry run looks
# (read-only) and lists what it would delete.
undeploy_cluster() {
  exec 3>&1
  local clusters cluster=absent registry=absent
  if ! is_dry; then
    local t
    for t in docker kind; do command -v "$t" >/dev/null || die 1 "$t not found: nothing created by scripts/deploy.sh can be removed from this machine"; done
    docker info >/dev/null 2>&1 || die 1 "the Docker engine is not running ('docker info' failed): start it and retry"
  fi
  if command -v kind >/dev/null && clusters=$(kind get clusters 2>/dev/null) && grep -qx "$CLUSTER_NAME" <<<"$clusters"; then cluster=present; fi
  if command -v docker >/dev/null && docker inspect "$REGISTRY_NAME" >/dev/null 2>&1; then registry=present; fi
  if is_dry; then
    dry '# scripts/undeploy.sh --delete-cluster (dry run: nothing is deleted)\n'
    if [ "$cluster" = present ]; then dry 'would delete: kind cluster %s (with Istio, the sample workloads and every filter)\n' "$CLUSTER_NAME"; else dry 'kind cluster %s: absent (nothing to delete)\n' "$CLUSTER_NAME"; fi
    if [ "$registry" = present ]; then dry 'would delete: registry container %s (and the images pushed to it)\n' "$REGISTRY_NAME"; else dry 'registry container %s: absent (nothing to delete)\n' "$REGISTRY_NAME"; fi
    [ "$cluster" = absent ] || dry '%s\n' "$(kind_quote kind delete cluster --name "$CLUSTER_NAME")"
    [ "$registry" = absent ] || dry '%s\n' "$(kind_quote docker rm -f "$REGISTRY_NAME")"
    return 0
  fi
  if [ "$cluster" = present ]; then kind_run kind delete cluster --name "$CLUSTER_NAME"; else info "cluster $CLUSTER_NAME: absent"; fi
  if [ "$registry" = present ]; then kind_run docker rm -f "$REGISTRY_NAME" >/dev/null; else info "registry $REGISTRY_NAME: absent"; fi
}

# Undeploy needs kubectl (and python3 to see when a module file is no longer used), not the pins.
undeploy_preflight() {
  is_dry && return 0
  local t
  for t in kubectl python3; do
    command -v "$t" >/dev/null || die 1 "$t not found: scripts/undeploy.sh needs kubectl and python3"
  done
}
