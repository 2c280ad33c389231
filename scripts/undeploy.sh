#!/usr/bin/env bash
# Removes what scripts/deploy.sh added to the kind cluster for a filter.
#
#   scripts/undeploy.sh [--dry-run] [--delete-cluster] <filter>
#
#   (default)          delete the filter's WasmPlugin / EnvoyFilter / module ConfigMap and extras;
#                      the sample workloads, Istio, the cluster and the registry stay
#   --delete-cluster   delete the kind cluster and the registry container instead
#   --dry-run          print the commands, run nothing
set -euo pipefail
cd "$(dirname "$0")/.."
# shellcheck source=scripts/lib/common.sh
. scripts/lib/common.sh

usage() { sed -n '2,10p' "$0" | sed 's/^# \{0,1\}//'; }

DRY_RUN=0 DELETE_CLUSTER=0 filter=""
while [ $# -gt 0 ]; do
  case "$1" in
    --dry-run) DRY_RUN=1; shift ;;
    --delete-cluster) DELETE_CLUSTER=1; shift ;;
    -h|--help) usage; exit 0 ;;
    -*) die 2 "unknown option '$1' (see scripts/undeploy.sh --help)" ;;
    *) [ -z "$filter" ] || die 2 "one filter at a time (got '$filter' and '$1')"; filter=$1; shift ;;
  esac
done
filter=$(resolve_filter "$filter")
export DRY_RUN DELETE_CLUSTER

# shellcheck source=scripts/lib/deploy_kind.sh
. scripts/lib/deploy_kind.sh
undeploy_kind "$filter"
