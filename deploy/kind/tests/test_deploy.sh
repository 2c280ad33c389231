#!/usr/bin/env bash
# scripts/deploy.sh / undeploy.sh (kind and cluster targets) against recording stand-ins for
# docker, kind, kubectl and istioctl (kubectl: a small model of the cluster and its sidecars,
# standin_kubectl.py; kustomize is the real one), with a real registry on 127.0.0.1 to push to.
# Covers: fresh machine, redeploy, existing cluster, two filters side by side with each method,
# undeploy of one of two, --status, --target cluster, the cleanup tiers, the version matrix, and
# the failures a real cluster would show.
set -euo pipefail
cd "$(dirname "$0")/../../.."
. scripts/lib/common.sh
. scripts/lib/registry.sh
. scripts/lib/mesh_venv.sh
. deploy/kind/tests/lib.sh

for f in $(filter_names); do if [ ! -f "dist/$f.wasm" ] || [ ! -f "deploy/$f/envoyfilter/$f.wasm" ]; then scripts/build.sh; break; fi; done
py=$(mesh_venv)
work=$(mktemp -d)
port=$(free_port)
auth_port=$(free_port)
cleanup() { registry_stop deploy-test; registry_stop deploy-auth-test; rm -rf "$work"; }
trap cleanup EXIT
registry_start deploy-test "$port"
# A registry with basic auth, as a user's own registry for --target cluster.
registry_htpasswd alice 'correct horse' "$work/htpasswd"
registry_start deploy-auth-test "$auth_port" "$work/htpasswd"

ORIG_PATH=$PATH
real_kubectl=$(command -v kubectl) || die 1 "the deploy tests render with the real kubectl (kustomize): install kubectl"
mkdir -p "$work/bin" "$work/dist"
for t in docker kind kubectl istioctl; do ln -s "$ROOT/deploy/kind/tests/standin" "$work/bin/$t"; done
for f in $(filter_names); do cp "dist/$f.wasm" "$work/dist/"; done
export PATH="$work/bin:$PATH" STANDIN_STATE="$work/state" DIST_DIR="$work/dist" REGISTRY_PORT=$port
export STANDIN_PYTHON=$py STANDIN_REAL_KUBECTL=$real_kubectl KIND_POLL_SECONDS=0 KIND_WAIT_TIMEOUT=3
# python3 on PATH must be able to run sidecar_state.py (standard library only).

# run NAME ARGS...: runs a command with its own stand-in log; sets out, err, status, log.
run() {
  local name=$1
  shift
  export STANDIN_LOG="$work/$name.log"
  : >"$STANDIN_LOG"
  status=0
  "$@" >"$work/$name.out" 2>"$work/$name.err" || status=$?
  out=$(cat "$work/$name.out") err=$(cat "$work/$name.err")
  log=$(sed "s/$port/PORT/g" "$STANDIN_LOG")
}
fresh_state() { rm -rf "$work/state"; mkdir -p "$work/state"; }
# An existing kind cluster with Istio VERSION (and the registry).
existing_state() {
  fresh_state
  touch "$work/state/registry" "$work/state/registry-net"
  echo proxy-wasm >"$work/state/cluster"
  echo "${1:-1.30.4}" >"$work/state/istio"
}
# The object stored by the stand-in cluster: obj KIND NAME [NAMESPACE] -> JSON or nothing.
obj() { cat "$work/state/objects/$1/${3:-proxy-wasm-demo}/$2.json" 2>/dev/null || true; }
jq_py() { "$py" -c "import json,sys; d=json.loads(sys.stdin.read() or 'null'); print($1)"; }
registry_digest() { # REPOSITORY
  skopeo inspect --tls-verify=false --raw "docker://127.0.0.1:$port/$1:dev" | sha256sum | cut -d' ' -f1
}
# sidecar_line WORKLOAD FILTER METHOD: what sidecar_state.py says now (the stand-in's sidecar).
sidecar_line() {
  local res=${2//_/-} cmd
  if [ "$3" = envoyfilter ]; then
    kubectl --context kind-proxy-wasm -n proxy-wasm-demo exec "deploy/$1" -c istio-proxy -- pilot-agent request GET 'config_dump?resource=dynamic_listeners' |
      python3 deploy/kind/sidecar_state.py listeners "/var/local/lib/wasm-filters/$2.wasm" || true
  else
    cmd="extensions.istio.io/trafficextension/proxy-wasm-demo.$res"
    [ "$3" = wasmplugin ] && cmd+="~istio-translated-wasmplugin"
    kubectl --context kind-proxy-wasm -n proxy-wasm-demo exec "deploy/$1" -c istio-proxy -- pilot-agent request GET 'config_dump?resource=ecds_filters' |
      python3 deploy/kind/sidecar_state.py ecds "$cmd" || true
  fi
}

K="kubectl --context kind-proxy-wasm"
N="-n proxy-wasm-demo"
APPLY="$K apply --server-side --force-conflicts --field-manager=proxy-wasm-filters"
PREFLIGHT="docker info
kind version
kubectl version --client
istioctl version --remote=false"
ECDS="$K $N exec deploy/echo -c istio-proxy -- pilot-agent request GET config_dump\\?resource=ecds_filters"
LISTENERS="$K $N exec deploy/echo -c istio-proxy -- pilot-agent request GET config_dump\\?resource=dynamic_listeners"
ROLLOUT="$K $N rollout status deployment/echo --timeout=3s
$K $N rollout status deployment/client --timeout=3s
$K $N wait --for=condition=Available deployment --all --timeout=3s"
STATUS_ECDS="$ECDS
$K $N exec deploy/echo -c istio-proxy -- pilot-agent request --debug-port 15020 GET stats/prometheus
$K $N exec deploy/echo -c istio-proxy -- pilot-agent request GET stats\\?filter=\\^wasmcustom\\\\.
$K $N logs deploy/echo -c istio-proxy --tail=200"
# deploy_tail METHOD FILTER: the commands after Istio, for the wasmplugin method of http_headers.
WP_TAIL="kubectl kustomize WORK/overlay
$APPLY -l proxy-wasm-filters/role\\!=plugin -f -
$ROLLOUT
$K $N delete envoyfilter.networking.istio.io -l proxy-wasm-filters/filter=http-headers --ignore-not-found
$LISTENERS
$K $N delete configmap -l proxy-wasm-filters/filter=http-headers,proxy-wasm-filters/role=module --ignore-not-found
$K get crd trafficextensions.extensions.istio.io
$K $N delete trafficextension.extensions.istio.io -l proxy-wasm-filters/filter=http-headers --ignore-not-found
$APPLY -l proxy-wasm-filters/role=plugin -f -
$ECDS
$K $N exec deploy/client -c client -- curl -sS -i --max-time 10 http://echo:8080/headers
$STATUS_ECDS"

echo "fresh machine: registry (registry:3), cluster (pinned node image), Istio, workloads, plugin"
fresh_state
run fresh scripts/deploy.sh --no-build http_headers
expect_status "deploy on a fresh machine" 0 "$status"
expect_eq "fresh machine: command sequence" "$PREFLIGHT
docker inspect -f \\{\\{.State.Running\\}\\} kind-registry
docker run -d --restart=always -p 127.0.0.1:PORT:5000 --network bridge --name kind-registry registry:3
kind get clusters
kind create cluster --name proxy-wasm --config deploy/kind/cluster.yaml --wait 120s
kind get nodes --name proxy-wasm
docker exec proxy-wasm-control-plane mkdir -p /etc/containerd/certs.d/localhost:PORT
docker exec -i proxy-wasm-control-plane cp /dev/stdin /etc/containerd/certs.d/localhost:PORT/hosts.toml
docker inspect -f \\{\\{json\\ .NetworkSettings.Networks.kind\\}\\} kind-registry
docker network connect kind kind-registry
kubectl kustomize WORK/hosting
$APPLY -f -
$K -n istio-system get deployment istiod -o jsonpath=\\{.spec.template.spec.containers\\[0\\].image\\}
istioctl --context kind-proxy-wasm install -y -f deploy/kind/istio.yaml
$K -n istio-system rollout status deployment/istiod --timeout=3s
$WP_TAIL" "$log"
digest1=$(registry_digest proxy-wasm/http_headers)
wp=$(obj WasmPlugin http-headers)
expect_eq "the WasmPlugin is pinned to the digest the registry holds" \
  "oci://kind-registry:5000/proxy-wasm/http_headers@sha256:$digest1 $digest1" "$(jq_py 'd["spec"]["url"], d["spec"]["sha256"]' <<<"$wp" | tr -d "()',")"
expect_eq "everything else is the committed WasmPlugin" \
  "$(kubectl kustomize deploy/http_headers | "$py" -c 'import sys,yaml,json; d=[x for x in yaml.safe_load_all(sys.stdin) if x["kind"]=="WasmPlugin"][0]; d["spec"].pop("url"); print(json.dumps(d, sort_keys=True))')" \
  "$(jq_py 'json.dumps({**d, "spec": {k: v for k, v in d["spec"].items() if k not in ("url", "sha256")}}, sort_keys=True)' <<<"$wp")"
hosting=$(obj ConfigMap local-registry-hosting kube-public)
expect_contains "local-registry-hosting: the nodes' containerd pulls from localhost:PORT" "hostFromContainerRuntime: \\\"localhost:$port\\\"" "$hosting"
expect_contains "local-registry-hosting: pods reach kind-registry:5000" "hostFromClusterNetwork: \\\"kind-registry:5000\\\"" "$hosting"
expect_contains "deploy prints the pinned reference" "localhost:$port/proxy-wasm/http_headers@sha256:$digest1" "$err"
expect_contains "it checks the ECDS entry by name" "echo sidecar: ECDS extensions.istio.io/trafficextension/proxy-wasm-demo.http-headers~istio-translated-wasmplugin: Wasm filter loaded" "$err"
expect_contains "deploy prints the proof" "proof: x-powered-by: proxy-wasm-rust" "$err"
expect_contains "the status shows the agent's fetch counters" 'istio_agent_wasm_remote_fetch_count{result="success"} 1' "$out"
expect_contains "the status shows the filter's counters" "wasmcustom.http_headers.requests_total: 1" "$out"
expect_contains "the status says where the log lines are" "log lines (kubectl --context kind-proxy-wasm -n proxy-wasm-demo logs deploy/echo -c istio-proxy | grep 'wasm log')" "$out"

echo "redeploy with a new module: nothing re-created, the new digest is applied"
# A custom section changes the module's bytes, not its behaviour.
printf '\0\x08\x07rebuild' >>"$work/dist/http_headers.wasm"
run redeploy scripts/deploy.sh --no-build http_headers
expect_status "redeploy" 0 "$status"
EXISTING="$PREFLIGHT
docker inspect -f \\{\\{.State.Running\\}\\} kind-registry
kind get clusters
docker inspect -f \\{\\{json\\ .NetworkSettings.Networks.kind\\}\\} kind-registry
kubectl kustomize WORK/hosting
$APPLY -f -
$K -n istio-system get deployment istiod -o jsonpath=\\{.spec.template.spec.containers\\[0\\].image\\}"
expect_eq "redeploy: command sequence" "$EXISTING
$WP_TAIL" "$log"
digest2=$(registry_digest proxy-wasm/http_headers)
if [ "$digest1" != "$digest2" ]; then pass "a new module has a new digest"; else fail "the digest did not change with the module"; fi
expect_eq "the WasmPlugin is pinned to the new digest" "$digest2" "$(obj WasmPlugin http-headers | jq_py 'd["spec"]["sha256"]')"
expect_contains "it reuses Istio after checking its version" "Istio: installed (1.30.4)" "$err"

echo "existing cluster (registry, cluster and Istio made elsewhere): nothing re-created"
existing_state 1.30.3
run existing scripts/deploy.sh --no-build http_headers
expect_status "deploy on an existing cluster" 0 "$status"
expect_eq "existing cluster: command sequence" "$EXISTING
$WP_TAIL" "$log"
for v in 1.30.0 1.30.1; do
  existing_state "$v"
  run "old-istio-$v" scripts/deploy.sh --no-build http_headers
  expect_status "an existing Istio $v is refused" 1 "$status"
  expect_contains "it says why" "error: the Istio installed in kind-proxy-wasm is Istio $v, which pushes WasmPlugins excessively (fixed in 1.30.2)" "$err"
  if grep -q 'proxy-wasm-filters/role' <<<"$log"; then fail "workloads or plugin applied"; else pass "no workload or plugin applied"; fi
done
existing_state 1.28.2
run old-istio-128 scripts/deploy.sh --no-build http_headers
expect_contains "Istio 1.28 is refused" "is Istio 1.28.2; supported: Istio 1.29.x, and 1.30.2 or newer" "$err"
existing_state 1.29.6
run istio-129-te scripts/deploy.sh --no-build --method trafficextension http_headers
expect_status "trafficextension on Istio 1.29" 1 "$status"
expect_contains "it says TrafficExtension needs 1.30" "TrafficExtension needs Istio 1.30 or newer; use --method wasmplugin" "$err"
run istio-129-wp scripts/deploy.sh --no-build http_headers
expect_status "wasmplugin on Istio 1.29" 0 "$status"
expect_contains "Istio 1.29 names the ECDS entry after the WasmPlugin" "ECDS extensions.istio.io/wasmplugin/proxy-wasm-demo.http-headers: Wasm filter loaded" "$err"

echo "the support matrix: tools of the wrong version are refused before anything runs"
fresh_state
STANDIN_ISTIOCTL_VERSION=1.30.0 run istioctl-1300 scripts/deploy.sh --no-build http_headers
expect_status "istioctl 1.30.0" 1 "$status"
expect_contains "it says why and what to use" "istioctl on PATH is Istio 1.30.0, which pushes WasmPlugins excessively (fixed in 1.30.2). Upgrade to 1.30.4" "$err"
expect_eq "only the preflight ran" "$PREFLIGHT" "$log"
STANDIN_KIND_VERSION=0.31.0 run kind-031 scripts/deploy.sh --no-build http_headers
expect_status "kind v0.31" 1 "$status"
expect_contains "it names the pinned kind" "kind 0.31.0 found; this deployment needs kind 0.32.x (its node image kindest/node:v1.36.1 is kind v0.32.0's" "$err"

# Two filters side by side with METHOD, then the first undeployed: the second keeps running.
side_by_side() {
  local method=$1 a=http_headers b=request_logging
  echo "$method: $a and $b side by side, then $a undeployed"
  existing_state 1.30.4
  run "$method-a" scripts/deploy.sh --no-build --method "$method" "$a"
  expect_status "$method: deploy $a" 0 "$status"
  run "$method-b" scripts/deploy.sh --no-build --method "$method" "$b"
  expect_status "$method: deploy $b next to it" 0 "$status"
  expect_contains "$method: $b's log line is seen (wasm:info)" 'proof (echo sidecar log):' "$err"
  expect_contains "$method: $a still loaded" "$([ "$method" = envoyfilter ] && echo "runs /var/local/lib/wasm-filters/$a.wasm" || echo "Wasm filter loaded")" "$(sidecar_line echo "$a" "$method")"
  expect_contains "$method: $b loaded" "$([ "$method" = envoyfilter ] && echo "runs /var/local/lib/wasm-filters/$b.wasm" || echo "Wasm filter loaded")" "$(sidecar_line echo "$b" "$method")"
  run "$method-status" scripts/deploy.sh --status "$a"
  expect_status "$method: --status $a" 0 "$status"
  expect_contains "$method: --status finds the method" "$a: $method ${a//_/-} in proxy-wasm-demo (kind-proxy-wasm)" "$err"
  expect_contains "$method: --status shows the filter's counters" "wasmcustom.$a.requests_total: 1" "$out"
  run "$method-undeploy-a" scripts/undeploy.sh "$a"
  printf '%s\n' "$log" >"$work/$method-undeploy-a.seq"
  expect_status "$method: undeploy $a" 0 "$status"
  expect_contains "$method: $b keeps running" "$([ "$method" = envoyfilter ] && echo "runs /var/local/lib/wasm-filters/$b.wasm" || echo "Wasm filter loaded")" "$(sidecar_line echo "$b" "$method")"
  expect_contains "$method: $a is gone" "$([ "$method" = envoyfilter ] && echo "no listener runs" || echo "no ECDS entry")" "$(sidecar_line echo "$a" "$method")"
  expect_eq "$method: $b's objects are all there" "1" "$(find "$work/state/objects" -name "${b//_/-}.json" | wc -l)"
  expect_eq "$method: the workloads stay" "2" "$(find "$work/state/objects/Deployment" -name '*.json' | wc -l)"
}
side_by_side wasmplugin
side_by_side trafficextension
side_by_side envoyfilter
expect_eq "envoyfilter: undeploy removes the EnvoyFilter, waits until no listener uses the module, then its ConfigMap" \
  "$K get namespace proxy-wasm-demo
$K $N delete wasmplugin.extensions.istio.io -l proxy-wasm-filters/filter=http-headers --ignore-not-found
$K $N delete envoyfilter.networking.istio.io -l proxy-wasm-filters/filter=http-headers --ignore-not-found
$LISTENERS
$K $N delete configmap -l proxy-wasm-filters/filter=http-headers,proxy-wasm-filters/role=module --ignore-not-found
$K get crd trafficextensions.extensions.istio.io
$K $N delete trafficextension.extensions.istio.io -l proxy-wasm-filters/filter=http-headers --ignore-not-found
$K $N delete service,deployment,configmap -l proxy-wasm-filters/filter=http-headers --ignore-not-found" \
  "$(cat "$work/envoyfilter-undeploy-a.seq")"
expect_eq "envoyfilter: the EnvoyFilter carries the module's sha256 (a new module is a new listener config)" \
  "$(sha256sum "$work/dist/request_logging.wasm" | cut -d' ' -f1)" \
  "$(obj EnvoyFilter request-logging | jq_py 'd["spec"]["configPatches"][0]["patch"]["value"]["typed_config"]["config"]["vm_config"]["environment_variables"]["key_values"]["PROXY_WASM_MODULE_SHA256"]')"
expect_eq "envoyfilter: the ConfigMap holds dist/request_logging.wasm" \
  "$(sha256sum "$work/dist/request_logging.wasm" | cut -d' ' -f1)" \
  "$(obj ConfigMap wasm-request-logging | jq_py '__import__("hashlib").sha256(__import__("base64").b64decode(d["binaryData"]["request_logging.wasm"])).hexdigest()')"
expect_contains "envoyfilter: deploy waited for the module file before applying the EnvoyFilter" \
  "echo sidecar: /var/local/lib/wasm-filters/request_logging.wasm is the module" "$(cat "$work/envoyfilter-b.err")"

echo "the defect the projected module volume fixes: a module ConfigMap removed under its EnvoyFilter"
# What the old single-ConfigMap mount did when a second filter replaced the first one's module:
# Envoy rejects the whole inbound listener, and the check by listener state sees it.
existing_state 1.30.4
run ef-one scripts/deploy.sh --no-build --method envoyfilter http_headers
kubectl --context kind-proxy-wasm -n proxy-wasm-demo delete configmap -l proxy-wasm-filters/role=module >/dev/null
expect_contains "a rejected listener is not 'loaded'" "Envoy rejected the latest update of listener virtualInbound: Failed to load Wasm code from /var/local/lib/wasm-filters/http_headers.wasm" "$(sidecar_line echo http_headers envoyfilter)"
run ef-two scripts/deploy.sh --no-build --method envoyfilter request_logging
expect_status "deploying another filter onto a rejected listener fails, clearly" 1 "$status"
expect_contains "it names the rejection" "Envoy rejected the latest update of listener virtualInbound" "$err"

echo "the loaded check selects the ECDS entry by name, type and error state"
existing_state 1.30.4
run other-ok scripts/deploy.sh --no-build request_logging
STANDIN_ECDS_REJECTED=http-headers run ecds-rejected scripts/deploy.sh --no-build http_headers
expect_status "a rejected ECDS update fails the deploy, though another plugin's entry is fine" 1 "$status"
expect_contains "it says Envoy rejected it" "did not load http_headers within 3s: ECDS extensions.istio.io/trafficextension/proxy-wasm-demo.http-headers~istio-translated-wasmplugin: Envoy rejected the latest update: Failed to load Wasm module" "$err"
STANDIN_FETCH_FAILS=1 run fetch-fails scripts/deploy.sh --no-build http_headers
expect_status "the agent could not fetch the module" 1 "$status"
expect_contains "it says the entry is not the Wasm filter" "is RBAC, not the Wasm filter (the Istio agent could not fetch or convert the module" "$err"
expect_contains "it shows the sidecar's Wasm log lines" "error fetching module: connection refused" "$err"
if grep -q 'exec deploy/client' <<<"$log"; then fail "a proof request was sent"; else pass "no proof request was sent"; fi

echo "auth_check brings its auth service and takes it along"
existing_state 1.30.4
run auth scripts/deploy.sh --no-build auth_check
expect_status "deploy auth_check" 0 "$status"
expect_contains "the proof is a refusal" "proof: HTTP/1.1 401 Unauthorized" "$err"
expect_eq "the auth service is there" "auth" "$(obj Service auth | jq_py 'd["metadata"]["name"]')"
run auth-undeploy scripts/undeploy.sh auth_check
expect_eq "undeploy auth_check removes the auth service" "" "$(obj Service auth)"
expect_eq "and keeps the echo service" "echo" "$(obj Service echo | jq_py 'd["metadata"]["name"]')"

echo "request_logging's info line needs the wasm:info log level on the echo pod"
existing_state 1.30.4
run rl scripts/deploy.sh --no-build request_logging
expect_status "deploy request_logging" 0 "$status"
run rl-status-info scripts/deploy.sh --status request_logging
expect_contains "with it the status shows the filter's log line" 'wasm log proxy-wasm-demo.request-logging request_logging: {"path":"/get","status":200}' "$out"
# The same cluster with the echo pod template as it was before (no componentLogLevel).
"$py" - "$work/state/objects/Deployment/proxy-wasm-demo/echo.json" <<'PY'
import json, sys
d = json.load(open(sys.argv[1]))
d["spec"]["template"]["metadata"]["annotations"].pop("sidecar.istio.io/componentLogLevel")
json.dump(d, open(sys.argv[1], "w"))
PY
run rl-status scripts/deploy.sh --status request_logging
expect_contains "without it the sidecar shows no line of the filter" "$(printf "grep 'wasm log'):\n    (none)")" "$out"

echo "a module too big for a ConfigMap"
existing_state 1.30.4
head -c 1100000 /dev/zero >>"$work/dist/metadata_exchange.wasm"
run too-big scripts/deploy.sh --no-build --method envoyfilter metadata_exchange
expect_status "envoyfilter with a module over 1 MiB" 1 "$status"
expect_contains "it gives the limit and the way out" "a ConfigMap holds at most 1048576 bytes, so the envoyfilter method cannot carry it; use --method wasmplugin" "$err"
cp dist/metadata_exchange.wasm "$work/dist/"

echo "cleanup tiers"
existing_state 1.30.4
run tier-a scripts/deploy.sh --no-build http_headers
run tier-b scripts/deploy.sh --no-build --method envoyfilter request_logging
run ns-dry scripts/undeploy.sh --dry-run --delete-namespace
expect_eq "--delete-namespace --dry-run: the command, nothing run" \
  "kubectl --context kind-proxy-wasm delete namespace proxy-wasm-demo --ignore-not-found --wait=true" "$out"
expect_eq "nothing ran" "" "$log"
run ns scripts/undeploy.sh --delete-namespace
expect_status "undeploy --delete-namespace" 0 "$status"
expect_eq "no object left in the namespace" "0" "$(find "$work/state/objects" -path '*/proxy-wasm-demo/*' | wc -l)"
run cluster-dry scripts/undeploy.sh --dry-run --delete-cluster
expect_status "undeploy --delete-cluster --dry-run (no filter name)" 0 "$status"
expect_contains "it lists the cluster it would delete" "would delete: kind cluster proxy-wasm" "$out"
expect_contains "and the registry" "would delete: registry container kind-registry" "$out"
if [ -f "$work/state/cluster" ]; then pass "the dry run deleted nothing"; else fail "the dry run deleted the cluster"; fi
run cluster scripts/undeploy.sh --delete-cluster
expect_status "undeploy --delete-cluster" 0 "$status"
expect_eq "undeploy --delete-cluster: command sequence" "docker info
kind get clusters
docker inspect kind-registry
kind delete cluster --name proxy-wasm
docker rm -f kind-registry" "$log"
run cluster-dry-none scripts/undeploy.sh --dry-run --delete-cluster
expect_contains "dry run once gone: nothing to delete" "kind cluster proxy-wasm: absent (nothing to delete)" "$out"
run cluster-with-name scripts/undeploy.sh --delete-cluster http_headers
expect_status "--delete-cluster with a filter name" 2 "$status"

echo "--target cluster: the user's cluster and registry"
existing_state 1.30.4
rm -f "$work/state/cluster" "$work/state/registry" "$work/state/registry-net"
C="kubectl --context prod"
run cl-norg scripts/deploy.sh --target cluster --context prod http_headers
expect_status "no --registry" 2 "$status"
expect_contains "it asks for one" "--target cluster needs --registry HOST[:PORT]/PATH" "$err"
run cl scripts/deploy.sh --target cluster --context prod --registry "127.0.0.1:$port/team" --namespace shop --pull-secret regcred --no-build auth_check
expect_status "deploy --target cluster" 0 "$status"
expect_eq "--target cluster: command sequence (no cluster, registry or Istio created)" "$C get --raw /version --request-timeout=10s
$C -n istio-system get deployment istiod -o jsonpath=\\{.spec.template.spec.containers\\[0\\].image\\}
kubectl kustomize WORK/overlay
$C apply --server-side --force-conflicts --field-manager=proxy-wasm-filters -l proxy-wasm-filters/role\\!=plugin -f -
$C -n shop rollout status deployment/echo --timeout=3s
$C -n shop rollout status deployment/client --timeout=3s
$C -n shop wait --for=condition=Available deployment --all --timeout=3s
$C -n shop delete envoyfilter.networking.istio.io -l proxy-wasm-filters/filter=auth-check --ignore-not-found
$C -n shop exec deploy/echo -c istio-proxy -- pilot-agent request GET config_dump\\?resource=dynamic_listeners
$C -n shop delete configmap -l proxy-wasm-filters/filter=auth-check,proxy-wasm-filters/role=module --ignore-not-found
$C get crd trafficextensions.extensions.istio.io
$C -n shop delete trafficextension.extensions.istio.io -l proxy-wasm-filters/filter=auth-check --ignore-not-found
$C apply --server-side --force-conflicts --field-manager=proxy-wasm-filters -l proxy-wasm-filters/role=plugin -f -
$C -n shop exec deploy/echo -c istio-proxy -- pilot-agent request GET config_dump\\?resource=ecds_filters
$C -n shop exec deploy/client -c client -- curl -sS -i --max-time 10 http://echo:8080/headers
$C -n shop exec deploy/echo -c istio-proxy -- pilot-agent request GET config_dump\\?resource=ecds_filters
$C -n shop exec deploy/echo -c istio-proxy -- pilot-agent request --debug-port 15020 GET stats/prometheus
$C -n shop exec deploy/echo -c istio-proxy -- pilot-agent request GET stats\\?filter=\\^wasmcustom\\\\.
$C -n shop logs deploy/echo -c istio-proxy --tail=200" "$log"
cl_digest=$(registry_digest team/auth_check)
wp=$(obj WasmPlugin auth-check shop)
expect_eq "pinned to the user's registry by digest" "oci://127.0.0.1:$port/team/auth_check@sha256:$cl_digest" "$(jq_py 'd["spec"]["url"]' <<<"$wp")"
expect_eq "the pull secret is set" "regcred" "$(jq_py 'd["spec"]["imagePullSecret"]' <<<"$wp")"
expect_eq "the auth service's cluster name follows the namespace" "outbound|8080||auth.shop.svc.cluster.local" "$(jq_py 'd["spec"]["pluginConfig"]["remote"]["cluster"]' <<<"$wp")"
expect_eq "the auth service is in that namespace" "shop" "$(obj Service auth shop | jq_py 'd["metadata"]["namespace"]')"
echo "--target cluster pushes with the user's docker credentials"
mkdir -p "$work/docker"
printf '{"auths":{"127.0.0.1:%s":{"auth":"%s"}}}\n' "$auth_port" "$(printf 'alice:correct horse' | base64 -w0)" >"$work/docker/config.json"
DOCKER_CONFIG="$work/docker" run cl-auth scripts/deploy.sh --target cluster --context prod --registry "127.0.0.1:$auth_port/team" --no-build http_headers
expect_status "deploy to a registry with basic auth, docker config credentials" 0 "$status"
expect_contains "push.sh used them" "using the docker config credentials of alice for 127.0.0.1:$auth_port" "$err"
auth_digest=$(skopeo inspect --tls-verify=false --creds 'alice:correct horse' --raw "docker://127.0.0.1:$auth_port/team/http_headers:dev" | sha256sum | cut -d' ' -f1)
expect_eq "the WasmPlugin is pinned to what that registry holds" "oci://127.0.0.1:$auth_port/team/http_headers@sha256:$auth_digest" "$(obj WasmPlugin http-headers | jq_py 'd["spec"]["url"]')"
n_applied=$(find "$work/state" -name 'applied-*' | wc -l)
mkdir -p "$work/no-docker"
DOCKER_CONFIG="$work/no-docker" run cl-noauth scripts/deploy.sh --target cluster --context prod --registry "127.0.0.1:$auth_port/team" --no-build request_logging
expect_status "no credentials for it: push.sh's exit status" 4 "$status"
expect_contains "it says so" "registry refused the credentials: 127.0.0.1:$auth_port requires credentials and none were given" "$err"
expect_eq "nothing applied" "$n_applied" "$(find "$work/state" -name 'applied-*' | wc -l)"
STANDIN_CURRENT_CONTEXT=prod run cl-current scripts/deploy.sh --target cluster --registry "127.0.0.1:$port/team" --no-build http_headers
expect_status "the current context by default" 0 "$status"
expect_contains "it used it" "kubectl --context prod apply" "$log"
STANDIN_UNREACHABLE=gone run cl-unreachable scripts/deploy.sh --target cluster --context gone --registry "127.0.0.1:$port/team" --no-build http_headers
expect_status "an unreachable context" 1 "$status"
expect_contains "it says so" "error: context 'gone' is not reachable: Unable to connect to the server" "$err"
rm -f "$work/state/istio"
run cl-noistio scripts/deploy.sh --target cluster --context prod --registry "127.0.0.1:$port/team" --no-build http_headers
expect_status "a cluster without Istio" 1 "$status"
expect_contains "it says so and creates nothing" "error: context 'prod' has no Istio (no deployment istiod in istio-system" "$err"
if grep -q 'apply\|push' <<<"$log$err"; then fail "something was pushed or applied"; else pass "nothing pushed or applied"; fi
echo 1.30.4 >"$work/state/istio"
STANDIN_K8S_VERSION=1.31.4 run cl-oldk8s scripts/deploy.sh --target cluster --context prod --registry "127.0.0.1:$port/team" --no-build http_headers
expect_contains "an old Kubernetes is refused" "context 'prod' runs Kubernetes 1.31.4; Istio 1.30 needs >= 1.32.0" "$err"
run cl-undeploy scripts/undeploy.sh --target cluster --context prod --namespace shop auth_check
expect_status "undeploy --target cluster" 0 "$status"
expect_eq "the plugin is gone from the user's namespace" "" "$(obj WasmPlugin auth-check shop)"
run cl-delete-cluster scripts/undeploy.sh --target cluster --context prod --delete-cluster
expect_status "--delete-cluster is refused for a user's cluster" 2 "$status"

echo "no Docker engine, missing tools: a clear failure before anything is done"
fresh_state
STANDIN_DOCKER_DOWN=1 run down scripts/deploy.sh --no-build http_headers
expect_status "deploy without a Docker engine fails" 1 "$status"
expect_eq "nothing but the check ran" "docker info" "$log"
expect_contains "it says the engine is not running" "error: the Docker engine is not running or not reachable" "$err"
expect_contains "it points to the envoy target" "scripts/deploy.sh --target envoy http_headers" "$err"
rm "$work/bin/istioctl" "$work/bin/kind"
run missing scripts/deploy.sh --no-build http_headers
expect_status "deploy without kind and istioctl fails" 1 "$status"
expect_contains "it names the missing tools" "not found: kind istioctl" "$err"
expect_eq "nothing ran" "" "$log"
for t in kind istioctl; do ln -s "$ROOT/deploy/kind/tests/standin" "$work/bin/$t"; done
if ! PATH=$ORIG_PATH command -v docker >/dev/null; then
  PATH=$ORIG_PATH run real scripts/deploy.sh --no-build http_headers
  expect_contains "this machine, no stand-ins: docker is named as missing" "not found: docker" "$err"
fi

echo "arguments"
run bad-filter scripts/deploy.sh nope
expect_status "unknown filter" 2 "$status"
expect_contains "it lists the valid filters" "unknown filter 'nope' (valid: $(filter_names | tr '\n' ' ' | sed 's/ $//'))" "$err"
run bad-method scripts/deploy.sh --method helm http_headers
expect_status "unknown method" 2 "$status"
expect_contains "it names the methods" "unknown method 'helm' (expected wasmplugin, envoyfilter or trafficextension)" "$err"
run bad-registry scripts/deploy.sh --target cluster --context prod --registry "http://x/y" http_headers
expect_contains "a URL as --registry" "invalid --registry 'http://x/y' (expected HOST[:PORT]/PATH" "$err"
run kind-context scripts/deploy.sh --context prod http_headers
expect_contains "cluster options with the kind target" "--context: only with --target cluster" "$err"

echo "dry run: every command and object, nothing run, valid YAML"
crds=${ISTIO_CRDS:-$ROOT/../shared/istio/crds.yaml}
for method in wasmplugin envoyfilter trafficextension; do
  run "dry-$method" scripts/deploy.sh --dry-run --method "$method" metadata_exchange
  expect_status "dry run ($method)" 0 "$status"
  expect_eq "dry run ($method): only kustomize ran (local rendering)" "" "$(grep -v '^kubectl kustomize ' <<<"$log" || true)"
  # The objects between <<'EOF' and EOF, as printed, against the schemas.
  awk '/<<.EOF.$/ { on = 1; if (n++) print "---"; next } /^EOF$/ { on = 0; next } on' "$work/dry-$method.out" >"$work/dry-$method.yaml"
  if v=$("$py" deploy/kind/tests/validate_manifests.py --crds "$crds" "$work/dry-$method.yaml" 2>&1); then
    pass "dry run ($method): the printed objects are valid ($v)"
  else
    fail "dry run ($method): printed objects"; printf '%s\n' "$v" | sed 's/^/       /'
  fi
  expect_contains "dry run ($method) shows the status commands" "pilot-agent request --debug-port 15020 GET stats/prometheus | grep ^istio_agent_wasm_" "$out"
done
expect_contains "dry run shows registry:3" "docker run -d --restart=always -p 127.0.0.1:$port:5000 --network bridge --name kind-registry registry:3" "$(cat "$work/dry-wasmplugin.out")"
expect_contains "dry run shows the push" "scripts/push.sh metadata_exchange --registry localhost:$port --wasm" "$(cat "$work/dry-wasmplugin.out")"
expect_contains "dry run (envoyfilter) leaves the module's bytes out" "binaryData:  # the module, left out of this listing" "$(cat "$work/dry-envoyfilter.out")"
expect_contains "dry run shows the proof request" "curl -sS -i --max-time 10 http://echo:8080/headers" "$(cat "$work/dry-wasmplugin.out")"

echo "the registry is down: the push error, and no plugin applied"
existing_state 1.30.4
registry_stop deploy-test
run no-registry scripts/deploy.sh --no-build http_headers
expect_status "deploy with the registry down fails like the push" 3 "$status"
expect_contains "it shows the push error" "error: registry unreachable: cannot connect to localhost:$port" "$err"
if grep -q 'proxy-wasm-filters/role' <<<"$log"; then fail "workloads or plugin applied"; else pass "no workload or plugin applied"; fi

finish test_deploy
