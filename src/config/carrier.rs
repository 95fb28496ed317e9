//! The `[carrier]` section: which carrier books the parcels, and the booking worker's timings.

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct CarrierConfig {
    /// The carrier every closed parcel is booked with: `local` (books nothing outside; the
    /// parcel's own label is its label).
    pub default: String,
    /// How often the booking worker looks for bookings that are due.
    pub poll_ms: u64,
    /// How long one booking request may take before it counts as ambiguous.
    pub timeout_ms: u64,
    /// How long an instance holds the bookings it claimed.
    pub lease_seconds: u64,
}

impl Default for CarrierConfig {
    fn default() -> Self {
        Self {
            default: crate::carrier::local::ID.into(),
            poll_ms: 500,
            timeout_ms: 10_000,
            lease_seconds: 60,
        }
    }
}

impl CarrierConfig {
    pub(super) fn validate(&self) -> anyhow::Result<()> {
        anyhow::ensure!(
            crate::carrier::adapter(&self.default).is_some(),
            "invalid configuration: carrier.default: no carrier adapter {:?} (there is: local)",
            self.default
        );
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
        Ok(())
    }
}
