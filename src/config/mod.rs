//! Typed configuration: built-in defaults < optional TOML file (`--config`) < `KONSIGN_*`
//! environment variables (`DATABASE_URL` too) < command-line flags.

mod carrier;
mod environment;
pub mod mask;
mod mqtt;
mod packing;

pub use carrier::{CarrierConfig, PostNordConfig};
pub use environment::Environment;
pub use mask::mask_url;
pub use mqtt::{CutStationSetting, MqttConfig};
pub use packing::{PackStationSetting, PackingConfig};

use anyhow::Context as _;
use figment::providers::{Env, Format, Serialized, Toml};
use figment::Figment;
use serde::{Deserialize, Serialize};
use std::net::SocketAddr;
use std::path::Path;

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Config {
    /// `production` (default), `test` or `development`; demo data only outside production.
    /// First, so that the printed TOML has it before the tables.
    pub environment: Environment,
    pub http: HttpConfig,
    pub database: DatabaseConfig,
    pub auth: AuthConfig,
    pub log: LogConfig,
    pub picking: PickingConfig,
    pub printing: PrintingConfig,
    pub mqtt: MqttConfig,
    pub packing: PackingConfig,
    pub carrier: CarrierConfig,
    pub dashboard: DashboardConfig,
}

/// The logistics lead's dashboard.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct DashboardConfig {
    /// An order that has waited longer than this in one stage is shown red.
    pub stage_age_limit_minutes: u32,
    /// Parcels the warehouse plans to close a day, shown beside today's projection (0: none).
    pub daily_parcel_target: u32,
    /// A picker holding a wave, or a station that worked today, with nothing done for this
    /// long is shown idle.
    pub idle_minutes: u32,
    /// A backorder older than this many days is listed among the exceptions.
    pub backorder_days: u32,
}

impl Default for DashboardConfig {
    fn default() -> Self {
        Self {
            stage_age_limit_minutes: 240,
            daily_parcel_target: 0,
            idle_minutes: 10,
            backorder_days: 3,
        }
    }
}

/// Label templates, printers and the spooler's timings.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct PrintingConfig {
    /// The folder of label templates (default: ./label-templates, else the built-in ones).
    pub templates: Option<std::path::PathBuf>,
    pub connect_timeout_ms: u64,
    pub write_timeout_ms: u64,
    /// How long to wait for the answer to `~HS`.
    pub status_timeout_ms: u64,
    /// How often a held queue (paper out, no answer, ...) asks the printer again.
    pub hold_poll_ms: u64,
    /// How often an idle printer is asked for its state.
    pub idle_poll_ms: u64,
    /// The longest wait between attempts to connect.
    pub max_backoff_ms: u64,
    /// Printers set up at start (more can be added through the API).
    pub printers: Vec<PrinterSetting>,
}

/// A printer in the configuration file (`[[printing.printers]]`).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PrinterSetting {
    pub id: String,
    #[serde(default)]
    pub name: Option<String>,
    pub host: String,
    #[serde(default = "default_printer_port")]
    pub port: u16,
    #[serde(default = "default_dpi")]
    pub dpi: u32,
    pub label_width_mm: f64,
    pub label_height_mm: f64,
    #[serde(default)]
    pub station: Option<String>,
    /// `zpl` (labels, the default) or `pdf` (a document printer for the A4 packing slip).
    #[serde(default)]
    pub kind: Option<String>,
    /// The label templates it may print (for example `["shipping", "carrier-postnord"]` at a
    /// pack station); missing: any.
    #[serde(default)]
    pub templates: Option<Vec<String>>,
}

fn default_printer_port() -> u16 {
    9100
}

fn default_dpi() -> u32 {
    203
}

impl Default for PrintingConfig {
    fn default() -> Self {
        Self {
            templates: None,
            connect_timeout_ms: 3000,
            write_timeout_ms: 10_000,
            status_timeout_ms: 2000,
            hold_poll_ms: 1000,
            idle_poll_ms: 10_000,
            max_backoff_ms: 30_000,
            printers: Vec::new(),
        }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct PickingConfig {
    /// The picker scans the location label before the product.
    pub require_location_scan: bool,
    /// The picker scans an order's tote before the order's first pack goes in (a pack in the
    /// wrong tote is otherwise unnoticed until packing).
    pub require_tote_scan: bool,
    /// Most orders one wave takes when the lead gives no limit.
    pub wave_max_orders: u32,
    /// Make a wave by itself every this many minutes when allocated orders wait (0: only a lead
    /// makes waves).
    pub auto_wave_minutes: u32,
}

impl Default for PickingConfig {
    fn default() -> Self {
        Self {
            require_location_scan: true,
            require_tote_scan: true,
            wave_max_orders: 20,
            auto_wave_minutes: 0,
        }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct HttpConfig {
    /// Address the HTTP server listens on.
    pub listen: SocketAddr,
    /// Mark the session cookie `Secure` (browsers still accept it on http://localhost).
    pub cookie_secure: bool,
    /// How long a browser session lives, in hours (a shift and a bit).
    pub session_hours: u32,
    /// A request that takes longer is answered 408 and dropped.
    pub request_timeout_secs: u32,
    /// Requests handled at once; more are refused at once with 503 (load shedding).
    pub max_concurrent_requests: u32,
    /// A client must send its request headers within this time (slow clients are cut off).
    pub header_read_timeout_secs: u32,
    /// Open connections at once; more wait in the listen queue.
    pub max_connections: u32,
    /// With it, `/metrics` answers only `Authorization: Bearer <token>` (Prometheus's
    /// `authorization` setting); without it anyone who reaches the port can read the metrics.
    pub metrics_token: Option<String>,
    /// Reads of the event feeds (`/api/events`, `/api/order-changes`) one user or API token may
    /// make per minute, in bursts of as many (429 with `Retry-After` beyond). Each read waits
    /// for the writers in flight on PostgreSQL, so a client polling in a tight loop would slow
    /// every write.
    pub feed_reads_per_minute: u32,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct DatabaseConfig {
    /// `sqlite://PATH` (embedded default) or `postgres://USER@HOST:PORT/DB`.
    pub url: String,
    pub max_connections: u32,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct AuthConfig {
    /// Failed logins in a row that lock an account.
    pub lockout_threshold: u32,
    /// How long a locked account stays locked.
    pub lockout_minutes: u32,
    /// Password hashes computed at once (each takes 19 MiB and a core for tens of
    /// milliseconds); 0: one less than the machine's cores, at least one.
    pub password_hash_concurrency: u32,
    /// How long a login waits for a free hashing slot before it is refused with 503.
    pub password_hash_wait_ms: u32,
    /// Login attempts one client address may make per minute (429 beyond).
    pub login_per_client_per_minute: u32,
    /// Login attempts for one username per minute, from anywhere (429 beyond).
    pub login_per_user_per_minute: u32,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum LogFormat {
    Text,
    Json,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct LogConfig {
    pub format: LogFormat,
    /// A `tracing` filter such as `info,konsign=debug`; `RUST_LOG` wins when set.
    pub filter: String,
    /// A scan slower than this (ms, from its last byte to its feedback) is logged as a warning
    /// with where its time went (queued, lookups, write lock, commit); 0: never.
    pub slow_ms: u32,
}

impl Default for HttpConfig {
    fn default() -> Self {
        Self {
            listen: SocketAddr::from(([127, 0, 0, 1], 8080)),
            cookie_secure: true,
            session_hours: 12,
            request_timeout_secs: 30,
            max_concurrent_requests: 512,
            header_read_timeout_secs: 10,
            max_connections: 1024,
            metrics_token: None,
            feed_reads_per_minute: 600,
        }
    }
}

impl Default for DatabaseConfig {
    fn default() -> Self {
        Self {
            url: "sqlite://data/konsign.db".into(),
            max_connections: 8,
        }
    }
}

impl Default for AuthConfig {
    fn default() -> Self {
        Self {
            lockout_threshold: 5,
            lockout_minutes: 15,
            password_hash_concurrency: 0,
            password_hash_wait_ms: 2000,
            login_per_client_per_minute: 30,
            login_per_user_per_minute: 10,
        }
    }
}

impl Default for LogConfig {
    fn default() -> Self {
        Self {
            format: LogFormat::Text,
            filter: "info".into(),
            slow_ms: 50,
        }
    }
}

/// Values given on the command line; they win over everything else.
#[derive(Debug, Default, Clone)]
pub struct Overrides {
    pub listen: Option<String>,
    pub database_url: Option<String>,
}

/// Maps an environment variable (without `KONSIGN_`, lowercased) to its config key.
fn env_key(key: &str) -> Option<String> {
    match key {
        "config" => None, // the path of the file itself, read by the CLI
        "listen" => Some("http.listen".into()),
        "database_url" => Some("database.url".into()),
        other => Some(other.replace("__", ".")),
    }
}

impl Config {
    pub fn load(file: Option<&Path>, overrides: &Overrides) -> anyhow::Result<Self> {
        let mut fig = Figment::from(Serialized::defaults(Config::default()));
        if let Some(path) = file {
            anyhow::ensure!(
                path.exists(),
                "config file {} does not exist",
                path.display()
            );
            fig = fig.merge(Toml::file(path));
        }
        fig = fig
            .merge(
                Env::raw()
                    .only(&["DATABASE_URL"])
                    .map(|_| "database.url".into()),
            )
            .merge(
                Env::prefixed("KONSIGN_")
                    .filter_map(|k| env_key(&k.as_str().to_ascii_lowercase()).map(Into::into)),
            );
        if let Some(l) = &overrides.listen {
            fig = fig.merge(("http.listen", l));
        }
        if let Some(u) = &overrides.database_url {
            fig = fig.merge(("database.url", u));
        }
        let cfg: Config = fig.extract().map_err(|e| {
            let msgs: Vec<String> = e
                .into_iter()
                .map(|e| {
                    let key = e.path.join(".").to_ascii_lowercase();
                    let from = e
                        .metadata
                        .as_ref()
                        .map(|m| m.name.to_string())
                        .unwrap_or_else(|| "defaults".into());
                    let key = if key.is_empty() {
                        "(top level)".to_string()
                    } else {
                        key
                    };
                    format!("{key}: {} (from {from})", e.kind)
                })
                .collect();
            anyhow::anyhow!("invalid configuration: {}", msgs.join("; "))
        })?;
        cfg.validate()?;
        Ok(cfg)
    }

    fn validate(&self) -> anyhow::Result<()> {
        anyhow::ensure!(
            crate::store::Backend::from_url(&self.database.url).is_some(),
            "invalid configuration: database.url: unknown scheme in {:?}; use sqlite://PATH or postgres://USER@HOST/DB",
            mask_url(&self.database.url)
        );
        anyhow::ensure!(
            (1..=200).contains(&self.database.max_connections),
            "invalid configuration: database.max_connections must be between 1 and 200"
        );
        anyhow::ensure!(
            (1..=168).contains(&self.http.session_hours),
            "invalid configuration: http.session_hours must be between 1 and 168"
        );
        anyhow::ensure!(
            (1..=100).contains(&self.auth.lockout_threshold),
            "invalid configuration: auth.lockout_threshold must be between 1 and 100"
        );
        anyhow::ensure!(
            (1..=1440).contains(&self.auth.lockout_minutes),
            "invalid configuration: auth.lockout_minutes must be between 1 and 1440"
        );
        let ranges: [(&str, u32, u32, u32); 9] = [
            (
                "http.request_timeout_secs",
                self.http.request_timeout_secs,
                1,
                3600,
            ),
            (
                "http.max_concurrent_requests",
                self.http.max_concurrent_requests,
                1,
                100_000,
            ),
            (
                "http.header_read_timeout_secs",
                self.http.header_read_timeout_secs,
                1,
                300,
            ),
            (
                "http.max_connections",
                self.http.max_connections,
                1,
                100_000,
            ),
            (
                "http.feed_reads_per_minute",
                self.http.feed_reads_per_minute,
                1,
                100_000,
            ),
            (
                "auth.password_hash_concurrency",
                self.auth.password_hash_concurrency,
                0,
                64,
            ),
            (
                "auth.password_hash_wait_ms",
                self.auth.password_hash_wait_ms,
                0,
                60_000,
            ),
            (
                "auth.login_per_client_per_minute",
                self.auth.login_per_client_per_minute,
                1,
                10_000,
            ),
            (
                "auth.login_per_user_per_minute",
                self.auth.login_per_user_per_minute,
                1,
                10_000,
            ),
        ];
        for (name, v, lo, hi) in ranges {
            anyhow::ensure!(
                (lo..=hi).contains(&v),
                "invalid configuration: {name} must be between {lo} and {hi} (is {v})"
            );
        }
        anyhow::ensure!(
            (1..=200).contains(&self.picking.wave_max_orders),
            "invalid configuration: picking.wave_max_orders must be between 1 and 200"
        );
        anyhow::ensure!(
            (1..=10_080).contains(&self.dashboard.stage_age_limit_minutes),
            "invalid configuration: dashboard.stage_age_limit_minutes must be between 1 and 10080 (a week)"
        );
        anyhow::ensure!(
            self.dashboard.daily_parcel_target <= 1_000_000,
            "invalid configuration: dashboard.daily_parcel_target must be between 0 (none) and 1000000"
        );
        anyhow::ensure!(
            (1..=1440).contains(&self.dashboard.idle_minutes),
            "invalid configuration: dashboard.idle_minutes must be between 1 and 1440"
        );
        anyhow::ensure!(
            (1..=365).contains(&self.dashboard.backorder_days),
            "invalid configuration: dashboard.backorder_days must be between 1 and 365"
        );
        anyhow::ensure!(
            self.picking.auto_wave_minutes <= 1440,
            "invalid configuration: picking.auto_wave_minutes must be between 0 (off) and 1440"
        );
        tracing_subscriber::EnvFilter::try_new(&self.log.filter)
            .map_err(|e| anyhow::anyhow!("invalid configuration: log.filter: {e}"))?;
        self.mqtt.validate()?;
        // Below 100 ms an idle printer would be asked for its state all the time; above 20 s the
        // printer's 30 s lease could run out between two polls.
        anyhow::ensure!(
            (100..=20_000).contains(&self.printing.idle_poll_ms),
            "invalid configuration: printing.idle_poll_ms must be between 100 and 20000 (is {})",
            self.printing.idle_poll_ms
        );
        self.packing.validate()?;
        self.carrier.validate()?;
        Ok(())
    }

    /// The effective configuration as TOML, with secrets masked.
    pub fn to_masked_toml(&self) -> anyhow::Result<String> {
        let mut c = self.clone();
        c.database.url = mask_url(&c.database.url);
        c.mqtt.url = c.mqtt.url.as_deref().map(mask_url);
        if c.http.metrics_token.is_some() {
            c.http.metrics_token = Some("***".into());
        }
        if c.mqtt.password.is_some() {
            c.mqtt.password = Some("***".into());
        }
        if let Some(p) = c.carrier.postnord.as_mut() {
            if !p.api_key.is_empty() {
                p.api_key = "***".into();
            }
            p.base_url = mask_url(&p.base_url);
        }
        for v in c.carrier.push_secrets.values_mut() {
            *v = "***".into();
        }
        toml::to_string_pretty(&c).context("cannot print the configuration")
    }
}

#[cfg(test)]
#[allow(clippy::result_large_err)] // figment::Jail's closures return figment::Error
mod tests {
    use super::*;

    #[test]
    fn carrier_keys_and_push_secrets_are_masked() {
        let mut c = Config::default();
        c.carrier.postnord = Some(PostNordConfig {
            api_key: "0123456789abcdef0123456789abcdef".into(),
            ..Default::default()
        });
        c.carrier
            .push_secrets
            .insert("postnord".into(), "a-long-shared-secret".into());
        let t = c.to_masked_toml().unwrap();
        assert!(
            !t.contains("0123456789abcdef") && !t.contains("a-long-shared-secret"),
            "{t}"
        );
    }

    #[test]
    fn precedence_is_defaults_file_env_flags() {
        figment::Jail::expect_with(|jail| {
            jail.create_file(
                "k.toml",
                "[http]\nlisten = \"127.0.0.1:9000\"\n[auth]\nlockout_minutes = 30\n",
            )?;
            jail.set_env("KONSIGN_AUTH__LOCKOUT_MINUTES", "20");
            jail.set_env("DATABASE_URL", "postgres://u:pw@h/db");
            let c = Config::load(Some(Path::new("k.toml")), &Overrides::default())
                .map_err(|e| e.to_string())?;
            assert_eq!(c.http.listen.port(), 9000);
            assert_eq!(c.auth.lockout_minutes, 20);
            assert_eq!(c.database.url, "postgres://u:pw@h/db");
            jail.set_env("KONSIGN_LISTEN", "127.0.0.1:9100");
            let o = Overrides {
                listen: None,
                database_url: Some("sqlite://x.db".into()),
            };
            let c = Config::load(Some(Path::new("k.toml")), &o).map_err(|e| e.to_string())?;
            assert_eq!(c.http.listen.port(), 9100);
            assert_eq!(c.database.url, "sqlite://x.db");
            assert!(c.to_masked_toml().unwrap().contains("sqlite://x.db"));
            Ok(())
        });
    }

    #[test]
    fn bad_values_name_their_key() {
        figment::Jail::expect_with(|jail| {
            jail.set_env("KONSIGN_LISTEN", "not-an-address");
            let e = Config::load(None, &Overrides::default())
                .unwrap_err()
                .to_string();
            assert!(e.contains("listen"), "{e}");
            jail.set_env("KONSIGN_LISTEN", "127.0.0.1:1");
            jail.set_env("DATABASE_URL", "mysql://x");
            let e = Config::load(None, &Overrides::default())
                .unwrap_err()
                .to_string();
            assert!(e.contains("database.url"), "{e}");
            jail.set_env("DATABASE_URL", "sqlite://x.db");
            jail.create_file("k.toml", "[http]\nlisen = \"x\"\n")?;
            let e = Config::load(Some(Path::new("k.toml")), &Overrides::default())
                .unwrap_err()
                .to_string();
            assert!(e.contains("lisen"), "{e}");
            Ok(())
        });
    }
}
