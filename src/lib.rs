//! Secretary Projects (书记项目): a declarative project-and-workflow engine.
//!
//! - [`workflow`]: the definition format, validator and the pure engine.
//! - [`store`]: the database (SQLite by default, PostgreSQL) through sea-orm.
//! - [`app`]: use cases, each one transaction around the pure core.
//! - [`http`]: the JSON API.
//! - [`config`]: server settings from defaults, a TOML file, the environment and flags.
//! - [`demo`]: a living demo district.
//! - [`export`]: the annual review as a workbook or CSV.

pub mod app;
pub mod cli;
pub mod config;
pub mod demo;
pub mod export;
pub mod http;
pub mod memory;
pub mod metrics;
pub mod notify;
pub mod schedule;
pub mod scoring;
pub mod store;
pub mod web;
pub mod workflow;
