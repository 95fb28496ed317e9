//! Barcode parse throughput: scans per second through the GS1 engine, for the kinds of scans
//! the warehouse sees. Run: `cargo bench --bench gs1_parse`. `floor_sha256_1kib` (SHA-256 of
//! 1 KiB) is the CPU floor measured in the same run: report each parse as a ratio to it.

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use konsign::domain::gs1;

fn bench(c: &mut Criterion) {
    let today = chrono::NaiveDate::from_ymd_opt(2026, 11, 22).unwrap();
    let scans: [(&str, &[u8]); 5] = [
        (
            "gs1_datamatrix_udi",
            b"]d201057089320000171727123110ABC-123\x1d21SN000123",
        ),
        ("gs1_128_sscc", b"]C100357089320000000018"),
        ("ean13", b"]E05708932000017"),
        (
            "digital_link",
            b"]Q1https://id.gs1.org/01/05708932000017/10/ABC-123?17=271231",
        ),
        ("hibc", b"+A123BJC5D6E71G"),
    ];
    let mut g = c.benchmark_group("gs1_parse");
    g.throughput(Throughput::Elements(1));
    // The CPU floor: the same work on any machine, so figures compare across machines as ratios.
    let block = [0x5au8; 1024];
    g.bench_function("floor_sha256_1kib", |b| {
        b.iter(|| <sha2::Sha256 as sha2::Digest>::digest(std::hint::black_box(&block)))
    });
    for (name, bytes) in scans {
        // Make sure the vectors are valid (or, for HIBC, fail the same way each time).
        let _ = gs1::parse(bytes, today);
        g.bench_function(name, |b| {
            b.iter(|| gs1::parse(std::hint::black_box(bytes), today))
        });
    }
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
