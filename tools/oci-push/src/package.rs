//! Builds the image the Istio agent accepts, in memory, deterministically.
//!
//! Two layouts (see the agent's image fetcher):
//! - `Compat` (default): an OCI image whose last layer is a gzip tar holding `plugin.wasm`.
//! - `WasmHub`: the WebAssembly Hub "oci" variant, exactly two layers: the runtime config JSON and
//!   the raw module.
//!
//! The agent resolves an index to linux/amd64, so a plain manifest is pushed. Timestamps are
//! fixed, so the same module and metadata always give the same manifest digest.

use crate::abi::abi_version;
use serde_json::{json, Map, Value};
use sha2::{Digest, Sha256};
use std::collections::BTreeMap;
use std::io::Write;

pub const OCI_MANIFEST: &str = "application/vnd.oci.image.manifest.v1+json";
pub const OCI_CONFIG: &str = "application/vnd.oci.image.config.v1+json";
pub const OCI_LAYER_TAR_GZIP: &str = "application/vnd.oci.image.layer.v1.tar+gzip";
pub const WASM_CONFIG: &str = "application/vnd.module.wasm.config.v1+json";
pub const WASM_CONTENT: &str = "application/vnd.module.wasm.content.layer.v1+wasm";
/// The file name the agent looks for inside the layer tar.
pub const PLUGIN_FILE: &str = "plugin.wasm";

pub const ANN_SOURCE: &str = "org.opencontainers.image.source";
pub const ANN_REVISION: &str = "org.opencontainers.image.revision";
pub const ANN_TITLE: &str = "org.opencontainers.image.title";
pub const ANN_FILTER: &str = "io.proxy-wasm.filter";
pub const ANN_ABI: &str = "io.proxy-wasm.abi-version";

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Variant {
    Compat,
    WasmHub,
}

/// What the annotations say about the module.
pub struct Metadata {
    pub filter: String,
    pub source: Option<String>,
    pub revision: Option<String>,
}

pub struct Blob {
    pub media_type: &'static str,
    pub data: Vec<u8>,
}

impl Blob {
    pub fn digest(&self) -> String {
        sha256(&self.data)
    }

    fn descriptor(&self) -> Value {
        json!({"mediaType": self.media_type, "digest": self.digest(), "size": self.data.len()})
    }
}

/// A packaged image: blobs plus the exact manifest bytes that get pushed (and digested).
pub struct Image {
    pub config: Blob,
    pub layers: Vec<Blob>,
    pub manifest: Vec<u8>,
    pub abi_version: String,
}

impl Image {
    /// The manifest digest: what `WasmPlugin.spec.sha256` and `@sha256:` pins refer to.
    pub fn digest(&self) -> String {
        sha256(&self.manifest)
    }
}

pub fn sha256(data: &[u8]) -> String {
    let hash = Sha256::digest(data);
    let mut s = String::with_capacity(71);
    s.push_str("sha256:");
    for b in hash.iter() {
        s.push_str(&format!("{b:02x}"));
    }
    s
}

/// Packages `module` (checked to be a proxy-wasm module) as an image of the given layout.
pub fn package(module: &[u8], meta: &Metadata, variant: Variant) -> Result<Image, String> {
    let abi = abi_version(module)?;
    let (config, layers) = match variant {
        Variant::Compat => compat(module)?,
        Variant::WasmHub => wasm_hub(module, &meta.filter, &abi)?,
    };
    let mut annotations = BTreeMap::new();
    annotations.insert(ANN_TITLE, meta.filter.clone());
    annotations.insert(ANN_FILTER, meta.filter.clone());
    annotations.insert(ANN_ABI, abi.clone());
    if let Some(s) = &meta.source {
        annotations.insert(ANN_SOURCE, s.clone());
    }
    if let Some(r) = &meta.revision {
        annotations.insert(ANN_REVISION, r.clone());
    }
    let manifest = json!({
        "schemaVersion": 2,
        "mediaType": OCI_MANIFEST,
        "config": config.descriptor(),
        "layers": layers.iter().map(Blob::descriptor).collect::<Vec<_>>(),
        "annotations": annotations,
    });
    // serde_json's map is ordered by key, so the bytes (and the digest) are stable.
    let manifest = serde_json::to_vec(&manifest).map_err(|e| format!("manifest JSON: {e}"))?;
    Ok(Image {
        config,
        layers,
        manifest,
        abi_version: abi,
    })
}

fn compat(module: &[u8]) -> Result<(Blob, Vec<Blob>), String> {
    let tar = tar_with_plugin(module).map_err(|e| format!("building the layer tar: {e}"))?;
    let diff_id = sha256(&tar);
    let layer = gzip(&tar).map_err(|e| format!("compressing the layer: {e}"))?;
    let config = json!({
        "architecture": "amd64",
        "os": "linux",
        "rootfs": {"type": "layers", "diff_ids": [diff_id]},
    });
    let config = serde_json::to_vec(&config).map_err(|e| format!("config JSON: {e}"))?;
    Ok((
        Blob {
            media_type: OCI_CONFIG,
            data: config,
        },
        vec![Blob {
            media_type: OCI_LAYER_TAR_GZIP,
            data: layer,
        }],
    ))
}

fn wasm_hub(module: &[u8], filter: &str, abi: &str) -> Result<(Blob, Vec<Blob>), String> {
    let mut runtime = Map::new();
    runtime.insert("type".into(), json!("envoy_proxy"));
    runtime.insert("abiVersions".into(), json!([format!("v{abi}")]));
    runtime.insert("config".into(), json!({"rootIds": [filter]}));
    let runtime = serde_json::to_vec(&runtime).map_err(|e| format!("runtime config JSON: {e}"))?;
    let config = Blob {
        media_type: WASM_CONFIG,
        data: runtime.clone(),
    };
    let layers = vec![
        Blob {
            media_type: WASM_CONFIG,
            data: runtime,
        },
        Blob {
            media_type: WASM_CONTENT,
            data: module.to_vec(),
        },
    ];
    Ok((config, layers))
}

fn tar_with_plugin(module: &[u8]) -> std::io::Result<Vec<u8>> {
    let mut header = tar::Header::new_ustar();
    header.set_path(PLUGIN_FILE)?;
    header.set_size(module.len() as u64);
    header.set_mode(0o644);
    header.set_mtime(0);
    header.set_uid(0);
    header.set_gid(0);
    header.set_entry_type(tar::EntryType::Regular);
    header.set_cksum();
    let mut builder = tar::Builder::new(Vec::new());
    builder.append(&header, module)?;
    builder.into_inner()
}

fn gzip(data: &[u8]) -> std::io::Result<Vec<u8>> {
    // GzBuilder writes mtime 0 and no file name: the bytes depend only on the input.
    let mut enc = flate2::GzBuilder::new().write(Vec::new(), flate2::Compression::best());
    enc.write_all(data)?;
    enc.finish()
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use crate::abi::tests::module_exporting;
    use std::io::Read;

    fn meta() -> Metadata {
        Metadata {
            filter: "http_headers".into(),
            source: Some("https://example.org/repo".into()),
            revision: Some("abc123".into()),
        }
    }

    fn manifest_json(img: &Image) -> Value {
        serde_json::from_slice(&img.manifest).unwrap()
    }

    #[test]
    fn compat_image_has_one_gzip_tar_layer_holding_plugin_wasm() {
        let module = module_exporting(&["proxy_abi_version_0_2_1"]);
        let img = package(&module, &meta(), Variant::Compat).unwrap();
        assert_eq!(img.layers.len(), 1);
        assert_eq!(img.layers[0].media_type, OCI_LAYER_TAR_GZIP);

        let mut tar_bytes = Vec::new();
        flate2::read::GzDecoder::new(&img.layers[0].data[..])
            .read_to_end(&mut tar_bytes)
            .unwrap();
        let mut archive = tar::Archive::new(&tar_bytes[..]);
        let mut files = Vec::new();
        for entry in archive.entries().unwrap() {
            let mut entry = entry.unwrap();
            let mut content = Vec::new();
            entry.read_to_end(&mut content).unwrap();
            files.push((
                entry.path().unwrap().to_string_lossy().into_owned(),
                content,
            ));
        }
        assert_eq!(files, [(PLUGIN_FILE.to_string(), module.clone())]);

        let config: Value = serde_json::from_slice(&img.config.data).unwrap();
        assert_eq!(img.config.media_type, OCI_CONFIG);
        assert_eq!(config["rootfs"]["diff_ids"][0], json!(sha256(&tar_bytes)));
        assert_eq!(config["os"], "linux");
        assert_eq!(config["architecture"], "amd64");
    }

    #[test]
    fn manifest_describes_the_blobs_and_carries_the_annotations() {
        let module = module_exporting(&["proxy_abi_version_0_2_1"]);
        let img = package(&module, &meta(), Variant::Compat).unwrap();
        let m = manifest_json(&img);
        assert_eq!(m["schemaVersion"], 2);
        assert_eq!(m["mediaType"], OCI_MANIFEST);
        assert_eq!(m["config"]["digest"], json!(img.config.digest()));
        assert_eq!(m["config"]["size"], json!(img.config.data.len()));
        assert_eq!(m["layers"][0]["digest"], json!(img.layers[0].digest()));
        assert_eq!(m["layers"][0]["size"], json!(img.layers[0].data.len()));
        assert_eq!(m["annotations"][ANN_SOURCE], "https://example.org/repo");
        assert_eq!(m["annotations"][ANN_REVISION], "abc123");
        assert_eq!(m["annotations"][ANN_FILTER], "http_headers");
        assert_eq!(m["annotations"][ANN_TITLE], "http_headers");
        assert_eq!(m["annotations"][ANN_ABI], "0.2.1");
        assert_eq!(img.digest(), sha256(&img.manifest));
    }

    #[test]
    fn packaging_is_deterministic_and_tracks_the_module() {
        let module = module_exporting(&["proxy_abi_version_0_2_1"]);
        let a = package(&module, &meta(), Variant::Compat).unwrap();
        let b = package(&module, &meta(), Variant::Compat).unwrap();
        assert_eq!(a.digest(), b.digest());
        let other = module_exporting(&["proxy_abi_version_0_2_1", "x"]);
        let c = package(&other, &meta(), Variant::Compat).unwrap();
        assert_ne!(a.digest(), c.digest());
    }

    #[test]
    fn wasm_hub_variant_has_exactly_config_and_content_layers() {
        let module = module_exporting(&["proxy_abi_version_0_2_1"]);
        let img = package(&module, &meta(), Variant::WasmHub).unwrap();
        let types: Vec<_> = img.layers.iter().map(|l| l.media_type).collect();
        assert_eq!(types, [WASM_CONFIG, WASM_CONTENT]);
        assert_eq!(img.layers[1].data, module);
        let runtime: Value = serde_json::from_slice(&img.layers[0].data).unwrap();
        assert_eq!(
            runtime,
            json!({"type": "envoy_proxy", "abiVersions": ["v0.2.1"],
                   "config": {"rootIds": ["http_headers"]}})
        );
        assert_eq!(manifest_json(&img)["config"]["mediaType"], WASM_CONFIG);
    }

    #[test]
    fn refuses_a_file_that_is_not_a_proxy_wasm_module() {
        let err = package(b"#!/bin/sh\n", &meta(), Variant::Compat)
            .err()
            .unwrap();
        assert!(err.contains("not a WebAssembly module"), "{err}");
    }
}
