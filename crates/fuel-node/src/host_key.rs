//! SSH host keys as OpenSSH writes them (`TYPE BASE64 [comment]`, the lines
//! of `ssh-keyscan` and `/etc/ssh/ssh_host_*_key.pub`): checked, so a node
//! cannot be registered with a key the task runner could never match, and
//! fingerprinted as `ssh-keygen -l` prints. Serde goes through the same
//! parser (`TryFrom<String>`), so a bad key cannot be deserialized.

use base64::engine::general_purpose::{STANDARD, STANDARD_NO_PAD};
use base64::Engine;
use sha2::{Digest, Sha256};

/// The key types OpenSSH offers as host keys today (DSA is gone since 9.8).
pub const HOST_KEY_TYPES: &[&str] = &[
    "ssh-ed25519",
    "ecdsa-sha2-nistp256",
    "ecdsa-sha2-nistp384",
    "ecdsa-sha2-nistp521",
    "ssh-rsa",
    "sk-ssh-ed25519@openssh.com",
    "sk-ecdsa-sha2-nistp256@openssh.com",
];

/// What is wrong with a host key line, and what a good one looks like.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct HostKeyError(String);

/// A checked host key: its type and the decoded key blob. Written (and
/// serialized) as its canonical line, `TYPE BASE64`.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct HostKey {
    key_type: String,
    blob: Vec<u8>,
}

impl HostKey {
    /// Parses one OpenSSH public key line; the comment, if any, is dropped.
    /// The error says what is wrong and what a good line looks like.
    pub fn parse(line: &str) -> Result<HostKey, HostKeyError> {
        Self::parse_line(line).map_err(HostKeyError)
    }

    fn parse_line(line: &str) -> Result<HostKey, String> {
        const SHAPE: &str = "expected an OpenSSH public key line `TYPE BASE64 [comment]`, e.g. the node's /etc/ssh/ssh_host_ed25519_key.pub or a line of `ssh-keyscan HOST`";
        let mut words = line.split_ascii_whitespace();
        let (Some(key_type), Some(encoded)) = (words.next(), words.next()) else {
            return Err(format!("not a public key line: {SHAPE}"));
        };
        if !HOST_KEY_TYPES.contains(&key_type) {
            return Err(format!(
                "unknown key type `{}`: expected one of {}",
                key_type.escape_debug(),
                HOST_KEY_TYPES.join(", ")
            ));
        }
        let blob = STANDARD
            .decode(encoded)
            .map_err(|e| format!("the key's base64 does not decode ({e}): {SHAPE}"))?;
        check_blob(key_type, &blob)?;
        Ok(HostKey {
            key_type: key_type.to_string(),
            blob,
        })
    }

    pub fn key_type(&self) -> &str {
        &self.key_type
    }

    /// `TYPE BASE64`, the form known_hosts takes after the host name.
    pub fn line(&self) -> String {
        format!("{} {}", self.key_type, STANDARD.encode(&self.blob))
    }

    /// `SHA256:` and the unpadded base64 of the blob's sha256, as
    /// `ssh-keygen -l` prints.
    pub fn fingerprint(&self) -> String {
        format!(
            "SHA256:{}",
            STANDARD_NO_PAD.encode(Sha256::digest(&self.blob))
        )
    }
}

impl std::str::FromStr for HostKey {
    type Err = HostKeyError;
    fn from_str(line: &str) -> Result<Self, HostKeyError> {
        HostKey::parse(line)
    }
}

impl TryFrom<String> for HostKey {
    type Error = HostKeyError;
    fn try_from(line: String) -> Result<Self, HostKeyError> {
        HostKey::parse(&line)
    }
}

impl From<HostKey> for String {
    fn from(key: HostKey) -> String {
        key.line()
    }
}

/// The canonical line, `TYPE BASE64`.
impl std::fmt::Display for HostKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.line())
    }
}

/// The blob's fields (SSH wire strings: u32 big-endian length, bytes).
fn fields(blob: &[u8]) -> Result<Vec<&[u8]>, String> {
    let mut rest = blob;
    let mut fields = Vec::new();
    while !rest.is_empty() {
        let Some((length, tail)) = rest.split_first_chunk::<4>() else {
            return Err("the key blob is truncated".to_string());
        };
        let length = u32::from_be_bytes(*length) as usize;
        if tail.len() < length {
            return Err("the key blob is truncated".to_string());
        }
        let (field, tail) = tail.split_at(length);
        fields.push(field);
        rest = tail;
    }
    Ok(fields)
}

/// The blob must be a key of the type the line names, with that type's fields.
fn check_blob(key_type: &str, blob: &[u8]) -> Result<(), String> {
    let fields = fields(blob)?;
    let embedded = fields.first().copied().unwrap_or_default();
    if embedded != key_type.as_bytes() {
        return Err(format!(
            "the line says `{key_type}` but the key inside is `{}`: the line was edited or pasted from two keys",
            String::from_utf8_lossy(embedded).escape_debug()
        ));
    }
    let curve = key_type
        .strip_prefix("ecdsa-sha2-")
        .or_else(|| {
            key_type
                .strip_prefix("sk-ecdsa-sha2-")
                .and_then(|t| t.strip_suffix("@openssh.com"))
        })
        .map(str::as_bytes);
    let well_formed = match key_type {
        "ssh-ed25519" => fields.len() == 2 && fields[1].len() == 32,
        "sk-ssh-ed25519@openssh.com" => fields.len() == 3 && fields[1].len() == 32,
        "ssh-rsa" => fields.len() == 3 && !fields[1].is_empty() && fields[2].len() >= 128,
        "sk-ecdsa-sha2-nistp256@openssh.com" => {
            fields.len() == 4 && Some(fields[1]) == curve && !fields[2].is_empty()
        }
        _ => fields.len() == 3 && Some(fields[1]) == curve && !fields[2].is_empty(),
    };
    if !well_formed {
        return Err(format!(
            "the key blob is not a well-formed {key_type} key: copy the whole line again"
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    // ssh-keygen -t ed25519 -f k -N '' -C 'root@node-2'; ssh-keygen -lf k.pub
    const ED25519: &str = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIDtcMI5bCflBskefazvv1WTBgvjeIuWfUFMnT1oxaGXy root@node-2";
    const ED25519_FINGERPRINT: &str = "SHA256:iHELepGDJScSl6IVRBSRTsxc1uTrbtNBwFYi4oFoG2s";

    #[test]
    fn fingerprint_is_ssh_keygens() {
        let key = HostKey::parse(ED25519).unwrap();
        assert_eq!(key.key_type(), "ssh-ed25519");
        assert_eq!(key.fingerprint(), ED25519_FINGERPRINT);
        assert_eq!(
            key.line(),
            ED25519.strip_suffix(" root@node-2").unwrap(),
            "the comment is dropped"
        );
    }

    #[test]
    fn ecdsa_and_rsa_keys_are_accepted() {
        let ecdsa = "ecdsa-sha2-nistp256 AAAAE2VjZHNhLXNoYTItbmlzdHAyNTYAAAAIbmlzdHAyNTYAAABBBArBHELdLOKt+qoG2SOoIkD53NIpNyt6SnHGMlfeHzDKkao8cXxhelyN7dJP9E23Lf8IadkxFv5dMwq1C8Yv3hs=";
        assert_eq!(
            HostKey::parse(ecdsa).unwrap().fingerprint(),
            "SHA256:rRUVcbNjyfGEgGrQq5vLoFnozUvSsfFaNwC35hGaH0E"
        );
        let rsa = "ssh-rsa AAAAB3NzaC1yc2EAAAADAQABAAABAQCl5JwXm6rjhoaMh8Foq004YUNtrgy2knxW3MnyZy+KpOx0hByJAAWnHgUp4EM0GXYSDKSpQ35vVp4ZZWSRNtsOurrqooTZJetN8E/XnIAyRmuAfXUs+DqpHvoxDqTcrtqkkuruXUxzakVGgZfygvZLwqCrBVMvnhGes9JfLlTQCLL/wcwU5vQBVQP7Za9LIUzPWmLCT9wyw7wibIQ5QUWdAV6t7xRvCnVGbjUj+CMrrReG3SFXYsk30tQ8b7WSv4e+IYJ41Ymu/acV6u4b6VilENkrsB7xVLTBUBKctlIQhzxgoxZR5IORm6KfvQECcJB/zfNjFN8/UZ8l1BRC+h3T x";
        assert_eq!(
            HostKey::parse(rsa).unwrap().fingerprint(),
            "SHA256:XfdiGCsrbnbx9LxUvA2chPn09ErJyI5ZObm3RNnoPk8"
        );
    }

    #[test]
    fn bad_lines_say_why() {
        let blob = ED25519.split(' ').nth(1).unwrap();
        let cases = [
            ("", "not a public key line"),
            ("ssh-ed25519", "not a public key line"),
            (&format!("ssh-dss {blob}") as &str, "unknown key type"),
            ("ssh-ed25519 AAAA!!!!", "does not decode"),
            (
                &format!("ssh-rsa {blob}"),
                "the key inside is `ssh-ed25519`",
            ),
            (
                &format!(
                    "ssh-ed25519 {}",
                    STANDARD.encode(b"\0\0\0\x0bssh-ed25519\0\0\0\x02ab")
                ),
                "not a well-formed",
            ),
            (
                &format!(
                    "ssh-ed25519 {}",
                    STANDARD.encode(b"\0\0\0\x0bssh-ed25519\0\0\x01")
                ),
                "truncated",
            ),
        ];
        for (line, words) in cases {
            let error = HostKey::parse(line).unwrap_err().to_string();
            assert!(error.contains(words), "{line}: {error}");
        }
    }

    #[test]
    fn serde_takes_the_canonical_line_and_refuses_a_bad_one() {
        let key = HostKey::parse(ED25519).unwrap();
        let json = serde_json::to_string(&key).unwrap();
        assert_eq!(json, format!("\"{}\"", key.line()));
        assert_eq!(serde_json::from_str::<HostKey>(&json).unwrap(), key);
        let error = serde_json::from_str::<HostKey>("\"ssh-ed25519\"").unwrap_err();
        assert!(
            error.to_string().contains("not a public key line"),
            "{error}"
        );
    }
}
