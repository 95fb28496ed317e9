//! Label printers, print jobs and label templates.

use crate::domain::auth::allow;
use crate::http::auth::Caller;
use crate::http::error::{ApiResult, Body, ErrorBody, Json, Params, Path, Query};
use crate::http::AppState;
use crate::labels::Format;
use crate::service::printing::{
    self as svc, JobView, PrintRequest, PrinterInput, PrinterView, TemplateView,
};
use crate::service::views::{self, printing::PrintJob};
use axum::extract::State;
use axum::http::{header, StatusCode};
use axum::response::IntoResponse;
use serde::Deserialize;

/// Every printer with its state (ready, paper_out, no_answer, ...) and queue depth.
#[utoipa::path(get, path = "/api/printers", tag = "printing", responses((status = 200, body = Vec<PrinterView>)),
    security(("session" = []), ("bearer" = [])))]
pub async fn list_printers(
    State(s): State<AppState>,
    caller: Caller,
) -> ApiResult<Json<Vec<PrinterView>>> {
    caller.require(allow::PRINTING)?;
    Ok(Json(svc::list_printers(&s.ctx).await?))
}

/// Add or change a printer; its queue starts (or follows the change) at once.
#[utoipa::path(put, path = "/api/printers/{id}", tag = "printing", params(("id" = String, Path)), request_body = PrinterInput,
    responses((status = 204), (status = 422, body = ErrorBody)), security(("session" = []), ("bearer" = [])))]
pub async fn put_printer(
    State(s): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    r: Body<PrinterInput>,
) -> ApiResult<StatusCode> {
    let p = caller.require(allow::ADMIN)?;
    let Json(r) = r?;
    svc::put_printer(&s.ctx, &p.actor, &id, &r).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Remove a printer that never printed (one with jobs on record is switched off instead).
#[utoipa::path(delete, path = "/api/printers/{id}", tag = "printing", params(("id" = String, Path)),
    responses((status = 204), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody)),
    security(("session" = []), ("bearer" = [])))]
pub async fn delete_printer(
    State(s): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> ApiResult<StatusCode> {
    let p = caller.require(allow::ADMIN)?;
    svc::delete_printer(&s.ctx, &p.actor, &id).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Print a label. Answers 202 at once with the queued job; follow it at
/// `/api/print-jobs/{id}`. Bad data is refused here (422), before anything is queued. A
/// repeated `request_key` returns the same job.
#[utoipa::path(post, path = "/api/print", tag = "printing", request_body = PrintRequest,
    responses((status = 202, body = PrintJob), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)),
    security(("session" = []), ("bearer" = [])))]
pub async fn print(
    State(s): State<AppState>,
    caller: Caller,
    r: Body<PrintRequest>,
) -> ApiResult<impl IntoResponse> {
    let p = caller.require(allow::PRINTING)?;
    let Json(r) = r?;
    let job = svc::print(&s.ctx, &p.actor, &r).await?;
    Ok((StatusCode::ACCEPTED, axum::Json(PrintJob::from(job))))
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct JobQuery {
    pub printer: Option<String>,
    /// queued, sending, sent, confirmed, failed
    #[param(value_type = Option<crate::domain::print_job::JobState>, inline)]
    pub state: Option<String>,
    /// 1 to 500, default 50.
    #[param(minimum = 1, maximum = 500)]
    pub limit: Option<i64>,
}

/// Print jobs, newest first.
#[utoipa::path(get, path = "/api/print-jobs", tag = "printing", params(JobQuery),
    responses((status = 200, body = Vec<PrintJob>)), security(("session" = []), ("bearer" = [])))]
pub async fn list_jobs(
    State(s): State<AppState>,
    caller: Caller,
    q: Params<JobQuery>,
) -> ApiResult<Json<Vec<PrintJob>>> {
    caller.require(allow::PRINTING)?;
    let Query(q) = q?;
    let jobs = svc::jobs(
        &s.ctx,
        q.printer.as_deref(),
        q.state.as_deref(),
        q.limit.unwrap_or(50),
    )
    .await?;
    Ok(Json(views::all(jobs)))
}

/// One print job with every transition it went through.
#[utoipa::path(get, path = "/api/print-jobs/{id}", tag = "printing", params(("id" = String, Path)),
    responses((status = 200, body = JobView), (status = 404, body = ErrorBody)), security(("session" = []), ("bearer" = [])))]
pub async fn get_job(
    State(s): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> ApiResult<Json<JobView>> {
    caller.require(allow::PRINTING)?;
    Ok(Json(svc::job(&s.ctx, &id).await?))
}

/// The label of a job exactly as sent (ZPL). It may hold a name and address: the read is
/// audit-logged.
#[utoipa::path(get, path = "/api/print-jobs/{id}/label", tag = "printing", params(("id" = String, Path)),
    responses((status = 200, content_type = "text/plain"), (status = 404, body = ErrorBody)), security(("session" = []), ("bearer" = [])))]
pub async fn job_label(
    State(s): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> ApiResult<impl IntoResponse> {
    let p = caller.require(allow::PRINT_LABEL_READ)?;
    let zpl = svc::job_label(&s.ctx, &p.actor, &id).await?;
    Ok(([(header::CONTENT_TYPE, Format::Zpl.content_type())], zpl))
}

#[derive(Debug, Default, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(as = PrintJobReprintRequest)]
pub struct ReprintRequest {
    /// Another printer (default: the job's own).
    pub printer: Option<String>,
    /// Why: required for a label that names a person (shipping label, packing slip), which only
    /// admin, lead, packer and integration may reprint; audit-logged.
    pub purpose: Option<String>,
}

/// Print a job's label again, as a new job (202). A label naming a person needs a role that may
/// read recipients and a `purpose` (403 / 422 otherwise); the reprint is audit-logged.
#[utoipa::path(post, path = "/api/print-jobs/{id}/reprint", tag = "printing", params(("id" = String, Path)), request_body = ReprintRequest,
    responses((status = 202, body = PrintJob), (status = 404, body = ErrorBody)), security(("session" = []), ("bearer" = [])))]
pub async fn reprint(
    State(s): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    r: Body<ReprintRequest>,
) -> ApiResult<impl IntoResponse> {
    let p = caller.require(allow::PRINTING)?;
    let Json(r) = r?;
    let job = svc::reprint(
        &s.ctx,
        &p.actor,
        &id,
        r.printer.as_deref(),
        r.purpose.as_deref(),
    )
    .await?;
    Ok((StatusCode::ACCEPTED, axum::Json(PrintJob::from(job))))
}

/// The label templates with their fields.
#[utoipa::path(get, path = "/api/labels", tag = "printing", responses((status = 200, body = Vec<TemplateView>)),
    security(("session" = []), ("bearer" = [])))]
pub async fn templates(
    State(s): State<AppState>,
    caller: Caller,
) -> ApiResult<Json<Vec<TemplateView>>> {
    caller.require(allow::PRINTING)?;
    Ok(Json(svc::templates(&s.ctx)))
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct RenderQuery {
    /// png (default), pdf or zpl
    #[param(value_type = Option<crate::labels::Format>, inline)]
    pub format: Option<String>,
    /// 203 (default) or 300
    pub dpi: Option<u32>,
}

/// Render a label with the data in the body, or with the template's example data when the body
/// is empty, `{}` or `{"sample": true}`: a preview (PNG), a PDF, or the ZPL.
#[utoipa::path(post, path = "/api/labels/{template}/render", tag = "printing", params(("template" = String, Path), RenderQuery),
    request_body(content = Object, description = "the label data; empty, {} or {\"sample\": true} for the example data"),
    responses((status = 200, content_type = "image/png"), (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)),
    security(("session" = []), ("bearer" = [])))]
pub async fn render(
    State(s): State<AppState>,
    caller: Caller,
    Path(template): Path<String>,
    q: Params<RenderQuery>,
    body: axum::body::Bytes,
) -> ApiResult<impl IntoResponse> {
    caller.require(allow::PRINTING)?;
    let Query(q) = q?;
    let format = match q.format.as_deref() {
        None => Format::Png,
        Some(f) => Format::parse(f)
            .ok_or_else(|| crate::error::Error::invalid("format", "must be png, pdf or zpl"))?,
    };
    let data: Option<serde_json::Value> =
        if body.iter().all(u8::is_ascii_whitespace) {
            None
        } else {
            Some(serde_json::from_slice(&body).map_err(|e| {
                crate::error::Error::invalid("body", format!("not a JSON object: {e}"))
            })?)
        };
    // `{}` and `{"sample": true}` ask for the example data, as an empty body does.
    let data = match data {
        Some(serde_json::Value::Object(m))
            if m.is_empty()
                || (m.len() == 1 && m.get("sample") == Some(&serde_json::Value::Bool(true))) =>
        {
            None
        }
        other => other,
    };
    let bytes = svc::render(
        &s.ctx,
        &template,
        data.as_ref(),
        format,
        q.dpi.unwrap_or(203),
    )
    .await?;
    Ok(([(header::CONTENT_TYPE, format.content_type())], bytes))
}

/// A template's example label as a PNG (for the pages; cached by the browser for an hour).
#[utoipa::path(get, path = "/api/labels/{template}/preview.png", tag = "printing", params(("template" = String, Path)),
    responses((status = 200, content_type = "image/png"), (status = 404, body = ErrorBody)),
    security(("session" = []), ("bearer" = [])))]
pub async fn preview(
    State(s): State<AppState>,
    caller: Caller,
    Path(template): Path<String>,
) -> ApiResult<impl IntoResponse> {
    caller.require(allow::PRINTING)?;
    let bytes = svc::render(&s.ctx, &template, None, Format::Png, 203).await?;
    Ok((
        [
            (header::CONTENT_TYPE, Format::Png.content_type()),
            (header::CACHE_CONTROL, "private, max-age=3600"),
        ],
        bytes,
    ))
}
