//! What a scan or a typed code names on the floor: a product (GS1, EAN, HIBC: its stock, by lot
//! when the code carries one, with where it is usually put away) or a location (what should be
//! there). The stock pages use it to put away, move and count by scanning.

use super::stock::{units, UnitView};
use super::{today, Ctx};
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
    // Read as the pick page reads a keyboard-wedge or scanner code (no pick location or lots to
    // tell it apart here: the location was tried above).
    let (gtin, lot, expiry) = match crate::domain::picking::read_wedge(code, "", &[], today()) {
        Ok(crate::domain::picking::Scanned::Product { gtin, lot, expiry }) => (gtin, lot, expiry),
        Ok(_) => return Err(Error::invalid("code", "not a product or location barcode")),
        Err(e) => return Err(Error::invalid("code", e.message)),
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
    let units = match &lot {
        Some(lot) => all.into_iter().filter(|u| &u.lot == lot).collect(),
        None => all,
    };
    Ok(Lookup {
        kind: "product".into(),
        gtin: Some(gtin),
        product_name: Some(product.name),
        lot,
        expiry: expiry.map(|d| d.to_string()),
        location: None,
        location_kind: None,
        units,
        suggested_location,
    })
}
