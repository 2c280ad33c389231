# shellcheck shell=bash
# Helpers shared by the scripts: messages, errors, and installing what the scripts need.

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
export ROOT

step() { printf '\n\033[1m==> %s\033[0m\n' "$*" >&2; }
info() { printf '%s\n' "$*" >&2; }
# die STATUS MESSAGE: print "error: MESSAGE" and exit with STATUS.
die() { local status=$1; shift; printf 'error: %s\n' "$*" >&2; exit "$status"; }

# The filters of the workspace: every directory under filters/ with a Cargo.toml, but the
# shared helper crate.
filter_names() {
  local d
  for d in "$ROOT"/filters/*/; do
    d=${d%/}
    [ -f "$d/Cargo.toml" ] || continue
    [ "$(basename "$d")" = common ] && continue
    basename "$d"
  done
}

# resolve_filter NAME: prints the workspace filter called NAME, reading '-' as '_' (the
# Kubernetes spelling, as in wasm-http-headers); exits 2 listing the filters when none is.
resolve_filter() {
  local name=$1 valid
  valid=$(filter_names | tr '\n' ' ')
  [ -n "$name" ] || die 2 "which filter? one of: ${valid% }"
  case " $valid " in
    *" ${name//-/_} "*) printf '%s\n' "${name//-/_}" ;;
    *) die 2 "unknown filter '$name' (valid: ${valid% })" ;;
  esac
}

ensure_wasm_target() {
  if ! rustup target list --installed 2>/dev/null | grep -qx wasm32-wasip1; then
    step "installing the wasm32-wasip1 target"
    rustup target add wasm32-wasip1
  fi
}

ensure_nextest() {
  if ! cargo nextest --version >/dev/null 2>&1; then
    step "installing cargo-nextest"
    cargo install --locked cargo-nextest
  fi
}

# apt_install PACKAGE...: install Debian packages when running as root with apt.
apt_install() {
  command -v apt-get >/dev/null || die 1 "need $* (Debian/Ubuntu packages) but apt-get is not available"
  local sudo=""
  [ "$(id -u)" = 0 ] || sudo="sudo"
  step "installing $* with apt-get"
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq "$@" >/dev/null
}
