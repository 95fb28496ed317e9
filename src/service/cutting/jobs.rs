//! Cutting jobs: made when an order is picked, what follows a failure (the uncut plates cut
//! again, the ruined ones scrapped and picked again), the order moving on once its jobs have
//! ended, and the sticker of a finished job.

use super::Ctx;
use crate::domain::order::{CutSpec, OrderStatus};
use crate::error::Error;
use crate::service::Actor;
use crate::store::cutting::{self as db, JobRow};
use crate::store::WriteTx;
use firmware_bridge::wire;
use serde_json::json;

/// How much a cut hole may differ from the spec (the stations' factsheets say what they hold).
const TOLERANCE_MM: f64 = 0.5;

pub(super) fn wire_shape(spec: &CutSpec) -> wire::Shape {
    match spec {
        CutSpec::Round { diameter_mm } => wire::Shape::Round {
            diameter_mm: *diameter_mm as f64,
        },
        CutSpec::Oval {
            width_mm,
            height_mm,
        } => wire::Shape::Oval {
            width_mm: *width_mm as f64,
            height_mm: *height_mm as f64,
            rotation_deg: 0.0,
        },
        CutSpec::Template {
            template_id,
            template_version,
        } => wire::Shape::Custom {
            template_id: template_id.clone(),
            template_version: *template_version as u32,
        },
    }
}

/// The job message for a row (the header is filled in when it is sent).
pub(super) fn wire_job(j: &JobRow, header: wire::Header) -> wire::Job {
    wire::Job {
        header,
        job_id: j.id.clone(),
        revision: j.revision as u32,
        content_hash: j.content_hash.clone(),
        line_ref: j.line_ref.clone(),
        plate: wire::Plate {
            gtin: j.gtin.clone(),
            lot: j.lot.clone(),
            expiry: j.expiry.clone(),
        },
        quantity: j.quantity as u32,
        shape: serde_json::from_value(j.shape.clone())
            .unwrap_or(wire::Shape::Round { diameter_mm: 0.0 }),
        tolerance_mm: j.tolerance_mm,
        sticker: serde_json::from_value(j.sticker.clone()).unwrap_or(wire::Sticker {
            product: String::new(),
            cut_spec: String::new(),
            line_ref: j.line_ref.clone(),
        }),
    }
}

pub(super) fn no_header() -> wire::Header {
    wire::Header::new("", "", "", String::new(), 0)
}

/// Makes the cutting jobs of an order that has just been picked, in the picking transaction:
/// one per cut line and plate lot, with a pseudonymous line reference.
pub async fn create_jobs(
    tx: &mut WriteTx,
    order_id: i64,
    lines: &[crate::store::orders::LineRow],
) -> crate::error::Result<usize> {
    let mut made = 0;
    for l in lines {
        let Some(spec) = &l.cut else { continue };
        for (i, (lot, expiry, n)) in db::picked_lots(tx.conn(), l.id, None)
            .await?
            .into_iter()
            .enumerate()
        {
            let id = format!("cj-{order_id}-{}-{}", l.line_no, i + 1);
            let job = NewCut {
                lot,
                expiry,
                quantity: n,
                follows: None,
                detail: "made from the picked order line",
            };
            new_job(tx, order_id, l, spec, &id, &job).await?;
            made += 1;
        }
    }
    Ok(made)
}

/// One job to make: `quantity` plates of a lot, perhaps continuing a failed job.
struct NewCut<'a> {
    lot: String,
    expiry: String,
    quantity: i64,
    follows: Option<&'a str>,
    detail: &'a str,
}

/// Makes one queued cutting job for plates of an order line (its line reference is derived from
/// the order and line, so every job of a line carries the same one).
async fn new_job(
    tx: &mut WriteTx,
    order_id: i64,
    l: &crate::store::orders::LineRow,
    spec: &CutSpec,
    id: &str,
    c: &NewCut<'_>,
) -> crate::error::Result<()> {
    let line_ref = {
        use sha2::Digest as _;
        let h = sha2::Sha256::digest(format!("konsign-line:{order_id}:{}", l.id).as_bytes());
        format!("L-{}", &hex::encode(h)[..12])
    };
    let shape = wire_shape(spec);
    let sticker = wire::Sticker {
        product: l.product_name.clone(),
        cut_spec: spec.describe(),
        line_ref: line_ref.clone(),
    };
    let mut row = JobRow {
        seq: 0,
        id: id.to_string(),
        order_id,
        line_id: l.id,
        revision: 1,
        content_hash: String::new(),
        line_ref: line_ref.clone(),
        gtin: l.gtin.clone(),
        lot: c.lot.clone(),
        expiry: c.expiry.clone(),
        quantity: c.quantity,
        shape: serde_json::to_value(&shape).unwrap_or_default(),
        tolerance_mm: TOLERANCE_MM,
        sticker: serde_json::to_value(&sticker).unwrap_or_default(),
        state: "queued".into(),
        station_id: None,
        message_id: None,
        sends: 0,
        next_send_at: None,
        done: 0,
        rejected_by: String::new(),
        reason: None,
        sticker_job: None,
        follows: c.follows.map(str::to_string),
        recall_cmd: None,
        recall_reason: None,
        created_at: String::new(),
        updated_at: String::new(),
    };
    row.content_hash = wire_job(&row, no_header()).compute_hash();
    db::insert_job(
        tx.conn(),
        &db::NewJob {
            id,
            order_id,
            line_id: l.id,
            content_hash: &row.content_hash,
            line_ref: &line_ref,
            gtin: &row.gtin,
            lot: &row.lot,
            expiry: &row.expiry,
            quantity: c.quantity,
            shape: &row.shape,
            tolerance_mm: TOLERANCE_MM,
            sticker: &row.sticker,
            follows: c.follows,
            detail: c.detail,
        },
    )
    .await?;
    tx.event(
        "cut_job.queued",
        id,
        &json!({ "order_id": order_id, "follows": c.follows }),
    )
    .await?;
    Ok(())
}

/// The next job id of an order line.
async fn next_job_id(
    tx: &mut WriteTx,
    order_id: i64,
    l: &crate::store::orders::LineRow,
) -> crate::error::Result<String> {
    let n = db::jobs_of_line(tx.conn(), l.id).await?;
    Ok(format!("cj-{order_id}-{}-{}", l.line_no, n + 1))
}

/// What follows a failed job, in the transaction that failed it: its reason is kept, and the
/// plates it did not cut are cut after all. The plates it cut (`done`) are good. `damaged` plates (at most the rest) are
/// scrapped from the order's tote and picked again, by a replacement wave into the same tote;
/// a new job cuts them once they are picked. The uncut rest goes straight back in the queue as
/// a new job. Either way the new jobs name the failed one (`follows`), whose reason stays.
pub(super) async fn after_failure(
    tx: &mut WriteTx,
    job_id: &str,
    damaged: i64,
    why: &str,
) -> crate::error::Result<()> {
    db::set_reason(tx.conn(), job_id, why).await?;
    let Some(j) = db::get_job(tx.conn(), job_id).await? else {
        return Ok(());
    };
    let lines = crate::store::orders::lines(tx.conn(), j.order_id).await?;
    let Some(l) = lines.iter().find(|l| l.id == j.line_id) else {
        return Ok(());
    };
    let Some(spec) = &l.cut else { return Ok(()) };
    let left = (j.quantity - j.done).max(0);
    let damaged = damaged.clamp(0, left);
    let uncut = left - damaged;
    if uncut > 0 {
        let id = next_job_id(tx, j.order_id, l).await?;
        let detail = format!("the {uncut} uncut plate(s) of failed job {}", j.id);
        let job = NewCut {
            lot: j.lot.clone(),
            expiry: j.expiry.clone(),
            quantity: uncut,
            follows: Some(&j.id),
            detail: &detail,
        };
        new_job(tx, j.order_id, l, spec, &id, &job).await?;
    }
    if damaged > 0 {
        scrap_damaged(tx, &j, damaged, why).await?;
        let wave =
            crate::service::picking::replacement_wave(tx, j.order_id, j.line_id, damaged).await?;
        let state = if wave.is_some() { "picking" } else { "short" };
        let rid = db::insert_replacement(tx.conn(), &j, damaged, why, state, wave).await?;
        tx.event(
            "cut_job.replacement",
            &j.id,
            &json!({ "replacement": rid, "order_id": j.order_id, "gtin": j.gtin, "quantity": damaged,
                     "state": state, "wave_id": wave, "reason": why }),
        )
        .await?;
        if wave.is_none() {
            tracing::warn!(job = %j.id, gtin = %j.gtin, damaged, "no stock for the replacement plates: a lead must act");
        } else {
            tracing::info!(job = %j.id, ?wave, damaged, "replacement plates to pick");
        }
    }
    Ok(())
}

/// Books a failed job's damaged plates out of the order's tote as scrap (ledger kind `scrap`,
/// reason `damaged`), and takes them off the line's picked count. Once per job revision.
async fn scrap_damaged(
    tx: &mut WriteTx,
    j: &JobRow,
    qty: i64,
    why: &str,
) -> crate::error::Result<()> {
    use crate::store::stock as stock_db;
    let Some((unit_id, owner, location)) =
        db::tote_unit(tx.conn(), j.order_id, &j.gtin, &j.lot, qty).await?
    else {
        tracing::warn!(job = %j.id, lot = %j.lot, "the damaged plates are not in the order's tote: nothing scrapped");
        return Ok(());
    };
    let key = format!("cut-scrap:{}:{}", j.id, j.revision);
    let hash = crate::service::auth::sha256_hex(&format!("{key}:{unit_id}:{qty}"));
    let Some(op_id) = stock_db::insert_op(tx.conn(), "scrap", Some(&key), &hash, "konsign").await?
    else {
        return Ok(()); // booked already
    };
    let Ok((before, after)) = stock_db::change_qty(tx.conn(), unit_id, -qty).await? else {
        return Err(Error::Internal(anyhow::anyhow!(
            "stock unit {unit_id} changed while its damaged plates were booked out"
        )));
    };
    let reason = format!("damaged: cutting job {} failed ({why})", j.id);
    let reason: String = reason.chars().take(500).collect();
    let reference = format!("cut job {} revision {}", j.id, j.revision);
    let entry = stock_db::insert_ledger(
        tx.conn(),
        &stock_db::NewLedger {
            op_id,
            unit_id,
            kind: "scrap",
            gtin: &j.gtin,
            owner: &owner,
            location: &location,
            delta: -qty,
            before,
            after,
            reason: Some(&reason),
            reference: Some(&reference),
            actor: "konsign",
        },
    )
    .await?;
    db::unpick(tx.conn(), j.line_id, qty).await?;
    tx.event(
        "stock.scrapped",
        &format!("stock_unit:{unit_id}"),
        &stock_db::event_payload("scrap", op_id, &[entry]),
    )
    .await?;
    Ok(())
}

/// After a replacement wave is picked (in its transaction): each replacement it carried gets its
/// new job(s), one per picked lot; a replacement that got nothing is `short`.
pub async fn replacements_picked(tx: &mut WriteTx, wave_id: i64) -> crate::error::Result<()> {
    for r in db::replacements_of_wave(tx.conn(), wave_id).await? {
        let lines = crate::store::orders::lines(tx.conn(), r.order_id).await?;
        let Some(l) = lines.iter().find(|l| l.id == r.line_id) else {
            continue;
        };
        let Some(spec) = &l.cut else { continue };
        let lots = db::picked_lots(tx.conn(), r.line_id, Some(wave_id)).await?;
        if lots.is_empty() {
            db::set_replacement(tx.conn(), r.id, "short", None).await?;
            continue;
        }
        let detail = format!("the replacement plate(s) for failed job {}", r.job_id);
        let mut made = vec![];
        for (lot, expiry, n) in lots {
            let id = next_job_id(tx, r.order_id, l).await?;
            let job = NewCut {
                lot,
                expiry,
                quantity: n,
                follows: Some(&r.job_id),
                detail: &detail,
            };
            new_job(tx, r.order_id, l, spec, &id, &job).await?;
            made.push(id);
        }
        db::set_replacement(tx.conn(), r.id, "picked", Some(&made.join(" "))).await?;
        tracing::info!(job = %r.job_id, new = ?made, "replacement plates picked: new cutting job");
    }
    Ok(())
}

/// After a job finished: when all jobs of its order are finished, the order moves on to packing.
pub(super) async fn order_after_cut(tx: &mut WriteTx, job_id: &str) -> crate::error::Result<()> {
    let Some(j) = db::get_job(tx.conn(), job_id).await? else {
        return Ok(());
    };
    // Done when every job has ended (a failed or cancelled job's uncut plates are cut by the
    // jobs that follow it) and no replacement plates wait to be picked.
    let jobs = db::jobs_of_order(tx.conn(), j.order_id).await?;
    if !jobs
        .iter()
        .all(|x| ["finished", "failed", "cancelled"].contains(&x.state.as_str()))
        || db::open_replacements(tx.conn(), j.order_id).await? > 0
    {
        return Ok(());
    }
    let (external_id, status, _) = db::order_ref(tx.conn(), j.order_id).await?;
    if status != OrderStatus::Cutting.as_str() {
        return Ok(());
    }
    crate::store::orders::set_order_status(tx.conn(), j.order_id, OrderStatus::Picked).await?;
    // The order's feed event, shaped as every other (`orders::order_event`).
    tx.event(
        "order.cut",
        &format!("order:{external_id}"),
        &json!({ "external_id": external_id, "order_id": j.order_id, "jobs": jobs.len(),
                 "status": OrderStatus::Picked.as_str() }),
    )
    .await?;
    tracing::info!(order = %external_id, "all cutting jobs finished: on to packing");
    Ok(())
}

/// Prints a finished job's sticker on its station's printer (if it has one); the sticker data
/// stays with the job either way.
pub(super) async fn print_sticker(ctx: &Ctx, job_id: &str) {
    let run = async {
        let mut conn = ctx.db.pool().acquire().await?;
        let Some(j) = db::get_job(&mut conn, job_id).await? else {
            return Ok::<_, Error>(());
        };
        drop(conn);
        if j.state != "finished" {
            return Ok(());
        }
        let Some(station) = j.station_id.as_deref() else {
            return Ok(());
        };
        let Some(st) = db::get(ctx.db.pool(), station).await? else {
            return Ok(());
        };
        let Some(printer) = st.printer_id else {
            return Ok(());
        };
        let expiry = j.expiry.replace('-', "");
        let mut conn = ctx.db.pool().acquire().await?;
        let (external_id, _, tote) = db::order_ref(&mut conn, j.order_id).await?;
        drop(conn);
        let data = json!({
            "tote": tote.unwrap_or_default(),
            "order_ref": short_ref(&external_id),
            "product": j.sticker["product"],
            "cut_spec": j.sticker["cut_spec"],
            "line_ref": j.line_ref,
            "gtin": j.gtin,
            "lot": j.lot,
            "expiry_yymmdd": expiry.get(2..8).unwrap_or(""),
            "job_id": j.id,
        });
        let pj = crate::service::printing::print(
            ctx,
            &Actor::system(),
            &crate::service::printing::PrintRequest {
                printer,
                template: "cut-sticker".into(),
                data: Some(data),
                sample: false,
                request_key: Some(format!("sticker-{job_id}")),
                subject: Some(job_id.to_string()),
            },
        )
        .await?;
        db::set_sticker_job(ctx.db.pool(), job_id, &pj.id).await?;
        Ok(())
    };
    if let Err(e) = run.await {
        tracing::warn!(job = job_id, error = %e, "cannot print the cut sticker");
    }
}

/// Puts a job back in the queue as its next revision (nothing of it was cut), when it is still
/// in `from`; `detail` gets the new revision for the job's log. True when it moved.
pub(super) async fn requeue_next_revision(
    tx: &mut WriteTx,
    j: &JobRow,
    from: &str,
    station: Option<&str>,
    detail: impl FnOnce(i64) -> String,
) -> crate::error::Result<bool> {
    let mut next = j.clone();
    next.revision += 1;
    next.content_hash = wire_job(&next, no_header()).compute_hash();
    db::new_revision(
        tx.conn(),
        &j.id,
        from,
        next.revision,
        &next.content_hash,
        station,
        &detail(next.revision),
    )
    .await
    .map_err(Into::into)
}

/// An order's reference short enough for large type on a sticker: whole up to 12 characters,
/// else its last 10.
pub(super) fn short_ref(external_id: &str) -> String {
    let n = external_id.chars().count();
    if n <= 12 {
        external_id.to_string()
    } else {
        format!("…{}", external_id.chars().skip(n - 10).collect::<String>())
    }
}
