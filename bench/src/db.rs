//! The PostgreSQL side: connection URLs, the tool's databases, and the
//! server's counters (commits, WAL, tuples read) around a counted window.

use sqlx::{Connection as _, PgConnection, Row as _};

use crate::Result;

/// A `postgres://` URL, taken apart so the tool can point it at another
/// database or through the counting proxy.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct DbUrl {
    pub(crate) user: String,
    password: Option<String>,
    pub(crate) host: String,
    pub(crate) port: u16,
    pub(crate) database: String,
    query: Vec<(String, String)>,
}

impl DbUrl {
    /// `postgres://[user[:password]@]host[:port][/database][?k=v&…]`.
    pub(crate) fn parse(url: &str) -> Result<Self> {
        let rest = url
            .strip_prefix("postgres://")
            .or_else(|| url.strip_prefix("postgresql://"))
            .ok_or("DATABASE_URL must start with postgres:// or postgresql://")?;
        let (rest, query) = rest.split_once('?').unwrap_or((rest, ""));
        let (authority, database) = rest.split_once('/').unwrap_or((rest, ""));
        let (userinfo, hostport) = authority.rsplit_once('@').unwrap_or(("", authority));
        let (user, password) = match userinfo.split_once(':') {
            Some((user, password)) => (user, Some(password.to_owned())),
            None => (userinfo, None),
        };
        let (host, port) = match hostport.rsplit_once(':') {
            Some((host, port)) if !port.contains(']') => (
                host,
                port.parse()
                    .map_err(|_| format!("DATABASE_URL: bad port {port:?}"))?,
            ),
            _ => (hostport, 5432),
        };
        let query = query
            .split('&')
            .filter(|p| !p.is_empty())
            .map(|pair| {
                let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
                (k.to_owned(), v.to_owned())
            })
            .collect();
        Ok(Self {
            user: if user.is_empty() { "postgres" } else { user }.to_owned(),
            password,
            host: if host.is_empty() { "localhost" } else { host }.to_owned(),
            port,
            database: if database.is_empty() {
                "postgres"
            } else {
                database
            }
            .to_owned(),
            query,
        })
    }

    /// The same server, another database.
    pub(crate) fn database(&self, database: &str) -> Self {
        Self {
            database: database.to_owned(),
            ..self.clone()
        }
    }

    /// Through the counting proxy on 127.0.0.1:`port`, without TLS.
    pub(crate) fn via_proxy(&self, port: u16) -> Self {
        let mut query: Vec<_> = self
            .query
            .iter()
            .filter(|(k, _)| k != "sslmode")
            .cloned()
            .collect();
        query.push(("sslmode".into(), "disable".into()));
        Self {
            host: "127.0.0.1".into(),
            port,
            query,
            ..self.clone()
        }
    }

    /// The password, percent-decoded (for `PGPASSWORD`).
    pub(crate) fn password(&self) -> Option<String> {
        self.password.as_deref().map(percent_decode)
    }

    /// The TLS mode asked for, if any (for `PGSSLMODE`).
    pub(crate) fn sslmode(&self) -> Option<&str> {
        self.query
            .iter()
            .find(|(k, _)| k == "sslmode")
            .map(|(_, v)| v.as_str())
    }

    pub(crate) fn render(&self) -> String {
        let mut url = format!("postgres://{}", self.user);
        if let Some(password) = &self.password {
            url.push(':');
            url.push_str(password);
        }
        url.push_str(&format!("@{}:{}/{}", self.host, self.port, self.database));
        for (i, (k, v)) in self.query.iter().enumerate() {
            url.push(if i == 0 { '?' } else { '&' });
            url.push_str(&format!("{k}={v}"));
        }
        url
    }
}

fn percent_decode(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let hex = bytes
            .get(i + 1..i + 3)
            .and_then(|h| std::str::from_utf8(h).ok())
            .and_then(|h| u8::from_str_radix(h, 16).ok());
        match (bytes[i], hex) {
            (b'%', Some(byte)) => {
                out.push(byte);
                i += 3;
            }
            (byte, _) => {
                out.push(byte);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

pub(crate) async fn connect(url: &DbUrl) -> Result<PgConnection> {
    Ok(PgConnection::connect(&url.render()).await?)
}

/// Runs SQL text (several statements, no parameters).
pub(crate) async fn execute(conn: &mut PgConnection, sql: &str) -> Result<()> {
    sqlx::raw_sql(sqlx::AssertSqlSafe(sql.to_owned()))
        .execute(conn)
        .await?;
    Ok(())
}

/// Drops `name` (ending its connections) and creates it empty, with
/// `random_page_cost = 1.1`: the benchmark's data lives in memory, where a
/// random page costs what a sequential one does, and PostgreSQL's default
/// (4, for spinning disks) makes the planner scan the 1,000-row stock and
/// catalog tables instead of probing their keys (docs/operations.md
/// recommends the same setting for a database on SSDs or in memory).
pub(crate) async fn recreate(admin: &mut PgConnection, name: &str) -> Result<()> {
    drop_database(admin, name).await?;
    execute(admin, &format!(r#"create database "{name}""#)).await?;
    execute(
        admin,
        &format!(r#"alter database "{name}" set random_page_cost = 1.1"#),
    )
    .await
}

pub(crate) async fn drop_database(admin: &mut PgConnection, name: &str) -> Result<()> {
    execute(
        admin,
        &format!(r#"drop database if exists "{name}" with (force)"#),
    )
    .await
}

/// Grows the service's orders table to at least `target` rows with copies
/// of confirmed orders placed by customers other than `listed`, with their
/// lines, under new ids and numbers and dated a day or more before the
/// original (so the listed customer's page is unchanged), in batches of up
/// to 50,000; the copies' history, payments and events are not copied.
/// Confirmed orders are what no background sweep touches, and a listing
/// walks the customer's index and reads only that customer's lines, so what
/// the copies change is what grows with the table: the indexes' depth and
/// the cache. Returns the orders in the table.
pub(crate) async fn pad_orders(url: &DbUrl, listed: uuid::Uuid, target: usize) -> Result<usize> {
    const SOURCES: i64 = 1_000;
    let mut conn = connect(url).await?;
    loop {
        let count: i64 = sqlx::query_scalar("select count(*) from orders")
            .fetch_one(&mut conn)
            .await?;
        let missing = i64::try_from(target)?.saturating_sub(count);
        if missing <= 0 {
            conn.close().await?;
            return Ok(usize::try_from(count)?);
        }
        let copies = (missing.min(50_000) + SOURCES - 1) / SOURCES;
        // The lines' foreign key is checked at the end of the statement,
        // when both inserts are done.
        sqlx::query(
            "with source as ( \
                 select o, row_number() over () as rn from orders o \
                  where o.customer_id <> $1 and o.status = 'confirmed' \
                    and o.number not like 'PAD-%' \
                  limit $4), \
             copy as ( \
                 select (s.o).id as source, gen_random_uuid() as id, c.n, s.rn, s.o \
                   from source s, generate_series(0, $2 - 1) as c(n)), \
             orders_copied as ( \
                 insert into orders \
                 select (jsonb_populate_record(copy.o, jsonb_build_object( \
                     'id', copy.id, \
                     'number', 'PAD-' || ($3 + copy.n * $4 + copy.rn), \
                     'created_at', (copy.o).created_at - interval '1 day' * (1 + copy.n)))).* \
                   from copy) \
             insert into order_lines \
             select (jsonb_populate_record(l, jsonb_build_object( \
                 'id', gen_random_uuid(), 'order_id', copy.id))).* \
               from copy join order_lines l on l.order_id = copy.source",
        )
        .bind(listed)
        .bind(copies)
        .bind(count)
        .bind(SOURCES)
        .execute(&mut conn)
        .await?;
    }
}

/// `VACUUM ANALYZE` and `CHECKPOINT` in the database of `url`.
pub(crate) async fn vacuum(url: &DbUrl) -> Result<()> {
    let mut conn = connect(url).await?;
    execute(&mut conn, "vacuum analyze").await?;
    execute(&mut conn, "checkpoint").await?;
    Ok(conn.close().await?)
}

/// The outbox events that occurred before `before` and are not yet
/// published: waiting for a position, or positioned and not yet
/// acknowledged (each count reads its partial index).
pub(crate) async fn unpublished_events(
    url: &DbUrl,
    before: chrono::DateTime<chrono::Utc>,
) -> Result<i64> {
    let mut conn = connect(url).await?;
    let row = sqlx::query(
        "select (select count(*) from outbox_events \
                 where position is null and occurred_at < $1) \
              + (select count(*) from outbox_events \
                 where published_at is null and position is not null and occurred_at < $1)",
    )
    .bind(before)
    .fetch_one(&mut conn)
    .await?;
    conn.close().await?;
    Ok(row.try_get(0)?)
}

/// The database's counters that a window of work moves.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct Counters {
    /// `xact_commit` (every transaction, read-only ones too).
    pub(crate) commits: i64,
    /// Of the database's own tables (`pg_stat_user_tables`).
    pub(crate) seq_scans: i64,
    pub(crate) seq_rows: i64,
    pub(crate) index_scans: i64,
    pub(crate) index_rows: i64,
}

impl Counters {
    /// Reads the counters of database `name`: commits through `admin`
    /// (another database), then the tables' through `inside` (a connection
    /// to `name`). That second read is one commit of `name`, which
    /// [`Counters::since`] takes off.
    pub(crate) async fn read(
        admin: &mut PgConnection,
        inside: &mut PgConnection,
        name: &str,
    ) -> Result<Self> {
        let commits: i64 =
            sqlx::query_scalar("select xact_commit from pg_stat_database where datname = $1")
                .bind(name)
                .fetch_one(&mut *admin)
                .await?;
        let tables = sqlx::query(
            "select coalesce(sum(seq_scan), 0)::bigint as seq_scans,
                    coalesce(sum(seq_tup_read), 0)::bigint as seq_rows,
                    coalesce(sum(idx_scan), 0)::bigint as index_scans,
                    coalesce(sum(idx_tup_fetch), 0)::bigint as index_rows
               from pg_stat_user_tables",
        )
        .fetch_one(&mut *inside)
        .await?;
        Ok(Self {
            commits,
            seq_scans: tables.try_get("seq_scans")?,
            seq_rows: tables.try_get("seq_rows")?,
            index_scans: tables.try_get("index_scans")?,
            index_rows: tables.try_get("index_rows")?,
        })
    }

    /// What happened between `before` and `self`, less the read's own
    /// commit.
    pub(crate) fn since(&self, before: &Self) -> Self {
        Self {
            commits: self.commits - before.commits - 1,
            seq_scans: self.seq_scans - before.seq_scans,
            seq_rows: self.seq_rows - before.seq_rows,
            index_scans: self.index_scans - before.index_scans,
            index_rows: self.index_rows - before.index_rows,
        }
    }
}

/// The WAL one database's work wrote.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct Wal {
    pub(crate) records: i64,
    /// With full-page images.
    pub(crate) bytes: i64,
    pub(crate) fpi_bytes: i64,
}

/// Reads WAL records with `pg_walinspect`, which is installed in the
/// database of `inspector`'s connection (one of the tool's own).
#[derive(Debug)]
pub(crate) struct WalReader {
    conn: PgConnection,
}

impl WalReader {
    pub(crate) async fn open(url: &DbUrl) -> Result<Self> {
        let mut conn = connect(url).await?;
        execute(&mut conn, "create extension if not exists pg_walinspect").await?;
        Ok(Self { conn })
    }

    /// The WAL flushed so far (a position: take ranges).
    pub(crate) async fn position(&mut self) -> Result<String> {
        Ok(
            sqlx::query_scalar("select pg_current_wal_flush_lsn()::text")
                .fetch_one(&mut self.conn)
                .await?,
        )
    }

    /// The records between `from` and `to` that change relations of
    /// `database`, and the other records (commits) of their transactions.
    /// The rest of the cluster's WAL is left out.
    pub(crate) async fn of(&mut self, database: &str, from: &str, to: &str) -> Result<Wal> {
        let row = sqlx::query(
            "with db as (select oid::text as oid from pg_database where datname = $1),
                  w as (select xid, record_length, fpi_length,
                               block_ref ~ ('rel [0-9]+/' || (select oid from db) || '/') as ours
                          from pg_get_wal_records_info($2::pg_lsn, $3::pg_lsn)),
                  xids as (select distinct xid from w where ours and xid <> 0)
             select count(*) as records,
                    coalesce(sum(record_length), 0)::bigint as bytes,
                    coalesce(sum(fpi_length), 0)::bigint as fpi_bytes
               from w where ours or xid in (select xid from xids)",
        )
        .bind(database)
        .bind(from)
        .bind(to)
        .fetch_one(&mut self.conn)
        .await?;
        Ok(Wal {
            records: row.try_get("records")?,
            bytes: row.try_get("bytes")?,
            fpi_bytes: row.try_get("fpi_bytes")?,
        })
    }
}

/// The server's version and the settings that shape its figures.
pub(crate) async fn describe_server(admin: &mut PgConnection) -> Result<String> {
    let row = sqlx::query(
        "select current_setting('server_version') as version,
                current_setting('shared_buffers') as shared_buffers,
                current_setting('synchronous_commit') as synchronous_commit,
                current_setting('fsync') as fsync,
                current_setting('max_connections') as max_connections,
                current_setting('autovacuum') as autovacuum",
    )
    .fetch_one(admin)
    .await?;
    Ok(format!(
        "PostgreSQL {}: shared_buffers {}, synchronous_commit {}, fsync {}, max_connections {}, autovacuum {}",
        row.try_get::<String, _>("version")?,
        row.try_get::<String, _>("shared_buffers")?,
        row.try_get::<String, _>("synchronous_commit")?,
        row.try_get::<String, _>("fsync")?,
        row.try_get::<String, _>("max_connections")?,
        row.try_get::<String, _>("autovacuum")?,
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_come_apart_and_back() {
        let url = DbUrl::parse("postgres://app:p%40ss@db.local:6543/shop?sslmode=require").unwrap();
        assert_eq!(url.user, "app");
        assert_eq!(url.password().as_deref(), Some("p@ss"));
        assert_eq!((url.host.as_str(), url.port), ("db.local", 6543));
        assert_eq!(url.database, "shop");
        assert_eq!(url.sslmode(), Some("require"));
        assert_eq!(
            url.database("other").render(),
            "postgres://app:p%40ss@db.local:6543/other?sslmode=require"
        );
        assert_eq!(
            url.via_proxy(7000).render(),
            "postgres://app:p%40ss@127.0.0.1:7000/shop?sslmode=disable"
        );
    }

    #[test]
    fn a_short_url_gets_the_defaults() {
        let url = DbUrl::parse("postgresql://127.0.0.1").unwrap();
        assert_eq!(url.render(), "postgres://postgres@127.0.0.1:5432/postgres");
        assert!(DbUrl::parse("mysql://x").is_err());
        assert!(DbUrl::parse("postgres://h:port/x").is_err());
    }

    #[test]
    fn counters_subtract_their_own_read() {
        let before = Counters {
            commits: 10,
            seq_rows: 3,
            ..Counters::default()
        };
        let after = Counters {
            commits: 211,
            seq_rows: 10,
            ..Counters::default()
        };
        let window = after.since(&before);
        assert_eq!((window.commits, window.seq_rows), (200, 7));
    }
}
