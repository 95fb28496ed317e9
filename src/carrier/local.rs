//! The local carrier: books nothing outside. The parcel's own GS1-128 shipping label from the
//! pack station is its label and its SSCC the tracking number; tracking is entered by hand or by
//! scan. For offline operation, development, and carriers without an API.

use super::{Booked, BookingRequest, BoxFuture, Capabilities, Carrier, CarrierError};

pub const ID: &str = "local";

#[derive(Debug, Clone, Copy, Default)]
pub struct Local;

impl Carrier for Local {
    fn id(&self) -> &str {
        ID
    }
    fn capabilities(&self) -> Capabilities {
        Capabilities {
            books_by_api: false,
            find_booking: true,
            cancel: true,
            returns_label: false,
        }
    }
    fn book<'a>(&'a self, r: &'a BookingRequest) -> BoxFuture<'a, Result<Booked, CarrierError>> {
        Box::pin(async move {
            Ok(Booked {
                tracking_number: r.sscc.clone(),
                label: None,
            })
        })
    }
    fn find_booking<'a>(
        &'a self,
        sscc: &'a str,
    ) -> BoxFuture<'a, Result<Option<Booked>, CarrierError>> {
        Box::pin(async move {
            Ok(Some(Booked {
                tracking_number: sscc.to_string(),
                label: None,
            }))
        })
    }
}
