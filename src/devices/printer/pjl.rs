//! Document printers on the same raw socket (port 9100, "AppSocket"/JetDirect): an office laser
//! printer that takes a PDF wrapped in a PJL job, and answers `@PJL INFO STATUS` with a status
//! code. Pure: the bytes to send and what an answer means.
//!
//! The status codes are PJL's: `10001` ready, `10002` ready but offline, `10003` warming up,
//! `10006` toner low (still printing), `10023` printing; `40021` a door open; `41xyy` paper out
//! in a tray; other `4xxxx` need a person.

use super::status::HostStatus;

/// The language a printer speaks on its raw socket, which decides how its status is asked.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Language {
    /// A label printer: ZPL, status by `~HS`.
    Zpl,
    /// A document printer: a PDF in a PJL job, status by `@PJL INFO STATUS`.
    Pdf,
}

impl Language {
    /// From a printer's `kind` (`zpl` or `pdf`).
    pub fn of(kind: &str) -> Self {
        if kind == "pdf" {
            Language::Pdf
        } else {
            Language::Zpl
        }
    }
    /// The status request in this language.
    pub fn request(self) -> Vec<u8> {
        match self {
            Language::Zpl => b"~HS\r\n".to_vec(),
            Language::Pdf => status_request(),
        }
    }
    /// A whole status answer in this language, if `bytes` hold one.
    pub fn answer(self, bytes: &[u8]) -> Option<HostStatus> {
        match self {
            Language::Zpl => super::status::parse(bytes),
            Language::Pdf => parse(bytes),
        }
    }
}

/// The Universal Exit Language: leaves whatever language the printer is in.
pub const UEL: &[u8] = b"\x1b%-12345X";

/// The status request (its own PJL job).
pub fn status_request() -> Vec<u8> {
    let mut v = UEL.to_vec();
    v.extend_from_slice(b"@PJL\r\n@PJL INFO STATUS\r\n");
    v.extend_from_slice(UEL);
    v
}

/// A PDF as one PJL job, named after the print job.
pub fn wrap_pdf(job: &str, pdf: &[u8]) -> Vec<u8> {
    let name: String = job
        .chars()
        .filter(|c| c.is_ascii_alphanumeric() || *c == '-')
        .take(40)
        .collect();
    let mut v = UEL.to_vec();
    v.extend_from_slice(
        format!("@PJL JOB NAME=\"{name}\"\r\n@PJL ENTER LANGUAGE=PDF\r\n").as_bytes(),
    );
    v.extend_from_slice(pdf);
    v.extend_from_slice(UEL);
    v.extend_from_slice(format!("@PJL EOJ NAME=\"{name}\"\r\n").as_bytes());
    v.extend_from_slice(UEL);
    v
}

/// Reads a full `@PJL INFO STATUS` answer (it ends with a form feed); `None` until it is whole
/// or when it holds no `CODE=`.
pub fn parse(bytes: &[u8]) -> Option<HostStatus> {
    let end = bytes.iter().position(|b| *b == 0x0c)?;
    let text = std::str::from_utf8(&bytes[..end]).ok()?;
    if !text.contains("@PJL INFO STATUS") {
        return None;
    }
    let code: u32 = text
        .lines()
        .find_map(|l| l.trim().strip_prefix("CODE="))
        .and_then(|v| v.trim().parse().ok())?;
    let mut s = HostStatus::default();
    match code {
        10001 | 10006 => {}
        10003 | 10023 => s.formats_in_buffer = 1,
        10002 => s.paused = true,
        40021 => s.head_up = true,
        41000..=41999 => s.paper_out = true,
        _ if code >= 40000 => s.corrupt_ram = true,
        _ => {}
    }
    Some(s)
}

/// The answer a printer sends for a status (the simulator answers with this).
pub fn format(s: &HostStatus) -> Vec<u8> {
    let (code, display) = if s.paper_out {
        (41302, "Paper out")
    } else if s.head_up {
        (40021, "Door open")
    } else if s.paused {
        (10002, "Offline")
    } else if s.formats_in_buffer > 0 {
        (10023, "Printing")
    } else {
        (10001, "Ready")
    };
    format!(
        "@PJL INFO STATUS\r\nCODE={code}\r\nDISPLAY=\"{display}\"\r\nONLINE={}\r\n\x0c",
        if s.paused { "FALSE" } else { "TRUE" }
    )
    .into_bytes()
}

#[cfg(test)]
mod tests {
    use super::super::status::PrinterState;
    use super::*;

    #[test]
    fn status_answers_round_trip_and_name_the_fault() {
        for (s, want) in [
            (HostStatus::default(), PrinterState::Ready),
            (
                HostStatus {
                    paper_out: true,
                    ..Default::default()
                },
                PrinterState::PaperOut,
            ),
            (
                HostStatus {
                    head_up: true,
                    ..Default::default()
                },
                PrinterState::HeadOpen,
            ),
            (
                HostStatus {
                    paused: true,
                    ..Default::default()
                },
                PrinterState::Paused,
            ),
        ] {
            assert_eq!(parse(&format(&s)).map(|p| p.state()), Some(want));
        }
        let busy = parse(&format(&HostStatus {
            formats_in_buffer: 3,
            ..Default::default()
        }))
        .unwrap();
        assert!(!busy.idle());
        assert_eq!(
            parse(b"@PJL INFO STATUS\r\nCODE=50000\r\n\x0c").map(|s| s.state()),
            Some(PrinterState::Fault)
        );
    }

    #[test]
    fn partial_or_foreign_answers_are_no_status() {
        assert_eq!(parse(b"@PJL INFO STATUS\r\nCODE=10001\r\n"), None);
        assert_eq!(parse(b"hello\x0c"), None);
        assert_eq!(parse(b"@PJL INFO STATUS\r\nCODE=x\r\n\x0c"), None);
    }

    #[test]
    fn a_pdf_job_is_framed_by_the_exit_language() {
        let job = wrap_pdf("pj-1 \"x\"", b"%PDF-1.7 ...%%EOF");
        assert!(job.starts_with(UEL));
        assert!(job.ends_with(UEL));
        let text = String::from_utf8_lossy(&job);
        assert!(text.contains("@PJL JOB NAME=\"pj-1x\""), "{text}");
        assert!(text.contains("ENTER LANGUAGE=PDF\r\n%PDF-1.7"), "{text}");
    }
}
