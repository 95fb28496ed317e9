//! Users, browser sessions and API tokens. Secrets are stored only as hashes.

use sqlx::{AnyConnection, AnyPool, Row};

#[derive(Debug, Clone)]
pub struct UserRow {
    pub id: i64,
    pub username: String,
    pub role: String,
    pub password_hash: String,
    pub failed_logins: i64,
    pub locked_until: Option<String>,
    pub disabled: bool,
}

#[derive(Debug, Clone)]
pub struct UserInfo {
    pub id: i64,
    pub username: String,
    pub role: String,
    pub locked_until: Option<String>,
    pub disabled: bool,
    pub created_at: String,
}

fn user_row(r: &sqlx::any::AnyRow) -> Result<UserRow, sqlx::Error> {
    Ok(UserRow {
        id: r.try_get("id")?,
        username: r.try_get("username")?,
        role: r.try_get("role")?,
        password_hash: r.try_get("password_hash")?,
        failed_logins: r.try_get("failed_logins")?,
        locked_until: r.try_get("locked_until")?,
        disabled: r.try_get::<i64, _>("disabled")? != 0,
    })
}

pub async fn user_by_name(
    conn: &mut AnyConnection,
    username: &str,
) -> Result<Option<UserRow>, sqlx::Error> {
    let row = sqlx::query(
        "select id, username, role, password_hash, failed_logins, locked_until, disabled from users where username = $1",
    )
    .bind(username)
    .fetch_optional(conn)
    .await?;
    row.as_ref().map(user_row).transpose()
}

pub async fn insert_user(
    conn: &mut AnyConnection,
    username: &str,
    role: &str,
    hash: &str,
) -> Result<i64, sqlx::Error> {
    let row = sqlx::query(
        "insert into users (username, role, password_hash, created_at) values ($1, $2, $3, $4) returning id",
    )
    .bind(username)
    .bind(role)
    .bind(hash)
    .bind(super::now_db())
    .fetch_one(conn)
    .await?;
    row.try_get("id")
}

/// Sets a new password hash, lifts any lock, and ends the user's sessions.
pub async fn set_password(
    conn: &mut AnyConnection,
    user_id: i64,
    hash: &str,
) -> Result<(), sqlx::Error> {
    sqlx::query("delete from sessions where user_id = $1")
        .bind(user_id)
        .execute(&mut *conn)
        .await?;
    sqlx::query(
        "update users set password_hash = $1, failed_logins = 0, locked_until = null where id = $2",
    )
    .bind(hash)
    .bind(user_id)
    .execute(conn)
    .await?;
    Ok(())
}

/// Counts one more failed login atomically; returns the new count.
pub async fn increment_failures(
    conn: &mut AnyConnection,
    user_id: i64,
) -> Result<i64, sqlx::Error> {
    sqlx::query(
        "update users set failed_logins = failed_logins + 1 where id = $1 returning failed_logins",
    )
    .bind(user_id)
    .fetch_one(conn)
    .await?
    .try_get("failed_logins")
}

pub async fn lock_user(
    conn: &mut AnyConnection,
    user_id: i64,
    until: &str,
) -> Result<(), sqlx::Error> {
    sqlx::query("update users set failed_logins = 0, locked_until = $1 where id = $2")
        .bind(until)
        .bind(user_id)
        .execute(conn)
        .await?;
    Ok(())
}

/// Locks the account unless it is locked already: when `over` is given, only if its failures
/// reached that many. True when this call locked it.
pub async fn lock_unless_locked(
    conn: &mut AnyConnection,
    user_id: i64,
    until: &str,
    now: &str,
    over: Option<i64>,
) -> Result<bool, sqlx::Error> {
    Ok(sqlx::query(
        "update users set failed_logins = 0, locked_until = $1
         where id = $2 and (locked_until is null or locked_until <= $3) and failed_logins >= $4",
    )
    .bind(until)
    .bind(user_id)
    .bind(now)
    .bind(over.unwrap_or(i64::MIN))
    .execute(conn)
    .await?
    .rows_affected()
        == 1)
}

/// A right password: the failures are cleared, unless the account was locked meanwhile (by
/// attempts that arrived in parallel). False when it is locked.
pub async fn succeed_unless_locked(
    conn: &mut AnyConnection,
    user_id: i64,
    now: &str,
) -> Result<bool, sqlx::Error> {
    Ok(sqlx::query(
        "update users set failed_logins = 0, locked_until = null
         where id = $1 and (locked_until is null or locked_until <= $2)",
    )
    .bind(user_id)
    .bind(now)
    .execute(conn)
    .await?
    .rows_affected()
        == 1)
}

pub async fn record_success(conn: &mut AnyConnection, user_id: i64) -> Result<(), sqlx::Error> {
    sqlx::query("update users set failed_logins = 0, locked_until = null where id = $1")
        .bind(user_id)
        .execute(conn)
        .await?;
    Ok(())
}

pub async fn list_users(pool: &AnyPool) -> Result<Vec<UserInfo>, sqlx::Error> {
    let rows = sqlx::query("select id, username, role, locked_until, disabled, created_at from users order by username")
        .fetch_all(pool)
        .await?;
    rows.iter()
        .map(|r| {
            Ok(UserInfo {
                id: r.try_get("id")?,
                username: r.try_get("username")?,
                role: r.try_get("role")?,
                locked_until: r.try_get("locked_until")?,
                disabled: r.try_get::<i64, _>("disabled")? != 0,
                created_at: r.try_get("created_at")?,
            })
        })
        .collect()
}

pub async fn count_users(pool: &AnyPool) -> Result<i64, sqlx::Error> {
    sqlx::query("select count(*) as n from users")
        .fetch_one(pool)
        .await?
        .try_get("n")
}

pub async fn insert_session(
    conn: &mut AnyConnection,
    id_hash: &str,
    user_id: i64,
    csrf: &str,
    expires_at: &str,
) -> Result<(), sqlx::Error> {
    sqlx::query("insert into sessions (id_hash, user_id, csrf_token, created_at, expires_at) values ($1, $2, $3, $4, $5)")
        .bind(id_hash)
        .bind(user_id)
        .bind(csrf)
        .bind(super::now_db())
        .bind(expires_at)
        .execute(conn)
        .await?;
    Ok(())
}

/// A live session's user: (user id, username, role, csrf token).
pub async fn session_user(
    pool: &AnyPool,
    id_hash: &str,
    now: &str,
) -> Result<Option<(i64, String, String, String)>, sqlx::Error> {
    let row = sqlx::query(
        "select u.id, u.username, u.role, s.csrf_token from sessions s join users u on u.id = s.user_id
         where s.id_hash = $1 and s.expires_at > $2 and u.disabled = 0",
    )
    .bind(id_hash)
    .bind(now)
    .fetch_optional(pool)
    .await?;
    row.map(|r| {
        Ok((
            r.try_get("id")?,
            r.try_get("username")?,
            r.try_get("role")?,
            r.try_get("csrf_token")?,
        ))
    })
    .transpose()
}

pub async fn delete_session(conn: &mut AnyConnection, id_hash: &str) -> Result<(), sqlx::Error> {
    sqlx::query("delete from sessions where id_hash = $1")
        .bind(id_hash)
        .execute(conn)
        .await?;
    Ok(())
}

pub async fn delete_expired_sessions(pool: &AnyPool, now: &str) -> Result<u64, sqlx::Error> {
    Ok(sqlx::query("delete from sessions where expires_at <= $1")
        .bind(now)
        .execute(pool)
        .await?
        .rows_affected())
}

#[derive(Debug, Clone)]
pub struct TokenInfo {
    pub id: i64,
    pub name: String,
    pub role: String,
    pub created_by: String,
    pub created_at: String,
    pub revoked_at: Option<String>,
    /// After this the token is refused (none: a token from before tokens expired).
    pub expires_at: Option<String>,
    /// When it was last used (to the minute).
    pub last_used_at: Option<String>,
}

pub async fn insert_token(
    conn: &mut AnyConnection,
    name: &str,
    role: &str,
    hash: &str,
    created_by: &str,
    expires_at: &str,
) -> Result<i64, sqlx::Error> {
    let row = sqlx::query(
        "insert into api_tokens (name, role, token_hash, created_by, created_at, expires_at) values ($1, $2, $3, $4, $5, $6) returning id",
    )
    .bind(name)
    .bind(role)
    .bind(hash)
    .bind(created_by)
    .bind(super::now_db())
    .bind(expires_at)
    .fetch_one(conn)
    .await?;
    row.try_get("id")
}

/// A live token's (name, role): not revoked, not expired at `now`.
pub async fn token_by_hash(
    pool: &AnyPool,
    hash: &str,
    now: &str,
) -> Result<Option<(String, String)>, sqlx::Error> {
    let row = sqlx::query(
        "select name, role from api_tokens where token_hash = $1 and revoked_at is null
           and (expires_at is null or expires_at > $2)",
    )
    .bind(hash)
    .bind(now)
    .fetch_optional(pool)
    .await?;
    row.map(|r| Ok((r.try_get("name")?, r.try_get("role")?)))
        .transpose()
}

/// Notes that a token was used now.
pub async fn touch_token(pool: &AnyPool, hash: &str, now: &str) -> Result<(), sqlx::Error> {
    sqlx::query("update api_tokens set last_used_at = $1 where token_hash = $2")
        .bind(now)
        .bind(hash)
        .execute(pool)
        .await?;
    Ok(())
}

pub async fn list_tokens(pool: &AnyPool) -> Result<Vec<TokenInfo>, sqlx::Error> {
    let rows = sqlx::query(
        "select id, name, role, created_by, created_at, revoked_at, expires_at, last_used_at from api_tokens order by id",
    )
    .fetch_all(pool)
    .await?;
    rows.iter()
        .map(|r| {
            Ok(TokenInfo {
                id: r.try_get("id")?,
                name: r.try_get("name")?,
                role: r.try_get("role")?,
                created_by: r.try_get("created_by")?,
                created_at: r.try_get("created_at")?,
                revoked_at: r.try_get("revoked_at")?,
                expires_at: r.try_get("expires_at")?,
                last_used_at: r.try_get("last_used_at")?,
            })
        })
        .collect()
}

/// Revokes a token; false when there is no live token with that id.
pub async fn revoke_token(conn: &mut AnyConnection, id: i64) -> Result<bool, sqlx::Error> {
    let n =
        sqlx::query("update api_tokens set revoked_at = $1 where id = $2 and revoked_at is null")
            .bind(super::now_db())
            .bind(id)
            .execute(conn)
            .await?
            .rows_affected();
    Ok(n == 1)
}
