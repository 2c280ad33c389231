"""The kubectl of the recording stand-in (deploy/kind/tests/standin): a small model of a cluster
with Istio and the sample workloads, kept as files under $STANDIN_STATE/objects.

- `kustomize` runs the real kubectl ($STANDIN_REAL_KUBECTL): the tests render what users render.
- `apply --server-side [-l SELECTOR] -f -` stores the objects of stdin matching the selector;
  `delete` removes by label selector or namespace; `get` answers from the stored objects.
- The sidecars (`exec deploy/W -c istio-proxy -- ...`) answer like Istio 1.30 / Envoy would for the
  stored objects: ECDS entries named after each WasmPlugin (translated to a TrafficExtension) and
  TrafficExtension; listeners whose EnvoyFilters read module files, rejected (error_state, the last
  good config kept) while a referenced module's ConfigMap is missing; sha256sum of a mounted module.
- The client pod's curl and the echo sidecar's log show what the loaded filters do (info lines
  only when the pod's sidecar.istio.io/componentLogLevel raises the wasm logger to info).
Knobs: STANDIN_FETCH_FAILS=1 (the agent cannot fetch: RBAC under the plugin's name),
STANDIN_ECDS_REJECTED=<name> (Envoy rejected that plugin's ECDS update), STANDIN_UNREACHABLE=<ctx>,
STANDIN_CURRENT_CONTEXT, STANDIN_K8S_VERSION.
"""

import base64
import hashlib
import json
import os
import sys
from pathlib import Path

import yaml

STATE = Path(os.environ["STANDIN_STATE"])
OBJECTS = STATE / "objects"
WASM = "type.googleapis.com/envoy.extensions.filters.http.wasm.v3.Wasm"
RBAC = "type.googleapis.com/envoy.extensions.filters.http.rbac.v3.RBAC"
POD_LABELS = {"echo": {"app": "echo", "mesh-peer": "true"}, "client": {"app": "client", "mesh-peer": "true"}}
KINDS = {"wasmplugin": "WasmPlugin", "trafficextension": "TrafficExtension", "envoyfilter": "EnvoyFilter",
         "configmap": "ConfigMap", "service": "Service", "deployment": "Deployment", "namespace": "Namespace",
         "wasmplugins": "WasmPlugin", "trafficextensions": "TrafficExtension", "envoyfilters": "EnvoyFilter"}


def fail(msg, code=1):
    print(msg, file=sys.stderr)
    sys.exit(code)


def kind_of(arg):
    return KINDS.get(arg.split(".")[0].lower()) or fail(f"standin kubectl: unknown type {arg}", 99)


def path_of(obj):
    meta = obj["metadata"]
    return OBJECTS / obj["kind"] / meta.get("namespace", "-") / f"{meta['name']}.json"


def objects(kind=None, namespace=None):
    out = []
    for p in sorted(OBJECTS.glob("*/*/*.json")):
        obj = json.loads(p.read_text())
        if kind and obj["kind"] != kind:
            continue
        if namespace and obj["metadata"].get("namespace") != namespace:
            continue
        out.append(obj)
    return out


def matches(obj, selector):
    labels = obj["metadata"].get("labels") or {}
    for term in filter(None, (selector or "").split(",")):
        if "!=" in term:
            k, v = term.split("!=", 1)
            if labels.get(k) == v:
                return False
        else:
            k, v = term.split("=", 1)
            if labels.get(k) != v:
                return False
    return True


def istio_version():
    p = STATE / "istio"
    return p.read_text().strip() if p.exists() else None


def selects(obj, workload):
    spec = obj["spec"]
    labels = (spec.get("selector") or {}).get("matchLabels") or (spec.get("workloadSelector") or {}).get("labels") or {}
    return all(POD_LABELS[workload].get(k) == v for k, v in labels.items())


def plugins(workload, namespace):
    return [o for o in objects(namespace=namespace) if o["kind"] in ("WasmPlugin", "TrafficExtension") and selects(o, workload)]


def module_present(namespace, filename):
    name = filename.rsplit("/", 1)[-1]
    for cm in objects("ConfigMap", namespace):
        if name in (cm.get("binaryData") or {}):
            return cm
    return None


def envoyfilter_files(workload, namespace, context):
    files = []
    for ef in objects("EnvoyFilter", namespace):
        if not selects(ef, workload):
            continue
        for p in ef["spec"]["configPatches"]:
            if p["match"]["context"] == context:
                files.append(p["patch"]["value"]["typed_config"]["config"]["vm_config"]["code"]["local"]["filename"])
    return files


def ecds_dump(workload, namespace):
    configs = []
    v = istio_version() or "1.30.4"
    for o in plugins(workload, namespace):
        res = o["metadata"]["name"]
        if o["kind"] == "TrafficExtension":
            name = f"extensions.istio.io/trafficextension/{namespace}.{res}"
        elif v.startswith("1.29."):
            name = f"extensions.istio.io/wasmplugin/{namespace}.{res}"
        else:
            name = f"extensions.istio.io/trafficextension/{namespace}.{res}~istio-translated-wasmplugin"
        entry = {"@type": "type.googleapis.com/envoy.admin.v3.EcdsConfigDump.EcdsFilterConfig",
                 "version_info": "2026-12-05T00:00:00Z/7",
                 "ecds_filter": {"name": name, "typed_config": {"@type": RBAC if os.environ.get("STANDIN_FETCH_FAILS") == "1" else WASM}},
                 "last_updated": "2026-12-05T00:00:01Z"}
        if os.environ.get("STANDIN_ECDS_REJECTED") == res:
            entry["error_state"] = {"details": "Failed to load Wasm module due to a missing import: env.proxy_new_call"}
        configs.append(entry)
    return {"configs": configs}


def listeners_dump(workload, namespace):
    configs = []
    for listener, context in (("virtualInbound", "SIDECAR_INBOUND"), ("virtualOutbound", "SIDECAR_OUTBOUND")):
        want = envoyfilter_files(workload, namespace, context)
        good_file = STATE / f"listener-{workload}-{listener}.json"
        good = json.loads(good_file.read_text()) if good_file.exists() else []
        missing = [f for f in want if not module_present(namespace, f)]
        entry = {"name": listener}
        if missing:
            entry["error_state"] = {"failed_configuration": {"filter_chains": [{"filters": [{"filename": f} for f in want]}]},
                                    "details": f"Failed to load Wasm code from {missing[0]}"}
        else:
            good = want
            good_file.write_text(json.dumps(good))
        entry["active_state"] = {"listener": {"name": listener, "filter_chains": [
            {"filters": [{"typed_config": {"@type": WASM, "config": {"vm_config": {"code": {"local": {"filename": f}}}}}} for f in good]}]}}
        configs.append(entry)
    return {"configs": configs}


def loaded_filters(workload, namespace):
    """Root ids of the filters the workload's sidecar runs."""
    names = set()
    if os.environ.get("STANDIN_FETCH_FAILS") != "1":
        for o in plugins(workload, namespace):
            spec = o["spec"].get("wasm", o["spec"])
            if os.environ.get("STANDIN_ECDS_REJECTED") != o["metadata"]["name"]:
                names.add(spec["pluginName"])
    listeners_dump(workload, namespace)  # refresh the last good state
    for listener in ("virtualInbound", "virtualOutbound"):
        f = STATE / f"listener-{workload}-{listener}.json"
        if f.exists():
            names.update(p.rsplit("/", 1)[-1][: -len(".wasm")] for p in json.loads(f.read_text()))
    return names


def sidecar(workload, namespace, cmd):
    if cmd[:1] == ["sha256sum"]:
        cm = module_present(namespace, cmd[1])
        if not cm:
            fail(f"sha256sum: {cmd[1]}: No such file or directory")
        data = base64.b64decode(cm["binaryData"][cmd[1].rsplit("/", 1)[-1]])
        print(f"{hashlib.sha256(data).hexdigest()}  {cmd[1]}")
        return
    if cmd[:3] != ["pilot-agent", "request", "GET"] and cmd[:5] != ["pilot-agent", "request", "--debug-port", "15020", "GET"]:
        fail(f"standin kubectl: unexpected sidecar command {cmd}", 99)
    what = cmd[-1]
    if what == "config_dump?resource=ecds_filters":
        print(json.dumps(ecds_dump(workload, namespace)))
    elif what == "config_dump?resource=dynamic_listeners":
        print(json.dumps(listeners_dump(workload, namespace)))
    elif what == "stats/prometheus":
        n = len(plugins(workload, namespace))
        print(f'istio_agent_wasm_remote_fetch_count{{result="success"}} {n}')
        print(f'istio_agent_wasm_cache_entries {n}')
    elif what.startswith("stats?filter="):
        for f in sorted(loaded_filters(workload, namespace)):
            print(f"wasmcustom.{f}.requests_total: 1")
    else:
        fail(f"standin kubectl: unexpected admin path {what}", 99)


def curl(namespace):
    loaded = loaded_filters("echo", namespace)
    if "auth_check" in loaded:
        print("HTTP/1.1 401 Unauthorized\r\ncontent-type: application/json\r\n\r\n{\"error\":\"missing credentials\"}")
        return
    print("HTTP/1.1 200 OK\r\ncontent-type: application/json\r", end="\n")
    if "http_headers" in loaded:
        print("x-powered-by: proxy-wasm-rust\r")
    print("\r\n{\"headers\":{\"X-Wasm-Filter\":[\"http_headers\"]}}")


def main(args):
    context, namespace, rest = None, None, []
    i = 0
    while i < len(args):
        if args[i] == "--context":
            context = args[i + 1]; i += 2
        elif args[i] == "-n":
            namespace = args[i + 1]; i += 2
        else:
            rest.append(args[i]); i += 1
    if rest[:1] == ["kustomize"]:
        os.execv(os.environ["STANDIN_REAL_KUBECTL"], ["kubectl"] + rest)
    if rest[:2] == ["version", "--client"]:
        print("Client Version: v1.36.0\nKustomize Version: v5.7.1")
        return
    if rest[:2] == ["config", "current-context"]:
        ctx = os.environ.get("STANDIN_CURRENT_CONTEXT")
        if not ctx:
            fail("error: current-context is not set")
        print(ctx)
        return
    if context and context == os.environ.get("STANDIN_UNREACHABLE"):
        fail("Unable to connect to the server: dial tcp 10.20.0.1:6443: i/o timeout")
    if not context:
        fail("standin kubectl: every command names its --context", 99)
    opts = {}
    pos = []
    j = 0
    while j < len(rest):
        a = rest[j]
        if a in ("-l", "-f", "-o") and j + 1 < len(rest):
            opts[a] = rest[j + 1]; j += 2
        elif a.startswith("-"):
            opts[a.split("=")[0]] = a; j += 1
        else:
            pos.append(a); j += 1
    verb = pos[0]
    if verb == "get":
        if pos[1:2] == ["--raw"] or "--raw" in opts:
            print(json.dumps({"major": "1", "minor": "36", "gitVersion": "v" + os.environ.get("STANDIN_K8S_VERSION", "1.36.1")}))
            return
        if pos[1] == "deployment" and pos[2] == "istiod":
            v = istio_version()
            if not v:
                fail('Error from server (NotFound): deployments.apps "istiod" not found')
            print(f"docker.io/istio/pilot:{v}", end="")
            return
        if pos[1] == "namespace":
            if not objects("Namespace") or not any(o["metadata"]["name"] == pos[2] for o in objects("Namespace")):
                fail(f'Error from server (NotFound): namespaces "{pos[2]}" not found')
            return
        if pos[1] == "crd":
            v = istio_version() or "0"
            if pos[2].startswith("trafficextensions.") and not v.startswith("1.29."):
                return
            fail(f'Error from server (NotFound): customresourcedefinitions.apiextensions.k8s.io "{pos[2]}" not found')
        kind = kind_of(pos[1])
        for o in objects(kind, namespace):
            if matches(o, opts.get("-l")):
                print(f"{pos[1].split('.')[0]}.{o['apiVersion'].split('/')[0]}/{o['metadata']['name']}")
        return
    if verb == "apply":
        docs = [d for d in yaml.safe_load_all(sys.stdin) if d]
        n = len(list(STATE.glob("applied-*.yaml"))) + 1
        picked = [d for d in docs if matches(d, opts.get("-l"))]
        (STATE / f"applied-{n}.yaml").write_text(yaml.safe_dump_all(picked, sort_keys=False))
        for d in picked:
            p = path_of(d)
            p.parent.mkdir(parents=True, exist_ok=True)
            p.write_text(json.dumps(d))
            print(f"{d['kind'].lower()}/{d['metadata']['name']} serverside-applied")
        return
    if verb == "delete":
        if pos[1] == "namespace":
            for o in objects():
                if o["metadata"].get("namespace") == pos[2] or (o["kind"] == "Namespace" and o["metadata"]["name"] == pos[2]):
                    path_of(o).unlink()
            print(f'namespace "{pos[2]}" deleted')
            return
        kinds = [kind_of(t) for t in pos[1].split(",")]
        for o in objects(namespace=namespace):
            if o["kind"] in kinds and matches(o, opts.get("-l")):
                path_of(o).unlink()
                print(f'{o["kind"].lower()} "{o["metadata"]["name"]}" deleted')
        return
    if verb in ("rollout", "wait"):
        print("condition met")
        return
    if verb == "exec":
        target = pos[1].split("/", 1)[1]
        cmd = rest[rest.index("--") + 1:]
        if target == "client":
            curl(namespace)
        else:
            sidecar(target, namespace, cmd)
        return
    if verb == "logs":
        # Istio's sidecar logs at warning: a filter's info lines appear only with the wasm logger
        # raised (sidecar.istio.io/componentLogLevel on the pod template).
        echo = [d for d in objects("Deployment", namespace) if d["metadata"]["name"] == "echo"]
        ann = ((echo[0]["spec"]["template"]["metadata"].get("annotations") or {}) if echo else {})
        level = dict(x.split(":", 1) for x in ann.get("sidecar.istio.io/componentLogLevel", "misc:error").split(","))
        if "request_logging" in loaded_filters("echo", namespace) and level.get("wasm") in ("info", "debug", "trace"):
            print('2026-12-05T00:00:02Z info envoy wasm external/envoy/source/extensions/common/wasm/context.cc:1137 '
                  'wasm log proxy-wasm-demo.request-logging request_logging: {"path":"/get","status":200}')
        print("2026-12-05T00:00:01Z warning envoy wasm error fetching module: connection refused")
        return
    fail(f"standin kubectl: unexpected '{' '.join(args)}'", 99)


if __name__ == "__main__":
    main(sys.argv[1:])
