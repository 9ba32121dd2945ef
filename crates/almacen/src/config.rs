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
    /// Address of the Prometheus `/metrics` listener; empty disables it.
    pub metrics_listen: String,
    /// `sqlite://FILE` (embedded, default) or `postgres://…`.
    pub database_url: String,
    pub log_format: LogFormat,
    /// Database connections per node.
    pub max_connections: u32,
    /// Seconds a request waits for a database connection before answering 503.
    pub db_acquire_timeout_secs: u64,
    /// Dashboard cookies marked Secure and HSTS sent: set when clients reach almacen over TLS
    /// (a proxy that sends `X-Forwarded-Proto: https` gets them either way).
    pub secure_cookies: bool,
    /// Browser origins allowed to call the API from another site (CORS), e.g.
    /// `["https://panel.example.com"]`; none by default.
    pub cors_origins: Vec<String>,
    /// Redis shared by the nodes of one database (`redis://127.0.0.1:6379`): login limits
    /// counted across nodes and revocations applied on every node at once. Empty: none.
    pub redis_url: String,
    #[serde(flatten)]
    pub settings: app::Settings,
    /// Schedules of the background agents (cron: minute hour day month weekday).
    pub agents: crate::agents::AgentSettings,
    /// Notification channels and the outbox topics each receives.
    pub notify: Vec<crate::agents::Subscription>,
    /// Retry policy of the outbox dispatcher.
    pub outbox: app::operations::OutboxPolicy,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            listen: "127.0.0.1:8080".into(),
            metrics_listen: "127.0.0.1:9464".into(),
            database_url: "sqlite://almacen.db".into(),
            log_format: LogFormat::Text,
            max_connections: 16,
            db_acquire_timeout_secs: 5,
            secure_cookies: false,
            cors_origins: Vec::new(),
            redis_url: String::new(),
            settings: app::Settings::default(),
            agents: crate::agents::AgentSettings::default(),
            notify: Vec::new(),
            outbox: app::operations::OutboxPolicy::default(),
        }
    }
}

/// Environment variables that belong to commands, not to the configuration.
const NOT_CONFIG: &[&str] = &["password", "bench_password"];

impl Config {
    pub fn load(file: &Path) -> Result<Config, Box<figment::Error>> {
        Figment::from(Serialized::defaults(Config::default()))
            .merge(Toml::file(file))
            .merge(Env::prefixed("ALMACEN_").split("__").ignore(NOT_CONFIG))
            .extract()
            .map_err(Box::new)
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    #[allow(clippy::result_large_err)]
    fn environment_overrides_file_overrides_defaults() {
        figment::Jail::expect_with(|jail| {
            assert_eq!(
                Config::load(Path::new("missing.toml"))
                    .map_err(|e| *e)?
                    .listen,
                "127.0.0.1:8080"
            );
            jail.create_file(
                "almacen.toml",
                "listen = \"0.0.0.0:9000\"\nmax_connections = 4\n[login]\nlock_after = 9\n",
            )?;
            let cfg = Config::load(Path::new("almacen.toml")).map_err(|e| *e)?;
            assert_eq!(
                (
                    cfg.listen.as_str(),
                    cfg.max_connections,
                    cfg.settings.login.lock_after
                ),
                ("0.0.0.0:9000", 4, 9)
            );
            jail.set_env("ALMACEN_LISTEN", "127.0.0.1:7000");
            jail.set_env("ALMACEN_LOGIN__LOCK_AFTER", "3");
            jail.set_env("ALMACEN_PASSWORD", "not-config");
            let cfg = Config::load(Path::new("almacen.toml")).map_err(|e| *e)?;
            assert_eq!(
                (
                    cfg.listen.as_str(),
                    cfg.max_connections,
                    cfg.settings.login.lock_after
                ),
                ("127.0.0.1:7000", 4, 3)
            );
            Ok(())
        });
    }

    #[test]
    fn a_plain_path_is_an_sqlite_file() {
        let cfg = Config {
            database_url: "tienda.db".into(),
            ..Config::default()
        };
        assert_eq!(cfg.normalised_database_url(), "sqlite://tienda.db");
    }
}
