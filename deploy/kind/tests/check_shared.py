"""Checks the kind cluster config and the Istio install settings: the registry mirror directory,
the minimal profile, and WASM_INSECURE_REGISTRIES for the in-cluster registry."""
import sys, yaml
cluster = yaml.safe_load(open(sys.argv[1]))
assert cluster["kind"] == "Cluster" and cluster["apiVersion"] == "kind.x-k8s.io/v1alpha4", cluster
assert 'config_path = "/etc/containerd/certs.d"' in cluster["containerdConfigPatches"][0]
istio = yaml.safe_load(open(sys.argv[2]))
assert istio["kind"] == "IstioOperator" and istio["spec"]["profile"] == "minimal", istio
meta = istio["spec"]["meshConfig"]["defaultConfig"]["proxyMetadata"]
assert meta["WASM_INSECURE_REGISTRIES"] == "kind-registry:5000", meta
print("kind cluster config and Istio settings")
