//! Carrier handoff: the port every carrier adapter implements (book, find a booking by the
//! parcel's SSCC, cancel), its declared capabilities, and one error type whose classes decide
//! what the booking worker does next (`domain::carrier`). Weights are grams and sizes
//! millimetres inside konsign; an adapter converts at its edge.

pub mod local;

use crate::domain::carrier::Failure;
use std::future::Future;
use std::pin::Pin;

/// A boxed future, so that adapters can sit behind `Arc<dyn Carrier>`.
pub type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// What a carrier adapter can do.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, utoipa::ToSchema)]
pub struct Capabilities {
    /// Bookings are made through an API (false: nothing is sent anywhere).
    pub books_by_api: bool,
    /// A booking can be found again by the parcel's SSCC (after a timeout).
    pub find_booking: bool,
    /// A booking can be cancelled.
    pub cancel: bool,
    /// The carrier returns its own label.
    pub returns_label: bool,
}

/// One parcel to book.
#[derive(Debug, Clone)]
pub struct BookingRequest {
    /// konsign's id of this attempt (sent where the carrier takes one, always logged).
    pub request_id: String,
    pub sscc: String,
    pub service: String,
    pub weight_g: i64,
    pub order_ref: String,
    pub recipient_name: String,
    pub address: String,
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
    pub data: String,
}

/// A booking the carrier has.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Booked {
    pub tracking_number: String,
    pub label: Option<CarrierLabel>,
}

/// A failed attempt: its class and the carrier's own words.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{}: {message}", .class.as_str())]
pub struct CarrierError {
    pub class: Failure,
    pub message: String,
}

/// A carrier adapter.
pub trait Carrier: Send + Sync {
    /// The carrier's id in the configuration and on bookings (`local`, `postnord`).
    fn id(&self) -> &str;
    fn capabilities(&self) -> Capabilities;
    /// Books one parcel, with the warehouse's SSCC as the parcel's id.
    fn book<'a>(&'a self, r: &'a BookingRequest) -> BoxFuture<'a, Result<Booked, CarrierError>>;
    /// Finds an earlier booking of this SSCC (`None`: the carrier has none).
    fn find_booking<'a>(
        &'a self,
        sscc: &'a str,
    ) -> BoxFuture<'a, Result<Option<Booked>, CarrierError>>;
}

/// The adapter for a carrier id, if konsign has one.
pub fn adapter(id: &str) -> Option<std::sync::Arc<dyn Carrier>> {
    match id {
        local::ID => Some(std::sync::Arc::new(local::Local)),
        _ => None,
    }
}
