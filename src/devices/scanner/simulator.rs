//! The scanner simulator (`konsign simulate scanner`): plays a serial barcode scanner for demos
//! and manual tests. It makes a pseudo-terminal (or writes to a given device path) and sends the
//! scans typed at its prompt or read from a file, in the bracket form or raw, with the AIM
//! identifier and terminator a configured scanner would send. Feedback bytes the service writes
//! back (beep/LED commands) are printed.

use super::codec::Terminator;
use crate::domain::gs1;
use anyhow::Context as _;
use std::io::{BufRead, IsTerminal, Read, Write};
use std::path::PathBuf;
use std::time::Duration;

#[derive(Debug, Clone)]
pub struct SimOptions {
    /// Write to this existing device (for example one end of a socat pair) instead of a new PTY.
    pub path: Option<PathBuf>,
    /// With a new PTY: also make this symlink to it, a stable path to configure the scanner with.
    pub link: Option<PathBuf>,
    /// AIM symbology identifier to send before each scan (`]d2`, `]C1`, `]E0`, or empty).
    pub aim: String,
    pub terminator: Terminator,
    /// Read scans from this file (one per line) instead of the prompt.
    pub file: Option<PathBuf>,
    /// Wait this long before the first scan (time for the service to open the port).
    pub start_delay: Duration,
    /// Pause between scans read from a file.
    pub interval: Duration,
    /// Keep the device open this long after the last scan (to see the feedback).
    pub hold: Duration,
}

fn terminator_bytes(t: Terminator) -> &'static [u8] {
    match t {
        Terminator::Cr => b"\r",
        Terminator::Lf => b"\n",
        Terminator::CrLf | Terminator::Any => b"\r\n",
    }
}

/// The bytes a scanner sends for one input line: `(01)...` is rendered as a GS1 element string
/// (checked first, so a typo is caught here), anything else is sent raw, with `<GS>` or `\x1d`
/// standing for the group separator. `None` for an empty line.
pub fn scan_bytes(
    line: &str,
    aim: &str,
    terminator: Terminator,
    today: chrono::NaiveDate,
) -> Result<Option<Vec<u8>>, String> {
    let line = line.trim_end_matches(['\r', '\n']);
    if line.trim().is_empty() {
        return Ok(None);
    }
    let mut out = if line.trim_start().starts_with('(') {
        let scan = gs1::parse_hri(line.trim(), today).map_err(|e| e.to_string())?;
        let aim = if aim.is_empty() { "]d2" } else { aim };
        gs1::render(aim, &scan.elements)
    } else {
        let raw = line.replace("<GS>", "\u{1d}").replace("\\x1d", "\u{1d}");
        let mut b = Vec::new();
        if !aim.is_empty() && !raw.starts_with(']') {
            b.extend_from_slice(aim.as_bytes());
        }
        b.extend_from_slice(raw.as_bytes());
        b
    };
    out.extend_from_slice(terminator_bytes(terminator));
    Ok(Some(out))
}

/// Removes the symlink when the simulator ends.
struct LinkGuard(Option<PathBuf>);

impl Drop for LinkGuard {
    fn drop(&mut self) {
        if let Some(p) = &self.0 {
            let _ = std::fs::remove_file(p);
        }
    }
}

/// Runs the simulator until its input ends. Blocking: it is a command-line tool.
pub fn run(opts: &SimOptions) -> anyhow::Result<()> {
    let today = crate::domain::time::business_day(chrono::Utc::now());
    // `device` is what scans are written to; `_slave` keeps a new PTY alive while we run.
    let (mut device, _slave, _link) = match &opts.path {
        Some(p) => {
            let f = std::fs::OpenOptions::new()
                .read(true)
                .write(true)
                .open(p)
                .with_context(|| format!("cannot open {}", p.display()))?;
            eprintln!("simulated scanner writing to {}", p.display());
            (f, None, LinkGuard(None))
        }
        None => {
            let pty = nix::pty::openpty(None, None).context("cannot create a pseudo-terminal")?;
            let mut t = nix::sys::termios::tcgetattr(&pty.slave)
                .context("cannot read the terminal settings")?;
            nix::sys::termios::cfmakeraw(&mut t);
            nix::sys::termios::tcsetattr(&pty.slave, nix::sys::termios::SetArg::TCSANOW, &t)
                .context("cannot set raw mode")?;
            let name =
                nix::unistd::ttyname(&pty.slave).context("cannot name the pseudo-terminal")?;
            let guard = match &opts.link {
                Some(l) => {
                    let _ = std::fs::remove_file(l);
                    std::os::unix::fs::symlink(&name, l)
                        .with_context(|| format!("cannot create the link {}", l.display()))?;
                    eprintln!(
                        "simulated scanner at {} (link {})",
                        name.display(),
                        l.display()
                    );
                    LinkGuard(Some(l.clone()))
                }
                None => {
                    eprintln!("simulated scanner at {}", name.display());
                    LinkGuard(None)
                }
            };
            (std::fs::File::from(pty.master), Some(pty.slave), guard)
        }
    };
    eprintln!("configure it as a scanner with that path (PUT /api/scanners/ID), then type scans; (01)... is the bracket form");
    // Print whatever the service writes back.
    let mut back = device
        .try_clone()
        .context("cannot read feedback from the device")?;
    std::thread::spawn(move || {
        let mut buf = [0u8; 256];
        while let Ok(n) = back.read(&mut buf) {
            if n == 0 {
                break;
            }
            eprintln!("feedback from the service: {}", hex::encode(&buf[..n]));
        }
    });
    std::thread::sleep(opts.start_delay);
    let interactive = opts.file.is_none() && std::io::stdin().is_terminal();
    let input: Box<dyn BufRead> = match &opts.file {
        Some(f) => Box::new(std::io::BufReader::new(
            std::fs::File::open(f).with_context(|| format!("cannot read {}", f.display()))?,
        )),
        None => Box::new(std::io::BufReader::new(std::io::stdin())),
    };
    if interactive {
        eprint!("scan> ");
    }
    for line in input.lines() {
        let line = line.context("cannot read the input")?;
        match scan_bytes(&line, &opts.aim, opts.terminator, today) {
            Ok(Some(bytes)) => {
                device.write_all(&bytes).context("the device went away")?;
                device.flush()?;
                eprintln!("sent {} bytes", bytes.len());
            }
            Ok(None) => {}
            Err(e) => eprintln!("not sent: {e}"),
        }
        if interactive {
            eprint!("scan> ");
        } else {
            std::thread::sleep(opts.interval);
        }
    }
    std::thread::sleep(opts.hold);
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn today() -> chrono::NaiveDate {
        chrono::NaiveDate::from_ymd_opt(2026, 11, 22).unwrap()
    }

    #[test]
    fn bracket_form_becomes_an_element_string_with_separators() {
        let b = scan_bytes(
            "(01)05708932000017(10)AB1(17)271231",
            "]d2",
            Terminator::CrLf,
            today(),
        )
        .unwrap()
        .unwrap();
        assert_eq!(b, b"]d2010570893200001710AB1\x1d17271231\r\n");
    }

    #[test]
    fn raw_lines_get_the_aim_id_and_gs_escapes() {
        let b = scan_bytes("0105708932000017<GS>10X", "]C1", Terminator::Cr, today())
            .unwrap()
            .unwrap();
        assert_eq!(b, b"]C10105708932000017\x1d10X\r");
        let b = scan_bytes("]E05708932000017", "]C1", Terminator::Lf, today())
            .unwrap()
            .unwrap();
        assert_eq!(b, b"]E05708932000017\n");
        assert_eq!(
            scan_bytes("   ", "]d2", Terminator::Cr, today()).unwrap(),
            None
        );
    }

    #[test]
    fn a_bad_bracket_scan_is_refused_before_sending() {
        let e = scan_bytes("(01)05708932000018", "]d2", Terminator::Cr, today()).unwrap_err();
        assert!(e.contains("check digit"), "{e}");
    }
}
