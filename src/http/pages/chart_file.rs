//! Downloads of a page's figures: a chart as SVG (the text the page embeds) or as PNG (the same
//! SVG drawn by `charts::to_png`, off the async workers), and a table as CSV.

use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};

/// A chart's file format, from the extension a download's address ends in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Format {
    Svg,
    Png,
}

impl Format {
    /// `svg` or `png`; anything else is no format.
    pub(super) fn from_ext(ext: &str) -> Option<Self> {
        match ext {
            "svg" => Some(Format::Svg),
            "png" => Some(Format::Png),
            _ => None,
        }
    }
    fn ext(self) -> &'static str {
        match self {
            Format::Svg => "svg",
            Format::Png => "png",
        }
    }
}

/// `svg` as a download named `<stem>.svg` or `.png`. The PNG is drawn at twice the SVG's size.
pub(super) async fn chart(svg: String, stem: &str, format: Format) -> Response {
    let name = format!("{stem}.{}", format.ext());
    match format {
        Format::Svg => download("image/svg+xml", &name, svg.into_bytes()),
        Format::Png => {
            match tokio::task::spawn_blocking(move || crate::charts::to_png(&svg, 2.0)).await {
                Ok(Ok(png)) => download("image/png", &name, png),
                Ok(Err(e)) => {
                    tracing::warn!(error = %e, chart = %name, "a chart could not be drawn as PNG");
                    (StatusCode::INTERNAL_SERVER_ERROR, e.to_string()).into_response()
                }
                Err(e) => {
                    tracing::error!(error = %e, chart = %name, "drawing a PNG failed");
                    StatusCode::INTERNAL_SERVER_ERROR.into_response()
                }
            }
        }
    }
}

/// `body` as an attachment named `name`.
pub(super) fn download(kind: &'static str, name: &str, body: Vec<u8>) -> Response {
    (
        StatusCode::OK,
        [
            (header::CONTENT_TYPE, kind.to_string()),
            (
                header::CONTENT_DISPOSITION,
                format!("attachment; filename=\"{name}\""),
            ),
        ],
        body,
    )
        .into_response()
}
