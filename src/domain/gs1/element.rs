//! GS1 element strings (`01…17…10…<GS>21…`): splitting them into AIs, checking each value
//! against its dictionary entry, checking AI pairings, and rendering them back.

use super::dictionary::{pattern_matches, table, AiEntry, Table};
use super::error::{Gs1Error, Need, Rule};
use super::lint;
use super::Element;
use chrono::NaiveDate;

/// The FNC1 separator as scanners transmit it: ASCII 29, group separator.
pub const GS: u8 = 0x1d;

/// An element with where its value starts in the input, for error positions.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Located {
    pub ai: String,
    pub value: String,
    pub pos: usize,
}

impl Located {
    pub fn element(&self) -> Element {
        Element {
            ai: self.ai.clone(),
            value: self.value.clone(),
        }
    }
}

pub fn the_table() -> Result<&'static Table, Gs1Error> {
    table().map_err(|e| Gs1Error::at(0, Rule::Dictionary(e)))
}

/// A short name for an AI in messages: the common ones by their warehouse name, the rest by
/// their dictionary title.
pub fn name_of(entry: &AiEntry) -> String {
    match entry.ai.as_str() {
        "00" => "sscc".into(),
        "01" => "gtin".into(),
        "02" => "content gtin".into(),
        "10" => "lot".into(),
        "11" => "production date".into(),
        "17" => "expiry date".into(),
        "21" => "serial".into(),
        "30" | "37" => "count".into(),
        _ if entry.title.is_empty() => format!("ai {}", entry.ai),
        _ => entry.title.to_lowercase(),
    }
}

/// Checks `value` (which starts at byte `pos` of the input) against every component of `entry`:
/// length, character set, then the component's linters.
pub fn validate_value(
    entry: &AiEntry,
    value: &str,
    pos: usize,
    today: NaiveDate,
) -> Result<(), Gs1Error> {
    let err = |at: usize, rule: Rule| Gs1Error::ai(&entry.ai, at, rule);
    // No GS1 character set holds anything outside ASCII or any control character; report the first
    // such character against the component it falls in.
    if let Some((i, ch)) = value
        .char_indices()
        .find(|(_, c)| !c.is_ascii() || c.is_ascii_control())
    {
        let mut start = 0;
        let mut comp = &entry.components[0];
        for c in &entry.components {
            comp = c;
            if i < start + c.max {
                break;
            }
            start += c.max;
        }
        return Err(err(
            pos + i,
            Rule::Charset {
                ch,
                set: comp.charset,
            },
        ));
    }
    let len = value.len();
    let digits = entry.all_numeric();
    let (min, max) = (entry.min_len(), entry.max_len());
    if min == max && len != min {
        let need = Need::Exactly(min);
        return Err(err(
            pos,
            Rule::Length {
                need,
                digits,
                got: len,
            },
        ));
    }
    if len < min {
        let need = Need::AtLeast(min);
        return Err(err(
            pos,
            Rule::Length {
                need,
                digits,
                got: len,
            },
        ));
    }
    if len > max {
        let need = Need::AtMost(max);
        return Err(err(
            pos,
            Rule::Length {
                need,
                digits,
                got: len,
            },
        ));
    }
    let mut offset = 0;
    for comp in &entry.components {
        let remaining = len - offset;
        if remaining == 0 && comp.optional {
            break;
        }
        let digits = comp.charset == super::dictionary::Charset::Numeric;
        let take = if comp.is_fixed() {
            if remaining < comp.max {
                let need = Need::Exactly(comp.max);
                return Err(err(
                    pos + offset,
                    Rule::Length {
                        need,
                        digits,
                        got: remaining,
                    },
                ));
            }
            comp.max
        } else {
            remaining.min(comp.max)
        };
        if take < comp.min {
            let need = Need::AtLeast(comp.min);
            return Err(err(
                pos + offset,
                Rule::Length {
                    need,
                    digits,
                    got: take,
                },
            ));
        }
        let data = &value[offset..offset + take];
        if let Some((i, ch)) = data.char_indices().find(|(_, c)| !comp.charset.allows(*c)) {
            return Err(err(
                pos + offset + i,
                Rule::Charset {
                    ch,
                    set: comp.charset,
                },
            ));
        }
        for linter in &comp.linters {
            lint::check(*linter, data, today).map_err(|rule| err(pos + offset, rule))?;
        }
        offset += take;
    }
    if offset < len {
        let need = Need::AtMost(offset);
        return Err(err(
            pos,
            Rule::Length {
                need,
                digits,
                got: len,
            },
        ));
    }
    Ok(())
}

/// Splits an unbracketed element string into elements and checks each value. `base` is the
/// byte offset of `text` in the original input.
///
/// A predefined-length AI (`*` in the dictionary) takes exactly its length; a GS right after it is
/// allowed and skipped. Every other AI takes everything up to the next GS or the end of the data,
/// so when a separator is missing the following AI becomes part of the value, and the value's
/// length and character rules decide whether that is still valid. A GS at the start (FNC1 in
/// first position sent as GS) and repeated GS are skipped.
pub fn parse_element_string(
    text: &str,
    base: usize,
    today: NaiveDate,
) -> Result<Vec<Located>, Gs1Error> {
    let table = the_table()?;
    let bytes = text.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == GS {
            i += 1;
            continue;
        }
        let rest = &bytes[i..];
        let Some(entry) = table.lookup_prefix(rest) else {
            let shown = table.unknown_ai_text(text.get(i..).unwrap_or_default());
            return Err(Gs1Error::at(base + i, Rule::UnknownAi(shown)));
        };
        let start = i + entry.ai.len();
        let mut end = match (entry.predefined, entry.fixed_len()) {
            (true, Some(n)) => {
                let limit = (start + n).min(bytes.len());
                bytes[start..limit]
                    .iter()
                    .position(|b| *b == GS)
                    .map_or(limit, |p| start + p)
            }
            _ => bytes[start..]
                .iter()
                .position(|b| *b == GS)
                .map_or(bytes.len(), |p| start + p),
        };
        // A fixed-length cut can land inside a multibyte character; take the whole character so
        // the character-set check reports it.
        while !text.is_char_boundary(end) {
            end += 1;
        }
        let value = text.get(start..end).unwrap_or_default();
        validate_value(entry, value, base + start, today)?;
        out.push(Located {
            ai: entry.ai.clone(),
            value: value.to_string(),
            pos: base + start,
        });
        i = end;
    }
    if out.is_empty() {
        return Err(Gs1Error::at(base, Rule::Empty));
    }
    Ok(out)
}

fn describe(group: &[String]) -> String {
    group.join(" with ")
}

/// The keys whose serial component is optional, with the length of their value without it.
/// A digital signature (8030) must name one instance, so these keys satisfy its `req=` only
/// with the serial (GS1 General Specifications 3.9.19; the GS1 Syntax Engine checks the same).
const SERIALISABLE_KEYS: [(&str, usize); 3] = [("253", 13), ("255", 13), ("8003", 14)];

/// Whether `e` may stand in the `req=` of `needed_by`.
fn satisfies(needed_by: &str, e: &Located) -> bool {
    needed_by != "8030"
        || SERIALISABLE_KEYS
            .iter()
            .find(|(ai, _)| *ai == e.ai)
            .is_none_or(|(_, bare)| e.value.len() > *bare)
}

/// A requirement as shown in an error; for 8030, the keys that need their serial say so.
fn describe_for(needed_by: &str, group: &[String]) -> String {
    if needed_by == "8030" {
        if let [one] = group {
            if SERIALISABLE_KEYS.iter().any(|(ai, _)| ai == one) {
                return format!("{one} with its serial component");
            }
        }
    }
    describe(group)
}

/// Checks the pairing rules over all elements of one scan: no AI twice with different values,
/// no `ex=` combination, and every `req=` satisfied.
pub fn check_pairs(elements: &[Located]) -> Result<(), Gs1Error> {
    let table = the_table()?;
    for (n, e) in elements.iter().enumerate() {
        if let Some(first) = elements[..n]
            .iter()
            .find(|f| f.ai == e.ai && f.value != e.value)
        {
            return Err(Gs1Error::ai(
                &e.ai,
                e.pos,
                Rule::Duplicate { first: first.pos },
            ));
        }
    }
    let _present = |pattern: &str| elements.iter().any(|o| pattern_matches(pattern, &o.ai));
    let present_for = |needed_by: &str, pattern: &str| {
        elements
            .iter()
            .any(|o| pattern_matches(pattern, &o.ai) && satisfies(needed_by, o))
    };
    for e in elements {
        let Some(entry) = table.get(&e.ai) else {
            continue;
        };
        for pattern in &entry.ex {
            if let Some(other) = elements
                .iter()
                .find(|o| o.ai != e.ai && pattern_matches(pattern, &o.ai))
            {
                let rule = Rule::Excludes {
                    what: name_of(entry),
                    other: other.ai.clone(),
                };
                return Err(Gs1Error::ai(&e.ai, e.pos, rule));
            }
        }
    }
    for e in elements {
        let Some(entry) = table.get(&e.ai) else {
            continue;
        };
        for alternatives in &entry.req {
            let met = alternatives
                .iter()
                .any(|group| group.iter().all(|p| present_for(&e.ai, p)));
            if !met {
                let rule = Rule::Requires {
                    what: name_of(entry),
                    alternatives: alternatives
                        .iter()
                        .map(|g| describe_for(&e.ai, g))
                        .collect(),
                };
                return Err(Gs1Error::ai(&e.ai, e.pos, rule));
            }
        }
    }
    Ok(())
}

/// Renders elements as a scanner sends them: the AIM identifier, then each AI and value, with a
/// GS after every AI that is not of predefined length, except the last. An AI the dictionary
/// does not know is treated as variable length.
pub fn render(aim: &str, elements: &[Element]) -> Vec<u8> {
    let table = table().ok();
    let mut out = aim.as_bytes().to_vec();
    for (n, e) in elements.iter().enumerate() {
        out.extend_from_slice(e.ai.as_bytes());
        out.extend_from_slice(e.value.as_bytes());
        let predefined = table
            .and_then(|t| t.get(&e.ai))
            .is_some_and(|entry| entry.predefined);
        if !predefined && n + 1 < elements.len() {
            out.push(GS);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn today() -> NaiveDate {
        NaiveDate::from_ymd_opt(2026, 11, 22).unwrap()
    }

    fn parse(s: &str) -> Result<Vec<(String, String)>, String> {
        parse_element_string(s, 0, today())
            .map(|v| v.into_iter().map(|l| (l.ai, l.value)).collect())
            .map_err(|e| e.to_string())
    }

    fn pairs(v: &[(&str, &str)]) -> Vec<(String, String)> {
        v.iter()
            .map(|(a, b)| (a.to_string(), b.to_string()))
            .collect()
    }

    #[test]
    fn predefined_ais_need_no_separator_and_the_last_variable_ai_needs_none() {
        assert_eq!(
            parse("010570893200001717271231\u{1d}10ABC").unwrap(),
            pairs(&[("01", "05708932000017"), ("17", "271231"), ("10", "ABC")])
        );
        assert_eq!(
            parse("01057089320000171727123110ABC-1\u{1d}21XYZ").unwrap(),
            pairs(&[
                ("01", "05708932000017"),
                ("17", "271231"),
                ("10", "ABC-1"),
                ("21", "XYZ")
            ])
        );
    }

    #[test]
    fn a_separator_after_a_predefined_ai_and_a_trailing_one_are_tolerated() {
        assert_eq!(
            parse("\u{1d}0105708932000017\u{1d}10ABC\u{1d}").unwrap(),
            pairs(&[("01", "05708932000017"), ("10", "ABC")])
        );
    }

    #[test]
    fn a_missing_separator_after_a_lot_swallows_the_next_ai_into_the_lot() {
        // 10 is variable length, so without GS the serial AI and its value become lot text.
        assert_eq!(
            parse("010570893200001710ABC21XYZ").unwrap(),
            pairs(&[("01", "05708932000017"), ("10", "ABC21XYZ")])
        );
        // When the swallowed text makes the lot too long, the length rule says so.
        assert_eq!(
            parse("010570893200001710ABCDEFGHIJKL2112345678").unwrap_err(),
            "ai 10 at position 18: takes at most 20 characters, got 22"
        );
    }

    #[test]
    fn a_short_gtin_is_refused_with_the_digits_it_has() {
        assert_eq!(
            parse("0105708932000").unwrap_err(),
            "ai 01 at position 2: needs 14 digits, got 11"
        );
        assert_eq!(
            parse("0105708932000\u{1d}10A").unwrap_err(),
            "ai 01 at position 2: needs 14 digits, got 11"
        );
    }

    #[test]
    fn check_digits_of_gtin_sscc_and_gln_are_verified() {
        assert_eq!(
            parse("0105708932000018").unwrap_err(),
            "ai 01 at position 2: check digit is 8, expected 7"
        );
        // SSCC 3 0614141 123456789 check digit: odd positions from the right weigh 3.
        assert!(parse("00106141411234567897").is_ok());
        assert_eq!(
            parse("00106141411234567891").unwrap_err(),
            "ai 00 at position 2: check digit is 1, expected 7"
        );
        assert!(parse("4145790000000005").is_ok());
        assert_eq!(
            parse("4145790000000009").unwrap_err(),
            "ai 414 at position 3: check digit is 9, expected 5"
        );
    }

    #[test]
    fn unknown_ais_bad_characters_and_dates_are_named() {
        assert_eq!(parse("9A123").unwrap_err(), "position 0: unknown ai 9A");
        assert_eq!(
            parse("0105708932000017234X").unwrap_err(),
            "position 16: unknown ai 234"
        );
        assert_eq!(
            parse("01057089320000171723023010A").unwrap_err(),
            "ai 17 at position 18: 230230 is not a date"
        );
        assert_eq!(
            parse("010570893200001710AB#C").unwrap_err(),
            "ai 10 at position 20: character '#' is not in the GS1 82-character set"
        );
        assert_eq!(
            parse("0105708932A00017").unwrap_err(),
            "ai 01 at position 10: character 'A' is not a digit"
        );
        assert_eq!(
            parse("010570893200001710Aé").unwrap_err(),
            "ai 10 at position 19: character 'é' is not in the GS1 82-character set"
        );
        assert_eq!(
            parse("01057089320000é7").unwrap_err(),
            "ai 01 at position 14: character 'é' is not a digit"
        );
    }

    #[test]
    fn an_empty_variable_value_is_refused() {
        assert_eq!(
            parse("0105708932000017\u{1d}10\u{1d}21A").unwrap_err(),
            "ai 10 at position 19: needs at least 1 character, got 0"
        );
    }

    fn located(v: &[(&str, &str)]) -> Vec<Located> {
        v.iter()
            .enumerate()
            .map(|(n, (ai, value))| Located {
                ai: ai.to_string(),
                value: value.to_string(),
                pos: n * 10,
            })
            .collect()
    }

    #[test]
    fn a_lot_without_a_gtin_breaks_the_req_rule() {
        let e = check_pairs(&located(&[("17", "271231"), ("10", "ABC")])).unwrap_err();
        assert_eq!(
            e.to_string(),
            "ai 17 at position 0: expiry date needs one of 01, 02, 03, 255, 8006, 8026"
        );
        let e = check_pairs(&located(&[("10", "ABC")])).unwrap_err();
        assert_eq!(
            e.to_string(),
            "ai 10 at position 0: lot needs one of 01, 02, 03, 8006, 8026"
        );
        assert!(check_pairs(&located(&[("01", "05708932000017"), ("10", "ABC")])).is_ok());
    }

    #[test]
    fn gtin_and_content_gtin_together_break_the_ex_rule() {
        let e = check_pairs(&located(&[
            ("01", "05708932000017"),
            ("02", "05708932000017"),
        ]))
        .unwrap_err();
        assert_eq!(
            e.to_string(),
            "ai 02 at position 10: content gtin cannot appear together with ai 01"
        );
    }

    #[test]
    fn wildcard_exclusions_spare_the_ai_itself_but_not_its_siblings() {
        let ok = located(&[("01", "05708932000017"), ("3103", "000500")]);
        assert!(check_pairs(&ok).is_ok());
        let bad = located(&[
            ("01", "05708932000017"),
            ("3103", "000500"),
            ("3102", "005000"),
        ]);
        assert_eq!(
            check_pairs(&bad).unwrap_err().to_string(),
            "ai 3103 at position 10: net weight (kg) cannot appear together with ai 3102"
        );
    }

    #[test]
    fn a_digital_signature_needs_a_serialised_key() {
        // (253) GDTI without its serial names a document type, not one document.
        let bare = located(&[("253", "5708932000000"), ("8030", "SIG")]);
        let e = check_pairs(&bare).unwrap_err().to_string();
        assert!(e.contains("253 with its serial component"), "{e}");
        for (ai, value) in [
            ("253", "5708932000000A1"),
            ("255", "57089320000001"),
            ("8003", "057089320000001"),
        ] {
            let keyed = located(&[(ai, value), ("8030", "SIG")]);
            assert!(check_pairs(&keyed).is_ok(), "{ai} {value}");
        }
        let bare_grai = located(&[("8003", "05708932000000"), ("8030", "SIG")]);
        assert!(check_pairs(&bare_grai).is_err());
        // Other AIs needing 253 are not affected.
        assert!(check_pairs(&located(&[("253", "5708932000000")])).is_ok());
    }

    #[test]
    fn grouped_requirements_need_every_member() {
        // 7004 (active potency) needs 01 together with 10.
        let e = check_pairs(&located(&[("01", "05708932000017"), ("7004", "12")])).unwrap_err();
        assert_eq!(
            e.to_string(),
            "ai 7004 at position 10: active potency needs 01 with 10"
        );
        assert!(check_pairs(&located(&[
            ("01", "05708932000017"),
            ("10", "A"),
            ("7004", "12")
        ]))
        .is_ok());
    }

    #[test]
    fn the_same_ai_twice_is_refused_only_with_different_values() {
        let same = located(&[("01", "05708932000017"), ("10", "A"), ("10", "A")]);
        assert!(check_pairs(&same).is_ok());
        let differ = located(&[("01", "05708932000017"), ("10", "A"), ("10", "B")]);
        assert_eq!(
            check_pairs(&differ).unwrap_err().to_string(),
            "ai 10 at position 20: appears again with a different value than at position 10"
        );
    }

    #[test]
    fn rendering_puts_gs_only_after_variable_ais_that_are_not_last() {
        let el = |ai: &str, v: &str| Element {
            ai: ai.into(),
            value: v.into(),
        };
        let bytes = render(
            "]d2",
            &[
                el("10", "ABC"),
                el("01", "05708932000017"),
                el("21", "1"),
                el("17", "271231"),
                el("21", "2"),
            ],
        );
        assert_eq!(
            bytes,
            b"]d210ABC\x1d0105708932000017211\x1d17271231212".to_vec()
        );
    }
}
