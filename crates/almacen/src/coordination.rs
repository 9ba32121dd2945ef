//! The Redis adapter of `app::coordination`: shared fixed-window counters (INCR + EXPIRE) and
//! credential invalidation over pub/sub. Redis being down or unreachable never fails a request:
//! each call has a short timeout, answers `None` (the app then counts locally), and the
//! connection is retried at most every few seconds. After the listener reconnects it drops the
//! whole principal cache, since revocations published meanwhile were missed.

use std::sync::{Arc, Mutex, Weak};
use std::time::{Duration, Instant};

use futures_util::StreamExt;
use redis::aio::MultiplexedConnection;

/// The pub/sub channel that carries token hashes to forget ("*": all).
const CHANNEL: &str = "almacen:auth:invalidate";
/// The longest a request waits for Redis before counting locally.
const TIMEOUT: Duration = Duration::from_millis(300);
/// How long after a failure the adapter leaves Redis alone.
const RETRY_AFTER: Duration = Duration::from_secs(3);

pub struct RedisCoordination {
    client: redis::Client,
    /// Key prefix (several shops or test runs may share one Redis).
    prefix: String,
    conn: tokio::sync::Mutex<Option<MultiplexedConnection>>,
    retry_at: Mutex<Option<Instant>>,
}

impl RedisCoordination {
    /// Parses the URL; connects lazily, so a node starts even with Redis down.
    pub fn new(url: &str) -> anyhow::Result<Arc<Self>> {
        let client = redis::Client::open(url)
            .map_err(|e| anyhow::anyhow!("URL de Redis inválida ({url}): {e}"))?;
        Ok(Arc::new(RedisCoordination {
            client,
            prefix: "almacen".into(),
            conn: tokio::sync::Mutex::new(None),
            retry_at: Mutex::new(None),
        }))
    }

    fn config() -> redis::AsyncConnectionConfig {
        redis::AsyncConnectionConfig::new()
            .set_connection_timeout(Some(TIMEOUT))
            .set_response_timeout(Some(TIMEOUT))
    }

    fn backing_off(&self) -> bool {
        self.retry_at
            .lock()
            .ok()
            .and_then(|r| *r)
            .is_some_and(|at| Instant::now() < at)
    }

    fn failed(&self, what: &str, e: &dyn std::fmt::Display) {
        if !self.backing_off() {
            tracing::warn!(error = %e, "Redis no responde ({what}): se usan límites locales");
        }
        if let Ok(mut r) = self.retry_at.lock() {
            *r = Some(Instant::now() + RETRY_AFTER);
        }
    }

    async fn connection(&self) -> Option<MultiplexedConnection> {
        let mut guard = self.conn.lock().await;
        if let Some(c) = guard.as_ref() {
            return Some(c.clone());
        }
        if self.backing_off() {
            return None;
        }
        let config = Self::config();
        let connect = self
            .client
            .get_multiplexed_async_connection_with_config(&config);
        match tokio::time::timeout(TIMEOUT * 2, connect).await {
            Ok(Ok(c)) => {
                *guard = Some(c.clone());
                Some(c)
            }
            Ok(Err(e)) => {
                self.failed("conexión", &e);
                None
            }
            Err(e) => {
                self.failed("conexión", &e);
                None
            }
        }
    }

    /// Drops a connection that failed, so the next call reconnects (after the back-off).
    async fn drop_connection(&self, what: &str, e: String) {
        self.failed(what, &e);
        *self.conn.lock().await = None;
    }

    /// Listens for invalidations from other nodes and applies them to `app`, reconnecting
    /// forever; ends when the app is gone.
    pub fn listen(self: &Arc<Self>, app: Weak<app::App>) {
        let this = self.clone();
        tokio::spawn(async move {
            loop {
                if app.strong_count() == 0 {
                    return;
                }
                let subscribed = async {
                    let mut pubsub = this.client.get_async_pubsub().await?;
                    pubsub.subscribe(CHANNEL).await?;
                    Ok::<_, redis::RedisError>(pubsub)
                };
                match tokio::time::timeout(TIMEOUT * 2, subscribed).await {
                    Ok(Ok(pubsub)) => {
                        // Whatever was revoked while we were not listening: resolve all again.
                        if let Some(app) = app.upgrade() {
                            app.forget_principal(None);
                        }
                        let mut messages = pubsub.into_on_message();
                        while let Some(msg) = messages.next().await {
                            let Some(app) = app.upgrade() else {
                                return;
                            };
                            match msg.get_payload::<String>() {
                                Ok(h) if h != "*" => app.forget_principal(Some(&h)),
                                _ => app.forget_principal(None),
                            }
                        }
                        this.failed("suscripción", &"conexión cerrada");
                    }
                    Ok(Err(e)) => this.failed("suscripción", &e),
                    Err(e) => this.failed("suscripción", &e),
                }
                tokio::time::sleep(RETRY_AFTER).await;
            }
        });
    }
}

#[async_trait::async_trait]
impl app::coordination::Coordination for RedisCoordination {
    async fn hit(&self, key: &str, window: i64, window_secs: i64) -> Option<i64> {
        let mut conn = self.connection().await?;
        let key = format!("{}:rl:{key}:{window}", self.prefix);
        let mut pipe = redis::pipe();
        pipe.atomic()
            .incr(&key, 1)
            .expire(&key, window_secs * 2)
            .ignore();
        let query = pipe.query_async::<(i64,)>(&mut conn);
        match tokio::time::timeout(TIMEOUT, query).await {
            Ok(Ok((n,))) => Some(n),
            Ok(Err(e)) => {
                self.drop_connection("contador", e.to_string()).await;
                None
            }
            Err(e) => {
                self.drop_connection("contador", e.to_string()).await;
                None
            }
        }
    }

    async fn invalidate(&self, token_hash: Option<&str>) {
        let Some(mut conn) = self.connection().await else {
            return;
        };
        let mut cmd = redis::cmd("PUBLISH");
        cmd.arg(CHANNEL).arg(token_hash.unwrap_or("*"));
        let publish = cmd.query_async::<i64>(&mut conn);
        match tokio::time::timeout(TIMEOUT, publish).await {
            Ok(Ok(_)) => {}
            Ok(Err(e)) => {
                self.drop_connection("aviso de revocación", e.to_string())
                    .await
            }
            Err(e) => {
                self.drop_connection("aviso de revocación", e.to_string())
                    .await
            }
        }
    }
}
