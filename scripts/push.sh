#!/usr/bin/env bash
# Builds a filter and pushes it as an OCI image the Istio agent accepts; prints the pushed
# reference pinned by digest (HOST/REPOSITORY@sha256:...) on stdout.
#
#   scripts/push.sh <filter> [--registry HOST:PORT] [--repository NAME] [--tag TAG]
#                   [--wasm-hub-variant] [--plain-http] [--username U --password-stdin]
#                   [--no-build | --wasm FILE]
#
#   --registry          default localhost:5001 (the kind registry of scripts/deploy.sh)
#   --repository        default proxy-wasm/<filter>
#   --tag               default dev (deployments pin the digest, not the tag)
#   --wasm-hub-variant  push the two-layer WebAssembly Hub layout instead of the plain image
#   --plain-http        plain HTTP (automatic for localhost, 127.0.0.1 and kind-registry)
#   --username U --password-stdin   credentials (default: the docker config's, else none)
#   --no-build          push dist/<filter>.wasm as it is
#   --wasm FILE         push FILE (built elsewhere) as <filter>, no build
# Exit status: 1 registry error, 2 bad input, 3 registry unreachable, 4 credentials refused.
set -euo pipefail
cd "$(dirname "$0")/.."
# shellcheck source=scripts/lib/common.sh
. scripts/lib/common.sh

usage() { sed -n '2,17p' "$0" | sed 's/^# \{0,1\}//'; }

registry=localhost:5001 repository="" tag=dev build=1 filter="" wasm="" tool_args=()
need() { [ "$2" -ge 2 ] || die 2 "$1 needs a value"; }
while [ $# -gt 0 ]; do
  case "$1" in
    --registry) need "$1" $#; registry=$2; shift 2 ;;
    --repository) need "$1" $#; repository=$2; shift 2 ;;
    --tag) need "$1" $#; tag=$2; shift 2 ;;
    --username) need "$1" $#; tool_args+=(--username "$2"); shift 2 ;;
    --wasm-hub-variant|--plain-http|--password-stdin) tool_args+=("$1"); shift ;;
    --no-build) build=0; shift ;;
    --wasm) need "$1" $#; wasm=$2; build=0; shift 2 ;;
    -h|--help) usage; exit 0 ;;
    -*) die 2 "unknown option '$1' (see scripts/push.sh --help)" ;;
    *) [ -z "$filter" ] || die 2 "one filter at a time (got '$filter' and '$1')"; filter=$1; shift ;;
  esac
done
filter=$(resolve_filter "$filter")
[[ $registry =~ ^[A-Za-z0-9.-]+(:[0-9]+)?$ ]] || die 2 "invalid --registry '$registry' (expected HOST or HOST:PORT)"
repository=${repository:-proxy-wasm/$filter}

if [ "$build" = 1 ]; then
  step "building $filter"
  scripts/build.sh "$filter" >&2
fi
wasm=${wasm:-dist/$filter.wasm}
[ -f "$wasm" ] || die 1 "$wasm not found (scripts/build.sh writes dist/<filter>.wasm)"

# Provenance for the image annotations: where the source lives and which commit it is.
source_url=$(git remote get-url origin 2>/dev/null || true)
revision=$(git rev-parse HEAD 2>/dev/null || true)
if [ -n "$revision" ] && [ -n "$(git status --porcelain -- filters 2>/dev/null)" ]; then
  revision="$revision-dirty"
fi
[ -z "$source_url" ] || tool_args+=(--source "$source_url")
[ -z "$revision" ] || tool_args+=(--revision "$revision")

step "pushing $wasm to $registry/$repository:$tag"
cargo build --quiet --package oci-push >&2
target_dir=$(cargo metadata --format-version 1 --no-deps | sed -n 's/.*"target_directory":"\([^"]*\)".*/\1/p')
exec "${target_dir:-target}/debug/oci-push" --wasm "$wasm" --reference "$registry/$repository:$tag" \
  --filter "$filter" "${tool_args[@]}"
