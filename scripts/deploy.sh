#!/usr/bin/env bash
# Deploys a filter: onto a local kind cluster with Istio (default), onto an existing Istio
# cluster, or into a local Envoy.
#
#   scripts/deploy.sh [--target kind|cluster|envoy] [--method wasmplugin|envoyfilter|trafficextension]
#                     [--dry-run] [--no-build] [--status] [--once] [--port N]
#                     [--registry HOST[:PORT]/PATH] [--context NAME] [--namespace NS]
#                     [--pull-secret NAME] <filter>
#
#   --target kind      build, push to the local registry, apply to kind + Istio (default)
#   --target cluster   your Istio cluster and registry: push with your docker credentials, apply to
#                      --context (default: the current one), prove it loaded; creates no cluster,
#                      no registry, no mesh
#   --target envoy     run the filter in a real Envoy on 127.0.0.1 (no cluster needed)
#   --method M         wasmplugin (default): WasmPlugin pulled from the registry;
#                      trafficextension: Istio 1.30's TrafficExtension, the same way;
#                      envoyfilter: the module in a ConfigMap, loaded by an EnvoyFilter
#   --status           print the deployed filter's state, counters and log lines; changes nothing
#   --dry-run          print every command and the objects, run nothing
#   --no-build         deploy dist/<filter>.wasm as it is (kind, cluster)
#   --registry R       cluster: where to push (HOST[:PORT]/PATH; the image is R/<filter>)
#   --context NAME     cluster: kubectl context
#   --namespace NS     cluster: namespace of the sample workloads and the plugin (default proxy-wasm-demo)
#   --pull-secret NAME cluster: imagePullSecret for a private registry (a Secret in NS)
#   --once             envoy: exit after the demonstration request
#   --port N           envoy: listener port
set -euo pipefail
cd "$(dirname "$0")/.."
# shellcheck source=scripts/lib/common.sh
. scripts/lib/common.sh

usage() { awk 'NR > 1 && /^#/ { sub(/^# ?/, ""); print; next } NR > 1 { exit }' "$0"; }

TARGET=kind METHOD=wasmplugin DRY_RUN=0 ONCE=0 PORT="" NO_BUILD=0 STATUS=0 filter=""
CLUSTER_REGISTRY="" KUBE_CONTEXT="" MESH_NAMESPACE="" MESH_PULL_SECRET="" cluster_only=()
need() { [ "$2" -ge 2 ] || die 2 "$1 needs a value"; }
while [ $# -gt 0 ]; do
  case "$1" in
    --target) need "$1 (kind, cluster or envoy)" $#; TARGET=$2; shift 2 ;;
    --target=*) TARGET=${1#*=}; shift ;;
    --method) need "$1 (wasmplugin, envoyfilter or trafficextension)" $#; METHOD=$2; shift 2 ;;
    --method=*) METHOD=${1#*=}; shift ;;
    --registry) need "$1" $#; CLUSTER_REGISTRY=$2; cluster_only+=("$1"); shift 2 ;;
    --context) need "$1" $#; KUBE_CONTEXT=$2; cluster_only+=("$1"); shift 2 ;;
    --namespace) need "$1" $#; MESH_NAMESPACE=$2; cluster_only+=("$1"); shift 2 ;;
    --pull-secret) need "$1" $#; MESH_PULL_SECRET=$2; cluster_only+=("$1"); shift 2 ;;
    --dry-run) DRY_RUN=1; shift ;;
    --status) STATUS=1; shift ;;
    --once) ONCE=1; shift ;;
    --no-build) NO_BUILD=1; shift ;;
    --port) need "$1" $#; PORT=$2; shift 2 ;;
    --port=*) PORT=${1#*=}; shift ;;
    -h|--help) usage; exit 0 ;;
    -*) die 2 "unknown option '$1' (see scripts/deploy.sh --help)" ;;
    *) [ -z "$filter" ] || die 2 "one filter at a time (got '$filter' and '$1')"; filter=$1; shift ;;
  esac
done

filter=$(resolve_filter "$filter")
case "$TARGET" in kind|cluster|envoy) ;; *) die 2 "unknown target '$TARGET' (expected kind, cluster or envoy)" ;; esac
case "$METHOD" in wasmplugin|envoyfilter|trafficextension) ;; *) die 2 "unknown method '$METHOD' (expected wasmplugin, envoyfilter or trafficextension)" ;; esac
if [ "$TARGET" != cluster ] && [ ${#cluster_only[@]} -gt 0 ]; then
  die 2 "${cluster_only[*]}: only with --target cluster (the kind target uses its own registry, context and namespace)"
fi
if [ "$TARGET" = cluster ]; then
  if [ "$METHOD" != envoyfilter ] || [ -n "$CLUSTER_REGISTRY" ]; then
    [ -n "$CLUSTER_REGISTRY" ] || [ "$STATUS" = 1 ] || die 2 "--target cluster needs --registry HOST[:PORT]/PATH (where your cluster pulls images from)"
    [ -z "$CLUSTER_REGISTRY" ] || [[ $CLUSTER_REGISTRY =~ ^[A-Za-z0-9.-]+(:[0-9]+)?/[a-z0-9]+([._/-][a-z0-9]+)*$ ]] ||
      die 2 "invalid --registry '$CLUSTER_REGISTRY' (expected HOST[:PORT]/PATH, e.g. registry.example.com/team)"
  fi
  [ -z "$MESH_NAMESPACE" ] || [[ $MESH_NAMESPACE =~ ^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$ ]] || die 2 "invalid --namespace '$MESH_NAMESPACE' (a DNS label)"
  [ -z "$MESH_PULL_SECRET" ] || [[ $MESH_PULL_SECRET =~ ^[a-z0-9]([-a-z0-9.]{0,251}[a-z0-9])?$ ]] || die 2 "invalid --pull-secret '$MESH_PULL_SECRET' (a Secret name)"
  if [ -z "$KUBE_CONTEXT" ]; then
    command -v kubectl >/dev/null || die 1 "kubectl not found: the cluster target needs it"
    KUBE_CONTEXT=$(kubectl config current-context 2>/dev/null) || die 1 "no current kubectl context: pass --context NAME (kubectl config get-contexts lists them)"
  fi
fi
if [ -n "$PORT" ]; then
  if ! [[ $PORT =~ ^[0-9]+$ ]] || [ "$PORT" -lt 1 ] || [ "$PORT" -gt 65535 ]; then
    die 2 "--port '$PORT' is not a port number"
  fi
fi
export TARGET METHOD DRY_RUN ONCE PORT NO_BUILD CLUSTER_REGISTRY MESH_NAMESPACE MESH_PULL_SECRET
[ "$TARGET" != cluster ] || export KUBE_CONTEXT

if [ "$TARGET" = envoy ]; then
  [ "$STATUS" = 0 ] || die 2 "--status is for the kind and cluster targets"
  # shellcheck source=scripts/lib/deploy_envoy.sh
  . scripts/lib/deploy_envoy.sh
  deploy_envoy "$filter"
  exit
fi
# shellcheck source=scripts/lib/deploy_kind.sh
. scripts/lib/deploy_kind.sh
if [ "$STATUS" = 1 ]; then
  status_kind "$filter"
else
  deploy_kind "$filter"
fi
