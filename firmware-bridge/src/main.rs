//! `konsign-bridge`: the program beside a hulklip cutting machine. So far it runs the simulated
//! machine (`konsign-bridge simulate`); the bridge between the machine's serial port and
//! konsign's MQTT station protocol is still to come.

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
