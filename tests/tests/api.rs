//! The packaged `fuel-api` binary (target/release, as the rpm ships it):
//! hash-password, serving with a configured user, one JSON log line per
//! request, graceful stop on SIGTERM, data kept across a restart, and a
//! refused configuration naming its file.

use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use fuel_e2e::http::{exchange as http, free_port, wait_healthy};
use fuel_e2e::{fuel_api_password_hash, release_binary};

fn start(config: &Path, log: &Path) -> Child {
    Command::new(release_binary("fuel-api"))
        .arg("--config")
        .arg(config)
        .stdout(std::fs::File::create(log).unwrap())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("start fuel-api")
}

/// SIGTERM, as systemd stops it; the graceful shutdown exits 0.
fn stop(mut child: Child) {
    let status = Command::new("kill")
        .arg("-TERM")
        .arg(child.id().to_string())
        .status()
        .unwrap();
    assert!(status.success());
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        if let Some(status) = child.try_wait().unwrap() {
            assert!(status.success(), "fuel-api exited with {status} on SIGTERM");
            return;
        }
        assert!(
            Instant::now() < deadline,
            "fuel-api did not stop within 30 s of SIGTERM"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}

fn token_of(body: &str) -> String {
    body.split("\"token\":\"")
        .nth(1)
        .and_then(|r| r.split('"').next())
        .unwrap_or_else(|| panic!("no token in {body}"))
        .to_string()
}

#[test]
fn packaged_binary_serves_logs_stops_gracefully_and_keeps_data() {
    let dir = tempfile::tempdir().unwrap();

    let hash = fuel_api_password_hash("e2e-password");
    assert!(hash.starts_with("$argon2id$"), "{hash}");
    assert!(!hash.contains("e2e-password"));

    let port = free_port();
    let config = dir.path().join("config.toml");
    std::fs::write(
        &config,
        format!(
            "listen = \"127.0.0.1:{port}\"\ndatabase_url = \"sqlite://{}\"\n[auth]\n[[auth.users]]\nname = \"admin\"\npassword_hash = \"{hash}\"\n",
            dir.path().join("fuel-api.db").display()
        ),
    )
    .unwrap();
    let log = dir.path().join("first.log");
    let mut child = start(&config, &log);
    wait_healthy(port, &mut child);

    let (status, body) = http(
        port,
        "POST",
        "/api/v1/auth/tokens",
        None,
        r#"{"username":"admin","password":"e2e-password"}"#,
    );
    assert_eq!(status, 201, "{body}");
    let token = token_of(&body);
    let release = r#"{"name":"Liberty","version":"liberty-8.0","operating_system":"CentOS"}"#;
    assert_eq!(http(port, "POST", "/api/v1/releases", None, release).0, 401);
    let (status, body) = http(port, "POST", "/api/v1/releases", Some(&token), release);
    assert_eq!(status, 201, "{body}");
    assert_eq!(
        http(port, "POST", "/api/v1/releases", Some(&token), release).0,
        409
    );
    stop(child);

    // One JSON line per request, naming method, path and status.
    let lines = std::fs::read_to_string(&log).unwrap();
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
    let mut child = start(&config, &dir.path().join("second.log"));
    wait_healthy(port, &mut child);
    let (status, body) = http(port, "GET", "/api/v1/releases", Some(&token), "");
    assert_eq!(status, 200, "{body}");
    assert!(
        body.contains("\"name\":\"Liberty\"") && body.contains("\"version\":\"liberty-8.0\""),
        "{body}"
    );
    assert_eq!(http(port, "GET", "/api/v1/releases", None, "").0, 401);
    stop(child);
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
