//! The workflow a scanner station runs: what its scans are for. `lookup` (the default: what is
//! this?), `receiving`, `picking` or `packing`. Stored as text through `as_str` and `parse`.

use serde::{Deserialize, Serialize};

#[derive(
    Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize, utoipa::ToSchema,
)]
#[serde(rename_all = "snake_case")]
pub enum Workflow {
    #[default]
    Lookup,
    Receiving,
    Picking,
    Packing,
}

impl Workflow {
    pub const ALL: [Workflow; 4] = [
        Workflow::Lookup,
        Workflow::Receiving,
        Workflow::Picking,
        Workflow::Packing,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Workflow::Lookup => "lookup",
            Workflow::Receiving => "receiving",
            Workflow::Picking => "picking",
            Workflow::Packing => "packing",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|k| k.as_str() == s)
    }
}

impl std::fmt::Display for Workflow {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_workflow_reads_back_from_its_text() {
        for w in Workflow::ALL {
            assert_eq!(Workflow::parse(w.as_str()), Some(w));
            assert_eq!(w.to_string(), w.as_str());
        }
        assert_eq!(Workflow::parse("Receiving"), None);
        assert_eq!(Workflow::default(), Workflow::Lookup);
    }
}
