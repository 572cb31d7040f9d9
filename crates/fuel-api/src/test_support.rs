//! Starts a `fuel_api` server per test on a fresh database of either backend:
//! the harness of fuel-api's tests and fuel-cli's (feature `test-support`).

use crate::{Config, RunningServer, User};
use argon2::password_hash::{PasswordHasher, SaltString};
use argon2::{Algorithm, Argon2, Params, Version};
use fuel_api_client::{
    Client, Cluster, NewCluster, NewRelease, NewTask, Release, ReleaseState, TaskStatus,
};
use sqlx::Connection;

pub const ADMIN: &str = "admin";
pub const ADMIN_PASSWORD: &str = "fuel-admin-test-password";

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

/// Generates `mod NAME { sqlite, postgres }` tests calling `NAME(Backend)`.
#[macro_export]
macro_rules! on_both_backends {
    ($($name:ident),* $(,)?) => {
        $(
            mod $name {
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn sqlite() {
                    super::$name($crate::test_support::Backend::Sqlite).await
                }
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn postgres() {
                    super::$name($crate::test_support::Backend::Postgres).await
                }
            }
        )*
    };
}
pub use crate::on_both_backends;

/// An argon2 hash with small parameters: the server verifies with the
/// parameters in the hash, and unoptimised test builds stay fast.
pub fn cheap_hash(password: &str) -> String {
    let params = Params::new(1024, 1, 1, None).unwrap();
    let salt = SaltString::encode_b64(b"fuel-api-test-salt").unwrap();
    Argon2::new(Algorithm::Argon2id, Version::V0x13, params)
        .hash_password(password.as_bytes(), &salt)
        .unwrap()
        .to_string()
}

/// A running server, its configuration and its database.
pub struct TestApi {
    pub config: Config,
    server: Option<RunningServer>,
    backend: Backend,
    postgres_database: Option<String>,
    _dir: tempfile::TempDir,
}

pub fn postgres_admin_url() -> String {
    fuel_test_bed::postgres_url()
}

impl TestApi {
    /// Starts on a new, empty database with the `admin` user; `tweak` adjusts the configuration.
    pub async fn start(backend: Backend, tweak: impl FnOnce(&mut Config)) -> TestApi {
        let dir = tempfile::tempdir().unwrap();
        let mut config = Config {
            listen: "127.0.0.1:0".parse().unwrap(),
            version_root: dir.path().join("root"),
            ..Config::default()
        };
        std::fs::create_dir_all(&config.version_root).unwrap();
        config.auth.users = vec![User {
            name: ADMIN.to_string(),
            password_hash: cheap_hash(ADMIN_PASSWORD),
        }];
        let mut postgres_database = None;
        config.database_url = match backend {
            Backend::Sqlite => format!("sqlite://{}", dir.path().join("fuel-api.db").display()),
            Backend::Postgres => {
                let admin_url = postgres_admin_url();
                let name = format!("fuel_api_test_{:016x}", rand::random::<u64>());
                let mut admin = sqlx::PgConnection::connect(&admin_url)
                    .await
                    .unwrap_or_else(|e| panic!("cannot connect to {admin_url}: {e}"));
                sqlx::query(&format!("CREATE DATABASE {name}"))
                    .execute(&mut admin)
                    .await
                    .unwrap();
                admin.close().await.unwrap();
                postgres_database = Some(name.clone());
                fuel_test_bed::database_url(&admin_url, &name)
            }
        };
        tweak(&mut config);
        let server = crate::serve(config.clone())
            .await
            .expect("the server starts");
        TestApi {
            config,
            server: Some(server),
            backend,
            postgres_database,
            _dir: dir,
        }
    }

    pub fn url(&self) -> String {
        self.server.as_ref().expect("the server runs").url()
    }

    /// The test's own PostgreSQL database (none on SQLite).
    pub fn postgres_database(&self) -> Option<&str> {
        self.postgres_database.as_deref()
    }

    pub fn backend(&self) -> Backend {
        self.backend
    }

    /// A client without a token.
    pub fn anonymous(&self) -> Client {
        Client::new(&self.url()).unwrap()
    }

    /// A client logged in as `admin`.
    pub async fn admin(&self) -> Client {
        let token = self
            .anonymous()
            .login(ADMIN, ADMIN_PASSWORD)
            .await
            .expect("admin logs in");
        self.anonymous().with_token(token.token)
    }

    /// Stops the server gracefully and starts it again on the same database.
    pub async fn restart(&mut self) {
        let server = self.server.take().expect("the server runs");
        server.shutdown().await.expect("graceful shutdown");
        let mut config = self.config.clone();
        config.listen = "127.0.0.1:0".parse().unwrap();
        self.server = Some(crate::serve(config).await.expect("the server starts again"));
    }

    /// Stops the server and drops a PostgreSQL test database.
    pub async fn stop(mut self) {
        if let Some(server) = self.server.take() {
            server.shutdown().await.expect("graceful shutdown");
        }
        if let Some(name) = self.postgres_database.take() {
            let mut admin = sqlx::PgConnection::connect(&postgres_admin_url())
                .await
                .unwrap();
            // Not WITH (FORCE): a plain DROP stops an autovacuum worker on
            // the database itself, FORCE refuses to for a non-superuser role.
            sqlx::query(&format!("DROP DATABASE IF EXISTS {name}"))
                .execute(&mut admin)
                .await
                .unwrap();
        }
    }
}

pub fn release(name: &str, version: &str) -> NewRelease {
    NewRelease {
        name: name.to_string(),
        version: version.to_string(),
        operating_system: "CentOS".to_string(),
        description: format!("{name} on CentOS"),
        state: ReleaseState::Available,
    }
}

pub fn task(name: &str, cluster_id: Option<i64>) -> NewTask {
    NewTask {
        name: name.to_string(),
        cluster_id,
        status: TaskStatus::Pending,
        progress: 0,
        message: None,
    }
}

/// Release "Liberty liberty-8.0" and a cluster of it named `cluster`.
pub async fn release_and_cluster(client: &Client, cluster: &str) -> (Release, Cluster) {
    let rel = client
        .create_release(&release("Liberty", "liberty-8.0"))
        .await
        .unwrap();
    let env = client
        .create_cluster(&NewCluster {
            name: cluster.to_string(),
            release_id: rel.id,
        })
        .await
        .unwrap();
    (rel, env)
}
