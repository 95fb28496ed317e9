//! Citizen orders: the intake request turned into a validated order (naming the line and field
//! of every problem), cut specs, the order's life cycle, and the rule that no CPR number is
//! ever accepted.
//!
//! Size: over 600 lines because the intake's validation names every field of an order, and the
//! order's rules belong together; its unit tests follow.

use super::catalog::CutRange;
use super::gtin::Gtin;
use super::Invalid;
use chrono::{Datelike, NaiveDate};
use serde::{Deserialize, Serialize};
use std::collections::HashMap;

/// Most lines on one order; a citizen's order has a handful.
pub const MAX_LINES: usize = 100;
/// Most packs of one product on one line.
pub const MAX_LINE_QUANTITY: i64 = 999;
/// How far ahead a delivery may be requested.
pub const MAX_DAYS_AHEAD: i64 = 365;

/// Where an order is in its life.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum OrderStatus {
    Received,
    /// Every line is reserved (or a lead released it partially): ready for a pick wave.
    Allocated,
    /// Some line could not be covered; retried when stock arrives, oldest order first.
    Backordered,
    /// In a pick wave.
    Picking,
    /// Picked into its tote, waiting for packing.
    Picked,
    /// Picked, with cut-to-fit lines waiting for hulklip.
    Cutting,
    Packed,
    Shipped,
    Delivered,
    Cancelled,
}

impl OrderStatus {
    pub const ALL: [OrderStatus; 10] = [
        OrderStatus::Received,
        OrderStatus::Allocated,
        OrderStatus::Backordered,
        OrderStatus::Picking,
        OrderStatus::Picked,
        OrderStatus::Cutting,
        OrderStatus::Packed,
        OrderStatus::Shipped,
        OrderStatus::Delivered,
        OrderStatus::Cancelled,
    ];
    pub fn as_str(self) -> &'static str {
        match self {
            OrderStatus::Received => "received",
            OrderStatus::Allocated => "allocated",
            OrderStatus::Backordered => "backordered",
            OrderStatus::Picking => "picking",
            OrderStatus::Picked => "picked",
            OrderStatus::Cutting => "cutting",
            OrderStatus::Packed => "packed",
            OrderStatus::Shipped => "shipped",
            OrderStatus::Delivered => "delivered",
            OrderStatus::Cancelled => "cancelled",
        }
    }
    pub fn from_db(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|k| k.as_str() == s)
    }
    /// Orders can be changed or cancelled until picking starts.
    pub fn changeable(self) -> bool {
        matches!(
            self,
            OrderStatus::Received | OrderStatus::Allocated | OrderStatus::Backordered
        )
    }
}

/// True when `text` holds something shaped like a Danish CPR number: six digits that form a
/// valid date DDMMYY, an optional '-' or space, and four more digits, not inside a longer run
/// of digits. konsign never stores CPR numbers.
pub fn looks_like_cpr(text: &str) -> bool {
    let b = text.as_bytes();
    let digit = |i: usize| b.get(i).is_some_and(u8::is_ascii_digit);
    for start in 0..b.len() {
        if !digit(start) || (start > 0 && digit(start - 1)) {
            continue;
        }
        if !(start..start + 6).all(digit) {
            continue;
        }
        let mut rest = start + 6;
        if matches!(b.get(rest), Some(b'-') | Some(b' ')) {
            rest += 1;
        }
        if !(rest..rest + 4).all(digit) || digit(rest + 4) {
            continue;
        }
        let n = |i: usize| i32::from(b[i] - b'0') * 10 + i32::from(b[i + 1] - b'0');
        let (dd, mm, yy) = (n(start), n(start + 2), n(start + 4));
        // Any century will do for the check: 2000 is a leap year, so 29 February passes.
        if NaiveDate::from_ymd_opt(2000 + yy, mm as u32, dd as u32).is_some() {
            return true;
        }
    }
    false
}

fn text(field: &str, v: &str, max: usize, required: bool) -> Result<Option<String>, Invalid> {
    let v = v.trim();
    if v.is_empty() {
        return if required {
            Err(Invalid::new(field, "must not be empty"))
        } else {
            Ok(None)
        };
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
    if looks_like_cpr(v) {
        return Err(Invalid::new(
            field,
            "looks like a CPR number; konsign must not receive CPR numbers (use the pseudonymous citizen id)",
        ));
    }
    Ok(Some(v.to_string()))
}

fn required(field: &str, v: &str, max: usize) -> Result<String, Invalid> {
    Ok(text(field, v, max, true)?.unwrap_or_default())
}

/// An external order id: the ordering system's key, 1 to 64 of letters, digits and `-_.:/`.
pub fn external_id(v: &str) -> Result<String, Invalid> {
    let v = v.trim();
    if v.is_empty() || v.len() > 64 {
        return Err(Invalid::new("external_id", "must be 1 to 64 characters"));
    }
    if !v
        .bytes()
        .all(|b| b.is_ascii_alphanumeric() || b"-_.:".contains(&b))
    {
        return Err(Invalid::new(
            "external_id",
            "may contain only letters, digits, '-', '_', '.' and ':'",
        ));
    }
    if looks_like_cpr(v) {
        return Err(Invalid::new(
            "external_id",
            "looks like a CPR number; konsign must not receive CPR numbers",
        ));
    }
    Ok(v.to_string())
}

/// The payer as the ordering system sends it.
#[derive(Debug, Clone, Default, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PayerInput {
    /// Municipality or region code, for example `0751` (Aarhus) or `1082` (Region Midtjylland).
    pub code: String,
    pub name: String,
    /// The payer's EAN location number (GLN, 13 digits) for public e-invoicing.
    pub ean: String,
}

/// Recipient and delivery address; the only personal data konsign keeps besides the citizen id.
#[derive(Debug, Clone, Default, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RecipientInput {
    pub name: String,
    pub address_line1: String,
    #[serde(default)]
    pub address_line2: Option<String>,
    pub postcode: String,
    pub city: String,
    /// ISO 3166 alpha-2; `DK` when left out.
    #[serde(default)]
    pub country: Option<String>,
    /// For the carrier's delivery notification only.
    #[serde(default)]
    pub phone: Option<String>,
    #[serde(default)]
    pub email: Option<String>,
}

/// A cut spec as sent: `round` with `diameter_mm`, `oval` with `width_mm` and `height_mm`, or
/// `template` with `template_id` and `template_version`; always with `measured_on`.
#[derive(Debug, Clone, Default, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CutInput {
    pub shape: String,
    #[serde(default)]
    pub diameter_mm: Option<i64>,
    #[serde(default)]
    pub width_mm: Option<i64>,
    #[serde(default)]
    pub height_mm: Option<i64>,
    #[serde(default)]
    pub template_id: Option<String>,
    #[serde(default)]
    pub template_version: Option<i64>,
    /// When the stoma was measured (`YYYY-MM-DD`).
    pub measured_on: String,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct LineInput {
    pub gtin: String,
    /// Packs.
    pub quantity: i64,
    #[serde(default)]
    pub cut: Option<CutInput>,
}

/// An order as the ordering web system posts it.
#[derive(Debug, Clone, Default, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct OrderInput {
    /// The ordering system's id: the idempotency key of the intake.
    pub external_id: String,
    pub payer: PayerInput,
    /// The grant (bevilling) the order is made under.
    pub grant_ref: String,
    /// Pseudonymous citizen id from the ordering system. Never a CPR number.
    pub citizen_id: String,
    pub recipient: RecipientInput,
    /// Requested delivery date, `YYYY-MM-DD`.
    pub delivery_date: String,
    pub lines: Vec<LineInput>,
}

/// A validated cut spec.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(tag = "shape", rename_all = "snake_case")]
pub enum CutSpec {
    Round {
        diameter_mm: i64,
    },
    Oval {
        width_mm: i64,
        height_mm: i64,
    },
    Template {
        template_id: String,
        template_version: i64,
    },
}

impl CutSpec {
    /// The spec in words, as the sticker and the operator see it.
    pub fn describe(&self) -> String {
        match self {
            CutSpec::Round { diameter_mm } => format!("Ø {diameter_mm} mm"),
            CutSpec::Oval {
                width_mm,
                height_mm,
            } => format!("oval {width_mm} x {height_mm} mm"),
            CutSpec::Template {
                template_id,
                template_version,
            } => format!("skabelon {template_id} v{template_version}"),
        }
    }
    pub fn shape(&self) -> &'static str {
        match self {
            CutSpec::Round { .. } => "round",
            CutSpec::Oval { .. } => "oval",
            CutSpec::Template { .. } => "template",
        }
    }
    /// `(a, b)` in millimetres as stored: diameter, or width and height.
    pub fn dims(&self) -> (Option<i64>, Option<i64>) {
        match self {
            CutSpec::Round { diameter_mm } => (Some(*diameter_mm), None),
            CutSpec::Oval {
                width_mm,
                height_mm,
            } => (Some(*width_mm), Some(*height_mm)),
            CutSpec::Template { .. } => (None, None),
        }
    }
    /// Rebuilds a stored spec.
    pub fn from_db(
        shape: &str,
        a: Option<i64>,
        b: Option<i64>,
        template: Option<String>,
        version: Option<i64>,
    ) -> Option<Self> {
        match shape {
            "round" => Some(CutSpec::Round { diameter_mm: a? }),
            "oval" => Some(CutSpec::Oval {
                width_mm: a?,
                height_mm: b?,
            }),
            "template" => Some(CutSpec::Template {
                template_id: template?,
                template_version: version?,
            }),
            _ => None,
        }
    }
}

/// What the intake needs to know of a product to validate a line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProductRules {
    pub name: String,
    pub cut: Option<CutRange>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct NewLine {
    pub line_no: i64,
    pub gtin: String,
    pub quantity: i64,
    pub cut: Option<CutSpec>,
    pub cut_measured_on: Option<NaiveDate>,
}

/// A missing quantity on a backordered order (stored as JSON in this field order).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[schema(as = OrderMissing)]
pub struct Missing {
    pub line_no: i64,
    pub gtin: String,
    pub missing: i64,
}

/// A validated order, ready to be stored.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct NewOrder {
    pub external_id: String,
    pub payer_code: String,
    pub payer_name: String,
    pub payer_ean: String,
    pub grant_ref: String,
    pub citizen_id: String,
    pub recipient_name: String,
    pub address_line1: String,
    pub address_line2: Option<String>,
    pub postcode: String,
    pub city: String,
    pub country: String,
    pub phone: Option<String>,
    pub email: Option<String>,
    pub delivery_date: NaiveDate,
    pub lines: Vec<NewLine>,
}

impl NewOrder {
    pub fn has_cut(&self) -> bool {
        self.lines.iter().any(|l| l.cut.is_some())
    }
}

fn cut_spec(
    at: &str,
    c: &CutInput,
    product: &ProductRules,
    gtin: &str,
    today: NaiveDate,
) -> Result<(CutSpec, NaiveDate), Invalid> {
    let Some(range) = product.cut else {
        return Err(Invalid::new(
            format!("{at}.cut"),
            format!(
                "{} ({gtin}) is not cut-to-fit; send the line without a cut spec",
                product.name
            ),
        ));
    };
    let in_range = |field: &str, v: Option<i64>| -> Result<i64, Invalid> {
        let f = format!("{at}.cut.{field}");
        let v = v.ok_or_else(|| Invalid::new(&f, "is required for this shape"))?;
        if !(range.min_mm..=range.max_mm).contains(&v) {
            return Err(Invalid::new(
                &f,
                format!(
                    "{v} mm is outside the cut range of {} ({}-{} mm)",
                    product.name, range.min_mm, range.max_mm
                ),
            ));
        }
        Ok(v)
    };
    let shape_not_allowed = |shape: &str| {
        Invalid::new(
            format!("{at}.cut.shape"),
            format!("{} cannot be cut {shape}", product.name),
        )
    };
    let spec = match c.shape.trim() {
        "round" => {
            if !range.round {
                return Err(shape_not_allowed("round"));
            }
            CutSpec::Round {
                diameter_mm: in_range("diameter_mm", c.diameter_mm)?,
            }
        }
        "oval" => {
            if !range.oval {
                return Err(shape_not_allowed("oval"));
            }
            CutSpec::Oval {
                width_mm: in_range("width_mm", c.width_mm)?,
                height_mm: in_range("height_mm", c.height_mm)?,
            }
        }
        "template" => {
            let id = c.template_id.as_deref().unwrap_or("");
            let id = text(&format!("{at}.cut.template_id"), id, 64, true)?.unwrap_or_default();
            let version = c.template_version.ok_or_else(|| {
                Invalid::new(
                    format!("{at}.cut.template_version"),
                    "is required for a template",
                )
            })?;
            if !(1..=100_000).contains(&version) {
                return Err(Invalid::new(
                    format!("{at}.cut.template_version"),
                    "must be between 1 and 100000",
                ));
            }
            CutSpec::Template {
                template_id: id,
                template_version: version,
            }
        }
        _ => {
            return Err(Invalid::new(
                format!("{at}.cut.shape"),
                "must be round, oval or template",
            ))
        }
    };
    let measured = NaiveDate::parse_from_str(c.measured_on.trim(), "%Y-%m-%d").map_err(|_| {
        Invalid::new(
            format!("{at}.cut.measured_on"),
            "must be a date written YYYY-MM-DD",
        )
    })?;
    if measured > today {
        return Err(Invalid::new(
            format!("{at}.cut.measured_on"),
            "must not be in the future",
        ));
    }
    if measured.year() < 2000 {
        return Err(Invalid::new(
            format!("{at}.cut.measured_on"),
            "must be in 2000 or later",
        ));
    }
    Ok((spec, measured))
}

impl OrderInput {
    /// Validates the whole order against the catalog; the first problem is returned, named by
    /// its field path (`lines[2].cut.diameter_mm`, lines counted from 1).
    pub fn validate(
        &self,
        products: &HashMap<String, ProductRules>,
        today: NaiveDate,
    ) -> Result<NewOrder, Invalid> {
        let external_id = external_id(&self.external_id)?;
        let payer_code = required("payer.code", &self.payer.code, 32)?;
        if !payer_code
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-')
        {
            return Err(Invalid::new(
                "payer.code",
                "may contain only letters, digits and '-'",
            ));
        }
        let payer_name = required("payer.name", &self.payer.name, 200)?;
        let payer_ean = self.payer.ean.trim().to_string();
        if payer_ean.len() != 13 || Gtin::parse(&payer_ean).is_err() {
            return Err(Invalid::new(
                "payer.ean",
                "must be a 13-digit EAN location number with a valid check digit",
            ));
        }
        let grant_ref = required("grant_ref", &self.grant_ref, 64)?;
        let citizen_id = required("citizen_id", &self.citizen_id, 64)?;
        let r = &self.recipient;
        let recipient_name = required("recipient.name", &r.name, 200)?;
        let address_line1 = required("recipient.address_line1", &r.address_line1, 200)?;
        let address_line2 = text(
            "recipient.address_line2",
            r.address_line2.as_deref().unwrap_or(""),
            200,
            false,
        )?;
        let postcode = required("recipient.postcode", &r.postcode, 16)?;
        let city = required("recipient.city", &r.city, 100)?;
        let country = r
            .country
            .as_deref()
            .map(|c| c.trim().to_ascii_uppercase())
            .filter(|c| !c.is_empty())
            .unwrap_or_else(|| "DK".into());
        if country.len() != 2 || !country.bytes().all(|b| b.is_ascii_uppercase()) {
            return Err(Invalid::new(
                "recipient.country",
                "must be a two-letter ISO 3166 code such as DK",
            ));
        }
        if country == "DK" && !(postcode.len() == 4 && postcode.bytes().all(|b| b.is_ascii_digit()))
        {
            return Err(Invalid::new(
                "recipient.postcode",
                "a Danish postcode has four digits",
            ));
        }
        let phone = text(
            "recipient.phone",
            r.phone.as_deref().unwrap_or(""),
            20,
            false,
        )?;
        if let Some(p) = &phone {
            if !p.chars().all(|c| c.is_ascii_digit() || " +-()".contains(c)) {
                return Err(Invalid::new(
                    "recipient.phone",
                    "may contain only digits, spaces and + - ( )",
                ));
            }
        }
        let email = text(
            "recipient.email",
            r.email.as_deref().unwrap_or(""),
            200,
            false,
        )?;
        if let Some(e) = &email {
            let ok = e
                .split_once('@')
                .is_some_and(|(a, d)| !a.is_empty() && d.contains('.') && !e.contains(' '));
            if !ok {
                return Err(Invalid::new("recipient.email", "is not an e-mail address"));
            }
        }
        let delivery_date = NaiveDate::parse_from_str(self.delivery_date.trim(), "%Y-%m-%d")
            .map_err(|_| Invalid::new("delivery_date", "must be a date written YYYY-MM-DD"))?;
        if delivery_date < today {
            return Err(Invalid::new(
                "delivery_date",
                format!("{delivery_date} is in the past"),
            ));
        }
        if (delivery_date - today).num_days() > MAX_DAYS_AHEAD {
            return Err(Invalid::new(
                "delivery_date",
                format!("must be within {MAX_DAYS_AHEAD} days"),
            ));
        }
        if self.lines.is_empty() {
            return Err(Invalid::new("lines", "an order needs at least one line"));
        }
        if self.lines.len() > MAX_LINES {
            return Err(Invalid::new(
                "lines",
                format!("an order has at most {MAX_LINES} lines"),
            ));
        }
        let mut lines = Vec::with_capacity(self.lines.len());
        for (i, l) in self.lines.iter().enumerate() {
            let at = format!("lines[{}]", i + 1);
            let gtin = Gtin::parse(&l.gtin)
                .map_err(|e| Invalid::new(format!("{at}.gtin"), e.to_string()))?
                .to_string();
            let product = products.get(&gtin).ok_or_else(|| {
                Invalid::new(format!("{at}.gtin"), format!("unknown product {gtin}"))
            })?;
            if !(1..=MAX_LINE_QUANTITY).contains(&l.quantity) {
                return Err(Invalid::new(
                    format!("{at}.quantity"),
                    format!("must be between 1 and {MAX_LINE_QUANTITY} packs"),
                ));
            }
            let (cut, measured) = match &l.cut {
                None => (None, None),
                Some(c) => {
                    let (spec, m) = cut_spec(&at, c, product, &gtin, today)?;
                    (Some(spec), Some(m))
                }
            };
            lines.push(NewLine {
                line_no: i as i64 + 1,
                gtin,
                quantity: l.quantity,
                cut,
                cut_measured_on: measured,
            });
        }
        Ok(NewOrder {
            external_id,
            payer_code: payer_code.to_ascii_uppercase(),
            payer_name,
            payer_ean,
            grant_ref,
            citizen_id,
            recipient_name,
            address_line1,
            address_line2,
            postcode,
            city,
            country,
            phone,
            email,
            delivery_date,
            lines,
        })
    }
}

/// An order event's payload: ids and status (no personal data), then `extra`'s fields.
pub fn event_payload(
    (id, external_id, status): (i64, &str, OrderStatus),
    extra: serde_json::Value,
) -> serde_json::Value {
    let mut payload =
        serde_json::json!({ "external_id": external_id, "order_id": id, "status": status });
    if let (Some(p), serde_json::Value::Object(e)) = (payload.as_object_mut(), extra) {
        for (k, v) in e {
            p.insert(k, v);
        }
    }
    payload
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(s: &str) -> NaiveDate {
        NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap()
    }

    fn products() -> HashMap<String, ProductRules> {
        let mut m = HashMap::new();
        m.insert(
            "05708932000017".into(),
            ProductRules {
                name: "Basisplade".into(),
                cut: Some(CutRange {
                    min_mm: 10,
                    max_mm: 43,
                    round: true,
                    oval: false,
                }),
            },
        );
        m.insert(
            "05708932000024".into(),
            ProductRules {
                name: "Pose".into(),
                cut: None,
            },
        );
        m
    }

    fn input() -> OrderInput {
        OrderInput {
            external_id: "WEB-1".into(),
            payer: PayerInput {
                code: "0751".into(),
                name: "Aarhus Kommune".into(),
                ean: "5798000000001".into(),
            },
            grant_ref: "BEV-1".into(),
            citizen_id: "c-1".into(),
            recipient: RecipientInput {
                name: "Åse Ørum".into(),
                address_line1: "Søndergade 1".into(),
                postcode: "8000".into(),
                city: "Aarhus C".into(),
                ..Default::default()
            },
            delivery_date: "2026-12-01".into(),
            lines: vec![LineInput {
                gtin: "5708932000017".into(),
                quantity: 2,
                cut: Some(CutInput {
                    shape: "round".into(),
                    diameter_mm: Some(32),
                    measured_on: "2026-11-01".into(),
                    ..Default::default()
                }),
            }],
        }
    }

    #[test]
    fn cpr_numbers_are_recognised_with_and_without_dash() {
        assert!(looks_like_cpr("010203-1234"));
        assert!(looks_like_cpr("cpr 0102031234"));
        assert!(looks_like_cpr("290200 1234"), "29 February of a leap year");
        assert!(!looks_like_cpr("320203-1234"), "day 32 is no date");
        assert!(!looks_like_cpr("01020312345"), "eleven digits are no CPR");
        assert!(!looks_like_cpr("+45 12345678"));
        assert!(!looks_like_cpr("c-8f3a"));
    }

    #[test]
    fn a_valid_order_is_normalised() {
        let o = input().validate(&products(), d("2026-11-29")).unwrap();
        assert_eq!(o.lines[0].gtin, "05708932000017");
        assert_eq!(o.country, "DK");
        assert_eq!(o.lines[0].cut, Some(CutSpec::Round { diameter_mm: 32 }));
        assert!(o.has_cut());
    }

    #[test]
    fn problems_name_the_line_and_field() {
        let today = d("2026-11-29");
        let mut i = input();
        i.lines[0].cut.as_mut().unwrap().diameter_mm = Some(60);
        let e = i.validate(&products(), today).unwrap_err();
        assert_eq!(e.field, "lines[1].cut.diameter_mm");
        assert!(e.message.contains("outside the cut range"), "{e}");

        let mut i = input();
        i.lines.push(LineInput {
            gtin: "5708932000024".into(),
            quantity: 1,
            cut: Some(CutInput {
                shape: "round".into(),
                diameter_mm: Some(20),
                measured_on: "2026-11-01".into(),
                ..Default::default()
            }),
        });
        let e = i.validate(&products(), today).unwrap_err();
        assert_eq!(e.field, "lines[2].cut");
        assert!(e.message.contains("not cut-to-fit"));

        let mut i = input();
        i.lines[0].cut.as_mut().unwrap().shape = "oval".into();
        assert_eq!(
            i.validate(&products(), today).unwrap_err().field,
            "lines[1].cut.shape"
        );

        let mut i = input();
        i.lines[0].gtin = "5708932000031".into();
        let e = i.validate(&products(), today).unwrap_err();
        assert_eq!(e.field, "lines[1].gtin");
        assert!(e.message.contains("unknown product"));

        let mut i = input();
        i.lines[0].quantity = 0;
        assert_eq!(
            i.validate(&products(), today).unwrap_err().field,
            "lines[1].quantity"
        );

        let mut i = input();
        i.citizen_id = "010203-1234".into();
        let e = i.validate(&products(), today).unwrap_err();
        assert_eq!(e.field, "citizen_id");
        assert!(e.message.contains("CPR"));

        let mut i = input();
        i.delivery_date = "2026-11-28".into();
        assert_eq!(
            i.validate(&products(), today).unwrap_err().field,
            "delivery_date"
        );
    }

    #[test]
    fn cut_specs_read_as_words() {
        assert_eq!(CutSpec::Round { diameter_mm: 32 }.describe(), "Ø 32 mm");
        assert_eq!(
            CutSpec::Oval {
                width_mm: 30,
                height_mm: 25
            }
            .describe(),
            "oval 30 x 25 mm"
        );
    }
}
