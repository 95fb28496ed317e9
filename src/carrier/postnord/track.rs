//! PostNord's track-and-trace v7 answers (pulled, or pushed in the same shape), I/O-free: each
//! item's events with PostNord's code, status and text, normalised to konsign's tracking words.

use crate::carrier::CarrierError;
use crate::domain::carrier::Failure;
use crate::domain::tracking::{TrackEvent, Tracking};
use chrono::{DateTime, Utc};
use serde::Deserialize;

#[derive(Debug, Deserialize, Default)]
#[serde(rename_all = "camelCase", default)]
struct Location {
    name: Option<String>,
    city: Option<String>,
    country_code: Option<String>,
}

#[derive(Debug, Deserialize, Default)]
#[serde(rename_all = "camelCase", default)]
struct TtEvent {
    event_time: Option<String>,
    event_code: Option<String>,
    event_description: Option<String>,
    status: Option<String>,
    location: Option<Location>,
}

#[derive(Debug, Deserialize, Default)]
#[serde(rename_all = "camelCase", default)]
struct TtItem {
    item_id: Option<String>,
    events: Option<Vec<TtEvent>>,
}

#[derive(Debug, Deserialize, Default)]
#[serde(rename_all = "camelCase", default)]
struct TtShipment {
    items: Option<Vec<TtItem>>,
}

#[derive(Debug, Deserialize, Default)]
#[serde(default)]
struct TtInfo {
    shipments: Option<Vec<TtShipment>>,
}

#[derive(Debug, Deserialize, Default)]
#[serde(default)]
struct TtResponse {
    #[serde(rename = "TrackingInformationResponse")]
    info: Option<TtInfo>,
}

/// PostNord's item and event status in konsign's words.
pub fn normalise(status: &str) -> Tracking {
    match status {
        "CREATED" | "INFORMED" => Tracking::Booked,
        "EN_ROUTE" | "DELAYED" | "EXPECTED_DELAY" | "OTHER" | "SPLIT" => Tracking::InTransit,
        "AVAILABLE_FOR_DELIVERY" | "AVAILABLE_FOR_DELIVERY_PAR_LOC" => Tracking::OutForDelivery,
        "DELIVERED" => Tracking::Delivered,
        "DELIVERY_IMPOSSIBLE" => Tracking::FailedAttempt,
        "RETURNED" => Tracking::Returned,
        _ => Tracking::Exception,
    }
}

/// An event time: with an offset, or PostNord's local time (Copenhagen) without one.
fn event_time(s: &str) -> Option<DateTime<Utc>> {
    if let Ok(t) = DateTime::parse_from_rfc3339(s) {
        return Some(t.with_timezone(&Utc));
    }
    let naive = chrono::NaiveDateTime::parse_from_str(s, "%Y-%m-%dT%H:%M:%S")
        .or_else(|_| chrono::NaiveDateTime::parse_from_str(s, "%Y-%m-%dT%H:%M:%S%.f"))
        .ok()?;
    use chrono::TimeZone as _;
    chrono_tz::Europe::Copenhagen
        .from_local_datetime(&naive)
        .earliest()
        .map(|t| t.with_timezone(&Utc))
}

/// Reads a track-and-trace answer (pulled, or pushed in the same shape). Events without a
/// readable time or item id are skipped; a body that is not the shape at all is refused.
pub fn tracking_answer(body: &[u8]) -> Result<Vec<TrackEvent>, CarrierError> {
    let r: TtResponse = serde_json::from_slice(body).map_err(|e| {
        CarrierError::new(
            Failure::Rejected,
            format!("unreadable tracking answer: {e}"),
        )
    })?;
    let info = r
        .info
        .ok_or_else(|| CarrierError::new(Failure::Rejected, "no TrackingInformationResponse"))?;
    let mut out = Vec::new();
    for item in info
        .shipments
        .iter()
        .flatten()
        .flat_map(|s| s.items.iter().flatten())
    {
        let Some(item_id) = item.item_id.clone() else {
            continue;
        };
        for e in item.events.iter().flatten() {
            let (Some(at), Some(code)) = (
                e.event_time.as_deref().and_then(event_time),
                e.event_code.clone(),
            ) else {
                continue;
            };
            let raw = e.status.clone().unwrap_or_default();
            let location = e.location.as_ref().map(|l| {
                [&l.name, &l.city, &l.country_code]
                    .into_iter()
                    .flatten()
                    .cloned()
                    .collect::<Vec<_>>()
                    .join(", ")
            });
            out.push(TrackEvent {
                item_id: item_id.chars().take(35).collect(),
                code: code.chars().take(20).collect(),
                status: normalise(&raw),
                raw_status: raw.chars().take(40).collect(),
                text: e
                    .event_description
                    .clone()
                    .unwrap_or_default()
                    .chars()
                    .take(300)
                    .collect(),
                location: location.map(|l| l.chars().take(200).collect()),
                at,
            });
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::tracking::sscc_of_item;

    const SSCC: &str = "057900020000000017";

    #[test]
    fn tracking_reads_local_times_and_normalises_statuses() {
        let ev = tracking_answer(include_bytes!(
            "../../../tests/fixtures/postnord/tracking_delivered.json"
        ))
        .unwrap();
        assert_eq!(ev.len(), 3);
        assert_eq!(ev[0].status, Tracking::Booked);
        assert_eq!(ev[1].status, Tracking::InTransit);
        assert_eq!(ev[2].status, Tracking::Delivered);
        assert_eq!(ev[2].code, "C20");
        // 14:12 in Copenhagen in December is 13:12 UTC.
        assert_eq!(ev[2].at.format("%H:%M").to_string(), "13:12");
        assert_eq!(sscc_of_item(&ev[2].item_id), Some(SSCC));
        assert!(tracking_answer(b"[]").is_err());
        assert!(tracking_answer(br#"{"other": 1}"#).is_err());
        assert_eq!(normalise("DELIVERY_IMPOSSIBLE"), Tracking::FailedAttempt);
        assert_eq!(normalise("SOMETHING_NEW"), Tracking::Exception);
    }
}
