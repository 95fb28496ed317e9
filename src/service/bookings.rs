//! The booking outbox: a closed parcel's booking is queued in the closing transaction
//! (`queue`), and a worker in every instance claims due bookings under a lease, sends each to its
//! carrier's adapter, and stores every attempt. What follows a failure is decided by
//! `domain::carrier::next`: transient failures are retried with backoff and jitter, an attempt
//! that may have reached the carrier is looked up by the parcel's SSCC before anything is sent
//! again, a rejection goes to a lead's queue, and refused credentials pause the carrier (in this
//! instance) with an alarm. A carrier that is down never blocks packing.

use super::Ctx;
use crate::carrier::{Booked, BookingRequest, Carrier, CarrierError};
use crate::domain::carrier::{self as rules, Failure, Next};
use crate::error::Result;
use crate::store::bookings::{self as db, BookingRow};
use crate::store::WriteTx;
use serde_json::json;
use std::sync::Arc;
use std::time::{Duration, Instant};

/// Queues the booking of a parcel that has just closed, in the closing transaction.
pub(crate) async fn queue(
    tx: &mut WriteTx,
    ctx: &Ctx,
    parcel_id: i64,
) -> std::result::Result<(), sqlx::Error> {
    db::queue(
        tx.conn(),
        parcel_id,
        &ctx.config.carrier.default,
        &ctx.config.packing.service,
    )
    .await
}

pub async fn list(ctx: &Ctx, state: Option<&str>) -> Result<Vec<BookingRow>> {
    if let Some(s) = state {
        if !["pending", "booked", "rejected", "cancelled"].contains(&s) {
            return Err(crate::error::Error::invalid(
                "state",
                "must be pending, booked, rejected or cancelled",
            ));
        }
    }
    Ok(db::list(ctx.db.pool(), state, 500).await?)
}

/// The booking worker of this instance: books what is due, then waits `carrier.poll_ms`.
pub fn spawn_worker(ctx: Ctx) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        let owner = ctx.spooler.instance().to_string();
        let poll = Duration::from_millis(ctx.config.carrier.poll_ms);
        let mut paused_until: Option<Instant> = None;
        loop {
            if paused_until.is_none_or(|t| Instant::now() >= t) {
                paused_until = None;
                match round(&ctx, &owner).await {
                    Ok(Some(pause)) => paused_until = Some(Instant::now() + pause),
                    Ok(None) => {}
                    Err(e) => tracing::warn!(error = %e, "booking round failed"),
                }
            }
            tokio::time::sleep(poll).await;
        }
    })
}

/// One round over the due bookings of the configured carrier; `Some(pause)` when the carrier
/// refused our credentials.
async fn round(ctx: &Ctx, owner: &str) -> Result<Option<Duration>> {
    let carrier_id = ctx.config.carrier.default.clone();
    let Some(carrier) = crate::carrier::adapter(&carrier_id) else {
        return Ok(None);
    };
    let lease = chrono::Duration::seconds(ctx.config.carrier.lease_seconds as i64);
    let until = crate::domain::time::to_db(chrono::Utc::now() + lease);
    let ids = {
        let mut tx = ctx.db.begin_write().await?;
        let ids = db::claim_due(tx.conn(), &carrier_id, owner, &until, 20).await?;
        tx.commit().await?;
        ids
    };
    for id in ids {
        if let Some(pause) = attempt(ctx, &carrier, id).await? {
            return Ok(Some(pause));
        }
    }
    Ok(None)
}

/// Sends (or looks up) one booking and stores what came of it.
async fn attempt(ctx: &Ctx, carrier: &Arc<dyn Carrier>, id: i64) -> Result<Option<Duration>> {
    let (b, p) = {
        let mut conn = ctx.db.pool().acquire().await?;
        let Some(b) = db::booking(&mut conn, id).await? else {
            return Ok(None);
        };
        let Some(p) = db::parcel_for_booking(&mut conn, b.parcel_id).await? else {
            return Ok(None);
        };
        (b, p)
    };
    if b.state != "pending" {
        return Ok(None);
    }
    let request_id = format!("bk-{id}-{}", b.attempts + 1);
    let address = match &p.address_line2 {
        Some(l2) if !l2.trim().is_empty() => format!("{}, {l2}", p.address_line1),
        _ => p.address_line1.clone(),
    };
    let req = BookingRequest {
        request_id: request_id.clone(),
        sscc: p.sscc.clone(),
        service: b.service.clone(),
        weight_g: p.weight_g,
        order_ref: p.order_ref.clone(),
        recipient_name: p.recipient_name.clone(),
        address,
        postcode: p.postcode.clone(),
        city: p.city.clone(),
        country: p.country.clone(),
        phone: p.phone.clone(),
        email: p.email.clone(),
    };
    let timeout = Duration::from_millis(ctx.config.carrier.timeout_ms);
    let started = Instant::now();
    // After an attempt that may have reached the carrier: is it booked already?
    let looked_up = b.look_up_first && carrier.capabilities().find_booking;
    let outcome: std::result::Result<Option<Booked>, CarrierError> = if looked_up {
        match tokio::time::timeout(timeout, carrier.find_booking(&req.sscc)).await {
            Ok(r) => r,
            Err(_) => Err(ambiguous(timeout)),
        }
    } else {
        match tokio::time::timeout(timeout, carrier.book(&req)).await {
            Ok(r) => r.map(Some),
            Err(_) => Err(ambiguous(timeout)),
        }
    };
    // Found nothing: send it now, in the same attempt.
    let outcome = match outcome {
        Ok(None) if looked_up => match tokio::time::timeout(timeout, carrier.book(&req)).await {
            Ok(r) => r.map(Some),
            Err(_) => Err(ambiguous(timeout)),
        },
        other => other,
    };
    let ms = started.elapsed().as_millis() as i64;
    let mut tx = ctx.db.begin_write().await?;
    let pause = match outcome {
        Ok(Some(done)) => {
            let label = done
                .label
                .as_ref()
                .map(|l| (l.format.as_str(), l.data.as_str()));
            db::booked(tx.conn(), id, &done.tracking_number, label).await?;
            let what = if looked_up { "found" } else { "booked" };
            db::attempt(tx.conn(), id, &request_id, what, ms, &done.tracking_number).await?;
            tx.event(
                "parcel.booked",
                &format!("parcel:{}", b.parcel_id),
                &json!({ "parcel_id": b.parcel_id, "sscc": p.sscc, "carrier": b.carrier, "service": b.service,
                         "tracking_number": done.tracking_number, "attempts": b.attempts + 1 }),
            )
            .await?;
            tracing::info!(parcel = b.parcel_id, carrier = %b.carrier, ms, "parcel booked");
            None
        }
        Ok(None) => None,
        Err(e) => {
            db::attempt(tx.conn(), id, &request_id, e.class.as_str(), ms, &e.message).await?;
            let jitter = rand::random::<f64>();
            match rules::next(&e.class, b.attempts + 1, jitter) {
                Next::Retry {
                    after,
                    look_up_first,
                } => {
                    let at = crate::domain::time::to_db(chrono::Utc::now() + after);
                    db::retry_later(
                        tx.conn(),
                        id,
                        &at,
                        look_up_first || (b.look_up_first && !looked_up),
                        &e.to_string(),
                    )
                    .await?;
                    tracing::warn!(parcel = b.parcel_id, error = %e, "booking attempt failed: trying again");
                    None
                }
                Next::ToLead => {
                    db::rejected(tx.conn(), id, &e.to_string()).await?;
                    tx.event(
                        "parcel.booking_rejected",
                        &format!("parcel:{}", b.parcel_id),
                        &json!({ "parcel_id": b.parcel_id, "carrier": b.carrier, "message": e.message }),
                    )
                    .await?;
                    tracing::warn!(parcel = b.parcel_id, error = %e, "booking rejected: a lead must look");
                    None
                }
                Next::PauseCarrier { after } => {
                    let at = crate::domain::time::to_db(chrono::Utc::now() + after);
                    db::retry_later(tx.conn(), id, &at, b.look_up_first, &e.to_string()).await?;
                    tx.event(
                        "carrier.alarm",
                        &format!("carrier:{}", b.carrier),
                        &json!({ "carrier": b.carrier, "message": e.message, "paused_minutes": after.num_minutes() }),
                    )
                    .await?;
                    tracing::error!(carrier = %b.carrier, error = %e, "the carrier refused our credentials: booking paused");
                    after.to_std().ok()
                }
            }
        }
    };
    tx.commit().await?;
    Ok(pause)
}

fn ambiguous(timeout: Duration) -> CarrierError {
    CarrierError {
        class: Failure::Ambiguous,
        message: format!(
            "no answer within {} ms after the request was sent",
            timeout.as_millis()
        ),
    }
}
