//! HIBC LIC (ANSI/HIBC 2.x Supplier Labeling Standard) symbols: the `+` primary data (labeler,
//! product, unit of measure), the secondary data (quantity, expiry, lot or serial), either
//! concatenated with `/` or as separate symbols, and the mod-43 check character.
//!
//! Supported:
//! - primary `+LLLL P… U C`: LIC of 4 (a letter, then letters or digits), product/catalog number
//!   of 1–18 letters or digits, a unit-of-measure digit, the check character;
//! - concatenated `+LLLL P… U / secondary C`;
//! - standalone secondary `+secondary L C`, where `L` is the link character (the check character of
//!   the matching primary symbol);
//! - secondary forms `$lot`, `$+serial`, `$$[8QQ|9QQQQQ]<date>lot`, `$$+[8QQ|9QQQQQ]<date>serial`,
//!   and the older `YYJJJ lot`, where `<date>` is `MMYY` (first digit 0 or 1), `2MMDDYY`,
//!   `3YYMMDD`, `4YYMMDDHH`, `5YYJJJ`, `6YYJJJHH` or `7` (no date);
//! - supplemental fields after the secondary data: `/14D` expiry `YYYYMMDD`, `/16D` production date
//!   `YYYYMMDD`, `/S` serial.
//!
//! Not supported: other supplemental data identifiers, the HIBC Provider Applications Standard
//! (`+/…`), and lowercase or non-Code 39 characters (refused). Two-digit years use the GS1 sliding
//! window, `MMYY` means the last day of that month, and the hour of a `YYMMDDHH`/`YYJJJHH` expiry is
//! checked but not kept.

use super::error::{Gs1Error, Rule};
use super::lint::{century_year, last_day_of_month, yyyymmdd};
use super::Element;
use chrono::NaiveDate;

/// The 43 characters of the mod-43 check, in value order (`0` = 0 … `%` = 42).
const MOD43: &str = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ-. $/+%";

/// Longest lot, serial or product number HIBC allows.
const MAX_FIELD: usize = 18;

/// The mod-43 check character over `data` (from the leading `+` up to the character before it).
pub fn check_character(data: &str) -> Option<char> {
    let mut sum = 0;
    for c in data.chars() {
        sum += MOD43.find(c)?;
    }
    MOD43.chars().nth(sum % 43)
}

/// What one HIBC symbol says, as elements (pseudo-AIs `hibc_*`) and as typed fields.
#[derive(Debug, Default)]
pub struct Hibc {
    pub elements: Vec<Element>,
    pub lot: Option<String>,
    pub serial: Option<String>,
    pub expiry: Option<NaiveDate>,
    pub production_date: Option<NaiveDate>,
    pub quantity: Option<u32>,
}

impl Hibc {
    fn push(&mut self, ai: &str, value: impl Into<String>) {
        self.elements.push(Element {
            ai: ai.to_string(),
            value: value.into(),
        });
    }
}

struct Parser<'a> {
    base: usize,
    today: NaiveDate,
    text: &'a str,
}

impl Parser<'_> {
    fn err(&self, at: usize, msg: impl Into<String>) -> Gs1Error {
        Gs1Error::at(self.base + at, Rule::Hibc(msg.into()))
    }

    /// `len` digits at `at`, all before `limit`.
    fn digits(&self, at: usize, len: usize, limit: usize, what: &str) -> Result<&str, Gs1Error> {
        match self.text.get(at..at + len).filter(|_| at + len <= limit) {
            Some(d) if d.bytes().all(|b| b.is_ascii_digit()) => Ok(d),
            _ => Err(self.err(at, format!("hibc {what} needs {len} digits"))),
        }
    }

    /// A lot, serial or product field: letters and digits, `min` to 18 of them.
    fn field(&self, at: usize, v: &str, what: &str, min: usize) -> Result<(), Gs1Error> {
        if let Some(i) = v.bytes().position(|b| !b.is_ascii_alphanumeric()) {
            return Err(self.err(
                at + i,
                format!("hibc {what} may hold only letters and digits"),
            ));
        }
        if v.len() < min || v.len() > MAX_FIELD {
            return Err(self.err(
                at,
                format!(
                    "hibc {what} needs {min} to {MAX_FIELD} characters, got {}",
                    v.len()
                ),
            ));
        }
        Ok(())
    }

    fn primary(&self, at: usize, p: &str, out: &mut Hibc) -> Result<(), Gs1Error> {
        let b = p.as_bytes();
        if b.len() < 4
            || !b[0].is_ascii_uppercase()
            || !b[1..4].iter().all(u8::is_ascii_alphanumeric)
        {
            return Err(self.err(
                at,
                "hibc labeler code must be a letter and 3 letters or digits",
            ));
        }
        if b.len() < 6 {
            return Err(self.err(
                at,
                "hibc primary data needs a product number and a unit of measure",
            ));
        }
        let uom_at = b.len() - 1;
        if !b[uom_at].is_ascii_digit() {
            return Err(self.err(at + uom_at, "hibc unit of measure must be a digit"));
        }
        let pcn = &p[4..uom_at];
        self.field(at + 4, pcn, "product number", 1)?;
        out.push("hibc_lic", &p[..4]);
        out.push("hibc_pcn", pcn);
        out.push("hibc_uom", &p[uom_at..]);
        Ok(())
    }

    /// `$$`-style quantity and date, before `limit`; returns how many characters they took.
    fn quantity_and_date(
        &self,
        at: usize,
        limit: usize,
        out: &mut Hibc,
    ) -> Result<usize, Gs1Error> {
        let b = self.text.as_bytes().get(..limit).unwrap_or_default();
        let mut i = at;
        let qty_len = match b.get(i) {
            Some(b'8') => 2,
            Some(b'9') => 5,
            _ => 0,
        };
        if qty_len > 0 {
            let q = self.digits(i + 1, qty_len, limit, "quantity")?;
            let n: u32 = q
                .parse()
                .map_err(|_| self.err(i + 1, "bad hibc quantity"))?;
            out.quantity = Some(n);
            out.push("hibc_quantity", n.to_string());
            i += 1 + qty_len;
        }
        let Some(flag) = b.get(i) else {
            return Err(self.err(i, "hibc date format missing"));
        };
        let (len, skip) = match flag {
            b'0' | b'1' => (4, 0),
            b'2' | b'3' => (6, 1),
            b'4' => (8, 1),
            b'5' => (5, 1),
            b'6' => (7, 1),
            b'7' => (0, 1),
            _ => return Err(self.err(i, format!("unknown hibc date format {}", *flag as char))),
        };
        i += skip;
        if len > 0 {
            let d = self.digits(i, len, limit, "expiry date")?;
            let n = |r: std::ops::Range<usize>| d.get(r).and_then(|s| s.parse::<u32>().ok());
            let year = |r| n(r).map(|yy| century_year(yy, self.today));
            let hour_ok = |r| n(r).is_some_and(|h| h <= 23);
            let date = match flag {
                b'0' | b'1' => year(2..4)
                    .zip(n(0..2))
                    .and_then(|(y, m)| last_day_of_month(y, m)),
                b'2' => year(4..6).and_then(|y| NaiveDate::from_ymd_opt(y, n(0..2)?, n(2..4)?)),
                b'3' => year(0..2).and_then(|y| NaiveDate::from_ymd_opt(y, n(2..4)?, n(4..6)?)),
                b'4' => year(0..2)
                    .filter(|_| hour_ok(6..8))
                    .and_then(|y| NaiveDate::from_ymd_opt(y, n(2..4)?, n(4..6)?)),
                b'5' => year(0..2).and_then(|y| NaiveDate::from_yo_opt(y, n(2..5)?)),
                _ => year(0..2)
                    .filter(|_| hour_ok(5..7))
                    .and_then(|y| NaiveDate::from_yo_opt(y, n(2..5)?)),
            };
            let date =
                date.ok_or_else(|| self.err(i, format!("hibc expiry date {d} is not a date")))?;
            out.expiry = Some(date);
            out.push("hibc_expiry", date.to_string());
            i += len;
        }
        Ok(i - at)
    }

    fn lot_or_serial(
        &self,
        at: usize,
        v: &str,
        serial: bool,
        out: &mut Hibc,
    ) -> Result<(), Gs1Error> {
        let what = if serial { "serial" } else { "lot" };
        self.field(at, v, what, 0)?;
        if v.is_empty() {
            return Ok(());
        }
        if serial {
            out.serial = Some(v.to_string());
            out.push("hibc_serial", v);
        } else {
            out.lot = Some(v.to_string());
            out.push("hibc_lot", v);
        }
        Ok(())
    }

    /// Secondary data `s` starting at `at` (no link or check character).
    fn secondary(&self, at: usize, s: &str, out: &mut Hibc) -> Result<(), Gs1Error> {
        let mut parts = s.split('/');
        let main = parts.next().unwrap_or_default();
        let (serial, head) = if main.starts_with("$$+") {
            (true, 3)
        } else if main.starts_with("$$") {
            (false, 2)
        } else if main.starts_with("$+") {
            (true, 2)
        } else if main.starts_with('$') {
            (false, 1)
        } else {
            (false, 0)
        };
        let mut i = at + head;
        let end = at + main.len();
        if main.starts_with("$$") {
            i += self.quantity_and_date(i, end, out)?;
        } else if head == 0 {
            // The older form: a Julian expiry date YYJJJ, then the lot.
            let d = self.digits(i, 5, end, "expiry date")?;
            let date = d
                .get(..2)
                .and_then(|yy| yy.parse().ok())
                .zip(d.get(2..).and_then(|j| j.parse().ok()))
                .and_then(|(yy, jjj)| NaiveDate::from_yo_opt(century_year(yy, self.today), jjj))
                .ok_or_else(|| self.err(i, format!("hibc expiry date {d} is not a date")))?;
            out.expiry = Some(date);
            out.push("hibc_expiry", date.to_string());
            i += 5;
        }
        let rest = self.text.get(i..end).unwrap_or_default();
        self.lot_or_serial(i, rest, serial, out)?;
        let mut field_at = end + 1;
        for field in parts {
            let here = field_at;
            field_at += field.len() + 1;
            if let Some(d) = field.strip_prefix("14D") {
                let date = yyyymmdd(d).ok_or_else(|| {
                    self.err(here + 3, format!("hibc expiry date {d} is not a date"))
                })?;
                if out.expiry.is_some_and(|e| e != date) {
                    return Err(self.err(here, "hibc symbol has two different expiry dates"));
                }
                if out.expiry.is_none() {
                    out.expiry = Some(date);
                    out.push("hibc_expiry", date.to_string());
                }
            } else if let Some(d) = field.strip_prefix("16D") {
                let date = yyyymmdd(d).ok_or_else(|| {
                    self.err(here + 3, format!("hibc production date {d} is not a date"))
                })?;
                out.production_date = Some(date);
                out.push("hibc_production_date", date.to_string());
            } else if let Some(v) = field.strip_prefix('S') {
                if out.serial.is_some() {
                    return Err(self.err(here, "hibc symbol has two serial numbers"));
                }
                self.field(here + 1, v, "serial", 1)?;
                self.lot_or_serial(here + 1, v, true, out)?;
            } else {
                return Err(self.err(
                    here,
                    format!("unsupported hibc supplemental field /{field}"),
                ));
            }
        }
        Ok(())
    }
}

/// Parses one HIBC symbol (`text` starts with `+`). `base` is the byte offset of `text` in the
/// original input.
pub fn parse(text: &str, base: usize, today: NaiveDate) -> Result<Hibc, Gs1Error> {
    let p = Parser { base, today, text };
    if let Some((i, ch)) = text.char_indices().find(|(_, c)| !MOD43.contains(*c)) {
        return Err(p.err(i, format!("character {ch:?} is not allowed in hibc data")));
    }
    // Everything is ASCII from here on, so byte offsets are character offsets.
    if text.len() < 4 || !text.starts_with('+') {
        return Err(p.err(0, "hibc data is too short"));
    }
    let (data, check) = text.split_at(text.len() - 1);
    let expected = check_character(data).ok_or_else(|| p.err(0, "bad hibc data"))?;
    if !check.starts_with(expected) {
        return Err(p.err(
            data.len(),
            format!("hibc check character is {check}, expected {expected}"),
        ));
    }
    let mut out = Hibc::default();
    let body = &data[1..];
    match body.as_bytes()[0] {
        b'$' | b'0'..=b'9' => {
            let (secondary, link) = body.split_at(body.len() - 1);
            p.secondary(1, secondary, &mut out)?;
            out.push("hibc_link", link);
        }
        b'A'..=b'Z' => match body.find('/') {
            Some(slash) => {
                p.primary(1, &body[..slash], &mut out)?;
                p.secondary(slash + 2, &body[slash + 1..], &mut out)?;
            }
            None => {
                p.primary(1, body, &mut out)?;
                // A separate secondary symbol repeats this check character as its link character.
                out.push("hibc_link", check);
            }
        },
        _ => {
            return Err(p.err(
                1,
                "hibc data must start with a labeler code or secondary data",
            ))
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn today() -> NaiveDate {
        NaiveDate::from_ymd_opt(2026, 11, 22).unwrap()
    }

    fn d(y: i32, m: u32, day: u32) -> Option<NaiveDate> {
        NaiveDate::from_ymd_opt(y, m, day)
    }

    fn elements(h: &Hibc) -> Vec<(&str, &str)> {
        h.elements
            .iter()
            .map(|e| (e.ai.as_str(), e.value.as_str()))
            .collect()
    }

    // Mod-43 values: 0-9 = 0-9, A-Z = 10-35, '-' 36, '.' 37, ' ' 38, '$' 39, '/' 40, '+' 41, '%' 42.
    //
    // "+A123BJC5D6E71": + 41, A 10, 1 1, 2 2, 3 3, B 11, J 19, C 12, 5 5, D 13, 6 6, E 14, 7 7, 1 1
    //   sum = 41+10+1+2+3+11+19+12+5+13+6+14+7+1 = 145; 145 = 3*43 + 16; value 16 = 'G'.
    #[test]
    fn a_primary_symbol_has_lic_product_unit_and_check_character() {
        assert_eq!(check_character("+A123BJC5D6E71"), Some('G'));
        let h = parse("+A123BJC5D6E71G", 0, today()).unwrap();
        assert_eq!(
            elements(&h),
            [
                ("hibc_lic", "A123"),
                ("hibc_pcn", "BJC5D6E7"),
                ("hibc_uom", "1"),
                ("hibc_link", "G")
            ]
        );
        assert_eq!(
            parse("+A123BJC5D6E71H", 0, today())
                .unwrap_err()
                .to_string(),
            "position 14: hibc check character is H, expected G"
        );
    }

    // "+A123BJC5D6E71/$$52001510X3": 145, then / 40, $ 39, $ 39, 5, 2, 0, 0, 1, 5, 1, 0, X 33, 3
    //   sum = 145+40+39+39+5+2+0+0+1+5+1+0+33+3 = 313; 313 = 7*43 + 12; value 12 = 'C'.
    #[test]
    fn a_concatenated_symbol_carries_a_julian_expiry_and_lot() {
        assert_eq!(check_character("+A123BJC5D6E71/$$52001510X3"), Some('C'));
        let h = parse("+A123BJC5D6E71/$$52001510X3C", 0, today()).unwrap();
        assert_eq!(h.expiry, d(2020, 1, 15)); // 2020, day 015
        assert_eq!(h.lot.as_deref(), Some("10X3"));
        assert_eq!(
            elements(&h)[3..],
            [("hibc_expiry", "2020-01-15"), ("hibc_lot", "10X3")]
        );
    }

    // "+A123BJC5D6E71/$$8053271231LOT": 145, then / 40, $ 39, $ 39, 8, 0, 5, 3, 2, 7, 1, 2, 3, 1,
    //   L 21, O 24, T 29: sum = 145+40+39+39+8+0+5+3+2+7+1+2+3+1+21+24+29 = 369;
    //   369 = 8*43 + 25; value 25 = 'P'.
    #[test]
    fn a_quantity_comes_before_the_date_format() {
        assert_eq!(check_character("+A123BJC5D6E71/$$8053271231LOT"), Some('P'));
        let h = parse("+A123BJC5D6E71/$$8053271231LOTP", 0, today()).unwrap();
        assert_eq!(h.quantity, Some(5));
        assert_eq!(h.expiry, d(2027, 12, 31));
        assert_eq!(h.lot.as_deref(), Some("LOT"));
    }

    // "+A123BJC5D6E71/$$0224LOT": 145, then / 40, $ 39, $ 39, 0, 2, 2, 4, L 21, O 24, T 29
    //   sum = 145+40+39+39+0+2+2+4+21+24+29 = 345; 345 = 8*43 + 1; value 1 = '1'.
    #[test]
    fn an_mmyy_expiry_is_the_last_day_of_that_month() {
        assert_eq!(check_character("+A123BJC5D6E71/$$0224LOT"), Some('1'));
        let h = parse("+A123BJC5D6E71/$$0224LOT1", 0, today()).unwrap();
        assert_eq!(h.expiry, d(2024, 2, 29));
    }

    // "+$$3271231LOT7G": + 41, $ 39, $ 39, 3, 2, 7, 1, 2, 3, 1, L 21, O 24, T 29, 7, G 16
    //   sum = 41+39+39+3+2+7+1+2+3+1+21+24+29+7+16 = 235; 235 = 5*43 + 20; value 20 = 'K'.
    // "+$ABCG": + 41, $ 39, A 10, B 11, C 12, G 16: sum = 129 = 3*43 + 0; value 0 = '0'.
    #[test]
    fn a_standalone_secondary_ends_with_link_and_check_characters() {
        assert_eq!(check_character("+$$3271231LOT7G"), Some('K'));
        let h = parse("+$$3271231LOT7GK", 0, today()).unwrap();
        assert_eq!(h.expiry, d(2027, 12, 31));
        assert_eq!(h.lot.as_deref(), Some("LOT7"));
        assert_eq!(elements(&h).last(), Some(&("hibc_link", "G")));
        assert_eq!(check_character("+$ABCG"), Some('0'));
        let h = parse("+$ABCG0", 0, today()).unwrap();
        assert_eq!(h.lot.as_deref(), Some("ABC"));
        assert_eq!(h.expiry, None);
    }

    // "+A99912345/$$52001510X3/16D20111212/S77DE1G45": + 41, A 10, 9, 9, 9, 1, 2, 3, 4, 5 = 93;
    //   "/$$52001510X3" = 40+39+39+5+2+0+0+1+5+1+0+33+3 = 168 (261);
    //   "/16D20111212" = 40+1+6+13+2+0+1+1+1+2+1+2 = 70 (331);
    //   "/S77DE1G45" = 40+28+7+7+13+14+1+16+4+5 = 135 (466); 466 = 10*43 + 36; value 36 = '-'.
    #[test]
    fn supplemental_fields_add_production_date_and_serial() {
        assert_eq!(
            check_character("+A99912345/$$52001510X3/16D20111212/S77DE1G45"),
            Some('-')
        );
        let h = parse("+A99912345/$$52001510X3/16D20111212/S77DE1G45-", 0, today()).unwrap();
        assert_eq!(h.expiry, d(2020, 1, 15));
        assert_eq!(h.production_date, d(2011, 12, 12));
        assert_eq!(h.serial.as_deref(), Some("77DE1G45"));
        assert_eq!(h.lot.as_deref(), Some("10X3"));
    }

    #[test]
    fn bad_hibc_data_is_refused_with_a_position() {
        let e = |s: &str| parse(s, 0, today()).unwrap_err().to_string();
        assert_eq!(
            e("+a123"),
            "position 1: character 'a' is not allowed in hibc data"
        );
        assert_eq!(e("+$$"), "position 0: hibc data is too short");
        // Check characters computed as above; the structure is what fails.
        let bad_date = format!("+$$3271331A7{}", check_character("+$$3271331A7").unwrap());
        assert_eq!(
            e(&bad_date),
            "position 4: hibc expiry date 271331 is not a date"
        );
        let month_00 = format!("+$$0027A7{}", check_character("+$$0027A7").unwrap());
        assert_eq!(
            e(&month_00),
            "position 3: hibc expiry date 0027 is not a date"
        );
        let bad_format = format!("+$$A7{}", check_character("+$$A7").unwrap());
        assert_eq!(e(&bad_format), "position 3: unknown hibc date format A");
        let long = format!(
            "+$ABCDEFGHIJKLMNOPQRS7{}",
            check_character("+$ABCDEFGHIJKLMNOPQRS7").unwrap()
        );
        assert_eq!(
            e(&long),
            "position 2: hibc lot needs 0 to 18 characters, got 19"
        );
    }
}
