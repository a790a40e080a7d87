//! OTLP span export (feature `otlp`): the real `order-http` binary, pointed
//! at a tiny local HTTP receiver with `OTEL_EXPORTER_OTLP_ENDPOINT`, serves
//! one request and POSTs its `request` span as protobuf to `/v1/traces`;
//! then it stops cleanly on SIGTERM. Every wait is bounded.
//!
//! Run with `cargo test -p order-http --features otlp --test otlp`.
#![cfg(feature = "otlp")]

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc;
use std::time::{Duration, Instant};

/// One HTTP request the receiver got.
#[derive(Debug)]
struct Received {
    method: String,
    path: String,
    /// Header names lower-cased.
    headers: Vec<(String, String)>,
    body: Vec<u8>,
}

impl Received {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }
}

/// A collector stand-in: answers every request `200` (empty protobuf
/// `ExportTraceServiceResponse`) and reports it on the channel, until
/// `stop` is set or a minute has passed.
fn start_receiver() -> (SocketAddr, mpsc::Receiver<Received>, Arc<AtomicBool>) {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind the receiver");
    listener.set_nonblocking(true).expect("non-blocking accept");
    let address = listener.local_addr().expect("receiver address");
    let (sender, received) = mpsc::channel();
    let stop = Arc::new(AtomicBool::new(false));
    let stopping = Arc::clone(&stop);
    std::thread::spawn(move || {
        let deadline = Instant::now() + Duration::from_secs(60);
        while !stopping.load(Ordering::Relaxed) && Instant::now() < deadline {
            match listener.accept() {
                Ok((stream, _)) => {
                    if let Some(request) = serve_one(stream)
                        && sender.send(request).is_err()
                    {
                        return;
                    }
                }
                Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {
                    std::thread::sleep(Duration::from_millis(10));
                }
                Err(_) => return,
            }
        }
    });
    (address, received, stop)
}

/// Reads one request (headers, then a `Content-Length` body) and answers it.
fn serve_one(mut stream: TcpStream) -> Option<Received> {
    stream.set_nonblocking(false).ok()?;
    stream.set_read_timeout(Some(Duration::from_secs(5))).ok()?;
    stream
        .set_write_timeout(Some(Duration::from_secs(5)))
        .ok()?;
    let mut data = Vec::new();
    let mut buffer = [0_u8; 8192];
    let head_end = loop {
        if let Some(at) = data.windows(4).position(|w| w == b"\r\n\r\n") {
            break at;
        }
        let n = stream.read(&mut buffer).ok()?;
        if n == 0 {
            return None;
        }
        data.extend_from_slice(&buffer[..n]);
    };
    let head = String::from_utf8_lossy(&data[..head_end]).into_owned();
    let mut lines = head.split("\r\n");
    let mut request_line = lines.next()?.split(' ');
    let method = request_line.next()?.to_owned();
    let path = request_line.next()?.to_owned();
    let headers: Vec<(String, String)> = lines
        .filter_map(|line| line.split_once(':'))
        .map(|(name, value)| (name.trim().to_ascii_lowercase(), value.trim().to_owned()))
        .collect();
    let length: usize = headers
        .iter()
        .find(|(name, _)| name == "content-length")
        .and_then(|(_, value)| value.parse().ok())
        .unwrap_or(0);
    let mut body = data[head_end + 4..].to_vec();
    while body.len() < length {
        let n = stream.read(&mut buffer).ok()?;
        if n == 0 {
            break;
        }
        body.extend_from_slice(&buffer[..n]);
    }
    let _ = stream.write_all(
        b"HTTP/1.1 200 OK\r\ncontent-type: application/x-protobuf\r\ncontent-length: 0\r\nconnection: close\r\n\r\n",
    );
    let _ = stream.flush();
    Some(Received {
        method,
        path,
        headers,
        body,
    })
}

/// The binary; killed if the test fails before stopping it.
struct Server(Option<Child>);

impl Drop for Server {
    fn drop(&mut self) {
        if let Some(child) = self.0.as_mut() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

/// Starts the binary on port 0, exporting to `collector`, and returns it
/// with the address it listens on.
fn start_server(collector: SocketAddr) -> (Server, SocketAddr) {
    let mut child = Command::new(env!("CARGO_BIN_EXE_order-http"))
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .env("ORDER_LISTEN", "127.0.0.1:0")
        .env("ORDER_JWT_SECRET", "x")
        .env("ORDER_PAYMENTS", "simulated")
        .env(
            "ORDER_CONFIG",
            concat!(env!("CARGO_MANIFEST_DIR"), "/../config/sample.toml"),
        )
        .env("DATABASE_URL", "sqlite::memory:")
        .env("ORDER_LOG_FORMAT", "json")
        .env("RUST_LOG", "info")
        .env("OTEL_EXPORTER_OTLP_ENDPOINT", format!("http://{collector}"))
        .env("OTEL_BSP_SCHEDULE_DELAY", "100")
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("the binary starts");
    let stdout = child.stdout.take().expect("stdout");
    let server = Server(Some(child));
    // Read stdout on a thread (so a silent binary cannot hang the test) and
    // keep draining it so the binary never blocks on a full pipe.
    let (sender, lines) = mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines() {
            let Ok(line) = line else { return };
            let _ = sender.send(line);
        }
    });
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        let line = lines
            .recv_timeout(left)
            .expect("the binary says where it listens within 30 s");
        if let Some(url) = line.strip_prefix("listening on http://") {
            let address = url.trim().parse().expect("a socket address");
            return (server, address);
        }
    }
}

/// `GET path` over a fresh connection; returns the status line.
fn get(address: SocketAddr, path: &str) -> String {
    get_with(address, path, "")
}

/// `GET path` with extra header lines (each ending in `\r\n`); returns the
/// status line.
fn get_with(address: SocketAddr, path: &str, headers: &str) -> String {
    let mut stream = TcpStream::connect_timeout(&address, Duration::from_secs(5)).expect("connect");
    stream
        .set_read_timeout(Some(Duration::from_secs(10)))
        .expect("read timeout");
    stream
        .set_write_timeout(Some(Duration::from_secs(5)))
        .expect("write timeout");
    write!(
        stream,
        "GET {path} HTTP/1.1\r\nhost: {address}\r\n{headers}connection: close\r\n\r\n"
    )
    .expect("send the request");
    let mut response = Vec::new();
    stream
        .read_to_end(&mut response)
        .expect("read the response");
    let response = String::from_utf8_lossy(&response);
    response.lines().next().unwrap_or_default().to_owned()
}

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    haystack.windows(needle.len()).any(|w| w == needle)
}

/// SIGTERM, then wait (bounded) for a clean exit.
fn stop(mut server: Server) {
    let mut child = server.0.take().expect("running");
    let pid = child.id().to_string();
    Command::new("kill")
        .args(["-TERM", &pid])
        .status()
        .expect("kill runs");
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        if let Some(status) = child.try_wait().expect("wait") {
            assert!(
                status.success(),
                "the binary exited with {status} after SIGTERM"
            );
            return;
        }
        if Instant::now() >= deadline {
            let _ = child.kill();
            let _ = child.wait();
            panic!("the binary did not stop within 30 s of SIGTERM");
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

#[test]
fn spans_are_exported_over_otlp_http() {
    let (collector, received, stop_receiver) = start_receiver();
    let (server, address) = start_server(collector);

    let status = get(address, "/health/live");
    assert!(
        status.starts_with("HTTP/1.1 200"),
        "/health/live answered {status:?}"
    );

    // Batches go out every 100 ms; wait for the one holding the request span.
    let deadline = Instant::now() + Duration::from_secs(20);
    let mut seen = Vec::new();
    let export = loop {
        let left = deadline.saturating_duration_since(Instant::now());
        let Ok(request) = received.recv_timeout(left) else {
            panic!("no export with the request span within 20 s; got {seen:?}");
        };
        assert_eq!(request.method, "POST", "{request:?}");
        assert_eq!(request.path, "/v1/traces", "{request:?}");
        if contains(&request.body, b"/health/live") {
            break request;
        }
        seen.push(format!("{} bytes", request.body.len()));
    };
    assert_eq!(
        export.header("content-type"),
        Some("application/x-protobuf"),
        "{:?}",
        export.headers
    );
    // Protobuf keeps strings verbatim: the resource's service.name, the
    // span's name and its route attribute.
    for needle in [&b"order-http"[..], b"service.name", b"request", b"route"] {
        assert!(
            contains(&export.body, needle),
            "the export lacks {:?}",
            String::from_utf8_lossy(needle)
        );
    }

    stop(server);
    stop_receiver.store(true, Ordering::Relaxed);
}

#[test]
fn a_request_with_a_traceparent_is_exported_in_the_callers_trace() {
    let (collector, received, stop_receiver) = start_receiver();
    let (server, address) = start_server(collector);
    let trace_id = "4bf92f3577b34da6a3ce929d0e0e4736";
    let status = get_with(
        address,
        "/health/ready",
        &format!("traceparent: 00-{trace_id}-00f067aa0ba902b7-01\r\n"),
    );
    assert!(status.starts_with("HTTP/1.1"), "{status:?}");
    // Protobuf carries the trace id as its 16 raw bytes.
    let raw: Vec<u8> = (0..16)
        .map(|i| u8::from_str_radix(&trace_id[2 * i..2 * i + 2], 16).expect("hex"))
        .collect();
    let parent: Vec<u8> = vec![0x00, 0xf0, 0x67, 0xaa, 0x0b, 0xa9, 0x02, 0xb7];
    let deadline = Instant::now() + Duration::from_secs(20);
    let export = loop {
        let left = deadline.saturating_duration_since(Instant::now());
        let Ok(request) = received.recv_timeout(left) else {
            panic!("no export with the request span within 20 s");
        };
        if contains(&request.body, b"/health/ready") {
            break request;
        }
    };
    assert!(
        contains(&export.body, &raw),
        "the request span is not in the caller's trace"
    );
    assert!(
        contains(&export.body, &parent),
        "the request span's parent is not the caller's span"
    );
    stop(server);
    stop_receiver.store(true, Ordering::Relaxed);
}
