//! The dashboard, live: one task per instance watches the event log and, when something
//! happened (a new event, on this instance or another), reads again the sections those events
//! can change (`dashboard::Sections`), and publishes the picture to every open dashboard
//! (`GET /api/dashboard/stream`, Server-Sent Events). The clock moves some figures on by itself
//! (the ages of the oldest orders, the last hour's rates, the minutes to a cut-off), so the
//! task also reads one section in turn every ten seconds: each section is read again at least
//! once a minute, and no update reads the whole picture but the first. A dashboard gets the
//! whole picture each time, so one that reconnects (with `Last-Event-ID` or not) has lost
//! nothing. The task reads only while someone watches; watchers are bounded (`MAX_WATCHERS`).
//! The server time of each picture is in `/metrics` (`konsign_dashboard_update_seconds`).

use super::dashboard as dash;
use super::Ctx;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio::sync::watch;

/// How often the event log is looked at.
pub const LOOK_EVERY: Duration = Duration::from_millis(500);
/// Each section is read again at least this often (the ages of the oldest orders move on).
pub const REFRESH_EVERY: Duration = Duration::from_secs(60);
/// How often the refresh reads its next section: the six in turn within `REFRESH_EVERY`.
pub const REFRESH_TURN: Duration =
    Duration::from_secs(REFRESH_EVERY.as_secs() / dash::Sections::EACH.len() as u64);
/// Open dashboards at most per instance; more are refused (503).
pub const MAX_WATCHERS: usize = 200;

/// One published picture and the newest event it includes (`None` before the first read).
#[derive(Debug, Clone, Default)]
pub struct Published {
    pub event_id: i64,
    pub dashboard: Option<dash::Dashboard>,
}

/// The live picture of one instance.
pub struct LiveHub {
    tx: Mutex<Option<watch::Sender<Arc<Published>>>>,
    rx: watch::Receiver<Arc<Published>>,
    watchers: AtomicUsize,
    /// When the task last looked at the log for someone watching.
    looked: Mutex<Option<Instant>>,
    /// Held by a dashboard that opens while it brings the picture up to date: twenty screens
    /// that open (or come back) at once make one read, not twenty.
    catching_up: tokio::sync::Mutex<()>,
}

impl Default for LiveHub {
    fn default() -> Self {
        let (tx, rx) = watch::channel(Arc::new(Published::default()));
        Self {
            tx: Mutex::new(Some(tx)),
            rx,
            watchers: AtomicUsize::new(0),
            looked: Mutex::new(None),
            catching_up: tokio::sync::Mutex::new(()),
        }
    }
}

/// A dashboard's place among the watchers; given back when dropped.
pub struct Watcher {
    hub: Arc<LiveHub>,
    pub rx: watch::Receiver<Arc<Published>>,
}

impl Drop for Watcher {
    fn drop(&mut self) {
        self.hub.watchers.fetch_sub(1, Ordering::SeqCst);
    }
}

impl LiveHub {
    /// A new watcher, or `None` when `MAX_WATCHERS` are open or the hub is closed.
    pub fn watch(self: &Arc<Self>) -> Option<Watcher> {
        if self.lock().is_none() {
            return None;
        }
        let n = self.watchers.fetch_add(1, Ordering::SeqCst);
        let w = Watcher {
            hub: self.clone(),
            rx: self.rx.clone(),
        };
        if n >= MAX_WATCHERS {
            return None;
        }
        Some(w)
    }

    pub fn watchers(&self) -> usize {
        self.watchers.load(Ordering::SeqCst)
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Option<watch::Sender<Arc<Published>>>> {
        self.tx.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Whether the task follows the log now (it looked within the last three looks' time):
    /// then its picture is current, and a dashboard that opens need not read one itself.
    pub fn following(&self) -> bool {
        self.looked
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .is_some_and(|t| t.elapsed() < LOOK_EVERY * 3)
    }

    fn looked_now(&self) {
        *self.looked.lock().unwrap_or_else(|p| p.into_inner()) = Some(Instant::now());
    }

    /// Ends every open stream (at shutdown: an open dashboard must not hold the server up).
    pub fn close(&self) {
        self.lock().take();
    }

    /// Publishes `p` unless a picture of a newer event is out already (two readers raced and
    /// this one read first), or one of the same event and this is no `fresh` reading (a
    /// section's turn, for the clock): a dashboard's event ids never go back, and it does not
    /// get the same picture twice in a row. A picture that reads nothing new (`notify` false:
    /// events no section shows) is kept as the newest without being sent to anyone.
    fn publish(&self, p: Published, fresh: bool, notify: bool) {
        if let Some(tx) = self.lock().as_ref() {
            let stale = {
                let cur = tx.borrow();
                cur.dashboard.is_some()
                    && (cur.event_id > p.event_id || (cur.event_id == p.event_id && !fresh))
            };
            if !stale {
                let p = Arc::new(p);
                tx.send_if_modified(|cur| {
                    *cur = p;
                    notify
                });
            }
        }
    }

    /// The newest picture.
    pub fn current(&self) -> Arc<Published> {
        self.rx.borrow().clone()
    }
}

/// Brings the picture up to date for a dashboard that opens: while the task follows the log
/// (another dashboard is open), with the sections the events since its picture can move;
/// after a pause (its picture may be old by the clock too), with a whole read.
pub async fn catch_up(ctx: &Ctx) {
    let _one_at_a_time = ctx.live.catching_up.lock().await;
    let last = match crate::store::events::last_id(ctx.db.pool(), ctx.db.backend()).await {
        Ok(id) => id,
        Err(e) => return tracing::warn!(error = %e, "the event log could not be read"),
    };
    let published = ctx.live.current();
    match &published.dashboard {
        Some(prev) if ctx.live.following() => {
            if published.event_id < last {
                publish_changes(ctx, prev, published.event_id, last, dash::Sections::NONE).await;
            }
        }
        _ => {
            publish_whole(ctx, last).await;
            // Current now: the next to open catches up from it.
            ctx.live.looked_now();
        }
    }
}

/// How long a picture took, by how much it read.
fn observe(ctx: &Ctx, read: dash::Sections, started: Instant) {
    let kind = match read.count() {
        0 => "none",
        6 => "whole",
        _ => "sections",
    };
    ctx.metrics
        .dashboard_update
        .get_or_create(&crate::metrics::KindLabel { kind: kind.into() })
        .observe(started.elapsed().as_secs_f64());
}

async fn publish_whole(ctx: &Ctx, event_id: i64) {
    let started = Instant::now();
    match dash::read(ctx).await {
        Ok(d) => {
            observe(ctx, dash::Sections::ALL, started);
            ctx.live.publish(
                Published {
                    event_id,
                    dashboard: Some(d),
                },
                false,
                true,
            )
        }
        Err(e) => tracing::warn!(error = %e, "the dashboard could not be read"),
    }
}

/// Events between two looks at most, to be sorted by what they change; more (a burst, or a
/// hub that was not watched for a while) and the whole picture is read.
const CHANGES_AT_MOST: i64 = 5_000;

/// Publishes the picture after the events `(after, upto]`: the sections they can change and
/// the refresh's `turn` read again, the rest as `prev` has it. A `turn` is published even
/// when no event came (`fresh`): the clock moved its figures.
async fn publish_changes(
    ctx: &Ctx,
    prev: &dash::Dashboard,
    after: i64,
    upto: i64,
    turn: dash::Sections,
) {
    let started = Instant::now();
    let changed = if upto <= after {
        dash::Sections::NONE
    } else {
        match crate::store::events::types_between(ctx.db.pool(), after, upto, CHANGES_AT_MOST).await
        {
            Ok(Some(types)) => dash::Sections::touched_by_all(types.iter().map(String::as_str)),
            Ok(None) => dash::Sections::ALL,
            Err(e) => return tracing::warn!(error = %e, "the event log could not be read"),
        }
    };
    let read = changed.union(turn);
    match dash::read_changed(ctx, prev, read).await {
        Ok(d) => {
            observe(ctx, read, started);
            ctx.live.publish(
                Published {
                    event_id: upto,
                    dashboard: Some(d),
                },
                turn != dash::Sections::NONE,
                read != dash::Sections::NONE,
            )
        }
        Err(e) => tracing::warn!(error = %e, "the dashboard could not be read"),
    }
}

/// Starts the task that keeps the hub's picture fresh while someone watches.
pub fn spawn(ctx: Ctx) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        let hub = ctx.live.clone();
        let mut tick = tokio::time::interval(LOOK_EVERY);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        let mut turn_at = Instant::now();
        let mut turn = 0;
        loop {
            tick.tick().await;
            if hub.watchers() == 0 {
                continue;
            }
            let last = match crate::store::events::last_id(ctx.db.pool(), ctx.db.backend()).await {
                Ok(id) => id,
                Err(e) => {
                    tracing::warn!(error = %e, "the event log could not be read");
                    continue;
                }
            };
            // What is published already (by this task, or by a dashboard that just opened and
            // read it at once) is not published again until something happens or the next
            // section's turn comes: a dashboard never gets the same picture twice in a row by a
            // race.
            let published = hub.current();
            hub.looked_now();
            match &published.dashboard {
                Some(prev) => {
                    let due = turn_at.elapsed() >= REFRESH_TURN;
                    let this_turn = if due {
                        turn_at = Instant::now();
                        turn = (turn + 1) % dash::Sections::EACH.len();
                        dash::Sections::EACH[turn]
                    } else {
                        dash::Sections::NONE
                    };
                    if published.event_id < last || due {
                        let upto = last.max(published.event_id);
                        publish_changes(&ctx, prev, published.event_id, upto, this_turn).await;
                    }
                }
                None => {
                    publish_whole(&ctx, last).await;
                    turn_at = Instant::now();
                }
            }
        }
    })
}
