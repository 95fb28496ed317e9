//! Logins with lockout, browser sessions, API tokens and user administration.

use super::{Actor, Ctx};
use crate::domain::auth::{self as rules, Lockout, Role};
use crate::domain::time::{from_db, to_db};
use crate::error::{Error, Result};
use crate::store::{self, audit::NewAudit, auth as db};
use argon2::password_hash::{
    rand_core::OsRng, PasswordHash, PasswordHasher, PasswordVerifier, SaltString,
};
use argon2::Argon2;
use chrono::{Duration, Utc};
use rand::RngCore;
use serde_json::json;
use sha2::{Digest, Sha256};

fn hash_now(password: &str) -> Result<String> {
    let salt = SaltString::generate(&mut OsRng);
    Argon2::default()
        .hash_password(password.as_bytes(), &salt)
        .map(|h| h.to_string())
        .map_err(|e| Error::Internal(anyhow::anyhow!("password hashing failed: {e}")))
}

/// Hashes a password with argon2id on a blocking thread (user administration).
pub async fn hash_password(password: String) -> Result<String> {
    tokio::task::spawn_blocking(move || hash_now(&password))
        .await
        .map_err(|e| Error::Internal(e.into()))?
}

fn verify_now(password: &str, hash: &str) -> bool {
    PasswordHash::new(hash).is_ok_and(|h| {
        Argon2::default()
            .verify_password(password.as_bytes(), &h)
            .is_ok()
    })
}

pub fn random_secret(bytes: usize) -> String {
    let mut buf = vec![0u8; bytes];
    rand::rngs::OsRng.fill_bytes(&mut buf);
    hex::encode(buf)
}

pub fn sha256_hex(s: &str) -> String {
    hex::encode(Sha256::digest(s.as_bytes()))
}

/// A successful login: the session secret goes into the cookie, the CSRF token to the page.
#[derive(Debug, Clone)]
pub struct LoginOk {
    pub session: String,
    pub csrf: String,
    pub username: String,
    pub role: Role,
    pub expires_at: chrono::DateTime<Utc>,
}

/// An authenticated request's principal.
#[derive(Debug, Clone)]
pub struct Principal {
    pub actor: Actor,
    pub username: String,
    /// Set for browser sessions: unsafe requests must echo it.
    pub csrf: Option<String>,
}

/// The username as it may appear in logs: a password typed into the username field must not
/// land there, so a name that is no valid username is logged only by a short hash.
fn loggable(name: &str) -> String {
    match rules::username(name) {
        Ok(n) => n,
        Err(_) => format!("invalid:{}", &sha256_hex(name)[..12]),
    }
}

/// Logs in. Every attempt is first admitted by the rate limits (429), then counted against the
/// account before the password is checked, in one transaction: attempts beyond the lockout
/// threshold lock the account whatever their password, and a right password is accepted only
/// if no parallel attempt locked the account meanwhile. A locked, disabled or unknown account
/// gets the same answer as a wrong password, so an answer never tells whether a user exists.
pub async fn login(ctx: &Ctx, username: &str, password: &str, client: &str) -> Result<LoginOk> {
    let name = loggable(username);
    if let Err(e) = ctx.login_guard.admit(client, &name) {
        ctx.metrics.login("rate_limited");
        tracing::warn!(username = %name, client, "login refused: rate limit");
        return Err(e);
    }
    let rule = lockout(ctx);
    let now = Utc::now();
    let mut tx = ctx.db.begin_write().await?;
    let user = db::user_by_name(tx.conn(), &name).await?;
    let Some(user) = user else {
        drop(tx);
        // Spend the same time as a real verification so that unknown names cannot be told apart.
        let password = password.to_string();
        let _ = ctx.login_guard.hash(move || hash_now(&password)).await?;
        let mut tx = ctx.db.begin_write().await?;
        audit_login(tx.conn(), &name, "login.failed", client, "unknown user").await?;
        tx.commit().await?;
        ctx.metrics.login("failed");
        tracing::warn!(username = %name, client, "login failed: unknown user");
        return Err(Error::BadCredentials);
    };
    let locked_until = user.locked_until.as_deref().and_then(from_db);
    let why = if user.disabled {
        Some("account disabled")
    } else if Lockout::is_locked(locked_until, now) {
        Some("account locked")
    } else {
        // Count this attempt now, before the password is known: parallel attempts each see
        // the ones before them.
        let failures_before = db::increment_failures(tx.conn(), user.id).await? - 1;
        match crate::domain::rate::attempt(failures_before, rule.threshold) {
            crate::domain::rate::Attempt::Verify => None,
            crate::domain::rate::Attempt::LockAndRefuse => {
                db::lock_unless_locked(
                    tx.conn(),
                    user.id,
                    &to_db(now + rule.lock_for),
                    &to_db(now),
                    None,
                )
                .await?;
                Some("account locked: too many attempts at once")
            }
        }
    };
    if let Some(why) = why {
        audit_login(tx.conn(), &name, "login.refused", client, why).await?;
        tx.commit().await?;
        ctx.metrics.login("locked");
        tracing::warn!(username = %name, client, "login refused: {why}");
        return Err(Error::BadCredentials);
    }
    tx.commit().await?;
    // Verify outside the write transaction, in one of the few hashing slots.
    let ok = {
        let (password, hash) = (password.to_string(), user.password_hash.clone());
        ctx.login_guard
            .hash(move || verify_now(&password, &hash))
            .await?
    };
    let now = Utc::now();
    let mut tx = ctx.db.begin_write().await?;
    if !ok {
        let locked = db::lock_unless_locked(
            tx.conn(),
            user.id,
            &to_db(now + rule.lock_for),
            &to_db(now),
            Some(rule.threshold),
        )
        .await?;
        let detail = if locked {
            format!(
                "wrong password; account locked for {} minutes",
                rule.lock_for.num_minutes()
            )
        } else {
            "wrong password".to_string()
        };
        audit_login(tx.conn(), &name, "login.failed", client, &detail).await?;
        tx.commit().await?;
        ctx.metrics.login("failed");
        tracing::warn!(username = %name, client, "login failed: {detail}");
        return Err(Error::BadCredentials);
    }
    if !db::succeed_unless_locked(tx.conn(), user.id, &to_db(now)).await? {
        let why = "right password, but the account was locked by attempts in parallel";
        audit_login(tx.conn(), &name, "login.refused", client, why).await?;
        tx.commit().await?;
        ctx.metrics.login("locked");
        tracing::warn!(username = %name, client, "login refused: {why}");
        return Err(Error::BadCredentials);
    }
    let role = Role::parse(&user.role)?;
    let session = random_secret(32);
    let csrf = random_secret(16);
    let expires_at = now + Duration::hours(i64::from(ctx.config.http.session_hours));
    db::insert_session(
        tx.conn(),
        &sha256_hex(&session),
        user.id,
        &csrf,
        &to_db(expires_at),
    )
    .await?;
    audit_login(tx.conn(), &name, "login.succeeded", client, "").await?;
    tx.commit().await?;
    ctx.metrics.login("succeeded");
    tracing::info!(username = %name, client, "login succeeded");
    Ok(LoginOk {
        session,
        csrf,
        username: name,
        role,
        expires_at,
    })
}

fn lockout(ctx: &Ctx) -> Lockout {
    Lockout {
        threshold: i64::from(ctx.config.auth.lockout_threshold),
        lock_for: Duration::minutes(i64::from(ctx.config.auth.lockout_minutes)),
    }
}

async fn audit_login(
    conn: &mut sqlx::AnyConnection,
    username: &str,
    action: &str,
    client: &str,
    detail: &str,
) -> Result<()> {
    store::audit::append(
        conn,
        NewAudit {
            actor: &format!("user:{username}"),
            action,
            subject: &format!("user:{username}"),
            purpose: None,
            detail: json!({ "client": client, "detail": detail }),
        },
    )
    .await?;
    Ok(())
}

pub async fn logout(ctx: &Ctx, session: &str) -> Result<()> {
    let mut tx = ctx.db.begin_write().await?;
    let hash = sha256_hex(session);
    db::delete_session(tx.conn(), &hash).await?;
    tx.commit().await?;
    ctx.principals.forget(&format!("s:{hash}"));
    Ok(())
}

/// A live session's or token's principal as remembered (`Ctx::principals`).
#[derive(Debug, Clone)]
pub struct CachedPrincipal {
    pub name: String,
    pub role: Role,
    /// A session's CSRF token (none for an API token).
    pub csrf: Option<String>,
}

pub async fn session_principal(ctx: &Ctx, session: &str) -> Result<Option<Principal>> {
    let hash = sha256_hex(session);
    let key = format!("s:{hash}");
    let cached = match ctx.principals.get(&key) {
        Some(c) => c,
        None => {
            let found = db::session_user(ctx.db.pool(), &hash, &store::now_db()).await?;
            let Some((_, username, role, csrf)) = found else {
                return Ok(None);
            };
            let c = CachedPrincipal {
                name: username,
                role: Role::parse(&role)?,
                csrf: Some(csrf),
            };
            ctx.principals.put(&key, c.clone());
            c
        }
    };
    Ok(Some(Principal {
        actor: Actor::user(&cached.name, cached.role),
        username: cached.name,
        csrf: cached.csrf,
    }))
}

pub async fn token_principal(ctx: &Ctx, token: &str) -> Result<Option<Principal>> {
    let hash = sha256_hex(token);
    let now = store::now_db();
    let key = format!("t:{hash}");
    let cached = match ctx.principals.get(&key) {
        Some(c) => c,
        None => {
            let found = db::token_by_hash(ctx.db.pool(), &hash, &now).await?;
            let Some((name, role)) = found else {
                return Ok(None);
            };
            let c = CachedPrincipal {
                name,
                role: Role::parse(&role)?,
                csrf: None,
            };
            ctx.principals.put(&key, c.clone());
            c
        }
    };
    // Last use is written at most once a minute per token, not on every request.
    if ctx.login_guard.token_use_due(&hash) {
        db::touch_token(ctx.db.pool(), &hash, &now).await?;
    }
    Ok(Some(Principal {
        actor: Actor::token(&cached.name, cached.role),
        username: cached.name,
        csrf: None,
    }))
}

/// A wall screen's key: a live API token of role `dashboard`, counted like a login attempt from
/// `client` (the same limits). Anything else is `BadCredentials`.
pub async fn wall_principal(ctx: &Ctx, client: &str, key: &str) -> Result<Principal> {
    ctx.login_guard.admit(client, "wall-screen")?;
    let key = key.trim();
    if key.is_empty() || key.len() > 128 {
        return Err(Error::BadCredentials);
    }
    match token_principal(ctx, key).await? {
        Some(p) if p.actor.role == Role::Dashboard => Ok(p),
        _ => Err(Error::BadCredentials),
    }
}

pub async fn create_user(
    ctx: &Ctx,
    by: &Actor,
    username: &str,
    role: Role,
    password: &str,
) -> Result<i64> {
    let name = rules::username(username)?;
    rules::password_policy(password)?;
    let hash = hash_password(password.to_string()).await?;
    let mut tx = ctx.db.begin_write().await?;
    let id = match db::insert_user(tx.conn(), &name, role.as_str(), &hash).await {
        Ok(id) => id,
        Err(e) if store::is_unique_violation(&e) => {
            return Err(Error::conflict(
                "user_exists",
                format!("a user named {name} already exists"),
            ))
        }
        Err(e) => return Err(e.into()),
    };
    let subject = format!("user:{name}");
    store::audit::append(
        tx.conn(),
        NewAudit {
            actor: &by.name,
            action: "user.created",
            subject: &subject,
            purpose: None,
            detail: json!({ "role": role }),
        },
    )
    .await?;
    tx.event(
        "user.created",
        &subject,
        &json!({ "username": name, "role": role }),
    )
    .await?;
    tx.commit().await?;
    Ok(id)
}

/// Sets a new password and lifts any lock.
pub async fn set_password(ctx: &Ctx, by: &Actor, username: &str, password: &str) -> Result<()> {
    let name = rules::username(username)?;
    rules::password_policy(password)?;
    let hash = hash_password(password.to_string()).await?;
    let mut tx = ctx.db.begin_write().await?;
    let user = db::user_by_name(tx.conn(), &name)
        .await?
        .ok_or_else(|| Error::NotFound(format!("user {name}")))?;
    db::set_password(tx.conn(), user.id, &hash).await?;
    let subject = format!("user:{name}");
    store::audit::append(
        tx.conn(),
        NewAudit {
            actor: &by.name,
            action: "user.password_set",
            subject: &subject,
            purpose: None,
            detail: json!({}),
        },
    )
    .await?;
    tx.event("user.password_set", &subject, &json!({ "username": name }))
        .await?;
    tx.commit().await?;
    ctx.principals.clear();
    Ok(())
}

/// Creates an API token and returns its secret, which is shown once and stored only hashed.
/// How long a token lives when its maker says nothing, and at most.
pub const TOKEN_DAYS_DEFAULT: u32 = 365;
pub const TOKEN_DAYS_MAX: u32 = 1825;

/// Makes an API token valid for `valid_days` (default a year); returns its id and secret.
pub async fn create_token(
    ctx: &Ctx,
    by: &Actor,
    name: &str,
    role: Role,
    valid_days: Option<u32>,
) -> Result<(i64, String)> {
    let name = rules::username(name).map_err(|e| Error::invalid("name", e.message))?;
    let days = valid_days.unwrap_or(TOKEN_DAYS_DEFAULT);
    if !(1..=TOKEN_DAYS_MAX).contains(&days) {
        return Err(Error::invalid(
            "valid_days",
            format!("must be between 1 and {TOKEN_DAYS_MAX}"),
        ));
    }
    let expires_at = to_db(Utc::now() + Duration::days(i64::from(days)));
    let secret = format!("ks_{}", random_secret(32));
    let mut tx = ctx.db.begin_write().await?;
    let id = match db::insert_token(
        tx.conn(),
        &name,
        role.as_str(),
        &sha256_hex(&secret),
        &by.name,
        &expires_at,
    )
    .await
    {
        Ok(id) => id,
        Err(e) if store::is_unique_violation(&e) => {
            return Err(Error::conflict(
                "token_exists",
                format!("a token named {name} already exists"),
            ))
        }
        Err(e) => return Err(e.into()),
    };
    let subject = format!("token:{name}");
    store::audit::append(
        tx.conn(),
        NewAudit {
            actor: &by.name,
            action: "token.created",
            subject: &subject,
            purpose: None,
            detail: json!({ "role": role, "expires_at": expires_at }),
        },
    )
    .await?;
    tx.event(
        "token.created",
        &subject,
        &json!({ "name": name, "role": role }),
    )
    .await?;
    tx.commit().await?;
    Ok((id, secret))
}

pub async fn revoke_token(ctx: &Ctx, by: &Actor, id: i64) -> Result<()> {
    let mut tx = ctx.db.begin_write().await?;
    if !db::revoke_token(tx.conn(), id).await? {
        return Err(Error::NotFound(format!("live token {id}")));
    }
    let subject = format!("token_id:{id}");
    store::audit::append(
        tx.conn(),
        NewAudit {
            actor: &by.name,
            action: "token.revoked",
            subject: &subject,
            purpose: None,
            detail: json!({}),
        },
    )
    .await?;
    tx.event("token.revoked", &subject, &json!({ "id": id }))
        .await?;
    tx.commit().await?;
    // Refused on this instance from now on; on another within ttl_cache::TTL.
    ctx.principals.clear();
    Ok(())
}

/// All users (admin).
pub async fn users(ctx: &Ctx) -> Result<Vec<db::UserInfo>> {
    Ok(db::list_users(ctx.db.pool()).await?)
}

/// All API tokens, without their secrets (admin).
pub async fn tokens(ctx: &Ctx) -> Result<Vec<db::TokenInfo>> {
    Ok(db::list_tokens(ctx.db.pool()).await?)
}
