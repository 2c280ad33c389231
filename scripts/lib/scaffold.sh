# shellcheck shell=bash
# Helpers of scripts/new-filter.sh: name checks, template files, and the renaming copy.
# Needs scripts/lib/common.sh (ROOT, die).

# shellcheck disable=SC2034 # used by scripts/new-filter.sh
SCAFFOLD_TEMPLATES="http_headers request_logging auth_check metadata_exchange minimal"
# Rust 2021/2024 strict and reserved keywords (lower-case ones; names are lower-case).
SCAFFOLD_RUST_KEYWORDS="as async await break const continue crate dyn else enum extern false fn
for gen if impl in let loop match mod move mut pub ref return self static struct super trait true
try type unsafe use where while abstract become box do final macro override priv typeof unsized
virtual yield union"
# Crates every Rust program can name: a lib with one of these names would shadow them.
SCAFFOLD_BUILTIN_CRATES="std core alloc test proc_macro"
# Kubernetes names are '<name>' with '-' and 'wasm-<name>' (ConfigMap): DNS labels of <= 63.
SCAFFOLD_MAX_LEN=40

# scaffold_camel NAME: my_filter2 -> MyFilter2.
scaffold_camel() {
  local part out=""
  local IFS=_
  for part in $1; do out+="${part^}"; done
  printf '%s\n' "$out"
}

# scaffold_name NAME: prints the filter name NAME asks for: '-' reads as '_', because the name
# is the crate, the wasm module (cargo writes a_b.wasm for a package a-b) and the Envoy filter
# name, which must all be one spelling; Kubernetes names get '-' back. Exits 2 on a bad spelling.
scaffold_name() {
  local name=$1
  [ -n "$name" ] || die 2 "which name? usage: scripts/new-filter.sh <name> [--from TEMPLATE]"
  [[ $name =~ ^[a-z] ]] || die 2 "'$name': a filter name starts with a lower-case letter (a-z)"
  [[ $name =~ ^[a-z][a-z0-9_-]*$ ]] || die 2 "'$name': a filter name has only lower-case letters, digits, '_' and '-'"
  [[ $name != *[-_][-_]* && $name != *[-_] ]] || die 2 "'$name': no '__', '--' or '_-' and no trailing '_' or '-' (Kubernetes names write '_' as '-' and must not end with '-' or hold '--')"
  if [[ $name == *-* ]]; then
    info "note: filter names are written with '_' (crate, module and Envoy filter name): using '${name//-/_}' (Kubernetes objects: '$name')"
  fi
  printf '%s\n' "${name//-/_}"
}

# scaffold_check_name NAME: exits 2 with the reason when NAME (as scaffold_name prints it)
# cannot be a new filter.
scaffold_check_name() {
  local name=$1 word
  [ "${#name}" -le "$SCAFFOLD_MAX_LEN" ] || die 2 "'$name': at most $SCAFFOLD_MAX_LEN characters (Kubernetes object names such as wasm-<name> must fit a DNS label)"
  [ "$name" != common ] || die 2 "'common' is the shared helper crate (filters/common), not a filter name"
  for word in $SCAFFOLD_RUST_KEYWORDS; do
    [ "$name" != "$word" ] || die 2 "'$name' is a Rust keyword: it cannot be a crate name"
  done
  for word in $SCAFFOLD_BUILTIN_CRATES; do
    [ "$name" != "$word" ] || die 2 "'$name' is the name of a built-in Rust crate ($word): pick another name"
  done
  # (grep -q on a here-string, not in a pipe: with pipefail an early exit of grep -q would
  # fail the writer with SIGPIPE and read as "no match")
  if grep -qxF -- "$name" <<<"$(filter_names)"; then
    die 2 "'$name' is already a filter (filters/$name)"
  fi
  local path
  for path in "filters/$name" "deploy/$name"; do
    if [ -e "$ROOT/$path" ] || [ -L "$ROOT/$path" ]; then
      die 2 "'$name': $path already exists"
    fi
  done
  # Any crate of the build (workspace members and dependencies): cargo compares lib names
  # with '-' read as '_', and two crates of one name cannot be told apart in `use`.
  local crates=""
  [ ! -f "$ROOT/Cargo.lock" ] || crates=$(sed -n 's/^name = "\(.*\)"$/\1/p' "$ROOT/Cargo.lock")
  if grep -qxF -- "$name" <<<"${crates//-/_}"; then
    die 2 "'$name' is the name of a crate the workspace already uses (see Cargo.lock; a filter you deleted stays there until the next cargo command): pick another name"
  fi
}

# scaffold_files DIR: the template's files under DIR, relative to DIR, one per line. In a git
# checkout the tracked and untracked-not-ignored ones (no build output), else every file.
scaffold_files() {
  local dir=$1
  if git -C "$ROOT" rev-parse --is-inside-work-tree >/dev/null 2>&1; then
    git -C "$dir" ls-files -co --exclude-standard -- . | while IFS= read -r f; do
      [ -f "$dir/$f" ] && printf '%s\n' "$f"
    done
  else
    (cd "$dir" && find . -type f -not -path '*/target/*' -not -name '*.wasm' | sed 's|^\./||')
  fi
}

# scaffold_copy FROM_DIR TO_DIR SED_SCRIPT: copies the template files of FROM_DIR to TO_DIR,
# applying SED_SCRIPT (the renames) to each file's contents and to its path.
scaffold_copy() {
  local from=$1 to=$2 script=$3 f dest n=0
  while IFS= read -r f; do
    dest="$to/$(sed -e "$script" <<<"$f")"
    mkdir -p "$(dirname "$dest")"
    sed -e "$script" "$from/$f" >"$dest"
    [ ! -x "$from/$f" ] || chmod +x "$dest"
    n=$((n + 1))
  done < <(scaffold_files "$from")
  [ "$n" -gt 0 ] || die 1 "the template $from has no files"
}

# scaffold_register_module NAME: the sample workloads mount every filter's module ConfigMap
# (wasm-<name-dns>) in one projected volume (deploy/kind/demo/workloads.yaml): add NAME's, so the
# EnvoyFilter method works for it and next to the others.
scaffold_register_module() {
  local name=$1 file="$ROOT/deploy/kind/demo/workloads.yaml" tmp marker='{"wasm-filters": {"projected": {"sources": ['
  [ -f "$file" ] || die 1 "$file is missing: cannot add wasm-${name//_/-} to the sample workloads' module volume"
  grep -qF -- "$marker" "$file" || die 1 "$file: no projected module volume ('$marker') to add wasm-${name//_/-} to"
  tmp=$(mktemp "$file.XXXXXX")
  awk -v marker="$marker" -v cm="wasm-${name//_/-}" '
    { print }
    index($0, marker) { match($0, /^ */); printf "%s  {\"configMap\": {\"name\": \"%s\", \"optional\": true}},\n", substr($0, 1, RLENGTH), cm }
  ' "$file" >"$tmp"
  mv "$tmp" "$file"
}
