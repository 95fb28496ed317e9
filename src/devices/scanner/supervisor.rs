//! Keeps one link running per configured scanner; scanners are added, changed and removed at run
//! time. All links send their scans into one channel, which the scan router drains.

use super::link::{self, LinkHandle, LinkStatus, ScanEvent, ScannerConfig};
use std::collections::BTreeMap;
use std::sync::Mutex;
use tokio::sync::{mpsc, watch};

pub struct Supervisor {
    links: Mutex<BTreeMap<String, (ScannerConfig, LinkHandle)>>,
    events: mpsc::Sender<ScanEvent>,
    /// The receiving end, until the router takes it.
    events_rx: Mutex<Option<mpsc::Receiver<ScanEvent>>>,
    shutdown: watch::Sender<bool>,
}

impl Default for Supervisor {
    fn default() -> Self {
        Self::new()
    }
}

impl Supervisor {
    pub fn new() -> Self {
        let (events, rx) = mpsc::channel(1024);
        let (shutdown, _) = watch::channel(false);
        Self {
            links: Mutex::new(BTreeMap::new()),
            events,
            events_rx: Mutex::new(Some(rx)),
            shutdown,
        }
    }

    /// The scans of every link, once (for the router).
    pub fn take_events(&self) -> Option<mpsc::Receiver<ScanEvent>> {
        self.events_rx.lock().ok()?.take()
    }

    /// Starts the link for `cfg`, replacing a running one with the same id.
    pub fn start(&self, cfg: ScannerConfig) {
        let handle = link::spawn(cfg.clone(), self.events.clone(), self.shutdown.subscribe());
        if let Ok(mut links) = self.links.lock() {
            if let Some((_, old)) = links.insert(cfg.id.clone(), (cfg, handle)) {
                old.task.abort();
            }
        }
    }

    /// Stops and forgets a link; false when there was none.
    pub fn stop(&self, id: &str) -> bool {
        let removed = self.links.lock().ok().and_then(|mut l| l.remove(id));
        match removed {
            Some((_, h)) => {
                h.task.abort();
                true
            }
            None => false,
        }
    }

    pub fn config(&self, id: &str) -> Option<ScannerConfig> {
        self.links.lock().ok()?.get(id).map(|(c, _)| c.clone())
    }

    /// Every scanner with its live status.
    pub fn list(&self) -> Vec<(ScannerConfig, LinkStatus)> {
        self.links
            .lock()
            .map(|l| l.values().map(|(c, h)| (c.clone(), h.status())).collect())
            .unwrap_or_default()
    }

    /// Writes feedback bytes to a scanner; dropped (with a log line) if its queue is full.
    pub fn feedback(&self, id: &str, bytes: Vec<u8>) {
        let sender = self
            .links
            .lock()
            .ok()
            .and_then(|l| l.get(id).map(|(_, h)| h.feedback.clone()));
        if let Some(s) = sender {
            if s.try_send(bytes).is_err() {
                tracing::warn!(
                    scanner = id,
                    "feedback not sent: the scanner's queue is full or closed"
                );
            }
        }
    }

    /// Stops every link.
    pub fn shutdown(&self) {
        let _ = self.shutdown.send(true);
    }
}
