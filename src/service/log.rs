//! The domain event feed and the audit log, as the API reads them.

use super::Ctx;
use crate::error::{Error, Result};
use crate::store::audit::AuditEntry;
/// The criteria of a list query, as the store reads them (an input, not an API body).
pub use crate::store::audit::AuditFilter;
use crate::store::events::Event;

/// Domain events after a cursor, oldest first (`limit` 1 to 1000).
pub async fn events_after(ctx: &Ctx, after: i64, limit: i64) -> Result<Vec<Event>> {
    if !(1..=1000).contains(&limit) {
        return Err(Error::invalid("limit", "must be between 1 and 1000"));
    }
    Ok(
        crate::store::events::list_after(ctx.db.pool(), ctx.db.backend(), after.max(0), limit)
            .await?,
    )
}

/// Audit entries, newest first (`limit` 1 to 1000).
pub async fn audit(ctx: &Ctx, f: &AuditFilter) -> Result<Vec<AuditEntry>> {
    if !(1..=1000).contains(&f.limit) {
        return Err(Error::invalid("limit", "must be between 1 and 1000"));
    }
    Ok(crate::store::audit::list(ctx.db.pool(), f).await?)
}
