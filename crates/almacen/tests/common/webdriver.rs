//! A small WebDriver client over reqwest for the browser tests: starts Debian's chromedriver on
//! a free port with headless Chromium, and offers what the tests need (navigate, find, type keys
//! including Enter and F-keys, click, read text, run scripts, screenshots, the console log).
//! Dropping it ends the browser session and kills chromedriver.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::{Value, json};

/// WebDriver's name for the element reference in JSON.
const ELEMENT: &str = "element-6066-11e4-a52e-4f735466cecf";

/// Special keys as WebDriver encodes them (W3C "keys" table).
pub mod keys {
    pub const ENTER: &str = "\u{E007}";
    pub const ESCAPE: &str = "\u{E00C}";
    pub const DELETE: &str = "\u{E017}";
    pub const ARROW_UP: &str = "\u{E013}";
    pub const ARROW_DOWN: &str = "\u{E015}";
    pub const F2: &str = "\u{E032}";
    pub const F9: &str = "\u{E039}";
}

pub struct WebDriver {
    http: reqwest::Client,
    url: String,
    session: String,
    child: Child,
    profile: PathBuf,
}

/// The browser binaries: (chromium, chromedriver), when installed.
pub fn binaries() -> Option<(PathBuf, PathBuf)> {
    let chromium = ["/usr/lib/chromium/chromium", "/usr/bin/chromium"]
        .iter()
        .map(PathBuf::from)
        .find(|p| p.exists())?;
    let driver = ["/usr/bin/chromedriver", "/usr/lib/chromium/chromedriver"]
        .iter()
        .map(PathBuf::from)
        .find(|p| p.exists())?;
    Some((chromium, driver))
}

fn free_port() -> u16 {
    let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    l.local_addr().unwrap().port()
}

impl WebDriver {
    /// Starts chromedriver and a headless Chromium whose viewport is `width`×`height`.
    pub async fn start(chromium: &Path, driver: &Path, width: u32, height: u32) -> WebDriver {
        let port = free_port();
        let child = Command::new(driver)
            .arg(format!("--port={port}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("chromedriver starts");
        let url = format!("http://127.0.0.1:{port}");
        let http = reqwest::Client::new();
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            if let Ok(r) = http.get(format!("{url}/status")).send().await
                && r.status().is_success()
            {
                break;
            }
            assert!(Instant::now() < deadline, "chromedriver did not start");
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        let profile = std::env::temp_dir().join(format!(
            "almacen-chromium-{}",
            uuid::Uuid::new_v4().simple()
        ));
        let caps = json!({"capabilities": {"alwaysMatch": {
            "browserName": "chrome",
            "goog:loggingPrefs": {"browser": "ALL"},
            "goog:chromeOptions": {
                "binary": chromium,
                "args": ["--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                         "--no-first-run", "--disable-extensions", "--hide-scrollbars",
                         "--force-device-scale-factor=1", "--lang=es-AR",
                         format!("--window-size={width},{height}"),
                         format!("--user-data-dir={}", profile.display())],
            },
        }}});
        let res: Value = http
            .post(format!("{url}/session"))
            .json(&caps)
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        let session = res["value"]["sessionId"]
            .as_str()
            .unwrap_or_else(|| panic!("no WebDriver session: {res}"))
            .to_owned();
        let wd = WebDriver {
            http,
            url,
            session,
            child,
            profile,
        };
        wd.viewport(width, height).await;
        wd
    }

    /// Sends a command; panics with WebDriver's message on an error.
    pub async fn cmd(&self, method: reqwest::Method, path: &str, body: Option<Value>) -> Value {
        let url = format!("{}/session/{}{path}", self.url, self.session);
        let mut req = self.http.request(method.clone(), url);
        if let Some(b) = body {
            req = req.json(&b);
        } else if method == reqwest::Method::POST {
            req = req.json(&json!({}));
        }
        let res = req.send().await.unwrap();
        let status = res.status();
        let v: Value = res.json().await.unwrap_or(Value::Null);
        assert!(
            status.is_success(),
            "WebDriver {method} {path}: {status} {v}"
        );
        v["value"].clone()
    }

    /// The exact CSS viewport (the window's outer size would include nothing in headless mode,
    /// but device metrics also make 390×844 a phone: touch-free, mobile layout).
    pub async fn viewport(&self, width: u32, height: u32) {
        self.cmd(
            reqwest::Method::POST,
            "/window/rect",
            Some(json!({"width": width, "height": height})),
        )
        .await;
        self.cmd(
            reqwest::Method::POST,
            "/goog/cdp/execute",
            Some(
                json!({"cmd": "Emulation.setDeviceMetricsOverride", "params": {
                    "width": width, "height": height, "deviceScaleFactor": 1, "mobile": width < 600,
                }}),
            ),
        )
        .await;
    }

    pub async fn goto(&self, url: &str) {
        self.cmd(reqwest::Method::POST, "/url", Some(json!({ "url": url })))
            .await;
    }

    pub async fn refresh(&self) {
        self.cmd(reqwest::Method::POST, "/refresh", None).await;
    }

    pub async fn current_url(&self) -> String {
        self.cmd(reqwest::Method::GET, "/url", None)
            .await
            .as_str()
            .unwrap_or_default()
            .to_owned()
    }

    /// The element matching a CSS selector, if any now.
    pub async fn try_find(&self, css: &str) -> Option<String> {
        let url = format!("{}/session/{}/element", self.url, self.session);
        let res = self
            .http
            .post(url)
            .json(&json!({"using": "css selector", "value": css}))
            .send()
            .await
            .unwrap();
        let ok = res.status().is_success();
        let v: Value = res.json().await.unwrap_or(Value::Null);
        ok.then(|| v["value"][ELEMENT].as_str().map(str::to_owned))
            .flatten()
    }

    /// Waits up to 10 s for an element.
    pub async fn find(&self, css: &str) -> String {
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            if let Some(e) = self.try_find(css).await {
                return e;
            }
            if Instant::now() >= deadline {
                let page = self
                    .execute(
                        "return document.body ? document.body.innerText : ''",
                        json!([]),
                    )
                    .await;
                panic!("no element {css} on {}: {page}", self.current_url().await);
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    pub async fn text(&self, element: &str) -> String {
        self.cmd(
            reqwest::Method::GET,
            &format!("/element/{element}/text"),
            None,
        )
        .await
        .as_str()
        .unwrap_or_default()
        .to_owned()
    }

    /// The element's text, or `None` when it is gone (stale).
    pub async fn try_text(&self, element: &str) -> Option<String> {
        let url = format!(
            "{}/session/{}/element/{element}/text",
            self.url, self.session
        );
        let res = self.http.get(url).send().await.ok()?;
        if !res.status().is_success() {
            return None;
        }
        let v: Value = res.json().await.ok()?;
        v["value"].as_str().map(str::to_owned)
    }

    /// Waits up to 10 s until the element's text is `expected`.
    pub async fn wait_text(&self, css: &str, expected: &str) {
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            // The page may swap the element out between finding and reading it (a fragment
            // re-rendered): a stale element is just another try.
            if let Some(e) = self.try_find(css).await
                && let Some(got) = self.try_text(&e).await
            {
                if got == expected {
                    return;
                }
                assert!(
                    Instant::now() < deadline,
                    "{css} shows {got:?}, expected {expected:?}"
                );
            }
            assert!(Instant::now() < deadline, "no element {css}");
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// Types into an element (which must accept keyboard input).
    pub async fn send_keys(&self, element: &str, text: &str) {
        self.cmd(
            reqwest::Method::POST,
            &format!("/element/{element}/value"),
            Some(json!({ "text": text })),
        )
        .await;
    }

    /// Types into whatever has the focus, as a barcode scanner or a cashier does.
    pub async fn type_keys(&self, text: &str) {
        let actions: Vec<Value> = text
            .chars()
            .flat_map(|c| {
                let k = c.to_string();
                [
                    json!({"type": "keyDown", "value": k}),
                    json!({"type": "keyUp", "value": k}),
                ]
            })
            .collect();
        self.cmd(
            reqwest::Method::POST,
            "/actions",
            Some(json!({"actions": [{"type": "key", "id": "keyboard", "actions": actions}]})),
        )
        .await;
    }

    /// The id of the element that has the focus.
    pub async fn active(&self) -> String {
        self.cmd(reqwest::Method::GET, "/element/active", None)
            .await[ELEMENT]
            .as_str()
            .unwrap_or_default()
            .to_owned()
    }

    pub async fn attr(&self, element: &str, name: &str) -> Option<String> {
        self.cmd(
            reqwest::Method::GET,
            &format!("/element/{element}/attribute/{name}"),
            None,
        )
        .await
        .as_str()
        .map(str::to_owned)
    }

    pub async fn click(&self, element: &str) {
        self.cmd(
            reqwest::Method::POST,
            &format!("/element/{element}/click"),
            None,
        )
        .await;
    }

    pub async fn execute(&self, script: &str, args: Value) -> Value {
        self.cmd(
            reqwest::Method::POST,
            "/execute/sync",
            Some(json!({"script": script, "args": args})),
        )
        .await
    }

    /// Runs a script whose last argument is the callback to call with the result.
    pub async fn execute_async(&self, script: &str, args: Value) -> Value {
        self.cmd(
            reqwest::Method::POST,
            "/execute/async",
            Some(json!({"script": script, "args": args})),
        )
        .await
    }

    /// Writes a PNG of the viewport.
    pub async fn screenshot(&self, path: &Path) {
        use base64::Engine as _;
        let b64 = self.cmd(reqwest::Method::GET, "/screenshot", None).await;
        let png = base64::engine::general_purpose::STANDARD
            .decode(b64.as_str().unwrap_or_default())
            .unwrap();
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir).unwrap();
        }
        std::fs::write(path, png).unwrap();
    }

    /// Browser console entries since the last call: `{level, message, source, timestamp}`.
    pub async fn console(&self) -> Vec<Value> {
        self.cmd(
            reqwest::Method::POST,
            "/se/log",
            Some(json!({"type": "browser"})),
        )
        .await
        .as_array()
        .cloned()
        .unwrap_or_default()
    }
}

impl Drop for WebDriver {
    fn drop(&mut self) {
        // End the session (closing Chromium) with a plain blocking request, then chromedriver.
        use std::io::{Read, Write};
        if let Some(addr) = self.url.strip_prefix("http://")
            && let Ok(mut s) = std::net::TcpStream::connect(addr)
        {
            let _ = s.set_read_timeout(Some(Duration::from_secs(5)));
            let _ = write!(
                s,
                "DELETE /session/{} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n",
                self.session
            );
            let mut sink = Vec::new();
            let _ = s.read_to_end(&mut sink);
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = std::fs::remove_dir_all(&self.profile);
    }
}
