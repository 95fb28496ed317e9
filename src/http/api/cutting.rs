//! Hulklip cutting stations.

use crate::domain::auth::allow;
use crate::http::auth::Caller;
use crate::http::error::{ApiResult, Body, ErrorBody, Json, Params, Path, Query};
use crate::http::AppState;
use crate::service::cutting::{self as svc, StationInput, StationView};
use crate::service::views::{
    self,
    cutting::{CutJob, Replacement},
    printing::PrintJob,
};
use axum::extract::State;
use axum::http::StatusCode;

/// Every cutting station with its connection (online, offline, broken, unknown), factsheet and
/// last state snapshot.
#[utoipa::path(get, path = "/api/cut-stations", tag = "cutting", responses((status = 200, body = Vec<StationView>)),
    security(("session" = []), ("bearer" = [])))]
pub async fn list(State(s): State<AppState>, caller: Caller) -> ApiResult<Json<Vec<StationView>>> {
    caller.require(allow::CUTTING_READ)?;
    Ok(Json(svc::list_stations(&s.ctx).await?))
}

/// Add or change a cutting station (its id is the MQTT topic segment it publishes under).
#[utoipa::path(put, path = "/api/cut-stations/{id}", tag = "cutting", params(("id" = String, Path)), request_body = StationInput,
    responses((status = 204), (status = 422, body = ErrorBody)), security(("session" = []), ("bearer" = [])))]
pub async fn put(
    State(s): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    r: Body<StationInput>,
) -> ApiResult<StatusCode> {
    let p = caller.require(allow::ADMIN)?;
    let Json(r) = r?;
    svc::put_station(&s.ctx, &p.actor, &id, &r).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Debug, serde::Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CommandRequest {
    pub command: svc::StationCommand,
}

#[derive(Debug, serde::Serialize, utoipa::ToSchema)]
pub struct CommandSent {
    /// The id the station's `ack` names.
    pub cmd_id: String,
}

/// Tell a station to pause (finish the job on the machine, load no next one), resume, clear a
/// fault, or report its state. Answered by the station's ack (stored as an event).
#[utoipa::path(post, path = "/api/cut-stations/{id}/command", tag = "cutting", params(("id" = String, Path)), request_body = CommandRequest,
    responses((status = 202, body = CommandSent), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)),
    security(("session" = []), ("bearer" = [])))]
pub async fn command(
    State(s): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    r: Body<CommandRequest>,
) -> ApiResult<(StatusCode, Json<CommandSent>)> {
    let p = caller.require(allow::CUTTING)?;
    let Json(r) = r?;
    let cmd_id = svc::station_command(&s.ctx, &p.actor, &id, r.command).await?;
    Ok((StatusCode::ACCEPTED, Json(CommandSent { cmd_id })))
}

#[derive(Debug, serde::Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct JobQuery {
    /// queued, sent, accepted, running, recalling, finished, failed, cancelled
    #[param(value_type = Option<crate::domain::states::CutJobState>, inline)]
    pub state: Option<String>,
}

/// Cutting jobs, oldest first (at most 500).
#[utoipa::path(get, path = "/api/cut-jobs", tag = "cutting", params(JobQuery),
    responses((status = 200, body = Vec<CutJob>)), security(("session" = []), ("bearer" = [])))]
pub async fn jobs(
    State(s): State<AppState>,
    caller: Caller,
    q: Params<JobQuery>,
) -> ApiResult<Json<Vec<CutJob>>> {
    caller.require(allow::CUTTING_READ)?;
    let Query(q) = q?;
    Ok(Json(views::all(
        svc::jobs(&s.ctx, q.state.as_deref()).await?,
    )))
}

#[derive(Debug, serde::Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ReplacementQuery {
    /// Only this order's (its internal id).
    pub order_id: Option<i64>,
}

/// Damaged plates of failed cutting jobs, scrapped and picked again (newest first): `picking`
/// (a replacement wave is out), `short` (no stock: a lead must act) or `picked` (new job made).
#[utoipa::path(get, path = "/api/cut-replacements", tag = "cutting", params(ReplacementQuery),
    responses((status = 200, body = Vec<Replacement>)), security(("session" = []), ("bearer" = [])))]
pub async fn replacements(
    State(s): State<AppState>,
    caller: Caller,
    q: Params<ReplacementQuery>,
) -> ApiResult<Json<Vec<Replacement>>> {
    caller.require(allow::CUT_REPLACEMENTS_READ)?;
    let Query(q) = q?;
    Ok(Json(views::all(
        svc::replacements(&s.ctx, q.order_id).await?,
    )))
}

/// Try a `short` replacement again once stock has come in: its replacement wave is made now.
#[utoipa::path(post, path = "/api/cut-replacements/{id}/retry", tag = "cutting", params(("id" = i64, Path)),
    responses((status = 200, body = Replacement), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody)),
    security(("session" = []), ("bearer" = [])))]
pub async fn retry_replacement(
    State(s): State<AppState>,
    caller: Caller,
    Path(id): Path<i64>,
) -> ApiResult<Json<Replacement>> {
    let p = caller.require(allow::LEAD)?;
    Ok(Json(
        svc::retry_replacement(&s.ctx, &p.actor, id).await?.into(),
    ))
}

/// One cutting job with every transition.
#[utoipa::path(get, path = "/api/cut-jobs/{id}", tag = "cutting", params(("id" = String, Path)),
    responses((status = 200, body = svc::JobView), (status = 404, body = ErrorBody)), security(("session" = []), ("bearer" = [])))]
pub async fn job(
    State(s): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> ApiResult<Json<svc::JobView>> {
    caller.require(allow::CUTTING_READ)?;
    Ok(Json(svc::job(&s.ctx, &id).await?))
}

#[derive(Debug, serde::Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RequeueRequest {
    pub reason: String,
}

/// Take a job back from its station (a station out of service). The station is told to cancel
/// it and the job is `recalling` until the station says what became of it: nothing cut, it goes
/// back in the queue as a new revision; finished, it stays finished (never cut twice). A job at a
/// manual station goes back in the queue at once.
#[utoipa::path(post, path = "/api/cut-jobs/{id}/requeue", tag = "cutting", params(("id" = String, Path)), request_body = RequeueRequest,
    responses((status = 200, body = CutJob), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody)),
    security(("session" = []), ("bearer" = [])))]
pub async fn requeue(
    State(s): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    r: Body<RequeueRequest>,
) -> ApiResult<Json<CutJob>> {
    let p = caller.require(allow::LEAD)?;
    let Json(r) = r?;
    Ok(Json(
        svc::requeue(&s.ctx, &p.actor, &id, &r.reason).await?.into(),
    ))
}

#[derive(Debug, serde::Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ReleaseRequest {
    pub reason: String,
    /// Must be true: the lead has looked at the machine and the plate was not cut.
    pub plate_not_cut: bool,
}

/// Release a job being taken back whose station cannot answer (out of service): the lead says
/// the plate was not cut, and the job goes back in the queue as a new revision. Audit-logged.
#[utoipa::path(post, path = "/api/cut-jobs/{id}/release", tag = "cutting", params(("id" = String, Path)), request_body = ReleaseRequest,
    responses((status = 200, body = CutJob), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)),
    security(("session" = []), ("bearer" = [])))]
pub async fn release(
    State(s): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    r: Body<ReleaseRequest>,
) -> ApiResult<Json<CutJob>> {
    let p = caller.require(allow::LEAD)?;
    let Json(r) = r?;
    Ok(Json(
        svc::release(&s.ctx, &p.actor, &id, &r.reason, r.plate_not_cut)
            .await?
            .into(),
    ))
}

#[derive(Debug, serde::Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ActionRequest {
    pub action: svc::OperatorAction,
    /// Required for `fault` and `problem`.
    pub reason: Option<String>,
    /// For `fault`: how many plates were ruined (default 1). They are scrapped and picked
    /// again; the job's other uncut plates go back in the queue as a new job.
    pub plates_damaged: Option<i64>,
}

/// An operator starts a job (a linked station is told `start`; the job runs once the machine
/// says so), reports a problem (linked stations), or, at a manual station, confirms a job done
/// or reports a fault with its reason. At a linked station `done` and `fault` are refused (409
/// `machine_reports`): the machine's events decide.
#[utoipa::path(post, path = "/api/cut-jobs/{id}/action", tag = "cutting", params(("id" = String, Path)), request_body = ActionRequest,
    responses((status = 200, body = CutJob), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)),
    security(("session" = []), ("bearer" = [])))]
pub async fn action(
    State(s): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    r: Body<ActionRequest>,
) -> ApiResult<Json<CutJob>> {
    let p = caller.require(allow::CUTTING)?;
    let Json(r) = r?;
    Ok(Json(
        svc::operator_action(
            &s.ctx,
            &p.actor,
            &id,
            r.action,
            r.reason.as_deref(),
            r.plates_damaged,
        )
        .await?
        .into(),
    ))
}

/// Print a finished job's sticker again (a new print job).
#[utoipa::path(post, path = "/api/cut-jobs/{id}/reprint-sticker", tag = "cutting", params(("id" = String, Path)),
    responses((status = 202, body = PrintJob), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody)),
    security(("session" = []), ("bearer" = [])))]
pub async fn reprint_sticker(
    State(s): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> ApiResult<(StatusCode, axum::Json<PrintJob>)> {
    let p = caller.require(allow::CUTTING)?;
    Ok((
        StatusCode::ACCEPTED,
        axum::Json(svc::reprint_sticker(&s.ctx, &p.actor, &id).await?.into()),
    ))
}
