//! The serial line protocol between `konsign-bridge` and the cutting machine (PROTOCOL.md):
//! `VERB SEQ ARG... *CS` lines with an XOR checksum.

/// The longest frame, line end included.
pub const MAX_LINE: usize = 128;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verb {
    Load,
    Start,
    Cancel,
    Status,
    Clear,
    Ack,
    Nak,
    Prog,
    Done,
    Fault,
    Stat,
}

impl Verb {
    pub fn as_str(self) -> &'static str {
        match self {
            Verb::Load => "LOAD",
            Verb::Start => "START",
            Verb::Cancel => "CANCEL",
            Verb::Status => "STATUS",
            Verb::Clear => "CLEAR",
            Verb::Ack => "ACK",
            Verb::Nak => "NAK",
            Verb::Prog => "PROG",
            Verb::Done => "DONE",
            Verb::Fault => "FAULT",
            Verb::Stat => "STAT",
        }
    }
    fn parse(s: &str) -> Option<Self> {
        Some(match s {
            "LOAD" => Verb::Load,
            "START" => Verb::Start,
            "CANCEL" => Verb::Cancel,
            "STATUS" => Verb::Status,
            "CLEAR" => Verb::Clear,
            "ACK" => Verb::Ack,
            "NAK" => Verb::Nak,
            "PROG" => Verb::Prog,
            "DONE" => Verb::Done,
            "FAULT" => Verb::Fault,
            "STAT" => Verb::Stat,
            _ => return None,
        })
    }
    /// How many arguments it takes (FAULT's last one is free text and may hold spaces).
    fn arity(self) -> usize {
        match self {
            Verb::Load => 5,
            Verb::Start | Verb::Cancel => 1,
            Verb::Status | Verb::Clear => 0,
            Verb::Ack => 1,
            Verb::Nak => 2,
            Verb::Prog => 3,
            Verb::Done => 2,
            Verb::Fault => 3,
            Verb::Stat => 4,
        }
    }
}

/// One frame.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Frame {
    pub verb: Verb,
    pub seq: u32,
    pub args: Vec<String>,
}

/// Why a line is not a frame (the receiver ignores it and counts it).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum LineError {
    #[error("longer than {MAX_LINE} bytes")]
    TooLong,
    #[error("no checksum")]
    NoChecksum,
    #[error("checksum {got} where {want} was expected")]
    Checksum { got: String, want: String },
    #[error("unknown verb {0:?}")]
    Verb(String),
    #[error("bad sequence number {0:?}")]
    Seq(String),
    #[error("{verb} takes {want} arguments, not {got}")]
    Arity {
        verb: &'static str,
        want: usize,
        got: usize,
    },
    #[error("not printable ASCII")]
    NotAscii,
}

fn checksum(body: &str) -> u8 {
    body.bytes().fold(0, |a, b| a ^ b)
}

impl Frame {
    pub fn new(verb: Verb, seq: u32, args: &[&str]) -> Self {
        Self {
            verb,
            seq,
            args: args.iter().map(|a| a.to_string()).collect(),
        }
    }

    /// The line, checksum and CR LF included. Arguments must not hold spaces (except FAULT's
    /// text) or `*`; `*` is replaced by `x` so a frame is never ambiguous.
    pub fn encode(&self) -> String {
        let mut body = format!("{} {}", self.verb.as_str(), self.seq);
        for a in &self.args {
            body.push(' ');
            body.push_str(&a.replace('*', "x").replace(['\r', '\n'], " "));
        }
        // Cut at a character boundary: a text argument may hold any character.
        let mut cut = body.len().min(MAX_LINE - 5);
        while !body.is_char_boundary(cut) {
            cut -= 1;
        }
        body.truncate(cut);
        format!("{body}*{:02X}\r\n", checksum(&body))
    }

    /// Reads one line (with or without its line end).
    pub fn decode(line: &str) -> Result<Self, LineError> {
        let line = line.trim_end_matches(['\r', '\n']);
        if line.len() + 2 > MAX_LINE {
            return Err(LineError::TooLong);
        }
        if !line.bytes().all(|b| (0x20..0x7f).contains(&b)) {
            return Err(LineError::NotAscii);
        }
        let (body, cs) = line.rsplit_once('*').ok_or(LineError::NoChecksum)?;
        let want = format!("{:02X}", checksum(body));
        if !cs.eq_ignore_ascii_case(&want) {
            return Err(LineError::Checksum {
                got: cs.to_string(),
                want,
            });
        }
        let mut parts = body.split(' ');
        let verb_s = parts.next().unwrap_or("");
        let verb = Verb::parse(verb_s).ok_or_else(|| LineError::Verb(verb_s.to_string()))?;
        let seq_s = parts.next().unwrap_or("");
        let seq = seq_s
            .parse::<u32>()
            .ok()
            .filter(|s| (1..=99_999).contains(s))
            .ok_or_else(|| LineError::Seq(seq_s.to_string()))?;
        let rest: Vec<&str> = parts.collect();
        let want = verb.arity();
        let args: Vec<String> = if verb == Verb::Fault && rest.len() >= want {
            let mut a: Vec<String> = rest[..want - 1].iter().map(|s| s.to_string()).collect();
            a.push(rest[want - 1..].join(" "));
            a
        } else {
            rest.iter().map(|s| s.to_string()).collect()
        };
        if args.len() != want {
            return Err(LineError::Arity {
                verb: verb.as_str(),
                want,
                got: args.len(),
            });
        }
        Ok(Self { verb, seq, args })
    }
}

/// The next sequence number after `seq` (1 to 99999, wrapping).
pub fn next_seq(seq: u32) -> u32 {
    if seq >= 99_999 {
        1
    } else {
        seq + 1
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn a_long_text_of_any_characters_is_cut_without_a_panic() {
        let text = "æøå ".repeat(100);
        let f = Frame::new(Verb::Fault, 7, &["E1", &text]);
        let line = f.encode();
        assert!(line.len() <= MAX_LINE, "{}", line.len());
        assert!(line.ends_with("\r\n"));
    }

    use super::*;

    #[test]
    fn frames_round_trip_with_their_checksum() {
        let f = Frame::new(Verb::Load, 1, &["cj-7-1-1", "R", "320", "0", "2"]);
        let line = f.encode();
        assert!(line.starts_with("LOAD 1 cj-7-1-1 R 320 0 2*"), "{line}");
        assert!(line.ends_with("\r\n"));
        assert_eq!(Frame::decode(&line).unwrap(), f);
        let fault = Frame::new(
            Verb::Fault,
            9,
            &["cj-7-1-1", "PLATE", "plate cracked at the edge"],
        );
        assert_eq!(Frame::decode(&fault.encode()).unwrap(), fault);
    }

    #[test]
    fn the_example_in_the_protocol_document_is_valid() {
        let doc = include_str!("../PROTOCOL.md");
        let example = doc.split("## Example").nth(1).unwrap();
        let lines: Vec<&str> = example
            .lines()
            .filter(|l| l.contains('*') && !l.starts_with('`'))
            .collect();
        assert_eq!(lines.len(), 8);
        for l in lines {
            Frame::decode(l).unwrap_or_else(|e| panic!("{l}: {e}"));
        }
    }

    #[test]
    fn noise_and_damage_are_refused_with_the_reason() {
        let good = Frame::new(Verb::Start, 2, &["cj-7-1-1"]).encode();
        let mut bad = good.clone().into_bytes();
        bad[7] ^= 0x01;
        assert!(matches!(
            Frame::decode(&String::from_utf8(bad).unwrap()),
            Err(LineError::Checksum { .. })
        ));
        assert_eq!(Frame::decode("START 2 cj"), Err(LineError::NoChecksum));
        assert!(matches!(
            Frame::decode("JUMP 2*4B"),
            Err(LineError::Checksum { .. }) | Err(LineError::Verb(_))
        ));
        let body = "JUMP 2";
        let line = format!("{body}*{:02X}", super::checksum(body));
        assert_eq!(Frame::decode(&line), Err(LineError::Verb("JUMP".into())));
        let body = "START 0 cj";
        let line = format!("{body}*{:02X}", super::checksum(body));
        assert_eq!(Frame::decode(&line), Err(LineError::Seq("0".into())));
        let body = "START 3";
        let line = format!("{body}*{:02X}", super::checksum(body));
        assert!(matches!(Frame::decode(&line), Err(LineError::Arity { .. })));
        assert_eq!(Frame::decode(&"A".repeat(200)), Err(LineError::TooLong));
        assert_eq!(Frame::decode("LOAD 1 \u{1}*00"), Err(LineError::NotAscii));
        assert_eq!(next_seq(99_999), 1);
    }
}
