//! One command's connection to the API: settings resolved, logged in when a
//! user name and password are configured, and that login's token revoked
//! when the command ends (a token per command, never left lying around).

use anyhow::anyhow;
use fuel_api_client::{Client, ClientError};
use fuel_cli::settings::{self, ConnectionFlags, Credentials};

use crate::cli::Cli;
use crate::failure::{self, Identity};

pub struct Session {
    pub client: Client,
    server: String,
    identity: Identity,
}

impl Session {
    pub async fn open(cli: &Cli) -> anyhow::Result<Session> {
        let flags = ConnectionFlags {
            server: cli.server.clone(),
            token: cli.token.clone(),
        };
        let connection = settings::resolve(&flags, &|name| std::env::var(name).ok())?;
        if let Some(warning) = &connection.warning {
            eprintln!("fuel: warning: {warning}");
        }
        let server = connection.server;
        let client = Client::new(&server).map_err(|e| {
            anyhow!("{e}: give the master's API with --server or FUEL_API_URL, e.g. http://10.20.0.2:8000")
        })?;
        let (client, identity) = match connection.credentials {
            Credentials::Token(token) => (client.with_token(token), Identity::Token),
            Credentials::Anonymous => (client, Identity::Anonymous),
            Credentials::Login { username, password } => {
                let token = client
                    .login(&username, password.expose())
                    .await
                    .map_err(|e| failure::login(e, &server, &username))?;
                (client.with_token(token.token), Identity::Login(username))
            }
        };
        Ok(Session {
            client,
            server,
            identity,
        })
    }

    /// Revokes the token this session logged in for; a token given with
    /// --token is the operator's and stays valid.
    pub async fn close(self) {
        if matches!(self.identity, Identity::Login(_)) {
            // Best effort: the token expires anyway, and the command's own
            // result is what the operator needs to see.
            let _ = self.client.revoke_token().await;
        }
    }

    /// A failed call as an error that says what to do.
    pub fn explain(&self, error: ClientError) -> anyhow::Error {
        failure::explain(error, &self.server, &self.identity)
    }

    /// A failed call about environment `id`: a 404 says it does not exist.
    pub fn explain_env(&self, error: ClientError, id: i64) -> anyhow::Error {
        match error {
            ClientError::NotFound(_) => failure::no_such_env(id),
            other => self.explain(other),
        }
    }

    /// Fails unless environment `id` exists (one GET).
    pub async fn require_env(&self, id: i64) -> anyhow::Result<()> {
        self.client
            .get_cluster(id)
            .await
            .map(drop)
            .map_err(|e| self.explain_env(e, id))
    }
}
