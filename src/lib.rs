//! konsign: warehouse control for a consignment warehouse of citizen health supplies.

/// Carrier handoff: the carrier port, its adapters and the booking worker's rules.
pub mod carrier;
/// Charts drawn as SVG on the server, without I/O.
pub mod charts;
/// Command-line interface: serve, config, users, tokens, import, demo, gs1.
pub mod cli;
/// Typed configuration from defaults, file, environment and flags.
pub mod config;
/// Devices: serial barcode scanners.
pub mod devices;
/// Pure domain rules and types.
pub mod domain;
/// The service-level error type.
pub mod error;
/// HTTP API, health, metrics and pages.
pub mod http;
/// Label templates and their renderers.
pub mod labels;
/// Prometheus metrics.
pub mod metrics;
/// Use-cases over the store.
pub mod service;
/// The composition root.
pub mod startup;
/// SQL on SQLite and PostgreSQL.
pub mod store;
/// Logging setup.
pub mod telemetry;
