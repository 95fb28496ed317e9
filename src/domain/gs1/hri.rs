//! The human-readable bracket form printed under GS1 barcodes: `(01)05708932000017(17)271231(10)ABC`.
//!
//! A value runs until the next `(` that is followed by two to four digits and `)`, or the end.
//! Spaces around an element (`(01) 0570… (17) …`, as printed on many labels) are ignored. A value
//! that itself contains text like `(12)` cannot be written in this form; scan the barcode instead.

use super::element::{the_table, validate_value, Located};
use super::error::{Gs1Error, Rule};
use chrono::NaiveDate;

/// Where the next `(NN)`..`(NNNN)` AI bracket starts at or after `from`, with the AI's length.
fn next_ai(bytes: &[u8], from: usize) -> Option<(usize, usize)> {
    (from..bytes.len()).find_map(|i| {
        if bytes[i] != b'(' {
            return None;
        }
        let digits = bytes[i + 1..]
            .iter()
            .take_while(|b| b.is_ascii_digit())
            .count();
        ((2..=4).contains(&digits) && bytes.get(i + 1 + digits) == Some(&b')'))
            .then_some((i, digits))
    })
}

/// Parses the bracket form. `base` is the byte offset of `text` in the original input.
pub fn parse(text: &str, base: usize, today: NaiveDate) -> Result<Vec<Located>, Gs1Error> {
    let table = the_table()?;
    let bytes = text.as_bytes();
    let start = bytes.iter().take_while(|b| **b == b' ').count();
    let Some((first, _)) = next_ai(bytes, start).filter(|(i, _)| *i == start) else {
        return Err(Gs1Error::at(
            base + start,
            Rule::Lint("expected an ai in brackets such as (01)".into()),
        ));
    };
    let mut out = Vec::new();
    let mut at = first;
    // Each value ends where the next bracket starts, so the loop always moves forward.
    while let Some((open, digits)) = next_ai(bytes, at) {
        let ai = &text[open + 1..open + 1 + digits];
        let Some(entry) = table.get(ai) else {
            return Err(Gs1Error::at(base + open + 1, Rule::UnknownAi(ai.into())));
        };
        let mut value_start = open + 2 + digits;
        let value_end = next_ai(bytes, value_start).map_or(bytes.len(), |(i, _)| i);
        while value_start < value_end && bytes[value_start] == b' ' {
            value_start += 1;
        }
        let value = text[value_start..value_end].trim_end_matches(' ');
        validate_value(entry, value, base + value_start, today)?;
        out.push(Located {
            ai: entry.ai.clone(),
            value: value.to_string(),
            pos: base + value_start,
        });
        at = value_end;
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn today() -> NaiveDate {
        NaiveDate::from_ymd_opt(2026, 11, 22).unwrap()
    }

    fn parse_ok(s: &str) -> Vec<(String, String)> {
        parse(s, 0, today())
            .unwrap()
            .into_iter()
            .map(|l| (l.ai, l.value))
            .collect()
    }

    #[test]
    fn the_bracket_form_splits_on_each_ai() {
        assert_eq!(
            parse_ok("(01)05708932000017(17)271231(10)ABC"),
            vec![
                ("01".to_string(), "05708932000017".to_string()),
                ("17".into(), "271231".into()),
                ("10".into(), "ABC".into())
            ]
        );
    }

    #[test]
    fn spaces_between_printed_elements_are_ignored() {
        assert_eq!(
            parse_ok(" (01) 05708932000017 (10) A(B)"),
            vec![
                ("01".to_string(), "05708932000017".to_string()),
                ("10".into(), "A(B)".into())
            ]
        );
    }

    #[test]
    fn errors_point_into_the_bracket_text() {
        let e = parse("(01)05708932000018", 0, today()).unwrap_err();
        assert_eq!(
            e.to_string(),
            "ai 01 at position 4: check digit is 8, expected 7"
        );
        let e = parse("(01)05708932000017(9A)X", 0, today()).unwrap_err();
        assert_eq!(
            e.to_string(),
            "ai 01 at position 4: needs 14 digits, got 19"
        );
        let e = parse("(01)05708932000017(99999)X", 0, today()).unwrap_err();
        assert_eq!(
            e.to_string(),
            "ai 01 at position 4: needs 14 digits, got 22"
        );
        let e = parse("(234)X", 0, today()).unwrap_err();
        assert_eq!(e.to_string(), "position 1: unknown ai 234");
        let e = parse("01057089", 0, today()).unwrap_err();
        assert_eq!(
            e.to_string(),
            "position 0: expected an ai in brackets such as (01)"
        );
    }
}
