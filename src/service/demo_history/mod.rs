//! A year of warehouse history for the dashboard's reports and benchmarks (`konsign demo history
//! --days 365 --orders-per-day 2000`): orders with picks, cutting jobs, parcels, handovers and
//! deliveries, with the week's and the year's shape, written in bulk one day per transaction
//! (`store::history`).
//!
//! Only into a demo database (an empty one gets the demo data first), never in production. The
//! history moves no stock: its picks name one stock operation per day without ledger rows, so
//! the consignment ledger and stock stay as the demo left them. A day is written once: a day
//! whose operation exists is skipped, so a run that stopped resumes where it stopped and a
//! second run adds nothing. The history ends with the last day before today whose work is done:
//! orders that would be picked today or later are not made.
mod day;

pub use day::{make_day, orders_on, Floor};

use super::{demo, Ctx};
use crate::error::{Error, Result};
use crate::store::history;
use crate::store::meta;
use chrono::{Datelike, Duration, Utc};
use rand::{rngs::StdRng, SeedableRng};

/// What to generate.
#[derive(Debug, Clone, Copy)]
pub struct HistoryOptions {
    /// Days back from yesterday.
    pub days: u32,
    /// The average over the period; each day follows the week's and the year's shape.
    pub orders_per_day: u32,
    pub seed: u64,
}

/// How far the generator is, after each day.
#[derive(Debug, Clone, Copy)]
pub struct HistoryProgress {
    pub day: u32,
    pub days: u32,
    pub orders: u64,
    pub rows: u64,
    /// Every day is written; the database is being made ready (statistics, the reports' kept
    /// days, writing back): the last step, which takes a while on a year.
    pub settling: bool,
}

/// What was generated.
#[derive(Debug, Clone, Default)]
pub struct HistoryReport {
    /// Whether the demo data was loaded first (the database was empty).
    pub demo_loaded: bool,
    pub days_written: u32,
    pub days_skipped: u32,
    pub orders: u64,
    pub rows: u64,
    pub seconds: f64,
}

/// The most days and orders a day one run makes (10 years; 5x a national peak day).
pub const MAX_DAYS: u32 = 3_660;
pub const MAX_ORDERS_PER_DAY: u32 = 10_000;
/// Generates the history (see the module's documentation); `progress` is called after each day.
pub async fn generate(
    ctx: &Ctx,
    opts: HistoryOptions,
    progress: &mut (dyn FnMut(HistoryProgress) + Send),
) -> Result<HistoryReport> {
    let started = std::time::Instant::now();
    if !ctx.config.environment.allows_demo_data() {
        return Err(Error::conflict(
            "demo_refused",
            "refusing to generate a demo history: environment is production",
        ));
    }
    if opts.days == 0 || opts.days > MAX_DAYS {
        return Err(Error::invalid(
            "days",
            format!("must be 1 to {MAX_DAYS}, not {}", opts.days),
        ));
    }
    if opts.orders_per_day == 0 || opts.orders_per_day > MAX_ORDERS_PER_DAY {
        return Err(Error::invalid(
            "orders_per_day",
            format!(
                "must be 1 to {MAX_ORDERS_PER_DAY}, not {}",
                opts.orders_per_day
            ),
        ));
    }
    let mut report = HistoryReport::default();
    if meta::get(ctx.db.pool(), meta::DEMO_DATA).await?.is_none() {
        // An empty database gets the demo data first; any other is refused by `load`.
        report.demo_loaded = demo::load(ctx).await?.loaded;
    }
    let products = history::stocked_products(ctx.db.pool()).await?;
    if products.is_empty() {
        return Err(Error::conflict(
            "demo_refused",
            "the demo database has no products in stock at a pick location to make a history of",
        ));
    }
    let carriers = carriers(ctx);
    let floor = Floor {
        products,
        cut_stations: history::cut_stations(ctx.db.pool()).await?,
        carriers,
        pickers: 8,
        packers: 4,
    };
    let plan = ctx
        .config
        .packing
        .sscc_plan()
        .map_err(|e| Error::invalid("packing", e.to_string()))?;
    let sscc = |serial: i64| plan.sscc(serial as u64).map(|s| s.as_str().to_string());
    let written = history::written_days(ctx.db.pool()).await?;
    let mut ids = history::ids(ctx.db.pool()).await?;
    let now = Utc::now();
    let today = super::today();
    for i in 0..opts.days {
        let day = today - Duration::days(i64::from(opts.days - i));
        // The same day gives the same orders, whichever run makes it.
        let mut rng = StdRng::seed_from_u64(opts.seed ^ u64::from(day.num_days_from_ce() as u32));
        if written.contains(&format!("history:pick:{day}")) {
            report.days_skipped += 1;
        } else {
            let d = make_day(
                day,
                orders_on(day, opts.orders_per_day),
                &mut rng,
                &mut ids,
                &floor,
                now,
            );
            let rows =
                history::write_day(&ctx.db, &d, &plan.key(), plan.first() as i64, &sscc).await?;
            report.days_written += 1;
            report.orders += d.orders.len() as u64;
            report.rows += rows as u64;
        }
        progress(HistoryProgress {
            day: i + 1,
            days: opts.days,
            orders: report.orders,
            rows: report.rows,
            settling: false,
        });
    }
    if report.days_written > 0 {
        progress(HistoryProgress {
            day: opts.days,
            days: opts.days,
            orders: report.orders,
            rows: report.rows,
            settling: true,
        });
        history::finish(&ctx.db).await?;
    }
    // The reports' kept days were counted without the days just written: they are counted
    // again now, so the first report over the history is as quick as the next.
    crate::store::reports::forget_days(ctx.db.pool()).await?;
    if opts.days > 2 {
        super::report_days::days(ctx, today - Duration::days(i64::from(opts.days)), today).await?;
    }
    if report.days_written > 0 {
        history::settle(&ctx.db).await?;
    }
    report.seconds = started.elapsed().as_secs_f64();
    tracing::info!(
        days = report.days_written,
        orders = report.orders,
        rows = report.rows,
        seconds = report.seconds,
        "demo history generated"
    );
    Ok(report)
}

/// The carriers the history hands parcels to: the configured default, and PostNord for most
/// parcels when it is configured; each with its cut-off (15:00 when none is configured).
fn carriers(ctx: &Ctx) -> Vec<(String, f64, String)> {
    let c = &ctx.config.carrier;
    let cutoff = |name: &str| {
        c.cutoff
            .get(name)
            .cloned()
            .unwrap_or_else(|| "15:00".into())
    };
    let mut out = Vec::new();
    if c.postnord.is_some() && c.default != "postnord" {
        out.push(("postnord".to_string(), 0.7, cutoff("postnord")));
        out.push((c.default.clone(), 0.3, cutoff(&c.default)));
    } else {
        out.push((c.default.clone(), 1.0, cutoff(&c.default)));
    }
    out
}
