//! The SQLite writer: one OS thread owning a rusqlite connection runs each stock operation's
//! (and each serial scan's) whole transaction in one step, and commits operations that arrive together as one batch. Through sqlx every statement is a round trip to sqlx's own
//! worker thread (about 40 µs here); a stock operation has about ten statements, which capped
//! SQLite at roughly 1,000 operations per second. Done in one step it is several times that.
//! SQLite has one writer at a time anyway, so one thread loses nothing.

use super::stock::{event_payload, Amount, LedgerEntry, LegTarget, OpPlan, Outcome};
use rusqlite::{params, Connection, OptionalExtension, TransactionBehavior};
use std::sync::mpsc;
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
}

/// What a job gave, until the batch is committed.
enum Done {
    Stock(rusqlite::Result<Outcome>),
    Scan(rusqlite::Result<i64>),
}

/// A scan to store with its verdict (the columns of `scans`), and its event: `payload` gets the
/// new scan's id as `scan_id`.
#[derive(Debug, Clone)]
pub struct ScanWrite {
    pub scanner_id: String,
    pub station: String,
    pub raw_hex: String,
    pub kind: Option<String>,
    pub parsed: Option<String>,
    pub used_for: String,
    pub outcome: String,
    /// The verdict's words as stored (`VerdictText::encode`).
    pub message: String,
    pub at: String,
    pub event_subject: String,
    pub event_payload: serde_json::Value,
}

/// Most operations committed together in one transaction.
const MAX_BATCH: usize = 128;

/// A handle to the writer thread; cheap to clone. The thread ends when the last handle is dropped.
#[derive(Clone)]
pub struct SqliteWriter {
    jobs: mpsc::Sender<Job>,
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
        Ok(Self { jobs })
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

/// Group commit: the operations that queued up while the last commit ran are written in one
/// transaction, each inside its own savepoint, so a refused operation is rolled back alone and
/// the rest share one commit (one WAL write) between them. Nobody is answered before the commit.
fn write_batch(conn: &mut Connection, batch: Vec<Job>) {
    let mut done: Vec<Done> = Vec::with_capacity(batch.len());
    let committed = (|| -> rusqlite::Result<()> {
        let mut tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        for job in &batch {
            let mut sp = tx.savepoint()?;
            let (keep, d) = match job {
                Job::Stock { plan, .. } => {
                    let outcome = execute(&sp, plan);
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
                    let id = insert_scan(&sp, scan);
                    (id.is_ok(), Done::Scan(id))
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
    let not_run = || rusqlite::Error::ToSqlConversionFailure("operation was not run".into());
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
        }
    }
}

/// The same statements as `scanners::insert_scan` and `events::append`.
fn insert_scan(tx: &Connection, s: &ScanWrite) -> rusqlite::Result<i64> {
    let id: i64 = tx
        .prepare_cached(
            "insert into scans (scanner_id, station, raw_hex, kind, parsed, used_for, outcome, message, at)
             values (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9) returning id",
        )?
        .query_row(
            params![
                s.scanner_id,
                s.station,
                s.raw_hex,
                s.kind,
                s.parsed,
                s.used_for,
                s.outcome,
                s.message,
                s.at
            ],
            |r| r.get(0),
        )?;
    let mut payload = s.event_payload.clone();
    if let serde_json::Value::Object(m) = &mut payload {
        m.insert("scan_id".into(), id.into());
    }
    tx.prepare_cached(
        "insert into events (event_type, subject, at, payload) values (?1, ?2, ?3, ?4)",
    )?
    .execute(params![
        "scan.recorded",
        s.event_subject,
        super::now_db(),
        payload.to_string()
    ])?;
    Ok(id)
}

const LEDGER_COLS: &str =
    "id, op_id, stock_unit_id, kind, gtin, owner, location, delta, qty_before, qty_after, reason, reference, actor, at";

fn ledger_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<LedgerEntry> {
    Ok(LedgerEntry {
        id: r.get(0)?,
        op_id: r.get(1)?,
        stock_unit_id: r.get(2)?,
        kind: r.get(3)?,
        gtin: r.get(4)?,
        owner: r.get(5)?,
        location: r.get(6)?,
        delta: r.get(7)?,
        qty_before: r.get(8)?,
        qty_after: r.get(9)?,
        reason: r.get(10)?,
        reference: r.get(11)?,
        actor: r.get(12)?,
        at: r.get(13)?,
    })
}

/// The same statements as `stock::execute_sqlx`, inside the caller's savepoint.
fn execute(tx: &Connection, plan: &OpPlan) -> rusqlite::Result<Outcome> {
    let now = super::now_db();
    let op_id: Option<i64> = tx
        .prepare_cached(
            "insert into stock_ops (kind, idempotency_key, request_hash, actor, at) values (?1, ?2, ?3, ?4, ?5)
             on conflict (idempotency_key) do nothing returning id",
        )?
        .query_row(params![plan.kind, plan.idempotency_key, plan.request_hash, plan.actor, now], |r| r.get(0))
        .optional()?;
    let Some(op_id) = op_id else {
        let found: Option<(i64, String, String)> = tx
            .prepare_cached(
                "select id, kind, request_hash from stock_ops where idempotency_key = ?1",
            )?
            .query_row(params![plan.idempotency_key], |r| {
                Ok((r.get(0)?, r.get(1)?, r.get(2)?))
            })
            .optional()?;
        return Ok(match found {
            Some((op_id, kind, hash)) if kind == plan.kind && hash == plan.request_hash => {
                let sql = format!("select {LEDGER_COLS} from ledger where op_id = ?1 order by id");
                let entries = tx
                    .prepare_cached(&sql)?
                    .query_map(params![op_id], ledger_row)?
                    .collect::<Result<_, _>>()?;
                Outcome::Done {
                    op_id,
                    entries,
                    replayed: true,
                }
            }
            Some((_, kind, _)) => Outcome::KeyReused { kind },
            None => Outcome::KeyInUse,
        });
    };
    let mut entries = Vec::with_capacity(plan.legs.len());
    for leg in &plan.legs {
        let current = |id: i64| -> rusqlite::Result<i64> {
            Ok(tx
                .prepare_cached("select qty from stock_units where id = ?1")?
                .query_row(params![id], |r| r.get(0))
                .optional()?
                .unwrap_or(0))
        };
        // What a refused change could have taken: the packs not reserved for orders.
        let free = |id: i64| -> rusqlite::Result<i64> {
            Ok(tx
                .prepare_cached("select qty - reserved from stock_units where id = ?1")?
                .query_row(params![id], |r| r.get(0))
                .optional()?
                .unwrap_or(0))
        };
        let change = |id: i64, d: i64| -> rusqlite::Result<Option<i64>> {
            tx.prepare_cached("update stock_units set qty = qty + ?1, updated_at = ?2 where id = ?3 and qty + ?1 >= reserved returning qty")?
                .query_row(params![d, now, id], |r| r.get(0))
                .optional()
        };
        let (unit_id, after, delta) = match (&leg.target, leg.amount) {
            (
                LegTarget::Key {
                    gtin,
                    lot,
                    expiry,
                    location,
                    owner,
                    status,
                },
                Amount::By(d),
            ) if d > 0 => {
                let (id, after): (i64, i64) = tx
                    .prepare_cached(
                        "insert into stock_units (gtin, lot, expiry, location, owner, status, qty, updated_at)
                         values (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)
                         on conflict (gtin, lot, expiry, location, owner, status)
                         do update set qty = stock_units.qty + excluded.qty, updated_at = excluded.updated_at
                         returning id, qty",
                    )?
                    .query_row(params![gtin, lot, expiry, location, owner, status, d, now], |r| Ok((r.get(0)?, r.get(1)?)))?;
                (id, after, d)
            }
            (LegTarget::Unit(id), Amount::By(d)) => match change(*id, d)? {
                Some(after) => (*id, after, d),
                None => {
                    return Ok(Outcome::Insufficient {
                        on_hand: free(*id)?,
                        requested: -d,
                    })
                }
            },
            (LegTarget::Unit(id), Amount::SetTo(counted)) => {
                let d = counted - current(*id)?;
                match change(*id, d)? {
                    Some(after) => (*id, after, d),
                    None => {
                        return Ok(Outcome::Insufficient {
                            on_hand: free(*id)?,
                            requested: -d,
                        })
                    }
                }
            }
            (_, _) => return Err(rusqlite::Error::InvalidQuery),
        };
        let id: i64 = tx
            .prepare_cached(
                "insert into ledger (op_id, stock_unit_id, kind, gtin, owner, location, delta, qty_before, qty_after, reason, reference, actor, at)
                 values (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13) returning id",
            )?
            .query_row(
                params![op_id, unit_id, plan.kind, leg.gtin, leg.owner, leg.location, delta, after - delta, after, leg.reason, leg.reference, plan.actor, now],
                |r| r.get(0),
            )?;
        entries.push(LedgerEntry {
            id,
            op_id,
            stock_unit_id: unit_id,
            kind: plan.kind.to_string(),
            gtin: leg.gtin.clone(),
            owner: leg.owner.clone(),
            location: leg.location.clone(),
            delta,
            qty_before: after - delta,
            qty_after: after,
            reason: leg.reason.clone(),
            reference: leg.reference.clone(),
            actor: plan.actor.clone(),
            at: now.clone(),
        });
    }
    if let Some(c) = &plan.count {
        if !close_count(tx, c, op_id, &plan.actor, &now)? {
            return Ok(Outcome::Superseded);
        }
    }
    let subject = entries
        .first()
        .map(|e| format!("stock_unit:{}", e.stock_unit_id))
        .unwrap_or_default();
    tx.prepare_cached(
        "insert into events (event_type, subject, at, payload) values (?1, ?2, ?3, ?4)",
    )?
    .execute(params![
        plan.event_type,
        subject,
        now,
        event_payload(plan.kind, op_id, &entries).to_string()
    ])?;
    Ok(Outcome::Done {
        op_id,
        entries,
        replayed: false,
    })
}

/// The same statements as `counting::close`.
fn close_count(
    tx: &Connection,
    c: &super::counting::CountClose,
    op_id: i64,
    actor: &str,
    now: &str,
) -> rusqlite::Result<bool> {
    let last: Option<i64> = tx
        .prepare_cached(
            "select id from count_tasks where location = ?1 and status = 'done' order by id desc limit 1",
        )?
        .query_row(params![c.location], |r| r.get(0))
        .optional()?;
    if last != c.last_count_id {
        return Ok(false);
    }
    if c.task_ids.is_empty() {
        tx.prepare_cached(
            "insert into count_tasks (location, source, status, created_by, created_at, op_id, counted_by, counted_at, lines, difference)
             values (?1, 'adhoc', 'done', ?2, ?3, ?4, ?2, ?3, ?5, ?6)",
        )?
        .execute(params![c.location, actor, now, op_id, c.lines, c.difference])?;
        return Ok(true);
    }
    for id in &c.task_ids {
        let n = tx
            .prepare_cached(
                "update count_tasks set status = 'done', op_id = ?2, counted_by = ?3, counted_at = ?4, lines = ?5, difference = ?6
                 where id = ?1 and status = 'open'",
            )?
            .execute(params![id, op_id, actor, now, c.lines, c.difference])?;
        if n != 1 {
            return Ok(false);
        }
    }
    Ok(true)
}
