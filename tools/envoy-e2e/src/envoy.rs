//! One real Envoy process on loopback: its config rendered from a `deploy/` template (or a
//! given bootstrap), the filter from ECDS on a watched file, its admin endpoint and its log.
//! Ports are chosen by the kernel (port 0) and read back from the admin API, so tests can run
//! in parallel. Dropping the [`Envoy`] kills the process.

use crate::{ecds, paths, TempDir};
use echo_upstream::{client, Request, Response};
use serde_json::Value;
use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::thread::sleep;
use std::time::{Duration, Instant};

const LOG_FORMAT: &str = "[%l][%n] %v";
const START_TIMEOUT: Duration = Duration::from_secs(60);

pub struct EnvoyBuilder {
    name: String,
    template: PathBuf,
    vars: Vec<(String, String)>,
    module: Option<PathBuf>,
    config: Option<String>,
    fail_open: bool,
    component_log_level: String,
    bootstrap: Option<String>,
    concurrency: u32,
}

impl EnvoyBuilder {
    /// Envoy with `filter` from `deploy/<filter>/envoy.yaml` (the generic
    /// `deploy/envoy/envoy.yaml` when the filter has none) and its example configuration.
    pub fn new(filter: &str) -> Self {
        let own = paths::deploy_file(filter, "envoy.yaml");
        let template = if own.is_file() {
            own
        } else {
            paths::root().join("deploy/envoy/envoy.yaml")
        };
        EnvoyBuilder {
            name: filter.to_string(),
            template,
            vars: Vec::new(),
            module: None,
            config: None,
            fail_open: false,
            component_log_level: "wasm:info".to_string(),
            bootstrap: None,
            concurrency: 1,
        }
    }

    /// Another template of the filter, e.g. `envoy-server.yaml`.
    pub fn template(mut self, file: &str) -> Self {
        self.template = paths::deploy_file(&self.name, file);
        self
    }

    /// A template from anywhere (a test's variant of a filter's template).
    pub fn template_file(mut self, path: impl Into<PathBuf>) -> Self {
        self.template = path.into();
        self
    }

    /// Sets a `{{PLACEHOLDER}}` of the template.
    pub fn var(mut self, key: &str, value: impl ToString) -> Self {
        self.vars.push((key.to_string(), value.to_string()));
        self
    }

    /// The echo (or scripted) upstream's port.
    pub fn upstream(self, port: u16) -> Self {
        self.var("UPSTREAM_PORT", port)
    }

    /// The plugin configuration (default: `deploy/<filter>/config.json`, else empty).
    pub fn config(mut self, config: impl Into<String>) -> Self {
        self.config = Some(config.into());
        self
    }

    /// Another module than the workspace filter's.
    pub fn module(mut self, module: impl Into<PathBuf>) -> Self {
        self.module = Some(module.into());
        self
    }

    pub fn fail_open(mut self, fail_open: bool) -> Self {
        self.fail_open = fail_open;
        self
    }

    /// e.g. `wasm:debug`.
    pub fn component_log_level(mut self, level: &str) -> Self {
        self.component_log_level = level.to_string();
        self
    }

    pub fn concurrency(mut self, n: u32) -> Self {
        self.concurrency = n;
        self
    }

    /// A complete bootstrap instead of the template (`{{MODULE}}` and `{{CONFIG_JSON}}` are
    /// replaced by the module path and the configuration as a JSON string).
    pub fn bootstrap(mut self, text: impl Into<String>) -> Self {
        self.bootstrap = Some(text.into());
        self
    }

    /// Starts Envoy and waits until it is ready with the filter loaded. `Err` carries the
    /// reason and Envoy's log (Envoy refused the config, exited, or never became ready).
    pub fn start(self) -> Result<Envoy, String> {
        let bin = paths::envoy_bin()?;
        let module = match &self.module {
            Some(m) => m.clone(),
            None => paths::filter_wasm(&self.name)?,
        };
        let config = match &self.config {
            Some(c) => c.clone(),
            None => paths::example_config(&self.name).unwrap_or_else(|_| "{}".to_string()),
        };
        let dir = TempDir::new(&self.name).map_err(|e| format!("temp dir: {e}"))?;
        let ecds_dir = dir.path().join("ecds");
        std::fs::create_dir_all(&ecds_dir).map_err(|e| e.to_string())?;
        let resource = ecds::resource(&self.name, &module, &config, self.fail_open);
        ecds::write(&ecds_dir, &self.name, &resource).map_err(|e| e.to_string())?;

        let (file, text) = match &self.bootstrap {
            Some(b) => (
                "envoy.json",
                b.replace("{{MODULE}}", &module.display().to_string())
                    .replace("{{CONFIG_JSON}}", &Value::from(config.clone()).to_string()),
            ),
            None => ("envoy.yaml", self.render(&ecds_dir)?),
        };
        let config_path = dir.path().join(file);
        std::fs::write(&config_path, &text).map_err(|e| e.to_string())?;
        let admin_file = dir.path().join("admin.txt");
        let log_path = dir.path().join("envoy.log");
        let log_file = std::fs::File::create(&log_path).map_err(|e| e.to_string())?;
        let child = Command::new(&bin)
            .arg("-c")
            .arg(&config_path)
            .arg("--admin-address-path")
            .arg(&admin_file)
            .args(["--disable-hot-restart", "--log-format", LOG_FORMAT])
            // Access logs are buffered and flushed every 10 s by default.
            .args(["--file-flush-interval-msec", "20"])
            .args(["--concurrency", &self.concurrency.to_string()])
            .args(["--component-log-level", &self.component_log_level])
            .stdin(Stdio::null())
            .stdout(log_file.try_clone().map_err(|e| e.to_string())?)
            .stderr(log_file)
            .spawn()
            .map_err(|e| format!("cannot start {}: {e}", bin.display()))?;
        let mut envoy = Envoy {
            child,
            name: self.name.clone(),
            admin: "127.0.0.1:0".parse().map_err(|_| "addr")?,
            listener: "127.0.0.1:0".parse().map_err(|_| "addr")?,
            log_path,
            ecds_dir,
            fail_open: self.fail_open,
            dir,
        };
        envoy.wait_ready(&admin_file)?;
        if self.bootstrap.is_none() {
            envoy.check_filter_loaded()?;
        }
        Ok(envoy)
    }

    fn render(&self, ecds_dir: &Path) -> Result<String, String> {
        let mut text = std::fs::read_to_string(&self.template)
            .map_err(|e| format!("cannot read {}: {e}", self.template.display()))?;
        let mut vars = vec![
            ("FILTER".to_string(), self.name.clone()),
            ("LISTEN_PORT".to_string(), "0".to_string()),
            ("ECDS_DIR".to_string(), ecds_dir.display().to_string()),
        ];
        vars.extend(self.vars.iter().cloned());
        for (key, value) in vars.iter().rev() {
            text = text.replace(&format!("{{{{{key}}}}}"), value);
        }
        if let Some(start) = text.find("{{") {
            let rest = &text[start..];
            let end = rest.find("}}").map_or(rest.len(), |e| e + 2);
            return Err(format!(
                "{} needs a value for {}",
                self.template.display(),
                &rest[..end]
            ));
        }
        Ok(text)
    }
}

pub struct Envoy {
    child: Child,
    name: String,
    admin: SocketAddr,
    listener: SocketAddr,
    log_path: PathBuf,
    ecds_dir: PathBuf,
    fail_open: bool,
    dir: TempDir,
}

impl Envoy {
    fn wait_ready(&mut self, admin_file: &Path) -> Result<(), String> {
        let deadline = Instant::now() + START_TIMEOUT;
        loop {
            if let Ok(Some(status)) = self.child.try_wait() {
                return Err(format!(
                    "Envoy exited at startup ({status}); log:\n{}",
                    self.log()
                ));
            }
            if let Ok(text) = std::fs::read_to_string(admin_file) {
                if let Ok(addr) = text.trim().parse::<SocketAddr>() {
                    self.admin = addr;
                    if matches!(self.admin_get("/ready"), Ok(r) if r.status == 200) {
                        self.listener = self.read_listener()?;
                        return Ok(());
                    }
                }
            }
            if Instant::now() > deadline {
                return Err(format!(
                    "Envoy was not ready after {START_TIMEOUT:?}; log:\n{}",
                    self.log()
                ));
            }
            sleep(Duration::from_millis(50));
        }
    }

    fn read_listener(&self) -> Result<SocketAddr, String> {
        let resp = self.admin_get("/listeners?format=json")?;
        let v: Value = serde_json::from_slice(&resp.body).map_err(|e| e.to_string())?;
        let sa = &v["listener_statuses"][0]["local_address"]["socket_address"];
        let addr = format!(
            "{}:{}",
            sa["address"].as_str().unwrap_or("127.0.0.1"),
            sa["port_value"].as_u64().unwrap_or(0)
        );
        addr.parse()
            .map_err(|_| format!("no listener address in {v}"))
    }

    fn check_filter_loaded(&self) -> Result<(), String> {
        let rejected = self.ecds_stat("update_rejected").unwrap_or(0);
        let success = self.ecds_stat("update_success").unwrap_or(0);
        if rejected > 0 || success == 0 {
            return Err(format!(
                "Envoy rejected the {} filter; log:\n{}",
                self.name,
                self.log()
            ));
        }
        Ok(())
    }

    /// The listener (the filter's front door).
    pub fn addr(&self) -> SocketAddr {
        self.listener
    }

    pub fn admin_addr(&self) -> SocketAddr {
        self.admin
    }

    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    pub fn dir(&self) -> &Path {
        self.dir.path()
    }

    /// Whether the process is still running.
    pub fn is_running(&mut self) -> bool {
        matches!(self.child.try_wait(), Ok(None))
    }

    pub fn admin_get(&self, path: &str) -> Result<Response, String> {
        let req = client::request("GET", path, &[], b"");
        client::send_once(self.admin, &req).map_err(|e| format!("admin {path}: {e}"))
    }

    /// One request on a fresh connection to the listener.
    pub fn send(&self, request: &Request) -> Result<Response, String> {
        client::send_once(self.listener, request).map_err(|e| format!("request failed: {e}"))
    }

    /// `GET path` with headers.
    pub fn get(&self, path: &str, headers: &[(&str, &str)]) -> Result<Response, String> {
        self.send(&client::request("GET", path, headers, b""))
    }

    /// All counters and gauges of `/stats`, by name.
    pub fn stats(&self) -> Result<BTreeMap<String, String>, String> {
        let body = self.admin_get("/stats")?.body_text();
        Ok(body
            .lines()
            .filter_map(|l| l.split_once(": "))
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect())
    }

    /// A counter or gauge by its full name (e.g. `wasmcustom.auth_check.allowed`).
    pub fn stat(&self, name: &str) -> Option<u64> {
        self.stats().ok()?.get(name)?.parse().ok()
    }

    fn ecds_stat(&self, stat: &str) -> Option<u64> {
        self.stat(&format!(
            "extension_config_discovery.http_filter.{}.{stat}",
            self.name
        ))
    }

    /// Envoy's log so far.
    pub fn log(&self) -> String {
        std::fs::read_to_string(&self.log_path).unwrap_or_default()
    }

    /// The filter's own log lines as `(level, message)`. Envoy prefixes them with
    /// `wasm log <plugin_name> <root_id>: ` from the root context and
    /// `wasm log <plugin_name> <root_id> <vm_id>: ` from a stream.
    pub fn wasm_logs(&self) -> Vec<(String, String)> {
        self.log()
            .lines()
            .filter_map(|line| {
                let level = line.strip_prefix('[')?.split(']').next()?.to_string();
                let (_, rest) = line.split_once("wasm log ")?;
                let (names, message) = rest.split_once(": ")?;
                let mut names = names.split(' ');
                (names.next()? == self.name && names.all(|n| !n.is_empty()))
                    .then(|| (level, message.to_string()))
            })
            .collect()
    }

    /// Waits up to `timeout` for a log line containing `needle`; returns the whole line.
    pub fn wait_for_log(&self, needle: &str, timeout: Duration) -> Option<String> {
        let deadline = Instant::now() + timeout;
        loop {
            if let Some(line) = self.log().lines().find(|l| l.contains(needle)) {
                return Some(line.to_string());
            }
            if Instant::now() > deadline {
                return None;
            }
            sleep(Duration::from_millis(50));
        }
    }

    /// Swaps in a new module and configuration through ECDS (atomic rename of the watched
    /// file) and waits until Envoy has built it. `Err` with Envoy's log when it is rejected;
    /// the running filter then stays in place.
    pub fn update_filter(&self, module: &Path, config: &str) -> Result<(), String> {
        let success = self.ecds_stat("update_success").unwrap_or(0);
        let rejected = self.ecds_stat("update_rejected").unwrap_or(0);
        let resource = ecds::resource(&self.name, module, config, self.fail_open);
        ecds::write(&self.ecds_dir, &self.name, &resource).map_err(|e| e.to_string())?;
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            if self.ecds_stat("update_success").unwrap_or(0) > success {
                return Ok(());
            }
            if self.ecds_stat("update_rejected").unwrap_or(0) > rejected {
                return Err(format!("update rejected; log:\n{}", self.log()));
            }
            if Instant::now() > deadline {
                return Err(format!("update not applied in 30 s; log:\n{}", self.log()));
            }
            sleep(Duration::from_millis(20));
        }
    }
}

impl Drop for Envoy {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A static bootstrap with the filter inline (no ECDS) in front of a direct response: with a
/// bad configuration Envoy refuses to start, as it would with any static config.
pub fn inline_bootstrap(filter: &str, fail_open: bool) -> String {
    let wasm = ecds::wasm_filter(filter, Path::new("{{MODULE}}"), "@@CONFIG@@", fail_open);
    let bootstrap = serde_json::json!({
        "node": {"id": "e2e", "cluster": "e2e"},
        "admin": {"address": {"socket_address": {"address": "127.0.0.1", "port_value": 0}}},
        "static_resources": {"listeners": [{
            "name": "ingress",
            "address": {"socket_address": {"address": "127.0.0.1", "port_value": 0}},
            "filter_chains": [{"filters": [{
                "name": "envoy.filters.network.http_connection_manager",
                "typed_config": {
                    "@type": "type.googleapis.com/envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager",
                    "stat_prefix": "ingress",
                    "route_config": {"virtual_hosts": [{"name": "all", "domains": ["*"],
                        "routes": [{"match": {"prefix": "/"},
                                    "direct_response": {"status": 200, "body": {"inline_string": "direct\n"}}}]}]},
                    "http_filters": [
                        {"name": filter, "typed_config": wasm},
                        {"name": "envoy.filters.http.router", "typed_config": {
                            "@type": "type.googleapis.com/envoy.extensions.filters.http.router.v3.Router"}},
                    ],
                },
            }]}],
        }]},
    });
    // The configuration goes in as a JSON string value at start time.
    bootstrap
        .to_string()
        .replace("\"@@CONFIG@@\"", "{{CONFIG_JSON}}")
}
