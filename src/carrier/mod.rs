//! Carrier handoff: the port every carrier adapter implements (book, find a booking by the
//! parcel's SSCC, reprint, cancel, close a handover, track by pull, read pushed events), its
//! declared capabilities, and one error type whose classes decide what the booking worker does
//! next (`domain::carrier`). Weights are grams and sizes millimetres inside konsign; an adapter
//! converts at its edge. `Carriers` holds the adapters the configuration names.

pub mod double;
pub mod local;
pub mod postnord;

use crate::domain::carrier::Failure;
use crate::domain::tracking::TrackEvent;
use std::collections::BTreeMap;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

/// A boxed future, so that adapters can sit behind `Arc<dyn Carrier>`.
pub type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// What a carrier adapter can do.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, utoipa::ToSchema)]
pub struct Capabilities {
    /// Bookings are made through an API (false: nothing is sent anywhere).
    pub books_by_api: bool,
    /// A booking can be found again by the parcel's SSCC (after a timeout).
    pub find_booking: bool,
    /// A booked label can be fetched again.
    pub reprint: bool,
    /// A booking can be cancelled.
    pub cancel: bool,
    /// The carrier has an end-of-day or handover close call.
    pub close_handover: bool,
    /// Tracking events can be pulled.
    pub track_pull: bool,
    /// The carrier pushes tracking events to `/api/carriers/{id}/events`.
    pub track_push: bool,
    /// The label formats the carrier returns with a booking (`zpl`, `pdf`); empty: the
    /// warehouse's own GS1 label is the label.
    pub label_formats: Vec<String>,
    /// Most parcels one booking request carries.
    pub max_batch: usize,
}

/// One parcel to book.
#[derive(Debug, Clone)]
pub struct BookingRequest {
    /// konsign's id of this attempt (sent where the carrier takes one, always logged).
    pub request_id: String,
    pub sscc: String,
    /// The carrier's service code (PostNord: `17` MyPack Home, `30` MyPack Home Small, `19`
    /// MyPack Collect).
    pub service: String,
    /// Additional service codes the rule asked for (notification codes are added by the adapter).
    pub additional: Vec<String>,
    pub weight_g: i64,
    pub length_mm: u32,
    pub width_mm: u32,
    pub height_mm: u32,
    pub order_ref: String,
    pub recipient_name: String,
    /// The street lines (a second line only when the order has one).
    pub address_lines: Vec<String>,
    pub postcode: String,
    pub city: String,
    pub country: String,
    pub phone: Option<String>,
    pub email: Option<String>,
}

/// A label the carrier returned with the booking.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CarrierLabel {
    /// `zpl` or `pdf`.
    pub format: String,
    /// ZPL text, or a PDF in base64.
    pub data: String,
}

/// A booking the carrier has.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Booked {
    pub tracking_number: String,
    pub tracking_url: Option<String>,
    /// The carrier's id of the booking request, where it gives one.
    pub booking_ref: Option<String>,
    pub label: Option<CarrierLabel>,
}

/// What came of one parcel in a booking request.
#[derive(Debug, Clone)]
pub struct ParcelOutcome {
    pub sscc: String,
    pub result: Result<Booked, CarrierError>,
}

/// What a cancel came to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Cancelled {
    Cancelled,
    /// The carrier has no cancel (PostNord Denmark).
    NotSupported,
    /// The carrier has the parcel already.
    TooLate,
}

/// A failed call: its class and the carrier's own words.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{}: {message}", .class.as_str())]
pub struct CarrierError {
    pub class: Failure,
    pub message: String,
}

impl CarrierError {
    pub fn new(class: Failure, message: impl Into<String>) -> Self {
        Self {
            class,
            message: message.into(),
        }
    }
}

/// A carrier adapter. The defaults answer "not supported" (or nothing) for what a carrier
/// lacks; `capabilities` says which it has.
pub trait Carrier: Send + Sync {
    /// The carrier's id in the configuration and on bookings (`local`, `postnord`).
    fn id(&self) -> &str;
    fn capabilities(&self) -> Capabilities;
    /// Books parcels (at most `max_batch`), each with the warehouse's SSCC as its id. `Err`: the
    /// whole request failed; `Ok`: one outcome for each parcel, in any order.
    fn book<'a>(
        &'a self,
        batch: &'a [BookingRequest],
    ) -> BoxFuture<'a, Result<Vec<ParcelOutcome>, CarrierError>>;
    /// Finds an earlier booking of this SSCC (`None`: the carrier has none).
    fn find_booking<'a>(
        &'a self,
        sscc: &'a str,
    ) -> BoxFuture<'a, Result<Option<Booked>, CarrierError>>;
    /// The booked parcel's label again.
    fn reprint<'a>(
        &'a self,
        _sscc: &'a str,
    ) -> BoxFuture<'a, Result<Option<CarrierLabel>, CarrierError>> {
        Box::pin(async { Ok(None) })
    }
    fn cancel<'a>(&'a self, _sscc: &'a str) -> BoxFuture<'a, Result<Cancelled, CarrierError>> {
        Box::pin(async { Ok(Cancelled::NotSupported) })
    }
    /// Tells the carrier a cage was handed over (`false`: the carrier has no such call).
    fn close_handover<'a>(
        &'a self,
        _cage: &'a str,
        _ssccs: &'a [String],
    ) -> BoxFuture<'a, Result<bool, CarrierError>> {
        Box::pin(async { Ok(false) })
    }
    /// The parcel's tracking events so far.
    fn track<'a>(
        &'a self,
        _tracking_number: &'a str,
    ) -> BoxFuture<'a, Result<Vec<TrackEvent>, CarrierError>> {
        Box::pin(async { Ok(Vec::new()) })
    }
    /// Reads a pushed tracking message (already authenticated).
    fn parse_push(&self, _body: &[u8]) -> Result<Vec<TrackEvent>, CarrierError> {
        Err(CarrierError::new(
            Failure::Rejected,
            "this carrier does not push events",
        ))
    }
    /// Where the citizen follows the parcel.
    fn tracking_url(&self, _tracking_number: &str) -> Option<String> {
        None
    }
}

/// The carrier adapters konsign can build, by id.
pub use crate::domain::carrier::KNOWN;

/// The adapters of the configured carriers.
#[derive(Clone, Default)]
pub struct Carriers {
    by_id: BTreeMap<String, Arc<dyn Carrier>>,
}

impl Carriers {
    /// Every carrier konsign has an adapter for, built from the configuration.
    pub fn from_config(cfg: &crate::config::Config) -> anyhow::Result<Self> {
        let mut by_id: BTreeMap<String, Arc<dyn Carrier>> = BTreeMap::new();
        by_id.insert(local::ID.into(), Arc::new(local::Local));
        if let Some(pn) = &cfg.carrier.postnord {
            let a = postnord::PostNord::new(pn, &cfg.carrier, &cfg.packing)?;
            by_id.insert(postnord::ID.into(), Arc::new(a));
        }
        Ok(Self { by_id })
    }

    /// Adds (or replaces) an adapter: for tests and the demo.
    pub fn insert(&mut self, c: Arc<dyn Carrier>) {
        self.by_id.insert(c.id().to_string(), c);
    }

    pub fn get(&self, id: &str) -> Option<Arc<dyn Carrier>> {
        self.by_id.get(id).cloned()
    }

    pub fn ids(&self) -> impl Iterator<Item = &str> {
        self.by_id.keys().map(String::as_str)
    }
}
