"""Checks the kind cluster config, the Istio install settings and the version pins agree: the
registry mirror directory, the node image pinned in both cluster.yaml and versions.env, the minimal
profile, WASM_INSECURE_REGISTRIES for the in-cluster registry, registry:3, and Istio pinned to a
1.30 patch >= 1.30.2."""
import re, sys, yaml
cluster = yaml.safe_load(open(sys.argv[1]))
assert cluster["kind"] == "Cluster" and cluster["apiVersion"] == "kind.x-k8s.io/v1alpha4", cluster
assert 'config_path = "/etc/containerd/certs.d"' in cluster["containerdConfigPatches"][0]
env = dict(re.findall(r"^([A-Z_]+)=\$?\{?[A-Z_]*:?-?([^}\s]*)\}?$", open(sys.argv[3]).read(), re.M))
images = {n["image"] for n in cluster["nodes"]}
assert images == {env["KIND_NODE_IMAGE"]}, (images, env["KIND_NODE_IMAGE"])
assert re.match(r"^kindest/node:v\d+\.\d+\.\d+@sha256:[a-f0-9]{64}$", env["KIND_NODE_IMAGE"]), env["KIND_NODE_IMAGE"]
istio = yaml.safe_load(open(sys.argv[2]))
assert istio["kind"] == "IstioOperator" and istio["spec"]["profile"] == "minimal", istio
meta = istio["spec"]["meshConfig"]["defaultConfig"]["proxyMetadata"]
assert meta["WASM_INSECURE_REGISTRIES"] == "kind-registry:5000", meta
assert env["REGISTRY_IMAGE"] == "registry:3", env["REGISTRY_IMAGE"]
major, minor, patch = map(int, env["ISTIO_VERSION"].split("."))
assert (major, minor) == (1, 30) and patch >= 2, env["ISTIO_VERSION"]
print(f"kind cluster config ({env['KIND_NODE_IMAGE'].split('@')[0]}), Istio settings, pins (Istio {env['ISTIO_VERSION']}, {env['REGISTRY_IMAGE']})")
