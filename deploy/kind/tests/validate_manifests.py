"""Validates Kubernetes manifests: Istio kinds against the CRD schemas, built-in kinds against the
Kubernetes schemas that the kubernetes-validate package ships (no network).

    python validate_manifests.py --crds CRDS.yaml FILE...   (FILE '-' is stdin)

For CRD kinds it also does what the API server would do silently: unknown fields are pruned, so
they are reported here as errors (a typo like `failstrategy` would otherwise vanish). Exit status 1
with one line per problem.
"""

import argparse
import re
import sys

import jsonschema
import kubernetes_validate
import yaml

K8S_VERSION = "1.36.0"
DNS_1123 = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$")


def load_crd_schemas(path):
    schemas = {}
    with open(path) as f:
        for doc in yaml.safe_load_all(f):
            if not doc or doc.get("kind") != "CustomResourceDefinition":
                continue
            spec = doc["spec"]
            for version in spec["versions"]:
                key = (f"{spec['group']}/{version['name']}", spec["names"]["kind"])
                schemas[key] = version["schema"]["openAPIV3Schema"]
    return schemas


def to_json_schema(node):
    """OpenAPI v3 (Kubernetes dialect) -> JSON Schema: nullable, int-or-string."""
    if isinstance(node, list):
        return [to_json_schema(n) for n in node]
    if not isinstance(node, dict):
        return node
    out = {k: to_json_schema(v) for k, v in node.items() if not k.startswith("x-kubernetes-")}
    if node.get("x-kubernetes-int-or-string"):
        out.pop("type", None)
        out["anyOf"] = [{"type": "integer"}, {"type": "string"}]
    if node.get("nullable") and "type" in out:
        out["type"] = [out["type"], "null"]
    out.pop("nullable", None)
    return out


def pruned_fields(schema, value, path):
    """Fields the API server would drop: not declared, and unknown fields not preserved."""
    if not isinstance(schema, dict):
        return
    if isinstance(value, dict):
        if schema.get("x-kubernetes-preserve-unknown-fields"):
            return
        props = schema.get("properties")
        extra = schema.get("additionalProperties")
        for key, sub in value.items():
            if props is not None and key in props:
                yield from pruned_fields(props[key], sub, f"{path}.{key}")
            elif isinstance(extra, dict):
                yield from pruned_fields(extra, sub, f"{path}.{key}")
            elif props is not None and extra is not True:
                yield f"{path}.{key}: unknown field (the API server would drop it)"
    elif isinstance(value, list) and isinstance(schema.get("items"), dict):
        for i, item in enumerate(value):
            yield from pruned_fields(schema["items"], item, f"{path}[{i}]")


def check_crd_object(doc, schema):
    problems = []
    validator = jsonschema.Draft7Validator(to_json_schema(schema))
    for err in sorted(validator.iter_errors(doc), key=lambda e: list(e.absolute_path)):
        where = ".".join(str(p) for p in err.absolute_path) or "(root)"
        problems.append(f"{where}: {err.message}")
    for section in ("spec",):
        if section in doc and "properties" in schema and section in schema["properties"]:
            problems.extend(pruned_fields(schema["properties"][section], doc[section], section))
    # The CEL rules (x-kubernetes-validations) jsonschema does not run.
    spec = doc.get("spec") or {}
    url, where = spec.get("url"), "spec.url"
    if doc.get("kind") == "TrafficExtension":
        url, where = (spec.get("wasm") or {}).get("url"), "spec.wasm.url"
        if ("wasm" in spec) == ("lua" in spec):
            problems.append("spec: exactly one of wasm or lua must be set")
        if "selector" in spec and "targetRefs" in spec:
            problems.append("spec: only one of targetRefs or selector can be set")
    if doc.get("kind") in ("WasmPlugin", "TrafficExtension") and url is not None:
        if not re.match(r"^(oci|file|https?)://\S+$", url):
            problems.append(f"{where}: '{url}' must be oci://, file:// or http(s)://")
    return problems


def check(doc, crds):
    if not isinstance(doc, dict):
        return [f"not a Kubernetes object: {str(doc)[:80]}"]
    kind, api = doc.get("kind"), doc.get("apiVersion")
    meta = doc.get("metadata") or {}
    name = meta.get("name", "")
    problems = []
    if not isinstance(doc, dict) or not kind or not api:
        return [f"not a Kubernetes object (no apiVersion/kind): {str(doc)[:80]}"]
    if not DNS_1123.match(name or ""):
        problems.append(f"metadata.name: '{name}' is not a DNS-1123 name")
    if (api, kind) in crds:
        problems += check_crd_object(doc, crds[(api, kind)])
    else:
        try:
            kubernetes_validate.validate(doc, K8S_VERSION, strict=True)
        except kubernetes_validate.SchemaNotFoundError:
            problems.append(f"no schema for {api} {kind} (neither built in nor an Istio CRD)")
        except kubernetes_validate.ValidationError as err:
            where = ".".join(str(p) for p in err.path) or "(root)"
            problems.append(f"{where}: {err.message}")
    return [f"{kind}/{name}: {p}" for p in problems]


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--crds", required=True)
    parser.add_argument("files", nargs="+")
    args = parser.parse_args()
    crds = load_crd_schemas(args.crds)
    problems, count = [], 0
    for path in args.files:
        text = sys.stdin.read() if path == "-" else open(path).read()
        try:
            docs = [d for d in yaml.safe_load_all(text) if d is not None]
        except yaml.YAMLError as err:
            problems.append(f"{path}: not YAML: {err}")
            continue
        for doc in docs:
            count += 1
            problems += [f"{path}: {p}" for p in check(doc, crds)]
    for p in problems:
        print(p)
    if problems:
        return 1
    print(f"{count} objects valid")
    return 0


if __name__ == "__main__":
    sys.exit(main())
