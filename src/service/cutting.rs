//! Hulklip cutting stations: the registry (an admin adds stations; messages from any other
//! station are refused), and the handling of what stations say over MQTT: their connection,
//! factsheet and state snapshots, with every refused message logged, counted, stored as an
//! event and answered on `_host/{host}/error`.

use super::{Actor, Ctx};
use crate::config::CutStationSetting;
use crate::devices::cutting::host::{self, Host, Incoming};
use crate::error::{Error, Result};
use crate::store::cutting::{self as db, StationRow};
use firmware_bridge::wire::{self, Connection, Factsheet, State, Topic, WireError};
use serde::{Deserialize, Serialize};
use serde_json::json;
use std::sync::{Arc, OnceLock};
use std::time::Duration;

/// The MQTT side of konsign, once started.
#[derive(Debug, Default)]
pub struct Hub {
    pub host: OnceLock<Arc<Host>>,
    /// Wakes the dispatcher (a job was queued).
    pub wake: tokio::sync::Notify,
}

/// A station as an admin sets it up.
#[derive(Debug, Clone, Deserialize, Serialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct StationInput {
    pub name: Option<String>,
    /// The printer for its cut stickers.
    pub printer: Option<String>,
    /// Default true.
    pub enabled: Option<bool>,
}

fn check_id(id: &str) -> Result<()> {
    let ok = !id.is_empty()
        && id.len() <= 64
        && id != wire::HOST_SEGMENT
        && id
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-' || b == b'_');
    if ok {
        Ok(())
    } else {
        Err(Error::invalid(
            "id",
            "must be 1 to 64 lower-case letters, digits, '-' or '_' (it is an MQTT topic segment)",
        ))
    }
}

pub async fn put_station(ctx: &Ctx, actor: &Actor, id: &str, s: &StationInput) -> Result<()> {
    check_id(id)?;
    if let Some(p) = &s.printer {
        if crate::store::printing::get_printer(ctx.db.pool(), p)
            .await?
            .is_none()
        {
            return Err(Error::invalid("printer", format!("no printer {p}")));
        }
    }
    let name = s
        .name
        .clone()
        .map(|n| n.trim().to_string())
        .filter(|n| !n.is_empty())
        .unwrap_or_else(|| id.to_string());
    let mut tx = ctx.db.begin_write().await?;
    db::put(
        tx.conn(),
        id,
        &name,
        s.printer.as_deref(),
        s.enabled.unwrap_or(true),
    )
    .await?;
    crate::store::audit::append(
        tx.conn(),
        crate::store::audit::NewAudit {
            actor: &actor.name,
            action: "cut_station.put",
            subject: &format!("cut_station:{id}"),
            purpose: None,
            detail: serde_json::to_value(s).unwrap_or_default(),
        },
    )
    .await?;
    tx.commit().await?;
    Ok(())
}

/// The stations of the configuration file, added or updated at start.
pub async fn configure_stations(
    db_: &crate::store::Db,
    stations: &[CutStationSetting],
) -> anyhow::Result<()> {
    for s in stations {
        check_id(&s.id).map_err(|e| anyhow::anyhow!("mqtt.stations {}: {e}", s.id))?;
        let mut tx = db_.begin_write().await?;
        db::put(
            tx.conn(),
            &s.id,
            s.name.as_deref().unwrap_or(&s.id),
            s.printer.as_deref(),
            true,
        )
        .await?;
        tx.commit().await?;
    }
    Ok(())
}

/// A station as the API shows it.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct StationView {
    #[serde(flatten)]
    pub station: StationRow,
    /// Online, its state fresh (at most 90 s old), and neither paused nor in a fault.
    pub available: bool,
}

pub async fn list_stations(ctx: &Ctx) -> Result<Vec<StationView>> {
    let now = chrono::Utc::now();
    Ok(db::list(ctx.db.pool())
        .await?
        .into_iter()
        .map(|s| {
            let fresh = s
                .state_at
                .as_deref()
                .and_then(crate::domain::time::from_db)
                .is_some_and(|t| now - t <= chrono::Duration::seconds(90));
            StationView {
                available: s.enabled
                    && s.connection == "online"
                    && fresh
                    && !matches!(s.mode.as_deref(), Some("paused" | "fault")),
                station: s,
            }
        })
        .collect())
}

/// Starts the embedded broker when no external one is configured, connects konsign's MQTT
/// link, and handles incoming station messages until the process ends.
pub async fn start(ctx: &Ctx) -> anyhow::Result<Vec<tokio::task::JoinHandle<()>>> {
    let cfg = &ctx.config.mqtt;
    if !cfg.enabled {
        return Ok(Vec::new());
    }
    if cfg.url.is_none() {
        crate::devices::cutting::broker::start(cfg.embedded_listen).await?;
    }
    let (host_name, port) = cfg.broker()?;
    let host_id = cfg.host_id.clone().unwrap_or_else(|| {
        format!(
            "{}-{}",
            ctx.spooler
                .instance()
                .split('-')
                .next()
                .unwrap_or("konsign")
                .to_lowercase()
                .replace(|c: char| !c.is_ascii_alphanumeric(), ""),
            std::process::id()
        )
    });
    let (h, mut rx, link) = host::start(host::Settings {
        host: host_name,
        port,
        username: cfg.username.clone(),
        password: cfg.password.clone(),
        site: cfg.site.clone(),
        host_id,
    });
    let _ = ctx.cutting.host.set(h.clone());
    let dispatcher = spawn_dispatcher(ctx.clone(), h.clone());
    let c = ctx.clone();
    let worker = tokio::spawn(async move {
        while let Some(m) = rx.recv().await {
            let mut wait = Duration::from_millis(100);
            loop {
                match handle(&c, &h, &m).await {
                    Ok(()) => break,
                    Err(e) => {
                        // The database failed: the message is kept (not acknowledged) and
                        // handled again.
                        tracing::warn!(error = %e, topic = %m.topic, "cannot handle a station message yet");
                        tokio::time::sleep(wait).await;
                        wait = (wait * 2).min(Duration::from_secs(10));
                    }
                }
            }
            h.ack(&m).await;
        }
    });
    Ok(vec![link, worker, dispatcher])
}

/// Says goodbye on the broker (offline, retained) and disconnects.
pub async fn shutdown(ctx: &Ctx) {
    if let Some(h) = ctx.cutting.host.get() {
        h.shutdown().await;
    }
}

/// How long a gap in a station's events may last before konsign treats the events as lost.
const LOST_EVENT_GRACE: std::time::Duration = std::time::Duration::from_secs(2);

/// Asks a station again about the jobs it no longer listed, if its events up to `behind` have
/// still not arrived: its `duplicate` answer says what became of each.
async fn ask_again_if_lost(
    ctx: &Ctx,
    station: &str,
    behind: i64,
    jobs: Vec<JobRow>,
) -> std::result::Result<(), sqlx::Error> {
    let Some(h) = ctx.cutting.host.get().cloned() else {
        return Ok(());
    };
    let Some(row) = db::get(ctx.db.pool(), station).await? else {
        return Ok(());
    };
    if row.last_event_seq >= behind {
        return Ok(());
    }
    let mut conn = ctx.db.pool().acquire().await?;
    for j in jobs {
        let Some(now) = db::get_job(&mut conn, &j.id).await? else {
            continue;
        };
        if now.revision != j.revision
            || now.station_id.as_deref() != Some(station)
            || !["accepted", "running"].contains(&now.state.as_str())
        {
            continue;
        }
        let mid = now.message_id.clone().unwrap_or_else(|| h.message_id());
        tracing::info!(station, job = %now.id, last_seen = row.last_event_seq, "events from the station were lost: asking about the job again");
        h.send_job(
            station,
            &mid,
            wire::encode(&wire_job(&now, h.header_for(station, &mid))),
        )
        .await;
    }
    Ok(())
}

/// Handles one incoming message. A message that breaks the protocol is refused (and that is
/// handled: `Ok`); `Err` only for a database failure.
async fn handle(ctx: &Ctx, h: &Host, m: &Incoming) -> std::result::Result<(), sqlx::Error> {
    let refused = |reason: String| async move {
        reject(ctx, h, &m.topic, &reason).await;
        Ok(())
    };
    let Some((site, station, topic)) = wire::parse_topic(&m.topic) else {
        return refused(format!(
            "{} is not a station topic of this protocol",
            m.topic
        ))
        .await;
    };
    if site != h.site {
        return refused(format!("site {site} is not this konsign's site {}", h.site)).await;
    }
    let Some(row) = db::get(ctx.db.pool(), station).await? else {
        return refused(format!("unknown station {station}")).await;
    };
    if !row.enabled {
        return refused(format!("station {station} is switched off in konsign")).await;
    }
    // Decode first: a refusal writes on its own, outside any transaction of ours.
    enum Msg {
        Connection(Connection),
        Factsheet(Factsheet),
        State(State),
        Event(wire::Event),
        Ack(wire::Ack),
    }
    let decoded: std::result::Result<Msg, WireError> = match topic {
        Topic::Connection => wire::decode(&m.payload, site, station).map(Msg::Connection),
        Topic::Factsheet => wire::decode(&m.payload, site, station).map(Msg::Factsheet),
        Topic::State => wire::decode(&m.payload, site, station).map(Msg::State),
        Topic::Event => wire::decode(&m.payload, site, station).map(Msg::Event),
        Topic::Ack => wire::decode(&m.payload, site, station).map(Msg::Ack),
        // konsign's own messages to stations; it does not subscribe to them.
        Topic::Job | Topic::Cmd => return Ok(()),
    };
    let msg = match decoded {
        Ok(m) => m,
        Err(e) => return refused(e.to_string()).await,
    };
    if let Msg::Factsheet(f) = &msg {
        if f.min_mm > f.max_mm || f.queue_limit == 0 {
            return refused("factsheet: min_mm above max_mm, or a queue limit of 0".into()).await;
        }
    }
    let mut tx = ctx.db.begin_write().await?;
    let mut finished: Option<String> = None;
    let mut ask_again: Vec<JobRow> = vec![];
    let mut behind = 0i64;
    match msg {
        Msg::Connection(c) => {
            let state = match c.connection {
                wire::ConnectionState::Online => "online",
                wire::ConnectionState::Offline => "offline",
                wire::ConnectionState::Broken => "broken",
            };
            db::set_connection(tx.conn(), station, state, &c.header.boot_id).await?;
            tx.event(
                "cut_station.connection",
                station,
                &json!({ "connection": state, "boot_id": c.header.boot_id }),
            )
            .await?;
            tracing::info!(station, connection = state, "cutting station connection");
        }
        Msg::Factsheet(f) => {
            let v = serde_json::to_value(&f).unwrap_or_default();
            db::set_factsheet(tx.conn(), station, &strip_header(v)).await?;
        }
        Msg::State(s) => {
            let mode = serde_json::to_value(s.mode)
                .ok()
                .and_then(|v| v.as_str().map(str::to_string))
                .unwrap_or_default();
            let v = serde_json::to_value(&s).unwrap_or_default();
            db::set_state(tx.conn(), station, &strip_header(v), &mode).await?;
            // The station has said more than konsign heard (events lost with a broker that
            // restarted without its sessions): the jobs konsign thinks it holds that it no
            // longer lists are asked about again; the station answers `duplicate` with what
            // became of each, and konsign catches up from that.
            if s.last_event_seq as i64 > row.last_event_seq {
                behind = s.last_event_seq as i64;
                let listed = |id: &str, rev: i64| {
                    s.current_job
                        .as_ref()
                        .is_some_and(|c| c.job_id == id && i64::from(c.revision) == rev)
                        || s.queue
                            .iter()
                            .any(|q| q.job_id == id && i64::from(q.revision) == rev)
                };
                ask_again = db::held_by(tx.conn(), station)
                    .await?
                    .into_iter()
                    .filter(|j| j.state != "sent" && !listed(&j.id, j.revision))
                    .collect();
            }
        }
        Msg::Event(e) => {
            if !db::take_event_seq(tx.conn(), station, e.seq as i64).await? {
                tracing::debug!(station, seq = e.seq, "duplicate event ignored");
                return Ok(());
            }
            tx.event(
                "cut_station.event",
                station,
                &serde_json::to_value(&e)
                    .map(strip_header)
                    .unwrap_or_default(),
            )
            .await?;
            finished = on_event(&mut tx, station, &e).await?;
        }
        Msg::Ack(a) => {
            h.answered(&a.ref_message_id, m.received);
            tx.event(
                "cut_station.ack",
                station,
                &serde_json::to_value(&a)
                    .map(strip_header)
                    .unwrap_or_default(),
            )
            .await?;
            finished = on_ack(&mut tx, station, &a).await?;
        }
    }
    if let Some(job) = &finished {
        order_after_cut(&mut tx, job).await?;
    }
    tx.commit().await?;
    if let Some(job) = &finished {
        print_sticker(ctx, job).await;
    }
    if !ask_again.is_empty() {
        // A station's `state` can overtake an event still on its way (a station sends events
        // from its outbox, one acknowledged publish at a time): only what is still missing
        // after a grace period counts as lost.
        let (ctx, station) = (ctx.clone(), station.to_string());
        tokio::spawn(async move {
            tokio::time::sleep(LOST_EVENT_GRACE).await;
            if let Err(e) = ask_again_if_lost(&ctx, &station, behind, ask_again).await {
                tracing::warn!(%station, error = %e, "cannot ask about the jobs again");
            }
        });
    }
    ctx.cutting.wake.notify_one();
    ctx.metrics
        .mqtt_messages
        .get_or_create(&crate::metrics::OutcomeLabel {
            outcome: "ok".into(),
        })
        .inc();
    Ok(())
}

fn strip_header(mut v: serde_json::Value) -> serde_json::Value {
    if let serde_json::Value::Object(m) = &mut v {
        m.remove("header");
    }
    v
}

/// Logs, counts, stores and answers a refused message.
async fn reject(ctx: &Ctx, h: &Host, topic: &str, reason: &str) {
    tracing::warn!(topic, reason, "station message refused");
    ctx.metrics
        .mqtt_messages
        .get_or_create(&crate::metrics::OutcomeLabel {
            outcome: "refused".into(),
        })
        .inc();
    let stored = async {
        let mut tx = ctx.db.begin_write().await?;
        tx.event(
            "cut_station.message_refused",
            topic,
            &json!({ "topic": topic, "reason": reason }),
        )
        .await?;
        tx.commit().await
    }
    .await;
    if let Err(e) = stored {
        tracing::warn!(error = %e, "cannot store the refusal");
    }
    h.reject(topic, reason).await;
}

// ---------------------------------------------------------------------------------------------
// Cutting jobs

use crate::domain::order::{CutSpec, OrderStatus};
use crate::store::cutting::JobRow;
use crate::store::WriteTx;

/// How much a cut hole may differ from the spec (the stations' factsheets say what they hold).
const TOLERANCE_MM: f64 = 0.5;

fn wire_shape(spec: &CutSpec) -> wire::Shape {
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
fn wire_job(j: &JobRow, header: wire::Header) -> wire::Job {
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

fn no_header() -> wire::Header {
    wire::Header::new("", "", "", String::new(), 0)
}

/// Makes the cutting jobs of an order that has just been picked, in the picking transaction:
/// one per cut line and plate lot, with a pseudonymous line reference.
pub async fn create_jobs(
    tx: &mut WriteTx,
    order_id: i64,
    lines: &[crate::store::orders::LineRow],
) -> std::result::Result<usize, sqlx::Error> {
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
) -> std::result::Result<(), sqlx::Error> {
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
) -> std::result::Result<String, sqlx::Error> {
    let n = db::jobs_of_line(tx.conn(), l.id).await?;
    Ok(format!("cj-{order_id}-{}-{}", l.line_no, n + 1))
}

/// What follows a failed job, in the transaction that failed it: its reason is kept, and the
/// plates it did not cut are cut after all. The plates it cut (`done`) are good. `damaged` plates (at most the rest) are
/// scrapped from the order's tote and picked again, by a replacement wave into the same tote;
/// a new job cuts them once they are picked. The uncut rest goes straight back in the queue as
/// a new job. Either way the new jobs name the failed one (`follows`), whose reason stays.
async fn after_failure(
    tx: &mut WriteTx,
    job_id: &str,
    damaged: i64,
    why: &str,
) -> std::result::Result<(), sqlx::Error> {
    sqlx::query("update cut_jobs set reason = $2 where id = $1")
        .bind(job_id)
        .bind(why)
        .execute(tx.conn())
        .await?;
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
        let wave = super::picking::replacement_wave(tx, j.order_id, j.line_id, damaged).await?;
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
) -> std::result::Result<(), sqlx::Error> {
    use crate::store::stock as stock_db;
    use sqlx::Row as _;
    let unit = sqlx::query(
        "select s.id, s.owner, s.location from stock_units s join orders o on o.tote = s.location
         where o.id = $1 and s.gtin = $2 and s.lot = $3 and s.status = 'available' and s.qty - s.reserved >= $4
         order by s.id limit 1",
    )
    .bind(j.order_id)
    .bind(&j.gtin)
    .bind(&j.lot)
    .bind(qty)
    .fetch_optional(tx.conn())
    .await?;
    let Some(unit) = unit else {
        tracing::warn!(job = %j.id, lot = %j.lot, "the damaged plates are not in the order's tote: nothing scrapped");
        return Ok(());
    };
    let (unit_id, owner, location): (i64, String, String) = (
        unit.try_get("id")?,
        unit.try_get("owner")?,
        unit.try_get("location")?,
    );
    let key = format!("cut-scrap:{}:{}", j.id, j.revision);
    let hash = super::auth::sha256_hex(&format!("{key}:{unit_id}:{qty}"));
    let Some(op_id) = stock_db::insert_op(tx.conn(), "scrap", Some(&key), &hash, "konsign").await?
    else {
        return Ok(()); // booked already
    };
    let Ok((before, after)) = stock_db::change_qty(tx.conn(), unit_id, -qty).await? else {
        return Err(sqlx::Error::Protocol(format!(
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
    sqlx::query("update order_lines set picked = picked - $2 where id = $1 and picked >= $2")
        .bind(j.line_id)
        .bind(qty)
        .execute(tx.conn())
        .await?;
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
pub async fn replacements_picked(
    tx: &mut WriteTx,
    wave_id: i64,
) -> std::result::Result<(), sqlx::Error> {
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

/// The dispatcher: hands queued jobs to stations that are online, fresh, able to cut the shape
/// and below their queue limit (the least loaded first), and sends each job again until the
/// station answers. Several konsign instances may run it: a job is sent by the one whose
/// conditional update moved it from `queued`.
pub fn spawn_dispatcher(ctx: Ctx, h: Arc<Host>) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        loop {
            if h.connected() {
                if let Err(e) = dispatch_round(&ctx, &h).await {
                    tracing::warn!(error = %e, "cutting dispatcher: database error");
                }
            }
            tokio::select! {
                _ = ctx.cutting.wake.notified() => {}
                _ = tokio::time::sleep(Duration::from_millis(250)) => {}
            }
        }
    })
}

fn backoff(sends: i64) -> chrono::Duration {
    chrono::Duration::seconds((1i64 << sends.clamp(0, 5)).min(30))
}

async fn dispatch_round(ctx: &Ctx, h: &Host) -> std::result::Result<(), sqlx::Error> {
    let now = chrono::Utc::now();
    // Re-send what has not been answered.
    for j in db::jobs(ctx.db.pool(), "sent", 200).await? {
        let due = j
            .next_send_at
            .as_deref()
            .and_then(crate::domain::time::from_db)
            .is_none_or(|t| t <= now);
        let (Some(station), Some(mid)) = (&j.station_id, &j.message_id) else {
            continue;
        };
        if !due {
            continue;
        }
        let next = crate::domain::time::to_db(now + backoff(j.sends));
        let mut tx = ctx.db.begin_write().await?;
        let bumped = sqlx::query(
            "update cut_jobs set sends = sends + 1, next_send_at = $2 where id = $1 and state = 'sent' and sends = $3",
        )
        .bind(&j.id)
        .bind(&next)
        .bind(j.sends)
        .execute(tx.conn())
        .await?
        .rows_affected()
            == 1;
        tx.commit().await?;
        if bumped {
            tracing::info!(job = %j.id, station, sends = j.sends + 1, "cutting job sent again (no answer yet)");
            h.send_job(
                station,
                mid,
                wire::encode(&wire_job(&j, h.header_for(station, mid))),
            )
            .await;
        }
    }
    // Hand out queued jobs.
    let queued = db::jobs(ctx.db.pool(), "queued", 100).await?;
    if queued.is_empty() {
        return Ok(());
    }
    let stations = list_stations(ctx)
        .await
        .map_err(|e| sqlx::Error::Protocol(e.to_string()))?;
    let mut loads: std::collections::HashMap<String, i64> = db::station_loads(ctx.db.pool())
        .await?
        .into_iter()
        .collect();
    for j in queued {
        let shape: wire::Shape = match serde_json::from_value(j.shape.clone()) {
            Ok(s) => s,
            Err(_) => continue,
        };
        let refused: Vec<&str> = j.rejected_by.split_whitespace().collect();
        let best = stations
            .iter()
            .filter(|s| s.available && !refused.contains(&s.station.id.as_str()))
            .filter_map(|s| {
                let f: wire::Factsheet = serde_json::from_value({
                    let mut v = s.station.factsheet.clone()?;
                    v["header"] = serde_json::to_value(no_header()).ok()?;
                    v
                })
                .ok()?;
                let load = loads.get(&s.station.id).copied().unwrap_or(0);
                (f.covers(&shape) && load < i64::from(f.queue_limit)).then_some((
                    load,
                    s.station.id.clone(),
                    f.queue_limit,
                ))
            })
            .min();
        let Some((_, station, limit)) = best else {
            continue;
        };
        let mid = h.message_id();
        let next = crate::domain::time::to_db(now + backoff(0));
        let mut tx = ctx.db.begin_write().await?;
        // Another instance may have filled the station since the loads were read.
        let backend = tx.backend();
        let load = db::lock_station_load(tx.conn(), backend, &station).await?;
        if load >= i64::from(limit) {
            loads.insert(station.clone(), load);
            continue;
        }
        let moved = sqlx::query(
            "update cut_jobs set state = 'sent', station_id = $2, message_id = $3, sends = 1, next_send_at = $4, updated_at = $5
             where id = $1 and state = 'queued'",
        )
        .bind(&j.id)
        .bind(&station)
        .bind(&mid)
        .bind(&next)
        .bind(crate::store::now_db())
        .execute(tx.conn())
        .await?
        .rows_affected()
            == 1;
        if !moved {
            continue;
        }
        db::log(
            tx.conn(),
            &j.id,
            "sent",
            Some(&station),
            &format!("sent to {station}"),
            &crate::store::now_db(),
        )
        .await?;
        tx.commit().await?;
        *loads.entry(station.clone()).or_default() += 1;
        tracing::info!(job = %j.id, station, "cutting job sent");
        h.send_job(
            &station,
            &mid,
            wire::encode(&wire_job(&j, h.header_for(&station, &mid))),
        )
        .await;
    }
    Ok(())
}

/// What a station's answer to a job does to it (in the message's transaction).
async fn on_ack(
    tx: &mut WriteTx,
    station: &str,
    a: &wire::Ack,
) -> std::result::Result<Option<String>, sqlx::Error> {
    let Some(job_id) = &a.job_id else {
        return Ok(None);
    };
    let Some(j) = db::get_job(tx.conn(), job_id).await? else {
        tracing::warn!(station, job = %job_id, "answer about an unknown job");
        return Ok(None);
    };
    if j.station_id.as_deref() != Some(station) || a.revision != Some(j.revision as u32) {
        tracing::info!(station, job = %job_id, "answer about a job this station does not hold (now)");
        return Ok(None);
    }
    match a.result {
        wire::AckResult::Accepted => {
            db::transition(
                tx.conn(),
                job_id,
                &["sent"],
                "accepted",
                Some(station),
                "accepted",
                "",
            )
            .await?;
        }
        wire::AckResult::Duplicate => {
            // The station has it already: catch up with what it says (a re-send, or konsign
            // asking again after events were lost).
            let (to, from): (&str, &[&str]) = match a.job_state {
                Some(wire::JobState::Running) => ("running", &["sent", "accepted"]),
                Some(wire::JobState::Finished) => ("finished", &["sent", "accepted", "running"]),
                Some(wire::JobState::Failed) => ("failed", &["sent", "accepted", "running"]),
                Some(wire::JobState::Cancelled) => ("cancelled", &["sent", "accepted", "running"]),
                _ => ("accepted", &["sent"]),
            };
            let moved = db::transition(
                tx.conn(),
                job_id,
                from,
                to,
                Some(station),
                "duplicate: the station has it",
                if to == "finished" {
                    "done = quantity"
                } else {
                    ""
                },
            )
            .await?;
            if moved && to == "failed" {
                let why =
                    "failed at the station (learned from its answer; the failure event was lost)";
                // What broke is unknown here: the plates it did not cut go back in the queue.
                after_failure(tx, job_id, 0, why).await?;
                return Ok(Some(job_id.clone()));
            }
            if moved && to == "finished" {
                return Ok(Some(job_id.clone()));
            }
        }
        wire::AckResult::Rejected => {
            let why = a
                .reason
                .as_ref()
                .map(|r| format!("{:?}: {}", r.code, r.message))
                .unwrap_or_default();
            let now = crate::store::now_db();
            // A full queue is a passing state: the station may take the job later.
            let full = a
                .reason
                .as_ref()
                .is_some_and(|r| r.code == wire::RejectCode::QueueFull);
            let moved = sqlx::query(
                "update cut_jobs set state = 'queued', station_id = null, message_id = null, next_send_at = null,
                   rejected_by = rejected_by || $2, reason = $3, updated_at = $4
                 where id = $1 and state = 'sent'",
            )
            .bind(job_id)
            .bind(if full { String::new() } else { format!(" {station}") })
            .bind(&why)
            .bind(&now)
            .execute(tx.conn())
            .await?
            .rows_affected()
                == 1;
            if moved {
                db::log(
                    tx.conn(),
                    job_id,
                    "queued",
                    Some(station),
                    &format!("rejected by {station}: {why}"),
                    &now,
                )
                .await?;
                tracing::warn!(station, job = %job_id, reason = %why, "cutting job rejected; back in the queue");
            }
        }
    }
    Ok(None)
}

/// What a station's event does to its job; returns the job id when it finished or failed (its
/// order may move on).
async fn on_event(
    tx: &mut WriteTx,
    station: &str,
    e: &wire::Event,
) -> std::result::Result<Option<String>, sqlx::Error> {
    let Some(j) = db::get_job(tx.conn(), &e.job_id).await? else {
        tracing::warn!(station, job = %e.job_id, "event about an unknown job");
        return Ok(None);
    };
    if j.station_id.as_deref() != Some(station) || e.revision as i64 != j.revision {
        tracing::info!(station, job = %e.job_id, "event about a job this station does not hold (now)");
        return Ok(None);
    }
    let held = ["sent", "accepted", "running"];
    match e.kind {
        wire::EventKind::Started => {
            db::transition(
                tx.conn(),
                &j.id,
                &["sent", "accepted"],
                "running",
                Some(station),
                "started",
                "",
            )
            .await?;
        }
        wire::EventKind::Progress => {
            sqlx::query("update cut_jobs set done = $2 where id = $1")
                .bind(&j.id)
                .bind(i64::from(e.done))
                .execute(tx.conn())
                .await?;
            db::transition(
                tx.conn(),
                &j.id,
                &["sent", "accepted"],
                "running",
                Some(station),
                "in progress",
                "",
            )
            .await?;
        }
        wire::EventKind::Finished => {
            if db::transition(
                tx.conn(),
                &j.id,
                &held,
                "finished",
                Some(station),
                "finished",
                "done = quantity",
            )
            .await?
            {
                return Ok(Some(j.id));
            }
        }
        wire::EventKind::Failed => {
            let why = e
                .error
                .as_ref()
                .map(|x| format!("{:?} {}: {}", x.level, x.code, x.message))
                .unwrap_or_else(|| "failed".into());
            let moved =
                db::transition(tx.conn(), &j.id, &held, "failed", Some(station), &why, "").await?;
            if moved {
                sqlx::query("update cut_jobs set done = $2 where id = $1")
                    .bind(&j.id)
                    .bind(i64::from(e.done).min(j.quantity))
                    .execute(tx.conn())
                    .await?;
                tracing::warn!(station, job = %j.id, reason = %why, "cutting job failed");
                let damaged = e.error.as_ref().is_some_and(|x| x.code == "plate_damaged");
                after_failure(tx, &j.id, i64::from(damaged), &why).await?;
                return Ok(Some(j.id));
            }
        }
        wire::EventKind::Cancelled => {
            db::transition(
                tx.conn(),
                &j.id,
                &held,
                "cancelled",
                Some(station),
                "cancelled by the station",
                "",
            )
            .await?;
        }
    }
    Ok(None)
}

/// After a job finished: when all jobs of its order are finished, the order moves on to packing.
async fn order_after_cut(tx: &mut WriteTx, job_id: &str) -> std::result::Result<(), sqlx::Error> {
    let Some(j) = db::get_job(tx.conn(), job_id).await? else {
        return Ok(());
    };
    // Done when every job is finished or failed (a failed job's plates are cut by the jobs
    // that follow it) and no replacement plates wait to be picked.
    let jobs = db::jobs_of_order(tx.conn(), j.order_id).await?;
    if !jobs
        .iter()
        .all(|x| x.state == "finished" || x.state == "failed")
        || db::open_replacements(tx.conn(), j.order_id).await? > 0
    {
        return Ok(());
    }
    let row = sqlx::query("select external_id, status from orders where id = $1")
        .bind(j.order_id)
        .fetch_one(tx.conn())
        .await?;
    use sqlx::Row as _;
    let external_id: String = row.try_get("external_id")?;
    let status: String = row.try_get("status")?;
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
async fn print_sticker(ctx: &Ctx, job_id: &str) {
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
        let data = json!({
            "product": j.sticker["product"],
            "cut_spec": j.sticker["cut_spec"],
            "line_ref": j.line_ref,
            "gtin": j.gtin,
            "lot": j.lot,
            "expiry_yymmdd": expiry.get(2..8).unwrap_or(""),
            "job_id": j.id,
        });
        let pj = super::printing::print(
            ctx,
            &Actor::system(),
            &super::printing::PrintRequest {
                printer,
                template: "cut-sticker".into(),
                data: Some(data),
                sample: false,
                request_key: Some(format!("sticker-{job_id}")),
                subject: Some(job_id.to_string()),
            },
        )
        .await?;
        sqlx::query("update cut_jobs set sticker_job = $2 where id = $1")
            .bind(job_id)
            .bind(&pj.id)
            .execute(ctx.db.pool())
            .await?;
        Ok(())
    };
    if let Err(e) = run.await {
        tracing::warn!(job = job_id, error = %e, "cannot print the cut sticker");
    }
}

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
    let Some(h) = ctx.cutting.host.get() else {
        return Err(Error::conflict(
            "mqtt_disabled",
            "konsign's MQTT link is switched off (mqtt.enabled = false)",
        ));
    };
    let cmd_id = format!("c-{:08x}", rand::random::<u32>());
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
    let cmd = wire::Cmd {
        header: h.header_for(id, &h.message_id()),
        cmd_id: cmd_id.clone(),
        command,
        job_id: None,
        reason: None,
    };
    h.send(id, Topic::Cmd, wire::encode(&cmd)).await;
    tracing::info!(station = id, ?command, by = %actor.name, "command sent to the cutting station");
    Ok(cmd_id)
}

/// A cutting job with its transitions.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct JobView {
    #[serde(flatten)]
    pub job: JobRow,
    pub log: Vec<JobLogEntry>,
    /// The jobs that cut this one's plates after it failed.
    pub followed_by: Vec<String>,
    /// Its damaged plates, scrapped and picked again.
    pub replacements: Vec<db::Replacement>,
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
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
    use sqlx::Row as _;
    let log = sqlx::query(
        "select state, station_id, detail, at from cut_job_log where job_id = $1 order by id",
    )
    .bind(id)
    .fetch_all(&mut *conn)
    .await?
    .iter()
    .map(|r| {
        Ok(JobLogEntry {
            state: r.try_get("state")?,
            station_id: r.try_get("station_id")?,
            detail: r.try_get("detail")?,
            at: r.try_get("at")?,
        })
    })
    .collect::<std::result::Result<Vec<_>, sqlx::Error>>()?;
    let followed_by = sqlx::query_scalar("select id from cut_jobs where follows = $1 order by seq")
        .bind(id)
        .fetch_all(&mut *conn)
        .await?;
    let replacements = db::replacements(&mut conn, None, Some(id), 100).await?;
    Ok(JobView {
        job,
        log,
        followed_by,
        replacements,
    })
}

/// What a lead sees of hulklip: each station with the jobs it holds, jobs per state, and the
/// replacement plates not picked yet.
#[derive(Debug, Clone, Default, Serialize, utoipa::ToSchema)]
pub struct CutOverview {
    pub stations: Vec<(StationView, i64)>,
    pub by_state: Vec<(String, i64)>,
    pub replacements: Vec<db::Replacement>,
}

pub async fn overview(ctx: &Ctx) -> Result<CutOverview> {
    let loads: std::collections::HashMap<String, i64> = db::station_loads(ctx.db.pool())
        .await?
        .into_iter()
        .collect();
    let stations = list_stations(ctx)
        .await?
        .into_iter()
        .map(|s| {
            let n = loads.get(&s.station.id).copied().unwrap_or(0);
            (s, n)
        })
        .collect();
    use sqlx::Row as _;
    let by_state =
        sqlx::query("select state, count(*) as n from cut_jobs group by state order by state")
            .fetch_all(ctx.db.pool())
            .await?
            .iter()
            .map(|r| Ok((r.try_get("state")?, r.try_get("n")?)))
            .collect::<std::result::Result<Vec<(String, i64)>, sqlx::Error>>()?;
    let mut conn = ctx.db.pool().acquire().await?;
    let replacements = db::replacements(&mut conn, None, None, 200)
        .await?
        .into_iter()
        .filter(|r| r.state != "picked")
        .collect();
    Ok(CutOverview {
        stations,
        by_state,
        replacements,
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
        super::picking::replacement_wave(&mut tx, r.order_id, r.line_id, r.quantity).await?
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
    Ok(db::jobs(ctx.db.pool(), state.unwrap_or(""), 500).await?)
}

/// A lead takes a job back (a station out of service): a new revision goes back in the queue,
/// and the old station is told to cancel it.
pub async fn requeue(ctx: &Ctx, actor: &Actor, id: &str, reason: &str) -> Result<JobRow> {
    let reason = reason.trim();
    if reason.is_empty() || reason.len() > 500 {
        return Err(Error::invalid("reason", "must be 1 to 500 characters"));
    }
    let mut tx = ctx.db.begin_write().await?;
    let j = db::get_job(tx.conn(), id)
        .await?
        .ok_or_else(|| Error::NotFound(format!("cutting job {id}")))?;
    if !["sent", "accepted", "running"].contains(&j.state.as_str()) {
        return Err(Error::conflict(
            "job_not_requeueable",
            format!("job {id} is {}; only a sent, accepted or running job can be put back in the queue (a failed job's plates are cut by the jobs that follow it)", j.state),
        ));
    }
    let mut next = j.clone();
    next.revision += 1;
    next.content_hash = wire_job(&next, no_header()).compute_hash();
    let now = crate::store::now_db();
    sqlx::query(
        "update cut_jobs set state = 'queued', revision = $2, content_hash = $3, station_id = null, message_id = null,
           next_send_at = null, sends = 0, done = 0, rejected_by = '', reason = $4, updated_at = $5 where id = $1 and state = $6",
    )
    .bind(id)
    .bind(next.revision)
    .bind(&next.content_hash)
    .bind(reason)
    .bind(&now)
    .bind(&j.state)
    .execute(tx.conn())
    .await?;
    db::log(
        tx.conn(),
        id,
        "queued",
        j.station_id.as_deref(),
        &format!("put back in the queue by {}: {reason}", actor.name),
        &now,
    )
    .await?;
    crate::store::audit::append(
        tx.conn(),
        crate::store::audit::NewAudit {
            actor: &actor.name,
            action: "cut_job.requeue",
            subject: &format!("cut_job:{id}"),
            purpose: None,
            detail: json!({ "reason": reason, "from": j.state, "station": j.station_id }),
        },
    )
    .await?;
    tx.commit().await?;
    if let (Some(station), Some(h)) = (&j.station_id, ctx.cutting.host.get()) {
        let cmd = wire::Cmd {
            header: h.header_for(station, &h.message_id()),
            cmd_id: format!("c-{:08x}", rand::random::<u32>()),
            command: wire::Command::Cancel,
            job_id: Some(id.to_string()),
            reason: Some(reason.to_string()),
        };
        h.send(station, Topic::Cmd, wire::encode(&cmd)).await;
    }
    ctx.cutting.wake.notify_one();
    let mut conn = ctx.db.pool().acquire().await?;
    db::get_job(&mut conn, id)
        .await?
        .ok_or_else(|| Error::NotFound(format!("cutting job {id}")))
}

/// What an operator does at a station's page.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum OperatorAction {
    /// Start the job on the machine (the station is told `start`).
    Start,
    /// The cut plates are checked and in the box: the job is finished.
    Done,
    /// The job cannot be finished (plate damaged, machine fault): it fails with the reason.
    Fault,
}

/// An operator's action on a job at the station that holds it; each is one transaction with
/// its log entry, and `done` moves the order on and prints the sticker as a station's
/// `finished` event does.
pub async fn operator_action(
    ctx: &Ctx,
    actor: &Actor,
    id: &str,
    action: OperatorAction,
    reason: Option<&str>,
    plates_damaged: Option<i64>,
) -> Result<JobRow> {
    let mut tx = ctx.db.begin_write().await?;
    let j = db::get_job(tx.conn(), id)
        .await?
        .ok_or_else(|| Error::NotFound(format!("cutting job {id}")))?;
    let station = j.station_id.clone().unwrap_or_default();
    let who = format!("by {} at {station}", actor.name);
    let moved = match action {
        OperatorAction::Start => {
            db::transition(
                tx.conn(),
                id,
                &["sent", "accepted"],
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
            let reason = reason.map(str::trim).unwrap_or("");
            if reason.is_empty() || reason.len() > 500 {
                return Err(Error::invalid(
                    "reason",
                    "say what went wrong (1 to 500 characters)",
                ));
            }
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
                &["sent", "accepted", "running"],
                "failed",
                Some(&station),
                &format!("fault reported {who}: {reason}"),
                "",
            )
            .await?;
            if moved {
                after_failure(&mut tx, id, damaged, reason).await?;
            }
            moved
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
                    OperatorAction::Fault => "reported as failed",
                }
            ),
        ));
    }
    if action != OperatorAction::Start {
        order_after_cut(&mut tx, id).await?;
    }
    tx.commit().await?;
    if action == OperatorAction::Start {
        if let Some(h) = ctx.cutting.host.get() {
            let cmd = wire::Cmd {
                header: h.header_for(&station, &h.message_id()),
                cmd_id: format!("c-{:08x}", rand::random::<u32>()),
                command: wire::Command::Start,
                job_id: Some(id.to_string()),
                reason: None,
            };
            h.send(&station, Topic::Cmd, wire::encode(&cmd)).await;
        }
    }
    if action == OperatorAction::Done {
        print_sticker(ctx, id).await;
    }
    ctx.cutting.wake.notify_one();
    let mut conn = ctx.db.pool().acquire().await?;
    db::get_job(&mut conn, id)
        .await?
        .ok_or_else(|| Error::NotFound(format!("cutting job {id}")))
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
    super::printing::reprint(ctx, actor, &pj, None).await
}
