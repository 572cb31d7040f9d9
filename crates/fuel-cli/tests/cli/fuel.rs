//! Runs the built `fuel` binary as an operator would, in a clean
//! environment: its own HOME (no settings file), no token, the test
//! server's URL; a test adds credentials or files as it needs.

use std::path::Path;
use std::process::Command;

use tempfile::TempDir;

use crate::support::{ADMIN, ADMIN_PASSWORD};

pub struct Fuel {
    home: TempDir,
    env: Vec<(String, String)>,
}

/// What one run of `fuel` did.
#[derive(Debug)]
pub struct Ran {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
}

impl Ran {
    /// stdout as JSON of type `T`.
    pub fn json<T: serde::de::DeserializeOwned>(&self) -> T {
        serde_json::from_str(&self.stdout)
            .unwrap_or_else(|e| panic!("--json output does not parse ({e}):\n{}", self.stdout))
    }
}

impl Fuel {
    /// `fuel` pointed at `server` (FUEL_API_URL), without credentials.
    pub fn new(server: &str) -> Fuel {
        Fuel {
            home: tempfile::tempdir().unwrap(),
            env: vec![("FUEL_API_URL".into(), server.into())],
        }
    }

    /// The same, logging in as the test server's admin (FUEL_USERNAME / FUEL_PASSWORD).
    pub fn admin(server: &str) -> Fuel {
        Fuel::new(server)
            .with_env("FUEL_USERNAME", ADMIN)
            .with_env("FUEL_PASSWORD", ADMIN_PASSWORD)
    }

    pub fn with_env(mut self, name: &str, value: &str) -> Fuel {
        self.env.retain(|(n, _)| n != name);
        self.env.push((name.into(), value.into()));
        self
    }

    pub fn without_env(mut self, name: &str) -> Fuel {
        self.env.retain(|(n, _)| n != name);
        self
    }

    /// HOME, also the working directory: `~/.config/fuel/fuel_client.yaml` lives here.
    pub fn home(&self) -> &Path {
        self.home.path()
    }

    pub async fn run(&self, args: &[&str]) -> Ran {
        let mut command = Command::new(env!("CARGO_BIN_EXE_fuel"));
        command
            .args(args)
            .env_clear()
            .env("PATH", std::env::var_os("PATH").unwrap_or_default())
            .env("HOME", self.home.path())
            .current_dir(self.home.path())
            .envs(self.env.iter().map(|(k, v)| (k, v)));
        // The server runs on this test's runtime: wait for fuel off its threads.
        let out = tokio::task::spawn_blocking(move || command.output())
            .await
            .unwrap()
            .expect("running fuel");
        Ran {
            code: out.status.code().expect("fuel exited, not killed"),
            stdout: String::from_utf8(out.stdout).expect("stdout is UTF-8"),
            stderr: String::from_utf8(out.stderr).expect("stderr is UTF-8"),
        }
    }

    /// Runs and asserts success.
    pub async fn ok(&self, args: &[&str]) -> Ran {
        let ran = self.run(args).await;
        assert_eq!(ran.code, 0, "fuel {args:?} failed: {ran:?}");
        ran
    }

    /// Runs and asserts failure (exit 1) with a message containing `words`.
    pub async fn fails(&self, args: &[&str], words: &str) -> Ran {
        let ran = self.run(args).await;
        assert_eq!(ran.code, 1, "fuel {args:?} should fail: {ran:?}");
        assert!(
            ran.stderr.contains(words),
            "fuel {args:?}: stderr lacks {words:?}: {}",
            ran.stderr
        );
        ran
    }
}
