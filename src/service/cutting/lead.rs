//! What leads and operators do with cutting stations and jobs: commands to a station, a job
//! taken back (recalled: it leaves its station only once the station says what became of it,
//! or a lead says the plate was not cut), the operator's buttons (on a linked station the
//! machine decides; on a manual one the operator), and the views.

use super::{jobs as cut_jobs, list_stations, new_cmd_id, send_cmd, Actor, Ctx, StationView};
use crate::error::{Error, Result};
use crate::service::views;
use crate::store::cutting::{self as db, JobRow};
use firmware_bridge::wire;
use serde::{Deserialize, Serialize};
use serde_json::json;

/// What a lead or operator may tell a station.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum StationCommand {
    /// Finish the job on the machine, then load no next one (a blade change, a break). No new
    /// jobs are sent to a paused station.
    Pause,
    Resume,
    /// The operator has dealt with a machine fault.
    ClearFault,
    /// Ask for a fresh `state`.
    StateRequest,
}

/// Sends a command to a station (answered by its `ack`, stored as an event); audit-logged.
/// Returns the command id.
pub async fn station_command(
    ctx: &Ctx,
    actor: &Actor,
    id: &str,
    command: StationCommand,
) -> Result<String> {
    if db::get(ctx.db.pool(), id).await?.is_none() {
        return Err(Error::NotFound(format!("cutting station {id}")));
    }
    if ctx.cutting.host.get().is_none() {
        return Err(Error::conflict(
            "mqtt_disabled",
            "konsign's MQTT link is switched off (mqtt.enabled = false)",
        ));
    }
    let cmd_id = new_cmd_id();
    let command = match command {
        StationCommand::Pause => wire::Command::Pause,
        StationCommand::Resume => wire::Command::Resume,
        StationCommand::ClearFault => wire::Command::ClearFault,
        StationCommand::StateRequest => wire::Command::StateRequest,
    };
    let mut tx = ctx.db.begin_write().await?;
    crate::store::audit::append(
        tx.conn(),
        crate::store::audit::NewAudit {
            actor: &actor.name,
            action: "cut_station.command",
            subject: &format!("cut_station:{id}"),
            purpose: None,
            detail: json!({ "command": command, "cmd_id": cmd_id }),
        },
    )
    .await?;
    tx.commit().await?;
    send_cmd(ctx, id, &cmd_id, command, None, None, "command").await;
    tracing::info!(station = id, ?command, by = %actor.name, "command sent to the cutting station");
    Ok(cmd_id)
}

/// A cutting job with its transitions.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
#[schema(as = CutJobView)]
pub struct JobView {
    #[serde(flatten)]
    pub job: views::cutting::CutJob,
    pub log: Vec<JobLogEntry>,
    /// The jobs that cut this one's plates after it failed.
    pub followed_by: Vec<String>,
    /// Its damaged plates, scrapped and picked again.
    pub replacements: Vec<views::cutting::Replacement>,
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
#[schema(as = CutJobLogEntry)]
pub struct JobLogEntry {
    pub state: String,
    pub station_id: Option<String>,
    pub detail: String,
    pub at: String,
}

pub async fn job(ctx: &Ctx, id: &str) -> Result<JobView> {
    let mut conn = ctx.db.pool().acquire().await?;
    let job = db::get_job(&mut conn, id)
        .await?
        .ok_or_else(|| Error::NotFound(format!("cutting job {id}")))?;
    let log = db::log_of(&mut conn, id)
        .await?
        .into_iter()
        .map(|(state, station_id, detail, at)| JobLogEntry {
            state,
            station_id,
            detail,
            at,
        })
        .collect();
    let followed_by = db::followed_by(&mut conn, id).await?;
    let replacements = db::replacements(&mut conn, None, Some(id), 100).await?;
    Ok(JobView {
        job: job.into(),
        log,
        followed_by,
        replacements: views::all(replacements),
    })
}

/// What a lead sees of hulklip: each station with the jobs it holds, jobs per state, and the
/// replacement plates not picked yet.
#[derive(Debug, Clone, Default, Serialize, utoipa::ToSchema)]
pub struct CutOverview {
    pub stations: Vec<(StationView, i64)>,
    pub by_state: Vec<(String, i64)>,
    pub replacements: Vec<views::cutting::Replacement>,
    /// Jobs being taken back, waiting for their station's answer (a lead may release them).
    pub recalling: Vec<views::cutting::CutJob>,
}

pub async fn overview(ctx: &Ctx) -> Result<CutOverview> {
    let stations = stations_with_loads(ctx).await?;
    let by_state = db::count_by_state(ctx.db.pool()).await?;
    let mut conn = ctx.db.pool().acquire().await?;
    let replacements = db::replacements(&mut conn, None, None, 200)
        .await?
        .into_iter()
        .filter(|r| r.state != "picked")
        .collect::<Vec<_>>();
    let recalling = db::jobs(ctx.db.pool(), "recalling", 100).await?;
    Ok(CutOverview {
        stations,
        by_state,
        replacements: views::all(replacements),
        recalling: views::all(recalling),
    })
}

/// Damaged plates picked again (newest first), for one order or all.
pub async fn replacements(ctx: &Ctx, order_id: Option<i64>) -> Result<Vec<db::Replacement>> {
    let mut conn = ctx.db.pool().acquire().await?;
    Ok(db::replacements(&mut conn, order_id, None, 500).await?)
}

/// A lead tries a `short` replacement again (after stock came in): its replacement wave is
/// made now, or the answer says there is still not enough stock.
pub async fn retry_replacement(ctx: &Ctx, actor: &Actor, id: i64) -> Result<db::Replacement> {
    let mut tx = ctx.db.begin_write().await?;
    let r = db::replacement(tx.conn(), id)
        .await?
        .ok_or_else(|| Error::NotFound(format!("replacement {id}")))?;
    if r.state != "short" {
        return Err(Error::conflict(
            "replacement_not_short",
            format!(
                "replacement {id} is {}: only a short one is tried again",
                r.state
            ),
        ));
    }
    let Some(wave) =
        crate::service::picking::replacement_wave(&mut tx, r.order_id, r.line_id, r.quantity)
            .await?
    else {
        return Err(Error::conflict(
            "no_stock",
            format!(
                "there is still no stock for {} plate(s) of {}",
                r.quantity, r.gtin
            ),
        ));
    };
    db::replacement_to_wave(tx.conn(), id, wave).await?;
    crate::store::audit::append(
        tx.conn(),
        crate::store::audit::NewAudit {
            actor: &actor.name,
            action: "cut_replacement.retry",
            subject: &format!("cut_job:{}", r.job_id),
            purpose: None,
            detail: json!({ "replacement": id, "wave_id": wave }),
        },
    )
    .await?;
    let r = db::replacement(tx.conn(), id)
        .await?
        .ok_or_else(|| Error::NotFound(format!("replacement {id}")))?;
    tx.commit().await?;
    Ok(r)
}

pub async fn jobs(ctx: &Ctx, state: Option<&str>) -> Result<Vec<JobRow>> {
    crate::domain::states::CutJobState::parse_filter("state", state)?;
    Ok(db::jobs(ctx.db.pool(), state.unwrap_or(""), 500).await?)
}

/// Writes an audit entry in the transaction.
async fn audit(
    tx: &mut crate::store::WriteTx,
    actor: &Actor,
    action: &str,
    id: &str,
    detail: serde_json::Value,
) -> Result<()> {
    crate::store::audit::append(
        tx.conn(),
        crate::store::audit::NewAudit {
            actor: &actor.name,
            action,
            subject: &format!("cut_job:{id}"),
            purpose: None,
            detail,
        },
    )
    .await?;
    Ok(())
}

async fn get_job(ctx: &Ctx, id: &str) -> Result<JobRow> {
    let mut conn = ctx.db.pool().acquire().await?;
    db::get_job(&mut conn, id)
        .await?
        .ok_or_else(|| Error::NotFound(format!("cutting job {id}")))
}

fn check_reason(reason: Option<&str>) -> Result<&str> {
    let reason = reason.map(str::trim).unwrap_or("");
    if reason.is_empty() || reason.chars().count() > 500 {
        return Err(Error::invalid("reason", "say why (1 to 500 characters)"));
    }
    Ok(reason)
}

/// A lead takes a job back (a station out of service). A job at a linked station is
/// **recalled**: the station is told to `cancel` it (naming its revision), and the job waits in
/// `recalling` until the station says what became of it: not started or stopped with nothing
/// cut, it goes back in the queue as a new revision for any station; finished, it stays
/// finished; stopped part-way, a new job cuts the rest. A job at a manual station goes back in
/// the queue at once.
pub async fn requeue(ctx: &Ctx, actor: &Actor, id: &str, reason: &str) -> Result<JobRow> {
    let reason = check_reason(Some(reason))?;
    recall(ctx, actor, id, reason, "cut_job.requeue").await
}

async fn recall(ctx: &Ctx, actor: &Actor, id: &str, reason: &str, action: &str) -> Result<JobRow> {
    let mut tx = ctx.db.begin_write().await?;
    let j = db::get_job(tx.conn(), id)
        .await?
        .ok_or_else(|| Error::NotFound(format!("cutting job {id}")))?;
    if j.state == "recalling" {
        return Err(Error::conflict(
            "job_recalling",
            format!("job {id} is being taken back already: konsign waits for its station to say what became of it. If the station is out of service and the plate was not cut, release the job"),
        ));
    }
    if !["sent", "accepted", "running"].contains(&j.state.as_str()) {
        return Err(Error::conflict(
            "job_not_requeueable",
            format!("job {id} is {}; only a sent, accepted or running job can be taken back (a failed job's plates are cut by the jobs that follow it)", j.state),
        ));
    }
    let station = j.station_id.clone().unwrap_or_default();
    let manual = db::get(ctx.db.pool(), &station)
        .await?
        .is_some_and(|s| s.manual);
    let cmd_id = new_cmd_id();
    if manual {
        cut_jobs::requeue_next_revision(&mut tx, &j, &j.state, Some(&station), |_| {
            format!("put back in the queue by {}: {reason}", actor.name)
        })
        .await?;
    } else {
        let detail = format!(
            "taken back by {}: {reason}; waiting for {station} to say what became of it",
            actor.name
        );
        let next = crate::domain::time::to_db(
            chrono::Utc::now() + chrono::Duration::seconds(crate::domain::cutting::backoff_secs(0)),
        );
        db::start_recall(tx.conn(), id, &j.state, &cmd_id, reason, &next, &detail).await?;
    }
    audit(
        &mut tx,
        actor,
        action,
        id,
        json!({ "reason": reason, "from": j.state, "station": j.station_id }),
    )
    .await?;
    tx.commit().await?;
    if !manual {
        send_cmd(
            ctx,
            &station,
            &cmd_id,
            wire::Command::Cancel,
            Some((id, j.revision)),
            Some(reason),
            "cancel",
        )
        .await;
        tracing::info!(job = id, station, by = %actor.name, "cutting job taken back: cancel sent");
    }
    ctx.cutting.wake.notify_one();
    get_job(ctx, id).await
}

/// A lead says a job being recalled was **not cut** (its station is out of service and cannot
/// answer): it goes back in the queue as a new revision. Audit-logged; should the station later
/// report it cut after all, that is raised on the job for a lead.
pub async fn release(
    ctx: &Ctx,
    actor: &Actor,
    id: &str,
    reason: &str,
    plate_not_cut: bool,
) -> Result<JobRow> {
    let reason = check_reason(Some(reason))?;
    if !plate_not_cut {
        return Err(Error::invalid(
            "plate_not_cut",
            "must be true: say that the plate was not cut (look at the machine first)",
        ));
    }
    let mut tx = ctx.db.begin_write().await?;
    let j = db::get_job(tx.conn(), id)
        .await?
        .ok_or_else(|| Error::NotFound(format!("cutting job {id}")))?;
    if j.state != "recalling" {
        return Err(Error::conflict(
            "job_not_recalling",
            format!(
                "job {id} is {}: only a job being taken back is released",
                j.state
            ),
        ));
    }
    cut_jobs::requeue_next_revision(&mut tx, &j, "recalling", j.station_id.as_deref(), |rev| {
        format!(
            "released by {}: the plate was not cut ({reason}); back in the queue as revision {rev}",
            actor.name
        )
    })
    .await?;
    audit(
        &mut tx,
        actor,
        "cut_job.release",
        id,
        json!({ "reason": reason, "station": j.station_id, "revision": j.revision }),
    )
    .await?;
    tx.commit().await?;
    ctx.cutting.wake.notify_one();
    get_job(ctx, id).await
}

/// What an operator does at a station's page.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum OperatorAction {
    /// Start the job: a linked station is told `start` (the job is running once the machine
    /// says `started`); at a manual station the job is running at once.
    Start,
    /// Manual stations only: the cut plates are checked and in the box: the job is finished.
    Done,
    /// Manual stations only: the job cannot be finished; it fails with the reason.
    Fault,
    /// Linked stations: something is wrong with the job. A job not started is taken back (the
    /// station is told to cancel it, and konsign waits for its answer); for a running one the
    /// station is asked for its state, and the problem is noted for a lead. The machine's own
    /// events decide the outcome.
    Problem,
}

/// An operator's action on a job at the station that holds it; each is one transaction with
/// its log entry. On a station linked to its machine only the machine's events finish or fail a
/// job; on a manual station the operator's `done` and `fault` do, as the machine's events would.
pub async fn operator_action(
    ctx: &Ctx,
    actor: &Actor,
    id: &str,
    action: OperatorAction,
    reason: Option<&str>,
    plates_damaged: Option<i64>,
) -> Result<JobRow> {
    let j = get_job(ctx, id).await?;
    let station = j.station_id.clone().unwrap_or_default();
    let st = db::get(ctx.db.pool(), &station).await?.ok_or_else(|| {
        Error::conflict(
            "job_not_at_station",
            format!("job {id} is not at a station"),
        )
    })?;
    let who = format!("by {} at {station}", actor.name);
    if !st.manual {
        return linked_action(ctx, actor, &j, action, reason, &who).await;
    }
    let mut tx = ctx.db.begin_write().await?;
    let moved = match action {
        OperatorAction::Start => {
            db::transition(
                tx.conn(),
                id,
                &["accepted"],
                "running",
                Some(&station),
                &format!("started {who}"),
                "",
            )
            .await?
        }
        OperatorAction::Done => {
            db::transition(
                tx.conn(),
                id,
                &["accepted", "running"],
                "finished",
                Some(&station),
                &format!("confirmed done {who}"),
                "done = quantity",
            )
            .await?
        }
        OperatorAction::Fault => {
            let reason = check_reason(reason)?;
            // One plate is lost in a typical fault; the operator says how many.
            let damaged = plates_damaged.unwrap_or(1);
            if !(0..=j.quantity - j.done).contains(&damaged) {
                return Err(Error::invalid(
                    "plates_damaged",
                    format!(
                        "must be between 0 and the {} plates not yet cut",
                        j.quantity - j.done
                    ),
                ));
            }
            let moved = db::transition(
                tx.conn(),
                id,
                &["accepted", "running"],
                "failed",
                Some(&station),
                &format!("fault reported {who}: {reason}"),
                "",
            )
            .await?;
            if moved {
                cut_jobs::after_failure(&mut tx, id, damaged, reason).await?;
            }
            moved
        }
        OperatorAction::Problem => {
            return Err(Error::conflict(
                "manual_station",
                format!("{station} is a manual station: report a fault instead"),
            ));
        }
    };
    if !moved {
        return Err(Error::conflict(
            "job_state",
            format!(
                "job {id} is {}: it cannot be {}",
                j.state,
                match action {
                    OperatorAction::Start => "started",
                    OperatorAction::Done => "confirmed done",
                    _ => "reported as failed",
                }
            ),
        ));
    }
    if action != OperatorAction::Start {
        cut_jobs::order_after_cut(&mut tx, id).await?;
    }
    tx.commit().await?;
    if action == OperatorAction::Done {
        cut_jobs::print_sticker(ctx, id).await;
    }
    ctx.cutting.wake.notify_one();
    get_job(ctx, id).await
}

/// The operator's buttons at a station linked to its machine: they ask the station, and the
/// machine's answer and events decide.
async fn linked_action(
    ctx: &Ctx,
    actor: &Actor,
    j: &JobRow,
    action: OperatorAction,
    reason: Option<&str>,
    who: &str,
) -> Result<JobRow> {
    let station = j.station_id.clone().unwrap_or_default();
    match action {
        OperatorAction::Done | OperatorAction::Fault => Err(Error::conflict(
            "machine_reports",
            format!("{station} is linked to its machine: the machine's own events finish or fail a job. Report a problem instead"),
        )),
        OperatorAction::Start => {
            if !["sent", "accepted"].contains(&j.state.as_str()) {
                return Err(Error::conflict("job_state", format!("job {} is {}: it cannot be started", j.id, j.state)));
            }
            let mut tx = ctx.db.begin_write().await?;
            db::note(tx.conn(), &j.id, &station, &format!("start asked {who}")).await?;
            tx.commit().await?;
            send_cmd(ctx, &station, &new_cmd_id(), wire::Command::Start, Some((&j.id, j.revision)), None, "command").await;
            get_job(ctx, &j.id).await
        }
        OperatorAction::Problem => {
            let reason = check_reason(reason)?;
            if ["sent", "accepted"].contains(&j.state.as_str()) {
                return recall(ctx, actor, &j.id, reason, "cut_job.problem").await;
            }
            if j.state != "running" && j.state != "recalling" {
                return Err(Error::conflict("job_state", format!("job {} is {}: nothing to report", j.id, j.state)));
            }
            let mut tx = ctx.db.begin_write().await?;
            let detail = format!("problem reported {who}: {reason}; the station is asked for its state");
            db::note(tx.conn(), &j.id, &station, &detail).await?;
            tx.event("cut_job.problem", &j.id, &json!({ "station": station, "reason": reason, "by": actor.name })).await?;
            audit(&mut tx, actor, "cut_job.problem", &j.id, json!({ "reason": reason })).await?;
            tx.commit().await?;
            send_cmd(ctx, &station, &new_cmd_id(), wire::Command::StateRequest, None, None, "command").await;
            get_job(ctx, &j.id).await
        }
    }
}

/// All stations with the jobs each holds (for the overview).
pub(super) async fn stations_with_loads(ctx: &Ctx) -> Result<Vec<(StationView, i64)>> {
    let loads: std::collections::HashMap<String, i64> = db::station_loads(ctx.db.pool())
        .await?
        .into_iter()
        .collect();
    Ok(list_stations(ctx)
        .await?
        .into_iter()
        .map(|s| {
            let n = loads.get(&s.station.id).copied().unwrap_or(0);
            (s, n)
        })
        .collect())
}

/// Prints a finished job's sticker again (a new print job).
pub async fn reprint_sticker(
    ctx: &Ctx,
    actor: &Actor,
    id: &str,
) -> Result<crate::store::printing::JobRow> {
    let mut conn = ctx.db.pool().acquire().await?;
    let j = db::get_job(&mut conn, id)
        .await?
        .ok_or_else(|| Error::NotFound(format!("cutting job {id}")))?;
    drop(conn);
    let Some(pj) = j.sticker_job else {
        return Err(Error::conflict(
            "no_sticker",
            format!(
                "job {id} has no printed sticker (not finished, or its station has no printer)"
            ),
        ));
    };
    crate::service::printing::reprint(ctx, actor, &pj, None, None).await
}
