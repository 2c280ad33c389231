"""Checks what a filter's three kustomizations mean, beyond their schema.

    python check_rendered.py FILTER CONFIG_JSON MODULE WORKLOADS WASMPLUGIN.yaml ENVOYFILTER.yaml TRAFFICEXTENSION.yaml

(each YAML is `kubectl kustomize` output of deploy/<filter>, .../envoyfilter, .../trafficextension)
- the plugin gets exactly deploy/<filter>/config.json, the local Envoy's cluster names replaced by
  the sidecar's (auth_service -> outbound|8080||auth.proxy-wasm-demo.svc.cluster.local), in all
  three methods;
- the three methods agree: selector, phase, priority, failStrategy (EnvoyFilter: failure_policy,
  INSERT_FIRST for AUTHN, one patch per sidecar direction of the match mode), plugin name;
- the selector picks exactly WORKLOADS (deploy/<filter>/demo.env);
- the committed url is the tag scripts/push.sh pushes; no sha256 until deploy.sh pins one;
- plugin objects are labelled for undeploy (proxy-wasm-filters/filter, role=plugin);
- envoyfilter: the ConfigMap is wasm-<filter> holding MODULE's bytes under <filter>.wasm, and both
  sample workloads mount it (projected, optional) where the EnvoyFilter reads;
- the sample workloads log wasm at info (sidecar.istio.io/componentLogLevel) and give the
  injector its map form of userVolume / userVolumeMount.
"""

import base64
import hashlib
import json
import sys

import yaml

MESH_CLUSTERS = {"auth_service": "outbound|8080||auth.proxy-wasm-demo.svc.cluster.local"}
WASM_DIR = "/var/local/lib/wasm-filters"
failures = 0


def expect(what, expected, actual):
    global failures
    if expected == actual:
        print(f"  ok   {what}")
    else:
        failures += 1
        print(f"  FAIL {what}: expected {expected!r}, got {actual!r}")


def renamed(value):
    if isinstance(value, dict):
        return {k: renamed(v) for k, v in value.items()}
    if isinstance(value, list):
        return [renamed(v) for v in value]
    return MESH_CLUSTERS.get(value, value) if isinstance(value, str) else value


def load(path):
    by_kind = {}
    for d in yaml.safe_load_all(open(path)):
        if d:
            by_kind.setdefault(d["kind"], []).append(d)
    return by_kind


def selected(by_kind, labels):
    return {d["metadata"]["name"] for d in by_kind.get("Deployment", [])
            if all(d["spec"]["template"]["metadata"]["labels"].get(k) == v for k, v in labels.items())} & {"echo", "client"}


def check_workloads(method, by_kind, resource):
    for d in by_kind["Deployment"]:
        name = d["metadata"]["name"]
        if name not in ("echo", "client"):
            continue
        ann = d["spec"]["template"]["metadata"].get("annotations") or {}
        expect(f"{method}: {name} logs wasm at info", "wasm:info", ann.get("sidecar.istio.io/componentLogLevel"))
        vol = json.loads(ann["sidecar.istio.io/userVolume"])
        mnt = json.loads(ann["sidecar.istio.io/userVolumeMount"])
        expect(f"{method}: {name}: userVolume / userVolumeMount are maps keyed by the volume name",
               (dict, dict, ["wasm-filters"], ["wasm-filters"]), (type(vol), type(mnt), list(vol), list(mnt)))
        sources = {s["configMap"]["name"]: s["configMap"].get("optional") for s in vol["wasm-filters"]["projected"]["sources"]}
        expect(f"{method}: {name} mounts wasm-{resource} (optional)", True, sources.get(f"wasm-{resource}"))
        expect(f"{method}: {name}: mounted where the EnvoyFilter reads", WASM_DIR, mnt["wasm-filters"]["mountPath"])


def main(filter_name, config_path, module_path, workloads, wp_path, ef_path, te_path):
    config = renamed(json.load(open(config_path)))
    module = open(module_path, "rb").read()
    workloads = set(workloads.split())
    resource = filter_name.replace("_", "-")
    labels = {"proxy-wasm-filters/filter": resource, "proxy-wasm-filters/role": "plugin"}
    tag_url = f"oci://kind-registry:5000/proxy-wasm/{filter_name}:dev"

    wp_all = load(wp_path)
    (wp,) = wp_all["WasmPlugin"]
    spec = wp["spec"]
    expect("wasmplugin: pluginConfig is config.json", config, spec["pluginConfig"])
    expect("wasmplugin: url is the pushed tag, as committed", tag_url, spec["url"])
    expect("wasmplugin: no sha256 until deploy.sh pins the digest", None, spec.get("sha256"))
    expect("wasmplugin: pluginName", filter_name, spec["pluginName"])
    expect("wasmplugin: labels for undeploy", labels, {k: wp["metadata"]["labels"].get(k) for k in labels})
    selector = spec["selector"]["matchLabels"]
    expect("wasmplugin: the selector picks exactly the demo's workloads", workloads, selected(wp_all, selector))
    check_workloads("wasmplugin", wp_all, resource)
    mode = spec["match"][0]["mode"]

    te_all = load(te_path)
    (te,) = te_all["TrafficExtension"]
    w = te["spec"]["wasm"]
    expect("trafficextension: pluginConfig is config.json", config, w["pluginConfig"])
    expect("trafficextension: same selector, phase, priority, match as the WasmPlugin",
           (selector, spec["phase"], spec["priority"], spec["match"]),
           (te["spec"]["selector"]["matchLabels"], te["spec"]["phase"], te["spec"]["priority"], te["spec"]["match"]))
    expect("trafficextension: same url, failStrategy, pluginName, type",
           (tag_url, spec["failStrategy"], filter_name, "HTTP"), (w["url"], w["failStrategy"], w["pluginName"], w["type"]))
    expect("trafficextension: labels for undeploy", labels, {k: te["metadata"]["labels"].get(k) for k in labels})
    check_workloads("trafficextension", te_all, resource)

    ef_all = load(ef_path)
    (ef,) = ef_all["EnvoyFilter"]
    patches = ef["spec"]["configPatches"]
    contexts = {"SERVER": ["SIDECAR_INBOUND"], "CLIENT": ["SIDECAR_OUTBOUND"],
                "CLIENT_AND_SERVER": ["SIDECAR_INBOUND", "SIDECAR_OUTBOUND"]}[mode]
    expect("envoyfilter: one patch per direction of the match mode", contexts, [p["match"]["context"] for p in patches])
    expect("envoyfilter: same selector", selector, ef["spec"]["workloadSelector"]["labels"])
    for p in patches:
        cfg = p["patch"]["value"]["typed_config"]["config"]
        expect("envoyfilter: configuration is config.json", config, json.loads(cfg["configuration"]["value"]))
        expect("envoyfilter: failure_policy follows failStrategy (no deprecated fail_open)",
               ({"FAIL_OPEN": "FAIL_OPEN", "FAIL_CLOSE": "FAIL_CLOSED"}[spec["failStrategy"]], None),
               (cfg.get("failure_policy"), cfg.get("fail_open")))
        expect("envoyfilter: module file", f"{WASM_DIR}/{filter_name}.wasm", cfg["vm_config"]["code"]["local"]["filename"])
        expect("envoyfilter: root id", filter_name, cfg["root_id"])
        expect("envoyfilter: position", "INSERT_FIRST" if spec["phase"] == "AUTHN" else "INSERT_BEFORE", p["patch"]["operation"])
    expect("envoyfilter: labels for undeploy", labels, {k: ef["metadata"]["labels"].get(k) for k in labels})
    (cm,) = [c for c in ef_all["ConfigMap"] if c["metadata"]["name"] == f"wasm-{resource}"]
    expect("envoyfilter: the ConfigMap is labelled as the filter's module",
           {"proxy-wasm-filters/filter": resource, "proxy-wasm-filters/role": "module"},
           {k: cm["metadata"]["labels"].get(k) for k in ("proxy-wasm-filters/filter", "proxy-wasm-filters/role")})
    held = base64.b64decode(cm["binaryData"][f"{filter_name}.wasm"])
    expect("envoyfilter: the ConfigMap holds dist/<filter>.wasm", hashlib.sha256(module).hexdigest(), hashlib.sha256(held).hexdigest())
    check_workloads("envoyfilter", ef_all, resource)
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main(*sys.argv[1:]))
