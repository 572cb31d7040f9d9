//! `fuel package --env N --inventory | --drift [--package NAME]`: which
//! version of each package the environment's nodes run, as the master last
//! saw them, and only what differs (for monitoring: exit 3 on drift).

use std::collections::BTreeSet;

use fuel_api_client::{DriftReason, InventoryPackage, NodeSeen, PackageInventory};
use fuel_cli::{NodeSelection, Table};

use crate::output::{self, Format};
use crate::session::Session;

/// `--drift` found drift: already printed; `main` exits `Exit::Drift` (3,
/// so monitoring scripts tell it from 1, the command failed).
#[derive(Debug, thiserror::Error)]
#[error("environment {0} has drift")]
pub struct Drift(pub i64);

const LATEST_NOTE: &str = "`latest` is judged as installed only: which version is the newest needs the repository (fuel node --node … --tasks execute_pm --check reports what would change)";

pub async fn run(
    session: &Session,
    env: i64,
    package: Option<&str>,
    drift: bool,
    format: Format,
) -> anyhow::Result<()> {
    let inventory = session
        .client
        .package_inventory(env, package, drift)
        .await
        .map_err(|e| session.explain_env(e, env))?;
    match format {
        Format::Json => output::json(&inventory)?,
        Format::Yaml => output::yaml(&inventory)?,
        Format::Table => {
            let now = now_unix();
            let text = if drift {
                drift_text(&inventory, now)
            } else {
                inventory_text(&inventory, now)
            };
            output::emit(&text)?;
        }
    }
    if inventory.drift == Some(true) {
        return Err(Drift(env).into());
    }
    Ok(())
}

/// package | version | nodes | observed: one row per version, then the nodes
/// where the package was never observed; nodes never observed at all last.
fn inventory_text(inventory: &PackageInventory, now: i64) -> String {
    let mut table = Table::new(["package", "version", "nodes", "observed"]);
    for package in &inventory.packages {
        version_rows(&mut table, inventory, package, now, None);
    }
    let mut text = if table.is_empty() {
        format!(
            "environment {}: no package observed yet: run fuel node --node … --tasks execute_pm --check\n",
            inventory.cluster_id
        )
    } else {
        table.render()
    };
    text.push_str(&never_observed(inventory));
    text
}

fn version_rows(
    table: &mut Table,
    inventory: &PackageInventory,
    package: &InventoryPackage,
    now: i64,
    requested: Option<&str>,
) {
    for version in &package.versions {
        let mut row = vec![
            package.name.clone(),
            version.version.clone().unwrap_or_else(|| "absent".into()),
            nodes(version.nodes.iter().map(|c| c.node())),
            observed(inventory, &version.nodes, now),
        ];
        if let Some(requested) = requested {
            let off: Vec<i64> = version
                .nodes
                .iter()
                .map(|c| c.node())
                .filter(|n| package.off_document.binary_search(n).is_ok())
                .collect();
            row.insert(1, requested.to_string());
            row.push(if off.is_empty() {
                String::new()
            } else {
                "differs from document".into()
            });
        }
        table.row(row);
    }
    if !package.unobserved.is_empty() {
        let mut row = vec![
            package.name.clone(),
            "(not observed)".into(),
            nodes(package.unobserved.iter().copied()),
            "never".into(),
        ];
        if let Some(requested) = requested {
            row.insert(1, requested.to_string());
            row.push(if requested.is_empty() {
                String::new()
            } else {
                "cannot vouch".into()
            });
        }
        table.row(row);
    }
}

/// Only what differs, and why; a closing line says whether there is drift.
fn drift_text(inventory: &PackageInventory, now: i64) -> String {
    let env = inventory.cluster_id;
    let mut text = String::new();
    if !inventory.packages.is_empty() {
        let mut table = Table::new([
            "package", "document", "version", "nodes", "observed", "drift",
        ]);
        for package in &inventory.packages {
            let requested = package.requested.as_deref().unwrap_or("");
            version_rows(&mut table, inventory, package, now, Some(requested));
        }
        text.push_str(&table.render());
    }
    text.push_str(&never_observed(inventory));
    let differ = count(inventory, DriftReason::VersionsDiffer);
    let off = count(inventory, DriftReason::DiffersFromDocument);
    let document = match inventory.document_revision {
        Some(revision) => format!("document revision {revision}"),
        None => "no document".to_string(),
    };
    if inventory.drift == Some(true) {
        text.push_str(&format!(
            "environment {env}: drift ({differ} package(s) not at one version on every node, {off} not as {document} asks)\n"
        ));
    } else {
        text.push_str(&format!(
            "environment {env}: no drift (every observed node alike and as {document} asks)\n"
        ));
    }
    if inventory
        .packages
        .iter()
        .any(|p| p.requested.as_deref() == Some("latest"))
        || inventory.drift == Some(false)
    {
        text.push_str(&format!("note: {LATEST_NOTE}\n"));
    }
    text
}

fn count(inventory: &PackageInventory, reason: DriftReason) -> usize {
    inventory
        .packages
        .iter()
        .filter(|p| p.drift.contains(&reason))
        .count()
}

/// A line naming the nodes the master never observed, and what to run.
fn never_observed(inventory: &PackageInventory) -> String {
    let never: Vec<i64> = inventory
        .nodes
        .iter()
        .filter(|n| n.last_observation.is_none())
        .map(|n| n.id)
        .collect();
    if never.is_empty() {
        return String::new();
    }
    let ids = nodes(never.iter().copied());
    format!("never observed: node {ids}: run fuel node --node {ids} --tasks execute_pm --check\n")
}

/// Node ids in canonical form, `1,4` or `2-200`.
fn nodes(ids: impl Iterator<Item = i64>) -> String {
    ids.collect::<NodeSelection>().to_string()
}

/// When the cells' observations were made: the time and its age, or the
/// oldest and newest when they differ, with the tasks that made them.
fn observed(inventory: &PackageInventory, cells: &[NodeSeen], now: i64) -> String {
    let mut times: BTreeSet<&str> = BTreeSet::new();
    let mut tasks: BTreeSet<i64> = BTreeSet::new();
    for cell in cells {
        if let Some(o) = inventory.observation(cell.observation()) {
            times.insert(&o.observed_at);
            tasks.insert(o.task_id);
        }
    }
    let (Some(oldest), Some(newest)) = (times.first(), times.last()) else {
        return String::new();
    };
    let tasks = tasks
        .iter()
        .map(i64::to_string)
        .collect::<Vec<_>>()
        .join(",");
    let noun = if tasks.contains(',') { "tasks" } else { "task" };
    if oldest == newest {
        format!("{oldest} ({} ago, {noun} {tasks})", age(oldest, now))
    } else {
        format!(
            "{oldest} … {newest} ({} to {} ago, {noun} {tasks})",
            age(oldest, now),
            age(newest, now)
        )
    }
}

/// `45s`, `12m`, `3h`, `2d`: how long ago an RFC 3339 UTC time was.
fn age(rfc3339: &str, now: i64) -> String {
    let Some(then) = unix_seconds(rfc3339) else {
        return "?".into();
    };
    let secs = (now - then).max(0);
    match secs {
        s if s < 120 => format!("{s}s"),
        s if s < 2 * 3600 => format!("{}m", s / 60),
        s if s < 2 * 86400 => format!("{}h", s / 3600),
        s => format!("{}d", s / 86400),
    }
}

fn now_unix() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or_default()
}

/// `YYYY-MM-DDTHH:MM:SSZ` (what the API writes) as seconds since 1970.
fn unix_seconds(text: &str) -> Option<i64> {
    let b = text.as_bytes();
    if b.len() < 20 || b[4] != b'-' || b[7] != b'-' || b[10] != b'T' || !text.ends_with('Z') {
        return None;
    }
    let n = |range: std::ops::Range<usize>| text.get(range)?.parse::<i64>().ok();
    let (y, m, d) = (n(0..4)?, n(5..7)?, n(8..10)?);
    let (hh, mm, ss) = (n(11..13)?, n(14..16)?, n(17..19)?);
    // Days from civil (Howard Hinnant's algorithm).
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let doy = (153 * (if m > 2 { m - 3 } else { m + 9 }) + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    let days = era * 146_097 + doe - 719_468;
    Some(days * 86400 + hh * 3600 + mm * 60 + ss)
}

#[cfg(test)]
mod tests {
    use super::*;
    use fuel_api_client::{InventoryNode, InventoryVersion, Observation, ObservationRun};
    use fuel_node::PackageManager;

    fn inventory(drift: Option<bool>) -> PackageInventory {
        PackageInventory {
            cluster_id: 1,
            nodes: (1..=5)
                .map(|id| InventoryNode {
                    id,
                    hostname: format!("node-{id}"),
                    os: PackageManager::Apt,
                    last_observation: (id < 5).then_some(id),
                })
                .collect(),
            observations: (1..=4)
                .map(|id| Observation {
                    id,
                    node_id: id,
                    task_id: if id < 3 { 7 } else { 9 },
                    observed_at: format!("2026-12-03T10:0{id}:00Z"),
                    run: ObservationRun::Check,
                })
                .collect(),
            packages: vec![InventoryPackage {
                name: "fuel-test-daemon".into(),
                versions: vec![
                    InventoryVersion {
                        version: Some("1.0-1".into()),
                        nodes: vec![NodeSeen(1, 1), NodeSeen(4, 4)],
                    },
                    InventoryVersion {
                        version: Some("2.0-1".into()),
                        nodes: vec![NodeSeen(2, 2), NodeSeen(3, 3)],
                    },
                ],
                unobserved: vec![5],
                requested: drift.map(|_| "2.0-1".into()),
                drift: if drift.is_some() {
                    vec![
                        DriftReason::VersionsDiffer,
                        DriftReason::DiffersFromDocument,
                    ]
                } else {
                    vec![]
                },
                off_document: if drift.is_some() {
                    vec![1, 4, 5]
                } else {
                    vec![]
                },
            }],
            document_revision: drift.map(|_| 2),
            drift,
        }
    }

    #[test]
    fn times_convert_to_unix_seconds() {
        assert_eq!(unix_seconds("1970-01-01T00:00:00Z"), Some(0));
        assert_eq!(unix_seconds("2000-03-01T00:00:01Z"), Some(951_868_801));
        assert_eq!(unix_seconds("2026-12-03T10:01:00Z"), Some(1_796_292_060));
        assert_eq!(unix_seconds("yesterday"), None);
    }

    #[test]
    fn the_inventory_table_shows_versions_nodes_and_observation_ages() {
        let now = unix_seconds("2026-12-03T10:05:00Z").unwrap();
        let text = inventory_text(&inventory(None), now);
        assert!(
            text.starts_with("package          | version        | nodes | observed\n"),
            "{text}"
        );
        assert!(text.contains("fuel-test-daemon | 1.0-1 "), "{text}");
        assert!(text.contains("(4m to 60s ago, tasks 7,9)"), "{text}");
        assert!(text.contains("| (not observed) | 5     | never"), "{text}");
        assert!(
            text.ends_with(
                "never observed: node 5: run fuel node --node 5 --tasks execute_pm --check\n"
            ),
            "{text}"
        );
    }

    #[test]
    fn the_drift_table_marks_nodes_off_the_document_and_says_there_is_drift() {
        let now = unix_seconds("2026-12-03T10:05:00Z").unwrap();
        let text = drift_text(&inventory(Some(true)), now);
        let lines: Vec<&str> = text.lines().collect();
        assert!(
            lines[0].starts_with("package          | document | version"),
            "{text}"
        );
        assert!(
            lines[2].starts_with("fuel-test-daemon | 2.0-1    | 1.0-1          | 1,4"),
            "{text}"
        );
        assert!(lines[2].ends_with("| differs from document"), "{text}");
        // The nodes at the document's version: the drift column stays empty.
        assert!(
            lines[3]
                .trim_end()
                .trim_end_matches('|')
                .trim_end()
                .ends_with("tasks 7,9)"),
            "{text}"
        );
        assert!(lines[4].ends_with("| cannot vouch"), "{text}");
        assert!(text.contains("environment 1: drift (1 package(s) not at one version on every node, 1 not as document revision 2 asks)"), "{text}");
    }
}
