//! Nodes: registration with a checked host key, the `cluster_id` filter,
//! partial updates, and every refusal naming its field with nothing stored.

use std::process::Command;

use fuel_api_client::{ClientError, NewNode, Node, NodeUpdate};
use fuel_node::PackageManager;

use crate::support::{on_both_backends, release_and_cluster, Backend, TestApi};

on_both_backends!(
    node_create_read_list_update_delete,
    nodes_filter_by_cluster,
    node_inputs_are_checked_and_refusals_store_nothing,
    hostname_and_address_are_unique,
    deleting_a_cluster_unassigns_its_nodes,
    node_writes_need_a_token,
    an_ipv4_mapped_address_is_its_ipv4_address_and_local_addresses_need_the_option,
    a_list_of_nodes_registers_all_or_none,
    roles_are_checked_stored_and_replaced
);

/// A fresh host key made by OpenSSH's ssh-keygen, and the fingerprint
/// `ssh-keygen -l` prints for it.
pub fn host_key(kind: &str) -> (String, String) {
    let keygen = fuel_test_bed::require_tool("ssh-keygen");
    let dir = tempfile::tempdir().unwrap();
    let key = dir.path().join("ssh_host_key");
    let made = Command::new(&keygen)
        .args(["-q", "-t", kind, "-N", "", "-C", "root@node", "-f"])
        .arg(&key)
        .status()
        .unwrap();
    assert!(made.success(), "ssh-keygen -t {kind}");
    let line = std::fs::read_to_string(key.with_extension("pub")).unwrap();
    let listed = Command::new(&keygen)
        .arg("-lf")
        .arg(key.with_extension("pub"))
        .output()
        .unwrap();
    // "256 SHA256:… root@node (ED25519)"
    let fingerprint = String::from_utf8(listed.stdout)
        .unwrap()
        .split_whitespace()
        .nth(1)
        .unwrap()
        .to_string();
    (line.trim_end().to_string(), fingerprint)
}

pub fn new_node(hostname: &str, ip: &str, cluster_id: Option<i64>) -> NewNode {
    NewNode {
        hostname: hostname.to_string(),
        ip: ip.to_string(),
        ssh_port: 22,
        os: PackageManager::Apt,
        cluster_id,
        status: "ready".to_string(),
        host_key: host_key("ed25519").0,
        allow_local_address: false,
        roles: Vec::new(),
    }
}

async fn node_create_read_list_update_delete(backend: Backend) {
    let api = TestApi::start(backend, |_| {}).await;
    let client = api.admin().await;
    let (_, env) = release_and_cluster(&client, "production").await;
    assert!(client.list_nodes(None).await.unwrap().is_empty());

    let (key, fingerprint) = host_key("ed25519");
    let created = client
        .create_node(&NewNode {
            hostname: "node-2.domain.tld".into(),
            ip: "10.20.0.3".into(),
            ssh_port: 2222,
            os: PackageManager::Dnf,
            cluster_id: Some(env.id),
            status: "ready".into(),
            host_key: key.clone(),
            allow_local_address: false,
            roles: vec!["controller".into()],
        })
        .await
        .unwrap();
    assert_eq!(
        created,
        Node {
            id: created.id,
            hostname: "node-2.domain.tld".into(),
            ip: "10.20.0.3".into(),
            ssh_port: 2222,
            os: PackageManager::Dnf,
            cluster_id: Some(env.id),
            status: "ready".into(),
            // Stored without the comment; the fingerprint is ssh-keygen's.
            host_key: key.strip_suffix(" root@node").unwrap().parse().unwrap(),
            host_key_fingerprint: fingerprint,
            roles: vec!["controller".into()],
        }
    );
    assert_eq!(client.get_node(created.id).await.unwrap(), created);
    assert_eq!(
        client.list_nodes(None).await.unwrap(),
        vec![created.clone()]
    );

    // An ECDSA and an RSA key are host keys too.
    for (hostname, ip, kind) in [
        ("node-3", "10.20.0.4", "ecdsa"),
        ("node-4", "fd00::4", "rsa"),
    ] {
        let (key, fingerprint) = host_key(kind);
        let mut new = new_node(hostname, ip, None);
        new.host_key = key;
        let node = client.create_node(&new).await.unwrap();
        assert_eq!(node.host_key_fingerprint, fingerprint, "{kind}");
    }

    // A partial update changes what it names and nothing else.
    let (new_key, new_fingerprint) = host_key("ed25519");
    let updated = client
        .update_node(
            created.id,
            &NodeUpdate {
                status: Some("provisioned".into()),
                host_key: Some(new_key),
                ..NodeUpdate::default()
            },
        )
        .await
        .unwrap();
    assert_eq!(
        (
            updated.status.as_str(),
            updated.host_key_fingerprint.as_str()
        ),
        ("provisioned", new_fingerprint.as_str())
    );
    assert_eq!(
        (
            updated.hostname.as_str(),
            updated.ssh_port,
            updated.cluster_id
        ),
        ("node-2.domain.tld", 2222, Some(env.id))
    );
    // An explicit null unassigns it.
    let unassigned = client
        .update_node(
            created.id,
            &NodeUpdate {
                cluster_id: Some(None),
                ..NodeUpdate::default()
            },
        )
        .await
        .unwrap();
    assert_eq!(unassigned.cluster_id, None);
    assert_eq!(unassigned.status, "provisioned");

    client.delete_node(created.id).await.unwrap();
    assert!(matches!(
        client.get_node(created.id).await,
        Err(ClientError::NotFound(_))
    ));
    assert!(matches!(
        client.delete_node(created.id).await,
        Err(ClientError::NotFound(_))
    ));
    assert!(matches!(
        client.update_node(created.id, &NodeUpdate::default()).await,
        Err(ClientError::NotFound(_))
    ));
    assert_eq!(client.list_nodes(None).await.unwrap().len(), 2);
    api.stop().await;
}

async fn nodes_filter_by_cluster(backend: Backend) {
    let api = TestApi::start(backend, |_| {}).await;
    let client = api.admin().await;
    let (_, one) = release_and_cluster(&client, "one").await;
    let two = client
        .create_cluster(&fuel_api_client::NewCluster {
            name: "two".into(),
            release_id: one.release_id,
        })
        .await
        .unwrap();
    let a = client
        .create_node(&new_node("a", "10.0.0.1", Some(one.id)))
        .await
        .unwrap();
    let b = client
        .create_node(&new_node("b", "10.0.0.2", Some(two.id)))
        .await
        .unwrap();
    let c = client
        .create_node(&new_node("c", "10.0.0.3", Some(one.id)))
        .await
        .unwrap();
    client
        .create_node(&new_node("d", "10.0.0.4", None))
        .await
        .unwrap();
    assert_eq!(client.list_nodes(Some(one.id)).await.unwrap(), vec![a, c]);
    assert_eq!(client.list_nodes(Some(two.id)).await.unwrap(), vec![b]);
    assert!(client.list_nodes(Some(4242)).await.unwrap().is_empty());
    assert_eq!(client.list_nodes(None).await.unwrap().len(), 4);
    api.stop().await;
}

/// The 400 a call got: its field and message.
fn refused<T: std::fmt::Debug>(result: Result<T, ClientError>) -> (String, String) {
    match result {
        Err(ClientError::Invalid { status: 400, error }) => {
            (error.field.clone().unwrap_or_default(), error.message)
        }
        other => panic!("expected a 400, got {other:?}"),
    }
}

async fn node_inputs_are_checked_and_refusals_store_nothing(backend: Backend) {
    let api = TestApi::start(backend, |_| {}).await;
    let client = api.admin().await;
    let (_, env) = release_and_cluster(&client, "env").await;
    let good = new_node("node-2", "10.20.0.3", Some(env.id));
    let (_, key_blob) = good.host_key.split_once(' ').unwrap();
    let key_blob = key_blob.split(' ').next().unwrap().to_string();
    let (rsa_key, _) = host_key("rsa");
    let rsa_blob = rsa_key.split(' ').nth(1).unwrap().to_string();
    let cases: Vec<(NewNode, &str, &str)> = vec![
        (
            NewNode {
                ip: "10.20.0.300".into(),
                ..good.clone()
            },
            "ip",
            "not an IP address",
        ),
        (
            NewNode {
                ip: "node-2".into(),
                ..good.clone()
            },
            "ip",
            "not an IP address",
        ),
        (
            NewNode {
                ip: "".into(),
                ..good.clone()
            },
            "ip",
            "not an IP address",
        ),
        (
            NewNode {
                hostname: "".into(),
                ..good.clone()
            },
            "hostname",
            "not a host name",
        ),
        (
            NewNode {
                hostname: "node 2; rm -rf /".into(),
                ..good.clone()
            },
            "hostname",
            "not a host name",
        ),
        (
            NewNode {
                hostname: "-node".into(),
                ..good.clone()
            },
            "hostname",
            "not a host name",
        ),
        (
            NewNode {
                ssh_port: 0,
                ..good.clone()
            },
            "ssh_port",
            "not a port",
        ),
        (
            NewNode {
                status: "sleeping".into(),
                ..good.clone()
            },
            "status",
            "unknown node status",
        ),
        (
            NewNode {
                cluster_id: Some(4242),
                ..good.clone()
            },
            "cluster_id",
            "no cluster 4242",
        ),
        (
            NewNode {
                host_key: "".into(),
                ..good.clone()
            },
            "host_key",
            "not a public key line",
        ),
        (
            NewNode {
                host_key: format!("ssh-dss {key_blob}"),
                ..good.clone()
            },
            "host_key",
            "unknown key type",
        ),
        (
            NewNode {
                host_key: "ssh-ed25519 not*base64".into(),
                ..good.clone()
            },
            "host_key",
            "does not decode",
        ),
        (
            // The type on the line and the one inside the blob disagree.
            NewNode {
                host_key: format!("ssh-ed25519 {rsa_blob}"),
                ..good.clone()
            },
            "host_key",
            "the key inside is `ssh-rsa`",
        ),
        (
            NewNode {
                host_key: format!("ssh-ed25519 {}", &key_blob[..40]),
                ..good.clone()
            },
            "host_key",
            "truncated",
        ),
    ];
    for (node, field, words) in cases {
        let (got_field, message) = refused(client.create_node(&node).await);
        assert_eq!(got_field, field, "{node:?}: {message}");
        assert!(
            message.contains(words),
            "{node:?}: {message} should say {words}"
        );
    }
    assert!(
        client.list_nodes(None).await.unwrap().is_empty(),
        "nothing stored"
    );

    // The same checks guard updates, and a refused update changes nothing.
    let node = client.create_node(&good).await.unwrap();
    let updates = [
        (r#"{"ip": "10.20.0"}"#, "ip"),
        (r#"{"hostname": "a_b"}"#, "hostname"),
        (r#"{"cluster_id": 4242}"#, "cluster_id"),
        (r#"{"host_key": "ssh-ed25519"}"#, "host_key"),
        (r#"{"status": ""}"#, "status"),
        (r#"{"ssh_port": 0}"#, "ssh_port"),
    ];
    for (update, field) in updates {
        let update: NodeUpdate = serde_json::from_str(update).unwrap();
        let (got_field, message) = refused(client.update_node(node.id, &update).await);
        assert_eq!(got_field, field, "{update:?}: {message}");
    }
    assert_eq!(client.get_node(node.id).await.unwrap(), node, "unchanged");
    api.stop().await;
}

async fn hostname_and_address_are_unique(backend: Backend) {
    let api = TestApi::start(backend, |_| {}).await;
    let client = api.admin().await;
    let first = client
        .create_node(&new_node("node-2", "10.20.0.3", None))
        .await
        .unwrap();
    let conflict = |result: Result<Node, ClientError>| match result {
        Err(ClientError::Conflict(error)) => (error.field.unwrap_or_default(), error.message),
        other => panic!("expected 409, got {other:?}"),
    };
    let (field, message) = conflict(
        client
            .create_node(&new_node("node-2", "10.20.0.9", None))
            .await,
    );
    assert_eq!(field, "hostname", "{message}");
    assert!(message.contains("node-2"), "{message}");
    // One address in two spellings is one address.
    let (field, message) = conflict(
        client
            .create_node(&new_node("node-3", "10.20.0.3", None))
            .await,
    );
    assert_eq!(field, "ip", "{message}");
    let first_v6 = client
        .create_node(&new_node("node-6", "fd00:0:0::6", None))
        .await
        .unwrap();
    assert_eq!(first_v6.ip, "fd00::6");
    let (field, _) = conflict(
        client
            .create_node(&new_node("node-7", "fd00::6", None))
            .await,
    );
    assert_eq!(field, "ip");
    // Another port on the same address is another sshd.
    let mut other_port = new_node("node-3", "10.20.0.3", None);
    other_port.ssh_port = 2222;
    let second = client.create_node(&other_port).await.unwrap();
    // Renaming onto a taken name is refused the same way.
    let (field, _) = conflict(
        client
            .update_node(
                second.id,
                &NodeUpdate {
                    hostname: Some("node-2".into()),
                    ..NodeUpdate::default()
                },
            )
            .await,
    );
    assert_eq!(field, "hostname");
    let (field, _) = conflict(
        client
            .update_node(
                second.id,
                &NodeUpdate {
                    ssh_port: Some(22),
                    ..NodeUpdate::default()
                },
            )
            .await,
    );
    assert_eq!(field, "ip");
    assert_eq!(
        client.list_nodes(None).await.unwrap(),
        vec![first, first_v6, second],
        "nothing stored by the refusals"
    );
    api.stop().await;
}

async fn deleting_a_cluster_unassigns_its_nodes(backend: Backend) {
    let api = TestApi::start(backend, |_| {}).await;
    let client = api.admin().await;
    let (_, env) = release_and_cluster(&client, "env").await;
    let node = client
        .create_node(&new_node("node-2", "10.20.0.3", Some(env.id)))
        .await
        .unwrap();
    client.delete_cluster(env.id).await.unwrap();
    let kept = client.get_node(node.id).await.unwrap();
    assert_eq!(
        kept,
        Node {
            cluster_id: None,
            ..node
        }
    );
    api.stop().await;
}

async fn node_writes_need_a_token(backend: Backend) {
    let api = TestApi::start(backend, |config| config.auth.reads_require_token = false).await;
    let anonymous = api.anonymous();
    assert!(matches!(
        anonymous
            .create_node(&new_node("node-2", "10.20.0.3", None))
            .await,
        Err(ClientError::Unauthorized(_))
    ));
    let node = api
        .admin()
        .await
        .create_node(&new_node("node-2", "10.20.0.3", None))
        .await
        .unwrap();
    assert!(matches!(
        anonymous.delete_node(node.id).await,
        Err(ClientError::Unauthorized(_))
    ));
    assert!(matches!(
        anonymous.update_node(node.id, &NodeUpdate::default()).await,
        Err(ClientError::Unauthorized(_))
    ));
    // Reads are open here (reads_require_token = false).
    assert_eq!(anonymous.list_nodes(None).await.unwrap(), vec![node]);
    api.stop().await;
}

async fn an_ipv4_mapped_address_is_its_ipv4_address_and_local_addresses_need_the_option(
    backend: Backend,
) {
    let api = TestApi::start(backend, |_| {}).await;
    let client = api.admin().await;
    let first = client
        .create_node(&new_node("node-2", "10.0.0.1", None))
        .await
        .unwrap();
    match client
        .create_node(&new_node("node-3", "::ffff:10.0.0.1", None))
        .await
    {
        Err(ClientError::Conflict(error)) => {
            assert_eq!(error.field.as_deref(), Some("ip"), "{error}")
        }
        other => panic!("::ffff:10.0.0.1 is 10.0.0.1, expected 409: {other:?}"),
    }
    let mapped = client
        .create_node(&new_node("node-4", "::ffff:10.0.0.4", None))
        .await
        .unwrap();
    assert_eq!(mapped.ip, "10.0.0.4", "stored as the IPv4 address");

    for local in [
        "127.0.0.1",
        "127.1.2.3",
        "::ffff:127.0.0.1",
        "0.0.0.0",
        "255.255.255.255",
        "224.0.0.1",
        "::1",
        "::",
        "ff02::1",
    ] {
        let (field, message) = refused(client.create_node(&new_node("node-9", local, None)).await);
        assert_eq!(field, "ip", "{local}: {message}");
        assert!(
            message.contains("allow_local_address"),
            "{local}: {message}"
        );
        let (field, _) = refused(
            client
                .update_node(
                    first.id,
                    &NodeUpdate {
                        ip: Some(local.into()),
                        ..NodeUpdate::default()
                    },
                )
                .await,
        );
        assert_eq!(field, "ip", "{local}");
    }
    assert_eq!(
        client.list_nodes(None).await.unwrap(),
        vec![first.clone(), mapped],
        "nothing stored by the refusals"
    );
    let master = client
        .create_node(&NewNode {
            allow_local_address: true,
            ..new_node("master", "127.0.0.1", None)
        })
        .await
        .unwrap();
    assert_eq!(master.ip, "127.0.0.1");
    api.stop().await;
}

async fn a_list_of_nodes_registers_all_or_none(backend: Backend) {
    let api = TestApi::start(backend, |_| {}).await;
    let client = api.admin().await;
    let (_, env) = release_and_cluster(&client, "env").await;
    // One key for all (ssh-keygen once): keys need not differ here.
    let template = new_node("template", "10.20.9.9", Some(env.id));
    let fleet: Vec<NewNode> = (0..200)
        .map(|i| {
            let mut node = NewNode {
                hostname: format!("node-{i}"),
                ip: format!("10.20.{}.{}", i / 250, i % 250 + 1),
                ..template.clone()
            };
            node.roles = vec![if i < 3 { "controller" } else { "compute" }.to_string()];
            node
        })
        .collect();
    let created = client.create_nodes(&fleet).await.unwrap();
    assert_eq!(created.len(), 200);
    assert_eq!(created[0].roles, vec!["controller"]);
    assert_eq!(created[199].hostname, "node-199");
    assert_eq!(client.list_nodes(Some(env.id)).await.unwrap(), created);

    // A bad entry, a name given twice in the list, a name taken already:
    // each refusal names the entry, and nothing of the list is stored.
    let mut bad = vec![
        new_node("node-a", "10.30.0.1", None),
        new_node("node-b", "10.30.0.2", None),
    ];
    bad[1].host_key = "ssh-ed25519 not*base64".into();
    let (field, _) = refused(client.create_nodes(&bad).await);
    assert_eq!(field, "[1].host_key");
    let twice = vec![
        new_node("node-a", "10.30.0.1", None),
        new_node("node-a", "10.30.0.2", None),
    ];
    let (field, message) = refused(client.create_nodes(&twice).await);
    assert_eq!(field, "[1].hostname", "{message}");
    let taken = vec![
        new_node("node-a", "10.30.0.1", None),
        new_node("node-5", "10.30.0.2", None),
    ];
    match client.create_nodes(&taken).await {
        Err(ClientError::Conflict(api)) => assert_eq!(api.field.as_deref(), Some("[1].hostname")),
        other => panic!("{other:?}"),
    }
    assert_eq!(client.list_nodes(None).await.unwrap().len(), 200);
    api.stop().await;
}

async fn roles_are_checked_stored_and_replaced(backend: Backend) {
    let api = TestApi::start(backend, |_| {}).await;
    let client = api.admin().await;
    let mut new = new_node("node-2", "10.20.0.3", None);
    new.roles = vec!["Controller; rm".into()];
    let (field, message) = refused(client.create_node(&new).await);
    assert_eq!(field, "roles", "{message}");
    new.roles = vec!["controller".into(), "mongo".into()];
    let node = client.create_node(&new).await.unwrap();
    assert_eq!(node.roles, vec!["controller", "mongo"]);
    let updated = client
        .update_node(
            node.id,
            &NodeUpdate {
                roles: Some(vec!["compute".into()]),
                ..NodeUpdate::default()
            },
        )
        .await
        .unwrap();
    assert_eq!(updated.roles, vec!["compute"]);
    let untouched = client
        .update_node(
            node.id,
            &NodeUpdate {
                status: Some("error".into()),
                ..NodeUpdate::default()
            },
        )
        .await
        .unwrap();
    assert_eq!(untouched.roles, vec!["compute"], "absent roles stay");
    api.stop().await;
}
