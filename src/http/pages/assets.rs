//! The pages' scripts as static files (`src/http/pages/scripts/`). Each is served under a name that
//! carries a hash of its content (`/static/pick.3f9a…c2.js`), so a browser may keep it for a
//! year and a new release is fetched at once; pages name them by `Script`, checked when
//! compiled, and the Content-Security-Policy needs no inline script (`script-src 'self'`).

use crate::http::AppState;
use axum::extract::Path;
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;
use sha2::{Digest, Sha256};
use std::sync::OnceLock;

/// A page script.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Script {
    Assign,
    Carrier,
    Count,
    Cut,
    CutLead,
    Dashboard,
    Feedback,
    Handover,
    MakeWave,
    OrderCounts,
    Pack,
    Pick,
    Printers,
    Station,
    Stock,
    Take,
    Wall,
}

impl Script {
    const ALL: [Script; 17] = [
        Script::Assign,
        Script::Carrier,
        Script::Count,
        Script::Cut,
        Script::CutLead,
        Script::Dashboard,
        Script::Feedback,
        Script::Handover,
        Script::MakeWave,
        Script::OrderCounts,
        Script::Pack,
        Script::Pick,
        Script::Printers,
        Script::Station,
        Script::Stock,
        Script::Take,
        Script::Wall,
    ];

    /// Its file name and content.
    fn source(self) -> (&'static str, &'static str) {
        match self {
            Script::Assign => ("assign.js", include_str!("scripts/assign.js")),
            Script::Carrier => ("carrier.js", include_str!("scripts/carrier.js")),
            Script::Count => ("count.js", include_str!("scripts/count.js")),
            Script::Cut => ("cut.js", include_str!("scripts/cut.js")),
            Script::CutLead => ("cut_lead.js", include_str!("scripts/cut_lead.js")),
            Script::Dashboard => ("dashboard.js", include_str!("scripts/dashboard.js")),
            Script::Feedback => ("feedback.js", include_str!("scripts/feedback.js")),
            Script::Handover => ("handover.js", include_str!("scripts/handover.js")),
            Script::MakeWave => ("make_wave.js", include_str!("scripts/make_wave.js")),
            Script::OrderCounts => ("order_counts.js", include_str!("scripts/order_counts.js")),
            Script::Pack => ("pack.js", include_str!("scripts/pack.js")),
            Script::Pick => ("pick.js", include_str!("scripts/pick.js")),
            Script::Printers => ("printers.js", include_str!("scripts/printers.js")),
            Script::Station => ("station.js", include_str!("scripts/station.js")),
            Script::Stock => ("stock.js", include_str!("scripts/stock.js")),
            Script::Take => ("take.js", include_str!("scripts/take.js")),
            Script::Wall => ("wall.js", include_str!("scripts/wall.js")),
        }
    }
}

/// A script as served: its hashed file name and its content.
struct Served {
    script: Script,
    file: String,
    body: &'static str,
}

fn served() -> &'static [Served] {
    static SERVED: OnceLock<Vec<Served>> = OnceLock::new();
    SERVED.get_or_init(|| {
        Script::ALL
            .iter()
            .map(|&script| {
                let (name, body) = script.source();
                let hash = hex::encode(&Sha256::digest(body.as_bytes())[..8]);
                let stem = name.strip_suffix(".js").unwrap_or(name);
                Served {
                    script,
                    file: format!("{stem}.{hash}.js"),
                    body,
                }
            })
            .collect()
    })
}

/// Where a script is served.
pub fn url(script: Script) -> String {
    let file = served()
        .iter()
        .find(|s| s.script == script)
        .map_or("", |s| s.file.as_str());
    format!("/static/{file}")
}

/// The element that loads a script where it stands (like the inline script it replaces).
pub fn script(script: Script) -> maud::Markup {
    maud::html! { script src=(url(script)) {} }
}

async fn get_script(Path(file): Path<String>) -> Response {
    match served().iter().find(|s| s.file == file) {
        Some(s) => (
            [
                (header::CONTENT_TYPE, "text/javascript; charset=utf-8"),
                (header::CACHE_CONTROL, "public, max-age=31536000, immutable"),
            ],
            s.body,
        )
            .into_response(),
        None => (StatusCode::NOT_FOUND, "no such file").into_response(),
    }
}

pub fn routes() -> Router<AppState> {
    Router::new().route("/static/{file}", get(get_script))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_script_has_its_own_hashed_name_and_no_script_file_is_left_unserved() {
        let files: Vec<&str> = served().iter().map(|s| s.file.as_str()).collect();
        let mut unique = files.clone();
        unique.sort();
        unique.dedup();
        assert_eq!(unique.len(), files.len());
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("src/http/pages/scripts");
        let mut on_disk: Vec<String> = std::fs::read_dir(dir)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        on_disk.sort();
        let mut named: Vec<String> = Script::ALL
            .iter()
            .map(|s| s.source().0.to_string())
            .collect();
        named.sort();
        assert_eq!(on_disk, named);
        assert!(url(Script::Pick).starts_with("/static/pick."));
    }
}
