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
    /// Online, and its state is fresh (at most 90 s old).
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
                available: s.enabled && s.connection == "online" && fresh,
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
    Ok(vec![link, worker])
}

/// Says goodbye on the broker (offline, retained) and disconnects.
pub async fn shutdown(ctx: &Ctx) {
    if let Some(h) = ctx.cutting.host.get() {
        h.shutdown().await;
    }
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
        }
        Msg::Ack(a) => {
            tx.event(
                "cut_station.ack",
                station,
                &serde_json::to_value(&a)
                    .map(strip_header)
                    .unwrap_or_default(),
            )
            .await?;
        }
    }
    tx.commit().await?;
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
