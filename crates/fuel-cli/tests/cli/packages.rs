//! `fuel package`: the design's document through upload and download byte
//! for byte, revisions with who and when, optimistic concurrency, and bad
//! documents refused locally with FILE:LINE:COL before anything is sent.

use std::path::PathBuf;

use fuel_api_client::PackageRevision;

use crate::fuel::Fuel;
use crate::support::{on_both_backends, release_and_cluster, Backend, TestApi};

on_both_backends!(
    the_designs_example_round_trips_byte_identical,
    revisions_say_who_and_when_and_each_can_be_downloaded,
    a_stale_if_match_is_refused_and_stores_nothing,
    a_bad_document_is_refused_locally_naming_file_line_and_column,
    a_deleted_document_is_gone_and_recorded,
    uploads_need_a_login,
    an_upload_reads_no_more_than_a_document_may_be_from_a_device_or_a_fifo
);

/// The design's example document (004), exactly as the document library tests it.
fn design_example() -> Vec<u8> {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../fuel-pm/examples/design.yaml");
    std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// A running API with one environment, and `fuel` logged in as admin.
async fn api_with_env(backend: Backend) -> (TestApi, Fuel, String) {
    let api = TestApi::start(backend, |_| {}).await;
    let (_, env) = release_and_cluster(&api.admin().await, "production").await;
    let fuel = Fuel::admin(&api.url());
    (api, fuel, env.id.to_string())
}

async fn the_designs_example_round_trips_byte_identical(backend: Backend) {
    let (api, fuel, env) = api_with_env(backend).await;
    // A comment and odd spacing too: the download is the upload, not a re-serialisation.
    let mut document = b"# maintenance window 42\n".to_vec();
    document.extend(design_example());
    document.extend(b"\n\n# end\n");
    std::fs::write(fuel.home().join("file.yaml"), &document).unwrap();

    let ran = fuel
        .ok(&["package", "--env", &env, "--upload", "file.yaml"])
        .await;
    assert!(
        ran.stdout.contains("stored as revision 1 of environment"),
        "{ran:?}"
    );
    assert!(ran.stdout.contains("by admin"), "{ran:?}");

    let ran = fuel.ok(&["package", "--env", &env, "--download"]).await;
    let written = format!("./package_manipulation_{env}.yaml");
    assert_eq!(ran.stdout, format!("{written}\n"));
    assert!(
        ran.stderr.contains("--if-match"),
        "the ETag is shown: {ran:?}"
    );
    assert_eq!(std::fs::read(fuel.home().join(&written)).unwrap(), document);
    // Exec one-liners may hold secrets: readable by the operator alone,
    // also when the download replaces a file anyone could read.
    let mode = |path: &std::path::Path| {
        use std::os::unix::fs::PermissionsExt;
        std::fs::metadata(path).unwrap().permissions().mode() & 0o777
    };
    assert_eq!(mode(&fuel.home().join(&written)), 0o600);
    std::fs::set_permissions(
        fuel.home().join(&written),
        std::os::unix::fs::PermissionsExt::from_mode(0o644),
    )
    .unwrap();
    fuel.ok(&["package", "--env", &env, "--download"]).await;
    assert_eq!(mode(&fuel.home().join(&written)), 0o600);

    std::fs::create_dir(fuel.home().join("out")).unwrap();
    let ran = fuel
        .ok(&[
            "package",
            "--env",
            &env,
            "--download",
            "--dir",
            "out",
            "--json",
        ])
        .await;
    let json: serde_json::Value = ran.json();
    let path = fuel.home().join(json["path"].as_str().unwrap());
    assert_eq!(std::fs::read(path).unwrap(), document);
    assert_eq!(json["size"], document.len());
    assert!(
        json["etag"].as_str().is_some_and(|e| !e.is_empty()),
        "{json}"
    );
    let leftovers: Vec<_> = std::fs::read_dir(fuel.home().join("out"))
        .unwrap()
        .collect();
    assert_eq!(
        leftovers.len(),
        1,
        "no temporary file is left: {leftovers:?}"
    );

    fuel.fails(
        &["package", "--env", &env, "--download", "--dir", "missing"],
        "missing is not a directory",
    )
    .await;
    api.stop().await;
}

async fn revisions_say_who_and_when_and_each_can_be_downloaded(backend: Backend) {
    let (api, fuel, env) = api_with_env(backend).await;
    let first = design_example();
    let second = b"packages:\n- name: tmux\n  version: absent\n".to_vec();
    for document in [&first, &second] {
        std::fs::write(fuel.home().join("doc.yaml"), document).unwrap();
        fuel.ok(&["package", "--env", &env, "--upload", "doc.yaml"])
            .await;
    }

    let table = fuel
        .ok(&["package", "--env", &env, "--revisions"])
        .await
        .stdout;
    let lines: Vec<&str> = table.lines().collect();
    assert!(lines[0].starts_with("revision | author | time"), "{table}");
    assert!(lines[2].starts_with("1        | admin  | 20"), "{table}");
    assert!(lines[3].starts_with("2        | admin  | 20"), "{table}");
    assert!(
        lines[3].contains(&format!("| {} ", second.len())),
        "{table}"
    );

    let revisions: Vec<PackageRevision> = fuel
        .ok(&["package", "--env", &env, "--revisions", "--json"])
        .await
        .json();
    assert_eq!(revisions.len(), 2);
    assert!(revisions.iter().all(|r| r.author == "admin"));
    assert_eq!(revisions[0].size, first.len() as u64);
    assert!(lines[2].ends_with(&revisions[0].sha256[..12]), "{table}");

    let ran = fuel
        .ok(&["package", "--env", &env, "--download", "--revision", "1"])
        .await;
    assert_eq!(
        std::fs::read(fuel.home().join(ran.stdout.trim())).unwrap(),
        first
    );
    fuel.fails(
        &["package", "--env", &env, "--download", "--revision", "9"],
        "has no revision 9",
    )
    .await;
    api.stop().await;
}

async fn a_stale_if_match_is_refused_and_stores_nothing(backend: Backend) {
    let (api, fuel, env) = api_with_env(backend).await;
    std::fs::write(fuel.home().join("doc.yaml"), design_example()).unwrap();
    fuel.ok(&["package", "--env", &env, "--upload", "doc.yaml"])
        .await;
    let read: serde_json::Value = fuel
        .ok(&["package", "--env", &env, "--download", "--json"])
        .await
        .json();
    let etag = read["etag"].as_str().unwrap().to_string();

    // Operator A edits and uploads against what they read: accepted.
    std::fs::write(fuel.home().join("a.yaml"), "packages:\n- name: tmux\n").unwrap();
    let upload = ["package", "--env", &env, "--upload"];
    fuel.ok(&[&upload[..], &["a.yaml", "--if-match", &etag]].concat())
        .await;
    // Operator B read the same version: refused, told what to do.
    std::fs::write(fuel.home().join("b.yaml"), "packages:\n- name: screen\n").unwrap();
    fuel.fails(
        &[&upload[..], &["b.yaml", "--if-match", &etag]].concat(),
        "changed since ETag",
    )
    .await;
    let revisions: Vec<PackageRevision> = fuel
        .ok(&["package", "--env", &env, "--revisions", "--json"])
        .await
        .json();
    assert_eq!(revisions.len(), 2, "B's upload stored nothing");
    api.stop().await;
}

async fn a_bad_document_is_refused_locally_naming_file_line_and_column(backend: Backend) {
    let (api, fuel, env) = api_with_env(backend).await;
    let bad = "packages:\n- name: tmux\n  verison: 1.0\n";
    std::fs::write(fuel.home().join("bad.yaml"), bad).unwrap();
    let ran = fuel
        .fails(
            &["package", "--env", &env, "--upload", "bad.yaml"],
            "bad.yaml was not uploaded",
        )
        .await;
    assert!(ran.stderr.starts_with("bad.yaml:3:3: "), "{}", ran.stderr);
    assert!(ran.stderr.contains("verison"), "{}", ran.stderr);
    let revisions: Vec<PackageRevision> = fuel
        .ok(&["package", "--env", &env, "--revisions", "--json"])
        .await
        .json();
    assert!(revisions.is_empty(), "nothing was stored: {revisions:?}");

    // Nothing is sent at all: the same refusal with no server to reach.
    let offline = Fuel::admin("http://127.0.0.1:1");
    std::fs::write(offline.home().join("bad.yaml"), bad).unwrap();
    let ran = offline
        .fails(
            &["package", "--env", &env, "--upload", "bad.yaml"],
            "bad.yaml:3:3: ",
        )
        .await;
    assert!(!ran.stderr.contains("cannot reach"), "{}", ran.stderr);
    fuel.fails(
        &["package", "--env", &env, "--upload", "absent.yaml"],
        "cannot read absent.yaml",
    )
    .await;
    api.stop().await;
}

async fn a_deleted_document_is_gone_and_recorded(backend: Backend) {
    let (api, fuel, env) = api_with_env(backend).await;
    let no_document = format!("environment {env} has no package document");
    fuel.fails(&["package", "--env", &env, "--download"], &no_document)
        .await;
    std::fs::write(fuel.home().join("doc.yaml"), design_example()).unwrap();
    fuel.ok(&["package", "--env", &env, "--upload", "doc.yaml"])
        .await;
    fuel.ok(&["package", "--env", &env, "--delete"]).await;
    fuel.fails(&["package", "--env", &env, "--download"], &no_document)
        .await;
    let table = fuel
        .ok(&["package", "--env", &env, "--revisions"])
        .await
        .stdout;
    assert!(table.contains("(deleted)"), "{table}");
    assert!(!fuel
        .home()
        .join(format!("package_manipulation_{env}.yaml"))
        .exists());
    api.stop().await;
}

async fn uploads_need_a_login(backend: Backend) {
    let (api, fuel, env) = api_with_env(backend).await;
    let anonymous = Fuel::new(&api.url());
    std::fs::write(anonymous.home().join("doc.yaml"), design_example()).unwrap();
    anonymous
        .fails(
            &["package", "--env", &env, "--upload", "doc.yaml"],
            "log in: set FUEL_USERNAME/FUEL_PASSWORD or pass --token",
        )
        .await;
    let revisions: Vec<PackageRevision> = fuel
        .ok(&["package", "--env", &env, "--revisions", "--json"])
        .await
        .json();
    assert!(revisions.is_empty());
    api.stop().await;
}

async fn an_upload_reads_no_more_than_a_document_may_be_from_a_device_or_a_fifo(backend: Backend) {
    let (api, fuel, env) = api_with_env(backend).await;
    let limit = fuel_pm::MAX_DOCUMENT_BYTES.to_string();
    // A device whose size says 0 and that never ends.
    let ran = tokio::time::timeout(
        std::time::Duration::from_secs(60),
        fuel.fails(&["package", "--env", &env, "--upload", "/dev/zero"], &limit),
    )
    .await
    .expect("fuel read /dev/zero for a minute: an upload must stop after the document limit");
    assert!(ran.stderr.contains("/dev/zero"), "{ran:?}");

    // A FIFO whose writer never stops.
    let fifo = fuel.home().join("endless.yaml");
    let made = std::process::Command::new(fuel_test_bed::require_tool("mkfifo"))
        .arg(&fifo)
        .status()
        .unwrap();
    assert!(made.success());
    let writer = {
        let fifo = fifo.clone();
        std::thread::spawn(move || {
            use std::io::Write;
            let mut pipe = std::fs::OpenOptions::new().write(true).open(fifo).unwrap();
            let chunk = vec![b'#'; 1 << 20];
            // Until the reader closes it (EPIPE): at most the limit plus a chunk is ever read.
            let mut written = 0usize;
            while pipe.write_all(&chunk).is_ok() {
                written += chunk.len();
            }
            written
        })
    };
    let ran = tokio::time::timeout(
        std::time::Duration::from_secs(60),
        fuel.fails(
            &["package", "--env", &env, "--upload", "endless.yaml"],
            &limit,
        ),
    )
    .await
    .expect("fuel read an endless FIFO for a minute");
    assert!(ran.stderr.contains("endless.yaml"), "{ran:?}");
    let written = writer.join().unwrap();
    assert!(
        written <= fuel_pm::MAX_DOCUMENT_BYTES + (2 << 20),
        "the writer got {written} bytes in"
    );
    assert!(
        api.admin()
            .await
            .list_package_revisions(env.parse().unwrap())
            .await
            .map(|r| r.is_empty())
            .unwrap_or(true),
        "nothing was stored"
    );
    api.stop().await;
}
