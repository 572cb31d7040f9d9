//! `POST /keystone/v2.0/tokens`: Keystone v2.0's token request, as
//! python-fuelclient (through keystoneclient) sends it before every command,
//! answered with an ordinary fuel-api token for fuel-api's own users.
//!
//! keystoneclient asks twice: with `passwordCredentials` (and `tenantName`),
//! then again with the token it got (`token.id`, `tenantId`) to scope it.
//! The first is the native login, `Auth::login` with the client's address
//! (same password check, same per-address and per-user limits); the
//! second validates the token and answers it again. fuel-api has no
//! tenants: the one tenant, `admin` (fuelclient's default OS_TENANT_NAME),
//! stands for the whole master. Nothing else of Keystone is served: any other
//! path under /keystone is a 404 saying so.

use std::net::SocketAddr;

use axum::extract::{ConnectInfo, State};
use axum::http::Uri;
use axum::routing::{any, post};
use axum::{Json, Router};
use serde::Deserialize;
use serde_json::{json, Value};

use crate::auth::LoginFailure;
use crate::clock::{now_rfc3339, unix_rfc3339};
use crate::error::Failure;
use crate::json_body::JsonBody;
use crate::state::AppState;

/// The one tenant a token is scoped to (its name and its id).
const TENANT: &str = "admin";

/// Public, like the native login: a token is what it hands out.
pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/keystone/v2.0/tokens", post(tokens).fallback(not_served))
        .route("/keystone", any(not_served))
        .route("/keystone/{*rest}", any(not_served))
}

/// `{"auth": {...}}`, Keystone v2.0's request body.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct TokenRequest {
    auth: AuthRequest,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct AuthRequest {
    password_credentials: Option<PasswordCredentials>,
    token: Option<TokenReference>,
    tenant_name: Option<String>,
    tenant_id: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct PasswordCredentials {
    username: String,
    password: String,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct TokenReference {
    id: String,
}

async fn tokens(
    State(state): State<AppState>,
    ConnectInfo(client): ConnectInfo<SocketAddr>,
    JsonBody(request): JsonBody<TokenRequest>,
) -> Result<Json<Value>, LoginFailure> {
    let auth = request.auth;
    for (field, tenant) in [
        ("tenantName", &auth.tenant_name),
        ("tenantId", &auth.tenant_id),
    ] {
        if let Some(tenant) = tenant.as_deref().filter(|t| *t != TENANT) {
            return Err(LoginFailure::from(Failure::unauthorized(format!(
                "auth.{field}: no tenant `{}`: fuel-api has one tenant, {TENANT} (set OS_TENANT_NAME to {TENANT})",
                tenant.escape_debug()
            ))));
        }
    }
    let (username, token, expires_at) = match (auth.password_credentials, auth.token) {
        (Some(credentials), None) => {
            // The native login itself, so its argon2 check and its limits apply here too.
            let token = state
                .auth
                .login(&credentials.username, &credentials.password, client.ip())
                .await?;
            tracing::info!(user = %credentials.username, "token issued (keystone v2.0)");
            (credentials.username, token.token, token.expires_at)
        }
        (None, Some(token)) => {
            let session = state.auth.validate(&token.id).await?;
            (session.username, token.id, session.expires_at)
        }
        _ => {
            return Err(Failure::invalid(
                "auth",
                "send either auth.passwordCredentials {username, password} or auth.token {id}",
            )
            .into())
        }
    };
    Ok(Json(access(&username, &token, expires_at)))
}

/// Keystone v2.0's answer: the token scoped to [`TENANT`], the user, and no
/// service catalog (the client finds fuel-api at the address it was given).
fn access(username: &str, token: &str, expires_at: i64) -> Value {
    let tenant = json!({"id": TENANT, "name": TENANT, "enabled": true, "description": null});
    json!({
        "access": {
            "token": {
                "id": token,
                "issued_at": now_rfc3339(),
                "expires": unix_rfc3339(expires_at),
                "tenant": tenant,
            },
            "serviceCatalog": [],
            "user": {
                "id": username,
                "name": username,
                "username": username,
                "roles": [{"name": "admin"}],
                "roles_links": [],
            },
            "metadata": {"is_admin": 0, "roles": []},
        }
    })
}

async fn not_served(uri: Uri) -> Failure {
    Failure::not_found(format!(
        "no resource at {}: fuel-api serves only POST /keystone/v2.0/tokens of Keystone (its own users); its API lives under /api/v1",
        uri.path()
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_answer_has_keystone_v2_shape() {
        let answer = access("admin", "t0k3n", 0);
        let token = &answer["access"]["token"];
        assert_eq!(token["id"], "t0k3n");
        assert_eq!(token["expires"], "1970-01-01T00:00:00Z");
        assert_eq!(token["tenant"]["id"], TENANT);
        assert_eq!(answer["access"]["serviceCatalog"], json!([]));
        assert_eq!(answer["access"]["user"]["name"], "admin");
    }
}
