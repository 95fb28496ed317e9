//! The MQTT side of the configuration: the broker (external, or konsign's embedded one and who
//! may log in to it) and the cutting stations set up at start.

use serde::{Deserialize, Serialize};
use std::net::SocketAddr;

/// The MQTT broker the cutting stations talk through.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct MqttConfig {
    /// Talk to cutting stations at all (off: no broker, no MQTT link).
    pub enabled: bool,
    /// `mqtt://HOST:PORT` of an external broker (Mosquitto, EMQX, HiveMQ). Without it konsign
    /// starts its own broker on `embedded_listen`.
    pub url: Option<String>,
    /// Where the embedded broker listens (loopback by default).
    pub embedded_listen: SocketAddr,
    /// A Mosquitto password file (made with `mosquitto_passwd`; user name = station id) for the
    /// embedded broker: with it every client must log in, a station only under its own client
    /// id. Required when `embedded_listen` is beyond loopback. konsign itself logs in to its
    /// embedded broker with a secret made at each start.
    pub embedded_password_file: Option<std::path::PathBuf>,
    /// konsign's user name and password at an external broker, if it asks for them.
    pub username: Option<String>,
    pub password: Option<String>,
    /// The site segment of the topics (`konsign/v1/{site}/...`).
    pub site: String,
    /// This instance's id in `_host/{host}` (default: the host name and process id).
    pub host_id: Option<String>,
    /// Cutting stations set up at start (more can be added through the API).
    pub stations: Vec<CutStationSetting>,
}

/// A cutting station in the configuration file (`[[mqtt.stations]]`).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CutStationSetting {
    pub id: String,
    #[serde(default)]
    pub name: Option<String>,
    /// The printer for its cut stickers.
    #[serde(default)]
    pub printer: Option<String>,
    /// A station without a machine link (no bridge): konsign hands it jobs without messages and
    /// the operator's buttons decide each job's outcome.
    #[serde(default)]
    pub manual: bool,
    /// A manual station's queue limit (default 3); a linked station says its own.
    #[serde(default)]
    pub queue_limit: Option<i64>,
}

impl Default for MqttConfig {
    fn default() -> Self {
        Self {
            enabled: true,
            url: None,
            embedded_listen: SocketAddr::from(([127, 0, 0, 1], 18830)),
            embedded_password_file: None,
            username: None,
            password: None,
            site: "vejle".into(),
            host_id: None,
            stations: Vec::new(),
        }
    }
}

impl MqttConfig {
    /// Checks the MQTT settings (also at load, with the rest of the configuration).
    pub fn validate(&self) -> anyhow::Result<()> {
        self.broker()
            .map_err(|e| anyhow::anyhow!("invalid configuration: {e}"))?;
        let segment = |v: &str| {
            !v.is_empty()
                && v.len() <= 32
                && v.bytes()
                    .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-' || b == b'_')
        };
        anyhow::ensure!(
            segment(&self.site),
            "invalid configuration: mqtt.site must be 1 to 32 lower-case letters, digits, '-' or '_'"
        );
        if self.enabled && self.url.is_none() {
            anyhow::ensure!(
                self.embedded_listen.ip().is_loopback() || self.embedded_password_file.is_some(),
                "invalid configuration: mqtt.embedded_listen is {}, beyond loopback: the embedded broker \
                 then needs mqtt.embedded_password_file (a mosquitto_passwd file with a user per station), \
                 or listen on 127.0.0.1 and give stations an external broker with ACLs (docs/security.md)",
                self.embedded_listen
            );
        }
        Ok(())
    }

    /// Host and port of the broker to connect to (the embedded one without `url`).
    pub fn broker(&self) -> anyhow::Result<(String, u16)> {
        match &self.url {
            None => Ok((
                self.embedded_listen.ip().to_string(),
                self.embedded_listen.port(),
            )),
            Some(u) => {
                let rest = u
                    .strip_prefix("mqtt://")
                    .or_else(|| u.strip_prefix("tcp://"))
                    .ok_or_else(|| anyhow::anyhow!("mqtt.url must start with mqtt:// (got {u})"))?;
                let rest = rest.trim_end_matches('/');
                let (host, port) = match rest.rsplit_once(':') {
                    Some((h, p)) => (
                        h.to_string(),
                        p.parse::<u16>()
                            .map_err(|_| anyhow::anyhow!("mqtt.url has a bad port: {u}"))?,
                    ),
                    None => (rest.to_string(), 1883),
                };
                if host.is_empty() {
                    anyhow::bail!("mqtt.url has no host: {u}");
                }
                Ok((host, port))
            }
        }
    }
}
