//! Email channel: one plain-text UTF-8 message per notification over SMTP.

use std::time::Duration;

use lettre::message::header::ContentType;
use lettre::message::{Mailbox, Mailboxes, SinglePart};
use lettre::transport::smtp::authentication::Credentials;
use lettre::transport::smtp::client::{Tls, TlsParameters};
use lettre::{AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};

use crate::{Notification, NotifyError};

/// The SMTPS port, where TLS starts before the greeting.
const IMPLICIT_TLS_PORT: u16 = 465;

pub(crate) struct EmailSettings {
    pub(crate) host: String,
    pub(crate) port: u16,
    pub(crate) from: String,
    pub(crate) to: Vec<String>,
    pub(crate) starttls: bool,
    pub(crate) username: Option<String>,
    pub(crate) password: Option<String>,
    pub(crate) timeout: Duration,
}

pub(crate) struct Email {
    transport: AsyncSmtpTransport<Tokio1Executor>,
    from: Mailbox,
    to: Mailboxes,
    timeout: Duration,
}

impl Email {
    pub(crate) fn new(s: EmailSettings) -> Result<Self, NotifyError> {
        let host = s.host.trim().to_owned();
        if host.is_empty() {
            return Err(NotifyError::Config("email host must not be empty".into()));
        }
        let from: Mailbox = s
            .from
            .parse()
            .map_err(|e| NotifyError::Config(format!("email from {:?}: {e}", s.from)))?;
        if s.to.is_empty() {
            return Err(NotifyError::Config(
                "email needs at least one recipient".into(),
            ));
        }
        let mut to = Mailboxes::new();
        for raw in &s.to {
            let mailbox: Mailbox = raw
                .parse()
                .map_err(|e| NotifyError::Config(format!("email to {raw:?}: {e}")))?;
            to.push(mailbox);
        }

        let tls = if s.starttls || s.port == IMPLICIT_TLS_PORT {
            let params = TlsParameters::new(host.clone())
                .map_err(|e| NotifyError::Config(format!("email TLS: {e}")))?;
            if s.starttls {
                Tls::Required(params)
            } else {
                Tls::Wrapper(params)
            }
        } else {
            Tls::None
        };
        let mut builder = AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous(host)
            .port(s.port)
            .tls(tls)
            .timeout(Some(s.timeout));
        match (s.username, s.password) {
            (Some(user), Some(password)) => {
                builder = builder.credentials(Credentials::new(user, password));
            }
            (None, None) => {}
            _ => {
                return Err(NotifyError::Config(
                    "email username and password go together".into(),
                ));
            }
        }
        Ok(Self {
            transport: builder.build(),
            from,
            to,
            timeout: s.timeout,
        })
    }

    pub(crate) async fn send(&self, n: &Notification) -> Result<(), NotifyError> {
        let message = Message::builder()
            .from(self.from.clone())
            .mailbox(lettre::message::header::To::from(self.to.clone()))
            .subject(n.title.as_str())
            .singlepart(
                SinglePart::builder()
                    .header(ContentType::TEXT_PLAIN)
                    .body(n.body.clone()),
            )
            .map_err(|e| NotifyError::Config(format!("cannot build email: {e}")))?;
        // lettre's timeout bounds each socket operation; this one bounds the whole exchange.
        match tokio::time::timeout(self.timeout, self.transport.send(message)).await {
            Err(_) => Err(NotifyError::Transport(format!(
                "email not sent within {:?}",
                self.timeout
            ))),
            Ok(Ok(_response)) => Ok(()),
            Ok(Err(e)) => Err(classify(&e)),
        }
    }
}

/// SMTP 4yz means "try again later", 5yz means "never with this config"; anything that is not a
/// reply from the server (connect, TLS, I/O, timeout, garbled reply) is transport.
fn classify(e: &lettre::transport::smtp::Error) -> NotifyError {
    let text = crate::error_chain(e);
    if e.is_permanent() {
        NotifyError::Config(format!("email refused by the server: {text}"))
    } else if e.is_client() {
        NotifyError::Config(format!("email client: {text}"))
    } else {
        NotifyError::Transport(format!("email: {text}"))
    }
}
