//! Code 128 and GS1-128 field data for ZPL's `^BC` in mode N, with every subset change and
//! FNC1 written out. Mode N never switches subsets by itself: letters left in subset C are
//! silently dropped (Zebra ZPL II guide, `^BC` invocation codes), so the codes are chosen here:
//! `>;` start C, `>:` start B, `>6` from C to B, `>8` FNC1, `><` a literal `>`.
//! The data starts in subset C when it opens with four or more digits (or is an even run of
//! digits) and moves to B for good at the first character C cannot hold. It never switches back
//! to C with `>5`: an independent ZPL renderer (zpl-renderer-js) read `>5` in subset B as FNC4
//! and the symbol decoded wrongly, while B carries digits correctly everywhere, only wider.

/// `^FD` data for `^BC…,N` and the number of symbols it encodes (start and check not counted).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Encoded {
    pub field_data: String,
    /// The same symbols in the `barcoders` crate's notation (`Ć`/`Ɓ` start or switch to C/B,
    /// `Ź` FNC1), for the PDF and PNG renderers.
    pub barcoders: String,
    pub symbols: usize,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Item {
    Char(u8),
    Fnc1,
}

/// GS1 element string (bracket form) to items: FNC1 first, and FNC1 after every AI whose value
/// has no predefined length and is not the last one.
fn gs1_items(hri: &str) -> Result<Vec<Item>, String> {
    let mut items = vec![Item::Fnc1];
    let mut rest = hri;
    while !rest.is_empty() {
        let Some(r) = rest.strip_prefix('(') else {
            return Err(format!("expected '(' at {rest:?}"));
        };
        let close = r.find(')').ok_or("an AI without its ')'")?;
        let ai = &r[..close];
        let after = &r[close + 1..];
        let end = after.find('(').unwrap_or(after.len());
        let value = &after[..end];
        items.extend(ai.bytes().map(Item::Char));
        items.extend(value.bytes().map(Item::Char));
        rest = &after[end..];
        if !rest.is_empty() && !fixed_length(ai) {
            items.push(Item::Fnc1);
        }
    }
    Ok(items)
}

/// GS1 element string (bracket form) as the raw data a GS1 DataMatrix carries after its
/// leading FNC1: AIs and values, with GS (29) after every non-final variable-length value.
pub fn gs1_raw(hri: &str) -> Result<String, String> {
    let items = gs1_items(hri)?;
    let mut out = String::with_capacity(items.len());
    for it in items.into_iter().skip(1) {
        match it {
            Item::Char(b) => out.push(b as char),
            Item::Fnc1 => out.push('\u{1d}'),
        }
    }
    Ok(out)
}

/// AIs whose element strings have a predefined length (GS1 General Specifications, figure
/// 5.10.1-2): they need no separator.
pub fn fixed_length(ai: &str) -> bool {
    const PREFIXES: [&str; 22] = [
        "00", "01", "02", "03", "04", "11", "12", "13", "14", "15", "16", "17", "18", "19", "20",
        "31", "32", "33", "34", "35", "36", "41",
    ];
    ai.len() >= 2 && PREFIXES.contains(&&ai[..2])
}

/// Encodes `data` for `^BC` mode N: plain Code 128, or with `gs1` the bracket form as GS1-128.
pub fn encode(data: &str, gs1: bool) -> Result<Encoded, String> {
    if data.is_empty() {
        return Err("barcode data is empty".into());
    }
    if let Some(c) = data
        .chars()
        .find(|c| !(' '..='~').contains(c) || *c == '^' || *c == '~')
    {
        return Err(format!("{c:?} cannot be printed in Code 128 here"));
    }
    let items = if gs1 {
        gs1_items(data)?
    } else {
        data.bytes().map(Item::Char).collect()
    };
    // Length of the digit run starting at i.
    let digits_at = |i: usize| {
        items[i..]
            .iter()
            .take_while(|it| matches!(it, Item::Char(b) if b.is_ascii_digit()))
            .count()
    };
    let mut out = String::new();
    let mut symbols = 0;
    let first_char = items
        .iter()
        .position(|it| matches!(it, Item::Char(_)))
        .unwrap_or(0);
    let lead = digits_at(first_char);
    let mut in_c = lead >= 4 || (lead >= 2 && lead % 2 == 0 && first_char + lead == items.len());
    out.push_str(if in_c { ">;" } else { ">:" });
    let mut bc = String::from(if in_c { 'Ć' } else { 'Ɓ' });
    let mut i = 0;
    while i < items.len() {
        match items[i] {
            Item::Fnc1 => {
                out.push_str(">8");
                bc.push('Ź');
                symbols += 1;
                i += 1;
            }
            Item::Char(_) if in_c => {
                if digits_at(i) >= 2 {
                    let (Item::Char(a), Item::Char(b)) = (items[i], items[i + 1]) else {
                        unreachable!("a digit run of two holds two characters")
                    };
                    out.push(a as char);
                    out.push(b as char);
                    bc.push(a as char);
                    bc.push(b as char);
                    symbols += 1;
                    i += 2;
                } else {
                    out.push_str(">6");
                    bc.push('Ɓ');
                    symbols += 1;
                    in_c = false;
                }
            }
            Item::Char(b) => {
                if b == b'>' {
                    out.push_str("><");
                } else {
                    out.push(b as char);
                }
                bc.push(b as char);
                symbols += 1;
                i += 1;
            }
        }
    }
    Ok(Encoded {
        field_data: out,
        barcoders: bc,
        symbols,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn gs1_128_switches_subsets_and_separates_variable_fields() {
        // Lot in B, FNC1 after it, and the expiry stays in B (decoded by ZXingReader as
        // 010570893200001710ABC123<GS>17271231 with AIM id ]C1 from zpl-renderer-js's PNG).
        let e = encode("(01)05708932000017(10)ABC123(17)271231", true).unwrap();
        assert_eq!(e.field_data, ">;>8010570893200001710>6ABC123>817271231");
        assert_eq!(e.barcoders, "ĆŹ010570893200001710ƁABC123Ź17271231");
        let sscc = encode("(00)057089320000000017", true).unwrap();
        assert_eq!(sscc.field_data, ">;>800057089320000000017");
        // A lot last needs no separator after it.
        let e = encode("(01)05708932000017(17)271231(10)L-7", true).unwrap();
        assert_eq!(e.field_data, ">;>801057089320000171727123110>6L-7");
    }

    #[test]
    fn plain_code_128_keeps_letters_in_b() {
        assert_eq!(encode("A-01-1", false).unwrap().field_data, ">:A-01-1");
        // Once in B, digits stay in B.
        assert_eq!(
            encode("TOTE-001234", false).unwrap().field_data,
            ">:TOTE-001234"
        );
        assert_eq!(encode("A12345B", false).unwrap().field_data, ">:A12345B");
        assert_eq!(encode("1234", false).unwrap().field_data, ">;1234");
        assert_eq!(encode("TOTE-017", false).unwrap().field_data, ">:TOTE-017");
        assert!(encode("A^B", false).is_err());
        assert!(encode("", false).is_err());
    }
}
