//! The embedded MQTT broker (rumqttd): with no `mqtt.url` configured, konsign starts its own on
//! loopback, so `cargo run` needs nothing else installed. It runs on its own threads for the
//! life of the process.
//!
//! With a password file ([`Login`]) every client must log in: a station as its id, and only
//! under its own client id `station-{site}-{id}` (no one can take over a station's session or
//! konsign's); konsign itself logs in with a secret made at each start. rumqttd has no topic
//! ACLs: where stations must be kept to their own topics, use Mosquitto (docs/security.md).

use super::passwd::Passwords;
use crate::domain::rate::Buckets;
use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use subtle::ConstantTimeEq;

/// konsign's own user at its embedded broker: a name no station id can have (a '.').
pub const INTERNAL_USER: &str = "konsign.host";

/// Login attempts a minute per user name (a guessed password costs a connection each).
const LOGINS_PER_USER_PER_MINUTE: u32 = 30;

/// Who may log in to the embedded broker.
#[derive(Debug)]
pub struct Login {
    pub passwords: Passwords,
    pub site: String,
    /// konsign's own secret for [`INTERNAL_USER`].
    pub internal_secret: String,
    attempts: Mutex<(Instant, Buckets)>,
}

impl Login {
    pub fn new(passwords: Passwords, site: &str) -> anyhow::Result<Self> {
        // thread_rng: a CSPRNG seeded from the operating system
        let secret: [u8; 24] = rand::random();
        Ok(Self {
            passwords,
            site: site.to_string(),
            internal_secret: hex::encode(secret),
            attempts: Mutex::new((
                Instant::now(),
                Buckets::new(LOGINS_PER_USER_PER_MINUTE, 10_000),
            )),
        })
    }

    /// May this client log in? A station's user name is its id; a client id naming a station
    /// (`station-{site}-{id}`) belongs to that station's user only, one naming konsign
    /// (`host-...`) to konsign's; other client ids (a monitoring tool) to any user with a
    /// password.
    pub fn allows(&self, client_id: &str, user: &str, password: &str) -> bool {
        {
            let mut a = self.attempts.lock().unwrap_or_else(|p| p.into_inner());
            let now = a.0.elapsed().as_secs_f64();
            if a.1.take(user, now).is_err() {
                return false;
            }
        }
        if user == INTERNAL_USER {
            return bool::from(password.as_bytes().ct_eq(self.internal_secret.as_bytes()))
                && client_id.starts_with("host-");
        }
        if !self.passwords.check(user, password) {
            return false;
        }
        if client_id.starts_with("host-") {
            return false;
        }
        match client_id.strip_prefix(&format!("station-{}-", self.site)) {
            Some(station) => station == user,
            None => !client_id.starts_with("station-"),
        }
    }
}

/// Starts the broker on `listen` and waits (up to 5 s) until it accepts connections. With
/// `login`, every client must log in.
pub async fn start(listen: SocketAddr, login: Option<Arc<Login>>) -> anyhow::Result<()> {
    // Refuse at once when the port is taken (rumqttd would only log it on its own thread).
    drop(std::net::TcpListener::bind(listen).map_err(|e| {
        anyhow::anyhow!(
            "the embedded MQTT broker cannot listen on {listen} (mqtt.embedded_listen): {e}"
        )
    })?);
    let mut connections = rumqttd::ConnectionSettings {
        // A client has 10 s from its TCP connect to its CONNECT (a silent one is dropped).
        connection_timeout_ms: 10_000,
        max_payload_size: 1024 * 1024,
        max_inflight_count: 200,
        auth: None,
        external_auth: None,
        dynamic_filters: true,
    };
    if let Some(login) = login {
        connections.set_auth_handler(move |client_id, user, password| {
            let ok = login.allows(&client_id, &user, &password);
            if !ok {
                tracing::warn!(client_id, user, "embedded MQTT broker: login refused");
            }
            std::future::ready(ok)
        });
    }
    let server = rumqttd::ServerSettings {
        name: "konsign-v4".into(),
        listen,
        tls: None,
        next_connection_delay_ms: 1,
        connections,
    };
    let config = rumqttd::Config {
        id: 0,
        router: rumqttd::RouterConfig {
            max_connections: 1010,
            max_outgoing_packet_count: 200,
            max_segment_size: 100 * 1024 * 1024,
            max_segment_count: 10,
            custom_segment: None,
            initialized_filters: None,
            shared_subscriptions_strategy: Default::default(),
        },
        v4: Some(HashMap::from([("1".to_string(), server)])),
        v5: None,
        ws: None,
        cluster: None,
        console: None,
        bridge: None,
        prometheus: None,
        metrics: None,
    };
    std::thread::Builder::new()
        .name("mqtt-broker".into())
        .spawn(move || {
            let mut broker = rumqttd::Broker::new(config);
            if let Err(e) = broker.start() {
                tracing::error!(error = %e, "the embedded MQTT broker stopped");
            }
        })?;
    for _ in 0..100 {
        // Listening once the port is taken (a test connection would make rumqttd log an error
        // about a client that never sent CONNECT).
        if std::net::TcpListener::bind(listen).is_err() {
            tracing::info!(%listen, "embedded MQTT broker listening");
            return Ok(());
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    anyhow::bail!("the embedded MQTT broker did not start on {listen}")
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `mosquitto_passwd -c -b pw cut-1 secret1`
    const FILE: &str = "cut-1:$7$101$YaR5lsVdk0MGohaM$eif+DNxpenjcCvRDx/Ia9lamQAoSAB8UqqMqHT48wvGgRMWKRo1qqT9eve+OcaRh7gj0bG6XzoNPiPHVYjYUSw==";

    #[test]
    fn a_station_logs_in_as_itself_and_only_under_its_own_client_id() {
        let l = Login::new(Passwords::parse(FILE).unwrap(), "vejle").unwrap();
        assert!(l.allows("station-vejle-cut-1", "cut-1", "secret1"));
        assert!(!l.allows("station-vejle-cut-1", "cut-1", "wrong"));
        assert!(!l.allows("station-vejle-cut-2", "cut-1", "secret1"));
        assert!(!l.allows("station-other-cut-1", "cut-1", "secret1"));
        assert!(!l.allows("host-vejle-x", "cut-1", "secret1"));
        assert!(l.allows("monitor", "cut-1", "secret1"));
        let secret = l.internal_secret.clone();
        assert!(l.allows("host-vejle-konsign-1", INTERNAL_USER, &secret));
        assert!(!l.allows("station-vejle-cut-1", INTERNAL_USER, &secret));
        assert!(!l.allows("host-vejle-konsign-1", INTERNAL_USER, "guess"));
    }

    #[test]
    fn guessing_a_password_is_slowed_per_user() {
        let l = Login::new(Passwords::parse(FILE).unwrap(), "vejle").unwrap();
        let refused = (0..100)
            .filter(|_| !l.allows("station-vejle-cut-1", "cut-1", "guess"))
            .count();
        assert_eq!(refused, 100);
        // the right password is refused too while the user's attempts are spent
        assert!(!l.allows("station-vejle-cut-1", "cut-1", "secret1"));
        // another user is not affected
        let secret = l.internal_secret.clone();
        assert!(l.allows("host-vejle-k", INTERNAL_USER, &secret));
    }
}
