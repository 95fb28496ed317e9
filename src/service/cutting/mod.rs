//! Hulklip cutting stations: the registry (an admin adds stations; messages from any other
//! station are refused), the handling of what stations say over MQTT (`incoming`), the jobs and
//! what follows a failure (`jobs`), the dispatcher that hands jobs out and sends again what was
//! not answered (`dispatch`), and what leads and operators do (`lead`).
//!
//! The promise: no plate is cut twice and no job is lost. A job leaves a station only when the
//! station has said what became of it (or a lead has said, after an outage, that it was not
//! cut); lost events are found by the gaps they leave in the station's event numbers.

mod dispatch;
mod guard;
mod incoming;
mod jobs;
mod lead;

pub use jobs::{create_jobs, replacements_picked};
pub use lead::*;

use super::{Actor, Ctx};
use crate::config::CutStationSetting;
use crate::devices::cutting::host::{self, Host};
use crate::error::{Error, Result};
use crate::service::views;
use crate::store::cutting::{self as db, StationRow};
use firmware_bridge::wire;
use serde::{Deserialize, Serialize};
use std::sync::{Arc, OnceLock};
use std::time::Duration;

/// The MQTT side of konsign, once started.
#[derive(Debug, Default)]
pub struct Hub {
    pub host: OnceLock<Arc<Host>>,
    /// Wakes the dispatcher (a job was queued).
    pub wake: tokio::sync::Notify,
    /// The rate at which refused station messages are stored and answered.
    pub gate: guard::Gate,
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
    /// A station without a machine link (no bridge): konsign hands it jobs without messages and
    /// the operator's buttons decide each job. Default false: the machine's events decide.
    pub manual: Option<bool>,
    /// A manual station's queue limit, 1 to 100 (default 3).
    pub queue_limit: Option<i64>,
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

fn check_limit(n: Option<i64>) -> Result<i64> {
    let n = n.unwrap_or(3);
    if (1..=100).contains(&n) {
        Ok(n)
    } else {
        Err(Error::invalid("queue_limit", "must be 1 to 100"))
    }
}

pub async fn put_station(ctx: &Ctx, actor: &Actor, id: &str, s: &StationInput) -> Result<()> {
    check_id(id)?;
    let queue_limit = check_limit(s.queue_limit)?;
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
        &db::StationSettings {
            name: &name,
            printer: s.printer.as_deref(),
            enabled: s.enabled.unwrap_or(true),
            manual: s.manual.unwrap_or(false),
            queue_limit,
        },
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
    ctx.cutting.wake.notify_one();
    Ok(())
}

/// The stations of the configuration file, added or updated at start.
pub async fn configure_stations(
    db_: &crate::store::Db,
    stations: &[CutStationSetting],
) -> anyhow::Result<()> {
    for s in stations {
        check_id(&s.id).map_err(|e| anyhow::anyhow!("mqtt.stations {}: {e}", s.id))?;
        let queue_limit = check_limit(s.queue_limit)
            .map_err(|e| anyhow::anyhow!("mqtt.stations {}: {e}", s.id))?;
        let mut tx = db_.begin_write().await?;
        db::put(
            tx.conn(),
            &s.id,
            &db::StationSettings {
                name: s.name.as_deref().unwrap_or(&s.id),
                printer: s.printer.as_deref(),
                enabled: true,
                manual: s.manual,
                queue_limit,
            },
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
    pub station: views::cutting::Station,
    /// Takes jobs now: enabled and manual, or online, its state fresh (at most 90 s old), not
    /// paused, not in a fault, and not full.
    pub available: bool,
}

/// Whether a station takes jobs now.
fn available(s: &StationRow, now: chrono::DateTime<chrono::Utc>) -> bool {
    if s.manual {
        return s.enabled;
    }
    let fresh = s
        .state_at
        .as_deref()
        .and_then(crate::domain::time::from_db)
        .is_some_and(|t| now - t <= chrono::Duration::seconds(90));
    s.enabled
        && s.connection == "online"
        && fresh
        && s.fault_seq.is_none()
        && !matches!(s.mode.as_deref(), Some("paused" | "fault"))
}

pub async fn list_stations(ctx: &Ctx) -> Result<Vec<StationView>> {
    let now = chrono::Utc::now();
    Ok(db::list(ctx.db.pool())
        .await?
        .into_iter()
        .map(|s| StationView {
            available: available(&s, now),
            station: s.into(),
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
    let (mut username, mut password) = (cfg.username.clone(), cfg.password.clone());
    if cfg.url.is_none() {
        use crate::devices::cutting::{broker, passwd::Passwords};
        let login = match &cfg.embedded_password_file {
            None => None,
            Some(path) => {
                let text = std::fs::read_to_string(path).map_err(|e| {
                    anyhow::anyhow!("mqtt.embedded_password_file {}: {e}", path.display())
                })?;
                let passwords = Passwords::parse(&text).map_err(|e| {
                    anyhow::anyhow!("mqtt.embedded_password_file {}: {e}", path.display())
                })?;
                tracing::info!(
                    users = passwords.len(),
                    "embedded MQTT broker: clients must log in"
                );
                let login = broker::Login::new(passwords, &cfg.site)?;
                username = Some(broker::INTERNAL_USER.to_string());
                password = Some(login.internal_secret.clone());
                Some(std::sync::Arc::new(login))
            }
        };
        broker::start(cfg.embedded_listen, login).await?;
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
        username,
        password,
        site: cfg.site.clone(),
        host_id,
    });
    let _ = ctx.cutting.host.set(h.clone());
    let dispatcher = dispatch::spawn(ctx.clone(), h.clone());
    let c = ctx.clone();
    let worker = tokio::spawn(async move {
        while let Some(m) = rx.recv().await {
            let mut wait = Duration::from_millis(100);
            loop {
                match incoming::handle(&c, &h, &m).await {
                    Ok(()) => break,
                    // The database failed (or is busy): the message is kept (not acknowledged)
                    // and handled again.
                    Err(
                        e @ (crate::error::Error::Internal(_) | crate::error::Error::Busy { .. }),
                    ) => {
                        tracing::warn!(error = %e, topic = %m.topic, "cannot handle a station message yet");
                        tokio::time::sleep(wait).await;
                        wait = (wait * 2).min(Duration::from_secs(10));
                    }
                    // A verdict on the message itself: handling it again would give the same
                    // answer and hold up every message behind it, so it is acknowledged.
                    Err(e) => {
                        tracing::error!(error = %e, topic = %m.topic, "station message refused by a rule; acknowledged without effect");
                        break;
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

/// Counts a message sent to a station, by kind.
fn count_sent(ctx: &Ctx, kind: &str) {
    ctx.metrics
        .mqtt_sent
        .get_or_create(&crate::metrics::OutcomeLabel {
            outcome: kind.into(),
        })
        .inc();
}

/// Sends a command to a station (QoS 1); `revision` names the job's revision for `start` and
/// `cancel`.
async fn send_cmd(
    ctx: &Ctx,
    station: &str,
    cmd_id: &str,
    command: wire::Command,
    job: Option<(&str, i64)>,
    reason: Option<&str>,
    kind: &str,
) {
    let Some(h) = ctx.cutting.host.get() else {
        return;
    };
    let cmd = wire::Cmd {
        header: h.header_for(station, &h.message_id()),
        cmd_id: cmd_id.to_string(),
        command,
        job_id: job.map(|j| j.0.to_string()),
        revision: job.map(|j| j.1 as u32),
        reason: reason.map(|r| r.chars().take(500).collect()),
    };
    count_sent(ctx, kind);
    h.send(station, wire::Topic::Cmd, wire::encode(&cmd)).await;
}

fn new_cmd_id() -> String {
    format!("c-{:016x}", rand::random::<u64>())
}
