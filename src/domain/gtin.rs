//! GTIN: the GS1 trade item number, always held as 14 digits with a valid check digit.

use std::fmt;

/// A validated GTIN-14. GTIN-8, -12 and -13 are left-padded with zeros to 14 digits.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize)]
#[serde(transparent)]
pub struct Gtin(String);

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum GtinError {
    #[error("gtin must contain digits only")]
    NotDigits,
    #[error("gtin must have 8, 12, 13 or 14 digits, got {0}")]
    Length(usize),
    #[error("gtin check digit is {found}, expected {expected}")]
    CheckDigit { found: u8, expected: u8 },
}

/// The GS1 mod-10 check digit for `digits` (the digits before the check digit).
pub fn gs1_check_digit(digits: &[u8]) -> u8 {
    let sum: u32 = digits
        .iter()
        .rev()
        .enumerate()
        .map(|(i, d)| u32::from(*d) * if i % 2 == 0 { 3 } else { 1 })
        .sum();
    ((10 - (sum % 10)) % 10) as u8
}

impl Gtin {
    pub fn parse(input: &str) -> Result<Self, GtinError> {
        let s = input.trim();
        if s.is_empty() || !s.bytes().all(|b| b.is_ascii_digit()) {
            return Err(GtinError::NotDigits);
        }
        if ![8, 12, 13, 14].contains(&s.len()) {
            return Err(GtinError::Length(s.len()));
        }
        let digits: Vec<u8> = s.bytes().map(|b| b - b'0').collect();
        let (body, check) = digits.split_at(digits.len() - 1);
        let expected = gs1_check_digit(body);
        if check[0] != expected {
            return Err(GtinError::CheckDigit {
                found: check[0],
                expected,
            });
        }
        Ok(Self(format!("{s:0>14}")))
    }

    /// Builds a GTIN-14 from 13 leading digits by appending the check digit (demo data, tests).
    pub fn with_check_digit(first13: &str) -> Result<Self, GtinError> {
        if first13.len() > 13 || !first13.bytes().all(|b| b.is_ascii_digit()) {
            return Err(GtinError::NotDigits);
        }
        let padded = format!("{first13:0>13}");
        let digits: Vec<u8> = padded.bytes().map(|b| b - b'0').collect();
        let check = gs1_check_digit(&digits);
        Ok(Self(format!("{padded}{check}")))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for Gtin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ean13_is_normalised_to_fourteen_digits() {
        assert_eq!(
            Gtin::parse("5708932000017").unwrap().as_str(),
            "05708932000017"
        );
    }

    #[test]
    fn gtin8_and_upc_are_padded() {
        assert_eq!(Gtin::parse("96385074").unwrap().as_str(), "00000096385074");
        assert_eq!(
            Gtin::parse("036000291452").unwrap().as_str(),
            "00036000291452"
        );
    }

    #[test]
    fn wrong_check_digit_names_the_expected_digit() {
        assert_eq!(
            Gtin::parse("5708932000019"),
            Err(GtinError::CheckDigit {
                found: 9,
                expected: 7
            })
        );
    }

    #[test]
    fn letters_and_odd_lengths_are_refused() {
        assert_eq!(Gtin::parse("57089A"), Err(GtinError::NotDigits));
        assert_eq!(Gtin::parse("123456789"), Err(GtinError::Length(9)));
        assert_eq!(Gtin::parse(""), Err(GtinError::NotDigits));
    }

    #[test]
    fn with_check_digit_round_trips() {
        let g = Gtin::with_check_digit("0570893200001").unwrap();
        assert_eq!(Gtin::parse(g.as_str()).unwrap(), g);
    }
}
