"""Checks an image copied by skopeo into an OCI layout is one the Istio agent accepts, holding
exactly the given module.

    python check_image.py LAYOUT_DIR TAG MODULE FILTER DIGEST plain|wasmhub

plain: the last layer is application/vnd.oci.image.layer.v1.tar+gzip holding plugin.wasm.
wasmhub: exactly two layers, the runtime config and the raw module.
Both: a plain manifest (no index), the manifest's digest is DIGEST, the annotations name the
filter and the ABI version. Prints one line per check; exit 1 on the first mismatch.
"""

import gzip
import hashlib
import io
import json
import sys
import tarfile

OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json"
TAR_GZIP = "application/vnd.oci.image.layer.v1.tar+gzip"
WASM_CONFIG = "application/vnd.module.wasm.config.v1+json"
WASM_CONTENT = "application/vnd.module.wasm.content.layer.v1+wasm"


def blob(layout, digest):
    algo, hexd = digest.split(":", 1)
    with open(f"{layout}/blobs/{algo}/{hexd}", "rb") as f:
        data = f.read()
    assert hashlib.sha256(data).hexdigest() == hexd, f"blob {digest} does not match its digest"
    return data


def expect(what, expected, actual):
    if expected != actual:
        print(f"  FAIL {what}: expected {expected!r}, got {actual!r}")
        sys.exit(1)
    print(f"  ok   {what}")


def main(layout, tag, module_path, filter_name, digest, variant):
    with open(module_path, "rb") as f:
        module = f.read()
    with open(f"{layout}/index.json") as f:
        index = json.load(f)
    entries = [m for m in index["manifests"]
               if m.get("annotations", {}).get("org.opencontainers.image.ref.name") == tag]
    expect("one manifest for the tag", 1, len(entries))
    expect("it is a plain image manifest, not an index", OCI_MANIFEST, entries[0]["mediaType"])
    expect("the manifest digest is the one push printed", digest, entries[0]["digest"])
    manifest = json.loads(blob(layout, entries[0]["digest"]))
    expect("manifest mediaType", OCI_MANIFEST, manifest.get("mediaType"))
    ann = manifest.get("annotations", {})
    expect("annotation: filter", filter_name, ann.get("io.proxy-wasm.filter"))
    expect("annotation: ABI version", "0.2.1", ann.get("io.proxy-wasm.abi-version"))
    expect("annotation: revision present", True, len(ann.get("org.opencontainers.image.revision", "")) >= 7)
    layers = manifest["layers"]
    if variant == "plain":
        expect("last layer is a gzip tar", TAR_GZIP, layers[-1]["mediaType"])
        data = gzip.decompress(blob(layout, layers[-1]["digest"]))
        with tarfile.open(fileobj=io.BytesIO(data)) as tar:
            names = tar.getnames()
            expect("the tar holds plugin.wasm", ["plugin.wasm"], names)
            extracted = tar.extractfile("plugin.wasm").read()
        config = json.loads(blob(layout, manifest["config"]["digest"]))
        expect("config diff_id is the tar's digest",
               ["sha256:" + hashlib.sha256(data).hexdigest()], config["rootfs"]["diff_ids"])
    else:
        expect("exactly two layers: runtime config, module",
               [WASM_CONFIG, WASM_CONTENT], [l["mediaType"] for l in layers])
        runtime = json.loads(blob(layout, layers[0]["digest"]))
        expect("runtime config root id", [filter_name], runtime["config"]["rootIds"])
        expect("runtime config ABI", ["v0.2.1"], runtime["abiVersions"])
        extracted = blob(layout, layers[1]["digest"])
    expect("module starts with the wasm magic", b"\0asm", extracted[:4])
    expect("extracted module is byte-identical to the pushed file",
           hashlib.sha256(module).hexdigest(), hashlib.sha256(extracted).hexdigest())


if __name__ == "__main__":
    main(*sys.argv[1:])
