//! Clients that never finish a request cannot hold the service: a body
//! that never arrives is answered 408 and its connection closed, headers
//! that never end close the connection, and SIGTERM ends the process within
//! the grace period whatever such clients do.

use std::io::{ErrorKind, Read, Write};
use std::net::TcpStream;
use std::time::{Duration, Instant};

use order_http::auth::{AuthConfig, Role};

use crate::process::Server;

const SECRET: &str = "slow-clients-secret";

/// A development start on a throwaway database, with `limits` (setting,
/// value) on top; every limit not given is far beyond the test's patience.
fn start(limits: &[(&'static str, &'static str)]) -> Server {
    let mut env = vec![
        ("ORDER_DEV", "true"),
        ("ORDER_JWT_SECRET", SECRET),
        ("DATABASE_URL", "sqlite::memory:"),
        ("ORDER_REQUEST_TIMEOUT_SECS", "120"),
        ("ORDER_BODY_READ_TIMEOUT_SECS", "120"),
        ("ORDER_HEADER_READ_TIMEOUT_SECS", "120"),
        ("ORDER_SHUTDOWN_GRACE_SECS", "120"),
    ];
    for (name, value) in limits {
        env.retain(|(n, _)| n != name);
        env.push((name, value));
    }
    Server::start(&env)
}

fn connect(server: &Server) -> TcpStream {
    let address = server
        .base
        .strip_prefix("http://")
        .expect("an http:// address");
    let stream = TcpStream::connect(address).expect("a connection");
    stream
        .set_read_timeout(Some(Duration::from_millis(100)))
        .expect("a read timeout");
    stream
}

/// A placement's headers, announcing a 100-byte body that never comes.
fn headers_without_body(stream: &mut TcpStream) {
    let token = AuthConfig::hs256(SECRET.as_bytes())
        .mint("ops", Role::Admin, 600)
        .expect("a token");
    let head = format!(
        "POST /api/v1/orders HTTP/1.1\r\nHost: localhost\r\nAuthorization: Bearer {token}\r\n\
         Content-Type: application/json\r\nContent-Length: 100\r\n\r\n"
    );
    stream.write_all(head.as_bytes()).expect("headers sent");
}

/// Headers that never end.
fn unfinished_headers(stream: &mut TcpStream) {
    stream
        .write_all(b"GET /health HTTP/1.1\r\nHost: localhost\r\nX-Slow: ")
        .expect("part of the headers sent");
}

/// What the server sent until it closed the connection, and when it
/// closed it; `None` if it was still open after `patience`.
fn read_until_closed(stream: &mut TcpStream, patience: Duration) -> (String, Option<Duration>) {
    let started = Instant::now();
    let mut received = Vec::new();
    let mut buffer = [0_u8; 4096];
    while started.elapsed() < patience {
        match stream.read(&mut buffer) {
            Ok(0) => {
                return (
                    String::from_utf8_lossy(&received).into_owned(),
                    Some(started.elapsed()),
                );
            }
            Ok(n) => received.extend_from_slice(&buffer[..n]),
            Err(e) if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) => {}
            Err(_) => break,
        }
    }
    let closed = (started.elapsed() < patience).then(|| started.elapsed());
    (String::from_utf8_lossy(&received).into_owned(), closed)
}

#[test]
fn a_body_that_never_arrives_is_answered_408_and_its_connection_closed() {
    let mut server = start(&[("ORDER_BODY_READ_TIMEOUT_SECS", "1")]);
    let mut stream = connect(&server);
    headers_without_body(&mut stream);
    let (answer, closed) = read_until_closed(&mut stream, Duration::from_secs(6));
    drop(stream);
    server.stop_within(Duration::from_secs(20));
    assert!(
        answer.starts_with("HTTP/1.1 408"),
        "a 408 answer, got {answer:?}"
    );
    assert!(answer.contains("request_timeout"), "{answer}");
    let closed = closed.expect("the connection closed");
    assert!(
        closed < Duration::from_secs(3),
        "closed after {closed:?}, the limit is 1 s"
    );
}

#[test]
fn headers_that_never_end_close_the_connection() {
    let mut server = start(&[("ORDER_HEADER_READ_TIMEOUT_SECS", "1")]);
    let mut stream = connect(&server);
    unfinished_headers(&mut stream);
    let (_, closed) = read_until_closed(&mut stream, Duration::from_secs(6));
    drop(stream);
    server.stop_within(Duration::from_secs(20));
    let closed = closed.expect("the connection closed");
    assert!(
        closed < Duration::from_secs(3),
        "closed after {closed:?}, the limit is 1 s"
    );
}

#[test]
fn sigterm_ends_the_process_within_the_grace_period_whatever_the_clients_do() {
    let mut server = start(&[("ORDER_SHUTDOWN_GRACE_SECS", "1")]);
    let mut waiting_body = connect(&server);
    headers_without_body(&mut waiting_body);
    let mut waiting_headers = connect(&server);
    unfinished_headers(&mut waiting_headers);
    // Both are in the server's hands before the signal.
    std::thread::sleep(Duration::from_millis(300));
    let took = server.stop_within(Duration::from_secs(6));
    assert!(
        took < Duration::from_secs(3),
        "exited {took:?} after SIGTERM, the grace period is 1 s"
    );
    // The warning names what the grace period cut short: the connections,
    // not the background work, which stops at once.
    let log = server.logged();
    let over = log
        .iter()
        .find(|line| line.contains("the grace period is over"))
        .unwrap_or_else(|| panic!("no warning that the grace period is over in {log:#?}"));
    assert!(
        over.contains(r#""unfinished":"HTTP connections""#),
        "{over}"
    );
    drop((waiting_body, waiting_headers));
}
