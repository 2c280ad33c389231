#!/usr/bin/env bash
# scripts/push.sh against a real registry on 127.0.0.1, read back with skopeo (an independent
# client): every filter as the plain image, one as the WebAssembly Hub variant, a registry with
# basic auth (refused, missing, flag and docker-config credentials), an unreachable registry, and
# bad input.
set -euo pipefail
cd "$(dirname "$0")/../../.."
. scripts/lib/common.sh
. scripts/lib/registry.sh
. scripts/lib/mesh_venv.sh
. deploy/kind/tests/lib.sh

command -v skopeo >/dev/null || apt_install skopeo
py=$(mesh_venv)
work=$(mktemp -d)
port=$(free_port)
auth_port=$(free_port)
cleanup() { registry_stop push-test; registry_stop push-auth-test; rm -rf "$work"; }
trap cleanup EXIT
registry_start push-test "$port"
registry_htpasswd alice 'correct horse' "$work/htpasswd"
registry_start push-auth-test "$auth_port" "$work/htpasswd"

run() {
  status=0
  "$@" >"$work/out" 2>"$work/err" || status=$?
  out=$(cat "$work/out") err=$(cat "$work/err")
}
skopeo_copy() { # REF TAG [skopeo args]: copies REF into $work/layout under TAG
  local ref=$1 tag=$2
  shift 2
  skopeo --insecure-policy copy --quiet --src-tls-verify=false "$@" "docker://$ref" "oci:$work/layout:$tag" ||
    { fail "skopeo could not read $ref back"; return 1; }
}
# check_image TAG MODULE FILTER DIGEST VARIANT: check_image.py on what skopeo_copy fetched.
check_image() { "$py" deploy/kind/tests/check_image.py "$work/layout" "$@" || fail "image checks of $1"; }

filters=$(filter_names)
for f in $filters; do [ -f "dist/$f.wasm" ] || { scripts/build.sh; break; }; done
# A snapshot of the modules: a build running meanwhile must not change them under the test.
mkdir -p "$work/dist"
for f in $filters; do cp "dist/$f.wasm" "$work/dist/"; done

for f in $filters; do
  echo "$f: push, then read back with skopeo"
  run scripts/push.sh "$f" --registry "127.0.0.1:$port" --wasm "$work/dist/$f.wasm"
  expect_status "push $f" 0 "$status"
  digest=${out##*@}
  expect_eq "stdout is the reference pinned by digest" "127.0.0.1:$port/proxy-wasm/$f@$digest" "$out"
  raw_digest=sha256:$(skopeo inspect --tls-verify=false --raw "docker://127.0.0.1:$port/proxy-wasm/$f:dev" | sha256sum | cut -d' ' -f1) || true
  expect_eq "the tag's manifest (skopeo) has the printed digest" "$digest" "$raw_digest"
  skopeo_copy "127.0.0.1:$port/proxy-wasm/$f@$digest" "$f" && check_image "$f" "$work/dist/$f.wasm" "$f" "$digest" plain
done

# One filter for the variant, build and auth cases: http_headers, the reference filter.
f=http_headers
printf '%s\n' "$filters" | grep -qx "$f" || f=$(printf '%s\n' "$filters" | head -1)
echo "$f: the WebAssembly Hub variant"
run scripts/push.sh "$f" --registry "127.0.0.1:$port" --tag hub --wasm-hub-variant --wasm "$work/dist/$f.wasm"
expect_status "push --wasm-hub-variant" 0 "$status"
digest=${out##*@}
skopeo_copy "127.0.0.1:$port/proxy-wasm/$f:hub" hub && check_image hub "$work/dist/$f.wasm" "$f" "$digest" wasmhub

echo "$f: build then push (no --no-build)"
run scripts/push.sh "$f" --registry "127.0.0.1:$port" --tag built
expect_status "build and push" 0 "$status"
expect_contains "it built the filter" "building $f" "$err"
skopeo_copy "127.0.0.1:$port/proxy-wasm/$f:built" built && check_image built "dist/$f.wasm" "$f" "${out##*@}" plain >/dev/null

echo "a registry with basic auth"
run scripts/push.sh "$f" --registry "127.0.0.1:$auth_port" --no-build
expect_status "no credentials" 4 "$status"
expect_contains "it says credentials are needed" "registry refused the credentials: 127.0.0.1:$auth_port requires credentials and none were given" "$err"
run scripts/push.sh "$f" --registry "127.0.0.1:$auth_port" --no-build --username alice --password-stdin <<<"wrong"
expect_status "a wrong password" 4 "$status"
expect_contains "it says the registry refused" "error: registry refused the credentials: 127.0.0.1:$auth_port: " "$err"
expect_contains "with the registry's answer" "UNAUTHORIZED" "$err"
run scripts/push.sh "$f" --registry "127.0.0.1:$auth_port" --wasm "$work/dist/$f.wasm" --username alice --password-stdin <<<"correct horse"
expect_status "the right password" 0 "$status"
digest=${out##*@}
skopeo_copy "127.0.0.1:$auth_port/proxy-wasm/$f:dev" auth --src-creds "alice:correct horse" &&
  check_image auth "$work/dist/$f.wasm" "$f" "$digest" plain >/dev/null
mkdir -p "$work/docker"
printf '{"auths":{"127.0.0.1:%s":{"auth":"%s"}}}\n' "$auth_port" "$(printf 'alice:correct horse' | base64 -w0)" >"$work/docker/config.json"
DOCKER_CONFIG="$work/docker" run scripts/push.sh "$f" --registry "127.0.0.1:$auth_port" --tag from-config --no-build
expect_status "credentials from the docker config" 0 "$status"
expect_contains "it says whose credentials" "using the docker config credentials of alice for 127.0.0.1:$auth_port" "$err"

mkdir -p "$work/desktop"
printf '{"credsStore":"proxy-wasm-test-no-such-helper"}\n' >"$work/desktop/config.json"
DOCKER_CONFIG="$work/desktop" run scripts/push.sh "$f" --registry "127.0.0.1:$port" --tag no-helper --no-build
expect_status "a credential store that cannot answer: anonymous push" 0 "$status"
expect_contains "it says so" "note: no docker credentials for 127.0.0.1:$port" "$err"

echo "unreachable registry and bad input"
dead=$(free_port)
run scripts/push.sh "$f" --registry "127.0.0.1:$dead" --no-build
expect_status "unreachable" 3 "$status"
expect_contains "it says so" "error: registry unreachable: cannot connect to 127.0.0.1:$dead" "$err"
run scripts/push.sh "$f" --registry "127.0.0.1:$port" --repository "Bad/Name" --no-build
expect_status "invalid repository name" 2 "$status"
expect_contains "it names the reference" "error: invalid image reference '127.0.0.1:$port/Bad/Name:dev'" "$err"
run scripts/push.sh "$f" --registry "127.0.0.1:$port" --tag 'bad tag' --no-build
expect_status "invalid tag" 2 "$status"
run scripts/push.sh "$f" --registry "127.0.0.1:$port" --wasm scripts/push.sh
expect_status "not a module" 2 "$status"
expect_contains "it says why" "scripts/push.sh: not a WebAssembly module" "$err"
run scripts/push.sh nope --no-build
expect_status "unknown filter" 2 "$status"
expect_contains "it lists the filters" "unknown filter 'nope' (valid: $(printf '%s' "$filters" | tr '\n' ' '))" "$err"
run scripts/push.sh "$f" --registry "http://127.0.0.1:$port" --no-build
expect_status "a URL instead of HOST:PORT" 2 "$status"
expect_contains "it says what is expected" "invalid --registry 'http://127.0.0.1:$port' (expected HOST or HOST:PORT)" "$err"

echo "no registry binary, not root, no Docker engine: instructions"
mkdir -p "$work/emptybin"
# shellcheck disable=SC2123 # an empty PATH is the point
err=$( (id() { echo 1000; }; PATH="$work/emptybin"; registry_runtime) 2>&1 || true)
expect_contains "it says what to install" "Install one of: Debian/Ubuntu 'sudo apt-get install docker-registry'" "$err"
expect_contains "or to start Docker" "or start a Docker engine (the 'registry:3' image is used)" "$err"

finish test_push
