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
