//! Reports over history as data.

use crate::domain::auth::allow;
use crate::http::auth::Caller;
use crate::http::error::{ApiResult, ErrorBody, Json, Params, Query};
use crate::http::AppState;
use crate::service::reports::{self as svc, Period, ThroughputReport};
use axum::extract::State;
use serde::Deserialize;

/// The range and grouping of a report.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ReportQuery {
    /// First day (`YYYY-MM-DD`, Copenhagen), inclusive.
    pub from: String,
    /// Last day, inclusive; at most 1100 days after `from`.
    pub to: String,
    /// `day` (default), `week` (ISO, Monday first) or `month`.
    #[param(value_type = Option<Period>, inline)]
    pub period: Option<String>,
}

impl ReportQuery {
    pub fn parse(&self) -> crate::error::Result<(chrono::NaiveDate, chrono::NaiveDate, Period)> {
        let (from, to) = svc::range(&self.from, &self.to)?;
        let period = Period::parse(self.period.as_deref().unwrap_or("day"))?;
        Ok((from, to, period))
    }
}

/// Throughput per day, week or month over a range: orders received, packs picked, cutting
/// jobs finished, parcels closed and handed over, every period of the range (empty ones as 0),
/// with totals and parcels closed by weekday and hour.
#[utoipa::path(get, path = "/api/reports/throughput", operation_id = "report_throughput", tag = "dashboard", params(ReportQuery),
    responses((status = 200, body = ThroughputReport), (status = 422, body = ErrorBody)),
    security(("session" = []), ("bearer" = [])))]
pub async fn throughput(
    State(s): State<AppState>,
    caller: Caller,
    q: Params<ReportQuery>,
) -> ApiResult<Json<ThroughputReport>> {
    caller.require(allow::LEAD)?;
    let Query(q) = q?;
    let (from, to, period) = q.parse()?;
    Ok(Json(svc::throughput(&s.ctx, from, to, period).await?))
}
