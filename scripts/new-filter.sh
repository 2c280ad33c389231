#!/usr/bin/env bash
# Creates a new filter from a template: filters/<name>/ (crate on filter-common, typed config,
# README, harness tests) and deploy/<name>/ (plugin config, local Envoy config, the kustomizations
# of the three mesh methods), and adds its module ConfigMap to deploy/kind/demo/workloads.yaml.
#
#   scripts/new-filter.sh <name> [--from TEMPLATE]
#
#   --from minimal            adds one configurable response header (default)
#   --from http_headers       a copy of a built-in filter: every occurrence of its name (crate,
#   --from request_logging    tests, metric prefixes, README, deploy files) becomes <name>
#   --from auth_check
#   --from metadata_exchange
#
# <name>: lower-case letters, digits, '_' and '-', starting with a letter; not an existing filter
# or directory, not 'common', not a Rust keyword or a crate the workspace uses. '-' is read as '_'
# (my-filter creates my_filter): the name is the crate, the wasm module and the Envoy filter name,
# one spelling for all; Kubernetes objects get '-' back. Exits 2 on a bad name or option.
#
# The workspace members are a glob (filters/*): the new filter builds, tests and deploys at once:
#   cargo build --workspace --target wasm32-wasip1; cargo test -p <name>;
#   scripts/deploy.sh --target envoy <name>; scripts/deploy.sh <name>
set -euo pipefail
# shellcheck source=scripts/lib/common.sh
. "$(dirname "$0")/lib/common.sh"
# shellcheck source=scripts/lib/scaffold.sh
. "$ROOT/scripts/lib/scaffold.sh"
cd "$ROOT"

usage() { sed -n '2,21p' "$0" | sed 's/^# \{0,1\}//'; }

name="" template=minimal
while [ $# -gt 0 ]; do
  case "$1" in
    --from) [ $# -ge 2 ] || die 2 "--from needs a template: ${SCAFFOLD_TEMPLATES// /, }"; template=$2; shift 2 ;;
    --from=*) template=${1#*=}; shift ;;
    -h|--help) usage; exit 0 ;;
    -*) die 2 "unknown option '$1' (see scripts/new-filter.sh --help)" ;;
    *) [ -z "$name" ] || die 2 "one name at a time (got '$name' and '$1')"; name=$1; shift ;;
  esac
done
case " $SCAFFOLD_TEMPLATES " in
  *" $template "*) ;;
  *) die 2 "unknown template '$template' (expected one of: ${SCAFFOLD_TEMPLATES// /, })" ;;
esac
name=$(scaffold_name "$name")
scaffold_check_name "$name"

camel=$(scaffold_camel "$name")
if [ "$template" = minimal ]; then
  src_filter="$ROOT/scripts/templates/minimal/filter"
  src_deploy="$ROOT/scripts/templates/minimal/deploy"
  renames="s/{{name}}/$name/g; s/{{Name}}/$camel/g; s/{{name-dns}}/${name//_/-}/g"
  placeholder='{{name}}'
else
  src_filter="$ROOT/filters/$template"
  src_deploy="$ROOT/deploy/$template"
  renames="s/$template/$name/g; s/${template//_/-}/${name//_/-}/g"
  renames+="; s/$(scaffold_camel "$template")/$camel/g; s/${template^^}/${name^^}/g"
  placeholder=$template
fi
[ -f "$src_filter/Cargo.toml" ] || die 1 "template $template: $src_filter/Cargo.toml is missing"
[ -d "$src_deploy" ] || die 1 "template $template: $src_deploy is missing"
# The template's type name must not already mean something else in its sources.
if grep -rqw --include='*.rs' -- "$camel" "$src_filter"; then
  die 2 "'$name': its type name $camel is already an identifier in the $template template; pick another name"
fi

# Cargo target names: the lib and a test target of one name would clash.
if [ -e "$src_filter/tests/$name.rs" ] || [ -d "$src_filter/tests/$name" ]; then
  die 2 "'$name': the $template template has a test target of that name (tests/$name); pick another name"
fi

# Everything is written to a staging directory first and moved into place at the end; on any
# failure the trap removes the staging directory and whatever was already moved.
mkdir -p "$ROOT/.cache"
stage=$(mktemp -d "$ROOT/.cache/new-filter.XXXXXX")
placed=()
cleanup() {
  local status=$? p
  rm -rf "$stage"
  if [ "$status" != 0 ]; then
    for p in "${placed[@]}"; do rm -rf "$p"; done
    printf 'error: nothing was created (the partial copy was removed)\n' >&2
  fi
}
trap cleanup EXIT

step "new filter $name from the $template template"
scaffold_copy "$src_filter" "$stage/filter" "$renames"
scaffold_copy "$src_deploy" "$stage/deploy" "$renames"
if [ "$template" = minimal ] && grep -rqF -e '{{name' -e '{{Name' "$stage"; then
  die 1 "the minimal template uses a placeholder new-filter.sh does not know: $(grep -rlF -e '{{name' -e '{{Name' "$stage" | sed "s|$stage/||" | tr '\n' ' ')"
fi
# A longer or shorter name moves line breaks: keep the crate as `cargo fmt --check` wants it.
if command -v rustfmt >/dev/null; then
  find "$stage/filter" -name '*.rs' -print0 | xargs -0 -r rustfmt --edition 2021 ||
    die 1 "rustfmt could not format the new crate"
fi
grep -qx "name = \"$name\"" "$stage/filter/Cargo.toml" || die 1 "the copied Cargo.toml does not name the package $name"

# filters/<name> arrives with its Cargo.toml (the workspace glob never sees a half crate).
mv -T "$stage/filter" "$ROOT/filters/$name"
placed+=("$ROOT/filters/$name")
mv -T "$stage/deploy" "$ROOT/deploy/$name"
placed+=("$ROOT/deploy/$name")
scaffold_register_module "$name"

info "created filters/$name/ and deploy/$name/ (from $template; '$placeholder' renamed to '$name'):"
(cd "$ROOT" && find "filters/$name" "deploy/$name" -type f | sort | sed 's/^/  /') >&2
cat >&2 <<MSG

Next:
  cargo test -p $name                        # its unit and harness tests
  scripts/build.sh $name                     # dist/$name.wasm, size checked
  scripts/deploy.sh --target envoy $name     # run it in a local Envoy
  scripts/deploy.sh $name                    # deploy to kind + Istio (--dry-run to see how)
Cargo.lock gets the new package on the first build; commit it with the filter.
MSG
