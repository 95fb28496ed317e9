//! A print job's life: `queued` until its printer's worker takes it, `sending` while the label
//! goes out, `sent` until the printer's next status answer confirms it (`confirmed`), or
//! `failed`. Stored as text through `as_str` and `parse`, the one mapping.

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum JobState {
    Queued,
    Sending,
    Sent,
    Confirmed,
    Failed,
}

impl JobState {
    pub const ALL: [JobState; 5] = [
        JobState::Queued,
        JobState::Sending,
        JobState::Sent,
        JobState::Confirmed,
        JobState::Failed,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            JobState::Queued => "queued",
            JobState::Sending => "sending",
            JobState::Sent => "sent",
            JobState::Confirmed => "confirmed",
            JobState::Failed => "failed",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|k| k.as_str() == s)
    }

    /// Still to be printed or confirmed (the printer's queue).
    pub fn open(self) -> bool {
        matches!(self, JobState::Queued | JobState::Sending | JobState::Sent)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_state_reads_back_from_its_text_and_serialises_as_it() {
        for s in JobState::ALL {
            assert_eq!(JobState::parse(s.as_str()), Some(s));
            assert_eq!(
                serde_json::to_value(s).unwrap(),
                serde_json::json!(s.as_str())
            );
        }
        assert_eq!(JobState::parse("Sending"), None);
    }
}
