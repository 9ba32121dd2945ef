//! `almacen bench`: load generators that drive a running node (or one started in-process on a
//! fresh database) over HTTP and report throughput and latency percentiles.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use hdrhistogram::Histogram;
use rand::Rng;
use serde::Serialize;
use serde_json::json;

use crate::config::Config;

#[derive(Clone, Debug)]
pub struct MovementsBench {
    /// A running node; when absent one is started in-process on `database_url`.
    pub url: Option<String>,
    pub database_url: Option<String>,
    pub username: String,
    pub password: Option<String>,
    pub clients: usize,
    pub duration: Duration,
    pub max_requests: u64,
    pub products: usize,
}

#[derive(Debug, Serialize)]
pub struct BenchReport {
    pub engine: String,
    pub clients: usize,
    pub seconds: f64,
    pub movements: u64,
    pub movements_per_sec: f64,
    pub p50_ms: f64,
    pub p95_ms: f64,
    pub p99_ms: f64,
    pub max_ms: f64,
    pub errors: BTreeMap<String, u64>,
    pub ledger_ok: bool,
}

struct Target {
    base: String,
    token: String,
    engine: String,
    /// Keeps an in-process server alive for the run.
    _server: Option<tokio::task::JoinHandle<()>>,
    _tmp: Option<std::path::PathBuf>,
}

async fn start_target(b: &MovementsBench, client: &reqwest::Client) -> anyhow::Result<Target> {
    if let Some(url) = &b.url {
        let password = b
            .password
            .clone()
            .context("con --url, la contraseña va en ALMACEN_PASSWORD")?;
        let token = login(client, url, &b.username, &password).await?;
        let engine = client
            .get(format!("{url}/health/live"))
            .send()
            .await?
            .json::<serde_json::Value>()
            .await?["engine"]
            .as_str()
            .unwrap_or("?")
            .to_owned();
        return Ok(Target {
            base: url.trim_end_matches('/').to_owned(),
            token,
            engine,
            _server: None,
            _tmp: None,
        });
    }
    let mut tmp = None;
    let database_url = match &b.database_url {
        Some(u) => u.clone(),
        None => {
            let path =
                std::env::temp_dir().join(format!("almacen-bench-{}.db", std::process::id()));
            let _ = std::fs::remove_file(&path);
            tmp = Some(path.clone());
            format!("sqlite://{}", path.display())
        }
    };
    let cfg = Config {
        database_url,
        max_connections: (b.clients as u32).clamp(8, 64),
        ..Config::default()
    };
    let wired = crate::server::wire(&cfg, app::Clock::system()).await?;
    let password = app::auth::random_password();
    let username = format!("bench{}", rand::rng().random_range(100_000..999_999));
    let sys = app::Principal::system();
    let input = app::auth::UserInput {
        username: username.clone(),
        password: password.clone(),
        role: "admin".into(),
        locations: Vec::new(),
    };
    wired
        .app
        .create_user(&sys, input, wired.app.meta(&sys, None))
        .await?;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let base = format!("http://{}", listener.local_addr()?);
    let engine = wired.app.store.engine().to_owned();
    let app = wired.app.clone();
    let server = tokio::spawn(async move {
        if let Err(e) = crate::server::serve(app, listener, std::future::pending()).await {
            eprintln!("servidor de benchmark: {e:#}");
        }
    });
    let token = login(client, &base, &username, &password).await?;
    Ok(Target {
        base,
        token,
        engine,
        _server: Some(server),
        _tmp: tmp,
    })
}

async fn login(
    client: &reqwest::Client,
    base: &str,
    username: &str,
    password: &str,
) -> anyhow::Result<String> {
    let res = client
        .post(format!("{}/api/v1/auth/login", base.trim_end_matches('/')))
        .json(&json!({ "username": username, "password": password }))
        .send()
        .await?;
    if !res.status().is_success() {
        bail!(
            "no se pudo iniciar sesión: {}",
            res.text().await.unwrap_or_default()
        );
    }
    let body: serde_json::Value = res.json().await?;
    Ok(body["token"].as_str().unwrap_or_default().to_owned())
}

async fn post(
    client: &reqwest::Client,
    t: &Target,
    path: &str,
    body: &serde_json::Value,
    key: Option<&str>,
) -> anyhow::Result<reqwest::Response> {
    let mut req = client
        .post(format!("{}{path}", t.base))
        .bearer_auth(&t.token)
        .json(body);
    if let Some(k) = key {
        req = req.header("Idempotency-Key", k);
    }
    Ok(req.send().await?)
}

/// N clients post single movements (alternating issues and receipts of one unit, each with
/// its own idempotency key) for a bounded time and count.
pub async fn movements(b: MovementsBench) -> anyhow::Result<BenchReport> {
    let client = reqwest::Client::builder()
        .pool_max_idle_per_host(b.clients)
        .timeout(Duration::from_secs(30))
        .build()?;
    let target = Arc::new(start_target(&b, &client).await?);
    let run: String = format!("{:06}", rand::rng().random_range(0..1_000_000));
    let location = format!("B{run}");
    let res = post(
        &client,
        &target,
        "/api/v1/locations",
        &json!({"code": location, "name": "Banco de pruebas", "kind": "warehouse"}),
        None,
    )
    .await?;
    if !res.status().is_success() {
        bail!(
            "no se pudo crear la ubicación: {}",
            res.text().await.unwrap_or_default()
        );
    }
    let mut skus = Vec::with_capacity(b.products);
    let mut receipts = Vec::with_capacity(b.products);
    for i in 0..b.products {
        let sku = format!("BENCH{run}-{i}");
        let body = json!({"sku": sku, "name": format!("Producto de prueba {i}"), "category": "Banco de pruebas",
            "cost": "100.00", "price": "150.00", "vat_rate": "21"});
        let res = post(&client, &target, "/api/v1/products", &body, None).await?;
        if !res.status().is_success() {
            bail!(
                "no se pudo crear el producto: {}",
                res.text().await.unwrap_or_default()
            );
        }
        receipts.push(
            json!({"kind": "receipt", "sku": sku, "location": location, "quantity": "1000000"}),
        );
        skus.push(sku);
    }
    let res = post(
        &client,
        &target,
        "/api/v1/stock/movements/batch",
        &json!({ "movements": receipts }),
        None,
    )
    .await?;
    if !res.status().is_success() {
        bail!(
            "no se pudo cargar el stock inicial: {}",
            res.text().await.unwrap_or_default()
        );
    }

    eprintln!(
        "bench movements: {} clientes, {} s como máximo, {} solicitudes como máximo, motor {}",
        b.clients,
        b.duration.as_secs(),
        b.max_requests,
        target.engine
    );
    let skus = Arc::new(skus);
    let issued = Arc::new(AtomicU64::new(0));
    let started = Instant::now();
    let deadline = started + b.duration;
    let mut workers = tokio::task::JoinSet::new();
    for w in 0..b.clients {
        let (client, target, skus, issued, location, run) = (
            client.clone(),
            target.clone(),
            skus.clone(),
            issued.clone(),
            location.clone(),
            run.clone(),
        );
        let max = b.max_requests;
        workers.spawn(async move {
            let mut hist = Histogram::<u64>::new_with_bounds(1, 60_000_000, 3)?;
            let mut errors: BTreeMap<String, u64> = BTreeMap::new();
            let mut n = 0u64;
            while Instant::now() < deadline && issued.fetch_add(1, Ordering::Relaxed) < max {
                let sku = &skus[rand::rng().random_range(0..skus.len())];
                let kind = if n.is_multiple_of(2) {
                    "issue"
                } else {
                    "receipt"
                };
                let body = json!({"kind": kind, "sku": sku, "location": location, "quantity": "1"});
                let key = format!("bench-{run}-{w}-{n}");
                n += 1;
                let t0 = Instant::now();
                match post(
                    &client,
                    &target,
                    "/api/v1/stock/movements",
                    &body,
                    Some(&key),
                )
                .await
                {
                    Ok(res) if res.status().as_u16() == 201 => {
                        let _ = res.bytes().await;
                        let _ = hist.record(t0.elapsed().as_micros() as u64);
                    }
                    Ok(res) => {
                        *errors
                            .entry(format!("http {}", res.status().as_u16()))
                            .or_default() += 1
                    }
                    Err(e) => *errors.entry(format!("red: {e}")).or_default() += 1,
                }
            }
            anyhow::Ok((hist, errors))
        });
    }
    let progress = {
        let issued = issued.clone();
        tokio::spawn(async move {
            loop {
                tokio::time::sleep(Duration::from_secs(1)).await;
                let done = issued.load(Ordering::Relaxed);
                let secs = started.elapsed().as_secs_f64();
                eprint!(
                    "\r  {done:>9} movimientos · {:>8.0}/s · {secs:>5.1} s",
                    done as f64 / secs
                );
            }
        })
    };
    let mut hist = Histogram::<u64>::new(3)?;
    let mut errors = BTreeMap::new();
    while let Some(r) = workers.join_next().await {
        let (h, e) = r??;
        hist.add(&h)?;
        for (k, v) in e {
            *errors.entry(k).or_default() += v;
        }
    }
    progress.abort();
    eprintln!();
    let secs = started.elapsed().as_secs_f64();
    let check: serde_json::Value = client
        .get(format!("{}/api/v1/admin/ledger-check", target.base))
        .bearer_auth(&target.token)
        .send()
        .await?
        .json()
        .await?;
    let ms = |q: f64| hist.value_at_quantile(q) as f64 / 1000.0;
    Ok(BenchReport {
        engine: target.engine.clone(),
        clients: b.clients,
        seconds: secs,
        movements: hist.len(),
        movements_per_sec: hist.len() as f64 / secs,
        p50_ms: ms(0.50),
        p95_ms: ms(0.95),
        p99_ms: ms(0.99),
        max_ms: hist.max() as f64 / 1000.0,
        errors,
        ledger_ok: check["ok"].as_bool().unwrap_or(false),
    })
}

impl BenchReport {
    pub fn print(&self) {
        println!("motor              {}", self.engine);
        println!("clientes           {}", self.clients);
        println!("duración           {:.1} s", self.seconds);
        println!("movimientos        {}", self.movements);
        println!("movimientos/s      {:.0}", self.movements_per_sec);
        println!(
            "p50 / p95 / p99    {:.2} / {:.2} / {:.2} ms (máx {:.2} ms)",
            self.p50_ms, self.p95_ms, self.p99_ms, self.max_ms
        );
        if self.errors.is_empty() {
            println!("errores            0");
        } else {
            for (k, v) in &self.errors {
                println!("error              {k}: {v}");
            }
        }
        println!(
            "libro de stock     {}",
            if self.ledger_ok {
                "consistente"
            } else {
                "CON DIFERENCIAS"
            }
        );
    }
}
