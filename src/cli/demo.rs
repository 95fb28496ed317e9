//! `konsign demo` and `konsign demo history`: what they print, and the history's progress bar.

use crate::service::{self, Ctx};
use clap::Subcommand;

#[derive(Debug, Subcommand)]
pub enum DemoCmd {
    /// Generate a history of orders, picks, cuts, parcels, handovers and deliveries, up to
    /// yesterday, into a demo database (an empty one gets the demo data first). A day written
    /// already is skipped, so an interrupted run goes on where it stopped.
    History {
        /// Days back from yesterday.
        #[arg(long, default_value_t = 365)]
        days: u32,
        /// The average orders per day (each day follows the week's and the year's shape).
        #[arg(long, default_value_t = 2000)]
        orders_per_day: u32,
        /// The random seed: the same seed gives the same history.
        #[arg(long, default_value_t = 2026)]
        seed: u64,
    },
}

/// The generator's progress on stderr: a redrawn bar on a terminal, a line per tenth otherwise.
struct ProgressBar {
    tty: bool,
    started: std::time::Instant,
    last_tenth: u32,
}

impl ProgressBar {
    fn new() -> Self {
        use std::io::IsTerminal;
        Self {
            tty: std::io::stderr().is_terminal(),
            started: std::time::Instant::now(),
            last_tenth: 0,
        }
    }

    fn show(&mut self, p: service::demo_history::HistoryProgress) {
        let rate = p.orders as f64 / self.started.elapsed().as_secs_f64().max(0.001);
        let filled = (p.day * 30 / p.days.max(1)) as usize;
        let mut line = format!(
            "[{}{}] day {}/{}, {} orders, {:.0} orders/s",
            "#".repeat(filled),
            ".".repeat(30 - filled),
            p.day,
            p.days,
            p.orders,
            rate
        );
        if p.settling {
            line.push_str("; making the database ready (statistics, report days, write-back)");
        }
        if self.tty {
            eprint!("\r{line}");
        } else {
            // A line per tenth, and the last step's line whatever the tenth.
            let tenth = p.day * 10 / p.days.max(1);
            if tenth > self.last_tenth || p.settling {
                self.last_tenth = tenth;
                eprintln!("{line}");
            }
        }
    }

    fn done(&self) {
        if self.tty {
            eprintln!();
        }
    }
}

pub(super) fn print_demo(report: &service::demo::DemoReport) {
    if report.loaded {
        println!(
            "demo data loaded: {} producers, {} products, {} locations, {} receipts, {} orders ({} allocated, {} backordered)",
            report.producers,
            report.products,
            report.locations,
            report.receipts,
            report.orders,
            report.orders_allocated,
            report.orders - report.orders_allocated
        );
        println!(
            "label printers pack-1 (127.0.0.1:9100) and cut-1 (127.0.0.1:9101), document printer doc-1 \
             (127.0.0.1:9102); play them with \
             `konsign simulate printer --listen 127.0.0.1:9100 --out printed-labels`"
        );
    } else {
        println!(
            "demo data already present; catalog, stock and users left as they are \
             (demo passwords: konsign-<role>, unless changed)"
        );
    }
    if !report.users.is_empty() {
        println!("demo logins (for demonstration only; never for real use):");
        for (name, role, password) in &report.users {
            println!("  {name:<12} {:<12} password: {password}", role.as_str());
        }
    }
}

/// Generates the demo history with a progress bar and prints what was written.
pub(super) async fn history(
    ctx: &Ctx,
    days: u32,
    orders_per_day: u32,
    seed: u64,
) -> anyhow::Result<()> {
    let opts = service::demo_history::HistoryOptions {
        days,
        orders_per_day,
        seed,
    };
    let mut bar = ProgressBar::new();
    let r = service::demo_history::generate(ctx, opts, &mut |p| bar.show(p)).await?;
    bar.done();
    println!(
        "demo history: {} days written ({} there already), {} orders, {} rows in {:.1} s ({:.0} orders/s){}",
        r.days_written,
        r.days_skipped,
        r.orders,
        r.rows,
        r.seconds,
        r.orders as f64 / r.seconds.max(0.001),
        if r.demo_loaded { "; the demo data was loaded first" } else { "" }
    );
    Ok(())
}
