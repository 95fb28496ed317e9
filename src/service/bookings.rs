//! The booking outbox: a closed parcel's booking is queued in the closing transaction
//! (`queue`), with the carrier and service the rule table chooses, and a worker in every
//! instance claims due bookings under a lease, sends them to their carrier's adapter in
//! batches, and stores every attempt. What follows a failure is decided by
//! `domain::carrier::next`: transient failures are retried with backoff and jitter, a parcel
//! that may have reached the carrier is looked up by its SSCC before anything is sent again, a
//! rejection goes to a lead's queue (`resolve` sends it again), and refused credentials pause
//! the carrier with an alarm. A circuit breaker per carrier stops sending while it is down. A
//! carrier that is down never blocks packing; when a booking lands with the carrier's label,
//! the label prints at the parcel's pack station.

use super::{Actor, Ctx};
use crate::carrier::{Booked, BookingRequest, Carrier, CarrierError, ParcelOutcome};
use crate::domain::carrier::{self as rules, Breaker, Failure, Next};
use crate::error::{Error, Result};
use crate::store::bookings::{self as db, BookedWith, BookingRow, ParcelForBooking};
use crate::store::WriteTx;
use serde::{Deserialize, Serialize};
use serde_json::json;
use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

/// Queues the booking of a parcel that has just closed, in the closing transaction, with the
/// carrier and service the rule table chooses.
pub(crate) async fn queue(
    tx: &mut WriteTx,
    ctx: &Ctx,
    parcel_id: i64,
    parcel_type: &str,
    postcode: &str,
) -> crate::error::Result<()> {
    let c = &ctx.config.carrier;
    let choice = rules::choose(
        &c.rules,
        &c.default,
        &c.default_service,
        parcel_type,
        postcode,
    );
    db::queue(
        tx.conn(),
        parcel_id,
        &choice.carrier,
        &choice.service,
        &choice.additional.join(","),
    )
    .await
    .map_err(Into::into)
}

pub async fn list(ctx: &Ctx, state: Option<&str>) -> Result<Vec<BookingRow>> {
    crate::domain::states::BookingState::parse_filter("state", state)?;
    Ok(db::list(ctx.db.pool(), state, 500).await?)
}

/// A lead's answer to a rejected booking: send it again, with another carrier or service if
/// given (after the order's address was put right, for example).
#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Resolve {
    pub carrier: Option<String>,
    pub service: Option<String>,
    /// Why (kept in the audit log).
    pub note: Option<String>,
}

pub async fn resolve(ctx: &Ctx, actor: &Actor, id: i64, r: &Resolve) -> Result<BookingRow> {
    let mut tx = ctx.db.begin_write().await?;
    let b = db::booking(tx.conn(), id)
        .await?
        .ok_or_else(|| Error::NotFound(format!("booking {id}")))?;
    let carrier = r.carrier.clone().unwrap_or_else(|| b.carrier.clone());
    let service = r.service.clone().unwrap_or_else(|| b.service.clone());
    if ctx.carriers.get(&carrier).is_none() {
        return Err(Error::invalid(
            "carrier",
            format!("no carrier {carrier:?} is configured"),
        ));
    }
    if service.trim().is_empty() || service.len() > 10 {
        return Err(Error::invalid("service", "must be 1 to 10 characters"));
    }
    if r.note.as_ref().is_some_and(|n| n.chars().count() > 500) {
        return Err(Error::invalid("note", "at most 500 characters"));
    }
    if !db::requeue(tx.conn(), id, &carrier, &service).await? {
        return Err(Error::conflict(
            "not_rejected",
            format!("booking {id} is {}, not rejected", b.state),
        ));
    }
    crate::store::audit::append(
        tx.conn(),
        crate::store::audit::NewAudit {
            actor: &actor.name,
            action: "booking.resend",
            subject: &format!("booking:{id}"),
            purpose: None,
            detail: json!({ "carrier": carrier, "service": service, "note": r.note,
                            "was": { "carrier": b.carrier, "service": b.service, "error": b.last_error } }),
        },
    )
    .await?;
    tx.event(
        "parcel.booking_resent",
        &format!("parcel:{}", b.parcel_id),
        &json!({ "parcel_id": b.parcel_id, "carrier": carrier, "service": service, "by": actor.name }),
    )
    .await?;
    let row = db::booking(tx.conn(), id)
        .await?
        .ok_or_else(|| Error::NotFound(format!("booking {id}")))?;
    tx.commit().await?;
    Ok(row)
}

/// The booking worker of this instance: books what is due for each carrier whose breaker is
/// closed, prints the carrier labels that landed, then waits `carrier.poll_ms`.
pub fn spawn_worker(ctx: Ctx) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        let owner = ctx.spooler.instance().to_string();
        let cfg = &ctx.config.carrier;
        let poll = Duration::from_millis(cfg.poll_ms);
        let mut breakers: HashMap<String, Breaker> = HashMap::new();
        let mut label_held: HashMap<i64, Instant> = HashMap::new();
        loop {
            for id in cfg.carriers() {
                let Some(carrier) = ctx.carriers.get(&id) else {
                    continue;
                };
                let breaker = breakers.entry(id.clone()).or_insert_with(|| {
                    Breaker::new(
                        cfg.breaker_failures,
                        chrono::Duration::seconds(cfg.breaker_open_seconds as i64),
                    )
                });
                if breaker.is_open(chrono::Utc::now()) {
                    continue;
                }
                // Rounds follow each other while a full batch was due.
                loop {
                    match round(&ctx, &carrier, &owner, breaker).await {
                        Ok(n)
                            if n >= carrier.capabilities().max_batch
                                && breaker.allows(chrono::Utc::now()) => {}
                        Ok(_) => break,
                        Err(e) => {
                            tracing::warn!(carrier = %id, error = %e, "booking round failed");
                            break;
                        }
                    }
                }
            }
            if let Err(e) = print_landed_labels(&ctx, &mut label_held).await {
                tracing::warn!(error = %e, "cannot print carrier labels");
            }
            tokio::time::sleep(poll).await;
        }
    })
}

/// How long a carrier label that could not be queued (no label printer at the station, say) is
/// left before the next try: a person has to act, and the log should not fill meanwhile.
const LABEL_RETRY: Duration = Duration::from_secs(60);

/// Prints the carrier labels of bookings that landed and have none printed yet; one that could
/// not be queued waits `LABEL_RETRY` in `held` before it is tried again.
async fn print_landed_labels(ctx: &Ctx, held: &mut HashMap<i64, Instant>) -> Result<()> {
    let ids = {
        let mut conn = ctx.db.pool().acquire().await?;
        db::labels_to_print(&mut conn, 50).await?
    };
    let now = Instant::now();
    held.retain(|id, until| *until > now && ids.contains(id));
    let due: Vec<i64> = ids
        .into_iter()
        .filter(|id| !held.contains_key(id))
        .collect();
    for id in due {
        if let Err(e) = super::parcel_docs::print_carrier_label(ctx, id).await {
            tracing::warn!(booking = id, error = %e, "cannot print the carrier's label: trying again in a minute");
            held.insert(id, now + LABEL_RETRY);
        }
    }
    Ok(())
}

struct Claimed {
    b: BookingRow,
    p: ParcelForBooking,
    req: BookingRequest,
}

fn request(ctx: &Ctx, b: &BookingRow, p: &ParcelForBooking) -> BookingRequest {
    let t = p
        .parcel_type
        .as_deref()
        .and_then(|n| ctx.config.packing.parcel_types.iter().find(|t| t.name == n))
        .or(ctx.config.packing.parcel_types.first());
    let dims = t.map_or((0, 0, 0), |t| (t.length_mm, t.width_mm, t.height_mm));
    BookingRequest {
        request_id: format!("bk-{}-{}", b.id, b.attempts + 1),
        sscc: p.sscc.clone(),
        service: b.service.clone(),
        additional: b
            .additional
            .split(',')
            .filter(|a| !a.trim().is_empty())
            .map(|a| a.trim().to_string())
            .collect(),
        weight_g: p.weight_g,
        length_mm: dims.0,
        width_mm: dims.1,
        height_mm: dims.2,
        order_ref: p.order_ref.clone(),
        recipient_name: p.recipient_name.clone(),
        address_lines: std::iter::once(p.address_line1.clone())
            .chain(p.address_line2.clone())
            .collect(),
        postcode: p.postcode.clone(),
        city: p.city.clone(),
        country: p.country.clone(),
        phone: p.phone.clone(),
        email: p.email.clone(),
    }
}

/// One round for a carrier: claims up to a batch of due bookings, looks up those that may
/// have reached the carrier, sends the rest in one request, and stores every outcome. Answers
/// how many were claimed.
async fn round(
    ctx: &Ctx,
    carrier: &Arc<dyn Carrier>,
    owner: &str,
    breaker: &mut Breaker,
) -> Result<usize> {
    let caps = carrier.capabilities();
    let lease = chrono::Duration::seconds(ctx.config.carrier.lease_seconds as i64);
    let until = crate::domain::time::to_db(chrono::Utc::now() + lease);
    let ids = {
        let mut tx = ctx.db.begin_write().await?;
        let mut ids = db::claim_due(
            tx.conn(),
            carrier.id(),
            owner,
            &until,
            caps.max_batch.max(1) as i64,
        )
        .await?;
        if ids.is_empty() && breaker.failing() {
            // Nothing is due, but the carrier was failing: one booking asks whether it is back.
            ids = db::claim_probe(tx.conn(), carrier.id(), owner, &until).await?;
        }
        tx.commit().await?;
        ids
    };
    if ids.is_empty() {
        return Ok(0);
    }
    let mut claimed = Vec::new();
    {
        let mut conn = ctx.db.pool().acquire().await?;
        for id in &ids {
            let Some(b) = db::booking(&mut conn, *id).await? else {
                continue;
            };
            let Some(p) = db::parcel_for_booking(&mut conn, b.parcel_id).await? else {
                continue;
            };
            if b.state == "pending" {
                let req = request(ctx, &b, &p);
                claimed.push(Claimed { b, p, req });
            }
        }
    }
    let timeout = Duration::from_millis(ctx.config.carrier.timeout_ms);
    let mut results: Vec<(usize, std::result::Result<Booked, CarrierError>, i64, bool)> =
        Vec::new();
    let mut to_send = Vec::new();
    let mut recovered = false;
    // After an attempt that may have reached the carrier: is it booked already?
    for (i, c) in claimed.iter().enumerate() {
        if !(c.b.look_up_first && caps.find_booking) {
            to_send.push(i);
            continue;
        }
        let started = Instant::now();
        let found = match tokio::time::timeout(timeout, carrier.find_booking(&c.req.sscc)).await {
            Ok(r) => r,
            Err(_) => Err(ambiguous(timeout)),
        };
        let ms = started.elapsed().as_millis() as i64;
        match found {
            Ok(Some(b)) => {
                recovered |= breaker.success();
                results.push((i, Ok(b), ms, true));
            }
            Ok(None) => {
                recovered |= breaker.success();
                to_send.push(i);
            }
            Err(e) => {
                note_failure(breaker, &e, carrier.id());
                results.push((i, Err(e), ms, true));
            }
        }
    }
    if !to_send.is_empty() && breaker.allows(chrono::Utc::now()) {
        let batch: Vec<BookingRequest> = to_send.iter().map(|i| claimed[*i].req.clone()).collect();
        let started = Instant::now();
        let sent = match tokio::time::timeout(timeout, carrier.book(&batch)).await {
            Ok(r) => r,
            Err(_) => Err(ambiguous(timeout)),
        };
        let ms = started.elapsed().as_millis() as i64;
        match sent {
            Ok(outcomes) => {
                recovered |= breaker.success();
                let mut by_sscc: HashMap<String, ParcelOutcome> =
                    outcomes.into_iter().map(|o| (o.sscc.clone(), o)).collect();
                for i in to_send {
                    let r = by_sscc.remove(&claimed[i].req.sscc).map_or_else(
                        || {
                            Err(CarrierError::new(
                                Failure::Partial,
                                "the carrier's answer does not mention this parcel",
                            ))
                        },
                        |o| o.result,
                    );
                    results.push((i, r, ms, false));
                }
            }
            Err(e) => {
                note_failure(breaker, &e, carrier.id());
                for i in to_send {
                    results.push((i, Err(e.clone()), ms, false));
                }
            }
        }
    } else {
        // The breaker opened during the look-ups: these wait, untouched, for the next round.
        let mut tx = ctx.db.begin_write().await?;
        for i in to_send {
            db::release(tx.conn(), claimed[i].b.id).await?;
        }
        tx.commit().await?;
    }
    let mut tx = ctx.db.begin_write().await?;
    if recovered {
        let n = db::due_now(tx.conn(), carrier.id()).await?;
        tracing::info!(
            carrier = carrier.id(),
            waiting = n,
            "the carrier answers again: waiting bookings are due now"
        );
    }
    let mut pause = None;
    for (i, r, ms, looked_up) in results {
        let c = &claimed[i];
        if let Some(p) =
            store_outcome(&mut tx, ctx.config.carrier.timing(), c, r, ms, looked_up).await?
        {
            pause = Some(p);
        }
    }
    // One alarm for the round, however many bookings the refusal touched.
    if let Some((after, message)) = &pause {
        tx.event(
            "carrier.alarm",
            &format!("carrier:{}", carrier.id()),
            &json!({ "carrier": carrier.id(), "message": message, "paused_seconds": after.num_seconds() }),
        )
        .await?;
        tracing::error!(carrier = carrier.id(), error = %message, "the carrier refused our credentials: booking paused");
    }
    tx.commit().await?;
    if let Some((after, _)) = pause {
        breaker.hold(chrono::Utc::now(), after);
    }
    Ok(claimed.len())
}

fn note_failure(breaker: &mut Breaker, e: &CarrierError, carrier: &str) {
    if matches!(e.class, Failure::Transient { .. } | Failure::Ambiguous)
        && breaker.failure(chrono::Utc::now())
    {
        tracing::warn!(carrier, error = %e, "carrier circuit breaker open: no requests for a while");
    }
    if let Failure::Transient {
        retry_after: Some(d),
    } = e.class
    {
        breaker.hold(chrono::Utc::now(), d);
    }
}

/// Stores one booking's outcome and attempt; `Some((pause, message))` when the carrier refused
/// our credentials.
async fn store_outcome(
    tx: &mut WriteTx,
    timing: rules::Timing,
    c: &Claimed,
    r: std::result::Result<Booked, CarrierError>,
    ms: i64,
    looked_up: bool,
) -> Result<Option<(chrono::Duration, String)>> {
    let b = &c.b;
    let request_id = &c.req.request_id;
    match r {
        Ok(done) => {
            let with = BookedWith {
                tracking: &done.tracking_number,
                tracking_url: done.tracking_url.as_deref(),
                booking_ref: done.booking_ref.as_deref(),
                label: done
                    .label
                    .as_ref()
                    .map(|l| (l.format.as_str(), l.data.as_str())),
            };
            db::booked(tx.conn(), b.id, &with).await?;
            let what = if looked_up { "found" } else { "booked" };
            db::attempt(tx.conn(), b.id, request_id, what, ms, &done.tracking_number).await?;
            tx.event(
                "parcel.booked",
                &format!("parcel:{}", b.parcel_id),
                &json!({ "parcel_id": b.parcel_id, "sscc": c.p.sscc, "carrier": b.carrier, "service": b.service,
                         "tracking_number": done.tracking_number, "tracking_url": done.tracking_url, "attempts": b.attempts + 1 }),
            )
            .await?;
            tracing::info!(parcel = b.parcel_id, carrier = %b.carrier, ms, "parcel booked");
            Ok(None)
        }
        Err(e) => {
            db::attempt(
                tx.conn(),
                b.id,
                request_id,
                e.class.as_str(),
                ms,
                &e.message,
            )
            .await?;
            let jitter = rand::random::<f64>();
            match rules::next(&e.class, b.attempts + 1, jitter, timing) {
                Next::Retry {
                    after,
                    look_up_first,
                } => {
                    let at = crate::domain::time::to_db(chrono::Utc::now() + after);
                    // A look-up that failed must still come first next time.
                    let look = look_up_first || (b.look_up_first && looked_up);
                    db::retry_later(tx.conn(), b.id, &at, look, &e.to_string()).await?;
                    tracing::warn!(parcel = b.parcel_id, error = %e, "booking attempt failed: trying again");
                    Ok(None)
                }
                Next::ToLead => {
                    db::rejected(tx.conn(), b.id, &e.to_string()).await?;
                    tx.event(
                        "parcel.booking_rejected",
                        &format!("parcel:{}", b.parcel_id),
                        &json!({ "parcel_id": b.parcel_id, "carrier": b.carrier, "message": e.message }),
                    )
                    .await?;
                    tracing::warn!(parcel = b.parcel_id, error = %e, "booking rejected: a lead must look");
                    Ok(None)
                }
                Next::PauseCarrier { after } => {
                    let at = crate::domain::time::to_db(chrono::Utc::now() + after);
                    db::retry_later(tx.conn(), b.id, &at, b.look_up_first, &e.to_string()).await?;
                    Ok(Some((after, e.message)))
                }
            }
        }
    }
}

fn ambiguous(timeout: Duration) -> CarrierError {
    CarrierError::new(
        Failure::Ambiguous,
        format!(
            "no answer within {} ms after the request was sent",
            timeout.as_millis()
        ),
    )
}
