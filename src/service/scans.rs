//! The scan router: every scan from a serial scanner is parsed (GS1, EAN, HIBC, Digital Link),
//! judged by the workflow of its station, stored with its verdict in one transaction, and only
//! then answered with the scanner's good or bad feedback bytes.
//!
//! Every station runs a workflow: `lookup` (the default: what is this?), `receiving` or
//! `picking`. The first two judge a scan the same way: a product barcode is accepted when the
//! product is known and the lot not expired, a location label when the location exists. At a
//! receiving station the last accepted product scan is then received with `receive_by_scan`. At
//! a picking station the scan goes to the pick wave taken there, and the pick's verdict is
//! stored and answered.

use super::ttl_cache::ProductName;
use super::{today, Ctx};
use crate::devices::scanner::{ScanEvent, ScannerConfig};
use crate::domain::catalog::LocationKind;
use crate::domain::gs1::{self, Kind};
use crate::domain::timeline::Timeline;
use crate::domain::workflow::Workflow;
use crate::domain::Unreadable;
use crate::error::{Error, Result};
use crate::store::scanners::{self as db, NewScan, VerdictText};
use serde_json::json;
use std::time::Duration;

/// The workflow of a station (`lookup` unless set).
pub async fn workflow_of(ctx: &Ctx, station: &str) -> Result<Workflow> {
    if let Some(w) = ctx.workflows.get(station) {
        return Ok(w);
    }
    let w = match db::station_workflow(ctx.db.pool(), station).await? {
        Some(s) => Workflow::parse(&s).ok_or_else(|| {
            Error::Internal(anyhow::anyhow!(
                "station {station} has an unknown workflow {s:?}"
            ))
        })?,
        None => Workflow::Lookup,
    };
    ctx.workflows.put(station, w);
    Ok(w)
}

/// A product's name and producer by GTIN, `None` for no such product (remembered, see
/// `ttl_cache`).
async fn product_name(ctx: &Ctx, gtin: &str) -> Result<Option<ProductName>> {
    if let Some(p) = ctx.products.get(gtin) {
        return Ok(p);
    }
    let mut conn = ctx.db.pool().acquire().await?;
    let p = crate::store::catalog::product(&mut conn, gtin)
        .await?
        .map(|p| ProductName {
            name: p.name,
            producer: p.producer,
        });
    ctx.products.put(gtin, p.clone());
    Ok(p)
}

/// Sets the workflow a station runs.
pub async fn set_workflow(
    ctx: &Ctx,
    by: &super::Actor,
    station: &str,
    workflow: &str,
) -> Result<()> {
    let station = station.trim();
    if station.is_empty() || station.len() > 64 || station.chars().any(char::is_control) {
        return Err(Error::invalid("station", "must be 1 to 64 characters"));
    }
    let Some(workflow) = Workflow::parse(workflow) else {
        let all: Vec<&str> = Workflow::ALL.iter().map(|w| w.as_str()).collect();
        return Err(Error::invalid(
            "workflow",
            format!("must be one of {}", all.join(", ")),
        ));
    };
    let mut tx = ctx.db.begin_write().await?;
    db::put_station_workflow(tx.conn(), station, workflow.as_str()).await?;
    let subject = format!("station:{station}");
    crate::store::audit::append(
        tx.conn(),
        crate::store::audit::NewAudit {
            actor: &by.name,
            action: "station.workflow_set",
            subject: &subject,
            purpose: None,
            detail: json!({ "workflow": workflow }),
        },
    )
    .await?;
    tx.event(
        "station.workflow_set",
        &subject,
        &json!({ "station": station, "workflow": workflow }),
    )
    .await?;
    tx.commit().await?;
    ctx.workflows.forget(station);
    Ok(())
}

/// The verdict on one scan, as stored and as reported.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Verdict {
    pub scan_id: i64,
    pub accepted: bool,
    pub message: String,
}

/// A verdict's words in English and Danish.
fn said(en: impl Into<String>, da: impl Into<String>) -> VerdictText {
    VerdictText {
        en: en.into(),
        da: da.into(),
        code: None,
        field: None,
    }
}

/// A refused request as a verdict: the Danish is worded from its code where it is shown.
fn refused(e: &Error) -> VerdictText {
    VerdictText {
        en: e.to_string(),
        da: String::new(),
        code: Some(e.code().to_string()),
        field: e.field().map(str::to_string),
    }
}

/// Judges, stores and reports one scan.
pub async fn record(ctx: &Ctx, ev: &ScanEvent) -> Result<Verdict> {
    record_timed(ctx, ev, &mut Timeline::start(Duration::ZERO)).await
}

/// [`record`], noting its steps on `t`.
async fn record_timed(ctx: &Ctx, ev: &ScanEvent, t: &mut Timeline) -> Result<Verdict> {
    let day = today();
    let parsed = gs1::parse(&ev.bytes, day);
    t.step("parse");
    let (mut accepted, mut text, kind, parsed_json) = match &parsed {
        Err(e) => {
            let u = Unreadable::barcode(e);
            (false, said(u.message, u.message_da), None, None)
        }
        // A barcode that is no product may be a location label (Code 128 of the location code):
        // at a receiving station that is the target location.
        Ok(scan) if scan.kind == Kind::Unknown => match location_label(ctx, &ev.bytes).await? {
            Some((code, kind)) => {
                let kind_da = LocationKind::parse(&kind).map_or(kind.clone(), |k| k.da().into());
                (
                    true,
                    said(
                        format!("location {code} ({kind})"),
                        format!("Lokation {code} ({kind_da})"),
                    ),
                    Some("location".to_string()),
                    Some(json!({ "location": code }).to_string()),
                )
            }
            None => (
                false,
                said(
                    "not a product or location barcode",
                    "Hverken en vare- eller en lokationsstregkode",
                ),
                Some("unknown".to_string()),
                serde_json::to_string(scan).ok(),
            ),
        },
        Ok(scan) => {
            let kind = serde_json::to_value(scan.kind)
                .ok()
                .and_then(|v| v.as_str().map(str::to_string));
            let (ok, text) = match &scan.gtin {
                None => (
                    false,
                    said("the barcode carries no GTIN", "Stregkoden har intet GTIN"),
                ),
                Some(gtin) => match product_name(ctx, gtin.as_str()).await? {
                    None => (
                        false,
                        said(
                            format!("unknown product {gtin}"),
                            format!("Ukendt vare {gtin}"),
                        ),
                    ),
                    Some(p) => match scan.expiry {
                        Some(exp) if exp < day => (
                            false,
                            said(
                                format!("{}: lot expired on {exp}", p.name),
                                format!("{}: lottet udløb {exp}", p.name),
                            ),
                        ),
                        _ => {
                            let lot = scan.lot.as_deref().map(|l| format!(", lot {l}"));
                            let lot = lot.unwrap_or_default();
                            let (exp, exp_da) = match scan.expiry {
                                Some(e) => (format!(", expiry {e}"), format!(", udløb {e}")),
                                None => Default::default(),
                            };
                            let what = format!("{} ({}){lot}", p.name, p.producer);
                            (
                                true,
                                said(format!("{what}{exp}"), format!("{what}{exp_da}")),
                            )
                        }
                    },
                },
            };
            (ok, text, kind, serde_json::to_string(scan).ok())
        }
    };
    t.step("lookup");
    let workflow = workflow_of(ctx, &ev.station).await?;
    t.step("workflow");
    if workflow == Workflow::Picking {
        // At a picking station the scan drives the wave taken there; its verdict is the answer.
        let key = format!(
            "{}:{}",
            ev.scanner,
            ev.at.timestamp_nanos_opt().unwrap_or_default()
        );
        (accepted, text) =
            match super::picking::station_scan(ctx, &ev.station, &key, &ev.bytes).await {
                Ok(Some(r)) => (r.accepted, said(r.message, r.message_da)),
                Ok(None) => (
                    false,
                    said(
                        "no pick wave is taken at this station",
                        "Ingen plukrunde er taget ved denne station",
                    ),
                ),
                Err(e @ Error::Internal(_)) => return Err(e),
                Err(e) => (false, refused(&e)),
            };
    }
    if workflow == Workflow::Packing {
        // At a pack station the scan opens an order (tote or order reference) or proves an item
        // of the order packed there; its verdict is the answer.
        let key = format!(
            "{}:{}",
            ev.scanner,
            ev.at.timestamp_nanos_opt().unwrap_or_default()
        );
        (accepted, text) =
            match super::pack_scan::station_scan(ctx, &ev.station, &key, &ev.bytes).await {
                Ok(r) => (r.accepted, said(r.message, r.message_da)),
                Err(e @ Error::Internal(_)) => return Err(e),
                Err(e) => (false, refused(&e)),
            };
    }
    if workflow == Workflow::Picking || workflow == Workflow::Packing {
        t.step(if workflow == Workflow::Picking {
            "pick"
        } else {
            "pack"
        });
    }
    let raw_hex = hex::encode(&ev.bytes);
    let at = crate::domain::time::to_db(ev.at);
    let outcome = if accepted { "ok" } else { "rejected" };
    let subject = format!("station:{}", ev.station);
    let payload = json!({ "scanner": ev.scanner, "outcome": outcome,
                          "message": text.en, "message_da": text.da });
    let scan_id = match ctx.db.sqlite_writer() {
        // SQLite: the writer thread stores it in one step, committed together with the other
        // scans and stock operations waiting (no write lock to queue for, one commit).
        Some(w) => {
            let id = w
                .write_scan(crate::store::sqlite_writer::ScanWrite {
                    scanner_id: ev.scanner.clone(),
                    station: ev.station.clone(),
                    raw_hex,
                    kind,
                    parsed: parsed_json,
                    used_for: workflow.as_str().to_string(),
                    outcome: outcome.into(),
                    message: text.encode(),
                    at,
                    event_subject: subject,
                    event_payload: payload,
                })
                .await
                .map_err(Error::Internal)?;
            t.step("write+commit");
            id
        }
        None => {
            let mut tx = ctx.db.begin_write().await?;
            t.step("write_lock");
            let scan = NewScan {
                scanner_id: &ev.scanner,
                station: &ev.station,
                raw_hex: &raw_hex,
                kind: kind.as_deref(),
                parsed: parsed_json,
                used_for: workflow.as_str(),
                outcome,
                message: &text,
                at: &at,
            };
            let scan_id = db::insert_scan(tx.conn(), &scan).await?;
            let mut payload = payload;
            payload["scan_id"] = scan_id.into();
            tx.event("scan.recorded", &subject, &payload).await?;
            t.step("write");
            tx.commit().await?;
            t.step("commit");
            scan_id
        }
    };
    ctx.metrics
        .scans
        .get_or_create(&crate::metrics::ScanLabels {
            scanner: ev.scanner.clone(),
            outcome: outcome.into(),
        })
        .inc();
    tracing::info!(scanner = %ev.scanner, station = %ev.station, scan_id, outcome, message = %text.en, "scan");
    Ok(Verdict {
        scan_id,
        accepted,
        message: text.en,
    })
}

/// The location a scanned label names, with its kind, if the scan is a known location code
/// (AIM identifier, if any, removed).
pub(super) async fn location_label(ctx: &Ctx, bytes: &[u8]) -> Result<Option<(String, String)>> {
    let Ok(text) = std::str::from_utf8(bytes) else {
        return Ok(None);
    };
    let text = if text.starts_with(']') {
        text.get(3..).unwrap_or("")
    } else {
        text
    };
    let Ok(code) = crate::domain::catalog::LocationCode::parse(text) else {
        return Ok(None);
    };
    let mut conn = ctx.db.pool().acquire().await?;
    Ok(crate::store::catalog::location(&mut conn, code.as_str())
        .await?
        .map(|l| (l.code, l.kind)))
}

/// Scans of one scanner waiting to be judged; past it the router waits (backpressure).
const LANE_DEPTH: usize = 64;

/// Drains the scans of every link until the links are gone. Each scanner has its own lane (a
/// task that judges its scans one after another, in the order they were scanned), so one
/// scanner's scan never waits behind another's: scans of different scanners are judged side by
/// side and the SQLite writer commits them together. A scan that cannot be stored is answered
/// with the bad feedback, so the person scanning knows to scan again.
pub fn spawn_router(ctx: Ctx) -> Option<tokio::task::JoinHandle<()>> {
    use tokio::sync::mpsc::error::SendError;
    let mut rx = ctx.scanners.take_events()?;
    Some(tokio::spawn(async move {
        let mut lanes = std::collections::HashMap::new();
        while let Some(ev) = rx.recv().await {
            let key = ev.scanner.clone();
            let tx = lanes
                .entry(key.clone())
                .or_insert_with(|| lane(ctx.clone()));
            if let Err(SendError(ev)) = tx.send(ev).await {
                // The lane's task ended (a panic): a new lane takes the scan.
                let fresh = lane(ctx.clone());
                let _ = fresh.send(ev).await;
                lanes.insert(key, fresh);
            }
        }
    }))
}

/// A scanner's lane: judges its scans in order and answers each.
fn lane(ctx: Ctx) -> tokio::sync::mpsc::Sender<ScanEvent> {
    let (tx, mut rx) = tokio::sync::mpsc::channel::<ScanEvent>(LANE_DEPTH);
    tokio::spawn(async move {
        while let Some(ev) = rx.recv().await {
            let waited = (chrono::Utc::now() - ev.at).to_std().unwrap_or_default();
            let mut t = Timeline::start(waited);
            let accepted = match record_timed(&ctx, &ev, &mut t).await {
                Ok(v) => v.accepted,
                Err(e) => {
                    tracing::error!(scanner = %ev.scanner, error = %e, "scan could not be stored");
                    false
                }
            };
            if let Some(bytes) = ctx
                .scanners
                .config(&ev.scanner)
                .and_then(|c| c.feedback_bytes(accepted))
            {
                ctx.scanners.feedback(&ev.scanner, bytes);
            }
            t.step("feedback");
            let slow = ctx.config.log.slow_ms;
            if slow > 0 && t.total() >= Duration::from_millis(u64::from(slow)) {
                tracing::warn!(scanner = %ev.scanner, station = %ev.station, timeline = %t, "slow scan");
            }
        }
    });
    tx
}

/// Starts a link for every stored scanner.
pub async fn start_all(ctx: &Ctx) -> Result<usize> {
    let configs = db::list_configs(ctx.db.pool()).await?;
    let mut n = 0;
    for c in configs {
        match serde_json::from_str::<ScannerConfig>(&c) {
            Ok(cfg) => {
                ctx.scanners.start(cfg);
                n += 1;
            }
            Err(e) => {
                tracing::error!(error = %e, "a stored scanner configuration is unreadable; skipped")
            }
        }
    }
    Ok(n)
}

/// Adds or replaces a scanner and (re)starts its link.
pub async fn put_scanner(ctx: &Ctx, by: &super::Actor, cfg: ScannerConfig) -> Result<()> {
    cfg.validate()?;
    let text = serde_json::to_string(&cfg).map_err(anyhow::Error::from)?;
    let mut tx = ctx.db.begin_write().await?;
    db::put_config(tx.conn(), &cfg.id, &cfg.station, &text).await?;
    let subject = format!("scanner:{}", cfg.id);
    crate::store::audit::append(
        tx.conn(),
        crate::store::audit::NewAudit {
            actor: &by.name,
            action: "scanner.saved",
            subject: &subject,
            purpose: None,
            detail: json!(cfg),
        },
    )
    .await?;
    tx.event("scanner.saved", &subject, &json!(cfg)).await?;
    tx.commit().await?;
    ctx.scanners.start(cfg);
    Ok(())
}

pub async fn delete_scanner(ctx: &Ctx, by: &super::Actor, id: &str) -> Result<()> {
    let mut tx = ctx.db.begin_write().await?;
    if !db::delete_config(tx.conn(), id).await? {
        return Err(Error::NotFound(format!("scanner {id}")));
    }
    let subject = format!("scanner:{id}");
    crate::store::audit::append(
        tx.conn(),
        crate::store::audit::NewAudit {
            actor: &by.name,
            action: "scanner.removed",
            subject: &subject,
            purpose: None,
            detail: json!({}),
        },
    )
    .await?;
    tx.event("scanner.removed", &subject, &json!({ "id": id }))
        .await?;
    tx.commit().await?;
    ctx.scanners.stop(id);
    Ok(())
}

/// Receiving by scan: the receiver has scanned a product; with the quantity and target location
/// this receives the stock. Idempotent per scan (the scan id is the idempotency key), so a
/// double-tapped confirm receives once. Lot and expiry come from the scan; for products without
/// UDI barcodes they can be typed in.
#[derive(Debug, Clone, serde::Deserialize, utoipa::ToSchema)]
pub struct ReceiveByScan {
    pub scan_id: i64,
    pub quantity: i64,
    pub location: String,
    /// Only when the barcode carries no lot.
    pub lot: Option<String>,
    /// Only when the barcode carries no expiry (`YYYY-MM-DD`).
    pub expiry: Option<String>,
    pub reference: Option<String>,
}

pub async fn receive_by_scan(
    ctx: &Ctx,
    actor: &super::Actor,
    station: &str,
    r: &ReceiveByScan,
) -> Result<super::stock::OpResult> {
    let workflow = workflow_of(ctx, station).await?;
    if workflow != Workflow::Receiving {
        return Err(Error::conflict(
            "wrong_workflow",
            format!("station {station} runs the {workflow} workflow; set it to receiving to receive by scan"),
        ));
    }
    let scan = db::scan(ctx.db.pool(), r.scan_id)
        .await?
        .ok_or_else(|| Error::NotFound(format!("scan {}", r.scan_id)))?;
    if scan.station != station {
        return Err(Error::invalid(
            "scan_id",
            format!(
                "scan {} was made at station {}, not {station}",
                scan.id, scan.station
            ),
        ));
    }
    if scan.outcome != "ok" {
        return Err(Error::invalid(
            "scan_id",
            format!("scan {} was rejected: {}", scan.id, scan.message),
        ));
    }
    // The receiver confirms what the page shows: the newest product scan at the station. A newer
    // one means the page (or the receiver) is behind; a scan already received is a replay.
    if !scan.used_for.starts_with("receiving:") {
        if let Some(newer) = db::latest_product_scan(ctx.db.pool(), station).await? {
            if newer > scan.id {
                return Err(Error::conflict(
                    "scan_not_latest",
                    format!("a newer scan ({newer}) came in at station {station}: check what the page shows now and receive that, or scan this pack again"),
                ));
            }
        }
    }
    let parsed = scan.parsed.unwrap_or_default();
    let field = |k: &str| parsed.get(k).and_then(|v| v.as_str()).map(str::to_string);
    let gtin =
        field("gtin").ok_or_else(|| Error::invalid("scan_id", "the scan carries no GTIN"))?;
    let lot = match (field("lot"), &r.lot) {
        (Some(scanned), Some(typed)) if scanned != typed.trim() => {
            return Err(Error::invalid(
                "lot",
                format!(
                    "the barcode says lot {scanned}; a typed lot is only for barcodes without one"
                ),
            ))
        }
        (Some(scanned), _) => scanned,
        (None, Some(typed)) => typed.clone(),
        (None, None) => {
            return Err(Error::invalid(
                "lot",
                "the barcode has no lot; type the lot from the package",
            ))
        }
    };
    let expiry = match (field("expiry"), &r.expiry) {
        (Some(scanned), Some(typed)) if scanned != typed.trim() => {
            return Err(Error::invalid("expiry", format!("the barcode says expiry {scanned}; a typed expiry is only for barcodes without one")))
        }
        (Some(scanned), _) => scanned,
        (None, Some(typed)) => typed.clone(),
        (None, None) => return Err(Error::invalid("expiry", "the barcode has no expiry; type the expiry from the package")),
    };
    let req = super::stock::ReceiveRequest {
        idempotency_key: Some(format!("scan:{}", scan.id)),
        gtin,
        lot,
        expiry,
        location: r.location.clone(),
        quantity: r.quantity,
        owner: None,
        reference: r
            .reference
            .clone()
            .or_else(|| Some(format!("scan {}", scan.id))),
    };
    let done = super::stock::receive(ctx, actor, &req).await?;
    db::mark_used(
        ctx.db.pool(),
        scan.id,
        &format!("receiving:op {}", done.op_id),
    )
    .await?;
    Ok(done)
}

/// Stored scans with their verdicts, oldest first after a cursor (`limit` 1 to 1000).
pub async fn list(
    ctx: &Ctx,
    station: Option<&str>,
    after: i64,
    limit: i64,
) -> Result<Vec<db::ScanRecord>> {
    if !(1..=1000).contains(&limit) {
        return Err(Error::invalid("limit", "must be between 1 and 1000"));
    }
    Ok(db::list_scans(ctx.db.pool(), station, after.max(0), limit).await?)
}
