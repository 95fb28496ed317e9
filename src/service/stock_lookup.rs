//! What a scan or a typed code names on the floor: a product (GS1, EAN, HIBC: its stock, by lot
//! when the code carries one, with where it is usually put away) or a location (what should be
//! there). The stock pages use it to put away, move and count by scanning.

use super::stock::{units, UnitView};
use super::{today, Ctx};
use crate::domain::gs1;
use crate::error::{Error, Result};
use crate::store::stock::UnitFilter;
use serde::Serialize;

/// What a code names, with the stock that goes with it.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct Lookup {
    /// product or location
    pub kind: String,
    pub gtin: Option<String>,
    pub product_name: Option<String>,
    pub lot: Option<String>,
    pub expiry: Option<String>,
    /// The location code (kind location).
    pub location: Option<String>,
    pub location_kind: Option<String>,
    /// Its stock: of the product (and lot) everywhere, or everything at the location.
    pub units: Vec<UnitView>,
    /// Where the product is usually put away: the pick location holding most of it, else a
    /// reserve location holding it.
    pub suggested_location: Option<String>,
}

/// Reads what `code` names. Unknown codes are refused with the reason.
pub async fn lookup(ctx: &Ctx, code: &str) -> Result<Lookup> {
    let code = code.trim();
    if code.is_empty() || code.len() > 200 {
        return Err(Error::invalid(
            "code",
            "scan or type a barcode (at most 200 characters)",
        ));
    }
    if let Some((loc, kind)) = super::scans::location_label(ctx, code.as_bytes()).await? {
        let units = units(
            ctx,
            &UnitFilter {
                location: Some(loc.clone()),
                ..Default::default()
            },
        )
        .await?;
        return Ok(Lookup {
            kind: "location".into(),
            gtin: None,
            product_name: None,
            lot: None,
            expiry: None,
            location: Some(loc),
            location_kind: Some(kind),
            units,
            suggested_location: None,
        });
    }
    let scan = read_typed(code)
        .map_err(|e| Error::invalid("code", format!("not a product or location barcode: {e}")))?;
    let Some(gtin) = scan.gtin.map(|g| g.to_string()) else {
        return Err(Error::invalid("code", "not a product or location barcode"));
    };
    let mut conn = ctx.db.pool().acquire().await?;
    let Some(product) = crate::store::catalog::product(&mut conn, &gtin).await? else {
        return Err(Error::invalid("code", format!("unknown product {gtin}")));
    };
    drop(conn);
    let all = units(
        ctx,
        &UnitFilter {
            gtin: Some(gtin.clone()),
            ..Default::default()
        },
    )
    .await?;
    let suggested_location = ["pick", "reserve"].iter().find_map(|kind| {
        all.iter()
            .filter(|u| u.location_kind == *kind)
            .max_by_key(|u| u.quantity)
            .map(|u| u.location.clone())
    });
    let units = match &scan.lot {
        Some(lot) => all.into_iter().filter(|u| &u.lot == lot).collect(),
        None => all,
    };
    Ok(Lookup {
        kind: "product".into(),
        gtin: Some(gtin),
        product_name: Some(product.name),
        lot: scan.lot,
        expiry: scan.expiry.map(|d| d.to_string()),
        location: None,
        location_kind: None,
        units,
        suggested_location,
    })
}

/// Reads a code as a scanner sends it (with its AIM identifier) or as a keyboard-wedge handheld
/// or a person types it: a GS1 element string starting with `01` (the lot last, or ended by a
/// group separator), a bare GTIN, an EAN, a HIBC or the bracketed form.
fn read_typed(code: &str) -> std::result::Result<gs1::Scan, gs1::Gs1Error> {
    let t = code.trim();
    let digits16 = t.len() > 16 && t.bytes().take(16).all(|b| b.is_ascii_digit());
    if !t.starts_with(']') && t.starts_with("01") && digits16 {
        return gs1::parse(format!("]C1{t}").as_bytes(), today());
    }
    if t.len() == 14 && t.bytes().all(|b| b.is_ascii_digit()) {
        return gs1::parse(format!("]C101{t}").as_bytes(), today());
    }
    gs1::parse(t.as_bytes(), today())
}
