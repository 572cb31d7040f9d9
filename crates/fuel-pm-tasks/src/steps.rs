//! What `upload_pm` and `execute_pm` do on a connected node. Every remote
//! command line is built in this file from constants (the node's paths in
//! `fuel_node::paths`); the document and the applier go over stdin, so
//! nothing an operator wrote reaches the node's shell.

use std::process::Output;

use fuel_node::paths;
use fuel_pm::report::Report;
use sha2::{Digest, Sha256};

use crate::failure::{NodeError, NodeFailure};
use crate::session::{NodeSession, Target, Tied};

/// Writes stdin to the document's place (temporary file, 0600, fsync,
/// rename, directory fsync), then prints the node's applier's sha256
/// (nothing when it has none): one command, so one ssh session, for both.
/// The sha256 comes from the file the applier was installed with when the
/// applier is still the file it describes (size, inode and change time,
/// which no write, chmod or rename leaves alone and no tool sets back), so
/// the node hashes its 3 MB only when it changed.
fn write_document() -> String {
    format!(
        "set -e; umask 077; mkdir -p {dir}; \
         t={tmp}; cat > \"$t\"; chmod 0600 \"$t\"; \
         sync \"$t\"; mv -f \"$t\" {document}; sync {dir}; \
         a={applier}; \
         if {{ read sum; read id; }} 2>/dev/null <{sums} && \
            [ \"$id\" = \"$(stat -c '{identity}' \"$a\" 2>/dev/null)\" ]; \
         then echo \"$sum\"; else sha256sum \"$a\" 2>/dev/null || true; fi",
        dir = paths::DOCUMENT_DIR,
        tmp = paths::DOCUMENT_TMP,
        document = paths::DOCUMENT,
        applier = paths::APPLIER,
        sums = paths::APPLIER_SUM,
        identity = FILE_IDENTITY,
    )
}

/// `stat -c` of what changes whenever a file's content can have: size,
/// inode, change time (nanoseconds).
const FILE_IDENTITY: &str = "%s %i %z";

/// Writes stdin to the applier's temporary file (0755, fsynced) and prints its sha256.
fn write_applier() -> String {
    format!(
        "set -e; umask 022; mkdir -p {dir}; \
         t={tmp}; cat > \"$t\"; chmod 0755 \"$t\"; sync \"$t\"; sha256sum \"$t\"",
        dir = paths::APPLIER_DIR,
        tmp = paths::APPLIER_TMP,
    )
}

/// Renames the checked temporary applier into place and records its sha256
/// and identity beside it (see [`write_document`]).
fn install_applier() -> String {
    format!(
        "set -e; a={applier}; mv -f {tmp} \"$a\"; sync {dir}; \
         {{ sha256sum \"$a\"; stat -c '{identity}' \"$a\"; }} > {sums}.fuel-tmp; \
         mv -f {sums}.fuel-tmp {sums}",
        tmp = paths::APPLIER_TMP,
        applier = paths::APPLIER,
        dir = paths::APPLIER_DIR,
        sums = paths::APPLIER_SUM,
        identity = FILE_IDENTITY,
    )
}

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
fn run_applier() -> String {
    format!(
        "exec sh -c 'exec 3<&0; \
         setsid {applier} \"$@\" </dev/null 3<&- & a=$!; \
         {{ cat >/dev/null; kill -s TERM -- -$a || kill -s TERM $a; \
           for i in 1 2 3 4 5; do kill -s 0 -- -$a || exit 0; sleep 1; done; \
           kill -s KILL -- -$a; }} <&3 >/dev/null 2>&1 & w=$!; \
         exec 3<&-; wait $a; rc=$?; kill $w; exit $rc' fuel-pm-apply",
        applier = paths::APPLIER,
    )
}

/// How long the applier's group gets to end once its stdin closed (the
/// wrapper's TERM, then KILL after 5 s, and the ssh round trip).
const END_GRACE: std::time::Duration = std::time::Duration::from_secs(15);

/// What an applier that predates [`Report::NODE_BUSY_EXIT_CODE`] says
/// (exit 1) when another applier holds the node's lock.
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
        let sha256 = fuel_atomic::hex(&Sha256::digest(&bytes));
        Ok(Applier {
            bytes: std::sync::Arc::new(bytes),
            sha256,
        })
    }
}

/// `upload_pm`: the document to /etc/hiera/package_manipulation.yaml (temp file,
/// fsync, rename, 0600), and the applier when the node's copy is missing or differs.
pub async fn upload_pm(
    session: &NodeSession,
    target: &Target,
    document: &[u8],
    applier: &Applier,
) -> Result<(), NodeError> {
    let out = remote(session, target, &write_document(), &[], Some(document)).await?;
    expect_success(target, "writing the package document", &out)?;
    let present = String::from_utf8_lossy(&out.stdout);
    if present.split_whitespace().next() == Some(applier.sha256.as_str()) {
        return Ok(());
    }
    let out = remote(session, target, &write_applier(), &[], Some(&applier.bytes)).await?;
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
    let out = remote(session, target, &install_applier(), &[], None).await?;
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
        target.package_manager.as_str(),
        "--file",
        paths::DOCUMENT,
        // No --wait-applier: an applier whose master died ends with its ssh
        // session ([`run_applier`]), and a lock still held is node_busy, waited
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
        .run_tied(&run_applier(), &args, deadline, END_GRACE)
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
    if code == Some(Report::NODE_BUSY_EXIT_CODE)
        || (code == Some(1) && stderr.contains(LOCKED_MESSAGE))
    {
        return Err(NodeError::new(
            NodeFailure::NodeBusy,
            format!("{}: {stderr_tail}", target.hostname),
        ));
    }
    let report: Option<Report> = serde_json::from_slice(&out.stdout).ok();
    match (code, code.and_then(Report::changes_and_failures), report) {
        (_, Some((_, false)), Some(report)) => Ok(report),
        (_, Some((_, true)), Some(report)) => Err(NodeError {
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
        (Some(code), Some(_), None) => Err(NodeError::new(
            NodeFailure::ReportInvalid,
            format!(
                "{}: the applier exited {code} but its output is not a schema-{} report; stderr: {stderr_tail}",
                target.hostname,
                fuel_pm::report::SCHEMA
            ),
        )),
        (code, _, _) => Err(NodeError::new(
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
