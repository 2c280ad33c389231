#!/usr/bin/env bash
# Runs abi_probe inside real Envoy with a probe program and prints the probe's log lines, to see
# what Envoy answers to each host call (the evidence in harness/probes/ENVOY.md).
#
#   harness/probes/abi_probe/envoy/run.sh PROGRAM.json [CURL ARGS...]
#
# Envoy runs with one worker; CURL ARGS (default: a plain GET) are sent to its listener at $URL
# (exported for the args, e.g. run.sh p.json -H 'x-foo: a' '$URL/path' — quote $URL). Lines of
# the main-thread and worker VMs are all printed, in log order. With BLACKHOLE=1 the `dead` cluster
# accepts connections and never answers (to see callout timeouts) instead of refusing them.
# shellcheck source-path=SCRIPTDIR/../../../..
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
# shellcheck source=scripts/lib/common.sh
. "$here/../../../../scripts/lib/common.sh"
# shellcheck source=scripts/lib/envoy.sh
. "$ROOT/scripts/lib/envoy.sh"

[ "$#" -ge 1 ] || die 2 "usage: $0 PROGRAM.json [CURL ARGS...]"
program=$1
shift
[ -f "$program" ] || die 2 "no program file '$program'"
python3 -c 'import json,sys; json.load(open(sys.argv[1]))' "$program" 2>/dev/null \
  || die 2 "'$program' is not JSON"
command -v curl >/dev/null || die 1 "curl is needed"

ensure_envoy
ensure_wasm_target
step "building abi_probe"
cargo build --quiet --release --target wasm32-wasip1 -p abi-probe
wasm="${CARGO_TARGET_DIR:-$ROOT/target}/wasm32-wasip1/release/abi_probe.wasm"

work=$(mktemp -d)
envoy_pid=""
hole_pid=""
cleanup() {
  if [ -n "$envoy_pid" ]; then kill "$envoy_pid" 2>/dev/null || true; wait "$envoy_pid" 2>/dev/null || true; fi
  if [ -n "$hole_pid" ]; then kill "$hole_pid" 2>/dev/null || true; wait "$hole_pid" 2>/dev/null || true; fi
  rm -rf "$work"
}
trap cleanup EXIT

# Four free ports: listener, upstream, closed port for `dead`, admin.
read -r port up_port dead_port admin_port < <(python3 -c '
import socket
socks = [socket.socket() for _ in range(4)]
for s in socks: s.bind(("127.0.0.1", 0))
print(*[s.getsockname()[1] for s in socks])
for s in socks: s.close()')

python3 - "$here/envoy.yaml.in" "$program" "$work/envoy.yaml" <<PY
import json, sys
template, program, out = sys.argv[1:]
text = open(template).read()
values = {"PORT": "$port", "UP_PORT": "$up_port", "DEAD_PORT": "$dead_port",
          "ADMIN_PORT": "$admin_port", "WASM": json.dumps("$wasm"),
          "PROGRAM": json.dumps(json.dumps(json.load(open(program))))}
for key, value in values.items():
    text = text.replace("@" + key + "@", value)
open(out, "w").write(text)
PY

if [ "${BLACKHOLE:-0}" = 1 ]; then
  python3 -c '
import socket, sys
s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("127.0.0.1", int(sys.argv[1]))); s.listen(16)
held = []
while True: held.append(s.accept()[0])' "$dead_port" &
  hole_pid=$!
fi

step "starting Envoy ($ENVOY_BIN)"
"$ENVOY_BIN" -c "$work/envoy.yaml" --concurrency 1 --log-level warn --component-log-level wasm:info \
  >"$work/envoy.log" 2>&1 &
envoy_pid=$!
for _ in $(seq 1 100); do
  if curl -fs "http://127.0.0.1:$admin_port/ready" >/dev/null 2>&1; then break; fi
  kill -0 "$envoy_pid" 2>/dev/null || { cat "$work/envoy.log" >&2; die 1 "Envoy exited"; }
  sleep 0.1
done

export URL="http://127.0.0.1:$port"
if [ "$#" -eq 0 ]; then set -- "$URL/"; fi
args=()
for a in "$@"; do args+=("${a//\$URL/$URL}"); done
step "curl ${args[*]}"
curl -s -m 5 -o /dev/null -w 'HTTP %{http_code}\n' "${args[@]}" || true
sleep 1
step "probe lines"
sed -n 's/^.*wasm log [^:]*: //p' "$work/envoy.log"
