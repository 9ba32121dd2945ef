//! `almacen bench`: load generators that drive a running node (or one started in-process on a
//! fresh database) over HTTP and report throughput and latency percentiles, next to the
//! baseline this machine achieves where the benchmark names one.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use hdrhistogram::Histogram;
use rand::Rng;
use serde::Serialize;
use serde_json::{Value, json};

use crate::config::Config;

/// Where the load goes: a running node (`url`), or a node started here on `database_url`
/// (default: a fresh temporary SQLite file).
#[derive(Clone, Debug)]
pub struct BenchTarget {
    pub url: Option<String>,
    pub database_url: Option<String>,
    pub username: String,
    pub password: Option<String>,
}

/// How much load: bounded in time and in count.
#[derive(Clone, Copy, Debug)]
pub struct Load {
    pub clients: usize,
    pub duration: Duration,
    pub max_requests: u64,
}

#[derive(Debug, Serialize)]
pub struct Baseline {
    pub name: String,
    pub per_sec: f64,
    /// This benchmark's throughput divided by the baseline's.
    pub ratio: f64,
}

#[derive(Debug, Serialize)]
pub struct BenchReport {
    pub benchmark: String,
    pub engine: String,
    pub clients: usize,
    pub seconds: f64,
    pub operations: u64,
    pub per_sec: f64,
    pub p50_ms: f64,
    pub p95_ms: f64,
    pub p99_ms: f64,
    pub max_ms: f64,
    pub errors: BTreeMap<String, u64>,
    pub ledger_ok: bool,
    pub baseline: Option<Baseline>,
}

pub(crate) struct Node {
    pub(crate) base: String,
    pub(crate) token: String,
    pub(crate) engine: String,
    /// Keeps an in-process server alive for the run.
    _server: Option<tokio::task::JoinHandle<()>>,
    /// The temporary SQLite file of an in-process node, removed with the node.
    scratch: Option<std::path::PathBuf>,
}

impl Drop for Node {
    fn drop(&mut self) {
        if let Some(path) = &self.scratch {
            for suffix in ["", "-wal", "-shm"] {
                let _ = std::fs::remove_file(format!("{}{suffix}", path.display()));
            }
        }
    }
}

pub(crate) fn http_client(clients: usize) -> anyhow::Result<reqwest::Client> {
    Ok(reqwest::Client::builder()
        .pool_max_idle_per_host(clients)
        .timeout(Duration::from_secs(30))
        .build()?)
}

pub(crate) async fn connect(t: &BenchTarget, client: &reqwest::Client) -> anyhow::Result<Node> {
    if let Some(url) = &t.url {
        let password = t
            .password
            .clone()
            .context("con --url, la contraseña va en ALMACEN_PASSWORD")?;
        let base = url.trim_end_matches('/').to_owned();
        let token = login(client, &base, &t.username, &password).await?;
        let health: Value = client
            .get(format!("{base}/health/live"))
            .send()
            .await?
            .json()
            .await?;
        return Ok(Node {
            engine: health["engine"].as_str().unwrap_or("?").to_owned(),
            base,
            token,
            _server: None,
            scratch: None,
        });
    }
    let mut scratch = None;
    let database_url = match &t.database_url {
        Some(u) => u.clone(),
        None => {
            let path =
                std::env::temp_dir().join(format!("almacen-bench-{}.db", std::process::id()));
            for suffix in ["", "-wal", "-shm"] {
                let _ = std::fs::remove_file(format!("{}{suffix}", path.display()));
            }
            let url = format!("sqlite://{}", path.display());
            scratch = Some(path);
            url
        }
    };
    // The node runs with the shipped pool size, as a shop's would: more connections than
    // cores only queue inside the database instead of in the pool.
    let cfg = Config {
        database_url,
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
    // The audit sealer runs as on a served node: its cost is part of what is measured.
    tokio::spawn(crate::audit::seal_forever(Arc::downgrade(&wired.app)));
    let server = tokio::spawn(async move {
        if let Err(e) = crate::server::serve(app, listener, std::future::pending()).await {
            eprintln!("servidor de benchmark: {e:#}");
        }
    });
    let token = login(client, &base, &username, &password).await?;
    Ok(Node {
        base,
        token,
        engine,
        _server: Some(server),
        scratch,
    })
}

pub(crate) async fn login(
    client: &reqwest::Client,
    base: &str,
    username: &str,
    password: &str,
) -> anyhow::Result<String> {
    let res = client
        .post(format!("{base}/api/v1/auth/login"))
        .json(&json!({ "username": username, "password": password }))
        .send()
        .await?;
    if !res.status().is_success() {
        bail!(
            "no se pudo iniciar sesión: {}",
            res.text().await.unwrap_or_default()
        );
    }
    let body: Value = res.json().await?;
    Ok(body["token"].as_str().unwrap_or_default().to_owned())
}

pub(crate) async fn post(
    client: &reqwest::Client,
    node: &Node,
    path: &str,
    body: &Value,
    key: Option<&str>,
) -> anyhow::Result<reqwest::Response> {
    let mut req = client
        .post(format!("{}{path}", node.base))
        .bearer_auth(&node.token)
        .json(body);
    if let Some(k) = key {
        req = req.header("Idempotency-Key", k);
    }
    Ok(req.send().await?)
}

/// A setup POST that must succeed.
pub(crate) async fn setup(
    client: &reqwest::Client,
    node: &Node,
    path: &str,
    body: &Value,
) -> anyhow::Result<Value> {
    let res = post(client, node, path, body, None).await?;
    if !res.status().is_success() {
        bail!(
            "preparación {path}: {}",
            res.text().await.unwrap_or_default()
        );
    }
    Ok(res.json().await?)
}

/// A location and `products` products with plenty of stock; returns (location, skus).
async fn stock_up(
    client: &reqwest::Client,
    node: &Node,
    kind: &str,
    products: usize,
) -> anyhow::Result<(String, Vec<String>)> {
    let run: String = format!("{:06}", rand::rng().random_range(0..1_000_000));
    let location = format!("B{run}");
    setup(
        client,
        node,
        "/api/v1/locations",
        &json!({"code": location, "name": "Banco de pruebas", "kind": kind}),
    )
    .await?;
    let mut skus = Vec::with_capacity(products);
    for i in 0..products {
        let sku = format!("BENCH{run}-{i}");
        let body = json!({"sku": sku, "name": format!("Producto de prueba {i}"), "category": "Banco de pruebas",
            "cost": "100.00", "price": "150.00", "vat_rate": "21"});
        setup(client, node, "/api/v1/products", &body).await?;
        skus.push(sku);
    }
    for chunk in skus.chunks(500) {
        let receipts: Vec<Value> = chunk
            .iter()
            .map(|sku| json!({"kind": "receipt", "sku": sku, "location": location, "quantity": "10000000"}))
            .collect();
        setup(
            client,
            node,
            "/api/v1/stock/movements/batch",
            &json!({ "movements": receipts }),
        )
        .await?;
    }
    Ok((location, skus))
}

/// Runs `clients` workers posting what `request` builds until the time or count bound.
async fn drive<F>(
    client: &reqwest::Client,
    node: Arc<Node>,
    load: Load,
    request: F,
) -> anyhow::Result<(Histogram<u64>, BTreeMap<String, u64>, f64)>
where
    F: Fn(usize, u64) -> (String, Value) + Send + Sync + 'static,
{
    let request = Arc::new(request);
    let issued = Arc::new(AtomicU64::new(0));
    let started = Instant::now();
    let deadline = started + load.duration;
    let mut workers = tokio::task::JoinSet::new();
    let run: u32 = rand::rng().random();
    for w in 0..load.clients {
        let (client, node, issued, request) = (
            client.clone(),
            node.clone(),
            issued.clone(),
            request.clone(),
        );
        workers.spawn(async move {
            let mut hist = Histogram::<u64>::new_with_bounds(1, 60_000_000, 3)?;
            let mut errors: BTreeMap<String, u64> = BTreeMap::new();
            let mut n = 0u64;
            while Instant::now() < deadline
                && issued.fetch_add(1, Ordering::Relaxed) < load.max_requests
            {
                let (path, body) = request(w, n);
                let key = format!("bench-{run}-{w}-{n}");
                n += 1;
                let t0 = Instant::now();
                match post(&client, &node, &path, &body, Some(&key)).await {
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
                let total = load.duration.as_secs_f64();
                let filled = ((secs / total) * 30.0).min(30.0) as usize;
                eprint!(
                    "\r  [{}{}] {secs:>5.1}/{total:.0} s · {done:>9} solicitudes · {:>7.0}/s ",
                    "#".repeat(filled),
                    ".".repeat(30 - filled),
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
    Ok((hist, errors, started.elapsed().as_secs_f64()))
}

pub(crate) async fn ledger_ok(client: &reqwest::Client, node: &Node) -> anyhow::Result<bool> {
    let check: Value = client
        .get(format!("{}/api/v1/admin/ledger-check", node.base))
        .bearer_auth(&node.token)
        .send()
        .await?
        .json()
        .await?;
    Ok(check["ok"].as_bool().unwrap_or(false))
}

fn report(
    benchmark: &str,
    node: &Node,
    load: Load,
    hist: &Histogram<u64>,
    errors: BTreeMap<String, u64>,
    seconds: f64,
    ledger_ok: bool,
) -> BenchReport {
    let ms = |q: f64| hist.value_at_quantile(q) as f64 / 1000.0;
    BenchReport {
        benchmark: benchmark.to_owned(),
        engine: node.engine.clone(),
        clients: load.clients,
        seconds,
        operations: hist.len(),
        per_sec: hist.len() as f64 / seconds,
        p50_ms: ms(0.50),
        p95_ms: ms(0.95),
        p99_ms: ms(0.99),
        max_ms: hist.max() as f64 / 1000.0,
        errors,
        ledger_ok,
        baseline: None,
    }
}

/// N clients post single movements (alternating issues and receipts of one unit, each with its
/// own idempotency key).
pub async fn movements(
    target: BenchTarget,
    load: Load,
    products: usize,
) -> anyhow::Result<BenchReport> {
    let client = http_client(load.clients)?;
    let node = Arc::new(connect(&target, &client).await?);
    let (location, skus) = stock_up(&client, &node, "warehouse", products).await?;
    eprintln!(
        "bench movements: {} clientes, motor {}",
        load.clients, node.engine
    );
    let (hist, errors, seconds) = drive(&client, node.clone(), load, move |_, n| {
        let sku = &skus[rand::rng().random_range(0..skus.len())];
        let kind = if n.is_multiple_of(2) {
            "issue"
        } else {
            "receipt"
        };
        (
            "/api/v1/stock/movements".to_owned(),
            json!({"kind": kind, "sku": sku, "location": location, "quantity": "1"}),
        )
    })
    .await?;
    let ok = ledger_ok(&client, &node).await?;
    Ok(report("movements", &node, load, &hist, errors, seconds, ok))
}

/// N tills post 3-line tickets paid in cash; 1 % of the products take about 30 % of the lines.
/// On PostgreSQL the same run first measures pgbench TPC-B with as many clients.
pub async fn pos(
    target: BenchTarget,
    load: Load,
    products: usize,
    pgbench_url: Option<String>,
) -> anyhow::Result<BenchReport> {
    let pg_url = pgbench_url.or_else(|| {
        target
            .database_url
            .clone()
            .filter(|u| u.starts_with("postgres"))
    });
    let baseline = match &pg_url {
        Some(url) => Some(pgbench(url, load).await?),
        None => None,
    };
    let client = http_client(load.clients)?;
    let node = Arc::new(connect(&target, &client).await?);
    let (location, skus) = stock_up(&client, &node, "store", products.max(100)).await?;
    if let Some(url) = &pg_url {
        checkpoint(url).await;
    }
    let mut shifts = Vec::with_capacity(load.clients);
    for till in 0..load.clients {
        let shift = setup(
            &client,
            &node,
            "/api/v1/shifts",
            &json!({"location": location, "till": format!("{till}"), "opening_float": "10000"}),
        )
        .await?;
        shifts.push(shift["id"].as_i64().unwrap_or_default());
    }
    let hot = (skus.len() / 100).max(1);
    eprintln!(
        "bench pos: {} cajas, tickets de 3 líneas, {} productos ({hot} calientes), motor {}",
        load.clients,
        skus.len(),
        node.engine
    );
    let (hist, errors, seconds) = drive(&client, node.clone(), load, move |w, _| {
        let mut rng = rand::rng();
        let lines: Vec<Value> = (0..3)
            .map(|_| {
                let i = if rng.random_bool(0.3) { rng.random_range(0..hot) } else { rng.random_range(hot..skus.len()) };
                json!({"sku": skus[i], "quantity": "1"})
            })
            .collect();
        (
            "/api/v1/sales".to_owned(),
            json!({"shift": shifts[w], "lines": lines, "payments": [{"method": "cash", "amount": "500.00"}]}),
        )
    })
    .await?;
    let ok = ledger_ok(&client, &node).await?;
    let mut r = report("pos", &node, load, &hist, errors, seconds, ok);
    r.baseline = baseline.map(|(name, per_sec)| Baseline {
        ratio: if per_sec > 0.0 {
            r.per_sec / per_sec
        } else {
            0.0
        },
        name,
        per_sec,
    });
    Ok(r)
}

/// Starts a measured phase from a clean server: without it, the checkpoint that the previous
/// phase's writes (pgbench's data load, say) make due lands in the middle of the next one.
pub(crate) async fn checkpoint(url: &str) {
    let _ = tokio::process::Command::new("psql")
        .args([url, "-qc", "CHECKPOINT"])
        .output()
        .await;
}

/// pgbench TPC-B on a scratch database of the same server, with the same client count.
pub(crate) async fn pgbench(url: &str, load: Load) -> anyhow::Result<(String, f64)> {
    let (server, _) = url
        .rsplit_once('/')
        .context("URL de PostgreSQL sin base de datos")?;
    let db = "almacen_pgbench";
    let scratch = format!("{server}/{db}");
    let admin = format!("{server}/postgres");
    let _ = tokio::process::Command::new("psql")
        .args([admin.as_str(), "-qc", &format!("CREATE DATABASE {db}")])
        .output()
        .await;
    eprintln!("pgbench: inicializando (escala 10) …");
    let init = tokio::process::Command::new("pgbench")
        .args(["-i", "-q", "-s", "10", scratch.as_str()])
        .output()
        .await
        .context("pgbench no está instalado (paquete postgresql-client)")?;
    if !init.status.success() {
        bail!(
            "pgbench -i falló: {}",
            String::from_utf8_lossy(&init.stderr)
        );
    }
    checkpoint(&scratch).await;
    let secs = load.duration.as_secs().max(1).to_string();
    let clients = load.clients.to_string();
    eprintln!("pgbench: TPC-B, {clients} clientes, {secs} s …");
    let run = tokio::process::Command::new("pgbench")
        .args([
            "-c",
            clients.as_str(),
            "-j",
            "2",
            "-T",
            secs.as_str(),
            "-n",
            scratch.as_str(),
        ])
        .output()
        .await?;
    let out = String::from_utf8_lossy(&run.stdout);
    let tps = out
        .lines()
        .find(|l| l.starts_with("tps = "))
        .and_then(|l| l.trim_start_matches("tps = ").split_whitespace().next())
        .and_then(|v| v.parse::<f64>().ok())
        .with_context(|| format!("no se pudo leer el resultado de pgbench: {out}"))?;
    Ok((format!("pgbench TPC-B ({clients} clientes)"), tps))
}

impl BenchReport {
    pub fn print(&self) {
        let unit = if self.benchmark == "pos" {
            "tickets"
        } else {
            "movimientos"
        };
        println!("benchmark          {}", self.benchmark);
        println!("motor              {}", self.engine);
        println!("clientes           {}", self.clients);
        println!("duración           {:.1} s", self.seconds);
        println!("{unit:<19}{}", self.operations);
        println!("{:<19}{:.0}", format!("{unit}/s"), self.per_sec);
        println!(
            "p50 / p95 / p99    {:.2} / {:.2} / {:.2} ms (máx {:.2} ms)",
            self.p50_ms, self.p95_ms, self.p99_ms, self.max_ms
        );
        if let Some(b) = &self.baseline {
            println!("línea de base      {}: {:.0}/s", b.name, b.per_sec);
            println!("relación           {:.2} × la línea de base", b.ratio);
        }
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

/// What `almacen bench pricing` measured: a bulk update of every seeded product.
#[derive(Debug, Serialize)]
pub struct PricingBenchReport {
    pub engine: String,
    pub products: usize,
    pub seed_seconds: f64,
    pub changed: usize,
    pub below_floor: usize,
    pub preview_seconds: f64,
    pub apply_seconds: f64,
    pub preview_target_seconds: f64,
    pub apply_target_seconds: f64,
}

impl PricingBenchReport {
    pub fn meets_targets(&self) -> bool {
        self.preview_seconds <= self.preview_target_seconds
            && self.apply_seconds <= self.apply_target_seconds
    }

    pub fn print(&self) {
        let verdict = |s: f64, t: f64| if s <= t { "cumple" } else { "NO CUMPLE" };
        println!("benchmark          pricing");
        println!("motor              {}", self.engine);
        println!("productos          {}", self.products);
        println!("carga inicial      {:.2} s", self.seed_seconds);
        println!(
            "cambios            {} ({} bajo el margen mínimo)",
            self.changed, self.below_floor
        );
        println!(
            "vista previa       {:.3} s (objetivo ≤ {:.0} s: {})",
            self.preview_seconds,
            self.preview_target_seconds,
            verdict(self.preview_seconds, self.preview_target_seconds)
        );
        println!(
            "aplicación         {:.3} s (objetivo ≤ {:.0} s: {})",
            self.apply_seconds,
            self.apply_target_seconds,
            verdict(self.apply_seconds, self.apply_target_seconds)
        );
    }
}

/// Seeds `products` products on a fresh database (default: a temporary SQLite file), sets a
/// category and a supplier rule, then times the preview and the atomic apply of a
/// `percent` % cost increase over all of them through the same use cases the API calls.
pub async fn pricing(
    database_url: Option<String>,
    products: usize,
    percent: &str,
) -> anyhow::Result<PricingBenchReport> {
    let database_url = match database_url {
        Some(u) => u,
        None => {
            let path = std::env::temp_dir()
                .join(format!("almacen-bench-pricing-{}.db", std::process::id()));
            for suffix in ["", "-wal", "-shm"] {
                let _ = std::fs::remove_file(format!("{}{suffix}", path.display()));
            }
            format!("sqlite://{}", path.display())
        }
    };
    let cfg = Config {
        database_url,
        max_connections: 8,
        ..Config::default()
    };
    let wired = crate::server::wire(&cfg, app::Clock::system()).await?;
    let app = wired.app.clone();
    let sys = app::Principal::system();
    let started = Instant::now();
    let (category, supplier, _) = wired
        .store
        .seed_pricing_bench(products, app.clock.now_micros())
        .await?;
    let seed_seconds = started.elapsed().as_secs_f64();
    for (scope, target, markup, floor) in [
        ("category", category, "35", Some("20")),
        ("supplier", supplier, "40", None),
    ] {
        let rule = app::pricing::PriceRuleInput {
            scope: scope.into(),
            target_id: target,
            markup: Some(markup.into()),
            min_margin: floor.map(str::to_owned),
            rounding: Some("ten_pesos".into()),
        };
        app.save_price_rule(&sys, rule, app.meta(&sys, None))
            .await?;
    }
    eprintln!(
        "bench pricing: {products} productos cargados en {seed_seconds:.2} s, motor {}",
        app.store.engine()
    );
    let input = app::pricing::PriceUpdateInput {
        kind: app::pricing::PriceUpdateKind::Raise,
        percent: Some(percent.to_owned()),
        target: None,
        supplier_id: None,
        category_id: Some(category),
        product_ids: None,
        reason: format!("Benchmark: aumento del {percent} %"),
        lines_limit: Some(100),
    };
    let started = Instant::now();
    let preview = app
        .preview_price_update(&sys, input, app.meta(&sys, None))
        .await?;
    let preview_seconds = started.elapsed().as_secs_f64();
    let started = Instant::now();
    let applied = app
        .apply_price_update(
            &sys,
            preview.id,
            app::pricing::ApplyInput {
                token: preview.token.clone(),
            },
            app.meta(&sys, None),
        )
        .await?;
    let apply_seconds = started.elapsed().as_secs_f64();
    if applied.changed != preview.changes {
        bail!(
            "la aplicación cambió {} productos y la vista previa anunciaba {}",
            applied.changed,
            preview.changes
        );
    }
    Ok(PricingBenchReport {
        engine: app.store.engine().to_owned(),
        products,
        seed_seconds,
        changed: applied.changed,
        below_floor: applied.below_floor,
        preview_seconds,
        apply_seconds,
        preview_target_seconds: 1.0,
        apply_target_seconds: 5.0,
    })
}
