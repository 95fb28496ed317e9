//! A parcel as the API shows it: its row, what was scanned into it, its ownership transfers and
//! where its documents are; and the parcel list.

use super::Ctx;
use crate::error::{Error, Result};
use crate::service::views;
use crate::store::packing as db;
use crate::store::parcels::{self as pdb, ParcelRow};
use serde::Serialize;

/// A parcel with its contents, its ownership transfers and where its documents are.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct ParcelView {
    #[serde(flatten)]
    pub parcel: views::parcels::Parcel,
    pub items: Vec<views::packing::PackItem>,
    pub transfers: Vec<views::parcels::Transfer>,
    /// `GET` of the shipping label as printed (audit-logged), when it was printed.
    pub label_url: Option<String>,
    /// `GET` of the packing slip PDF (audit-logged).
    pub slip_url: String,
    /// Why the label could not be queued, if it could not (the parcel is closed all the same).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub print_error: Option<String>,
    /// The same in Danish, for pages.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub print_error_da: Option<String>,
    /// The print error's code and field, which `print_error_da` is worded from.
    #[serde(skip)]
    pub print_error_code: Option<(String, Option<String>)>,
}

pub(crate) async fn view(ctx: &Ctx, id: i64) -> Result<ParcelView> {
    let mut conn = ctx.db.pool().acquire().await?;
    let parcel = pdb::parcel(&mut conn, id)
        .await?
        .ok_or_else(|| Error::NotFound(format!("parcel {id}")))?;
    let items = db::items_of_parcel(&mut conn, id).await?;
    let transfers = pdb::transfers_of_parcel(&mut conn, id).await?;
    Ok(ParcelView {
        label_url: parcel
            .label_job
            .as_ref()
            .map(|j| format!("/api/print-jobs/{j}/label")),
        slip_url: format!("/api/parcels/{id}/packing-slip.pdf"),
        parcel: parcel.into(),
        items: views::all(items),
        transfers: views::all(transfers),
        print_error: None,
        print_error_da: None,
        print_error_code: None,
    })
}

pub async fn get(ctx: &Ctx, id: i64) -> Result<ParcelView> {
    view(ctx, id).await
}

/// Parcels by state and closing day (Copenhagen), without personal data. `carrier` filters on
/// the configured carrier until bookings carry their own.
pub async fn list(
    ctx: &Ctx,
    state: Option<&str>,
    day: Option<&str>,
    carrier: Option<&str>,
    after: i64,
    limit: i64,
) -> Result<Vec<ParcelRow>> {
    crate::domain::states::ParcelState::parse_filter("state", state)?;
    if let Some(c) = carrier {
        if !c.eq_ignore_ascii_case(&ctx.config.packing.carrier) {
            return Ok(Vec::new());
        }
    }
    let (from, until) = match day {
        None => (None, None),
        Some(d) => {
            let d = chrono::NaiveDate::parse_from_str(d.trim(), "%Y-%m-%d")
                .map_err(|_| Error::invalid("day", "must be a date written YYYY-MM-DD"))?;
            let start = crate::domain::time::start_of_business_day(d);
            let end = crate::domain::time::start_of_business_day(d + chrono::Duration::days(1));
            (
                Some(crate::domain::time::to_db(start)),
                Some(crate::domain::time::to_db(end)),
            )
        }
    };
    let f = pdb::ParcelFilter {
        state: state.map(str::to_string),
        from,
        until,
        after_id: after.max(0),
        limit: limit.clamp(1, 1000),
    };
    Ok(pdb::list_parcels(ctx.db.pool(), &f).await?)
}
