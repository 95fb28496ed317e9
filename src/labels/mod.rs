//! Labels: templates as data (`label-templates/`), checked when loaded, laid out once
//! (`layout`) and rendered from that layout to ZPL II for thermal printers, PDF (printpdf,
//! fonts embedded) and PNG (image). The printer spooler is in `crate::devices::printer`.

pub mod code128;
pub mod font;
pub mod layout;
mod load;
pub mod pdf;
pub mod png;
pub mod template;
pub mod zpl;

use template::DataError;

/// A label that cannot be printed with this data (the template itself was checked when loaded).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RenderError {
    #[error(transparent)]
    Data(#[from] DataError),
    #[error("element {element} (barcode): {message}")]
    Barcode { element: usize, message: String },
    #[error("element {element} (text): {message}")]
    Text { element: usize, message: String },
    #[error("{0}")]
    Output(String),
}

/// The formats a label renders to.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize, utoipa::ToSchema,
)]
#[serde(rename_all = "lowercase")]
pub enum Format {
    Zpl,
    Pdf,
    Png,
}

impl Format {
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "zpl" => Some(Format::Zpl),
            "pdf" => Some(Format::Pdf),
            "png" => Some(Format::Png),
            _ => None,
        }
    }
    pub fn content_type(self) -> &'static str {
        match self {
            Format::Zpl => "application/vnd.zebra-zpl; charset=utf-8",
            Format::Pdf => "application/pdf",
            Format::Png => "image/png",
        }
    }
}
