//! Packing: what must go into an order's parcel, the verdict on each scan, what is still
//! missing before the parcel may close, and its weight. Pure: the service reads the tote, the
//! cut jobs and the blocks, and performs the verdict.
//!
//! The tote holds the order's packs (the ledger says so). Plain packs are proven one scan per
//! pack (GTIN, lot and expiry from the GS1 barcode); the plates of a cut-to-fit line are proven
//! by the cut box's sticker, one scan per finished cutting job.

use chrono::NaiveDate;
use serde::{Deserialize, Serialize};

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

/// A refusal is the picking station's: a stable code and the message in English and Danish.
pub use super::picking::{refuse, Refusal};

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
#[schema(as = PackMissing)]
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
