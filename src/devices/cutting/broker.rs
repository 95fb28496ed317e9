//! The embedded MQTT broker (rumqttd): with no `mqtt.url` configured, konsign starts its own on
//! loopback, so `cargo run` needs nothing else installed. It runs on its own threads for the
//! life of the process.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::time::Duration;

/// Starts the broker on `listen` and waits (up to 5 s) until it accepts connections.
pub async fn start(listen: SocketAddr) -> anyhow::Result<()> {
    // Refuse at once when the port is taken (rumqttd would only log it on its own thread).
    drop(std::net::TcpListener::bind(listen).map_err(|e| {
        anyhow::anyhow!(
            "the embedded MQTT broker cannot listen on {listen} (mqtt.embedded_listen): {e}"
        )
    })?);
    let connections = rumqttd::ConnectionSettings {
        connection_timeout_ms: 60_000,
        max_payload_size: 1024 * 1024,
        max_inflight_count: 200,
        auth: None,
        external_auth: None,
        dynamic_filters: true,
    };
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
