//! `docs/grafana/konsign-dashboard.json`, the Grafana dashboard for Prometheus users: its shape
//! as Grafana imports it (checked here against the dashboard JSON model: the fields an import
//! needs, panels on the 24-column grid without overlap, each query on the declared data source)
//! and every konsign metric its queries name served by `/metrics`. The values are compared with
//! the lead's dashboard in `tests/dashboard_floor.rs`.

mod common;

use serde_json::Value;
use std::collections::BTreeSet;

fn dashboard() -> Value {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("docs/grafana/konsign-dashboard.json");
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).expect("the dashboard is JSON")
}

/// The `konsign_…` metric names a PromQL expression names.
fn metric_names(expr: &str) -> BTreeSet<String> {
    let mut out = BTreeSet::new();
    let mut rest = expr;
    while let Some(at) = rest.find("konsign_") {
        let tail = &rest[at..];
        let end = tail
            .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
            .unwrap_or(tail.len());
        out.insert(tail[..end].to_string());
        rest = &tail[end..];
    }
    out
}

#[test]
fn the_grafana_dashboard_has_the_shape_grafana_imports() {
    let d = dashboard();
    for field in [
        "title",
        "uid",
        "schemaVersion",
        "panels",
        "time",
        "__inputs",
    ] {
        assert!(d.get(field).is_some(), "the dashboard has {field}");
    }
    assert!(d["schemaVersion"].as_i64().unwrap() >= 36);
    let input = d["__inputs"][0]["name"].as_str().unwrap();
    assert_eq!(d["__inputs"][0]["pluginId"], "prometheus");
    let source = format!("${{{input}}}");
    let panels = d["panels"].as_array().unwrap();
    assert!(panels.len() >= 10);
    let mut ids = BTreeSet::new();
    let mut cells: BTreeSet<(i64, i64)> = BTreeSet::new();
    for p in panels {
        let title = p["title"].as_str().unwrap();
        assert!(
            ids.insert(p["id"].as_i64().unwrap()),
            "{title}: its id is unique"
        );
        assert!(
            ["timeseries", "stat", "bargauge"].contains(&p["type"].as_str().unwrap()),
            "{title}: a panel type Grafana ships"
        );
        assert!(
            !p["description"].as_str().unwrap_or("").is_empty(),
            "{title}: says what it shows"
        );
        let g = &p["gridPos"];
        let (x, y, w, h) = (
            g["x"].as_i64().unwrap(),
            g["y"].as_i64().unwrap(),
            g["w"].as_i64().unwrap(),
            g["h"].as_i64().unwrap(),
        );
        assert!(
            x >= 0 && w > 0 && h > 0 && x + w <= 24,
            "{title}: on the 24-column grid"
        );
        for cx in x..x + w {
            for cy in y..y + h {
                assert!(
                    cells.insert((cx, cy)),
                    "{title} overlaps another panel at {cx},{cy}"
                );
            }
        }
        let targets = p["targets"].as_array().unwrap();
        assert!(!targets.is_empty(), "{title}: has a query");
        let mut refs = BTreeSet::new();
        for t in targets {
            assert!(refs.insert(t["refId"].as_str().unwrap().to_string()));
            assert_eq!(
                t["datasource"]["uid"],
                source.as_str(),
                "{title}: on the declared source"
            );
            assert!(
                !metric_names(t["expr"].as_str().unwrap()).is_empty(),
                "{title}: queries konsign"
            );
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_metric_the_grafana_dashboard_queries_is_served() {
    let Some(app) = common::spawn_app(common::Backend::Sqlite).await else {
        return;
    };
    // A scrape fills every family the dashboard reads (an empty family is not listed).
    let admin = app.admin().await;
    admin.get("/api/dashboard/flow").await;
    let text = app.anon().get("/metrics").await.body;
    let text = text.as_str().unwrap();
    let served: BTreeSet<String> = text
        .lines()
        .filter(|l| l.starts_with("# TYPE "))
        .filter_map(|l| l.split_whitespace().nth(2))
        .flat_map(|n| [n.to_string(), format!("{n}_total")])
        .collect();
    let d = dashboard();
    let mut wanted = BTreeSet::new();
    for p in d["panels"].as_array().unwrap() {
        for t in p["targets"].as_array().unwrap() {
            wanted.extend(metric_names(t["expr"].as_str().unwrap()));
        }
    }
    let missing: Vec<_> = wanted.difference(&served).collect();
    assert!(
        missing.is_empty(),
        "queried but not served by /metrics: {missing:?}"
    );
}
