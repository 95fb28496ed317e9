//! A wall screen without a login (`/dashboard/wall`): opened once with a dashboard key (an API
//! token of role `dashboard`, made by an admin) in the address's fragment, or with the key
//! pasted into its form. The key is checked and kept in an HttpOnly cookie (`konsign_wall`, path
//! `/dashboard`), and the screen shows the wall dashboard from then on: the page and its live
//! stream take that cookie in place of a session (`dashboard_principal`), and nothing else does.

use super::{cookie, lang, page, Lang};
use crate::domain::auth::allow;
use crate::http::auth::{same_origin, ClientAddr, SESSION_COOKIE};
use crate::http::AppState;
use crate::service::auth::{self as svc, Principal};
use axum::extract::State;
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{AppendHeaders, IntoResponse, Redirect, Response};
use axum::routing::get;
use axum::{Json, Router};
use maud::html;
use serde::Deserialize;

/// The cookie that holds a wall screen's key.
pub(super) const WALL_COOKIE: &str = "konsign_wall";

pub(super) fn routes() -> Router<AppState> {
    Router::new().route("/dashboard/wall", get(wall_page).post(wall_key))
}

/// Who is looking at the dashboard (`roles`: `allow::DASHBOARD`): a session's user, or, without
/// a session, a wall screen's key from its cookie. A key that no longer works sends the screen
/// back to `/dashboard/wall`, which says so.
pub(super) async fn dashboard_principal(
    s: &AppState,
    headers: &HeaderMap,
    l: Lang,
    refusal: (&str, &str),
) -> Result<Principal, Response> {
    if cookie(headers, SESSION_COOKIE).is_none() {
        if let Some(key) = cookie(headers, WALL_COOKIE) {
            return match svc::token_principal(&s.ctx, key).await {
                Ok(Some(p)) if p.actor.role == crate::domain::auth::Role::Dashboard => Ok(p),
                Ok(_) => Err(Redirect::to("/dashboard/wall?expired=1").into_response()),
                Err(e) => Err(crate::http::error::ApiError::from(e).into_response()),
            };
        }
    }
    super::page_principal_in(s, headers, allow::DASHBOARD, l, refusal).await
}

#[derive(Debug, Deserialize)]
struct WallQuery {
    lang: Option<String>,
    expired: Option<String>,
}

async fn wall_page(
    State(s): State<AppState>,
    axum::extract::Query(q): axum::extract::Query<WallQuery>,
    headers: HeaderMap,
) -> Response {
    let l = lang(q.lang.as_deref(), &headers);
    let da = l == Lang::Da;
    let tr = |d: &'static str, e: &'static str| if da { d } else { e };
    let body = page(
        l,
        s.ctx.demo.loaded(),
        html! {
            h1 { (tr("Vægskærm", "Wall screen")) }
            @if q.expired.is_some() {
                p.err #expired { (tr("Skærmens nøgle virker ikke længere. Indsæt en ny.", "This screen's key no longer works. Paste a new one.")) }
            }
            p { (tr("Indsæt skærmnøglen (et API-token med rollen dashboard, lavet af en administrator). Skærmen husker den og viser oversigten uden login.",
                    "Paste the screen key (an API token of role dashboard, made by an admin). The screen keeps it and shows the dashboard without a login.")) }
            form #wallkey data-lang=(l.code()) data-wait=(tr("Kontrollerer …", "Checking …"))
                data-bad=(tr("Nøglen virker ikke.", "The key does not work.")) data-offline=(tr("Ingen forbindelse til serveren.", "No connection to the server.")) {
                label { (tr("Skærmnøgle", "Screen key")) " " input name="key" type="password" autocomplete="off" size="40" maxlength="128" required; }
                " " button type="submit" { (tr("Vis oversigten", "Show the dashboard")) }
            }
            p #wallresult role="status" {}
            (super::assets::script(super::assets::Script::Wall))
        },
    );
    axum::response::Html(body.into_string()).into_response()
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct KeyBody {
    key: String,
}

/// Checks a wall screen's key and keeps it in the screen's cookie (204); 401 with the reason
/// in both languages when it is no live dashboard key.
async fn wall_key(
    State(s): State<AppState>,
    ClientAddr(client): ClientAddr,
    headers: HeaderMap,
    body: Result<Json<KeyBody>, axum::extract::rejection::JsonRejection>,
) -> Response {
    if let Err(e) = same_origin(&headers) {
        return e.into_response();
    }
    let Ok(Json(b)) = body else {
        return refused(StatusCode::UNPROCESSABLE_ENTITY);
    };
    match svc::wall_principal(&s.ctx, &client, &b.key).await {
        Ok(_) => {
            // The key lives as long as its token; the cookie a year at most.
            let c = crate::http::api::secret_cookie(
                &s,
                WALL_COOKIE,
                b.key.trim(),
                "/dashboard",
                365 * 24 * 3600,
            );
            (
                StatusCode::NO_CONTENT,
                AppendHeaders([(header::SET_COOKIE, c)]),
            )
                .into_response()
        }
        Err(crate::error::Error::BadCredentials) => refused(StatusCode::UNAUTHORIZED),
        Err(e) => crate::http::error::ApiError::from(e).into_response(),
    }
}

fn refused(status: StatusCode) -> Response {
    (
        status,
        Json(serde_json::json!({
            "code": "bad_key",
            "message": "this is no live dashboard key",
            "message_da": "Det er ikke en gyldig skærmnøgle",
        })),
    )
        .into_response()
}
