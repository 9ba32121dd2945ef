//! Test harness: boots the real app on port 0 against a fresh SQLite file or a fresh
//! PostgreSQL database, and talks to it over HTTP like any client.
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used)]

pub mod browser;
pub mod node;
pub mod proxy;
pub mod webdriver;

use std::sync::Arc;

use reqwest::StatusCode;
use serde_json::{Value, json};

pub const ADMIN_PASSWORD: &str = "clave-de-prueba-123";

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Engine {
    Sqlite,
    Postgres,
}

/// The PostgreSQL server the tests create their databases on.
pub fn pg_admin_url() -> String {
    std::env::var("ALMACEN_TEST_PG_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".into())
}

/// A new, empty database of the engine; PostgreSQL tests fail (never skip) when the server is down.
pub async fn fresh_database(engine: Engine) -> String {
    let name = format!("almacen_t_{}", uuid::Uuid::new_v4().simple());
    match engine {
        Engine::Sqlite => {
            let dir = std::env::temp_dir().join("almacen-tests");
            std::fs::create_dir_all(&dir).unwrap();
            format!("sqlite://{}", dir.join(format!("{name}.db")).display())
        }
        Engine::Postgres => {
            use sqlx::Connection;
            let admin = pg_admin_url();
            let mut conn = sqlx::PgConnection::connect(&admin)
                .await
                .unwrap_or_else(|e| panic!("PostgreSQL tests need a server at {admin}: {e}"));
            sqlx::Executor::execute(
                &mut conn,
                sqlx::AssertSqlSafe(format!("CREATE DATABASE {name}")),
            )
            .await
            .unwrap();
            let base = admin.rsplit_once('/').map(|(b, _)| b.to_owned()).unwrap();
            format!("{base}/{name}")
        }
    }
}

pub struct TestServer {
    pub base: String,
    pub client: reqwest::Client,
    pub token: String,
    pub app: Arc<app::App>,
    pub store: Arc<store::SqlStore>,
    pub database_url: String,
    pub engine: Engine,
    server: tokio::task::JoinHandle<()>,
}

impl Drop for TestServer {
    fn drop(&mut self) {
        self.server.abort();
    }
}

pub struct Resp {
    pub status: StatusCode,
    pub body: Value,
    pub headers: reqwest::header::HeaderMap,
}

impl Resp {
    /// Asserts a problem+json error and returns its body.
    pub fn problem(&self, status: u16) -> &Value {
        assert_eq!(
            self.status.as_u16(),
            status,
            "unexpected status, body: {}",
            self.body
        );
        let ct = self.headers.get("content-type").unwrap().to_str().unwrap();
        assert_eq!(ct, "application/problem+json", "body: {}", self.body);
        assert_eq!(self.body["status"], status);
        &self.body
    }

    pub fn ok(&self, status: u16) -> &Value {
        assert_eq!(
            self.status.as_u16(),
            status,
            "unexpected status, body: {}",
            self.body
        );
        &self.body
    }
}

pub fn test_settings() -> app::Settings {
    let mut s = app::Settings::default();
    s.login.slowdown_ms = 5;
    s
}

impl TestServer {
    pub async fn start(engine: Engine) -> TestServer {
        Self::start_with(engine, app::Clock::system(), test_settings()).await
    }

    pub async fn start_with(
        engine: Engine,
        clock: app::Clock,
        settings: app::Settings,
    ) -> TestServer {
        let database_url = fresh_database(engine).await;
        let cfg = almacen::config::Config {
            database_url: database_url.clone(),
            max_connections: 8,
            settings,
            ..Default::default()
        };
        let wired = almacen::server::wire(&cfg, clock).await.unwrap();
        let sys = app::Principal::system();
        wired
            .app
            .create_user(
                &sys,
                app::auth::UserInput {
                    username: "admin".into(),
                    password: ADMIN_PASSWORD.into(),
                    role: "admin".into(),
                    locations: vec![],
                },
                wired.app.meta(&sys, None),
            )
            .await
            .unwrap();
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let base = format!("http://{}", listener.local_addr().unwrap());
        let app = wired.app.clone();
        let server = tokio::spawn(async move {
            almacen::server::serve(app, listener, std::future::pending())
                .await
                .unwrap();
        });
        let client = reqwest::Client::new();
        let mut s = TestServer {
            base,
            client,
            token: String::new(),
            app: wired.app,
            store: wired.store,
            database_url,
            engine,
            server,
        };
        s.token = s.login("admin", ADMIN_PASSWORD).await;
        s
    }

    pub async fn login(&self, username: &str, password: &str) -> String {
        let r = self
            .send(
                None,
                reqwest::Method::POST,
                "/api/v1/auth/login",
                Some(json!({"username": username, "password": password})),
                None,
            )
            .await;
        assert_eq!(r.status, StatusCode::OK, "login failed: {}", r.body);
        r.body["token"].as_str().unwrap().to_owned()
    }

    /// Creates a user with the given role and locations and returns a session token for it.
    pub async fn user(&self, name: &str, role: &str, locations: &[&str]) -> String {
        let password = "otra-clave-segura-1";
        self.post(
            "/api/v1/users",
            json!({"username": name, "password": password, "role": role, "locations": locations}),
        )
        .await
        .ok(201);
        self.login(name, password).await
    }

    pub async fn send(
        &self,
        token: Option<&str>,
        method: reqwest::Method,
        path: &str,
        body: Option<Value>,
        key: Option<&str>,
    ) -> Resp {
        let mut req = self.client.request(method, format!("{}{path}", self.base));
        if let Some(t) = token {
            req = req.bearer_auth(t);
        }
        if let Some(b) = body {
            req = req.json(&b);
        }
        if let Some(k) = key {
            req = req.header("Idempotency-Key", k);
        }
        let res = req.send().await.unwrap();
        let status = res.status();
        let headers = res.headers().clone();
        let text = res.text().await.unwrap();
        let body = if text.is_empty() {
            Value::Null
        } else {
            serde_json::from_str(&text).unwrap_or(Value::String(text))
        };
        Resp {
            status,
            body,
            headers,
        }
    }

    pub async fn post(&self, path: &str, body: Value) -> Resp {
        self.send(
            Some(&self.token),
            reqwest::Method::POST,
            path,
            Some(body),
            None,
        )
        .await
    }

    pub async fn post_as(&self, token: &str, path: &str, body: Value) -> Resp {
        self.send(Some(token), reqwest::Method::POST, path, Some(body), None)
            .await
    }

    pub async fn post_key(&self, path: &str, body: Value, key: &str) -> Resp {
        self.send(
            Some(&self.token),
            reqwest::Method::POST,
            path,
            Some(body),
            Some(key),
        )
        .await
    }

    pub async fn get(&self, path: &str) -> Resp {
        self.send(Some(&self.token), reqwest::Method::GET, path, None, None)
            .await
    }

    pub async fn get_as(&self, token: &str, path: &str) -> Resp {
        self.send(Some(token), reqwest::Method::GET, path, None, None)
            .await
    }

    // ---- fixtures

    pub async fn location(&self, code: &str, kind: &str) {
        self.post(
            "/api/v1/locations",
            json!({"code": code, "name": format!("Ubicación {code}"), "kind": kind}),
        )
        .await
        .ok(201);
    }

    /// A unit product in category Almacén with the given SKU; returns its id.
    pub async fn product(&self, sku: &str) -> i64 {
        self.post(
            "/api/v1/products",
            json!({"sku": sku, "name": format!("Producto {sku}"), "category": "Almacén", "cost": "100.00", "price": "150.00", "vat_rate": "21"}),
        )
        .await
        .ok(201)["id"]
            .as_i64()
            .unwrap()
    }

    pub async fn movement(&self, body: Value) -> Resp {
        self.post("/api/v1/stock/movements", body).await
    }

    /// Total on hand of a product at a location, summed over lots.
    pub async fn on_hand(&self, product_id: i64, location: &str) -> String {
        let r = self
            .get(&format!(
                "/api/v1/stock?product_id={product_id}&location={location}&limit=500"
            ))
            .await;
        let items = r.ok(200)["items"].as_array().unwrap().clone();
        let milli: i64 = items
            .iter()
            .map(|i| {
                domain::Qty::parse(i["on_hand"].as_str().unwrap())
                    .unwrap()
                    .milli()
            })
            .sum();
        domain::Qty::from_milli(milli).to_string()
    }

    pub async fn movement_count(&self) -> i64 {
        let report = self
            .app
            .check_ledger(&app::Principal::system())
            .await
            .unwrap();
        report.movements_checked
    }

    pub async fn ledger_ok(&self) -> bool {
        let report = self
            .app
            .check_ledger(&app::Principal::system())
            .await
            .unwrap();
        assert!(
            report.ok,
            "ledger discrepancies: {:?}",
            report.discrepancies
        );
        report.ok
    }
}

/// Instantiates each listed `async fn name(engine: Engine)` once per engine.
#[macro_export]
macro_rules! engine_tests {
    ($($name:ident),* $(,)?) => {
        mod sqlite {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $name() {
                    super::$name($crate::common::Engine::Sqlite).await
                }
            )*
        }
        mod postgres {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $name() {
                    super::$name($crate::common::Engine::Postgres).await
                }
            )*
        }
    };
}
