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

/// Hashes a password with argon2id on a blocking thread.
pub async fn hash_password(password: String) -> Result<String> {
    tokio::task::spawn_blocking(move || {
        let salt = SaltString::generate(&mut OsRng);
        Argon2::default()
            .hash_password(password.as_bytes(), &salt)
            .map(|h| h.to_string())
            .map_err(|e| Error::Internal(anyhow::anyhow!("password hashing failed: {e}")))
    })
    .await
    .map_err(|e| Error::Internal(e.into()))?
}

async fn verify_password(password: String, hash: String) -> bool {
    tokio::task::spawn_blocking(move || {
        PasswordHash::new(&hash).is_ok_and(|h| {
            Argon2::default()
                .verify_password(password.as_bytes(), &h)
                .is_ok()
        })
    })
    .await
    .unwrap_or(false)
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

pub async fn login(ctx: &Ctx, username: &str, password: &str, client: &str) -> Result<LoginOk> {
    let name = rules::username(username).unwrap_or_else(|_| username.chars().take(64).collect());
    let mut tx = ctx.db.begin_write().await?;
    let user = db::user_by_name(tx.conn(), &name).await?;
    let now = Utc::now();
    let Some(user) = user else {
        drop(tx);
        // Spend the same time as a real verification so that unknown names cannot be told apart.
        let _ = hash_password(password.to_string()).await;
        let mut tx = ctx.db.begin_write().await?;
        audit_login(tx.conn(), &name, "login.failed", client, "unknown user").await?;
        tx.commit().await?;
        ctx.metrics.login("failed");
        tracing::warn!(username = %name, client, "login failed: unknown user");
        return Err(Error::BadCredentials);
    };
    let locked_until = user.locked_until.as_deref().and_then(from_db);
    if user.disabled || Lockout::is_locked(locked_until, now) {
        let why = if user.disabled {
            "account disabled"
        } else {
            "account locked"
        };
        audit_login(tx.conn(), &name, "login.refused", client, why).await?;
        tx.commit().await?;
        ctx.metrics.login("locked");
        tracing::warn!(username = %name, client, "login refused: {why}");
        if user.disabled {
            return Err(Error::BadCredentials);
        }
        let until = locked_until
            .map(crate::domain::time::business_local)
            .unwrap_or_default();
        return Err(Error::Locked { until });
    }
    // Verify outside the write transaction: hashing takes tens of milliseconds.
    drop(tx);
    let ok = verify_password(password.to_string(), user.password_hash.clone()).await;
    let mut tx = ctx.db.begin_write().await?;
    if !ok {
        let failures = db::increment_failures(tx.conn(), user.id).await?;
        let rule = lockout(ctx);
        let (_, lock) = rule.after_failure(failures - 1, now);
        let detail = if let Some(until) = lock {
            db::lock_user(tx.conn(), user.id, &to_db(until)).await?;
            format!(
                "wrong password; account locked for {} minutes",
                rule.lock_for.num_minutes()
            )
        } else {
            format!("wrong password ({failures} in a row)")
        };
        audit_login(tx.conn(), &name, "login.failed", client, &detail).await?;
        tx.commit().await?;
        ctx.metrics.login("failed");
        tracing::warn!(username = %name, client, "login failed: {detail}");
        return Err(Error::BadCredentials);
    }
    let role = Role::parse(&user.role)?;
    db::record_success(tx.conn(), user.id).await?;
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
    db::delete_session(tx.conn(), &sha256_hex(session)).await?;
    tx.commit().await?;
    Ok(())
}

pub async fn session_principal(ctx: &Ctx, session: &str) -> Result<Option<Principal>> {
    let found = db::session_user(ctx.db.pool(), &sha256_hex(session), &store::now_db()).await?;
    let Some((_, username, role, csrf)) = found else {
        return Ok(None);
    };
    let role = Role::parse(&role)?;
    Ok(Some(Principal {
        actor: Actor::user(&username, role),
        username,
        csrf: Some(csrf),
    }))
}

pub async fn token_principal(ctx: &Ctx, token: &str) -> Result<Option<Principal>> {
    let found = db::token_by_hash(ctx.db.pool(), &sha256_hex(token)).await?;
    let Some((name, role)) = found else {
        return Ok(None);
    };
    let role = Role::parse(&role)?;
    Ok(Some(Principal {
        actor: Actor::token(&name, role),
        username: name,
        csrf: None,
    }))
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
    Ok(())
}

/// Creates an API token and returns its secret, which is shown once and stored only hashed.
pub async fn create_token(ctx: &Ctx, by: &Actor, name: &str, role: Role) -> Result<(i64, String)> {
    let name = rules::username(name).map_err(|e| Error::invalid("name", e.message))?;
    let secret = format!("ks_{}", random_secret(32));
    let mut tx = ctx.db.begin_write().await?;
    let id = match db::insert_token(
        tx.conn(),
        &name,
        role.as_str(),
        &sha256_hex(&secret),
        &by.name,
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
            detail: json!({ "role": role }),
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
    Ok(())
}
