//! Carrier bookings (an outbox) and every attempt to send them.

use sqlx::{any::AnyRow, AnyConnection, AnyPool, Row};

/// A parcel's booking with its carrier.
#[derive(Debug, Clone)]
pub struct BookingRow {
    pub id: i64,
    pub parcel_id: i64,
    pub sscc: Option<String>,
    /// The order's reference (no personal data).
    pub order_ref: String,
    pub carrier: String,
    pub service: String,
    /// Additional service codes the rule table chose (comma-separated).
    pub additional: String,
    /// pending, booked, rejected (a lead's queue) or cancelled.
    pub state: String,
    pub attempts: i64,
    pub next_attempt_at: String,
    pub look_up_first: bool,
    pub tracking_number: Option<String>,
    pub tracking_url: Option<String>,
    /// The carrier's id of the booking request.
    pub booking_ref: Option<String>,
    pub label_format: Option<String>,
    /// The print job that printed the carrier's label.
    pub label_job: Option<String>,
    /// The latest tracking status (booked, in_transit, ..., delivered).
    pub tracking_status: Option<String>,
    pub last_error: Option<String>,
    pub created_at: String,
    pub updated_at: String,
}

const COLS: &str =
    "b.id, b.parcel_id, p.sscc, o.external_id as order_ref, b.carrier, b.service, b.additional, b.state, b.attempts, b.next_attempt_at,
    b.look_up_first, b.tracking_number, b.tracking_url, b.booking_ref, b.label_format, b.label_job,
    b.tracking_status, b.last_error, b.created_at, b.updated_at";

fn row(r: &AnyRow) -> Result<BookingRow, sqlx::Error> {
    Ok(BookingRow {
        id: r.try_get("id")?,
        parcel_id: r.try_get("parcel_id")?,
        sscc: r.try_get("sscc")?,
        order_ref: r.try_get("order_ref")?,
        carrier: r.try_get("carrier")?,
        service: r.try_get("service")?,
        additional: r.try_get("additional")?,
        state: r.try_get("state")?,
        attempts: r.try_get("attempts")?,
        next_attempt_at: r.try_get("next_attempt_at")?,
        look_up_first: r.try_get::<i64, _>("look_up_first")? == 1,
        tracking_number: r.try_get("tracking_number")?,
        tracking_url: r.try_get("tracking_url")?,
        booking_ref: r.try_get("booking_ref")?,
        label_format: r.try_get("label_format")?,
        label_job: r.try_get("label_job")?,
        tracking_status: r.try_get("tracking_status")?,
        last_error: r.try_get("last_error")?,
        created_at: r.try_get("created_at")?,
        updated_at: r.try_get("updated_at")?,
    })
}

/// Queues a parcel's booking, in the caller's transaction (once per parcel).
pub async fn queue(
    conn: &mut AnyConnection,
    parcel_id: i64,
    carrier: &str,
    service: &str,
    additional: &str,
) -> Result<(), sqlx::Error> {
    let now = super::now_db();
    sqlx::query(
        "insert into bookings (parcel_id, carrier, service, additional, state, next_attempt_at, created_at, updated_at)
         values ($1, $2, $3, $5, 'pending', $4, $4, $4) on conflict (parcel_id) do nothing",
    )
    .bind(parcel_id)
    .bind(carrier)
    .bind(service)
    .bind(&now)
    .bind(additional)
    .execute(conn)
    .await?;
    Ok(())
}

/// Claims up to `limit` due bookings of a carrier for `owner` until `until`. The outer
/// conditions are checked again on each row as it is updated, so two instances never claim
/// one booking.
pub async fn claim_due(
    conn: &mut AnyConnection,
    carrier: &str,
    owner: &str,
    until: &str,
    limit: i64,
) -> Result<Vec<i64>, sqlx::Error> {
    let now = super::now_db();
    let rows = sqlx::query(
        "update bookings set lease_owner = $1, lease_until = $2
         where id in (select id from bookings where carrier = $3 and state = 'pending' and next_attempt_at <= $4
                        and (lease_until is null or lease_until < $4) order by id limit $5)
           and state = 'pending' and (lease_until is null or lease_until < $4)
         returning id",
    )
    .bind(owner)
    .bind(until)
    .bind(carrier)
    .bind(&now)
    .bind(limit)
    .fetch_all(conn)
    .await?;
    rows.iter().map(|r| r.try_get("id")).collect()
}

/// Claims the pending booking of a carrier that is due first, due or not: the probe that
/// finds out whether a failing carrier is back.
pub async fn claim_probe(
    conn: &mut AnyConnection,
    carrier: &str,
    owner: &str,
    until: &str,
) -> Result<Vec<i64>, sqlx::Error> {
    let now = super::now_db();
    let rows = sqlx::query(
        "update bookings set lease_owner = $1, lease_until = $2
         where id in (select id from bookings where carrier = $3 and state = 'pending'
                        and (lease_until is null or lease_until < $4) order by next_attempt_at, id limit 1)
           and state = 'pending' and (lease_until is null or lease_until < $4)
         returning id",
    )
    .bind(owner)
    .bind(until)
    .bind(carrier)
    .bind(&now)
    .fetch_all(conn)
    .await?;
    rows.iter().map(|r| r.try_get("id")).collect()
}

pub async fn booking(conn: &mut AnyConnection, id: i64) -> Result<Option<BookingRow>, sqlx::Error> {
    let sql = format!(
        "select {COLS} from bookings b join parcels p on p.id = b.parcel_id join orders o on o.id = p.order_id where b.id = $1"
    );
    sqlx::query(&sql)
        .bind(id)
        .fetch_optional(conn)
        .await?
        .as_ref()
        .map(row)
        .transpose()
}

pub async fn of_parcel(
    conn: &mut AnyConnection,
    parcel_id: i64,
) -> Result<Option<BookingRow>, sqlx::Error> {
    let sql = format!(
        "select {COLS} from bookings b join parcels p on p.id = b.parcel_id join orders o on o.id = p.order_id where b.parcel_id = $1"
    );
    sqlx::query(&sql)
        .bind(parcel_id)
        .fetch_optional(conn)
        .await?
        .as_ref()
        .map(row)
        .transpose()
}

pub async fn list(
    pool: &AnyPool,
    state: Option<&str>,
    limit: i64,
) -> Result<Vec<BookingRow>, sqlx::Error> {
    // Two statements, not `($1 is null or b.state = $1)`: that form can use no index, and on a
    // year of bookings asking for the few rejected ones read all of them.
    let from =
        "from bookings b join parcels p on p.id = b.parcel_id join orders o on o.id = p.order_id";
    let rows = match state {
        Some(state) => {
            sqlx::query(&format!(
                "select {COLS} {from} where b.state = $1 order by b.id desc limit $2"
            ))
            .bind(state)
            .bind(limit)
            .fetch_all(pool)
            .await?
        }
        None => {
            sqlx::query(&format!("select {COLS} {from} order by b.id desc limit $1"))
                .bind(limit)
                .fetch_all(pool)
                .await?
        }
    };
    rows.iter().map(row).collect()
}

/// What the carrier answered for a booking.
#[derive(Debug, Clone, Copy)]
pub struct BookedWith<'a> {
    pub tracking: &'a str,
    pub tracking_url: Option<&'a str>,
    pub booking_ref: Option<&'a str>,
    /// Format and data of the carrier's label.
    pub label: Option<(&'a str, &'a str)>,
}

/// The booking's parcel shows its booking state `to` (only from `from`, when given).
async fn parcel_follows(
    conn: &mut AnyConnection,
    booking_id: i64,
    to: &str,
    from: Option<&str>,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "update parcels set booking_state = $2 where id = (select parcel_id from bookings where id = $1)
           and ($3 is null or booking_state = $3)",
    )
    .bind(booking_id)
    .bind(to)
    .bind(from)
    .execute(conn)
    .await?;
    Ok(())
}

/// The booking is made: it and its parcel say so (only from `pending`).
pub async fn booked(
    conn: &mut AnyConnection,
    id: i64,
    b: &BookedWith<'_>,
) -> Result<bool, sqlx::Error> {
    let now = super::now_db();
    let done = sqlx::query(
        "update bookings set state = 'booked', tracking_number = $2, label_format = $3, carrier_label = $4,
            tracking_url = $6, booking_ref = $7, tracking_status = 'booked',
            attempts = attempts + 1, last_error = null, lease_owner = null, lease_until = null, updated_at = $5
         where id = $1 and state = 'pending'",
    )
    .bind(id)
    .bind(b.tracking)
    .bind(b.label.map(|l| l.0))
    .bind(b.label.map(|l| l.1))
    .bind(&now)
    .bind(b.tracking_url)
    .bind(b.booking_ref)
    .execute(&mut *conn)
    .await?
    .rows_affected()
        == 1;
    if done {
        parcel_follows(conn, id, "booked", Some("waiting")).await?;
    }
    Ok(done)
}

/// The carrier's label of a booking: format and data.
pub async fn carrier_label(
    conn: &mut AnyConnection,
    id: i64,
) -> Result<Option<(String, String)>, sqlx::Error> {
    let r = sqlx::query("select label_format, carrier_label from bookings where id = $1")
        .bind(id)
        .fetch_optional(conn)
        .await?;
    Ok(r.and_then(|r| {
        let f: Option<String> = r.try_get("label_format").ok()?;
        let d: Option<String> = r.try_get("carrier_label").ok()?;
        Some((f?, d?))
    }))
}

/// Booked bookings whose carrier label is not printed yet (at most `$1`), by the partial index
/// `bookings_label_due` (migration 0025): the booking worker asks every poll.
pub const LABELS_TO_PRINT: &str =
    "select id from bookings where state = 'booked' and carrier_label is not null and label_job is null
     order by id limit $1";

/// Booked bookings whose carrier label is not printed yet.
pub async fn labels_to_print(
    conn: &mut AnyConnection,
    limit: i64,
) -> Result<Vec<i64>, sqlx::Error> {
    let rows = sqlx::query(LABELS_TO_PRINT)
        .bind(limit)
        .fetch_all(conn)
        .await?;
    rows.iter().map(|r| r.try_get("id")).collect()
}

pub async fn set_label_job(
    conn: &mut AnyConnection,
    id: i64,
    job: &str,
) -> Result<(), sqlx::Error> {
    sqlx::query("update bookings set label_job = $2 where id = $1")
        .bind(id)
        .bind(job)
        .execute(conn)
        .await?;
    Ok(())
}

/// A lead sends a rejected booking again, perhaps with another carrier or service, after
/// the cause was fixed. `false`: it was not rejected (any more).
pub async fn requeue(
    conn: &mut AnyConnection,
    id: i64,
    carrier: &str,
    service: &str,
) -> Result<bool, sqlx::Error> {
    let now = super::now_db();
    let done = sqlx::query(
        "update bookings set state = 'pending', carrier = $2, service = $3, next_attempt_at = $4, look_up_first = 0,
            lease_owner = null, lease_until = null, updated_at = $4
         where id = $1 and state = 'rejected'",
    )
    .bind(id)
    .bind(carrier)
    .bind(service)
    .bind(&now)
    .execute(&mut *conn)
    .await?
    .rows_affected()
        == 1;
    if done {
        parcel_follows(conn, id, "waiting", Some("rejected")).await?;
    }
    Ok(done)
}

/// The carrier is back: its waiting bookings are due now instead of at the end of their
/// backoff (those that may have arrived are still looked up first).
pub async fn due_now(conn: &mut AnyConnection, carrier: &str) -> Result<u64, sqlx::Error> {
    let now = super::now_db();
    Ok(sqlx::query(
        "update bookings set next_attempt_at = $2 where carrier = $1 and state = 'pending' and next_attempt_at > $2",
    )
    .bind(carrier)
    .bind(&now)
    .execute(conn)
    .await?
    .rows_affected())
}

/// Gives a claimed booking back untouched (for the next round).
pub async fn release(conn: &mut AnyConnection, id: i64) -> Result<(), sqlx::Error> {
    sqlx::query("update bookings set lease_owner = null, lease_until = null where id = $1 and state = 'pending'")
        .bind(id)
        .execute(conn)
        .await?;
    Ok(())
}

/// Another attempt later (`look_up_first` after an attempt that may have arrived).
pub async fn retry_later(
    conn: &mut AnyConnection,
    id: i64,
    at: &str,
    look_up_first: bool,
    error: &str,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "update bookings set attempts = attempts + 1, next_attempt_at = $2, look_up_first = $3, last_error = $4,
            lease_owner = null, lease_until = null, updated_at = $5
         where id = $1 and state = 'pending'",
    )
    .bind(id)
    .bind(at)
    .bind(i64::from(look_up_first))
    .bind(error)
    .bind(super::now_db())
    .execute(conn)
    .await?;
    Ok(())
}

/// Into the lead's queue with the carrier's message.
pub async fn rejected(conn: &mut AnyConnection, id: i64, error: &str) -> Result<(), sqlx::Error> {
    let done = sqlx::query(
        "update bookings set state = 'rejected', attempts = attempts + 1, last_error = $2, lease_owner = null,
            lease_until = null, updated_at = $3 where id = $1 and state = 'pending'",
    )
    .bind(id)
    .bind(error)
    .bind(super::now_db())
    .execute(&mut *conn)
    .await?
    .rows_affected()
        == 1;
    if done {
        parcel_follows(conn, id, "rejected", None).await?;
    }
    Ok(())
}

/// Cancels a parcel's booking (the parcel was voided).
pub async fn cancel_of_parcel(conn: &mut AnyConnection, parcel_id: i64) -> Result<(), sqlx::Error> {
    sqlx::query(
        "update bookings set state = 'cancelled', lease_owner = null, lease_until = null, updated_at = $2
         where parcel_id = $1 and state <> 'cancelled'",
    )
    .bind(parcel_id)
    .bind(super::now_db())
    .execute(conn)
    .await?;
    Ok(())
}

/// One attempt, whatever came of it.
pub async fn attempt(
    conn: &mut AnyConnection,
    booking_id: i64,
    request_id: &str,
    outcome: &str,
    duration_ms: i64,
    detail: &str,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "insert into booking_attempts (booking_id, request_id, outcome, duration_ms, detail, at)
         values ($1, $2, $3, $4, $5, $6)",
    )
    .bind(booking_id)
    .bind(request_id)
    .bind(outcome)
    .bind(duration_ms)
    .bind(detail)
    .bind(super::now_db())
    .execute(conn)
    .await?;
    Ok(())
}

/// What a booking request needs to say about the parcel and where it goes.
#[derive(Debug, Clone)]
pub struct ParcelForBooking {
    pub sscc: String,
    pub parcel_type: Option<String>,
    pub weight_g: i64,
    pub order_ref: String,
    pub recipient_name: String,
    pub address_line1: String,
    pub address_line2: Option<String>,
    pub postcode: String,
    pub city: String,
    pub country: String,
    pub phone: Option<String>,
    pub email: Option<String>,
}

pub async fn parcel_for_booking(
    conn: &mut AnyConnection,
    parcel_id: i64,
) -> Result<Option<ParcelForBooking>, sqlx::Error> {
    let r = sqlx::query(
        "select p.sscc, p.parcel_type, p.weight_g, o.external_id, o.recipient_name, o.address_line1, o.address_line2, o.postcode,
                o.city, o.country, o.phone, o.email
         from parcels p join orders o on o.id = p.order_id where p.id = $1",
    )
    .bind(parcel_id)
    .fetch_optional(conn)
    .await?;
    r.map(|r| {
        Ok(ParcelForBooking {
            sscc: r.try_get::<Option<String>, _>("sscc")?.unwrap_or_default(),
            parcel_type: r.try_get("parcel_type")?,
            weight_g: r.try_get::<Option<i64>, _>("weight_g")?.unwrap_or(0),
            order_ref: r.try_get("external_id")?,
            recipient_name: r.try_get("recipient_name")?,
            address_line1: r.try_get("address_line1")?,
            address_line2: r.try_get("address_line2")?,
            postcode: r.try_get("postcode")?,
            city: r.try_get("city")?,
            country: r.try_get("country")?,
            phone: r.try_get("phone")?,
            email: r.try_get("email")?,
        })
    })
    .transpose()
}

/// A parcel of an order as the ordering system follows it (no personal data).
#[derive(Debug, Clone)]
pub struct Shipment {
    pub sscc: Option<String>,
    /// waiting (for its booking), booked, rejected or handed_over.
    pub booking_state: String,
    pub carrier: Option<String>,
    pub service: Option<String>,
    pub tracking_number: Option<String>,
    pub tracking_url: Option<String>,
    /// The latest tracking status: booked, in_transit, out_for_delivery, delivered,
    /// failed_attempt, returned or exception.
    pub tracking_status: Option<String>,
    /// The parcel came back and was booked into quarantine.
    pub returned: bool,
}

/// The order's closed parcels with their bookings, in closing order.
pub async fn shipments_of_order(
    conn: &mut AnyConnection,
    order_id: i64,
) -> Result<Vec<Shipment>, sqlx::Error> {
    let rows = sqlx::query(
        "select p.sscc, p.booking_state, b.carrier, b.service, b.tracking_number, b.tracking_url, b.tracking_status,
                (select count(*) from parcel_returns r where r.parcel_id = p.id) as returned
         from parcels p left join bookings b on b.parcel_id = p.id
         where p.order_id = $1 and p.state = 'closed' order by p.closed_at, p.id",
    )
    .bind(order_id)
    .fetch_all(conn)
    .await?;
    rows.iter()
        .map(|r| {
            Ok(Shipment {
                sscc: r.try_get("sscc")?,
                booking_state: r.try_get("booking_state")?,
                carrier: r.try_get("carrier")?,
                service: r.try_get("service")?,
                tracking_number: r.try_get("tracking_number")?,
                tracking_url: r.try_get("tracking_url")?,
                tracking_status: r.try_get("tracking_status")?,
                returned: r.try_get::<i64, _>("returned")? > 0,
            })
        })
        .collect()
}
