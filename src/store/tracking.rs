//! Tracking events (each kept once per carrier, parcel, code and time), the bookings whose
//! tracking is pulled, the log of pushed messages, and the exception list a lead works through.

use sqlx::{AnyConnection, AnyPool, Row};

/// A booked parcel to follow.
#[derive(Debug, Clone)]
pub struct Followed {
    pub booking_id: i64,
    pub parcel_id: i64,
    pub order_id: i64,
    pub tracking_number: String,
}

/// Booked parcels of a carrier whose journey is not over and that were not pulled since
/// `before`, least recently pulled first.
pub async fn to_track(
    conn: &mut AnyConnection,
    carrier: &str,
    before: &str,
    limit: i64,
) -> Result<Vec<Followed>, sqlx::Error> {
    let rows = sqlx::query(
        "select b.id, b.parcel_id, p.order_id, b.tracking_number from bookings b join parcels p on p.id = b.parcel_id
         where b.carrier = $1 and b.state = 'booked' and b.tracking_number is not null
           and (b.tracking_status is null or b.tracking_status not in ('delivered', 'returned'))
           and (b.tracked_at is null or b.tracked_at < $2)
         order by b.tracked_at is not null, b.tracked_at, b.id limit $3",
    )
    .bind(carrier)
    .bind(before)
    .bind(limit)
    .fetch_all(conn)
    .await?;
    rows.iter()
        .map(|r| {
            Ok(Followed {
                booking_id: r.try_get("id")?,
                parcel_id: r.try_get("parcel_id")?,
                order_id: r.try_get("order_id")?,
                tracking_number: r.try_get("tracking_number")?,
            })
        })
        .collect()
}

pub async fn mark_tracked(conn: &mut AnyConnection, booking_id: i64) -> Result<(), sqlx::Error> {
    sqlx::query("update bookings set tracked_at = $2 where id = $1")
        .bind(booking_id)
        .bind(super::now_db())
        .execute(conn)
        .await?;
    Ok(())
}

/// The booked parcel a carrier's item id names: by tracking number, or by the parcel's SSCC.
pub async fn followed_by_item(
    conn: &mut AnyConnection,
    carrier: &str,
    item_id: &str,
    sscc: Option<&str>,
) -> Result<Option<Followed>, sqlx::Error> {
    let r = sqlx::query(
        "select b.id, b.parcel_id, p.order_id, b.tracking_number from bookings b join parcels p on p.id = b.parcel_id
         where b.carrier = $1 and b.state = 'booked' and (b.tracking_number = $2 or p.sscc = $3) limit 1",
    )
    .bind(carrier)
    .bind(item_id)
    .bind(sscc)
    .fetch_optional(conn)
    .await?;
    r.map(|r| {
        Ok(Followed {
            booking_id: r.try_get("id")?,
            parcel_id: r.try_get("parcel_id")?,
            order_id: r.try_get("order_id")?,
            tracking_number: r
                .try_get::<Option<String>, _>("tracking_number")?
                .unwrap_or_default(),
        })
    })
    .transpose()
}

pub struct NewEvent<'a> {
    pub booking_id: i64,
    pub parcel_id: i64,
    pub carrier: &'a str,
    pub code: &'a str,
    pub raw_status: &'a str,
    pub status: &'a str,
    pub text: &'a str,
    pub location: Option<&'a str>,
    pub at: &'a str,
    pub source: &'a str,
}

/// Keeps an event; `false` when it was kept before (same carrier, parcel, code and time).
pub async fn insert_event(conn: &mut AnyConnection, e: &NewEvent<'_>) -> Result<bool, sqlx::Error> {
    Ok(sqlx::query(
        "insert into tracking_events (booking_id, parcel_id, carrier, code, raw_status, status, text, location, at, source, received_at)
         values ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)
         on conflict (carrier, parcel_id, code, at) do nothing",
    )
    .bind(e.booking_id)
    .bind(e.parcel_id)
    .bind(e.carrier)
    .bind(e.code)
    .bind(e.raw_status)
    .bind(e.status)
    .bind(e.text)
    .bind(e.location)
    .bind(e.at)
    .bind(e.source)
    .bind(super::now_db())
    .execute(conn)
    .await?
    .rows_affected()
        == 1)
}

/// The status of the parcel's latest event (by the carrier's time), made the booking's.
pub async fn settle_status(
    conn: &mut AnyConnection,
    booking_id: i64,
) -> Result<Option<String>, sqlx::Error> {
    let r = sqlx::query(
        "select status from tracking_events where booking_id = $1 order by at desc, id desc limit 1",
    )
    .bind(booking_id)
    .fetch_optional(&mut *conn)
    .await?;
    let Some(status) = r.map(|r| r.try_get::<String, _>("status")).transpose()? else {
        return Ok(None);
    };
    sqlx::query(
        "update bookings set tracking_status = $2, exception_ack_by = case when tracking_status = $2 then exception_ack_by end,
            exception_ack_at = case when tracking_status = $2 then exception_ack_at end where id = $1",
    )
    .bind(booking_id)
    .bind(&status)
    .execute(conn)
    .await?;
    Ok(Some(status))
}

/// Every closed parcel of the order is delivered.
pub async fn order_all_delivered(
    conn: &mut AnyConnection,
    order_id: i64,
) -> Result<bool, sqlx::Error> {
    let r = sqlx::query(
        "select count(*) as n, sum(case when b.tracking_status = 'delivered' then 1 else 0 end) as d
         from parcels p left join bookings b on b.parcel_id = p.id where p.order_id = $1 and p.state = 'closed'",
    )
    .bind(order_id)
    .fetch_one(conn)
    .await?;
    let n: i64 = r.try_get("n")?;
    let d: Option<i64> = r.try_get("d")?;
    Ok(n > 0 && d == Some(n))
}

pub async fn log_push(
    pool: &AnyPool,
    carrier: &str,
    outcome: &str,
    events: i64,
    detail: &str,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "insert into carrier_pushes (carrier, received_at, outcome, events, detail) values ($1, $2, $3, $4, $5)",
    )
    .bind(carrier)
    .bind(super::now_db())
    .bind(outcome)
    .bind(events)
    .bind(detail.chars().take(500).collect::<String>())
    .execute(pool)
    .await?;
    Ok(())
}

/// A pushed message as logged.
#[derive(Debug, Clone)]
pub struct PushRow {
    pub id: i64,
    pub carrier: String,
    pub received_at: String,
    /// `accepted`, or why it was refused.
    pub outcome: String,
    pub events: i64,
    pub detail: String,
}

pub async fn pushes(pool: &AnyPool, limit: i64) -> Result<Vec<PushRow>, sqlx::Error> {
    let rows = sqlx::query(
        "select id, carrier, received_at, outcome, events, detail from carrier_pushes order by id desc limit $1",
    )
    .bind(limit)
    .fetch_all(pool)
    .await?;
    rows.iter()
        .map(|r| {
            Ok(PushRow {
                id: r.try_get("id")?,
                carrier: r.try_get("carrier")?,
                received_at: r.try_get("received_at")?,
                outcome: r.try_get("outcome")?,
                events: r.try_get("events")?,
                detail: r.try_get("detail")?,
            })
        })
        .collect()
}

/// A tracking event as the order's parcels show it.
#[derive(Debug, Clone)]
pub struct EventRow {
    pub code: String,
    pub raw_status: String,
    pub status: String,
    pub text: String,
    pub location: Option<String>,
    pub at: String,
    pub source: String,
}

pub async fn events_of_parcel(
    conn: &mut AnyConnection,
    parcel_id: i64,
) -> Result<Vec<EventRow>, sqlx::Error> {
    let rows = sqlx::query(
        "select code, raw_status, status, text, location, at, source from tracking_events where parcel_id = $1 order by at, id",
    )
    .bind(parcel_id)
    .fetch_all(conn)
    .await?;
    rows.iter()
        .map(|r| {
            Ok(EventRow {
                code: r.try_get("code")?,
                raw_status: r.try_get("raw_status")?,
                status: r.try_get("status")?,
                text: r.try_get("text")?,
                location: r.try_get("location")?,
                at: r.try_get("at")?,
                source: r.try_get("source")?,
            })
        })
        .collect()
}

/// A parcel whose journey went wrong, for a lead (no personal data).
#[derive(Debug, Clone)]
pub struct ExceptionRow {
    pub booking_id: i64,
    pub parcel_id: i64,
    pub sscc: Option<String>,
    pub order: String,
    pub carrier: String,
    pub tracking_number: Option<String>,
    /// failed_attempt, returned or exception.
    pub tracking_status: String,
    /// The carrier's words for the latest event.
    pub last_text: Option<String>,
    pub last_at: Option<String>,
}

/// Parcels whose latest tracking status needs a lead, not acknowledged since it came.
pub async fn exceptions(pool: &AnyPool, limit: i64) -> Result<Vec<ExceptionRow>, sqlx::Error> {
    let rows = sqlx::query(
        "select b.id, b.parcel_id, p.sscc, o.external_id, b.carrier, b.tracking_number, b.tracking_status,
                (select e.text from tracking_events e where e.booking_id = b.id order by e.at desc, e.id desc limit 1) as last_text,
                (select max(e.at) from tracking_events e where e.booking_id = b.id) as last_at
         from bookings b join parcels p on p.id = b.parcel_id join orders o on o.id = p.order_id
         where b.tracking_status in ('failed_attempt', 'returned', 'exception') and b.exception_ack_at is null
         order by b.id limit $1",
    )
    .bind(limit)
    .fetch_all(pool)
    .await?;
    rows.iter()
        .map(|r| {
            Ok(ExceptionRow {
                booking_id: r.try_get("id")?,
                parcel_id: r.try_get("parcel_id")?,
                sscc: r.try_get("sscc")?,
                order: r.try_get("external_id")?,
                carrier: r.try_get("carrier")?,
                tracking_number: r.try_get("tracking_number")?,
                tracking_status: r.try_get("tracking_status")?,
                last_text: r.try_get("last_text")?,
                last_at: r.try_get("last_at")?,
            })
        })
        .collect()
}

/// A lead has dealt with the exception (until the next status).
pub async fn ack(conn: &mut AnyConnection, booking_id: i64, by: &str) -> Result<bool, sqlx::Error> {
    Ok(sqlx::query(
        "update bookings set exception_ack_by = $2, exception_ack_at = $3
         where id = $1 and tracking_status in ('failed_attempt', 'returned', 'exception') and exception_ack_at is null",
    )
    .bind(booking_id)
    .bind(by)
    .bind(super::now_db())
    .execute(conn)
    .await?
    .rows_affected()
        == 1)
}
