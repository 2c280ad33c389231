#!/usr/bin/env bash
# scripts/deploy.sh / undeploy.sh (kind target) against recording stand-ins for docker, kind,
# kubectl and istioctl, with a real registry on 127.0.0.1 to push to: the exact command sequences
# for a fresh machine, an existing cluster, a redeploy with a new module, undeploy, and the
# failures when the Docker engine or the tools are missing.
set -euo pipefail
cd "$(dirname "$0")/../../.."
. scripts/lib/common.sh
. scripts/lib/registry.sh
. deploy/kind/tests/lib.sh

filter=http_headers
[ -f "dist/$filter.wasm" ] || scripts/build.sh
work=$(mktemp -d)
port=$(free_port)
cleanup() { registry_stop deploy-test; rm -rf "$work"; }
trap cleanup EXIT
registry_start deploy-test "$port"

ORIG_PATH=$PATH
mkdir -p "$work/bin" "$work/dist"
for t in docker kind kubectl istioctl; do ln -s "$ROOT/deploy/kind/tests/standin" "$work/bin/$t"; done
cp "dist/$filter.wasm" "$work/dist/"
export PATH="$work/bin:$PATH" STANDIN_STATE="$work/state" DIST_DIR="$work/dist" REGISTRY_PORT=$port
export KIND_POLL_SECONDS=0 KIND_WAIT_TIMEOUT=5

# run_deploy NAME ARGS...: runs a command with its own stand-in log; sets out, err, status, log.
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

# The reference the registry holds for the tag, by an independent client.
registry_digest() {
  skopeo inspect --tls-verify=false --raw "docker://127.0.0.1:$port/proxy-wasm/$filter:dev" | sha256sum | cut -d' ' -f1
}
# The url and sha256 of the last WasmPlugin the stand-in kubectl received.
applied_plugin() {
  local f
  f=$(grep -l '^kind: WasmPlugin' "$work/state"/applied-* | sort -t- -k2 -n | tail -1)
  sed -n 's/^  url: //p; s/^  sha256: //p' "$f" | tr '\n' ' '
}

K="kubectl --context kind-proxy-wasm"
N="-n proxy-wasm-demo"
PREFLIGHT="docker info
kind version
kubectl version --client
istioctl version --remote=false"
TAIL="$K apply -f -
$K $N rollout status deployment/echo --timeout=5s
$K $N rollout status deployment/client --timeout=5s
$K $N wait --for=condition=Available deployment --all --timeout=5s
$K $N delete envoyfilter.networking.istio.io/http-headers configmap/wasm-http-headers --ignore-not-found
$K apply -f -
$K $N exec deploy/echo -c istio-proxy -- pilot-agent request GET config_dump\\?resource=ecds_filters
$K $N exec deploy/client -c client -- curl -sS -i --max-time 10 http://echo:8080/headers"

echo "fresh machine: registry, cluster and Istio are created"
run fresh scripts/deploy.sh --no-build "$filter"
expect_status "deploy on a fresh machine" 0 "$status"
expect_eq "fresh machine: command sequence" "$PREFLIGHT
docker inspect -f \\{\\{.State.Running\\}\\} kind-registry
docker run -d --restart=always -p 127.0.0.1:PORT:5000 --network bridge --name kind-registry registry:2
kind get clusters
kind create cluster --name proxy-wasm --config deploy/kind/cluster.yaml --wait 120s
kind get nodes --name proxy-wasm
docker exec proxy-wasm-control-plane mkdir -p /etc/containerd/certs.d/localhost:PORT
docker exec -i proxy-wasm-control-plane cp /dev/stdin /etc/containerd/certs.d/localhost:PORT/hosts.toml
docker inspect -f \\{\\{json\\ .NetworkSettings.Networks.kind\\}\\} kind-registry
docker network connect kind kind-registry
$K apply -f -
$K -n istio-system get deployment istiod
istioctl --context kind-proxy-wasm install -y -f deploy/kind/istio.yaml
$K -n istio-system rollout status deployment/istiod --timeout=5s
$TAIL" "$log"
digest1=$(registry_digest)
expect_eq "the WasmPlugin is pinned to the digest the registry holds" \
  "oci://kind-registry:5000/proxy-wasm/$filter@sha256:$digest1 $digest1 " "$(applied_plugin)"
expect_contains "deploy prints the pinned reference" "localhost:$port/proxy-wasm/$filter@sha256:$digest1" "$err"
expect_contains "deploy prints the proof" "proof: x-powered-by: proxy-wasm-rust" "$err"
expect_contains "the client's response is shown" "x-powered-by: proxy-wasm-rust" "$out"

echo "redeploy with a new module: nothing re-created, the new digest is applied"
# A custom section changes the module's bytes, not its behaviour.
printf '\0\x08\x07rebuild' >>"$work/dist/$filter.wasm"
run redeploy scripts/deploy.sh --no-build "$filter"
expect_status "redeploy" 0 "$status"
EXISTING="$PREFLIGHT
docker inspect -f \\{\\{.State.Running\\}\\} kind-registry
kind get clusters
docker inspect -f \\{\\{json\\ .NetworkSettings.Networks.kind\\}\\} kind-registry
$K apply -f -
$K -n istio-system get deployment istiod
$TAIL"
expect_eq "redeploy: command sequence" "$EXISTING" "$log"
digest2=$(registry_digest)
if [ "$digest1" != "$digest2" ]; then pass "a new module has a new digest"; else fail "the digest did not change with the module"; fi
expect_eq "the WasmPlugin is pinned to the new digest" \
  "oci://kind-registry:5000/proxy-wasm/$filter@sha256:$digest2 $digest2 " "$(applied_plugin)"

echo "existing cluster (registry, cluster and Istio made elsewhere): nothing re-created"
rm -rf "$work/state" && mkdir -p "$work/state"
touch "$work/state/registry" "$work/state/registry-net" "$work/state/istio"
echo proxy-wasm >"$work/state/cluster"
run existing scripts/deploy.sh --no-build "$filter"
expect_status "deploy on an existing cluster" 0 "$status"
expect_eq "existing cluster: command sequence" "$EXISTING" "$log"

echo "envoyfilter method: ConfigMap, workloads mounting it, EnvoyFilter"
run envoyfilter scripts/deploy.sh --no-build --method envoyfilter "$filter"
expect_status "deploy --method envoyfilter" 0 "$status"
expect_eq "envoyfilter: command sequence" "$PREFLIGHT
docker inspect -f \\{\\{.State.Running\\}\\} kind-registry
kind get clusters
docker inspect -f \\{\\{json\\ .NetworkSettings.Networks.kind\\}\\} kind-registry
$K apply -f -
$K -n istio-system get deployment istiod
$K apply -f -
$K apply -f -
$K apply -f -
$K $N rollout status deployment/echo --timeout=5s
$K $N rollout status deployment/client --timeout=5s
$K $N wait --for=condition=Available deployment --all --timeout=5s
$K $N delete wasmplugin.extensions.istio.io http-headers --ignore-not-found
$K apply -f -
$K $N exec deploy/echo -c istio-proxy -- pilot-agent request GET config_dump
$K $N exec deploy/client -c client -- curl -sS -i --max-time 10 http://echo:8080/headers" "$log"
module_sha=$(sha256sum "$work/dist/$filter.wasm" | cut -d' ' -f1)
expect_contains "the echo pod template carries the module digest" \
  "proxy-wasm-filters/module-sha256: \"$module_sha\"" "$(cat "$work/state"/applied-*)"

echo "undeploy"
run undeploy scripts/undeploy.sh "$filter"
expect_status "undeploy" 0 "$status"
expect_eq "undeploy: command sequence" "docker info
$K get namespace proxy-wasm-demo
$K $N delete wasmplugin.extensions.istio.io,envoyfilter.networking.istio.io http-headers --ignore-not-found
$K apply -f -
$K $N delete configmap wasm-http-headers --ignore-not-found" "$log"
run undeploy-cluster scripts/undeploy.sh --delete-cluster "$filter"
expect_status "undeploy --delete-cluster" 0 "$status"
expect_eq "undeploy --delete-cluster: command sequence" "docker info
kind get clusters
kind delete cluster --name proxy-wasm
docker inspect kind-registry
docker rm -f kind-registry" "$log"

echo "no Docker engine: a clear failure before anything is done"
STANDIN_DOCKER_DOWN=1 run down scripts/deploy.sh --no-build "$filter"
expect_status "deploy without a Docker engine fails" 1 "$status"
expect_eq "nothing but the check ran" "docker info" "$log"
expect_contains "it says the engine is not running" "error: the Docker engine is not running or not reachable" "$err"
expect_contains "it quotes docker" "Cannot connect to the Docker daemon" "$err"
expect_contains "it points to the envoy target" "scripts/deploy.sh --target envoy $filter" "$err"

echo "tools missing: the preflight names them"
rm "$work/bin/istioctl" "$work/bin/kind"
run missing scripts/deploy.sh --no-build "$filter"
expect_status "deploy without kind and istioctl fails" 1 "$status"
expect_contains "it names the missing tools" "not found: kind istioctl" "$err"
expect_contains "it points to the envoy target" "scripts/deploy.sh --target envoy $filter" "$err"
expect_eq "nothing ran" "" "$log"
for t in kind istioctl; do ln -s "$ROOT/deploy/kind/tests/standin" "$work/bin/$t"; done

if ! PATH=$ORIG_PATH command -v docker >/dev/null; then
  echo "this machine, no stand-ins: docker is not installed"
  PATH=$ORIG_PATH run real scripts/deploy.sh --no-build "$filter"
  expect_status "deploy here fails" 1 "$status"
  expect_contains "it names docker as missing" "not found: docker" "$err"
  expect_contains "it points to the envoy target" "scripts/deploy.sh --target envoy $filter" "$err"
fi

echo "arguments"
run bad-filter scripts/deploy.sh nope
expect_status "unknown filter" 2 "$status"
expect_contains "it lists the valid filters" "unknown filter 'nope' (valid: $(filter_names | tr '\n' ' ' | sed 's/ $//'))" "$err"
run bad-method scripts/deploy.sh --method helm "$filter"
expect_status "unknown method" 2 "$status"
expect_contains "it names the methods" "unknown method 'helm' (expected wasmplugin or envoyfilter)" "$err"

echo "dry run: every command and manifest, nothing run"
run dry scripts/deploy.sh --dry-run "$filter"
expect_status "dry run" 0 "$status"
expect_eq "dry run: no tool ran" "" "$log"
expect_contains "dry run shows the registry" "docker run -d --restart=always -p 127.0.0.1:$port:5000" "$out"
expect_contains "dry run shows the build" "scripts/build.sh $filter" "$out"
expect_contains "dry run shows the push" "scripts/push.sh $filter --registry localhost:$port --wasm" "$out"
expect_contains "dry run shows the WasmPlugin" "kind: WasmPlugin" "$out"
expect_contains "dry run shows the proof request" "curl -sS -i --max-time 10 http://echo:8080/headers" "$out"

echo "the sidecar cannot fetch the module: a clear failure with its Wasm log lines"
STANDIN_FETCH_FAILS=1 KIND_POLL_SECONDS=1 KIND_WAIT_TIMEOUT=2 run fetch-fails scripts/deploy.sh --no-build "$filter"
expect_status "deploy fails" 1 "$status"
expect_contains "it says the plugin did not load" "error: the echo sidecar did not load $filter within 2s" "$err"
expect_contains "it shows the sidecar's Wasm log lines" "error fetching module: connection refused" "$err"
if grep -q 'exec deploy/client' <<<"$log"; then fail "a proof request was sent"; else pass "no proof request was sent"; fi

echo "the registry is down: the push error, and no plugin applied"
registry_stop deploy-test
n_applied=$(find "$work/state" -name 'applied-*' | wc -l)
run no-registry scripts/deploy.sh --no-build "$filter"
expect_status "deploy with the registry down fails like the push" 3 "$status"
expect_contains "it shows the push error" "error: registry unreachable: cannot connect to localhost:$port" "$err"
expect_eq "the last step run is the one before the push" \
  "$K $N delete envoyfilter.networking.istio.io/http-headers configmap/wasm-http-headers --ignore-not-found" "$(tail -1 <<<"$log")"
expect_eq "only the registry-hosting and workload manifests were applied" $((n_applied + 2)) "$(find "$work/state" -name 'applied-*' | wc -l)"

finish test_deploy
