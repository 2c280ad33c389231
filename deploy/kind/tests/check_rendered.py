"""Checks what the rendered manifests of a filter mean, beyond their schema.

    python check_rendered.py FILTER METHOD CONFIG_JSON MODULE SHA256 PHASE FAIL_STRATEGY MODE \
        WORKLOADS MESH_CLUSTERS < rendered.yaml

- the plugin gets exactly deploy/<filter>/config.json (WasmPlugin.pluginConfig, or the
  EnvoyFilter's configuration string), its cluster names renamed as MESH_CLUSTERS says;
- phase / failStrategy / direction are the filter's, in both methods (EnvoyFilter: fail_open,
  INSERT_FIRST for AUTHN, one patch per sidecar direction);
- the WasmPlugin url is oci://kind-registry:5000/...@sha256:SHA256 and sha256 is SHA256;
- the plugin's selector picks exactly the WORKLOADS pods; with the envoyfilter method exactly
  those mount the module ConfigMap, whose bytes are MODULE.
"""

import base64
import hashlib
import json
import sys

import yaml

failures = 0


def expect(what, expected, actual):
    global failures
    if expected == actual:
        print(f"  ok   {what}")
    else:
        failures += 1
        print(f"  FAIL {what}: expected {expected!r}, got {actual!r}")


def renamed(value, renames):
    if isinstance(value, dict):
        return {k: renamed(v, renames) for k, v in value.items()}
    if isinstance(value, list):
        return [renamed(v, renames) for v in value]
    return renames.get(value, value) if isinstance(value, str) else value


def main(filter_name, method, config_path, module_path, sha, phase, fail, mode, workloads, clusters):
    renames = dict(pair.split("=", 1) for pair in clusters.split())
    config = renamed(json.load(open(config_path)), renames)
    module = open(module_path, "rb").read()
    workloads = set(workloads.split())
    docs = [d for d in yaml.safe_load_all(sys.stdin) if d]
    by_kind = {}
    for d in docs:
        by_kind.setdefault(d["kind"], []).append(d)
    deployments = {d["metadata"]["name"]: d for d in by_kind.get("Deployment", [])}
    resource = filter_name.replace("_", "-")

    if method == "wasmplugin":
        (wp,) = by_kind["WasmPlugin"]
        spec = wp["spec"]
        expect("pluginConfig is config.json", config, spec["pluginConfig"])
        expect("phase", phase, spec["phase"])
        expect("failStrategy", fail, spec["failStrategy"])
        expect("match mode", [{"mode": mode}], spec["match"])
        expect("url pinned by digest",
               f"oci://kind-registry:5000/proxy-wasm/{filter_name}@sha256:{sha}", spec["url"])
        expect("sha256 is the manifest digest", sha, spec["sha256"])
        selector = spec["selector"]["matchLabels"]
    else:
        (ef,) = by_kind["EnvoyFilter"]
        patches = ef["spec"]["configPatches"]
        contexts = {"SERVER": ["SIDECAR_INBOUND"], "CLIENT": ["SIDECAR_OUTBOUND"],
                    "CLIENT_AND_SERVER": ["SIDECAR_INBOUND", "SIDECAR_OUTBOUND"]}[mode]
        expect("one patch per direction", contexts, [p["match"]["context"] for p in patches])
        for p in patches:
            cfg = p["patch"]["value"]["typed_config"]["config"]
            expect("configuration is config.json", config, json.loads(cfg["configuration"]["value"]))
            expect("fail_open follows failStrategy", fail == "FAIL_OPEN", cfg["fail_open"])
            expect("module file", f"/var/local/lib/wasm-filters/{filter_name}.wasm",
                   cfg["vm_config"]["code"]["local"]["filename"])
            expect("position", "INSERT_FIRST" if phase == "AUTHN" else "INSERT_BEFORE",
                   p["patch"]["operation"])
        (cm,) = by_kind["ConfigMap"]
        expect("ConfigMap name", f"wasm-{resource}", cm["metadata"]["name"])
        held = base64.b64decode(cm["binaryData"][f"{filter_name}.wasm"])
        expect("ConfigMap holds the module (sha256)", hashlib.sha256(module).hexdigest(),
               hashlib.sha256(held).hexdigest())
        selector = ef["spec"]["workloadSelector"]["labels"]
        for name in ("echo", "client"):
            ann = deployments[name]["spec"]["template"]["metadata"].get("annotations") or {}
            mounts = "sidecar.istio.io/userVolume" in ann
            expect(f"{name} mounts the module: {name in workloads}", name in workloads, mounts)
            if mounts:
                vol = json.loads(ann["sidecar.istio.io/userVolume"])
                mnt = json.loads(ann["sidecar.istio.io/userVolumeMount"])
                expect(f"{name}: volume from the ConfigMap", f"wasm-{resource}", vol[0]["configMap"]["name"])
                expect(f"{name}: mounted where the EnvoyFilter reads", "/var/local/lib/wasm-filters", mnt[0]["mountPath"])
                expect(f"{name}: same volume name", vol[0]["name"], mnt[0]["name"])
    selected = {name for name, d in deployments.items()
                if all(d["spec"]["template"]["metadata"]["labels"].get(k) == v for k, v in selector.items())}
    expect("the selector picks exactly the filter's workloads", workloads, selected & {"echo", "client"})
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main(*sys.argv[1:]))
