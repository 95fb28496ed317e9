//! The dictionary's content checks ("linters") and the GS1 date rules they rely on.
//!
//! Each linter gets one component's data, already checked for length and character set, and
//! returns the rule it breaks. Which linters run and which are skipped is listed on
//! [`Linter`](super::dictionary::Linter).

use super::dictionary::Linter;
use super::error::Rule;
use crate::domain::gtin::gs1_check_digit;
use chrono::{Datelike, NaiveDate};

/// The full year for a two-digit year `yy`, by the GS1 sliding window (GS1 General
/// Specifications 7.12): relative to the current year, a difference of 51 to 99 means the previous
/// century and -99 to -50 the next one; anything else is the current century.
pub fn century_year(yy: u32, today: NaiveDate) -> i32 {
    let year = today.year();
    let century = year.div_euclid(100) * 100;
    let yy = yy as i32;
    let diff = yy - year.rem_euclid(100);
    if (51..=99).contains(&diff) {
        century - 100 + yy
    } else if (-99..=-50).contains(&diff) {
        century + 100 + yy
    } else {
        century + yy
    }
}

/// The last day of month `month` in `year`.
pub fn last_day_of_month(year: i32, month: u32) -> Option<NaiveDate> {
    if !(1..=12).contains(&month) {
        return None;
    }
    let (y, m) = if month == 12 {
        (year + 1, 1)
    } else {
        (year, month + 1)
    };
    NaiveDate::from_ymd_opt(y, m, 1)?.pred_opt()
}

fn num(s: &str) -> Option<u32> {
    if s.is_empty() || !s.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    s.parse().ok()
}

/// `YYMMDD` where day `00` means the last day of the month (`yymmd0`).
pub fn yymmd0(v: &str, today: NaiveDate) -> Option<NaiveDate> {
    if v.len() != 6 {
        return None;
    }
    let (yy, mm, dd) = (num(v.get(0..2)?)?, num(v.get(2..4)?)?, num(v.get(4..6)?)?);
    let year = century_year(yy, today);
    if dd == 0 {
        if !(1..=12).contains(&mm) {
            return None;
        }
        return last_day_of_month(year, mm);
    }
    NaiveDate::from_ymd_opt(year, mm, dd)
}

/// `YYMMDD` with a real day (`yymmdd`).
pub fn yymmdd(v: &str, today: NaiveDate) -> Option<NaiveDate> {
    if v.get(4..6) == Some("00") {
        return None;
    }
    yymmd0(v, today)
}

/// `YYYYMMDD` (`yyyymmdd`).
pub fn yyyymmdd(v: &str) -> Option<NaiveDate> {
    if v.len() != 8 {
        return None;
    }
    let (y, m, d) = (num(v.get(0..4)?)?, num(v.get(4..6)?)?, num(v.get(6..8)?)?);
    NaiveDate::from_ymd_opt(y as i32, m, d)
}

fn range(v: &str, max: u32) -> bool {
    v.len() == 2 && num(v).is_some_and(|n| n <= max)
}

const CSET82_ORDER: &str =
    "!\"%&'()*+,-./0123456789:;<=>?ABCDEFGHIJKLMNOPQRSTUVWXYZ_abcdefghijklmnopqrstuvwxyz";
const CSET32: &str = "23456789ABCDEFGHJKLMNPQRSTUVWXYZ";

/// The first `n` primes, the weights of the alphanumeric check pair.
fn primes(n: usize) -> Vec<u32> {
    let mut out: Vec<u32> = Vec::with_capacity(n);
    let mut k = 2;
    while out.len() < n {
        if out.iter().take_while(|p| *p * *p <= k).all(|p| k % p != 0) {
            out.push(k);
        }
        k += 1;
    }
    out
}

/// The GS1 alphanumeric check character pair (General Specifications 7.9.5) for `data`.
pub fn check_pair(data: &str) -> Option<[char; 2]> {
    let weights = primes(data.len());
    let mut sum = 0u32;
    for (c, w) in data.chars().zip(weights.iter().rev()) {
        sum += CSET82_ORDER.find(c)? as u32 * w;
    }
    let sum = (sum % 1021) as usize;
    let pick = |i: usize| CSET32.chars().nth(i);
    Some([pick(sum >> 5)?, pick(sum & 31)?])
}

fn iban_ok(v: &str) -> bool {
    let b = v.as_bytes();
    if !(5..=34).contains(&b.len())
        || !b[..2].iter().all(u8::is_ascii_uppercase)
        || !b[2..4].iter().all(u8::is_ascii_digit)
        || !b[4..]
            .iter()
            .all(|c| c.is_ascii_digit() || c.is_ascii_uppercase())
    {
        return false;
    }
    let mut rem = 0u32;
    for &c in b[4..].iter().chain(&b[..4]) {
        let value = if c.is_ascii_digit() {
            u32::from(c - b'0')
        } else {
            u32::from(c - b'A') + 10
        };
        rem = if value >= 10 {
            (rem * 100 + value) % 97
        } else {
            (rem * 10 + value) % 97
        };
    }
    rem == 1
}

fn fail(msg: impl Into<String>) -> Result<(), Rule> {
    Err(Rule::Lint(msg.into()))
}

/// Runs `linter` on one component's data `v`.
pub fn check(linter: Linter, v: &str, today: NaiveDate) -> Result<(), Rule> {
    match linter {
        Linter::Csum => {
            let digits: Vec<u8> = v.bytes().map(|b| b.wrapping_sub(b'0')).collect();
            let Some((check, body)) = digits.split_last() else {
                return fail("needs a check digit");
            };
            let expected = gs1_check_digit(body);
            if *check != expected {
                return Err(Rule::CheckDigit {
                    found: *check,
                    expected,
                });
            }
            Ok(())
        }
        Linter::Csumalpha => {
            if v.len() < 2 || v.len() > 99 {
                return fail("needs 2 check characters after at most 97 characters");
            }
            let (data, pair) = v.split_at(v.len() - 2);
            match check_pair(data) {
                Some(expected) if pair.chars().eq(expected) => Ok(()),
                Some([a, b]) => fail(format!("check characters are {pair}, expected {a}{b}")),
                None => fail("cannot compute the check characters"),
            }
        }
        Linter::Yymmd0 => match yymmd0(v, today) {
            Some(_) => Ok(()),
            None => Err(Rule::NotADate(v.into())),
        },
        Linter::Yymmdd => match yymmdd(v, today) {
            Some(_) => Ok(()),
            None => Err(Rule::NotADate(v.into())),
        },
        Linter::Yyyymmdd => match yyyymmdd(v) {
            Some(_) => Ok(()),
            None => Err(Rule::NotADate(v.into())),
        },
        Linter::Hhmi => {
            if v.len() == 4 && range(&v[..2], 23) && range(&v[2..], 59) {
                Ok(())
            } else {
                fail(format!("{v} is not a time of day (hhmm)"))
            }
        }
        Linter::Hh if range(v, 23) => Ok(()),
        Linter::Hh => fail(format!("{v} is not an hour")),
        Linter::Mi | Linter::Ss if range(v, 59) => Ok(()),
        Linter::Mi => fail(format!("{v} is not a minute")),
        Linter::Ss => fail(format!("{v} is not a second")),
        Linter::Zero if v == "0" => Ok(()),
        Linter::Zero => fail("must be 0"),
        Linter::Nonzero if v.bytes().any(|b| b != b'0') => Ok(()),
        Linter::Nonzero => fail("must not be zero"),
        Linter::Yesno if v == "0" || v == "1" => Ok(()),
        Linter::Yesno => fail("must be 0 or 1"),
        Linter::Winding if ["0", "1", "9"].contains(&v) => Ok(()),
        Linter::Winding => fail("winding direction must be 0, 1 or 9"),
        Linter::Hyphen if v == "-" => Ok(()),
        Linter::Hyphen => fail("must be '-'"),
        Linter::Iso5218 if ["0", "1", "2", "9"].contains(&v) => Ok(()),
        Linter::Iso5218 => fail("sex code must be 0, 1, 2 or 9"),
        Linter::Nozeroprefix if !v.starts_with('0') => Ok(()),
        Linter::Nozeroprefix => fail("must not start with 0"),
        Linter::Hasnondigit if v.bytes().any(|b| !b.is_ascii_digit()) => Ok(()),
        Linter::Hasnondigit => fail("must contain a character that is not a digit"),
        Linter::Pieceoftotal => {
            let half = v.len() / 2;
            let ok = !v.is_empty()
                && v.len().is_multiple_of(2)
                && v.bytes().all(|b| b.is_ascii_digit())
                && v[..half].bytes().any(|b| b != b'0')
                && v[half..].bytes().any(|b| b != b'0')
                && v[..half] <= v[half..];
            if ok {
                Ok(())
            } else {
                fail(format!("{v} is not a piece number followed by a total"))
            }
        }
        Linter::Posinseqslash => {
            let ok = v.split_once('/').is_some_and(|(p, e)| {
                let digits = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit());
                digits(p)
                    && digits(e)
                    && !p.starts_with('0')
                    && !e.starts_with('0')
                    && (p.len(), p) <= (e.len(), e)
            });
            if ok {
                Ok(())
            } else {
                fail(format!("{v} is not a position in a sequence such as 1/3"))
            }
        }
        Linter::Latitude if v.len() == 10 && v <= "1800000000" => Ok(()),
        Linter::Latitude => fail(format!("{v} is not a latitude (0000000000 to 1800000000)")),
        Linter::Longitude if v.len() == 10 && v <= "3600000000" => Ok(()),
        Linter::Longitude => fail(format!("{v} is not a longitude (0000000000 to 3600000000)")),
        Linter::Pcenc => {
            let b = v.as_bytes();
            let mut i = 0;
            while i < b.len() {
                if b[i] == b'%' {
                    let hex = |j: usize| b.get(j).is_some_and(u8::is_ascii_hexdigit);
                    if !(hex(i + 1) && hex(i + 2)) {
                        return fail(format!("bad percent-encoding at character {}", i + 1));
                    }
                    i += 3;
                } else {
                    i += 1;
                }
            }
            Ok(())
        }
        Linter::Mediatype => match num(v) {
            Some(1..=10 | 80..=99) if v.len() == 2 => Ok(()),
            _ => fail(format!("{v} is not an aidc media type")),
        },
        Linter::Importeridx
            if v.len() == 1
                && v.bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_') =>
        {
            Ok(())
        }
        Linter::Importeridx => fail(format!("{v} is not an importer index")),
        Linter::Iban if iban_ok(v) => Ok(()),
        Linter::Iban => fail(format!("{v} is not a valid iban")),
        Linter::Skipped(_) => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(y: i32, m: u32, day: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, day).unwrap()
    }

    const TODAY: fn() -> NaiveDate = || d(2026, 11, 22);

    #[test]
    fn two_digit_years_follow_the_gs1_sliding_window() {
        // Current year 2026 (yy 26): 27..76 stay in this century, 77..99 fall back to 19xx.
        assert_eq!(century_year(26, TODAY()), 2026);
        assert_eq!(century_year(76, TODAY()), 2076); // difference 50: still this century
        assert_eq!(century_year(77, TODAY()), 1977); // difference 51: previous century
        assert_eq!(century_year(0, TODAY()), 2000);
        // In 2060 (yy 60): 10 is 50 years back, so 2110 (difference -50 means the next century).
        assert_eq!(century_year(10, d(2060, 1, 1)), 2110);
        assert_eq!(century_year(11, d(2060, 1, 1)), 2011);
        assert_eq!(century_year(99, d(2000, 6, 1)), 1999);
        assert_eq!(century_year(1, d(2099, 6, 1)), 2101);
    }

    #[test]
    fn day_00_is_the_last_day_of_the_month_with_leap_years() {
        assert_eq!(yymmd0("240200", TODAY()), Some(d(2024, 2, 29)));
        assert_eq!(yymmd0("250200", TODAY()), Some(d(2025, 2, 28)));
        assert_eq!(yymmd0("271200", TODAY()), Some(d(2027, 12, 31)));
        assert_eq!(yymmd0("270400", TODAY()), Some(d(2027, 4, 30)));
        assert_eq!(yymmd0("001300", TODAY()), None);
        assert_eq!(yymmd0("000000", TODAY()), None);
        assert_eq!(last_day_of_month(2027, 0), None);
        assert_eq!(last_day_of_month(2027, 13), None);
    }

    #[test]
    fn yymmdd_refuses_day_00_and_impossible_dates() {
        assert_eq!(yymmdd("240229", TODAY()), Some(d(2024, 2, 29)));
        assert_eq!(yymmdd("250229", TODAY()), None);
        assert_eq!(yymmdd("230230", TODAY()), None);
        assert_eq!(yymmdd("240200", TODAY()), None);
        assert_eq!(yymmdd("24021", TODAY()), None);
        assert_eq!(
            check(Linter::Yymmd0, "230230", TODAY())
                .unwrap_err()
                .to_string(),
            "230230 is not a date"
        );
    }

    #[test]
    fn csum_names_the_expected_digit() {
        assert!(check(Linter::Csum, "05708932000017", TODAY()).is_ok());
        assert_eq!(
            check(Linter::Csum, "05708932000018", TODAY()),
            Err(Rule::CheckDigit {
                found: 8,
                expected: 7
            })
        );
    }

    #[test]
    fn csumalpha_matches_the_reference_vectors() {
        // Vectors from the GS1 syntax engine's unit tests.
        for ok in [
            "1987654Ad4X4bL5ttr2310c2K",
            "12345678901234567890123NT",
            "00000!HV",
            "22",
        ] {
            assert!(check(Linter::Csumalpha, ok, TODAY()).is_ok(), "{ok}");
        }
        assert!(check(Linter::Csumalpha, "1987654Ad4X4bL5ttr2310cXK", TODAY()).is_err());
        assert!(check(Linter::Csumalpha, "33", TODAY()).is_err());
    }

    #[test]
    fn small_linters_accept_and_refuse_as_the_reference_does() {
        let ok = |l, v| check(l, v, TODAY()).is_ok();
        assert!(ok(Linter::Pieceoftotal, "0103") && !ok(Linter::Pieceoftotal, "0908"));
        assert!(!ok(Linter::Pieceoftotal, "0100") && !ok(Linter::Pieceoftotal, "111"));
        assert!(ok(Linter::Posinseqslash, "9/10") && !ok(Linter::Posinseqslash, "10/9"));
        assert!(!ok(Linter::Posinseqslash, "01/2") && !ok(Linter::Posinseqslash, "1/"));
        assert!(ok(Linter::Hhmi, "2359") && !ok(Linter::Hhmi, "2400"));
        assert!(ok(Linter::Latitude, "1800000000") && !ok(Linter::Latitude, "1800000001"));
        assert!(ok(Linter::Pcenc, "A%20B") && !ok(Linter::Pcenc, "A%2G"));
        assert!(ok(Linter::Mediatype, "10") && !ok(Linter::Mediatype, "11"));
        assert!(
            ok(Linter::Iban, "GB82WEST12345698765432")
                && !ok(Linter::Iban, "GB82WEST12345698765433")
        );
        assert!(ok(Linter::Nozeroprefix, "10") && !ok(Linter::Nozeroprefix, "0"));
        assert!(ok(Linter::Nonzero, "0009") && !ok(Linter::Nonzero, "000"));
        assert!(ok(Linter::Skipped("iso3166"), "999"));
    }
}
