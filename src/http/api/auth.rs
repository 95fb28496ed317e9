//! Login, logout, the current user; users and API tokens (admin).

use crate::domain::auth::{allow, Role};
use crate::http::auth::{same_origin, Caller, ClientAddr, SESSION_COOKIE};
use crate::http::error::{ApiResult, Body, ErrorBody, Json, Path};
use crate::http::AppState;
use crate::service::auth as svc;
use crate::service::views::{
    self,
    auth::{Token, User},
};
use axum::extract::State;
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{AppendHeaders, IntoResponse};
use serde::{Deserialize, Serialize};

#[derive(Deserialize, utoipa::ToSchema)]
pub struct LoginRequest {
    pub username: String,
    pub password: String,
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct LoginResponse {
    pub username: String,
    pub role: Role,
    /// Send this in the `x-csrf-token` header of every state-changing request made with the cookie.
    pub csrf_token: String,
    pub expires_at: String,
}

/// The session cookie: HttpOnly, SameSite=Strict, Secure unless configured off. The value is hex.
pub fn session_cookie(state: &AppState, value: String, max_age_hours: i64) -> String {
    secret_cookie(state, SESSION_COOKIE, &value, "/", max_age_hours * 3600)
}

/// A cookie that holds a secret: HttpOnly, SameSite=Strict, for `path`, Secure unless
/// `http.cookie_secure` is off.
pub fn secret_cookie(
    state: &AppState,
    name: &str,
    value: &str,
    path: &str,
    max_age_secs: i64,
) -> String {
    let secure = if state.ctx.config.http.cookie_secure {
        "; Secure"
    } else {
        ""
    };
    format!(
        "{name}={value}; HttpOnly; SameSite=Strict; Path={path}; Max-Age={max_age_secs}{secure}"
    )
}

/// Log in with username and password; sets the session cookie.
#[utoipa::path(post, path = "/api/auth/login", tag = "auth", request_body = LoginRequest,
    responses((status = 200, body = LoginResponse), (status = 401, body = ErrorBody), (status = 423, description = "account locked", body = ErrorBody)))]
pub async fn login(
    State(s): State<AppState>,
    ClientAddr(client): ClientAddr,
    headers: HeaderMap,
    Json(r): Json<LoginRequest>,
) -> ApiResult<impl IntoResponse> {
    same_origin(&headers)?;
    let ok = svc::login(&s.ctx, &r.username, &r.password, &client).await?;
    let cookie = session_cookie(
        &s,
        ok.session.clone(),
        i64::from(s.ctx.config.http.session_hours),
    );
    let body = LoginResponse {
        username: ok.username,
        role: ok.role,
        csrf_token: ok.csrf,
        expires_at: crate::domain::time::to_db(ok.expires_at),
    };
    Ok((
        AppendHeaders([(header::SET_COOKIE, cookie)]),
        axum::Json(body),
    ))
}

/// End the current session.
#[utoipa::path(post, path = "/api/auth/logout", tag = "auth", responses((status = 204), (status = 401, body = ErrorBody)))]
pub async fn logout(
    State(s): State<AppState>,
    caller: Caller,
    headers: HeaderMap,
) -> ApiResult<impl IntoResponse> {
    let _ = caller;
    if let Some(session) = crate::http::auth::cookie(&headers, SESSION_COOKIE) {
        svc::logout(&s.ctx, session).await?;
    }
    Ok((
        StatusCode::NO_CONTENT,
        AppendHeaders([(header::SET_COOKIE, session_cookie(&s, String::new(), 0))]),
    ))
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct Me {
    pub actor: String,
    pub role: Role,
}

/// Who am I.
#[utoipa::path(get, path = "/api/auth/me", tag = "auth", responses((status = 200, body = Me), (status = 401, body = ErrorBody)),
    security(("session" = []), ("bearer" = [])))]
pub async fn me(caller: Caller) -> Json<Me> {
    Json(Me {
        actor: caller.0.actor.name.clone(),
        role: caller.0.actor.role,
    })
}

/// All users (admin).
#[utoipa::path(get, path = "/api/users", tag = "auth", responses((status = 200, body = Vec<User>), (status = 403, body = ErrorBody)),
    security(("session" = []), ("bearer" = [])))]
pub async fn list_users(State(s): State<AppState>, caller: Caller) -> ApiResult<Json<Vec<User>>> {
    caller.require(allow::ADMIN)?;
    Ok(Json(views::all(svc::users(&s.ctx).await?)))
}

#[derive(Deserialize, utoipa::ToSchema)]
pub struct NewUser {
    pub username: String,
    pub role: Role,
    /// At least 10 characters.
    pub password: String,
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct Created {
    pub id: i64,
}

/// Create a user (admin).
#[utoipa::path(post, path = "/api/users", tag = "auth", request_body = NewUser,
    responses((status = 201, body = Created), (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)),
    security(("session" = []), ("bearer" = [])))]
pub async fn create_user(
    State(s): State<AppState>,
    caller: Caller,
    r: Body<NewUser>,
) -> ApiResult<impl IntoResponse> {
    let p = caller.require(allow::ADMIN)?;
    let Json(r) = r?;
    let id = svc::create_user(&s.ctx, &p.actor, &r.username, r.role, &r.password).await?;
    Ok((StatusCode::CREATED, axum::Json(Created { id })))
}

#[derive(Deserialize, utoipa::ToSchema)]
pub struct NewPassword {
    pub password: String,
}

/// Set a user's password and lift a lockout (admin).
#[utoipa::path(put, path = "/api/users/{username}/password", tag = "auth", request_body = NewPassword,
    params(("username" = String, Path)),
    responses((status = 204), (status = 404, body = ErrorBody)), security(("session" = []), ("bearer" = [])))]
pub async fn set_password(
    State(s): State<AppState>,
    caller: Caller,
    Path(username): Path<String>,
    r: Body<NewPassword>,
) -> ApiResult<StatusCode> {
    let p = caller.require(allow::ADMIN)?;
    let Json(r) = r?;
    svc::set_password(&s.ctx, &p.actor, &username, &r.password).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// All API tokens, without their secrets (admin).
#[utoipa::path(get, path = "/api/tokens", tag = "auth", responses((status = 200, body = Vec<Token>)),
    security(("session" = []), ("bearer" = [])))]
pub async fn list_tokens(State(s): State<AppState>, caller: Caller) -> ApiResult<Json<Vec<Token>>> {
    caller.require(allow::ADMIN)?;
    Ok(Json(views::all(svc::tokens(&s.ctx).await?)))
}

#[derive(Deserialize, utoipa::ToSchema)]
pub struct NewToken {
    pub name: String,
    pub role: Role,
    /// Days the token is valid (1 to 1825; default 365). An expired token is refused like a
    /// revoked one.
    #[schema(minimum = 1, maximum = 1825)]
    pub valid_days: Option<u32>,
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct CreatedToken {
    pub id: i64,
    pub name: String,
    /// The secret, shown only now. Send it as `Authorization: Bearer ...`.
    pub token: String,
}

/// Create an API token (admin). The secret is in the response and nowhere else.
#[utoipa::path(post, path = "/api/tokens", tag = "auth", request_body = NewToken,
    responses((status = 201, body = CreatedToken), (status = 409, body = ErrorBody)), security(("session" = []), ("bearer" = [])))]
pub async fn create_token(
    State(s): State<AppState>,
    caller: Caller,
    r: Body<NewToken>,
) -> ApiResult<impl IntoResponse> {
    let p = caller.require(allow::ADMIN)?;
    let Json(r) = r?;
    let (id, token) = svc::create_token(&s.ctx, &p.actor, &r.name, r.role, r.valid_days).await?;
    Ok((
        StatusCode::CREATED,
        axum::Json(CreatedToken {
            id,
            name: r.name.trim().to_ascii_lowercase(),
            token,
        }),
    ))
}

/// Revoke an API token (admin).
#[utoipa::path(delete, path = "/api/tokens/{id}", tag = "auth", params(("id" = i64, Path)),
    responses((status = 204), (status = 404, body = ErrorBody)), security(("session" = []), ("bearer" = [])))]
pub async fn revoke_token(
    State(s): State<AppState>,
    caller: Caller,
    Path(id): Path<i64>,
) -> ApiResult<StatusCode> {
    let p = caller.require(allow::ADMIN)?;
    svc::revoke_token(&s.ctx, &p.actor, id).await?;
    Ok(StatusCode::NO_CONTENT)
}
