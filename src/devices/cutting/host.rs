//! konsign's MQTT link: connects to the broker as `host-{site}-{host}` with a persistent
//! session, `TCP_NODELAY` and a last will (`_host/{host}/state` = offline, retained), subscribes
//! to every station's `ack`, `event`, `state`, `connection` and `factsheet` again on every
//! CONNACK (a lost session loses subscriptions: rumqttc issue #250), and hands each incoming
//! message to the service in arrival order. A message is acknowledged to the broker only after
//! it has been handled, so a konsign that stops in between gets it again.

use firmware_bridge::wire::{self, Header, HostError, HostState, Topic};
use rumqttc::{AsyncClient, Event, LastWill, MqttOptions, Packet, QoS};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

/// An incoming station message, to be handled and then acknowledged.
pub struct Incoming {
    pub topic: String,
    pub payload: bytes::Bytes,
    /// When konsign's MQTT task had it.
    pub received: std::time::Instant,
    publish: rumqttc::Publish,
}

/// Most job -> ack times kept (the newest).
const ANSWER_SAMPLES: usize = 10_000;

/// The host's side of the broker connection.
pub struct Host {
    pub client: AsyncClient,
    pub site: String,
    pub host_id: String,
    boot_id: String,
    counter: AtomicU64,
    connected: AtomicBool,
    /// Jobs published and not yet answered: message id -> when handed to the MQTT client.
    sent_jobs: std::sync::Mutex<std::collections::HashMap<String, std::time::Instant>>,
    /// How long stations took to answer jobs, newest last: from konsign handing the job to its
    /// MQTT client to konsign's MQTT task having the ack (the wire round trip, without konsign's
    /// database work at either end).
    answers: std::sync::Mutex<std::collections::VecDeque<Duration>>,
    /// Message ids answered lately (newest last), so a job whose answer is still waiting to be
    /// handled is not sent again.
    answered_ids: std::sync::Mutex<(
        std::collections::HashSet<String>,
        std::collections::VecDeque<String>,
    )>,
}

impl std::fmt::Debug for Host {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Host")
            .field("site", &self.site)
            .field("host_id", &self.host_id)
            .finish()
    }
}

impl Host {
    fn header(&self) -> Header {
        let n = self.counter.fetch_add(1, Ordering::Relaxed) + 1;
        Header::new(
            &self.site,
            &self.host_id,
            &self.boot_id,
            format!("m-{}-{n}", self.boot_id),
            n,
        )
    }

    /// The header of a message to a station (it names the station, as the topic does), with a given message id (a re-sent job keeps its id).
    pub fn header_for(&self, station: &str, message_id: &str) -> Header {
        let n = self.counter.fetch_add(1, Ordering::Relaxed) + 1;
        Header::new(
            &self.site,
            station,
            &self.boot_id,
            message_id.to_string(),
            n,
        )
    }

    /// A fresh message id.
    pub fn message_id(&self) -> String {
        format!("m-{}-{:016x}", self.boot_id, rand::random::<u64>())
    }

    /// Publishes a job (QoS 1, not retained), noting when, to time the station's answer.
    pub async fn send_job(&self, station: &str, message_id: &str, payload: Vec<u8>) -> bool {
        if let Ok(mut m) = self.sent_jobs.lock() {
            if m.len() >= ANSWER_SAMPLES {
                m.clear(); // unanswered for long: their times are of no use
            }
            m.insert(message_id.to_string(), std::time::Instant::now());
        }
        self.send(station, Topic::Job, payload).await
    }

    /// A station answered the job message `message_id`; `at` is when the answer arrived.
    pub fn answered(&self, message_id: &str, at: std::time::Instant) {
        if let Ok(mut ids) = self.answered_ids.lock() {
            let (set, order) = &mut *ids;
            if set.insert(message_id.to_string()) {
                order.push_back(message_id.to_string());
                if order.len() > ANSWER_SAMPLES {
                    if let Some(old) = order.pop_front() {
                        set.remove(&old);
                    }
                }
            }
        }
        let Some(sent) = self
            .sent_jobs
            .lock()
            .ok()
            .and_then(|mut m| m.remove(message_id))
        else {
            return;
        };
        let took = at.saturating_duration_since(sent);
        tracing::debug!(message_id, micros = took.as_micros() as u64, "job answered");
        if let Ok(mut a) = self.answers.lock() {
            if a.len() >= ANSWER_SAMPLES {
                a.pop_front();
            }
            a.push_back(took);
        }
    }

    /// Whether a station has answered this message lately (the answer may still be waiting to
    /// be handled).
    pub fn was_answered(&self, message_id: &str) -> bool {
        self.answered_ids
            .lock()
            .is_ok_and(|ids| ids.0.contains(message_id))
    }

    /// The stations' answer times kept (oldest first).
    pub fn answer_times(&self) -> Vec<Duration> {
        self.answers
            .lock()
            .map(|a| a.iter().copied().collect())
            .unwrap_or_default()
    }

    /// Publishes a message to a station (QoS 1, not retained).
    pub async fn send(&self, station: &str, topic: Topic, payload: Vec<u8>) -> bool {
        let t = wire::topic(&self.site, station, topic);
        match self
            .client
            .publish(t, QoS::AtLeastOnce, false, payload)
            .await
        {
            Ok(()) => true,
            Err(e) => {
                tracing::warn!(error = %e, station, "cannot publish to the station");
                false
            }
        }
    }

    pub fn connected(&self) -> bool {
        self.connected.load(Ordering::Relaxed)
    }

    /// Publishes why a station's message was refused.
    pub async fn reject(&self, topic: &str, reason: &str) {
        let msg = HostError {
            header: self.header(),
            topic: topic.to_string(),
            reason: reason.to_string(),
        };
        let t = wire::host_error_topic(&self.site, &self.host_id);
        if let Err(e) = self
            .client
            .publish(t, QoS::AtLeastOnce, false, wire::encode(&msg))
            .await
        {
            tracing::warn!(error = %e, "cannot publish the rejection");
        }
    }

    async fn announce(&self, online: bool) {
        let msg = HostState {
            header: self.header(),
            online,
        };
        let t = wire::host_state_topic(&self.site, &self.host_id);
        if let Err(e) = self
            .client
            .publish(t, QoS::AtLeastOnce, true, wire::encode(&msg))
            .await
        {
            tracing::warn!(error = %e, "cannot publish the host state");
        }
    }

    /// Says goodbye cleanly: offline (retained), then disconnect.
    pub async fn shutdown(&self) {
        self.announce(false).await;
        tokio::time::sleep(Duration::from_millis(100)).await;
        let _ = self.client.disconnect().await;
    }

    /// Acknowledges a handled message to the broker.
    pub async fn ack(&self, m: &Incoming) {
        if let Err(e) = self.client.ack(&m.publish).await {
            tracing::warn!(error = %e, topic = %m.topic, "cannot acknowledge an MQTT message");
        }
    }
}

/// The connection settings.
pub struct Settings {
    pub host: String,
    pub port: u16,
    pub username: Option<String>,
    pub password: Option<String>,
    pub site: String,
    pub host_id: String,
}

/// Connects (in the background, reconnecting for ever) and returns the host handle and the
/// stream of incoming station messages.
pub fn start(
    s: Settings,
) -> (
    Arc<Host>,
    tokio::sync::mpsc::Receiver<Incoming>,
    tokio::task::JoinHandle<()>,
) {
    // No "/" in client ids: rumqttd refuses them (as it refuses "+", "#" and "$").
    let client_id = format!("host-{}-{}", s.site, s.host_id);
    let mut opts = MqttOptions::new(client_id, s.host.clone(), s.port);
    opts.set_keep_alive(Duration::from_secs(10));
    opts.set_clean_session(false);
    opts.set_manual_acks(true);
    // Larger than the protocol's limit, so an oversized message reaches konsign and is refused
    // with its reason instead of breaking the connection.
    opts.set_max_packet_size(1024 * 1024, 1024 * 1024);
    opts.set_inflight(100);
    let boot_id = format!("b-{:08x}", rand::random::<u32>());
    let will = HostState {
        header: Header::new(
            &s.site,
            &s.host_id,
            &boot_id,
            format!("m-{boot_id}-will"),
            0,
        ),
        online: false,
    };
    opts.set_last_will(LastWill::new(
        wire::host_state_topic(&s.site, &s.host_id),
        wire::encode(&will),
        QoS::AtLeastOnce,
        true,
    ));
    if let (Some(u), Some(p)) = (&s.username, &s.password) {
        opts.set_credentials(u.clone(), p.clone());
    }
    let (client, mut eventloop) = AsyncClient::new(opts, 256);
    let mut net = rumqttc::NetworkOptions::new();
    net.set_tcp_nodelay(true);
    net.set_connection_timeout(5);
    eventloop.set_network_options(net);
    let host = Arc::new(Host {
        client,
        site: s.site.clone(),
        host_id: s.host_id.clone(),
        boot_id,
        counter: AtomicU64::new(0),
        connected: AtomicBool::new(false),
        sent_jobs: Default::default(),
        answers: Default::default(),
        answered_ids: Default::default(),
    });
    let (tx, rx) = tokio::sync::mpsc::channel(1024);
    let h = host.clone();
    let broker = format!("{}:{}", s.host, s.port);
    let task = tokio::spawn(async move {
        loop {
            match eventloop.poll().await {
                Ok(Event::Incoming(Packet::ConnAck(ack))) => {
                    h.connected.store(true, Ordering::Relaxed);
                    tracing::info!(%broker, session_present = ack.session_present, "connected to the MQTT broker");
                    // Subscribe on every CONNACK: cheap, and right whether or not the broker
                    // kept the session.
                    for t in [
                        Topic::Ack,
                        Topic::Event,
                        Topic::State,
                        Topic::Connection,
                        Topic::Factsheet,
                    ] {
                        let filter = format!("{}/{}/+/{}", wire::PREFIX, h.site, t.name());
                        if let Err(e) = h.client.subscribe(filter, QoS::AtLeastOnce).await {
                            tracing::warn!(error = %e, "cannot subscribe");
                        }
                    }
                    h.announce(true).await;
                }
                Ok(Event::Incoming(Packet::Publish(p))) => {
                    let m = Incoming {
                        topic: p.topic.clone(),
                        payload: p.payload.clone(),
                        received: std::time::Instant::now(),
                        publish: p,
                    };
                    if tx.send(m).await.is_err() {
                        return;
                    }
                }
                Ok(Event::Outgoing(rumqttc::Outgoing::Disconnect)) => {
                    h.connected.store(false, Ordering::Relaxed);
                    return;
                }
                Ok(_) => {}
                Err(e) => {
                    if h.connected.swap(false, Ordering::Relaxed) {
                        tracing::warn!(%broker, error = %e, "lost the MQTT broker; reconnecting");
                    } else {
                        tracing::debug!(%broker, error = %e, "cannot reach the MQTT broker yet");
                    }
                    tokio::time::sleep(Duration::from_millis(500)).await;
                }
            }
        }
    });
    (host, rx, task)
}
