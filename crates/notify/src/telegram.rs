//! Telegram channel: the Bot API's `sendMessage`.
//!
//! The bot token is part of the request path, so it is kept out of every error and log line:
//! reqwest errors lose their URL and any echo of the token is replaced.

use std::time::Duration;

use crate::{Notification, NotifyError};

/// Telegram refuses longer messages ("message is too long"); it counts UTF-16 code units.
const MAX_TEXT_UTF16: usize = 4096;

pub(crate) struct Telegram {
    client: reqwest::Client,
    /// `{base_url}/bot{token}/sendMessage`: never print it.
    endpoint: reqwest::Url,
    token: String,
    chat_id: String,
}

#[derive(serde::Serialize)]
struct SendMessage<'a> {
    chat_id: &'a str,
    text: &'a str,
    disable_web_page_preview: bool,
}

#[derive(serde::Deserialize)]
struct Answer {
    ok: bool,
    #[serde(default)]
    error_code: Option<u16>,
    #[serde(default)]
    description: Option<String>,
}

impl Telegram {
    pub(crate) fn new(
        base_url: &str,
        token: String,
        chat_id: String,
        timeout: Duration,
    ) -> Result<Self, NotifyError> {
        let token_ok = !token.is_empty()
            && token
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, ':' | '-' | '_'));
        if !token_ok {
            return Err(NotifyError::Config(
                "telegram token must be non-empty and contain only letters, digits, ':', '-' and '_'"
                    .into(),
            ));
        }
        if chat_id.trim().is_empty() {
            return Err(NotifyError::Config(
                "telegram chat_id must not be empty".into(),
            ));
        }
        let base_url = match base_url.trim() {
            "" => crate::DEFAULT_TELEGRAM_BASE_URL,
            other => other,
        };
        let base = crate::parse_http_url(base_url, "telegram base_url")?;
        let endpoint = reqwest::Url::parse(&format!(
            "{}/bot{token}/sendMessage",
            base.as_str().trim_end_matches('/')
        ))
        .map_err(|_| NotifyError::Config("telegram base_url cannot take a bot path".into()))?;
        Ok(Self {
            client: crate::http_client(timeout)?,
            endpoint,
            token,
            chat_id,
        })
    }

    pub(crate) async fn send(&self, n: &Notification) -> Result<(), NotifyError> {
        self.deliver(n).await.map_err(|e| self.redact(e))
    }

    async fn deliver(&self, n: &Notification) -> Result<(), NotifyError> {
        let text = message_text(n);
        let response = self
            .client
            .post(self.endpoint.clone())
            .json(&SendMessage {
                chat_id: &self.chat_id,
                text: &text,
                disable_web_page_preview: true,
            })
            .send()
            .await
            .map_err(crate::transport_error)?;
        let status = response.status();
        let raw = response.text().await.map_err(crate::transport_error)?;
        let answer = serde_json::from_str::<Answer>(&raw).ok();
        match answer {
            Some(Answer { ok: true, .. }) if status.is_success() => Ok(()),
            Some(Answer {
                error_code,
                description,
                ..
            }) => Err(NotifyError::Rejected {
                // Telegram's own code is the more precise one (e.g. 429 inside a 200).
                status: error_code
                    .filter(|_| status.is_success())
                    .unwrap_or(status.as_u16()),
                body: crate::truncate_body(description.as_deref().unwrap_or(&raw)),
            }),
            None => Err(NotifyError::Rejected {
                status: status.as_u16(),
                body: crate::truncate_body(&raw),
            }),
        }
    }

    fn redact(&self, e: NotifyError) -> NotifyError {
        let clean = |s: String| s.replace(&self.token, crate::REDACTED);
        match e {
            NotifyError::Transport(s) => NotifyError::Transport(clean(s)),
            NotifyError::Rejected { status, body } => NotifyError::Rejected {
                status,
                body: clean(body),
            },
            NotifyError::Config(s) => NotifyError::Config(clean(s)),
        }
    }
}

/// `"<title>\n\n<body>"`, cut to what Telegram accepts.
fn message_text(n: &Notification) -> String {
    let full = format!("{}\n\n{}", n.title, n.body);
    if full.encode_utf16().count() <= MAX_TEXT_UTF16 {
        return full;
    }
    let mut out = String::new();
    let mut used = 1; // room for the ellipsis
    for c in full.chars() {
        used += c.len_utf16();
        if used > MAX_TEXT_UTF16 {
            break;
        }
        out.push(c);
    }
    out.push('…');
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn note(title: &str, body: &str) -> Notification {
        Notification {
            topic: "t".into(),
            title: title.into(),
            body: body.into(),
            payload: serde_json::Value::Null,
        }
    }

    #[test]
    fn text_is_title_blank_line_body() {
        assert_eq!(message_text(&note("Título", "Cuerpo")), "Título\n\nCuerpo");
    }

    #[test]
    fn long_text_is_cut_to_telegram_limit() {
        let text = message_text(&note("t", &"😀".repeat(5000)));
        assert!(text.encode_utf16().count() <= MAX_TEXT_UTF16);
        assert!(text.ends_with('…'));
        assert!(text.starts_with("t\n\n😀"));
    }
}
