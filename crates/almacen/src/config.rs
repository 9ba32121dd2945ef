//! Typed configuration: defaults < `almacen.toml` < `ALMACEN_*` environment variables (`__`
//! nests, e.g. `ALMACEN_LOGIN__LOCK_AFTER=10`) < command-line flags.

use std::path::Path;

use figment::Figment;
use figment::providers::{Env, Format, Serialized, Toml};
use serde::{Deserialize, Serialize};

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum LogFormat {
    Text,
    Json,
}

#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(default)]
pub struct Config {
    /// Address the HTTP API and dashboard listen on.
    pub listen: String,
    /// `sqlite://FILE` (embedded, default) or `postgres://…`.
    pub database_url: String,
    pub log_format: LogFormat,
    /// Database connections per node.
    pub max_connections: u32,
    /// Seconds a request waits for a database connection before answering 503.
    pub db_acquire_timeout_secs: u64,
    #[serde(flatten)]
    pub settings: app::Settings,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            listen: "127.0.0.1:8080".into(),
            database_url: "sqlite://almacen.db".into(),
            log_format: LogFormat::Text,
            max_connections: 16,
            db_acquire_timeout_secs: 5,
            settings: app::Settings::default(),
        }
    }
}

/// Environment variables that belong to commands, not to the configuration.
const NOT_CONFIG: &[&str] = &["password", "bench_password"];

impl Config {
    pub fn load(file: &Path) -> anyhow::Result<Config> {
        let cfg = Figment::from(Serialized::defaults(Config::default()))
            .merge(Toml::file(file))
            .merge(Env::prefixed("ALMACEN_").split("__").ignore(NOT_CONFIG))
            .extract()?;
        Ok(cfg)
    }

    /// A plain path is taken as an SQLite file.
    pub fn normalised_database_url(&self) -> String {
        let url = self.database_url.trim();
        if url.contains("://") || url.starts_with("sqlite:") {
            url.to_owned()
        } else {
            format!("sqlite://{url}")
        }
    }
}
