//! What konsign does with a station message it will not apply: a refused message (it breaks
//! the protocol) and a dropped event (a copy, a number already settled, a conflict, a number
//! far out of range). Each is logged and counted; up to a rate per station it is also stored
//! as an event and (a refusal) answered on `_host/{host}/error`. Past that rate it is only
//! counted, so a station or anyone who can publish on the broker cannot fill the events table
//! or make konsign flood the error topic.

use super::Ctx;
use crate::devices::cutting::host::Host;
use crate::domain::rate::Buckets;
use crate::domain::station_seq::Dropped;
use serde_json::json;
use std::sync::Mutex;
use std::time::Instant;

/// Stored refusals and drops per station (or per topic, for an unknown one) a minute.
const STORED_PER_MINUTE: u32 = 30;
/// And over all stations together.
const STORED_PER_MINUTE_ALL: u32 = 120;
/// Stations (keys) remembered; past it a new key is not stored (fail closed).
const MAX_KEYS: usize = 1_000;

/// The rate at which refusals are stored and answered.
#[derive(Debug)]
pub struct Gate {
    start: Instant,
    per_key: Mutex<Buckets>,
    all: Mutex<Buckets>,
}

impl Default for Gate {
    fn default() -> Self {
        Self {
            start: Instant::now(),
            per_key: Mutex::new(Buckets::new(STORED_PER_MINUTE, MAX_KEYS)),
            all: Mutex::new(Buckets::new(STORED_PER_MINUTE_ALL, 1)),
        }
    }
}

impl Gate {
    /// May one more refusal of `key` be stored now?
    pub fn admit(&self, key: &str) -> bool {
        let now = self.start.elapsed().as_secs_f64();
        fn lock(m: &Mutex<Buckets>) -> std::sync::MutexGuard<'_, Buckets> {
            m.lock().unwrap_or_else(|p| p.into_inner())
        }
        if lock(&self.per_key).take(key, now).is_err() {
            return false;
        }
        lock(&self.all).take("*", now).is_ok()
    }
}

/// The station a topic names, or the topic itself (the key of the rate).
fn key_of(topic: &str) -> &str {
    firmware_bridge::wire::parse_topic(topic)
        .map(|(_, station, _)| station)
        .unwrap_or(topic)
}

/// Logs, counts, and (within the rate) stores and answers a refused message.
pub(super) async fn reject(ctx: &Ctx, h: &Host, topic: &str, reason: &str) {
    ctx.metrics
        .mqtt_messages
        .get_or_create(&crate::metrics::OutcomeLabel {
            outcome: "refused".into(),
        })
        .inc();
    if !ctx.cutting.gate.admit(key_of(topic)) {
        ctx.metrics.mqtt_refusals_unstored.inc();
        tracing::debug!(
            topic,
            reason,
            "station message refused (over the storing rate)"
        );
        return;
    }
    tracing::warn!(topic, reason, "station message refused");
    store(
        ctx,
        "cut_station.message_refused",
        topic,
        json!({ "topic": topic, "reason": reason }),
    )
    .await;
    h.reject(topic, reason).await;
}

/// Logs and counts an event that is not applied; within the rate, stores it. A copy (the same
/// message again, which QoS 1 and outbox replays make) is normal and only counted.
pub(super) async fn drop_event(
    ctx: &Ctx,
    station: &str,
    seq: u64,
    message_id: &str,
    boot_id: &str,
    why: Option<Dropped>,
) {
    let reason = why.map_or("copy", Dropped::code);
    ctx.metrics
        .mqtt_dropped_events
        .get_or_create(&crate::metrics::OutcomeLabel {
            outcome: reason.into(),
        })
        .inc();
    let Some(why) = why else {
        tracing::debug!(
            station,
            seq,
            message_id,
            "a copy of an event konsign has: ignored"
        );
        return;
    };
    if !ctx.cutting.gate.admit(station) {
        ctx.metrics.mqtt_refusals_unstored.inc();
        return;
    }
    let what = match why {
        Dropped::Settled => {
            "its number is settled (had, or written off after konsign asked about the jobs)"
        }
        Dropped::Conflict => "konsign has this number from another message of the same boot",
        Dropped::TooFar => {
            "its number is far above every number konsign knows (forged or wrapped?)"
        }
    };
    tracing::warn!(
        station,
        seq,
        message_id,
        boot_id,
        reason,
        "station event DROPPED: {what}"
    );
    store(
        ctx,
        "cut_station.event_dropped",
        station,
        json!({ "seq": seq, "message_id": message_id, "boot_id": boot_id, "reason": reason }),
    )
    .await;
}

async fn store(ctx: &Ctx, kind: &str, subject: &str, detail: serde_json::Value) {
    let stored = async {
        let mut tx = ctx.db.begin_write().await?;
        tx.event(kind, subject, &detail).await?;
        tx.commit().await
    }
    .await;
    if let Err(e) = stored {
        tracing::warn!(error = %e, "cannot store a refused station message");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn refusals_are_stored_up_to_a_rate_per_station_and_overall() {
        let g = Gate::default();
        let stored = (0..100).filter(|_| g.admit("cut-1")).count();
        assert_eq!(stored, STORED_PER_MINUTE as usize);
        // other stations still get theirs, until the overall rate is spent
        let others = (0..200)
            .filter(|i| g.admit(&format!("cut-{}", 2 + i % 10)))
            .count();
        assert_eq!(others, (STORED_PER_MINUTE_ALL - STORED_PER_MINUTE) as usize);
    }
}
