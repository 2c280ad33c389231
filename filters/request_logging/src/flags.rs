//! Envoy's `response.flags` attribute (a bit vector, bit N = `CoreResponseFlag` N) as the
//! short codes of Envoy's access log `%RESPONSE_FLAGS%` (`UH,UF`), so both logs read alike.

/// Short codes in `CoreResponseFlag` order (envoy/stream_info/stream_info.h).
const CODES: [&str; 30] = [
    "LH", "UH", "UT", "LR", "UR", "UF", "UC", "UO", "NR", "DI", "FI", "RL", "UAEX", "RLSE", "DC",
    "URX", "SI", "IH", "DPE", "UMSDR", "RFCF", "NFCF", "DT", "UPE", "NC", "OM", "DF", "DO", "DR",
    "UDO",
];

/// `-` when no flag is set (as Envoy prints it); unknown bits (flags newer than this table)
/// are kept as `bitN` rather than dropped.
pub fn to_short_string(flags: u64) -> String {
    if flags == 0 {
        return "-".to_string();
    }
    let mut out = String::new();
    for bit in 0..64u32 {
        if flags & (1u64 << bit) == 0 {
            continue;
        }
        if !out.is_empty() {
            out.push(',');
        }
        match usize::try_from(bit).ok().and_then(|i| CODES.get(i)) {
            Some(code) => out.push_str(code),
            None => {
                out.push_str("bit");
                if bit >= 10 {
                    out.push(char::from(b'0' + (bit / 10) as u8));
                }
                out.push(char::from(b'0' + (bit % 10) as u8));
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn none_single_and_several() {
        assert_eq!(to_short_string(0), "-");
        assert_eq!(to_short_string(1), "LH");
        assert_eq!(to_short_string(1 << 1), "UH");
        assert_eq!(to_short_string((1 << 1) | (1 << 8)), "UH,NR");
        assert_eq!(to_short_string(1 << 29), "UDO");
        assert_eq!(to_short_string((1 << 3) | (1 << 40)), "LR,bit40");
    }
}
