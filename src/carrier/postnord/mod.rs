//! The PostNord adapter (Denmark, issuer Z11): bookings through the shipment REST API v3 with
//! PostNord's ZPL label in the same call, a booking found again (and a label reprinted) by the
//! parcel's SSCC through the labels-by-id call, tracking pulled from track-and-trace v7, and
//! pushed events in the same shape. A Danish booking cannot be cancelled or changed by API, and
//! PostNord has no end-of-day call: the booking was the pre-advice. What is sent and how
//! answers are read is in `wire`; this file only does the HTTP.

pub mod track;
pub mod wire;

use super::{
    Booked, BookingRequest, BoxFuture, Cancelled, Capabilities, Carrier, CarrierError,
    CarrierLabel, ParcelOutcome,
};
use crate::config::{CarrierConfig, PackingConfig, PostNordConfig};
use crate::domain::carrier::Failure;
use crate::domain::tracking::TrackEvent;
use std::time::Duration;

pub const ID: &str = crate::domain::carrier::POSTNORD;

/// The largest answer read from PostNord (labels for a full batch fit well inside).
const MAX_ANSWER: usize = 16 * 1024 * 1024;

pub struct PostNord {
    http: reqwest::Client,
    base: String,
    api_key: String,
    customer_number: String,
    application_id: Option<i64>,
    test_indicator: bool,
    sender_name: String,
    sender_street: String,
    sender_postcode: String,
    sender_city: String,
    print_label: bool,
    max_batch: usize,
}

impl PostNord {
    pub fn new(
        cfg: &PostNordConfig,
        carrier: &CarrierConfig,
        packing: &PackingConfig,
    ) -> anyhow::Result<Self> {
        let http = reqwest::Client::builder()
            .connect_timeout(Duration::from_millis(carrier.timeout_ms.min(10_000)))
            .timeout(Duration::from_millis(carrier.timeout_ms))
            .pool_idle_timeout(Duration::from_secs(30))
            .user_agent(concat!("konsign/", env!("CARGO_PKG_VERSION")))
            .build()?;
        Ok(Self {
            http,
            base: format!("{}/rest/shipment", cfg.base_url.trim_end_matches('/')),
            api_key: cfg.api_key.clone(),
            customer_number: cfg.customer_number.clone(),
            application_id: cfg.application_id,
            test_indicator: cfg.test_indicator,
            sender_name: packing.sender_name.clone(),
            sender_street: cfg.sender_street.clone(),
            sender_postcode: cfg.sender_postcode.clone(),
            sender_city: cfg.sender_city.clone(),
            print_label: cfg.print_label,
            max_batch: cfg.max_batch,
        })
    }

    fn consignor(&self) -> wire::Consignor<'_> {
        wire::Consignor {
            customer_number: &self.customer_number,
            name: &self.sender_name,
            street: &self.sender_street,
            postcode: &self.sender_postcode,
            city: &self.sender_city,
            application_id: self.application_id,
            test_indicator: self.test_indicator,
        }
    }

    /// Sends a request and reads the answer (bounded): status, Retry-After seconds, body.
    async fn send(
        &self,
        req: reqwest::RequestBuilder,
    ) -> Result<(u16, Option<i64>, Vec<u8>), CarrierError> {
        let mut resp = req.send().await.map_err(sent_error)?;
        let status = resp.status().as_u16();
        let retry_after = resp
            .headers()
            .get(reqwest::header::RETRY_AFTER)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.trim().parse::<i64>().ok())
            .filter(|s| (0..=86_400).contains(s));
        let mut body = Vec::new();
        loop {
            match resp.chunk().await {
                Ok(Some(c)) => {
                    if body.len() + c.len() > MAX_ANSWER {
                        return Err(CarrierError::new(
                            if (200..300).contains(&status) {
                                Failure::Ambiguous
                            } else {
                                Failure::Transient { retry_after: None }
                            },
                            format!("answer larger than {MAX_ANSWER} bytes"),
                        ));
                    }
                    body.extend_from_slice(&c);
                }
                Ok(None) => break,
                // The answer broke off: whatever it said may have happened.
                Err(e) => {
                    return Err(CarrierError::new(
                        Failure::Ambiguous,
                        format!("answer broke off: {}", e.without_url()),
                    ))
                }
            }
        }
        Ok((status, retry_after, body))
    }

    fn url(&self, path: &str, extra: &str) -> String {
        format!(
            "{}{path}?apikey={}{extra}",
            self.base,
            urlencode(&self.api_key)
        )
    }
}

/// A request that failed in flight: before it was sent (connect) nothing happened; after, it
/// may have.
fn sent_error(e: reqwest::Error) -> CarrierError {
    // The URL carries the API key: never into a message, a log or the database.
    let e = e.without_url();
    if e.is_connect() {
        CarrierError::new(
            Failure::Transient { retry_after: None },
            format!("cannot connect: {e}"),
        )
    } else if e.is_builder() {
        CarrierError::new(Failure::Unauthorized, format!("bad request address: {e}"))
    } else {
        CarrierError::new(
            Failure::Ambiguous,
            format!("no answer after the request was sent: {e}"),
        )
    }
}

fn urlencode(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

impl Carrier for PostNord {
    fn id(&self) -> &str {
        ID
    }
    fn capabilities(&self) -> Capabilities {
        Capabilities {
            books_by_api: true,
            find_booking: true,
            reprint: true,
            cancel: false,
            close_handover: false,
            track_pull: true,
            track_push: true,
            label_formats: if self.print_label {
                vec!["zpl".into()]
            } else {
                Vec::new()
            },
            max_batch: self.max_batch,
        }
    }

    fn book<'a>(
        &'a self,
        batch: &'a [BookingRequest],
    ) -> BoxFuture<'a, Result<Vec<ParcelOutcome>, CarrierError>> {
        Box::pin(async move {
            let body = wire::edi_instruction(batch, &self.consignor(), chrono::Utc::now());
            let req = self
                .http
                .post(self.url("/v3/edi/labels/zpl", "&locale=da&labelType=standard"))
                .header(
                    "X-Request-Id",
                    batch.first().map(|r| r.request_id.as_str()).unwrap_or(""),
                )
                .json(&body);
            let (status, retry_after, answer) = self.send(req).await?;
            if !(200..300).contains(&status) {
                return Err(wire::failure(status, retry_after, &answer));
            }
            let mut out = wire::booking_answer(batch, &answer)?;
            if !self.print_label {
                for o in &mut out {
                    if let Ok(b) = &mut o.result {
                        b.label = None;
                    }
                }
            }
            Ok(out)
        })
    }

    fn find_booking<'a>(
        &'a self,
        sscc: &'a str,
    ) -> BoxFuture<'a, Result<Option<Booked>, CarrierError>> {
        Box::pin(async move {
            let label = self.reprint(sscc).await?;
            Ok(label.map(|l| {
                let id = wire::item_id(sscc);
                Booked {
                    tracking_url: self.tracking_url(&id),
                    tracking_number: id,
                    booking_ref: None,
                    label: self.print_label.then_some(l),
                }
            }))
        })
    }

    fn reprint<'a>(
        &'a self,
        sscc: &'a str,
    ) -> BoxFuture<'a, Result<Option<CarrierLabel>, CarrierError>> {
        Box::pin(async move {
            let req = self
                .http
                .post(self.url("/v3/labels/ids/zpl", ""))
                .json(&wire::label_ids(sscc));
            let (status, _, answer) = self.send(req).await?;
            wire::labels_answer(sscc, status, &answer)
        })
    }

    fn cancel<'a>(&'a self, _sscc: &'a str) -> BoxFuture<'a, Result<Cancelled, CarrierError>> {
        // PostNord Denmark (Z11) takes neither updates nor deletions by API.
        Box::pin(async { Ok(Cancelled::NotSupported) })
    }

    fn track<'a>(
        &'a self,
        tracking_number: &'a str,
    ) -> BoxFuture<'a, Result<Vec<TrackEvent>, CarrierError>> {
        Box::pin(async move {
            if tracking_number.is_empty()
                || tracking_number.len() > 35
                || !tracking_number.bytes().all(|b| b.is_ascii_alphanumeric())
            {
                return Err(CarrierError::new(Failure::Rejected, "not a PostNord id"));
            }
            let url = format!(
                "{}/v7/trackandtrace/id/{tracking_number}/public?apikey={}&locale=da",
                self.base,
                urlencode(&self.api_key)
            );
            let (status, retry_after, answer) = self.send(self.http.get(url)).await?;
            if status == 404 {
                return Ok(Vec::new());
            }
            if !(200..300).contains(&status) {
                return Err(wire::failure(status, retry_after, &answer));
            }
            track::tracking_answer(&answer)
        })
    }

    fn parse_push(&self, body: &[u8]) -> Result<Vec<TrackEvent>, CarrierError> {
        track::tracking_answer(body)
    }

    fn tracking_url(&self, tracking_number: &str) -> Option<String> {
        Some(format!(
            "https://tracking.postnord.com/dk/?id={tracking_number}"
        ))
    }
}
