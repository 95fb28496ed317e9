//! The local carrier: books nothing outside. The parcel's own GS1-128 shipping label from the
//! pack station is its label and its SSCC the tracking number; tracking is entered by hand or by
//! scan. For offline operation, development, and carriers without an API.

use super::{
    Booked, BookingRequest, BoxFuture, Cancelled, Capabilities, Carrier, CarrierError,
    ParcelOutcome,
};

pub const ID: &str = crate::domain::carrier::LOCAL;

#[derive(Debug, Clone, Copy, Default)]
pub struct Local;

fn booked(sscc: &str) -> Booked {
    Booked {
        tracking_number: sscc.to_string(),
        tracking_url: None,
        booking_ref: None,
        label: None,
    }
}

impl Carrier for Local {
    fn id(&self) -> &str {
        ID
    }
    fn capabilities(&self) -> Capabilities {
        Capabilities {
            books_by_api: false,
            find_booking: true,
            reprint: false,
            cancel: true,
            close_handover: false,
            track_pull: false,
            track_push: false,
            label_formats: Vec::new(),
            max_batch: 50,
        }
    }
    fn book<'a>(
        &'a self,
        batch: &'a [BookingRequest],
    ) -> BoxFuture<'a, Result<Vec<ParcelOutcome>, CarrierError>> {
        Box::pin(async move {
            Ok(batch
                .iter()
                .map(|r| ParcelOutcome {
                    sscc: r.sscc.clone(),
                    result: Ok(booked(&r.sscc)),
                })
                .collect())
        })
    }
    fn find_booking<'a>(
        &'a self,
        sscc: &'a str,
    ) -> BoxFuture<'a, Result<Option<Booked>, CarrierError>> {
        Box::pin(async move { Ok(Some(booked(sscc))) })
    }
    fn cancel<'a>(&'a self, _sscc: &'a str) -> BoxFuture<'a, Result<Cancelled, CarrierError>> {
        Box::pin(async { Ok(Cancelled::Cancelled) })
    }
}
