//! The domain event feed and the audit log, as the API reads them.

use super::{Actor, Ctx};
use crate::error::{Error, Result};
use crate::store::audit::AuditEntry;
/// The criteria of a list query, as the store reads them (an input, not an API body).
pub use crate::store::audit::AuditFilter;
use crate::store::events::Event;

/// How often each caller may read the event feeds (`http.feed_reads_per_minute`). A settled
/// read of the log waits for every writer in flight and holds up the writers that come after
/// it (`store::events::settled`), so a client that polls in a tight loop would slow every
/// write of the service: each user or API token gets its own bucket, refused with 429 and
/// `Retry-After` when it is empty. The service's own readers (the live hub, the command line)
/// are not counted.
pub struct FeedLimit(super::limiter::Limiter);

/// Callers a feed limit remembers at most (an entry is a few dozen bytes).
const FEED_CALLERS: usize = 10_000;

impl FeedLimit {
    pub fn new(per_minute: u32) -> Self {
        Self(super::limiter::Limiter::new(
            "feed",
            per_minute,
            FEED_CALLERS,
        ))
    }

    /// Counts one read of a feed by `who`; refused when its bucket is empty.
    pub fn admit(&self, who: &Actor) -> Result<()> {
        if who.from_outside() {
            self.0.admit(&who.name)
        } else {
            Ok(())
        }
    }
}

/// Domain events after a cursor, oldest first (`limit` 1 to 1000), as `who` reads them.
pub async fn events_after(ctx: &Ctx, who: &Actor, after: i64, limit: i64) -> Result<Vec<Event>> {
    if !(1..=1000).contains(&limit) {
        return Err(Error::invalid("limit", "must be between 1 and 1000"));
    }
    ctx.feed_limit.admit(who)?;
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
