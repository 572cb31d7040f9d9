//! One SSH connection to a node, its host key pinned to the registered one.
//!
//! System OpenSSH through the `openssh` crate: one master connection per node
//! (ControlMaster), so the task's several commands pay for one handshake,
//! and each command is opened on it over the control socket from this
//! process (the crate's native mux: the pipes are passed to the master), so
//! a command costs no `ssh` client process (~7 ms of CPU each). The
//! ssh configuration is ours alone (`-F`), written next to a known_hosts file
//! holding exactly the node's registered key under a per-node alias, so neither
//! the master's ~/.ssh nor the node's address history can widen what is trusted.

use std::path::{Path, PathBuf};
use std::process::Output;
use std::time::Duration;

use fuel_node::{HostKey, PackageManager};
use openssh::{ControlPersist, KnownHosts, Session, SessionBuilder, Stdio};
use tokio::io::AsyncWriteExt;

use crate::failure::{NodeError, NodeFailure};

/// How long an unused ControlMaster stays: longer than any pause between one
/// node's commands (a database write, the applier-lock retry interval).
const MASTER_IDLE_SECS: std::num::NonZeroUsize = match std::num::NonZeroUsize::new(15) {
    Some(secs) => secs,
    None => unreachable!(),
};

/// How the master reaches nodes.
#[derive(Debug, Clone)]
pub struct Settings {
    /// The master's private key (the node's root authorized_keys holds its public half).
    pub identity: PathBuf,
    pub user: String,
    pub connect_timeout: Duration,
    /// The master's copy of the applier binary, uploaded to nodes that lack it.
    pub applier: PathBuf,
}

/// A registered node, as the task needs it.
#[derive(Debug, Clone)]
pub struct Target {
    pub node_id: i64,
    pub hostname: String,
    pub ip: String,
    pub ssh_port: u16,
    /// The host key recorded at registration.
    pub host_key: HostKey,
    /// The applier's `--backend`, from the node's registered OS family.
    pub package_manager: PackageManager,
}

/// An open connection to one node.
pub struct NodeSession {
    session: Session,
    // Holds the ssh configuration, known_hosts and control socket.
    _dir: tempfile::TempDir,
}

impl NodeSession {
    /// Connects, refusing any host key but the registered one.
    pub async fn connect(target: &Target, settings: &Settings) -> Result<NodeSession, NodeError> {
        let dir = tempfile::Builder::new()
            .prefix(crate::leftovers::PREFIX)
            .tempdir()
            .and_then(|dir| crate::leftovers::mark_owner(dir.path()).map(|()| dir))
            .map_err(|e| {
                NodeError::new(
                    NodeFailure::Unreachable,
                    format!("cannot make a temporary directory for ssh: {e}"),
                )
            })?;
        let config = write_ssh_files(dir.path(), target).map_err(|e| {
            NodeError::new(
                NodeFailure::Unreachable,
                format!("cannot write the ssh configuration: {e}"),
            )
        })?;
        let mut builder = SessionBuilder::default();
        builder
            .user(settings.user.clone())
            .port(target.ssh_port)
            .keyfile(&settings.identity)
            .known_hosts_check(KnownHosts::Strict)
            .connect_timeout(settings.connect_timeout)
            .server_alive_interval(Duration::from_secs(15))
            // Not `yes` (the crate's default): a master whose fuel-api was
            // killed exits once its last session has ended, instead of
            // holding the connection open for good. The task closes it itself.
            .control_persist(ControlPersist::IdleFor(MASTER_IDLE_SECS))
            .control_directory(dir.path())
            .config_file(&config);
        match builder.connect_mux(&target.ip).await {
            Ok(session) => Ok(NodeSession { session, _dir: dir }),
            Err(e) => Err(classify_connect_error(target, &e)),
        }
    }

    /// Runs a fixed remote command line (never built from operator input),
    /// feeding `stdin` to it.
    pub(crate) async fn run(
        &self,
        command: &str,
        args: &[&str],
        stdin: Option<&[u8]>,
    ) -> Result<Output, openssh::Error> {
        let mut command_builder = self.session.raw_command(command);
        command_builder
            .raw_args(args)
            .stdin(if stdin.is_some() {
                Stdio::piped()
            } else {
                Stdio::null()
            })
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        let mut child = command_builder.spawn().await?;
        if let Some(bytes) = stdin {
            let mut pipe = child.stdin().take().expect("stdin was piped");
            pipe.write_all(bytes)
                .await
                .map_err(openssh::Error::ChildIo)?;
            pipe.shutdown().await.map_err(openssh::Error::ChildIo)?;
            drop(pipe);
        }
        child.wait_with_output().await
    }

    /// Runs a fixed remote command line whose stdin stays open while it runs:
    /// the node-side wrapper ([`crate::steps`]) ends the run when it closes.
    /// At `deadline` stdin is closed and the command gets `grace` to end.
    pub(crate) async fn run_tied(
        &self,
        command: &str,
        args: &[&str],
        deadline: tokio::time::Instant,
        grace: Duration,
    ) -> Result<Tied, openssh::Error> {
        let mut command_builder = self.session.raw_command(command);
        command_builder
            .raw_args(args)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        let mut child = command_builder.spawn().await?;
        // Never written to: held, so that the node sees it close when this
        // process stops holding it, whether by choice or by being killed.
        let stdin = child.stdin().take();
        let finished = child.wait_with_output();
        tokio::pin!(finished);
        tokio::select! {
            output = &mut finished => Ok(Tied::Finished(output?)),
            _ = tokio::time::sleep_until(deadline) => {
                drop(stdin);
                match tokio::time::timeout(grace, &mut finished).await {
                    Ok(output) => output.map(|_| Tied::Ended),
                    Err(_) => Ok(Tied::Abandoned),
                }
            }
        }
    }

    /// Closes the master connection.
    pub async fn close(self) {
        let _ = self.session.close().await;
    }
}

/// How a command run with [`NodeSession::run_tied`] ended.
pub(crate) enum Tied {
    /// By itself, before the deadline.
    Finished(Output),
    /// After the deadline closed its stdin.
    Ended,
    /// Still running `grace` after its stdin was closed.
    Abandoned,
}

/// The alias the node's key is recorded under: its identity, not its address.
fn alias(target: &Target) -> String {
    format!("fuel-node-{}", target.node_id)
}

/// One key exchange, chosen: OpenSSH 9.2's default list starts with the
/// post-quantum sntrup761x25519-sha512, which costs the master ~81 ms of CPU
/// per handshake against ~14 ms for curve25519-sha256 (measured on this
/// master's 2 cores); a fleet of nodes pays it once per node and task.
/// Every OpenSSH since 7.4 (2016) offers curve25519-sha256.
const KEX: &str = "curve25519-sha256";

/// Ciphers, chosen: with AES-NI (every x86-64 server since 2010) AES-GCM
/// moves the 3 MB applier for ~28 ms of the master's CPU against ~38 ms for
/// chacha20-poly1305, OpenSSH's first choice; a short command costs the
/// same with either. chacha20 stays as the fallback for nodes without GCM.
const CIPHERS: &str = "aes128-gcm@openssh.com,aes256-gcm@openssh.com,chacha20-poly1305@openssh.com";

fn write_ssh_files(dir: &Path, target: &Target) -> std::io::Result<PathBuf> {
    use std::io::Write;
    use std::os::unix::fs::OpenOptionsExt;
    let known_hosts = dir.join("known_hosts");
    let config = dir.join("config");
    let write = |path: &Path, text: String| -> std::io::Result<()> {
        let mut file = std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(0o600)
            .open(path)?;
        file.write_all(text.as_bytes())
    };
    write(
        &known_hosts,
        format!("{} {}\n", alias(target), target.host_key.line()),
    )?;
    write(
        &config,
        format!(
            "Host *\n  KexAlgorithms {KEX}\n  Ciphers {CIPHERS}\n  HostKeyAlias {}\n  UserKnownHostsFile {}\n  GlobalKnownHostsFile /dev/null\n  \
             StrictHostKeyChecking yes\n  UpdateHostKeys no\n  CheckHostIP no\n  \
             PasswordAuthentication no\n  KbdInteractiveAuthentication no\n  LogLevel ERROR\n",
            alias(target),
            known_hosts.display()
        ),
    )?;
    Ok(config)
}

fn classify_connect_error(target: &Target, error: &openssh::Error) -> NodeError {
    let mut text = error.to_string();
    let mut source = std::error::Error::source(error);
    while let Some(inner) = source {
        text.push_str(": ");
        text.push_str(&inner.to_string());
        source = inner.source();
    }
    let host_key = [
        "Host key verification failed",
        "REMOTE HOST IDENTIFICATION HAS CHANGED",
        "host key is known",
        "key for host",
    ]
    .iter()
    .any(|needle| text.contains(needle));
    let where_ = format!("{} ({}:{})", target.hostname, target.ip, target.ssh_port);
    if host_key {
        // OpenSSH's own advice names our temporary known_hosts file, which
        // is gone when the task ends: say what the operator can do instead.
        NodeError::new(
            NodeFailure::HostKeyMismatch,
            format!(
                "{where_} presented a host key other than its registered {} key: nothing was sent. \
                 If the node was reinstalled, compare its key on its console \
                 (ssh-keygen -lf /etc/ssh/ssh_host_ed25519_key.pub), then delete the node \
                 and register it again with fuel node create --host-key",
                target.host_key.key_type()
            ),
        )
    } else {
        NodeError::new(
            NodeFailure::Unreachable,
            format!("cannot connect to {where_} over ssh: {}", text.trim()),
        )
    }
}
