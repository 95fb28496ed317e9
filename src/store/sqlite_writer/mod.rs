//! The SQLite writer: one OS thread owning a rusqlite connection runs each stock operation's
//! (and each serial scan's) whole transaction in one step, and commits operations that arrive together as one batch. Through sqlx every statement is a round trip to sqlx's own
//! worker thread (about 40 µs here); a stock operation has about ten statements, which capped
//! SQLite at roughly 1,000 operations per second. Done in one step it is several times that.
//! SQLite has one writer at a time anyway, so one thread loses nothing. Order intakes are
//! written here too (`intake.rs`): an order's dozen statements in one step, and the orders that
//! arrive together share a commit.
//!
//! `stock.rs` holds a stock operation's statements, `scan.rs` a scan's, `intake.rs` an order's.

mod intake;
mod pick;
mod scan;
mod stock;

pub use intake::{OrderWrite, OrderWritten};
pub use pick::{Judge, PickScan, PickScanned, PickScene, PickVerdict, Progress};
pub use scan::ScanWrite;

use super::stock::{OpPlan, Outcome};
use rusqlite::{Connection, TransactionBehavior};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{mpsc, Arc};
use std::time::Duration;

/// Work waiting for the writer, with where its outcome goes.
enum Job {
    /// A stock operation.
    Stock {
        plan: OpPlan,
        reply: tokio::sync::oneshot::Sender<rusqlite::Result<Outcome>>,
    },
    /// A serial scan's verdict and its `scan.recorded` event; answered with the scan's id.
    Scan {
        scan: ScanWrite,
        reply: tokio::sync::oneshot::Sender<rusqlite::Result<i64>>,
    },
    /// A pick scan's common case (`pick.rs`).
    Pick {
        /// Taken (the judgement is called once) when the job runs.
        scan: Option<PickScan>,
        reply: tokio::sync::oneshot::Sender<rusqlite::Result<PickScanned>>,
    },
    /// A new order's intake; answered with `None` when its external id is known already.
    Order {
        order: Box<OrderWrite>,
        reply: tokio::sync::oneshot::Sender<rusqlite::Result<Option<OrderWritten>>>,
    },
}

/// What a job gave, until the batch is committed.
enum Done {
    Stock(rusqlite::Result<Outcome>),
    Scan(rusqlite::Result<i64>),
    Order(rusqlite::Result<Option<OrderWritten>>),
    Pick(rusqlite::Result<PickScanned>),
}

/// Most operations committed together in one transaction.
const MAX_BATCH: usize = 128;

/// A handle to the writer thread; cheap to clone. The thread ends when the last handle is dropped.
#[derive(Clone)]
pub struct SqliteWriter {
    jobs: mpsc::Sender<Job>,
    /// Whether pick scans take the one-step path (on unless switched off: the comparison test
    /// runs the same scans both ways).
    pick_scans: Arc<AtomicBool>,
}

impl SqliteWriter {
    /// Opens `path` and starts the thread.
    pub fn open(path: &str) -> anyhow::Result<Self> {
        let conn = Connection::open(path)?;
        conn.busy_timeout(Duration::from_secs(5))?;
        conn.pragma_update(None, "foreign_keys", "on")?;
        conn.pragma_update(None, "synchronous", "normal")?;
        // Checkpoints run in the background (`store::spawn_checkpointer`), not in a commit.
        conn.pragma_update(None, "wal_autocheckpoint", "0")?;
        conn.set_prepared_statement_cache_capacity(64);
        let (jobs, rx) = mpsc::channel::<Job>();
        std::thread::Builder::new()
            .name("konsign-sqlite-writer".into())
            .spawn(move || {
                let mut conn = conn;
                while let Ok(first) = rx.recv() {
                    let mut batch = vec![first];
                    while batch.len() < MAX_BATCH {
                        match rx.try_recv() {
                            Ok(job) => batch.push(job),
                            Err(_) => break,
                        }
                    }
                    write_batch(&mut conn, batch);
                }
            })?;
        Ok(Self {
            jobs,
            pick_scans: Arc::new(AtomicBool::new(true)),
        })
    }

    /// Switches the one-step pick scan on or off (off: every pick scan takes the general path).
    pub fn set_pick_scans(&self, on: bool) {
        self.pick_scans.store(on, Ordering::Relaxed);
    }

    pub fn pick_scans(&self) -> bool {
        self.pick_scans.load(Ordering::Relaxed)
    }

    /// Stores a scan with its verdict and its event, committed with whatever else is waiting;
    /// returns the scan's id once committed.
    pub async fn write_scan(&self, scan: ScanWrite) -> anyhow::Result<i64> {
        let (reply, rx) = tokio::sync::oneshot::channel();
        self.jobs
            .send(Job::Scan { scan, reply })
            .map_err(|_| anyhow::anyhow!("the SQLite writer thread has stopped"))?;
        let result = rx
            .await
            .map_err(|_| anyhow::anyhow!("the SQLite writer thread dropped a scan"))?;
        Ok(result?)
    }

    /// Takes in a new order (reservations, order, lines, events), committed with whatever else
    /// is waiting; `None` when its external id is known already (nothing is written then).
    pub async fn write_order(&self, order: OrderWrite) -> anyhow::Result<Option<OrderWritten>> {
        let (reply, rx) = tokio::sync::oneshot::channel();
        self.jobs
            .send(Job::Order {
                order: Box::new(order),
                reply,
            })
            .map_err(|_| anyhow::anyhow!("the SQLite writer thread has stopped"))?;
        let result = rx
            .await
            .map_err(|_| anyhow::anyhow!("the SQLite writer thread dropped an order"))?;
        Ok(result?)
    }

    /// Judges and writes a pick scan in one step (see `pick.rs`); `Fallback` when the general
    /// path must do it.
    pub async fn pick_scan(&self, scan: PickScan) -> anyhow::Result<PickScanned> {
        let (reply, rx) = tokio::sync::oneshot::channel();
        self.jobs
            .send(Job::Pick {
                scan: Some(scan),
                reply,
            })
            .map_err(|_| anyhow::anyhow!("the SQLite writer thread has stopped"))?;
        let result = rx
            .await
            .map_err(|_| anyhow::anyhow!("the SQLite writer thread dropped a pick scan"))?;
        Ok(result?)
    }

    /// Writes one planned operation and returns its outcome.
    pub async fn execute(&self, plan: OpPlan) -> anyhow::Result<Outcome> {
        let (reply, rx) = tokio::sync::oneshot::channel();
        self.jobs
            .send(Job::Stock { plan, reply })
            .map_err(|_| anyhow::anyhow!("the SQLite writer thread has stopped"))?;
        let result = rx
            .await
            .map_err(|_| anyhow::anyhow!("the SQLite writer thread dropped an operation"))?;
        Ok(result?)
    }
}

/// Appends a domain event inside the writer's transaction: the statement of `events::append`.
fn append_event(
    tx: &Connection,
    event_type: &str,
    subject: &str,
    at: &str,
    payload: &serde_json::Value,
) -> rusqlite::Result<()> {
    tx.prepare_cached(
        "insert into events (event_type, subject, at, payload) values (?1, ?2, ?3, ?4)",
    )?
    .execute(rusqlite::params![
        event_type,
        subject,
        at,
        payload.to_string()
    ])?;
    Ok(())
}

/// Group commit: the operations that queued up while the last commit ran are written in one
/// transaction, each inside its own savepoint, so a refused operation is rolled back alone and
/// the rest share one commit (one WAL write) between them. Nobody is answered before the commit.
fn write_batch(conn: &mut Connection, mut batch: Vec<Job>) {
    let not_run = || rusqlite::Error::ToSqlConversionFailure("operation was not run".into());
    let mut done: Vec<Done> = Vec::with_capacity(batch.len());
    let committed = (|| -> rusqlite::Result<()> {
        let mut tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        for job in &mut batch {
            let mut sp = tx.savepoint()?;
            let (keep, d) = match job {
                Job::Stock { plan, .. } => {
                    let outcome = stock::execute(&sp, plan);
                    let keep = matches!(
                        outcome,
                        Ok(Outcome::Done {
                            replayed: false,
                            ..
                        })
                    );
                    (keep, Done::Stock(outcome))
                }
                Job::Scan { scan, .. } => {
                    let id = scan::insert_scan(&sp, scan);
                    (id.is_ok(), Done::Scan(id))
                }
                Job::Order { order, .. } => {
                    let written = intake::write_order(&sp, order);
                    (matches!(written, Ok(Some(_))), Done::Order(written))
                }
                Job::Pick { scan, .. } => {
                    let scanned = match scan.take() {
                        Some(scan) => pick::pick_scan(&sp, scan),
                        None => Err(not_run()),
                    };
                    let keep = scanned.as_ref().is_ok_and(PickScanned::writes);
                    (keep, Done::Pick(scanned))
                }
            };
            if keep {
                sp.commit()?;
            } else {
                sp.rollback()?;
                sp.commit()?;
            }
            done.push(d);
        }
        tx.commit()
    })();
    let failed = |e: &rusqlite::Error| {
        rusqlite::Error::ToSqlConversionFailure(format!("batch not committed: {e}").into())
    };
    let mut done = done.into_iter();
    for job in batch {
        let d = done.next();
        match job {
            Job::Stock { reply, .. } => {
                let r = match (&committed, d) {
                    (Err(e), _) => Err(failed(e)),
                    (Ok(()), Some(Done::Stock(o))) => o,
                    (Ok(()), _) => Err(not_run()),
                };
                let _ = reply.send(r);
            }
            Job::Scan { reply, .. } => {
                let r = match (&committed, d) {
                    (Err(e), _) => Err(failed(e)),
                    (Ok(()), Some(Done::Scan(id))) => id,
                    (Ok(()), _) => Err(not_run()),
                };
                let _ = reply.send(r);
            }
            Job::Order { reply, .. } => {
                let r = match (&committed, d) {
                    (Err(e), _) => Err(failed(e)),
                    (Ok(()), Some(Done::Order(w))) => w,
                    (Ok(()), _) => Err(not_run()),
                };
                let _ = reply.send(r);
            }
            Job::Pick { reply, .. } => {
                let r = match (&committed, d) {
                    (Err(e), _) => Err(failed(e)),
                    (Ok(()), Some(Done::Pick(p))) => p,
                    (Ok(()), _) => Err(not_run()),
                };
                let _ = reply.send(r);
            }
        }
    }
}
