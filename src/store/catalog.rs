//! Producers, products and locations.

use crate::domain::catalog::{CutRange, Location, Producer, Product};
use sqlx::{any::AnyRow, AnyConnection, AnyPool, Row};

/// A producer as the API shows it.
#[derive(Debug, Clone)]
pub struct ProducerView {
    pub code: String,
    pub name: String,
}

/// A product as the API shows it.
#[derive(Debug, Clone)]
pub struct ProductView {
    pub gtin: String,
    pub name: String,
    pub producer: String,
    pub category: String,
    pub units_per_pack: i64,
    pub price_minor: i64,
    pub currency: String,
    pub cut_to_fit: bool,
    pub cut_range: Option<CutRange>,
    pub min_shelf_life_days: i64,
    /// Grams per pack (for the parcel weight), when known.
    pub weight_g: Option<i64>,
}

/// A location as the API shows it.
#[derive(Debug, Clone)]
pub struct LocationView {
    pub code: String,
    pub zone: String,
    pub kind: String,
    pub walk_seq: i64,
}

pub async fn insert_producer(conn: &mut AnyConnection, p: &Producer) -> Result<(), sqlx::Error> {
    sqlx::query("insert into producers (code, name, created_at) values ($1, $2, $3)")
        .bind(p.code.as_str())
        .bind(&p.name)
        .bind(super::now_db())
        .execute(conn)
        .await?;
    Ok(())
}

pub async fn list_producers(pool: &AnyPool) -> Result<Vec<ProducerView>, sqlx::Error> {
    let rows = sqlx::query("select code, name from producers order by code")
        .fetch_all(pool)
        .await?;
    rows.iter()
        .map(|r| {
            Ok(ProducerView {
                code: r.try_get("code")?,
                name: r.try_get("name")?,
            })
        })
        .collect()
}

pub async fn producer_exists(conn: &mut AnyConnection, code: &str) -> Result<bool, sqlx::Error> {
    Ok(
        sqlx::query("select 1 as one from producers where code = $1")
            .bind(code)
            .fetch_optional(conn)
            .await?
            .is_some(),
    )
}

const PRODUCT_COLS: &str =
    "gtin, name, producer, category, units_per_pack, price_minor, currency, cut_to_fit, \
     cut_min_mm, cut_max_mm, cut_round, cut_oval, min_shelf_life_days, weight_g";

fn product_view(r: &AnyRow) -> Result<ProductView, sqlx::Error> {
    let cut_to_fit = r.try_get::<i64, _>("cut_to_fit")? != 0;
    let cut_range = if cut_to_fit {
        Some(CutRange {
            min_mm: r.try_get::<Option<i64>, _>("cut_min_mm")?.unwrap_or(0),
            max_mm: r.try_get::<Option<i64>, _>("cut_max_mm")?.unwrap_or(0),
            round: r.try_get::<i64, _>("cut_round")? != 0,
            oval: r.try_get::<i64, _>("cut_oval")? != 0,
        })
    } else {
        None
    };
    Ok(ProductView {
        gtin: r.try_get("gtin")?,
        name: r.try_get("name")?,
        producer: r.try_get("producer")?,
        category: r.try_get("category")?,
        units_per_pack: r.try_get("units_per_pack")?,
        price_minor: r.try_get("price_minor")?,
        currency: r.try_get("currency")?,
        cut_to_fit,
        cut_range,
        min_shelf_life_days: r.try_get("min_shelf_life_days")?,
        weight_g: r.try_get("weight_g")?,
    })
}

/// Inserts a product, or replaces every field of an existing one when `upsert` is set.
pub async fn put_product(
    conn: &mut AnyConnection,
    p: &Product,
    upsert: bool,
) -> Result<(), sqlx::Error> {
    let now = super::now_db();
    let conflict = if upsert {
        " on conflict (gtin) do update set name = excluded.name, producer = excluded.producer, \
          category = excluded.category, units_per_pack = excluded.units_per_pack, price_minor = excluded.price_minor, \
          currency = excluded.currency, cut_to_fit = excluded.cut_to_fit, cut_min_mm = excluded.cut_min_mm, \
          cut_max_mm = excluded.cut_max_mm, cut_round = excluded.cut_round, cut_oval = excluded.cut_oval, \
          min_shelf_life_days = excluded.min_shelf_life_days, weight_g = excluded.weight_g, updated_at = excluded.updated_at"
    } else {
        ""
    };
    let sql = format!(
        "insert into products ({PRODUCT_COLS}, created_at, updated_at) \
         values ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $15){conflict}"
    );
    sqlx::query(&sql)
        .bind(p.gtin.as_str())
        .bind(&p.name)
        .bind(p.producer.as_str())
        .bind(p.category.as_str())
        .bind(p.units_per_pack)
        .bind(p.price.minor)
        .bind(&p.price.currency)
        .bind(i64::from(p.cut.is_some()))
        .bind(p.cut.map(|c| c.min_mm))
        .bind(p.cut.map(|c| c.max_mm))
        .bind(i64::from(p.cut.is_some_and(|c| c.round)))
        .bind(i64::from(p.cut.is_some_and(|c| c.oval)))
        .bind(p.min_shelf_life_days)
        .bind(p.weight_g)
        .bind(now)
        .execute(conn)
        .await?;
    Ok(())
}

pub async fn product(
    conn: &mut AnyConnection,
    gtin: &str,
) -> Result<Option<ProductView>, sqlx::Error> {
    let sql = format!("select {PRODUCT_COLS} from products where gtin = $1");
    sqlx::query(&sql)
        .bind(gtin)
        .fetch_optional(conn)
        .await?
        .as_ref()
        .map(product_view)
        .transpose()
}

#[derive(Debug, Default, Clone)]
pub struct ProductFilter {
    pub producer: Option<String>,
    pub category: Option<String>,
    pub search: Option<String>,
}

/// A LIKE pattern (with `escape '!'`) that matches `text` anywhere, taking `%`, `_` and `!` in it
/// literally. `!` rather than a backslash: a backslash in a string literal depends on
/// PostgreSQL's `standard_conforming_strings`; `!` means the same on both backends.
fn contains_pattern(text: &str) -> String {
    let mut p = String::with_capacity(text.len() + 2);
    p.push('%');
    for c in text.chars() {
        if matches!(c, '%' | '_' | '!') {
            p.push('!');
        }
        p.push(c);
    }
    p.push('%');
    p
}

pub async fn list_products(
    pool: &AnyPool,
    f: &ProductFilter,
) -> Result<Vec<ProductView>, sqlx::Error> {
    let sql = format!(
        "select {PRODUCT_COLS} from products
         where ($1 is null or producer = $1) and ($2 is null or category = $2)
           and ($3 is null or lower(name) like $3 escape '!' or gtin like $3 escape '!')
         order by producer, name"
    );
    let search = f
        .search
        .as_ref()
        .map(|s| contains_pattern(&s.to_lowercase()));
    let rows = sqlx::query(&sql)
        .bind(f.producer.as_deref())
        .bind(f.category.as_deref())
        .bind(search)
        .fetch_all(pool)
        .await?;
    rows.iter().map(product_view).collect()
}

pub async fn put_location(
    conn: &mut AnyConnection,
    l: &Location,
    upsert: bool,
) -> Result<(), sqlx::Error> {
    let conflict = if upsert {
        " on conflict (code) do update set zone = excluded.zone, kind = excluded.kind, walk_seq = excluded.walk_seq"
    } else {
        ""
    };
    let sql = format!("insert into locations (code, zone, kind, walk_seq, created_at) values ($1, $2, $3, $4, $5){conflict}");
    sqlx::query(&sql)
        .bind(l.code.as_str())
        .bind(&l.zone)
        .bind(l.kind.as_str())
        .bind(l.walk_seq)
        .bind(super::now_db())
        .execute(conn)
        .await?;
    Ok(())
}

fn location_view(r: &AnyRow) -> Result<LocationView, sqlx::Error> {
    Ok(LocationView {
        code: r.try_get("code")?,
        zone: r.try_get("zone")?,
        kind: r.try_get("kind")?,
        walk_seq: r.try_get("walk_seq")?,
    })
}

pub async fn location(
    conn: &mut AnyConnection,
    code: &str,
) -> Result<Option<LocationView>, sqlx::Error> {
    sqlx::query("select code, zone, kind, walk_seq from locations where code = $1")
        .bind(code)
        .fetch_optional(conn)
        .await?
        .as_ref()
        .map(location_view)
        .transpose()
}

pub async fn list_locations(
    pool: &AnyPool,
    kind: Option<&str>,
    zone: Option<&str>,
) -> Result<Vec<LocationView>, sqlx::Error> {
    let rows = sqlx::query(
        "select code, zone, kind, walk_seq from locations
         where ($1 is null or kind = $1) and ($2 is null or zone = $2) order by walk_seq, code",
    )
    .bind(kind)
    .bind(zone)
    .fetch_all(pool)
    .await?;
    rows.iter().map(location_view).collect()
}

pub async fn count(pool: &AnyPool, table: CountTable) -> Result<i64, sqlx::Error> {
    let sql = match table {
        CountTable::Producers => "select count(*) as n from producers",
        CountTable::Products => "select count(*) as n from products",
        CountTable::Locations => "select count(*) as n from locations",
    };
    sqlx::query(sql).fetch_one(pool).await?.try_get("n")
}

#[derive(Debug, Clone, Copy)]
pub enum CountTable {
    Producers,
    Products,
    Locations,
}

#[cfg(test)]
mod tests {
    use super::contains_pattern;

    #[test]
    fn like_wildcards_in_a_search_are_taken_literally() {
        assert_eq!(contains_pattern("pose"), "%pose%");
        assert_eq!(contains_pattern("50%"), "%50!%%");
        assert_eq!(contains_pattern("a_b"), "%a!_b%");
        assert_eq!(contains_pattern("hej!"), "%hej!!%");
        assert_eq!(contains_pattern(""), "%%");
    }
}
