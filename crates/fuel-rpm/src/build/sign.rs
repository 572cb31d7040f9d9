//! The OpenPGP key that signs packages: a release key given on the command
//! line, or a development key generated once under target/ and reused.

use std::fs;
use std::path::{Path, PathBuf};

use pgp::composed::{
    ArmorOptions, Deserializable, KeyType, SecretKeyParamsBuilder, SignedPublicKey, SignedSecretKey,
};
use pgp::crypto::hash::HashAlgorithm;
use pgp::types::KeyDetails;

use super::BuildError;

/// The user id of every generated development key: `rpm -qi` and the
/// builder's output show it, so nobody mistakes a dev build for a release.
pub const DEVELOPMENT_USER_ID: &str = "Fuel development key (NOT FOR RELEASE) <dev@fuel.invalid>";

const SECRET_FILE: &str = "secret.asc";
const PUBLIC_FILE: &str = "public.asc";

/// A loaded secret key, ready to sign packages.
#[derive(Clone, Debug)]
pub struct SigningKey {
    secret: SignedSecretKey,
    armored_secret: String,
    source: PathBuf,
}

impl SigningKey {
    /// An armored secret key file (`--sign-key FILE`).
    pub fn from_secret_key_file(path: &Path) -> Result<SigningKey, BuildError> {
        let armored = fs::read_to_string(path).map_err(|source| BuildError::Key {
            path: path.to_owned(),
            reason: format!("cannot read it: {source}"),
        })?;
        Self::from_armored(armored, path)
    }

    /// The development key under `dir` (e.g. target/fuel-dev-key/), generated
    /// once and reused. Its user id says it is a development key.
    pub fn development(dir: &Path) -> Result<SigningKey, BuildError> {
        let path = dir.join(SECRET_FILE);
        if !path.exists() {
            generate_development_key(dir)?;
        }
        let key = Self::from_secret_key_file(&path)?;
        // For humans and CI: `rpmkeys --import target/fuel-dev-key/public.asc`.
        let public = dir.join(PUBLIC_FILE);
        if !public.exists() {
            write_new(dir, PUBLIC_FILE, &key.public_key_armored(), 0o644).map_err(|e| {
                BuildError::Key {
                    path: public.clone(),
                    reason: format!("cannot write it: {e}"),
                }
            })?;
        }
        Ok(key)
    }

    fn from_armored(armored: String, path: &Path) -> Result<SigningKey, BuildError> {
        let key_error = |reason: String| BuildError::Key {
            path: path.to_owned(),
            reason,
        };
        let (secret, _) = SignedSecretKey::from_string(&armored).map_err(|e| {
            key_error(format!("not an armored OpenPGP secret key ({e}); export one with `gpg --armor --export-secret-keys KEYID`"))
        })?;
        secret
            .verify_bindings()
            .map_err(|e| key_error(format!("its self-signatures do not verify: {e}")))?;
        if secret.details.users.is_empty() {
            return Err(key_error("it has no user id".into()));
        }
        // Fail now, naming the key file, rather than at the first package.
        rpm::signature::pgp::Signer::from_asc(&armored)
            .map_err(|e| key_error(format!("rpm cannot sign with it: {e}")))?;
        Ok(SigningKey {
            secret,
            armored_secret: armored,
            source: path.to_owned(),
        })
    }

    pub fn is_development(&self) -> bool {
        self.user_id() == DEVELOPMENT_USER_ID
    }

    /// The first user id, e.g. "Fuel Release <release@example.org>".
    pub fn user_id(&self) -> String {
        self.secret
            .details
            .users
            .first()
            .map(|u| String::from_utf8_lossy(u.id.id()).into_owned())
            .unwrap_or_default()
    }

    /// Upper-case hex, as `gpg --fingerprint` and `rpm -qi` print it.
    pub fn fingerprint_hex(&self) -> String {
        format!("{:X}", self.secret.fingerprint())
    }

    /// Armored public key, what fuel-release ships under /etc/pki/fuel-gpg/.
    pub fn public_key_armored(&self) -> String {
        public_key_armored(&self.secret.to_public_key())
    }

    /// The key file this key was read from.
    pub fn path(&self) -> &Path {
        &self.source
    }

    pub(crate) fn signer(&self) -> Result<rpm::signature::pgp::Signer, BuildError> {
        rpm::signature::pgp::Signer::from_asc(&self.armored_secret).map_err(|e| BuildError::Key {
            path: self.source.clone(),
            reason: format!("rpm cannot sign with it: {e}"),
        })
    }
}

fn public_key_armored(key: &SignedPublicKey) -> String {
    key.to_armored_string(ArmorOptions::default())
        .expect("armoring a public key held in memory cannot fail")
}

/// RSA: the algorithm every rpm (4.x with its internal OpenPGP parser, or
/// Sequoia) verifies.
fn generate_development_key(dir: &Path) -> Result<(), BuildError> {
    let key_error = |reason: String| BuildError::Key {
        path: dir.join(SECRET_FILE),
        reason,
    };
    fs::create_dir_all(dir)
        .map_err(|e| key_error(format!("cannot create {}: {e}", dir.display())))?;
    let params = SecretKeyParamsBuilder::default()
        .key_type(KeyType::Rsa(3072))
        .can_certify(true)
        .can_sign(true)
        .primary_user_id(DEVELOPMENT_USER_ID.into())
        .preferred_hash_algorithms(vec![HashAlgorithm::Sha256, HashAlgorithm::Sha512].into())
        .build()
        .map_err(|e| key_error(format!("key parameters: {e}")))?;
    let secret = params
        .generate(rand::thread_rng())
        .map_err(|e| key_error(format!("key generation failed: {e}")))?;
    let armored = secret
        .to_armored_string(ArmorOptions::default())
        .map_err(|e| key_error(format!("cannot armor the key: {e}")))?;

    write_new(dir, SECRET_FILE, &armored, 0o600).map_err(|e| key_error(e.to_string()))?;
    Ok(())
}

/// Writes `dir/name` unless it already exists (another build won the race:
/// its key is kept, ours is dropped).
fn write_new(dir: &Path, name: &str, contents: &str, mode: u32) -> std::io::Result<()> {
    fuel_atomic::write_new(&dir.join(name), contents.as_bytes(), mode).map(|_| ())
}
