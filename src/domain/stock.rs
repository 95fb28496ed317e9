//! Consignment stock rules: what a stock unit is, which operations change it, and how an
//! owner's statement reconciles with the ledger.

use super::catalog::ProducerCode;
use super::Invalid;
use chrono::{Duration, NaiveDate};
use serde::{Deserialize, Serialize};
use std::fmt;

/// Largest quantity (in packs) one operation may move; anything above is a typing error.
pub const MAX_OP_QUANTITY: i64 = 1_000_000;

/// A lot (batch) number as GS1 AI (10) allows it: 1 to 20 characters of the GS1 82-character set.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize)]
#[serde(transparent)]
pub struct Lot(String);

pub fn is_gs1_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || "!\"%&'()*+,-./:;<=>?_".contains(c)
}

impl Lot {
    pub fn parse(s: &str) -> Result<Self, Invalid> {
        let v = s.trim();
        if v.is_empty() {
            return Err(Invalid::new("lot", "must not be empty"));
        }
        if v.chars().count() > 20 {
            return Err(Invalid::new(
                "lot",
                "must be at most 20 characters (GS1 AI 10)",
            ));
        }
        if let Some(c) = v.chars().find(|c| !is_gs1_char(*c)) {
            return Err(Invalid::new(
                "lot",
                format!("character {c:?} is not allowed in a GS1 lot"),
            ));
        }
        Ok(Self(v.to_string()))
    }
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// Who owns a stock unit: the producer while it lies on consignment, the payer once it has left.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Owner {
    Producer(ProducerCode),
    /// A payer (municipality or region) by its code, written `payer:CODE`.
    Payer(String),
}

impl Owner {
    pub fn parse(s: &str) -> Result<Self, Invalid> {
        let v = s.trim();
        if let Some(code) = v.strip_prefix("payer:") {
            if code.is_empty()
                || code.len() > 32
                || !code.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
            {
                return Err(Invalid::new(
                    "owner",
                    "payer code must be 1 to 32 letters, digits or '-'",
                ));
            }
            return Ok(Owner::Payer(code.to_ascii_uppercase()));
        }
        ProducerCode::parse(v)
            .map(Owner::Producer)
            .map_err(|e| Invalid::new("owner", e.message))
    }
}

impl fmt::Display for Owner {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Owner::Producer(p) => f.write_str(p.as_str()),
            Owner::Payer(p) => write!(f, "payer:{p}"),
        }
    }
}

/// A positive quantity of packs for one operation.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct Quantity(i64);

impl Quantity {
    pub fn new(field: &str, q: i64) -> Result<Self, Invalid> {
        if q <= 0 {
            return Err(Invalid::new(field, "must be a positive number of packs"));
        }
        if q > MAX_OP_QUANTITY {
            return Err(Invalid::new(
                field,
                format!("must be at most {MAX_OP_QUANTITY} packs"),
            ));
        }
        Ok(Self(q))
    }
    pub fn get(self) -> i64 {
        self.0
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum StockStatus {
    Available,
    Quarantined,
}

impl StockStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            StockStatus::Available => "available",
            StockStatus::Quarantined => "quarantined",
        }
    }
    pub fn from_db(s: &str) -> Self {
        if s == "quarantined" {
            StockStatus::Quarantined
        } else {
            StockStatus::Available
        }
    }
}

/// Every kind of change to stock. Each writes one or two ledger entries (two for moves between units).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum OpKind {
    Receive,
    Move,
    Adjust,
    Quarantine,
    Release,
    Scrap,
    Transfer,
    /// A confirmed pick: packs move from their location into an order's tote (or back, on undo).
    Pick,
    /// Packs that left the warehouse with a parcel handed to the carrier.
    Ship,
    /// Packs that came back in a returned parcel: into quarantine, owned by the payer.
    Return,
    /// A location counted: each lot's differences booked, held packs found released.
    Count,
}

impl OpKind {
    pub const ALL: [OpKind; 11] = [
        OpKind::Receive,
        OpKind::Move,
        OpKind::Adjust,
        OpKind::Quarantine,
        OpKind::Release,
        OpKind::Scrap,
        OpKind::Transfer,
        OpKind::Pick,
        OpKind::Ship,
        OpKind::Return,
        OpKind::Count,
    ];
    pub fn as_str(self) -> &'static str {
        match self {
            OpKind::Receive => "receive",
            OpKind::Move => "move",
            OpKind::Adjust => "adjust",
            OpKind::Quarantine => "quarantine",
            OpKind::Release => "release",
            OpKind::Scrap => "scrap",
            OpKind::Transfer => "transfer",
            OpKind::Pick => "pick",
            OpKind::Ship => "ship",
            OpKind::Return => "return",
            OpKind::Count => "count",
        }
    }
    pub fn from_db(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|k| k.as_str() == s)
    }
    /// The domain event type written for this operation.
    pub fn event_type(self) -> &'static str {
        match self {
            OpKind::Receive => "stock.received",
            OpKind::Move => "stock.moved",
            OpKind::Adjust => "stock.adjusted",
            OpKind::Quarantine => "stock.quarantined",
            OpKind::Release => "stock.released",
            OpKind::Scrap => "stock.scrapped",
            OpKind::Transfer => "stock.ownership_transferred",
            OpKind::Pick => "stock.picked",
            OpKind::Ship => "stock.shipped",
            OpKind::Return => "stock.returned",
            OpKind::Count => "stock.counted",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum ScrapReason {
    Expired,
    Damaged,
    Recalled,
    Returned,
    Other,
}

impl ScrapReason {
    pub fn as_str(self) -> &'static str {
        match self {
            ScrapReason::Expired => "expired",
            ScrapReason::Damaged => "damaged",
            ScrapReason::Recalled => "recalled",
            ScrapReason::Returned => "returned",
            ScrapReason::Other => "other",
        }
    }
}

/// A free-text reason or reference, bounded so a typo cannot fill the ledger.
pub fn note(field: &str, s: &str, required: bool) -> Result<Option<String>, Invalid> {
    let v = s.trim();
    if v.is_empty() {
        return if required {
            Err(Invalid::new(field, "must not be empty"))
        } else {
            Ok(None)
        };
    }
    if v.chars().count() > 500 {
        return Err(Invalid::new(field, "must be at most 500 characters"));
    }
    if v.chars().any(|c| c.is_control() && c != '\n') {
        return Err(Invalid::new(field, "must not contain control characters"));
    }
    Ok(Some(v.to_string()))
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum StockError {
    #[error("not enough stock: {on_hand} on hand, {requested} requested")]
    Insufficient { on_hand: i64, requested: i64 },
    #[error("quantity overflow")]
    Overflow,
}

/// The one arithmetic rule of stock: a change never takes a unit below zero.
pub fn apply_delta(before: i64, delta: i64) -> Result<i64, StockError> {
    let after = before.checked_add(delta).ok_or(StockError::Overflow)?;
    if after < 0 {
        return Err(StockError::Insufficient {
            on_hand: before,
            requested: -delta,
        });
    }
    Ok(after)
}

/// How fresh a lot is on `today` (the Copenhagen business day).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Freshness {
    Ok,
    /// Not expired, but inside the product's minimum remaining shelf life for dispatch.
    ShortDated,
    Expired,
}

/// A product can be used up to and including its expiry date.
pub fn freshness(expiry: NaiveDate, min_shelf_life_days: i64, today: NaiveDate) -> Freshness {
    if expiry < today {
        Freshness::Expired
    } else if expiry < today + Duration::days(min_shelf_life_days) {
        Freshness::ShortDated
    } else {
        Freshness::Ok
    }
}

pub fn parse_expiry(s: &str) -> Result<NaiveDate, Invalid> {
    let d = NaiveDate::parse_from_str(s.trim(), "%Y-%m-%d")
        .map_err(|_| Invalid::new("expiry", "must be a date written YYYY-MM-DD"))?;
    if !(2000..=2100).contains(&chrono::Datelike::year(&d)) {
        return Err(Invalid::new(
            "expiry",
            "must be a year between 2000 and 2100",
        ));
    }
    Ok(d)
}

/// An owner's movements over a period, summed from the ledger by operation kind.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct Statement {
    pub opening: i64,
    pub receipts: i64,
    /// Ownership transferred away (goods that left, or were handed to another owner); negative.
    pub issues: i64,
    /// Ownership transferred to this owner; positive.
    pub transfers_in: i64,
    pub adjustments: i64,
    /// Scrapped stock; negative.
    pub scrap: i64,
    /// Moves and quarantine between locations and statuses; nets to zero within one owner.
    pub internal: i64,
    pub closing: i64,
}

impl Statement {
    /// Builds the statement from the opening balance and per-kind sums of ledger deltas.
    /// `transfer_out` and `transfer_in` are the two sides of transfers for this owner.
    pub fn from_sums(
        opening: i64,
        sums: &[(OpKind, i64)],
        transfer_out: i64,
        transfer_in: i64,
        closing: i64,
    ) -> Self {
        let mut s = Statement {
            opening,
            closing,
            issues: transfer_out,
            transfers_in: transfer_in,
            ..Default::default()
        };
        for (kind, sum) in sums {
            match kind {
                OpKind::Receive => s.receipts += sum,
                // A count's differences are adjustments (its releases net to zero).
                OpKind::Adjust | OpKind::Count => s.adjustments += sum,
                OpKind::Scrap => s.scrap += sum,
                OpKind::Move | OpKind::Quarantine | OpKind::Release | OpKind::Pick => {
                    s.internal += sum
                }
                OpKind::Transfer => {} // given split by direction
                // Goods that left the warehouse are issues, as goods handed to another owner.
                OpKind::Ship => s.issues += sum,
                // A returned parcel's packs come back in, still the payer's (in quarantine).
                OpKind::Return => s.receipts += sum,
            }
        }
        s
    }

    /// The movements explain the difference between opening and closing exactly.
    pub fn reconciles(&self) -> bool {
        self.opening
            + self.receipts
            + self.issues
            + self.transfers_in
            + self.adjustments
            + self.scrap
            + self.internal
            == self.closing
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(s: &str) -> NaiveDate {
        NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap()
    }

    #[test]
    fn stock_never_goes_negative() {
        assert_eq!(apply_delta(5, -5), Ok(0));
        assert_eq!(
            apply_delta(5, -6),
            Err(StockError::Insufficient {
                on_hand: 5,
                requested: 6
            })
        );
        assert_eq!(apply_delta(i64::MAX, 1), Err(StockError::Overflow));
    }

    #[test]
    fn expiry_day_itself_is_still_usable() {
        assert_eq!(
            freshness(d("2026-11-22"), 0, d("2026-11-22")),
            Freshness::Ok
        );
        assert_eq!(
            freshness(d("2026-11-21"), 0, d("2026-11-22")),
            Freshness::Expired
        );
    }

    #[test]
    fn inside_minimum_shelf_life_is_short_dated() {
        assert_eq!(
            freshness(d("2026-12-01"), 30, d("2026-11-22")),
            Freshness::ShortDated
        );
        assert_eq!(
            freshness(d("2026-12-22"), 30, d("2026-11-22")),
            Freshness::Ok
        );
    }

    #[test]
    fn lot_follows_gs1_rules() {
        assert!(Lot::parse("A1B2-34/5").is_ok());
        assert_eq!(Lot::parse("").unwrap_err().field, "lot");
        assert!(Lot::parse("123456789012345678901").is_err());
        assert!(Lot::parse("LOT#1").unwrap_err().message.contains("'#'"));
    }

    #[test]
    fn owner_is_a_producer_or_a_payer() {
        assert_eq!(Owner::parse("coloplast").unwrap().to_string(), "COLOPLAST");
        assert_eq!(
            Owner::parse("payer:0751").unwrap().to_string(),
            "payer:0751"
        );
        assert!(Owner::parse("payer:").is_err());
    }

    #[test]
    fn quantities_are_positive_and_bounded() {
        assert!(Quantity::new("quantity", 0).is_err());
        assert!(Quantity::new("quantity", -3).is_err());
        assert!(Quantity::new("quantity", MAX_OP_QUANTITY + 1).is_err());
        assert_eq!(Quantity::new("quantity", 12).unwrap().get(), 12);
    }

    #[test]
    fn statement_reconciles_when_movements_explain_the_change() {
        let s = Statement::from_sums(
            10,
            &[(OpKind::Receive, 5), (OpKind::Scrap, -2), (OpKind::Move, 0)],
            -3,
            0,
            10,
        );
        assert!(s.reconciles());
        let wrong = Statement { closing: 11, ..s };
        assert!(!wrong.reconciles());
    }
}
