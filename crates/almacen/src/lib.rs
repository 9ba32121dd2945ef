//! The `almacen` binary's library half: configuration, wiring, demo data, benchmarks and the
//! CLI, kept in a library so integration tests can boot the real server in-process.

pub mod agents;
pub mod audit;
pub mod backup;
pub mod bench;
pub mod bench_pages;
pub mod bench_retail;
pub mod cli;
pub mod config;
pub mod coordination;
pub mod demo;
pub mod forecast;
pub mod invoices;
pub mod server;
pub mod telemetry;
