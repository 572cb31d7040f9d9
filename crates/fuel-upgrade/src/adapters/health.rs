//! Health probes of a new container: a command in it, a TCP connect, an
//! HTTP GET, or just its running state; polled until its timeout.

use std::time::{Duration, Instant};

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use crate::adapters::engine::{Engine, EngineError};
use crate::plan::Healthcheck;

/// Probes start 5 ms apart and back off to 50 ms: a new busybox service is
/// up within milliseconds, and every level of the switch waits for its last
/// container's probe inside the downtime window.
const FIRST_POLL: Duration = Duration::from_millis(5);
const POLL: Duration = Duration::from_millis(50);

#[derive(Debug, thiserror::Error)]
pub enum HealthError {
    #[error("{container} did not pass its health check ({probe}) within {timeout}s: see `docker logs {container}`")]
    Timeout {
        container: String,
        probe: String,
        timeout: u64,
    },
    #[error(transparent)]
    Engine(#[from] EngineError),
}

pub fn describe(check: &Healthcheck) -> String {
    if let Some(cmd) = &check.exec {
        format!("exec {}", cmd.join(" "))
    } else if let Some(port) = check.tcp {
        format!("tcp {port}")
    } else if let Some(http) = &check.http {
        format!("http :{}{}", http.port, http.path)
    } else {
        "running".into()
    }
}

/// Waits until `container` passes `check`.
pub async fn wait_healthy(
    engine: &Engine,
    container: &str,
    check: &Healthcheck,
    host_network: bool,
) -> Result<(), HealthError> {
    let deadline = Instant::now() + Duration::from_secs(check.timeout);
    let mut pause = FIRST_POLL;
    loop {
        if probe(engine, container, check, host_network).await? {
            return Ok(());
        }
        if Instant::now() >= deadline {
            return Err(HealthError::Timeout {
                container: container.to_string(),
                probe: describe(check),
                timeout: check.timeout,
            });
        }
        tokio::time::sleep(pause).await;
        pause = (pause * 2).min(POLL);
    }
}

async fn probe(
    engine: &Engine,
    container: &str,
    check: &Healthcheck,
    host_network: bool,
) -> Result<bool, EngineError> {
    if engine.running(container).await? != Some(true) {
        return Ok(false);
    }
    if let Some(cmd) = &check.exec {
        return engine.exec_succeeds(container, cmd).await;
    }
    let port = match (check.tcp, &check.http) {
        (Some(p), _) => p,
        (None, Some(h)) => h.port,
        (None, None) => return Ok(true),
    };
    let ip = if host_network {
        "127.0.0.1".to_string()
    } else {
        match engine.address(container).await? {
            Some(ip) => ip,
            None => return Ok(false),
        }
    };
    let connect = tokio::time::timeout(
        Duration::from_secs(1),
        TcpStream::connect((ip.as_str(), port)),
    )
    .await;
    let Ok(Ok(mut stream)) = connect else {
        return Ok(false);
    };
    let Some(http) = &check.http else {
        return Ok(true);
    };
    let request = format!(
        "GET {} HTTP/1.0\r\nHost: {ip}\r\nConnection: close\r\n\r\n",
        http.path
    );
    if stream.write_all(request.as_bytes()).await.is_err() {
        return Ok(false);
    }
    let mut head = [0u8; 12];
    let read = tokio::time::timeout(Duration::from_secs(2), stream.read_exact(&mut head)).await;
    if !matches!(read, Ok(Ok(_))) {
        return Ok(false);
    }
    // "HTTP/1.x NNN": 2xx and 3xx count as up.
    Ok(head.starts_with(b"HTTP/") && matches!(head[9], b'2' | b'3'))
}
