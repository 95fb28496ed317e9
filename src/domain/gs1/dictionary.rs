//! The GS1 Barcode Syntax Dictionary, embedded unchanged and parsed once into the table of every AI.
//!
//! `gs1-syntax-dictionary.txt` (release 2026-01-27, Apache-2.0, see `LICENSE-Apache-2.0.txt` next to
//! it) is the machine-readable AI table from GS1's Barcode Syntax Engine. Its header documents the
//! format. Every entry line becomes one [`AiEntry`] per AI (ranges such as `3100-3105` are expanded),
//! so the engine knows all AIs the dictionary knows, not a hand-picked subset.

use std::collections::HashMap;
use std::sync::LazyLock;

/// The dictionary text, byte for byte as published (header and licence notice included).
pub const DICTIONARY: &str = include_str!("gs1-syntax-dictionary.txt");

static TABLE: LazyLock<Result<Table, String>> = LazyLock::new(|| Table::parse(DICTIONARY));

/// The parsed table. The text is compiled in and a unit test parses it, so the error is only
/// there to stay total instead of panicking.
pub fn table() -> Result<&'static Table, String> {
    TABLE.as_ref().map_err(Clone::clone)
}

/// Which characters a component may hold.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Charset {
    /// `N`: digits.
    Numeric,
    /// `X`: the GS1 AI encodable character set 82.
    Cset82,
    /// `Y`: the GS1 AI encodable character set 39.
    Cset39,
    /// `Z`: the GS1 AI encodable character set 64 (base64url, `=` padding allowed at the end).
    Cset64,
}

impl Charset {
    pub fn allows(self, c: char) -> bool {
        match self {
            Charset::Numeric => c.is_ascii_digit(),
            Charset::Cset82 => c.is_ascii() && crate::domain::stock::is_gs1_char(c),
            Charset::Cset39 => c.is_ascii_digit() || c.is_ascii_uppercase() || "#-/".contains(c),
            Charset::Cset64 => c.is_ascii_alphanumeric() || "-_=".contains(c),
        }
    }
}

/// A content check named in the dictionary. The names are the dictionary's own.
///
/// Implemented: `csum`, `csumalpha`, `yymmd0`, `yymmdd`, `yyyymmdd`, `hhmi`, `hh`, `mi`, `ss`,
/// `zero`, `nonzero`, `yesno`, `winding`, `hyphen`, `iso5218`, `nozeroprefix`, `hasnondigit`,
/// `pieceoftotal`, `posinseqslash`, `latitude`, `longitude`, `pcenc`, `mediatype`, `importeridx`,
/// `iban` (structure and mod-97 check; the country code is not checked against ISO 3166).
///
/// Not implemented, and therefore not checked (see [`SKIPPED_LINTERS`]): `gcppos1`, `gcppos2`
/// (need GS1's company-prefix length table), `iso3166`, `iso3166999`, `iso3166alpha2`, `iso4217`
/// (need the ISO country and currency code lists), `packagetype` (needs the UN/ECE package code
/// list), `couponcode`, `couponposoffer` (North American coupon structures).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Linter {
    Csum,
    Csumalpha,
    Yymmd0,
    Yymmdd,
    Yyyymmdd,
    Hhmi,
    Hh,
    Mi,
    Ss,
    Zero,
    Nonzero,
    Yesno,
    Winding,
    Hyphen,
    Iso5218,
    Nozeroprefix,
    Hasnondigit,
    Pieceoftotal,
    Posinseqslash,
    Latitude,
    Longitude,
    Pcenc,
    Mediatype,
    Importeridx,
    Iban,
    /// A linter the engine knows by name but does not run.
    Skipped(&'static str),
}

/// Linters that appear in the dictionary and are deliberately not run (see [`Linter`]).
pub const SKIPPED_LINTERS: [&str; 9] = [
    "gcppos1",
    "gcppos2",
    "iso3166",
    "iso3166999",
    "iso3166alpha2",
    "iso4217",
    "packagetype",
    "couponcode",
    "couponposoffer",
];

impl Linter {
    fn from_name(name: &str) -> Option<Self> {
        Some(match name {
            "csum" => Linter::Csum,
            "csumalpha" => Linter::Csumalpha,
            "yymmd0" => Linter::Yymmd0,
            "yymmdd" => Linter::Yymmdd,
            "yyyymmdd" => Linter::Yyyymmdd,
            "hhmi" => Linter::Hhmi,
            "hh" => Linter::Hh,
            "mi" => Linter::Mi,
            "ss" => Linter::Ss,
            "zero" => Linter::Zero,
            "nonzero" => Linter::Nonzero,
            "yesno" => Linter::Yesno,
            "winding" => Linter::Winding,
            "hyphen" => Linter::Hyphen,
            "iso5218" => Linter::Iso5218,
            "nozeroprefix" => Linter::Nozeroprefix,
            "hasnondigit" => Linter::Hasnondigit,
            "pieceoftotal" => Linter::Pieceoftotal,
            "posinseqslash" => Linter::Posinseqslash,
            "latitude" => Linter::Latitude,
            "longitude" => Linter::Longitude,
            "pcenc" => Linter::Pcenc,
            "mediatype" => Linter::Mediatype,
            "importeridx" => Linter::Importeridx,
            "iban" => Linter::Iban,
            other => {
                return SKIPPED_LINTERS
                    .iter()
                    .find(|s| **s == other)
                    .map(|s| Linter::Skipped(s))
            }
        })
    }
}

/// One part of an AI's data field, such as `N14,csum` or `[N..12]`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Component {
    pub charset: Charset,
    pub min: usize,
    pub max: usize,
    /// `[...]`: may be left out once the data is used up.
    pub optional: bool,
    pub linters: Vec<Linter>,
}

impl Component {
    pub fn is_fixed(&self) -> bool {
        self.min == self.max
    }
}

/// One AI with everything the dictionary says about it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AiEntry {
    pub ai: String,
    /// `*`: predefined length, no FNC1 separator needed after it.
    pub predefined: bool,
    /// `?`: allowed as a GS1 Digital Link data attribute (query string).
    pub dl_attribute: bool,
    pub components: Vec<Component>,
    /// Each `req=` attribute: alternatives, each a group of AI patterns that must all be present.
    pub req: Vec<Vec<Vec<String>>>,
    /// `ex=` patterns: AIs that must not appear together with this one.
    pub ex: Vec<String>,
    /// `dlpkey`: a Digital Link primary key, with the alternative ordered qualifier sequences.
    pub dl_key: Option<Vec<Vec<String>>>,
    pub title: String,
}

impl AiEntry {
    /// The shortest value the components accept.
    pub fn min_len(&self) -> usize {
        self.components
            .iter()
            .filter(|c| !c.optional)
            .map(|c| c.min)
            .sum()
    }

    /// The longest value the components accept.
    pub fn max_len(&self) -> usize {
        self.components.iter().map(|c| c.max).sum()
    }

    /// The one length of a value, when it has only one.
    pub fn fixed_len(&self) -> Option<usize> {
        let (min, max) = (self.min_len(), self.max_len());
        (min == max).then_some(min)
    }

    pub fn all_numeric(&self) -> bool {
        self.components
            .iter()
            .all(|c| c.charset == Charset::Numeric)
    }
}

/// Every AI in the dictionary, by AI.
#[derive(Debug)]
pub struct Table {
    entries: HashMap<String, AiEntry>,
    /// The AI length for each two-digit prefix that starts any AI.
    prefix_len: HashMap<String, usize>,
}

/// Whether AI pattern `pattern` (digits, with `n` matching any digit) matches `ai`.
pub fn pattern_matches(pattern: &str, ai: &str) -> bool {
    pattern.len() == ai.len()
        && pattern
            .bytes()
            .zip(ai.bytes())
            .all(|(p, a)| p == a || (p == b'n' && a.is_ascii_digit()))
}

impl Table {
    pub fn get(&self, ai: &str) -> Option<&AiEntry> {
        self.entries.get(ai)
    }

    pub fn len(&self) -> usize {
        self.entries.len()
    }

    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    pub fn entries(&self) -> impl Iterator<Item = &AiEntry> {
        self.entries.values()
    }

    /// The AI that `data` starts with. AIs are prefix-free, so at most one length matches.
    pub fn lookup_prefix(&self, data: &[u8]) -> Option<&AiEntry> {
        (2..=4).find_map(|n| {
            let head = data.get(..n)?;
            if !head.iter().all(u8::is_ascii_digit) {
                return None;
            }
            self.entries.get(std::str::from_utf8(head).ok()?)
        })
    }

    /// What to call an unknown AI at the start of `data` in an error: as many characters as an
    /// AI with the same two-digit prefix would have, else two.
    pub fn unknown_ai_text(&self, data: &str) -> String {
        let two: String = data.chars().take(2).collect();
        let n = self.prefix_len.get(&two).copied().unwrap_or(2);
        data.chars()
            .take(n)
            .take_while(|c| !c.is_ascii_control())
            .collect()
    }

    pub fn parse(text: &str) -> Result<Table, String> {
        let mut entries = HashMap::new();
        for (n, raw) in text.lines().enumerate() {
            let line = raw.trim();
            if line.is_empty() || line.starts_with('#') {
                continue;
            }
            let parsed = parse_line(line).map_err(|e| format!("line {}: {e}", n + 1))?;
            for entry in parsed {
                if entries.insert(entry.ai.clone(), entry).is_some() {
                    return Err(format!("line {}: ai defined twice", n + 1));
                }
            }
        }
        let mut prefix_len = HashMap::new();
        for ai in entries.keys() {
            let len = ai.len();
            let prefix: String = ai.chars().take(2).collect();
            if *prefix_len.entry(prefix).or_insert(len) != len {
                return Err(format!("ais starting with {} differ in length", &ai[..2]));
            }
        }
        Ok(Table {
            entries,
            prefix_len,
        })
    }
}

const FLAG_CHARS: &str = "*!?\"$%&'()+,-./:;<=>@[\\]^_`{|}~";

fn is_component(token: &str) -> bool {
    let t = token.strip_prefix('[').unwrap_or(token);
    matches!(t.as_bytes().first(), Some(b'N' | b'X' | b'Y' | b'Z'))
}

fn parse_line(line: &str) -> Result<Vec<AiEntry>, String> {
    let (body, title) = match line.split_once('#') {
        Some((b, t)) => (b, t.trim()),
        None => (line, ""),
    };
    let mut tokens = body.split_whitespace().peekable();
    let ais = expand_ais(tokens.next().ok_or("no ai")?)?;
    let mut flags = "";
    if let Some(t) = tokens.peek() {
        if !is_component(t) && t.chars().all(|c| FLAG_CHARS.contains(c)) {
            flags = t;
            tokens.next();
        }
    }
    let mut components = Vec::new();
    while let Some(t) = tokens.peek() {
        if !is_component(t) {
            break;
        }
        components.push(parse_component(t)?);
        tokens.next();
    }
    if components.is_empty() {
        return Err("no components".into());
    }
    let mut req = Vec::new();
    let mut ex = Vec::new();
    let mut dl_key = None;
    for t in tokens {
        match t.split_once('=') {
            Some(("req", v)) => req.push(
                v.split(',')
                    .map(|alt| alt.split('+').map(str::to_string).collect())
                    .collect(),
            ),
            Some(("ex", v)) => ex.extend(v.split(',').map(str::to_string)),
            Some(("dlpkey", v)) => {
                dl_key = Some(
                    v.split('|')
                        .map(|seq| seq.split(',').map(str::to_string).collect())
                        .collect(),
                )
            }
            None if t == "dlpkey" => dl_key = Some(vec![Vec::new()]),
            _ => return Err(format!("unknown attribute {t}")),
        }
    }
    Ok(ais
        .into_iter()
        .map(|ai| AiEntry {
            ai,
            predefined: flags.contains('*'),
            dl_attribute: flags.contains('?'),
            components: components.clone(),
            req: req.clone(),
            ex: ex.clone(),
            dl_key: dl_key.clone(),
            title: title.to_string(),
        })
        .collect())
}

fn expand_ais(token: &str) -> Result<Vec<String>, String> {
    let (first, last) = token.split_once('-').unwrap_or((token, token));
    let digits = |s: &str| !s.is_empty() && s.len() <= 4 && s.bytes().all(|b| b.is_ascii_digit());
    if !digits(first) || !digits(last) || first.len() != last.len() || first.len() < 2 {
        return Err(format!("bad ai {token}"));
    }
    let (a, b): (u32, u32) = (
        first.parse().map_err(|_| "bad ai")?,
        last.parse().map_err(|_| "bad ai")?,
    );
    if a > b {
        return Err(format!("bad ai range {token}"));
    }
    let width = first.len();
    Ok((a..=b).map(|n| format!("{n:0width$}")).collect())
}

fn parse_component(token: &str) -> Result<Component, String> {
    let mut parts = token.split(',');
    let mut kind = parts.next().ok_or("empty component")?;
    let optional = kind.starts_with('[');
    if optional {
        kind = kind
            .strip_prefix('[')
            .and_then(|k| k.strip_suffix(']'))
            .ok_or_else(|| format!("bad optional component {token}"))?;
    }
    let charset = match kind.as_bytes().first() {
        Some(b'N') => Charset::Numeric,
        Some(b'X') => Charset::Cset82,
        Some(b'Y') => Charset::Cset39,
        Some(b'Z') => Charset::Cset64,
        _ => return Err(format!("bad component {token}")),
    };
    let len = &kind[1..];
    let (min, max) = match len.strip_prefix("..") {
        Some(max) => (1, max.parse().map_err(|_| format!("bad length {token}"))?),
        None => {
            let n: usize = len.parse().map_err(|_| format!("bad length {token}"))?;
            (n, n)
        }
    };
    if max == 0 {
        return Err(format!("bad length {token}"));
    }
    let linters = parts
        .map(|name| Linter::from_name(name).ok_or_else(|| format!("unknown linter {name}")))
        .collect::<Result<_, _>>()?;
    Ok(Component {
        charset,
        min,
        max,
        optional,
        linters,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t() -> &'static Table {
        table().expect("the embedded dictionary parses")
    }

    #[test]
    fn the_embedded_dictionary_parses_into_every_ai_it_defines() {
        // Count the AIs straight from the text (ranges expanded) and compare with the table.
        let mut expected = 0;
        for line in DICTIONARY.lines().map(str::trim) {
            if line.is_empty() || line.starts_with('#') {
                continue;
            }
            let ai = line.split_whitespace().next().unwrap();
            expected += match ai.split_once('-') {
                Some((a, b)) => b.parse::<u32>().unwrap() - a.parse::<u32>().unwrap() + 1,
                None => 1,
            };
        }
        assert_eq!(t().len() as u32, expected);
        assert!(t().len() > 500, "{}", t().len());
        for ai in [
            "00", "01", "10", "17", "21", "3103", "3955", "414", "7040", "8030", "99",
        ] {
            assert!(t().get(ai).is_some(), "{ai}");
        }
    }

    #[test]
    fn the_embedded_copy_keeps_the_header_and_licence_notice() {
        assert!(DICTIONARY.starts_with("# GS1 Barcode Syntax Dictionary"));
        assert!(DICTIONARY.contains("Licensed under the Apache License, Version 2.0"));
        assert!(include_str!("LICENSE-Apache-2.0.txt").contains("Apache License"));
    }

    #[test]
    fn entries_carry_flags_components_and_attributes() {
        let gtin = t().get("01").unwrap();
        assert!(gtin.predefined && gtin.dl_attribute);
        assert_eq!(gtin.fixed_len(), Some(14));
        assert_eq!(
            gtin.components[0].linters,
            [Linter::Csum, Linter::Skipped("gcppos2")]
        );
        assert_eq!(gtin.ex, ["255", "37"]);
        assert_eq!(
            gtin.dl_key,
            Some(vec![
                vec!["22".to_string(), "10".into(), "21".into()],
                vec!["235".to_string()]
            ])
        );
        let lot = t().get("10").unwrap();
        assert!(!lot.predefined);
        assert_eq!((lot.min_len(), lot.max_len()), (1, 20));
        assert_eq!(lot.components[0].charset, Charset::Cset82);
        assert_eq!(lot.req.len(), 1);
        assert_eq!(lot.req[0].len(), 5);
        let secondary_serial = t().get("250").unwrap();
        assert_eq!(
            secondary_serial.req.len(),
            2,
            "two req= attributes apply both"
        );
        let potency = t().get("7004").unwrap();
        assert_eq!(potency.req, vec![vec![vec!["01".to_string(), "10".into()]]]);
        let weight = t().get("3103").unwrap();
        assert!(weight.predefined);
        assert_eq!(weight.ex, ["310n"]);
        let country = t().get("423").unwrap();
        assert_eq!((country.min_len(), country.max_len()), (3, 15));
        assert!(country.components[1].optional);
        let digsig = t().get("8030").unwrap();
        assert_eq!(digsig.components[0].charset, Charset::Cset64);
        assert_eq!(t().get("8110").unwrap().title, "");
        assert_eq!(t().get("7030").unwrap().title, "PROCESSOR # 0");
    }

    #[test]
    fn ais_are_prefix_free_so_an_element_string_splits_one_way() {
        for a in t().entries() {
            for b in t().entries() {
                assert!(
                    a.ai == b.ai || !b.ai.starts_with(&a.ai),
                    "{} is a prefix of {}",
                    a.ai,
                    b.ai
                );
            }
        }
    }

    #[test]
    fn predefined_length_ais_all_have_a_fixed_length() {
        for e in t().entries().filter(|e| e.predefined) {
            assert!(e.fixed_len().is_some(), "{}", e.ai);
        }
    }

    #[test]
    fn patterns_use_n_as_a_digit_wildcard() {
        assert!(pattern_matches("310n", "3102"));
        assert!(pattern_matches("31nn", "3155"));
        assert!(!pattern_matches("310n", "3112"));
        assert!(!pattern_matches("01", "010"));
        assert!(pattern_matches("01", "01"));
    }

    #[test]
    fn an_unknown_linter_name_is_refused_so_a_new_dictionary_is_noticed() {
        assert!(Table::parse("01 *? N14,csum,newlinter # X\n")
            .unwrap_err()
            .contains("newlinter"));
    }

    #[test]
    fn unknown_ais_are_named_by_their_prefix_length() {
        assert_eq!(t().unknown_ai_text("9A123"), "9A");
        assert_eq!(t().unknown_ai_text("2341234"), "234");
        assert_eq!(t().unknown_ai_text("05123"), "05");
        assert_eq!(t().unknown_ai_text("7"), "7");
    }
}
