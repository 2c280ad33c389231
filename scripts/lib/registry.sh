# shellcheck shell=bash
# A throwaway OCI registry on 127.0.0.1 for the push tests: the distribution `registry` binary
# (Debian: docker-registry) with our own small config, or the `registry` image when a Docker
# engine is up. Needs scripts/lib/common.sh.
#
#   registry_start NAME PORT [HTPASSWD_FILE]   start (with basic auth when a file is given)
#   registry_stop NAME                         stop what registry_start started
#   registry_htpasswd USER PASSWORD FILE       write a bcrypt htpasswd file
#   free_port                                  print a free loopback TCP port

REGISTRY_STATE="$ROOT/.cache/registry"

# Which way to run a registry here: prints "bin PATH" or "docker", installing when possible.
registry_runtime() {
  local b
  for b in registry docker-registry; do
    if command -v "$b" >/dev/null; then printf 'bin %s\n' "$(command -v "$b")"; return; fi
  done
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
    apt_install docker-registry >&2
    printf 'bin %s\n' "$(command -v docker-registry)"
    return
  fi
  if command -v docker >/dev/null && docker info >/dev/null 2>&1; then
    printf 'docker\n'
    return
  fi
  die 1 "the push tests need an OCI registry on 127.0.0.1 and none is available.
  Install one of: Debian/Ubuntu 'sudo apt-get install docker-registry' (the distribution
  'registry' binary on PATH works too), or start a Docker engine (the 'registry:3' image is used)."
}

free_port() {
  local port
  for _ in $(seq 1 50); do
    port=$((20000 + RANDOM % 20000))
    # Nothing answers: the port is free.
    if ! (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then printf '%s\n' "$port"; return; fi
  done
  die 1 "no free loopback port found"
}

registry_htpasswd() {
  local user=$1 pass=$2 file=$3
  if command -v htpasswd >/dev/null; then
    htpasswd -Bbn "$user" "$pass" >"$file"
    return
  fi
  # shellcheck source=scripts/lib/mesh_venv.sh
  . "$ROOT/scripts/lib/mesh_venv.sh"
  local py
  py=$(mesh_venv)
  "$py" -c 'import bcrypt, sys; print(sys.argv[1] + ":" + bcrypt.hashpw(sys.argv[2].encode(), bcrypt.gensalt(rounds=10)).decode())' \
    "$user" "$pass" >"$file"
}

registry_start() {
  local name=$1 port=$2 htpasswd=${3:-} dir runtime addr
  dir="$REGISTRY_STATE/$name"
  registry_stop "$name"
  mkdir -p "$dir/data"
  runtime=$(registry_runtime)
  command -v curl >/dev/null || apt_install curl >&2
  addr="127.0.0.1:$port"
  [ "$runtime" = docker ] && addr=":5000"
  {
    printf 'version: 0.1\nlog:\n  level: warn\n  accesslog:\n    disabled: true\n'
    printf 'storage:\n  filesystem:\n    rootdirectory: %s\n  delete:\n    enabled: true\n' \
      "$([ "$runtime" = docker ] && echo /var/lib/registry || echo "$dir/data")"
    printf 'http:\n  addr: %s\n  secret: proxy-wasm-test-%s\n' "$addr" "$name"
    if [ -n "$htpasswd" ]; then
      printf 'auth:\n  htpasswd:\n    realm: proxy-wasm-test\n    path: %s\n' \
        "$([ "$runtime" = docker ] && echo /auth/htpasswd || echo "$htpasswd")"
    fi
  } >"$dir/config.yml"
  if [ "$runtime" = docker ]; then
    local mounts=(-v "$dir/config.yml:/etc/docker/registry/config.yml:ro" -v "$dir/data:/var/lib/registry")
    [ -z "$htpasswd" ] || mounts+=(-v "$htpasswd:/auth/htpasswd:ro")
    docker run -d --rm --name "proxy-wasm-test-$name" -p "127.0.0.1:$port:5000" "${mounts[@]}" registry:3 >"$dir/container"
  else
    "${runtime#bin }" serve "$dir/config.yml" >"$dir/log" 2>&1 &
    printf '%s\n' "$!" >"$dir/pid"
  fi
  local code
  for _ in $(seq 1 100); do
    code=$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$port/v2/" || true)
    case "$code" in 200|401) return 0 ;; esac
    sleep 0.1
  done
  cat "$dir/log" >&2 2>/dev/null || true
  die 1 "registry $name did not come up on 127.0.0.1:$port"
}

registry_stop() {
  local dir="$REGISTRY_STATE/$1" pid
  if [ -f "$dir/pid" ]; then
    pid=$(cat "$dir/pid")
    if kill "$pid" 2>/dev/null; then wait "$pid" 2>/dev/null || true; fi
    rm -f "$dir/pid"
  fi
  if [ -f "$dir/container" ]; then
    docker rm -f "proxy-wasm-test-$1" >/dev/null 2>&1 || true
    rm -f "$dir/container"
  fi
  rm -rf "$dir"
}
