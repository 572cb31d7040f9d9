//! Tokens: issued for the configured users (argon2 password hashes), sent as
//! `X-Auth-Token`, expiring after the configured lifetime, revocable. The
//! database keeps only a SHA-256 of each token; validated tokens are cached in
//! memory so that a read costs no database round trip.

use std::collections::HashMap;
use std::sync::RwLock;
use std::time::{SystemTime, UNIX_EPOCH};

use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use argon2::Argon2;
use fuel_api_client::Token;
use rand::RngCore;
use sha2::{Digest, Sha256};

use crate::config::AuthConfig;
use crate::error::Failure;
use crate::store::{Store, StoredToken};

/// An argon2id hash (PHC string) of `password` with a random salt, for the
/// `auth.users` table of the configuration.
pub fn hash_password(password: &str) -> String {
    let mut salt = [0u8; 16];
    rand::rngs::OsRng.fill_bytes(&mut salt);
    let salt = SaltString::encode_b64(&salt).expect("16 bytes is a valid salt length");
    Argon2::default()
        .hash_password(password.as_bytes(), &salt)
        .expect("argon2 with default parameters hashes any password")
        .to_string()
}

/// The hash an unknown user name is verified against: made once, of a random
/// password nobody knows.
fn unknown_user_hash() -> &'static str {
    static HASH: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    HASH.get_or_init(|| {
        let mut password = [0u8; 32];
        rand::rngs::OsRng.fill_bytes(&mut password);
        hash_password(&fuel_atomic::hex(&password))
    })
}

/// Who made a request: the user and the hash of the token they sent.
#[derive(Debug, Clone)]
pub struct Session {
    pub username: String,
    pub token_hash: String,
}

pub struct Auth {
    config: AuthConfig,
    store: Store,
    /// token hash → stored token, for tokens seen valid; revocation removes them.
    valid: RwLock<HashMap<String, StoredToken>>,
    // Each argon2 check holds ~19 MiB; the login endpoint needs no token, so
    // without a bound a burst of logins would grow the process by that much
    // per request in flight.
    password_checks: tokio::sync::Semaphore,
}

/// Password checks run at once; more wait their turn.
const PASSWORD_CHECKS_AT_ONCE: usize = 2;

fn now() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or(0)
}

fn token_hash(token: &str) -> String {
    fuel_atomic::hex(&Sha256::digest(token.as_bytes()))
}

impl Auth {
    pub fn new(config: AuthConfig, store: Store) -> Self {
        Auth {
            config,
            store,
            valid: RwLock::new(HashMap::new()),
            password_checks: tokio::sync::Semaphore::new(PASSWORD_CHECKS_AT_ONCE),
        }
    }

    pub fn reads_require_token(&self) -> bool {
        self.config.reads_require_token
    }

    /// Checks the password against the user's configured hash and issues a token.
    pub async fn login(&self, username: &str, password: &str) -> Result<Token, Failure> {
        let refused = || Failure::unauthorized("wrong user name or password");
        let user = self.config.users.iter().find(|u| u.name == username);
        // An unknown user is checked against a throwaway hash, so the answer
        // takes as long as a wrong password and does not reveal which names exist.
        let hash = match user {
            Some(user) => user.password_hash.clone(),
            None => unknown_user_hash().to_string(),
        };
        let known = user.is_some();
        let password = password.to_string();
        let _turn = self
            .password_checks
            .acquire()
            .await
            .map_err(Failure::internal)?;
        // argon2 is slow on purpose: keep it off the async workers.
        let matches = tokio::task::spawn_blocking(move || {
            PasswordHash::new(&hash)
                .map(|parsed| {
                    Argon2::default()
                        .verify_password(password.as_bytes(), &parsed)
                        .is_ok()
                })
                .unwrap_or(false)
        })
        .await
        .map_err(Failure::internal)?;
        if !(matches && known) {
            return Err(refused());
        }
        let mut secret = [0u8; 32];
        rand::rngs::OsRng.fill_bytes(&mut secret);
        let token = fuel_atomic::hex(&secret);
        let issued_at = now();
        let stored = StoredToken {
            username: username.to_string(),
            expires_at: issued_at + self.config.token_ttl_secs as i64,
        };
        let hash = token_hash(&token);
        self.store.delete_expired_tokens(issued_at).await?;
        self.store.insert_token(&hash, &stored).await?;
        let mut valid = self.valid.write().unwrap();
        // Expired tokens nobody presented again leave the cache here.
        valid.retain(|_, token| token.expires_at > issued_at);
        valid.insert(hash, stored.clone());
        drop(valid);
        Ok(Token {
            token,
            expires_at: stored.expires_at,
        })
    }

    /// The session of a token, or 401 saying why it is refused.
    pub async fn validate(&self, token: &str) -> Result<Session, Failure> {
        let hash = token_hash(token);
        let cached = self.valid.read().unwrap().get(&hash).cloned();
        let stored = match cached {
            Some(stored) => stored,
            None => {
                let stored = self.store.find_token(&hash).await?.ok_or_else(|| {
                    Failure::unauthorized(
                        "unknown or revoked token: get a new one with POST /api/v1/auth/tokens",
                    )
                })?;
                self.valid
                    .write()
                    .unwrap()
                    .insert(hash.clone(), stored.clone());
                stored
            }
        };
        if stored.expires_at <= now() {
            self.forget(&hash).await?;
            return Err(Failure::unauthorized(
                "the token has expired: get a new one with POST /api/v1/auth/tokens",
            ));
        }
        // A user removed from the configuration loses their tokens.
        if !self.config.users.iter().any(|u| u.name == stored.username) {
            return Err(Failure::unauthorized(format!(
                "user `{}` is no longer configured",
                stored.username
            )));
        }
        Ok(Session {
            username: stored.username,
            token_hash: hash,
        })
    }

    /// Revokes a session's token: refused from now on.
    pub async fn revoke(&self, session: &Session) -> Result<(), Failure> {
        self.forget(&session.token_hash).await
    }

    async fn forget(&self, hash: &str) -> Result<(), Failure> {
        self.valid.write().unwrap().remove(hash);
        self.store.delete_token(hash).await?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn token_hash_is_the_hex_sha256() {
        // sha256("abc"), FIPS 180-2 appendix B.1
        assert_eq!(
            token_hash("abc"),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
        assert_eq!(fuel_atomic::hex(&[0x00, 0x0f, 0xa0, 0xff]), "000fa0ff");
    }
}
