//! Where `fuel` connects and as whom: flags and environment first, then
//! python-fuelclient's settings file, so an operator's existing
//! `~/.config/fuel/fuel_client.yaml` keeps working.
//!
//! The password is never a command-line flag (argv is visible to every user
//! in `ps`): it comes from `FUEL_PASSWORD`, `OS_PASSWORD` or the settings
//! file, and that file is refused while group or others can read it.

use std::fmt;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

use serde::Deserialize;

/// The API a fresh master serves on.
pub const DEFAULT_SERVER: &str = "http://127.0.0.1:8000";
/// python-fuelclient's port when the settings file names none.
const DEFAULT_PORT: u16 = 8000;
/// A settings file larger than this is not a settings file.
const MAX_SETTINGS_BYTES: usize = 64 * 1024;

/// Environment variables `fuel` reads itself (clap reads FUEL_API_URL and FUEL_API_TOKEN).
pub const USERNAME_ENV: &str = "FUEL_USERNAME";
pub const PASSWORD_ENV: &str = "FUEL_PASSWORD";
/// python-fuelclient's override of the settings file's path.
pub const SETTINGS_FILE_ENV: &str = "FUELCLIENT_CUSTOM_SETTINGS";

/// A password: kept out of `Debug` output, so no log or panic prints it.
#[derive(Clone, PartialEq, Eq)]
pub struct Password(String);

impl Password {
    pub fn new(password: impl Into<String>) -> Self {
        Password(password.into())
    }

    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Password {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Password(<redacted>)")
    }
}

/// How `fuel` proves who it is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Credentials {
    /// `--token` / `FUEL_API_TOKEN`: sent as is.
    Token(String),
    /// Exchanged for a token at `POST /api/v1/auth/tokens`, revoked when the command ends.
    Login {
        username: String,
        password: Password,
    },
    /// Nothing configured: reads work where the server allows anonymous reads.
    Anonymous,
}

/// The resolved connection of one command.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Connection {
    pub server: String,
    pub credentials: Credentials,
    /// One line about the settings file to show the operator (keys ignored).
    pub warning: Option<String>,
}

/// The connection values given on the command line (or their environment variables).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ConnectionFlags {
    pub server: Option<String>,
    pub token: Option<String>,
}

#[derive(Debug, thiserror::Error)]
pub enum SettingsError {
    #[error("cannot read the settings file {}: {source}", file.display())]
    Read {
        file: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("{}: {message}", file.display())]
    Invalid { file: PathBuf, message: String },
    #[error("{} holds OS_PASSWORD but group or others may read it (mode {mode:04o}): run `chmod 600 {}`, or remove OS_PASSWORD and set FUEL_PASSWORD instead", file.display(), file.display())]
    Exposed { file: PathBuf, mode: u32 },
    #[error("{given} is set but no password is: set {PASSWORD_ENV} (or OS_PASSWORD in {}), or pass --token", settings.display())]
    NoPassword { given: String, settings: PathBuf },
    #[error("a password is set ({given}) but no user name: set {USERNAME_ENV} (or OS_USERNAME in {})", settings.display())]
    NoUsername { given: String, settings: PathBuf },
}

/// python-fuelclient's settings file: its keys, its spelling. Keys `fuel`
/// has no use for (HTTP_TIMEOUT, KEYSTONE_PORT, PERF_TESTS_PATHS… as Fuel
/// itself wrote them) are ignored, each named in one warning; fuelclient's
/// deprecated names (KEYSTONE_USER, KEYSTONE_PASS, LISTEN_PORT) are used when
/// the current name is not set, as fuelclient did.
#[derive(Debug, Default, Deserialize)]
pub struct SettingsFile {
    #[serde(rename = "SERVER_ADDRESS")]
    pub server_address: Option<String>,
    #[serde(rename = "SERVER_PORT")]
    pub server_port: Option<Port>,
    #[serde(rename = "LISTEN_PORT")]
    listen_port: Option<Port>,
    #[serde(rename = "OS_USERNAME")]
    pub username: Option<String>,
    #[serde(rename = "KEYSTONE_USER")]
    keystone_user: Option<String>,
    #[serde(rename = "OS_PASSWORD")]
    password: Option<String>,
    #[serde(rename = "KEYSTONE_PASS")]
    keystone_pass: Option<String>,
    /// Every other key, ignored.
    #[serde(flatten)]
    other: std::collections::BTreeMap<String, serde::de::IgnoredAny>,
}

/// fuelclient wrote the port quoted (`SERVER_PORT: "8000"`); both forms load.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(untagged)]
pub enum Port {
    /// Any integer, so an out-of-range one gets this file's own message.
    Number(i64),
    Text(String),
}

impl SettingsFile {
    /// Parses a settings file's text; `file` names it in errors.
    pub fn parse(text: &str, file: &Path) -> Result<Self, SettingsError> {
        let invalid = |message: String| SettingsError::Invalid {
            file: file.to_path_buf(),
            message,
        };
        if text.len() > MAX_SETTINGS_BYTES {
            return Err(invalid(format!(
                "larger than {MAX_SETTINGS_BYTES} bytes: is this the settings file?"
            )));
        }
        // A few keys: a tight budget refuses alias bombs and deep nesting at once.
        let options = serde_saphyr::options! {
            budget: serde_saphyr::budget! {
                max_depth: 8,
                max_documents: 1,
                max_nodes: 1_000,
                max_aliases: 16,
                max_anchors: 16,
                max_events: 10_000,
            },
        };
        // An empty file (or one with only comments) is no settings at all.
        if text.lines().all(|l| {
            let l = l.trim();
            l.is_empty() || l.starts_with('#') || l == "---"
        }) {
            return Ok(SettingsFile::default());
        }
        let mut settings: SettingsFile = serde_saphyr::from_str_with_options(text, options)
            .map_err(|e| invalid(e.without_snippet().to_string()))?;
        // fuelclient: a deprecated key counts only when its new name is unset.
        fn fall_back<T>(current: &mut Option<T>, deprecated: &mut Option<T>) {
            if current.is_none() {
                *current = deprecated.take();
            }
        }
        fall_back(&mut settings.server_port, &mut settings.listen_port);
        fall_back(&mut settings.username, &mut settings.keystone_user);
        fall_back(&mut settings.password, &mut settings.keystone_pass);
        if let Some(port) = &settings.server_port {
            settings.port(file, port)?;
        }
        Ok(settings)
    }

    /// One line naming what of this file `fuel` does not use, if anything:
    /// unknown keys, and deprecated names set beside their current one.
    pub fn warning(&self, file: &Path) -> Option<String> {
        let mut notes = Vec::new();
        if !self.other.is_empty() {
            let keys: Vec<&str> = self.other.keys().map(String::as_str).collect();
            notes.push(format!("ignoring {} (not used by fuel)", keys.join(", ")));
        }
        for (deprecated, set, current) in [
            ("LISTEN_PORT", self.listen_port.is_some(), "SERVER_PORT"),
            ("KEYSTONE_USER", self.keystone_user.is_some(), "OS_USERNAME"),
            ("KEYSTONE_PASS", self.keystone_pass.is_some(), "OS_PASSWORD"),
        ] {
            if set {
                notes.push(format!(
                    "both {deprecated} and {current} are set: using {current} ({deprecated} is deprecated)"
                ));
            }
        }
        (!notes.is_empty()).then(|| format!("{}: {}", file.display(), notes.join("; ")))
    }

    /// Reads `file`; `None` when it does not exist. A file holding a
    /// password must be private to its owner.
    pub fn load(file: &Path) -> Result<Option<Self>, SettingsError> {
        let read_error = |source| SettingsError::Read {
            file: file.to_path_buf(),
            source,
        };
        let text = match std::fs::read_to_string(file) {
            Ok(text) => text,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(read_error(e)),
        };
        let settings = SettingsFile::parse(&text, file)?;
        if settings.password.is_some() {
            let mode = std::fs::metadata(file)
                .map_err(read_error)?
                .permissions()
                .mode()
                & 0o7777;
            if mode & 0o077 != 0 {
                return Err(SettingsError::Exposed {
                    file: file.to_path_buf(),
                    mode,
                });
            }
        }
        Ok(Some(settings))
    }

    fn port(&self, file: &Path, port: &Port) -> Result<u16, SettingsError> {
        let parsed = match port {
            Port::Number(n) => u16::try_from(*n).ok(),
            Port::Text(text) => text.trim().parse().ok(),
        };
        parsed
            .filter(|p| *p != 0)
            .ok_or_else(|| SettingsError::Invalid {
                file: file.to_path_buf(),
                message: format!(
                    "SERVER_PORT: `{}` is not a TCP port (1-65535), e.g. SERVER_PORT: \"8000\"",
                    match port {
                        Port::Number(n) => n.to_string(),
                        Port::Text(text) => text.clone(),
                    }
                ),
            })
    }

    /// `http://SERVER_ADDRESS:SERVER_PORT`, when the file names an address.
    fn server(&self, file: &Path) -> Result<Option<String>, SettingsError> {
        let Some(address) = self.server_address.as_deref().map(str::trim) else {
            return Ok(None);
        };
        let port = match &self.server_port {
            Some(port) => self.port(file, port)?,
            None => DEFAULT_PORT,
        };
        // An IPv6 address needs brackets in a URL.
        let host = if address.contains(':') && !address.starts_with('[') {
            format!("[{address}]")
        } else {
            address.to_string()
        };
        Ok(Some(format!("http://{host}:{port}")))
    }
}

/// fuelclient's password flags, which `fuel` refuses: argv is visible to every user in `ps`.
const PASSWORD_FLAGS: &[&str] = &["--os-password", "--password"];

/// The refusal of a password given on the command line (fuelclient's
/// `--os-password`, or `--password`), or `None`. The value is never echoed.
pub fn password_flag_refusal<S: AsRef<std::ffi::OsStr>>(args: &[S]) -> Option<String> {
    let flag = args
        .iter()
        .map(|a| a.as_ref().to_string_lossy())
        .take_while(|a| a != "--")
        .find_map(|a| {
            PASSWORD_FLAGS
                .iter()
                .find(|flag| a == **flag || a.starts_with(&format!("{flag}=")))
        })?;
    Some(format!(
        "{flag}: fuel takes no password on the command line (every user can read it in `ps`): \
         set {PASSWORD_ENV} (or OS_PASSWORD) in the environment, or OS_PASSWORD in \
         ~/.config/fuel/fuel_client.yaml (chmod 600), or pass --token"
    ))
}

/// Where python-fuelclient kept its settings: `$FUELCLIENT_CUSTOM_SETTINGS`,
/// else `$XDG_CONFIG_HOME/fuel/fuel_client.yaml`, else `~/.config/fuel/fuel_client.yaml`.
pub fn settings_path(env: &dyn Fn(&str) -> Option<String>) -> Option<PathBuf> {
    if let Some(custom) = env(SETTINGS_FILE_ENV) {
        return Some(PathBuf::from(custom));
    }
    let config_home = env("XDG_CONFIG_HOME")
        .map(PathBuf::from)
        .or_else(|| env("HOME").map(|home| Path::new(&home).join(".config")))?;
    Some(config_home.join("fuel").join("fuel_client.yaml"))
}

/// The connection of one command. Each value comes from the first place
/// that sets it:
/// - server: `flags` (clap has already applied FUEL_API_URL), then
///   SERVER_ADDRESS / SERVER_PORT from the environment, then the settings
///   file, then [`DEFAULT_SERVER`];
/// - who: the token (`--token`, FUEL_API_TOKEN); else the user name from
///   FUEL_USERNAME, OS_USERNAME (environment), the file's OS_USERNAME, and the
///   password from FUEL_PASSWORD, OS_PASSWORD (environment), the file's
///   OS_PASSWORD.
///
/// As python-fuelclient did, an environment variable named like a settings
/// key overrides that key of the file, one key at a time. `env` reads the
/// environment (a parameter so tests need not change the process's).
pub fn resolve(
    flags: &ConnectionFlags,
    env: &dyn Fn(&str) -> Option<String>,
) -> Result<Connection, SettingsError> {
    let env = |name: &str| env(name).filter(|v| !v.is_empty());
    let token = flags.token.clone().filter(|t| !t.is_empty());
    let username = env(USERNAME_ENV)
        .map(|u| (u, USERNAME_ENV.to_string()))
        .or_else(|| env("OS_USERNAME").map(|u| (u, "OS_USERNAME".to_string())));
    let password = env(PASSWORD_ENV)
        .map(|p| (p, PASSWORD_ENV.to_string()))
        .or_else(|| env("OS_PASSWORD").map(|p| (p, "OS_PASSWORD".to_string())));
    let address = env("SERVER_ADDRESS");
    let port = env("SERVER_PORT");
    let path =
        settings_path(&env).unwrap_or_else(|| PathBuf::from("~/.config/fuel/fuel_client.yaml"));
    // The file is only read for what flags and environment leave open, so a
    // broken file does not stop `--server URL --token T`.
    let needs_file = (flags.server.is_none() && (address.is_none() || port.is_none()))
        || (token.is_none() && (username.is_none() || password.is_none()));
    let mut file = if needs_file {
        SettingsFile::load(&path)?.unwrap_or_default()
    } else {
        SettingsFile::default()
    };
    let warning = file.warning(&path);
    let environment = Path::new("the environment");
    if let Some(address) = address {
        file.server_address = Some(address);
    }
    if let Some(port) = port {
        let port = Port::Text(port);
        file.port(environment, &port)?;
        file.server_port = Some(port);
        file.server_address
            .get_or_insert_with(|| "127.0.0.1".to_string());
    }

    let server = match &flags.server {
        Some(server) => server.clone(),
        None => file
            .server(&path)?
            .unwrap_or_else(|| DEFAULT_SERVER.to_string()),
    };
    if let Some(token) = token {
        return Ok(Connection {
            server,
            credentials: Credentials::Token(token),
            warning,
        });
    }
    let from_file = |value: &Option<String>, key: &str| {
        value
            .clone()
            .filter(|v| !v.is_empty())
            .map(|v| (v, format!("{key} in {}", path.display())))
    };
    let username = username.or_else(|| from_file(&file.username, "OS_USERNAME"));
    let password = password.or_else(|| from_file(&file.password, "OS_PASSWORD"));
    let credentials = match (username, password) {
        (Some((username, _)), Some((password, _))) => Credentials::Login {
            username,
            password: Password(password),
        },
        (Some((_, given)), None) => {
            return Err(SettingsError::NoPassword {
                given,
                settings: path,
            })
        }
        (None, Some((_, given))) => {
            return Err(SettingsError::NoUsername {
                given,
                settings: path,
            })
        }
        (None, None) => Credentials::Anonymous,
    };
    Ok(Connection {
        server,
        credentials,
        warning,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn login(username: &str, password: &str) -> Credentials {
        Credentials::Login {
            username: username.into(),
            password: Password::new(password),
        }
    }

    fn env_of(pairs: &[(&str, &str)]) -> impl Fn(&str) -> Option<String> {
        let map: HashMap<String, String> = pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        move |name| map.get(name).cloned()
    }

    fn settings_dir(text: &str, mode: u32) -> (tempfile::TempDir, PathBuf) {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("fuel/fuel_client.yaml");
        std::fs::create_dir_all(file.parent().unwrap()).unwrap();
        std::fs::write(&file, text).unwrap();
        std::fs::set_permissions(&file, std::fs::Permissions::from_mode(mode)).unwrap();
        (dir, file)
    }

    /// `resolve` without flags, with XDG_CONFIG_HOME at `dir`.
    fn resolve_in(dir: &tempfile::TempDir) -> Result<Connection, SettingsError> {
        let home = dir.path().to_str().unwrap();
        resolve(
            &ConnectionFlags::default(),
            &env_of(&[("XDG_CONFIG_HOME", home)]),
        )
    }

    const FUELCLIENT_FILE: &str = "# Connection settings\nSERVER_ADDRESS: \"10.20.0.2\"\nSERVER_PORT: \"8000\"\nOS_USERNAME: \"admin\"\nOS_PASSWORD: \"admin-secret\"\nOS_TENANT_NAME: \"admin\"\nHTTP_PROXY: null\nHTTP_TIMEOUT: 10\nMODE: \"roles\"\nPERFORMANCE_PROFILING_TESTS: 0\nPERF_TESTS_PATHS:\n    perf_tests_base: \"/tmp/x/\"\n";

    #[test]
    fn without_anything_it_is_the_local_api_anonymously() {
        let c = resolve(
            &ConnectionFlags::default(),
            &env_of(&[("HOME", "/nonexistent")]),
        )
        .unwrap();
        assert_eq!(c.server, DEFAULT_SERVER);
        assert_eq!(c.credentials, Credentials::Anonymous);
    }

    #[test]
    fn a_fuelclient_settings_file_loads_as_fuelclient_wrote_it() {
        let (dir, _) = settings_dir(FUELCLIENT_FILE, 0o600);
        let c = resolve_in(&dir).unwrap();
        assert_eq!(c.server, "http://10.20.0.2:8000");
        assert_eq!(c.credentials, login("admin", "admin-secret"));
    }

    #[test]
    fn the_settings_file_is_found_where_fuelclient_kept_it() {
        let env = env_of(&[("HOME", "/home/op")]);
        assert_eq!(
            settings_path(&env).unwrap(),
            Path::new("/home/op/.config/fuel/fuel_client.yaml")
        );
        let env = env_of(&[("HOME", "/home/op"), ("XDG_CONFIG_HOME", "/cfg")]);
        assert_eq!(
            settings_path(&env).unwrap(),
            Path::new("/cfg/fuel/fuel_client.yaml")
        );
        let env = env_of(&[
            ("XDG_CONFIG_HOME", "/cfg"),
            (SETTINGS_FILE_ENV, "/etc/my.yaml"),
        ]);
        assert_eq!(settings_path(&env).unwrap(), Path::new("/etc/my.yaml"));
    }

    #[test]
    fn flags_and_environment_win_over_the_file() {
        let (dir, _) = settings_dir(FUELCLIENT_FILE, 0o600);
        let home = dir.path().to_str().unwrap();
        let env = env_of(&[
            ("XDG_CONFIG_HOME", home),
            (USERNAME_ENV, "operator"),
            (PASSWORD_ENV, "from-env"),
        ]);
        let c = resolve(
            &ConnectionFlags {
                server: Some("http://master:8001".into()),
                token: None,
            },
            &env,
        )
        .unwrap();
        assert_eq!(c.server, "http://master:8001");
        assert_eq!(c.credentials, login("operator", "from-env"));
        let c = resolve(
            &ConnectionFlags {
                server: None,
                token: Some("tok".into()),
            },
            &env,
        )
        .unwrap();
        assert_eq!(c.server, "http://10.20.0.2:8000");
        assert_eq!(c.credentials, Credentials::Token("tok".into()));
    }

    #[test]
    fn a_readable_file_holding_a_password_is_refused_with_the_remedy() {
        let (dir, file) = settings_dir(FUELCLIENT_FILE, 0o644);
        let err = resolve_in(&dir).unwrap_err();
        assert!(
            matches!(err, SettingsError::Exposed { mode: 0o644, .. }),
            "{err:?}"
        );
        assert!(
            err.to_string()
                .contains(&format!("chmod 600 {}", file.display())),
            "{err}"
        );
        // Without a password the file may be readable.
        let (dir, _) = settings_dir("SERVER_ADDRESS: 10.0.0.9\n", 0o644);
        let c = resolve_in(&dir).unwrap();
        assert_eq!(c.server, "http://10.0.0.9:8000");
    }

    #[test]
    fn flags_and_environment_need_no_file_even_a_broken_one() {
        let (dir, _) = settings_dir("SERVER_ADDRESS: [", 0o644);
        let home = dir.path().to_str().unwrap();
        let flags = ConnectionFlags {
            server: Some("http://m:8000".into()),
            token: Some("t".into()),
        };
        assert!(resolve(&flags, &env_of(&[("XDG_CONFIG_HOME", home)])).is_ok());
        let err = resolve_in(&dir).unwrap_err();
        assert!(matches!(err, SettingsError::Invalid { .. }), "{err:?}");
    }

    #[test]
    fn unknown_keys_are_named_in_a_warning_and_bad_ports_name_the_file() {
        let file = Path::new("/x/fuel_client.yaml");
        // A misspelt key is not an error (Fuel's own files carry keys fuel
        // does not know), but the warning names it.
        let settings = SettingsFile::parse("SERVER_ADRESS: 1.2.3.4\n", file).unwrap();
        assert!(settings.server_address.is_none());
        assert_eq!(
            settings.warning(file).unwrap(),
            "/x/fuel_client.yaml: ignoring SERVER_ADRESS (not used by fuel)"
        );
        for port in ["\"http\"", "0", "70000"] {
            let err =
                SettingsFile::parse(&format!("SERVER_ADDRESS: a\nSERVER_PORT: {port}\n"), file)
                    .unwrap_err();
            assert!(err.to_string().contains("SERVER_PORT: "), "{err}");
        }
        let ok = SettingsFile::parse("SERVER_ADDRESS: \"::1\"\nSERVER_PORT: 8080\n", file).unwrap();
        assert_eq!(ok.server(file).unwrap().unwrap(), "http://[::1]:8080");
        assert!(SettingsFile::parse("# nothing yet\n", file)
            .unwrap()
            .server_address
            .is_none());
    }

    #[test]
    fn hostile_yaml_is_refused_quickly() {
        let file = Path::new("/x/fuel_client.yaml");
        // Under a key that is accepted and ignored, so only the budget can refuse it.
        let bomb = "OS_TENANT_NAME:\n  a: &a [x, x, x, x, x, x, x, x, x]\n  b: &b [*a, *a, *a, *a, *a, *a, *a, *a, *a]\n  c: &c [*b, *b, *b, *b, *b, *b, *b, *b, *b]\n  d: &d [*c, *c, *c, *c, *c, *c, *c, *c, *c]\n  e: [*d, *d, *d, *d, *d, *d, *d, *d, *d]\n";
        assert!(SettingsFile::parse(bomb, file).is_err());
        let deep = format!("OS_TENANT_NAME: {}{}\n", "[".repeat(200), "]".repeat(200));
        assert!(SettingsFile::parse(&deep, file).is_err());
    }

    /// What Fuel 9's master wrote to /etc/fuel/client/config.yaml (and
    /// fuelclient's older releases to ~/.config/fuel/fuel_client.yaml).
    const FUEL_MASTER_FILE: &str = "SERVER_ADDRESS: \"10.20.0.2\"\nSERVER_PORT: \"8000\"\nKEYSTONE_PORT: \"5000\"\nKEYSTONE_USER: \"admin\"\nKEYSTONE_PASS: \"old-secret\"\nOS_USERNAME: \"operator\"\nOS_PASSWORD: \"new-secret\"\nHTTP_TIMEOUT: 10\nPERF_TESTS_PATHS:\n    perf_tests_base: \"/tmp/x/\"\n";

    #[test]
    fn a_fuel_written_file_loads_with_one_warning_naming_what_is_ignored() {
        let (dir, file) = settings_dir(FUEL_MASTER_FILE, 0o600);
        let c = resolve_in(&dir).unwrap();
        assert_eq!(c.server, "http://10.20.0.2:8000");
        // OS_USERNAME wins over KEYSTONE_USER, as in fuelclient.
        assert_eq!(c.credentials, login("operator", "new-secret"));
        let warning = c.warning.unwrap();
        assert!(!warning.contains('\n'), "{warning}");
        assert!(
            warning.starts_with(&format!("{}: ", file.display())),
            "{warning}"
        );
        for named in [
            "ignoring HTTP_TIMEOUT, KEYSTONE_PORT, PERF_TESTS_PATHS (not used by fuel)",
            "both KEYSTONE_USER and OS_USERNAME are set: using OS_USERNAME",
            "both KEYSTONE_PASS and OS_PASSWORD are set: using OS_PASSWORD",
        ] {
            assert!(warning.contains(named), "{named}: {warning}");
        }
        // The deprecated names alone are used, as fuelclient did.
        let (dir, _) = settings_dir("KEYSTONE_USER: admin\nKEYSTONE_PASS: pw\n", 0o600);
        let c = resolve_in(&dir).unwrap();
        assert_eq!(c.credentials, login("admin", "pw"));
        assert_eq!(c.warning, None);
    }

    #[test]
    fn fuelclient_environment_variables_override_the_file_key_by_key() {
        let (dir, _) = settings_dir(FUELCLIENT_FILE, 0o600);
        let home = dir.path().to_str().unwrap();
        let c = resolve(
            &ConnectionFlags::default(),
            &env_of(&[
                ("XDG_CONFIG_HOME", home),
                ("SERVER_ADDRESS", "10.0.0.7"),
                ("OS_USERNAME", "operator"),
                ("OS_PASSWORD", "from-env"),
            ]),
        )
        .unwrap();
        // The port still comes from the file.
        assert_eq!(c.server, "http://10.0.0.7:8000");
        assert_eq!(c.credentials, login("operator", "from-env"));
        let c = resolve(
            &ConnectionFlags::default(),
            &env_of(&[
                ("XDG_CONFIG_HOME", home),
                ("SERVER_PORT", "8443"),
                ("OS_PASSWORD", "p2"),
            ]),
        )
        .unwrap();
        assert_eq!(c.server, "http://10.20.0.2:8443");
        assert_eq!(c.credentials, login("admin", "p2"));
        // fuel's own variables and flags come first.
        let c = resolve(
            &ConnectionFlags {
                server: Some("http://master:8001".into()),
                token: None,
            },
            &env_of(&[
                ("XDG_CONFIG_HOME", home),
                ("SERVER_ADDRESS", "10.0.0.7"),
                ("OS_USERNAME", "operator"),
                (USERNAME_ENV, "fuel-user"),
                (PASSWORD_ENV, "fuel-pw"),
                ("OS_PASSWORD", "os-pw"),
            ]),
        )
        .unwrap();
        assert_eq!(c.server, "http://master:8001");
        assert_eq!(c.credentials, login("fuel-user", "fuel-pw"));
        // Without any file: the environment alone.
        let c = resolve(
            &ConnectionFlags::default(),
            &env_of(&[("HOME", "/nonexistent"), ("SERVER_PORT", "9000")]),
        )
        .unwrap();
        assert_eq!(c.server, "http://127.0.0.1:9000");
        let err = resolve(
            &ConnectionFlags::default(),
            &env_of(&[("HOME", "/nonexistent"), ("SERVER_PORT", "http")]),
        )
        .unwrap_err();
        assert!(
            err.to_string()
                .starts_with("the environment: SERVER_PORT: `http`"),
            "{err}"
        );
        let err = resolve(
            &ConnectionFlags::default(),
            &env_of(&[("HOME", "/nonexistent"), ("OS_USERNAME", "admin")]),
        )
        .unwrap_err();
        assert!(
            err.to_string()
                .starts_with("OS_USERNAME is set but no password"),
            "{err}"
        );
    }

    #[test]
    fn half_a_login_says_what_is_missing() {
        let env = env_of(&[(USERNAME_ENV, "admin"), ("HOME", "/nonexistent")]);
        let err = resolve(&ConnectionFlags::default(), &env).unwrap_err();
        assert!(err.to_string().contains("set FUEL_PASSWORD"), "{err}");
        let env = env_of(&[(PASSWORD_ENV, "pw"), ("HOME", "/nonexistent")]);
        let err = resolve(&ConnectionFlags::default(), &env).unwrap_err();
        assert!(err.to_string().contains("set FUEL_USERNAME"), "{err}");
    }

    #[test]
    fn a_password_flag_is_refused_without_echoing_the_password() {
        for args in [
            &["node", "--os-password", "hunter2"][..],
            &["--password=hunter2", "env"],
            &["--os-password"],
        ] {
            let refusal = password_flag_refusal(args).unwrap();
            assert!(refusal.contains(PASSWORD_ENV), "{refusal}");
            assert!(!refusal.contains("hunter2"), "{refusal}");
        }
        assert_eq!(password_flag_refusal(&["node", "--", "--password"]), None);
        assert_eq!(password_flag_refusal(&["node", "--passwords"]), None);
    }

    #[test]
    fn passwords_stay_out_of_debug_output() {
        let c = Connection {
            warning: None,
            server: DEFAULT_SERVER.into(),
            credentials: login("admin", "hunter2"),
        };
        assert!(!format!("{c:?}").contains("hunter2"));
    }
}
