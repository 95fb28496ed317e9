//! Printing labels: print requests that return at once with a job id, reprints as new jobs,
//! documents and carrier labels, and label previews (here); the printers, configured and
//! managed at run time (`printers.rs`).

use super::{Actor, Ctx};
use crate::config::PrinterSetting;
use crate::domain::print_job::JobState;
use crate::error::{Error, Result};
use crate::labels::template::{LabelData, Template};
use crate::labels::{layout, zpl, Format, RenderError};
use crate::service::views;
use crate::store::printing::{self as db, JobRow, PrinterRow};
use serde::{Deserialize, Serialize};
use serde_json::json;

mod printers;
use printers::check_allowed;
pub use printers::{
    configure_printers, delete_printer, list_printers, put_printer, PrinterInput, PrinterView,
};

/// A request to print one label.
#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PrintRequest {
    pub printer: String,
    pub template: String,
    /// One value per template field (and an array of rows per table); leave out with
    /// `sample: true`.
    #[schema(value_type = Object)]
    pub data: Option<serde_json::Value>,
    /// Print the template's example data (a test print).
    #[serde(default)]
    pub sample: bool,
    /// The caller's idempotency key: a repeated request with the same key returns the same job.
    pub request_key: Option<String>,
    /// What the label is for (order reference, parcel, cut job), shown to people.
    pub subject: Option<String>,
}

/// A label template as the API lists it.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct TemplateView {
    pub name: String,
    pub description: String,
    pub width_mm: f64,
    pub height_mm: f64,
    /// Field name -> what it holds.
    pub fields: std::collections::BTreeMap<String, String>,
    /// Table name -> (column field -> what it holds).
    pub tables: std::collections::BTreeMap<String, std::collections::BTreeMap<String, String>>,
}

pub fn templates(ctx: &Ctx) -> Vec<TemplateView> {
    ctx.labels
        .iter()
        .map(|t| TemplateView {
            name: t.name.clone(),
            description: t.description.clone(),
            width_mm: t.width_mm,
            height_mm: t.height_mm,
            fields: t.fields.clone(),
            tables: t.tables.clone(),
        })
        .collect()
}

pub fn template<'a>(ctx: &'a Ctx, name: &str) -> Result<&'a Template> {
    ctx.labels.iter().find(|t| t.name == name).ok_or_else(|| {
        Error::NotFound(format!(
            "label template {name} (there are: {})",
            ctx.labels
                .iter()
                .map(|t| t.name.as_str())
                .collect::<Vec<_>>()
                .join(", ")
        ))
    })
}

fn render_error(e: RenderError) -> Error {
    match e {
        RenderError::Data(d) => Error::invalid(&format!("data.{}", d.field), d.message),
        RenderError::Output(m) => Error::Internal(anyhow::anyhow!(m)),
        other => Error::invalid("data", other.to_string()),
    }
}

fn label_data(t: &Template, data: Option<&serde_json::Value>, sample: bool) -> Result<LabelData> {
    match (data, sample) {
        (Some(_), true) => Err(Error::invalid(
            "sample",
            "give data or sample: true, not both",
        )),
        (None, true) => Ok(t.sample.clone()),
        (None, false) => Err(Error::invalid("data", "is missing (or set sample: true)")),
        (Some(v), false) => LabelData::from_json(v)
            .map_err(|d| Error::invalid(&format!("data.{}", d.field), d.message)),
    }
}

fn new_job_id() -> String {
    format!("pj-{:016x}", rand::random::<u64>())
}

/// Renders the label now (bad data is refused here, before anything is queued), queues the
/// job and returns it at once; the printer's worker prints it.
pub async fn print(ctx: &Ctx, actor: &Actor, r: &PrintRequest) -> Result<JobRow> {
    if let Some(key) = &r.request_key {
        if key.is_empty() || key.len() > 128 {
            return Err(Error::invalid("request_key", "must be 1 to 128 characters"));
        }
        if let Some(j) = db::job_by_key(ctx.db.pool(), key).await? {
            return Ok(j);
        }
    }
    let printer = db::get_printer(ctx.db.pool(), &r.printer)
        .await?
        .ok_or_else(|| Error::NotFound(format!("printer {}", r.printer)))?;
    if !printer.enabled {
        return Err(Error::conflict(
            "printer_disabled",
            format!("printer {} is switched off", printer.id),
        ));
    }
    if printer.kind != "zpl" {
        return Err(Error::invalid(
            "printer",
            format!(
                "{} is a document printer: it prints PDF documents, not labels",
                printer.id
            ),
        ));
    }
    check_allowed(&printer, &r.template)?;
    let t = template(ctx, &r.template)?.clone();
    if t.width_mm > printer.label_width_mm + 1.0 || t.height_mm > printer.label_height_mm + 1.0 {
        return Err(Error::invalid(
            "template",
            format!(
                "the {} label ({} x {} mm) does not fit the {} x {} mm labels in printer {}",
                t.name,
                t.width_mm,
                t.height_mm,
                printer.label_width_mm,
                printer.label_height_mm,
                printer.id
            ),
        ));
    }
    let data = label_data(&t, r.data.as_ref(), r.sample)?;
    let id = new_job_id();
    let dpi = zpl::Dpi::parse(printer.dpi as u32).unwrap_or(zpl::Dpi::D203);
    let job = id.clone();
    let today = crate::domain::time::business_day(chrono::Utc::now());
    let payload = tokio::task::spawn_blocking(move || zpl::render(&t, &data, dpi, &job, today))
        .await
        .map_err(|e| Error::Internal(anyhow::anyhow!("rendering stopped: {e}")))?
        .map_err(render_error)?;
    queue(
        ctx,
        &db::NewJob {
            id: &id,
            printer_id: &printer.id,
            template: &r.template,
            payload: &payload,
            encoding: "text",
            reprint_of: None,
            request_key: r.request_key.as_deref(),
            subject: r.subject.as_deref(),
            requested_by: &actor.name,
        },
    )
    .await
}

/// Queues a job in one transaction and wakes its printer; when a request with the same key won
/// a race, answers that job.
async fn queue(ctx: &Ctx, j: &db::NewJob<'_>) -> Result<JobRow> {
    let mut tx = ctx.db.begin_write().await?;
    match db::insert_job(tx.conn(), j).await {
        Ok(()) => {}
        Err(e) if crate::store::is_unique_violation(&e) && j.request_key.is_some() => {
            drop(tx);
            let key = j.request_key.unwrap_or_default();
            return db::job_by_key(ctx.db.pool(), key)
                .await?
                .ok_or_else(|| Error::NotFound(format!("print job with key {key}")));
        }
        Err(e) => return Err(e.into()),
    }
    let queued = db::get_job_in(tx.conn(), j.id).await?;
    tx.commit().await?;
    ctx.spooler.wake(j.printer_id);
    queued.ok_or_else(|| Error::NotFound(format!("print job {}", j.id)))
}

/// Prints a job's label again, as a new job (on the same printer unless another is named).
/// Prints a job again as a new job. A label that names a person (a shipping label, a packing
/// slip) is personal data: only the roles that may read a recipient may reprint it, with a
/// purpose, and the reprint is audit-logged.
pub async fn reprint(
    ctx: &Ctx,
    actor: &Actor,
    job_id: &str,
    printer: Option<&str>,
    purpose: Option<&str>,
) -> Result<JobRow> {
    let (old_printer, payload) = db::job_payload(ctx.db.pool(), job_id)
        .await?
        .ok_or_else(|| Error::NotFound(format!("print job {job_id}")))?;
    let old = db::get_job(ctx.db.pool(), job_id)
        .await?
        .ok_or_else(|| Error::NotFound(format!("print job {job_id}")))?;
    let personal = ctx
        .labels
        .iter()
        .find(|t| t.name == old.template)
        .is_some_and(|t| t.personal_data());
    if personal {
        if !crate::domain::auth::allow::ORDER_PERSONAL.contains(&actor.role) {
            return Err(Error::Forbidden(format!(
                "a {} label names a person: only a role that may read recipients may print it again",
                old.template
            )));
        }
        let purpose = crate::domain::stock::note("purpose", purpose.unwrap_or(""), true)?
            .ok_or_else(|| Error::invalid("purpose", "say why the label is printed again"))?;
        let mut tx = ctx.db.begin_write().await?;
        crate::store::audit::append(
            tx.conn(),
            crate::store::audit::NewAudit {
                actor: &actor.name,
                action: "print_job.reprint",
                subject: &format!("print_job:{job_id}"),
                purpose: Some(&purpose),
                detail: json!({ "template": old.template, "printer": printer.unwrap_or(&old_printer) }),
            },
        )
        .await?;
        tx.commit().await?;
    }
    let printer_id = printer.unwrap_or(&old_printer);
    let p = db::get_printer(ctx.db.pool(), printer_id)
        .await?
        .ok_or_else(|| Error::NotFound(format!("printer {printer_id}")))?;
    if !p.enabled {
        return Err(Error::conflict(
            "printer_disabled",
            format!("printer {} is switched off", p.id),
        ));
    }
    check_allowed(&p, &old.template)?;
    let id = new_job_id();
    if p.kind != job_kind(&old) {
        return Err(Error::invalid(
            "printer",
            format!(
                "{} is a {} printer; job {job_id} is for a {} printer",
                p.id,
                p.kind,
                job_kind(&old)
            ),
        ));
    }
    // A label names its job inside (`^FX`); a document is sent as it was.
    let payload = if old.encoding == "text" {
        payload.replace(
            &format!("^FX job {job_id} "),
            &format!("^FX job {id} reprint of {job_id} "),
        )
    } else {
        payload
    };
    queue(
        ctx,
        &db::NewJob {
            id: &id,
            printer_id: &p.id,
            template: &old.template,
            payload: &payload,
            encoding: &old.encoding,
            reprint_of: Some(job_id),
            request_key: None,
            subject: old.subject.as_deref(),
            requested_by: &actor.name,
        },
    )
    .await
}

/// The kind of printer a job was made for (`zpl` for text, `pdf` for documents).
fn job_kind(job: &JobRow) -> &'static str {
    if job.encoding == "base64" {
        "pdf"
    } else {
        "zpl"
    }
}

/// Queues a PDF document (the A4 packing slip) for a document printer, as one PJL job; a
/// repeated request with the same key returns the same job.
pub async fn print_document(
    ctx: &Ctx,
    actor: &Actor,
    printer_id: &str,
    template: &str,
    pdf: &[u8],
    request_key: &str,
    subject: Option<&str>,
) -> Result<JobRow> {
    if let Some(j) = db::job_by_key(ctx.db.pool(), request_key).await? {
        return Ok(j);
    }
    let printer = db::get_printer(ctx.db.pool(), printer_id)
        .await?
        .ok_or_else(|| Error::NotFound(format!("printer {printer_id}")))?;
    if printer.kind != "pdf" {
        return Err(Error::invalid(
            "printer",
            format!(
                "{} is a label printer: documents go to a pdf printer",
                printer.id
            ),
        ));
    }
    if !printer.enabled {
        return Err(Error::conflict(
            "printer_disabled",
            format!("printer {} is switched off", printer.id),
        ));
    }
    check_allowed(&printer, template)?;
    let id = new_job_id();
    let payload = {
        use base64::Engine as _;
        base64::engine::general_purpose::STANDARD
            .encode(crate::devices::printer::pjl::wrap_pdf(&id, pdf))
    };
    queue(
        ctx,
        &db::NewJob {
            id: &id,
            printer_id: &printer.id,
            template,
            payload: &payload,
            encoding: "base64",
            reprint_of: None,
            request_key: Some(request_key),
            subject,
            requested_by: &actor.name,
        },
    )
    .await
}

/// Queues a ready ZPL label that konsign did not render (a carrier's own label) for a label
/// printer; a repeated request with the same key returns the same job.
pub async fn print_zpl(
    ctx: &Ctx,
    actor: &Actor,
    printer_id: &str,
    template: &str,
    zpl: &str,
    request_key: &str,
    subject: Option<&str>,
) -> Result<JobRow> {
    if let Some(j) = db::job_by_key(ctx.db.pool(), request_key).await? {
        return Ok(j);
    }
    if zpl.len() > 1024 * 1024 || !zpl.trim_start().starts_with("^XA") {
        return Err(Error::invalid(
            "zpl",
            "must be one ZPL label (^XA ... ^XZ) of at most 1 MB",
        ));
    }
    let printer = db::get_printer(ctx.db.pool(), printer_id)
        .await?
        .ok_or_else(|| Error::NotFound(format!("printer {printer_id}")))?;
    if printer.kind != "zpl" || !printer.enabled {
        return Err(Error::conflict(
            "printer_unavailable",
            format!(
                "printer {} is not a label printer that is switched on",
                printer.id
            ),
        ));
    }
    check_allowed(&printer, template)?;
    let id = new_job_id();
    // The job names itself inside the label, as rendered labels do.
    let payload = zpl
        .trim_start()
        .replacen("^XA", &format!("^XA^FX job {id} ^FS"), 1);
    queue(
        ctx,
        &db::NewJob {
            id: &id,
            printer_id: &printer.id,
            template,
            payload: &payload,
            encoding: "text",
            reprint_of: None,
            request_key: Some(request_key),
            subject,
            requested_by: &actor.name,
        },
    )
    .await
}

/// A job with its transitions.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
#[schema(as = PrintJobView)]
pub struct JobView {
    #[serde(flatten)]
    pub job: views::printing::PrintJob,
    pub log: Vec<views::printing::PrintJobLogEntry>,
}

pub async fn job(ctx: &Ctx, id: &str) -> Result<JobView> {
    let job = db::get_job(ctx.db.pool(), id)
        .await?
        .ok_or_else(|| Error::NotFound(format!("print job {id}")))?;
    let log = db::job_log(ctx.db.pool(), id).await?;
    Ok(JobView {
        job: job.into(),
        log: views::all(log),
    })
}

/// The label of a job as sent (it may hold a name and address: the read is audit-logged).
pub async fn job_label(ctx: &Ctx, actor: &Actor, id: &str) -> Result<String> {
    let (_, payload) = db::job_payload(ctx.db.pool(), id)
        .await?
        .ok_or_else(|| Error::NotFound(format!("print job {id}")))?;
    let mut tx = ctx.db.begin_write().await?;
    crate::store::audit::append(
        tx.conn(),
        crate::store::audit::NewAudit {
            actor: &actor.name,
            action: "print_job.label_read",
            subject: &format!("print_job:{id}"),
            purpose: Some("reading a printed label"),
            detail: json!({}),
        },
    )
    .await?;
    tx.commit().await?;
    Ok(payload)
}

/// Renders a label for a preview or a download: ZPL, PDF or PNG (page 1).
pub async fn render(
    ctx: &Ctx,
    name: &str,
    data: Option<&serde_json::Value>,
    format: Format,
    dpi: u32,
) -> Result<Vec<u8>> {
    let t = template(ctx, name)?.clone();
    let data = label_data(&t, data, data.is_none())?;
    let zdpi = zpl::Dpi::parse(dpi).ok_or_else(|| Error::invalid("dpi", "must be 203 or 300"))?;
    let today = crate::domain::time::business_day(chrono::Utc::now());
    tokio::task::spawn_blocking(move || -> std::result::Result<Vec<u8>, RenderError> {
        let l = layout::layout(&t, &data, today)?;
        match format {
            Format::Zpl => Ok(zpl::from_layout(&l, &t.name, zdpi, "preview", today)?.into_bytes()),
            Format::Pdf => crate::labels::pdf::render(&l, &t.name),
            Format::Png => crate::labels::png::render(&l, 0, dpi),
        }
    })
    .await
    .map_err(|e| Error::Internal(anyhow::anyhow!("rendering stopped: {e}")))?
    .map_err(render_error)
}

/// Print jobs, newest first, of a printer or in a state (`limit` 1 to 500).
pub async fn jobs(
    ctx: &Ctx,
    printer: Option<&str>,
    state: Option<&str>,
    limit: i64,
) -> Result<Vec<JobRow>> {
    if !(1..=500).contains(&limit) {
        return Err(Error::invalid("limit", "must be between 1 and 500"));
    }
    let state = match state {
        Some(st) => Some(JobState::parse(st).ok_or_else(|| {
            Error::invalid(
                "state",
                "must be queued, sending, sent, confirmed or failed",
            )
        })?),
        None => None,
    };
    Ok(db::list_jobs(ctx.db.pool(), printer, state, limit).await?)
}
