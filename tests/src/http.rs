//! Just enough HTTP/1.1 to drive the packaged `fuel-api` binary from tests
//! without a client stack: one request per connection, status and body back.

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};

/// One HTTP/1.1 exchange with a server on 127.0.0.1:`port`; returns the status and the body.
pub fn exchange(port: u16, method: &str, path: &str, token: Option<&str>, body: &str) -> (u16, String) {
    let mut stream = TcpStream::connect(("127.0.0.1", port)).expect("connect to fuel-api");
    let auth = token.map(|t| format!("X-Auth-Token: {t}\r\n")).unwrap_or_default();
    write!(
        stream,
        "{method} {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n{auth}Content-Type: application/json\r\nContent-Length: {}\r\n\r\n{body}",
        body.len()
    )
    .unwrap();
    let mut answer = String::new();
    stream.read_to_string(&mut answer).unwrap();
    let status = answer
        .split(' ')
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| panic!("not HTTP: {answer}"));
    let body = answer.split_once("\r\n\r\n").map(|(_, b)| b.to_string()).unwrap_or_default();
    (status, body)
}

/// A TCP port free on the loopback right now, for a server the test starts.
pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}
