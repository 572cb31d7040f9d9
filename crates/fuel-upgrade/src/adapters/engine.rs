//! The Docker engine, through bollard over the unix socket (DOCKER_HOST
//! honoured), with the API version negotiated so an older engine (20.10,
//! API 1.41) is spoken to in its own dialect. Containers carry labels, so
//! what runs is discovered from the engine, never remembered.

use std::collections::HashMap;
use std::path::Path;
use std::time::Duration;

use bollard::exec::{CreateExecOptions, StartExecOptions};
use bollard::models::{ContainerCreateBody, HostConfig, PortBinding};
use bollard::query_parameters::{
    CreateContainerOptions, ImportImageOptions, InspectContainerOptions, ListContainersOptions,
    RemoveContainerOptions, StartContainerOptions, StopContainerOptions,
};
use bollard::Docker;
use futures_util::StreamExt;

use serde::{Deserialize, Serialize};

use crate::plan::{Healthcheck, Service};

pub const LABEL_NAMESPACE: &str = "org.openstack.fuel.namespace";
pub const LABEL_RELEASE: &str = "org.openstack.fuel.release";
pub const LABEL_SERVICE: &str = "org.openstack.fuel.service";
pub const LABEL_PLAN: &str = "org.openstack.fuel.plan";
pub const LABEL_DEPENDS_ON: &str = "org.openstack.fuel.depends-on";
/// The container's own health probe (JSON of [`HealthLabel`]), so a
/// rollback can check the old release's containers without the old plan.
pub const LABEL_HEALTHCHECK: &str = "org.openstack.fuel.healthcheck";

/// How a container is probed, as its label records it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct HealthLabel {
    pub check: Healthcheck,
    pub host_network: bool,
}

#[derive(Debug, thiserror::Error)]
pub enum EngineError {
    #[error("cannot reach the Docker engine ({0}): start dockerd or set DOCKER_HOST")]
    Connect(String),
    #[error("Docker engine: {what}: {source}")]
    Api {
        what: String,
        #[source]
        source: bollard::errors::Error,
    },
    #[error("Docker engine: the name {name} is taken by another container (or one being created)")]
    NameInUse { name: String },
    #[error("cannot read image archive {path}: {source}")]
    Archive {
        path: String,
        #[source]
        source: std::io::Error,
    },
}

fn api(what: impl Into<String>) -> impl FnOnce(bollard::errors::Error) -> EngineError {
    let what = what.into();
    move |source| EngineError::Api { what, source }
}

/// A container of the namespace, as the engine reports it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LiveContainer {
    pub id: String,
    pub name: String,
    pub service: String,
    pub release: String,
    pub running: bool,
    pub depends_on: Vec<String>,
}

/// One container as `inspect` reports it.
#[derive(Debug, Clone, PartialEq)]
pub struct Inspected {
    pub id: String,
    /// created, running, paused, restarting, removing, exited or dead.
    pub status: String,
    pub running: bool,
    pub labels: HashMap<String, String>,
}

impl Inspected {
    /// Running, and not in the middle of a restart or a removal.
    pub fn up(&self) -> bool {
        self.running && self.status == "running"
    }

    pub fn health_label(&self) -> Option<HealthLabel> {
        serde_json::from_str(self.labels.get(LABEL_HEALTHCHECK)?).ok()
    }
}

/// Everything `create` needs to make a container of a service.
#[derive(Debug, Clone)]
pub struct ContainerSpec<'a> {
    pub name: String,
    pub namespace: &'a str,
    pub release: &'a str,
    pub plan_label: &'a str,
    pub service: &'a Service,
    /// Host paths of volumes are taken under this root.
    pub root: &'a Path,
}

#[derive(Clone)]
pub struct Engine {
    docker: Docker,
}

impl Engine {
    pub async fn connect() -> Result<Engine, EngineError> {
        let docker =
            Docker::connect_with_defaults().map_err(|e| EngineError::Connect(e.to_string()))?;
        let docker = docker
            .negotiate_version()
            .await
            .map_err(|e| EngineError::Connect(e.to_string()))?;
        docker
            .ping()
            .await
            .map_err(|e| EngineError::Connect(e.to_string()))?;
        Ok(Engine { docker })
    }

    /// Where the engine keeps images (for the free-space check).
    pub async fn root_dir(&self) -> Option<String> {
        self.docker
            .info()
            .await
            .ok()
            .and_then(|i| i.docker_root_dir)
    }

    /// Every container labelled with `namespace`, running or not.
    pub async fn list(&self, namespace: &str) -> Result<Vec<LiveContainer>, EngineError> {
        let filters = HashMap::from([(
            "label".to_string(),
            vec![format!("{LABEL_NAMESPACE}={namespace}")],
        )]);
        let options = ListContainersOptions {
            all: true,
            filters: Some(filters),
            ..Default::default()
        };
        let list = self
            .docker
            .list_containers(Some(options))
            .await
            .map_err(api("list containers"))?;
        let mut out: Vec<LiveContainer> = list
            .into_iter()
            .map(|c| {
                let labels = c.labels.unwrap_or_default();
                let label = |k: &str| labels.get(k).cloned().unwrap_or_default();
                LiveContainer {
                    id: c.id.unwrap_or_default(),
                    name: c
                        .names
                        .and_then(|n| n.into_iter().next())
                        .map(|n| n.trim_start_matches('/').to_string())
                        .unwrap_or_default(),
                    service: label(LABEL_SERVICE),
                    release: label(LABEL_RELEASE),
                    running: c.state.map(|s| s.to_string() == "running").unwrap_or(false),
                    depends_on: label(LABEL_DEPENDS_ON)
                        .split(',')
                        .filter(|s| !s.is_empty())
                        .map(String::from)
                        .collect(),
                }
            })
            .collect();
        out.sort_by(|a, b| a.name.cmp(&b.name));
        Ok(out)
    }

    /// Whether a container is running; None when it does not exist.
    pub async fn running(&self, name: &str) -> Result<Option<bool>, EngineError> {
        Ok(self.inspect(name).await?.map(|c| c.running))
    }

    /// The container's id, state and labels; None when it does not exist.
    pub async fn inspect(&self, name: &str) -> Result<Option<Inspected>, EngineError> {
        match self
            .docker
            .inspect_container(name, None::<InspectContainerOptions>)
            .await
        {
            Ok(c) => {
                let state = c.state.unwrap_or_default();
                Ok(Some(Inspected {
                    id: c.id.unwrap_or_default(),
                    status: state.status.map(|s| s.to_string()).unwrap_or_default(),
                    running: state.running.unwrap_or(false),
                    labels: c.config.and_then(|c| c.labels).unwrap_or_default(),
                }))
            }
            Err(bollard::errors::Error::DockerResponseServerError {
                status_code: 404, ..
            }) => Ok(None),
            Err(e) => Err(api(format!("inspect {name}"))(e)),
        }
    }

    /// The container's address on its first network (for TCP/HTTP probes).
    pub async fn address(&self, name: &str) -> Result<Option<String>, EngineError> {
        let c = self
            .docker
            .inspect_container(name, None::<InspectContainerOptions>)
            .await
            .map_err(api(format!("inspect {name}")))?;
        let settings = c.network_settings.unwrap_or_default();
        let from_networks = settings
            .networks
            .unwrap_or_default()
            .into_values()
            .filter_map(|n| n.ip_address)
            .find(|ip| !ip.is_empty());
        Ok(from_networks.or(settings.ip_address.filter(|ip| !ip.is_empty())))
    }

    pub async fn image_present(&self, tag: &str) -> Result<bool, EngineError> {
        match self.docker.inspect_image(tag).await {
            Ok(_) => Ok(true),
            Err(bollard::errors::Error::DockerResponseServerError {
                status_code: 404, ..
            }) => Ok(false),
            Err(e) => Err(api(format!("inspect image {tag}"))(e)),
        }
    }

    /// `docker load` of a `docker save` archive.
    pub async fn load_image(&self, archive: &Path) -> Result<(), EngineError> {
        let bytes = tokio::fs::read(archive)
            .await
            .map_err(|source| EngineError::Archive {
                path: archive.display().to_string(),
                source,
            })?;
        let mut stream = self.docker.import_image(
            ImportImageOptions {
                quiet: true,
                ..Default::default()
            },
            bollard::body_full(bytes.into()),
            None,
        );
        while let Some(item) = stream.next().await {
            let info = item.map_err(api(format!("load {}", archive.display())))?;
            if let Some(err) = info.error_detail.and_then(|e| e.message) {
                return Err(EngineError::Api {
                    what: format!("load {}", archive.display()),
                    source: bollard::errors::Error::DockerStreamError { error: err },
                });
            }
        }
        Ok(())
    }

    pub async fn create(&self, spec: &ContainerSpec<'_>) -> Result<String, EngineError> {
        let s = spec.service;
        let labels = HashMap::from([
            (LABEL_NAMESPACE.to_string(), spec.namespace.to_string()),
            (LABEL_RELEASE.to_string(), spec.release.to_string()),
            (LABEL_SERVICE.to_string(), s.name.clone()),
            (LABEL_PLAN.to_string(), spec.plan_label.to_string()),
            (LABEL_DEPENDS_ON.to_string(), s.depends_on.join(",")),
            (
                LABEL_HEALTHCHECK.to_string(),
                serde_json::to_string(&HealthLabel {
                    check: s.healthcheck.clone(),
                    host_network: s.host_network(),
                })
                .expect("health checks serialise"),
            ),
        ]);
        let binds: Vec<String> = s
            .volumes
            .iter()
            .map(|v| {
                let (host, rest) = v.split_once(':').unwrap_or((v, ""));
                format!(
                    "{}:{rest}",
                    spec.root.join(host.trim_start_matches('/')).display()
                )
            })
            .collect();
        let mut exposed = HashMap::new();
        let mut bindings = HashMap::new();
        for p in &s.ports {
            if let Some((host, container)) = p.split_once(':') {
                exposed.insert(format!("{container}/tcp"), HashMap::new());
                bindings.insert(
                    format!("{container}/tcp"),
                    Some(vec![PortBinding {
                        host_ip: None,
                        host_port: Some(host.to_string()),
                    }]),
                );
            }
        }
        let body = ContainerCreateBody {
            image: Some(s.image.tag.clone()),
            cmd: (!s.command.is_empty()).then(|| s.command.clone()),
            env: Some(
                s.environment
                    .iter()
                    .map(|(k, v)| format!("{k}={v}"))
                    .collect(),
            ),
            labels: Some(labels),
            exposed_ports: (!exposed.is_empty()).then_some(exposed),
            stop_timeout: Some(s.stop_timeout as i64),
            host_config: Some(HostConfig {
                // An init as PID 1 forwards SIGTERM, so services that ignore it
                // as PID 1 (busybox sleep, httpd) stop at once instead of after
                // the stop timeout.
                init: Some(true),
                network_mode: s.network_mode.clone(),
                binds: (!binds.is_empty()).then_some(binds),
                port_bindings: (!bindings.is_empty()).then_some(bindings),
                ..Default::default()
            }),
            ..Default::default()
        };
        let options = CreateContainerOptions {
            name: Some(spec.name.clone()),
            ..Default::default()
        };
        match self.docker.create_container(Some(options), body).await {
            Ok(created) => Ok(created.id),
            // Docker reserves the name when a create begins: the container
            // exists, or another create of it is still being served.
            Err(bollard::errors::Error::DockerResponseServerError {
                status_code: 409, ..
            }) => Err(EngineError::NameInUse {
                name: spec.name.clone(),
            }),
            Err(e) => Err(api(format!("create {}", spec.name))(e)),
        }
    }

    pub async fn start(&self, name: &str) -> Result<(), EngineError> {
        match self
            .docker
            .start_container(name, None::<StartContainerOptions>)
            .await
        {
            Ok(())
            | Err(bollard::errors::Error::DockerResponseServerError {
                status_code: 304, ..
            }) => Ok(()),
            Err(e) => Err(api(format!("start {name}"))(e)),
        }
    }

    /// Stops a container and returns once it is no longer running: a stop
    /// the engine is still serving (for a killed run) is waited for, since
    /// the engine signals again and waits for the exit. Stopped or absent
    /// is fine.
    pub async fn stop(&self, name: &str) -> Result<(), EngineError> {
        let options = StopContainerOptions::default();
        match self.docker.stop_container(name, Some(options)).await {
            Ok(())
            | Err(bollard::errors::Error::DockerResponseServerError {
                status_code: 304 | 404,
                ..
            }) => Ok(()),
            Err(e) => Err(api(format!("stop {name}"))(e)),
        }
    }

    /// Removes a container; absent is fine.
    pub async fn remove(&self, name: &str) -> Result<(), EngineError> {
        let options = RemoveContainerOptions {
            force: true,
            ..Default::default()
        };
        match self.docker.remove_container(name, Some(options)).await {
            Ok(())
            | Err(bollard::errors::Error::DockerResponseServerError {
                status_code: 404, ..
            }) => Ok(()),
            Err(e) => Err(api(format!("remove {name}"))(e)),
        }
    }

    /// Runs `cmd` in the container; true when it exits 0.
    pub async fn exec_succeeds(&self, name: &str, cmd: &[String]) -> Result<bool, EngineError> {
        let exec = self
            .docker
            .create_exec(
                name,
                CreateExecOptions {
                    cmd: Some(cmd.to_vec()),
                    attach_stdout: Some(false),
                    attach_stderr: Some(false),
                    ..Default::default()
                },
            )
            .await
            .map_err(api(format!("exec in {name}")))?;
        self.docker
            .start_exec(
                &exec.id,
                Some(StartExecOptions {
                    detach: true,
                    ..Default::default()
                }),
            )
            .await
            .map_err(api(format!("exec in {name}")))?;
        loop {
            let state = self
                .docker
                .inspect_exec(&exec.id)
                .await
                .map_err(api(format!("exec in {name}")))?;
            if state.running != Some(true) {
                return Ok(state.exit_code == Some(0));
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }
}
