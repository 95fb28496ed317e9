//! The floor's reads for the dashboard: who and which station works at what rate, what each
//! carrier still has to take today, and the exceptions waiting for a lead. Aggregates only: no
//! row here names a citizen (orders by external id, postcodes only counted).

use sqlx::{AnyPool, Row};

/// One picker's work since `day_start` (and in the last hour): actor as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PickerWork {
    pub actor: String,
    pub lines_today: i64,
    pub lines_last_hour: i64,
    pub packs_today: i64,
    /// The last confirmation, as stored.
    pub last_at: String,
}

/// One station's work: parcels closed (a pack station) or cutting jobs finished and failed (a
/// cutting station) since the day's start and in the last hour.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StationWork {
    pub station: String,
    pub done_today: i64,
    pub done_last_hour: i64,
    /// Cutting jobs failed today (0 for pack stations).
    pub faults_today: i64,
    pub last_at: Option<String>,
}

/// Everything the floor shows, read in one statement (five reads in one round trip).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct FloorWork {
    /// Pick confirmations (not undone) per actor since the day's start, with the last hour's;
    /// by actor.
    pub pickers: Vec<PickerWork>,
    /// Refused pick scans per actor since the day's start.
    pub refusals: Vec<(String, i64)>,
    /// Pickers holding an unfinished wave now: (picker, wave id), by wave.
    pub on_waves: Vec<(String, i64)>,
    /// Parcels closed per pack station since the day's start (and in the last hour).
    pub packing: Vec<StationWork>,
    /// Cutting jobs finished and failed per cutting station since the day's start (finished
    /// also in the last hour).
    pub cutting: Vec<StationWork>,
}

/// The floor's work since `day_start` and `hour_ago` (instants as stored).
pub async fn floor_work(
    pool: &AnyPool,
    day_start: &str,
    hour_ago: &str,
) -> Result<FloorWork, sqlx::Error> {
    // Each part gives (k, name, a, b, c, last_at); see `FloorWork` for what they hold.
    let rows = sqlx::query(
        "select cast(0 as bigint) as k, actor as name,
            cast(count(distinct pick_id) as bigint) as a,
            cast(count(distinct case when at >= $2 then pick_id end) as bigint) as b,
            cast(coalesce(sum(qty), 0) as bigint) as c, max(at) as last_at
         from pick_confirms where at >= $1 and undone = 0 group by actor
         union all
         select cast(1 as bigint), actor, cast(count(*) as bigint), cast(0 as bigint), cast(0 as bigint),
            cast(null as text)
         from pick_refusals where at >= $1 group by actor
         union all
         select cast(2 as bigint), picker, cast(id as bigint), cast(0 as bigint), cast(0 as bigint),
            cast(null as text)
         from waves where status in ('assigned', 'picking') and picker is not null
         union all
         select cast(3 as bigint), station, cast(count(*) as bigint),
            cast(coalesce(sum(case when closed_at >= $2 then 1 else 0 end), 0) as bigint),
            cast(0 as bigint), max(closed_at)
         from parcels where closed_at >= $1 group by station
         union all
         select cast(4 as bigint), station_id,
            cast(coalesce(sum(case when state = 'finished' then 1 else 0 end), 0) as bigint),
            cast(coalesce(sum(case when state = 'finished' and at >= $2 then 1 else 0 end), 0) as bigint),
            cast(coalesce(sum(case when state = 'failed' then 1 else 0 end), 0) as bigint),
            max(at)
         from cut_job_log where at >= $1 and station_id is not null and state in ('finished', 'failed')
         group by station_id",
    )
    .bind(day_start)
    .bind(hour_ago)
    .fetch_all(pool)
    .await?;
    let mut out = FloorWork::default();
    for r in &rows {
        let k: i64 = r.try_get("k")?;
        let name: String = r.try_get("name")?;
        let (a, b, c): (i64, i64, i64) = (r.try_get("a")?, r.try_get("b")?, r.try_get("c")?);
        let last_at: Option<String> = r.try_get("last_at")?;
        let station = |name| StationWork {
            station: name,
            done_today: a,
            done_last_hour: b,
            faults_today: c,
            last_at: last_at.clone(),
        };
        match k {
            0 => out.pickers.push(PickerWork {
                actor: name,
                lines_today: a,
                lines_last_hour: b,
                packs_today: c,
                last_at: last_at.clone().unwrap_or_default(),
            }),
            1 => out.refusals.push((name, a)),
            2 => out.on_waves.push((name, a)),
            3 => out.packing.push(station(name)),
            _ => out.cutting.push(station(name)),
        }
    }
    out.pickers.sort_by(|x, y| x.actor.cmp(&y.actor));
    out.on_waves.sort_by_key(|w| w.1);
    out.packing.sort_by(|x, y| x.station.cmp(&y.station));
    out.cutting.sort_by(|x, y| x.station.cmp(&y.station));
    Ok(out)
}

/// What the carriers' cut-offs are judged by, read in one statement (three reads in one round
/// trip).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CutoffWork {
    /// Closed parcels not yet handed over (nor void), per booked carrier; `None` for a parcel
    /// whose booking is not made yet.
    pub waiting: Vec<(Option<String>, i64)>,
    /// Orders not yet packed (allocated to picked) to be delivered on or before the day given,
    /// per postcode (the carrier rules go by postcode).
    pub unpacked: Vec<(String, i64)>,
    /// Parcels scanned onto a cage since the instant given, per cage's carrier.
    pub handed_over: Vec<(String, i64)>,
}

/// The cut-offs' figures: orders due by `due_by` (a date), handovers since `since` (an instant
/// as stored).
pub async fn cutoff_work(
    pool: &AnyPool,
    due_by: &str,
    since: &str,
) -> Result<CutoffWork, sqlx::Error> {
    let rows = sqlx::query(
        "select cast(0 as bigint) as k, b.carrier as name, cast(count(*) as bigint) as n
         from parcels p left join bookings b on b.parcel_id = p.id
         where p.booking_state in ('none', 'waiting', 'booked', 'rejected') and p.state = 'closed'
         group by b.carrier
         union all
         select cast(1 as bigint), postcode, cast(count(*) as bigint) from orders
         where status in ('received', 'allocated', 'picking', 'cutting', 'picked') and delivery_date <= $1
         group by postcode
         union all
         select cast(2 as bigint), c.carrier, cast(count(*) as bigint)
         from cage_parcels cp join cages c on c.id = cp.cage_id
         where cp.at >= $2 group by c.carrier",
    )
    .bind(due_by)
    .bind(since)
    .fetch_all(pool)
    .await?;
    let mut out = CutoffWork::default();
    for r in &rows {
        let k: i64 = r.try_get("k")?;
        let name: Option<String> = r.try_get("name")?;
        let n: i64 = r.try_get("n")?;
        match (k, name) {
            (0, name) => out.waiting.push((name, n)),
            (1, Some(postcode)) => out.unpacked.push((postcode, n)),
            (2, Some(carrier)) => out.handed_over.push((carrier, n)),
            _ => {}
        }
    }
    Ok(out)
}

/// One open exception: the order it concerns (external id), a word on it, and since when.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OpenException {
    pub order: String,
    pub detail: Option<String>,
    pub at: String,
}

/// The kinds of open exception a lead resolves.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ExceptionKind {
    /// A booking the carrier refused.
    BookingRejected,
    /// A parcel the carrier could not deliver (not yet dealt with).
    DeliveryException,
    /// A pick found short today.
    ShortPick,
    /// A cutting job that failed and waits for a lead.
    CutFailed,
    /// An order backordered since before the given instant.
    OldBackorder,
}

impl ExceptionKind {
    /// Where its open exceptions are (`{day}`: the day's start, `{old}`: the backorders' age
    /// limit, both bound), a word on each, and since when.
    fn source(self) -> (&'static str, &'static str, &'static str) {
        match self {
            ExceptionKind::BookingRejected => (
                "from bookings b join parcels p on p.id = b.parcel_id join orders o on o.id = p.order_id
                 where b.state = 'rejected'",
                "b.last_error",
                "b.updated_at",
            ),
            ExceptionKind::DeliveryException => (
                "from bookings b join parcels p on p.id = b.parcel_id join orders o on o.id = p.order_id
                 where b.tracking_status in ('failed_attempt', 'returned', 'exception') and b.exception_ack_at is null",
                "b.tracking_status",
                "b.updated_at",
            ),
            ExceptionKind::ShortPick => (
                "from pick_exceptions x join orders o on o.id = x.order_id where x.at >= {day}",
                "x.location",
                "x.at",
            ),
            ExceptionKind::CutFailed => (
                "from cut_jobs j join orders o on o.id = j.order_id where j.state = 'failed'",
                "j.reason",
                "j.updated_at",
            ),
            ExceptionKind::OldBackorder => (
                "from orders o where o.status = 'backordered' and o.updated_at < {old}",
                "null",
                "o.updated_at",
            ),
        }
    }
}

/// Open exceptions of each of `kinds`: how many, and the `limit` oldest. `day_start` bounds the
/// short picks (today's), `backordered_before` the backorders shown.
///
/// Two statements whatever the number of kinds: the counts of all kinds in one, then the
/// oldest of the kinds that have any in another (each part keeps the plan it would have alone:
/// a count, and the first rows by the index on its time).
pub async fn exceptions(
    pool: &AnyPool,
    kinds: &[ExceptionKind],
    day_start: &str,
    backordered_before: &str,
    limit: u8,
) -> Result<Vec<(i64, Vec<OpenException>)>, sqlx::Error> {
    let counts = kinds
        .iter()
        .enumerate()
        .map(|(i, k)| {
            format!(
                "select cast({i} as bigint) as k, count(*) as n {}",
                k.source().0
            )
        })
        .collect::<Vec<_>>();
    let rows = fetch_numbered(
        pool,
        numbered(&counts, "order by k", day_start, backordered_before),
    )
    .await?;
    let mut out: Vec<(i64, Vec<OpenException>)> = vec![(0, Vec::new()); kinds.len()];
    for r in &rows {
        let k: i64 = r.try_get("k")?;
        if let Some(slot) = usize::try_from(k).ok().and_then(|k| out.get_mut(k)) {
            slot.0 = r.try_get("n")?;
        }
    }
    let lists = kinds
        .iter()
        .enumerate()
        .filter(|(i, _)| out[*i].0 > 0)
        .map(|(i, k)| {
            let (from_where, detail, at) = k.source();
            format!(
                "select * from (select cast({i} as bigint) as k, o.external_id as r, cast({detail} as text) as d, {at} as at
                 {from_where} order by {at} limit {limit}) x{i}"
            )
        })
        .collect::<Vec<_>>();
    if lists.is_empty() {
        return Ok(out);
    }
    let rows = fetch_numbered(pool, numbered(&lists, "", day_start, backordered_before)).await?;
    for r in &rows {
        let k: i64 = r.try_get("k")?;
        if let Some(slot) = usize::try_from(k).ok().and_then(|k| out.get_mut(k)) {
            slot.1.push(OpenException {
                order: r.try_get("r")?,
                detail: r.try_get("d")?,
                at: r.try_get("at")?,
            });
        }
    }
    Ok(out)
}

/// `parts` joined by `union all`, then `tail`, with `{day}` and `{old}` as parameters numbered
/// in the order they first appear, and the values to bind: only those that appear (PostgreSQL
/// refuses a value for a parameter the statement does not have).
fn numbered<'v>(
    parts: &[String],
    tail: &str,
    day: &'v str,
    old: &'v str,
) -> (String, Vec<&'v str>) {
    let mut sql = format!("{} {tail}", parts.join(" union all "));
    let mut values = Vec::new();
    for (token, value) in [("{day}", day), ("{old}", old)] {
        if sql.contains(token) {
            values.push(value);
            sql = sql.replace(token, &format!("${}", values.len()));
        }
    }
    (sql, values)
}

async fn fetch_numbered(
    pool: &AnyPool,
    (sql, values): (String, Vec<&str>),
) -> Result<Vec<sqlx::any::AnyRow>, sqlx::Error> {
    let mut q = sqlx::query(&sql);
    for v in values {
        q = q.bind(v);
    }
    q.fetch_all(pool).await
}
