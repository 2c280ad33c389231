//! Reads the proxy-wasm ABI version a module declares, from its export section.
//!
//! Every proxy-wasm module exports a marker function `proxy_abi_version_X_Y_Z`; Envoy picks the ABI
//! from it. Reading it here means the image annotation states what the module really speaks, and a
//! file that is not a proxy-wasm module is refused before anything is pushed.

const MAGIC: &[u8; 4] = b"\0asm";
const VERSION_1: &[u8; 4] = &[1, 0, 0, 0];
const EXPORT_SECTION: u8 = 7;
const MARKER_PREFIX: &str = "proxy_abi_version_";

/// The ABI version ("0.2.1") declared by `module`, or why the bytes are not a proxy-wasm module.
pub fn abi_version(module: &[u8]) -> Result<String, String> {
    if module.len() < 8 || &module[..4] != MAGIC {
        return Err("not a WebAssembly module (missing the \\0asm magic)".into());
    }
    if &module[4..8] != VERSION_1 {
        return Err("unsupported WebAssembly binary version (expected 1)".into());
    }
    let mut r = Reader {
        bytes: module,
        pos: 8,
    };
    while r.pos < module.len() {
        let id = r.byte()?;
        let size = r.leb_u32()? as usize;
        let end = r.pos.checked_add(size).filter(|&e| e <= module.len());
        let end = end.ok_or("truncated section")?;
        if id == EXPORT_SECTION {
            return exports_marker(&mut Reader {
                bytes: &module[..end],
                pos: r.pos,
            });
        }
        r.pos = end;
    }
    Err("no export section: not a proxy-wasm module".into())
}

fn exports_marker(r: &mut Reader) -> Result<String, String> {
    let count = r.leb_u32()?;
    for _ in 0..count {
        let len = r.leb_u32()? as usize;
        let name = r.take(len)?;
        let _kind = r.byte()?;
        let _index = r.leb_u32()?;
        if let Some(v) = std::str::from_utf8(name)
            .ok()
            .and_then(|n| n.strip_prefix(MARKER_PREFIX))
        {
            return Ok(v.replace('_', "."));
        }
    }
    Err(format!(
        "no `{MARKER_PREFIX}*` export: not a proxy-wasm module"
    ))
}

struct Reader<'a> {
    bytes: &'a [u8],
    pos: usize,
}

impl<'a> Reader<'a> {
    fn byte(&mut self) -> Result<u8, String> {
        let b = *self.bytes.get(self.pos).ok_or("truncated module")?;
        self.pos += 1;
        Ok(b)
    }

    fn take(&mut self, n: usize) -> Result<&'a [u8], String> {
        let end = self.pos.checked_add(n).filter(|&e| e <= self.bytes.len());
        let end = end.ok_or("truncated module")?;
        let s = &self.bytes[self.pos..end];
        self.pos = end;
        Ok(s)
    }

    fn leb_u32(&mut self) -> Result<u32, String> {
        let mut value: u32 = 0;
        for shift in (0..35).step_by(7) {
            let b = self.byte()?;
            value |= u32::from(b & 0x7f) << shift;
            if b & 0x80 == 0 {
                return Ok(value);
            }
        }
        Err("malformed LEB128 integer".into())
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
pub(crate) mod tests {
    use super::*;

    /// A minimal module: one type, one function, and the given exports of that function.
    pub(crate) fn module_exporting(names: &[&str]) -> Vec<u8> {
        let mut m = b"\0asm\x01\0\0\0".to_vec();
        m.extend([1, 4, 1, 0x60, 0, 0]); // type section: () -> ()
        m.extend([3, 2, 1, 0]); // function section: one function of type 0
        let mut exports = vec![names.len() as u8];
        for n in names {
            exports.push(n.len() as u8);
            exports.extend(n.as_bytes());
            exports.extend([0, 0]); // kind func, index 0
        }
        m.push(EXPORT_SECTION);
        m.push(exports.len() as u8);
        m.extend(exports);
        m.extend([10, 4, 1, 2, 0, 0x0b]); // code section: empty body
        m
    }

    #[test]
    fn reads_the_abi_marker() {
        let m = module_exporting(&["memory_x", "proxy_abi_version_0_2_1", "_initialize"]);
        assert_eq!(abi_version(&m).as_deref(), Ok("0.2.1"));
        let m = module_exporting(&["proxy_abi_version_0_2_0"]);
        assert_eq!(abi_version(&m).as_deref(), Ok("0.2.0"));
    }

    #[test]
    fn refuses_what_is_not_a_proxy_wasm_module() {
        assert!(abi_version(b"")
            .unwrap_err()
            .contains("not a WebAssembly module"));
        assert!(abi_version(b"PK\x03\x04zipfile")
            .unwrap_err()
            .contains("magic"));
        assert!(abi_version(b"\0asm\x02\0\0\0")
            .unwrap_err()
            .contains("binary version"));
        let plain = module_exporting(&["_start"]);
        assert_eq!(
            abi_version(&plain).unwrap_err(),
            "no `proxy_abi_version_*` export: not a proxy-wasm module"
        );
        let mut truncated = module_exporting(&["proxy_abi_version_0_2_1"]);
        truncated.truncate(20);
        assert_eq!(abi_version(&truncated).unwrap_err(), "truncated section");
    }
}
