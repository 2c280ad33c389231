# shellcheck shell=bash
# deploy_envoy FILTER: runs FILTER in a real Envoy on 127.0.0.1 in front of the echo upstream
# (scripts/deploy.sh --target envoy). Sourced by scripts/deploy.sh, which sets ONCE, PORT and
# DRY_RUN.
#
# Layout: deploy/<filter>/envoy.yaml (or envoy-<role>.yaml for several Envoys, e.g.
# metadata_exchange's client and server sidecars; deploy/envoy/envoy.yaml when a filter has
# none) are templates with {{PLACEHOLDERS}}; the plugin configuration is
# deploy/<filter>/envoy-config.json if present, else deploy/<filter>/config.json.
# Everything the run writes is under .cache/envoy/<filter>/.
#
# Environment: ENVOY_DEPLOY_CONFIG=FILE uses another plugin configuration (try one without
# editing deploy/); ENVOY_DEPLOY_STATE=DIR keeps the run's files in DIR/<filter> instead of
# .cache/envoy (tests); ENVOY_BIN=PATH picks the Envoy binary; ENVOY_CONCURRENCY=N workers.
#
# The filter reaches Envoy through ECDS from a watched file, so running the command again
# while the first run is alive builds the filter and swaps the new module (and config) into
# the running Envoy by renaming a new ECDS file into place: no restart, no dropped connection.

# shellcheck source=scripts/lib/envoy.sh
. "$ROOT/scripts/lib/envoy.sh"

ENVOY_LOG_FORMAT='[%Y-%m-%d %T.%e][%l][%n] %v'
ENVOY_DEMO_TOKEN=demo-token

deploy_envoy() {
  local filter=$1
  [ "${DRY_RUN:-0}" = 1 ] && die 2 "--dry-run applies to --target kind; --target envoy runs locally (use --once to exit after the demonstration)"
  local state="${ENVOY_DEPLOY_STATE:-$ROOT/.cache/envoy}/$filter"
  local port=${PORT:-10000}
  if [ -n "${ENVOY_DEPLOY_CONFIG:-}" ] && [ ! -f "$ENVOY_DEPLOY_CONFIG" ]; then
    die 2 "ENVOY_DEPLOY_CONFIG=$ENVOY_DEPLOY_CONFIG: no such file"
  fi

  ENVOY_FILTER=$filter ENVOY_STATE=$state
  _envoy_build "$filter"
  if _envoy_running "$state"; then
    _envoy_hot_reload
    return
  fi
  _envoy_start "$port"
  _envoy_demo
  if [ "${ONCE:-0}" = 1 ]; then
    step "done (--once): stopping Envoy and the services it used"
    return 0
  fi
  step "running: http://127.0.0.1:$port/  (Ctrl-C stops everything)"
  info "Logs: $state/*/envoy.log. Run the same command again to hot-reload a rebuilt module or edited config."
  # Returns when a process dies (Ctrl-C is handled by the trap).
  wait -n "${ENVOY_PIDS[@]}" || true
  _envoy_report_exit
  die 1 "a process of the local setup exited; see the log above"
}

# _envoy_build FILTER: builds the module (sets ENVOY_WASM) and the echo-upstream tool (sets
# ECHO_TOOL).
_envoy_build() {
  local filter=$1
  mkdir -p "$ROOT/.cache"
  if [ -x "$ROOT/scripts/build.sh" ]; then
    local out status
    # Shown as it runs; the status travels through the log so set -e/pipefail do not stop us.
    # One build at a time: concurrent runs would race on dist/.
    local log="$ENVOY_STATE/build.log"
    mkdir -p "$ENVOY_STATE"
    { flock "$ROOT/.cache/build.lock" "$ROOT/scripts/build.sh" "$filter" 2>&1 || echo "build status: $?"; } | tee "$log" >&2
    out=$(cat "$log")
    status=$(sed -n 's/^build status: //p' <<<"$out")
    status=${status:-0}
    ENVOY_WASM="$ROOT/dist/$filter.wasm"
    if [ "$status" != 0 ]; then
      # A size budget overrun matters for shipping, not for trying the filter locally.
      if ! grep -q 'over its size budget' <<<"$out" || [ ! -f "$ENVOY_WASM" ]; then
        die 1 "building $filter failed"
      fi
      info "warning: $filter is over its size budget; running it locally anyway"
    fi
  else
    ensure_wasm_target
    cargo build --quiet --release --target wasm32-wasip1 -p "$filter" || die 1 "building $filter failed"
    ENVOY_WASM="${CARGO_TARGET_DIR:-$ROOT/target}/wasm32-wasip1/release/$filter.wasm"
  fi
  [ -f "$ENVOY_WASM" ] || die 1 "the build wrote no $ENVOY_WASM"
  step "building the echo upstream"
  flock "$ROOT/.cache/build.lock" cargo build --quiet --release -p echo-upstream || die 1 "building tools/echo-upstream failed"
  ECHO_TOOL="${CARGO_TARGET_DIR:-$ROOT/target}/release/echo-upstream"
}

# _envoy_http URL [request args...]: prints the response (status line, headers, body).
_envoy_http() { "$ECHO_TOOL" request "$@"; }

# --- configuration --------------------------------------------------------------------------

# _envoy_templates: the filter's Envoy templates, one per line, servers before clients so a
# client template can point at a server's port.
_envoy_templates() {
  local dir="$ROOT/deploy/$ENVOY_FILTER" t
  local all=("$dir"/envoy*.yaml)
  if [ ! -f "${all[0]}" ]; then
    printf '%s\n' "$ROOT/deploy/envoy/envoy.yaml"
    return
  fi
  for t in "${all[@]}"; do [ "$t" = "$dir/envoy-server.yaml" ] && printf '%s\n' "$t"; done
  for t in "${all[@]}"; do
    case "$t" in "$dir/envoy-server.yaml"|"$dir/envoy-client.yaml") ;; *) printf '%s\n' "$t" ;; esac
  done
  for t in "${all[@]}"; do [ "$t" = "$dir/envoy-client.yaml" ] && printf '%s\n' "$t"; done
  return 0
}

# _envoy_role TEMPLATE: envoy.yaml → main, envoy-client.yaml → client.
_envoy_role() {
  local b
  b=$(basename "$1" .yaml)
  case "$b" in envoy) echo main ;; envoy-*) echo "${b#envoy-}" ;; esac
}

_envoy_config_file() {
  local dir="$ROOT/deploy/$ENVOY_FILTER"
  if [ -n "${ENVOY_DEPLOY_CONFIG:-}" ]; then
    echo "$ENVOY_DEPLOY_CONFIG"
  elif [ -f "$dir/envoy-config.json" ]; then echo "$dir/envoy-config.json"
  elif [ -f "$dir/config.json" ]; then echo "$dir/config.json"
  fi
}

# _envoy_fail_policy: FAIL_OPEN when the filter's WasmPlugin says so, else FAIL_CLOSED.
_envoy_fail_policy() {
  local wp="$ROOT/deploy/$ENVOY_FILTER/wasmplugin.yaml"
  if [ -f "$wp" ] && grep -q '^  failStrategy: FAIL_OPEN$' "$wp"; then echo FAIL_OPEN; else echo FAIL_CLOSED; fi
}

# _envoy_write_ecds ECDS_DIR: writes the filter's ECDS resource (module + plugin configuration)
# to ECDS_DIR/<filter>.json by atomic rename. Prints "unchanged" when it was already current.
_envoy_write_ecds() {
  local dir=$1 cfg module
  cfg=$(_envoy_config_file)
  mkdir -p "$dir" "$ENVOY_STATE/modules"
  module="$ENVOY_STATE/modules/$ENVOY_FILTER-$(sha256sum "$ENVOY_WASM" | cut -c1-12).wasm"
  [ -f "$module" ] || cp "$ENVOY_WASM" "$module"
  python3 - "$ENVOY_FILTER" "$module" "${cfg:-}" "$(_envoy_fail_policy)" "$dir/$ENVOY_FILTER.json" <<'PY' || die 1 "cannot write the ECDS resource for $ENVOY_FILTER"
import json, os, sys
name, module, cfg_path, policy, out = sys.argv[1:]
config = "{}"
if cfg_path:
    text = open(cfg_path).read().replace("@@NAMESPACE@@", "default")
    try:
        config = json.dumps(json.loads(text), separators=(",", ":"))
    except ValueError as e:
        sys.exit(f"error: {cfg_path} is not valid JSON: {e}")
resource = {"resources": [{
    "@type": "type.googleapis.com/envoy.config.core.v3.TypedExtensionConfig",
    "name": name,
    "typed_config": {
        "@type": "type.googleapis.com/envoy.extensions.filters.http.wasm.v3.Wasm",
        "config": {
            "name": name, "root_id": name, "failure_policy": policy,
            "vm_config": {"vm_id": name, "runtime": "envoy.wasm.runtime.v8",
                          "code": {"local": {"filename": module}}},
            "configuration": {"@type": "type.googleapis.com/google.protobuf.StringValue",
                              "value": config}}}}]}
text = json.dumps(resource, indent=2) + "\n"
if os.path.exists(out) and open(out).read() == text:
    print("unchanged")
    sys.exit(0)
tmp = os.path.join(os.path.dirname(out), f".{name}.json.tmp")
with open(tmp, "w") as f:
    f.write(text)
os.rename(tmp, out)  # the watched directory sees a move: Envoy reloads the resource
PY
}

# _envoy_auth_cluster: the cluster auth_check's remote mode calls (remote.cluster of the config).
_envoy_auth_cluster() {
  local cfg
  cfg=$(_envoy_config_file)
  python3 - "${cfg:-}" <<'PY'
import json, sys
name = "auth-service"
if sys.argv[1]:
    try:
        c = json.loads(open(sys.argv[1]).read().replace("@@NAMESPACE@@", "default"))
        name = (c.get("remote") or {}).get("cluster") or name
    except (ValueError, AttributeError):
        pass
print(name)
PY
}

# _envoy_render TEMPLATE OUT KEY=VALUE...: replaces {{KEY}}; any placeholder left is an error.
_envoy_render() {
  local template=$1 out=$2 kv key value text
  shift 2
  text=$(cat "$template")
  for kv in "$@"; do
    key=${kv%%=*} value=${kv#*=}
    text=${text//"{{$key}}"/$value}
  done
  if grep -o '{{[A-Z_]*}}' <<<"$text" | sort -u | grep -q .; then
    die 1 "$template uses placeholders deploy_envoy does not know: $(grep -o '{{[A-Z_]*}}' <<<"$text" | sort -u | tr '\n' ' ')"
  fi
  printf '%s\n' "$text" >"$out"
}

# --- processes ------------------------------------------------------------------------------

ENVOY_PIDS=()

_envoy_cleanup() {
  local pid
  for pid in "${ENVOY_PIDS[@]}"; do kill "$pid" 2>/dev/null || true; done
  for pid in "${ENVOY_PIDS[@]}"; do wait "$pid" 2>/dev/null || true; done
  ENVOY_PIDS=()
  rm -f "$ENVOY_STATE/run.env"
}

_envoy_port_free() {
  python3 - "$1" <<'PY'
import socket, sys
s = socket.socket()
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
try:
    s.bind(("127.0.0.1", int(sys.argv[1])))
except OSError:
    sys.exit(1)
PY
}

# _envoy_service NAME ARGS...: starts echo-upstream with ARGS; sets ENVOY_SERVICE_PORT.
_envoy_service() {
  local name=$1 portfile="$ENVOY_STATE/$1.port"
  shift
  rm -f "$portfile"
  "$ECHO_TOOL" "$@" --port-file "$portfile" >>"$ENVOY_STATE/$name.log" 2>&1 &
  ENVOY_PIDS+=("$!")
  local _
  for _ in $(seq 100); do
    [ -s "$portfile" ] && { ENVOY_SERVICE_PORT=$(cat "$portfile"); return; }
    kill -0 "$!" 2>/dev/null || break
    sleep 0.05
  done
  die 1 "the $name service did not start: $(cat "$ENVOY_STATE/$name.log")"
}

# _envoy_reasons LOG [FROM_LINE]: the lines that explain a failure.
_envoy_reasons() {
  tail -n +"${2:-1}" "$1" | grep -E '\]\[(error|critical)\]|rejected|cannot bind|Address already in use' | sed 's/^/  envoy: /' | head -20 >&2 || true
}

# _envoy_start_one ROLE TEMPLATE LISTEN_PORT: starts one Envoy; sets ENVOY_LAST_PORT.
_envoy_start_one() {
  local role=$1 template=$2 listen=$3 dir="$ENVOY_STATE/$1"
  mkdir -p "$dir/ecds"
  rm -f "$dir/admin.txt" "$dir/ecds/$ENVOY_FILTER.json"
  _envoy_write_ecds "$dir/ecds" >/dev/null
  _envoy_render "$template" "$dir/envoy.yaml" FILTER="$ENVOY_FILTER" LISTEN_PORT="$listen" \
    UPSTREAM_PORT="$ENVOY_UPSTREAM_PORT" AUTH_PORT="${ENVOY_AUTH_PORT:-0}" \
    AUTH_CLUSTER="${ENVOY_AUTH_CLUSTER:-auth-service}" ECDS_DIR="$dir/ecds" \
    SERVER_PORT="${ENVOY_SERVER_PORT:-0}"
  local wasm_level=info
  [ "$ENVOY_FILTER" = metadata_exchange ] && wasm_level=debug
  "$ENVOY_BIN" -c "$dir/envoy.yaml" --admin-address-path "$dir/admin.txt" --disable-hot-restart \
    --file-flush-interval-msec 100 --concurrency "${ENVOY_CONCURRENCY:-2}" --log-format "$ENVOY_LOG_FORMAT" \
    --component-log-level "wasm:$wasm_level" >"$dir/envoy.log" 2>&1 &
  local pid=$!
  ENVOY_PIDS+=("$pid")
  local admin=""
  for _ in $(seq 300); do
    if ! kill -0 "$pid" 2>/dev/null; then
      _envoy_reasons "$dir/envoy.log"
      die 1 "Envoy ($role) exited at startup; its reasons are above (full log: $dir/envoy.log)"
    fi
    if [ -s "$dir/admin.txt" ]; then
      admin=$(cat "$dir/admin.txt")
      if _envoy_http "http://$admin/ready" -s 2>/dev/null | grep -qx LIVE; then break; fi
    fi
    sleep 0.1
  done
  [ -n "$admin" ] || die 1 "Envoy ($role) did not become ready in 30 s (log: $dir/envoy.log)"
  ENVOY_LAST_PORT=$(_envoy_http "http://$admin/listeners" -s | sed -n 's/.*:\([0-9][0-9]*\)$/\1/p' | head -1)
  local rejected
  rejected=$(_envoy_stat "$admin" update_rejected)
  if [ "${rejected:-0}" != 0 ] || [ "$(_envoy_stat "$admin" update_success)" = 0 ]; then
    _envoy_reasons "$dir/envoy.log"
    die 1 "Envoy ($role) rejected the $ENVOY_FILTER filter; its reasons are above (full log: $dir/envoy.log)"
  fi
  cp "$dir/ecds/$ENVOY_FILTER.json" "$dir/accepted.json"
  printf 'ADMIN_%s=%s\nPID_%s=%s\n' "$role" "$admin" "$role" "$pid" >>"$ENVOY_STATE/run.env"
  info "Envoy ($role): pid $pid, listener 127.0.0.1:$ENVOY_LAST_PORT, admin http://$admin"
}

# _envoy_stat ADMIN NAME: the value of extension_config_discovery.http_filter.<filter>.NAME.
_envoy_stat() {
  _envoy_http "http://$1/stats?filter=^extension_config_discovery\\.http_filter\\.$ENVOY_FILTER\\.$2\$" -s |
    sed -n 's/^[^:]*: *\([0-9][0-9]*\)$/\1/p' | head -1
}

_envoy_start() {
  local port=$1 templates t role entry
  ensure_envoy
  mkdir -p "$ENVOY_STATE"
  rm -f "$ENVOY_STATE/run.env"
  _envoy_port_free "$port" || die 1 "port $port on 127.0.0.1 is already in use: stop what listens there or choose another with --port N"
  trap '_envoy_cleanup' EXIT
  trap 'echo >&2; step "stopping"; exit 130' INT TERM
  mapfile -t templates < <(_envoy_templates)
  entry=$(_envoy_role "${templates[-1]}")
  printf 'OWNER_PID=%s\nROLES="' "$$" >"$ENVOY_STATE/run.env"
  for t in "${templates[@]}"; do printf '%s ' "$(_envoy_role "$t")" >>"$ENVOY_STATE/run.env"; done
  printf '"\nPORT=%s\nENTRY=%s\n' "$port" "$entry" >>"$ENVOY_STATE/run.env"

  step "starting the echo upstream$(grep -qs '{{AUTH_PORT}}' "${templates[@]}" && echo ' and the auth service')"
  _envoy_service upstream serve
  ENVOY_UPSTREAM_PORT=$ENVOY_SERVICE_PORT
  info "echo upstream: 127.0.0.1:$ENVOY_UPSTREAM_PORT"
  if grep -qs '{{AUTH_PORT}}' "${templates[@]}"; then
    _envoy_service auth auth --token "$ENVOY_DEMO_TOKEN=alice"
    ENVOY_AUTH_PORT=$ENVOY_SERVICE_PORT
    ENVOY_AUTH_CLUSTER=$(_envoy_auth_cluster)
    info "auth service: 127.0.0.1:$ENVOY_AUTH_PORT (cluster $ENVOY_AUTH_CLUSTER; accepts 'authorization: Bearer $ENVOY_DEMO_TOKEN')"
  fi
  step "starting Envoy ($("$ENVOY_BIN" --version 2>/dev/null | sed -n 's/.*version: [^/]*\/\([^/]*\)\/.*/\1/p') at $ENVOY_BIN) with $ENVOY_FILTER"
  for t in "${templates[@]}"; do
    role=$(_envoy_role "$t")
    if [ "$role" = "$entry" ]; then
      _envoy_start_one "$role" "$t" "$port"
    else
      _envoy_start_one "$role" "$t" 0
      [ "$role" = server ] && ENVOY_SERVER_PORT=$ENVOY_LAST_PORT
    fi
  done
  ENVOY_PORT=$port
}

# --- running instance and hot reload --------------------------------------------------------

# _envoy_running STATE: true when an earlier deploy of this filter is still running.
_envoy_running() {
  [ -f "$1/run.env" ] || return 1
  local owner
  owner=$(sed -n 's/^OWNER_PID=//p' "$1/run.env")
  [ -n "$owner" ] && [ "$owner" != "$$" ] && kill -0 "$owner" 2>/dev/null
}

_envoy_hot_reload() {
  local roles role admin before rejected_before log lines unchanged=1
  roles=$(sed -n 's/^ROLES="\(.*\)"$/\1/p' "$ENVOY_STATE/run.env")
  ENVOY_PORT=$(sed -n 's/^PORT=//p' "$ENVOY_STATE/run.env")
  [ -z "${PORT:-}" ] || [ "$PORT" = "$ENVOY_PORT" ] || info "note: --port $PORT ignored: the running setup listens on $ENVOY_PORT"
  step "$ENVOY_FILTER is already running (pid $(sed -n 's/^OWNER_PID=//p' "$ENVOY_STATE/run.env")): hot-reloading it"
  for role in $roles; do
    admin=$(sed -n "s/^ADMIN_$role=//p" "$ENVOY_STATE/run.env")
    log="$ENVOY_STATE/$role/envoy.log"
    lines=$(($(wc -l <"$log") + 1))
    # update_success/update_rejected move once Envoy has built (or failed to build) the
    # plugin; config_reload moves earlier, before the module is loaded.
    before=$(_envoy_stat "$admin" update_success)
    rejected_before=$(_envoy_stat "$admin" update_rejected)
    if [ "$(_envoy_write_ecds "$ENVOY_STATE/$role/ecds")" = unchanged ]; then
      info "Envoy ($role): module and configuration unchanged, nothing to reload"
      continue
    fi
    unchanged=0
    for _ in $(seq 100); do
      [ "$(_envoy_stat "$admin" update_success)" != "$before" ] && break
      if [ "$(_envoy_stat "$admin" update_rejected)" != "$rejected_before" ]; then
        _envoy_reasons "$log" "$lines"
        # Put back the resource Envoy runs, so the next attempt is seen as a change.
        cp "$ENVOY_STATE/$role/accepted.json" "$ENVOY_STATE/$role/ecds/.restore.tmp"
        mv "$ENVOY_STATE/$role/ecds/.restore.tmp" "$ENVOY_STATE/$role/ecds/$ENVOY_FILTER.json"
        die 1 "Envoy ($role) rejected the new $ENVOY_FILTER; it keeps serving the previous one (log: $log)"
      fi
      sleep 0.1
    done
    [ "$(_envoy_stat "$admin" update_success)" != "$before" ] || die 1 "Envoy ($role) did not pick up the new module in 10 s (log: $log)"
    cp "$ENVOY_STATE/$role/ecds/$ENVOY_FILTER.json" "$ENVOY_STATE/$role/accepted.json"
    info "Envoy ($role): new module $(sha256sum "$ENVOY_WASM" | cut -c1-12) and configuration loaded without a restart (pid $(sed -n "s/^PID_$role=//p" "$ENVOY_STATE/run.env") still serving)"
  done
  [ "$unchanged" = 1 ] && info "(rebuild the filter or edit its config, then run this again to swap it in)"
  _envoy_demo
}

_envoy_report_exit() {
  local role roles
  roles=$(sed -n 's/^ROLES="\(.*\)"$/\1/p' "$ENVOY_STATE/run.env" 2>/dev/null)
  for role in $roles; do
    _envoy_reasons "$ENVOY_STATE/$role/envoy.log"
  done
}

# --- demonstrations -------------------------------------------------------------------------

# _envoy_show TITLE URL ARGS...: sends a request and prints what the client got.
_envoy_show() {
  local title=$1
  shift
  step "$title"
  info "> $*"
  _envoy_http "$@" || die 1 "the demonstration request failed"
}

# _envoy_wasm_log ROLE FROM_LINE: the filter's log lines written since FROM_LINE.
_envoy_wasm_log() {
  tail -n +"$2" "$ENVOY_STATE/$1/envoy.log" | grep -F "wasm log $ENVOY_FILTER" | sed 's/^.*wasm log [^:]*: //'
}

_envoy_log_lines() { echo $(($(wc -l <"$ENVOY_STATE/$1/envoy.log") + 1)); }

_envoy_demo() {
  local url="http://127.0.0.1:$ENVOY_PORT" from from2
  case "$ENVOY_FILTER" in
    http_headers)
      _envoy_show "request through http_headers: the echoed request shows the headers added upstream, the response headers those added to the response" \
        "$url/demo?from=deploy" -H 'x-request-id: demo-1'
      ;;
    request_logging)
      from=$(_envoy_log_lines main)
      _envoy_show "request through request_logging (with a credential it must not log)" "$url/demo?from=deploy" \
        -H 'x-request-id: demo-1' -H 'user-agent: deploy-demo' -H 'authorization: Bearer do-not-log-me'
      step "the JSON line request_logging wrote to Envoy's log"
      local _
      for _ in $(seq 50); do [ -n "$(_envoy_wasm_log main "$from")" ] && break; sleep 0.1; done
      _envoy_wasm_log main "$from" | grep . || die 1 "request_logging wrote no log line"
      ;;
    auth_check)
      _envoy_show "without credentials: auth_check asks the auth service, which refuses" "$url/private"
      _envoy_show "with a token the auth service accepts: allowed, the upstream sees the identity" \
        "$url/private" -H "authorization: Bearer $ENVOY_DEMO_TOKEN"
      ;;
    metadata_exchange)
      from=$(_envoy_log_lines client) from2=$(_envoy_log_lines server)
      _envoy_show "request: client sidecar (outbound) → server sidecar (inbound) → echo; the peer headers are stripped before the app sees them" "$url/demo"
      sleep 0.3
      step "what the server sidecar learned about its caller (wasm.downstream_peer)"
      tail -n +"$from2" "$ENVOY_STATE/server/envoy.log" | grep -E 'downstream peer|^access:' | sed 's/^.*wasm log [^:]*: //' >&2 || true
      step "what the client sidecar learned about the server (wasm.upstream_peer)"
      tail -n +"$from" "$ENVOY_STATE/client/envoy.log" | grep -E 'upstream peer|^access:' | sed 's/^.*wasm log [^:]*: //' >&2 || true
      ;;
    *)
      _envoy_show "request through $ENVOY_FILTER" "$url/demo"
      ;;
  esac
}
