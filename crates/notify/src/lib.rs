//! Delivery of notifications (alerts, events) to channels outside almacen.
//!
//! This crate owns the wire formats of each channel — a signed JSON webhook, the Telegram Bot
//! API and SMTP email — and the classification of delivery failures into "retry later" and
//! "give up". It does not own scheduling, retries or which notification goes where: callers
//! build a [`Channel`] from a [`ChannelConfig`] and call [`Channel::send`].

mod email;
mod signature;
mod telegram;
mod webhook;

use std::fmt;
use std::time::Duration;

pub use signature::{SIGNATURE_HEADER, sign, verify};

/// Header that carries [`Notification::topic`] on webhook deliveries.
pub const TOPIC_HEADER: &str = "x-almacen-topic";

/// The Telegram Bot API endpoint used when a config leaves `base_url` empty.
pub const DEFAULT_TELEGRAM_BASE_URL: &str = "https://api.telegram.org";

/// How much of an error response body is kept in [`NotifyError::Rejected`].
const MAX_ERROR_BODY: usize = 512;

/// What is sent, whatever the channel.
#[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Notification {
    /// Machine-readable kind, e.g. `"alert.raised"`.
    pub topic: String,
    /// One line, in Spanish.
    pub title: String,
    /// Text for a person, in Spanish.
    pub body: String,
    /// Structured detail for machines (webhooks get it verbatim).
    pub payload: serde_json::Value,
}

/// Where and how to deliver. Tagged by `kind` (`webhook`, `telegram`, `email`) when serialized.
///
/// `Debug` redacts the webhook secret, the bot token and the SMTP password so that a config can
/// be logged safely.
#[derive(Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum ChannelConfig {
    /// POST the notification as JSON, signed with HMAC-SHA256 of `secret`.
    Webhook { url: String, secret: String },
    /// Telegram Bot API `sendMessage`.
    Telegram {
        /// Defaults to [`DEFAULT_TELEGRAM_BASE_URL`] (also when empty).
        #[serde(default = "default_telegram_base_url")]
        base_url: String,
        token: String,
        chat_id: String,
    },
    /// One plain-text email per notification.
    ///
    /// Transport security: `starttls = true` requires STARTTLS; otherwise port 465 uses implicit
    /// TLS (SMTPS) and any other port talks plain SMTP.
    Email {
        host: String,
        port: u16,
        from: String,
        to: Vec<String>,
        #[serde(default)]
        starttls: bool,
        #[serde(default)]
        username: Option<String>,
        #[serde(default)]
        password: Option<String>,
    },
}

fn default_telegram_base_url() -> String {
    DEFAULT_TELEGRAM_BASE_URL.to_owned()
}

const REDACTED: &str = "<redacted>";

impl fmt::Debug for ChannelConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Webhook { url, secret: _ } => f
                .debug_struct("Webhook")
                .field("url", url)
                .field("secret", &REDACTED)
                .finish(),
            Self::Telegram {
                base_url,
                token: _,
                chat_id,
            } => f
                .debug_struct("Telegram")
                .field("base_url", base_url)
                .field("token", &REDACTED)
                .field("chat_id", chat_id)
                .finish(),
            Self::Email {
                host,
                port,
                from,
                to,
                starttls,
                username,
                password,
            } => f
                .debug_struct("Email")
                .field("host", host)
                .field("port", port)
                .field("from", from)
                .field("to", to)
                .field("starttls", starttls)
                .field("username", username)
                .field("password", &password.as_ref().map(|_| REDACTED))
                .finish(),
        }
    }
}

/// Why a notification was not delivered.
#[derive(Debug, thiserror::Error)]
pub enum NotifyError {
    /// The far end could not be reached or did not answer in time (connect, TLS, timeout, I/O),
    /// or a mail server deferred the message (SMTP 4yz).
    #[error("transport error: {0}")]
    Transport(String),
    /// The far end answered with an error: HTTP status and the (truncated) body.
    #[error("rejected with status {status}: {body}")]
    Rejected { status: u16, body: String },
    /// The channel config (or a mail server's permanent refusal, SMTP 5yz, which only a config
    /// change can fix) makes delivery impossible.
    #[error("configuration error: {0}")]
    Config(String),
}

impl NotifyError {
    /// Whether retrying later may succeed: transport errors and 5xx/429 answers yes, anything
    /// else (4xx, config) no.
    pub fn is_retryable(&self) -> bool {
        match self {
            Self::Transport(_) => true,
            Self::Rejected { status, .. } => *status == 429 || (500..=599).contains(status),
            Self::Config(_) => false,
        }
    }
}

/// A ready-to-use channel (holds its HTTP client / SMTP transport).
///
/// Cheap to share behind an `Arc`; `send` takes `&self`.
pub struct Channel {
    inner: Inner,
}

enum Inner {
    Webhook(webhook::Webhook),
    Telegram(telegram::Telegram),
    Email(email::Email),
}

impl Channel {
    /// Validates `config` and builds the client. `timeout` bounds each delivery attempt
    /// (connect included).
    pub fn new(config: ChannelConfig, timeout: Duration) -> Result<Channel, NotifyError> {
        if timeout.is_zero() {
            return Err(NotifyError::Config(
                "timeout must be greater than zero".into(),
            ));
        }
        let inner = match config {
            ChannelConfig::Webhook { url, secret } => {
                Inner::Webhook(webhook::Webhook::new(&url, secret, timeout)?)
            }
            ChannelConfig::Telegram {
                base_url,
                token,
                chat_id,
            } => Inner::Telegram(telegram::Telegram::new(&base_url, token, chat_id, timeout)?),
            ChannelConfig::Email {
                host,
                port,
                from,
                to,
                starttls,
                username,
                password,
            } => Inner::Email(email::Email::new(email::EmailSettings {
                host,
                port,
                from,
                to,
                starttls,
                username,
                password,
                timeout,
            })?),
        };
        Ok(Channel { inner })
    }

    /// `"webhook"`, `"telegram"` or `"email"`.
    pub fn name(&self) -> &'static str {
        match self.inner {
            Inner::Webhook(_) => "webhook",
            Inner::Telegram(_) => "telegram",
            Inner::Email(_) => "email",
        }
    }

    /// Delivers `n` once. Does not retry: see [`NotifyError::is_retryable`].
    #[tracing::instrument(skip_all, fields(channel = self.name(), topic = %n.topic))]
    pub async fn send(&self, n: &Notification) -> Result<(), NotifyError> {
        let result = match &self.inner {
            Inner::Webhook(c) => c.send(n).await,
            Inner::Telegram(c) => c.send(n).await,
            Inner::Email(c) => c.send(n).await,
        };
        match &result {
            Ok(()) => tracing::debug!("notification delivered"),
            Err(e) => {
                tracing::debug!(error = %e, retryable = e.is_retryable(), "notification not delivered");
            }
        }
        result
    }
}

impl fmt::Debug for Channel {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Channel")
            .field("kind", &self.name())
            .finish_non_exhaustive()
    }
}

/// Builds the HTTP client shared by the HTTP channels: bounded time, no redirects (a signed
/// payload or a bot token must not be forwarded to wherever a `Location` points).
fn http_client(timeout: Duration) -> Result<reqwest::Client, NotifyError> {
    reqwest::Client::builder()
        .timeout(timeout)
        .connect_timeout(timeout)
        .redirect(reqwest::redirect::Policy::none())
        .user_agent(concat!("almacen-notify/", env!("CARGO_PKG_VERSION")))
        .build()
        .map_err(|e| NotifyError::Config(format!("cannot build HTTP client: {}", error_chain(&e))))
}

/// Parses an http(s) URL, naming `what` in the error. The URL itself is not echoed back since
/// it may carry credentials.
fn parse_http_url(raw: &str, what: &str) -> Result<reqwest::Url, NotifyError> {
    let url = reqwest::Url::parse(raw.trim())
        .map_err(|e| NotifyError::Config(format!("{what} is not a valid URL: {e}")))?;
    match url.scheme() {
        "http" | "https" => Ok(url),
        other => Err(NotifyError::Config(format!(
            "{what} must be http or https, not {other}"
        ))),
    }
}

/// Turns a reqwest error into [`NotifyError::Transport`], without the request URL.
fn transport_error(e: reqwest::Error) -> NotifyError {
    NotifyError::Transport(error_chain(&e.without_url()))
}

/// `error: source: source ...`, so that "connection refused" is not hidden behind "error
/// sending request".
fn error_chain(e: &dyn std::error::Error) -> String {
    let mut out = e.to_string();
    let mut source = e.source();
    while let Some(s) = source {
        let text = s.to_string();
        if !out.contains(&text) {
            out.push_str(": ");
            out.push_str(&text);
        }
        source = s.source();
    }
    out
}

/// Keeps at most [`MAX_ERROR_BODY`] bytes of `body`, cut on a char boundary.
fn truncate_body(body: &str) -> String {
    if body.len() <= MAX_ERROR_BODY {
        return body.to_owned();
    }
    let mut end = MAX_ERROR_BODY;
    while !body.is_char_boundary(end) {
        end -= 1;
    }
    format!("{}…", &body[..end])
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]

    use super::*;

    #[test]
    fn retryable_classification() {
        assert!(NotifyError::Transport("x".into()).is_retryable());
        for status in [500, 502, 503, 599, 429] {
            let e = NotifyError::Rejected {
                status,
                body: String::new(),
            };
            assert!(e.is_retryable(), "{status}");
        }
        for status in [400, 401, 403, 404, 410, 422, 301, 200] {
            let e = NotifyError::Rejected {
                status,
                body: String::new(),
            };
            assert!(!e.is_retryable(), "{status}");
        }
        assert!(!NotifyError::Config("x".into()).is_retryable());
    }

    #[test]
    fn debug_redacts_secrets() {
        let configs = [
            ChannelConfig::Webhook {
                url: "http://127.0.0.1/h".into(),
                secret: "s3cr3t-value".into(),
            },
            ChannelConfig::Telegram {
                base_url: DEFAULT_TELEGRAM_BASE_URL.into(),
                token: "123:s3cr3t-value".into(),
                chat_id: "42".into(),
            },
            ChannelConfig::Email {
                host: "127.0.0.1".into(),
                port: 25,
                from: "a@b.c".into(),
                to: vec!["d@e.f".into()],
                starttls: false,
                username: Some("user".into()),
                password: Some("s3cr3t-value".into()),
            },
        ];
        for c in configs {
            let text = format!("{c:?}");
            assert!(!text.contains("s3cr3t-value"), "{text}");
            assert!(text.contains(REDACTED), "{text}");
        }
    }

    #[test]
    fn config_serde_shape() {
        let c: ChannelConfig = serde_json::from_value(serde_json::json!({
            "kind": "telegram", "token": "t", "chat_id": "1"
        }))
        .unwrap();
        assert_eq!(
            c,
            ChannelConfig::Telegram {
                base_url: DEFAULT_TELEGRAM_BASE_URL.into(),
                token: "t".into(),
                chat_id: "1".into()
            }
        );
        let c: ChannelConfig = serde_json::from_value(serde_json::json!({
            "kind": "email", "host": "h", "port": 25, "from": "a@b.c", "to": ["d@e.f"]
        }))
        .unwrap();
        assert!(matches!(
            c,
            ChannelConfig::Email {
                starttls: false,
                username: None,
                password: None,
                ..
            }
        ));
        let w = ChannelConfig::Webhook {
            url: "u".into(),
            secret: "s".into(),
        };
        assert_eq!(
            serde_json::to_value(&w).unwrap(),
            serde_json::json!({"kind": "webhook", "url": "u", "secret": "s"})
        );
    }

    #[test]
    fn invalid_configs_are_config_errors() {
        let t = Duration::from_secs(1);
        let bad = [
            ChannelConfig::Webhook {
                url: "not a url".into(),
                secret: "s".into(),
            },
            ChannelConfig::Webhook {
                url: "ftp://127.0.0.1/".into(),
                secret: "s".into(),
            },
            ChannelConfig::Webhook {
                url: "http://127.0.0.1/".into(),
                secret: String::new(),
            },
            ChannelConfig::Telegram {
                base_url: DEFAULT_TELEGRAM_BASE_URL.into(),
                token: "12/../x".into(),
                chat_id: "1".into(),
            },
            ChannelConfig::Telegram {
                base_url: DEFAULT_TELEGRAM_BASE_URL.into(),
                token: "123:abc".into(),
                chat_id: " ".into(),
            },
            ChannelConfig::Email {
                host: "127.0.0.1".into(),
                port: 25,
                from: "not an address".into(),
                to: vec!["d@e.f".into()],
                starttls: false,
                username: None,
                password: None,
            },
            ChannelConfig::Email {
                host: "127.0.0.1".into(),
                port: 25,
                from: "a@b.c".into(),
                to: vec![],
                starttls: false,
                username: None,
                password: None,
            },
            ChannelConfig::Email {
                host: "127.0.0.1".into(),
                port: 25,
                from: "a@b.c".into(),
                to: vec!["d@e.f".into()],
                starttls: false,
                username: Some("u".into()),
                password: None,
            },
        ];
        for c in bad {
            let shown = format!("{c:?}");
            match Channel::new(c, t) {
                Err(NotifyError::Config(msg)) => {
                    assert!(!msg.contains("12/../x"), "token leaked: {msg}");
                }
                other => panic!("{shown}: expected Config error, got {other:?}"),
            }
        }
        let zero = Channel::new(
            ChannelConfig::Webhook {
                url: "http://127.0.0.1/".into(),
                secret: "s".into(),
            },
            Duration::ZERO,
        );
        assert!(matches!(zero, Err(NotifyError::Config(_))));
    }

    #[test]
    fn truncate_keeps_char_boundary() {
        let long = "ñ".repeat(MAX_ERROR_BODY);
        let t = truncate_body(&long);
        assert!(t.len() <= MAX_ERROR_BODY + "…".len());
        assert!(t.ends_with('…'));
        assert_eq!(truncate_body("corto"), "corto");
    }

    #[test]
    fn channel_is_send_and_sync() {
        fn assert_send_sync<T: Send + Sync>() {}
        assert_send_sync::<Channel>();
        assert_send_sync::<NotifyError>();
    }
}
