# shellcheck shell=bash
# Helpers for scripts/bench.sh: the tools the benchmark needs and the facts about the machine
# it reports. Needs scripts/lib/common.sh.

# ensure_wrk: wrk, taskset and wabt (wat2wasm, wasm-objdump: the null modules) from Debian.
ensure_wrk() {
  command -v wrk >/dev/null 2>&1 || apt_install wrk
  command -v wrk >/dev/null 2>&1 || die 1 "wrk is needed (Debian/Ubuntu: apt-get install wrk)"
  command -v taskset >/dev/null 2>&1 || apt_install util-linux
  command -v wat2wasm >/dev/null 2>&1 || apt_install wabt
}

# ensure_bench_python: sets BENCH_PYTHON to the project virtualenv's python (.venv, shared with
# Envoy's install) with matplotlib for the chart.
ensure_bench_python() {
  if [ ! -x "$ROOT/.venv/bin/python" ]; then
    step "creating the virtualenv .venv"
    python3 -m venv "$ROOT/.venv" >/dev/null 2>&1 || {
      rm -rf "$ROOT/.venv"
      apt_install python3-venv
      python3 -m venv "$ROOT/.venv" || die 1 "python3 -m venv .venv failed"
    }
  fi
  BENCH_PYTHON="$ROOT/.venv/bin/python"
  if ! "$BENCH_PYTHON" -c 'import matplotlib' >/dev/null 2>&1; then
    step "installing matplotlib into .venv (for the chart)"
    "$BENCH_PYTHON" -m pip install --quiet --disable-pip-version-check matplotlib \
      || die 1 "pip could not install matplotlib into .venv"
  fi
  export BENCH_PYTHON
}

# json_string TEXT: TEXT as a JSON string.
json_string() {
  "$BENCH_PYTHON" -c 'import json,sys; print(json.dumps(sys.argv[1]))' "$1"
}

# machine_json FILE: machine and versions, for the report.
machine_json() {
  local cpu envoy_version
  cpu=$(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -n 1)
  envoy_version=$("$ENVOY_BIN" --version 2>/dev/null | sed -n 's/.*version: \([^ ]*\).*/\1/p' | head -n 1)
  {
    printf '{"nproc": %s, ' "$(nproc)"
    printf '"cpu": %s, ' "$(json_string "${cpu:-unknown}")"
    printf '"kernel": %s, ' "$(json_string "$(uname -r)")"
    printf '"loadavg": %s, ' "$(json_string "$(cut -d' ' -f1-3 /proc/loadavg)")"
    printf '"date": %s, ' "$(json_string "$(date -u '+%Y-%m-%d %H:%M UTC')")"
    printf '"envoy": %s, ' "$(json_string "${envoy_version:-unknown}")"
    printf '"rustc": %s, ' "$(json_string "$(rustc -V)")"
    printf '"wrk": %s}\n' "$(json_string "$(wrk -v 2>&1 | head -n 1 | cut -d' ' -f1-2)")"
  } > "$1"
}

