"""Checks deploy/request_logging/access-log (request_logging writing through Envoy's access log).

    python check_access_log.py RENDERED.yaml BASE_RENDERED.yaml ISTIO.yaml

- its WasmPlugin is deploy/request_logging's (rendered) with only `output: filter_state` added to
  the plugin configuration (a copy, since kustomize cannot patch a file of the parent directory:
  it must not drift);
- the Telemetry resource uses the provider istio.yaml defines, for the same workloads, with the
  CEL filter on the filter state key the filter writes;
- the provider prints that key with `:PLAIN`.
The Telemetry CRD is not among the shared Istio CRDs, so its fields are checked here by name, as
istio/istio defines them (manifests/charts/base/files/crd-all.gen.yaml,
`telemetries.telemetry.istio.io`, v1: spec.selector.matchLabels, spec.accessLogging[].providers[].name,
.match.mode SERVER|CLIENT|CLIENT_AND_SERVER, .filter.expression).
"""

import sys

import yaml

KEY = "wasm.request_logging"


def docs(path):
    with open(path) as f:
        return [d for d in yaml.safe_load_all(f) if d]


def one(objects, kind):
    found = [d for d in objects if d["kind"] == kind]
    if len(found) != 1:
        sys.exit(f"expected one {kind}, found {len(found)}")
    return found[0]


def main(rendered, base, istio):
    objects = docs(rendered)
    plugin, base_plugin = one(objects, "WasmPlugin"), one(docs(base), "WasmPlugin")
    config = dict(plugin["spec"]["pluginConfig"])
    if config.pop("output", None) != "filter_state":
        sys.exit("WasmPlugin: pluginConfig.output is not filter_state")
    plugin["spec"]["pluginConfig"] = config
    if plugin != base_plugin:
        sys.exit("WasmPlugin: differs from deploy/request_logging's beyond `output` (copy drifted)")

    telemetry = one(objects, "Telemetry")
    if telemetry["apiVersion"] != "telemetry.istio.io/v1":
        sys.exit(f"Telemetry: apiVersion {telemetry['apiVersion']}")
    spec = telemetry["spec"]
    unknown = set(spec) - {"selector", "targetRef", "targetRefs", "tracing", "metrics", "accessLogging"}
    if unknown:
        sys.exit(f"Telemetry: unknown spec fields {sorted(unknown)}")
    if spec["selector"] != base_plugin["spec"]["selector"]:
        sys.exit("Telemetry: selects other workloads than the WasmPlugin")
    [logging] = spec["accessLogging"]
    if set(logging) - {"providers", "match", "filter", "disabled"}:
        sys.exit(f"Telemetry: unknown accessLogging fields {sorted(set(logging))}")
    if logging["match"] != {"mode": "SERVER"}:
        sys.exit("Telemetry: not the inbound (SERVER) side the plugin runs on")
    if KEY not in logging["filter"]["expression"]:
        sys.exit(f"Telemetry: the CEL filter does not test {KEY}")

    operator = one(docs(istio), "IstioOperator")
    providers = {p["name"]: p for p in operator["spec"]["meshConfig"]["extensionProviders"]}
    names = [p["name"] for p in logging["providers"]]
    missing = [n for n in names if n not in providers]
    if missing:
        sys.exit(f"Telemetry: providers {missing} are not in istio.yaml")
    text = providers[names[0]]["envoyFileAccessLog"]["logFormat"]["text"]
    if f"%FILTER_STATE({KEY}:PLAIN)%" not in text:
        sys.exit(f"istio.yaml: the provider does not print %FILTER_STATE({KEY}:PLAIN)%")
    print(f"WasmPlugin = deploy/request_logging's + output: filter_state; Telemetry -> {names[0]} -> {KEY}")


if __name__ == "__main__":
    main(*sys.argv[1:])
