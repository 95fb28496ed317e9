//! The scanner frame codec: splits the byte stream of a serial barcode scanner into scans.
//! Pure: no I/O and no clocks. The link calls [`ScanCodec::drop_partial`] when the line has been
//! quiet for the inter-byte timeout, so a half-sent frame never merges with the next one.

use bytes::{Buf, BytesMut};
use serde::{Deserialize, Serialize};
use tokio_util::codec::Decoder;

/// What ends a scan on the wire.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default, utoipa::ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum Terminator {
    Cr,
    Lf,
    CrLf,
    /// CR, LF or CRLF, whichever comes (an LF right after a CR-ended frame is swallowed).
    #[default]
    Any,
}

/// One result of decoding.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Decoded {
    /// A complete scan without its terminator (NUL bytes removed).
    Scan(Vec<u8>),
    /// Bytes thrown away, and why; counted as errors, never parsed.
    Dropped { reason: DropReason, bytes: usize },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum DropReason {
    /// Longer than the maximum frame length without a terminator.
    Overlong,
    /// The line went quiet in the middle of a frame.
    Timeout,
}

#[derive(Debug, Clone)]
pub struct ScanCodec {
    terminator: Terminator,
    max_len: usize,
    /// Skipping an over-long frame until its terminator; holds how many bytes were skipped.
    skipping: Option<usize>,
    /// The last frame ended with CR: a following LF belongs to it (for `Any` and `CrLf`).
    after_cr: bool,
}

impl ScanCodec {
    pub fn new(terminator: Terminator, max_len: usize) -> Self {
        Self {
            terminator,
            max_len: max_len.max(1),
            skipping: None,
            after_cr: false,
        }
    }

    /// Throws away a partial frame (inter-byte timeout). `None` when nothing was pending.
    pub fn drop_partial(&mut self, buf: &mut BytesMut) -> Option<Decoded> {
        let pending = buf.iter().filter(|b| **b != 0).count();
        buf.clear();
        self.after_cr = false;
        if let Some(skipped) = self.skipping.take() {
            return Some(Decoded::Dropped {
                reason: DropReason::Overlong,
                bytes: skipped + pending,
            });
        }
        (pending > 0).then_some(Decoded::Dropped {
            reason: DropReason::Timeout,
            bytes: pending,
        })
    }

    /// Position and length of the first terminator in `buf`.
    fn find_end(&self, buf: &[u8]) -> Option<(usize, usize)> {
        match self.terminator {
            Terminator::Cr => buf.iter().position(|b| *b == b'\r').map(|i| (i, 1)),
            Terminator::Lf => buf.iter().position(|b| *b == b'\n').map(|i| (i, 1)),
            Terminator::CrLf => buf.windows(2).position(|w| w == b"\r\n").map(|i| (i, 2)),
            Terminator::Any => buf
                .iter()
                .position(|b| *b == b'\r' || *b == b'\n')
                .map(|i| {
                    if buf[i] == b'\r' && buf.get(i + 1) == Some(&b'\n') {
                        (i, 2)
                    } else {
                        (i, 1)
                    }
                }),
        }
    }
}

impl Decoder for ScanCodec {
    type Item = Decoded;
    type Error = std::io::Error;

    fn decode(&mut self, buf: &mut BytesMut) -> Result<Option<Decoded>, std::io::Error> {
        loop {
            // An LF that completes a CR-terminated frame split across reads.
            if self.after_cr && !buf.is_empty() {
                self.after_cr = false;
                if buf[0] == b'\n' && matches!(self.terminator, Terminator::Any | Terminator::CrLf)
                {
                    buf.advance(1);
                }
            }
            let Some((end, term_len)) = self.find_end(buf) else {
                // For CRLF, a trailing CR may be the first half of the terminator: keep it.
                let content = buf.len();
                if content > self.max_len {
                    let skipped = self.skipping.unwrap_or(0) + content;
                    self.skipping = Some(skipped);
                    let keep_cr = self.terminator == Terminator::CrLf && buf.last() == Some(&b'\r');
                    buf.clear();
                    if keep_cr {
                        buf.extend_from_slice(b"\r");
                    }
                }
                return Ok(None);
            };
            let frame = buf.split_to(end);
            // A lone CR at the end of the buffer may be followed by LF in the next read.
            if term_len == 1 && buf[0] == b'\r' && buf.len() == 1 {
                self.after_cr = true;
            }
            buf.advance(term_len);
            if let Some(skipped) = self.skipping.take() {
                return Ok(Some(Decoded::Dropped {
                    reason: DropReason::Overlong,
                    bytes: skipped + frame.len(),
                }));
            }
            let scan: Vec<u8> = frame.iter().copied().filter(|b| *b != 0).collect();
            if scan.len() > self.max_len {
                return Ok(Some(Decoded::Dropped {
                    reason: DropReason::Overlong,
                    bytes: scan.len(),
                }));
            }
            if scan.is_empty() {
                continue; // a bare terminator or only NULs: nothing was scanned
            }
            return Ok(Some(Decoded::Scan(scan)));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn decode_all(codec: &mut ScanCodec, chunks: &[&[u8]]) -> Vec<Decoded> {
        let mut buf = BytesMut::new();
        let mut out = Vec::new();
        for c in chunks {
            buf.extend_from_slice(c);
            while let Some(d) = codec.decode(&mut buf).unwrap() {
                out.push(d);
            }
        }
        out
    }

    fn scans(v: &[&str]) -> Vec<Decoded> {
        v.iter()
            .map(|s| Decoded::Scan(s.as_bytes().to_vec()))
            .collect()
    }

    #[test]
    fn frames_split_across_reads_are_joined() {
        let mut c = ScanCodec::new(Terminator::Any, 100);
        assert_eq!(
            decode_all(&mut c, &[b"]d2010", b"57089", b"32000017\r", b"\n"]),
            scans(&["]d20105708932000017"])
        );
    }

    #[test]
    fn several_frames_in_one_read_come_out_in_order() {
        let mut c = ScanCodec::new(Terminator::Any, 100);
        assert_eq!(
            decode_all(&mut c, &[b"A\r\nB\nC\rD\r\n"]),
            scans(&["A", "B", "C", "D"])
        );
    }

    #[test]
    fn crlf_split_between_reads_makes_no_empty_frame() {
        let mut c = ScanCodec::new(Terminator::Any, 100);
        assert_eq!(
            decode_all(&mut c, &[b"A\r", b"\nB\r\n"]),
            scans(&["A", "B"])
        );
        let mut c = ScanCodec::new(Terminator::CrLf, 100);
        assert_eq!(
            decode_all(&mut c, &[b"A\r", b"\nB\r\n"]),
            scans(&["A", "B"])
        );
    }

    #[test]
    fn group_separators_stay_and_nul_bytes_go() {
        let mut c = ScanCodec::new(Terminator::Cr, 100);
        assert_eq!(
            decode_all(&mut c, &[b"\0]C1\x1d10AB\0\r"]),
            scans(&["]C1\x1d10AB"])
        );
    }

    #[test]
    fn bare_terminators_and_noise_only_frames_are_ignored() {
        let mut c = ScanCodec::new(Terminator::Any, 100);
        assert_eq!(decode_all(&mut c, &[b"\r\n\r\n\0\0\r\nX\n"]), scans(&["X"]));
    }

    #[test]
    fn an_overlong_frame_is_dropped_whole_and_the_next_one_survives() {
        let mut c = ScanCodec::new(Terminator::Lf, 5);
        let out = decode_all(&mut c, &[b"0123", b"45678", b"9\nOK\n"]);
        assert_eq!(
            out,
            vec![
                Decoded::Dropped {
                    reason: DropReason::Overlong,
                    bytes: 10
                },
                Decoded::Scan(b"OK".to_vec())
            ]
        );
    }

    #[test]
    fn a_quiet_line_drops_the_partial_frame() {
        let mut c = ScanCodec::new(Terminator::Cr, 100);
        let mut buf = BytesMut::from(&b"]C1010570"[..]);
        assert_eq!(c.decode(&mut buf).unwrap(), None);
        assert_eq!(
            c.drop_partial(&mut buf),
            Some(Decoded::Dropped {
                reason: DropReason::Timeout,
                bytes: 9
            })
        );
        assert_eq!(c.drop_partial(&mut buf), None);
        buf.extend_from_slice(b"NEXT\r");
        assert_eq!(
            c.decode(&mut buf).unwrap(),
            Some(Decoded::Scan(b"NEXT".to_vec()))
        );
    }

    #[test]
    fn cr_terminator_splits_on_cr() {
        let mut c = ScanCodec::new(Terminator::Cr, 100);
        assert_eq!(decode_all(&mut c, &[b"A\rB\r"]), scans(&["A", "B"]));
    }
}
