//! Just enough HTTP/1.1 to drive the packaged `fuel-api` binary from tests
//! without a client stack: one request per connection, status and body back.

use std::io::{self, Read, Write};
use std::net::{Ipv4Addr, SocketAddr, TcpListener, TcpStream};
use std::process::Child;
use std::time::{Duration, Instant};

/// One HTTP/1.1 exchange with a server on 127.0.0.1:`port`; returns the status and the body.
pub fn exchange(
    port: u16,
    method: &str,
    path: &str,
    token: Option<&str>,
    body: &str,
) -> (u16, String) {
    try_exchange(port, method, path, token, body)
        .unwrap_or_else(|e| panic!("{method} {path} on 127.0.0.1:{port}: {e}"))
}

/// [`exchange`], with connection errors returned instead of panicking.
pub fn try_exchange(
    port: u16,
    method: &str,
    path: &str,
    token: Option<&str>,
    body: &str,
) -> io::Result<(u16, String)> {
    let stream = TcpStream::connect(("127.0.0.1", port))?;
    let answer = send(stream, method, path, token, JSON, body)?;
    Ok((answer.status, answer.body))
}

/// [`try_exchange`] with a body of another media type (a package document
/// is `application/yaml`).
pub fn try_exchange_typed(
    port: u16,
    method: &str,
    path: &str,
    token: Option<&str>,
    content_type: &str,
    body: &str,
) -> io::Result<(u16, String)> {
    let stream = TcpStream::connect(("127.0.0.1", port))?;
    let answer = send(stream, method, path, token, content_type, body)?;
    Ok((answer.status, answer.body))
}

const JSON: &str = "application/json";

/// One answer: status, header lines and body.
#[derive(Debug, Clone)]
pub struct Answer {
    pub status: u16,
    pub head: String,
    pub body: String,
}

impl Answer {
    /// The value of header `name` (case-insensitive).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.head.lines().find_map(|line| {
            let (key, value) = line.split_once(':')?;
            key.trim()
                .eq_ignore_ascii_case(name)
                .then_some(value.trim())
        })
    }
}

/// One exchange with the server on 127.0.0.1:`port` from the loopback
/// address `source` (any of 127.0.0.0/8): the server sees another client
/// per address.
pub fn try_exchange_from(
    source: Ipv4Addr,
    port: u16,
    method: &str,
    path: &str,
    token: Option<&str>,
    body: &str,
) -> io::Result<Answer> {
    use socket2::{Domain, Socket, Type};
    let socket = Socket::new(Domain::IPV4, Type::STREAM, None)?;
    socket.bind(&SocketAddr::from((source, 0)).into())?;
    socket.connect(&SocketAddr::from((Ipv4Addr::LOCALHOST, port)).into())?;
    send(socket.into(), method, path, token, JSON, body)
}

fn send(
    mut stream: TcpStream,
    method: &str,
    path: &str,
    token: Option<&str>,
    content_type: &str,
    body: &str,
) -> io::Result<Answer> {
    let auth = token
        .map(|t| format!("X-Auth-Token: {t}\r\n"))
        .unwrap_or_default();
    write!(
        stream,
        "{method} {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n{auth}Content-Type: {content_type}\r\nContent-Length: {}\r\n\r\n{body}",
        body.len()
    )?;
    let mut answer = String::new();
    stream.read_to_string(&mut answer)?;
    let status = answer
        .split(' ')
        .nth(1)
        .and_then(|s| s.parse().ok())
        .ok_or_else(|| io::Error::new(io::ErrorKind::InvalidData, format!("not HTTP: {answer}")))?;
    let (head, body) = answer.split_once("\r\n\r\n").unwrap_or((&answer, ""));
    Ok(Answer {
        status,
        head: head.to_string(),
        body: body.to_string(),
    })
}

/// Waits until the fuel-api `child` listening on `port` answers its health
/// endpoint with 200. A server still starting may refuse or reset
/// connections: those are retried; its exit, or 30 s, fail the test.
pub fn wait_healthy(port: u16, child: &mut Child) {
    try_wait_healthy(port, child).unwrap_or_else(|e| panic!("{e}"))
}

/// [`wait_healthy`], with the failure returned (for the benchmarks).
pub fn try_wait_healthy(port: u16, child: &mut Child) -> Result<(), String> {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let last = match try_exchange(port, "GET", "/api/health", None, "") {
            Ok((200, _)) => return Ok(()),
            Ok((status, body)) => format!("status {status}: {body}"),
            Err(e) => e.to_string(),
        };
        if let Some(status) = child.try_wait().map_err(|e| e.to_string())? {
            return Err(format!(
                "fuel-api exited ({status}) before answering on port {port}; last answer: {last}"
            ));
        }
        if Instant::now() >= deadline {
            return Err(format!(
                "fuel-api did not answer within 30 s on port {port}; last answer: {last}"
            ));
        }
        std::thread::sleep(Duration::from_millis(30));
    }
}

/// A TCP port free on the loopback right now, for a server the test starts.
pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}
