//! Printers: set up from the configuration file at start and through the API at run time,
//! listed with their queues, limited to templates, removed when they never printed.

use super::*;
use crate::service::views;

/// A printer as it is set up (through the API or the configuration file).
#[derive(Debug, Clone, Deserialize, Serialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PrinterInput {
    pub name: Option<String>,
    /// Host name or IP address.
    pub host: String,
    /// Default 9100.
    pub port: Option<u16>,
    /// 203 or 300 (default 203).
    pub dpi: Option<u32>,
    /// The labels loaded in it.
    pub label_width_mm: f64,
    pub label_height_mm: f64,
    /// The station it serves, for example `pack-1`.
    pub station: Option<String>,
    /// Default true; a switched-off printer keeps its queue but prints nothing.
    pub enabled: Option<bool>,
    /// `zpl` (a label printer, the default) or `pdf` (a document printer that takes a PDF in a
    /// PJL job on the same raw port, for the A4 packing slip).
    #[serde(default)]
    pub kind: Option<String>,
    /// The label templates it may print (job template names, for example `shipping`,
    /// `cut-sticker`, `packing-slip`, `carrier-postnord`): a printer at a station limited to
    /// that station's labels. Missing or null: any.
    #[serde(default)]
    pub templates: Option<Vec<String>>,
}

/// A list of template names: 1 to 50 names of 1 to 64 lower-case letters, digits, '-' or '_'.
fn check_templates(t: &Option<Vec<String>>) -> Result<Option<Vec<String>>> {
    let Some(t) = t else { return Ok(None) };
    let ok_name = |n: &str| {
        !n.is_empty()
            && n.len() <= 64
            && n.bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-' || b == b'_')
    };
    if t.is_empty() || t.len() > 50 || !t.iter().all(|n| ok_name(n)) {
        return Err(Error::invalid(
            "templates",
            "must be 1 to 50 template names (lower-case letters, digits, '-' or '_'), or null for any",
        ));
    }
    Ok(Some(t.clone()))
}

/// Refuses a job of `template` on a printer limited to other templates.
pub(super) fn check_allowed(p: &PrinterRow, template: &str) -> Result<()> {
    if p.allows(template) {
        Ok(())
    } else {
        Err(Error::conflict(
            "template_not_allowed",
            format!(
                "printer {} prints only {}; not a {template} label",
                p.id,
                p.templates.as_deref().unwrap_or_default().join(", ")
            ),
        ))
    }
}

fn check_id(id: &str) -> Result<()> {
    if id.is_empty()
        || id.len() > 64
        || !id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
    {
        return Err(Error::invalid(
            "id",
            "must be 1 to 64 letters, digits, '-' or '_'",
        ));
    }
    Ok(())
}

fn row(id: &str, p: &PrinterInput) -> Result<PrinterRow> {
    check_id(id)?;
    let host = p.host.trim();
    if host.is_empty() || host.len() > 253 || host.contains(char::is_whitespace) {
        return Err(Error::invalid(
            "host",
            "must be a host name or IP address without spaces",
        ));
    }
    let port = p.port.unwrap_or(9100);
    if port == 0 {
        return Err(Error::invalid("port", "must be 1 to 65535"));
    }
    let dpi = p.dpi.unwrap_or(203);
    if zpl::Dpi::parse(dpi).is_none() {
        return Err(Error::invalid("dpi", "must be 203 or 300"));
    }
    let kind = p.kind.as_deref().map(str::trim).unwrap_or("zpl");
    if !["zpl", "pdf"].contains(&kind) {
        return Err(Error::invalid(
            "kind",
            "must be zpl (labels) or pdf (documents)",
        ));
    }
    for (field, v) in [
        ("label_width_mm", p.label_width_mm),
        ("label_height_mm", p.label_height_mm),
    ] {
        if !(10.0..=300.0).contains(&v) {
            return Err(Error::invalid(field, "must be 10 to 300 mm"));
        }
    }
    Ok(PrinterRow {
        id: id.to_string(),
        name: p
            .name
            .clone()
            .map(|n| n.trim().to_string())
            .filter(|n| !n.is_empty())
            .unwrap_or_else(|| id.to_string()),
        host: host.to_string(),
        port: i64::from(port),
        dpi: i64::from(dpi),
        label_width_mm: p.label_width_mm,
        label_height_mm: p.label_height_mm,
        station: p
            .station
            .clone()
            .map(|s| s.trim().to_string())
            .filter(|s| !s.is_empty()),
        kind: kind.to_string(),
        enabled: p.enabled.unwrap_or(true),
        state: "unknown".into(),
        state_detail: String::new(),
        state_at: String::new(),
        owner: None,
        templates: check_templates(&p.templates)?,
    })
}

/// Adds or changes a printer; its worker picks the change up at once.
pub async fn put_printer(ctx: &Ctx, actor: &Actor, id: &str, p: &PrinterInput) -> Result<()> {
    let r = row(id, p)?;
    let mut tx = ctx.db.begin_write().await?;
    db::put_printer(tx.conn(), &r).await?;
    crate::store::audit::append(
        tx.conn(),
        crate::store::audit::NewAudit {
            actor: &actor.name,
            action: "printer.put",
            subject: &format!("printer:{id}"),
            purpose: None,
            detail: serde_json::to_value(p).unwrap_or_default(),
        },
    )
    .await?;
    tx.commit().await?;
    ctx.spooler.sync().await?;
    ctx.spooler.wake(id);
    Ok(())
}

/// The printers of the configuration file, added or updated at start.
pub async fn configure_printers(
    db_: &crate::store::Db,
    printers: &[PrinterSetting],
) -> anyhow::Result<()> {
    for p in printers {
        let input = PrinterInput {
            name: p.name.clone(),
            host: p.host.clone(),
            port: Some(p.port),
            dpi: Some(p.dpi),
            label_width_mm: p.label_width_mm,
            label_height_mm: p.label_height_mm,
            station: p.station.clone(),
            enabled: Some(true),
            kind: p.kind.clone(),
            templates: p.templates.clone(),
        };
        let r =
            row(&p.id, &input).map_err(|e| anyhow::anyhow!("printing.printers {}: {e}", p.id))?;
        let mut tx = db_.begin_write().await?;
        db::put_printer(tx.conn(), &r).await?;
        tx.commit().await?;
    }
    Ok(())
}

/// A printer with its queue.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct PrinterView {
    #[serde(flatten)]
    pub printer: views::printing::Printer,
    /// Jobs queued, being sent, or sent and not yet confirmed.
    pub queue_depth: i64,
    /// True while the state holds the queue (paper out, paused, no answer, ...).
    pub alarm: bool,
    /// The state in Danish, for the pages.
    pub state_da: String,
    /// The state detail (why it cannot be reached, ...) in Danish, for the pages.
    pub state_detail_da: String,
}

pub async fn list_printers(ctx: &Ctx) -> Result<Vec<PrinterView>> {
    let printers = db::list_printers(ctx.db.pool()).await?;
    let depths = db::queue_depths(ctx.db.pool()).await?;
    Ok(printers
        .into_iter()
        .map(|p| {
            let queue_depth = depths
                .iter()
                .find(|(id, _)| *id == p.id)
                .map_or(0, |(_, n)| *n);
            let st = crate::devices::printer::status::PrinterState::parse(&p.state);
            PrinterView {
                queue_depth,
                alarm: st.is_alarm(),
                state_da: st.da().to_string(),
                state_detail_da: crate::devices::printer::status::detail_da(&p.state_detail),
                printer: p.into(),
            }
        })
        .collect())
}

/// Removes a printer that never printed; one with jobs is switched off instead (its history
/// stays).
pub async fn delete_printer(ctx: &Ctx, actor: &Actor, id: &str) -> Result<()> {
    if db::get_printer(ctx.db.pool(), id).await?.is_none() {
        return Err(Error::NotFound(format!("printer {id}")));
    }
    let mut tx = ctx.db.begin_write().await?;
    if !db::delete_unused_printer(tx.conn(), id).await? {
        return Err(Error::conflict(
            "printer_has_jobs",
            format!(
                "printer {id} has print jobs on record; switch it off (enabled: false) instead"
            ),
        ));
    }
    crate::store::audit::append(
        tx.conn(),
        crate::store::audit::NewAudit {
            actor: &actor.name,
            action: "printer.delete",
            subject: &format!("printer:{id}"),
            purpose: None,
            detail: json!({}),
        },
    )
    .await?;
    tx.commit().await?;
    ctx.spooler.sync().await?;
    Ok(())
}
