//! The one error a scan can fail with: which AI, where in the input, and which rule.

use super::dictionary::Charset;
use std::fmt;

/// A scan that breaks a rule. Displayed as `ai 01 at position 2: check digit is 8, expected 7`,
/// or `position 0: unknown ai 9A` when no AI applies.
///
/// `position` is a byte offset in the input exactly as given (AIM identifier included): the start
/// of the value for a rule about an AI's value or its pairing, the AI itself for an unknown AI, and
/// the offending character for a character that is not allowed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Gs1Error {
    pub ai: Option<String>,
    pub position: usize,
    pub rule: Rule,
}

impl Gs1Error {
    pub fn at(position: usize, rule: Rule) -> Self {
        Self {
            ai: None,
            position,
            rule,
        }
    }

    pub fn ai(ai: &str, position: usize, rule: Rule) -> Self {
        Self {
            ai: Some(ai.to_string()),
            position,
            rule,
        }
    }
}

impl fmt::Display for Gs1Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.ai {
            Some(ai) => write!(f, "ai {ai} at position {}: {}", self.position, self.rule),
            None => write!(f, "position {}: {}", self.position, self.rule),
        }
    }
}

impl std::error::Error for Gs1Error {}

impl Gs1Error {
    /// The error in Danish, for the floor's pages: `AI 01 ved position 2: kontrolcifferet er 8,
    /// men skal være 7`.
    pub fn da(&self) -> String {
        match &self.ai {
            Some(ai) => format!("AI {ai} ved position {}: {}", self.position, self.rule.da()),
            None => format!("position {}: {}", self.position, self.rule.da()),
        }
    }
}

/// What a length rule asks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Need {
    Exactly(usize),
    AtLeast(usize),
    AtMost(usize),
}

/// The rule that failed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Rule {
    Empty,
    NotUtf8 {
        byte: u8,
    },
    BadSymbologyId,
    /// A GS1 element string without a GS1 symbology identifier: GS1 is never guessed.
    NoGs1Symbology,
    UnknownAi(String),
    Length {
        need: Need,
        digits: bool,
        got: usize,
    },
    Charset {
        ch: char,
        set: Charset,
    },
    CheckDigit {
        found: u8,
        expected: u8,
    },
    NotADate(String),
    /// `what` needs one of the alternatives (each a `+`-joined group) to be present.
    Requires {
        what: String,
        alternatives: Vec<String>,
    },
    Excludes {
        what: String,
        other: String,
    },
    Duplicate {
        first: usize,
    },
    /// Any other content rule from the dictionary's linters.
    Lint(String),
    DigitalLink(String),
    Hibc(String),
    /// The embedded dictionary did not parse (a build problem, caught by the unit tests).
    Dictionary(String),
}

impl fmt::Display for Rule {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Rule::Empty => f.write_str("empty scan"),
            Rule::NotUtf8 { byte } => write!(f, "byte 0x{byte:02x} is not valid utf-8"),
            Rule::BadSymbologyId => f.write_str("incomplete symbology identifier"),
            Rule::NoGs1Symbology => f.write_str(
                "looks like a GS1 element string but has no GS1 symbology identifier (]C1, ]d2, ]Q3, ]e0); configure the scanner to send AIM ids",
            ),
            Rule::UnknownAi(ai) => write!(f, "unknown ai {}", ai.escape_debug()),
            Rule::Length { need, digits, got } => {
                let unit = |n: usize| match (digits, n) {
                    (true, 1) => "digit",
                    (true, _) => "digits",
                    (false, 1) => "character",
                    (false, _) => "characters",
                };
                match need {
                    Need::Exactly(n) => write!(f, "needs {n} {}, got {got}", unit(*n)),
                    Need::AtLeast(n) => write!(f, "needs at least {n} {}, got {got}", unit(*n)),
                    Need::AtMost(n) => write!(f, "takes at most {n} {}, got {got}", unit(*n)),
                }
            }
            Rule::Charset { ch, set } => {
                let set = match set {
                    Charset::Numeric => "is not a digit",
                    Charset::Cset82 => "is not in the GS1 82-character set",
                    Charset::Cset39 => "is not in the GS1 39-character set",
                    Charset::Cset64 => "is not in the GS1 64-character set",
                };
                write!(f, "character {ch:?} {set}")
            }
            Rule::CheckDigit { found, expected } => {
                write!(f, "check digit is {found}, expected {expected}")
            }
            Rule::NotADate(v) => write!(f, "{v} is not a date"),
            Rule::Requires { what, alternatives } => match alternatives.as_slice() {
                [one] => write!(f, "{what} needs {one}"),
                many => write!(f, "{what} needs one of {}", many.join(", ")),
            },
            Rule::Excludes { what, other } => {
                write!(f, "{what} cannot appear together with ai {other}")
            }
            Rule::Duplicate { first } => write!(
                f,
                "appears again with a different value than at position {first}"
            ),
            Rule::Lint(m) | Rule::DigitalLink(m) | Rule::Hibc(m) => f.write_str(m),
            Rule::Dictionary(m) => write!(f, "the built-in gs1 dictionary is broken: {m}"),
        }
    }
}

impl Rule {
    /// The rule in Danish. The free-text rules (linters, Digital Link, HIBC) are named by kind:
    /// their English detail stays in the API's message.
    pub fn da(&self) -> String {
        match self {
            Rule::Empty => "tom scanning".into(),
            Rule::NotUtf8 { byte } => format!("byte 0x{byte:02x} er ikke gyldig tekst (UTF-8)"),
            Rule::BadSymbologyId => "ufuldstændigt symbologi-id".into(),
            Rule::NoGs1Symbology => "ligner en GS1-kode, men mangler GS1-symbologi-id (]C1, ]d2, ]Q3, ]e0): indstil scanneren til at sende AIM-id".into(),
            Rule::UnknownAi(ai) => format!("ukendt AI {}", ai.escape_debug()),
            Rule::Length { need, digits, got } => {
                let unit = |n: usize| match (digits, n) {
                    (true, 1) => "ciffer",
                    (true, _) => "cifre",
                    (false, _) => "tegn",
                };
                match need {
                    Need::Exactly(n) => format!("skal have {n} {}, har {got}", unit(*n)),
                    Need::AtLeast(n) => format!("skal have mindst {n} {}, har {got}", unit(*n)),
                    Need::AtMost(n) => format!("må højst have {n} {}, har {got}", unit(*n)),
                }
            }
            Rule::Charset { ch, set } => {
                let set = match set {
                    Charset::Numeric => "er ikke et ciffer",
                    Charset::Cset82 => "er ikke i GS1-tegnsættet med 82 tegn",
                    Charset::Cset39 => "er ikke i GS1-tegnsættet med 39 tegn",
                    Charset::Cset64 => "er ikke i GS1-tegnsættet med 64 tegn",
                };
                format!("tegnet {ch:?} {set}")
            }
            Rule::CheckDigit { found, expected } => {
                format!("kontrolcifferet er {found}, men skal være {expected}")
            }
            Rule::NotADate(v) => format!("{v} er ikke en dato"),
            Rule::Requires { what, alternatives } => match alternatives.as_slice() {
                [one] => format!("{what} kræver {one}"),
                many => format!("{what} kræver en af {}", many.join(", ")),
            },
            Rule::Excludes { what, other } => format!("{what} må ikke stå sammen med AI {other}"),
            Rule::Duplicate { first } => {
                format!("står der igen med en anden værdi end ved position {first}")
            }
            Rule::Lint(_) => "værdien overholder ikke GS1-reglerne".into(),
            Rule::DigitalLink(_) => "GS1 Digital Link-adressen kan ikke læses".into(),
            Rule::Hibc(_) => "HIBC-koden kan ikke læses".into(),
            Rule::Dictionary(_) => "den indbyggede GS1-ordbog er defekt (en fejl i konsign)".into(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn errors_read_as_ai_position_and_rule() {
        let e = Gs1Error::ai(
            "01",
            2,
            Rule::CheckDigit {
                found: 8,
                expected: 7,
            },
        );
        assert_eq!(
            e.to_string(),
            "ai 01 at position 2: check digit is 8, expected 7"
        );
        let e = Gs1Error::at(0, Rule::UnknownAi("9A".into()));
        assert_eq!(e.to_string(), "position 0: unknown ai 9A");
        let e = Gs1Error::ai(
            "21",
            30,
            Rule::Charset {
                ch: '#',
                set: Charset::Cset82,
            },
        );
        assert_eq!(
            e.to_string(),
            "ai 21 at position 30: character '#' is not in the GS1 82-character set"
        );
    }

    #[test]
    fn errors_have_a_danish_text() {
        let e = Gs1Error::ai(
            "01",
            2,
            Rule::CheckDigit {
                found: 8,
                expected: 7,
            },
        );
        assert_eq!(
            e.da(),
            "AI 01 ved position 2: kontrolcifferet er 8, men skal være 7"
        );
        let e = Gs1Error::at(0, Rule::UnknownAi("9A".into()));
        assert_eq!(e.da(), "position 0: ukendt AI 9A");
        let e = Gs1Error::at(0, Rule::Lint("gtin must contain digits only".into()));
        assert!(
            !e.da().contains("gtin must"),
            "no English detail: {}",
            e.da()
        );
    }

    #[test]
    fn control_characters_are_shown_escaped() {
        let e = Gs1Error::at(
            4,
            Rule::Charset {
                ch: '\u{1d}',
                set: Charset::Cset82,
            },
        );
        assert_eq!(
            e.to_string(),
            "position 4: character '\\u{1d}' is not in the GS1 82-character set"
        );
    }
}
