#!/usr/bin/env bash
# Builds filters for wasm32-wasip1 (release), shrinks them with wasm-opt when it is installed,
# writes dist/<filter>.wasm and prints each module's size and sha256.
#
#   scripts/build.sh                 # every filter
#   scripts/build.sh http_headers    # only the named ones
#
# Exits 1 when a module is over its size budget (package.metadata.filter.size_budget in the
# filter's Cargo.toml, 128 KiB by default), 2 on an unknown filter name.
set -euo pipefail
# shellcheck source=scripts/lib/common.sh
. "$(dirname "$0")/lib/common.sh"
cd "$ROOT"

DEFAULT_BUDGET=131072
# Debian's binaryen 108 does not enable these by default, and rustc emits them.
WASM_OPT_FEATURES=(--enable-bulk-memory --enable-sign-ext --enable-nontrapping-float-to-int --enable-mutable-globals)

case "${1:-}" in
  -h|--help) sed -n '2,10p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
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
  info "note: wasm-opt not found (Debian/Ubuntu: apt-get install binaryen); modules are not"
  info "      optimised and size budgets, which apply to optimised modules, are not checked"
fi

# budget FILTER: the filter's size budget in bytes.
budget() {
  local value
  value=$(sed -n 's/^size_budget *= *\([0-9][0-9]*\).*/\1/p' "filters/$1/Cargo.toml" | head -n 1)
  echo "${value:-$DEFAULT_BUDGET}"
}

mkdir -p dist
over=0
printf '%-20s %9s %9s  %-8s %s\n' filter bytes budget status sha256
for f in "${filters[@]}"; do
  built="target/wasm32-wasip1/release/$f.wasm"
  [ -f "$built" ] || die 1 "cargo did not produce $built"
  tmp="dist/.$f.wasm.tmp"
  if [ "$optimize" = 1 ]; then
    wasm-opt -Oz "${WASM_OPT_FEATURES[@]}" --strip-debug --strip-producers "$built" -o "$tmp"
  else
    cp "$built" "$tmp"
  fi
  mv "$tmp" "dist/$f.wasm"   # atomic: a watcher never sees a half-written module
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
