//! `konsign-bridge`: the program beside a hulklip cutting machine. `run` bridges the machine's
//! serial port (PROTOCOL.md) to konsign's MQTT station protocol; `simulate` plays a machine on a
//! pseudo-terminal.

use clap::{Parser, Subcommand};
use firmware_bridge::machine::{Machine, MachineConfig};

#[derive(Debug, Parser)]
#[command(name = "konsign-bridge", version, about)]
struct Cli {
    #[command(subcommand)]
    command: Cmd,
}

#[derive(Debug, Subcommand)]
enum Cmd {
    /// Bridge a cutting machine's serial port to konsign over MQTT, until Ctrl-C.
    Run {
        /// The warehouse (the topic's site segment).
        #[arg(long, default_value = "vejle")]
        site: String,
        /// This station's id, as registered in konsign.
        #[arg(long)]
        station: String,
        /// The broker: mqtt://HOST:PORT.
        #[arg(long, default_value = "mqtt://127.0.0.1:18830")]
        broker: String,
        /// The machine's serial port.
        #[arg(long)]
        serial: std::path::PathBuf,
        /// Where the bridge keeps its job memory and outbox.
        #[arg(long, default_value = "bridge-state")]
        state_dir: std::path::PathBuf,
        #[arg(long, default_value_t = 10.0)]
        min_mm: f64,
        #[arg(long, default_value_t = 70.0)]
        max_mm: f64,
        /// Jobs the station takes at a time (the one on the machine included).
        #[arg(long, default_value_t = 3)]
        queue_limit: u32,
        /// The user name at the broker (default: the station id). The password is read from
        /// the environment variable KONSIGN_BRIDGE_PASSWORD (never from the command line, which
        /// other users of the machine can see); without it the bridge connects without
        /// credentials.
        #[arg(long)]
        username: Option<String>,
    },
    /// Run a simulated cutting machine on a new pseudo-terminal (PROTOCOL.md), until Ctrl-C.
    Simulate {
        /// Time to cut one plate, in milliseconds.
        #[arg(long, default_value_t = 2000)]
        cut_ms: u64,
        /// Report a damaged plate at this plate of every job (1-based).
        #[arg(long)]
        fault_at_plate: Option<u32>,
        /// Smallest and largest hole it cuts, in mm.
        #[arg(long, default_value_t = 10.0)]
        min_mm: f64,
        #[arg(long, default_value_t = 70.0)]
        max_mm: f64,
        /// Also create this symlink to the pseudo-terminal (a stable path to configure).
        #[arg(long)]
        link: Option<std::path::PathBuf>,
    },
}

fn main() -> std::process::ExitCode {
    let cli = Cli::parse();
    match cli.command {
        Cmd::Run {
            site,
            station,
            broker,
            serial,
            state_dir,
            min_mm,
            max_mm,
            queue_limit,
            username,
        } => {
            let Some((host, port)) = broker
                .strip_prefix("mqtt://")
                .and_then(|r| r.rsplit_once(':'))
                .and_then(|(h, p)| p.parse::<u16>().ok().map(|p| (h.to_string(), p)))
            else {
                eprintln!("konsign-bridge: --broker must be mqtt://HOST:PORT");
                return std::process::ExitCode::from(2);
            };
            let rt = match tokio::runtime::Runtime::new() {
                Ok(rt) => rt,
                Err(e) => {
                    eprintln!("konsign-bridge: {e}");
                    return std::process::ExitCode::from(1);
                }
            };
            let (_stop_tx, stop_rx) = tokio::sync::watch::channel(false);
            let credentials = std::env::var("KONSIGN_BRIDGE_PASSWORD")
                .ok()
                .filter(|p| !p.is_empty())
                .map(|p| (username.unwrap_or_else(|| station.clone()), p));
            let cfg = firmware_bridge::bridge::Config {
                site,
                station,
                broker_host: host,
                broker_port: port,
                serial,
                state_dir,
                min_mm,
                max_mm,
                queue_limit: queue_limit.max(1),
                credentials,
            };
            match rt.block_on(firmware_bridge::bridge::run(cfg, stop_rx)) {
                Ok(()) => std::process::ExitCode::SUCCESS,
                Err(e) => {
                    eprintln!("konsign-bridge: {e}");
                    std::process::ExitCode::from(1)
                }
            }
        }
        Cmd::Simulate {
            cut_ms,
            fault_at_plate,
            min_mm,
            max_mm,
            link,
        } => {
            if min_mm <= 0.0 || min_mm > max_mm {
                eprintln!("konsign-bridge: --min-mm must be above 0 and at most --max-mm");
                return std::process::ExitCode::from(2);
            }
            let m = match Machine::start(MachineConfig {
                cut_ms,
                fault_at_plate,
                min_mm,
                max_mm,
            }) {
                Ok(m) => m,
                Err(e) => {
                    eprintln!("konsign-bridge: cannot create a pseudo-terminal: {e}");
                    return std::process::ExitCode::from(1);
                }
            };
            if let Some(l) = &link {
                let _ = std::fs::remove_file(l);
                if let Err(e) = std::os::unix::fs::symlink(&m.path, l) {
                    eprintln!(
                        "konsign-bridge: cannot create the link {}: {e}",
                        l.display()
                    );
                    return std::process::ExitCode::from(1);
                }
            }
            println!(
                "simulated cutting machine at {}{}; {cut_ms} ms a plate; Ctrl-D or Ctrl-C stops it",
                m.path.display(),
                link.as_ref()
                    .map(|l| format!(" (link {})", l.display()))
                    .unwrap_or_default()
            );
            // At a terminal: until Ctrl-D (or Ctrl-C). In the background: until it is killed.
            use std::io::IsTerminal as _;
            if std::io::stdin().is_terminal() {
                let mut s = String::new();
                while std::io::stdin()
                    .read_line(&mut s)
                    .map(|n| n > 0)
                    .unwrap_or(false)
                {
                    s.clear();
                }
            } else {
                loop {
                    std::thread::park();
                }
            }
            if let Some(l) = &link {
                let _ = std::fs::remove_file(l);
            }
            drop(m);
            std::process::ExitCode::SUCCESS
        }
    }
}
