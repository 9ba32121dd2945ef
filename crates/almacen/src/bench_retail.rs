//! `almacen bench retail-day`: a chain's day against one or more nodes — tickets, lookups,
//! receipts, transfers, price changes and reports in the proportions of a real day, with a few
//! hot products that run short — and the proof that comes with it: no acknowledged write lost,
//! nothing oversold, the ledger consistent. In the same run it measures this machine's
//! baselines (a raw SQLite commit loop, pgbench TPC-B on PostgreSQL, a trivial route on the same
//! HTTP stack) and prints each figure as a ratio to its baseline.

use std::collections::{BTreeMap, HashMap};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use anyhow::Context;
use hdrhistogram::Histogram;
use rand::Rng;
use serde::Serialize;
use serde_json::{Value, json};

use crate::bench::{BenchTarget, Load, Node};

/// The day's mix, in percent of operations (sums to 100).
const MIX: &[(Op, u32)] = &[
    (Op::Ticket, 45),
    (Op::Lookup, 30),
    (Op::Receipt, 8),
    (Op::Transfer, 5),
    (Op::PriceUpdate, 4),
    (Op::CriticalReport, 4),
    (Op::Other, 4),
];

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
enum Op {
    Ticket,
    Lookup,
    Receipt,
    Transfer,
    PriceUpdate,
    CriticalReport,
    Other,
}

impl Op {
    fn name(self) -> &'static str {
        match self {
            Op::Ticket => "ticket",
            Op::Lookup => "lookup",
            Op::Receipt => "receipt",
            Op::Transfer => "transfer",
            Op::PriceUpdate => "price_update",
            Op::CriticalReport => "critical_report",
            Op::Other => "other",
        }
    }

    fn pick(rng: &mut impl Rng, tickets_only: bool) -> Op {
        if tickets_only {
            return Op::Ticket;
        }
        let mut roll = rng.random_range(0..100);
        for (op, weight) in MIX {
            if roll < *weight {
                return *op;
            }
            roll -= weight;
        }
        Op::Other
    }
}

#[derive(Clone, Debug)]
pub struct RetailDay {
    /// Running nodes; empty starts one in-process.
    pub urls: Vec<String>,
    pub target: BenchTarget,
    pub stores: usize,
    pub tills_per_store: usize,
    pub products: usize,
    pub seconds: u64,
    pub max_operations: u64,
    /// PostgreSQL for the pgbench baseline (default: the node's database when it is one).
    pub pgbench_url: Option<String>,
    /// Seconds each baseline runs.
    pub baseline_seconds: u64,
    /// Only POS tickets, every product stocked: the POS workload of `bench pos` spread over
    /// the nodes, for its ratio to pgbench.
    pub tickets_only: bool,
}

#[derive(Debug, Serialize)]
pub struct OpReport {
    pub operation: &'static str,
    pub count: u64,
    pub per_sec: f64,
    pub p50_ms: f64,
    pub p95_ms: f64,
    pub p99_ms: f64,
    pub max_ms: f64,
}

#[derive(Debug, Serialize)]
pub struct BaselineFigure {
    pub name: String,
    pub per_sec: f64,
    /// What is compared with it, and the ratio measured / baseline.
    pub compared: String,
    pub ratio: f64,
}

#[derive(Debug, Serialize)]
pub struct RetailDayReport {
    pub benchmark: &'static str,
    pub engine: String,
    pub nodes: usize,
    /// "day" (the mix above) or "tickets" (POS tickets only).
    pub mix: &'static str,
    pub stores: usize,
    pub tills: usize,
    pub products: usize,
    pub seconds: f64,
    pub operations: u64,
    pub per_sec: f64,
    pub tickets: u64,
    pub ticket_lines: u64,
    pub per_operation: Vec<OpReport>,
    /// Refused for lack of stock: the right answer when hot products run out, not a fault.
    pub insufficient_stock: u64,
    pub errors: BTreeMap<String, u64>,
    /// (product, location) pairs whose acknowledged sales exceed what was there.
    pub oversold: u64,
    /// (product, location) pairs whose stock differs from what the acknowledged writes imply.
    pub drift: u64,
    pub ledger_ok: bool,
    pub baselines: Vec<BaselineFigure>,
}

/// Expected on-hand per (product index, location index), from acknowledged writes only.
type Book = Mutex<HashMap<(usize, usize), i64>>;

struct Catalogue {
    run: String,
    /// Location codes: index 0 is the warehouse, then the stores.
    locations: Vec<String>,
    skus: Vec<String>,
    ids: Vec<i64>,
    hot: usize,
    /// Shift id per till, with the store index it belongs to.
    tills: Vec<(i64, usize)>,
}

const PLENTY: i64 = 10_000_000;
/// Hot products start with little on the shelves, so the day runs them short.
const HOT_START: i64 = 300;

/// What a hot product starts with on a store's shelves.
fn hot_start(tickets_only: bool) -> i64 {
    if tickets_only { PLENTY } else { HOT_START }
}

fn ms(h: &Histogram<u64>, q: f64) -> f64 {
    h.value_at_quantile(q) as f64 / 1000.0
}

pub async fn run(day: RetailDay) -> anyhow::Result<RetailDayReport> {
    let tills = (day.stores * day.tills_per_store).max(1);
    let client = crate::bench::http_client(tills * 2)?;
    let mut nodes = Vec::new();
    if day.urls.is_empty() {
        nodes.push(Arc::new(crate::bench::connect(&day.target, &client).await?));
    } else {
        for url in &day.urls {
            let t = BenchTarget {
                url: Some(url.clone()),
                ..day.target.clone()
            };
            nodes.push(Arc::new(crate::bench::connect(&t, &client).await?));
        }
    }
    let engine = nodes[0].engine.clone();
    let mut baselines = Vec::new();

    // -- baselines first, on a quiet machine
    let sqlite_commits = {
        let path = std::env::temp_dir().join(format!("almacen-baseline-{}.db", std::process::id()));
        let secs = Duration::from_secs(day.baseline_seconds.max(1));
        eprintln!(
            "línea de base: bucle de commits de SQLite ({} s) …",
            secs.as_secs()
        );
        tokio::task::spawn_blocking(move || store::baseline::sqlite_commits_per_sec(&path, secs))
            .await?
            .map_err(anyhow::Error::msg)?
    };
    let pg_url = day.pgbench_url.clone().or_else(|| {
        day.target
            .database_url
            .clone()
            .filter(|u| u.starts_with("postgres"))
    });
    let pgbench = match &pg_url {
        Some(url) => Some(
            crate::bench::pgbench(
                url,
                Load {
                    clients: tills,
                    duration: Duration::from_secs(day.baseline_seconds.max(1)),
                    max_requests: u64::MAX,
                },
            )
            .await?,
        ),
        None => None,
    };
    let trivial = trivial_route(&client, &nodes, tills, day.baseline_seconds).await?;

    // -- the chain: a warehouse, stores, products, stock, one shift per till
    eprintln!(
        "preparando: {} sucursales, {} cajas, {} productos …",
        day.stores, tills, day.products
    );
    let catalogue = Arc::new(prepare(&client, &nodes[0], &day).await?);
    if let Some(url) = &pg_url {
        crate::bench::checkpoint(url).await;
    }
    let book: Arc<Book> = Arc::new(Mutex::new(HashMap::new()));
    {
        let mut b = book
            .lock()
            .map_err(|_| anyhow::anyhow!("libro envenenado"))?;
        for p in 0..catalogue.skus.len() {
            for l in 0..catalogue.locations.len() {
                let start = if l > 0 && p < catalogue.hot {
                    hot_start(day.tickets_only)
                } else {
                    PLENTY
                };
                b.insert((p, l), start);
            }
        }
    }

    // -- the day
    let issued = Arc::new(AtomicU64::new(0));
    let started = Instant::now();
    let deadline = started + Duration::from_secs(day.seconds.max(1));
    let mut workers = tokio::task::JoinSet::new();
    for (till, &(shift, store)) in catalogue.tills.iter().enumerate() {
        let node = nodes[till % nodes.len()].clone();
        let (client, catalogue, book, issued) = (
            client.clone(),
            catalogue.clone(),
            book.clone(),
            issued.clone(),
        );
        let max = day.max_operations;
        let tickets_only = day.tickets_only;
        workers.spawn(async move {
            till_day(
                &client,
                &node,
                &catalogue,
                &book,
                &issued,
                Till {
                    index: till,
                    shift,
                    store,
                },
                deadline,
                max,
                tickets_only,
            )
            .await
        });
    }
    let progress = {
        let issued = issued.clone();
        let total = day.seconds.max(1) as f64;
        tokio::spawn(async move {
            loop {
                tokio::time::sleep(Duration::from_secs(1)).await;
                let done = issued.load(Ordering::Relaxed);
                let secs = started.elapsed().as_secs_f64();
                let filled = ((secs / total) * 30.0).min(30.0) as usize;
                eprint!(
                    "\r  [{}{}] {secs:>5.0}/{total:.0} s · {done:>9} operaciones · {:>7.0}/s ",
                    "#".repeat(filled),
                    ".".repeat(30 - filled),
                    done as f64 / secs
                );
            }
        })
    };
    let mut hists: BTreeMap<Op, Histogram<u64>> = BTreeMap::new();
    let mut errors: BTreeMap<String, u64> = BTreeMap::new();
    let mut insufficient = 0;
    let mut lines = 0;
    while let Some(r) = workers.join_next().await {
        let t = r??;
        for (op, h) in t.hists {
            hists
                .entry(op)
                .or_insert(Histogram::new_with_bounds(1, 120_000_000, 3)?)
                .add(&h)?;
        }
        for (k, v) in t.errors {
            *errors.entry(k).or_default() += v;
        }
        insufficient += t.insufficient;
        lines += t.lines;
    }
    progress.abort();
    eprintln!();
    let seconds = started.elapsed().as_secs_f64();

    // -- the proof
    eprintln!("verificando stock contra lo confirmado …");
    let (oversold, drift) = verify(&client, &nodes[0], &catalogue, &book).await?;
    let ledger_ok = crate::bench::ledger_ok(&client, &nodes[0]).await?;

    let per_operation: Vec<OpReport> = hists
        .iter()
        .map(|(op, h)| OpReport {
            operation: op.name(),
            count: h.len(),
            per_sec: h.len() as f64 / seconds,
            p50_ms: ms(h, 0.50),
            p95_ms: ms(h, 0.95),
            p99_ms: ms(h, 0.99),
            max_ms: h.max() as f64 / 1000.0,
        })
        .collect();
    let operations: u64 = per_operation.iter().map(|o| o.count).sum();
    let tickets = hists.get(&Op::Ticket).map_or(0, |h| h.len());
    let tickets_per_sec = tickets as f64 / seconds;
    let ratio = |a: f64, b: f64| if b > 0.0 { a / b } else { 0.0 };
    baselines.push(BaselineFigure {
        name: "bucle de commits SQLite (1 conexión, synchronous=FULL)".into(),
        per_sec: sqlite_commits,
        compared: "tickets/s".into(),
        ratio: ratio(tickets_per_sec, sqlite_commits),
    });
    if let Some((name, tps)) = pgbench {
        baselines.push(BaselineFigure {
            name,
            per_sec: tps,
            compared: "tickets/s".into(),
            ratio: ratio(tickets_per_sec, tps),
        });
    }
    baselines.push(BaselineFigure {
        name: format!("ruta trivial GET /health/live ({tills} clientes)"),
        per_sec: trivial,
        compared: "operaciones/s".into(),
        ratio: ratio(operations as f64 / seconds, trivial),
    });
    Ok(RetailDayReport {
        benchmark: "retail-day",
        engine,
        nodes: nodes.len(),
        mix: if day.tickets_only { "tickets" } else { "day" },
        stores: day.stores,
        tills,
        products: day.products,
        seconds,
        operations,
        per_sec: operations as f64 / seconds,
        tickets,
        ticket_lines: lines,
        per_operation,
        insufficient_stock: insufficient,
        errors,
        oversold,
        drift,
        ledger_ok,
        baselines,
    })
}

/// Requests per second of the cheapest route, through the same client and server stack.
async fn trivial_route(
    client: &reqwest::Client,
    nodes: &[Arc<Node>],
    clients: usize,
    seconds: u64,
) -> anyhow::Result<f64> {
    eprintln!("línea de base: ruta trivial ({seconds} s) …");
    let deadline = Instant::now() + Duration::from_secs(seconds.max(1));
    let started = Instant::now();
    let mut set = tokio::task::JoinSet::new();
    for c in 0..clients {
        let client = client.clone();
        let url = format!("{}/health/live", nodes[c % nodes.len()].base);
        set.spawn(async move {
            let mut n = 0u64;
            while Instant::now() < deadline {
                if let Ok(res) = client.get(&url).send().await
                    && res.status().is_success()
                {
                    let _ = res.bytes().await;
                    n += 1;
                }
            }
            n
        });
    }
    let mut total = 0;
    while let Some(n) = set.join_next().await {
        total += n?;
    }
    Ok(total as f64 / started.elapsed().as_secs_f64())
}

async fn prepare(
    client: &reqwest::Client,
    node: &Node,
    day: &RetailDay,
) -> anyhow::Result<Catalogue> {
    use crate::bench::setup;
    let run = format!("{:05}", rand::rng().random_range(0..100_000));
    let mut locations = vec![format!("R{run}D")];
    setup(
        client,
        node,
        "/api/v1/locations",
        &json!({"code": locations[0], "name": "Depósito central", "kind": "warehouse"}),
    )
    .await?;
    for s in 0..day.stores {
        let code = format!("R{run}S{s}");
        setup(
            client,
            node,
            "/api/v1/locations",
            &json!({"code": code, "name": format!("Sucursal {s}"), "kind": "store"}),
        )
        .await?;
        locations.push(code);
    }
    let products = day.products.max(100);
    let hot = (products / 100).max(1);
    let mut skus = Vec::with_capacity(products);
    let mut ids = Vec::with_capacity(products);
    for i in 0..products {
        let sku = format!("RD{run}-{i}");
        let body = json!({"sku": sku, "name": format!("Producto {i} del día"), "category": "Día de comercio",
            "cost": "100.00", "price": "150.00", "vat_rate": "21"});
        let p = setup(client, node, "/api/v1/products", &body).await?;
        ids.push(p["id"].as_i64().context("producto sin id")?);
        skus.push(sku);
    }
    let mut receipts = Vec::new();
    for (l, location) in locations.iter().enumerate() {
        for (p, sku) in skus.iter().enumerate() {
            let qty = if l > 0 && p < hot {
                hot_start(day.tickets_only)
            } else {
                PLENTY
            };
            receipts.push(json!({"kind": "receipt", "sku": sku, "location": location, "quantity": qty.to_string()}));
        }
    }
    for chunk in receipts.chunks(500) {
        setup(
            client,
            node,
            "/api/v1/stock/movements/batch",
            &json!({ "movements": chunk }),
        )
        .await?;
    }
    let mut tills = Vec::new();
    for s in 0..day.stores {
        for t in 0..day.tills_per_store.max(1) {
            let shift = setup(
                client,
                node,
                "/api/v1/shifts",
                &json!({"location": locations[s + 1], "till": format!("{t}"), "opening_float": "10000"}),
            )
            .await?;
            tills.push((shift["id"].as_i64().unwrap_or_default(), s + 1));
        }
    }
    Ok(Catalogue {
        run,
        locations,
        skus,
        ids,
        hot,
        tills,
    })
}

struct TillOutcome {
    hists: BTreeMap<Op, Histogram<u64>>,
    errors: BTreeMap<String, u64>,
    insufficient: u64,
    lines: u64,
}

/// A product index with the day's skew: 1 % of the products take about 30 % of the picks.
fn skewed(rng: &mut impl Rng, c: &Catalogue) -> usize {
    if rng.random_bool(0.3) {
        rng.random_range(0..c.hot)
    } else {
        rng.random_range(c.hot..c.skus.len())
    }
}

/// What one request is, and what its acknowledgement changes in the stock book.
struct Request {
    method: reqwest::Method,
    path: String,
    body: Option<Value>,
    /// (product index, location index, units) applied when the write is acknowledged.
    deltas: Vec<(usize, usize, i64)>,
    lines: u64,
}

fn build(op: Op, rng: &mut impl Rng, c: &Catalogue, shift: i64, store: usize) -> Request {
    let get = |path: String| Request {
        method: reqwest::Method::GET,
        path,
        body: None,
        deltas: Vec::new(),
        lines: 0,
    };
    match op {
        Op::Ticket => {
            let n = rng.random_range(1..=5);
            let mut lines = Vec::with_capacity(n);
            let mut deltas = Vec::with_capacity(n);
            for _ in 0..n {
                let p = skewed(rng, c);
                lines.push(json!({"sku": c.skus[p], "quantity": "1"}));
                deltas.push((p, store, -1));
            }
            Request {
                method: reqwest::Method::POST,
                path: "/api/v1/sales".into(),
                body: Some(json!({"shift": shift, "lines": lines,
                    "payments": [{"method": "cash", "amount": "1000.00"}]})),
                deltas,
                lines: n as u64,
            }
        }
        Op::Lookup => {
            let p = skewed(rng, c);
            if rng.random_bool(0.5) {
                get(format!("/api/v1/products?sku={}", c.skus[p]))
            } else {
                get(format!(
                    "/api/v1/stock?product_id={}&location={}",
                    c.ids[p], c.locations[store]
                ))
            }
        }
        Op::Receipt => {
            // Deliveries favour what sells: a quarter of them restock a hot product.
            let p = if rng.random_bool(0.25) {
                rng.random_range(0..c.hot)
            } else {
                skewed(rng, c)
            };
            let qty = rng.random_range(5..=20);
            Request {
                method: reqwest::Method::POST,
                path: "/api/v1/stock/movements".into(),
                body: Some(
                    json!({"kind": "receipt", "sku": c.skus[p], "location": c.locations[store], "quantity": qty.to_string()}),
                ),
                deltas: vec![(p, store, qty)],
                lines: 0,
            }
        }
        Op::Transfer => {
            let p = if rng.random_bool(0.25) {
                rng.random_range(0..c.hot)
            } else {
                skewed(rng, c)
            };
            let qty = rng.random_range(5..=15);
            Request {
                method: reqwest::Method::POST,
                path: "/api/v1/stock/transfers".into(),
                body: Some(
                    json!({"sku": c.skus[p], "from": c.locations[0], "to": c.locations[store], "quantity": qty.to_string()}),
                ),
                deltas: vec![(p, 0, -qty), (p, store, qty)],
                lines: 0,
            }
        }
        Op::PriceUpdate => {
            let p = skewed(rng, c);
            let cents = rng.random_range(15_000..17_000);
            Request {
                method: reqwest::Method::PUT,
                path: format!("/api/v1/products/{}", c.ids[p]),
                body: Some(
                    json!({"name": format!("Producto {p} del día"), "category": "Día de comercio",
                    "cost": "100.00", "price": format!("{}.{:02}", cents / 100, cents % 100), "vat_rate": "21"}),
                ),
                deltas: Vec::new(),
                lines: 0,
            }
        }
        Op::CriticalReport => get(format!(
            "/api/v1/stock/critical?location={}",
            c.locations[store]
        )),
        Op::Other => match rng.random_range(0..3) {
            0 => get(format!(
                "/api/v1/stock/movements?location={}&limit=20",
                c.locations[store]
            )),
            1 => get("/api/v1/alerts?limit=20".into()),
            _ => get(format!("/api/v1/shifts/{shift}")),
        },
    }
}

/// One till: its index, its open shift and the store (location index) it sells from.
struct Till {
    index: usize,
    shift: i64,
    store: usize,
}

#[allow(clippy::too_many_arguments)]
async fn till_day(
    client: &reqwest::Client,
    node: &Node,
    c: &Catalogue,
    book: &Book,
    issued: &AtomicU64,
    till: Till,
    deadline: Instant,
    max: u64,
    tickets_only: bool,
) -> anyhow::Result<TillOutcome> {
    let Till {
        index: till,
        shift,
        store,
    } = till;
    let mut out = TillOutcome {
        hists: BTreeMap::new(),
        errors: BTreeMap::new(),
        insufficient: 0,
        lines: 0,
    };
    let mut n = 0u64;
    while Instant::now() < deadline && issued.fetch_add(1, Ordering::Relaxed) < max {
        let (op, req) = {
            let mut rng = rand::rng();
            let op = Op::pick(&mut rng, tickets_only);
            (op, build(op, &mut rng, c, shift, store))
        };
        let key = format!("rd-{}-{till}-{n}", c.run);
        n += 1;
        let t0 = Instant::now();
        // A write whose answer was lost is retried with the same key until its outcome is
        // known, so the book holds exactly what the server acknowledged.
        let mut outcome = None;
        for attempt in 0..5 {
            let mut r = client
                .request(req.method.clone(), format!("{}{}", node.base, req.path))
                .bearer_auth(&node.token);
            if let Some(body) = &req.body {
                r = r.json(body).header("Idempotency-Key", &key);
            }
            match r.send().await {
                Ok(res) => {
                    let status = res.status().as_u16();
                    let body = res.bytes().await.unwrap_or_default();
                    outcome = Some((status, body));
                    break;
                }
                Err(e) => {
                    *out.errors
                        .entry(format!("{}: red (reintento)", op.name()))
                        .or_default() += 1;
                    if attempt == 4 {
                        *out.errors
                            .entry(format!("{}: resultado desconocido: {e}", op.name()))
                            .or_default() += 1;
                    }
                    tokio::time::sleep(Duration::from_millis(50 << attempt)).await;
                }
            }
        }
        let Some((status, body)) = outcome else {
            continue;
        };
        match status {
            200 | 201 => {
                let _ = out
                    .hists
                    .entry(op)
                    .or_insert(Histogram::new_with_bounds(1, 120_000_000, 3)?)
                    .record(t0.elapsed().as_micros() as u64);
                out.lines += req.lines;
                if !req.deltas.is_empty() {
                    let mut b = book
                        .lock()
                        .map_err(|_| anyhow::anyhow!("libro envenenado"))?;
                    for (p, l, d) in &req.deltas {
                        *b.entry((*p, *l)).or_default() += d;
                    }
                }
            }
            409 if body
                .windows(b"insufficient-stock".len())
                .any(|w| w == b"insufficient-stock") =>
            {
                out.insufficient += 1;
            }
            s => {
                *out.errors
                    .entry(format!("{}: http {s}", op.name()))
                    .or_default() += 1;
            }
        }
    }
    Ok(out)
}

/// Reads every tracked (product, location) from the node and compares it with the book.
async fn verify(
    client: &reqwest::Client,
    node: &Node,
    c: &Catalogue,
    book: &Book,
) -> anyhow::Result<(u64, u64)> {
    let index: HashMap<&str, usize> = c
        .skus
        .iter()
        .enumerate()
        .map(|(i, s)| (s.as_str(), i))
        .collect();
    let mut server: HashMap<(usize, usize), i64> = HashMap::new();
    for (l, location) in c.locations.iter().enumerate() {
        let mut cursor: Option<String> = None;
        loop {
            let mut url = format!("{}/api/v1/stock?location={location}&limit=500", node.base);
            if let Some(cur) = &cursor {
                url.push_str(&format!("&cursor={cur}"));
            }
            let page: Value = client
                .get(&url)
                .bearer_auth(&node.token)
                .send()
                .await?
                .json()
                .await?;
            for item in page["items"].as_array().into_iter().flatten() {
                let Some(p) = item["sku"].as_str().and_then(|s| index.get(s)) else {
                    continue;
                };
                let units = item["on_hand"]
                    .as_str()
                    .and_then(|q| domain::Qty::parse(q).ok())
                    .map_or(0, |q| q.milli() / 1000);
                *server.entry((*p, l)).or_default() += units;
            }
            match page["next_cursor"].as_str() {
                Some(n) => cursor = Some(n.to_owned()),
                None => break,
            }
        }
    }
    let book = book
        .lock()
        .map_err(|_| anyhow::anyhow!("libro envenenado"))?;
    let mut oversold = 0;
    let mut drift = 0;
    for (key, expected) in book.iter() {
        let actual = server.get(key).copied().unwrap_or(0);
        if *expected < 0 || actual < 0 {
            oversold += 1;
        }
        if actual != *expected {
            drift += 1;
        }
    }
    Ok((oversold, drift))
}

impl RetailDayReport {
    pub fn print(&self) {
        println!(
            "retail-day · motor {} · {} nodo(s) · {} · {} sucursales · {} cajas · {} productos · {:.0} s",
            self.engine,
            self.nodes,
            if self.mix == "tickets" {
                "solo tickets"
            } else {
                "día completo"
            },
            self.stores,
            self.tills,
            self.products,
            self.seconds
        );
        println!(
            "{:<16} {:>9} {:>9} {:>9} {:>9} {:>9} {:>9}",
            "operación", "cantidad", "por s", "p50 ms", "p95 ms", "p99 ms", "máx ms"
        );
        for o in &self.per_operation {
            println!(
                "{:<16} {:>9} {:>9.1} {:>9.2} {:>9.2} {:>9.2} {:>9.1}",
                o.operation, o.count, o.per_sec, o.p50_ms, o.p95_ms, o.p99_ms, o.max_ms
            );
        }
        println!(
            "total            {:>9} {:>9.1}",
            self.operations, self.per_sec
        );
        println!(
            "tickets {} con {} líneas; rechazados por falta de stock: {}",
            self.tickets, self.ticket_lines, self.insufficient_stock
        );
        for b in &self.baselines {
            println!(
                "línea de base    {}: {:.0}/s → {} = {:.3} × la línea de base",
                b.name, b.per_sec, b.compared, b.ratio
            );
        }
        if self.errors.is_empty() {
            println!("errores          0");
        } else {
            for (k, v) in &self.errors {
                println!("error            {k}: {v}");
            }
        }
        println!("sobreventa       {}", self.oversold);
        println!("diferencias      {}", self.drift);
        println!(
            "libro de stock   {}",
            if self.ledger_ok {
                "consistente"
            } else {
                "CON DIFERENCIAS"
            }
        );
    }

    /// The run proves what it must: nothing oversold, no drift, a consistent ledger.
    pub fn holds(&self) -> bool {
        self.oversold == 0 && self.drift == 0 && self.ledger_ok
    }
}
