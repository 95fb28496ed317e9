//! Lot blocks: a lead stops a lot from leaving (a recall, a quality hold) and releases it again.
//! A blocked lot is refused at the pack station; the block is audit-logged and an event.

use super::{Actor, Ctx};
use crate::error::{Error, Result};
use crate::store::packing::{self as db, BlockRow};
use serde::{Deserialize, Serialize};
use serde_json::json;

#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct BlockRequest {
    pub gtin: String,
    pub lot: String,
    pub reason: String,
}

fn parse(r: &BlockRequest) -> Result<(String, String, String)> {
    let gtin = crate::domain::gtin::Gtin::parse(&r.gtin)
        .map_err(|e| Error::invalid("gtin", e.to_string()))?
        .to_string();
    let lot = crate::domain::stock::Lot::parse(&r.lot)?;
    let reason = crate::domain::stock::note("reason", &r.reason, true)?.unwrap_or_default();
    Ok((gtin, lot.as_str().to_string(), reason))
}

async fn record(
    ctx: &Ctx,
    actor: &Actor,
    action: &str,
    r: &BlockRequest,
    blocked: bool,
) -> Result<()> {
    let (gtin, lot, reason) = parse(r)?;
    let mut tx = ctx.db.begin_write().await?;
    let subject = format!("lot:{gtin}/{lot}");
    if blocked {
        db::insert_block(tx.conn(), &gtin, &lot, &reason, &actor.name).await?;
    } else if db::release_blocks(tx.conn(), &gtin, &lot, &actor.name).await? == 0 {
        return Err(Error::conflict(
            "not_blocked",
            format!("lot {lot} of {gtin} is not blocked"),
        ));
    }
    crate::store::audit::append(
        tx.conn(),
        crate::store::audit::NewAudit {
            actor: &actor.name,
            action,
            subject: &subject,
            purpose: None,
            detail: json!({ "reason": reason }),
        },
    )
    .await?;
    tx.event(
        action,
        &subject,
        &json!({ "gtin": gtin, "lot": lot, "reason": reason, "by": actor.name }),
    )
    .await?;
    tx.commit().await?;
    Ok(())
}

pub async fn block(ctx: &Ctx, actor: &Actor, r: &BlockRequest) -> Result<()> {
    record(ctx, actor, "lot.blocked", r, true).await
}

pub async fn release(ctx: &Ctx, actor: &Actor, r: &BlockRequest) -> Result<()> {
    record(ctx, actor, "lot.released", r, false).await
}

pub async fn list(ctx: &Ctx, active_only: bool) -> Result<Vec<BlockRow>> {
    Ok(db::list_blocks(ctx.db.pool(), active_only).await?)
}
