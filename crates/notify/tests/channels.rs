//! Black-box tests of every channel against stand-ins listening on 127.0.0.1: a tiny HTTP/1.1
//! server (webhook receiver, Telegram Bot API) and a minimal SMTP sink.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::sync::Arc;
use std::time::Duration;

use base64::Engine as _;
use notify::{Channel, ChannelConfig, Notification, NotifyError, SIGNATURE_HEADER, verify};
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::TcpListener;
use tokio::sync::mpsc;

const TIMEOUT: Duration = Duration::from_secs(5);

fn notification() -> Notification {
    Notification {
        topic: "alert.raised".into(),
        title: "Stock bajo de azúcar en Ñuñoa".into(),
        body: "Quedan 2 unidades de «Azúcar 1 kg» en la sucursal Ñuñoa.\nRevisá el pedido al proveedor; mañana es feriado."
            .into(),
        payload: serde_json::json!({"sku": "AZU-1KG", "qty": 2, "branch": "Ñuñoa"}),
    }
}

// ---------------------------------------------------------------------------------------------
// HTTP stand-in

#[derive(Debug)]
struct Request {
    method: String,
    path: String,
    headers: Vec<(String, String)>,
    body: Vec<u8>,
}

impl Request {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
}

/// Serves HTTP/1.1 on 127.0.0.1:0, one request per connection; `respond` picks status and JSON
/// body. Returns the base URL and the requests it saw.
async fn http_stub(
    respond: impl Fn(&Request) -> (u16, String) + Send + Sync + 'static,
) -> (String, mpsc::UnboundedReceiver<Request>) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let (tx, rx) = mpsc::unbounded_channel();
    let respond = Arc::new(respond);
    tokio::spawn(async move {
        loop {
            let Ok((stream, _)) = listener.accept().await else {
                return;
            };
            let tx = tx.clone();
            let respond = Arc::clone(&respond);
            tokio::spawn(async move {
                let mut reader = BufReader::new(stream);
                let mut line = String::new();
                reader.read_line(&mut line).await.unwrap();
                let mut parts = line.split_whitespace();
                let method = parts.next().unwrap_or_default().to_owned();
                let path = parts.next().unwrap_or_default().to_owned();
                let mut headers = Vec::new();
                loop {
                    let mut h = String::new();
                    reader.read_line(&mut h).await.unwrap();
                    let h = h.trim_end();
                    if h.is_empty() {
                        break;
                    }
                    let (name, value) = h.split_once(':').unwrap();
                    headers.push((name.trim().to_ascii_lowercase(), value.trim().to_owned()));
                }
                let len: usize = headers
                    .iter()
                    .find(|(n, _)| n == "content-length")
                    .map(|(_, v)| v.parse().unwrap())
                    .unwrap_or(0);
                let mut body = vec![0; len];
                reader.read_exact(&mut body).await.unwrap();
                let request = Request {
                    method,
                    path,
                    headers,
                    body,
                };
                let (status, answer) = respond(&request);
                tx.send(request).unwrap();
                let response = format!(
                    "HTTP/1.1 {status} Stub\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{answer}",
                    answer.len()
                );
                let mut stream = reader.into_inner();
                stream.write_all(response.as_bytes()).await.unwrap();
                stream.shutdown().await.ok();
            });
        }
    });
    (format!("http://{addr}"), rx)
}

/// A 127.0.0.1 port where nothing listens (bound, then released).
async fn closed_port() -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    listener.local_addr().unwrap().port()
}

/// Accepts connections and never answers.
async fn silent_server() -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    tokio::spawn(async move {
        let mut held = Vec::new();
        while let Ok((stream, _)) = listener.accept().await {
            held.push(stream);
        }
    });
    port
}

fn webhook(url: String, secret: &str) -> Channel {
    Channel::new(
        ChannelConfig::Webhook {
            url,
            secret: secret.into(),
        },
        TIMEOUT,
    )
    .unwrap()
}

// ---------------------------------------------------------------------------------------------
// Webhook

#[tokio::test]
async fn webhook_posts_signed_json() {
    let (base, mut seen) = http_stub(|_| (204, String::new())).await;
    let secret = "s3creto-del-webhook";
    let channel = Arc::new(webhook(format!("{base}/hooks/almacen"), secret));
    assert_eq!(channel.name(), "webhook");

    // Sent from a spawned task: the future must be Send.
    let n = notification();
    let task = {
        let channel = Arc::clone(&channel);
        let n = n.clone();
        tokio::spawn(async move { channel.send(&n).await })
    };
    task.await.unwrap().unwrap();

    let req = seen.recv().await.unwrap();
    assert_eq!(req.method, "POST");
    assert_eq!(req.path, "/hooks/almacen");
    assert_eq!(req.header("content-type"), Some("application/json"));
    assert_eq!(req.header("x-almacen-topic"), Some("alert.raised"));
    let back: Notification = serde_json::from_slice(&req.body).unwrap();
    assert_eq!(back, n);

    let signature = req.header(SIGNATURE_HEADER).unwrap();
    assert!(signature.starts_with("sha256="));
    assert!(verify(secret, &req.body, signature));
    let mut tampered = req.body.clone();
    let at = tampered.iter().position(|b| *b == b'2').unwrap();
    tampered[at] = b'9';
    assert!(!verify(secret, &tampered, signature));
    assert!(!verify("otro-secreto", &req.body, signature));
}

#[tokio::test]
async fn webhook_server_error_is_retryable() {
    let (base, _seen) = http_stub(|_| (500, r#"{"error":"boom"}"#.into())).await;
    let err = webhook(base, "s").send(&notification()).await.unwrap_err();
    match &err {
        NotifyError::Rejected { status, body } => {
            assert_eq!(*status, 500);
            assert!(body.contains("boom"), "{body}");
        }
        other => panic!("expected Rejected, got {other:?}"),
    }
    assert!(err.is_retryable());
}

#[tokio::test]
async fn webhook_too_many_requests_is_retryable() {
    let (base, _seen) = http_stub(|_| (429, String::new())).await;
    let err = webhook(base, "s").send(&notification()).await.unwrap_err();
    assert!(matches!(err, NotifyError::Rejected { status: 429, .. }));
    assert!(err.is_retryable());
}

#[tokio::test]
async fn webhook_client_error_is_not_retryable() {
    let (base, _seen) = http_stub(|_| (400, "x".repeat(10_000))).await;
    let err = webhook(base, "s").send(&notification()).await.unwrap_err();
    match &err {
        NotifyError::Rejected { status, body } => {
            assert_eq!(*status, 400);
            assert!(
                body.len() < 1_000,
                "body not truncated: {} bytes",
                body.len()
            );
        }
        other => panic!("expected Rejected, got {other:?}"),
    }
    assert!(!err.is_retryable());
}

#[tokio::test]
async fn webhook_connection_refused_is_retryable_transport() {
    let port = closed_port().await;
    let err = webhook(format!("http://127.0.0.1:{port}/hook"), "s")
        .send(&notification())
        .await
        .unwrap_err();
    assert!(matches!(err, NotifyError::Transport(_)), "{err:?}");
    assert!(err.is_retryable());
}

#[tokio::test]
async fn webhook_timeout_is_retryable_transport() {
    let port = silent_server().await;
    let channel = Channel::new(
        ChannelConfig::Webhook {
            url: format!("http://127.0.0.1:{port}/hook"),
            secret: "s".into(),
        },
        Duration::from_millis(300),
    )
    .unwrap();
    let started = std::time::Instant::now();
    let err = channel.send(&notification()).await.unwrap_err();
    assert!(started.elapsed() < Duration::from_secs(3));
    assert!(matches!(err, NotifyError::Transport(_)), "{err:?}");
    assert!(err.is_retryable());
}

// ---------------------------------------------------------------------------------------------
// Telegram

const TOKEN: &str = "123456789:AAFakeTokenForTests_xyz-0123456789";

fn telegram(base_url: String) -> Channel {
    Channel::new(
        ChannelConfig::Telegram {
            base_url,
            token: TOKEN.into(),
            chat_id: "-1001234567890".into(),
        },
        TIMEOUT,
    )
    .unwrap()
}

fn right_path(req: &Request) -> bool {
    req.method == "POST" && req.path == format!("/bot{TOKEN}/sendMessage")
}

#[tokio::test]
async fn telegram_sends_message() {
    let (base, mut seen) = http_stub(|req| {
        if right_path(req) {
            (200, r#"{"ok":true,"result":{"message_id":7}}"#.into())
        } else {
            (
                404,
                r#"{"ok":false,"error_code":404,"description":"Not Found"}"#.into(),
            )
        }
    })
    .await;
    // A trailing slash on base_url must not produce "//bot".
    let channel = telegram(format!("{base}/"));
    assert_eq!(channel.name(), "telegram");
    channel.send(&notification()).await.unwrap();

    let req = seen.recv().await.unwrap();
    assert!(right_path(&req), "{} {}", req.method, req.path);
    assert!(
        req.header("content-type")
            .unwrap()
            .starts_with("application/json")
    );
    let sent: serde_json::Value = serde_json::from_slice(&req.body).unwrap();
    let n = notification();
    assert_eq!(sent["chat_id"], "-1001234567890");
    assert_eq!(sent["text"], format!("{}\n\n{}", n.title, n.body));
    assert_eq!(sent["disable_web_page_preview"], true);
}

#[tokio::test]
async fn telegram_not_ok_is_rejected_without_token() {
    // The stand-in echoes the token back, as a misbehaving proxy might.
    let (base, _seen) = http_stub(|_| {
        (
            200,
            format!(r#"{{"ok":false,"description":"Bad Request: chat not found for bot{TOKEN}"}}"#),
        )
    })
    .await;
    let err = telegram(base).send(&notification()).await.unwrap_err();
    assert!(matches!(err, NotifyError::Rejected { .. }), "{err:?}");
    assert!(!err.is_retryable());
    let shown = err.to_string();
    assert!(shown.contains("chat not found"), "{shown}");
    assert!(!shown.contains(TOKEN), "token leaked: {shown}");
    assert!(!format!("{err:?}").contains(TOKEN));
}

#[tokio::test]
async fn telegram_http_errors_are_classified() {
    let (base, _seen) = http_stub(|_| {
        (
            401,
            r#"{"ok":false,"error_code":401,"description":"Unauthorized"}"#.into(),
        )
    })
    .await;
    let err = telegram(base).send(&notification()).await.unwrap_err();
    assert!(
        matches!(err, NotifyError::Rejected { status: 401, .. }),
        "{err:?}"
    );
    assert!(!err.is_retryable());

    let (base, _seen) = http_stub(|_| {
        (
            429,
            r#"{"ok":false,"error_code":429,"description":"Too Many Requests: retry after 3","parameters":{"retry_after":3}}"#.into(),
        )
    })
    .await;
    let err = telegram(base).send(&notification()).await.unwrap_err();
    assert!(
        matches!(err, NotifyError::Rejected { status: 429, .. }),
        "{err:?}"
    );
    assert!(err.is_retryable());

    let (base, _seen) = http_stub(|_| (502, "<html>Bad Gateway</html>".into())).await;
    let err = telegram(base).send(&notification()).await.unwrap_err();
    assert!(
        matches!(err, NotifyError::Rejected { status: 502, .. }),
        "{err:?}"
    );
    assert!(err.is_retryable());
}

#[tokio::test]
async fn telegram_transport_error_hides_token() {
    let port = closed_port().await;
    let err = telegram(format!("http://127.0.0.1:{port}"))
        .send(&notification())
        .await
        .unwrap_err();
    assert!(matches!(err, NotifyError::Transport(_)), "{err:?}");
    assert!(err.is_retryable());
    assert!(!err.to_string().contains(TOKEN), "token leaked: {err}");
    assert!(!format!("{err:?}").contains(TOKEN), "token leaked: {err:?}");
}

// ---------------------------------------------------------------------------------------------
// SMTP sink

#[derive(Debug, Default)]
struct Mail {
    mail_from: String,
    rcpt_to: Vec<String>,
    data: String,
}

/// A minimal SMTP server on 127.0.0.1:0. `rcpt_reply` is what it answers to RCPT TO.
async fn smtp_sink(rcpt_reply: &'static str) -> (u16, mpsc::UnboundedReceiver<Mail>) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let (tx, rx) = mpsc::unbounded_channel();
    tokio::spawn(async move {
        while let Ok((stream, _)) = listener.accept().await {
            let tx = tx.clone();
            tokio::spawn(async move {
                let mut stream = BufReader::new(stream);
                stream.write_all(b"220 sink ESMTP\r\n").await.unwrap();
                let mut mail = Mail::default();
                loop {
                    let mut line = String::new();
                    if stream.read_line(&mut line).await.unwrap() == 0 {
                        return;
                    }
                    let verb = line.get(..4).unwrap_or_default().to_ascii_uppercase();
                    let reply: &str = match verb.as_str() {
                        "EHLO" | "HELO" => "250 sink\r\n",
                        "MAIL" => {
                            mail.mail_from = line.trim_end().to_owned();
                            "250 2.1.0 Ok\r\n"
                        }
                        "RCPT" => {
                            mail.rcpt_to.push(line.trim_end().to_owned());
                            rcpt_reply
                        }
                        "DATA" => {
                            stream
                                .write_all(b"354 End data with <CR><LF>.<CR><LF>\r\n")
                                .await
                                .unwrap();
                            let mut data = String::new();
                            loop {
                                let mut l = String::new();
                                assert!(stream.read_line(&mut l).await.unwrap() > 0);
                                if l == ".\r\n" {
                                    break;
                                }
                                // Undo dot-stuffing.
                                data.push_str(l.strip_prefix('.').unwrap_or(&l));
                            }
                            mail.data = data;
                            tx.send(std::mem::take(&mut mail)).unwrap();
                            "250 2.0.0 Ok: queued\r\n"
                        }
                        "RSET" | "NOOP" => "250 Ok\r\n",
                        "QUIT" => {
                            stream.write_all(b"221 Bye\r\n").await.unwrap();
                            return;
                        }
                        _ => "502 5.5.2 Error: command not recognized\r\n",
                    };
                    stream.write_all(reply.as_bytes()).await.unwrap();
                }
            });
        }
    });
    (port, rx)
}

fn email(port: u16, timeout: Duration) -> Channel {
    Channel::new(
        ChannelConfig::Email {
            host: "127.0.0.1".into(),
            port,
            from: "Almacén Central <alertas@example.com>".into(),
            to: vec![
                "Depósito <deposito@example.com>".into(),
                "gerencia@example.com".into(),
            ],
            starttls: false,
            username: None,
            password: None,
        },
        timeout,
    )
    .unwrap()
}

/// Header section unfolded into (lowercase name, value), and the raw body.
fn split_message(data: &str) -> (Vec<(String, String)>, String) {
    let (head, body) = data.split_once("\r\n\r\n").unwrap();
    let mut headers: Vec<(String, String)> = Vec::new();
    for line in head.split("\r\n") {
        if line.starts_with([' ', '\t']) {
            let last = headers.last_mut().unwrap();
            last.1.push_str(line);
        } else {
            let (name, value) = line.split_once(':').unwrap();
            headers.push((name.to_ascii_lowercase(), value.trim().to_owned()));
        }
    }
    (headers, body.to_owned())
}

fn header<'a>(headers: &'a [(String, String)], name: &str) -> &'a str {
    headers
        .iter()
        .find(|(n, _)| n == name)
        .map(|(_, v)| v.as_str())
        .unwrap_or_else(|| panic!("no {name} header in {headers:?}"))
}

fn decode_quoted_printable(text: &str, underscore_is_space: bool) -> Vec<u8> {
    let bytes = text.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'=' if bytes.get(i + 1..i + 3) == Some(b"\r\n") => i += 3,
            b'=' => {
                let hex = std::str::from_utf8(&bytes[i + 1..i + 3]).unwrap();
                out.push(u8::from_str_radix(hex, 16).unwrap());
                i += 3;
            }
            b'_' if underscore_is_space => {
                out.push(b' ');
                i += 1;
            }
            b => {
                out.push(b);
                i += 1;
            }
        }
    }
    out
}

fn decode_base64(text: &str) -> Vec<u8> {
    let clean: String = text.chars().filter(|c| !c.is_whitespace()).collect();
    base64::engine::general_purpose::STANDARD
        .decode(clean)
        .unwrap()
}

/// Decodes RFC 2047 encoded words (`=?utf-8?b?...?=`, `=?utf-8?q?...?=`); whitespace between
/// two encoded words is dropped, as the RFC says.
fn decode_header_value(value: &str) -> String {
    let mut out = String::new();
    let mut rest = value;
    let mut after_word = false;
    while !rest.is_empty() {
        match rest.find("=?") {
            Some(start) => {
                let between = &rest[..start];
                if !(after_word && between.trim().is_empty()) {
                    out.push_str(between);
                }
                let word = &rest[start + 2..];
                let mut fields = word.splitn(3, '?');
                let charset = fields.next().unwrap();
                let encoding = fields.next().unwrap();
                let tail = fields.next().unwrap();
                let end = tail.find("?=").unwrap();
                assert!(charset.eq_ignore_ascii_case("utf-8"), "charset {charset}");
                let bytes = match encoding {
                    "b" | "B" => decode_base64(&tail[..end]),
                    "q" | "Q" => decode_quoted_printable(&tail[..end], true),
                    other => panic!("unknown encoding {other}"),
                };
                out.push_str(&String::from_utf8(bytes).unwrap());
                rest = &tail[end + 2..];
                after_word = true;
            }
            None => {
                out.push_str(rest);
                rest = "";
            }
        }
    }
    out
}

fn decode_body(headers: &[(String, String)], body: &str) -> String {
    let encoding = headers
        .iter()
        .find(|(n, _)| n == "content-transfer-encoding")
        .map(|(_, v)| v.to_ascii_lowercase())
        .unwrap_or_else(|| "7bit".into());
    let bytes = match encoding.as_str() {
        "7bit" | "8bit" => body.as_bytes().to_vec(),
        "quoted-printable" => decode_quoted_printable(body, false),
        "base64" => decode_base64(body),
        other => panic!("unexpected transfer encoding {other}"),
    };
    String::from_utf8(bytes).unwrap().replace("\r\n", "\n")
}

#[tokio::test]
async fn email_delivers_utf8_plain_text() {
    let (port, mut seen) = smtp_sink("250 2.1.5 Ok\r\n").await;
    let channel = email(port, TIMEOUT);
    assert_eq!(channel.name(), "email");
    let n = notification();
    channel.send(&n).await.unwrap();

    let mail = seen.recv().await.unwrap();
    assert!(
        mail.mail_from.contains("<alertas@example.com>"),
        "{}",
        mail.mail_from
    );
    assert_eq!(mail.rcpt_to.len(), 2, "{:?}", mail.rcpt_to);
    assert!(mail.rcpt_to[0].contains("<deposito@example.com>"));
    assert!(mail.rcpt_to[1].contains("<gerencia@example.com>"));

    let (headers, body) = split_message(&mail.data);
    let content_type = header(&headers, "content-type").to_ascii_lowercase();
    assert!(content_type.starts_with("text/plain"), "{content_type}");
    assert!(content_type.contains("charset=utf-8"), "{content_type}");
    assert_eq!(decode_header_value(header(&headers, "subject")), n.title);
    let from = decode_header_value(header(&headers, "from"));
    assert!(from.contains("Almacén Central"), "{from}");
    let to = decode_header_value(header(&headers, "to"));
    assert!(to.contains("deposito@example.com") && to.contains("gerencia@example.com"));

    let text = decode_body(&headers, &body);
    assert_eq!(text.trim_end(), n.body);
    assert!(text.contains('ñ') && text.contains('á'));
}

#[tokio::test]
async fn email_one_message_per_notification() {
    let (port, mut seen) = smtp_sink("250 Ok\r\n").await;
    let channel = email(port, TIMEOUT);
    let mut second = notification();
    second.title = "Segunda alerta".into();
    channel.send(&notification()).await.unwrap();
    channel.send(&second).await.unwrap();
    let a = seen.recv().await.unwrap();
    let b = seen.recv().await.unwrap();
    let (ha, _) = split_message(&a.data);
    let (hb, _) = split_message(&b.data);
    assert_eq!(
        decode_header_value(header(&ha, "subject")),
        notification().title
    );
    assert_eq!(
        decode_header_value(header(&hb, "subject")),
        "Segunda alerta"
    );
}

#[tokio::test]
async fn email_transient_refusal_is_retryable() {
    let (port, _seen) = smtp_sink("451 4.3.0 Try again later\r\n").await;
    let err = email(port, TIMEOUT)
        .send(&notification())
        .await
        .unwrap_err();
    assert!(err.is_retryable(), "{err:?}");
}

#[tokio::test]
async fn email_permanent_refusal_is_not_retryable() {
    let (port, _seen) = smtp_sink("550 5.1.1 No such user\r\n").await;
    let err = email(port, TIMEOUT)
        .send(&notification())
        .await
        .unwrap_err();
    assert!(!err.is_retryable(), "{err:?}");
    assert!(err.to_string().contains("550"), "{err}");
}

#[tokio::test]
async fn email_connection_refused_is_retryable_transport() {
    let port = closed_port().await;
    let err = email(port, TIMEOUT)
        .send(&notification())
        .await
        .unwrap_err();
    assert!(matches!(err, NotifyError::Transport(_)), "{err:?}");
    assert!(err.is_retryable());
}

#[tokio::test]
async fn email_send_times_out() {
    let port = silent_server().await;
    let started = std::time::Instant::now();
    let err = email(port, Duration::from_millis(300))
        .send(&notification())
        .await
        .unwrap_err();
    assert!(started.elapsed() < Duration::from_secs(3));
    assert!(matches!(err, NotifyError::Transport(_)), "{err:?}");
    assert!(err.is_retryable());
}
