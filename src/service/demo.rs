//! A realistic demo dataset: producers, products (with cut-to-fit baseplates), locations in
//! walking order, stock in several lots, and one user per role with a known password. Loaded
//! only outside production and only into an empty database; a database that has it is marked,
//! and every page then shows the demo band.

use super::stock::{self, ReceiveRequest, UnitOpRequest};
use super::{auth, catalog, Actor, Ctx};
use crate::config::Environment;
use crate::domain::auth::Role;
use crate::domain::catalog::{Location, ProductInput};
use crate::domain::gtin::Gtin;
use crate::domain::stock::OpKind;
use crate::error::{Error, Result};
use crate::store::meta::{self, Contents, Marked};
use chrono::Duration;
use rand::{rngs::StdRng, Rng, SeedableRng};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

/// Whether this database holds demo data (the pages show a band then); cheap to clone.
#[derive(Debug, Clone, Default)]
pub struct DemoFlag(Arc<AtomicBool>);

impl DemoFlag {
    /// Reads the mark from the database. A production instance on a demo database says so
    /// loudly (its users have known passwords) and still shows the band.
    pub async fn read(db: &crate::store::Db, environment: Environment) -> anyhow::Result<Self> {
        let loaded = meta::get(db.pool(), meta::DEMO_DATA).await?.is_some();
        if loaded && environment == Environment::Production {
            tracing::error!(
                "this database holds demo data (users with known passwords) but environment is \
                 production; use a new, empty database for production"
            );
        }
        Ok(Self(Arc::new(AtomicBool::new(loaded))))
    }

    pub fn loaded(&self) -> bool {
        self.0.load(Ordering::Relaxed)
    }

    fn set(&self) {
        self.0.store(true, Ordering::Relaxed);
    }
}

/// Why demo data may not be loaded here, if it may not: in production never; elsewhere only
/// into a database without users, API tokens, producers or products.
fn refusal(environment: Environment, contents: Option<&Contents>) -> Option<String> {
    if !environment.allows_demo_data() {
        return Some(
            "refusing to load demo data: environment is production; demo data (users with known \
             passwords) is only for environment = \"development\" or \"test\" \
             (KONSIGN_ENVIRONMENT), on a new, empty database"
                .into(),
        );
    }
    let c = contents.filter(|c| !c.is_empty())?;
    Some(format!(
        "refusing to load demo data: the database is not empty (users {}, API tokens {}, \
         producers {}, products {}); demo data (users with known passwords) goes only into a \
         new, empty database",
        c.users, c.api_tokens, c.producers, c.products
    ))
}

/// What was loaded, for the operator to read.
#[derive(Debug, Default)]
pub struct DemoReport {
    pub loaded: bool,
    pub producers: usize,
    pub products: usize,
    pub locations: usize,
    pub receipts: usize,
    /// Demo citizen orders handed over, and how many of them were allocated at once.
    pub orders: usize,
    pub orders_allocated: usize,
    /// (username, role, password) of users created now.
    pub users: Vec<(String, Role, String)>,
}

/// Producers: code, name, GS1 company prefix used for their demo GTINs.
const PRODUCERS: &[(&str, &str, &str)] = &[
    ("COLOPLAST", "Coloplast A/S", "570893"),
    ("HOLLISTER", "Hollister Danmark ApS (Dansac)", "575012"),
    ("CONVATEC", "ConvaTec Danmark", "576021"),
    ("BBRAUN", "B. Braun Medical A/S", "402249"),
    ("SALTS", "Salts Healthcare Ltd", "503301"),
];

/// Product lines per producer: (name, category, units per pack, price øre, cut range, min shelf days).
type Line = (
    &'static str,
    &'static str,
    i64,
    i64,
    Option<(i64, i64, bool, bool)>,
    i64,
);
const LINES: &[Line] = &[
    (
        "Basisplade flad, koblingsring 40 mm",
        "baseplate",
        5,
        41_500,
        Some((10, 33, true, true)),
        90,
    ),
    (
        "Basisplade flad, koblingsring 50 mm",
        "baseplate",
        5,
        41_500,
        Some((10, 43, true, true)),
        90,
    ),
    (
        "Basisplade flad, koblingsring 60 mm",
        "baseplate",
        5,
        43_000,
        Some((15, 53, true, true)),
        90,
    ),
    (
        "Basisplade konveks, koblingsring 50 mm",
        "baseplate",
        5,
        52_500,
        Some((15, 38, true, false)),
        90,
    ),
    (
        "Basisplade klæbende kobling 70 mm",
        "baseplate",
        5,
        47_000,
        Some((20, 70, true, true)),
        90,
    ),
    (
        "Åben pose (tømbar) 50 mm, transparent",
        "pouch",
        10,
        36_000,
        None,
        60,
    ),
    (
        "Lukket pose 50 mm, hudfarvet, filter",
        "pouch",
        30,
        54_000,
        None,
        60,
    ),
    (
        "Urostomipose 50 mm med tilbageløbsventil",
        "pouch",
        10,
        61_000,
        None,
        60,
    ),
    (
        "1-dels lukket pose, klip-selv 10-55 mm",
        "one_piece",
        30,
        72_000,
        Some((10, 55, true, true)),
        90,
    ),
    (
        "1-dels åben pose, klip-selv 15-64 mm",
        "one_piece",
        10,
        48_000,
        Some((15, 64, true, false)),
        90,
    ),
    ("Hudbeskyttende pasta 60 g", "accessory", 1, 9_500, None, 30),
    ("Klæbefjerner spray 50 ml", "accessory", 1, 11_000, None, 30),
    (
        "Formbar tætningsring 48 mm",
        "accessory",
        10,
        28_000,
        None,
        60,
    ),
];

fn location_plan() -> Vec<Location> {
    let mut v = Vec::new();
    let mut seq = 0;
    let mut add = |code: String, zone: &str, kind: &str| {
        seq += 10;
        v.push(Location::new(&code, zone, kind, seq).expect("demo locations are valid"));
    };
    for i in 1..=2 {
        add(format!("RCV-{i:02}"), "RCV", "receiving");
    }
    // Eight pick aisles walked in a serpentine: odd aisles up, even aisles down.
    for (a, aisle) in ['A', 'B', 'C', 'D', 'E', 'F', 'G', 'H']
        .into_iter()
        .enumerate()
    {
        let bays: Vec<i32> = if a % 2 == 0 {
            (1..=10).collect()
        } else {
            (1..=10).rev().collect()
        };
        for bay in bays {
            for level in 1..=3 {
                add(
                    format!("{aisle}-{bay:02}-{level}"),
                    &aisle.to_string(),
                    "pick",
                );
            }
        }
    }
    for i in 1..=24 {
        add(format!("R-{i:02}"), "R", "reserve");
    }
    for i in 1..=2 {
        add(format!("QUA-{i:02}"), "QUA", "quarantine");
    }
    for i in 1..=4 {
        add(format!("CUT-{i:02}"), "CUT", "cutting");
    }
    for i in 1..=4 {
        add(format!("PAK-{i:02}"), "PAK", "packing");
    }
    add("DSP-01".into(), "DSP", "dispatch");
    // Pick totes: each carries one order from the shelves to cutting and packing.
    for i in 1..=40 {
        add(format!("TOTE-{i:03}"), "TOTE", "tote");
    }
    v
}

pub fn demo_password(role: Role) -> String {
    format!("konsign-{}", role.as_str())
}

/// Loads the demo data into an empty database outside production; refuses (`demo_refused`)
/// anywhere else. A database that has the demo data already is left as it is (`loaded` false).
pub async fn load(ctx: &Ctx) -> Result<DemoReport> {
    let environment = ctx.config.environment;
    let refused = |why: String| Error::conflict("demo_refused", why);
    if let Some(why) = refusal(environment, None) {
        return Err(refused(why));
    }
    // The mark goes in first, in the transaction that finds the database empty: a load that
    // stops half-way still leaves a database marked as demo data.
    match meta::mark_if_empty(&ctx.db, meta::DEMO_DATA, environment.as_str()).await? {
        Marked::Now => ctx.demo.set(),
        Marked::Already => {
            ctx.demo.set();
            return Ok(DemoReport::default());
        }
        Marked::NotEmpty(c) => {
            return Err(refused(refusal(environment, Some(&c)).unwrap_or_default()))
        }
    }
    let mut report = DemoReport {
        loaded: true,
        ..Default::default()
    };
    let actor = Actor::system();
    for role in Role::ALL {
        let name = role.as_str();
        let password = demo_password(role);
        auth::create_user(ctx, &actor, name, role, &password).await?;
        report.users.push((name.to_string(), role, password));
    }
    for (code, name, _) in PRODUCERS {
        catalog::create_producer(ctx, &actor, code, name).await?;
        report.producers += 1;
    }
    let locations = location_plan();
    for l in &locations {
        catalog::create_location(ctx, &actor, l).await?;
    }
    report.locations = locations.len();
    let picks: Vec<&Location> = locations
        .iter()
        .filter(|l| l.kind.as_str() == "pick")
        .collect();
    let mut rng = StdRng::seed_from_u64(2026);
    let today = super::today();
    let mut pick_slot = 0usize;
    let mut orderable: Vec<(String, Option<(i64, i64)>)> = Vec::new();
    for (pi, (producer, _, prefix)) in PRODUCERS.iter().enumerate() {
        for (li, (name, category, units, price, cut, shelf)) in LINES.iter().enumerate() {
            let gtin = Gtin::with_check_digit(&format!("{prefix}{:06}", 10_000 + li * 7 + pi))
                .expect("demo gtin");
            let input = ProductInput {
                gtin: gtin.to_string(),
                name: (*name).into(),
                producer: (*producer).into(),
                category: (*category).into(),
                units_per_pack: *units,
                price_minor: price + 500 * pi as i64,
                currency: "DKK".into(),
                cut_to_fit: cut.is_some(),
                cut_min_mm: cut.map(|c| c.0),
                cut_max_mm: cut.map(|c| c.1),
                cut_round: cut.is_some_and(|c| c.2),
                cut_oval: cut.is_some_and(|c| c.3),
                min_shelf_life_days: *shelf,
                weight_g: Some(demo_weight(category)),
            };
            catalog::put_product(ctx, &actor, &input, false).await?;
            report.products += 1;
            orderable.push((gtin.to_string(), cut.map(|c| (c.0, c.1))));
            // Two to four lots: the oldest sometimes inside the minimum shelf life (short-dated).
            let lots = rng.gen_range(2..=4);
            for lot_i in 0..lots {
                let days = if lot_i == 0 && rng.gen_bool(0.25) {
                    rng.gen_range(10..60)
                } else {
                    rng.gen_range(120..900)
                };
                let expiry = today + Duration::days(days + 120 * lot_i);
                let location = if lot_i < 2 {
                    let l = picks[pick_slot % picks.len()];
                    pick_slot += 1;
                    l.code.as_str().to_string()
                } else {
                    format!("R-{:02}", 1 + (pi * 13 + li) % 24)
                };
                let req = ReceiveRequest {
                    idempotency_key: Some(format!("demo-{gtin}-{lot_i}")),
                    gtin: gtin.to_string(),
                    lot: format!("{}{:05}", &producer[..2], rng.gen_range(10_000..99_999)),
                    expiry: expiry.to_string(),
                    location,
                    quantity: rng.gen_range(12..=160),
                    owner: None,
                    reference: Some(format!("DEMO-ASN-{:04}", 1 + report.receipts / 10)),
                };
                let done = stock::receive(ctx, &actor, &req).await?;
                report.receipts += 1;
                // A few damaged packs from the first deliveries wait in quarantine.
                if report.receipts.is_multiple_of(37) {
                    let unit = done.entries[0].stock_unit_id;
                    let q = UnitOpRequest {
                        idempotency_key: Some(format!("demo-quarantine-{unit}")),
                        stock_unit_id: unit,
                        quantity: 2,
                        to_location: None,
                        new_owner: None,
                        scrap_reason: None,
                        reason: Some("emballage beskadiget ved modtagelse".into()),
                        reference: None,
                    };
                    stock::unit_op(ctx, &actor, OpKind::Quarantine, &q).await?;
                }
            }
        }
    }
    demo_orders(ctx, &mut rng, &orderable, &mut report).await?;
    // Two label printers and the pack station's document printer on loopback:
    // `konsign simulate printer` plays them.
    for (id, name, port, w, h, station, kind) in [
        ("pack-1", "Pakkebord 1", 9100, 102.0, 152.0, "PAK-01", "zpl"),
        ("cut-1", "Hulklip 1", 9101, 51.0, 32.0, "CUT-01", "zpl"),
        (
            "doc-1",
            "Pakkebord 1 A4",
            9102,
            210.0,
            297.0,
            "PAK-01",
            "pdf",
        ),
    ] {
        super::printing::put_printer(
            ctx,
            &actor,
            id,
            &super::printing::PrinterInput {
                name: Some(name.into()),
                host: "127.0.0.1".into(),
                port: Some(port),
                dpi: Some(203),
                label_width_mm: w,
                label_height_mm: h,
                station: Some(station.into()),
                enabled: Some(true),
                kind: Some(kind.into()),
                templates: None,
            },
        )
        .await?;
    }
    // A cutting station that prints its stickers on cut-1; `docs/devices/hulklip-mqtt.md`
    // shows how to play it with mosquitto_pub against the embedded broker.
    super::cutting::put_station(
        ctx,
        &actor,
        "cut-1",
        &super::cutting::StationInput {
            name: Some("Hulklip 1".into()),
            printer: Some("cut-1".into()),
            enabled: Some(true),
            manual: None,
            queue_limit: None,
        },
    )
    .await?;
    Ok(report)
}

const DEMO_CITIES: &[(&str, &str, &str, &str)] = &[
    ("Aarhus C", "8000", "0751", "Aarhus Kommune"),
    ("Vejle", "7100", "0630", "Vejle Kommune"),
    ("Odense C", "5000", "0461", "Odense Kommune"),
    ("Herning", "7400", "0657", "Herning Kommune"),
];

/// Two dozen citizen orders from the ordering system (pseudonymous ids, made-up names), a few
/// with cut-to-fit plates, so a wave can be made and picked right away.
async fn demo_orders(
    ctx: &Ctx,
    rng: &mut StdRng,
    products: &[(String, Option<(i64, i64)>)],
    report: &mut DemoReport,
) -> Result<()> {
    use crate::domain::order::{CutInput, LineInput, OrderInput, PayerInput, RecipientInput};
    const NAMES: &[&str] = &[
        "Åse Ørnbøl",
        "Jens Hansen",
        "Birthe Møller",
        "Søren Kjær",
        "Inge Lund",
        "Mads Østergaard",
    ];
    let actor = Actor {
        name: "system:demo".into(),
        role: Role::Integration,
    };
    let today = super::today();
    for i in 0..24 {
        let (city, postcode, payer, payer_name) = DEMO_CITIES[i % DEMO_CITIES.len()];
        let n = rng.gen_range(1..=4);
        let mut lines: Vec<LineInput> = Vec::new();
        for _ in 0..n {
            let (gtin, cut) = &products[rng.gen_range(0..products.len())];
            if lines.iter().any(|l| &l.gtin == gtin) {
                continue;
            }
            lines.push(LineInput {
                gtin: gtin.clone(),
                quantity: rng.gen_range(1..=3),
                cut: cut.map(|(min, max)| CutInput {
                    shape: "round".into(),
                    diameter_mm: Some(rng.gen_range(min..=max)),
                    measured_on: (today - Duration::days(rng.gen_range(5..200))).to_string(),
                    ..Default::default()
                }),
            });
        }
        let input = OrderInput {
            external_id: format!("DEMO-{:04}", i + 1),
            payer: PayerInput {
                code: payer.into(),
                name: payer_name.into(),
                ean: "5798000000001".into(),
            },
            grant_ref: format!("BEV-{}", 4000 + i),
            citizen_id: format!("demo-citizen-{:03}", i + 1),
            recipient: RecipientInput {
                name: NAMES[i % NAMES.len()].into(),
                address_line1: format!("Demovej {}", i + 1),
                postcode: postcode.into(),
                city: city.into(),
                ..Default::default()
            },
            delivery_date: (today + Duration::days(2)).to_string(),
            lines,
        };
        let r = super::orders::intake(ctx, &actor, &input).await?;
        report.orders += 1;
        if r.order.status == crate::domain::order::OrderStatus::Allocated {
            report.orders_allocated += 1;
        }
    }
    Ok(())
}

/// A plausible weight per pack for the demo catalog, in grams.
fn demo_weight(category: &str) -> i64 {
    match category {
        "baseplate" => 90,
        "pouch" => 180,
        "one_piece" => 240,
        "irrigation" => 650,
        _ => 120,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn demo_data_is_refused_in_production_even_on_an_empty_database() {
        let why = refusal(Environment::Production, Some(&Contents::default())).unwrap();
        assert!(why.contains("environment is production"), "{why}");
        assert!(refusal(Environment::Production, None).is_some());
    }

    #[test]
    fn demo_data_is_refused_on_a_database_that_holds_anything() {
        for c in [
            Contents {
                users: 1,
                ..Default::default()
            },
            Contents {
                products: 3,
                ..Default::default()
            },
        ] {
            for env in [Environment::Test, Environment::Development] {
                let why = refusal(env, Some(&c)).unwrap();
                assert!(why.contains("not empty"), "{why}");
            }
        }
        assert_eq!(refusal(Environment::Development, None), None);
        assert_eq!(refusal(Environment::Test, Some(&Contents::default())), None);
    }
}
