//! Fetching a node's SSH host key with `ssh-keyscan` when it is registered
//! without `--host-key`. Parsing and fingerprinting are
//! `fuel_node::HostKey`'s, the same code the API checks keys with.

use std::net::IpAddr;
use std::path::PathBuf;
use std::process::Command;

use fuel_node::HostKey;

/// The key type fetched: the one every supported node's sshd has.
pub const SCANNED_TYPE: &str = "ed25519";
/// How long ssh-keyscan waits for a node, in seconds.
const TIMEOUT_SECONDS: &str = "5";

#[derive(Debug, thiserror::Error)]
pub enum KeyscanError {
    #[error("ssh-keyscan is not installed: install openssh-client, or pass --host-key 'ssh-ed25519 AAAA…' (from /etc/ssh/ssh_host_ed25519_key.pub on the node's console)")]
    NotInstalled,
    #[error("running {}: {source}", program.display())]
    Run {
        program: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("{address} port {port} gave no {SCANNED_TYPE} host key{detail}: is sshd running there and reachable from the master? Check --ip and --port, or pass --host-key")]
    NoKey {
        address: IpAddr,
        port: u16,
        detail: String,
    },
}

/// `ssh-keyscan -T 5 -t ed25519 -p PORT ADDRESS` (argv, no shell; an
/// `IpAddr` cannot be mistaken for an option).
pub fn scan(address: IpAddr, port: u16) -> Result<HostKey, KeyscanError> {
    let program = find_on_path("ssh-keyscan").ok_or(KeyscanError::NotInstalled)?;
    let out = Command::new(&program)
        .args(["-T", TIMEOUT_SECONDS, "-t", SCANNED_TYPE, "-p"])
        .arg(port.to_string())
        .arg(address.to_string())
        .output()
        .map_err(|source| KeyscanError::Run {
            program: program.clone(),
            source,
        })?;
    let stdout = String::from_utf8_lossy(&out.stdout);
    if let Some(key) = first_key(&stdout) {
        return Ok(key);
    }
    let stderr = String::from_utf8_lossy(&out.stderr);
    let stderr: Vec<&str> = stderr
        .lines()
        .map(str::trim)
        .filter(|l| !l.starts_with('#') && !l.is_empty())
        .collect();
    Err(KeyscanError::NoKey {
        address,
        port,
        detail: if stderr.is_empty() {
            String::new()
        } else {
            format!(" ({})", stderr.join("; "))
        },
    })
}

/// ssh-keyscan prints `HOST TYPE BASE64` lines and `#` banner comments.
fn first_key(output: &str) -> Option<HostKey> {
    output
        .lines()
        .filter(|l| !l.starts_with('#'))
        .filter_map(|l| l.split_once(char::is_whitespace).map(|(_, key)| key))
        .filter_map(|key| HostKey::parse(key).ok())
        .find(|key| key.key_type() == format!("ssh-{SCANNED_TYPE}"))
}

fn find_on_path(program: &str) -> Option<PathBuf> {
    std::env::split_paths(&std::env::var_os("PATH")?)
        .map(|dir| dir.join(program))
        .find(|candidate| candidate.is_file())
}

#[cfg(test)]
mod tests {
    use super::*;

    // ssh-keygen -t ed25519 -C root@node-2; ssh-keygen -lf printed the fingerprint.
    const KEY: &str =
        "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIMyn8BelJGMlnVt+HPehIiBfm+euFU8Jdu1n+nidGC3G";

    #[test]
    fn the_key_is_read_from_keyscan_output_past_its_banner() {
        let output =
            format!("# 172.17.0.2:22 SSH-2.0-OpenSSH_9.2p1 Debian-2\n[172.17.0.2]:2222 {KEY}\n");
        let key = first_key(&output).unwrap();
        assert_eq!(key.line(), KEY);
        assert_eq!(
            key.fingerprint(),
            "SHA256:Ypdnt7IQEryQH0U1i8apLSJ19AcUkd+iC2RrprccoHw"
        );
        assert!(first_key("# banner only\n").is_none());
        assert!(first_key("host ssh-ed25519 garbage\n").is_none());
    }
}
