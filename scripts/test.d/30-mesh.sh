#!/usr/bin/env bash
# Mesh deployment tests (issues 8, 18), no cluster needed: pushes to a real registry on 127.0.0.1
# read back with skopeo; `kubectl kustomize` of every filter x method (as committed and with
# deploy.sh's digest overlay) validated against the Istio CRD and Kubernetes schemas; and
# deploy/undeploy/--status (kind and cluster targets) against recording stand-ins for docker, kind,
# kubectl (a small model of the cluster and its sidecars) and istioctl. Installs what it needs
# (docker-registry, skopeo, a Python venv); needs kubectl for kustomize.
set -euo pipefail
cd "$(dirname "$0")/../.."
# shellcheck source=scripts/lib/common.sh
. scripts/lib/common.sh

[ -n "$(filter_names)" ] || die 1 "no filters in filters/"
for f in $(filter_names); do
  if [ ! -f "dist/$f.wasm" ] || [ ! -f "deploy/$f/envoyfilter/$f.wasm" ]; then step "building the filters"; scripts/build.sh; break; fi
done
if ! command -v skopeo >/dev/null; then apt_install skopeo; fi

step "mesh: shellcheck of the mesh test scripts"
command -v shellcheck >/dev/null || apt_install shellcheck
shellcheck -x deploy/kind/tests/*.sh deploy/kind/tests/standin
# The oci-push unit tests (packaging, ABI detection, references, credentials) run with the
# workspace's cargo nextest.
step "mesh: push to a local registry, read back with skopeo"
bash deploy/kind/tests/test_push.sh
step "mesh: manifests of every filter and method against the schemas"
bash deploy/kind/tests/test_manifests.sh
step "mesh: deploy and undeploy against stand-ins for docker, kind, kubectl, istioctl"
bash deploy/kind/tests/test_deploy.sh
