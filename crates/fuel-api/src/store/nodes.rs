//! The nodes table: registration, lookup, partial updates.

use fuel_api_client::{NewNode, Node};
use fuel_node::{HostKey, PackageManager};
use sqlx::any::AnyRow;
use sqlx::Row;

use super::{decode_column, Store, WriteError};

const COLUMNS: &str =
    "id, hostname, ip, ssh_port, os, cluster_id, status, host_key, host_key_fingerprint, roles";

/// Roles are stored comma-separated (role names hold no comma).
fn roles_column(roles: &[String]) -> String {
    roles.join(",")
}

fn from_row(row: &AnyRow) -> Result<Node, sqlx::Error> {
    let port: i64 = row.try_get("ssh_port")?;
    Ok(Node {
        id: row.try_get("id")?,
        hostname: row.try_get("hostname")?,
        ip: row.try_get("ip")?,
        // The schema's CHECK keeps it within 1..=65535.
        ssh_port: u16::try_from(port).unwrap_or_default(),
        os: decode_column(row, "os", PackageManager::from_os_family)?,
        cluster_id: row.try_get("cluster_id")?,
        status: row.try_get("status")?,
        host_key: decode_column(row, "host_key", HostKey::parse)?,
        host_key_fingerprint: row.try_get("host_key_fingerprint")?,
        roles: row
            .try_get::<String, _>("roles")?
            .split(',')
            .filter(|role| !role.is_empty())
            .map(str::to_string)
            .collect(),
    })
}

/// What a partial update writes; `None` leaves a column as it is.
#[derive(Debug, Default)]
pub struct NodeChanges {
    pub hostname: Option<String>,
    pub ip: Option<String>,
    pub ssh_port: Option<u16>,
    pub os: Option<PackageManager>,
    /// `Some(None)` unassigns the node.
    pub cluster_id: Option<Option<i64>>,
    pub status: Option<String>,
    /// The key; its line and fingerprint change together.
    pub host_key: Option<HostKey>,
    pub roles: Option<Vec<String>>,
}

/// Which unique column a refused write collided on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NodeClash {
    Hostname,
    Address,
}

impl Store {
    pub async fn list_nodes(&self, cluster_id: Option<i64>) -> Result<Vec<Node>, sqlx::Error> {
        let rows = match cluster_id {
            Some(cluster_id) => {
                sqlx::query(&format!(
                    "SELECT {COLUMNS} FROM nodes WHERE cluster_id = $1 ORDER BY id"
                ))
                .bind(cluster_id)
                .fetch_all(&self.pool)
                .await?
            }
            None => {
                sqlx::query(&format!("SELECT {COLUMNS} FROM nodes ORDER BY id"))
                    .fetch_all(&self.pool)
                    .await?
            }
        };
        rows.iter().map(from_row).collect()
    }

    pub async fn get_node(&self, id: i64) -> Result<Option<Node>, sqlx::Error> {
        let row = sqlx::query(&format!("SELECT {COLUMNS} FROM nodes WHERE id = $1"))
            .bind(id)
            .fetch_optional(&self.pool)
            .await?;
        row.as_ref().map(from_row).transpose()
    }

    /// `node` as checked and normalised by the caller, with its host key as
    /// parsed from `node.host_key` (stored as its canonical line and
    /// fingerprint). `Duplicate` for a taken hostname or address + port (see
    /// [`Store::node_clash`]), `Reference` when the cluster does not exist.
    pub async fn insert_node(
        &self,
        node: &NewNode,
        host_key: &HostKey,
    ) -> Result<Node, WriteError> {
        let mut tx = self.pool.begin().await?;
        let inserted = insert_one(&mut tx, node, host_key).await?;
        tx.commit().await?;
        Ok(inserted)
    }

    /// Several nodes in one transaction: all registered, or none (the error
    /// carries the index of the entry refused).
    pub async fn insert_nodes(
        &self,
        nodes: &[(NewNode, HostKey)],
    ) -> Result<Vec<Node>, (usize, WriteError)> {
        let mut tx = self.pool.begin().await.map_err(|e| (0, e.into()))?;
        let mut inserted = Vec::with_capacity(nodes.len());
        for (index, (node, host_key)) in nodes.iter().enumerate() {
            inserted.push(
                insert_one(&mut tx, node, host_key)
                    .await
                    .map_err(|e| (index, e))?,
            );
        }
        tx.commit().await.map_err(|e| (nodes.len(), e.into()))?;
        Ok(inserted)
    }

    /// One statement, so concurrent updates of different fields both land.
    /// `Ok(None)` when there is no such node; errors as for `insert_node`.
    pub async fn update_node(
        &self,
        id: i64,
        changes: &NodeChanges,
    ) -> Result<Option<Node>, WriteError> {
        let (set_cluster, cluster_id) = match changes.cluster_id {
            Some(cluster_id) => (1i64, cluster_id),
            None => (0, None),
        };
        let host_key = changes.host_key.as_ref().map(HostKey::line);
        let fingerprint = changes.host_key.as_ref().map(HostKey::fingerprint);
        let row = sqlx::query(&format!(
            "UPDATE nodes SET hostname = COALESCE($1, hostname), ip = COALESCE($2, ip), \
             ssh_port = COALESCE($3, ssh_port), os = COALESCE($4, os), \
             cluster_id = CASE WHEN $5 = 1 THEN $6 ELSE cluster_id END, \
             status = COALESCE($7, status), host_key = COALESCE($8, host_key), \
             host_key_fingerprint = COALESCE($9, host_key_fingerprint), \
             roles = COALESCE($10, roles) \
             WHERE id = $11 RETURNING {COLUMNS}"
        ))
        .bind(changes.hostname.as_deref())
        .bind(changes.ip.as_deref())
        .bind(changes.ssh_port.map(i64::from))
        .bind(changes.os.map(PackageManager::os_family))
        .bind(set_cluster)
        .bind(cluster_id)
        .bind(changes.status.as_deref())
        .bind(host_key)
        .bind(fingerprint)
        .bind(changes.roles.as_deref().map(roles_column))
        .bind(id)
        .fetch_optional(&self.pool)
        .await?;
        Ok(row.as_ref().map(from_row).transpose()?)
    }

    /// `Ok(false)` when there was no such node.
    pub async fn delete_node(&self, id: i64) -> Result<bool, sqlx::Error> {
        let done = sqlx::query("DELETE FROM nodes WHERE id = $1")
            .bind(id)
            .execute(&self.pool)
            .await?;
        Ok(done.rows_affected() > 0)
    }

    /// After a `Duplicate`: which of `hostname` and address + port another
    /// node (not `except`) holds, so the answer can name the field.
    pub async fn node_clash(
        &self,
        except: Option<i64>,
        hostname: &str,
        ip: &str,
        ssh_port: u16,
    ) -> Result<Option<NodeClash>, sqlx::Error> {
        let row = sqlx::query(
            "SELECT hostname FROM nodes WHERE id <> $1 AND (hostname = $2 OR (ip = $3 AND ssh_port = $4)) \
             ORDER BY id LIMIT 1",
        )
        .bind(except.unwrap_or(-1))
        .bind(hostname)
        .bind(ip)
        .bind(i64::from(ssh_port))
        .fetch_optional(&self.pool)
        .await?;
        Ok(row
            .map(|row| row.try_get::<String, _>("hostname"))
            .transpose()?
            .map(|taken| {
                if taken == hostname {
                    NodeClash::Hostname
                } else {
                    NodeClash::Address
                }
            }))
    }
}

async fn insert_one(
    tx: &mut sqlx::Transaction<'_, sqlx::Any>,
    node: &NewNode,
    host_key: &HostKey,
) -> Result<Node, WriteError> {
    let row = sqlx::query(&format!(
        "INSERT INTO nodes (hostname, ip, ssh_port, os, cluster_id, status, host_key, \
         host_key_fingerprint, roles) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) \
         RETURNING {COLUMNS}"
    ))
    .bind(&node.hostname)
    .bind(&node.ip)
    .bind(i64::from(node.ssh_port))
    .bind(node.os.os_family())
    .bind(node.cluster_id)
    .bind(&node.status)
    .bind(host_key.line())
    .bind(host_key.fingerprint())
    .bind(roles_column(&node.roles))
    .fetch_one(&mut **tx)
    .await?;
    Ok(from_row(&row)?)
}
