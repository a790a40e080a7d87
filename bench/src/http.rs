//! A lean HTTP/1.1 keep-alive client: requests are rendered before the
//! clock starts, sent with one write, and answered through a parser that
//! reads the status, `Content-Length` (or chunked framing) and `Location`,
//! and nothing else. Its own CPU per request is measured and reported, so
//! the service is not charged for its client.

use std::net::SocketAddr;
use std::time::Duration;

use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
use tokio::net::TcpStream;

/// Longest one request may take before it counts as an error.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(30);

/// A request, rendered.
pub(crate) fn request(
    method: &str,
    path: &str,
    host: SocketAddr,
    token: &str,
    body: Option<&str>,
) -> Vec<u8> {
    let mut out =
        format!("{method} {path} HTTP/1.1\r\nHost: {host}\r\nAuthorization: Bearer {token}\r\n");
    match body {
        Some(body) => {
            out.push_str("Content-Type: application/json\r\n");
            out.push_str(&format!("Content-Length: {}\r\n\r\n{body}", body.len()));
        }
        None if method == "GET" => out.push_str("\r\n"),
        None => out.push_str("Content-Length: 0\r\n\r\n"),
    }
    out.into_bytes()
}

/// The head of a response, once complete.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Head {
    pub(crate) status: u16,
    /// Bytes up to and including the blank line.
    pub(crate) len: usize,
    pub(crate) framing: Framing,
    /// Where the `Location` header's value sits in the buffer.
    pub(crate) location: Option<(usize, usize)>,
}

/// How the body ends.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Framing {
    Length(usize),
    Chunked,
}

/// The head of the response at the start of `buf`, `None` while
/// incomplete.
pub(crate) fn parse_head(buf: &[u8]) -> Result<Option<Head>, String> {
    let Some(end) = buf.windows(4).position(|w| w == b"\r\n\r\n") else {
        return if buf.len() > 64 * 1024 {
            Err("response head over 64 KiB".into())
        } else {
            Ok(None)
        };
    };
    let head = &buf[..end];
    let mut lines = head.split(|&b| b == b'\n');
    let status_line = lines.next().unwrap_or_default();
    let status = status_line
        .strip_prefix(b"HTTP/1.1 ")
        .or_else(|| status_line.strip_prefix(b"HTTP/1.0 "))
        .and_then(|rest| rest.get(..3))
        .and_then(|code| std::str::from_utf8(code).ok()?.parse().ok())
        .ok_or_else(|| {
            format!(
                "not an HTTP/1.1 status line: {:?}",
                String::from_utf8_lossy(status_line)
            )
        })?;
    let mut framing = Framing::Length(0);
    let mut location = None;
    let mut offset = status_line.len() + 1;
    for line in lines {
        let start = offset;
        offset += line.len() + 1;
        let line = line.strip_suffix(b"\r").unwrap_or(line);
        let Some(colon) = line.iter().position(|&b| b == b':') else {
            continue;
        };
        let (name, value) = (&line[..colon], line[colon + 1..].trim_ascii());
        if name.eq_ignore_ascii_case(b"content-length") {
            let length = std::str::from_utf8(value)
                .ok()
                .and_then(|v| v.parse().ok())
                .ok_or("a bad Content-Length")?;
            framing = Framing::Length(length);
        } else if name.eq_ignore_ascii_case(b"transfer-encoding")
            && value.eq_ignore_ascii_case(b"chunked")
        {
            framing = Framing::Chunked;
        } else if name.eq_ignore_ascii_case(b"location") {
            let raw = &line[colon + 1..];
            let leading = raw.len() - raw.trim_ascii_start().len();
            let value_start = start + colon + 1 + leading;
            location = Some((value_start, value_start + value.len()));
        }
    }
    Ok(Some(Head {
        status,
        len: end + 4,
        framing,
        location,
    }))
}

/// Where a chunked body that starts at `from` ends (after its last chunk
/// and trailers), `None` while incomplete.
pub(crate) fn chunked_end(buf: &[u8], from: usize) -> Result<Option<usize>, String> {
    let mut at = from;
    loop {
        let Some(eol) = buf[at..].windows(2).position(|w| w == b"\r\n") else {
            return Ok(None);
        };
        let size_line = &buf[at..at + eol];
        let hex = size_line
            .split(|&b| b == b';')
            .next()
            .unwrap_or_default()
            .trim_ascii();
        let size = std::str::from_utf8(hex)
            .ok()
            .and_then(|h| usize::from_str_radix(h, 16).ok())
            .ok_or("a bad chunk size")?;
        at += eol + 2;
        if size == 0 {
            // Trailers, then a blank line.
            loop {
                let Some(eol) = buf[at..].windows(2).position(|w| w == b"\r\n") else {
                    return Ok(None);
                };
                at += eol + 2;
                if eol == 0 {
                    return Ok(Some(at));
                }
            }
        }
        if buf.len() < at + size + 2 {
            return Ok(None);
        }
        at += size + 2;
    }
}

/// One keep-alive connection with one request in flight.
#[derive(Debug)]
pub(crate) struct Connection {
    addr: SocketAddr,
    stream: Option<TcpStream>,
    buf: Vec<u8>,
}

/// An answer: its status, and its `Location` and body as borrowed from the
/// connection's buffer.
#[derive(Debug)]
pub(crate) struct Answer<'a> {
    pub(crate) status: u16,
    pub(crate) location: Option<&'a [u8]>,
    pub(crate) body: &'a [u8],
}

impl Connection {
    pub(crate) async fn open(addr: SocketAddr) -> std::io::Result<Self> {
        let mut connection = Self {
            addr,
            stream: None,
            buf: Vec::with_capacity(16 * 1024),
        };
        connection.connect().await?;
        Ok(connection)
    }

    async fn connect(&mut self) -> std::io::Result<&mut TcpStream> {
        let stream = TcpStream::connect(self.addr).await?;
        stream.set_nodelay(true)?;
        Ok(self.stream.insert(stream))
    }

    /// Sends `request` and reads its answer. After a failure the connection
    /// is closed, and the next call opens a new one.
    pub(crate) async fn call(&mut self, request: &[u8]) -> Result<Answer<'_>, String> {
        match tokio::time::timeout(REQUEST_TIMEOUT, self.exchange(request)).await {
            Ok(Ok((head, body_end))) => {
                let buf = &self.buf[..body_end];
                Ok(Answer {
                    status: head.status,
                    location: head.location.map(|(from, to)| &buf[from..to]),
                    body: &buf[head.len..],
                })
            }
            Ok(Err(e)) => {
                self.stream = None;
                Err(e)
            }
            Err(_) => {
                self.stream = None;
                Err(format!("no answer within {REQUEST_TIMEOUT:?}"))
            }
        }
    }

    async fn exchange(&mut self, request: &[u8]) -> Result<(Head, usize), String> {
        if self.stream.is_none() {
            self.connect()
                .await
                .map_err(|e| format!("connecting: {e}"))?;
        }
        let Some(stream) = self.stream.as_mut() else {
            return Err("not connected".into());
        };
        stream
            .write_all(request)
            .await
            .map_err(|e| format!("sending: {e}"))?;
        self.buf.clear();
        let mut head = None;
        loop {
            if head.is_none() {
                head = parse_head(&self.buf)?;
            }
            if let Some(h) = &head {
                let end = match h.framing {
                    Framing::Length(length) => {
                        Some(h.len + length).filter(|&end| self.buf.len() >= end)
                    }
                    Framing::Chunked => chunked_end(&self.buf, h.len)?,
                };
                if let Some(end) = end {
                    return Ok((h.clone(), end));
                }
            }
            if self.buf.capacity() - self.buf.len() < 4096 {
                self.buf.reserve(16 * 1024);
            }
            let read = stream
                .read_buf(&mut self.buf)
                .await
                .map_err(|e| format!("reading: {e}"))?;
            if read == 0 {
                return Err("the server closed the connection".into());
            }
        }
    }
}

/// An unexpected answer, for the error count.
pub(crate) fn refused(what: &str, answer: &Answer<'_>) -> String {
    let body = String::from_utf8_lossy(answer.body);
    let body: String = body.chars().take(300).collect();
    format!("{what}: {} {body}", answer.status)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn addr() -> SocketAddr {
        SocketAddr::from(([127, 0, 0, 1], 8080))
    }

    #[test]
    fn requests_render_with_their_length() {
        let post = request("POST", "/api/v1/orders", addr(), "t", Some("{}"));
        assert_eq!(
            String::from_utf8(post).unwrap(),
            "POST /api/v1/orders HTTP/1.1\r\nHost: 127.0.0.1:8080\r\nAuthorization: Bearer t\r\n\
             Content-Type: application/json\r\nContent-Length: 2\r\n\r\n{}"
        );
        let pay = request("POST", "/x/pay", addr(), "t", None);
        assert!(
            String::from_utf8(pay)
                .unwrap()
                .ends_with("Content-Length: 0\r\n\r\n")
        );
        let get = request("GET", "/x", addr(), "t", None);
        assert!(
            String::from_utf8(get)
                .unwrap()
                .ends_with("Bearer t\r\n\r\n")
        );
    }

    #[test]
    fn a_head_gives_status_length_and_location() {
        let response = b"HTTP/1.1 201 Created\r\ncontent-type: application/json\r\n\
            location: /api/v1/orders/0193\r\nCONTENT-LENGTH: 5\r\n\r\nhello";
        let head = parse_head(response).unwrap().unwrap();
        assert_eq!(head.status, 201);
        assert_eq!(head.framing, Framing::Length(5));
        assert_eq!(&response[head.len..], b"hello");
        let (from, to) = head.location.unwrap();
        assert_eq!(&response[from..to], b"/api/v1/orders/0193");
    }

    #[test]
    fn an_incomplete_head_waits_and_garbage_fails() {
        assert_eq!(parse_head(b"HTTP/1.1 200 OK\r\nContent-Le").unwrap(), None);
        assert!(parse_head(b"SSH-2.0-OpenSSH\r\n\r\n").is_err());
        assert!(parse_head(b"HTTP/1.1 200 OK\r\nContent-Length: x\r\n\r\n").is_err());
    }

    #[test]
    fn a_head_without_length_has_an_empty_body() {
        let head = parse_head(b"HTTP/1.1 204 No Content\r\n\r\n")
            .unwrap()
            .unwrap();
        assert_eq!((head.status, head.framing), (204, Framing::Length(0)));
    }

    #[test]
    fn chunked_bodies_end_after_the_last_chunk() {
        let head = b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n";
        let body = b"5\r\nhello\r\n3;ext=1\r\n, w\r\n0\r\n\r\n";
        let mut buf = head.to_vec();
        buf.extend_from_slice(body);
        let parsed = parse_head(&buf).unwrap().unwrap();
        assert_eq!(parsed.framing, Framing::Chunked);
        assert_eq!(chunked_end(&buf, parsed.len).unwrap(), Some(buf.len()));
        for cut in parsed.len..buf.len() {
            assert_eq!(chunked_end(&buf[..cut], parsed.len).unwrap(), None, "{cut}");
        }
        assert!(chunked_end(b"zz\r\n", 0).is_err());
    }
}
