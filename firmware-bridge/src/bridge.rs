//! The bridge between a cutting machine's serial port (PROTOCOL.md) and konsign's MQTT station
//! protocol (docs/devices/hulklip-mqtt.md): the I/O shell around the protocol engine
//! (`engine`). The engine decides; this file owns the MQTT client, the serial port and the state
//! file, feeds the engine what happens on each, and performs the actions it returns. The engine
//! remembers every job it was given (id, revision, content hash, outcome) in `state.json`, so a
//! job delivered again, or after a restart, is answered `duplicate` and never cut twice; and it
//! keeps the events it has to send in the same file (an outbox), sent oldest first and dropped
//! only when the broker has acknowledged them.

use crate::engine::{Action, Disk, Engine, Settings};
use rumqttc::{AsyncClient, Event, LastWill, MqttOptions, NetworkOptions, Packet, QoS};
use std::path::PathBuf;
use std::time::{Duration, Instant};
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};

/// The bridge's settings.
#[derive(Debug, Clone)]
pub struct Config {
    pub site: String,
    pub station: String,
    pub broker_host: String,
    pub broker_port: u16,
    pub serial: PathBuf,
    pub state_dir: PathBuf,
    pub min_mm: f64,
    pub max_mm: f64,
    pub queue_limit: u32,
    /// The user name and password at the broker, when it asks for them (the user name is the
    /// station id: the broker's ACL keys on it).
    pub credentials: Option<(String, String)>,
}

/// The state file.
struct Store {
    path: PathBuf,
}

impl Store {
    fn open(dir: &std::path::Path) -> std::io::Result<(Self, Disk)> {
        std::fs::create_dir_all(dir)?;
        let path = dir.join("state.json");
        let d = match std::fs::read(&path) {
            Ok(b) => serde_json::from_slice(&b).map_err(|e| {
                std::io::Error::new(
                    std::io::ErrorKind::InvalidData,
                    format!("{}: {e}", path.display()),
                )
            })?,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Disk::default(),
            Err(e) => return Err(e),
        };
        Ok((Self { path }, d))
    }
    /// Writes the state atomically (a temporary file, synced, then renamed).
    fn save(&self, d: &Disk) -> std::io::Result<()> {
        let tmp = self.path.with_extension("tmp");
        let mut f = std::fs::File::create(&tmp)?;
        std::io::Write::write_all(&mut f, &serde_json::to_vec(d).unwrap_or_default())?;
        f.sync_all()?;
        std::fs::rename(&tmp, &self.path)
    }
}

fn io(e: impl std::fmt::Display) -> std::io::Error {
    std::io::Error::other(e.to_string())
}

/// The machine's serial port: a reader that keeps a partly read line between polls (so that
/// waiting for a line can be cancelled by `select!` without losing bytes), and the writer.
struct Serial {
    reader: BufReader<tokio::io::ReadHalf<tokio_serial::SerialStream>>,
    write: tokio::io::WriteHalf<tokio_serial::SerialStream>,
    partial: Vec<u8>,
    too_long: bool,
}

fn open_serial(cfg: &Config) -> std::io::Result<Serial> {
    let port =
        tokio_serial::SerialStream::open(&tokio_serial::new(cfg.serial.to_string_lossy(), 115_200))
            .map_err(io)?;
    let (read, write) = tokio::io::split(port);
    Ok(Serial {
        reader: BufReader::new(read),
        write,
        partial: Vec::new(),
        too_long: false,
    })
}

/// Takes the bytes of `avail` up to a line end into `partial`, never keeping more than a line
/// may hold: a longer line is cut there and marked, and the rest of it is skipped up to its line
/// end. Returns how many bytes were taken and whether a line ended.
pub fn take_line_bytes(partial: &mut Vec<u8>, too_long: &mut bool, avail: &[u8]) -> (usize, bool) {
    let (taken, ended) = match avail.iter().position(|&b| b == b'\n') {
        Some(i) => (i + 1, true),
        None => (avail.len(), false),
    };
    if !*too_long {
        partial.extend_from_slice(&avail[..taken]);
        if partial.len() > crate::line::MAX_LINE + 1 {
            partial.truncate(crate::line::MAX_LINE + 1);
            *too_long = true;
        }
    }
    (taken, ended)
}

/// The next line from the machine (bytes that are no UTF-8 are replaced, so the line decoder
/// refuses them by name; a line longer than a frame may be comes back cut, and is refused as too
/// long); never ready while the port is gone. Cancel-safe.
async fn next_line(serial: &mut Option<Serial>) -> std::io::Result<Option<String>> {
    let Some(s) = serial.as_mut() else {
        return std::future::pending().await;
    };
    loop {
        let avail = s.reader.fill_buf().await?;
        if avail.is_empty() {
            return Ok(None);
        }
        let (taken, ended) = take_line_bytes(&mut s.partial, &mut s.too_long, avail);
        std::pin::Pin::new(&mut s.reader).consume(taken);
        if ended {
            let line = String::from_utf8_lossy(&s.partial).into_owned();
            s.partial.clear();
            s.too_long = false;
            return Ok(Some(line));
        }
    }
}

fn lose_serial(port: &mut Port, why: &str) {
    if port.serial.take().is_some() {
        port.lost_at = Some(Instant::now());
        tracing_free_log(&format!(
            "lost the machine's serial port ({why}); jobs and events are kept, opening it again every second"
        ));
    }
}

fn tracing_free_log(msg: &str) {
    eprintln!("konsign-bridge: {msg}");
}

/// A boot id from the operating system's random source: konsign tells a restart of the bridge
/// by it, so it must differ from every earlier boot's (the process id repeats, on a restarted
/// device even at once).
pub fn new_boot_id() -> std::io::Result<String> {
    let mut bytes = [0u8; 8];
    getrandom::getrandom(&mut bytes)
        .map_err(|e| std::io::Error::other(format!("no random boot id: {e}")))?;
    Ok(format!("b-{}", hex::encode(bytes)))
}

/// The open port, if any, and since when it is gone.
struct Port {
    serial: Option<Serial>,
    lost_at: Option<Instant>,
}

/// Performs the engine's actions in order. The state is written once per batch, at its first
/// `Save` (the engine's state as it is after the input, which holds everything the actions
/// before and after depend on); a failed write stops the bridge (a bridge that cannot remember
/// its jobs must not take more). A serial write that fails loses the port; the frames after it
/// in the batch are not written (the engine resends its command when the port is back).
async fn perform(
    actions: Vec<Action>,
    engine: &Engine,
    store: &Store,
    client: &AsyncClient,
    port: &mut Port,
) -> std::io::Result<()> {
    let mut saved = false;
    for a in actions {
        match a {
            Action::Publish {
                topic,
                retain,
                payload,
                ..
            } => {
                // Refused only when the client's event loop is gone: the outbox is on disk and
                // is sent after a restart.
                client
                    .publish(topic, QoS::AtLeastOnce, retain, payload)
                    .await
                    .map_err(io)?;
            }
            Action::Save if !saved => {
                store.save(engine.disk())?;
                saved = true;
            }
            Action::Save => {}
            Action::Serial(line) => {
                if let Some(s) = port.serial.as_mut() {
                    if let Err(e) = s.write.write_all(line.as_bytes()).await {
                        lose_serial(port, &e.to_string());
                    }
                }
            }
            Action::Subscribe(topic) => {
                let _ = client.subscribe(topic, QoS::AtLeastOnce).await;
            }
            Action::Log(msg) => tracing_free_log(&msg),
        }
    }
    Ok(())
}

/// Runs the bridge until `stop` turns true.
pub async fn run(cfg: Config, mut stop: tokio::sync::watch::Receiver<bool>) -> std::io::Result<()> {
    let (store, disk) = Store::open(&cfg.state_dir)?;
    // The machine's port: open at start (a wrong path is an error at once); lost later (a USB
    // cable pulled, the machine switched off), the bridge keeps its MQTT side and opens the port
    // again every second until it is back.
    let mut port = Port {
        serial: Some(open_serial(&cfg)?),
        lost_at: None,
    };
    let mut next_open = Instant::now();
    let settings = Settings {
        site: cfg.site.clone(),
        station: cfg.station.clone(),
        min_mm: cfg.min_mm,
        max_mm: cfg.max_mm,
        queue_limit: cfg.queue_limit,
    };
    // After a restart with a job on the machine, the engine asks the machine what it has and
    // listens for the events it repeats; the job is never loaded again.
    let mut engine = Engine::new(settings, new_boot_id()?, disk, Instant::now());
    let mut o = MqttOptions::new(engine.client_id(), cfg.broker_host.clone(), cfg.broker_port);
    o.set_keep_alive(Duration::from_secs(5));
    o.set_clean_session(false);
    if let Some((user, password)) = &cfg.credentials {
        o.set_credentials(user.clone(), password.clone());
    }
    let (will_topic, will) = engine.last_will();
    o.set_last_will(LastWill::new(will_topic, will, QoS::AtLeastOnce, true));
    let (client, mut ev) = AsyncClient::new(o, 256);
    let mut net = NetworkOptions::new();
    net.set_tcp_nodelay(true);
    ev.set_network_options(net);
    let mut tick = tokio::time::interval(Duration::from_millis(100));
    loop {
        let actions = tokio::select! {
            _ = stop.changed() => {
                if *stop.borrow() {
                    let actions = engine.on_stop();
                    perform(actions, &engine, &store, &client, &mut port).await?;
                    let _ = client.disconnect().await;
                    return Ok(());
                }
                continue;
            }
            e = ev.poll() => match e {
                Ok(Event::Incoming(Packet::ConnAck(_))) => engine.on_connected(),
                Ok(Event::Incoming(Packet::Publish(p))) => engine.on_message(&p.topic, &p.payload),
                Ok(Event::Incoming(Packet::PubAck(_))) => engine.on_puback(),
                Ok(_) => continue,
                Err(_) => {
                    engine.on_disconnected();
                    tokio::time::sleep(Duration::from_millis(300)).await;
                    continue;
                }
            },
            line = next_line(&mut port.serial) => match line {
                Ok(Some(l)) => engine.on_line(&l),
                Ok(None) => {
                    lose_serial(&mut port, "the port closed");
                    continue;
                }
                Err(e) => {
                    lose_serial(&mut port, &e.to_string());
                    continue;
                }
            },
            _ = tick.tick() => {
                if port.serial.is_none() && Instant::now() >= next_open {
                    next_open = Instant::now() + Duration::from_secs(1);
                    match open_serial(&cfg) {
                        Ok(p) => {
                            let away = port.lost_at.take().map(|t| t.elapsed().as_secs()).unwrap_or(0);
                            tracing_free_log(&format!("serial port {} is back after {away} s; asking the machine what it has", cfg.serial.display()));
                            port.serial = Some(p);
                            engine.on_serial_back(Instant::now());
                        }
                        Err(e) => tracing_free_log(&format!("serial port {} still unavailable: {e}", cfg.serial.display())),
                    }
                }
                engine.on_tick(Instant::now(), port.serial.is_some())
            }
        };
        perform(actions, &engine, &store, &client, &mut port).await?;
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn a_line_longer_than_a_frame_is_cut_and_its_rest_skipped() {
        let (mut partial, mut long) = (Vec::new(), false);
        // 10 000 bytes without a line end, in chunks: never more than a frame is kept.
        for _ in 0..100 {
            let chunk = [b'A'; 100];
            assert_eq!(
                super::take_line_bytes(&mut partial, &mut long, &chunk),
                (100, false)
            );
            assert!(partial.len() <= crate::line::MAX_LINE + 1);
        }
        assert!(long);
        // The line end: the cut line is given (and refused by the decoder as too long).
        assert_eq!(
            super::take_line_bytes(&mut partial, &mut long, b"AA\r\nOK 1*00\r\n"),
            (4, true)
        );
        let line = String::from_utf8_lossy(&partial).into_owned();
        assert!(matches!(
            crate::line::Frame::decode(&line),
            Err(crate::line::LineError::TooLong)
        ));
        // The next line is read whole.
        partial.clear();
        long = false;
        assert_eq!(
            super::take_line_bytes(&mut partial, &mut long, b"OK 1*00\r\n"),
            (9, true)
        );
        assert_eq!(partial, b"OK 1*00\r\n");
    }

    use super::new_boot_id;

    #[test]
    fn every_boot_gets_its_own_random_id() {
        let ids: std::collections::HashSet<String> =
            (0..64).map(|_| new_boot_id().unwrap()).collect();
        assert_eq!(ids.len(), 64, "boot ids repeat within one process");
        for id in &ids {
            assert!(id.starts_with("b-") && id.len() == 18, "{id}");
        }
    }
}
