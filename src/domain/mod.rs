//! Pure domain: value types, invariants and rules. No I/O, no async, no database.

pub mod allocation;
pub mod auth;
pub mod carrier;
pub mod catalog;
pub mod counting;
pub mod cutting;
pub mod gs1;
pub mod gtin;
pub mod handover;
pub mod order;
pub mod pack_scan;
pub mod packing;
pub mod picking;
pub mod print_job;
pub mod rate;
pub mod sscc;
pub mod station_seq;
pub mod stock;
pub mod time;
pub mod timeline;
pub mod tracking;
pub mod wave;
pub mod workflow;

/// A rule was broken by input; the message is for the user who sent it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{field}: {message}")]
pub struct Invalid {
    /// The field (or key) the problem is in, in the caller's terms.
    pub field: String,
    /// What is wrong, lowercase, no trailing period.
    pub message: String,
}

impl Invalid {
    pub fn new(field: impl Into<String>, message: impl Into<String>) -> Self {
        Self {
            field: field.into(),
            message: message.into(),
        }
    }
}

/// A scan that could not be read as what was expected: why, in English (the API's language)
/// and in Danish (the floor's). Displays as the English.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct Unreadable {
    pub message: String,
    pub message_da: String,
}

impl Unreadable {
    pub fn new(message: impl Into<String>, message_da: impl Into<String>) -> Self {
        Self {
            message: message.into(),
            message_da: message_da.into(),
        }
    }

    /// A barcode that breaks a GS1 rule.
    pub fn barcode(e: &gs1::Gs1Error) -> Self {
        Self::new(
            format!("unreadable barcode: {e}"),
            format!("Ulæselig stregkode: {}", e.da()),
        )
    }
}
