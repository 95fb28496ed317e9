//! Producers, products, locations and their CSV import.

use crate::domain::auth::allow;
use crate::domain::catalog::{CutRange, Location, ProductInput};
use crate::http::auth::Caller;
use crate::http::error::{ApiResult, Body, ErrorBody, Json, Params, Path, Query};
use crate::http::AppState;
use crate::service::catalog::ProductFilter;
use crate::service::views::{
    self,
    catalog::{Location as LocationView, Producer, Product},
};
use crate::service::{catalog as svc, import};
use axum::body::Bytes;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::IntoResponse;
use serde::Deserialize;

/// All producers (consignment owners).
#[utoipa::path(get, path = "/api/producers", tag = "catalog", responses((status = 200, body = Vec<Producer>)),
    security(("session" = []), ("bearer" = [])))]
pub async fn list_producers(
    State(s): State<AppState>,
    caller: Caller,
) -> ApiResult<Json<Vec<Producer>>> {
    caller.require(allow::CATALOG_READ)?;
    Ok(Json(views::all(svc::producers(&s.ctx).await?)))
}

#[derive(Deserialize, utoipa::ToSchema)]
pub struct NewProducer {
    pub code: String,
    pub name: String,
}

/// Create a producer.
#[utoipa::path(post, path = "/api/producers", tag = "catalog", request_body = NewProducer,
    responses((status = 201, body = Producer), (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)),
    security(("session" = []), ("bearer" = [])))]
pub async fn create_producer(
    State(s): State<AppState>,
    caller: Caller,
    r: Body<NewProducer>,
) -> ApiResult<impl IntoResponse> {
    let p = caller.require(allow::CATALOG_WRITE)?;
    let Json(r) = r?;
    let v = svc::create_producer(&s.ctx, &p.actor, &r.code, &r.name).await?;
    Ok((StatusCode::CREATED, axum::Json(Producer::from(v))))
}

#[derive(Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ProductQuery {
    pub producer: Option<String>,
    pub category: Option<String>,
    /// Part of the name or GTIN.
    pub q: Option<String>,
}

/// Products, filtered.
#[utoipa::path(get, path = "/api/products", tag = "catalog", params(ProductQuery), responses((status = 200, body = Vec<Product>)),
    security(("session" = []), ("bearer" = [])))]
pub async fn list_products(
    State(s): State<AppState>,
    caller: Caller,
    q: Params<ProductQuery>,
) -> ApiResult<Json<Vec<Product>>> {
    caller.require(allow::CATALOG_READ)?;
    let Query(q) = q?;
    let f = ProductFilter {
        producer: q.producer.map(|p| p.trim().to_ascii_uppercase()),
        category: q.category,
        search: q.q,
    };
    Ok(Json(views::all(svc::products(&s.ctx, &f).await?)))
}

/// A product as posted: GTIN-8/12/13/14, price in minor units, optional cut range.
#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ProductBody {
    pub gtin: String,
    pub name: String,
    pub producer: String,
    /// baseplate, pouch, one_piece, accessory, irrigation or other
    #[schema(value_type = crate::domain::catalog::Category, inline)]
    pub category: String,
    pub units_per_pack: i64,
    pub price_minor: i64,
    pub currency: String,
    /// Present for a cut-to-fit product.
    pub cut_range: Option<CutRange>,
    pub min_shelf_life_days: i64,
    /// Grams per pack, for the parcel weight at packing.
    #[serde(default)]
    pub weight_g: Option<i64>,
}

impl ProductBody {
    fn input(&self) -> ProductInput {
        ProductInput {
            gtin: self.gtin.clone(),
            name: self.name.clone(),
            producer: self.producer.clone(),
            category: self.category.clone(),
            units_per_pack: self.units_per_pack,
            price_minor: self.price_minor,
            currency: self.currency.clone(),
            cut_to_fit: self.cut_range.is_some(),
            cut_min_mm: self.cut_range.map(|c| c.min_mm),
            cut_max_mm: self.cut_range.map(|c| c.max_mm),
            cut_round: self.cut_range.is_some_and(|c| c.round),
            cut_oval: self.cut_range.is_some_and(|c| c.oval),
            min_shelf_life_days: self.min_shelf_life_days,
            weight_g: self.weight_g,
        }
    }
}

/// Create a product.
#[utoipa::path(post, path = "/api/products", tag = "catalog", request_body = ProductBody,
    responses((status = 201, body = Product), (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)),
    security(("session" = []), ("bearer" = [])))]
pub async fn create_product(
    State(s): State<AppState>,
    caller: Caller,
    r: Body<ProductBody>,
) -> ApiResult<impl IntoResponse> {
    let p = caller.require(allow::CATALOG_WRITE)?;
    let Json(r) = r?;
    let v = svc::put_product(&s.ctx, &p.actor, &r.input(), false).await?;
    Ok((StatusCode::CREATED, axum::Json(Product::from(v))))
}

/// One product by GTIN (any GTIN length).
#[utoipa::path(get, path = "/api/products/{gtin}", tag = "catalog", params(("gtin" = String, Path)),
    responses((status = 200, body = Product), (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)),
    security(("session" = []), ("bearer" = [])))]
pub async fn get_product(
    State(s): State<AppState>,
    caller: Caller,
    Path(gtin): Path<String>,
) -> ApiResult<Json<Product>> {
    caller.require(allow::CATALOG_READ)?;
    Ok(Json(svc::product(&s.ctx, &gtin).await?.into()))
}

/// Create or replace a product.
#[utoipa::path(put, path = "/api/products/{gtin}", tag = "catalog", params(("gtin" = String, Path)), request_body = ProductBody,
    responses((status = 200, body = Product), (status = 422, body = ErrorBody)), security(("session" = []), ("bearer" = [])))]
pub async fn put_product(
    State(s): State<AppState>,
    caller: Caller,
    Path(gtin): Path<String>,
    r: Body<ProductBody>,
) -> ApiResult<Json<Product>> {
    let p = caller.require(allow::CATALOG_WRITE)?;
    let Json(r) = r?;
    let input = r.input();
    let (a, b) = (
        crate::domain::gtin::Gtin::parse(&gtin),
        crate::domain::gtin::Gtin::parse(&input.gtin),
    );
    if let (Ok(a), Ok(b)) = (&a, &b) {
        if a != b {
            return Err(crate::error::Error::invalid(
                "gtin",
                "the body's gtin differs from the one in the path",
            )
            .into());
        }
    }
    Ok(Json(
        svc::put_product(&s.ctx, &p.actor, &input, true)
            .await?
            .into(),
    ))
}

#[derive(Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct LocationQuery {
    pub kind: Option<String>,
    pub zone: Option<String>,
}

/// Locations in walking order.
#[utoipa::path(get, path = "/api/locations", tag = "catalog", params(LocationQuery), responses((status = 200, body = Vec<LocationView>)),
    security(("session" = []), ("bearer" = [])))]
pub async fn list_locations(
    State(s): State<AppState>,
    caller: Caller,
    q: Params<LocationQuery>,
) -> ApiResult<Json<Vec<LocationView>>> {
    caller.require(allow::CATALOG_READ)?;
    let Query(q) = q?;
    let zone = q.zone.map(|z| z.trim().to_ascii_uppercase());
    Ok(Json(views::all(
        svc::locations(&s.ctx, q.kind.as_deref(), zone.as_deref()).await?,
    )))
}

#[derive(Deserialize, utoipa::ToSchema)]
pub struct NewLocation {
    pub code: String,
    pub zone: String,
    /// receiving, pick, reserve, quarantine, cutting, packing, dispatch or tote
    #[schema(value_type = crate::domain::catalog::LocationKind, inline)]
    pub kind: String,
    pub walk_seq: i64,
}

/// Create a location.
#[utoipa::path(post, path = "/api/locations", tag = "catalog", request_body = NewLocation,
    responses((status = 201, body = LocationView), (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)),
    security(("session" = []), ("bearer" = [])))]
pub async fn create_location(
    State(s): State<AppState>,
    caller: Caller,
    r: Body<NewLocation>,
) -> ApiResult<impl IntoResponse> {
    let p = caller.require(allow::CATALOG_WRITE)?;
    let Json(r) = r?;
    let l =
        Location::new(&r.code, &r.zone, &r.kind, r.walk_seq).map_err(crate::error::Error::from)?;
    let v = svc::create_location(&s.ctx, &p.actor, &l).await?;
    Ok((StatusCode::CREATED, axum::Json(LocationView::from(v))))
}

/// One location.
#[utoipa::path(get, path = "/api/locations/{code}", tag = "catalog", params(("code" = String, Path)),
    responses((status = 200, body = LocationView), (status = 404, body = ErrorBody)), security(("session" = []), ("bearer" = [])))]
pub async fn get_location(
    State(s): State<AppState>,
    caller: Caller,
    Path(code): Path<String>,
) -> ApiResult<Json<LocationView>> {
    caller.require(allow::CATALOG_READ)?;
    Ok(Json(svc::location(&s.ctx, &code).await?.into()))
}

/// Import products from CSV (`text/csv` body). Columns: gtin, name, producer, category,
/// units_per_pack, price_minor, currency, cut_to_fit, cut_min_mm, cut_max_mm, cut_round, cut_oval,
/// min_shelf_life_days. Existing GTINs are updated. Nothing is written when any line is invalid.
#[utoipa::path(post, path = "/api/import/products", tag = "catalog", request_body(content = String, content_type = "text/csv"),
    responses((status = 200, body = import::ImportReport), (status = 422, description = "every problem by line and field", body = ErrorBody)),
    security(("session" = []), ("bearer" = [])))]
pub async fn import_products(
    State(s): State<AppState>,
    caller: Caller,
    body: Bytes,
) -> ApiResult<Json<import::ImportReport>> {
    let p = caller.require(allow::CATALOG_WRITE)?;
    Ok(Json(
        import::import_products(&s.ctx, &p.actor, &body).await?,
    ))
}

/// Import locations from CSV (`text/csv` body). Columns: code, zone, kind, walk_seq.
#[utoipa::path(post, path = "/api/import/locations", tag = "catalog", request_body(content = String, content_type = "text/csv"),
    responses((status = 200, body = import::ImportReport), (status = 422, body = ErrorBody)), security(("session" = []), ("bearer" = [])))]
pub async fn import_locations(
    State(s): State<AppState>,
    caller: Caller,
    body: Bytes,
) -> ApiResult<Json<import::ImportReport>> {
    let p = caller.require(allow::CATALOG_WRITE)?;
    Ok(Json(
        import::import_locations(&s.ctx, &p.actor, &body).await?,
    ))
}
