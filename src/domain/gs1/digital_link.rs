//! GS1 Digital Link URIs: `https://id.gs1.org/01/05708932000017/10/ABC/21/123?17=271231`, on any
//! domain and below any path prefix.
//!
//! The path ends in the primary key and its qualifiers as AI/value pairs; the key must be an AI
//! with `dlpkey` in the dictionary, and the qualifiers must follow one of its `dlpkey` sequences in
//! order. Query parameters whose name is all digits are AIs and must be allowed as data attributes
//! (`?` in the dictionary); other parameters (`linkType`, tracking parameters) are ignored, as is a
//! `#fragment`. Values are percent-decoded, and a GTIN-8, -12 or -13 as the `01` key is padded to
//! 14 digits. Not supported: the compressed form, and the legacy alphabetic keys (`/gtin/…`).

use super::element::{name_of, the_table, validate_value, Located};
use super::error::{Gs1Error, Rule};
use chrono::NaiveDate;

/// Whether `text` starts like a web URI (`http://` or `https://`, any case).
pub fn is_uri(text: &str) -> bool {
    scheme_len(text).is_some()
}

fn scheme_len(text: &str) -> Option<usize> {
    ["https://", "http://"].iter().find_map(|s| {
        text.get(..s.len())
            .filter(|head| head.eq_ignore_ascii_case(s))
            .map(|_| s.len())
    })
}

fn dl_err(pos: usize, msg: impl Into<String>) -> Gs1Error {
    Gs1Error::at(pos, Rule::DigitalLink(msg.into()))
}

fn hex(b: u8) -> Option<u8> {
    match b {
        b'0'..=b'9' => Some(b - b'0'),
        b'a'..=b'f' => Some(b - b'a' + 10),
        b'A'..=b'F' => Some(b - b'A' + 10),
        _ => None,
    }
}

/// Percent-decodes `raw`, which starts at byte `pos` of the input.
fn decode(raw: &str, pos: usize) -> Result<String, Gs1Error> {
    let b = raw.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'%' {
            let pair = (
                b.get(i + 1).copied().and_then(hex),
                b.get(i + 2).copied().and_then(hex),
            );
            let (Some(hi), Some(lo)) = pair else {
                return Err(dl_err(pos + i, "bad percent-encoding"));
            };
            out.push(hi * 16 + lo);
            i += 3;
        } else {
            out.push(b[i]);
            i += 1;
        }
    }
    String::from_utf8(out).map_err(|_| dl_err(pos, "percent-encoded bytes are not valid utf-8"))
}

/// Decodes and checks one value. When decoding or padding changed the text, offsets inside it
/// no longer match the input, so errors point at the start of the raw value instead.
fn value(ai: &str, raw: &str, pos: usize, today: NaiveDate) -> Result<Located, Gs1Error> {
    let table = the_table()?;
    let entry = table
        .get(ai)
        .ok_or_else(|| Gs1Error::at(pos, Rule::UnknownAi(ai.into())))?;
    let mut decoded = decode(raw, pos)?;
    if ai == "01"
        && [8, 12, 13].contains(&decoded.len())
        && decoded.bytes().all(|b| b.is_ascii_digit())
    {
        decoded = format!("{decoded:0>14}");
    }
    validate_value(entry, &decoded, pos, today).map_err(|mut e| {
        if decoded != raw {
            e.position = pos;
        }
        e
    })?;
    Ok(Located {
        ai: ai.to_string(),
        value: decoded,
        pos,
    })
}

/// Parses a Digital Link URI. `base` is the byte offset of `text` in the original input.
pub fn parse(text: &str, base: usize, today: NaiveDate) -> Result<Vec<Located>, Gs1Error> {
    let table = the_table()?;
    let scheme = scheme_len(text).ok_or_else(|| dl_err(base, "not an http or https uri"))?;
    if let Some((i, ch)) = text.char_indices().find(|(_, c)| !c.is_ascii_graphic()) {
        return Err(dl_err(
            base + i,
            format!("character {ch:?} is not allowed in a uri"),
        ));
    }
    let text = text.split('#').next().unwrap_or_default();
    let after = |from: usize, stops: &[u8]| {
        text.as_bytes()[from..]
            .iter()
            .position(|b| stops.contains(b))
            .map_or(text.len(), |p| from + p)
    };
    let host_end = after(scheme, b"/?");
    if host_end == scheme {
        return Err(dl_err(base + scheme, "the uri has no domain"));
    }
    let path_end = after(host_end, b"?");
    let mut segments = Vec::new();
    let mut off = host_end;
    for part in text[host_end..path_end].split('/') {
        if !part.is_empty() {
            segments.push((off, part));
        }
        off += part.len() + 1;
    }
    let is_ai = |s: &str| s.bytes().all(|b| b.is_ascii_digit()) && table.get(s).is_some();
    let mut k = segments.len();
    while k >= 2 && is_ai(segments[k - 2].1) {
        k -= 2;
    }
    let run: Vec<(usize, &str, usize, &str)> = segments[k..]
        .chunks(2)
        .map(|p| (p[0].0, p[0].1, p[1].0, p[1].1))
        .collect();
    let Some(key_at) = run
        .iter()
        .position(|(_, ai, _, _)| table.get(ai).is_some_and(|e| e.dl_key.is_some()))
    else {
        return Err(dl_err(
            base + host_end,
            "the path has no gs1 primary key such as /01/<gtin>",
        ));
    };
    if let Some((at, ai, _, _)) = run.get(..key_at).and_then(|r| r.first()) {
        return Err(Gs1Error::ai(
            ai,
            base + at,
            Rule::DigitalLink("comes before the primary key in the path".into()),
        ));
    }
    let (_, key_ai, _, _) = run[key_at];
    let key = table
        .get(key_ai)
        .ok_or_else(|| Gs1Error::at(base + host_end, Rule::UnknownAi(key_ai.into())))?;
    let sequences = key.dl_key.clone().unwrap_or_default();
    let mut elements = Vec::new();
    let mut qualifiers: Vec<&str> = Vec::new();
    for (n, &(ai_at, ai, value_at, raw)) in run.iter().enumerate() {
        if n > 0 {
            qualifiers.push(ai);
            let in_order = sequences.iter().any(|seq| {
                let mut it = seq.iter();
                qualifiers.iter().all(|q| it.any(|s| s == q))
            });
            if !in_order {
                let allowed: Vec<String> = sequences
                    .iter()
                    .filter(|s| !s.is_empty())
                    .map(|s| s.join(", "))
                    .collect();
                let msg = if allowed.is_empty() {
                    format!("{} takes no qualifiers in the path", key.ai)
                } else {
                    format!(
                        "is not a path qualifier of {} in this order ({} takes {})",
                        key.ai,
                        key.ai,
                        allowed.join(" or ")
                    )
                };
                return Err(Gs1Error::ai(ai, base + ai_at, Rule::DigitalLink(msg)));
            }
        }
        elements.push(value(ai, raw, base + value_at, today)?);
    }
    if path_end < text.len() {
        let mut off = path_end + 1;
        for param in text[path_end + 1..].split('&') {
            let here = off;
            off += param.len() + 1;
            let (name, raw) = param.split_once('=').unwrap_or((param, ""));
            if name.is_empty() || !name.bytes().all(|b| b.is_ascii_digit()) {
                continue;
            }
            let Some(entry) = table.get(name) else {
                return Err(Gs1Error::at(base + here, Rule::UnknownAi(name.into())));
            };
            let value_at = base + here + name.len() + 1;
            if !entry.dl_attribute {
                let msg = format!(
                    "{} is not allowed in the query string of a digital link",
                    name_of(entry)
                );
                return Err(Gs1Error::ai(name, value_at, Rule::DigitalLink(msg)));
            }
            elements.push(value(name, raw, value_at, today)?);
        }
    }
    Ok(elements)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn today() -> NaiveDate {
        NaiveDate::from_ymd_opt(2026, 11, 22).unwrap()
    }

    fn ok(s: &str) -> Vec<(String, String)> {
        parse(s, 0, today())
            .unwrap()
            .into_iter()
            .map(|l| (l.ai, l.value))
            .collect()
    }

    fn err(s: &str) -> String {
        parse(s, 0, today()).unwrap_err().to_string()
    }

    fn pairs(v: &[(&str, &str)]) -> Vec<(String, String)> {
        v.iter()
            .map(|(a, b)| (a.to_string(), b.to_string()))
            .collect()
    }

    #[test]
    fn id_gs1_org_uri_gives_key_qualifiers_then_query_ais() {
        assert_eq!(
            ok("https://id.gs1.org/01/05708932000017/10/ABC/21/123?17=271231"),
            pairs(&[
                ("01", "05708932000017"),
                ("10", "ABC"),
                ("21", "123"),
                ("17", "271231")
            ])
        );
    }

    #[test]
    fn a_custom_domain_with_a_path_prefix_and_other_parameters_works() {
        assert_eq!(
            ok("HTTPS://scan.example.dk/p/x/01/5708932000017/10/A%2FB%25?linkType=gs1:pip&17=270200#top"),
            pairs(&[("01", "05708932000017"), ("10", "A/B%"), ("17", "270200")])
        );
        assert_eq!(
            ok("http://example.com/01/96385074"),
            pairs(&[("01", "00000096385074")])
        );
    }

    #[test]
    fn qualifiers_must_follow_the_key_in_dictionary_order() {
        assert_eq!(
            err("https://id.gs1.org/01/05708932000017/21/1/10/A"),
            "ai 10 at position 42: is not a path qualifier of 01 in this order (01 takes 22, 10, 21 or 235)"
        );
        assert_eq!(
            err("https://id.gs1.org/00/106141411234567897/10/A"),
            "ai 10 at position 41: 00 takes no qualifiers in the path"
        );
        assert_eq!(
            err("https://id.gs1.org/10/ABC"),
            "position 18: the path has no gs1 primary key such as /01/<gtin>"
        );
        assert_eq!(
            err("https://id.gs1.org/10/A/01/05708932000017"),
            "ai 10 at position 19: comes before the primary key in the path"
        );
    }

    #[test]
    fn values_are_checked_like_any_element() {
        assert_eq!(
            err("https://id.gs1.org/01/05708932000018"),
            "ai 01 at position 22: check digit is 8, expected 7"
        );
        assert_eq!(
            err("https://id.gs1.org/01/5708932000018"),
            "ai 01 at position 22: check digit is 8, expected 7"
        );
        assert_eq!(
            err("https://id.gs1.org/01/05708932000017?17=230230"),
            "ai 17 at position 40: 230230 is not a date"
        );
        assert_eq!(
            err("https://id.gs1.org/01/05708932000017?21=1"),
            "ai 21 at position 40: serial is not allowed in the query string of a digital link"
        );
        assert_eq!(
            err("https://id.gs1.org/01/05708932000017/10/A%2"),
            "position 41: bad percent-encoding"
        );
        assert_eq!(
            err("https://id.gs1.org/01/05708932000017 x"),
            "position 36: character ' ' is not allowed in a uri"
        );
        assert_eq!(err("https:///01/1"), "position 8: the uri has no domain");
    }
}
