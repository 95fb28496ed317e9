//! Consignment stock units, stock operations (for idempotency) and the append-only ledger.
//!
//! Size: over 600 lines because `execute_sqlx` is the PostgreSQL description of a stock
//! operation's statements and reads best whole, beside its SQLite twin in
//! `sqlite_writer/stock.rs` (`tests/property.rs` runs both and compares their ledgers).

use sqlx::{any::AnyRow, AnyConnection, AnyPool, Row};

/// The identity of a stock unit.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UnitKey<'a> {
    pub gtin: &'a str,
    pub lot: &'a str,
    pub expiry: &'a str,
    pub location: &'a str,
    pub owner: &'a str,
    pub status: &'a str,
}

/// A stock unit with what is needed to judge it (product shelf life, location kind).
#[derive(Debug, Clone)]
pub struct UnitRow {
    pub id: i64,
    pub gtin: String,
    pub product_name: String,
    pub producer: String,
    pub min_shelf_life_days: i64,
    pub lot: String,
    pub expiry: String,
    pub location: String,
    pub location_kind: String,
    pub owner: String,
    pub status: String,
    pub qty: i64,
    pub reserved: i64,
}

const UNIT_SELECT: &str =
    "select s.id, s.gtin, p.name as product_name, p.producer, p.min_shelf_life_days, s.lot, \
    s.expiry, s.location, l.kind as location_kind, s.owner, s.status, s.qty, s.reserved \
    from stock_units s join products p on p.gtin = s.gtin join locations l on l.code = s.location";

fn unit_row(r: &AnyRow) -> Result<UnitRow, sqlx::Error> {
    Ok(UnitRow {
        id: r.try_get("id")?,
        gtin: r.try_get("gtin")?,
        product_name: r.try_get("product_name")?,
        producer: r.try_get("producer")?,
        min_shelf_life_days: r.try_get("min_shelf_life_days")?,
        lot: r.try_get("lot")?,
        expiry: r.try_get("expiry")?,
        location: r.try_get("location")?,
        location_kind: r.try_get("location_kind")?,
        owner: r.try_get("owner")?,
        status: r.try_get("status")?,
        qty: r.try_get("qty")?,
        reserved: r.try_get("reserved")?,
    })
}

pub async fn unit(conn: &mut AnyConnection, id: i64) -> Result<Option<UnitRow>, sqlx::Error> {
    let sql = format!("{UNIT_SELECT} where s.id = $1");
    sqlx::query(&sql)
        .bind(id)
        .fetch_optional(conn)
        .await?
        .as_ref()
        .map(unit_row)
        .transpose()
}

/// For a receipt: the product's producer and the location's kind, in one round trip.
pub async fn receive_lookup(
    pool: &AnyPool,
    gtin: &str,
    location: &str,
) -> Result<(Option<String>, Option<String>), sqlx::Error> {
    let row = sqlx::query(
        "select (select producer from products where gtin = $1) as producer, (select kind from locations where code = $2) as kind",
    )
    .bind(gtin)
    .bind(location)
    .fetch_one(pool)
    .await?;
    Ok((row.try_get("producer")?, row.try_get("kind")?))
}

/// Adds `delta` (positive) packs to the unit with this key, creating it when missing, in one
/// statement. Returns `(unit id, before, after)`.
pub async fn add_to_unit(
    conn: &mut AnyConnection,
    k: &UnitKey<'_>,
    delta: i64,
) -> Result<(i64, i64, i64), sqlx::Error> {
    let row = sqlx::query(
        "insert into stock_units (gtin, lot, expiry, location, owner, status, qty, updated_at)
         values ($1, $2, $3, $4, $5, $6, $7, $8)
         on conflict (gtin, lot, expiry, location, owner, status)
         do update set qty = stock_units.qty + excluded.qty, updated_at = excluded.updated_at
         returning id, qty",
    )
    .bind(k.gtin)
    .bind(k.lot)
    .bind(k.expiry)
    .bind(k.location)
    .bind(k.owner)
    .bind(k.status)
    .bind(delta)
    .bind(super::now_db())
    .fetch_one(conn)
    .await?;
    let after: i64 = row.try_get("qty")?;
    Ok((row.try_get("id")?, after - delta, after))
}

/// The stock unit with exactly this key, if there is one.
pub async fn unit_id_by_key(
    conn: &mut AnyConnection,
    k: &UnitKey<'_>,
) -> Result<Option<i64>, sqlx::Error> {
    sqlx::query(
        "select id from stock_units where gtin = $1 and lot = $2 and expiry = $3 and location = $4
           and owner = $5 and status = $6",
    )
    .bind(k.gtin)
    .bind(k.lot)
    .bind(k.expiry)
    .bind(k.location)
    .bind(k.owner)
    .bind(k.status)
    .fetch_optional(conn)
    .await?
    .map(|r| r.try_get("id"))
    .transpose()
}

/// Changes a unit's quantity atomically, never below its reserved packs (so never below zero).
/// Returns `(before, after)`, or the free quantity as `Err` when the change would take reserved
/// stock (nothing is written then).
pub async fn change_qty(
    conn: &mut AnyConnection,
    unit_id: i64,
    delta: i64,
) -> Result<Result<(i64, i64), i64>, sqlx::Error> {
    let row = sqlx::query(
        "update stock_units set qty = qty + $1, updated_at = $2 where id = $3 and qty + $1 >= reserved returning qty",
    )
    .bind(delta)
    .bind(super::now_db())
    .bind(unit_id)
    .fetch_optional(&mut *conn)
    .await?;
    match row {
        Some(r) => {
            let after: i64 = r.try_get("qty")?;
            Ok(Ok((after - delta, after)))
        }
        None => {
            let current: i64 =
                sqlx::query("select qty - reserved as qty from stock_units where id = $1")
                    .bind(unit_id)
                    .fetch_optional(conn)
                    .await?
                    .map(|r| r.try_get("qty"))
                    .transpose()?
                    .unwrap_or(0);
            Ok(Err(current))
        }
    }
}

/// A recorded operation found by its idempotency key: (op id, kind, request hash).
pub async fn op_by_key(
    conn: &mut AnyConnection,
    key: &str,
) -> Result<Option<(i64, String, String)>, sqlx::Error> {
    let row =
        sqlx::query("select id, kind, request_hash from stock_ops where idempotency_key = $1")
            .bind(key)
            .fetch_optional(conn)
            .await?;
    row.map(|r| {
        Ok((
            r.try_get("id")?,
            r.try_get("kind")?,
            r.try_get("request_hash")?,
        ))
    })
    .transpose()
}

/// Reads a unit's quantity, locking the row on PostgreSQL until the transaction ends.
pub async fn lock_qty(
    conn: &mut AnyConnection,
    backend: super::Backend,
    unit_id: i64,
) -> Result<Option<i64>, sqlx::Error> {
    let sql = match backend {
        super::Backend::Postgres => "select qty from stock_units where id = $1 for update",
        super::Backend::Sqlite => "select qty from stock_units where id = $1",
    };
    sqlx::query(sql)
        .bind(unit_id)
        .fetch_optional(conn)
        .await?
        .map(|r| r.try_get("qty"))
        .transpose()
}

/// Records a new operation. `None` when another operation already holds the idempotency key.
pub async fn insert_op(
    conn: &mut AnyConnection,
    kind: &str,
    key: Option<&str>,
    request_hash: &str,
    actor: &str,
) -> Result<Option<i64>, sqlx::Error> {
    let row = sqlx::query(
        "insert into stock_ops (kind, idempotency_key, request_hash, actor, at) values ($1, $2, $3, $4, $5)
         on conflict (idempotency_key) do nothing returning id",
    )
    .bind(kind)
    .bind(key)
    .bind(request_hash)
    .bind(actor)
    .bind(super::now_db())
    .fetch_optional(conn)
    .await?;
    row.map(|r| r.try_get("id")).transpose()
}

/// One line of the ledger: a change of one stock unit. Serialized only into the stored payload of
/// a `stock.*` event (`event_payload`); the API sends `service::views::stock::LedgerEntry`.
#[derive(Debug, Clone, serde::Serialize)]
pub struct LedgerEntry {
    pub id: i64,
    pub op_id: i64,
    pub stock_unit_id: i64,
    pub kind: String,
    pub gtin: String,
    pub owner: String,
    pub location: String,
    pub delta: i64,
    pub qty_before: i64,
    pub qty_after: i64,
    pub reason: Option<String>,
    pub reference: Option<String>,
    pub actor: String,
    pub at: String,
}

pub struct NewLedger<'a> {
    pub op_id: i64,
    pub unit_id: i64,
    pub kind: &'a str,
    pub gtin: &'a str,
    pub owner: &'a str,
    pub location: &'a str,
    pub delta: i64,
    pub before: i64,
    pub after: i64,
    pub reason: Option<&'a str>,
    pub reference: Option<&'a str>,
    pub actor: &'a str,
}

pub async fn insert_ledger(
    conn: &mut AnyConnection,
    e: &NewLedger<'_>,
) -> Result<LedgerEntry, sqlx::Error> {
    let at = super::now_db();
    let id: i64 = sqlx::query(
        "insert into ledger (op_id, stock_unit_id, kind, gtin, owner, location, delta, qty_before, qty_after, reason, reference, actor, at)
         values ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13) returning id",
    )
    .bind(e.op_id)
    .bind(e.unit_id)
    .bind(e.kind)
    .bind(e.gtin)
    .bind(e.owner)
    .bind(e.location)
    .bind(e.delta)
    .bind(e.before)
    .bind(e.after)
    .bind(e.reason)
    .bind(e.reference)
    .bind(e.actor)
    .bind(&at)
    .fetch_one(conn)
    .await?
    .try_get("id")?;
    Ok(LedgerEntry {
        id,
        op_id: e.op_id,
        stock_unit_id: e.unit_id,
        kind: e.kind.to_string(),
        gtin: e.gtin.to_string(),
        owner: e.owner.to_string(),
        location: e.location.to_string(),
        delta: e.delta,
        qty_before: e.before,
        qty_after: e.after,
        reason: e.reason.map(str::to_string),
        reference: e.reference.map(str::to_string),
        actor: e.actor.to_string(),
        at,
    })
}

const LEDGER_COLS: &str =
    "id, op_id, stock_unit_id, kind, gtin, owner, location, delta, qty_before, qty_after, reason, reference, actor, at";

fn ledger_row(r: &AnyRow) -> Result<LedgerEntry, sqlx::Error> {
    Ok(LedgerEntry {
        id: r.try_get("id")?,
        op_id: r.try_get("op_id")?,
        stock_unit_id: r.try_get("stock_unit_id")?,
        kind: r.try_get("kind")?,
        gtin: r.try_get("gtin")?,
        owner: r.try_get("owner")?,
        location: r.try_get("location")?,
        delta: r.try_get("delta")?,
        qty_before: r.try_get("qty_before")?,
        qty_after: r.try_get("qty_after")?,
        reason: r.try_get("reason")?,
        reference: r.try_get("reference")?,
        actor: r.try_get("actor")?,
        at: r.try_get("at")?,
    })
}

pub async fn ledger_of_unit(pool: &AnyPool, unit_id: i64) -> Result<Vec<LedgerEntry>, sqlx::Error> {
    let sql = format!("select {LEDGER_COLS} from ledger where stock_unit_id = $1 order by id");
    let rows = sqlx::query(&sql).bind(unit_id).fetch_all(pool).await?;
    rows.iter().map(ledger_row).collect()
}

pub async fn ledger_of_op(
    conn: &mut AnyConnection,
    op_id: i64,
) -> Result<Vec<LedgerEntry>, sqlx::Error> {
    let sql = format!("select {LEDGER_COLS} from ledger where op_id = $1 order by id");
    let rows = sqlx::query(&sql).bind(op_id).fetch_all(conn).await?;
    rows.iter().map(ledger_row).collect()
}

#[derive(Debug, Default, Clone)]
pub struct UnitFilter {
    pub gtin: Option<String>,
    pub lot: Option<String>,
    pub location: Option<String>,
    pub owner: Option<String>,
    pub producer: Option<String>,
    /// Only units expiring on or before this date (`YYYY-MM-DD`).
    pub expiry_until: Option<String>,
    pub include_empty: bool,
}

pub async fn list_units(pool: &AnyPool, f: &UnitFilter) -> Result<Vec<UnitRow>, sqlx::Error> {
    let sql = format!(
        "{UNIT_SELECT} where ($1 is null or s.gtin = $1) and ($2 is null or s.lot = $2)
           and ($3 is null or s.location = $3) and ($4 is null or s.owner = $4)
           and ($5 is null or p.producer = $5) and ($6 is null or s.expiry <= $6)
           and (s.qty > 0 or $7 = 1)
         order by s.gtin, s.expiry, s.lot, l.walk_seq, s.id"
    );
    let rows = sqlx::query(&sql)
        .bind(f.gtin.as_deref())
        .bind(f.lot.as_deref())
        .bind(f.location.as_deref())
        .bind(f.owner.as_deref())
        .bind(f.producer.as_deref())
        .bind(f.expiry_until.as_deref())
        .bind(i64::from(f.include_empty))
        .fetch_all(pool)
        .await?;
    rows.iter().map(unit_row).collect()
}

/// Why each quarantined unit holding packs is in quarantine: the reason of the last entry that
/// put packs into it.
pub async fn quarantine_reasons(
    pool: &AnyPool,
) -> Result<std::collections::HashMap<i64, String>, sqlx::Error> {
    let rows = sqlx::query(
        "select l.stock_unit_id, l.reason from ledger l
         join (select stock_unit_id, max(id) as id from ledger
               where delta > 0 and stock_unit_id in (select id from stock_units where status = 'quarantined' and qty > 0)
               group by stock_unit_id) m on m.id = l.id
         where l.reason is not null",
    )
    .fetch_all(pool)
    .await?;
    rows.iter()
        .map(|r| Ok((r.try_get(0)?, r.try_get(1)?)))
        .collect()
}

/// Sum of an owner's ledger deltas before instant `before` (exclusive).
pub async fn owner_balance(pool: &AnyPool, owner: &str, before: &str) -> Result<i64, sqlx::Error> {
    sqlx::query("select cast(coalesce(sum(delta), 0) as bigint) as total from ledger where owner = $1 and at < $2")
        .bind(owner)
        .bind(before)
        .fetch_one(pool)
        .await?
        .try_get("total")
}

/// Per kind and direction, the sums of an owner's ledger deltas in `[from, to)`.
pub async fn owner_movements(
    pool: &AnyPool,
    owner: &str,
    from: &str,
    to: &str,
) -> Result<Vec<(String, i64, i64)>, sqlx::Error> {
    let rows = sqlx::query(
        "select kind,
                cast(coalesce(sum(case when delta < 0 then delta else 0 end), 0) as bigint) as outgoing,
                cast(coalesce(sum(case when delta > 0 then delta else 0 end), 0) as bigint) as incoming
         from ledger where owner = $1 and at >= $2 and at < $3 group by kind order by kind",
    )
    .bind(owner)
    .bind(from)
    .bind(to)
    .fetch_all(pool)
    .await?;
    rows.iter()
        .map(|r| {
            Ok((
                r.try_get("kind")?,
                r.try_get("outgoing")?,
                r.try_get("incoming")?,
            ))
        })
        .collect()
}

/// Current on-hand quantity of an owner, summed from the stock units themselves.
pub async fn owner_on_hand(pool: &AnyPool, owner: &str) -> Result<i64, sqlx::Error> {
    sqlx::query(
        "select cast(coalesce(sum(qty), 0) as bigint) as total from stock_units where owner = $1",
    )
    .bind(owner)
    .fetch_one(pool)
    .await?
    .try_get("total")
}

/// Units whose quantity differs from the sum of their ledger deltas (should always be empty).
pub async fn unreconciled_units(pool: &AnyPool) -> Result<Vec<(i64, i64, i64)>, sqlx::Error> {
    let rows = sqlx::query(
        "select s.id, s.qty, cast(coalesce(sum(l.delta), 0) as bigint) as ledger_total
         from stock_units s left join ledger l on l.stock_unit_id = s.id
         group by s.id, s.qty having s.qty <> cast(coalesce(sum(l.delta), 0) as bigint)",
    )
    .fetch_all(pool)
    .await?;
    rows.iter()
        .map(|r| {
            Ok((
                r.try_get("id")?,
                r.try_get("qty")?,
                r.try_get("ledger_total")?,
            ))
        })
        .collect()
}

pub async fn owners(pool: &AnyPool) -> Result<Vec<String>, sqlx::Error> {
    let rows = sqlx::query("select distinct owner from stock_units order by owner")
        .fetch_all(pool)
        .await?;
    rows.iter().map(|r| r.try_get("owner")).collect()
}

/// The unit a leg changes: one that exists, or the one with this key (created when missing;
/// additions only).
#[derive(Debug, Clone)]
pub enum LegTarget {
    Unit(i64),
    Key {
        gtin: String,
        lot: String,
        expiry: String,
        location: String,
        owner: String,
        status: String,
    },
}

#[derive(Debug, Clone, Copy)]
pub enum Amount {
    /// Change by this many packs; refused when it would go below zero.
    By(i64),
    /// Set to this counted quantity (a count adjustment).
    SetTo(i64),
}

/// One change of one unit, with what its ledger entry records.
#[derive(Debug, Clone)]
pub struct Leg {
    pub target: LegTarget,
    pub amount: Amount,
    pub gtin: String,
    pub owner: String,
    pub location: String,
    pub reason: Option<String>,
    pub reference: Option<String>,
}

/// A validated stock operation, ready to be written in one transaction: the idempotency record,
/// every leg with its ledger entry, and one domain event.
#[derive(Debug, Clone)]
pub struct OpPlan {
    pub kind: &'static str,
    pub event_type: &'static str,
    pub idempotency_key: Option<String>,
    pub request_hash: String,
    pub actor: String,
    pub legs: Vec<Leg>,
    /// A count: the count tasks it closes, checked and closed in the same transaction.
    pub count: Option<super::counting::CountClose>,
}

#[derive(Debug)]
pub enum Outcome {
    Done {
        op_id: i64,
        entries: Vec<LedgerEntry>,
        replayed: bool,
    },
    /// A leg would have taken a unit below zero; nothing was written.
    Insufficient { on_hand: i64, requested: i64 },
    /// The idempotency key belongs to a different request (its kind is given).
    KeyReused { kind: String },
    /// The idempotency key is held by a request that has not committed yet.
    KeyInUse,
    /// A count whose location was counted by someone else since it was read; nothing written.
    Superseded,
}

/// The event payload of a committed operation (the same shape the API returns).
pub fn event_payload(kind: &str, op_id: i64, entries: &[LedgerEntry]) -> serde_json::Value {
    serde_json::json!({ "op_id": op_id, "kind": kind, "replayed": false, "entries": entries })
}

/// Writes a planned operation atomically. On SQLite the writer thread runs it in one step
/// (batched with others that arrive at the same time); PostgreSQL runs it as one sqlx transaction.
pub async fn execute(db: &super::Db, plan: OpPlan) -> anyhow::Result<Outcome> {
    match db.sqlite_writer() {
        Some(writer) => writer.execute(plan).await,
        None => execute_sqlx(db, &plan).await,
    }
}

async fn execute_sqlx(db: &super::Db, plan: &OpPlan) -> anyhow::Result<Outcome> {
    let mut tx = db.begin_write().await?;
    let backend = tx.backend();
    let Some(op_id) = insert_op(
        tx.conn(),
        plan.kind,
        plan.idempotency_key.as_deref(),
        &plan.request_hash,
        &plan.actor,
    )
    .await?
    else {
        let key = plan.idempotency_key.as_deref().unwrap_or_default();
        return Ok(match op_by_key(tx.conn(), key).await? {
            Some((op_id, kind, hash)) if kind == plan.kind && hash == plan.request_hash => {
                Outcome::Done {
                    op_id,
                    entries: ledger_of_op(tx.conn(), op_id).await?,
                    replayed: true,
                }
            }
            Some((_, kind, _)) => Outcome::KeyReused { kind },
            None => Outcome::KeyInUse,
        });
    };
    let mut entries = Vec::with_capacity(plan.legs.len());
    for leg in &plan.legs {
        let (unit_id, before, after, delta) = match (&leg.target, leg.amount) {
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
                let k = UnitKey {
                    gtin,
                    lot,
                    expiry,
                    location,
                    owner,
                    status,
                };
                let (id, before, after) = add_to_unit(tx.conn(), &k, d).await?;
                (id, before, after, d)
            }
            (LegTarget::Unit(id), Amount::By(d)) => match change_qty(tx.conn(), *id, d).await? {
                Ok((before, after)) => (*id, before, after, d),
                Err(on_hand) => {
                    return Ok(Outcome::Insufficient {
                        on_hand,
                        requested: -d,
                    })
                }
            },
            (LegTarget::Unit(id), Amount::SetTo(counted)) => {
                let current = lock_qty(tx.conn(), backend, *id).await?.unwrap_or(0);
                let d = counted - current;
                match change_qty(tx.conn(), *id, d).await? {
                    Ok((before, after)) => (*id, before, after, d),
                    Err(on_hand) => {
                        return Ok(Outcome::Insufficient {
                            on_hand,
                            requested: -d,
                        })
                    }
                }
            }
            (target, amount) => anyhow::bail!("invalid leg {target:?} {amount:?}"),
        };
        let e = NewLedger {
            op_id,
            unit_id,
            kind: plan.kind,
            gtin: &leg.gtin,
            owner: &leg.owner,
            location: &leg.location,
            delta,
            before,
            after,
            reason: leg.reason.as_deref(),
            reference: leg.reference.as_deref(),
            actor: &plan.actor,
        };
        entries.push(insert_ledger(tx.conn(), &e).await?);
    }
    if let Some(c) = &plan.count {
        if !super::counting::close(tx.conn(), c, op_id, &plan.actor).await? {
            return Ok(Outcome::Superseded);
        }
    }
    let subject = entries
        .first()
        .map(|e| format!("stock_unit:{}", e.stock_unit_id))
        .unwrap_or_default();
    tx.event(
        plan.event_type,
        &subject,
        &event_payload(plan.kind, op_id, &entries),
    )
    .await?;
    tx.commit().await?;
    Ok(Outcome::Done {
        op_id,
        entries,
        replayed: false,
    })
}
