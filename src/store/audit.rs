//! The append-only audit log: who did or read what, when, and for reads of personal data, why.

use sqlx::{AnyConnection, Row};

#[derive(Debug, Clone)]
pub struct AuditEntry {
    pub id: i64,
    pub at: String,
    /// `user:NAME`, `token:NAME`, `system` or `cli`.
    pub actor: String,
    pub action: String,
    pub subject: String,
    pub purpose: Option<String>,
    pub detail: serde_json::Value,
}

pub struct NewAudit<'a> {
    pub actor: &'a str,
    pub action: &'a str,
    pub subject: &'a str,
    pub purpose: Option<&'a str>,
    pub detail: serde_json::Value,
}

pub async fn append(conn: &mut AnyConnection, e: NewAudit<'_>) -> Result<(), sqlx::Error> {
    sqlx::query(
        "insert into audit_log (at, actor, action, subject, purpose, detail) values ($1, $2, $3, $4, $5, $6)",
    )
    .bind(super::now_db())
    .bind(e.actor)
    .bind(e.action)
    .bind(e.subject)
    .bind(e.purpose)
    .bind(e.detail.to_string())
    .execute(conn)
    .await?;
    Ok(())
}

#[derive(Debug, Default, Clone)]
pub struct AuditFilter {
    pub actor: Option<String>,
    pub subject: Option<String>,
    pub action: Option<String>,
    pub from: Option<String>,
    pub to: Option<String>,
    pub before_id: Option<i64>,
    pub limit: i64,
}

/// Newest first. Filters are exact matches; `from` is inclusive and `to` exclusive.
pub async fn list(pool: &sqlx::AnyPool, f: &AuditFilter) -> Result<Vec<AuditEntry>, sqlx::Error> {
    let rows = sqlx::query(
        "select id, at, actor, action, subject, purpose, detail from audit_log
         where ($1 is null or actor = $1)
           and ($2 is null or subject = $2)
           and ($3 is null or action = $3)
           and ($4 is null or at >= $4)
           and ($5 is null or at < $5)
           and ($6 is null or id < $6)
         order by id desc limit $7",
    )
    .bind(f.actor.as_deref())
    .bind(f.subject.as_deref())
    .bind(f.action.as_deref())
    .bind(f.from.as_deref())
    .bind(f.to.as_deref())
    .bind(f.before_id)
    .bind(f.limit)
    .fetch_all(pool)
    .await?;
    rows.into_iter()
        .map(|r| {
            let detail: String = r.try_get("detail")?;
            Ok(AuditEntry {
                id: r.try_get("id")?,
                at: r.try_get("at")?,
                actor: r.try_get("actor")?,
                action: r.try_get("action")?,
                subject: r.try_get("subject")?,
                purpose: r.try_get("purpose")?,
                detail: serde_json::from_str(&detail).unwrap_or(serde_json::Value::Null),
            })
        })
        .collect()
}
