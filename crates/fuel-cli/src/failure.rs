//! Failed API calls as messages that say what to do: an unreachable
//! server names the URL and `--server`, a 401 says how to log in, a 404 of
//! an environment points at `fuel env`.

use anyhow::anyhow;
use fuel_api_client::ClientError;

/// Who the session is, which decides the remedy for a 401.
pub enum Identity {
    Anonymous,
    Token,
    Login(String),
}

const LOG_IN: &str = "log in: set FUEL_USERNAME/FUEL_PASSWORD or pass --token";

pub fn explain(error: ClientError, server: &str, identity: &Identity) -> anyhow::Error {
    match error {
        ClientError::Transport { source, .. } => unreachable(server, &source),
        ClientError::Unauthorized(api) => match identity {
            Identity::Anonymous => anyhow!("the Fuel API at {server} refused the request ({api}): {LOG_IN}"),
            Identity::Token => anyhow!("the Fuel API at {server} refused the token ({api}); it may have expired or been revoked: pass a fresh --token, or {LOG_IN}"),
            Identity::Login(user) => anyhow!("the Fuel API at {server} refused the token it issued to `{user}` ({api}): run the command again; if it persists, check the server's clock and logs"),
        },
        ClientError::Decode { url, reason } => anyhow!(
            "{url} answered something that is not the Fuel API's ({reason}): check that --server ({server}) points at fuel-api"
        ),
        ClientError::InvalidUrl { url, reason } => anyhow!(
            "`{url}` is not a usable API URL ({reason}): pass --server http://HOST:8000 or set FUEL_API_URL"
        ),
        ClientError::Status { status: 403, error } => anyhow!(
            "the Fuel API at {server} does not allow this ({error}): use an account that may"
        ),
        ClientError::Status { status, error } if status >= 500 => anyhow!(
            "the Fuel API at {server} failed (HTTP {status}: {error}): see its log (journalctl -u fuel-api) and try again"
        ),
        other => anyhow!("{other}"),
    }
}

/// The login itself failed.
pub fn login(error: ClientError, server: &str, username: &str) -> anyhow::Error {
    match error {
        ClientError::Unauthorized(api) => anyhow!(
            "the Fuel API at {server} refused user `{username}` ({api}): check FUEL_USERNAME/FUEL_PASSWORD (or OS_USERNAME/OS_PASSWORD in the settings file), or pass --token"
        ),
        other => explain(other, server, &Identity::Anonymous),
    }
}

pub fn no_such_env(id: i64) -> anyhow::Error {
    anyhow!("environment {id} does not exist: `fuel env` lists the environments")
}

fn unreachable(server: &str, source: &reqwest::Error) -> anyhow::Error {
    // The innermost cause is the useful part ("Connection refused (os error 111)").
    let mut cause: &dyn std::error::Error = source;
    while let Some(next) = cause.source() {
        cause = next;
    }
    if source.is_timeout() {
        anyhow!("the Fuel API at {server} did not answer in time ({cause}): is fuel-api running and reachable? set --server or FUEL_API_URL")
    } else {
        anyhow!("cannot reach the Fuel API at {server} ({cause}): is fuel-api running at {server}? set --server or FUEL_API_URL")
    }
}
