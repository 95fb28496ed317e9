//! Prometheus metrics: what a logistics lead or an operator would graph.

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{exponential_buckets, Histogram};
use prometheus_client::registry::Registry;

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct HttpLabels {
    /// One of [`method_label`]'s few values, never what a client made up.
    pub method: String,
    pub route: String,
    pub status: u16,
}

/// The `method` label of an HTTP request: the standard methods by name, anything else `other`
/// (a client may send any token as a method, and each new label value is a new time series).
pub fn method_label(method: &axum::http::Method) -> &'static str {
    use axum::http::Method;
    match *method {
        Method::GET => "GET",
        Method::HEAD => "HEAD",
        Method::POST => "POST",
        Method::PUT => "PUT",
        Method::PATCH => "PATCH",
        Method::DELETE => "DELETE",
        Method::OPTIONS => "OPTIONS",
        Method::CONNECT => "CONNECT",
        Method::TRACE => "TRACE",
        _ => "other",
    }
}

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct KindLabel {
    pub kind: String,
}

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct OutcomeLabel {
    pub outcome: String,
}

/// Which way a pick scan was written: `writer` (SQLite's one-step path) or `general`.
#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct PathLabel {
    pub path: &'static str,
}

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct RouteLabel {
    pub route: String,
}

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct ScanLabels {
    pub scanner: String,
    pub outcome: String,
}

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct ScannerLabel {
    pub scanner: String,
}

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct PrinterStateLabels {
    pub printer: String,
    pub state: String,
}

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct PrinterLabel {
    pub printer: String,
}

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct StageLabel {
    pub stage: String,
}

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct MeasureLabel {
    pub measure: String,
}

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct CarrierLabel {
    pub carrier: String,
}

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct StateLabel {
    pub state: &'static str,
}

pub struct Metrics {
    registry: Registry,
    pub http_requests: Family<HttpLabels, Counter>,
    pub http_duration: Family<RouteLabel, Histogram>,
    pub stock_operations: Family<KindLabel, Counter>,
    pub stock_packs_moved: Family<KindLabel, Counter>,
    pub logins: Family<OutcomeLabel, Counter>,
    pub scans: Family<ScanLabels, Counter>,
    pub scanner_connected: Family<ScannerLabel, Gauge>,
    pub scanner_dropped_frames: Family<ScannerLabel, Gauge>,
    pub scanner_errors: Family<ScannerLabel, Gauge>,
    /// Orders taken in, by outcome (allocated, backordered, replayed).
    pub orders: Family<OutcomeLabel, Counter>,
    /// Pick scans by outcome (confirmed, location, refused code).
    pub pick_scans: Family<OutcomeLabel, Counter>,
    /// Pick scans by the way they were written (`writer` or `general`).
    pub pick_scan_path: Family<PathLabel, Counter>,
    /// Pack scans by outcome (packed, opened, or the refusal code).
    pub pack_scans: Family<OutcomeLabel, Counter>,
    /// Parcels by outcome (closed, voided).
    pub parcels: Family<OutcomeLabel, Counter>,
    /// 1 for each printer's current state, 0 for the others.
    pub printer_state: Family<PrinterStateLabels, Gauge>,
    /// Jobs not yet finished (queued, sending, sent) per printer.
    pub print_queue_depth: Family<PrinterLabel, Gauge>,
    /// Print jobs finished, by outcome (confirmed, failed).
    pub print_jobs: Family<OutcomeLabel, Counter>,
    /// Messages from cutting stations, by outcome (ok, refused).
    pub mqtt_messages: Family<OutcomeLabel, Counter>,
    /// Messages konsign sent to cutting stations, by kind: job, job_again (no answer yet),
    /// catch_up (events were lost: asked again), cancel, cancel_again, command.
    pub mqtt_sent: Family<OutcomeLabel, Counter>,
    /// Events from cutting stations found lost (konsign asked about the jobs instead).
    pub mqtt_lost_events: Counter,
    /// Station events not applied, by reason (copy, settled, conflict, too_far).
    pub mqtt_dropped_events: Family<OutcomeLabel, Counter>,
    /// Stations whose event numbering began again (a bridge that lost its state).
    pub mqtt_seq_restarts: Counter,
    /// Refused or dropped station messages counted but not stored or answered (over the rate
    /// at which they are stored).
    pub mqtt_refusals_unstored: Counter,
    /// Orders in each stage now (the dashboard's flow; `delivered`: today's).
    pub orders_in_stage: Family<StageLabel, Gauge>,
    /// Minutes the oldest order in each stage has waited (0 when the stage is empty).
    pub oldest_order_minutes: Family<StageLabel, Gauge>,
    /// Today's totals of the dashboard's hourly measures (packs_picked, cut_jobs_finished,
    /// parcels_closed, parcels_handed_over), read from the tables that record them.
    pub throughput_today: Family<MeasureLabel, Gauge>,
    /// Minutes to each carrier's cut-off today (negative once passed).
    pub cutoff_minutes_left: Family<CarrierLabel, Gauge>,
    /// Parcels each carrier still has to get today: packed and waiting plus still to pack.
    pub cutoff_parcels_left: Family<CarrierLabel, Gauge>,
    /// 1 when the rate needed to make the cut-off beats the last hour's (or it was missed).
    pub cutoff_behind: Family<CarrierLabel, Gauge>,
    /// Open exceptions by kind (the dashboard's list).
    pub exceptions_open: Family<KindLabel, Gauge>,
    /// Pickers seen today by state (`active`, `idle`: holding a wave with nothing done).
    pub pickers: Family<StateLabel, Gauge>,
    /// The live dashboard's server time per picture, by how much it read (`whole`: every
    /// section; `sections`: those a change or the refresh's turn named; `none`: nothing).
    pub dashboard_update: Family<KindLabel, Histogram>,
}

impl Default for Metrics {
    fn default() -> Self {
        Self::new()
    }
}

impl Metrics {
    pub fn new() -> Self {
        let mut registry = Registry::with_prefix("konsign");
        let http_requests = Family::<HttpLabels, Counter>::default();
        registry.register(
            "http_requests",
            "HTTP requests by route and status",
            http_requests.clone(),
        );
        let http_duration = Family::<RouteLabel, Histogram>::new_with_constructor(|| {
            Histogram::new(exponential_buckets(0.0005, 2.0, 14))
        });
        registry.register(
            "http_request_duration_seconds",
            "HTTP request latency",
            http_duration.clone(),
        );
        let stock_operations = Family::<KindLabel, Counter>::default();
        registry.register(
            "stock_operations",
            "Committed stock operations by kind",
            stock_operations.clone(),
        );
        let stock_packs_moved = Family::<KindLabel, Counter>::default();
        registry.register(
            "stock_packs",
            "Packs changed by committed stock operations, by kind",
            stock_packs_moved.clone(),
        );
        let logins = Family::<OutcomeLabel, Counter>::default();
        registry.register("logins", "Login attempts by outcome", logins.clone());
        let scans = Family::<ScanLabels, Counter>::default();
        registry.register(
            "scans",
            "Scans stored, by scanner and outcome (ok, rejected)",
            scans.clone(),
        );
        let scanner_connected = Family::<ScannerLabel, Gauge>::default();
        registry.register(
            "scanner_connected",
            "1 while the scanner's port is open",
            scanner_connected.clone(),
        );
        let scanner_dropped_frames = Family::<ScannerLabel, Gauge>::default();
        registry.register(
            "scanner_dropped_frames",
            "Frames dropped (over-long or cut off) since start",
            scanner_dropped_frames.clone(),
        );
        let scanner_errors = Family::<ScannerLabel, Gauge>::default();
        registry.register(
            "scanner_errors",
            "Port open/read/write failures since start",
            scanner_errors.clone(),
        );
        let orders = Family::<OutcomeLabel, Counter>::default();
        registry.register(
            "orders",
            "Orders taken in, by outcome (allocated, backordered, replayed)",
            orders.clone(),
        );
        let pick_scans = Family::<OutcomeLabel, Counter>::default();
        registry.register(
            "pick_scans",
            "Pick scans by outcome (confirmed, location, or the refusal code)",
            pick_scans.clone(),
        );
        let pick_scan_path = Family::<PathLabel, Counter>::default();
        registry.register(
            "pick_scan_path",
            "Pick scans by the way they were written: writer (SQLite, one step) or general",
            pick_scan_path.clone(),
        );
        let pack_scans = Family::<OutcomeLabel, Counter>::default();
        registry.register(
            "pack_scans",
            "Pack scans by outcome (packed, opened, or the refusal code)",
            pack_scans.clone(),
        );
        let parcels = Family::<OutcomeLabel, Counter>::default();
        registry.register(
            "parcels",
            "Parcels closed and voided at the pack stations",
            parcels.clone(),
        );
        let printer_state = Family::<PrinterStateLabels, Gauge>::default();
        registry.register(
            "printer_state",
            "1 for each printer's current state (ready, paper_out, paused, head_open, no_answer, unreachable, ...)",
            printer_state.clone(),
        );
        let print_queue_depth = Family::<PrinterLabel, Gauge>::default();
        registry.register(
            "print_queue_depth",
            "Print jobs not yet finished (queued, sending, sent) per printer",
            print_queue_depth.clone(),
        );
        let orders_in_stage = Family::<StageLabel, Gauge>::default();
        registry.register(
            "orders_in_stage",
            "Orders in each stage now (received, backordered, allocated, picking, cutting, picked, packed, shipped; delivered: today)",
            orders_in_stage.clone(),
        );
        let oldest_order_minutes = Family::<StageLabel, Gauge>::default();
        registry.register(
            "oldest_order_minutes",
            "Minutes the oldest order in each stage has waited since its last change (0: none)",
            oldest_order_minutes.clone(),
        );
        let throughput_today = Family::<MeasureLabel, Gauge>::default();
        registry.register(
            "throughput_today",
            "Today's totals: packs_picked, cut_jobs_finished, parcels_closed, parcels_handed_over",
            throughput_today.clone(),
        );
        let cutoff_minutes_left = Family::<CarrierLabel, Gauge>::default();
        registry.register(
            "cutoff_minutes_left",
            "Minutes to each carrier's cut-off today (negative once passed)",
            cutoff_minutes_left.clone(),
        );
        let cutoff_parcels_left = Family::<CarrierLabel, Gauge>::default();
        registry.register(
            "cutoff_parcels_left",
            "Parcels each carrier still has to get today (packed and waiting plus still to pack)",
            cutoff_parcels_left.clone(),
        );
        let cutoff_behind = Family::<CarrierLabel, Gauge>::default();
        registry.register(
            "cutoff_behind",
            "1 when the rate needed to make the cut-off beats the last hour's, or it was missed",
            cutoff_behind.clone(),
        );
        let exceptions_open = Family::<KindLabel, Gauge>::default();
        registry.register(
            "exceptions_open",
            "Open exceptions by kind (booking_rejected, delivery_exception, cut_failed, short_pick, old_backorder)",
            exceptions_open.clone(),
        );
        let pickers = Family::<StateLabel, Gauge>::default();
        registry.register(
            "pickers",
            "Pickers seen today by state (active, idle)",
            pickers.clone(),
        );
        let print_jobs = Family::<OutcomeLabel, Counter>::default();
        registry.register(
            "print_jobs",
            "Print jobs finished, by outcome (confirmed, failed)",
            print_jobs.clone(),
        );
        let mqtt_messages = Family::<OutcomeLabel, Counter>::default();
        registry.register(
            "mqtt_messages",
            "Messages from cutting stations handled, by outcome (ok, refused)",
            mqtt_messages.clone(),
        );
        let mqtt_sent = Family::<OutcomeLabel, Counter>::default();
        registry.register(
            "mqtt_sent",
            "Messages sent to cutting stations, by kind (job, job_again, catch_up, cancel, cancel_again, command)",
            mqtt_sent.clone(),
        );
        let mqtt_lost_events = Counter::default();
        registry.register(
            "mqtt_lost_events",
            "Events from cutting stations found lost (konsign asked about the jobs instead)",
            mqtt_lost_events.clone(),
        );
        let mqtt_dropped_events = Family::<OutcomeLabel, Counter>::default();
        registry.register(
            "mqtt_dropped_events",
            "Station events not applied, by reason (copy, settled, conflict, too_far)",
            mqtt_dropped_events.clone(),
        );
        let mqtt_seq_restarts = Counter::default();
        registry.register(
            "mqtt_seq_restarts",
            "Stations whose event numbering began again (a bridge that lost its state)",
            mqtt_seq_restarts.clone(),
        );
        let mqtt_refusals_unstored = Counter::default();
        registry.register(
            "mqtt_refusals_unstored",
            "Refused or dropped station messages over the storing rate: counted only",
            mqtt_refusals_unstored.clone(),
        );
        // Fine around issue 19's 5 ms, so the share within it can be read off.
        let dashboard_update = Family::<KindLabel, Histogram>::new_with_constructor(|| {
            Histogram::new(
                [
                    0.5, 1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 8.0, 10.0, 15.0, 25.0, 50.0, 100.0, 250.0,
                ]
                .map(|ms| ms / 1000.0),
            )
        });
        registry.register(
            "dashboard_update_seconds",
            "Server time of each live dashboard picture, by what it read (whole, sections, none)",
            dashboard_update.clone(),
        );
        Self {
            dashboard_update,
            mqtt_sent,
            mqtt_lost_events,
            mqtt_dropped_events,
            mqtt_seq_restarts,
            mqtt_refusals_unstored,
            mqtt_messages,
            printer_state,
            print_queue_depth,
            orders_in_stage,
            oldest_order_minutes,
            throughput_today,
            cutoff_minutes_left,
            cutoff_parcels_left,
            cutoff_behind,
            exceptions_open,
            pickers,
            print_jobs,
            orders,
            pick_scans,
            pick_scan_path,
            pack_scans,
            parcels,
            registry,
            http_requests,
            http_duration,
            stock_operations,
            stock_packs_moved,
            logins,
            scans,
            scanner_connected,
            scanner_dropped_frames,
            scanner_errors,
        }
    }

    pub fn encode(&self) -> String {
        let mut out = String::new();
        // Encoding into a String cannot fail.
        let _ = prometheus_client::encoding::text::encode(&mut out, &self.registry);
        out
    }

    /// Copies the scanner links' status into the gauges (called when `/metrics` is read).
    pub fn observe_scanners(
        &self,
        scanners: &[(
            crate::devices::scanner::ScannerConfig,
            crate::devices::scanner::LinkStatus,
        )],
    ) {
        for (c, st) in scanners {
            let l = ScannerLabel {
                scanner: c.id.clone(),
            };
            self.scanner_connected
                .get_or_create(&l)
                .set(i64::from(st.connected));
            self.scanner_dropped_frames
                .get_or_create(&l)
                .set(st.dropped as i64);
            self.scanner_errors.get_or_create(&l).set(st.errors as i64);
        }
    }

    /// Sets the flow gauges from the dashboard's reading.
    pub fn observe_flow(&self, flow: &crate::service::dashboard::FlowNow) {
        for s in &flow.stages {
            let label = StageLabel {
                stage: s.stage.as_str().to_string(),
            };
            self.orders_in_stage.get_or_create(&label).set(s.orders);
            self.oldest_order_minutes
                .get_or_create(&label)
                .set(s.oldest_minutes.unwrap_or(0));
        }
    }

    /// Sets the business gauges from the dashboard's reading (called when `/metrics` is read).
    pub fn observe_dashboard(&self, d: &crate::service::dashboard::Dashboard) {
        self.observe_flow(&d.flow);
        for p in d.devices.iter().filter(|d| d.kind == "printer") {
            self.print_queue_depth
                .get_or_create(&PrinterLabel {
                    printer: p.id.clone(),
                })
                .set(p.queue.unwrap_or(0));
        }
        for s in &d.throughput.series {
            self.throughput_today
                .get_or_create(&MeasureLabel {
                    measure: s.measure.clone(),
                })
                .set(s.today_total);
        }
        for c in &d.cutoffs {
            let l = CarrierLabel {
                carrier: c.carrier.clone(),
            };
            self.cutoff_minutes_left
                .get_or_create(&l)
                .set(c.minutes_left);
            self.cutoff_parcels_left
                .get_or_create(&l)
                .set(c.packed_waiting + c.to_pack);
            self.cutoff_behind
                .get_or_create(&l)
                .set(i64::from(matches!(c.status.as_str(), "behind" | "missed")));
        }
        for (_, kind, _) in crate::service::dashboard::EXCEPTION_KINDS {
            let total = d
                .exceptions
                .iter()
                .find(|g| g.kind == kind)
                .map_or(0, |g| g.total);
            self.exceptions_open
                .get_or_create(&KindLabel { kind: kind.into() })
                .set(total);
        }
        let idle = d.floor.pickers.iter().filter(|p| p.idle).count() as i64;
        let all = d.floor.pickers.len() as i64;
        self.pickers
            .get_or_create(&StateLabel { state: "idle" })
            .set(idle);
        self.pickers
            .get_or_create(&StateLabel { state: "active" })
            .set(all - idle);
    }

    pub fn login(&self, outcome: &str) {
        self.logins
            .get_or_create(&OutcomeLabel {
                outcome: outcome.into(),
            })
            .inc();
    }
}

#[cfg(test)]
mod tests {
    use super::method_label;
    use axum::http::Method;

    #[test]
    fn made_up_methods_share_one_label() {
        assert_eq!(method_label(&Method::GET), "GET");
        assert_eq!(method_label(&Method::DELETE), "DELETE");
        for made_up in ["FOO", "get", "X-1234", "PROPFIND"] {
            let m = Method::from_bytes(made_up.as_bytes()).unwrap();
            assert_eq!(method_label(&m), "other", "{made_up}");
        }
    }
}
