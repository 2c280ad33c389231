//! `cargo bench -p harness`: VM start (module compile uncached vs cached) and one full request
//! through http_headers (request and response headers, log, done). Goals: a request <= 10 us,
//! a cached start <= 1 ms. A small timing loop (no criterion) keeps the build light.

#[cfg(not(target_arch = "wasm32"))]
fn main() {
    bench::run();
}

#[cfg(target_arch = "wasm32")]
fn main() {}

#[cfg(not(target_arch = "wasm32"))]
mod bench {
    use harness::{module, workspace, Plugin, Request, Response};
    use serde_json::json;
    use std::hint::black_box;
    use std::time::{Duration, Instant};

    /// Runs `f` `n` times; prints median, mean and best. The goal is judged on the median, which
    /// a busy shared machine disturbs least.
    fn measure(name: &str, n: u32, goal: Option<Duration>, mut f: impl FnMut()) {
        f(); // warm-up
        let mut times = Vec::with_capacity(n as usize);
        for _ in 0..n {
            let t = Instant::now();
            f();
            times.push(t.elapsed());
        }
        times.sort();
        let median = times[times.len() / 2];
        let mean = times.iter().sum::<Duration>() / n;
        let verdict = match goal {
            Some(g) if median <= g => format!("  (goal <= {g:?}: met)"),
            Some(g) => format!("  (goal <= {g:?}: MISSED)"),
            None => String::new(),
        };
        println!(
            "{name:<44} median {median:>11.3?}  mean {mean:>11.3?}  best {:>11.3?}  ({n} runs){verdict}",
            times[0]
        );
    }

    pub fn run() {
        // `cargo bench` passes `--bench`; a filter argument selects benchmarks by substring.
        let filter: Option<String> = std::env::args().skip(1).find(|a| !a.starts_with('-'));
        let on = |name: &str| filter.as_deref().is_none_or(|f| name.contains(f));
        let bytes = match workspace::wasm_bytes("http_headers") {
            Ok(b) => b,
            Err(e) => {
                eprintln!("cannot load http_headers: {e}");
                std::process::exit(1);
            }
        };
        let config = json!({"request": {"set": {"x-request-tag": "bench"}}, "response": {"set": {"x-a": "b"}}});
        if on("compile_uncached") {
            measure("compile_uncached (http_headers)", 5, None, || {
                black_box(module::compile_uncached(&bytes).ok());
            });
        }
        if on("start_cached") {
            measure(
                "start_cached (compile cached, VM start)",
                200,
                Some(Duration::from_millis(1)),
                || {
                    let p = Plugin::builder_from_bytes(bytes.clone())
                        .config_json(config.clone())
                        .start();
                    black_box(p.is_ok());
                },
            );
        }
        if on("request") {
            let mut plugin = match Plugin::builder_from_bytes(bytes.clone())
                .config_json(config.clone())
                .start()
            {
                Ok(p) => p,
                Err(e) => {
                    eprintln!("http_headers did not start: {e}");
                    std::process::exit(1);
                }
            };
            let req = Request::get("/bench").header("user-agent", "bench");
            let resp = Response::status(200).header("content-type", "text/plain");
            measure(
                "request (headers both ways + log + done)",
                20_000,
                Some(Duration::from_micros(10)),
                || {
                    let ex = plugin.send(req.clone(), resp.clone());
                    black_box(ex.is_ok());
                },
            );
        }
    }
}
