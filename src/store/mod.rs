//! Storage: one sqlx `Any` pool over SQLite (embedded default) or PostgreSQL, chosen by URL scheme.
//! All SQL lives below this module; it is written once and runs on both backends.

pub mod audit;
pub mod auth;
pub mod bookings;
pub mod catalog;
pub mod counting;
pub mod cutting;
pub mod dashboard;
pub mod events;
pub mod handover;
pub mod history;
pub mod meta;
pub mod orders;
pub mod packing;
pub mod parcels;
pub mod printing;
pub mod reports;
pub mod returns;
pub mod scanners;
pub mod sqlite_writer;
pub mod stock;
pub mod tracking;

use anyhow::Context as _;
use sqlx::any::{AnyConnectOptions, AnyPoolOptions};
use sqlx::{AnyConnection, AnyPool, Executor, Transaction};
use std::str::FromStr;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::{Mutex, OwnedMutexGuard};

static SQLITE_MIGRATIONS: sqlx::migrate::Migrator = sqlx::migrate!("./migrations/sqlite");
static POSTGRES_MIGRATIONS: sqlx::migrate::Migrator = sqlx::migrate!("./migrations/postgres");

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

impl Backend {
    pub fn from_url(url: &str) -> Option<Self> {
        if url.starts_with("sqlite:") {
            Some(Backend::Sqlite)
        } else if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            Some(Backend::Postgres)
        } else {
            None
        }
    }
}

/// A state kept as text, read back through its one mapping (`parse`); an unknown value is a
/// decoding error, not a guess.
pub(crate) fn decode_state<T>(
    s: &str,
    parse: fn(&str) -> Option<T>,
    what: &str,
) -> Result<T, sqlx::Error> {
    parse(s).ok_or_else(|| sqlx::Error::Decode(format!("unknown {what} {s:?}").into()))
}

/// How long a PostgreSQL connection may lie idle in the pool before it is pinged on the way
/// out. A busy service takes its connections back within milliseconds; a server restarted since
/// a connection was last used is found by the ping, not by a user's request.
pub const PING_IDLE_AFTER: Duration = Duration::from_secs(5);

/// A cheap handle to the database.
#[derive(Clone)]
pub struct Db {
    pool: AnyPool,
    backend: Backend,
    /// SQLite has one writer; taking this before a write transaction keeps writers of this
    /// process in a queue instead of failing with SQLITE_BUSY when a read upgrades to a write.
    sqlite_writer: Arc<Mutex<()>>,
    /// SQLite only: the thread that writes stock operations in one step.
    sqlite_fast: Option<sqlite_writer::SqliteWriter>,
}

/// A write transaction. On SQLite it holds the writer lock until commit or drop (rollback).
pub struct WriteTx {
    pub tx: Transaction<'static, sqlx::Any>,
    backend: Backend,
    _writer: Option<OwnedMutexGuard<()>>,
}

impl WriteTx {
    pub fn conn(&mut self) -> &mut AnyConnection {
        &mut self.tx
    }
    pub fn backend(&self) -> Backend {
        self.backend
    }
    /// Appends a domain event inside this transaction; returns its cursor.
    pub async fn event(
        &mut self,
        event_type: &str,
        subject: &str,
        payload: &serde_json::Value,
    ) -> Result<i64, sqlx::Error> {
        events::append(&mut self.tx, self.backend, event_type, subject, payload).await
    }

    pub async fn commit(self) -> Result<(), sqlx::Error> {
        self.tx.commit().await
    }
}

/// The file path of a SQLite URL; `None` for an in-memory database.
fn sqlite_path(url: &str) -> Option<String> {
    let rest = url
        .trim_start_matches("sqlite://")
        .trim_start_matches("sqlite:");
    let path = rest.split_once('?').map_or(rest, |(p, _)| p);
    if path.is_empty() || path == ":memory:" || url.contains("mode=memory") {
        return None;
    }
    Some(path.to_string())
}

/// Makes a SQLite URL create its file (and folder) when missing.
fn prepare_sqlite_url(url: &str) -> anyhow::Result<String> {
    let rest = url
        .trim_start_matches("sqlite://")
        .trim_start_matches("sqlite:");
    let (path, query) = rest.split_once('?').unwrap_or((rest, ""));
    if path == ":memory:" {
        return Ok(url.to_string());
    }
    if !path.is_empty() {
        if let Some(parent) = std::path::Path::new(path).parent() {
            if !parent.as_os_str().is_empty() {
                std::fs::create_dir_all(parent).with_context(|| {
                    format!("cannot create the database folder {}", parent.display())
                })?;
            }
        }
    }
    if query.contains("mode=") {
        Ok(url.to_string())
    } else if query.is_empty() {
        Ok(format!("sqlite://{path}?mode=rwc"))
    } else {
        Ok(format!("sqlite://{path}?{query}&mode=rwc"))
    }
}

impl Db {
    pub async fn connect(url: &str, max_connections: u32) -> anyhow::Result<Self> {
        sqlx::any::install_default_drivers();
        let backend = Backend::from_url(url)
            .context("database.url must start with sqlite: or postgres://")?;
        let url = match backend {
            Backend::Sqlite => prepare_sqlite_url(url)?,
            Backend::Postgres => url.to_string(),
        };
        let options = AnyConnectOptions::from_str(&url)
            .context("database.url is not a valid database URL")?;
        let pool = AnyPoolOptions::new()
            .max_connections(max_connections)
            // The pool pings every connection it takes back (sqlx does that on release), so a
            // connection used a moment ago is known to be alive: pinging it again when it is
            // taken out would add a round trip to every read (a live dashboard update reads
            // three or four sections at once, each on a connection of its own). Only one idle
            // for a while, which the server may have dropped since, is pinged first. A local
            // SQLite file cannot drop a connection.
            .test_before_acquire(false)
            .before_acquire(move |conn, meta| {
                Box::pin(async move {
                    if backend == Backend::Postgres && meta.idle_for > PING_IDLE_AFTER {
                        sqlx::Connection::ping(conn).await?;
                    }
                    Ok(true)
                })
            })
            .acquire_timeout(Duration::from_secs(10))
            .after_connect(move |conn, _meta| {
                Box::pin(async move {
                    if backend == Backend::Sqlite {
                        // Per-connection settings; WAL itself is persistent and set once below.
                        // No checkpoint inside a request's commit: the checkpointer task
                        // started below does it in the background.
                        for pragma in [
                            "pragma busy_timeout = 5000",
                            "pragma foreign_keys = on",
                            "pragma synchronous = normal",
                            "pragma wal_autocheckpoint = 0",
                        ] {
                            conn.execute(pragma).await?;
                        }
                    }
                    Ok(())
                })
            })
            .connect_with(options)
            .await
            .with_context(|| {
                format!(
                    "cannot connect to the database at {}",
                    crate::config::mask::mask_url(&url)
                )
            })?;
        let sqlite_fast = match backend {
            Backend::Sqlite => {
                let path = sqlite_path(&url)
                    .context("database.url: in-memory SQLite is not supported; give a file path")?;
                pool.execute("pragma journal_mode = wal")
                    .await
                    .context("cannot switch the SQLite database to WAL")?;
                spawn_checkpointer(pool.clone());
                Some(
                    sqlite_writer::SqliteWriter::open(&path)
                        .with_context(|| format!("cannot open {path} for writing"))?,
                )
            }
            Backend::Postgres => None,
        };
        Ok(Self {
            pool,
            backend,
            sqlite_writer: Arc::new(Mutex::new(())),
            sqlite_fast,
        })
    }

    /// The SQLite stock writer thread; `None` on PostgreSQL. It takes the write lock with
    /// BEGIN IMMEDIATE and waits (busy_timeout) for the pool's rarer write transactions.
    pub fn sqlite_writer(&self) -> Option<&sqlite_writer::SqliteWriter> {
        self.sqlite_fast.as_ref()
    }

    pub async fn migrate(&self) -> anyhow::Result<()> {
        let migrator = match self.backend {
            Backend::Sqlite => &SQLITE_MIGRATIONS,
            Backend::Postgres => &POSTGRES_MIGRATIONS,
        };
        migrator
            .run(&self.pool)
            .await
            .context("database migration failed")?;
        Ok(())
    }

    pub fn pool(&self) -> &AnyPool {
        &self.pool
    }

    pub fn backend(&self) -> Backend {
        self.backend
    }

    pub async fn begin_write(&self) -> Result<WriteTx, sqlx::Error> {
        let (guard, tx) = match self.backend {
            // BEGIN IMMEDIATE takes the write lock up front, so a busy database is waited for
            // (busy_timeout) instead of failing when a read would later upgrade to a write.
            Backend::Sqlite => {
                let guard = self.sqlite_writer.clone().lock_owned().await;
                (Some(guard), self.pool.begin_with("begin immediate").await?)
            }
            Backend::Postgres => (None, self.pool.begin().await?),
        };
        Ok(WriteTx {
            tx,
            backend: self.backend,
            _writer: guard,
        })
    }

    /// Readiness: the database answers a trivial query.
    pub async fn ping(&self) -> Result<(), sqlx::Error> {
        sqlx::query("select 1")
            .execute(&self.pool)
            .await
            .map(|_| ())
    }

    pub async fn close(&self) {
        self.pool.close().await;
    }
}

/// SQLite's WAL is copied back into the database by a checkpoint. By default the connection
/// whose commit crosses 1,000 WAL pages does it, inside that request, which showed as the
/// slowest one percent of pick scans. Here every connection has automatic checkpoints off and
/// this task runs a passive checkpoint (it never waits for readers or writers) each second,
/// until the pool is closed.
fn spawn_checkpointer(pool: AnyPool) {
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(Duration::from_secs(1));
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tick.tick().await;
            if pool.is_closed() {
                break;
            }
            if let Err(e) = sqlx::query("pragma wal_checkpoint(passive)")
                .execute(&pool)
                .await
            {
                tracing::debug!(error = %e, "WAL checkpoint skipped");
            }
        }
    });
}

/// The row-lock clause for a read that precedes a change: ` for update` on PostgreSQL; nothing
/// on SQLite, whose writers are serialised anyway.
pub(crate) fn for_update(backend: Backend) -> &'static str {
    match backend {
        Backend::Postgres => " for update",
        Backend::Sqlite => "",
    }
}

/// True when `e` is a unique-constraint violation (both backends).
pub fn is_unique_violation(e: &sqlx::Error) -> bool {
    matches!(e, sqlx::Error::Database(d) if d.is_unique_violation())
}

/// True when `e` is a foreign-key violation (both backends).
pub fn is_foreign_key_violation(e: &sqlx::Error) -> bool {
    matches!(e, sqlx::Error::Database(d) if d.is_foreign_key_violation())
}

pub fn now_db() -> String {
    crate::domain::time::to_db(chrono::Utc::now())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sqlite_urls_get_create_mode() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("x/k.db");
        let url = format!("sqlite://{}", p.display());
        assert_eq!(prepare_sqlite_url(&url).unwrap(), format!("{url}?mode=rwc"));
        assert!(p.parent().unwrap().exists());
        assert_eq!(
            prepare_sqlite_url("sqlite::memory:?mode=memory").unwrap(),
            "sqlite::memory:?mode=memory"
        );
    }
}
