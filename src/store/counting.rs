//! Count tasks and cycle count runs. A count closes the open tasks it read at its location in
//! the transaction that books its differences (`close`, run by the stock operation's executor).

use sqlx::{any::AnyRow, AnyConnection, AnyPool, Row};

/// The location kinds that hold stock a person can count.
pub const COUNTABLE_KINDS: &str = "('receiving', 'pick', 'reserve', 'quarantine')";

/// A count task: a location to count, why, and when done what the count found.
#[derive(Debug, Clone)]
pub struct TaskRow {
    pub id: i64,
    pub location: String,
    pub zone: String,
    /// `short_pick` (a picker could not find packs), `cycle` (a lead's cycle count) or `adhoc`
    /// (a count made without a task).
    pub source: String,
    pub run_id: Option<i64>,
    pub pick_id: Option<i64>,
    /// Packs a short pick put on hold in quarantine at the location until it is counted.
    pub hold_unit_id: Option<i64>,
    pub hold_qty: i64,
    pub note: Option<String>,
    /// `open`, `done` or `cancelled`
    pub status: String,
    pub created_by: String,
    pub created_at: String,
    pub op_id: Option<i64>,
    pub counted_by: Option<String>,
    pub counted_at: Option<String>,
    /// Lots counted.
    pub lines: Option<i64>,
    /// Packs found minus packs the system held (net over the location).
    pub difference: Option<i64>,
}

const TASK_COLS: &str = "t.id, t.location, l.zone, t.source, t.run_id, t.pick_id, t.hold_unit_id, t.hold_qty, t.note, t.status,
    t.created_by, t.created_at, t.op_id, t.counted_by, t.counted_at, t.lines, t.difference";

fn task(r: &AnyRow) -> Result<TaskRow, sqlx::Error> {
    Ok(TaskRow {
        id: r.try_get("id")?,
        location: r.try_get("location")?,
        zone: r.try_get("zone")?,
        source: r.try_get("source")?,
        run_id: r.try_get("run_id")?,
        pick_id: r.try_get("pick_id")?,
        hold_unit_id: r.try_get("hold_unit_id")?,
        hold_qty: r.try_get("hold_qty")?,
        note: r.try_get("note")?,
        status: r.try_get("status")?,
        created_by: r.try_get("created_by")?,
        created_at: r.try_get("created_at")?,
        op_id: r.try_get("op_id")?,
        counted_by: r.try_get("counted_by")?,
        counted_at: r.try_get("counted_at")?,
        lines: r.try_get("lines")?,
        difference: r.try_get("difference")?,
    })
}

/// A short pick's task: count the location; the packs not found are held until then.
pub struct NewShortTask<'a> {
    pub location: &'a str,
    pub pick_id: i64,
    pub hold_unit_id: i64,
    pub hold_qty: i64,
    pub note: &'a str,
    pub by: &'a str,
}

pub async fn insert_short_task(
    conn: &mut AnyConnection,
    t: &NewShortTask<'_>,
) -> Result<i64, sqlx::Error> {
    sqlx::query(
        "insert into count_tasks (location, source, pick_id, hold_unit_id, hold_qty, note, created_by, created_at)
         values ($1, 'short_pick', $2, $3, $4, $5, $6, $7) returning id",
    )
    .bind(t.location)
    .bind(t.pick_id)
    .bind(t.hold_unit_id)
    .bind(t.hold_qty)
    .bind(t.note)
    .bind(t.by)
    .bind(super::now_db())
    .fetch_one(conn)
    .await?
    .try_get(0)
}

/// The open tasks at a location, oldest first.
pub async fn open_at(
    conn: &mut AnyConnection,
    location: &str,
) -> Result<Vec<TaskRow>, sqlx::Error> {
    let sql = format!(
        "select {TASK_COLS} from count_tasks t join locations l on l.code = t.location
         where t.location = $1 and t.status = 'open' order by t.id"
    );
    let rows = sqlx::query(&sql).bind(location).fetch_all(conn).await?;
    rows.iter().map(task).collect()
}

/// The last count made at a location: its task id and time.
pub async fn last_count(
    conn: &mut AnyConnection,
    location: &str,
) -> Result<Option<(i64, String)>, sqlx::Error> {
    let row = sqlx::query(
        "select id, counted_at from count_tasks where location = $1 and status = 'done'
         order by id desc limit 1",
    )
    .bind(location)
    .fetch_optional(conn)
    .await?;
    row.map(|r| Ok((r.try_get(0)?, r.try_get(1)?))).transpose()
}

/// What a count closes and checks: the open tasks it read, and the last count it knew of. If
/// either changed before it commits, someone else counted the location meanwhile.
#[derive(Debug, Clone)]
pub struct CountClose {
    pub location: String,
    pub task_ids: Vec<i64>,
    pub last_count_id: Option<i64>,
    pub lines: i64,
    pub difference: i64,
}

/// Closes the count's tasks (or records a count made without one). False, with nothing
/// written, when the location was counted by someone else since the count read it.
pub async fn close(
    conn: &mut AnyConnection,
    c: &CountClose,
    op_id: i64,
    actor: &str,
) -> Result<bool, sqlx::Error> {
    let last = last_count(conn, &c.location).await?.map(|(id, _)| id);
    if last != c.last_count_id {
        return Ok(false);
    }
    let now = super::now_db();
    if c.task_ids.is_empty() {
        sqlx::query(
            "insert into count_tasks (location, source, status, created_by, created_at, op_id, counted_by, counted_at, lines, difference)
             values ($1, 'adhoc', 'done', $2, $3, $4, $2, $3, $5, $6)",
        )
        .bind(&c.location)
        .bind(actor)
        .bind(&now)
        .bind(op_id)
        .bind(c.lines)
        .bind(c.difference)
        .execute(&mut *conn)
        .await?;
        return Ok(true);
    }
    for id in &c.task_ids {
        let done = sqlx::query(
            "update count_tasks set status = 'done', op_id = $2, counted_by = $3, counted_at = $4, lines = $5, difference = $6
             where id = $1 and status = 'open'",
        )
        .bind(id)
        .bind(op_id)
        .bind(actor)
        .bind(&now)
        .bind(c.lines)
        .bind(c.difference)
        .execute(&mut *conn)
        .await?;
        if done.rows_affected() != 1 {
            return Ok(false);
        }
    }
    Ok(true)
}

/// The tasks a count operation closed.
pub async fn of_op(pool: &AnyPool, op_id: i64) -> Result<Vec<TaskRow>, sqlx::Error> {
    let sql = format!(
        "select {TASK_COLS} from count_tasks t join locations l on l.code = t.location
         where t.op_id = $1 order by t.id"
    );
    let rows = sqlx::query(&sql).bind(op_id).fetch_all(pool).await?;
    rows.iter().map(task).collect()
}

#[derive(Debug, Clone, Default)]
pub struct TaskFilter {
    pub status: Option<String>,
    pub run_id: Option<i64>,
    pub location: Option<String>,
    pub limit: i64,
}

/// Tasks, open ones in walk order first, then the newest others.
pub async fn tasks(pool: &AnyPool, f: &TaskFilter) -> Result<Vec<TaskRow>, sqlx::Error> {
    let sql = format!(
        "select {TASK_COLS} from count_tasks t join locations l on l.code = t.location
         where ($1 = '' or t.status = $1) and ($2 = 0 or t.run_id = $2) and ($3 = '' or t.location = $3)
         order by case when t.status = 'open' then 0 else 1 end,
                  case when t.status = 'open' then l.walk_seq else 0 end, t.id desc
         limit $4"
    );
    let rows = sqlx::query(&sql)
        .bind(f.status.clone().unwrap_or_default())
        .bind(f.run_id.unwrap_or(0))
        .bind(f.location.clone().unwrap_or_default())
        .bind(f.limit)
        .fetch_all(pool)
        .await?;
    rows.iter().map(task).collect()
}

/// A cycle count run with its progress.
#[derive(Debug, Clone)]
pub struct RunRow {
    pub id: i64,
    /// `zone:<zone>`, `product:<gtin>` or `not_counted_for:<days>`
    pub scope: String,
    /// The lead's own title; empty when none was given (pages then describe the scope).
    pub title: String,
    pub created_by: String,
    pub created_at: String,
    pub tasks: i64,
    pub done: i64,
    pub cancelled: i64,
    /// Net packs found minus held over the run's counted tasks.
    pub difference: i64,
}

pub async fn runs(pool: &AnyPool, limit: i64) -> Result<Vec<RunRow>, sqlx::Error> {
    let rows = sqlx::query(
        "select r.id, r.scope, r.title, r.created_by, r.created_at,
                cast(count(t.id) as bigint) as tasks,
                cast(coalesce(sum(case when t.status = 'done' then 1 else 0 end), 0) as bigint) as done,
                cast(coalesce(sum(case when t.status = 'cancelled' then 1 else 0 end), 0) as bigint) as cancelled,
                cast(coalesce(sum(t.difference), 0) as bigint) as difference
         from count_runs r left join count_tasks t on t.run_id = r.id
         group by r.id, r.scope, r.title, r.created_by, r.created_at
         order by r.id desc limit $1",
    )
    .bind(limit)
    .fetch_all(pool)
    .await?;
    rows.iter()
        .map(|r| {
            Ok(RunRow {
                id: r.try_get("id")?,
                scope: r.try_get("scope")?,
                title: r.try_get("title")?,
                created_by: r.try_get("created_by")?,
                created_at: r.try_get("created_at")?,
                tasks: r.try_get("tasks")?,
                done: r.try_get("done")?,
                cancelled: r.try_get("cancelled")?,
                difference: r.try_get("difference")?,
            })
        })
        .collect()
}

/// The countable locations of a zone, in walk order.
pub async fn zone_locations(pool: &AnyPool, zone: &str) -> Result<Vec<String>, sqlx::Error> {
    let sql = format!(
        "select code from locations where zone = $1 and kind in {COUNTABLE_KINDS} order by walk_seq, code"
    );
    let rows = sqlx::query(&sql).bind(zone).fetch_all(pool).await?;
    rows.iter().map(|r| r.try_get(0)).collect()
}

/// The countable locations holding a product, in walk order.
pub async fn product_locations(pool: &AnyPool, gtin: &str) -> Result<Vec<String>, sqlx::Error> {
    let sql = format!(
        "select l.code from locations l where l.kind in {COUNTABLE_KINDS}
           and exists (select 1 from stock_units s where s.location = l.code and s.gtin = $1 and s.qty > 0)
         order by l.walk_seq, l.code"
    );
    let rows = sqlx::query(&sql).bind(gtin).fetch_all(pool).await?;
    rows.iter().map(|r| r.try_get(0)).collect()
}

/// Every countable location with when it was last counted (never: `None`), in walk order.
pub async fn last_counted(pool: &AnyPool) -> Result<Vec<(String, Option<String>)>, sqlx::Error> {
    let sql = format!(
        "select l.code, max(t.counted_at) as last from locations l
           left join count_tasks t on t.location = l.code and t.status = 'done'
         where l.kind in {COUNTABLE_KINDS}
         group by l.code, l.walk_seq order by l.walk_seq, l.code"
    );
    let rows = sqlx::query(&sql).fetch_all(pool).await?;
    rows.iter()
        .map(|r| Ok((r.try_get(0)?, r.try_get(1)?)))
        .collect()
}

/// Makes a run and a task for each location.
pub async fn insert_run(
    conn: &mut AnyConnection,
    scope: &str,
    title: &str,
    by: &str,
    locations: &[String],
) -> Result<i64, sqlx::Error> {
    let now = super::now_db();
    let run_id: i64 = sqlx::query(
        "insert into count_runs (scope, title, created_by, created_at) values ($1, $2, $3, $4) returning id",
    )
    .bind(scope)
    .bind(title)
    .bind(by)
    .bind(&now)
    .fetch_one(&mut *conn)
    .await?
    .try_get(0)?;
    for location in locations {
        sqlx::query(
            "insert into count_tasks (location, source, run_id, created_by, created_at) values ($1, 'cycle', $2, $3, $4)",
        )
        .bind(location)
        .bind(run_id)
        .bind(by)
        .bind(&now)
        .execute(&mut *conn)
        .await?;
    }
    Ok(run_id)
}

/// Cancels a run's open tasks; returns how many.
pub async fn cancel_run(conn: &mut AnyConnection, run_id: i64) -> Result<u64, sqlx::Error> {
    Ok(sqlx::query(
        "update count_tasks set status = 'cancelled' where run_id = $1 and status = 'open'",
    )
    .bind(run_id)
    .execute(conn)
    .await?
    .rows_affected())
}

pub async fn run_exists(conn: &mut AnyConnection, run_id: i64) -> Result<bool, sqlx::Error> {
    Ok(sqlx::query("select 1 from count_runs where id = $1")
        .bind(run_id)
        .fetch_optional(conn)
        .await?
        .is_some())
}
