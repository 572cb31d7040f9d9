//! The package inventory: per node and package, the last installed version
//! the master saw (or absent), with the observation (when, which task) that
//! saw it. Written from each stored `execute_pm` report in the transaction
//! that stores the report; read per environment in one grouped query.

use fuel_api_client::{
    InventoryNode, InventoryPackage, InventoryVersion, NodeSeen, Observation, ObservationRun,
};
use fuel_pm::report::Report;
use sqlx::{Any, Row, Transaction};

use super::{decode_column, parse_column, Store};

/// Rows per multi-row upsert: 3 binds each, far below either database's
/// limit on bound parameters, and 1,000 packages in 5 statements.
const UPSERT_CHUNK: usize = 200;

/// The installed versions a report saw: after the run, or, for `--check`
/// (which changes nothing), before it.
pub fn observed_versions(report: &Report) -> impl Iterator<Item = (&str, Option<&str>)> {
    report.packages.iter().map(move |p| {
        let version = if report.check { &p.before } else { &p.after };
        (p.name.as_str(), version.as_deref())
    })
}

/// Records what a node's report saw, inside the caller's transaction: a new
/// observation, each package's version pointing at it, and the node's older
/// observations no package refers to any more are dropped (its newest always
/// stays: the node was seen, even with nothing in the document).
pub async fn record(
    tx: &mut Transaction<'_, Any>,
    node_id: i64,
    task_id: i64,
    observed_at: &str,
    report: &Report,
) -> Result<(), sqlx::Error> {
    let run = if report.check {
        ObservationRun::Check
    } else {
        ObservationRun::Apply
    };
    let observation: i64 = sqlx::query(
        "INSERT INTO package_observations (node_id, task_id, observed_at, run) \
         VALUES ($1, $2, $3, $4) RETURNING id",
    )
    .bind(node_id)
    .bind(task_id)
    .bind(observed_at)
    .bind(run.as_str())
    .fetch_one(&mut **tx)
    .await?
    .try_get("id")?;

    let versions: Vec<(&str, Option<&str>)> = observed_versions(report).collect();
    for chunk in versions.chunks(UPSERT_CHUNK) {
        let mut sql = String::from(
            "INSERT INTO package_inventory (node_id, package, version, observation_id) VALUES ",
        );
        for i in 0..chunk.len() {
            let n = i * 3;
            if i > 0 {
                sql.push(',');
            }
            sql.push_str(&format!("($1, ${}, ${}, ${})", n + 2, n + 3, n + 4));
        }
        sql.push_str(
            " ON CONFLICT (node_id, package) DO UPDATE SET \
             version = excluded.version, observation_id = excluded.observation_id",
        );
        let mut query = sqlx::query(&sql).bind(node_id);
        for (name, version) in chunk {
            query = query.bind(*name).bind(*version).bind(observation);
        }
        query.execute(&mut **tx).await?;
    }

    sqlx::query(
        "DELETE FROM package_observations WHERE node_id = $1 AND id <> $2 \
         AND NOT EXISTS (SELECT 1 FROM package_inventory i \
         WHERE i.observation_id = package_observations.id)",
    )
    .bind(node_id)
    .bind(observation)
    .execute(&mut **tx)
    .await?;
    Ok(())
}

/// What an environment's inventory answer is built from, as one value:
/// its change counter (`clusters.inventory_stamp`, bumped by triggers in
/// the transaction of every write to its observations or nodes, migration
/// 0007) and its package document's newest revision (drift answers are
/// judged against it). Equal stamps, equal answers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct InventoryStamp {
    pub changes: i64,
    pub document_revision: Option<i64>,
}

impl InventoryStamp {
    /// The stamp an answer depends on: a whole inventory not on the document.
    pub fn for_answer(self, drift: bool) -> InventoryStamp {
        InventoryStamp {
            document_revision: self.document_revision.filter(|_| drift),
            ..self
        }
    }
}

const STAMP_QUERY: &str = "SELECT c.inventory_stamp, \
     (SELECT MAX(r.revision) FROM package_revisions r WHERE r.cluster_id = c.id) AS head \
     FROM clusters c WHERE c.id = $1";

async fn read_stamp<'e>(
    executor: impl sqlx::Executor<'e, Database = Any>,
    cluster_id: i64,
) -> Result<Option<InventoryStamp>, sqlx::Error> {
    let Some(row) = sqlx::query(STAMP_QUERY)
        .bind(cluster_id)
        .fetch_optional(executor)
        .await?
    else {
        return Ok(None);
    };
    Ok(Some(InventoryStamp {
        changes: row.try_get("inventory_stamp")?,
        document_revision: row.try_get("head")?,
    }))
}

/// An environment's inventory as stored, all read in one snapshot: nodes,
/// observations, packages (versions of a package in no particular order;
/// the route sorts them), and for drift the document.
pub struct StoredInventory {
    pub stamp: InventoryStamp,
    pub nodes: Vec<InventoryNode>,
    pub observations: Vec<Observation>,
    pub packages: Vec<InventoryPackage>,
    /// With `document`: the newest revision's number and text (`None`: no
    /// document, or its newest revision deletes it).
    pub document: Option<(i64, Vec<u8>)>,
}

impl Store {
    /// The environment's inventory stamp; `None`: no such environment. One
    /// primary-key lookup: asked before every cached answer is served.
    pub async fn inventory_stamp(
        &self,
        cluster_id: i64,
    ) -> Result<Option<InventoryStamp>, sqlx::Error> {
        read_stamp(&self.pool, cluster_id).await
    }

    /// The stamp, every node of the environment with its observations, then
    /// every (package, version) with its nodes, and with `document` the
    /// document of the stamp's revision, in one read transaction (a
    /// repeatable-read snapshot on PostgreSQL, WAL's on SQLite), so the
    /// stamp names exactly the data read. The packages are grouped in the
    /// database (each group's `node:observation` pairs as one text), so 200
    /// nodes × 1,000 packages come back as about 1,000 rows, not 200,000.
    /// `None`: no such environment.
    pub async fn package_inventory(
        &self,
        cluster_id: i64,
        package: Option<&str>,
        document: bool,
    ) -> Result<Option<StoredInventory>, sqlx::Error> {
        let mut tx = self.pool.begin().await?;
        if self.backend == super::Backend::Postgres {
            sqlx::query("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY")
                .execute(&mut *tx)
                .await?;
        }
        let Some(stamp) = read_stamp(&mut *tx, cluster_id).await? else {
            return Ok(None);
        };
        let node_rows = sqlx::query(
            "SELECT n.id, n.hostname, n.os, o.id AS observation_id, o.task_id, \
             o.observed_at, o.run \
             FROM nodes n LEFT JOIN package_observations o ON o.node_id = n.id \
             WHERE n.cluster_id = $1 ORDER BY n.id, o.id",
        )
        .bind(cluster_id)
        .fetch_all(&mut *tx)
        .await?;
        let mut nodes: Vec<InventoryNode> = Vec::new();
        let mut observations = Vec::new();
        for row in &node_rows {
            let id: i64 = row.try_get("id")?;
            if nodes.last().map(|n| n.id) != Some(id) {
                nodes.push(InventoryNode {
                    id,
                    hostname: row.try_get("hostname")?,
                    os: decode_column(row, "os", fuel_node::PackageManager::from_os_family)?,
                    last_observation: None,
                });
            }
            let observation: Option<i64> = row.try_get("observation_id")?;
            if let Some(observation) = observation {
                nodes.last_mut().expect("pushed above").last_observation = Some(observation);
                observations.push(Observation {
                    id: observation,
                    node_id: id,
                    task_id: row.try_get("task_id")?,
                    observed_at: row.try_get("observed_at")?,
                    run: parse_column(row, "run")?,
                });
            }
        }
        observations.sort_by_key(|o| o.id);

        // `string_agg` is PostgreSQL's and SQLite's (3.44+, bundled) alike.
        let cells =
            "string_agg(CAST(i.node_id AS TEXT) || ':' || CAST(i.observation_id AS TEXT), ',')";
        let base = format!(
            "SELECT i.package, i.version, {cells} AS cells \
             FROM package_inventory i JOIN nodes n ON n.id = i.node_id \
             WHERE n.cluster_id = $1"
        );
        let rows = match package {
            Some(name) => {
                sqlx::query(&format!(
                    "{base} AND i.package = $2 GROUP BY i.package, i.version ORDER BY i.package"
                ))
                .bind(cluster_id)
                .bind(name)
                .fetch_all(&mut *tx)
                .await?
            }
            None => {
                sqlx::query(&format!(
                    "{base} GROUP BY i.package, i.version ORDER BY i.package"
                ))
                .bind(cluster_id)
                .fetch_all(&mut *tx)
                .await?
            }
        };
        let mut packages: Vec<InventoryPackage> = Vec::new();
        for row in &rows {
            let name: String = row.try_get("package")?;
            let version: Option<String> = row.try_get("version")?;
            let text: &str = row.try_get("cells")?;
            let nodes = parse_cells(text).map_err(|reason| sqlx::Error::ColumnDecode {
                index: "cells".into(),
                source: reason.into(),
            })?;
            let entry = InventoryVersion { version, nodes };
            match packages.last_mut() {
                Some(last) if last.name == name => last.versions.push(entry),
                _ => packages.push(InventoryPackage {
                    name,
                    versions: vec![entry],
                    unobserved: Vec::new(),
                    requested: None,
                    drift: Vec::new(),
                    off_document: Vec::new(),
                }),
            }
        }
        let document = match (document, stamp.document_revision) {
            (true, Some(revision)) => sqlx::query(
                "SELECT content FROM package_revisions WHERE cluster_id = $1 AND revision = $2",
            )
            .bind(cluster_id)
            .bind(revision)
            .fetch_one(&mut *tx)
            .await?
            .try_get::<Option<Vec<u8>>, _>("content")?
            .map(|content| (revision, content)),
            _ => None,
        };
        tx.commit().await?;
        Ok(Some(StoredInventory {
            stamp,
            nodes,
            observations,
            packages,
            document,
        }))
    }
}

/// `node:observation,node:observation,…` (the aggregate), sorted by node.
fn parse_cells(text: &str) -> Result<Vec<NodeSeen>, String> {
    let mut cells = Vec::with_capacity(text.len() / 6 + 1);
    for pair in text.split(',') {
        let (node, observation) = pair
            .split_once(':')
            .ok_or_else(|| format!("`{pair}` is not node:observation"))?;
        let number = |s: &str| s.parse::<i64>().map_err(|e| format!("`{pair}`: {e}"));
        cells.push(NodeSeen(number(node)?, number(observation)?));
    }
    cells.sort_unstable_by_key(|c| c.0);
    Ok(cells)
}

/// A node's report to store as if its `execute_pm` had just finished.
pub struct ReportedNode<'a> {
    pub node_id: i64,
    pub hostname: &'a str,
    pub report: &'a Report,
}

impl Store {
    /// Stores reports as one finished `execute_pm` task of the environment,
    /// through the executor's own write path (the task, each node's sub-task
    /// with its report, the inventory in the same transaction). Returns the
    /// task's id.
    pub async fn store_execute_pm_reports(
        &self,
        cluster_id: i64,
        nodes: &[ReportedNode<'_>],
    ) -> Result<i64, sqlx::Error> {
        use fuel_api_client::{TaskNodeStatus, TaskStatus};

        use super::{PlannedSubTask, SubTaskUpdate};
        let planned: Vec<PlannedSubTask> = nodes
            .iter()
            .map(|n| PlannedSubTask {
                node_id: n.node_id,
                hostname: n.hostname,
                subtask: "execute_pm",
                batch: None,
            })
            .collect();
        // Recorded, not run: a lease nobody renews, on no document revision.
        let recorded = super::NewPackageTask {
            owner: "recorded-reports",
            lease_ms: 0,
            document_revision: 0,
            check: false,
        };
        let no_rollout = super::PlannedRollout {
            batches: &[],
            max_failures: None,
        };
        let task = self
            .insert_package_task(cluster_id, "execute_pm", &[], &planned, &recorded, &no_rollout)
            .await
            .map_err(|e| match e {
                super::WriteError::Database(e) => e,
                other => sqlx::Error::Protocol(format!(
                    "environment {cluster_id}: cannot record reports ({other:?}): another package task is active"
                )),
            })?;
        for node in nodes {
            let json =
                serde_json::to_string(node.report).map_err(|e| sqlx::Error::Encode(e.into()))?;
            let now = crate::clock::now_rfc3339();
            self.update_subtask(
                task.id,
                node.node_id,
                "execute_pm",
                &SubTaskUpdate {
                    status: TaskNodeStatus::Ready,
                    started_at: Some(&now),
                    finished_at: Some(&now),
                    reason: None,
                    message: None,
                    report: Some(&json),
                },
            )
            .await?;
        }
        self.set_task_state(task.id, TaskStatus::Ready, 100, Some("stored reports"))
            .await?;
        Ok(task.id)
    }
}
