//! TLS to PostgreSQL through `connect`: two servers of the tests' own, one
//! with `ssl = on` and a certificate from a CA made here, one with
//! `ssl = off`, and each `sslmode` against them. The servers are made once
//! in the temp directory and reused by later runs (see
//! `order_store_postgres::testing::own_server`); the certificates are made
//! with the `openssl` command-line tool when a server is made.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;

use order_store_postgres::testing::{OwnServer, own_server, skip_or_fail};
use order_store_postgres::{ConnectError, connect};
use sqlx::PgPool;

/// The two servers, or why there are none.
struct Servers {
    tls: OwnServer,
    plain: OwnServer,
}

static SERVERS: OnceLock<Result<Servers, String>> = OnceLock::new();

fn servers() -> Option<&'static Servers> {
    let made = SERVERS.get_or_init(|| {
        let tls = own_server(
            "tls-server",
            &[
                "max_connections=20",
                "ssl=on",
                // Relative to the data directory: beside it, where
                // `make_certificates` wrote them.
                "ssl_cert_file=../server.crt",
                "ssl_key_file=../server.key",
            ],
            make_certificates,
        )?;
        let plain = own_server("plain-server", &["max_connections=20", "ssl=off"], |_| {
            Ok(())
        })?;
        Ok(Servers { tls, plain })
    });
    match made {
        Ok(servers) => Some(servers),
        Err(why) => {
            skip_or_fail(why);
            None
        }
    }
}

/// In `dir`: a CA (`ca.pem`), a server certificate it issued for
/// `localhost` and 127.0.0.1 (`server.crt`, `server.key`), and a second CA
/// that issued nothing here (`other-ca.pem`).
fn make_certificates(dir: &Path) -> Result<(), String> {
    let in_dir = |name: &str| dir.join(name).to_string_lossy().into_owned();
    let new_key = [
        "-newkey",
        "ec",
        "-pkeyopt",
        "ec_paramgen_curve:prime256v1",
        "-nodes",
    ];
    for (ca, subject) in [
        ("ca", "/CN=order-engine test CA"),
        ("other-ca", "/CN=another CA"),
    ] {
        openssl(&[
            &["req", "-x509", "-days", "3650", "-subj", subject][..],
            &new_key,
            &["-keyout", &in_dir(&format!("{ca}.key"))],
            &["-out", &in_dir(&format!("{ca}.pem"))],
            &["-addext", "basicConstraints=critical,CA:TRUE"],
            &["-addext", "keyUsage=critical,keyCertSign,cRLSign"],
        ])?;
    }
    openssl(&[
        &["req", "-subj", "/CN=localhost"][..],
        &new_key,
        &[
            "-keyout",
            &in_dir("server.key"),
            "-out",
            &in_dir("server.csr"),
        ],
    ])?;
    let extensions = dir.join("server.ext");
    std::fs::write(
        &extensions,
        "subjectAltName=DNS:localhost,IP:127.0.0.1\n\
         basicConstraints=CA:FALSE\n\
         keyUsage=critical,digitalSignature\n\
         extendedKeyUsage=serverAuth\n",
    )
    .map_err(|e| format!("cannot write {}: {e}", extensions.display()))?;
    openssl(&[
        &["x509", "-req", "-days", "3650", "-set_serial", "2"][..],
        &["-in", &in_dir("server.csr"), "-out", &in_dir("server.crt")],
        &["-CA", &in_dir("ca.pem"), "-CAkey", &in_dir("ca.key")],
        &["-extfile", &extensions.to_string_lossy()],
    ])
}

fn openssl(args: &[&[&str]]) -> Result<(), String> {
    let output = Command::new("openssl")
        .args(args.concat())
        .output()
        .map_err(|e| format!("cannot run openssl, which makes the test certificates: {e}"))?;
    if output.status.success() {
        Ok(())
    } else {
        Err(format!(
            "openssl failed: {}",
            String::from_utf8_lossy(&output.stderr).trim()
        ))
    }
}

fn ca(server: &OwnServer, name: &str) -> PathBuf {
    server.dir.join(name)
}

async fn uses_tls(pool: &PgPool) -> bool {
    sqlx::query_scalar("select ssl from pg_stat_ssl where pid = pg_backend_pid()")
        .fetch_one(pool)
        .await
        .unwrap()
}

/// The error and its sources, one per line, as a log shows them.
fn chain(err: &ConnectError) -> String {
    let mut text = err.to_string();
    let mut source = std::error::Error::source(err);
    while let Some(cause) = source {
        text.push_str(&format!("\n{cause}"));
        source = cause.source();
    }
    text
}

#[tokio::test]
async fn require_connects_over_tls_to_a_server_that_offers_it() {
    let Some(servers) = servers() else { return };
    let pool = connect(&servers.tls.url("?sslmode=require"), 2)
        .await
        .unwrap_or_else(|e| panic!("{}", chain(&e)));
    assert!(uses_tls(&pool).await);
}

#[tokio::test]
async fn verify_full_with_the_servers_ca_connects_over_tls() {
    let Some(servers) = servers() else { return };
    let ca = ca(&servers.tls, "ca.pem");
    let url = servers.tls.url(&format!(
        "?sslmode=verify-full&sslrootcert={}",
        ca.display()
    ));
    let pool = connect(&url, 2)
        .await
        .unwrap_or_else(|e| panic!("{}", chain(&e)));
    assert!(uses_tls(&pool).await);
}

#[tokio::test]
async fn verify_full_with_another_ca_fails_with_a_certificate_error() {
    let Some(servers) = servers() else { return };
    let other = ca(&servers.tls, "other-ca.pem");
    let url = servers.tls.url(&format!(
        "?sslmode=verify-full&sslrootcert={}",
        other.display()
    ));
    let err = connect(&url, 2).await.expect_err("an unknown issuer");
    assert!(matches!(err, ConnectError::Tls { .. }), "{err:?}");
    let shown = chain(&err);
    assert!(shown.contains("certificate"), "{shown}");
}

#[tokio::test]
async fn require_does_not_check_the_certificate_even_with_sslrootcert() {
    let Some(servers) = servers() else { return };
    let other = ca(&servers.tls, "other-ca.pem");
    let url = servers
        .tls
        .url(&format!("?sslmode=require&sslrootcert={}", other.display()));
    let pool = connect(&url, 2)
        .await
        .unwrap_or_else(|e| panic!("{}", chain(&e)));
    assert!(uses_tls(&pool).await);
}

#[tokio::test]
async fn require_against_a_server_without_tls_says_the_server_does_not_support_tls() {
    let Some(servers) = servers() else { return };
    let err = connect(&servers.plain.url("?sslmode=require"), 2)
        .await
        .expect_err("no TLS on offer");
    assert!(
        matches!(
            err,
            ConnectError::TlsNotOffered {
                mode: "require",
                ..
            }
        ),
        "{err:?}"
    );
    let shown = err.to_string();
    assert!(
        shown.contains("does not support TLS but sslmode=require"),
        "{shown}"
    );
}

#[tokio::test]
async fn disable_connects_in_plain_text_to_either_server() {
    let Some(servers) = servers() else { return };
    for server in [&servers.tls, &servers.plain] {
        let pool = connect(&server.url("?sslmode=disable"), 2)
            .await
            .unwrap_or_else(|e| panic!("{}", chain(&e)));
        assert!(!uses_tls(&pool).await);
    }
}

#[tokio::test]
async fn verify_full_with_a_missing_ca_file_names_the_file() {
    let url = "postgres://postgres@127.0.0.1:1/postgres?sslmode=verify-full&sslrootcert=/nonexistent/ca.pem";
    let err = connect(url, 2).await.expect_err("no such file");
    assert!(
        matches!(&err, ConnectError::RootCertificate { path, .. } if path == Path::new("/nonexistent/ca.pem")),
        "{err:?}"
    );
}

#[tokio::test]
async fn an_unknown_sslmode_is_a_bad_url() {
    let err = connect("postgres://postgres@127.0.0.1/postgres?sslmode=requir", 2)
        .await
        .expect_err("no such mode");
    assert!(matches!(err, ConnectError::BadUrl(_)), "{err:?}");
}
