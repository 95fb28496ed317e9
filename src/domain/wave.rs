//! The states of a pick wave and of its picks, stored as text through `as_str` and `parse`
//! (the one mapping). A wave is `open` until a picker takes it (`assigned`), `picking` from its
//! first accepted scan, and `done` when no pick is open. A pick is `open` until its packs are
//! in the tote (`done`) or the picker reports the location short (`short`).

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum WaveStatus {
    Open,
    Assigned,
    Picking,
    Done,
}

impl WaveStatus {
    pub const ALL: [WaveStatus; 4] = [
        WaveStatus::Open,
        WaveStatus::Assigned,
        WaveStatus::Picking,
        WaveStatus::Done,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            WaveStatus::Open => "open",
            WaveStatus::Assigned => "assigned",
            WaveStatus::Picking => "picking",
            WaveStatus::Done => "done",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|k| k.as_str() == s)
    }
}

impl std::fmt::Display for WaveStatus {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum PickStatus {
    Open,
    Done,
    Short,
}

impl PickStatus {
    pub const ALL: [PickStatus; 3] = [PickStatus::Open, PickStatus::Done, PickStatus::Short];

    pub fn as_str(self) -> &'static str {
        match self {
            PickStatus::Open => "open",
            PickStatus::Done => "done",
            PickStatus::Short => "short",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|k| k.as_str() == s)
    }
}

impl std::fmt::Display for PickStatus {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_status_reads_back_from_its_text_and_serialises_as_it() {
        for s in WaveStatus::ALL {
            assert_eq!(WaveStatus::parse(s.as_str()), Some(s));
            assert_eq!(
                serde_json::to_value(s).unwrap(),
                serde_json::json!(s.as_str())
            );
        }
        for s in PickStatus::ALL {
            assert_eq!(PickStatus::parse(s.as_str()), Some(s));
            assert_eq!(
                serde_json::to_value(s).unwrap(),
                serde_json::json!(s.as_str())
            );
        }
        assert_eq!(WaveStatus::parse("Done"), None);
    }
}
