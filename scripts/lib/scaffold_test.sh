# shellcheck shell=bash
# Helpers of scripts/test.d/50-scaffold.sh (the tests of scripts/new-filter.sh). They run in the
# workspace copy (the current directory) and need scripts/lib/common.sh and WORK (scratch dir).

# sctest_copy_workspace DEST: the checkout's tracked and untracked-not-ignored files; target/ and
# .venv/ are links to this checkout's (built dependencies, Envoy). DEST is a git repository too,
# so new-filter.sh lists template files as in a checkout.
sctest_copy_workspace() {
  local dest=$1
  mkdir -p "$dest"
  if git -C "$ROOT" rev-parse --is-inside-work-tree >/dev/null 2>&1; then
    # -c also lists tracked files deleted in the working tree: keep those that exist.
    git -C "$ROOT" ls-files -co --exclude-standard -z |
      (cd "$ROOT" && while IFS= read -r -d '' f; do [ -f "$f" ] && printf '%s\0' "$f"; done) |
      tar -C "$ROOT" --null -T - -cf - | tar -C "$dest" -xf -
  else
    tar -C "$ROOT" --exclude=./target --exclude=./.venv --exclude=./.cache --exclude=./dist -cf - . |
      tar -C "$dest" -xf -
  fi
  # The copy shares target/ (wasmtime etc. are not rebuilt), but its workspace crates must not
  # share artifacts with the checkout's: cargo hashes path crates by their path relative to the
  # workspace, and harness bakes its workspace path in (env!("CARGO_MANIFEST_DIR")), so a
  # harness built in the copy could otherwise be reused by the checkout and look for filters in
  # the deleted copy. Another version gives the copy's workspace crates their own artifacts.
  grep -q '^version = "0.1.0"$' "$dest/Cargo.toml" || die 1 "Cargo.toml: no [workspace.package] version = \"0.1.0\" to change in the copy"
  sed -i 's/^version = "0.1.0"$/version = "0.1.0-scaffold-test"/' "$dest/Cargo.toml"
  mkdir -p "$ROOT/target"
  ln -s "$ROOT/target" "$dest/target"
  [ ! -d "$ROOT/.venv" ] || ln -s "$ROOT/.venv" "$dest/.venv"
  git -C "$dest" init -q
}

# The top of filters/ and deploy/ and any staging directory: what a failed run must not change.
_sctest_snapshot() {
  find filters deploy -mindepth 1 -maxdepth 1 2>/dev/null | sort
  find .cache -maxdepth 1 -name 'new-filter.*' 2>/dev/null || true
}

# sctest_rejects "ARGS" MESSAGE: new-filter.sh ARGS exits 2 saying MESSAGE, writing nothing.
sctest_rejects() {
  local args=$1 expected=$2 status=0 before
  before=$(_sctest_snapshot)
  # shellcheck disable=SC2086 # ARGS is a word list
  scripts/new-filter.sh $args >"$WORK/out.log" 2>&1 || status=$?
  [ "$status" = 2 ] || { cat "$WORK/out.log" >&2; die 1 "new-filter.sh $args: exit $status, expected 2"; }
  grep -qF -- "$expected" "$WORK/out.log" || { cat "$WORK/out.log" >&2; die 1 "new-filter.sh $args: the error does not say: $expected"; }
  [ "$(_sctest_snapshot)" = "$before" ] || die 1 "new-filter.sh $args wrote files"
  info "ok: '$args' -> $(head -1 "$WORK/out.log")"
}

# sctest_fails_cleanly NAME MESSAGE: new-filter.sh NAME fails (not with 0 or 2) saying MESSAGE,
# and neither filters/NAME, deploy/NAME nor a staging directory is left.
sctest_fails_cleanly() {
  local name=$1 expected=$2 status=0 before
  before=$(_sctest_snapshot)
  scripts/new-filter.sh "$name" >"$WORK/out.log" 2>&1 || status=$?
  case "$status" in 0|2) cat "$WORK/out.log" >&2; die 1 "new-filter.sh $name: exit $status, expected a failure" ;; esac
  grep -qF -- "$expected" "$WORK/out.log" || { cat "$WORK/out.log" >&2; die 1 "new-filter.sh $name: the error does not say: $expected"; }
  grep -qF 'nothing was created' "$WORK/out.log" || die 1 "new-filter.sh $name: no 'nothing was created' after the failure"
  if [ -e "filters/$name" ] || [ -e "deploy/$name" ]; then
    die 1 "new-filter.sh $name left filters/$name or deploy/$name behind"
  fi
  [ "$(_sctest_snapshot)" = "$before" ] || die 1 "new-filter.sh $name left files behind: $(diff <(echo "$before") <(_sctest_snapshot) || true)"
  info "ok: failure ($(grep '^error' "$WORK/out.log" | head -1)) left nothing behind"
}

# sctest_check_renamed NAME TEMPLATE: no trace of the template's name is left in the new files.
sctest_check_renamed() {
  local name=$1 template=$2 left camel
  if [ "$template" = minimal ]; then
    left=$(grep -rlF -e '{{name' -e '{{Name' "filters/$name" "deploy/$name" || true)
  else
    camel=$(scaffold_camel "$template")
    left=$(grep -rlF -e "$template" -e "${template//_/-}" -e "$camel" -e "${template^^}" "filters/$name" "deploy/$name" || true)
  fi
  [ -z "$left" ] || die 1 "filters/$name from $template still names the template in: $left"
  grep -qx "name = \"$name\"" "filters/$name/Cargo.toml" || die 1 "filters/$name/Cargo.toml: the package is not named $name"
  [ "$(head -1 "filters/$name/README.md")" = "# $name" ] || die 1 "filters/$name/README.md: the title is not '# $name'"
  grep -rqF "Plugin::builder(\"$name\")" "filters/$name/tests" || die 1 "filters/$name/tests: no Plugin::builder(\"$name\")"
}

_sctest_free_port() {
  python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

# sctest_envoy NAME PATTERN...: scripts/deploy.sh --target envoy NAME --once succeeds and its
# output (the demonstration request) has a line matching each extended regex PATTERN.
sctest_envoy() {
  local name=$1 pattern log="$WORK/envoy-$1.log"
  shift
  if ! scripts/deploy.sh --target envoy "$name" --once --port "$(_sctest_free_port)" >"$log" 2>&1; then
    tail -40 "$log" >&2
    die 1 "scripts/deploy.sh --target envoy $name --once failed"
  fi
  for pattern in "$@"; do
    grep -qE -- "$pattern" "$log" || { tail -40 "$log" >&2; die 1 "deploy --target envoy $name: no line matches $pattern"; }
  done
  info "ok: $name ran in Envoy: $(grep -m1 '^HTTP/' "$log")"
}

# sctest_envoy_log NAME ROLE TEXT: the last --target envoy run of NAME logged TEXT (Envoy ROLE).
sctest_envoy_log() {
  local log="$ENVOY_DEPLOY_STATE/$1/$2/envoy.log"
  grep -qF -- "$3" "$log" || { tail -20 "$log" >&2; die 1 "Envoy ($2) running $1 did not log: $3"; }
  info "ok: $1's Envoy ($2) logged $3"
}

# sctest_dry_run NAME: the new filter's three kustomizations render (kubectl kustomize) to objects
# valid against the Istio CRD and Kubernetes schemas, with NAME's plugin (Kubernetes names with '-',
# the module and config of NAME), and scripts/deploy.sh NAME --dry-run shows them for each method.
# Needs SCTEST_PY (a python with the mesh test packages) and SCTEST_CRDS.
sctest_dry_run() {
  local name=$1 resource=${1//_/-} method out dir
  for method in wasmplugin envoyfilter trafficextension; do
    dir=deploy/$name
    [ "$method" = wasmplugin ] || dir+=/$method
    out="$WORK/kustomize-$name-$method.yaml"
    kubectl kustomize "$dir" >"$out" || die 1 "kubectl kustomize $dir failed"
    "$SCTEST_PY" "$ROOT/deploy/kind/tests/validate_manifests.py" --crds "$SCTEST_CRDS" "$out" >&2 || die 1 "$dir: objects not valid (above)"
    "$SCTEST_PY" - "$out" "$name" "$method" "deploy/$name/config.json" <<'PY' || die 1 "$dir: the plugin is not $name's (above)"
import json, sys, yaml
path, name, method, config = sys.argv[1:]
docs = [d for d in yaml.safe_load_all(open(path)) if d]
kind = {"wasmplugin": "WasmPlugin", "envoyfilter": "EnvoyFilter", "trafficextension": "TrafficExtension"}[method]
(plugin,) = [d for d in docs if d["kind"] == kind]
want = json.load(open(config))
if "remote" in want and want["remote"].get("cluster") == "auth_service":
    want["remote"]["cluster"] = "outbound|8080||auth.proxy-wasm-demo.svc.cluster.local"
assert plugin["metadata"]["name"] == name.replace("_", "-"), plugin["metadata"]
if method == "envoyfilter":
    for p in plugin["spec"]["configPatches"]:
        cfg = p["patch"]["value"]["typed_config"]["config"]
        assert cfg["vm_config"]["code"]["local"]["filename"] == f"/var/local/lib/wasm-filters/{name}.wasm", cfg
        assert json.loads(cfg["configuration"]["value"]) == want, cfg["configuration"]
    # The module's ConfigMap (a filter's bases may bring their own, like auth_check's auth service).
    (cm,) = [d for d in docs if d["kind"] == "ConfigMap" and d["metadata"]["name"].startswith("wasm-")]
    assert cm["metadata"]["name"] == "wasm-" + name.replace("_", "-") and f"{name}.wasm" in cm["binaryData"], cm["metadata"]
    for d in docs:
        if d["kind"] == "Deployment" and d["metadata"]["name"] in ("echo", "client"):
            assert cm["metadata"]["name"] in d["spec"]["template"]["metadata"]["annotations"]["sidecar.istio.io/userVolume"], d["metadata"]
else:
    spec = plugin["spec"] if method == "wasmplugin" else plugin["spec"]["wasm"]
    assert spec["pluginName"] == name and spec["url"] == f"oci://kind-registry:5000/proxy-wasm/{name}:dev", spec
    assert spec["pluginConfig"] == want, (spec["pluginConfig"], want)
PY
    out="$WORK/dry-$name-$method.log"
    scripts/deploy.sh --dry-run --method "$method" "$name" >"$out" 2>&1 || { tail -20 "$out" >&2; die 1 "scripts/deploy.sh --dry-run --method $method $name failed"; }
    grep -qxF "scripts/build.sh $name" "$out" || die 1 "dry run ($method) of $name: no 'scripts/build.sh $name'"
    grep -qxF "  name: $resource" "$out" || die 1 "dry run ($method) of $name: no object named $resource"
  done
  info "ok: $name renders for the mesh (WasmPlugin, EnvoyFilter + ConfigMap, TrafficExtension $resource)"
}
