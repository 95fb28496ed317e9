//! The print spooler: one queue per printer, kept in the database, worked by one task (per
//! printer, in the one konsign instance that holds the printer's lease). For each job: ask
//! `~HS` on a fresh connection and hold the queue while the printer reports a fault or does not
//! answer; connect afresh (connect timeout, keepalive), mark the job `sending`, write it (write
//! timeout), close with a write shutdown and a short drain, mark it `sent`; it is `confirmed`
//! when the printer next reports nothing left in its buffer. Only failures to connect are
//! retried, with backoff; once bytes were written a job is never resent by itself: a broken
//! connection fails it, and a person reprints it as a new job. A konsign that stopped while a
//! job was `sending` finds it on restart and fails it for the same reason.

use super::status::{self, PrinterState, QueryError};
use crate::domain::print_job::JobState;
use crate::metrics::Metrics;
use crate::store::printing as store;
use crate::store::Db;
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::sync::Notify;
use tokio::task::JoinHandle;

/// Timings of the spooler (`[printing]` in the configuration).
#[derive(Debug, Clone)]
pub struct Timings {
    pub connect: Duration,
    pub write: Duration,
    pub status: Duration,
    /// How often a held queue asks the printer again.
    pub hold_poll: Duration,
    /// How often an idle printer is asked for its state.
    pub idle_poll: Duration,
    /// The longest wait between connection attempts.
    pub max_backoff: Duration,
    /// How long a printer's lease lasts without renewal (another instance takes over after).
    pub lease: Duration,
}

impl Timings {
    /// The spooler's timings from `[printing]`, each at least its smallest sensible value.
    pub fn of(config: &crate::config::PrintingConfig) -> Self {
        Self {
            connect: Duration::from_millis(config.connect_timeout_ms.max(1)),
            write: Duration::from_millis(config.write_timeout_ms.max(1)),
            status: Duration::from_millis(config.status_timeout_ms.max(1)),
            hold_poll: Duration::from_millis(config.hold_poll_ms.max(10)),
            idle_poll: Duration::from_millis(config.idle_poll_ms.max(10)),
            max_backoff: Duration::from_millis(config.max_backoff_ms.max(10)),
            lease: Duration::from_secs(30),
        }
    }
}

impl Default for Timings {
    fn default() -> Self {
        Self {
            connect: Duration::from_secs(3),
            write: Duration::from_secs(10),
            status: Duration::from_secs(2),
            hold_poll: Duration::from_secs(1),
            idle_poll: Duration::from_secs(10),
            max_backoff: Duration::from_secs(30),
            lease: Duration::from_secs(30),
        }
    }
}

/// Printer id -> (its wake-up, its task).
type Workers = HashMap<String, (Arc<Notify>, JoinHandle<()>)>;

/// Starts and stops the per-printer workers and wakes them when a job is queued.
pub struct Spooler {
    db: Db,
    metrics: Arc<Metrics>,
    timings: Timings,
    /// This instance's name in the printers' lease column.
    instance: String,
    workers: Mutex<Workers>,
    /// Set by `shutdown`: no worker starts after it.
    stopped: std::sync::atomic::AtomicBool,
}

impl std::fmt::Debug for Spooler {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Spooler")
            .field("instance", &self.instance)
            .finish()
    }
}

impl Spooler {
    pub fn new(db: Db, metrics: Arc<Metrics>, timings: Timings) -> Arc<Self> {
        let instance = format!(
            "{}-{}-{:08x}",
            hostname(),
            std::process::id(),
            rand::random::<u32>()
        );
        Arc::new(Self {
            db,
            metrics,
            timings,
            instance,
            workers: Mutex::new(HashMap::new()),
            stopped: std::sync::atomic::AtomicBool::new(false),
        })
    }

    pub fn instance(&self) -> &str {
        &self.instance
    }

    fn workers(&self) -> std::sync::MutexGuard<'_, Workers> {
        self.workers.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Wakes the printer's worker (a job was queued or the printer changed).
    pub fn wake(&self, printer: &str) {
        if let Some((n, _)) = self.workers().get(printer) {
            n.notify_one();
        }
    }

    /// Starts a worker for every enabled printer and keeps the set in step with the database
    /// (printers added, changed, switched off or removed at run time).
    pub fn start(self: &Arc<Self>) -> JoinHandle<()> {
        let me = self.clone();
        tokio::spawn(async move {
            loop {
                if let Err(e) = me.sync().await {
                    tracing::warn!(error = %e, "cannot read the printers");
                }
                tokio::time::sleep(Duration::from_secs(2)).await;
            }
        })
    }

    /// Brings the running workers in line with the configured printers.
    pub async fn sync(self: &Arc<Self>) -> Result<(), sqlx::Error> {
        let printers = store::list_printers(self.db.pool()).await?;
        let mut workers = self.workers();
        if self.stopped.load(std::sync::atomic::Ordering::SeqCst) {
            return Ok(());
        }
        workers.retain(|id, (_, task)| {
            let keep = !task.is_finished() && printers.iter().any(|p| &p.id == id && p.enabled);
            if !keep {
                task.abort();
            }
            keep
        });
        for p in printers {
            if !p.enabled {
                let db = self.db.clone();
                let id = p.id.clone();
                if p.state != "disabled" {
                    tokio::spawn(async move {
                        let _ = store::set_state(db.pool(), &id, "disabled", "").await;
                    });
                }
                continue;
            }
            if workers.contains_key(&p.id) {
                continue;
            }
            let notify = Arc::new(Notify::new());
            let task = tokio::spawn(worker(self.clone(), p.id.clone(), notify.clone()));
            workers.insert(p.id, (notify, task));
        }
        Ok(())
    }

    /// Stops every worker and gives up this instance's leases.
    pub async fn shutdown(&self) {
        self.stopped
            .store(true, std::sync::atomic::Ordering::SeqCst);
        let workers: Vec<_> = self.workers().drain().map(|(_, w)| w).collect();
        // Each worker finishes the round it is in and stops. Aborting one mid-round is not
        // enough: a statement it had handed to the database may still run after the abort (on
        // SQLite a worker thread executes it), renewing a lease after it was given up, and the
        // next instance would wait for that lease to run out.
        for (wake, _) in &workers {
            wake.notify_one();
        }
        let grace = self.timings.connect + self.timings.status + Duration::from_secs(1);
        for (_, mut task) in workers {
            if tokio::time::timeout(grace, &mut task).await.is_err() {
                task.abort();
                let _ = task.await;
            }
        }
        if let Err(e) = store::release_all(self.db.pool(), &self.instance).await {
            tracing::warn!(error = %e, "cannot release the printer leases");
        }
    }

    async fn set_state(&self, printer: &str, state: PrinterState, detail: &str) {
        for s in [
            PrinterState::Ready,
            PrinterState::PaperOut,
            PrinterState::Paused,
            PrinterState::HeadOpen,
            PrinterState::RibbonOut,
            PrinterState::BufferFull,
            PrinterState::Fault,
            PrinterState::NoAnswer,
            PrinterState::Unreachable,
        ] {
            self.metrics
                .printer_state
                .get_or_create(&crate::metrics::PrinterStateLabels {
                    printer: printer.to_string(),
                    state: s.as_str().to_string(),
                })
                .set(i64::from(s == state));
        }
        match store::set_state(self.db.pool(), printer, state.as_str(), detail).await {
            Ok(true) if state.is_alarm() => {
                tracing::warn!(
                    printer,
                    state = state.as_str(),
                    detail,
                    "printer alarm: its queue is held"
                );
                self.event(printer, state, detail).await;
            }
            Ok(true) => {
                tracing::info!(printer, state = state.as_str(), "printer state");
                self.event(printer, state, detail).await;
            }
            Ok(false) => {}
            Err(e) => tracing::warn!(printer, error = %e, "cannot store the printer state"),
        }
    }

    async fn event(&self, printer: &str, state: PrinterState, detail: &str) {
        let payload = serde_json::json!({ "state": state.as_str(), "detail": detail, "alarm": state.is_alarm() });
        let res = async {
            let mut tx = self.db.begin_write().await?;
            tx.event("printer.state", printer, &payload).await?;
            tx.commit().await
        }
        .await;
        if let Err(e) = res {
            tracing::warn!(printer, error = %e, "cannot store the printer event");
        }
    }

    fn outcome(&self, outcome: JobState) {
        self.metrics
            .print_jobs
            .get_or_create(&crate::metrics::OutcomeLabel {
                outcome: outcome.as_str().into(),
            })
            .inc();
    }
}

fn hostname() -> String {
    std::fs::read_to_string("/etc/hostname")
        .map(|s| s.trim().to_string())
        .ok()
        .filter(|s| !s.is_empty())
        .unwrap_or_else(|| "konsign".into())
}

/// What the worker does next.
enum Step {
    /// Go round again at once.
    Again,
    /// Wait this long (or until woken).
    Wait(Duration),
}

async fn worker(sp: Arc<Spooler>, printer: String, wake: Arc<Notify>) {
    let mut backoff = Duration::ZERO;
    let mut claimed: Option<tokio::time::Instant> = None;
    let stopping = || sp.stopped.load(std::sync::atomic::Ordering::SeqCst);
    loop {
        if stopping() {
            return;
        }
        let step = match round(&sp, &printer, &mut backoff, &mut claimed).await {
            Ok(s) => s,
            Err(e) => {
                tracing::warn!(printer, error = %e, "print queue: database error");
                Step::Wait(Duration::from_secs(2))
            }
        };
        if stopping() {
            return;
        }
        if let Step::Wait(d) = step {
            tokio::select! {
                _ = wake.notified() => {}
                _ = tokio::time::sleep(d) => {}
            }
        }
    }
}

fn backoff_next(b: &mut Duration, max: Duration) -> Duration {
    *b = if b.is_zero() {
        Duration::from_millis(500)
    } else {
        (*b * 2).min(max)
    };
    *b
}

/// How long a queued job still in its backoff is waited for: at least 20 ms, and at most the
/// idle poll (so the printer's state stays fresh), even when the idle poll is shorter than
/// 20 ms (`Duration::clamp` would panic then).
fn backoff_wait(left: Duration, idle_poll: Duration) -> Duration {
    left.min(idle_poll).max(Duration::from_millis(20))
}

/// One round of a printer's queue.
async fn round(
    sp: &Arc<Spooler>,
    printer: &str,
    backoff: &mut Duration,
    claimed: &mut Option<tokio::time::Instant>,
) -> Result<Step, sqlx::Error> {
    let t = &sp.timings;
    let Some(p) = store::get_printer(sp.db.pool(), printer).await? else {
        return Ok(Step::Wait(t.idle_poll));
    };
    if !p.enabled {
        return Ok(Step::Wait(t.idle_poll));
    }
    // The lease is renewed when a third of it has passed.
    if claimed.is_none_or(|at| at.elapsed() > t.lease / 3) {
        let lease = chrono::Duration::from_std(t.lease).unwrap_or(chrono::Duration::seconds(30));
        if !store::claim(sp.db.pool(), printer, &sp.instance, lease).await? {
            // Another konsign runs this queue.
            *claimed = None;
            return Ok(Step::Wait(t.lease / 3));
        }
        *claimed = Some(tokio::time::Instant::now());
    }
    let addr = p.addr();
    // A job left `sending` was interrupted with bytes maybe written: never resent by itself.
    let in_flight = store::in_flight(sp.db.pool(), printer).await?;
    if let Some(j) = &in_flight {
        if j.state == JobState::Sending {
            let why = "konsign stopped while sending this label: it may or may not have printed. \
                       It is not sent again by itself; reprint it if it is missing";
            if store::transition(
                &sp.db,
                &j.id,
                JobState::Sending,
                JobState::Failed,
                why,
                Some(why),
            )
            .await?
            {
                sp.outcome(JobState::Failed);
                tracing::warn!(printer, job = %j.id, "job interrupted while sending: failed");
            }
            return Ok(Step::Again);
        }
    }
    let language = super::pjl::Language::of(&p.kind);
    let request = language.request();
    let asked = status::query(&addr, t.connect, t.status, &request, |b| language.answer(b));
    let st = match asked.await {
        Ok(s) => s,
        Err(QueryError::Connect(e)) => {
            sp.set_state(printer, PrinterState::Unreachable, &e).await;
            let wait = backoff_next(backoff, t.max_backoff);
            if let Some((job, _)) = store::next_queued(sp.db.pool(), printer).await? {
                let at = crate::domain::time::to_db(
                    chrono::Utc::now() + chrono::Duration::from_std(wait).unwrap_or_default(),
                );
                store::defer(
                    &sp.db,
                    &job.id,
                    &at,
                    &format!("cannot connect to {addr}: {e}; trying again"),
                )
                .await?;
            }
            return Ok(Step::Wait(wait));
        }
        Err(QueryError::NoAnswer(e)) => {
            sp.set_state(printer, PrinterState::NoAnswer, &e).await;
            return Ok(Step::Wait(t.hold_poll));
        }
    };
    *backoff = Duration::ZERO;
    let state = st.state();
    sp.set_state(printer, state, "").await;
    if state != PrinterState::Ready {
        return Ok(Step::Wait(t.hold_poll));
    }
    if let Some(j) = in_flight {
        // `sent`: confirmed once the printer has nothing left to print.
        if st.idle() {
            if store::transition(
                &sp.db,
                &j.id,
                JobState::Sent,
                JobState::Confirmed,
                "the printer reports its buffer empty",
                None,
            )
            .await?
            {
                sp.outcome(JobState::Confirmed);
            }
            // The same answer says the printer is ready for the next job.
        } else {
            return Ok(Step::Wait(Duration::from_millis(100).min(t.hold_poll)));
        }
    }
    let Some((job, payload)) = store::next_queued(sp.db.pool(), printer).await? else {
        // Nothing to do: ask again later to keep the state fresh.
        return Ok(Step::Wait(t.idle_poll));
    };
    if let Some(at) = crate::domain::time::from_db(&job.next_attempt_at) {
        if let Ok(wait) = (at - chrono::Utc::now()).to_std() {
            // Still in its backoff after a failed connection.
            return Ok(Step::Wait(backoff_wait(wait, t.idle_poll)));
        }
    }
    let bytes = match job.encoding.as_str() {
        "base64" => {
            use base64::Engine as _;
            match base64::engine::general_purpose::STANDARD.decode(payload.as_bytes()) {
                Ok(b) => b,
                Err(e) => {
                    let why = format!("the stored document is not valid base64 ({e})");
                    if store::transition(
                        &sp.db,
                        &job.id,
                        JobState::Queued,
                        JobState::Failed,
                        &why,
                        Some(&why),
                    )
                    .await?
                    {
                        sp.outcome(JobState::Failed);
                    }
                    return Ok(Step::Again);
                }
            }
        }
        _ => payload.into_bytes(),
    };
    send(sp, printer, &addr, &job.id, &bytes, backoff).await
}

/// Connects, marks the job `sending`, writes it and marks it `sent` (or `failed`).
async fn send(
    sp: &Arc<Spooler>,
    printer: &str,
    addr: &str,
    job: &str,
    bytes: &[u8],
    backoff: &mut Duration,
) -> Result<Step, sqlx::Error> {
    let t = &sp.timings;
    let mut stream = match status::connect(addr, t.connect).await {
        Ok(s) => s,
        Err(e) => {
            // Nothing written: it stays queued and is tried again.
            sp.set_state(printer, PrinterState::Unreachable, &e.to_string())
                .await;
            let wait = backoff_next(backoff, t.max_backoff);
            let at = crate::domain::time::to_db(
                chrono::Utc::now() + chrono::Duration::from_std(wait).unwrap_or_default(),
            );
            store::defer(&sp.db, job, &at, &format!("{e}; trying again")).await?;
            return Ok(Step::Wait(wait));
        }
    };
    if !store::transition(
        &sp.db,
        job,
        JobState::Queued,
        JobState::Sending,
        &format!("sending to {addr}"),
        None,
    )
    .await?
    {
        return Ok(Step::Again);
    }
    let mut written = 0usize;
    let write = async {
        while written < bytes.len() {
            let n = stream.write(&bytes[written..]).await?;
            if n == 0 {
                return Err(std::io::Error::new(
                    std::io::ErrorKind::WriteZero,
                    "the printer took no more bytes",
                ));
            }
            written += n;
        }
        stream.flush().await?;
        stream.shutdown().await
    };
    let mut result = match tokio::time::timeout(t.write, write).await {
        Ok(r) => r.map_err(|e| e.to_string()),
        Err(_) => Err(format!(
            "writing took longer than {} ms",
            t.write.as_millis()
        )),
    };
    if result.is_ok() {
        // A short drain: the printer closes its side once it has read everything. A reset
        // here means it closed with our bytes unread (the kernel had taken them, the printer
        // had not): the job did not arrive whole.
        let mut sink = [0u8; 256];
        let drained = tokio::time::timeout(Duration::from_millis(500), async {
            loop {
                match stream.read(&mut sink).await {
                    Ok(0) => return Ok(()),
                    Ok(_) => continue,
                    Err(e) => return Err(e),
                }
            }
        })
        .await;
        if let Ok(Err(e)) = drained {
            result = Err(format!(
                "the printer reset the connection before reading it all: {e}"
            ));
        }
    }
    match result {
        Ok(()) => {
            store::transition(
                &sp.db,
                job,
                JobState::Sending,
                JobState::Sent,
                &format!("{} bytes written", bytes.len()),
                None,
            )
            .await?;
            Ok(Step::Again)
        }
        Err(e) => {
            let why = format!(
                "the connection broke after {written} of {} bytes ({e}). It is not sent again by itself: \
                 check the printer and reprint it if the label is missing",
                bytes.len()
            );
            if store::transition(
                &sp.db,
                job,
                JobState::Sending,
                JobState::Failed,
                &why,
                Some(&why),
            )
            .await?
            {
                sp.outcome(JobState::Failed);
            }
            tracing::warn!(printer, job, written, error = %e, "print job failed while sending");
            Ok(Step::Again)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::backoff_wait;
    use std::time::Duration;

    #[test]
    fn a_short_idle_poll_does_not_break_the_backoff_wait() {
        // idle_poll_ms 10 to 19 (the smallest the timings allow) made `clamp` panic.
        for ms in 10..=19 {
            let idle = Duration::from_millis(ms);
            assert_eq!(
                backoff_wait(Duration::from_millis(500), idle),
                Duration::from_millis(20)
            );
        }
        let idle = Duration::from_secs(10);
        assert_eq!(
            backoff_wait(Duration::from_millis(5), idle),
            Duration::from_millis(20)
        );
        assert_eq!(
            backoff_wait(Duration::from_secs(2), idle),
            Duration::from_secs(2)
        );
        assert_eq!(backoff_wait(Duration::from_secs(30), idle), idle);
    }
}
