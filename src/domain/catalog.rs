//! The catalog: producers (consignment owners), products and warehouse locations.

use super::gtin::Gtin;
use super::Invalid;
use serde::{Deserialize, Serialize};

fn code_like(field: &str, value: &str, max: usize) -> Result<String, Invalid> {
    let v = value.trim();
    if v.is_empty() {
        return Err(Invalid::new(field, "must not be empty"));
    }
    if v.len() > max {
        return Err(Invalid::new(
            field,
            format!("must be at most {max} characters"),
        ));
    }
    if !v
        .bytes()
        .all(|b| b.is_ascii_alphanumeric() || b"-_.".contains(&b))
    {
        return Err(Invalid::new(
            field,
            "may contain only letters, digits, '-', '_' and '.'",
        ));
    }
    Ok(v.to_ascii_uppercase())
}

fn text(field: &str, value: &str, max: usize) -> Result<String, Invalid> {
    let v = value.trim();
    if v.is_empty() {
        return Err(Invalid::new(field, "must not be empty"));
    }
    if v.chars().count() > max {
        return Err(Invalid::new(
            field,
            format!("must be at most {max} characters"),
        ));
    }
    if v.chars().any(char::is_control) {
        return Err(Invalid::new(field, "must not contain control characters"));
    }
    Ok(v.to_string())
}

/// A producer's short code, for example `COLOPLAST`. Upper-cased.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize)]
#[serde(transparent)]
pub struct ProducerCode(String);

impl ProducerCode {
    pub fn parse(s: &str) -> Result<Self, Invalid> {
        code_like("code", s, 32).map(Self)
    }
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Producer {
    pub code: ProducerCode,
    pub name: String,
}

impl Producer {
    pub fn new(code: &str, name: &str) -> Result<Self, Invalid> {
        Ok(Self {
            code: ProducerCode::parse(code)?,
            name: text("name", name, 200)?,
        })
    }
}

/// What kind of product this is; decides which flows it takes part in (baseplates may be cut).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Category {
    Baseplate,
    Pouch,
    OnePiece,
    Accessory,
    Irrigation,
    Other,
}

impl Category {
    pub const ALL: [Category; 6] = [
        Category::Baseplate,
        Category::Pouch,
        Category::OnePiece,
        Category::Accessory,
        Category::Irrigation,
        Category::Other,
    ];
    pub fn as_str(self) -> &'static str {
        match self {
            Category::Baseplate => "baseplate",
            Category::Pouch => "pouch",
            Category::OnePiece => "one_piece",
            Category::Accessory => "accessory",
            Category::Irrigation => "irrigation",
            Category::Other => "other",
        }
    }
    pub fn parse(s: &str) -> Result<Self, Invalid> {
        Self::ALL
            .into_iter()
            .find(|c| c.as_str() == s.trim())
            .ok_or_else(|| {
                let names: Vec<_> = Self::ALL.iter().map(|c| c.as_str()).collect();
                Invalid::new("category", format!("must be one of {}", names.join(", ")))
            })
    }
}

/// The hole sizes a cut-to-fit baseplate can be cut to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct CutRange {
    pub min_mm: i64,
    pub max_mm: i64,
    pub round: bool,
    pub oval: bool,
}

impl CutRange {
    pub fn new(min_mm: i64, max_mm: i64, round: bool, oval: bool) -> Result<Self, Invalid> {
        if !(1..=150).contains(&min_mm) {
            return Err(Invalid::new("cut_min_mm", "must be between 1 and 150"));
        }
        if !(1..=150).contains(&max_mm) {
            return Err(Invalid::new("cut_max_mm", "must be between 1 and 150"));
        }
        if min_mm > max_mm {
            return Err(Invalid::new("cut_max_mm", "must not be below cut_min_mm"));
        }
        if !round && !oval {
            return Err(Invalid::new(
                "cut_shapes",
                "at least one of round and oval must be allowed",
            ));
        }
        Ok(Self {
            min_mm,
            max_mm,
            round,
            oval,
        })
    }
}

/// Money in integer minor units (øre for DKK).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Price {
    pub minor: i64,
    pub currency: String,
}

impl Price {
    pub fn new(minor: i64, currency: &str) -> Result<Self, Invalid> {
        if !(0..=10_000_000_000).contains(&minor) {
            return Err(Invalid::new(
                "price_minor",
                "must be between 0 and 10000000000",
            ));
        }
        let c = currency.trim().to_ascii_uppercase();
        if c.len() != 3 || !c.bytes().all(|b| b.is_ascii_uppercase()) {
            return Err(Invalid::new(
                "currency",
                "must be a three-letter ISO 4217 code such as DKK",
            ));
        }
        Ok(Self { minor, currency: c })
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Product {
    pub gtin: Gtin,
    pub name: String,
    pub producer: ProducerCode,
    pub category: Category,
    pub units_per_pack: i64,
    pub price: Price,
    /// `Some` when the product is cut-to-fit.
    pub cut: Option<CutRange>,
    pub min_shelf_life_days: i64,
    /// Grams per pack, for the parcel weight; `None` when unknown.
    pub weight_g: Option<i64>,
}

/// Unvalidated product fields as they arrive from JSON or CSV.
#[derive(Debug, Clone, Default)]
pub struct ProductInput {
    pub gtin: String,
    pub name: String,
    pub producer: String,
    pub category: String,
    pub units_per_pack: i64,
    pub price_minor: i64,
    pub currency: String,
    pub cut_to_fit: bool,
    pub cut_min_mm: Option<i64>,
    pub cut_max_mm: Option<i64>,
    pub cut_round: bool,
    pub cut_oval: bool,
    pub min_shelf_life_days: i64,
    pub weight_g: Option<i64>,
}

impl Product {
    pub fn from_input(i: &ProductInput) -> Result<Self, Invalid> {
        let gtin = Gtin::parse(&i.gtin).map_err(|e| Invalid::new("gtin", e.to_string()))?;
        let name = text("name", &i.name, 200)?;
        let producer =
            ProducerCode::parse(&i.producer).map_err(|e| Invalid::new("producer", e.message))?;
        let category = Category::parse(&i.category)?;
        if !(1..=10_000).contains(&i.units_per_pack) {
            return Err(Invalid::new(
                "units_per_pack",
                "must be between 1 and 10000",
            ));
        }
        let price = Price::new(i.price_minor, &i.currency)?;
        let cut = if i.cut_to_fit {
            let min = i.cut_min_mm.ok_or_else(|| {
                Invalid::new("cut_min_mm", "is required for a cut-to-fit product")
            })?;
            let max = i.cut_max_mm.ok_or_else(|| {
                Invalid::new("cut_max_mm", "is required for a cut-to-fit product")
            })?;
            Some(CutRange::new(min, max, i.cut_round, i.cut_oval)?)
        } else {
            if i.cut_min_mm.is_some() || i.cut_max_mm.is_some() {
                return Err(Invalid::new(
                    "cut_to_fit",
                    "a cut range is given but the product is not cut-to-fit",
                ));
            }
            None
        };
        if !(0..=3650).contains(&i.min_shelf_life_days) {
            return Err(Invalid::new(
                "min_shelf_life_days",
                "must be between 0 and 3650",
            ));
        }
        if let Some(w) = i.weight_g {
            if !(0..=100_000).contains(&w) {
                return Err(Invalid::new(
                    "weight_g",
                    "must be between 0 and 100000 grams per pack",
                ));
            }
        }
        Ok(Self {
            weight_g: i.weight_g,
            gtin,
            name,
            producer,
            category,
            units_per_pack: i.units_per_pack,
            price,
            cut,
            min_shelf_life_days: i.min_shelf_life_days,
        })
    }
}

/// What a location is used for. Only `pick` and `reserve` stock can be allocated to orders.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum LocationKind {
    Receiving,
    Pick,
    Reserve,
    Quarantine,
    Cutting,
    Packing,
    Dispatch,
    /// A pick tote: a box that carries one order from the shelves to cutting and packing.
    Tote,
}

impl LocationKind {
    pub const ALL: [LocationKind; 8] = [
        LocationKind::Receiving,
        LocationKind::Pick,
        LocationKind::Reserve,
        LocationKind::Quarantine,
        LocationKind::Cutting,
        LocationKind::Packing,
        LocationKind::Dispatch,
        LocationKind::Tote,
    ];
    pub fn as_str(self) -> &'static str {
        match self {
            LocationKind::Receiving => "receiving",
            LocationKind::Pick => "pick",
            LocationKind::Reserve => "reserve",
            LocationKind::Quarantine => "quarantine",
            LocationKind::Cutting => "cutting",
            LocationKind::Packing => "packing",
            LocationKind::Dispatch => "dispatch",
            LocationKind::Tote => "tote",
        }
    }
    /// The kind in Danish, for the floor's pages.
    pub fn da(self) -> &'static str {
        match self {
            LocationKind::Receiving => "modtagelse",
            LocationKind::Pick => "pluklokation",
            LocationKind::Reserve => "reservelager",
            LocationKind::Quarantine => "karantæne",
            LocationKind::Cutting => "hulklip",
            LocationKind::Packing => "pakning",
            LocationKind::Dispatch => "afsendelse",
            LocationKind::Tote => "kasse",
        }
    }
    pub fn parse(s: &str) -> Result<Self, Invalid> {
        Self::ALL
            .into_iter()
            .find(|c| c.as_str() == s.trim())
            .ok_or_else(|| {
                let names: Vec<_> = Self::ALL.iter().map(|c| c.as_str()).collect();
                Invalid::new("kind", format!("must be one of {}", names.join(", ")))
            })
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize)]
#[serde(transparent)]
pub struct LocationCode(String);

impl LocationCode {
    pub fn parse(s: &str) -> Result<Self, Invalid> {
        code_like("location", s, 32).map(Self)
    }
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Location {
    pub code: LocationCode,
    pub zone: String,
    pub kind: LocationKind,
    /// Position on the picker's walking route; lower comes first.
    pub walk_seq: i64,
}

impl Location {
    pub fn new(code: &str, zone: &str, kind: &str, walk_seq: i64) -> Result<Self, Invalid> {
        let code = LocationCode::parse(code).map_err(|e| Invalid::new("code", e.message))?;
        let zone = code_like("zone", zone, 16)?;
        let kind = LocationKind::parse(kind)?;
        if !(0..=1_000_000).contains(&walk_seq) {
            return Err(Invalid::new("walk_seq", "must be between 0 and 1000000"));
        }
        Ok(Self {
            code,
            zone,
            kind,
            walk_seq,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn input() -> ProductInput {
        ProductInput {
            gtin: "5708932000017".into(),
            name: "SenSura Mio basisplade".into(),
            producer: "coloplast".into(),
            category: "baseplate".into(),
            units_per_pack: 5,
            price_minor: 45_000,
            currency: "dkk".into(),
            cut_to_fit: true,
            cut_min_mm: Some(10),
            cut_max_mm: Some(55),
            cut_round: true,
            cut_oval: true,
            min_shelf_life_days: 90,
            weight_g: Some(60),
        }
    }

    #[test]
    fn valid_product_is_normalised() {
        let p = Product::from_input(&input()).unwrap();
        assert_eq!(p.gtin.as_str(), "05708932000017");
        assert_eq!(p.producer.as_str(), "COLOPLAST");
        assert_eq!(p.price.currency, "DKK");
        assert_eq!(p.cut.unwrap().max_mm, 55);
    }

    #[test]
    fn cut_range_must_be_ordered_and_have_a_shape() {
        let mut i = input();
        i.cut_min_mm = Some(60);
        assert_eq!(Product::from_input(&i).unwrap_err().field, "cut_max_mm");
        let mut i = input();
        i.cut_round = false;
        i.cut_oval = false;
        assert_eq!(Product::from_input(&i).unwrap_err().field, "cut_shapes");
    }

    #[test]
    fn cut_range_on_a_product_that_is_not_cut_is_refused() {
        let mut i = input();
        i.cut_to_fit = false;
        assert_eq!(Product::from_input(&i).unwrap_err().field, "cut_to_fit");
    }

    #[test]
    fn location_kind_must_be_known() {
        let e = Location::new("A-01-01", "A", "shelf", 1).unwrap_err();
        assert_eq!(e.field, "kind");
        assert!(e.message.contains("pick"));
    }
}
