//! Following parcels to the door: tracking pulled from carriers on a schedule and pushed by
//! them to `/api/carriers/{carrier}/events` (a shared-secret HMAC signature over timestamp and
//! body, within a replay window), both normalised and kept once per (carrier, parcel, code,
//! time). An order whose parcels are all delivered becomes `delivered`; a failed attempt, a
//! return or an exception goes on a lead's list. Every pushed message is logged, refused or not.

use super::{Actor, Ctx};
use crate::domain::order::OrderStatus;
use crate::domain::tracking::{self as rules, TrackEvent, Tracking};
use crate::error::{Error, Result};
use crate::store::tracking::{self as db, ExceptionRow, NewEvent, PushRow};
use serde::Serialize;
use serde_json::json;
use std::time::Duration;

/// What came of a batch of events.
#[derive(Debug, Clone, Default, Serialize, utoipa::ToSchema)]
pub struct Ingested {
    /// New events kept.
    pub taken: usize,
    /// Events kept before.
    pub duplicates: usize,
    /// Events for parcels konsign does not know (booked with this carrier).
    pub unknown: usize,
    /// Orders now delivered.
    pub delivered: Vec<String>,
}

/// Keeps a carrier's events in one transaction, settles each parcel's status, and moves
/// orders whose parcels are all delivered to `delivered`.
pub async fn ingest(
    ctx: &Ctx,
    carrier: &str,
    events: &[TrackEvent],
    source: &str,
) -> Result<Ingested> {
    let mut out = Ingested::default();
    let mut tx = ctx.db.begin_write().await?;
    let mut touched: Vec<(i64, i64, i64)> = Vec::new();
    for e in events {
        let sscc = rules::sscc_of_item(&e.item_id);
        let Some(f) = db::followed_by_item(tx.conn(), carrier, &e.item_id, sscc).await? else {
            out.unknown += 1;
            continue;
        };
        let at = crate::domain::time::to_db(e.at);
        let new = db::insert_event(
            tx.conn(),
            &NewEvent {
                booking_id: f.booking_id,
                parcel_id: f.parcel_id,
                carrier,
                code: &e.code,
                raw_status: &e.raw_status,
                status: e.status.as_str(),
                text: &e.text,
                location: e.location.as_deref(),
                at: &at,
                source,
            },
        )
        .await?;
        if !new {
            out.duplicates += 1;
            continue;
        }
        out.taken += 1;
        tx.event(
            "parcel.tracking",
            &format!("parcel:{}", f.parcel_id),
            &json!({ "parcel_id": f.parcel_id, "carrier": carrier, "tracking_number": f.tracking_number,
                     "status": e.status.as_str(), "code": e.code, "raw_status": e.raw_status, "text": e.text, "at": at }),
        )
        .await?;
        if !touched.iter().any(|t| t.0 == f.booking_id) {
            touched.push((f.booking_id, f.parcel_id, f.order_id));
        }
    }
    for (booking_id, parcel_id, order_id) in touched {
        let Some(status) = db::settle_status(tx.conn(), booking_id).await? else {
            continue;
        };
        let status = Tracking::from_db(&status).unwrap_or(Tracking::Exception);
        if status.needs_lead() {
            tx.event(
                "parcel.tracking_exception",
                &format!("parcel:{parcel_id}"),
                &json!({ "parcel_id": parcel_id, "carrier": carrier, "status": status.as_str() }),
            )
            .await?;
        }
        if status != Tracking::Delivered || !db::order_all_delivered(tx.conn(), order_id).await? {
            continue;
        }
        let Some(o) = crate::store::orders::order_by_id(tx.conn(), order_id).await? else {
            continue;
        };
        if o.status != OrderStatus::Shipped {
            continue;
        }
        crate::store::orders::set_order_status(tx.conn(), order_id, OrderStatus::Delivered).await?;
        super::orders::event(
            &mut tx,
            "order.delivered",
            (o.id, &o.external_id, OrderStatus::Delivered),
            json!({ "carrier": carrier }),
        )
        .await?;
        out.delivered.push(o.external_id);
    }
    tx.commit().await?;
    Ok(out)
}

/// A tracking event entered by hand (the `local` carrier, or a carrier's phone call).
#[derive(Debug, Clone, serde::Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ManualEvent {
    /// booked, in_transit, out_for_delivery, delivered, failed_attempt, returned or exception.
    #[schema(value_type = crate::domain::tracking::Tracking, inline)]
    pub status: String,
    /// What happened, in the carrier's or the lead's words.
    pub text: Option<String>,
}

/// Enters a tracking event for a booked parcel by hand (audit-logged); kept like any other.
pub async fn manual(
    ctx: &Ctx,
    actor: &Actor,
    booking_id: i64,
    m: &ManualEvent,
) -> Result<Ingested> {
    let status = Tracking::from_db(m.status.trim()).ok_or_else(|| {
        Error::invalid(
            "status",
            "must be booked, in_transit, out_for_delivery, delivered, failed_attempt, returned or exception",
        )
    })?;
    let text = m.text.clone().unwrap_or_default();
    if text.chars().count() > 300 || crate::domain::order::looks_like_cpr(&text) {
        return Err(Error::invalid(
            "text",
            "at most 300 characters, and no CPR number",
        ));
    }
    let b = {
        let mut conn = ctx.db.pool().acquire().await?;
        crate::store::bookings::booking(&mut conn, booking_id)
            .await?
            .ok_or_else(|| Error::NotFound(format!("booking {booking_id}")))?
    };
    let Some(tracking) = b.tracking_number.clone().filter(|_| b.state == "booked") else {
        return Err(Error::conflict(
            "not_booked",
            format!("booking {booking_id} is {}", b.state),
        ));
    };
    let event = TrackEvent {
        item_id: tracking,
        code: format!("manual-{}", status.as_str()),
        raw_status: status.as_str().to_uppercase(),
        text: if text.is_empty() {
            status.danish().to_string()
        } else {
            text
        },
        location: None,
        at: chrono::Utc::now(),
        status,
    };
    let r = ingest(ctx, &b.carrier, std::slice::from_ref(&event), "manual").await?;
    let mut tx = ctx.db.begin_write().await?;
    crate::store::audit::append(
        tx.conn(),
        crate::store::audit::NewAudit {
            actor: &actor.name,
            action: "tracking.manual",
            subject: &format!("booking:{booking_id}"),
            purpose: None,
            detail: json!({ "status": status.as_str(), "text": event.text }),
        },
    )
    .await?;
    tx.commit().await?;
    Ok(r)
}

/// A pushed message's headers.
pub struct Pushed<'a> {
    pub timestamp: Option<&'a str>,
    pub signature: Option<&'a str>,
    pub body: &'a [u8],
}

/// Takes a pushed message: authenticated with the carrier's shared secret, read by the
/// carrier's adapter, kept once. A refusal is logged with its reason.
pub async fn push(ctx: &Ctx, carrier: &str, m: &Pushed<'_>) -> Result<Ingested> {
    let Some(adapter) = ctx
        .carriers
        .get(carrier)
        .filter(|c| c.capabilities().track_push)
    else {
        return Err(Error::NotFound(format!(
            "carrier {carrier} takes no pushed events"
        )));
    };
    let Some(secret) = ctx.config.carrier.push_secrets.get(carrier) else {
        refused(
            ctx,
            carrier,
            "no_secret",
            "no push secret is configured for this carrier",
        )
        .await;
        return Err(Error::Unauthenticated);
    };
    if let Err(r) = rules::verify_push(
        secret.as_bytes(),
        m.timestamp,
        m.signature,
        m.body,
        chrono::Utc::now(),
        ctx.config.carrier.push_window_seconds,
    ) {
        refused(ctx, carrier, r.code(), "signature or timestamp refused").await;
        return Err(Error::Unauthenticated);
    }
    let events = match adapter.parse_push(m.body) {
        Ok(e) => e,
        Err(e) => {
            refused(ctx, carrier, "malformed", &e.message).await;
            return Err(Error::invalid("body", e.message));
        }
    };
    if events.len() > 1000 {
        refused(
            ctx,
            carrier,
            "too_many",
            "more than 1000 events in one message",
        )
        .await;
        return Err(Error::invalid("body", "at most 1000 events in one message"));
    }
    let r = ingest(ctx, carrier, &events, "push").await?;
    let detail = format!(
        "{} new, {} seen before, {} unknown",
        r.taken, r.duplicates, r.unknown
    );
    db::log_push(
        ctx.db.pool(),
        carrier,
        "accepted",
        events.len() as i64,
        &detail,
    )
    .await?;
    Ok(r)
}

async fn refused(ctx: &Ctx, carrier: &str, code: &str, detail: &str) {
    tracing::warn!(
        carrier,
        reason = code,
        detail,
        "pushed tracking message refused"
    );
    if let Err(e) = db::log_push(ctx.db.pool(), carrier, code, 0, detail).await {
        tracing::warn!(error = %e, "cannot log a refused push");
    }
}

pub async fn pushes(ctx: &Ctx) -> Result<Vec<PushRow>> {
    Ok(db::pushes(ctx.db.pool(), 200).await?)
}

pub async fn exceptions(ctx: &Ctx) -> Result<Vec<ExceptionRow>> {
    Ok(db::exceptions(ctx.db.pool(), 500).await?)
}

/// A lead has dealt with a parcel's exception (audit-logged, and an event: the dashboard's
/// flow and exceptions move at once).
pub async fn ack(ctx: &Ctx, actor: &Actor, booking_id: i64) -> Result<()> {
    let mut tx = ctx.db.begin_write().await?;
    if !db::ack(tx.conn(), booking_id, &actor.name).await? {
        return Err(Error::conflict(
            "no_exception",
            format!("booking {booking_id} has no open tracking exception"),
        ));
    }
    crate::store::audit::append(
        tx.conn(),
        crate::store::audit::NewAudit {
            actor: &actor.name,
            action: "tracking.exception_ack",
            subject: &format!("booking:{booking_id}"),
            purpose: None,
            detail: json!({}),
        },
    )
    .await?;
    tx.event(
        "booking.exception_acknowledged",
        &format!("booking:{booking_id}"),
        &json!({ "booking_id": booking_id, "by": actor.name }),
    )
    .await?;
    tx.commit().await?;
    Ok(())
}

/// Pulls tracking for every carrier that has it, every `carrier.track_every_seconds`.
pub fn spawn_tracker(ctx: Ctx) -> Option<tokio::task::JoinHandle<()>> {
    let every = ctx.config.carrier.track_every_seconds;
    if every == 0 {
        return None;
    }
    Some(tokio::spawn(async move {
        loop {
            if let Err(e) = pull_once(&ctx).await {
                tracing::warn!(error = %e, "tracking pull failed");
            }
            tokio::time::sleep(Duration::from_secs(every.min(60))).await;
        }
    }))
}

/// One pull over the parcels due (not pulled for `track_every_seconds`); answers how many
/// new events came.
pub async fn pull_once(ctx: &Ctx) -> Result<usize> {
    let every = chrono::Duration::seconds(ctx.config.carrier.track_every_seconds.max(1) as i64);
    let before = crate::domain::time::to_db(chrono::Utc::now() - every);
    let mut taken = 0;
    for id in ctx.config.carrier.carriers() {
        let Some(c) = ctx
            .carriers
            .get(&id)
            .filter(|c| c.capabilities().track_pull)
        else {
            continue;
        };
        let due = {
            let mut conn = ctx.db.pool().acquire().await?;
            db::to_track(&mut conn, &id, &before, 100).await?
        };
        for f in due {
            match c.track(&f.tracking_number).await {
                Ok(events) => taken += ingest(ctx, &id, &events, "pull").await?.taken,
                Err(e) => {
                    tracing::warn!(carrier = %id, parcel = f.parcel_id, error = %e, "cannot pull tracking");
                    if !matches!(e.class, crate::domain::carrier::Failure::Rejected) {
                        // The carrier is not answering: try the rest next time.
                        break;
                    }
                }
            }
            let mut tx = ctx.db.begin_write().await?;
            db::mark_tracked(tx.conn(), f.booking_id).await?;
            tx.commit().await?;
        }
    }
    Ok(taken)
}
