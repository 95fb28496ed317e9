//! Tracking: carriers' events normalised to a small set, and the rules for pushed events (a
//! signature over the timestamp and body, and a replay window). Pure: the tracking service
//! stores what these decide.

use chrono::{DateTime, Utc};
use hmac::{Hmac, Mac};
use serde::Serialize;
use sha2::Sha256;

/// Where a parcel is, in the words every carrier's events come down to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Tracking {
    Booked,
    InTransit,
    OutForDelivery,
    Delivered,
    FailedAttempt,
    Returned,
    Exception,
}

impl Tracking {
    pub const ALL: [Tracking; 7] = [
        Tracking::Booked,
        Tracking::InTransit,
        Tracking::OutForDelivery,
        Tracking::Delivered,
        Tracking::FailedAttempt,
        Tracking::Returned,
        Tracking::Exception,
    ];
    pub fn as_str(self) -> &'static str {
        match self {
            Tracking::Booked => "booked",
            Tracking::InTransit => "in_transit",
            Tracking::OutForDelivery => "out_for_delivery",
            Tracking::Delivered => "delivered",
            Tracking::FailedAttempt => "failed_attempt",
            Tracking::Returned => "returned",
            Tracking::Exception => "exception",
        }
    }
    pub fn from_db(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|t| t.as_str() == s)
    }
    /// A lead must look (the parcel did not reach the citizen as planned).
    pub fn needs_lead(self) -> bool {
        matches!(
            self,
            Tracking::FailedAttempt | Tracking::Returned | Tracking::Exception
        )
    }
    /// The parcel's journey is over: no more pulling.
    pub fn is_final(self) -> bool {
        matches!(self, Tracking::Delivered | Tracking::Returned)
    }
    pub fn danish(self) -> &'static str {
        match self {
            Tracking::Booked => "Booket",
            Tracking::InTransit => "Undervejs",
            Tracking::OutForDelivery => "Ude til levering",
            Tracking::Delivered => "Leveret",
            Tracking::FailedAttempt => "Forgæves leveringsforsøg",
            Tracking::Returned => "Returneret",
            Tracking::Exception => "Afvigelse",
        }
    }
}

/// One tracking event as a carrier told it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TrackEvent {
    /// The carrier's id of the parcel (PostNord: "00" + SSCC).
    pub item_id: String,
    /// The carrier's own event code (PostNord `C20`) and status (`DELIVERED`).
    pub code: String,
    pub raw_status: String,
    pub text: String,
    pub location: Option<String>,
    pub at: DateTime<Utc>,
    pub status: Tracking,
}

/// The SSCC inside a carrier's item id ("00" + 18 digits, or the 18 digits).
pub fn sscc_of_item(item_id: &str) -> Option<&str> {
    let s = item_id.trim();
    let s = if s.len() == 20 {
        s.strip_prefix("00")?
    } else {
        s
    };
    (s.len() == 18 && s.bytes().all(|b| b.is_ascii_digit())).then_some(s)
}

/// Why a pushed message is refused before its body is read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PushRefusal {
    MissingSignature,
    BadTimestamp,
    /// Older (or further ahead) than the replay window.
    OutsideWindow,
    BadSignature,
}

impl PushRefusal {
    pub fn code(&self) -> &'static str {
        match self {
            PushRefusal::MissingSignature => "missing_signature",
            PushRefusal::BadTimestamp => "bad_timestamp",
            PushRefusal::OutsideWindow => "outside_replay_window",
            PushRefusal::BadSignature => "bad_signature",
        }
    }
}

/// The signature a sender puts in `X-Konsign-Signature`: `sha256=` and the hex HMAC-SHA256,
/// keyed with the carrier's shared secret, of the timestamp, a dot, and the body.
pub fn sign(secret: &[u8], timestamp: &str, body: &[u8]) -> String {
    format!("sha256={}", hex::encode(mac(secret, timestamp, body)))
}

fn mac(secret: &[u8], timestamp: &str, body: &[u8]) -> Vec<u8> {
    let mut m = <Hmac<Sha256> as Mac>::new_from_slice(secret).expect("HMAC takes any key");
    m.update(timestamp.as_bytes());
    m.update(b".");
    m.update(body);
    m.finalize().into_bytes().to_vec()
}

/// Checks a pushed message: its timestamp (Unix seconds) within `window_s` of `now`, and its
/// signature (compared in constant time).
pub fn verify_push(
    secret: &[u8],
    timestamp: Option<&str>,
    signature: Option<&str>,
    body: &[u8],
    now: DateTime<Utc>,
    window_s: i64,
) -> Result<(), PushRefusal> {
    let (Some(ts), Some(sig)) = (timestamp, signature) else {
        return Err(PushRefusal::MissingSignature);
    };
    let t: i64 = ts
        .trim()
        .parse()
        .ok()
        .filter(|_| ts.len() <= 12)
        .ok_or(PushRefusal::BadTimestamp)?;
    if (now.timestamp() - t).abs() > window_s {
        return Err(PushRefusal::OutsideWindow);
    }
    let given = sig
        .trim()
        .strip_prefix("sha256=")
        .and_then(|h| hex::decode(h).ok())
        .ok_or(PushRefusal::BadSignature)?;
    let mut m = <Hmac<Sha256> as Mac>::new_from_slice(secret).expect("HMAC takes any key");
    m.update(ts.trim().as_bytes());
    m.update(b".");
    m.update(body);
    m.verify_slice(&given)
        .map_err(|_| PushRefusal::BadSignature)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_signed_push_within_the_window_passes_and_any_change_fails() {
        let now = Utc::now();
        let ts = now.timestamp().to_string();
        let body = br#"{"a":1}"#;
        let sig = sign(b"s3cret", &ts, body);
        assert_eq!(
            verify_push(b"s3cret", Some(&ts), Some(&sig), body, now, 300),
            Ok(())
        );
        assert_eq!(
            verify_push(b"other", Some(&ts), Some(&sig), body, now, 300),
            Err(PushRefusal::BadSignature)
        );
        assert_eq!(
            verify_push(b"s3cret", Some(&ts), Some(&sig), br#"{"a":2}"#, now, 300),
            Err(PushRefusal::BadSignature)
        );
        let old = (now.timestamp() - 301).to_string();
        let sig_old = sign(b"s3cret", &old, body);
        assert_eq!(
            verify_push(b"s3cret", Some(&old), Some(&sig_old), body, now, 300),
            Err(PushRefusal::OutsideWindow)
        );
        assert_eq!(
            verify_push(b"s3cret", Some("soon"), Some(&sig), body, now, 300),
            Err(PushRefusal::BadTimestamp)
        );
        assert_eq!(
            verify_push(b"s3cret", None, Some(&sig), body, now, 300),
            Err(PushRefusal::MissingSignature)
        );
        assert_eq!(
            verify_push(b"s3cret", Some(&ts), Some("sha256=zz"), body, now, 300),
            Err(PushRefusal::BadSignature)
        );
    }

    #[test]
    fn item_ids_give_their_sscc() {
        assert_eq!(
            sscc_of_item("00057900020000000017"),
            Some("057900020000000017")
        );
        assert_eq!(
            sscc_of_item("057900020000000017"),
            Some("057900020000000017")
        );
        assert_eq!(sscc_of_item("0005790002000000001"), None);
        assert_eq!(sscc_of_item("AB057900020000000017"), None);
    }
}
