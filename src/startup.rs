//! The composition root: wires configuration, storage, metrics and HTTP together. `main` and
//! the integration tests both start the service through here.

use crate::config::Config;
use crate::metrics::Metrics;
use crate::service::Ctx;
use crate::store::Db;
use anyhow::Context as _;
use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;
use tokio::net::TcpListener;

/// Connects to the database and runs pending migrations.
pub async fn context(config: Config) -> anyhow::Result<Ctx> {
    let db = Db::connect(&config.database.url, config.database.max_connections).await?;
    db.migrate().await?;
    let demo = crate::service::demo::DemoFlag::read(&db, config.environment).await?;
    let labels = crate::labels::template::Template::load(config.printing.templates.as_deref())?;
    let metrics = Arc::new(Metrics::new());
    let spooler = crate::devices::printer::spooler::Spooler::new(
        db.clone(),
        metrics.clone(),
        crate::devices::printer::spooler::Timings::of(&config.printing),
    );
    crate::service::printing::configure_printers(&db, &config.printing.printers).await?;
    crate::service::cutting::configure_stations(&db, &config.mqtt.stations).await?;
    let carriers = Arc::new(crate::carrier::Carriers::from_config(&config)?);
    Ok(Ctx {
        login_guard: Arc::new(crate::service::login_guard::LoginGuard::new(&config.auth)),
        feed_limit: Arc::new(crate::service::log::FeedLimit::new(
            config.http.feed_reads_per_minute,
        )),
        carriers,
        db,
        labels: Arc::new(labels),
        spooler,
        cutting: Arc::new(crate::service::cutting::Hub::default()),
        config: Arc::new(config),
        demo,
        metrics,
        scanners: Arc::new(crate::devices::scanner::Supervisor::new()),
        stock_arrived: Arc::new(tokio::sync::Notify::new()),
        workflows: Arc::default(),
        principals: Arc::default(),
        past_hours: Arc::new(crate::service::ttl_cache::TtlCache::with_ttl(
            crate::service::dashboard::PAST_FOR,
        )),
        products: Arc::default(),
        live: Arc::default(),
    })
}

/// A built service, bound to its address but not yet serving.
pub struct App {
    pub ctx: Ctx,
    listener: TcpListener,
    addr: SocketAddr,
}

impl App {
    pub async fn build(config: Config) -> anyhow::Result<Self> {
        let listen = config.http.listen;
        let ctx = context(config).await?;
        let listener = TcpListener::bind(listen)
            .await
            .with_context(|| format!("cannot listen on {listen} (http.listen)"))?;
        let addr = listener.local_addr()?;
        Ok(Self {
            ctx,
            listener,
            addr,
        })
    }

    /// The address actually bound (port 0 in the configuration picks a free port).
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// Serves until `shutdown` completes, then finishes in-flight requests and closes the pool.
    pub async fn run_until(
        self,
        shutdown: impl Future<Output = ()> + Send + 'static,
    ) -> anyhow::Result<()> {
        let janitor = tokio::spawn(session_janitor(self.ctx.clone()));
        let router_task = crate::service::scans::spawn_router(self.ctx.clone());
        let backorders = crate::service::orders::spawn_backorder_worker(self.ctx.clone());
        let waves = crate::service::picking::spawn_wave_schedule(self.ctx.clone());
        let scanners = crate::service::scans::start_all(&self.ctx).await?;
        self.ctx.spooler.sync().await?;
        let spooler = self.ctx.spooler.start();
        let bookings = crate::service::bookings::spawn_worker(self.ctx.clone());
        let tracker = crate::service::tracking::spawn_tracker(self.ctx.clone());
        let live = crate::service::live::spawn(self.ctx.clone());
        // Labels of parcels closed just before a stop are printed now.
        let unprinted = crate::service::parcel_docs::resume_printing(&self.ctx).await?;
        if unprinted > 0 {
            tracing::info!(
                orders = unprinted,
                "shipping labels printed that a stop left unprinted"
            );
        }
        let mqtt = crate::service::cutting::start(&self.ctx).await?;
        tracing::info!(scanners, "scanner links started");
        let router = crate::http::router(self.ctx.clone());
        tracing::info!(addr = %self.addr, backend = ?self.ctx.db.backend(), "konsign is serving");
        let http = self.ctx.config.http.clone();
        // Open dashboards end their streams when the shutdown begins, so they do not hold it up.
        let hub = self.ctx.live.clone();
        let shutdown = async move {
            shutdown.await;
            hub.close();
        };
        let served = crate::http::serve::serve(self.listener, router, &http, shutdown).await;
        live.abort();
        janitor.abort();
        backorders.abort();
        spooler.abort();
        bookings.abort();
        if let Some(t) = tracker {
            t.abort();
        }
        self.ctx.spooler.shutdown().await;
        crate::service::cutting::shutdown(&self.ctx).await;
        for t in mqtt {
            t.abort();
        }
        if let Some(w) = waves {
            w.abort();
        }
        self.ctx.scanners.shutdown();
        if let Some(t) = router_task {
            t.abort();
        }
        self.ctx.db.close().await;
        served.context("http server failed")
    }
}

/// Removes expired sessions every ten minutes.
async fn session_janitor(ctx: Ctx) {
    let mut tick = tokio::time::interval(Duration::from_secs(600));
    loop {
        tick.tick().await;
        match crate::store::auth::delete_expired_sessions(ctx.db.pool(), &crate::store::now_db())
            .await
        {
            Ok(n) if n > 0 => tracing::info!(removed = n, "expired sessions removed"),
            Ok(_) => {}
            Err(e) => tracing::warn!(error = %e, "could not remove expired sessions"),
        }
    }
}

/// Completes on Ctrl-C or SIGTERM.
pub async fn shutdown_signal() {
    let ctrl_c = async {
        if let Err(e) = tokio::signal::ctrl_c().await {
            tracing::warn!(error = %e, "cannot listen for ctrl-c");
            std::future::pending::<()>().await;
        }
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(e) => {
                tracing::warn!(error = %e, "cannot listen for SIGTERM");
                std::future::pending::<()>().await;
            }
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! { _ = ctrl_c => {}, _ = term => {} }
    tracing::info!("shutting down");
}
