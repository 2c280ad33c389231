# shellcheck shell=bash
# A project-local Python venv (.cache/mesh-venv) with what the mesh tests need: jsonschema and
# PyYAML (Istio CRD schemas), kubernetes-validate (ships the Kubernetes schemas: works offline),
# bcrypt (htpasswd files). Needs scripts/lib/common.sh.

MESH_VENV="$ROOT/.cache/mesh-venv"
MESH_VENV_PACKAGES=(jsonschema pyyaml kubernetes-validate bcrypt)

# Prints the venv's python, creating the venv on first use.
mesh_venv() {
  local py="$MESH_VENV/bin/python"
  if ! [ -x "$py" ] || ! "$py" -c 'import jsonschema, yaml, kubernetes_validate, bcrypt' 2>/dev/null; then
    command -v python3 >/dev/null || die 1 "python3 is needed for the mesh tests (Debian: apt-get install python3 python3-venv)"
    step "creating $MESH_VENV with ${MESH_VENV_PACKAGES[*]}"
    python3 -m venv "$MESH_VENV" >&2 || die 1 "python3 -m venv failed (Debian: apt-get install python3-venv)"
    "$MESH_VENV/bin/pip" install --quiet --disable-pip-version-check "${MESH_VENV_PACKAGES[@]}" >&2
  fi
  printf '%s\n' "$py"
}
