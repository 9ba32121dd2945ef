//! Webhook channel: POST the notification as JSON, signed (see [`crate::sign`]).

use std::time::Duration;

use reqwest::header::{CONTENT_TYPE, HeaderValue};

use crate::{Notification, NotifyError, SIGNATURE_HEADER, TOPIC_HEADER};

pub(crate) struct Webhook {
    client: reqwest::Client,
    url: reqwest::Url,
    secret: String,
}

impl Webhook {
    pub(crate) fn new(url: &str, secret: String, timeout: Duration) -> Result<Self, NotifyError> {
        let url = crate::parse_http_url(url, "webhook url")?;
        if secret.is_empty() {
            return Err(NotifyError::Config(
                "webhook secret must not be empty".into(),
            ));
        }
        Ok(Self {
            client: crate::http_client(timeout)?,
            url,
            secret,
        })
    }

    pub(crate) async fn send(&self, n: &Notification) -> Result<(), NotifyError> {
        // The exact bytes that are signed are the bytes that are sent.
        let body = serde_json::to_vec(n)
            .map_err(|e| NotifyError::Config(format!("notification is not serializable: {e}")))?;
        let signature = crate::sign(&self.secret, &body);
        let topic = HeaderValue::from_str(&n.topic).map_err(|_| {
            NotifyError::Config("notification topic is not a valid header value".into())
        })?;
        let response = self
            .client
            .post(self.url.clone())
            .header(CONTENT_TYPE, "application/json")
            .header(SIGNATURE_HEADER, signature)
            .header(TOPIC_HEADER, topic)
            .body(body)
            .send()
            .await
            .map_err(crate::transport_error)?;
        let status = response.status();
        if status.is_success() {
            return Ok(());
        }
        // A body that cannot be read still leaves a meaningful status.
        let text = response.text().await.unwrap_or_default();
        Err(NotifyError::Rejected {
            status: status.as_u16(),
            body: crate::truncate_body(&text),
        })
    }
}
