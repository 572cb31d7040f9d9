//! How `fuel` connects and logs in: flags, environment, python-fuelclient's
//! settings file; and what it says when it cannot.

use std::os::unix::fs::PermissionsExt;

use fuel_api_client::Cluster;

use crate::fuel::Fuel;
use crate::support::{
    on_both_backends, release_and_cluster, Backend, TestApi, ADMIN, ADMIN_PASSWORD,
};

on_both_backends!(
    without_credentials_the_error_says_how_to_log_in,
    a_wrong_password_is_refused_naming_the_user,
    a_token_from_the_environment_or_the_command_line_is_used,
    a_fuelclient_settings_file_connects_and_logs_in,
    a_settings_file_others_can_read_is_refused_with_the_remedy
);

async fn without_credentials_the_error_says_how_to_log_in(backend: Backend) {
    let api = TestApi::start(backend, |_| {}).await;
    let fuel = Fuel::new(&api.url());
    let ran = fuel
        .fails(
            &["env"],
            "log in: set FUEL_USERNAME/FUEL_PASSWORD or pass --token",
        )
        .await;
    assert!(ran.stdout.is_empty());
    api.stop().await;
}

async fn a_wrong_password_is_refused_naming_the_user(backend: Backend) {
    let api = TestApi::start(backend, |_| {}).await;
    let fuel = Fuel::admin(&api.url()).with_env("FUEL_PASSWORD", "not-the-password");
    let ran = fuel.fails(&["env"], "refused user `admin`").await;
    assert!(
        ran.stderr.contains("check FUEL_USERNAME/FUEL_PASSWORD"),
        "{ran:?}"
    );
    assert!(!ran.stderr.contains("not-the-password"), "{ran:?}");
    api.stop().await;
}

async fn a_token_from_the_environment_or_the_command_line_is_used(backend: Backend) {
    let api = TestApi::start(backend, |_| {}).await;
    let (_, env) = release_and_cluster(&api.admin().await, "production").await;
    let token = api
        .anonymous()
        .login(ADMIN, ADMIN_PASSWORD)
        .await
        .unwrap()
        .token;
    let by_env = Fuel::new(&api.url()).with_env("FUEL_API_TOKEN", &token);
    let clusters: Vec<Cluster> = by_env.ok(&["env", "--json"]).await.json();
    assert_eq!(clusters, vec![env.clone()]);
    let by_flag = Fuel::new(&api.url());
    let clusters: Vec<Cluster> = by_flag
        .ok(&["env", "--token", &token, "--json"])
        .await
        .json();
    assert_eq!(clusters, vec![env]);
    // A token given by the operator is theirs: fuel does not revoke it.
    by_env.ok(&["env"]).await;

    let stale = Fuel::new(&api.url()).with_env("FUEL_API_TOKEN", "not-a-token");
    stale.fails(&["env"], "refused the token").await;
    api.stop().await;
}

/// Writes `~/.config/fuel/fuel_client.yaml` for `server` with `mode`.
fn write_settings(fuel: &Fuel, server: &str, mode: u32) {
    let (host, port) = server
        .trim_start_matches("http://")
        .rsplit_once(':')
        .unwrap();
    let dir = fuel.home().join(".config/fuel");
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("fuel_client.yaml");
    std::fs::write(
        &file,
        format!(
            "# Connection settings\nSERVER_ADDRESS: \"{host}\"\nSERVER_PORT: \"{port}\"\nOS_USERNAME: \"{ADMIN}\"\nOS_PASSWORD: \"{ADMIN_PASSWORD}\"\nOS_TENANT_NAME: \"admin\"\nHTTP_PROXY: null\nHTTP_TIMEOUT: 10\n"
        ),
    )
    .unwrap();
    std::fs::set_permissions(&file, std::fs::Permissions::from_mode(mode)).unwrap();
}

async fn a_fuelclient_settings_file_connects_and_logs_in(backend: Backend) {
    let api = TestApi::start(backend, |_| {}).await;
    let (_, env) = release_and_cluster(&api.admin().await, "production").await;
    let fuel = Fuel::new("unused").without_env("FUEL_API_URL");
    write_settings(&fuel, &api.url(), 0o600);
    let clusters: Vec<Cluster> = fuel.ok(&["env", "--json"]).await.json();
    assert_eq!(clusters, vec![env]);
    api.stop().await;
}

async fn a_settings_file_others_can_read_is_refused_with_the_remedy(backend: Backend) {
    let api = TestApi::start(backend, |_| {}).await;
    let fuel = Fuel::new("unused").without_env("FUEL_API_URL");
    write_settings(&fuel, &api.url(), 0o644);
    let ran = fuel.fails(&["env"], "chmod 600").await;
    assert!(!ran.stderr.contains(ADMIN_PASSWORD), "{ran:?}");
    api.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unreachable_server_is_named_with_the_remedy() {
    // A port nothing listens on: bound, then released.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let server = format!("http://127.0.0.1:{port}");
    let fuel = Fuel::admin(&server);
    fuel.fails(
        &["env"],
        &format!("is fuel-api running at {server}? set --server or FUEL_API_URL"),
    )
    .await;
}
