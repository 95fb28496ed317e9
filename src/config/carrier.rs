//! The `[carrier]` section: which carrier and service a parcel is booked with (a default and a
//! small rule table), the booking worker's timings, tracking, each carrier's cut-off time, and
//! the PostNord adapter's settings (`[carrier.postnord]`).

use crate::domain::carrier::Rule;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct CarrierConfig {
    /// The carrier a parcel is booked with when no rule matches: `local` (books nothing
    /// outside; the parcel's own label is its label) or `postnord`.
    pub default: String,
    /// The service with the default carrier (PostNord `17` MyPack Home).
    pub default_service: String,
    /// The rule table (`[[carrier.rules]]`), first match wins: by parcel type and postcode
    /// range, to a carrier, service and additional services.
    pub rules: Vec<Rule>,
    /// How often the booking worker looks for bookings that are due.
    pub poll_ms: u64,
    /// How long one request to a carrier may take before it counts as ambiguous.
    pub timeout_ms: u64,
    /// How long an instance holds the bookings it claimed.
    pub lease_seconds: u64,
    /// The wait after a booking's first failed attempt (it doubles with each further one, to
    /// at most 5 minutes), and how long a carrier that refused our credentials is left alone.
    pub retry_first_ms: u64,
    pub unauthorized_pause_seconds: u64,
    /// Consecutive failed requests that open a carrier's circuit breaker, and how long it
    /// stays open before one request tries again.
    pub breaker_failures: u32,
    pub breaker_open_seconds: u64,
    /// How often open parcels' tracking is pulled (0: never).
    pub track_every_seconds: u64,
    /// How far a pushed event's timestamp may be from now.
    pub push_window_seconds: i64,
    /// The last handover of the day per carrier (`HH:MM`, Copenhagen), shown on the handover
    /// page.
    pub cutoff: BTreeMap<String, String>,
    /// Where returned parcels' packs go, in quarantine (a location of kind `quarantine`).
    pub returns_location: String,
    /// PostNord (`[carrier.postnord]`): present, the adapter is built.
    pub postnord: Option<PostNordConfig>,
    /// Shared secrets for pushed tracking events, per carrier (`[carrier.push_secrets]`; set
    /// them from the environment, `KONSIGN_CARRIER__PUSH_SECRETS__POSTNORD`).
    pub push_secrets: BTreeMap<String, String>,
}

impl Default for CarrierConfig {
    fn default() -> Self {
        Self {
            default: crate::domain::carrier::LOCAL.into(),
            default_service: "17".into(),
            rules: Vec::new(),
            poll_ms: 500,
            timeout_ms: 10_000,
            lease_seconds: 60,
            retry_first_ms: 2000,
            unauthorized_pause_seconds: 300,
            breaker_failures: 5,
            breaker_open_seconds: 30,
            track_every_seconds: 900,
            push_window_seconds: 300,
            cutoff: BTreeMap::new(),
            returns_location: "RETUR".into(),
            postnord: None,
            push_secrets: BTreeMap::new(),
        }
    }
}

/// PostNord's booking (shipment REST v3) and track-and-trace (v7) APIs.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct PostNordConfig {
    /// `https://api2.postnord.com` (production) or `https://atapi2.postnord.com` (PostNord's
    /// acceptance test), or the test double.
    pub base_url: String,
    /// The API key (32 characters); set it from the environment,
    /// `KONSIGN_CARRIER__POSTNORD__API_KEY`. (Given as a number by the environment, its digits
    /// are taken; so for the customer number and the postcode.)
    #[serde(deserialize_with = "super::packing::digits")]
    pub api_key: String,
    /// The warehouse's PostNord customer number (the consignor's party id).
    #[serde(deserialize_with = "super::packing::digits")]
    pub customer_number: String,
    /// The id PostNord assigned this integration, if any.
    pub application_id: Option<i64>,
    /// Only validate bookings, send no EDI (PostNord's `testIndicator`).
    pub test_indicator: bool,
    /// The consignor's address (the sender's name is `packing.sender_name`).
    pub sender_street: String,
    #[serde(deserialize_with = "super::packing::digits")]
    pub sender_postcode: String,
    pub sender_city: String,
    /// Print PostNord's own label when the booking lands (`false`: the warehouse's GS1 label
    /// stays the label on the box).
    pub print_label: bool,
    /// Most parcels in one booking request (PostNord takes 200).
    pub max_batch: usize,
}

impl Default for PostNordConfig {
    fn default() -> Self {
        Self {
            base_url: "https://api2.postnord.com".into(),
            api_key: String::new(),
            customer_number: String::new(),
            application_id: None,
            test_indicator: false,
            sender_street: "Industrivej 10".into(),
            sender_postcode: "7100".into(),
            sender_city: "Vejle".into(),
            print_label: true,
            max_batch: 20,
        }
    }
}

impl CarrierConfig {
    /// The retry timings for `domain::carrier::next`.
    pub fn timing(&self) -> crate::domain::carrier::Timing {
        crate::domain::carrier::Timing {
            first_retry: chrono::Duration::milliseconds(self.retry_first_ms as i64),
            unauthorized_pause: chrono::Duration::seconds(self.unauthorized_pause_seconds as i64),
        }
    }

    /// The carriers parcels can be booked with: the default and those the rules name.
    pub fn carriers(&self) -> Vec<String> {
        let mut v: Vec<String> = std::iter::once(self.default.clone())
            .chain(self.rules.iter().map(|r| r.carrier.clone()))
            .collect();
        v.sort();
        v.dedup();
        v
    }

    pub(super) fn validate(&self) -> anyhow::Result<()> {
        let known = crate::domain::carrier::KNOWN;
        for c in self.carriers() {
            anyhow::ensure!(
                known.contains(&c.as_str()),
                "invalid configuration: carrier: no carrier adapter {c:?} (there is: {})",
                known.join(", ")
            );
            anyhow::ensure!(
                c != crate::domain::carrier::POSTNORD || self.postnord.is_some(),
                "invalid configuration: carrier: postnord is used but [carrier.postnord] is missing"
            );
        }
        anyhow::ensure!(
            !self.default_service.trim().is_empty() && self.default_service.len() <= 10,
            "invalid configuration: carrier.default_service must be 1 to 10 characters"
        );
        for (i, r) in self.rules.iter().enumerate() {
            r.check()
                .map_err(|e| anyhow::anyhow!("invalid configuration: carrier.rules[{i}]: {e}"))?;
        }
        anyhow::ensure!(
            self.rules.len() <= 100,
            "invalid configuration: carrier.rules holds at most 100 rules"
        );
        for (c, t) in &self.cutoff {
            anyhow::ensure!(
                chrono::NaiveTime::parse_from_str(t, "%H:%M").is_ok(),
                "invalid configuration: carrier.cutoff.{c} must be a time HH:MM, not {t:?}"
            );
        }
        for (c, s) in &self.push_secrets {
            anyhow::ensure!(
                s.len() >= 16,
                "invalid configuration: carrier.push_secrets.{c} must be at least 16 characters"
            );
        }
        anyhow::ensure!(
            (10..=3_600_000).contains(&self.poll_ms),
            "invalid configuration: carrier.poll_ms must be between 10 and 3600000"
        );
        anyhow::ensure!(
            (100..=120_000).contains(&self.timeout_ms),
            "invalid configuration: carrier.timeout_ms must be between 100 and 120000"
        );
        anyhow::ensure!(
            (5..=3600).contains(&self.lease_seconds),
            "invalid configuration: carrier.lease_seconds must be between 5 and 3600"
        );
        anyhow::ensure!(
            (10..=300_000).contains(&self.retry_first_ms)
                && (1..=86_400).contains(&self.unauthorized_pause_seconds),
            "invalid configuration: carrier.retry_first_ms must be 10 to 300000 and carrier.unauthorized_pause_seconds 1 to 86400"
        );
        anyhow::ensure!(
            (1..=1000).contains(&self.breaker_failures)
                && (1..=3600).contains(&self.breaker_open_seconds),
            "invalid configuration: carrier.breaker_failures must be 1 to 1000 and carrier.breaker_open_seconds 1 to 3600"
        );
        anyhow::ensure!(
            self.track_every_seconds == 0 || (5..=86_400).contains(&self.track_every_seconds),
            "invalid configuration: carrier.track_every_seconds must be 0 or between 5 and 86400"
        );
        anyhow::ensure!(
            (10..=3600).contains(&self.push_window_seconds),
            "invalid configuration: carrier.push_window_seconds must be between 10 and 3600"
        );
        if let Some(p) = &self.postnord {
            anyhow::ensure!(
                p.base_url.starts_with("https://") || p.base_url.starts_with("http://"),
                "invalid configuration: carrier.postnord.base_url must be an http(s) URL"
            );
            anyhow::ensure!(
                (1..=200).contains(&p.max_batch),
                "invalid configuration: carrier.postnord.max_batch must be between 1 and 200"
            );
            anyhow::ensure!(
                !p.customer_number.trim().is_empty() && p.customer_number.len() <= 17,
                "invalid configuration: carrier.postnord.customer_number must be 1 to 17 characters"
            );
        }
        Ok(())
    }
}
