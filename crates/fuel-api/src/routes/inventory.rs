//! `GET /clusters/{id}/package_inventory[?package=NAME][&drift=1]`: which
//! version of each package the environment's nodes run, as the master last
//! saw them (every execute_pm report, `--check` ones included), and with
//! `drift=1` only what differs: packages whose version is not the same on
//! every observed node, and nodes that are not as the stored document asks.
//!
//! Judging against the document: an exact version must be satisfied in the
//! node's own ordering (dpkg or rpm, by its OS; a version without an epoch
//! is satisfied by the same version with one, as the applier does);
//! `absent` must be absent; `latest` must be installed — which version is
//! the newest cannot be judged without the repository, so differing
//! versions under `latest` show up as versions that differ between nodes.
//! A node the master never observed, or whose observations never covered a
//! package the document names, is drift: it cannot vouch for it.

use std::cmp::Ordering;
use std::collections::HashMap;

use axum::body::Bytes;
use axum::extract::{RawQuery, State};
use axum::http::header;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;
use fuel_api_client::{DriftReason, InventoryNode, InventoryPackage, PackageInventory};
use fuel_node::PackageManager;
use fuel_pm::{Document, Wanted};
use fuel_pm_apply::version::Scheme;

use crate::error::{ApiResult, Failure};
use crate::inventory_cache::InventoryKey;
use crate::json_body::{parse_query, ResourceId};
use crate::state::AppState;
use crate::store::StoredInventory;

pub fn routes() -> Router<AppState> {
    Router::new().route("/clusters/{id}/package_inventory", get(show))
}

async fn show(
    State(state): State<AppState>,
    ResourceId(cluster_id): ResourceId,
    RawQuery(query): RawQuery,
) -> ApiResult<Response> {
    let (mut package, mut drift) = (None, false);
    for (key, value) in parse_query(query.as_deref())? {
        match key.as_str() {
            "package" if fuel_pm::valid_package_name(&value) => package = Some(value),
            "package" => {
                return Err(Failure::invalid(
                    "package",
                    format!("`{value}` is not a package name"),
                ))
            }
            "drift" => {
                drift = match value.as_str() {
                    "1" | "true" => true,
                    "0" | "false" => false,
                    other => {
                        return Err(Failure::invalid(
                            "drift",
                            format!("drift=`{other}`: use drift=1 or drift=0"),
                        ))
                    }
                }
            }
            other => {
                return Err(Failure::invalid(
                    other,
                    format!("unknown parameter `{other}`: use package and drift"),
                ))
            }
        }
    }
    let no_environment = || {
        Failure::not_found(format!(
            "no environment {cluster_id}: `fuel env` lists them"
        ))
    };
    // One primary-key query decides whether the kept answer is still exact
    // (see inventory_cache.rs); only a change makes the whole read.
    let stamp = state
        .store
        .inventory_stamp(cluster_id)
        .await?
        .ok_or_else(no_environment)?;
    let key = InventoryKey {
        cluster_id,
        drift,
        package: package.clone(),
    };
    if let Some(body) = state.inventory.get(&key, stamp.for_answer(drift)) {
        return Ok(json(body));
    }
    let _turn = state.inventory.build_turn(&key).await;
    // Another request may have built it while this one waited its turn.
    if let Some(stamp) = state.store.inventory_stamp(cluster_id).await? {
        if let Some(body) = state.inventory.get(&key, stamp.for_answer(drift)) {
            return Ok(json(body));
        }
    }
    let stored = state
        .store
        .package_inventory(cluster_id, package.as_deref(), drift)
        .await?
        .ok_or_else(no_environment)?;
    let stamp = stored.stamp.for_answer(drift);
    // Sorting, judging and serialising 200,000 cells is CPU work.
    let body = tokio::task::spawn_blocking(move || answer(cluster_id, stored, drift, package))
        .await
        .map_err(Failure::internal)??;
    state.inventory.put(key, stamp, body.clone());
    Ok(json(body))
}

fn json(body: Bytes) -> Response {
    ([(header::CONTENT_TYPE, "application/json")], body).into_response()
}

/// The answer's JSON, judged against the stored document for drift.
fn answer(
    cluster_id: i64,
    mut stored: StoredInventory,
    drift: bool,
    package: Option<String>,
) -> Result<Bytes, Failure> {
    let document = stored.document.take();
    let mut answer = inventory(cluster_id, stored);
    if drift {
        let (revision, document) = match document {
            Some((revision, bytes)) => {
                // Stored documents were checked on upload.
                let parsed = fuel_pm::parse(&bytes).map_err(|problems| {
                    Failure::internal(format!(
                        "the stored document does not parse: {}",
                        problems.render("package_manipulation")
                    ))
                })?;
                (Some(revision), Some(parsed))
            }
            None => (None, None),
        };
        judge(&mut answer, document.as_ref(), package.as_deref());
        answer.document_revision = revision;
    }
    serde_json::to_vec(&answer)
        .map(Bytes::from)
        .map_err(Failure::internal)
}

/// The stored inventory as the answer: packages by name, versions by text
/// with `absent` last, and each package's unobserved nodes.
fn inventory(cluster_id: i64, stored: StoredInventory) -> PackageInventory {
    let StoredInventory {
        nodes,
        observations,
        mut packages,
        ..
    } = stored;
    packages.sort_unstable_by(|a, b| a.name.cmp(&b.name));
    for package in &mut packages {
        package
            .versions
            .sort_unstable_by(|a, b| match (&a.version, &b.version) {
                (Some(a), Some(b)) => a.cmp(b),
                (Some(_), None) => Ordering::Less,
                (None, Some(_)) => Ordering::Greater,
                (None, None) => Ordering::Equal,
            });
        package.unobserved = unobserved(&nodes, package);
    }
    PackageInventory {
        cluster_id,
        nodes,
        observations,
        packages,
        document_revision: None,
        drift: None,
    }
}

/// The environment's nodes (sorted by id) that no version of the package lists.
fn unobserved(nodes: &[InventoryNode], package: &InventoryPackage) -> Vec<i64> {
    let seen: usize = package.versions.iter().map(|v| v.nodes.len()).sum();
    if seen == nodes.len() {
        return Vec::new();
    }
    let mut ids: Vec<i64> = package
        .versions
        .iter()
        .flat_map(|v| v.nodes.iter().map(|c| c.node()))
        .collect();
    ids.sort_unstable();
    nodes
        .iter()
        .map(|n| n.id)
        .filter(|id| ids.binary_search(id).is_err())
        .collect()
}

/// Keeps only what differs and says why; sets `drift`.
fn judge(answer: &mut PackageInventory, document: Option<&Document>, only: Option<&str>) {
    let schemes: HashMap<i64, Scheme> = answer
        .nodes
        .iter()
        .map(|n| {
            let scheme = match n.os {
                PackageManager::Apt => Scheme::Dpkg,
                PackageManager::Dnf => Scheme::Rpm,
            };
            (n.id, scheme)
        })
        .collect();
    let all_nodes: Vec<i64> = answer.nodes.iter().map(|n| n.id).collect();
    // Document packages no node was ever seen with are drift too.
    if let Some(document) = document {
        for wanted in &document.packages {
            if only.is_some_and(|name| name != wanted.name) {
                continue;
            }
            if let Err(at) = answer
                .packages
                .binary_search_by(|p| p.name.as_str().cmp(wanted.name.as_str()))
            {
                answer.packages.insert(
                    at,
                    InventoryPackage {
                        name: wanted.name.clone(),
                        versions: Vec::new(),
                        unobserved: all_nodes.clone(),
                        requested: None,
                        drift: Vec::new(),
                        off_document: Vec::new(),
                    },
                );
            }
        }
    }
    let requested: HashMap<&str, &Wanted> = document
        .map(|d| {
            d.packages
                .iter()
                .map(|p| (p.name.as_str(), &p.version))
                .collect()
        })
        .unwrap_or_default();
    for package in &mut answer.packages {
        if package.versions.len() > 1 {
            package.drift.push(DriftReason::VersionsDiffer);
        }
        let Some(wanted) = requested.get(package.name.as_str()) else {
            continue;
        };
        package.requested = Some(wanted.as_str().to_string());
        let mut off: Vec<i64> = package.unobserved.clone();
        for version in &package.versions {
            for cell in &version.nodes {
                let scheme = schemes.get(&cell.node()).copied().unwrap_or(Scheme::Dpkg);
                if !as_asked(scheme, version.version.as_deref(), wanted) {
                    off.push(cell.node());
                }
            }
        }
        off.sort_unstable();
        if !off.is_empty() {
            package.drift.push(DriftReason::DiffersFromDocument);
        }
        package.off_document = off;
    }
    answer.packages.retain(|p| !p.drift.is_empty());
    let never_observed = answer.nodes.iter().any(|n| n.last_observation.is_none());
    answer.drift = Some(never_observed || !answer.packages.is_empty());
}

/// Whether a node's installed version (`None`: absent) is what the document asks.
fn as_asked(scheme: Scheme, installed: Option<&str>, wanted: &Wanted) -> bool {
    match (wanted, installed) {
        (Wanted::Absent, installed) => installed.is_none(),
        // The newest offered version needs the repository: installed is all
        // the master can check; differing versions show as VersionsDiffer.
        (Wanted::Latest, installed) => installed.is_some(),
        (Wanted::Exact(version), Some(installed)) => scheme.satisfies(installed, version),
        (Wanted::Exact(_), None) => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use fuel_api_client::{InventoryVersion, NodeSeen, Observation, ObservationRun};

    fn node(id: i64, os: PackageManager, observed: bool) -> InventoryNode {
        InventoryNode {
            id,
            hostname: format!("node-{id}"),
            os,
            last_observation: observed.then_some(id * 10),
        }
    }

    fn package(name: &str, versions: &[(Option<&str>, &[i64])]) -> InventoryPackage {
        InventoryPackage {
            name: name.to_string(),
            versions: versions
                .iter()
                .map(|(v, nodes)| InventoryVersion {
                    version: v.map(str::to_string),
                    nodes: nodes.iter().map(|n| NodeSeen(*n, n * 10)).collect(),
                })
                .collect(),
            unobserved: Vec::new(),
            requested: None,
            drift: Vec::new(),
            off_document: Vec::new(),
        }
    }

    fn environment(packages: Vec<InventoryPackage>) -> PackageInventory {
        let nodes: Vec<InventoryNode> = (1..=4)
            .map(|id| node(id, PackageManager::Apt, true))
            .collect();
        let observations = nodes
            .iter()
            .map(|n| Observation {
                id: n.id * 10,
                node_id: n.id,
                task_id: 1,
                observed_at: "2026-12-03T10:00:00Z".into(),
                run: ObservationRun::Check,
            })
            .collect();
        inventory(
            1,
            StoredInventory {
                stamp: crate::store::InventoryStamp {
                    changes: 0,
                    document_revision: None,
                },
                nodes,
                observations,
                packages,
                document: None,
            },
        )
    }

    fn document(text: &str) -> Document {
        fuel_pm::parse(text.as_bytes()).unwrap()
    }

    #[test]
    fn versions_sort_by_text_with_absent_last_and_unobserved_nodes_are_named() {
        let answer = environment(vec![package(
            "d",
            &[(None, &[4]), (Some("2.0-1"), &[2]), (Some("1.0-1"), &[1])],
        )]);
        let versions: Vec<_> = answer.packages[0]
            .versions
            .iter()
            .map(|v| v.version.as_deref())
            .collect();
        assert_eq!(versions, [Some("1.0-1"), Some("2.0-1"), None]);
        assert_eq!(answer.packages[0].unobserved, [3]);
    }

    #[test]
    fn a_version_on_some_nodes_only_is_drift_and_one_version_everywhere_is_not() {
        let mut answer = environment(vec![
            package("d", &[(Some("2.0-1"), &[2, 3]), (Some("1.0-1"), &[1, 4])]),
            package("t", &[(Some("1.0-1"), &[1, 2, 3, 4])]),
        ]);
        judge(&mut answer, None, None);
        assert_eq!(answer.drift, Some(true));
        assert_eq!(answer.packages.len(), 1);
        assert_eq!(answer.packages[0].name, "d");
        assert_eq!(answer.packages[0].drift, [DriftReason::VersionsDiffer]);

        let mut answer = environment(vec![package("d", &[(Some("2.0-1"), &[1, 2, 3, 4])])]);
        judge(
            &mut answer,
            Some(&document("packages:\n- name: d\n  version: '2.0-1'\n")),
            None,
        );
        assert_eq!(answer.drift, Some(false));
        assert!(answer.packages.is_empty());
    }

    #[test]
    fn nodes_not_as_the_document_asks_are_named_with_epochs_judged_as_the_applier_does() {
        let mut answer = environment(vec![
            package("d", &[(Some("2.0-1"), &[1, 2, 3, 4])]),
            package("e", &[(Some("1:0.9-1"), &[1, 2, 3, 4])]),
            package("gone", &[(None, &[1, 2, 3]), (Some("1.0"), &[4])]),
            package("new", &[(Some("3.0-1"), &[1, 2, 3]), (None, &[4])]),
        ]);
        let doc = document(
            "packages:\n- name: d\n  version: '3.0-1'\n- name: e\n  version: '0.9-1'\n\
             - name: gone\n  version: absent\n- name: new\n- name: never\n  version: '1.0'\n",
        );
        judge(&mut answer, Some(&doc), None);
        let listed: Vec<(&str, &[i64], Option<&str>)> = answer
            .packages
            .iter()
            .map(|p| {
                (
                    p.name.as_str(),
                    p.off_document.as_slice(),
                    p.requested.as_deref(),
                )
            })
            .collect();
        assert_eq!(
            listed,
            [
                ("d", &[1, 2, 3, 4][..], Some("3.0-1")),
                ("gone", &[4][..], Some("absent")),
                ("never", &[1, 2, 3, 4][..], Some("1.0")),
                ("new", &[4][..], Some("latest")),
            ]
        );
        assert_eq!(
            answer.packages[1].drift,
            [
                DriftReason::VersionsDiffer,
                DriftReason::DiffersFromDocument
            ]
        );
        assert_eq!(answer.drift, Some(true));
    }

    #[test]
    fn a_node_never_observed_is_drift() {
        let mut answer = environment(vec![package("d", &[(Some("1.0-1"), &[1, 2, 3])])]);
        answer.nodes[3].last_observation = None;
        answer.packages[0].unobserved = vec![4];
        judge(&mut answer, None, None);
        assert!(answer.packages.is_empty());
        assert_eq!(answer.drift, Some(true));
    }
}
