//! Packing: how a pack-station scan is read, what must go into an order's parcel, the verdict on
//! each scan, what is still missing before the parcel may close, and its weight. Pure: the
//! service reads the tote, the cut jobs and the blocks, and performs the verdict.
//!
//! The tote holds the order's packs (the ledger says so). Plain packs are proven one scan per
//! pack (GTIN, lot and expiry from the GS1 barcode); the plates of a cut-to-fit line are proven
//! by the cut box's sticker, one scan per finished cutting job.

use super::gs1::{self, Kind};
use chrono::NaiveDate;
use serde::{Deserialize, Serialize};

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

fn from_gs1(scan: &gs1::Scan) -> Result<PackScanned, String> {
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
        None => Err("the barcode carries no GTIN".into()),
    }
}

/// Reads a scan typed by a keyboard-wedge handheld (see `picking::read_wedge` for the rules on
/// GS1 without separators). A cut sticker's DataMatrix puts the job id (AI 91, always starting
/// `cj-`) last, so where a wedge lost the separator it is put back before `91cj-`.
pub fn read_wedge(
    text: &str,
    known_lots: &[String],
    today: NaiveDate,
) -> Result<PackScanned, String> {
    let t = text.trim_matches(|c: char| c == '\r' || c == '\n' || c == ' ');
    if t.is_empty() {
        return Err("empty scan".into());
    }
    if is_job_id(t) {
        return Ok(PackScanned::CutBox(t.to_ascii_lowercase()));
    }
    if t.starts_with('(') {
        return gs1::parse_hri(t, today)
            .map_err(|e| format!("unreadable barcode: {e}"))
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
        Err(e) => Err(e),
    }
}

/// Reads a scan from a serial scanner (with its AIM id).
pub fn read_serial(bytes: &[u8], today: NaiveDate) -> Result<PackScanned, String> {
    let scan = gs1::parse(bytes, today).map_err(|e| format!("unreadable barcode: {e}"))?;
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
            return Err("not a product, cut box, tote or order barcode".into());
        }
        return Ok(PackScanned::Code(body.to_string()));
    }
    from_gs1(&scan)
}

/// One lot of one product in the order's tote, with what is already proven.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct ToteLot {
    pub gtin: String,
    pub product_name: String,
    pub lot: String,
    pub expiry: String,
    /// Packs of this lot in the tote.
    pub in_tote: i64,
    /// Of those, plates in finished cutting jobs: proven by the cut box, not one by one.
    pub in_cut_boxes: i64,
    /// Plain packs scanned into the open parcel.
    pub verified: i64,
    /// Why the lot may not leave (a block, a recall, quarantined stock), if it may not.
    pub blocked: Option<String>,
}

impl ToteLot {
    /// Plain packs still to scan.
    pub fn to_scan(&self) -> i64 {
        (self.in_tote - self.in_cut_boxes - self.verified).max(0)
    }
}

/// A cutting job of an order line, as the pack station sees it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct CutBox {
    pub job_id: String,
    pub order_id: i64,
    pub gtin: String,
    pub product_name: String,
    pub lot: String,
    pub expiry: String,
    pub quantity: i64,
    pub cut_spec: String,
    pub state: String,
    /// Scanned into the open parcel.
    pub verified: bool,
    /// Already in a closed parcel.
    pub packed: bool,
}

/// Why a scan is refused: a stable code and the message in English and Danish.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Refusal {
    pub code: &'static str,
    pub message: String,
    pub message_da: String,
}

pub fn refuse(code: &'static str, message: impl Into<String>, da: impl Into<String>) -> Refusal {
    Refusal {
        code,
        message: message.into(),
        message_da: da.into(),
    }
}

/// What an accepted scan puts in the parcel.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Accepted {
    Packs {
        gtin: String,
        lot: String,
        expiry: String,
        qty: i64,
    },
    CutBox {
        job_id: String,
        gtin: String,
        lot: String,
        expiry: String,
        qty: i64,
    },
}

fn expired(expiry: &str, today: NaiveDate) -> bool {
    NaiveDate::parse_from_str(expiry, "%Y-%m-%d").is_ok_and(|d| d < today)
}

/// The verdict on a product scan of `qty` packs against the tote.
pub fn judge_item(
    lots: &[ToteLot],
    gtin: &str,
    lot: Option<&str>,
    expiry: Option<NaiveDate>,
    qty: i64,
    today: NaiveDate,
) -> Result<Accepted, Refusal> {
    let of_product: Vec<&ToteLot> = lots.iter().filter(|l| l.gtin == gtin).collect();
    let Some(first) = of_product.first() else {
        return Err(refuse(
            "not_in_order",
            format!("{gtin} was not picked for this order"),
            format!("Varen {gtin} er ikke plukket til denne ordre"),
        ));
    };
    let name = &first.product_name;
    if of_product.iter().all(|l| l.in_tote == l.in_cut_boxes) {
        return Err(refuse(
            "scan_cut_box",
            format!("{name} is cut to fit: scan the cut box's sticker"),
            format!("{name} er tilklippet: scan hulklip-etiketten på æsken"),
        ));
    }
    let candidates: Vec<&ToteLot> = match lot {
        Some(lot) => of_product
            .iter()
            .copied()
            .filter(|l| l.lot == lot)
            .collect(),
        None => of_product
            .iter()
            .copied()
            .filter(|l| l.to_scan() > 0)
            .collect(),
    };
    let l = match (lot, candidates.as_slice()) {
        (Some(lot), []) => {
            let picked: Vec<&str> = of_product.iter().map(|l| l.lot.as_str()).collect();
            return Err(refuse(
                "wrong_lot",
                format!(
                    "lot {lot} of {name} was not picked for this order (picked: {})",
                    picked.join(", ")
                ),
                format!(
                    "Lot {lot} af {name} er ikke plukket til denne ordre (plukket: {})",
                    picked.join(", ")
                ),
            ));
        }
        (None, []) => {
            return Err(refuse(
                "extra_item",
                format!("every pack of {name} is in the parcel already"),
                format!("Alle pakninger af {name} er allerede i pakken"),
            ))
        }
        (None, [one]) => *one,
        (None, _) => {
            return Err(refuse(
                "lot_required",
                format!("the tote holds several lots of {name}: scan the barcode with the lot"),
                format!("Kassen har flere lots af {name}: scan stregkoden med lot"),
            ))
        }
        (Some(_), [one, ..]) => *one,
    };
    if let Some(e) = expiry {
        if e.to_string() != l.expiry {
            return Err(refuse(
                "expiry_mismatch",
                format!("lot {} expires {}, the scan says {e}", l.lot, l.expiry),
                format!(
                    "Lot {} udløber {}, men stregkoden siger {e}",
                    l.lot, l.expiry
                ),
            ));
        }
    }
    if let Some(why) = &l.blocked {
        return Err(refuse(
            "lot_blocked",
            format!(
                "lot {} of {name} is blocked: {why}; take it out of the tote",
                l.lot
            ),
            format!(
                "Lot {} af {name} er spærret: {why}. Tag den ud af kassen",
                l.lot
            ),
        ));
    }
    if expired(&l.expiry, today) {
        return Err(refuse(
            "lot_expired",
            format!(
                "lot {} of {name} expired on {}; take it out of the tote",
                l.lot, l.expiry
            ),
            format!(
                "Lot {} af {name} udløb {}. Tag den ud af kassen",
                l.lot, l.expiry
            ),
        ));
    }
    let left = l.to_scan();
    if qty > left {
        return Err(if left == 0 {
            refuse(
                "extra_item",
                format!(
                    "every pack of {name} lot {} is in the parcel already",
                    l.lot
                ),
                format!(
                    "Alle pakninger af {name} lot {} er allerede i pakken",
                    l.lot
                ),
            )
        } else {
            refuse(
                "extra_item",
                format!(
                    "only {left} more of {name} lot {} belong in the parcel",
                    l.lot
                ),
                format!("Der mangler kun {left} af {name} lot {}", l.lot),
            )
        });
    }
    Ok(Accepted::Packs {
        gtin: l.gtin.clone(),
        lot: l.lot.clone(),
        expiry: l.expiry.clone(),
        qty,
    })
}

/// The verdict on a cut box's sticker. `job` is `None` when no job has that id.
pub fn judge_cut_box(
    order_id: i64,
    job_id: &str,
    job: Option<&CutBox>,
    lots: &[ToteLot],
    today: NaiveDate,
) -> Result<Accepted, Refusal> {
    let Some(j) = job else {
        return Err(refuse(
            "unknown_cut_box",
            format!("no cutting job {job_id}"),
            format!("Ukendt hulklip-æske {job_id}"),
        ));
    };
    if j.order_id != order_id {
        return Err(refuse(
            "wrong_order",
            format!("cut box {job_id} belongs to another order"),
            format!("Hulklip-æsken {job_id} hører til en anden ordre"),
        ));
    }
    if j.state != "finished" {
        return Err(refuse(
            "cut_not_finished",
            format!("cutting job {job_id} is {}, not finished", j.state),
            format!("Hulklip {job_id} er ikke færdigt ({})", j.state),
        ));
    }
    if j.verified || j.packed {
        return Err(refuse(
            "already_packed",
            format!("cut box {job_id} is in the parcel already"),
            format!("Hulklip-æsken {job_id} er allerede pakket"),
        ));
    }
    if let Some(why) = lots
        .iter()
        .find(|l| l.gtin == j.gtin && l.lot == j.lot)
        .and_then(|l| l.blocked.as_ref())
    {
        return Err(refuse(
            "lot_blocked",
            format!("lot {} of {} is blocked: {why}", j.lot, j.product_name),
            format!("Lot {} af {} er spærret: {why}", j.lot, j.product_name),
        ));
    }
    if expired(&j.expiry, today) {
        return Err(refuse(
            "lot_expired",
            format!(
                "lot {} of {} expired on {}",
                j.lot, j.product_name, j.expiry
            ),
            format!("Lot {} af {} udløb {}", j.lot, j.product_name, j.expiry),
        ));
    }
    Ok(Accepted::CutBox {
        job_id: j.job_id.clone(),
        gtin: j.gtin.clone(),
        lot: j.lot.clone(),
        expiry: j.expiry.clone(),
        qty: j.quantity,
    })
}

/// Something that must still go into the order's parcels.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct Missing {
    pub what: String,
    pub what_da: String,
}

/// What the order still lacks before its last parcel may close: packs and cut boxes not yet
/// scanned, and lines waiting for a replacement pick (`lines_short`: product name and packs).
pub fn missing(lots: &[ToteLot], boxes: &[CutBox], lines_short: &[(String, i64)]) -> Vec<Missing> {
    let mut out = Vec::new();
    for l in lots {
        let n = l.to_scan();
        if n > 0 {
            out.push(Missing {
                what: format!("{n} x {} lot {}", l.product_name, l.lot),
                what_da: format!("{n} stk {} lot {}", l.product_name, l.lot),
            });
        }
    }
    for b in boxes.iter().filter(|b| !b.verified && !b.packed) {
        out.push(Missing {
            what: format!("cut box {} ({} x {})", b.job_id, b.quantity, b.product_name),
            what_da: format!(
                "hulklip-æske {} ({} stk {})",
                b.job_id, b.quantity, b.product_name
            ),
        });
    }
    for (name, n) in lines_short {
        out.push(Missing {
            what: format!("{n} x {name} still to be picked"),
            what_da: format!("{n} stk {name} mangler at blive plukket"),
        });
    }
    out
}

/// A kind of parcel box the pack stations use.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ParcelType {
    pub name: String,
    /// Inner dimensions in millimetres.
    pub length_mm: u32,
    pub width_mm: u32,
    pub height_mm: u32,
    /// The empty box, in grams.
    pub tare_g: u32,
    /// The most the carrier takes in this box, in grams.
    pub max_weight_g: u32,
}

impl ParcelType {
    pub fn check(&self) -> Result<(), String> {
        let n = self.name.trim();
        if n.is_empty() || n.len() > 32 || n.chars().any(char::is_control) {
            return Err("name must be 1 to 32 characters".into());
        }
        for (f, v) in [
            ("length_mm", self.length_mm),
            ("width_mm", self.width_mm),
            ("height_mm", self.height_mm),
        ] {
            if !(10..=3000).contains(&v) {
                return Err(format!("{f} must be between 10 and 3000"));
            }
        }
        if self.max_weight_g == 0 || self.max_weight_g > 100_000 {
            return Err("max_weight_g must be between 1 and 100000".into());
        }
        if self.tare_g >= self.max_weight_g {
            return Err("tare_g must be less than max_weight_g".into());
        }
        Ok(())
    }
}

/// The parcel's weight in grams: the scale's reading when given, else the packs' weights from
/// the product master plus the box. `Err` names a product without a weight (weigh it then).
pub fn parcel_weight(
    packs: &[(String, Option<i64>, i64)],
    tare_g: u32,
    scale_g: Option<i64>,
) -> Result<(i64, &'static str), String> {
    if let Some(g) = scale_g {
        return Ok((g, "scale"));
    }
    let mut sum = i64::from(tare_g);
    for (name, w, qty) in packs {
        match w {
            Some(w) => sum += w * qty,
            None => return Err(name.clone()),
        }
    }
    Ok((sum, "computed"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(s: &str) -> NaiveDate {
        NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap()
    }

    fn lot(gtin: &str, lot: &str, in_tote: i64, cut: i64, verified: i64) -> ToteLot {
        ToteLot {
            gtin: gtin.into(),
            product_name: "Pose".into(),
            lot: lot.into(),
            expiry: "2027-06-30".into(),
            in_tote,
            in_cut_boxes: cut,
            verified,
            blocked: None,
        }
    }

    const G: &str = "05708932000024";

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

    #[test]
    fn a_pack_is_taken_once_per_pack_in_the_tote() {
        let today = d("2026-12-03");
        let lots = [lot(G, "L1", 2, 0, 1)];
        assert!(judge_item(&lots, G, Some("L1"), None, 1, today).is_ok());
        let e = judge_item(&lots, G, Some("L1"), None, 2, today).unwrap_err();
        assert_eq!(e.code, "extra_item");
        let full = [lot(G, "L1", 2, 0, 2)];
        assert_eq!(
            judge_item(&full, G, Some("L1"), None, 1, today)
                .unwrap_err()
                .code,
            "extra_item"
        );
        assert_eq!(
            judge_item(&lots, G, Some("L9"), None, 1, today)
                .unwrap_err()
                .code,
            "wrong_lot"
        );
        assert_eq!(
            judge_item(&lots, "05708932000017", None, None, 1, today)
                .unwrap_err()
                .code,
            "not_in_order"
        );
        assert_eq!(
            judge_item(&lots, G, Some("L1"), Some(d("2027-01-01")), 1, today)
                .unwrap_err()
                .code,
            "expiry_mismatch"
        );
    }

    #[test]
    fn blocked_expired_and_cut_lots_are_refused() {
        let today = d("2026-12-03");
        let mut b = lot(G, "L1", 2, 0, 0);
        b.blocked = Some("recall R-1".into());
        assert_eq!(
            judge_item(&[b], G, Some("L1"), None, 1, today)
                .unwrap_err()
                .code,
            "lot_blocked"
        );
        let old = lot(G, "L1", 2, 0, 0);
        assert_eq!(
            judge_item(&[old], G, Some("L1"), None, 1, d("2027-07-01"))
                .unwrap_err()
                .code,
            "lot_expired"
        );
        let cut = lot(G, "L1", 2, 2, 0);
        assert_eq!(
            judge_item(&[cut], G, Some("L1"), None, 1, today)
                .unwrap_err()
                .code,
            "scan_cut_box"
        );
        let two = [lot(G, "L1", 1, 0, 0), lot(G, "L2", 1, 0, 0)];
        assert_eq!(
            judge_item(&two, G, None, None, 1, today).unwrap_err().code,
            "lot_required"
        );
        assert!(judge_item(&two[..1], G, None, None, 1, today).is_ok());
    }

    #[test]
    fn a_cut_box_belongs_to_its_order_and_is_packed_once() {
        let today = d("2026-12-03");
        let mut j = CutBox {
            job_id: "cj-1-1-1".into(),
            order_id: 1,
            gtin: G.into(),
            product_name: "Plade".into(),
            lot: "L1".into(),
            expiry: "2027-06-30".into(),
            quantity: 2,
            cut_spec: "Ø 30 mm".into(),
            state: "finished".into(),
            verified: false,
            packed: false,
        };
        assert!(judge_cut_box(1, "cj-1-1-1", Some(&j), &[], today).is_ok());
        assert_eq!(
            judge_cut_box(2, "cj-1-1-1", Some(&j), &[], today)
                .unwrap_err()
                .code,
            "wrong_order"
        );
        assert_eq!(
            judge_cut_box(1, "cj-9", None, &[], today).unwrap_err().code,
            "unknown_cut_box"
        );
        j.verified = true;
        assert_eq!(
            judge_cut_box(1, "cj-1-1-1", Some(&j), &[], today)
                .unwrap_err()
                .code,
            "already_packed"
        );
        j.verified = false;
        j.state = "running".into();
        assert_eq!(
            judge_cut_box(1, "cj-1-1-1", Some(&j), &[], today)
                .unwrap_err()
                .code,
            "cut_not_finished"
        );
    }

    #[test]
    fn weight_is_computed_or_read_from_the_scale() {
        let packs = [("Pose".to_string(), Some(120), 3)];
        assert_eq!(parcel_weight(&packs, 200, None), Ok((560, "computed")));
        assert_eq!(parcel_weight(&packs, 200, Some(700)), Ok((700, "scale")));
        let unknown = [("Creme".to_string(), None, 1)];
        assert_eq!(parcel_weight(&unknown, 200, None), Err("Creme".into()));
    }

    #[test]
    fn missing_lists_packs_boxes_and_lines_waiting_for_a_pick() {
        let m = missing(&[lot(G, "L1", 3, 0, 1)], &[], &[("Pose".into(), 1)]);
        assert_eq!(m.len(), 2);
        assert!(m[0].what.starts_with("2 x Pose lot L1"));
    }
}
