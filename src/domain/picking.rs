//! Scan-verified picking: how a scan is read (serial scanner or keyboard wedge) and what it
//! means for the pick in hand. Pure: the service looks up the lots at the location and performs
//! the decision.
//!
//! A pick is confirmed in steps: the location label (when the site requires it), then the
//! product's GS1 barcode. The GTIN must match; the lot must lie at that location; a different
//! valid lot than the one reserved is taken instead (the reservation follows it); an expired or
//! short-dated lot is refused with the reason.

use super::allocation::{lot_refusal, Ineligible};
use super::gs1::{self, Kind};
use super::Unreadable;
use chrono::NaiveDate;

/// What a scan turned out to be.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Scanned {
    /// A location label (its code, upper-cased).
    Location(String),
    Product {
        gtin: String,
        lot: Option<String>,
        expiry: Option<NaiveDate>,
    },
}

/// Reads a scan typed into a page by a handheld in keyboard-wedge mode. Such input has no AIM
/// symbology id and often loses the GS separator, so these rules apply, in order:
///
/// 1. text starting with `]` carries an AIM id and is read exactly as from a serial scanner;
/// 2. text equal to the pick's location code (any case) is the location label;
/// 3. the bracket form `(01)…`, a GS1 Digital Link URL, 8/12/13 digits (EAN/UPC) and HIBC (`+…`)
///    are read as such;
/// 4. digits starting with AI `01` and longer than 16 characters are read as a GS1 element
///    string (the wedge mode is the AIM id): GS (0x1D) is honoured where present. Without GS a
///    lot (10) in the middle would swallow what follows, so the lots known at the location are
///    tried as the lot, the longest first, and the one that leaves the rest valid GS1 wins;
/// 5. a 14-digit string is a GTIN-14;
/// 6. anything else that is a location code is a location label; otherwise it is refused.
pub fn read_wedge(
    text: &str,
    location: &str,
    known_lots: &[String],
    today: NaiveDate,
) -> Result<Scanned, Unreadable> {
    let t = text.trim_matches(|c: char| c == '\r' || c == '\n' || c == ' ');
    if t.is_empty() {
        return Err(Unreadable::new("empty scan", "Tom scanning: scan igen"));
    }
    if t.starts_with(']') {
        return read_serial(t.as_bytes(), today);
    }
    if t.eq_ignore_ascii_case(location) {
        return Ok(Scanned::Location(location.to_ascii_uppercase()));
    }
    let all_digits = t.bytes().all(|b| b.is_ascii_digit() || b == 0x1d);
    if all_digits_or_gs1(t) && t.starts_with("01") && t.len() > 16 {
        let with_aim = format!("]C1{t}");
        let plain = gs1::parse(with_aim.as_bytes(), today);
        if let Ok(scan) = &plain {
            let lot_ok = scan
                .lot
                .as_ref()
                .is_none_or(|l| known_lots.iter().any(|k| k == l));
            if lot_ok || t.contains('\u{1d}') {
                return product(scan);
            }
        }
        let mut lots: Vec<&String> = known_lots.iter().collect();
        lots.sort_by_key(|l| std::cmp::Reverse(l.len()));
        for lot in lots {
            let field = format!("10{lot}");
            let Some(at) = t.find(&field) else { continue };
            let end = at + field.len();
            if end == t.len() {
                continue; // already last: the plain parse covered it
            }
            let fixed = format!("]C1{}\u{1d}{}", &t[..end], &t[end..]);
            if let Ok(scan) = gs1::parse(fixed.as_bytes(), today) {
                if scan.lot.as_deref() == Some(lot.as_str()) {
                    return product(&scan);
                }
            }
        }
        return match plain {
            Ok(scan) => product(&scan),
            Err(e) => Err(Unreadable::barcode(&e)),
        };
    }
    if all_digits && t.len() == 14 {
        return match super::gtin::Gtin::parse(t) {
            Ok(g) => Ok(Scanned::Product {
                gtin: g.to_string(),
                lot: None,
                expiry: None,
            }),
            Err(e) => Err(Unreadable::new(
                format!("unreadable barcode: {e}"),
                "Ulæselig stregkode: GTIN'ets kontrolciffer stemmer ikke",
            )),
        };
    }
    match gs1::parse(t.as_bytes(), today) {
        Ok(scan) if scan.kind != Kind::Unknown => product(&scan),
        Ok(_) => match super::catalog::LocationCode::parse(t) {
            Ok(code) => Ok(Scanned::Location(code.as_str().to_string())),
            Err(_) => Err(not_product_or_location()),
        },
        Err(e) => Err(Unreadable::barcode(&e)),
    }
}

fn all_digits_or_gs1(t: &str) -> bool {
    // GS1 element strings may carry letters in lots and serials; they start with digits.
    t.bytes().take(16).all(|b| b.is_ascii_digit())
}

/// Reads a scan from a serial scanner (with its AIM id).
pub fn read_serial(bytes: &[u8], today: NaiveDate) -> Result<Scanned, Unreadable> {
    let scan = gs1::parse(bytes, today).map_err(|e| Unreadable::barcode(&e))?;
    if scan.kind == Kind::Unknown {
        let text = std::str::from_utf8(bytes).unwrap_or("");
        let body = if text.starts_with(']') {
            text.get(3..).unwrap_or("")
        } else {
            text
        };
        return super::catalog::LocationCode::parse(body)
            .map(|c| Scanned::Location(c.as_str().to_string()))
            .map_err(|_| not_product_or_location());
    }
    product(&scan)
}

fn not_product_or_location() -> Unreadable {
    Unreadable::new(
        "not a product or location barcode",
        "Hverken en vare- eller lokationsstregkode",
    )
}

fn product(scan: &gs1::Scan) -> Result<Scanned, Unreadable> {
    match &scan.gtin {
        Some(g) => Ok(Scanned::Product {
            gtin: g.to_string(),
            lot: scan.lot.clone(),
            expiry: scan.expiry,
        }),
        None => Err(Unreadable::new(
            "the barcode carries no GTIN",
            "Stregkoden har intet GTIN (varenummer)",
        )),
    }
}

/// A lot of the pick's product lying at the pick's location, with its free packs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LotHere {
    pub unit_id: i64,
    pub lot: String,
    pub expiry: NaiveDate,
    /// Packs not reserved for any order.
    pub free: i64,
}

/// The pick in hand, as the decision needs it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PickInHand {
    pub location: String,
    pub gtin: String,
    pub product_name: String,
    pub unit_id: i64,
    pub lot: String,
    /// Packs still to pick on this task.
    pub remaining: i64,
    pub location_ok: bool,
    pub require_location_scan: bool,
    /// The order's tote, and whether the picker has scanned it in this wave.
    pub tote: String,
    pub tote_ok: bool,
    pub require_tote_scan: bool,
    pub min_shelf_life_days: i64,
    pub delivery: NaiveDate,
}

/// What a scan does to the pick in hand.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Decision {
    /// The right location label: go on with the product.
    LocationConfirmed,
    /// The order's tote: its packs may go in.
    ToteConfirmed,
    /// Confirm `qty` packs from `unit_id` (the reserved unit, or another lot at the location
    /// when `swap` is true: the pick's whole remaining reservation moves to it first).
    Confirm { unit_id: i64, qty: i64, swap: bool },
}

/// A refused scan: a stable code and the message shown to the picker, in English (the API's
/// language) and in Danish (the floor's).
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

/// Decides what a scan means for the pick in hand. `qty` is the quantity to confirm with this
/// scan (1 per scan, or what the picker typed), `lots_here` the lots of the product at the
/// location.
pub fn decide<'a>(
    pick: &PickInHand,
    scanned: &Scanned,
    qty: i64,
    lots_here: &'a [LotHere],
    today: NaiveDate,
) -> Result<Decision, Refusal> {
    match scanned {
        Scanned::Location(code) => {
            if code.eq_ignore_ascii_case(&pick.location) {
                Ok(Decision::LocationConfirmed)
            } else if code.eq_ignore_ascii_case(&pick.tote) {
                Ok(Decision::ToteConfirmed)
            } else {
                Err(refuse(
                    "wrong_location",
                    format!("wrong location {code}: go to {}", pick.location),
                    format!("Forkert lokation {code}: gå til {}", pick.location),
                ))
            }
        }
        Scanned::Product { gtin, lot, expiry } => {
            if pick.require_location_scan && !pick.location_ok {
                return Err(refuse(
                    "scan_location_first",
                    format!("scan the location label {} first", pick.location),
                    format!("Scan først lokationen {}", pick.location),
                ));
            }
            if pick.require_tote_scan && !pick.tote_ok {
                return Err(refuse(
                    "scan_tote_first",
                    format!(
                        "first pack of this order: scan its tote {} first",
                        pick.tote
                    ),
                    format!("Første pakning til ordren: scan først kassen {}", pick.tote),
                ));
            }
            if *gtin != pick.gtin {
                return Err(refuse(
                    "wrong_product",
                    format!(
                        "wrong product {gtin}: take {} ({})",
                        pick.product_name, pick.gtin
                    ),
                    format!(
                        "Forkert vare {gtin}: tag {} ({})",
                        pick.product_name, pick.gtin
                    ),
                ));
            }
            if qty < 1 || qty > pick.remaining {
                return Err(refuse(
                    "wrong_quantity",
                    format!("quantity must be between 1 and {} packs", pick.remaining),
                    format!("Antal skal være mellem 1 og {} pakninger", pick.remaining),
                ));
            }
            // Units of the scanned lot here (a lot can lie here for two owners after a partial
            // ownership transfer): the reserved unit when it is one of them, else the freest.
            let pick_of = |units: Vec<&'a LotHere>| -> Option<&'a LotHere> {
                units
                    .iter()
                    .find(|h| h.unit_id == pick.unit_id)
                    .or_else(|| units.iter().max_by_key(|h| h.free))
                    .copied()
            };
            let here = match lot {
                // Without a lot in the barcode, the lot is unambiguous only when the location
                // holds one lot of the product.
                None => {
                    let first = lots_here.first().map(|h| h.lot.as_str());
                    if first.is_none() || lots_here.iter().any(|h| Some(h.lot.as_str()) != first) {
                        return Err(refuse(
                            "lot_missing",
                            "this barcode has no lot: scan the GS1 DataMatrix or GS1-128 on the pack",
                            "Stregkoden har intet lot: scan GS1 DataMatrix eller GS1-128 på pakningen",
                        ));
                    }
                    pick_of(lots_here.iter().collect()).ok_or_else(|| {
                        refuse(
                            "lot_missing",
                            "no lot of this product here",
                            "Intet lot af varen her",
                        )
                    })?
                }
                Some(l) => match pick_of(lots_here.iter().filter(|h| h.lot == *l).collect()) {
                    Some(h) => h,
                    None => {
                        return Err(refuse(
                            "lot_not_here",
                            format!("lot {l} is not at location {}", pick.location),
                            format!("Lot {l} ligger ikke på lokation {}", pick.location),
                        ))
                    }
                },
            };
            if let Some(e) = expiry {
                if *e != here.expiry {
                    return Err(refuse(
                        "expiry_mismatch",
                        format!(
                            "the pack says expiry {e}, but lot {} is booked with {}: call the lead",
                            here.lot, here.expiry
                        ),
                        format!(
                            "Pakningen siger udløb {e}, men lot {} er bogført med {}: kald på lederen",
                            here.lot, here.expiry
                        ),
                    ));
                }
            }
            if let Some(why) =
                lot_refusal(here.expiry, pick.min_shelf_life_days, pick.delivery, today)
            {
                let (code, da) = match why {
                    Ineligible::Expired(d) => (
                        "lot_expired",
                        format!("Lot {} er udløbet {d}: tag et andet lot", here.lot),
                    ),
                    _ => (
                        "lot_short_dated",
                        format!(
                            "Lot {} udløber {} og har for kort holdbarhed: tag lot {}",
                            here.lot, here.expiry, pick.lot
                        ),
                    ),
                };
                return Err(refuse(code, format!("lot {}: {why}", here.lot), da));
            }
            if here.unit_id == pick.unit_id {
                return Ok(Decision::Confirm {
                    unit_id: here.unit_id,
                    qty,
                    swap: false,
                });
            }
            // The whole rest of the pick moves to the scanned lot, so it must be free for all of it.
            if here.free < pick.remaining {
                return Err(refuse(
                    "lot_reserved",
                    format!(
                        "lot {} here is reserved for other orders ({} free, {} needed): take lot {}",
                        here.lot, here.free, pick.remaining, pick.lot
                    ),
                    format!(
                        "Lot {} er reserveret til andre ordrer ({} fri, {} skal bruges): tag lot {}",
                        here.lot, here.free, pick.remaining, pick.lot
                    ),
                ));
            }
            Ok(Decision::Confirm {
                unit_id: here.unit_id,
                qty,
                swap: true,
            })
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(s: &str) -> NaiveDate {
        NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap()
    }
    const TODAY: &str = "2026-11-29";

    fn pick() -> PickInHand {
        PickInHand {
            location: "A-01-1".into(),
            gtin: "05708932000017".into(),
            product_name: "Basisplade".into(),
            unit_id: 1,
            lot: "LOT1".into(),
            remaining: 3,
            location_ok: true,
            require_location_scan: true,
            tote: "T-01".into(),
            tote_ok: true,
            require_tote_scan: true,
            min_shelf_life_days: 30,
            delivery: d("2026-12-01"),
        }
    }

    fn here() -> Vec<LotHere> {
        vec![
            LotHere {
                unit_id: 1,
                lot: "LOT1".into(),
                expiry: d("2027-06-30"),
                free: 0,
            },
            LotHere {
                unit_id: 2,
                lot: "LOT2".into(),
                expiry: d("2027-09-30"),
                free: 5,
            },
            LotHere {
                unit_id: 3,
                lot: "OLD".into(),
                expiry: d("2026-12-15"),
                free: 5,
            },
        ]
    }

    fn prod(lot: &str) -> Scanned {
        Scanned::Product {
            gtin: "05708932000017".into(),
            lot: Some(lot.into()),
            expiry: None,
        }
    }

    #[test]
    fn wedge_scans_without_gs_are_split_by_the_lots_at_the_location() {
        let lots = vec!["AB12".to_string(), "LOT1".to_string()];
        // (01)(10)AB12(17)271231 typed without GS: the lot would swallow the expiry.
        let s = read_wedge("010570893200001710AB1217271231", "A-01-1", &lots, d(TODAY)).unwrap();
        assert_eq!(
            s,
            Scanned::Product {
                gtin: "05708932000017".into(),
                lot: Some("AB12".into()),
                expiry: Some(d("2027-12-31")),
            }
        );
        // Lot last needs no separator.
        let s = read_wedge("01057089320000171727123110LOT1", "A-01-1", &lots, d(TODAY)).unwrap();
        assert!(matches!(s, Scanned::Product { lot: Some(ref l), .. } if l == "LOT1"));
        assert_eq!(
            read_wedge("a-01-1", "A-01-1", &lots, d(TODAY)).unwrap(),
            Scanned::Location("A-01-1".into())
        );
        assert!(matches!(
            read_wedge("5708932000017", "A-01-1", &lots, d(TODAY)).unwrap(),
            Scanned::Product { lot: None, .. }
        ));
        assert!(read_wedge("hello world!", "A-01-1", &lots, d(TODAY)).is_err());
        assert!(read_wedge("", "A-01-1", &lots, d(TODAY)).is_err());
    }

    #[test]
    fn an_orders_first_pack_waits_for_its_tote() {
        let mut p = pick();
        p.tote_ok = false;
        let e = decide(&p, &prod("LOT1"), 1, &here(), d(TODAY)).unwrap_err();
        assert_eq!(e.code, "scan_tote_first");
        assert!(e.message_da.contains("T-01"));
        assert_eq!(
            decide(&p, &Scanned::Location("t-01".into()), 1, &here(), d(TODAY)),
            Ok(Decision::ToteConfirmed)
        );
        assert_eq!(
            decide(&p, &Scanned::Location("T-02".into()), 1, &here(), d(TODAY))
                .unwrap_err()
                .code,
            "wrong_location"
        );
        p.require_tote_scan = false;
        assert!(decide(&p, &prod("LOT1"), 1, &here(), d(TODAY)).is_ok());
    }

    #[test]
    fn the_location_comes_first_when_required() {
        let mut p = pick();
        p.location_ok = false;
        let e = decide(&p, &prod("LOT1"), 1, &here(), d(TODAY)).unwrap_err();
        assert_eq!(e.code, "scan_location_first");
        assert_eq!(
            decide(
                &p,
                &Scanned::Location("A-01-1".into()),
                1,
                &here(),
                d(TODAY)
            ),
            Ok(Decision::LocationConfirmed)
        );
        assert_eq!(
            decide(
                &p,
                &Scanned::Location("B-01-1".into()),
                1,
                &here(),
                d(TODAY)
            )
            .unwrap_err()
            .code,
            "wrong_location"
        );
        p.require_location_scan = false;
        assert!(decide(&p, &prod("LOT1"), 1, &here(), d(TODAY)).is_ok());
    }

    #[test]
    fn reserved_lot_confirms_and_another_valid_lot_swaps() {
        assert_eq!(
            decide(&pick(), &prod("LOT1"), 2, &here(), d(TODAY)),
            Ok(Decision::Confirm {
                unit_id: 1,
                qty: 2,
                swap: false
            })
        );
        assert_eq!(
            decide(&pick(), &prod("LOT2"), 1, &here(), d(TODAY)),
            Ok(Decision::Confirm {
                unit_id: 2,
                qty: 1,
                swap: true
            })
        );
    }

    #[test]
    fn a_lot_held_for_two_owners_is_taken_from_the_reserved_unit() {
        let mut lots = here();
        // After a partial ownership transfer the same lot lies here twice, the other owner's
        // unit first.
        lots.insert(
            0,
            LotHere {
                unit_id: 0,
                lot: "LOT1".into(),
                expiry: d("2027-06-30"),
                free: 9,
            },
        );
        assert_eq!(
            decide(&pick(), &prod("LOT1"), 1, &lots, d(TODAY)),
            Ok(Decision::Confirm {
                unit_id: 1,
                qty: 1,
                swap: false
            })
        );
        let no_lot = Scanned::Product {
            gtin: "05708932000017".into(),
            lot: None,
            expiry: None,
        };
        let only_lot1: Vec<LotHere> = lots.into_iter().filter(|l| l.lot == "LOT1").collect();
        assert!(matches!(
            decide(&pick(), &no_lot, 1, &only_lot1, d(TODAY)),
            Ok(Decision::Confirm { unit_id: 1, .. })
        ));
    }

    #[test]
    fn wrong_product_foreign_lot_short_dated_and_too_many_are_refused() {
        let other = Scanned::Product {
            gtin: "05708932000024".into(),
            lot: None,
            expiry: None,
        };
        let code = |s: &Scanned, q: i64| decide(&pick(), s, q, &here(), d(TODAY)).unwrap_err().code;
        assert_eq!(code(&other, 1), "wrong_product");
        assert_eq!(code(&prod("NOPE"), 1), "lot_not_here");
        assert_eq!(code(&prod("OLD"), 1), "lot_short_dated");
        assert_eq!(code(&prod("LOT1"), 4), "wrong_quantity");
        let no_lot = Scanned::Product {
            gtin: "05708932000017".into(),
            lot: None,
            expiry: None,
        };
        assert_eq!(code(&no_lot, 1), "lot_missing");
    }
}
