//! An upload the packaged fuel-api answered as stored is stored: sixteen
//! clients upload package documents at once, fuel-api is killed with SIGKILL
//! the moment the first answer arrives (uploads still in flight, a group of
//! them possibly mid-commit), started again on the same database, and every
//! revision that was answered 200/201 is served back byte for byte. Uploads
//! are committed in groups (crates/fuel-api/src/store/group_commit.rs); this
//! is what proves a write is answered only after the commit holding it. On
//! SQLite (WAL, synchronous = FULL) and on PostgreSQL.

use std::process::Command;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{mpsc, Arc};

use fuel_e2e::api::{ApiConfig, PackagedApi};
use fuel_e2e::http::{exchange as http, try_exchange_typed};
use fuel_e2e::{postgres_url, require_tool};

const PASSWORD: &str = "durability-password";
const CLIENTS: usize = 16;

#[test]
fn uploads_answered_before_a_sigkill_are_served_after_the_restart_on_sqlite() {
    uploads_answered_before_a_sigkill_are_served_after_the_restart(None);
}

#[test]
fn uploads_answered_before_a_sigkill_are_served_after_the_restart_on_postgresql() {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_nanos();
    let name = format!("fuel_e2e_durability_{}_{nanos}", std::process::id());
    psql(&format!("CREATE DATABASE {name}"));
    let url = fuel_test_bed::database_url(&postgres_url(), &name);
    let outcome = std::panic::catch_unwind(|| {
        uploads_answered_before_a_sigkill_are_served_after_the_restart(Some(url));
    });
    psql(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"));
    if let Err(panic) = outcome {
        std::panic::resume_unwind(panic);
    }
}

fn psql(query: &str) {
    let out = Command::new(require_tool("psql"))
        .args([postgres_url().as_str(), "-qAt", "-c", query])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "psql {query}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// Client `client`'s `n`th document: different bytes for every upload.
fn document(client: usize, n: usize) -> String {
    let mut text = format!("# client {client}, upload {n}\npackages:\n");
    for i in 0..200 {
        text.push_str(&format!(
            "- name: durable-{client}-{n}-{i}\n  version: '1.{i}-{n}'\n"
        ));
    }
    text
}

fn uploads_answered_before_a_sigkill_are_served_after_the_restart(database_url: Option<String>) {
    let dir = tempfile::tempdir().unwrap();
    let config = ApiConfig {
        database_url,
        ..ApiConfig::new(PASSWORD)
    };
    let mut api = PackagedApi::start(dir.path(), &config).unwrap_or_else(|e| panic!("{e:#}"));
    let (port, token) = (api.port, api.token.clone());
    let release = r#"{"name":"Liberty","version":"liberty-8.0","operating_system":"CentOS"}"#;
    let (status, body) = http(port, "POST", "/api/v1/releases", Some(&token), release);
    assert_eq!(status, 201, "{body}");
    let release: serde_json::Value = serde_json::from_str(&body).unwrap();
    let cluster = format!(r#"{{"name":"durable","release_id":{}}}"#, release["id"]);
    let (status, body) = http(port, "POST", "/api/v1/clusters", Some(&token), &cluster);
    assert_eq!(status, 201, "{body}");
    let cluster: serde_json::Value = serde_json::from_str(&body).unwrap();
    let path = format!("/api/v1/clusters/{}/package_manipulation", cluster["id"]);

    // Each client uploads until the server is gone, reporting every
    // document answered as stored with its revision number.
    let killed = Arc::new(AtomicBool::new(false));
    let (answered, answers) = mpsc::channel::<(i64, String)>();
    let clients: Vec<_> = (0..CLIENTS)
        .map(|client| {
            let (path, token, killed, answered) = (
                path.clone(),
                token.clone(),
                killed.clone(),
                answered.clone(),
            );
            std::thread::spawn(move || {
                for n in 0.. {
                    if killed.load(Ordering::SeqCst) {
                        return;
                    }
                    let doc = document(client, n);
                    let yaml = "application/yaml";
                    let Ok((status, body)) =
                        try_exchange_typed(port, "PUT", &path, Some(&token), yaml, &doc)
                    else {
                        return;
                    };
                    // An answer cut short by the kill is no answer.
                    let Ok(revision) = serde_json::from_str::<serde_json::Value>(&body) else {
                        return;
                    };
                    assert!(status == 200 || status == 201, "{status}: {body}");
                    let number = revision["revision"].as_i64().unwrap();
                    if answered.send((number, doc)).is_err() {
                        return;
                    }
                }
            })
        })
        .collect();
    drop(answered);
    let first = answers.recv().expect("no upload was answered");
    api.kill();
    killed.store(true, Ordering::SeqCst);
    for client in clients {
        client.join().unwrap();
    }
    let mut stored = vec![first];
    stored.extend(answers.try_iter());

    api.restart().unwrap_or_else(|e| panic!("{e:#}"));
    for (revision, doc) in &stored {
        let (status, body) = http(
            port,
            "GET",
            &format!("{path}/revisions/{revision}"),
            Some(&token),
            "",
        );
        assert_eq!(
            status, 200,
            "revision {revision} answered as stored is gone: {body}"
        );
        assert_eq!(&body, doc, "revision {revision} came back different");
    }
    api.stop().unwrap_or_else(|e| panic!("{e:#}"));
}
