//! python-fuelclient's habits kept by `fuel`: global options before the
//! command, fuelclient's environment variables over its settings file, the
//! settings file Fuel and fuelclient wrote, `--yaml`, `--noop`, `list` as a
//! word, and a clear refusal of a password flag.

use std::os::unix::fs::PermissionsExt;

use fuel_api_client::{Cluster, Node};

use crate::fuel::Fuel;
use crate::support::{
    on_both_backends, release_and_cluster, Backend, TestApi, ADMIN, ADMIN_PASSWORD,
};

on_both_backends!(
    global_options_before_the_command_and_list_words_work_as_in_fuelclient,
    fuelclient_environment_variables_override_its_settings_file,
    a_settings_file_python_fuelclient_wrote_loads_with_one_warning
);

/// What python-fuelclient 11.0.0 writes to ~/.config/fuel/fuel_client.yaml on
/// first use (its packaged fuel_client.yaml), the values filled in by
/// `fill`: `{address}`, `{port}`, `{user}`, `{password}`.
const FUELCLIENT_WRITTEN: &str = "# Connection settings
SERVER_ADDRESS: \"{address}\"
SERVER_PORT: \"{port}\"
OS_USERNAME: {user}
OS_PASSWORD: {password}
# There's a need to provide default value for
# tenant name until fuel-library is updated.
# After that, it will be removed.
OS_TENANT_NAME: \"admin\"
HTTP_PROXY: null
HTTP_TIMEOUT: 10

# Performance tests settings
PERFORMANCE_PROFILING_TESTS: 0
PERF_TESTS_PATHS:
    perf_tests_base: \"/tmp/fuelclient_performance_tests/tests/\"
    last_performance_test: \"/tmp/fuelclient_performance_tests/tests/last/\"
    perf_tests_results: \"/tmp/fuelclient_performance_tests/results/\"
";

/// Writes fuelclient's file into `fuel`'s HOME (mode 0600, as fuelclient made it).
fn write_fuelclient_file(fuel: &Fuel, server: &str, user: &str, password: &str) {
    let (address, port) = server
        .trim_start_matches("http://")
        .rsplit_once(':')
        .unwrap();
    let text = FUELCLIENT_WRITTEN
        .replace("{address}", address)
        .replace("{port}", port)
        .replace("{user}", user)
        .replace("{password}", password);
    let dir = fuel.home().join(".config/fuel");
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("fuel_client.yaml");
    std::fs::write(&file, text).unwrap();
    std::fs::set_permissions(&file, std::fs::Permissions::from_mode(0o600)).unwrap();
}

async fn global_options_before_the_command_and_list_words_work_as_in_fuelclient(backend: Backend) {
    let api = TestApi::start(backend, |_| {}).await;
    let client = api.admin().await;
    let (release, env) = release_and_cluster(&client, "one").await;
    let other = client
        .create_cluster(&fuel_api_client::NewCluster {
            name: "two".into(),
            release_id: release.id,
        })
        .await
        .unwrap();
    let mut new = fuel_api_client::NewNode {
        hostname: "node-1".into(),
        ip: "10.20.0.3".into(),
        ssh_port: 22,
        os: fuel_node::PackageManager::Apt,
        cluster_id: Some(env.id),
        status: "ready".into(),
        host_key: crate::nodes::HOST_KEY.into(),
        allow_local_address: false,
        roles: Vec::new(),
    };
    let first: Node = client.create_node(&new).await.unwrap();
    new.hostname = "node-2".into();
    new.ip = "10.20.0.4".into();
    new.cluster_id = Some(other.id);
    client.create_node(&new).await.unwrap();
    let fuel = Fuel::admin(&api.url());
    let env_id = env.id.to_string();

    for args in [
        vec!["--env", &env_id, "node", "--json"],
        vec!["--env-id", &env_id, "--json", "node"],
        vec!["node", "list", "--env", &env_id, "--json"],
        vec!["--env", &env_id, "node", "list", "--json"],
    ] {
        let nodes: Vec<Node> = fuel.ok(&args).await.json();
        assert_eq!(nodes, vec![first.clone()], "{args:?}");
    }
    let all: Vec<Node> = fuel.ok(&["node", "list", "--json"]).await.json();
    assert_eq!(all.len(), 2);
    let envs: Vec<Cluster> = fuel.ok(&["env", "list", "--json"]).await.json();
    assert_eq!(envs, vec![env.clone(), other.clone()]);
    // Two different environments are a usage error, not a guess.
    let ran = fuel.run(&["--env", "1", "node", "--env", "2"]).await;
    assert_eq!(ran.code, 2, "{ran:?}");

    // The design's third command with the environment first reaches the
    // server's checks for that environment (it has no document yet).
    let node_id = first.id.to_string();
    for (first, extra) in [("--env-id", None), ("--env", Some("--noop"))] {
        let mut args = vec![
            first,
            &env_id,
            "node",
            "--node",
            &node_id,
            "--tasks",
            "execute_pm",
        ];
        args.extend(extra);
        fuel.fails(
            &args,
            &format!("environment {} has no package document", env.id),
        )
        .await;
    }
    // And `fuel --env N package …` is the same as `fuel package --env N …`.
    let revisions: Vec<serde_json::Value> = fuel
        .ok(&["--env", &env_id, "package", "--revisions", "--json"])
        .await
        .json();
    assert!(revisions.is_empty());
    let ran = fuel.run(&["package", "--revisions"]).await;
    assert_eq!(ran.code, 2, "{ran:?}");
    assert!(ran.stderr.contains("--env ID"), "{ran:?}");

    // --yaml beside --json: the same data.
    let yaml = fuel.ok(&["--yaml", "env"]).await.stdout;
    assert!(yaml.contains("name: one"), "{yaml}");
    assert!(
        yaml.contains(&format!("release_id: {}", release.id)),
        "{yaml}"
    );
    let ran = fuel.run(&["--yaml", "--json", "env"]).await;
    assert_eq!(ran.code, 2, "{ran:?}");

    // A password flag is refused with where the password goes instead, never echoed.
    for flag in ["--os-password", "--password"] {
        let ran = fuel.run(&["env", flag, "hunter2"]).await;
        assert_eq!(ran.code, 2, "{ran:?}");
        assert!(ran.stderr.contains("set FUEL_PASSWORD"), "{ran:?}");
        assert!(!ran.stderr.contains("hunter2"), "{ran:?}");
    }
    api.stop().await;
}

async fn fuelclient_environment_variables_override_its_settings_file(backend: Backend) {
    let api = TestApi::start(backend, |_| {}).await;
    let (_, env) = release_and_cluster(&api.admin().await, "production").await;
    // The file points at a master that does not exist, as a wrong user with
    // a wrong password: the environment must win on every key.
    let fuel = Fuel::new("http://ignored").without_env("FUEL_API_URL");
    write_fuelclient_file(&fuel, "http://127.0.0.1:1", "nobody", "\"wrong\"");
    let (address, port) = api
        .url()
        .trim_start_matches("http://")
        .rsplit_once(':')
        .map(|(a, p)| (a.to_string(), p.to_string()))
        .unwrap();
    let fuel = fuel
        .with_env("SERVER_ADDRESS", &address)
        .with_env("SERVER_PORT", &port)
        .with_env("OS_USERNAME", ADMIN)
        .with_env("OS_PASSWORD", ADMIN_PASSWORD);
    let envs: Vec<Cluster> = fuel.ok(&["env", "--json"]).await.json();
    assert_eq!(envs, vec![env]);
    // Without OS_PASSWORD the file's (wrong) password is used, and refused.
    let fuel = fuel.without_env("OS_PASSWORD");
    fuel.fails(&["env"], "refused user `admin`").await;
    // FUEL_* come before OS_*.
    let fuel = fuel
        .with_env("FUEL_PASSWORD", ADMIN_PASSWORD)
        .with_env("OS_PASSWORD", "wrong");
    fuel.ok(&["env"]).await;
    api.stop().await;
}

async fn a_settings_file_python_fuelclient_wrote_loads_with_one_warning(backend: Backend) {
    let api = TestApi::start(backend, |_| {}).await;
    let (_, env) = release_and_cluster(&api.admin().await, "production").await;
    let fuel = Fuel::new("http://ignored").without_env("FUEL_API_URL");
    write_fuelclient_file(&fuel, &api.url(), ADMIN, &format!("\"{ADMIN_PASSWORD}\""));
    let ran = fuel.ok(&["env", "--json"]).await;
    let envs: Vec<Cluster> = ran.json();
    assert_eq!(envs, vec![env]);
    let warnings: Vec<&str> = ran.stderr.lines().collect();
    assert_eq!(warnings.len(), 1, "{ran:?}");
    assert!(
        warnings[0].starts_with("fuel: warning: ")
            && warnings[0].contains(
                "ignoring HTTP_PROXY, HTTP_TIMEOUT, OS_TENANT_NAME, PERFORMANCE_PROFILING_TESTS, PERF_TESTS_PATHS"
            ),
        "{ran:?}"
    );
    // KEYSTONE_USER beside OS_USERNAME: a warning, and OS_USERNAME is used.
    let file = fuel.home().join(".config/fuel/fuel_client.yaml");
    let mut text = std::fs::read_to_string(&file).unwrap();
    text.push_str("KEYSTONE_USER: \"nobody\"\nKEYSTONE_PORT: \"5000\"\n");
    std::fs::write(&file, text).unwrap();
    let ran = fuel.ok(&["env"]).await;
    assert!(
        ran.stderr
            .contains("both KEYSTONE_USER and OS_USERNAME are set: using OS_USERNAME"),
        "{ran:?}"
    );
    assert!(ran.stderr.contains("KEYSTONE_PORT"), "{ran:?}");
    api.stop().await;
}
