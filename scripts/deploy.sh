#!/usr/bin/env bash
# Deploys a filter: onto a local kind cluster with Istio (default), or into a local Envoy.
#
#   scripts/deploy.sh [--target kind|envoy] [--method wasmplugin|envoyfilter] [--dry-run]
#                     [--once] [--port N] [--no-build] <filter>
#
#   --target kind     build, push to the local registry, apply to kind + Istio (default)
#   --target envoy    run the filter in a real Envoy on 127.0.0.1 (no cluster needed)
#   --method M        kind: WasmPlugin pulled from the registry (default) or ConfigMap + EnvoyFilter
#   --dry-run         print every command and the rendered manifests, run nothing
#   --once            envoy: exit after the demonstration request
#   --port N          envoy: listener port
#   --no-build        deploy dist/<filter>.wasm as it is (kind)
set -euo pipefail
cd "$(dirname "$0")/.."
# shellcheck source=scripts/lib/common.sh
. scripts/lib/common.sh

usage() { sed -n '2,14p' "$0" | sed 's/^# \{0,1\}//'; }

TARGET=kind METHOD=wasmplugin DRY_RUN=0 ONCE=0 PORT="" NO_BUILD=0 filter=""
while [ $# -gt 0 ]; do
  case "$1" in
    --target) [ $# -ge 2 ] || die 2 "--target needs a value (kind or envoy)"; TARGET=$2; shift 2 ;;
    --target=*) TARGET=${1#*=}; shift ;;
    --method) [ $# -ge 2 ] || die 2 "--method needs a value (wasmplugin or envoyfilter)"; METHOD=$2; shift 2 ;;
    --method=*) METHOD=${1#*=}; shift ;;
    --dry-run) DRY_RUN=1; shift ;;
    --once) ONCE=1; shift ;;
    --no-build) NO_BUILD=1; shift ;;
    --port) [ $# -ge 2 ] || die 2 "--port needs a value"; PORT=$2; shift 2 ;;
    --port=*) PORT=${1#*=}; shift ;;
    -h|--help) usage; exit 0 ;;
    -*) die 2 "unknown option '$1' (see scripts/deploy.sh --help)" ;;
    *) [ -z "$filter" ] || die 2 "one filter at a time (got '$filter' and '$1')"; filter=$1; shift ;;
  esac
done

filter=$(resolve_filter "$filter")
case "$TARGET" in kind|envoy) ;; *) die 2 "unknown target '$TARGET' (expected kind or envoy)" ;; esac
case "$METHOD" in wasmplugin|envoyfilter) ;; *) die 2 "unknown method '$METHOD' (expected wasmplugin or envoyfilter)" ;; esac
if [ -n "$PORT" ]; then
  if ! [[ $PORT =~ ^[0-9]+$ ]] || [ "$PORT" -lt 1 ] || [ "$PORT" -gt 65535 ]; then
    die 2 "--port '$PORT' is not a port number"
  fi
fi
export TARGET METHOD DRY_RUN ONCE PORT NO_BUILD

lib="scripts/lib/deploy_$TARGET.sh"
[ -f "$lib" ] || die 1 "$lib is missing: the $TARGET target is not available in this checkout"
# shellcheck source=/dev/null
. "$lib"
"deploy_$TARGET" "$filter"
