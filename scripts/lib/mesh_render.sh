# shellcheck shell=bash
# Renders the Istio manifests of a filter from the generic templates in deploy/kind/templates/
# and the filter's facts: deploy/<filter>/mesh.env (phase, priority, failStrategy, workloads,
# proof) and deploy/<filter>/config.json (the plugin config, shared with the local Envoy setup).
# Needs scripts/lib/common.sh (die, ROOT).

MESH_TEMPLATES="$ROOT/deploy/kind/templates"
# shellcheck source=deploy/kind/versions.env
. "$ROOT/deploy/kind/versions.env"

# Kubernetes object names cannot hold '_': http_headers -> http-headers.
mesh_resource_name() { printf '%s\n' "${1//_/-}"; }

# shellcheck disable=SC2034 # the variables are the interface to the callers
# mesh_load_filter FILTER: reads and checks the filter's facts into PHASE, PRIORITY, FAIL_STRATEGY,
# MATCH_MODE, WORKLOADS, SELECTOR_LABEL, PROOF_*, PLUGIN_CONFIG.
mesh_load_filter() {
  local filter=$1 dir="$ROOT/deploy/$1"
  PHASE="" PRIORITY="" FAIL_STRATEGY="" MATCH_MODE="" WORKLOADS="" SELECTOR_LABEL=""
  PROOF_PATH="" PROOF_EXPECT="" PROOF_LOG_EXPECT="" MESH_CLUSTERS=""
  [ -f "$dir/mesh.env" ] || die 2 "deploy/$filter/mesh.env is missing (the filter's Istio facts: PHASE, PRIORITY, FAIL_STRATEGY, MATCH_MODE, WORKLOADS, SELECTOR_LABEL, PROOF_PATH, PROOF_EXPECT)"
  [ -f "$dir/config.json" ] || die 2 "deploy/$filter/config.json is missing (the filter's example plugin configuration)"
  # shellcheck source=/dev/null
  . "$dir/mesh.env"
  local where="deploy/$filter/mesh.env"
  case "$PHASE" in AUTHN|AUTHZ|STATS|UNSPECIFIED_PHASE) ;; *) die 2 "$where: PHASE='$PHASE' (expected AUTHN, AUTHZ, STATS or UNSPECIFIED_PHASE)" ;; esac
  case "$FAIL_STRATEGY" in FAIL_CLOSE|FAIL_OPEN) ;; *) die 2 "$where: FAIL_STRATEGY='$FAIL_STRATEGY' (expected FAIL_CLOSE or FAIL_OPEN)" ;; esac
  case "$MATCH_MODE" in CLIENT|SERVER|CLIENT_AND_SERVER) ;; *) die 2 "$where: MATCH_MODE='$MATCH_MODE' (expected CLIENT, SERVER or CLIENT_AND_SERVER)" ;; esac
  [[ $PRIORITY =~ ^-?[0-9]+$ ]] || die 2 "$where: PRIORITY='$PRIORITY' is not an integer"
  [[ $SELECTOR_LABEL =~ ^[a-z0-9./-]+=[A-Za-z0-9._-]+$ ]] || die 2 "$where: SELECTOR_LABEL='$SELECTOR_LABEL' (expected key=value)"
  local w
  [ -n "$WORKLOADS" ] || die 2 "$where: WORKLOADS is empty (expected sample workloads: echo, client)"
  for w in $WORKLOADS; do
    case "$w" in echo|client) ;; *) die 2 "$where: WORKLOADS has '$w' (the sample workloads are echo and client)" ;; esac
  done
  { [ -n "$PROOF_PATH" ] && [ -n "$PROOF_EXPECT" ]; } || die 2 "$where: PROOF_PATH and PROOF_EXPECT are required"
  PLUGIN_CONFIG=$(cat "$dir/config.json")
  case "$PLUGIN_CONFIG" in
    \{*\}) ;;
    *) die 2 "deploy/$filter/config.json: the plugin configuration must be a JSON object" ;;
  esac
  [[ $PLUGIN_CONFIG != *$'\t'* ]] || die 2 "deploy/$filter/config.json: indent with spaces, not tabs (it is embedded in YAML)"
  # Envoy cluster names differ: the local Envoy config names its clusters, Istio names them
  # outbound|PORT||HOST. MESH_CLUSTERS="local=mesh ..." renames the exact JSON strings.
  local pair from to
  for pair in $MESH_CLUSTERS; do
    from=${pair%%=*} to=${pair#*=}
    [[ $pair == *=* && -n $from && -n $to ]] || die 2 "$where: MESH_CLUSTERS has '$pair' (expected LOCAL_NAME=MESH_CLUSTER)"
    [[ $PLUGIN_CONFIG == *"\"$from\""* ]] || die 2 "$where: MESH_CLUSTERS renames '$from', which deploy/$filter/config.json does not mention"
    PLUGIN_CONFIG=${PLUGIN_CONFIG//"\"$from\""/"\"$to\""}
  done
}

# render_template FILE: prints FILE with every @@KEY@@ replaced by R[KEY]. A placeholder alone on
# its line takes a multi-line value, each line indented like the placeholder.
declare -gA R=()
render_template() {
  local file=$1 line indent key val
  while IFS= read -r line || [ -n "$line" ]; do
    if [[ $line =~ ^([[:space:]]*)@@([A-Z0-9_]+)@@[[:space:]]*$ ]]; then
      indent=${BASH_REMATCH[1]} key=${BASH_REMATCH[2]}
      [[ -v R[$key] ]] || die 1 "template $file: no value for @@$key@@"
      while IFS= read -r val; do printf '%s%s\n' "$indent" "$val"; done <<<"${R[$key]}"
      continue
    fi
    while [[ $line =~ @@([A-Z0-9_]+)@@ ]]; do
      key=${BASH_REMATCH[1]}
      [[ -v R[$key] ]] || die 1 "template $file: no value for @@$key@@"
      [[ ${R[$key]} != *$'\n'* ]] || die 1 "template $file: @@$key@@ needs a line of its own (multi-line value)"
      line=${line//"@@$key@@"/"${R[$key]}"}
    done
    printf '%s\n' "$line"
  done <"$file"
}

# Common values of every template, for FILTER (after mesh_load_filter).
mesh_values() {
  local filter=$1
  R=()
  R[FILTER]=$filter
  R[RESOURCE]=$(mesh_resource_name "$filter")
  R[NAMESPACE]=$DEMO_NAMESPACE
  R[SELECTOR]="${SELECTOR_LABEL%%=*}: \"${SELECTOR_LABEL#*=}\""
  R[PLUGIN_CONFIG]=$PLUGIN_CONFIG
}

render_namespace() {
  R[NAMESPACE]=$DEMO_NAMESPACE
  render_template "$MESH_TEMPLATES/namespace.yaml"
}

# render_workloads FILTER METHOD [MODULE_SHA256]: namespace, echo, client (+ the filter's
# extras.yaml). With the envoyfilter method the plugin's workloads mount the module ConfigMap;
# the module digest in their pod template makes a new module roll the pods.
render_workloads() {
  local filter=$1 method=$2 module_sha=${3:-} w
  mesh_load_filter "$filter"
  mesh_values "$filter"
  R[ECHO_ANNOTATIONS]="{}" R[CLIENT_ANNOTATIONS]="{}"
  if [ "$method" = envoyfilter ]; then
    local ann
    ann="sidecar.istio.io/userVolume: '[{\"name\":\"wasm-filters\",\"configMap\":{\"name\":\"wasm-${R[RESOURCE]}\"}}]'"
    ann+=$'\n'"sidecar.istio.io/userVolumeMount: '[{\"name\":\"wasm-filters\",\"mountPath\":\"/var/local/lib/wasm-filters\",\"readOnly\":true}]'"
    ann+=$'\n'"proxy-wasm-filters/module-sha256: \"${module_sha:-unknown}\""
    for w in $WORKLOADS; do
      case "$w" in echo) R[ECHO_ANNOTATIONS]=$ann ;; client) R[CLIENT_ANNOTATIONS]=$ann ;; esac
    done
  fi
  render_namespace
  printf -- '---\n'
  render_template "$MESH_TEMPLATES/workloads.yaml"
  if [ -f "$ROOT/deploy/$filter/extras.yaml" ]; then
    printf -- '---\n'
    render_template "$ROOT/deploy/$filter/extras.yaml"
  fi
}

# render_wasmplugin FILTER IMAGE_URL SHA256_HEX
render_wasmplugin() {
  local filter=$1 url=$2 sha=$3
  [[ $sha =~ ^[a-f0-9]{64}$ ]] || die 1 "render_wasmplugin: '$sha' is not a sha256 hex digest"
  mesh_load_filter "$filter"
  mesh_values "$filter"
  R[IMAGE_URL]=$url R[SHA256]=$sha R[PHASE]=$PHASE R[PRIORITY]=$PRIORITY
  R[FAIL_STRATEGY]=$FAIL_STRATEGY R[MATCH_MODE]=$MATCH_MODE
  render_template "$MESH_TEMPLATES/wasmplugin.yaml"
}

# render_configmap FILTER WASM_FILE [PLACEHOLDER]: the module as binaryData (a ConfigMap holds at
# most 1 MiB). With PLACEHOLDER the base64 is replaced by that text (for --dry-run output).
render_configmap() {
  local filter=$1 wasm=$2 placeholder=${3:-} size
  mesh_load_filter "$filter"
  mesh_values "$filter"
  if [ -n "$placeholder" ]; then
    R[MODULE_BASE64]=$placeholder
  else
    [ -f "$wasm" ] || die 1 "$wasm not found (build it with scripts/build.sh)"
    size=$(wc -c <"$wasm")
    [ "$size" -lt 1000000 ] || die 1 "$wasm is $size bytes: too big for a ConfigMap (1 MiB); use --method wasmplugin"
    R[MODULE_BASE64]=$(base64 -w0 "$wasm")
  fi
  render_template "$MESH_TEMPLATES/configmap.yaml"
}

# render_envoyfilter FILTER: one patch per sidecar direction the filter runs in. AUTHN filters go
# first in the chain (before Istio's own authn); the others right before the router.
render_envoyfilter() {
  local filter=$1 contexts ctx patches=""
  mesh_load_filter "$filter"
  case "$MATCH_MODE" in
    SERVER) contexts=SIDECAR_INBOUND ;;
    CLIENT) contexts=SIDECAR_OUTBOUND ;;
    *) contexts="SIDECAR_INBOUND SIDECAR_OUTBOUND" ;;
  esac
  for ctx in $contexts; do
    mesh_values "$filter"
    R[CONTEXT]=$ctx R[ANCHOR]=envoy.filters.http.router
    R[OPERATION]=INSERT_BEFORE
    [ "$PHASE" = AUTHN ] && R[OPERATION]=INSERT_FIRST
    R[FAIL_OPEN]=false
    [ "$FAIL_STRATEGY" = FAIL_OPEN ] && R[FAIL_OPEN]=true
    patches+=$(render_template "$MESH_TEMPLATES/envoyfilter-patch.yaml")$'\n'
  done
  mesh_values "$filter"
  R[PATCHES]=${patches%$'\n'}
  render_template "$MESH_TEMPLATES/envoyfilter.yaml"
}

# render_plugin FILTER METHOD IMAGE_URL SHA256_HEX WASM_FILE: what deploy applies for METHOD.
render_plugin() {
  local filter=$1 method=$2 url=$3 sha=$4 wasm=$5
  case "$method" in
    wasmplugin) render_wasmplugin "$filter" "$url" "$sha" ;;
    envoyfilter) render_configmap "$filter" "$wasm"; printf -- '---\n'; render_envoyfilter "$filter" ;;
    *) die 2 "unknown method '$method' (expected wasmplugin or envoyfilter)" ;;
  esac
}
