//! The package inventory (issue 22), measured inside `cargo xtask bench
//! api`: an environment of 200 nodes × 1,000 packages, read whole
//! (`GET …/package_inventory`) and judged against a 1,000-package document
//! (`?drift=1`), beside `GET /api/health/live` in the same run.
//! Target: under 100 ms per answer.
//!
//! The nodes are registered through the API; their reports are stored
//! through fuel-api's own write path (`fuel_api::store_execute_pm_reports`:
//! the task, each node's sub-task with its report, the inventory in the same
//! transaction), so no 200 real nodes are needed.

use anyhow::{bail, Context};
use fuel_api::ReportedNode;
use fuel_e2e::api::PackagedApi;
use fuel_pm::report::{PackageAction, PackageResult, Report, Totals};
use xshell::Shell;

pub const NODES: usize = 200;
pub const PACKAGES: usize = 1_000;
pub const TARGET_MS: f64 = 100.0;

/// A valid host key (nodes may share one; hostnames and addresses may not).
const HOST_KEY: &str =
    "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIDtcMI5bCflBskefazvv1WTBgvjeIuWfUFMnT1oxaGXy";

/// Seeds the environment; returns the inventory's path.
pub fn seed(
    sh: &Shell,
    server: &PackagedApi,
    database_url: &str,
    work: &std::path::Path,
) -> anyhow::Result<String> {
    let body = r#"{"name": "inventory-bench", "release_id": 1}"#;
    let (status, answer) = server.request("POST", "/api/v1/clusters", body)?;
    if status != 201 {
        bail!("creating the environment: status {status}: {answer}");
    }
    let cluster: serde_json::Value = serde_json::from_str(&answer)?;
    let cluster = cluster["id"].as_i64().context("no environment id")?;

    let mut nodes: Vec<(i64, String)> = Vec::with_capacity(NODES);
    for i in 0..NODES {
        let hostname = format!("bench-node-{i:03}");
        let body = serde_json::json!({
            "hostname": hostname,
            "ip": format!("10.30.{}.{}", i / 250, i % 250 + 1),
            "os": if i % 2 == 0 { "ubuntu" } else { "centos" },
            "cluster_id": cluster,
            "host_key": HOST_KEY,
        })
        .to_string();
        let (status, answer) = server.request("POST", "/api/v1/nodes", &body)?;
        if status != 201 {
            bail!("registering {hostname}: status {status}: {answer}");
        }
        let node: serde_json::Value = serde_json::from_str(&answer)?;
        nodes.push((node["id"].as_i64().context("no node id")?, hostname));
    }

    // A document naming every package at 1.0-1, for the drift judgement.
    let document = work.join("inventory-document.yaml");
    let mut text = String::from("packages:\n");
    for p in 0..PACKAGES {
        text.push_str(&format!("- name: {}\n  version: '1.0-1'\n", package(p)));
    }
    std::fs::write(&document, text)?;
    super::api::upload_document(sh, &server.url, &server.token, cluster, &document)?;

    let reports: Vec<Report> = nodes
        .iter()
        .enumerate()
        .map(|(i, (_, hostname))| report(i, hostname))
        .collect();
    let reported: Vec<ReportedNode> = nodes
        .iter()
        .zip(&reports)
        .map(|((id, hostname), report)| ReportedNode {
            node_id: *id,
            hostname,
            report,
        })
        .collect();
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    runtime
        .block_on(fuel_api::store_execute_pm_reports(
            database_url,
            cluster,
            &reported,
        ))
        .map_err(|e| anyhow::anyhow!("storing the benchmark's reports: {e}"))?;
    Ok(format!(
        "{}/api/v1/clusters/{cluster}/package_inventory",
        server.url
    ))
}

fn package(p: usize) -> String {
    format!("fuel-bench-package-{p:04}")
}

/// Node `i`'s report: every package at 1.0-1, except that every tenth node
/// runs every fiftieth package at 2.0-1 and every hundredth package is
/// absent on odd nodes: some drift, as a real environment has.
fn report(i: usize, hostname: &str) -> Report {
    let packages = (0..PACKAGES)
        .map(|p| {
            let version = if i % 10 == 0 && p % 50 == 0 {
                Some("2.0-1".to_string())
            } else if i % 2 == 1 && p % 100 == 7 {
                None
            } else {
                Some("1.0-1".to_string())
            };
            PackageResult {
                name: package(p),
                requested: "1.0-1".to_string(),
                before: version.clone(),
                after: version,
                action: PackageAction::Unchanged,
                reason: None,
                message: None,
            }
        })
        .collect();
    Report {
        schema: fuel_pm::report::SCHEMA,
        hostname: hostname.to_string(),
        backend: if i % 2 == 0 { "apt" } else { "dnf" }.to_string(),
        check: true,
        packages,
        actions: Vec::new(),
        totals: Totals::default(),
        exit_code: 0,
    }
}
