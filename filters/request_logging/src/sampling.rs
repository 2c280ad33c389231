//! Deterministic sampling on the request id: every proxy on a request's path (same
//! `x-request-id`) makes the same decision, so a request is logged everywhere or nowhere.
//!
//! The decision is `score(id) < sample_rate`, where `score` maps the id to [0, 1) with
//! FNV-1a (64 bit) followed by the SplitMix64 finalizer (FNV alone leaves the high bits of
//! similar ids, such as UUIDs differing in one digit, poorly mixed).

/// Where `id` falls in [0, 1).
pub fn score(id: &[u8]) -> f64 {
    fraction(mix(fnv1a(id)))
}

/// True when the request with this id is kept at `rate` (0.0 keeps none, 1.0 keeps all).
pub fn keep(id: &[u8], rate: f64) -> bool {
    rate >= 1.0 || (rate > 0.0 && score(id) < rate)
}

/// A decision without a request id: `seed` should differ per request (clock, context id).
pub fn keep_seeded(seed: u64, rate: f64) -> bool {
    rate >= 1.0 || (rate > 0.0 && fraction(mix(seed)) < rate)
}

fn fraction(hash: u64) -> f64 {
    // 53 bits fit a f64 mantissa exactly; the cast is lossless.
    (hash >> 11) as f64 / (1u64 << 53) as f64
}

fn fnv1a(bytes: &[u8]) -> u64 {
    const OFFSET: u64 = 0xcbf2_9ce4_8422_2325;
    const PRIME: u64 = 0x0000_0100_0000_01b3;
    bytes
        .iter()
        .fold(OFFSET, |h, &b| (h ^ u64::from(b)).wrapping_mul(PRIME))
}

fn mix(mut z: u64) -> u64 {
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fnv_reference_values() {
        // Published FNV-1a 64 test vectors.
        assert_eq!(fnv1a(b""), 0xcbf2_9ce4_8422_2325);
        assert_eq!(fnv1a(b"a"), 0xaf63_dc4c_8601_ec8c);
        assert_eq!(fnv1a(b"foobar"), 0x85944171f73967e8);
    }

    #[test]
    fn extremes_and_determinism() {
        for id in [&b""[..], b"r1", b"0f8fad5b-d9cb-469f-a165-70867728950e"] {
            assert!(keep(id, 1.0));
            assert!(!keep(id, 0.0));
            assert_eq!(keep(id, 0.5), keep(id, 0.5));
            let s = score(id);
            assert!((0.0..1.0).contains(&s), "{s}");
        }
    }

    #[test]
    fn seeded_decisions_follow_the_rate() {
        let kept = (0..10_000u64).filter(|&n| keep_seeded(n, 0.3)).count();
        assert!((2_770..3_230).contains(&kept), "{kept}");
        assert!((0..100).all(|n| keep_seeded(n, 1.0) && !keep_seeded(n, 0.0)));
    }

    #[test]
    fn monotonic_in_rate() {
        // A request kept at some rate is kept at every higher rate.
        for i in 0..1000 {
            let id = format!("req-{i}");
            let s = score(id.as_bytes());
            assert!(keep(id.as_bytes(), s + 1e-9));
            assert!(!keep(id.as_bytes(), s));
        }
    }

    #[test]
    fn rate_is_respected_on_sequential_ids() {
        // Sequential ids are the hard case for a weak hash.
        let n = 20_000;
        for rate in [0.01, 0.1, 0.5, 0.9] {
            let kept = (0..n)
                .filter(|i| {
                    keep(
                        format!("7c9e6679-7425-40de-944b-e07fc1f9{i:04}").as_bytes(),
                        rate,
                    )
                })
                .count();
            let expected = rate * n as f64;
            // 5 standard deviations of a binomial.
            let tolerance = 5.0 * (n as f64 * rate * (1.0 - rate)).sqrt();
            assert!(
                (kept as f64 - expected).abs() < tolerance,
                "rate {rate}: kept {kept} of {n}"
            );
        }
    }
}
