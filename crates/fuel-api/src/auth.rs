//! Tokens: issued for the configured users (argon2 password hashes), sent as
//! `X-Auth-Token`, expiring after the configured lifetime, revocable. The
//! database keeps only a SHA-256 of each token. On SQLite (one process)
//! validated tokens are cached in memory so that a read costs no database
//! round trip; on PostgreSQL every request's token is looked up, so a token
//! revoked through one fuel-api process is refused by all from that moment.

use std::collections::HashMap;
use std::sync::RwLock;
use std::time::{SystemTime, UNIX_EPOCH};

use std::net::IpAddr;
use std::sync::Arc;

use argon2::password_hash::{PasswordHasher, SaltString};
use argon2::Argon2;
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use fuel_api_client::{ApiError, Token};
use rand::RngCore;
use sha2::{Digest, Sha256};

use crate::config::AuthConfig;
use crate::error::Failure;
use crate::login_guard::{LoginGuard, Slowed};
use crate::password_check::{CheckError, PasswordChecks};
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
fn unknown_user_hash() -> Arc<str> {
    static HASH: std::sync::OnceLock<Arc<str>> = std::sync::OnceLock::new();
    HASH.get_or_init(|| {
        let mut password = [0u8; 32];
        rand::rngs::OsRng.fill_bytes(&mut password);
        hash_password(&fuel_atomic::hex(&password)).into()
    })
    .clone()
}

/// Why a login failed: refused (401, or the server's own failure), or
/// slowed (429 with `Retry-After`) before any password was checked.
#[derive(Debug)]
pub enum LoginFailure {
    Failure(Failure),
    Slowed(Slowed),
}

impl From<Failure> for LoginFailure {
    fn from(failure: Failure) -> Self {
        LoginFailure::Failure(failure)
    }
}

impl From<sqlx::Error> for LoginFailure {
    fn from(e: sqlx::Error) -> Self {
        LoginFailure::Failure(e.into())
    }
}

impl IntoResponse for LoginFailure {
    fn into_response(self) -> Response {
        match self {
            LoginFailure::Failure(failure) => failure.into_response(),
            LoginFailure::Slowed(slowed) => (
                StatusCode::TOO_MANY_REQUESTS,
                [(header::RETRY_AFTER, slowed.retry_after_secs().to_string())],
                Json(ApiError::new(slowed.message)),
            )
                .into_response(),
        }
    }
}

/// Who made a request: the user and the hash of the token they sent.
#[derive(Debug, Clone)]
pub struct Session {
    pub username: String,
    pub token_hash: String,
    /// When the token stops being accepted, in seconds since the Unix epoch.
    pub expires_at: i64,
}

pub struct Auth {
    config: AuthConfig,
    store: Store,
    /// token hash → stored token, for tokens seen valid; revocation removes them.
    valid: RwLock<HashMap<String, StoredToken>>,
    /// Whether `valid` is used: only when this process is the database's only one.
    cache_tokens: bool,
    // The login endpoint needs no token: checks run on two threads with a
    // memory block each (password_check.rs), and failed attempts slow down
    // who makes them (login_guard.rs).
    password_checks: PasswordChecks,
    guard: LoginGuard,
    /// Configured users' hashes, shared with the check threads.
    hashes: HashMap<String, Arc<str>>,
}

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
    pub fn new(config: AuthConfig, store: Store, cache_tokens: bool) -> Self {
        let hashes = config
            .users
            .iter()
            .map(|u| (u.name.clone(), Arc::from(u.password_hash.as_str())))
            .collect();
        Auth {
            config,
            store,
            valid: RwLock::new(HashMap::new()),
            cache_tokens,
            password_checks: PasswordChecks::start(),
            guard: LoginGuard::default(),
            hashes,
        }
    }

    pub fn reads_require_token(&self) -> bool {
        self.config.reads_require_token
    }

    /// Checks the password against the user's configured hash and issues a
    /// token: the one login of every route that takes a password (`client`
    /// is the address the request came from, for the failed-login limits).
    pub async fn login(
        &self,
        username: &str,
        password: &str,
        client: IpAddr,
    ) -> Result<Token, LoginFailure> {
        let refused = || Failure::unauthorized("wrong user name or password");
        let admission = self
            .guard
            .admit(username, client)
            .map_err(LoginFailure::Slowed)?;
        // An unknown user is checked against a throwaway hash, so the answer
        // takes as long as a wrong password and does not reveal which names exist.
        let (hash, known) = match self.hashes.get(username) {
            Some(hash) => (hash.clone(), true),
            None => (unknown_user_hash(), false),
        };
        let matches = match self
            .password_checks
            .matches(hash, password, admission.known())
            .await
        {
            Ok(matches) => matches,
            Err(CheckError::Busy) => {
                // Not the client's failure: the admission is released uncounted.
                return Err(LoginFailure::Slowed(Slowed {
                    retry_after: std::time::Duration::from_secs(1),
                    message: "too many logins are being checked: try again in 1 s".to_string(),
                }));
            }
            Err(e @ CheckError::Stopped) => return Err(Failure::internal(e).into()),
        };
        admission.finish(matches && known);
        if !(matches && known) {
            return Err(refused().into());
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
        if self.cache_tokens {
            let mut valid = self.valid.write().unwrap();
            // Expired tokens nobody presented again leave the cache here.
            valid.retain(|_, token| token.expires_at > issued_at);
            valid.insert(hash, stored.clone());
        }
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
                if self.cache_tokens {
                    self.valid
                        .write()
                        .unwrap()
                        .insert(hash.clone(), stored.clone());
                }
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
            expires_at: stored.expires_at,
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
