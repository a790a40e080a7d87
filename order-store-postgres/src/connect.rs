//! Connecting to PostgreSQL: the one entry point a service's composition root
//! calls to get a migrated pool from `DATABASE_URL`, with failures said in
//! words an operator can act on.
//!
//! The URL is read by sqlx's `PgConnectOptions`, so libpq's parameters hold:
//! `sslmode` (`disable`, `prefer` — the default —, `require`, `verify-ca`,
//! `verify-full`), `sslrootcert` (the CA to trust; without it, the Mozilla
//! roots compiled in), `sslcert` and `sslkey` (a client certificate), and
//! the `PGSSLMODE` / `PGSSLROOTCERT` environment variables as defaults. TLS
//! is rustls; no OpenSSL is linked.

use std::path::PathBuf;
use std::str::FromStr;
use std::time::Duration;

use sqlx::postgres::{PgConnectOptions, PgPoolOptions, PgSslMode};
use sqlx::{Connection as _, PgPool};

use crate::MIGRATOR;

/// How long [`connect`] waits for the first connection (a server that is
/// still starting up and refusing connections is retried until then), and
/// how long the pool's callers wait for a connection afterwards.
pub const ACQUIRE_TIMEOUT: Duration = Duration::from_secs(5);

/// A pooled connection idle for longer than this is pinged before it is
/// handed out. sqlx's default pings on every acquire: one more round trip
/// per statement, a third of the round trips of a placement under load,
/// where connections are never idle that long.
const PING_WHEN_IDLE_FOR: Duration = Duration::from_secs(5);

/// What sqlx-postgres 0.9 says when the server answers the TLS request with
/// "no" under a mode that requires TLS. sqlx reports it as a bare
/// [`sqlx::Error::Tls`] message with no type of its own, so this is the one
/// place the crate reads an error's text; the TLS tests fail if sqlx changes it.
const SQLX_TLS_NOT_OFFERED: &str = "server does not support TLS";

/// Why [`connect`] gave no pool. Each variant's message names the server
/// (without its password) and what to look at; the underlying error is the
/// [`source`](std::error::Error::source).
#[derive(Debug, thiserror::Error)]
pub enum ConnectError {
    /// The URL is not a PostgreSQL URL, or one of its parameters has a value
    /// PostgreSQL does not know (`sslmode=requir`, say), or names client
    /// certificate files that do not go together.
    #[error("the database URL is not a valid PostgreSQL URL")]
    BadUrl(#[source] sqlx::Error),
    /// `sslrootcert` (or `PGSSLROOTCERT`) names a file that cannot be read.
    #[error("cannot read the CA certificate {} named by sslrootcert", path.display())]
    RootCertificate {
        /// The file named.
        path: PathBuf,
        /// Why it cannot be read.
        #[source]
        source: std::io::Error,
    },
    /// The URL requires TLS but the server does not offer it.
    #[error(
        "the server at {target} does not support TLS but sslmode={mode} requires it: \
         turn ssl on in the server's configuration, or lower sslmode"
    )]
    TlsNotOffered {
        /// The server: `user@host:port/database`.
        target: String,
        /// The `sslmode` in force.
        mode: &'static str,
    },
    /// TLS could not be set up: the server's certificate was rejected (not
    /// issued by the CA in `sslrootcert`, not for the host name under
    /// `verify-full`, expired) or the handshake failed.
    #[error(
        "TLS with the server at {target} failed under sslmode={mode}: its certificate was \
         rejected or the handshake failed (check sslrootcert and, under verify-full, the host name)"
    )]
    Tls {
        /// The server: `user@host:port/database`.
        target: String,
        /// The `sslmode` in force.
        mode: &'static str,
        /// What sqlx reported.
        #[source]
        source: sqlx::Error,
    },
    /// No connection could be opened: nothing listens at the address, the
    /// host is unknown or unreachable, or the server kept refusing
    /// connections for [`ACQUIRE_TIMEOUT`].
    #[error("cannot reach the server at {target}")]
    Unreachable {
        /// The server: `user@host:port/database`.
        target: String,
        /// What sqlx reported.
        #[source]
        source: sqlx::Error,
    },
    /// The server refused the user: a wrong password, or no `pg_hba.conf`
    /// entry lets this user in from here this way (SQLSTATE class 28).
    #[error("the server at {target} refused to authenticate the user")]
    Authentication {
        /// The server: `user@host:port/database`.
        target: String,
        /// What the server said.
        #[source]
        source: sqlx::Error,
    },
    /// Connected, but the migrations could not be applied.
    #[error("applying the migrations to the database at {target} failed")]
    Migrate {
        /// The server: `user@host:port/database`.
        target: String,
        /// What failed.
        #[source]
        source: sqlx::migrate::MigrateError,
    },
    /// Anything else the server or sqlx reported while connecting.
    #[error("connecting to the server at {target} failed")]
    Other {
        /// The server: `user@host:port/database`.
        target: String,
        /// What sqlx reported.
        #[source]
        source: sqlx::Error,
    },
}

/// A pool of at most `max_connections` (at least one) connections to the
/// database `url` names, with the migrations applied.
///
/// The URL's TLS parameters are honoured as libpq does (see the module
/// docs). The first connection is opened before this returns, so a
/// misconfiguration shows at start-up, not at the first request; waiting
/// for it, and for any connection later, is bounded by [`ACQUIRE_TIMEOUT`].
///
/// # Errors
/// A [`ConnectError`] saying what went wrong: a bad URL, an unreadable
/// `sslrootcert`, TLS required but not offered, a rejected certificate, an
/// unreachable server, refused credentials, failed migrations, or other.
pub async fn connect(url: &str, max_connections: u32) -> Result<PgPool, ConnectError> {
    check_scheme(url)?;
    let options = PgConnectOptions::from_str(url).map_err(ConnectError::BadUrl)?;
    let mode = options.get_ssl_mode();
    if matches!(mode, PgSslMode::VerifyCa | PgSslMode::VerifyFull) {
        check_root_certificate(url)?;
    }
    let target = server(&options);
    let pool = PgPoolOptions::new()
        .max_connections(max_connections.max(1))
        .acquire_timeout(ACQUIRE_TIMEOUT)
        .test_before_acquire(false)
        .before_acquire(|connection, meta| {
            Box::pin(async move {
                if meta.idle_for >= PING_WHEN_IDLE_FOR {
                    connection.ping().await?;
                }
                Ok(true)
            })
        })
        .connect_with(options)
        .await
        .map_err(|e| classify(e, mode, target.clone()))?;
    MIGRATOR
        .run(&pool)
        .await
        .map_err(|source| ConnectError::Migrate { target, source })?;
    Ok(pool)
}

/// The server `url` names, for logs: user, host, port, database and the
/// `sslmode` in force — never the password. For example
/// `postgres@db.internal:5432/orders (sslmode=verify-full)`.
pub fn describe(url: &str) -> String {
    PgConnectOptions::from_str(url).map_or_else(
        |_| "(a database URL that does not parse)".to_owned(),
        |options| {
            format!(
                "{} (sslmode={})",
                server(&options),
                mode_name(options.get_ssl_mode())
            )
        },
    )
}

/// `user@host:port/database`, or the socket's path in place of host and port.
fn server(options: &PgConnectOptions) -> String {
    let place = options.get_socket().map_or_else(
        || format!("{}:{}", options.get_host(), options.get_port()),
        |socket| socket.display().to_string(),
    );
    format!(
        "{}@{place}/{}",
        options.get_username(),
        options.get_database().unwrap_or("(default database)"),
    )
}

/// sqlx reads any URL as a PostgreSQL one; `mysql://…` is a mistake to
/// report, not a host to look up.
fn check_scheme(url: &str) -> Result<(), ConnectError> {
    let scheme = url.split_once("://").map_or("", |(scheme, _)| scheme);
    if matches!(scheme, "postgres" | "postgresql") {
        Ok(())
    } else {
        Err(ConnectError::BadUrl(sqlx::Error::Configuration(
            "the URL does not start with postgres:// or postgresql://".into(),
        )))
    }
}

/// libpq's spelling of a mode, as written in URLs.
fn mode_name(mode: PgSslMode) -> &'static str {
    match mode {
        PgSslMode::Disable => "disable",
        PgSslMode::Allow => "allow",
        PgSslMode::Prefer => "prefer",
        PgSslMode::Require => "require",
        PgSslMode::VerifyCa => "verify-ca",
        PgSslMode::VerifyFull => "verify-full",
    }
}

/// Fails with [`ConnectError::RootCertificate`] when the URL (or
/// `PGSSLROOTCERT`) names a CA file that cannot be read. sqlx reads it only
/// after the server has agreed to TLS and reports a missing file as a bare
/// I/O error, indistinguishable from an unreachable server; reading it
/// first says which file is missing.
fn check_root_certificate(url: &str) -> Result<(), ConnectError> {
    let from_url = url::Url::parse(url).ok().and_then(|parsed| {
        parsed
            .query_pairs()
            .filter(|(key, _)| matches!(&**key, "sslrootcert" | "ssl-root-cert" | "ssl-ca"))
            .map(|(_, value)| value.into_owned())
            .last()
    });
    let Some(value) = from_url.or_else(|| std::env::var("PGSSLROOTCERT").ok()) else {
        return Ok(());
    };
    // sqlx also takes the certificate itself, PEM-encoded, in place of a path.
    if value.trim_start().starts_with("-----BEGIN") {
        return Ok(());
    }
    let path = PathBuf::from(value);
    match std::fs::File::open(&path) {
        Ok(_) => Ok(()),
        Err(source) => Err(ConnectError::RootCertificate { path, source }),
    }
}

/// Sorts a connection failure by what the operator has to fix.
fn classify(err: sqlx::Error, mode: PgSslMode, target: String) -> ConnectError {
    let tls_attempted = !matches!(mode, PgSslMode::Disable | PgSslMode::Allow);
    match &err {
        sqlx::Error::Tls(source)
            if matches!(
                mode,
                PgSslMode::Require | PgSslMode::VerifyCa | PgSslMode::VerifyFull
            ) && source.to_string() == SQLX_TLS_NOT_OFFERED =>
        {
            ConnectError::TlsNotOffered {
                target,
                mode: mode_name(mode),
            }
        }
        sqlx::Error::Tls(_) => ConnectError::Tls {
            target,
            mode: mode_name(mode),
            source: err,
        },
        // rustls reports a rejected certificate or a failed handshake as
        // invalid data on the socket; nothing else in connecting does.
        sqlx::Error::Io(io) if tls_attempted && io.kind() == std::io::ErrorKind::InvalidData => {
            ConnectError::Tls {
                target,
                mode: mode_name(mode),
                source: err,
            }
        }
        // The pool retries refused connections until the acquire timeout.
        sqlx::Error::Io(_) | sqlx::Error::PoolTimedOut => ConnectError::Unreachable {
            target,
            source: err,
        },
        sqlx::Error::Database(db) if db.code().is_some_and(|code| code.starts_with("28")) => {
            ConnectError::Authentication {
                target,
                source: err,
            }
        }
        sqlx::Error::Configuration(_) => ConnectError::BadUrl(err),
        _ => ConnectError::Other {
            target,
            source: err,
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn describe_leaves_the_password_out() {
        let shown = describe("postgres://app:s3cret@db.internal:6432/orders?sslmode=verify-full");
        assert_eq!(shown, "app@db.internal:6432/orders (sslmode=verify-full)");
    }

    #[test]
    fn describe_leaves_a_password_parameter_out() {
        let shown = describe("postgres://app@db.internal/orders?password=s3cret&sslmode=require");
        assert!(!shown.contains("s3cret"), "{shown}");
    }

    #[test]
    fn a_url_of_another_database_is_refused_before_any_lookup() {
        assert!(matches!(
            check_scheme("mysql://db.internal/orders"),
            Err(ConnectError::BadUrl(_))
        ));
        assert!(check_scheme("postgresql://db.internal/orders").is_ok());
    }

    #[test]
    fn describe_says_when_the_url_does_not_parse() {
        assert!(describe("not a url").contains("does not parse"));
    }
}
