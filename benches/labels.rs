//! Render time per label: the shipping label (100 x 150 mm) laid out and rendered to ZPL, PDF
//! and PNG (203 dpi), and the cut sticker to ZPL. Run: `cargo bench --bench labels`.
//! `floor_sha256_1kib` (SHA-256 of 1 KiB) is the CPU floor measured in the same run.

use criterion::{criterion_group, criterion_main, Criterion};
use konsign::labels::template::Template;
use konsign::labels::{layout, pdf, png, zpl};
use std::hint::black_box;
use std::path::Path;

fn bench(c: &mut Criterion) {
    let templates =
        Template::load_dir(&Path::new(env!("CARGO_MANIFEST_DIR")).join("label-templates")).unwrap();
    let shipping = templates.iter().find(|t| t.name == "shipping").unwrap();
    let sticker = templates.iter().find(|t| t.name == "cut-sticker").unwrap();
    let today = chrono::NaiveDate::from_ymd_opt(2026, 11, 29).unwrap();
    // Fonts are loaded once per process, before the first label.
    let l = layout::layout(shipping, &shipping.sample, today).unwrap();
    let _ = pdf::render(&l, "warm").unwrap();

    let mut g = c.benchmark_group("label");
    // The CPU floor: the same work on any machine, so figures compare across machines as ratios.
    let block = [0x5au8; 1024];
    g.bench_function("floor_sha256_1kib", |b| {
        b.iter(|| <sha2::Sha256 as sha2::Digest>::digest(black_box(&block)))
    });
    g.bench_function("shipping_layout", |b| {
        b.iter(|| layout::layout(black_box(shipping), &shipping.sample, today).unwrap())
    });
    g.bench_function("shipping_zpl_203", |b| {
        b.iter(|| {
            zpl::render(
                black_box(shipping),
                &shipping.sample,
                zpl::Dpi::D203,
                "pj-0000000000000001",
                today,
            )
            .unwrap()
        })
    });
    g.bench_function("cut_sticker_zpl_203", |b| {
        b.iter(|| {
            zpl::render(
                black_box(sticker),
                &sticker.sample,
                zpl::Dpi::D203,
                "pj-0000000000000001",
                today,
            )
            .unwrap()
        })
    });
    g.bench_function("shipping_pdf", |b| {
        b.iter(|| {
            let l = layout::layout(black_box(shipping), &shipping.sample, today).unwrap();
            pdf::render(&l, "shipping").unwrap()
        })
    });
    g.bench_function("shipping_png_203", |b| {
        b.iter(|| {
            let l = layout::layout(black_box(shipping), &shipping.sample, today).unwrap();
            png::render(&l, 0, 203).unwrap()
        })
    });
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
