//! Producers, products and locations: create, change and look up.

use super::{Actor, Ctx};
use crate::domain::catalog::{Location, Producer, Product, ProductInput};
use crate::domain::gtin::Gtin;
use crate::error::{Error, Result};
use crate::service::views;
/// The criteria of a list query, as the store reads them (an input, not an API body).
pub use crate::store::catalog::ProductFilter;
use crate::store::{self, catalog as db};
use serde_json::json;

pub async fn create_producer(
    ctx: &Ctx,
    actor: &Actor,
    code: &str,
    name: &str,
) -> Result<db::ProducerView> {
    let p = Producer::new(code, name)?;
    let mut tx = ctx.db.begin_write().await?;
    match db::insert_producer(tx.conn(), &p).await {
        Ok(()) => {}
        Err(e) if store::is_unique_violation(&e) => {
            return Err(Error::conflict(
                "producer_exists",
                format!("producer {} already exists", p.code.as_str()),
            ))
        }
        Err(e) => return Err(e.into()),
    }
    let subject = format!("producer:{}", p.code.as_str());
    tx.event(
        "catalog.producer_created",
        &subject,
        &json!({ "code": p.code, "name": p.name, "by": actor.name }),
    )
    .await?;
    tx.commit().await?;
    Ok(db::ProducerView {
        code: p.code.as_str().to_string(),
        name: p.name,
    })
}

/// Creates a product, or with `upsert` creates or replaces it.
pub async fn put_product(
    ctx: &Ctx,
    actor: &Actor,
    input: &ProductInput,
    upsert: bool,
) -> Result<db::ProductView> {
    let p = Product::from_input(input)?;
    let mut tx = ctx.db.begin_write().await?;
    if !db::producer_exists(tx.conn(), p.producer.as_str()).await? {
        return Err(Error::invalid(
            "producer",
            format!("unknown producer {}", p.producer.as_str()),
        ));
    }
    match db::put_product(tx.conn(), &p, upsert).await {
        Ok(()) => {}
        Err(e) if store::is_unique_violation(&e) => {
            return Err(Error::conflict(
                "product_exists",
                format!("product {} already exists", p.gtin),
            ))
        }
        Err(e) => return Err(e.into()),
    }
    let view = db::product(tx.conn(), p.gtin.as_str())
        .await?
        .ok_or_else(|| anyhow::anyhow!("product vanished"))?;
    let kind = if upsert {
        "catalog.product_saved"
    } else {
        "catalog.product_created"
    };
    tx.event(
        kind,
        &format!("product:{}", p.gtin),
        &json!({ "product": views::catalog::Product::from(view.clone()), "by": actor.name }),
    )
    .await?;
    tx.commit().await?;
    ctx.products.forget(p.gtin.as_str());
    Ok(view)
}

pub async fn product(ctx: &Ctx, gtin: &str) -> Result<db::ProductView> {
    let gtin = Gtin::parse(gtin).map_err(|e| Error::invalid("gtin", e.to_string()))?;
    let mut conn = ctx.db.pool().acquire().await?;
    db::product(&mut conn, gtin.as_str())
        .await?
        .ok_or_else(|| Error::NotFound(format!("product {gtin}")))
}

pub async fn create_location(ctx: &Ctx, actor: &Actor, l: &Location) -> Result<db::LocationView> {
    let mut tx = ctx.db.begin_write().await?;
    match db::put_location(tx.conn(), l, false).await {
        Ok(()) => {}
        Err(e) if store::is_unique_violation(&e) => {
            return Err(Error::conflict(
                "location_exists",
                format!("location {} already exists", l.code.as_str()),
            ))
        }
        Err(e) => return Err(e.into()),
    }
    let view = db::LocationView {
        code: l.code.as_str().into(),
        zone: l.zone.clone(),
        kind: l.kind.as_str().into(),
        walk_seq: l.walk_seq,
    };
    tx.event(
        "catalog.location_created",
        &format!("location:{}", l.code.as_str()),
        &json!({ "location": views::catalog::Location::from(view.clone()), "by": actor.name }),
    )
    .await?;
    tx.commit().await?;
    Ok(view)
}

pub async fn location(ctx: &Ctx, code: &str) -> Result<db::LocationView> {
    let code = code.trim().to_ascii_uppercase();
    let mut conn = ctx.db.pool().acquire().await?;
    db::location(&mut conn, &code)
        .await?
        .ok_or_else(|| Error::NotFound(format!("location {code}")))
}

/// All producers (consignment owners).
pub async fn producers(ctx: &Ctx) -> Result<Vec<db::ProducerView>> {
    Ok(db::list_producers(ctx.db.pool()).await?)
}

/// Products by producer, category or a search in name and GTIN.
pub async fn products(ctx: &Ctx, f: &db::ProductFilter) -> Result<Vec<db::ProductView>> {
    Ok(db::list_products(ctx.db.pool(), f).await?)
}

/// Locations in walking order, of a kind or a zone.
pub async fn locations(
    ctx: &Ctx,
    kind: Option<&str>,
    zone: Option<&str>,
) -> Result<Vec<db::LocationView>> {
    Ok(db::list_locations(ctx.db.pool(), kind, zone).await?)
}
