//! What `upload_pm` and `execute_pm` do on a connected node. Every remote
//! command line is a constant of this file; the document and the applier go
//! over stdin, so nothing an operator wrote reaches the node's shell.

use std::process::Output;

use fuel_pm::report::Report;
use sha2::{Digest, Sha256};

use crate::failure::{NodeError, NodeFailure};
use crate::session::{NodeSession, Target, Tied};

/// Where `upload_pm` puts the document (the design's place, read by hiera and the applier).
pub const DOCUMENT_ON_NODE: &str = fuel_pm::DEFAULT_PATH;
/// Where `upload_pm` puts the applier.
pub const APPLIER_ON_NODE: &str = "/usr/local/libexec/fuel-pm/fuel-pm-apply";

const WRITE_DOCUMENT: &str = "set -e; umask 077; mkdir -p /etc/hiera; \
    t=/etc/hiera/.package_manipulation.yaml.fuel-tmp; cat > \"$t\"; chmod 0600 \"$t\"; \
    sync \"$t\"; mv -f \"$t\" /etc/hiera/package_manipulation.yaml; sync /etc/hiera";
const APPLIER_CHECKSUM: &str =
    "sha256sum /usr/local/libexec/fuel-pm/fuel-pm-apply 2>/dev/null || true";
const WRITE_APPLIER: &str = "set -e; umask 022; d=/usr/local/libexec/fuel-pm; mkdir -p \"$d\"; \
    t=\"$d/.fuel-pm-apply.fuel-tmp\"; cat > \"$t\"; chmod 0755 \"$t\"; sync \"$t\"; sha256sum \"$t\"";
const INSTALL_APPLIER: &str = "set -e; d=/usr/local/libexec/fuel-pm; \
    mv -f \"$d/.fuel-pm-apply.fuel-tmp\" \"$d/fuel-pm-apply\"; sync \"$d\"";

/// Runs the applier (its arguments follow) tied to the ssh session: the
/// applier gets a process group of its own (`setsid`, util-linux, on every
/// Debian and CentOS node), and a watcher reads the session's stdin, which
/// the master never writes and holds open while it waits. When stdin closes
/// (the master closed it at the node's timeout, or the master process or its
/// connection died) the watcher stops the applier's whole group (TERM, KILL
/// 5 s later), so no applier outlives the master that started it and holds
/// the node's lock against the rerun. The applier's stdout, stderr and exit
/// status are the command's. Background lists of a non-interactive sh read
/// /dev/null, hence stdin kept on fd 3 for the watcher.
const RUN_APPLIER: &str = "exec sh -c 'exec 3<&0; \
    setsid /usr/local/libexec/fuel-pm/fuel-pm-apply \"$@\" </dev/null 3<&- & a=$!; \
    { cat >/dev/null; kill -s TERM -- -$a || kill -s TERM $a; \
      for i in 1 2 3 4 5; do kill -s 0 -- -$a || exit 0; sleep 1; done; \
      kill -s KILL -- -$a; } <&3 >/dev/null 2>&1 & w=$!; \
    exec 3<&-; wait $a; rc=$?; kill $w; exit $rc' fuel-pm-apply";

/// How long the applier's group gets to end once its stdin closed (the
/// wrapper's TERM, then KILL after 5 s, and the ssh round trip).
const END_GRACE: std::time::Duration = std::time::Duration::from_secs(15);

/// The applier's exit status when another applier holds the node's lock.
const EXIT_LOCKED: i32 = 75;
/// What an applier that predates [`EXIT_LOCKED`] says (exit 1) in that case.
const LOCKED_MESSAGE: &str = "another fuel-pm-apply is running on this node";

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
/// report. A report with failures is an error carrying that report; another
/// run holding the node's applier lock is [`NodeFailure::NodeBusy`] (the
/// caller may wait and try again). At `deadline` the run on the node is
/// ended (its process group) before this returns [`NodeFailure::Timeout`].
pub async fn execute_pm(
    session: &NodeSession,
    target: &Target,
    check: bool,
    deadline: tokio::time::Instant,
) -> Result<Report, NodeError> {
    let mut args = vec![
        "--json",
        "--backend",
        target.backend,
        "--file",
        DOCUMENT_ON_NODE,
        // No --wait-applier: an applier whose master died ends with its ssh
        // session (RUN_APPLIER), and a lock still held is node_busy, waited
        // for by the executor (lock_wait_secs) where the node's line says so.
    ];
    if check {
        args.push("--check");
    }
    let lost = |e: openssh::Error| {
        NodeError::new(
            NodeFailure::Unreachable,
            format!("{}: the ssh connection failed: {e}", target.hostname),
        )
    };
    let timed_out = |how: &str| {
        NodeError::new(
            NodeFailure::Timeout,
            format!(
                "{}: the applier did not finish within the node's timeout (node_timeout_secs); {how}",
                target.hostname
            ),
        )
    };
    let out = match session
        .run_tied(RUN_APPLIER, &args, deadline, END_GRACE)
        .await
        .map_err(lost)?
    {
        Tied::Finished(out) => out,
        Tied::Ended => {
            return Err(timed_out(
                "its run on the node was ended (its process group stopped); \
                 owed after-actions are performed by the next run",
            ))
        }
        Tied::Abandoned => {
            return Err(timed_out(&format!(
                "its run on the node did not end within {} s of being stopped: \
                 check the node (ps -C fuel-pm-apply) before running the command again",
                END_GRACE.as_secs()
            )))
        }
    };
    check_connection(target, &out)?;
    let code = out.status.code();
    let stderr = String::from_utf8_lossy(&out.stderr);
    let stderr_tail = tail(&stderr, 2000);
    if code == Some(EXIT_LOCKED) || (code == Some(1) && stderr.contains(LOCKED_MESSAGE)) {
        return Err(NodeError::new(
            NodeFailure::NodeBusy,
            format!("{}: {stderr_tail}", target.hostname),
        ));
    }
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
    check_connection(target, &out)?;
    Ok(out)
}

/// ssh itself exits 255 when the connection drops.
fn check_connection(target: &Target, out: &Output) -> Result<(), NodeError> {
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
    Ok(())
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
