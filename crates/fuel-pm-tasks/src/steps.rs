//! What `upload_pm` and `execute_pm` do on a connected node. Every remote
//! command line is a constant of this file; the document and the applier go
//! over stdin, so nothing an operator wrote reaches the node's shell.

use std::process::Output;

use fuel_pm::report::Report;
use sha2::{Digest, Sha256};

use crate::failure::{NodeError, NodeFailure};
use crate::session::{NodeSession, Target};

/// Where `upload_pm` puts the document (the design's place, read by hiera and the applier).
pub const DOCUMENT_ON_NODE: &str = fuel_pm::DEFAULT_PATH;
/// Where `upload_pm` puts the applier.
pub const APPLIER_ON_NODE: &str = "/usr/local/libexec/fuel-pm/fuel-pm-apply";

/// How long `execute_pm` lets the applier wait for another one on the node.
const APPLIER_WAIT_SECS: &str = "600";
const WRITE_DOCUMENT: &str = "set -e; umask 077; mkdir -p /etc/hiera; \
    t=/etc/hiera/.package_manipulation.yaml.fuel-tmp; cat > \"$t\"; chmod 0600 \"$t\"; \
    sync \"$t\"; mv -f \"$t\" /etc/hiera/package_manipulation.yaml; sync /etc/hiera";
const APPLIER_CHECKSUM: &str =
    "sha256sum /usr/local/libexec/fuel-pm/fuel-pm-apply 2>/dev/null || true";
const WRITE_APPLIER: &str = "set -e; umask 022; d=/usr/local/libexec/fuel-pm; mkdir -p \"$d\"; \
    t=\"$d/.fuel-pm-apply.fuel-tmp\"; cat > \"$t\"; chmod 0755 \"$t\"; sync \"$t\"; sha256sum \"$t\"";
const INSTALL_APPLIER: &str = "set -e; d=/usr/local/libexec/fuel-pm; \
    mv -f \"$d/.fuel-pm-apply.fuel-tmp\" \"$d/fuel-pm-apply\"; sync \"$d\"";

/// The applier binary the master ships to nodes, read once per task.
#[derive(Debug, Clone)]
pub struct Applier {
    pub bytes: std::sync::Arc<Vec<u8>>,
    pub sha256: String,
}

impl Applier {
    pub fn load(path: &std::path::Path) -> std::io::Result<Applier> {
        let bytes = std::fs::read(path)?;
        let sha256 = hex(&Sha256::digest(&bytes));
        Ok(Applier {
            bytes: std::sync::Arc::new(bytes),
            sha256,
        })
    }
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// `upload_pm`: the document to /etc/hiera/package_manipulation.yaml (temp file,
/// fsync, rename, 0600), and the applier when the node's copy is missing or differs.
pub async fn upload_pm(
    session: &NodeSession,
    target: &Target,
    document: &[u8],
    applier: &Applier,
) -> Result<(), NodeError> {
    let out = remote(session, target, WRITE_DOCUMENT, &[], Some(document)).await?;
    expect_success(target, "writing the package document", &out)?;

    let out = remote(session, target, APPLIER_CHECKSUM, &[], None).await?;
    let present = String::from_utf8_lossy(&out.stdout);
    if present.split_whitespace().next() == Some(applier.sha256.as_str()) {
        return Ok(());
    }
    let out = remote(session, target, WRITE_APPLIER, &[], Some(&applier.bytes)).await?;
    expect_success(target, "copying the applier", &out)?;
    let written = String::from_utf8_lossy(&out.stdout);
    if written.split_whitespace().next() != Some(applier.sha256.as_str()) {
        return Err(NodeError::new(
            NodeFailure::UploadFailed,
            format!(
                "{}: the applier copied to the node does not match the master's (sha256 {}); \
                 check the node's disk space",
                target.hostname, applier.sha256
            ),
        ));
    }
    let out = remote(session, target, INSTALL_APPLIER, &[], None).await?;
    expect_success(target, "installing the applier", &out)
}

/// `execute_pm`: runs the applier on the uploaded document and returns its
/// report. A report with failures is an error carrying that report.
pub async fn execute_pm(
    session: &NodeSession,
    target: &Target,
    check: bool,
) -> Result<Report, NodeError> {
    let mut args = vec![
        "--json",
        "--backend",
        target.backend,
        "--file",
        DOCUMENT_ON_NODE,
        // An applier a master that died left running (another fuel-api
        // process took the task over) finishes first; the node's timeout
        // still bounds the whole.
        "--wait-applier",
        APPLIER_WAIT_SECS,
    ];
    if check {
        args.push("--check");
    }
    let out = remote(session, target, APPLIER_ON_NODE, &args, None).await?;
    let code = out.status.code();
    let stderr_tail = tail(&String::from_utf8_lossy(&out.stderr), 2000);
    let report: Option<Report> = serde_json::from_slice(&out.stdout).ok();
    match (code, report) {
        (Some(0 | 2), Some(report)) => Ok(report),
        (Some(4 | 6), Some(report)) => Err(NodeError {
            reason: NodeFailure::ApplyFailed,
            message: format!(
                "{}: {} of {} packages failed, {} after-actions failed",
                target.hostname,
                report.totals.failed,
                report.packages.len(),
                report.totals.actions_failed
            ),
            report: Some(report),
        }),
        (Some(code @ (0 | 2 | 4 | 6)), None) => Err(NodeError::new(
            NodeFailure::ReportInvalid,
            format!(
                "{}: the applier exited {code} but its output is not a schema-{} report; stderr: {stderr_tail}",
                target.hostname,
                fuel_pm::report::SCHEMA
            ),
        )),
        (code, _) => Err(NodeError::new(
            NodeFailure::ApplyFailed,
            format!(
                "{}: the applier could not run (exit {}): {stderr_tail}",
                target.hostname,
                code.map_or("by signal".to_string(), |c| c.to_string())
            ),
        )),
    }
}

async fn remote(
    session: &NodeSession,
    target: &Target,
    command: &str,
    args: &[&str],
    stdin: Option<&[u8]>,
) -> Result<Output, NodeError> {
    let out = session.run(command, args, stdin).await.map_err(|e| {
        NodeError::new(
            NodeFailure::Unreachable,
            format!("{}: the ssh connection failed: {e}", target.hostname),
        )
    })?;
    // ssh itself exits 255 when the connection drops.
    if out.status.code() == Some(255) {
        return Err(NodeError::new(
            NodeFailure::Unreachable,
            format!(
                "{}: the ssh connection was lost: {}",
                target.hostname,
                tail(&String::from_utf8_lossy(&out.stderr), 500)
            ),
        ));
    }
    Ok(out)
}

fn expect_success(target: &Target, what: &str, out: &Output) -> Result<(), NodeError> {
    if out.status.success() {
        return Ok(());
    }
    Err(NodeError::new(
        NodeFailure::UploadFailed,
        format!(
            "{}: {what} failed (exit {:?}): {}",
            target.hostname,
            out.status.code(),
            tail(&String::from_utf8_lossy(&out.stderr), 1000)
        ),
    ))
}

/// The last `max` bytes of `text`, on a character boundary.
fn tail(text: &str, max: usize) -> String {
    let text = text.trim();
    if text.len() <= max {
        return text.to_string();
    }
    let mut start = text.len() - max;
    while !text.is_char_boundary(start) {
        start += 1;
    }
    format!("…{}", &text[start..])
}
