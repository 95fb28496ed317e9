//! The SSCC (GS1 AI 00) that identifies a parcel: extension digit + GS1 company prefix + serial
//! reference (prefix and serial together 16 digits) + the mod-10 check digit. The numbering plan
//! comes from configuration; the store hands out serials from a counter that only moves up.

use super::Invalid;
use std::fmt;

/// The GS1 mod-10 check digit of a string of digits (weights 3, 1, 3, ... from the right).
/// Returns `None` when `digits` holds anything but ASCII digits.
pub fn check_digit(digits: &str) -> Option<u8> {
    let mut sum = 0u32;
    for (i, b) in digits.bytes().rev().enumerate() {
        if !b.is_ascii_digit() {
            return None;
        }
        let d = u32::from(b - b'0');
        sum += if i % 2 == 0 { d * 3 } else { d };
    }
    Some(((10 - sum % 10) % 10) as u8)
}

/// An SSCC of 18 digits with a valid check digit.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Sscc(String);

impl Sscc {
    pub fn parse(s: &str) -> Result<Self, Invalid> {
        let v = s.trim();
        if v.len() != 18 || !v.bytes().all(|b| b.is_ascii_digit()) {
            return Err(Invalid::new("sscc", "must be 18 digits"));
        }
        if check_digit(&v[..17]) != Some(v.as_bytes()[17] - b'0') {
            return Err(Invalid::new("sscc", "check digit does not match"));
        }
        Ok(Self(v.to_string()))
    }
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for Sscc {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// The warehouse's SSCC numbering: extension digit, company prefix and the serial range it may
/// use. Made only through `new`, so every serial in range gives a valid 18-digit SSCC.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SsccPlan {
    extension: u8,
    company_prefix: String,
    first: u64,
    last: u64,
}

impl SsccPlan {
    /// `first`/`last` default to the whole range the prefix leaves (1 to 10^(16 - len) - 1).
    pub fn new(
        extension: u8,
        company_prefix: &str,
        first: Option<u64>,
        last: Option<u64>,
    ) -> Result<Self, Invalid> {
        if extension > 9 {
            return Err(Invalid::new(
                "packing.sscc_extension",
                "must be one digit, 0 to 9",
            ));
        }
        let p = company_prefix.trim();
        if !(7..=10).contains(&p.len()) || !p.bytes().all(|b| b.is_ascii_digit()) {
            return Err(Invalid::new(
                "packing.gs1_company_prefix",
                format!("must be 7 to 10 digits (got {p:?})"),
            ));
        }
        let digits = 16 - p.len() as u32;
        let max = 10u64.pow(digits) - 1;
        let first = first.unwrap_or(1);
        let last = last.unwrap_or(max);
        if last > max {
            return Err(Invalid::new(
                "packing.sscc_serial_last",
                format!(
                    "{last} does not fit the {digits} serial digits a {}-digit company prefix leaves (at most {max})",
                    p.len()
                ),
            ));
        }
        if first > last {
            return Err(Invalid::new(
                "packing.sscc_serial_first",
                format!("{first} is after sscc_serial_last {last}"),
            ));
        }
        Ok(Self {
            extension,
            company_prefix: p.to_string(),
            first,
            last,
        })
    }

    /// The counter's key: extension digit and company prefix (the serials of one key never repeat).
    pub fn key(&self) -> String {
        format!("{}{}", self.extension, self.company_prefix)
    }
    pub fn first(&self) -> u64 {
        self.first
    }
    pub fn last(&self) -> u64 {
        self.last
    }

    /// The SSCC of `serial`, or `None` when it is outside the plan's range.
    pub fn sscc(&self, serial: u64) -> Option<Sscc> {
        if serial < self.first || serial > self.last {
            return None;
        }
        let width = 16 - self.company_prefix.len();
        let body = format!("{}{}{serial:0width$}", self.extension, self.company_prefix);
        let check = check_digit(&body)?;
        Some(Sscc(format!("{body}{check}")))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn check_digits_match_the_gs1_examples() {
        assert_eq!(check_digit("00614141123456789"), Some(0));
        assert_eq!(check_digit("10614141123456789"), Some(7));
        assert!(Sscc::parse("006141411234567890").is_ok());
        assert!(Sscc::parse("106141411234567897").is_ok());
        assert!(Sscc::parse("106141411234567898").is_err());
        assert!(Sscc::parse("10614141123456789").is_err());
        assert_eq!(check_digit("12a"), None);
    }

    #[test]
    fn a_plan_numbers_serials_inside_its_prefix() {
        let p = SsccPlan::new(1, "0614141", None, None).unwrap();
        assert_eq!(p.key(), "10614141");
        assert_eq!(p.sscc(123456789).unwrap().as_str(), "106141411234567897");
        assert_eq!(p.sscc(1).unwrap().as_str().len(), 18);
        assert!(p.sscc(0).is_none());
        assert!(p.sscc(1_000_000_000).is_none());
        assert_eq!(p.last(), 999_999_999);
    }

    #[test]
    fn bad_prefixes_and_ranges_are_refused() {
        assert!(SsccPlan::new(0, "123456", None, None).is_err());
        assert!(SsccPlan::new(0, "12345678901", None, None).is_err());
        assert!(SsccPlan::new(0, "57x0000", None, None).is_err());
        assert!(SsccPlan::new(10, "5790000", None, None).is_err());
        let e = SsccPlan::new(0, "5790000001", None, Some(1_000_000)).unwrap_err();
        assert_eq!(e.field, "packing.sscc_serial_last");
        assert!(SsccPlan::new(0, "5790000001", Some(10), Some(9)).is_err());
        assert!(SsccPlan::new(0, "5790000001", Some(10), Some(999_999)).is_ok());
    }
}
