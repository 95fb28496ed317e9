//! Bulk import of products and locations from CSV: all lines valid, or nothing is written.

use super::{Actor, Ctx};
use crate::domain::catalog::{Location, Product, ProductInput};
use crate::error::{Error, LineError, Result};
use crate::store::{self, audit::NewAudit, catalog as db};
use serde::Serialize;
use serde_json::json;
use std::collections::{HashMap, HashSet};

/// Largest file accepted (a few thousand products is a few hundred kilobytes).
pub const MAX_IMPORT_BYTES: usize = 10 * 1024 * 1024;
pub const MAX_IMPORT_ROWS: usize = 100_000;

pub const PRODUCT_COLUMNS: &[&str] = &[
    "gtin",
    "name",
    "producer",
    "category",
    "units_per_pack",
    "price_minor",
    "currency",
    "cut_to_fit",
    "cut_min_mm",
    "cut_max_mm",
    "cut_round",
    "cut_oval",
    "min_shelf_life_days",
    "weight_g",
];
const PRODUCT_REQUIRED: &[&str] = &[
    "gtin",
    "name",
    "producer",
    "category",
    "units_per_pack",
    "price_minor",
    "currency",
    "min_shelf_life_days",
];
pub const LOCATION_COLUMNS: &[&str] = &["code", "zone", "kind", "walk_seq"];

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct ImportReport {
    pub what: String,
    pub rows: usize,
    pub created: usize,
    pub updated: usize,
}

/// A CSV file read into header-indexed records, with problems named by line and column.
struct Sheet {
    index: HashMap<String, usize>,
    records: Vec<(u64, csv::StringRecord)>,
}

fn read_sheet(bytes: &[u8], known: &[&str], required: &[&str]) -> Result<Sheet> {
    let err = |line: u64, field: &str, message: String| {
        Error::InvalidMany(vec![LineError {
            line,
            field: field.into(),
            message,
        }])
    };
    if bytes.len() > MAX_IMPORT_BYTES {
        return Err(err(
            0,
            "file",
            format!("is larger than {} MiB", MAX_IMPORT_BYTES / 1024 / 1024),
        ));
    }
    let text = std::str::from_utf8(bytes)
        .map_err(|e| err(0, "file", format!("is not UTF-8 text ({e})")))?;
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    let mut reader = csv::ReaderBuilder::new()
        .trim(csv::Trim::All)
        .flexible(false)
        .from_reader(text.as_bytes());
    let headers = reader
        .headers()
        .map_err(|e| err(1, "header", format!("cannot be read: {e}")))?
        .clone();
    let mut index = HashMap::new();
    let mut problems = Vec::new();
    for (i, h) in headers.iter().enumerate() {
        let h = h.to_ascii_lowercase();
        if !known.contains(&h.as_str()) {
            problems.push(LineError {
                line: 1,
                field: h.clone(),
                message: format!("unknown column; known columns are {}", known.join(", ")),
            });
        } else if index.insert(h.clone(), i).is_some() {
            problems.push(LineError {
                line: 1,
                field: h,
                message: "column appears twice".into(),
            });
        }
    }
    for r in required {
        if !index.contains_key(*r) {
            problems.push(LineError {
                line: 1,
                field: (*r).into(),
                message: "required column is missing".into(),
            });
        }
    }
    if !problems.is_empty() {
        return Err(Error::InvalidMany(problems));
    }
    let mut records = Vec::new();
    for rec in reader.records() {
        match rec {
            Ok(r) => {
                let line = r.position().map(|p| p.line()).unwrap_or(0);
                if r.iter().all(str::is_empty) {
                    continue;
                }
                records.push((line, r));
            }
            Err(e) => {
                let line = e.position().map(|p| p.line()).unwrap_or(0);
                problems.push(LineError {
                    line,
                    field: "line".into(),
                    message: format!("is not valid CSV: {e}"),
                });
            }
        }
        if records.len() > MAX_IMPORT_ROWS {
            return Err(err(
                0,
                "file",
                format!("has more than {MAX_IMPORT_ROWS} rows"),
            ));
        }
    }
    if !problems.is_empty() {
        return Err(Error::InvalidMany(problems));
    }
    if records.is_empty() {
        return Err(err(2, "file", "has a header but no rows".into()));
    }
    Ok(Sheet { index, records })
}

impl Sheet {
    fn get<'a>(&self, r: &'a csv::StringRecord, col: &str) -> &'a str {
        self.index.get(col).and_then(|i| r.get(*i)).unwrap_or("")
    }
}

fn int(
    sheet: &Sheet,
    r: &csv::StringRecord,
    col: &str,
) -> std::result::Result<Option<i64>, String> {
    let v = sheet.get(r, col);
    if v.is_empty() {
        return Ok(None);
    }
    v.parse::<i64>()
        .map(Some)
        .map_err(|_| format!("{v:?} is not a whole number"))
}

fn boolean(sheet: &Sheet, r: &csv::StringRecord, col: &str) -> std::result::Result<bool, String> {
    match sheet.get(r, col).to_ascii_lowercase().as_str() {
        "" | "0" | "false" | "no" | "nej" => Ok(false),
        "1" | "true" | "yes" | "ja" => Ok(true),
        other => Err(format!("{other:?} is not true/false")),
    }
}

fn product_input(
    sheet: &Sheet,
    r: &csv::StringRecord,
) -> std::result::Result<ProductInput, (String, String)> {
    let num = |col: &str, required: bool| -> std::result::Result<Option<i64>, (String, String)> {
        let v = int(sheet, r, col).map_err(|m| (col.to_string(), m))?;
        if required && v.is_none() {
            return Err((col.to_string(), "must not be empty".into()));
        }
        Ok(v)
    };
    let flag = |col: &str| boolean(sheet, r, col).map_err(|m| (col.to_string(), m));
    Ok(ProductInput {
        gtin: sheet.get(r, "gtin").into(),
        name: sheet.get(r, "name").into(),
        producer: sheet.get(r, "producer").into(),
        category: sheet.get(r, "category").into(),
        units_per_pack: num("units_per_pack", true)?.unwrap_or(0),
        price_minor: num("price_minor", true)?.unwrap_or(0),
        currency: sheet.get(r, "currency").into(),
        cut_to_fit: flag("cut_to_fit")?,
        cut_min_mm: num("cut_min_mm", false)?,
        cut_max_mm: num("cut_max_mm", false)?,
        cut_round: flag("cut_round")?,
        cut_oval: flag("cut_oval")?,
        min_shelf_life_days: num("min_shelf_life_days", true)?.unwrap_or(0),
        weight_g: num("weight_g", false)?,
    })
}

pub async fn import_products(ctx: &Ctx, actor: &Actor, bytes: &[u8]) -> Result<ImportReport> {
    let sheet = read_sheet(bytes, PRODUCT_COLUMNS, PRODUCT_REQUIRED)?;
    let producers: HashSet<String> = db::list_producers(ctx.db.pool())
        .await?
        .into_iter()
        .map(|p| p.code)
        .collect();
    let mut problems = Vec::new();
    let mut products = Vec::new();
    let mut seen = HashMap::new();
    for (line, r) in &sheet.records {
        let parsed = product_input(&sheet, r)
            .and_then(|i| Product::from_input(&i).map_err(|e| (e.field, e.message)));
        match parsed {
            Err((field, message)) => problems.push(LineError {
                line: *line,
                field,
                message,
            }),
            Ok(p) => {
                if !producers.contains(p.producer.as_str()) {
                    problems.push(LineError {
                        line: *line,
                        field: "producer".into(),
                        message: format!("unknown producer {}", p.producer.as_str()),
                    });
                } else if let Some(first) = seen.insert(p.gtin.clone(), *line) {
                    problems.push(LineError {
                        line: *line,
                        field: "gtin".into(),
                        message: format!("{} already appears on line {first}", p.gtin),
                    });
                } else {
                    products.push(p);
                }
            }
        }
    }
    if !problems.is_empty() {
        return Err(Error::InvalidMany(problems));
    }
    let existing: HashSet<String> = db::list_products(ctx.db.pool(), &Default::default())
        .await?
        .into_iter()
        .map(|p| p.gtin)
        .collect();
    let mut tx = ctx.db.begin_write().await?;
    for p in &products {
        db::put_product(tx.conn(), p, true).await?;
    }
    let updated = products
        .iter()
        .filter(|p| existing.contains(p.gtin.as_str()))
        .count();
    let report = ImportReport {
        what: "products".into(),
        rows: products.len(),
        created: products.len() - updated,
        updated,
    };
    finish_import(&mut tx, actor, &report).await?;
    tx.commit().await?;
    ctx.products.clear();
    Ok(report)
}

pub async fn import_locations(ctx: &Ctx, actor: &Actor, bytes: &[u8]) -> Result<ImportReport> {
    let sheet = read_sheet(bytes, LOCATION_COLUMNS, LOCATION_COLUMNS)?;
    let mut problems = Vec::new();
    let mut locations = Vec::new();
    let mut seen = HashMap::new();
    for (line, r) in &sheet.records {
        let walk = match int(&sheet, r, "walk_seq") {
            Ok(Some(w)) => w,
            Ok(None) => {
                problems.push(LineError {
                    line: *line,
                    field: "walk_seq".into(),
                    message: "must not be empty".into(),
                });
                continue;
            }
            Err(m) => {
                problems.push(LineError {
                    line: *line,
                    field: "walk_seq".into(),
                    message: m,
                });
                continue;
            }
        };
        match Location::new(
            sheet.get(r, "code"),
            sheet.get(r, "zone"),
            sheet.get(r, "kind"),
            walk,
        ) {
            Err(e) => problems.push(LineError {
                line: *line,
                field: e.field,
                message: e.message,
            }),
            Ok(l) => {
                if let Some(first) = seen.insert(l.code.clone(), *line) {
                    problems.push(LineError {
                        line: *line,
                        field: "code".into(),
                        message: format!("{} already appears on line {first}", l.code.as_str()),
                    });
                } else {
                    locations.push(l);
                }
            }
        }
    }
    if !problems.is_empty() {
        return Err(Error::InvalidMany(problems));
    }
    let existing: HashSet<String> = db::list_locations(ctx.db.pool(), None, None)
        .await?
        .into_iter()
        .map(|l| l.code)
        .collect();
    let mut tx = ctx.db.begin_write().await?;
    for l in &locations {
        db::put_location(tx.conn(), l, true).await?;
    }
    let updated = locations
        .iter()
        .filter(|l| existing.contains(l.code.as_str()))
        .count();
    let report = ImportReport {
        what: "locations".into(),
        rows: locations.len(),
        created: locations.len() - updated,
        updated,
    };
    finish_import(&mut tx, actor, &report).await?;
    tx.commit().await?;
    Ok(report)
}

async fn finish_import(
    tx: &mut store::WriteTx,
    actor: &Actor,
    report: &ImportReport,
) -> Result<()> {
    let detail = json!(report);
    let subject = format!("import:{}", report.what);
    tx.event("catalog.imported", &subject, &detail).await?;
    store::audit::append(
        tx.conn(),
        NewAudit {
            actor: &actor.name,
            action: "catalog.imported",
            subject: &subject,
            purpose: None,
            detail,
        },
    )
    .await?;
    Ok(())
}
