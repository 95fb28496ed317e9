//! A pseudo-terminal pair made by `socat` with stable link paths: the service opens `dev`, the
//! test plays the serial scanner on `host`. Skipped with a printed reason without socat, unless
//! `TEST_REQUIRE_SERVICES=1`.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// A PTY pair: the service opens `dev`, the test writes scans into `host`.
pub struct Pty {
    child: Child,
    pub dev: PathBuf,
    pub host: PathBuf,
}

impl Pty {
    pub fn plug(dir: &Path) -> Option<Pty> {
        let dev = dir.join("scanner");
        let host = dir.join("host");
        let child = match Command::new("socat")
            .arg(format!("pty,raw,echo=0,link={}", dev.display()))
            .arg(format!("pty,raw,echo=0,link={}", host.display()))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
        {
            Ok(c) => c,
            Err(e) => {
                if std::env::var("TEST_REQUIRE_SERVICES").is_ok_and(|v| v == "1") {
                    panic!("socat is needed for the PTY tests: {e}");
                }
                eprintln!("skipped: PTY scanner tests need socat ({e})");
                return None;
            }
        };
        let deadline = Instant::now() + Duration::from_secs(5);
        while !(dev.exists() && host.exists()) {
            assert!(
                Instant::now() < deadline,
                "socat did not create the PTY links"
            );
            std::thread::sleep(Duration::from_millis(10));
        }
        Some(Pty { child, dev, host })
    }

    /// Plays the scanner: writes raw bytes as they would come off the wire.
    pub fn send(&self, bytes: &[u8]) {
        let mut f = std::fs::OpenOptions::new()
            .write(true)
            .open(&self.host)
            .expect("open host side");
        f.write_all(bytes).expect("write to pty");
        f.flush().unwrap();
    }

    pub fn unplug(mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = std::fs::remove_file(&self.dev);
        let _ = std::fs::remove_file(&self.host);
    }
}

impl Drop for Pty {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
