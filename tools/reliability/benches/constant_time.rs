//! Is auth_check's secret comparison constant time? A dudect-style statistical check
//! (Reparaz et al., "Dude, is my code constant time?", 2017) on the filter's own
//! `src/secret.rs`, compiled here for the host with the same crates.
//!
//! Two classes of presented digests that both miss every configured entry: one differs from
//! every entry in its first byte, the other only in its last byte. A comparison that stops at
//! the first differing byte is measurably faster for the first class. Samples of both classes
//! are interleaved at random; Welch's t statistic over the timings says whether the classes
//! differ. The same measurement of a naive early-exit comparison is the control: it must show
//! a leak, or the measurement is too coarse to conclude anything.
//!
//! `cargo bench -p reliability --bench constant_time` (exit 1 if the filter's comparison
//! leaks or the control does not). A benchmark, not a test: timing belongs here.

// Its unit tests come along under `cargo clippy --all-targets` (cfg(test)) but do not run here.
#[allow(dead_code, unused_imports)]
#[path = "../../../filters/auth_check/src/secret.rs"]
mod secret;

use std::hint::black_box;
use std::time::Instant;

/// |t| above this is a leak (dudect's threshold for "definitely not constant time" is 10).
const LEAK_T: f64 = 10.0;
const SAMPLES: usize = 400_000;
const BATCH: usize = 16;
const ENTRIES: usize = 8;

fn naive_find(digests: &[[u8; 32]], needle: &[u8; 32]) -> Option<usize> {
    for (i, d) in digests.iter().enumerate() {
        let mut equal = true;
        for k in 0..32 {
            if black_box(d[k]) != needle[k] {
                equal = false;
                break;
            }
        }
        if equal {
            return Some(i);
        }
    }
    None
}

struct Welch {
    n: [f64; 2],
    mean: [f64; 2],
    m2: [f64; 2],
}

impl Welch {
    fn new() -> Welch {
        Welch {
            n: [0.0; 2],
            mean: [0.0; 2],
            m2: [0.0; 2],
        }
    }
    fn push(&mut self, class: usize, x: f64) {
        self.n[class] += 1.0;
        let d = x - self.mean[class];
        self.mean[class] += d / self.n[class];
        self.m2[class] += d * (x - self.mean[class]);
    }
    fn t(&self) -> f64 {
        let var = |c: usize| self.m2[c] / (self.n[c] - 1.0);
        (self.mean[0] - self.mean[1]) / (var(0) / self.n[0] + var(1) / self.n[1]).sqrt()
    }
}

/// Measures `f` on the two classes; returns (t, mean ns per call of each class). The top 5%
/// of samples (interrupts, preemption) are cropped, as dudect does.
/// A lookup of a presented digest among the configured ones.
type Find = dyn Fn(&[[u8; 32]], &[u8; 32]) -> Option<usize>;

fn measure(f: &Find) -> (f64, [f64; 2]) {
    let table: Vec<[u8; 32]> = (0..ENTRIES)
        .map(|i| secret::sha256(&[format!("configured-key-{i}").as_bytes()]))
        .collect();
    // Class 0: differs from every entry in byte 0. Class 1: equal to an entry but byte 31.
    let mut early = table[3];
    early[0] ^= 0x80;
    let mut late = table[3];
    late[31] ^= 0x01;
    for d in &table {
        assert_ne!(
            d[0], early[0],
            "class 0 must differ from every entry at byte 0"
        );
    }
    let needles = [early, late];
    let mut rng = 0x243f_6a88_85a3_08d3_u64;
    let mut samples: Vec<(usize, f64)> = Vec::with_capacity(SAMPLES);
    for _ in 0..SAMPLES {
        rng ^= rng << 13;
        rng ^= rng >> 7;
        rng ^= rng << 17;
        let class = (rng & 1) as usize;
        let needle = black_box(&needles[class]);
        let start = Instant::now();
        for _ in 0..BATCH {
            black_box(f(black_box(&table), needle));
        }
        samples.push((class, start.elapsed().as_nanos() as f64 / BATCH as f64));
    }
    let mut sorted: Vec<f64> = samples.iter().map(|s| s.1).collect();
    sorted.sort_by(f64::total_cmp);
    let crop = sorted[sorted.len() * 95 / 100];
    let mut w = Welch::new();
    for (class, x) in samples {
        if x <= crop {
            w.push(class, x);
        }
    }
    (w.t(), w.mean)
}

fn main() {
    // Warm up both code paths.
    let _ = measure(&|t, n| secret::find_digest(t, n));
    let (t_ct, m_ct) = measure(&|t, n| secret::find_digest(t, n));
    let (t_naive, m_naive) = measure(&naive_find);
    println!(
        "auth_check find_digest (subtle): t = {t_ct:+.2}  mean ns/call: differ-at-0 {:.1}, differ-at-31 {:.1}",
        m_ct[0], m_ct[1]
    );
    println!(
        "control, naive early exit:       t = {t_naive:+.2}  mean ns/call: differ-at-0 {:.1}, differ-at-31 {:.1}",
        m_naive[0], m_naive[1]
    );
    let mut ok = true;
    if t_naive.abs() < LEAK_T {
        println!(
            "INCONCLUSIVE: the control did not leak (|t| < {LEAK_T}); the timer is too coarse here"
        );
        ok = false;
    }
    if t_ct.abs() >= LEAK_T {
        println!("LEAK: auth_check's comparison time depends on where the digests differ");
        ok = false;
    }
    if ok {
        println!("constant time: no leak detected (|t| < {LEAK_T}) where the control leaks");
    }
    std::process::exit(if ok { 0 } else { 1 });
}
