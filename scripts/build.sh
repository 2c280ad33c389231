#!/usr/bin/env bash
# Builds filters for wasm32-wasip1 (release), keeps only the ABI callbacks each filter
# implements, shrinks them with wasm-opt, writes dist/<filter>.wasm and prints each module's
# size and sha256.
#
#   scripts/build.sh                 # every filter
#   scripts/build.sh http_headers    # only the named ones
#
# Exits 1 when a module is over its size budget (package.metadata.filter.size_budget in the
# filter's Cargo.toml, 160 KiB by default), 2 on an unknown filter name.
set -euo pipefail
# shellcheck source=scripts/lib/common.sh
. "$(dirname "$0")/lib/common.sh"
cd "$ROOT"

DEFAULT_BUDGET=163840
# Debian's binaryen 108 does not enable these by default, and rustc emits them.
WASM_OPT_FEATURES=(--enable-bulk-memory --enable-sign-ext --enable-nontrapping-float-to-int --enable-mutable-globals)

case "${1:-}" in
  -h|--help) sed -n '2,11p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
esac

mapfile -t all < <(filter_names)
if [ "$#" -eq 0 ]; then
  filters=("${all[@]}")
else
  filters=()
  for name in "$@"; do
    name=$(resolve_filter "$name")
    filters+=("$name")
  done
fi

ensure_wasm_target
packages=()
for f in "${filters[@]}"; do packages+=(-p "$f"); done
step "building ${filters[*]}"
cargo build --release --target wasm32-wasip1 "${packages[@]}"

if ! command -v wasm-opt >/dev/null && command -v apt-get >/dev/null \
   && { [ "$(id -u)" = 0 ] || sudo -n true 2>/dev/null; }; then
  apt_install binaryen
fi
optimize=1
if ! command -v wasm-opt >/dev/null; then
  optimize=0
  info "note: wasm-opt not found (Debian/Ubuntu: apt-get install binaryen); modules keep every"
  info "      SDK callback export, are not optimised, and size budgets are not checked"
fi

# budget FILTER: the filter's size budget in bytes.
budget() {
  local value
  value=$(sed -n 's/^size_budget *= *\([0-9][0-9]*\).*/\1/p' "filters/$1/Cargo.toml" | head -n 1)
  echo "${value:-$DEFAULT_BUDGET}"
}

# declared_callbacks FILTER: the stream callbacks listed in package.metadata.filter.callbacks,
# one a line; nothing when the key is absent.
declared_callbacks() {
  sed -n 's/^callbacks *= *\[\(.*\)\].*/\1/p' "filters/$1/Cargo.toml" | tr -d ' "' | tr ',' '\n' | sed '/^$/d'
}

# trim_callbacks FILTER IN OUT: removes the proxy_on_* exports the filter does not implement.
# The SDK exports every ABI callback, and Envoy enters the VM for each exported one on every
# request; wasm-metadce drops an export and the code only it reached. Kept: every export that
# is not a callback, the callbacks of the context lifecycle and the declared ones. Without a
# `callbacks` key the module is copied unchanged.
trim_callbacks() {
  local filter=$1 in=$2 out=$3 declared exports name keep=() graph
  declared=$(declared_callbacks "$filter")
  if [ -z "$declared" ]; then cp "$in" "$out"; return; fi
  exports=$(wasm-dis "$in" | sed -n 's/^ (export "\([^"]*\)".*/\1/p')
  for name in $declared; do
    grep -qx "$name" <<<"$exports" \
      || die 1 "filters/$filter/Cargo.toml: callback '$name' is not exported by the module (known: $(grep '^proxy_on_' <<<"$exports" | tr '\n' ' '))"
  done
  for name in $exports; do
    case "$name" in
      proxy_on_memory_allocate|proxy_on_context_create|proxy_on_delete|proxy_on_vm_start|proxy_on_configure) keep+=("$name") ;;
      proxy_on_*) grep -qx "$name" <<<"$declared" && keep+=("$name") ;;
      *) keep+=("$name") ;;
    esac
  done
  graph=$(mktemp)
  printf '%s\n' "${keep[@]}" | sed 's/.*/{"name": "&", "root": true, "export": "&"},/; $ s/,$//' \
    | { echo '['; cat; echo ']'; } >"$graph"
  wasm-metadce "${WASM_OPT_FEATURES[@]}" "$in" -f "$graph" -o "$out" >/dev/null
  rm -f "$graph"
}

mkdir -p dist
over=0
printf '%-20s %9s %9s  %-8s %s\n' filter bytes budget status sha256
for f in "${filters[@]}"; do
  built="${CARGO_TARGET_DIR:-target}/wasm32-wasip1/release/$f.wasm"
  [ -f "$built" ] || die 1 "cargo did not produce $built"
  tmp="dist/.$f.wasm.tmp"
  if [ "$optimize" = 1 ]; then
    trim_callbacks "$f" "$built" "$tmp"
    # wasm-opt runs its passes in the order given: names stripped first shrink better (the
    # optimizer no longer keeps what they pin; auth_check: 0.4 KB). --converge repeats -Oz
    # while it still shrinks the module (0.8 KB). --low-memory-unused lets it fold
    # `ptr + constant` into a load or store offset, which only differs when the sum wraps past
    # 4 GiB into the first KiB: Rust's pointers never do (Emscripten builds with it). 0.6 KB.
    wasm-opt --strip-debug --strip-producers -Oz --converge --low-memory-unused "${WASM_OPT_FEATURES[@]}" "$tmp" -o "$tmp"
  else
    cp "$built" "$tmp"
  fi
  mv "$tmp" "dist/$f.wasm"   # atomic: a watcher never sees a half-written module
  # The EnvoyFilter kustomization's ConfigMap reads the module from its own directory
  # (kustomize loads no file from outside a kustomization); git ignores the copy.
  if [ -d "deploy/$f/envoyfilter" ]; then
    cp "dist/$f.wasm" "deploy/$f/envoyfilter/.$f.wasm.tmp"
    mv "deploy/$f/envoyfilter/.$f.wasm.tmp" "deploy/$f/envoyfilter/$f.wasm"
  fi
  bytes=$(wc -c < "dist/$f.wasm")
  limit=$(budget "$f")
  status=ok
  if [ "$optimize" = 0 ]; then
    status=unchecked
  elif [ "$bytes" -gt "$limit" ]; then
    status=OVER; over=1
  fi
  printf '%-20s %9d %9d  %-8s %s\n' "$f" "$bytes" "$limit" "$status" "$(sha256sum "dist/$f.wasm" | cut -d' ' -f1)"
done
[ "$over" = 0 ] || die 1 "a module is over its size budget"
