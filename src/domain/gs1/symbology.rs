//! AIM symbology identifiers (`]d2`, `]C1`, …): the three characters a scanner can put before the
//! data to say which barcode it read.

use super::error::{Gs1Error, Rule};

/// What the data after an identifier is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Carrier {
    /// A GS1 element string with FNC1 in first position: `]C1` GS1-128, `]d2` GS1 DataMatrix,
    /// `]Q3` GS1 QR Code, `]e0` GS1 DataBar, `]J1` GS1 DotCode.
    Gs1,
    /// `]E0`: EAN-13, or UPC-A, which the scanner sends as 13 digits with a leading zero.
    Ean13,
    /// `]E4`: EAN-8.
    Ean8,
    /// Any other identifier (`]C0` Code 128, `]d1` DataMatrix, `]Q1` QR Code, `]A0` Code 39, …):
    /// data without GS1 structure, such as HIBC, a URI or a plain code.
    Other,
}

pub fn carrier(id: &str) -> Carrier {
    match id {
        "]C1" | "]d2" | "]Q3" | "]e0" | "]J1" => Carrier::Gs1,
        "]E0" => Carrier::Ean13,
        "]E4" => Carrier::Ean8,
        _ => Carrier::Other,
    }
}

/// Splits a leading AIM identifier off `text`: `]`, a letter, then a letter or digit.
pub fn split(text: &str) -> Result<(Option<&str>, &str), Gs1Error> {
    if !text.starts_with(']') {
        return Ok((None, text));
    }
    let b = text.as_bytes();
    match (b.get(1), b.get(2)) {
        (Some(c), Some(m)) if c.is_ascii_alphabetic() && m.is_ascii_alphanumeric() => {
            Ok((Some(&text[..3]), &text[3..]))
        }
        _ => Err(Gs1Error::at(0, Rule::BadSymbologyId)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn gs1_identifiers_are_told_apart_from_plain_ones() {
        for id in ["]C1", "]d2", "]Q3", "]e0", "]J1"] {
            assert_eq!(carrier(id), Carrier::Gs1, "{id}");
        }
        for id in ["]C0", "]d1", "]Q1", "]A0", "]I1", "]J0"] {
            assert_eq!(carrier(id), Carrier::Other, "{id}");
        }
        assert_eq!(carrier("]E0"), Carrier::Ean13);
        assert_eq!(carrier("]E4"), Carrier::Ean8);
    }

    #[test]
    fn an_identifier_is_three_characters_and_the_rest_is_data() {
        assert_eq!(split("]d2010").unwrap(), (Some("]d2"), "010"));
        assert_eq!(split("010").unwrap(), (None, "010"));
        assert_eq!(
            split("]d").unwrap_err().to_string(),
            "position 0: incomplete symbology identifier"
        );
        assert!(split("]é1").is_err());
    }
}
