#!/usr/bin/env bash
# Removes what scripts/deploy.sh added, in three tiers.
#
#   scripts/undeploy.sh [--target kind|cluster] [--context NAME] [--namespace NS] [--dry-run] <filter>
#   scripts/undeploy.sh [--target kind|cluster] [--context NAME] [--namespace NS] [--dry-run] --delete-namespace
#   scripts/undeploy.sh [--dry-run] --delete-cluster
#
#   <filter>            remove one filter: its WasmPlugin / TrafficExtension / EnvoyFilter, then (once
#                       no sidecar uses it) its module ConfigMap, and what only it uses (auth_check's
#                       auth service). The sample workloads, the other filters, Istio and the cluster stay.
#   --delete-namespace  remove the demo namespace: every filter deployed there and the sample workloads
#   --delete-cluster    kind: delete the kind cluster and the registry container
#   --dry-run           print the commands, run nothing (--delete-cluster: lists what exists and
#                       would be deleted)
set -euo pipefail
cd "$(dirname "$0")/.."
# shellcheck source=scripts/lib/common.sh
. scripts/lib/common.sh

usage() { awk 'NR > 1 && /^#/ { sub(/^# ?/, ""); print; next } NR > 1 { exit }' "$0"; }

TARGET=kind DRY_RUN=0 tier=filter filter="" KUBE_CONTEXT="" MESH_NAMESPACE="" cluster_only=()
need() { [ "$2" -ge 2 ] || die 2 "$1 needs a value"; }
while [ $# -gt 0 ]; do
  case "$1" in
    --target) need "$1 (kind or cluster)" $#; TARGET=$2; shift 2 ;;
    --context) need "$1" $#; KUBE_CONTEXT=$2; cluster_only+=("$1"); shift 2 ;;
    --namespace) need "$1" $#; MESH_NAMESPACE=$2; cluster_only+=("$1"); shift 2 ;;
    --dry-run) DRY_RUN=1; shift ;;
    --delete-namespace) tier=namespace; shift ;;
    --delete-cluster) tier=cluster; shift ;;
    -h|--help) usage; exit 0 ;;
    -*) die 2 "unknown option '$1' (see scripts/undeploy.sh --help)" ;;
    *) [ -z "$filter" ] || die 2 "one filter at a time (got '$filter' and '$1')"; filter=$1; shift ;;
  esac
done
case "$TARGET" in kind|cluster) ;; *) die 2 "unknown target '$TARGET' (expected kind or cluster)" ;; esac
if [ "$TARGET" != cluster ] && [ ${#cluster_only[@]} -gt 0 ]; then
  die 2 "${cluster_only[*]}: only with --target cluster"
fi
case "$tier" in
  filter) filter=$(resolve_filter "$filter") ;;
  *) [ -z "$filter" ] || die 2 "--delete-$tier removes every filter: no filter name (got '$filter')" ;;
esac
[ "$tier" != cluster ] || [ "$TARGET" = kind ] || die 2 "--delete-cluster deletes the kind cluster only; this script never deletes your own cluster"
if [ "$TARGET" = cluster ] && [ -z "$KUBE_CONTEXT" ]; then
  KUBE_CONTEXT=$(kubectl config current-context 2>/dev/null) || die 1 "no current kubectl context: pass --context NAME"
fi
export TARGET DRY_RUN MESH_NAMESPACE
[ "$TARGET" != cluster ] || export KUBE_CONTEXT

# shellcheck source=scripts/lib/deploy_kind.sh
. scripts/lib/deploy_kind.sh
case "$tier" in
  filter) undeploy_kind "$filter" ;;
  namespace) undeploy_namespace ;;
  cluster) undeploy_cluster ;;
esac
