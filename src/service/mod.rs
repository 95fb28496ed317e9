//! Use-cases: async operations that check input with the domain and drive the store.

pub mod auth;
pub mod bookings;
pub mod catalog;
pub mod counting;
pub mod cutting;
pub mod dashboard;
pub mod demo;
pub mod demo_history;
pub mod handover;
pub mod import;
pub mod limiter;
pub mod live;
pub mod log;
pub mod login_guard;
pub mod lots;
pub mod orders;
pub mod pack_scan;
pub mod packing;
pub mod parcel_docs;
pub mod parcel_view;
pub mod parcels;
pub mod picking;
pub mod printing;
pub mod report_days;
pub mod reports;
pub mod returns;
pub mod scans;
pub mod stock;
pub mod stock_lookup;
pub mod tracking;
pub mod ttl_cache;
pub mod views;

use crate::config::Config;
use crate::domain::auth::Role;
use crate::metrics::Metrics;
use crate::store::Db;
use std::sync::Arc;

/// Everything a use-case needs; cheap to clone.
#[derive(Clone)]
pub struct Ctx {
    pub db: Db,
    pub config: Arc<Config>,
    /// Whether the database holds demo data (every page shows the demo band then).
    pub demo: demo::DemoFlag,
    pub metrics: Arc<Metrics>,
    /// The serial scanner links (started by `serve`).
    pub scanners: Arc<crate::devices::scanner::Supervisor>,
    /// Woken after stock may have become allocatable (receipt, move, release): backordered
    /// orders are retried.
    pub stock_arrived: Arc<tokio::sync::Notify>,
    /// The label templates, checked when loaded.
    pub labels: Arc<Vec<crate::labels::template::Template>>,
    /// The print spooler (its workers start with `serve`).
    pub spooler: Arc<crate::devices::printer::spooler::Spooler>,
    /// The MQTT link to the cutting stations (connected by `serve`).
    pub cutting: Arc<cutting::Hub>,
    /// The carrier adapters the configuration names.
    pub carriers: Arc<crate::carrier::Carriers>,
    /// Login rate limits and the bound on password hashes at once.
    pub login_guard: Arc<login_guard::LoginGuard>,
    /// How often each caller may read the event feeds.
    pub feed_limit: Arc<log::FeedLimit>,
    /// Scanner stations' workflows, remembered for a moment (`ttl_cache`).
    pub workflows: Arc<ttl_cache::TtlCache<crate::domain::workflow::Workflow>>,
    /// Products' names by GTIN (`None`: no such product), remembered for a moment, for the
    /// serial lookup scan (`ttl_cache`).
    pub products: Arc<ttl_cache::TtlCache<Option<ttl_cache::ProductName>>>,
    /// Who a session or API token is, remembered for a moment (`ttl_cache`): the lookup is a
    /// round trip on every request (0.1 ms at the median, 1 ms at p99 under load). Logout and
    /// revocation on this instance forget at once; on another instance within `ttl_cache::TTL`.
    pub principals: Arc<ttl_cache::TtlCache<auth::CachedPrincipal>>,
    /// The dashboard's hourly figures of past days (yesterday, last week), which every live
    /// update shows and which hardly change: read once per `dashboard::PAST_FOR`.
    pub past_hours: Arc<ttl_cache::TtlCache<[i64; 24]>>,
    /// The dashboard's live picture and its watchers (`live`).
    pub live: Arc<live::LiveHub>,
}

/// Who is acting: a logged-in user, an API token, or the system itself.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Actor {
    /// `user:NAME`, `token:NAME`, `cli` or `system`; written to the ledger and the audit log.
    pub name: String,
    pub role: Role,
}

impl Actor {
    pub fn user(name: &str, role: Role) -> Self {
        Self {
            name: format!("user:{name}"),
            role,
        }
    }
    pub fn token(name: &str, role: Role) -> Self {
        Self {
            name: format!("token:{name}"),
            role,
        }
    }
    /// A user or an API token: someone calling from outside the service.
    pub fn from_outside(&self) -> bool {
        self.name.starts_with("user:") || self.name.starts_with("token:")
    }
    /// The command line run by an operator on the machine itself.
    pub fn cli() -> Self {
        Self {
            name: "cli".into(),
            role: Role::Admin,
        }
    }
    pub fn system() -> Self {
        Self {
            name: "system".into(),
            role: Role::Admin,
        }
    }
}

/// The current business day (Copenhagen).
pub fn today() -> chrono::NaiveDate {
    crate::domain::time::business_day(chrono::Utc::now())
}
