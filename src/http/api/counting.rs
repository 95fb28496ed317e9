//! Counting locations: the count sheet, booking a blind count (closing the location's count
//! tasks), count tasks, and a lead's cycle count runs.

use crate::domain::auth::allow;
use crate::http::auth::Caller;
use crate::http::error::{ApiResult, Body, ErrorBody, Json, Params, Path, Query};
use crate::http::AppState;
use crate::service::counting::TaskFilter;
use crate::service::counting::{self as svc, CountRequest, CountResult, CountSheet, RunRequest};
use crate::service::views::{
    self,
    counting::{CountRun, CountTask},
};
use axum::extract::State;
use serde::Deserialize;

/// What the system holds at a location, lot by lot, and its open count tasks. A counting page
/// shows the lots and hides the quantities until the count is entered.
#[utoipa::path(get, path = "/api/count-sheets/{location}", tag = "counting", params(("location" = String, Path)),
    responses((status = 200, body = CountSheet), (status = 422, body = ErrorBody)),
    security(("session" = []), ("bearer" = [])))]
pub async fn sheet(
    State(s): State<AppState>,
    caller: Caller,
    Path(location): Path<String>,
) -> ApiResult<Json<CountSheet>> {
    caller.require(allow::STOCK_CONTROL)?;
    Ok(Json(svc::sheet(&s.ctx, &location).await?))
}

/// Book a count of a location: every lot the system holds there counted (0 when none are
/// there) plus lots found that it does not hold. Each lot's difference is booked in one
/// operation (kind `count`), packs a short pick held and the count found are released, and the
/// location's open count tasks are closed. Idempotent by `idempotency_key`; refused with 409
/// `count_superseded` when someone else counted the location meanwhile.
#[utoipa::path(post, path = "/api/counts", tag = "counting", request_body = CountRequest,
    responses((status = 200, body = CountResult), (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)),
    security(("session" = []), ("bearer" = [])))]
pub async fn count(
    State(s): State<AppState>,
    caller: Caller,
    r: Body<CountRequest>,
) -> ApiResult<Json<CountResult>> {
    let p = caller.require(allow::STOCK_CONTROL)?;
    let Json(r) = r?;
    Ok(Json(svc::count(&s.ctx, &p.actor, &r).await?))
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct TaskQuery {
    /// open, done or cancelled
    #[param(value_type = Option<crate::domain::states::CountTaskStatus>, inline)]
    pub status: Option<String>,
    pub run_id: Option<i64>,
    pub location: Option<String>,
    /// At most this many (1 to 1000, default 200).
    #[param(minimum = 1, maximum = 1000)]
    pub limit: Option<i64>,
}

/// Count tasks: open ones in walk order first, then the newest done or cancelled.
#[utoipa::path(get, path = "/api/count-tasks", tag = "counting", params(TaskQuery),
    responses((status = 200, body = Vec<CountTask>), (status = 422, body = ErrorBody)),
    security(("session" = []), ("bearer" = [])))]
pub async fn tasks(
    State(s): State<AppState>,
    caller: Caller,
    q: Params<TaskQuery>,
) -> ApiResult<Json<Vec<CountTask>>> {
    caller.require(allow::STOCK_FLOOR)?;
    let Query(q) = q?;
    let f = TaskFilter {
        status: q.status,
        run_id: q.run_id,
        location: q.location,
        limit: q.limit.unwrap_or(200),
    };
    Ok(Json(views::all(svc::tasks(&s.ctx, &f).await?)))
}

/// Cycle count runs with their progress, newest first.
#[utoipa::path(get, path = "/api/count-runs", tag = "counting",
    responses((status = 200, body = Vec<CountRun>)), security(("session" = []), ("bearer" = [])))]
pub async fn runs(State(s): State<AppState>, caller: Caller) -> ApiResult<Json<Vec<CountRun>>> {
    caller.require(allow::STOCK_FLOOR)?;
    Ok(Json(views::all(svc::runs(&s.ctx).await?)))
}

/// Start a cycle count: a count task for every countable location of a zone, holding a
/// product, or not counted for some days.
#[utoipa::path(post, path = "/api/count-runs", tag = "counting", request_body = RunRequest,
    responses((status = 200, body = CountRun), (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)),
    security(("session" = []), ("bearer" = [])))]
pub async fn create_run(
    State(s): State<AppState>,
    caller: Caller,
    r: Body<RunRequest>,
) -> ApiResult<Json<CountRun>> {
    let p = caller.require(allow::STOCK_CONTROL)?;
    let Json(r) = r?;
    Ok(Json(svc::create_run(&s.ctx, &p.actor, &r).await?.into()))
}

/// Cancel a cycle count run's open tasks (those counted stay counted).
#[utoipa::path(post, path = "/api/count-runs/{id}/cancel", tag = "counting", params(("id" = i64, Path)),
    responses((status = 200, body = CountRun), (status = 404, body = ErrorBody)),
    security(("session" = []), ("bearer" = [])))]
pub async fn cancel_run(
    State(s): State<AppState>,
    caller: Caller,
    Path(id): Path<i64>,
) -> ApiResult<Json<CountRun>> {
    let p = caller.require(allow::STOCK_CONTROL)?;
    Ok(Json(svc::cancel_run(&s.ctx, &p.actor, id).await?.into()))
}
