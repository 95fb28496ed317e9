//! How a pack-station scan is read: a product's GS1 barcode, a cut box's sticker (the job in AI
//! 91), or a code (a tote label, an order reference). Pure.

use super::gs1::{self, Kind};
use super::Unreadable;
use chrono::NaiveDate;

/// What a scan at the pack station turned out to be.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PackScanned {
    Item {
        gtin: String,
        lot: Option<String>,
        expiry: Option<NaiveDate>,
    },
    /// A cut box's sticker: the cutting job it holds.
    CutBox(String),
    /// Anything else readable: a tote label or an order reference.
    Code(String),
}

/// The AI konsign's cut sticker carries the job id in (company internal information).
pub const CUT_JOB_AI: &str = "91";

fn is_job_id(t: &str) -> bool {
    t.len() <= 64
        && t.get(..3).is_some_and(|p| p.eq_ignore_ascii_case("cj-"))
        && t.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
}

fn from_gs1(scan: &gs1::Scan) -> Result<PackScanned, Unreadable> {
    if let Some(job) = scan.value(CUT_JOB_AI) {
        if is_job_id(job) {
            return Ok(PackScanned::CutBox(job.to_ascii_lowercase()));
        }
    }
    match &scan.gtin {
        Some(g) => Ok(PackScanned::Item {
            gtin: g.to_string(),
            lot: scan.lot.clone(),
            expiry: scan.expiry,
        }),
        None => Err(Unreadable::new(
            "the barcode carries no GTIN",
            "Stregkoden har intet GTIN: scan varens stregkode",
        )),
    }
}

/// Reads a scan typed by a keyboard-wedge handheld (see `picking::read_wedge` for the rules on
/// GS1 without separators). A cut sticker's DataMatrix puts the job id (AI 91, always starting
/// `cj-`) last, so where a wedge lost the separator it is put back before `91cj-`.
pub fn read_wedge(
    text: &str,
    known_lots: &[String],
    today: NaiveDate,
) -> Result<PackScanned, Unreadable> {
    let t = text.trim_matches(|c: char| c == '\r' || c == '\n' || c == ' ');
    if t.is_empty() {
        return Err(Unreadable::new("empty scan", "Tom scanning"));
    }
    if is_job_id(t) {
        return Ok(PackScanned::CutBox(t.to_ascii_lowercase()));
    }
    if t.starts_with('(') {
        return gs1::parse_hri(t, today)
            .map_err(|e| Unreadable::barcode(&e))
            .and_then(|s| from_gs1(&s));
    }
    let lower = t.to_ascii_lowercase();
    if t.starts_with("01") && t.len() > 16 {
        if let Some(at) = lower.find("91cj-").filter(|&at| at > 16) {
            let fixed = if t.as_bytes()[at - 1] == 0x1d {
                format!("]C1{t}")
            } else {
                format!("]C1{}\u{1d}{}", &t[..at], &t[at..])
            };
            if let Ok(scan) = gs1::parse(fixed.as_bytes(), today) {
                return from_gs1(&scan);
            }
        }
    }
    if t.starts_with(']') {
        return read_serial(t.as_bytes(), today);
    }
    match super::picking::read_wedge(t, "", known_lots, today) {
        Ok(super::picking::Scanned::Product { gtin, lot, expiry }) => {
            Ok(PackScanned::Item { gtin, lot, expiry })
        }
        Ok(super::picking::Scanned::Location(code)) => Ok(PackScanned::Code(code)),
        Err(_) if t.len() <= 64 && t.chars().all(|c| c.is_ascii_graphic()) => {
            Ok(PackScanned::Code(t.to_string()))
        }
        // What it refuses here is no printable code at all.
        Err(e) => Err(Unreadable::new(
            e.message,
            "Ulæselig stregkode: hverken en vare, en hulklip-æske, en kasse eller en ordre",
        )),
    }
}

/// Reads a scan from a serial scanner (with its AIM id).
pub fn read_serial(bytes: &[u8], today: NaiveDate) -> Result<PackScanned, Unreadable> {
    let scan = gs1::parse(bytes, today).map_err(|e| Unreadable::barcode(&e))?;
    if scan.kind == Kind::Unknown {
        let text = std::str::from_utf8(bytes).unwrap_or("");
        let body = if text.starts_with(']') {
            text.get(3..).unwrap_or("")
        } else {
            text
        };
        let body = body.trim_matches(|c: char| c == '\r' || c == '\n');
        if is_job_id(body) {
            return Ok(PackScanned::CutBox(body.to_ascii_lowercase()));
        }
        if body.is_empty() || body.len() > 64 || !body.chars().all(|c| c.is_ascii_graphic()) {
            return Err(Unreadable::new(
                "not a product, cut box, tote or order barcode",
                "Hverken en vare, en hulklip-æske, en kasse eller en ordre",
            ));
        }
        return Ok(PackScanned::Code(body.to_string()));
    }
    from_gs1(&scan)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(s: &str) -> NaiveDate {
        NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap()
    }

    #[test]
    fn a_cut_sticker_is_read_with_or_without_its_separator() {
        let today = d("2026-12-03");
        let with_gs = "]d2010570893200001717271231\u{1d}10CO88721\u{1d}91cj-12-1-1";
        assert_eq!(
            read_serial(with_gs.as_bytes(), today),
            Ok(PackScanned::CutBox("cj-12-1-1".into()))
        );
        assert_eq!(
            read_wedge("010570893200001717271231", &[], today)
                .map(|s| matches!(s, PackScanned::Item { .. })),
            Ok(true)
        );
        assert_eq!(
            read_wedge("01057089320000171727123110CO8872191cj-12-1-1", &[], today),
            Ok(PackScanned::CutBox("cj-12-1-1".into()))
        );
        assert_eq!(
            read_wedge(
                "(01)05708932000017(17)271231(10)CO88721(91)cj-3-2-1",
                &[],
                today
            ),
            Ok(PackScanned::CutBox("cj-3-2-1".into()))
        );
        assert_eq!(
            read_wedge("CJ-7-1-1", &[], today),
            Ok(PackScanned::CutBox("cj-7-1-1".into()))
        );
        assert_eq!(
            read_wedge("TOTE-003", &[], today),
            Ok(PackScanned::Code("TOTE-003".into()))
        );
        assert_eq!(
            read_serial(b"]C0TOTE-003\r", today),
            Ok(PackScanned::Code("TOTE-003".into()))
        );
    }
}
