//! Pure domain: value types, invariants and rules. No I/O, no async, no database.

/// Declares a state (or any closed set of words) kept as text: the enum, with serde and an
/// OpenAPI schema that spell each variant as its text, `ALL`, `as_str`, `parse` and `Display`.
/// `as_str` and `parse` are the one mapping between the stored text and the enum; serde and the
/// schema spell a variant in snake_case, which must be its text (each enum's test checks it).
macro_rules! text_enum {
    (
        $(#[$meta:meta])*
        pub enum $name:ident {
            $( $(#[$vmeta:meta])* $variant:ident = $text:literal ),+ $(,)?
        }
    ) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize, utoipa::ToSchema)]
        #[serde(rename_all = "snake_case")]
        pub enum $name {
            $( $(#[$vmeta])* $variant ),+
        }

        impl $name {
            pub const ALL: &'static [$name] = &[$($name::$variant),+];

            pub fn as_str(self) -> &'static str {
                match self {
                    $( $name::$variant => $text ),+
                }
            }

            pub fn parse(s: &str) -> Option<Self> {
                Self::ALL.iter().copied().find(|k| k.as_str() == s)
            }

            /// A list filter: absent, or one of the words (`field: must be a, b or c` otherwise).
            pub fn parse_filter(field: &str, s: Option<&str>) -> Result<Option<Self>, $crate::domain::Invalid> {
                s.map(|s| {
                    Self::parse(s).ok_or_else(|| {
                        $crate::domain::Invalid::new(field, format!("must be {}", Self::words()))
                    })
                })
                .transpose()
            }

            /// The words, for a message: `a, b or c`.
            pub fn words() -> String {
                let all: Vec<&str> = Self::ALL.iter().map(|k| k.as_str()).collect();
                match all.split_last() {
                    Some((last, rest)) if !rest.is_empty() => format!("{} or {last}", rest.join(", ")),
                    _ => all.join(""),
                }
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(self.as_str())
            }
        }
    };
}

pub mod allocation;
pub mod auth;
pub mod carrier;
pub mod catalog;
pub mod counting;
pub mod cutting;
pub mod gs1;
pub mod gtin;
pub mod handover;
pub mod order;
pub mod pack_scan;
pub mod packing;
pub mod picking;
pub mod print_job;
pub mod rate;
pub mod sscc;
pub mod states;
pub mod station_seq;
pub mod stock;
pub mod time;
pub mod timeline;
pub mod tracking;
pub mod wave;
pub mod workflow;

/// A rule was broken by input; the message is for the user who sent it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{field}: {message}")]
pub struct Invalid {
    /// The field (or key) the problem is in, in the caller's terms.
    pub field: String,
    /// What is wrong, lowercase, no trailing period.
    pub message: String,
}

impl Invalid {
    pub fn new(field: impl Into<String>, message: impl Into<String>) -> Self {
        Self {
            field: field.into(),
            message: message.into(),
        }
    }
}

/// A scan that could not be read as what was expected: why, in English (the API's language)
/// and in Danish (the floor's). Displays as the English.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct Unreadable {
    pub message: String,
    pub message_da: String,
}

impl Unreadable {
    pub fn new(message: impl Into<String>, message_da: impl Into<String>) -> Self {
        Self {
            message: message.into(),
            message_da: message_da.into(),
        }
    }

    /// A barcode that breaks a GS1 rule.
    pub fn barcode(e: &gs1::Gs1Error) -> Self {
        Self::new(
            format!("unreadable barcode: {e}"),
            format!("Ulæselig stregkode: {}", e.da()),
        )
    }
}
