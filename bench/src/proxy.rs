//! A counting proxy in front of PostgreSQL: it forwards bytes both ways
//! and reads the messages clients send, counting statements (`Execute` and
//! simple `Query` messages) and parses (`Parse`: statements prepared), and
//! round trips (each time a client speaks again after the server answered).
//! This server has no `pg_stat_statements`; the wire says the same for
//! every client (sqlx, pgbench) alike. It runs only in the counted windows,
//! never while throughput is measured. Clients must not ask for TLS
//! (`sslmode=disable`).

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};

use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
use tokio::net::{TcpListener, TcpStream};

/// The protocol 3.0 startup message's code.
const PROTOCOL_3: u32 = 196_608;

/// What clients sent through the proxy so far.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct Tally {
    pub(crate) statements: u64,
    pub(crate) round_trips: u64,
    pub(crate) parses: u64,
}

impl Tally {
    pub(crate) fn since(self, before: Self) -> Self {
        Self {
            statements: self.statements - before.statements,
            round_trips: self.round_trips - before.round_trips,
            parses: self.parses - before.parses,
        }
    }

    fn count(&mut self, kind: u8) {
        match kind {
            b'E' | b'Q' => self.statements += 1,
            b'P' => self.parses += 1,
            _ => {}
        }
    }
}

/// Splits what a client sends into messages, whatever the read sizes: the
/// untyped startup messages (length, code), then typed ones (type, length).
#[derive(Debug, Default)]
pub(crate) struct Messages {
    started: bool,
    header: Vec<u8>,
    skip: usize,
}

impl Messages {
    /// Reads `bytes`, calling `seen` with the type of each message that
    /// starts in them.
    pub(crate) fn feed(&mut self, mut bytes: &[u8], mut seen: impl FnMut(u8)) {
        while !bytes.is_empty() {
            if self.skip > 0 {
                let n = self.skip.min(bytes.len());
                self.skip -= n;
                bytes = &bytes[n..];
                continue;
            }
            let want = if self.started { 5 } else { 8 };
            let n = (want - self.header.len()).min(bytes.len());
            self.header.extend_from_slice(&bytes[..n]);
            bytes = &bytes[n..];
            if self.header.len() < want {
                continue;
            }
            let word = |at: usize| {
                let mut four = [0; 4];
                four.copy_from_slice(&self.header[at..at + 4]);
                u32::from_be_bytes(four) as usize
            };
            if self.started {
                seen(self.header[0]);
                // The length counts itself, not the type byte.
                self.skip = word(1).saturating_sub(4);
            } else {
                self.started = word(4) == PROTOCOL_3 as usize;
                self.skip = word(0).saturating_sub(8);
            }
            self.header.clear();
        }
    }
}

#[derive(Debug, Default)]
struct Counters {
    statements: AtomicU64,
    round_trips: AtomicU64,
    parses: AtomicU64,
}

/// The proxy, listening on 127.0.0.1.
#[derive(Debug)]
pub(crate) struct Proxy {
    pub(crate) port: u16,
    counters: Arc<Counters>,
}

impl Proxy {
    /// Listens on a free port and forwards every connection to `upstream`.
    pub(crate) async fn start(upstream: (String, u16)) -> std::io::Result<Self> {
        let listener = TcpListener::bind(("127.0.0.1", 0)).await?;
        let port = listener.local_addr()?.port();
        let counters = Arc::new(Counters::default());
        let shared = counters.clone();
        tokio::spawn(async move {
            while let Ok((client, _)) = listener.accept().await {
                let (counters, upstream) = (shared.clone(), upstream.clone());
                tokio::spawn(async move {
                    if let Ok(server) = TcpStream::connect(upstream).await {
                        forward(client, server, &counters).await;
                    }
                });
            }
        });
        Ok(Self { port, counters })
    }

    /// The counts so far (a counter: take differences).
    pub(crate) fn tally(&self) -> Tally {
        Tally {
            statements: self.counters.statements.load(Ordering::Relaxed),
            round_trips: self.counters.round_trips.load(Ordering::Relaxed),
            parses: self.counters.parses.load(Ordering::Relaxed),
        }
    }
}

async fn forward(client: TcpStream, server: TcpStream, counters: &Counters) {
    let _ = client.set_nodelay(true);
    let _ = server.set_nodelay(true);
    let (mut from_client, mut to_client) = client.into_split();
    let (mut from_server, mut to_server) = server.into_split();
    // Set when the server has sent something since the client last spoke.
    let answered = Arc::new(AtomicBool::new(true));
    let server_spoke = answered.clone();
    let answers = tokio::spawn(async move {
        let mut buf = vec![0; 64 * 1024];
        loop {
            let n = match from_server.read(&mut buf).await {
                Ok(0) | Err(_) => break,
                Ok(n) => n,
            };
            server_spoke.store(true, Ordering::Release);
            if to_client.write_all(&buf[..n]).await.is_err() {
                break;
            }
        }
    });
    let mut messages = Messages::default();
    let mut buf = vec![0; 64 * 1024];
    loop {
        let n = match from_client.read(&mut buf).await {
            Ok(0) | Err(_) => break,
            Ok(n) => n,
        };
        let mut tally = Tally::default();
        messages.feed(&buf[..n], |kind| tally.count(kind));
        if answered.swap(false, Ordering::AcqRel) {
            tally.round_trips += 1;
        }
        counters
            .statements
            .fetch_add(tally.statements, Ordering::Relaxed);
        counters
            .round_trips
            .fetch_add(tally.round_trips, Ordering::Relaxed);
        counters.parses.fetch_add(tally.parses, Ordering::Relaxed);
        if to_server.write_all(&buf[..n]).await.is_err() {
            break;
        }
    }
    let _ = to_server.shutdown().await;
    let _ = answers.await;
}

#[cfg(test)]
mod tests {
    use super::*;

    fn typed(kind: u8, body: &[u8]) -> Vec<u8> {
        let mut out = vec![kind];
        out.extend_from_slice(&(body.len() as u32 + 4).to_be_bytes());
        out.extend_from_slice(body);
        out
    }

    fn untyped(code: u32, body: &[u8]) -> Vec<u8> {
        let mut out = (body.len() as u32 + 8).to_be_bytes().to_vec();
        out.extend_from_slice(&code.to_be_bytes());
        out.extend_from_slice(body);
        out
    }

    /// An SSL request, a startup, then what sqlx sends for one prepared
    /// statement, a cached one, and a simple `BEGIN`.
    fn session() -> Vec<u8> {
        let mut bytes = untyped(80_877_103, b"");
        bytes.extend(untyped(PROTOCOL_3, b"user\0postgres\0database\0x\0\0"));
        bytes.extend(typed(b'p', b"secret\0"));
        bytes.extend(typed(b'P', b"s1\0select $1\0\0\0"));
        bytes.extend(typed(b'D', b"Ss1\0"));
        bytes.extend(typed(b'S', b""));
        for _ in 0..2 {
            bytes.extend(typed(b'B', b"\0s1\0\0\0\0\0\0\0"));
            bytes.extend(typed(b'E', b"\0\0\0\0\0"));
            bytes.extend(typed(b'S', b""));
        }
        bytes.extend(typed(b'Q', b"BEGIN\0"));
        bytes.extend(typed(b'X', b""));
        bytes
    }

    fn count(chunks: &[&[u8]]) -> Tally {
        let mut messages = Messages::default();
        let mut tally = Tally::default();
        for chunk in chunks {
            messages.feed(chunk, |kind| tally.count(kind));
        }
        tally
    }

    #[test]
    fn a_session_counts_statements_and_parses() {
        let bytes = session();
        let expected = Tally {
            statements: 3,
            round_trips: 0,
            parses: 1,
        };
        assert_eq!(count(&[&bytes]), expected);
    }

    #[test]
    fn counts_do_not_depend_on_how_the_bytes_arrive() {
        let bytes = session();
        let whole = count(&[&bytes]);
        for size in [1, 2, 3, 5, 7, 13] {
            let chunks: Vec<&[u8]> = bytes.chunks(size).collect();
            assert_eq!(count(&chunks), whole, "chunks of {size}");
        }
    }

    #[tokio::test]
    async fn round_trips_are_the_times_a_client_speaks_after_an_answer() {
        // An upstream that answers every read with the same bytes.
        let upstream = TcpListener::bind(("127.0.0.1", 0)).await.unwrap();
        let port = upstream.local_addr().unwrap().port();
        tokio::spawn(async move {
            let (mut socket, _) = upstream.accept().await.unwrap();
            let mut buf = [0; 1024];
            while let Ok(n) = socket.read(&mut buf).await {
                if n == 0 || socket.write_all(&buf[..n]).await.is_err() {
                    break;
                }
            }
        });
        let proxy = Proxy::start(("127.0.0.1".into(), port)).await.unwrap();
        let mut client = TcpStream::connect(("127.0.0.1", proxy.port)).await.unwrap();
        let startup = untyped(PROTOCOL_3, b"user\0u\0\0");
        let query = typed(b'Q', b"select 1\0");
        for message in [&startup, &query, &query] {
            client.write_all(message).await.unwrap();
            let mut echo = vec![0; message.len()];
            client.read_exact(&mut echo).await.unwrap();
        }
        assert_eq!(
            proxy.tally(),
            Tally {
                statements: 2,
                round_trips: 3,
                parses: 0
            }
        );
    }

    #[test]
    fn tallies_subtract() {
        let later = Tally {
            statements: 10,
            round_trips: 7,
            parses: 3,
        };
        let earlier = Tally {
            statements: 4,
            round_trips: 2,
            parses: 3,
        };
        assert_eq!(
            later.since(earlier),
            Tally {
                statements: 6,
                round_trips: 5,
                parses: 0
            }
        );
    }
}
