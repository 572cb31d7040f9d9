//! The packaged `fuel-api` binary (target/release, as the rpm ships it):
//! hash-password, serving with a configured user, one JSON log line per
//! request, graceful stop on SIGTERM, data kept across a restart, and a
//! refused configuration naming its file.

use std::process::Command;

use fuel_e2e::api::{ApiConfig, PackagedApi};
use fuel_e2e::http::exchange as http;
use fuel_e2e::{fuel_api_password_hash, release_binary};

#[test]
fn packaged_binary_serves_logs_stops_gracefully_and_keeps_data() {
    let dir = tempfile::tempdir().unwrap();

    let hash = fuel_api_password_hash("e2e-password");
    assert!(hash.starts_with("$argon2id$"), "{hash}");
    assert!(!hash.contains("e2e-password"));

    // Configured with that hash, started, healthy, and the user logged in
    // (POST /api/v1/auth/tokens → 201, checked below in the log).
    let mut api = PackagedApi::start(dir.path(), &ApiConfig::new("e2e-password"))
        .unwrap_or_else(|e| panic!("{e:#}"));
    let (port, token) = (api.port, api.token.clone());
    let release = r#"{"name":"Liberty","version":"liberty-8.0","operating_system":"CentOS"}"#;
    assert_eq!(http(port, "POST", "/api/v1/releases", None, release).0, 401);
    let (status, body) = http(port, "POST", "/api/v1/releases", Some(&token), release);
    assert_eq!(status, 201, "{body}");
    assert_eq!(
        http(port, "POST", "/api/v1/releases", Some(&token), release).0,
        409
    );
    api.stop().unwrap_or_else(|e| panic!("{e:#}"));

    // One JSON line per request, naming method, path and status.
    let lines = std::fs::read_to_string(api.log()).unwrap();
    let served: Vec<&str> = lines.lines().filter(|l| l.contains("\"served\"")).collect();
    assert!(
        served
            .iter()
            .all(|l| l.starts_with('{') && l.ends_with('}')),
        "{lines}"
    );
    for (path, status) in [
        ("/api/v1/auth/tokens", 201),
        ("/api/v1/releases", 401),
        ("/api/v1/releases", 201),
        ("/api/v1/releases", 409),
    ] {
        assert!(
            served
                .iter()
                .any(|l| l.contains(&format!("\"status\":{status}"))
                    && l.contains(&format!("\"path\":\"{path}\""))
                    && l.contains("\"method\":\"POST\"")),
            "no log line for POST {path} → {status} in:\n{lines}"
        );
    }

    // Started again on the same database: the release and the token are there.
    api.restart().unwrap_or_else(|e| panic!("{e:#}"));
    let (status, body) = http(port, "GET", "/api/v1/releases", Some(&token), "");
    assert_eq!(status, 200, "{body}");
    assert!(
        body.contains("\"name\":\"Liberty\"") && body.contains("\"version\":\"liberty-8.0\""),
        "{body}"
    );
    assert_eq!(http(port, "GET", "/api/v1/releases", None, "").0, 401);
    api.stop().unwrap_or_else(|e| panic!("{e:#}"));
}

#[test]
fn bad_configuration_is_refused_naming_the_file() {
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("config.toml");
    std::fs::write(
        &config,
        "[[auth.users]]\nname = \"admin\"\npassword_hash = \"admin\"\n",
    )
    .unwrap();
    let out = Command::new(release_binary("fuel-api"))
        .arg("--config")
        .arg(&config)
        .output()
        .unwrap();
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains(&config.display().to_string()) && stderr.contains("fuel-api hash-password"),
        "{stderr}"
    );
}
