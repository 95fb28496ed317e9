//! The Zebra `~HS` host status: the printer answers three `<STX>...<ETX><CR><LF>` strings.
//! String 1: `aaa,b,c,dddd,eee,f,g,h,iii,j,k,l` (b paper out, c pause, eee formats in the
//! receive buffer, f buffer full, j corrupt RAM, k under temperature, l over temperature).
//! String 2: `mmm,n,o,p,q,r,s,t,uuuuuuuu,v,www` (o head up, p ribbon out, t label waiting,
//! uuuuuuuu labels remaining in the batch). String 3: `xxxx,y` (password, static RAM).
//! No answer at all is a fault: a printer with its media out or head open may stay silent.

use serde::Serialize;
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

pub const STX: u8 = 0x02;
pub const ETX: u8 = 0x03;

/// What `~HS` said.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct HostStatus {
    pub paper_out: bool,
    pub paused: bool,
    pub buffer_full: bool,
    pub formats_in_buffer: u32,
    pub head_up: bool,
    pub ribbon_out: bool,
    pub under_temperature: bool,
    pub over_temperature: bool,
    pub corrupt_ram: bool,
    pub labels_remaining: u32,
}

/// The printer's condition as the queue sees it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, serde::Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum PrinterState {
    /// Not asked yet.
    Unknown,
    Ready,
    PaperOut,
    Paused,
    HeadOpen,
    RibbonOut,
    BufferFull,
    /// Too hot, too cold, or its memory corrupt.
    Fault,
    /// Connected, but no (complete) answer to `~HS`.
    NoAnswer,
    /// Cannot connect: refused, unreachable or timed out.
    Unreachable,
    /// Switched off in konsign.
    Disabled,
}

impl PrinterState {
    pub fn as_str(self) -> &'static str {
        match self {
            PrinterState::Unknown => "unknown",
            PrinterState::Ready => "ready",
            PrinterState::PaperOut => "paper_out",
            PrinterState::Paused => "paused",
            PrinterState::HeadOpen => "head_open",
            PrinterState::RibbonOut => "ribbon_out",
            PrinterState::BufferFull => "buffer_full",
            PrinterState::Fault => "fault",
            PrinterState::NoAnswer => "no_answer",
            PrinterState::Unreachable => "unreachable",
            PrinterState::Disabled => "disabled",
        }
    }
    pub fn parse(s: &str) -> Self {
        match s {
            "ready" => PrinterState::Ready,
            "paper_out" => PrinterState::PaperOut,
            "paused" => PrinterState::Paused,
            "head_open" => PrinterState::HeadOpen,
            "ribbon_out" => PrinterState::RibbonOut,
            "buffer_full" => PrinterState::BufferFull,
            "fault" => PrinterState::Fault,
            "no_answer" => PrinterState::NoAnswer,
            "unreachable" => PrinterState::Unreachable,
            "disabled" => PrinterState::Disabled,
            _ => PrinterState::Unknown,
        }
    }
    /// True for the states that hold the queue and raise an alarm.
    pub fn is_alarm(self) -> bool {
        !matches!(
            self,
            PrinterState::Ready | PrinterState::Unknown | PrinterState::Disabled
        )
    }
    /// What a packer reads on the station page (Danish).
    pub fn da(self) -> &'static str {
        match self {
            PrinterState::Unknown => "ukendt",
            PrinterState::Ready => "klar",
            PrinterState::PaperOut => "papir/etiketter slut",
            PrinterState::Paused => "sat på pause",
            PrinterState::HeadOpen => "printhoved åbent",
            PrinterState::RibbonOut => "farvebånd slut",
            PrinterState::BufferFull => "buffer fuld",
            PrinterState::Fault => "fejl (temperatur eller hukommelse)",
            PrinterState::NoAnswer => "svarer ikke",
            PrinterState::Unreachable => "kan ikke forbindes",
            PrinterState::Disabled => "slået fra",
        }
    }
}

impl HostStatus {
    /// The one state that matters most (paper before pause: a paused printer with paper out
    /// still needs paper).
    pub fn state(&self) -> PrinterState {
        if self.paper_out {
            PrinterState::PaperOut
        } else if self.head_up {
            PrinterState::HeadOpen
        } else if self.ribbon_out {
            PrinterState::RibbonOut
        } else if self.corrupt_ram || self.under_temperature || self.over_temperature {
            PrinterState::Fault
        } else if self.paused {
            PrinterState::Paused
        } else if self.buffer_full {
            PrinterState::BufferFull
        } else {
            PrinterState::Ready
        }
    }

    /// Nothing waiting to print: the labels sent so far have come out.
    pub fn idle(&self) -> bool {
        self.formats_in_buffer == 0 && self.labels_remaining == 0
    }
}

/// Parses a full `~HS` answer; `None` when it is not three complete strings of the right shape.
pub fn parse(bytes: &[u8]) -> Option<HostStatus> {
    let mut strings = Vec::new();
    let mut rest = bytes;
    while let Some(start) = rest.iter().position(|b| *b == STX) {
        let after = &rest[start + 1..];
        let end = after.iter().position(|b| *b == ETX)?;
        strings.push(std::str::from_utf8(&after[..end]).ok()?.to_string());
        rest = &after[end + 1..];
    }
    if strings.len() < 3 {
        return None;
    }
    let s1: Vec<&str> = strings[0].split(',').map(str::trim).collect();
    let s2: Vec<&str> = strings[1].split(',').map(str::trim).collect();
    if s1.len() < 12 || s2.len() < 11 {
        return None;
    }
    let flag = |v: &str| match v {
        "0" => Some(false),
        "1" => Some(true),
        _ => None,
    };
    let num = |v: &str| v.parse::<u32>().ok();
    Some(HostStatus {
        paper_out: flag(s1[1])?,
        paused: flag(s1[2])?,
        formats_in_buffer: num(s1[4])?,
        buffer_full: flag(s1[5])?,
        corrupt_ram: flag(s1[9])?,
        under_temperature: flag(s1[10])?,
        over_temperature: flag(s1[11])?,
        head_up: flag(s2[2])?,
        ribbon_out: flag(s2[3])?,
        labels_remaining: num(s2[8])?,
    })
}

/// Formats a status the way a Zebra printer sends it (the simulator answers with this).
pub fn format(s: &HostStatus) -> Vec<u8> {
    let b = |v: bool| u8::from(v);
    let text = format!(
        "\x02030,{},{},1218,{:03},{},0,0,000,0,{},{}\x03\r\n\x02001,0,{},{},0,2,4,0,{:08},1,000\x03\r\n\x021234,0\x03\r\n",
        b(s.paper_out),
        b(s.paused),
        s.formats_in_buffer.min(999),
        b(s.buffer_full),
        b(s.under_temperature),
        b(s.over_temperature),
        b(s.head_up),
        b(s.ribbon_out),
        s.labels_remaining.min(99_999_999),
    );
    // Corrupt RAM sits at position 9 of string 1; the simulator never reports it.
    text.into_bytes()
}

/// Why a status query gave no status.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum QueryError {
    #[error("cannot connect: {0}")]
    Connect(String),
    #[error("no status answer: {0}")]
    NoAnswer(String),
}

/// Sends `request` (`~HS`, or PJL's for a document printer) on a fresh connection and waits up
/// to `timeout` until `answer` reads a whole status from what came back.
pub async fn query(
    addr: &str,
    connect_timeout: Duration,
    timeout: Duration,
    request: &[u8],
    answer: impl Fn(&[u8]) -> Option<HostStatus>,
) -> Result<HostStatus, QueryError> {
    let mut stream = connect(addr, connect_timeout).await?;
    let asked = async {
        stream.write_all(request).await?;
        let mut buf = Vec::with_capacity(128);
        let mut chunk = [0u8; 256];
        loop {
            if let Some(s) = answer(&buf) {
                return Ok::<_, std::io::Error>(Some(s));
            }
            let n = stream.read(&mut chunk).await?;
            if n == 0 {
                return Ok(None);
            }
            buf.extend_from_slice(&chunk[..n]);
            if buf.len() > 4096 {
                return Ok(None);
            }
        }
    };
    match tokio::time::timeout(timeout, asked).await {
        Ok(Ok(Some(s))) => Ok(s),
        Ok(Ok(None)) => Err(QueryError::NoAnswer(
            "the connection closed before a full answer".into(),
        )),
        Ok(Err(e)) => Err(QueryError::NoAnswer(io_problem(&e))),
        Err(_) => Err(QueryError::NoAnswer(format!(
            "nothing within {} ms",
            timeout.as_millis()
        ))),
    }
}

/// A fresh connection with a connect timeout, `TCP_NODELAY` and keepalive.
pub async fn connect(addr: &str, timeout: Duration) -> Result<TcpStream, QueryError> {
    let stream = match tokio::time::timeout(timeout, TcpStream::connect(addr)).await {
        Ok(Ok(s)) => s,
        Ok(Err(e)) => return Err(QueryError::Connect(io_problem(&e))),
        Err(_) => {
            return Err(QueryError::Connect(format!(
                "timed out after {} ms",
                timeout.as_millis()
            )))
        }
    };
    let _ = stream.set_nodelay(true);
    let sock = socket2::SockRef::from(&stream);
    let _ = sock.set_keepalive(true);
    Ok(stream)
}

/// An I/O error in the words `detail_da` knows (the system's own text where it has none).
pub fn io_problem(e: &std::io::Error) -> String {
    use std::io::ErrorKind as K;
    let text = e.to_string();
    let words = match e.kind() {
        K::ConnectionRefused => "connection refused",
        K::ConnectionReset | K::ConnectionAborted | K::BrokenPipe => "connection reset",
        K::HostUnreachable | K::NetworkUnreachable | K::AddrNotAvailable => {
            "no route to the printer"
        }
        K::TimedOut => "timed out",
        _ if text.contains("lookup address") || text.contains("Name or service") => {
            "unknown host name"
        }
        _ => return text,
    };
    words.to_string()
}

/// A printer's state detail (why it cannot be reached or gave no answer) in Danish, for the
/// pages. The details are worded by `connect`, `query` and `io_problem`; anything else is named
/// as a network error, never shown in English.
pub fn detail_da(detail: &str) -> String {
    let d = detail
        .trim_start_matches("cannot connect: ")
        .trim_start_matches("no status answer: ");
    let lower = d.to_ascii_lowercase();
    let ms = |prefix: &str| {
        d.strip_prefix(prefix)
            .and_then(|r| r.strip_suffix(" ms"))
            .and_then(|n| n.parse::<u64>().ok())
    };
    if d.is_empty() {
        String::new()
    } else if let Some(n) = ms("timed out after ") {
        format!("intet svar inden for {n} ms: er printeren tændt og på netværket?")
    } else if let Some(n) = ms("nothing within ") {
        format!("intet statussvar inden for {n} ms")
    } else if lower.contains("connection refused") {
        "forbindelsen blev afvist: er printeren tændt, og er porten rigtig?".into()
    } else if lower.contains("connection reset") || lower.contains("broken pipe") {
        "printeren afbrød forbindelsen".into()
    } else if lower.contains("no route") || lower.contains("unreachable") {
        "ingen netværksforbindelse til printeren: tjek kabel og netværk".into()
    } else if lower.contains("unknown host name") || lower.contains("lookup address") {
        "ukendt værtsnavn: tjek printerens adresse".into()
    } else if lower.contains("timed out") {
        "tiden løb ud: er printeren tændt og på netværket?".into()
    } else if lower.contains("closed before a full answer") {
        "printeren lukkede forbindelsen før et helt svar".into()
    } else {
        "netværksfejl".into()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn status_round_trips_and_names_the_fault() {
        let mut s = HostStatus::default();
        assert_eq!(parse(&format(&s)), Some(s.clone()));
        assert_eq!(s.state(), PrinterState::Ready);
        s.paper_out = true;
        s.paused = true;
        s.formats_in_buffer = 2;
        let back = parse(&format(&s)).unwrap();
        assert_eq!(back, s);
        assert_eq!(back.state(), PrinterState::PaperOut);
        assert!(!back.idle());
        s.paper_out = false;
        s.head_up = true;
        assert_eq!(parse(&format(&s)).unwrap().state(), PrinterState::HeadOpen);
    }

    #[test]
    fn connection_problems_read_in_danish() {
        assert_eq!(
            detail_da("cannot connect: connection refused"),
            "forbindelsen blev afvist: er printeren tændt, og er porten rigtig?"
        );
        // Stored before the details were worded here: the system's own text.
        assert_eq!(
            detail_da("Connection refused (os error 111)"),
            detail_da("connection refused")
        );
        assert_eq!(
            detail_da("timed out after 1500 ms"),
            "intet svar inden for 1500 ms: er printeren tændt og på netværket?"
        );
        assert_eq!(
            detail_da("nothing within 800 ms"),
            "intet statussvar inden for 800 ms"
        );
        assert_eq!(detail_da("something nobody foresaw"), "netværksfejl");
        assert_eq!(detail_da(""), "");
        let refused = std::io::Error::from(std::io::ErrorKind::ConnectionRefused);
        assert_eq!(io_problem(&refused), "connection refused");
    }

    #[test]
    fn partial_or_garbled_answers_are_no_status() {
        let full = format(&HostStatus::default());
        assert_eq!(parse(&full[..full.len() / 2]), None);
        assert_eq!(parse(b"\x02hello\x03\r\n\x02x\x03\r\n\x02y\x03\r\n"), None);
        assert_eq!(parse(b""), None);
        // A real printer's answer (ZPL II guide example layout).
        let real = b"\x02030,0,0,0812,000,0,0,0,000,0,0,0\x03\r\n\x02000,0,0,0,0,2,4,0,00000000,1,000\x03\r\n\x021234,0\x03\r\n";
        assert_eq!(parse(real).unwrap().state(), PrinterState::Ready);
    }
}
