//! The tokens table: SHA-256 hashes of issued tokens, with owner and expiry.

use sqlx::Row;

use super::Store;

/// A token as stored: only its hash.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredToken {
    pub username: String,
    /// Seconds since the Unix epoch.
    pub expires_at: i64,
}

impl Store {
    pub async fn insert_token(
        &self,
        token_hash: &str,
        token: &StoredToken,
    ) -> Result<(), sqlx::Error> {
        sqlx::query("INSERT INTO tokens (token_hash, username, expires_at) VALUES ($1, $2, $3)")
            .bind(token_hash)
            .bind(&token.username)
            .bind(token.expires_at)
            .execute(&self.pool)
            .await
            .map(drop)
    }

    pub async fn find_token(&self, token_hash: &str) -> Result<Option<StoredToken>, sqlx::Error> {
        let row = sqlx::query("SELECT username, expires_at FROM tokens WHERE token_hash = $1")
            .bind(token_hash)
            .fetch_optional(&self.pool)
            .await?;
        row.map(|row| {
            Ok(StoredToken {
                username: row.try_get("username")?,
                expires_at: row.try_get("expires_at")?,
            })
        })
        .transpose()
    }

    pub async fn delete_token(&self, token_hash: &str) -> Result<(), sqlx::Error> {
        sqlx::query("DELETE FROM tokens WHERE token_hash = $1")
            .bind(token_hash)
            .execute(&self.pool)
            .await
            .map(drop)
    }

    /// Forgets the tokens that expired before `now`.
    pub async fn delete_expired_tokens(&self, now: i64) -> Result<u64, sqlx::Error> {
        let done = sqlx::query("DELETE FROM tokens WHERE expires_at <= $1")
            .bind(now)
            .execute(&self.pool)
            .await?;
        Ok(done.rows_affected())
    }
}
