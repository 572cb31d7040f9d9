//! The service's configuration (TOML, /etc/fuel-api/config.toml).

use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

/// Where the packaged service reads its configuration.
pub const DEFAULT_CONFIG_PATH: &str = "/etc/fuel-api/config.toml";

/// The SQLite database of the packaged service (the rpm owns the directory).
pub const DEFAULT_DATABASE_URL: &str = "sqlite:///var/lib/fuel-api/fuel-api.db";

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    /// Address and port to listen on (Nailgun's port is 8000).
    #[serde(default = "default_listen")]
    pub listen: SocketAddr,
    /// `sqlite:///path/to/file.db` (created when missing) or `postgres://user:pass@host/db`.
    #[serde(default = "default_database_url")]
    pub database_url: String,
    /// JSON request bodies larger than this are refused with 413. Package
    /// documents have their own limit, `fuel_pm::MAX_DOCUMENT_BYTES`.
    #[serde(default = "default_body_limit")]
    pub body_limit_bytes: usize,
    /// The root fuel-version reads /api/version's answer from ("/" on a master).
    #[serde(default = "default_version_root")]
    pub version_root: PathBuf,
    /// How long /api/version's answer is reused before fuel-version reads it again
    /// (reading it runs one rpm query).
    #[serde(default = "default_version_refresh")]
    pub version_refresh_secs: u64,
    /// At most this many bytes of package-inventory answers are kept in
    /// memory (least recently used go first; 0 keeps none). An answer for
    /// 200 nodes × 1,000 packages is about 1.9 MB.
    #[serde(default = "default_inventory_cache_bytes")]
    pub inventory_cache_bytes: usize,
    #[serde(default)]
    pub auth: AuthConfig,
    /// How the master runs upload_pm and execute_pm on nodes.
    #[serde(default)]
    pub package_tasks: PackageTasksConfig,
}

/// `[package_tasks]`: SSH to the nodes and the applier they get.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PackageTasksConfig {
    /// The master's private key; each node's root authorized_keys holds its public half.
    #[serde(default = "default_ssh_identity")]
    pub ssh_identity: PathBuf,
    #[serde(default = "default_ssh_user")]
    pub ssh_user: String,
    /// Nodes worked on at once, across all tasks.
    #[serde(default = "default_concurrency")]
    pub concurrency: usize,
    /// How long one node's sub-tasks may take together before it fails with `timeout`.
    #[serde(default = "default_node_timeout")]
    pub node_timeout_secs: u64,
    #[serde(default = "default_connect_timeout")]
    pub connect_timeout_secs: u64,
    /// How long execute_pm waits for a node's applier lock held by another
    /// run (one a killed master left ending, an operator's own) before the
    /// node fails with `node_busy`.
    #[serde(default = "default_lock_wait")]
    pub lock_wait_secs: u64,
    /// The applier binary copied to nodes (the fuel-pm-apply package installs it).
    #[serde(default = "default_applier_path")]
    pub applier_path: PathBuf,
    /// How long a task stays with the process running it without a word from
    /// it (renewed every third of it while it works); once expired, another
    /// fuel-api process on the same PostgreSQL database takes the task over.
    #[serde(default = "default_lease")]
    pub lease_secs: u64,
    /// A task whose lease expired longer ago than this (no process was alive
    /// to take it over) is marked `interrupted` instead of resumed, so a
    /// master started the next day changes no node unasked.
    #[serde(default = "default_resume_window")]
    pub resume_window_secs: u64,
}

impl Default for PackageTasksConfig {
    fn default() -> Self {
        PackageTasksConfig {
            ssh_identity: default_ssh_identity(),
            ssh_user: default_ssh_user(),
            concurrency: default_concurrency(),
            node_timeout_secs: default_node_timeout(),
            connect_timeout_secs: default_connect_timeout(),
            lock_wait_secs: default_lock_wait(),
            applier_path: default_applier_path(),
            lease_secs: default_lease(),
            resume_window_secs: default_resume_window(),
        }
    }
}

fn default_ssh_identity() -> PathBuf {
    PathBuf::from("/root/.ssh/id_ed25519")
}
fn default_ssh_user() -> String {
    "root".to_string()
}
fn default_concurrency() -> usize {
    32
}
fn default_node_timeout() -> u64 {
    900
}
fn default_connect_timeout() -> u64 {
    10
}
fn default_lease() -> u64 {
    30
}
fn default_resume_window() -> u64 {
    600
}
fn default_lock_wait() -> u64 {
    120
}
fn default_applier_path() -> PathBuf {
    PathBuf::from("/usr/libexec/fuel-pm/fuel-pm-apply")
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AuthConfig {
    /// Whether reads (GET) need a token too. Writes always do; /api/version,
    /// /api/health and token issuing never do.
    #[serde(default = "yes")]
    pub reads_require_token: bool,
    /// Lifetime of an issued token.
    #[serde(default = "default_token_ttl")]
    pub token_ttl_secs: u64,
    /// Who may log in; `fuel-api hash-password` prints a password hash.
    #[serde(default)]
    pub users: Vec<User>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct User {
    pub name: String,
    /// An argon2 PHC string (`$argon2id$…`), never the password itself.
    pub password_hash: String,
}

impl Default for AuthConfig {
    fn default() -> Self {
        AuthConfig {
            reads_require_token: true,
            token_ttl_secs: default_token_ttl(),
            users: Vec::new(),
        }
    }
}

impl Default for Config {
    fn default() -> Self {
        Config {
            listen: default_listen(),
            database_url: default_database_url(),
            body_limit_bytes: default_body_limit(),
            version_root: default_version_root(),
            version_refresh_secs: default_version_refresh(),
            inventory_cache_bytes: default_inventory_cache_bytes(),
            auth: AuthConfig::default(),
            package_tasks: PackageTasksConfig::default(),
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("cannot read {path}: {source}")]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{path}: {message}")]
    Invalid { path: PathBuf, message: String },
}

impl Config {
    /// Reads and checks a TOML configuration file; errors name the file and the key.
    pub fn load(path: &Path) -> Result<Config, ConfigError> {
        let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Read {
            path: path.to_path_buf(),
            source,
        })?;
        Config::parse(&text).map_err(|message| ConfigError::Invalid {
            path: path.to_path_buf(),
            message,
        })
    }

    /// Parses and checks configuration text.
    pub fn parse(text: &str) -> Result<Config, String> {
        let config: Config = toml::from_str(text).map_err(|e| e.to_string())?;
        config.check()?;
        Ok(config)
    }

    fn check(&self) -> Result<(), String> {
        if !(self.database_url.starts_with("sqlite:")
            || self.database_url.starts_with("postgres://")
            || self.database_url.starts_with("postgresql://"))
        {
            return Err(format!(
                "database_url `{}` is neither sqlite:///path nor postgres://…",
                self.database_url
            ));
        }
        if self.package_tasks.lease_secs == 0 {
            return Err("package_tasks.lease_secs must be at least 1".to_string());
        }
        if self.auth.token_ttl_secs == 0 {
            return Err("auth.token_ttl_secs must be at least 1".to_string());
        }
        for (i, user) in self.auth.users.iter().enumerate() {
            if user.name.is_empty() {
                return Err(format!("auth.users[{i}].name is empty"));
            }
            if argon2::PasswordHash::new(&user.password_hash).is_err() {
                return Err(format!(
                    "auth.users[{i}] ({}): password_hash is not an argon2 hash: generate one with `fuel-api hash-password`",
                    user.name
                ));
            }
            if self.auth.users[..i].iter().any(|u| u.name == user.name) {
                return Err(format!(
                    "auth.users[{i}]: user `{}` is listed twice",
                    user.name
                ));
            }
        }
        Ok(())
    }
}

fn default_listen() -> SocketAddr {
    SocketAddr::from(([0, 0, 0, 0], 8000))
}
fn default_database_url() -> String {
    DEFAULT_DATABASE_URL.to_string()
}
fn default_body_limit() -> usize {
    64 * 1024
}
fn default_version_root() -> PathBuf {
    PathBuf::from("/")
}
fn default_version_refresh() -> u64 {
    5
}
fn default_inventory_cache_bytes() -> usize {
    64 * 1024 * 1024
}
fn default_token_ttl() -> u64 {
    3600
}
fn yes() -> bool {
    true
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn packaged_config_is_the_default_and_has_no_user() {
        let packaged = Config::parse(include_str!("../dist/config.toml")).unwrap();
        assert_eq!(packaged, Config::default());
        assert!(packaged.auth.users.is_empty());
        assert_eq!(packaged.database_url, DEFAULT_DATABASE_URL);
    }

    #[test]
    fn plain_text_password_is_refused_naming_the_user() {
        let text = "[[auth.users]]\nname = \"admin\"\npassword_hash = \"admin\"\n";
        let error = Config::parse(text).unwrap_err();
        assert!(
            error.contains("auth.users[0] (admin)") && error.contains("fuel-api hash-password"),
            "{error}"
        );
    }

    #[test]
    fn unknown_key_and_bad_url_are_named() {
        let error = Config::parse("listen = \"127.0.0.1:8000\"\ndatabase = \"x\"\n").unwrap_err();
        assert!(
            error.contains("unknown field `database`") && error.contains("line 2"),
            "{error}"
        );
        let error = Config::parse("database_url = \"mysql://x\"\n").unwrap_err();
        assert!(error.contains("mysql://x"), "{error}");
    }

    #[test]
    fn hash_password_output_is_accepted_in_the_config() {
        let hash = crate::hash_password("s3cret");
        let text = format!("[[auth.users]]\nname = \"admin\"\npassword_hash = \"{hash}\"\n");
        assert_eq!(
            Config::parse(&text).unwrap().auth.users[0].password_hash,
            hash
        );
    }
}
