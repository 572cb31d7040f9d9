//! The packaged `fuel-api` (target/release/fuel-api, as the rpm ships it) as
//! a child process: a configuration with one user, the server started and
//! healthy, the user logged in. The end-to-end tests and `cargo xtask bench`
//! start it through here, so there is one way to do it.

use std::collections::HashMap;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Mutex, OnceLock};
use std::time::{Duration, Instant};

use anyhow::{bail, Context, Result};

use crate::http::{free_port, try_exchange, try_wait_healthy};
use crate::release_binary;

/// The one user of the configuration.
pub const USER: &str = "admin";

/// What the configuration says beyond the defaults.
#[derive(Debug, Clone)]
pub struct ApiConfig {
    /// The user's password (its argon2 hash goes into the configuration).
    pub password: String,
    /// `None`: SQLite in the server's directory (`fuel-api.db`).
    pub database_url: Option<String>,
    /// `[auth] reads_require_token` (the server's default: true).
    pub reads_require_token: bool,
    /// More TOML appended to the configuration (e.g. a `[package_tasks]` table).
    pub extra: String,
}

impl ApiConfig {
    /// SQLite, the server's defaults, nothing extra.
    pub fn new(password: &str) -> ApiConfig {
        ApiConfig {
            password: password.to_string(),
            database_url: None,
            reads_require_token: true,
            extra: String::new(),
        }
    }
}

/// A running packaged fuel-api and the token of [`USER`]; killed when dropped.
#[derive(Debug)]
pub struct PackagedApi {
    child: Option<Child>,
    config: PathBuf,
    log: PathBuf,
    pub port: u16,
    /// `http://127.0.0.1:PORT`
    pub url: String,
    pub token: String,
}

impl PackagedApi {
    /// Writes `dir/fuel-api.toml`, starts the server (its stdout, the JSON
    /// request log, goes to `dir/fuel-api.log`), waits until it is healthy
    /// and logs in as [`USER`].
    pub fn start(dir: &Path, config: &ApiConfig) -> Result<PackagedApi> {
        let port = free_port();
        let database_url = match &config.database_url {
            Some(url) => url.clone(),
            None => format!("sqlite://{}", dir.join("fuel-api.db").display()),
        };
        let file = dir.join("fuel-api.toml");
        std::fs::write(
            &file,
            format!(
                "listen = \"127.0.0.1:{port}\"\ndatabase_url = \"{database_url}\"\n\
                 [auth]\nreads_require_token = {}\n\
                 [[auth.users]]\nname = \"{USER}\"\npassword_hash = \"{}\"\n{}",
                config.reads_require_token,
                password_hash(&config.password)?,
                config.extra
            ),
        )
        .with_context(|| format!("writing {}", file.display()))?;
        let mut api = PackagedApi {
            child: None,
            config: file,
            log: dir.join("fuel-api.log"),
            port,
            url: format!("http://127.0.0.1:{port}"),
            token: String::new(),
        };
        api.spawn()?;
        let body = serde_json::json!({"username": USER, "password": config.password}).to_string();
        let (status, answer) = try_exchange(port, "POST", "/api/v1/auth/tokens", None, &body)
            .context("logging in to fuel-api")?;
        if status != 201 {
            bail!("logging in to fuel-api: status {status}: {answer}");
        }
        let answer: serde_json::Value =
            serde_json::from_str(&answer).context("the login answer is not JSON")?;
        api.token = answer["token"]
            .as_str()
            .with_context(|| format!("no token in the login answer {answer}"))?
            .to_string();
        Ok(api)
    }

    /// Starts the server again on the same configuration, port and database
    /// (the token stays valid); its log is appended to.
    pub fn restart(&mut self) -> Result<()> {
        self.kill();
        self.spawn()
    }

    fn spawn(&mut self) -> Result<()> {
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&self.log)
            .with_context(|| format!("opening {}", self.log.display()))?;
        let binary = release_binary("fuel-api");
        let mut child = Command::new(&binary)
            .arg("--config")
            .arg(&self.config)
            .stdout(log)
            .stderr(Stdio::inherit())
            .spawn()
            .with_context(|| format!("starting {}", binary.display()))?;
        let healthy = try_wait_healthy(self.port, &mut child);
        self.child = Some(child);
        healthy.map_err(anyhow::Error::msg)
    }

    /// The server's process id while it runs (its /proc/PID/status for a
    /// benchmark's memory figures).
    pub fn pid(&self) -> Option<u32> {
        self.child.as_ref().map(Child::id)
    }

    /// Its configuration file (`fuel-api --config PATH`).
    pub fn config_path(&self) -> &Path {
        &self.config
    }

    /// The JSON request log (the server's stdout, across restarts).
    pub fn log(&self) -> &Path {
        &self.log
    }

    /// One request with the token; (status, body).
    pub fn request(&self, method: &str, path: &str, body: &str) -> Result<(u16, String)> {
        try_exchange(self.port, method, path, Some(&self.token), body)
            .with_context(|| format!("{method} {path} on {}", self.url))
    }

    /// SIGTERM, as systemd stops it: the graceful shutdown must exit 0
    /// within 30 s.
    pub fn stop(&mut self) -> Result<()> {
        let Some(mut child) = self.child.take() else {
            return Ok(());
        };
        let status = Command::new("kill")
            .arg("-TERM")
            .arg(child.id().to_string())
            .status()
            .context("running kill")?;
        if !status.success() {
            bail!("kill -TERM {} failed", child.id());
        }
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            if let Some(status) = child.try_wait()? {
                if !status.success() {
                    bail!("fuel-api exited with {status} on SIGTERM");
                }
                return Ok(());
            }
            if Instant::now() > deadline {
                let _ = child.kill();
                bail!("fuel-api did not stop within 30 s of SIGTERM");
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// SIGKILL, as a crash would; the database stays.
    pub fn kill(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

impl Drop for PackagedApi {
    fn drop(&mut self) {
        self.kill();
    }
}

/// The `[package_tasks]` table (for [`ApiConfig::extra`]) of a master that
/// reaches the test nodes: root with the suite's SSH identity
/// ([`crate::node::test_ssh_identity`]), the release fuel-pm-apply as the
/// applier it puts on them.
pub fn package_tasks_table(concurrency: usize, node_timeout_secs: u64) -> String {
    let (identity, _) = crate::node::test_ssh_identity();
    format!(
        "[package_tasks]\nssh_identity = \"{}\"\nssh_user = \"root\"\nconcurrency = {concurrency}\n\
         node_timeout_secs = {node_timeout_secs}\nconnect_timeout_secs = 10\napplier_path = \"{}\"\n",
        identity.display(),
        release_binary("fuel-pm-apply").display()
    )
}

/// The argon2 hash `fuel-api hash-password` (the packaged binary) prints for
/// `password`; computed once per password and process (argon2 is slow on purpose).
pub fn password_hash(password: &str) -> Result<String> {
    static HASHES: OnceLock<Mutex<HashMap<String, String>>> = OnceLock::new();
    let hashes = HASHES.get_or_init(Default::default);
    if let Some(hash) = hashes.lock().unwrap().get(password) {
        return Ok(hash.clone());
    }
    let mut child = Command::new(release_binary("fuel-api"))
        .arg("hash-password")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .context("starting fuel-api hash-password")?;
    writeln!(child.stdin.take().unwrap(), "{password}")?;
    let out = child.wait_with_output()?;
    if !out.status.success() {
        bail!("fuel-api hash-password failed: {out:?}");
    }
    let hash = String::from_utf8(out.stdout)?.trim().to_string();
    hashes
        .lock()
        .unwrap()
        .insert(password.to_string(), hash.clone());
    Ok(hash)
}
