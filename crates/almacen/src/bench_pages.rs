//! `almacen bench pages`: server time and weight of every dashboard page on a shop with
//! 100,000 products and 10,000,000 movements (two years of history, several locations, lots
//! with expiry, a ticket for every sale movement), requested in-process through the full
//! router with a real session cookie. Fails when a page's p95 exceeds 50 ms or it weighs
//! more than 200 KB.
//!
//! The dataset is written with bulk SQL (SQLite) in big transactions, but it is a consistent
//! shop: each product × location has a ledger chain whose before/after quantities follow each
//! other (receive 20, sell 5 four times, again), the projection equals the chain's end, and
//! every sale movement belongs to a ticket line with its ticket and payment.

use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use axum::body::Body;
use axum::http::{Request, header};
use serde::Serialize;
use tower::ServiceExt;

use crate::config::Config;

/// Every dashboard page the benchmark requests, in one place: add the other sections' pages
/// (product detail, caja, compras, precios, reposición, admin) here as they land.
pub const PAGES: &[(&str, &str)] = &[
    ("Inicio", "/"),
    ("Inicio (panel en vivo)", "/?parcial=1"),
    ("Productos", "/productos"),
    ("Productos: búsqueda", "/productos?q=Producto+4711"),
    ("Productos: CSV primera página", "/productos?estado=todos"),
    ("Stock", "/stock"),
    (
        "Stock por ubicación y producto",
        "/stock?location=S02&q=B004711",
    ),
    ("Stock crítico", "/stock/criticos"),
    ("Stock crítico S01", "/stock/criticos?location=S01"),
    ("Movimientos", "/stock/movimientos"),
    (
        "Movimientos filtrados",
        "/stock/movimientos?location=S02&kind=receipt&desde=01/01/2026&hasta=31/01/2026",
    ),
    ("Movimientos de un producto", "/stock/movimientos?q=B004711"),
    ("Transferencias", "/stock/transferencias"),
    ("Conteos", "/stock/conteos"),
    ("Producto (detalle)", "/productos/4711"),
    ("Producto con lote", "/productos/4710"),
    ("Caja", "/caja"),
    ("Compras", "/compras"),
    ("Facturas de proveedores", "/compras/facturas"),
    ("Precios", "/precios"),
    ("Reposición", "/reposicion"),
    ("Administración", "/admin"),
    ("Auditoría", "/admin/auditoria"),
];

/// Budget per page.
pub const MAX_P95_MS: f64 = 50.0;
pub const MAX_KB: f64 = 200.0;

#[derive(Clone, Debug)]
pub struct PagesArgs {
    pub products: i64,
    pub movements: i64,
    pub requests: usize,
    /// Reuse this SQLite file when it exists; build it there (and keep it) when it does not.
    pub reuse: Option<std::path::PathBuf>,
    pub database_url: Option<String>,
}

#[derive(Debug, Serialize)]
pub struct PageTime {
    pub name: String,
    pub path: String,
    pub status: u16,
    pub p50_ms: f64,
    pub p95_ms: f64,
    pub max_ms: f64,
    pub kb: f64,
    pub ok: bool,
}

#[derive(Debug, Serialize)]
pub struct PagesReport {
    pub engine: String,
    pub products: i64,
    pub movements: i64,
    pub build_seconds: Option<f64>,
    pub rollup_seconds: f64,
    pub snapshot_seconds: f64,
    pub pages: Vec<PageTime>,
}

impl PagesReport {
    pub fn ok(&self) -> bool {
        self.pages.iter().all(|p| p.ok)
    }

    pub fn print(&self) {
        println!(
            "bench pages · {} · {} productos · {} movimientos",
            self.engine,
            crate_count(self.products),
            crate_count(self.movements)
        );
        if let Some(s) = self.build_seconds {
            println!("  datos generados en {s:.1} s");
        }
        println!(
            "  consolidado diario de ventas: {:.1} s · foto de stock: {:.2} s",
            self.rollup_seconds, self.snapshot_seconds
        );
        println!(
            "  {:<34} {:>6} {:>8} {:>8} {:>8} {:>8}",
            "página", "estado", "p50 ms", "p95 ms", "máx ms", "KB"
        );
        for p in &self.pages {
            println!(
                "  {:<34} {:>6} {:>8.1} {:>8.1} {:>8.1} {:>8.1}{}",
                p.name,
                p.status,
                p.p50_ms,
                p.p95_ms,
                p.max_ms,
                p.kb,
                if p.ok {
                    ""
                } else {
                    "  ← FUERA DE PRESUPUESTO"
                }
            );
        }
        println!(
            "  presupuesto: p95 ≤ {MAX_P95_MS} ms y ≤ {MAX_KB} KB por página: {}",
            if self.ok() { "cumplido" } else { "NO cumplido" }
        );
    }
}

fn crate_count(n: i64) -> String {
    web::format::count(n)
}

const DAY_MICROS: i64 = 86_400_000_000;
/// Store locations holding stock (ids 2..=4); the depósito (id 1) is empty.
const STORES: i64 = 3;

async fn exec(pool: &sqlx::AnyPool, sql: &str) -> anyhow::Result<u64> {
    Ok(sqlx::query(sqlx::AssertSqlSafe(sql.to_owned()))
        .execute(pool)
        .await
        .with_context(|| format!("SQL del benchmark: {}", &sql[..sql.len().min(120)]))?
        .rows_affected())
}

/// Writes the shop into an empty, migrated SQLite database.
async fn build(
    pool: &sqlx::AnyPool,
    products: i64,
    movements: i64,
    now: i64,
) -> anyhow::Result<()> {
    let p = products;
    let c = p * STORES;
    let m = movements;
    let t0 = now - 730 * DAY_MICROS;
    let step = (730 * DAY_MICROS - 600_000_000) / m.max(1);
    // Every ticket has 4 lines: C must be a multiple of 4 for a ticket to stay in one location.
    if p % 4 != 0 {
        bail!("--products debe ser múltiplo de 4");
    }
    let cost = "(50000 + ((ID) % 1000) * 100)";
    let price = "((50000 + ((ID) % 1000) * 100) * 3 / 2)";
    let cost_of = |id: &str| cost.replace("ID", id);
    let price_of = |id: &str| price.replace("ID", id);
    // Tickets and movements are not audited row by row here; their triggers come back after.
    let triggers: Vec<(String, String)> = sqlx::query_as(
        "SELECT name, sql FROM sqlite_master WHERE type = 'trigger' AND tbl_name IN ('stock_movements', 'sales', 'sale_lines', 'stock_levels')",
    )
    .fetch_all(pool)
    .await?;
    for (name, _) in &triggers {
        exec(pool, &format!("DROP TRIGGER {name}")).await?;
    }
    exec(pool, &format!(
        "INSERT INTO locations (id, code, name, kind, active, created_at) VALUES \
         (1, 'DEP', 'Depósito central', 'warehouse', 1, {t0}), (2, 'S01', 'Sucursal Centro', 'store', 1, {t0}), \
         (3, 'S02', 'Sucursal Norte', 'store', 1, {t0}), (4, 'S03', 'Sucursal Sur', 'store', 1, {t0})"
    )).await?;
    exec(pool, "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 20) \
         INSERT INTO categories (id, name, sku_prefix) SELECT i, 'Categoría ' || i, 'C' || i FROM n").await?;
    exec(pool, &format!(
        "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < {p}) \
         INSERT INTO products (id, sku, name, search_text, category_id, brand, unit, cost, price, vat_bp, active, created_at, updated_at) \
         SELECT i, 'B' || printf('%06d', i), 'Producto ' || i, lower('producto ' || i || ' b' || printf('%06d', i)), \
           (i % 20) + 1, 'Marca ' || (i % 50), 'unit', {}, {}, 2100, 1, {t0}, {t0} FROM n",
        cost_of("i"), price_of("i")
    )).await?;
    exec(pool, &format!(
        "INSERT INTO product_cost_history (product_id, cost, changed_at, source) SELECT id, cost, {t0}, 'initial' FROM products"
    )).await?;
    exec(pool, "INSERT INTO stock_limits (product_id, location_id, min_qty, max_qty) \
         SELECT p.id, l.id, 6000, 40000 FROM products p JOIN locations l ON l.kind = 'store' WHERE p.id % 10 = 3").await?;
    exec(pool, &format!(
        "INSERT INTO shifts (id, location_id, till, status, opening_float, opened_by, opened_at, closed_by, closed_at) \
         SELECT id - 1, id, '1', 'closed', 0, 'bench', {t0}, 'bench', {now} FROM locations WHERE kind = 'store'"
    )).await?;
    // Chain of movement m: c = m % C (location (c / P), product (c % P) + 1), step k = m / C.
    // k % 5 = 0 receives 20; the four steps after sell 5 each, so before/after follow.
    let chunk = 1_000_000i64;
    let mut from = 0i64;
    while from < m {
        let to = (from + chunk).min(m);
        let started = Instant::now();
        let mut tx = pool.begin().await?;
        // Lines are written before their tickets (which sum them): check keys at commit.
        sqlx::query("PRAGMA defer_foreign_keys = ON")
            .execute(&mut *tx)
            .await?;
        let lot = "CASE WHEN ((m % C) % P + 1) % 10 = 0 THEN 'L1' ELSE '' END";
        let expiry = format!(
            "CASE WHEN ((m % C) % P + 1) % 10 = 0 THEN date({now} / 1000000, 'unixepoch', '+' || (((m % C) % P) % 60) || ' days') END"
        );
        let sql = format!(
            "WITH RECURSIVE n(m) AS (SELECT {from} UNION ALL SELECT m + 1 FROM n WHERE m < {last}) \
             INSERT INTO stock_movements (id, product_id, location_id, lot, expiry, kind, quantity, before_qty, after_qty, unit_cost, reason, document, actor, created_at) \
             SELECT m + 1, (m % C) % P + 1, (m % C) / P + 2, {lot}, {expiry}, \
               CASE WHEN (m / C) % 5 = 0 THEN 'receipt' ELSE 'sale' END, \
               CASE WHEN (m / C) % 5 = 0 THEN 20000 ELSE -5000 END, \
               CASE WHEN (m / C) % 5 = 0 THEN 0 ELSE 20000 - 5000 * ((m / C) % 5 - 1) END, \
               CASE WHEN (m / C) % 5 = 0 THEN 20000 ELSE 20000 - 5000 * ((m / C) % 5) END, \
               {}, NULL, CASE WHEN (m / C) % 5 = 0 THEN 'remito:bench' ELSE 'sale:' || (m / 4 + 1) END, 'bench', {t0} + m * {step} FROM n",
            cost_of("(m % C) % P + 1"),
            last = to - 1,
        )
        .replace("C)", &format!("{c})"))
        .replace("% P", &format!("% {p}"))
        .replace("/ P", &format!("/ {p}"));
        sqlx::query(sqlx::AssertSqlSafe(sql))
            .execute(&mut *tx)
            .await?;
        let lines = format!(
            "WITH RECURSIVE n(m) AS (SELECT {from} UNION ALL SELECT m + 1 FROM n WHERE m < {last}) \
             INSERT INTO sale_lines (sale_id, line_no, product_id, quantity, unit_price, gross, line_discount, ticket_discount, total, net, vat, vat_bp, unit_cost) \
             SELECT m / 4 + 1, m % 4 + 1, (m % C) % P + 1, 5000, {pr}, {pr} * 5, 0, 0, {pr} * 5, {pr} * 5 * 10000 / 12100, \
               {pr} * 5 - {pr} * 5 * 10000 / 12100, 2100, {co} FROM n WHERE (m / C) % 5 <> 0",
            pr = price_of("((m % C) % P + 1)"),
            co = cost_of("((m % C) % P + 1)"),
            last = to - 1,
        )
        .replace("C)", &format!("{c})"))
        .replace("% P", &format!("% {p}"))
        .replace("/ P", &format!("/ {p}"));
        sqlx::query(sqlx::AssertSqlSafe(lines))
            .execute(&mut *tx)
            .await?;
        let (first_sale, last_sale) = (from / 4 + 1, (to - 1) / 4 + 1);
        sqlx::query(sqlx::AssertSqlSafe(format!(
            "INSERT INTO sales (id, shift_id, location_id, subtotal, discount, total, paid, change_given, status, actor, created_at) \
             SELECT sale_id, ((sale_id - 1) * 4 % {c}) / {p} + 1, ((sale_id - 1) * 4 % {c}) / {p} + 2, SUM(total), 0, SUM(total), SUM(total), 0, \
               'completed', 'bench', {t0} + (sale_id - 1) * 4 * {step} FROM sale_lines WHERE sale_id BETWEEN {first_sale} AND {last_sale} GROUP BY sale_id"
        )))
        .execute(&mut *tx)
        .await?;
        sqlx::query(sqlx::AssertSqlSafe(format!(
            "INSERT INTO sale_payments (sale_id, seq, method, amount) SELECT id, 1, 'cash', total FROM sales WHERE id BETWEEN {first_sale} AND {last_sale}"
        )))
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        eprintln!(
            "bench pages: {} / {} movimientos ({:.1} s)",
            web::format::count(to),
            web::format::count(m),
            started.elapsed().as_secs_f64()
        );
        from = to;
    }
    // The projection: each chain's last after-quantity.
    exec(pool, &format!(
        "WITH RECURSIVE n(c) AS (SELECT 0 UNION ALL SELECT c + 1 FROM n WHERE c < {last}) \
         INSERT INTO stock_levels (product_id, location_id, lot, expiry, on_hand, updated_at) \
         SELECT c % {p} + 1, c / {p} + 2, CASE WHEN (c % {p} + 1) % 10 = 0 THEN 'L1' ELSE '' END, \
           CASE WHEN (c % {p} + 1) % 10 = 0 THEN date({now} / 1000000, 'unixepoch', '+' || ((c % {p}) % 60) || ' days') END, \
           CASE WHEN (({m} - c + {c} - 1) / {c} - 1) % 5 = 0 THEN 20000 ELSE 20000 - 5000 * ((({m} - c + {c} - 1) / {c} - 1) % 5) END, {now} \
         FROM n WHERE c < {m}",
        last = c - 1
    )).await?;
    // What the projection's triggers (dropped for the load) keep on each limit.
    exec(pool, "UPDATE stock_limits SET on_hand = COALESCE((SELECT SUM(s.on_hand) FROM stock_levels s \
         WHERE s.product_id = stock_limits.product_id AND s.location_id = stock_limits.location_id), 0)").await?;
    for (_, sql) in &triggers {
        exec(pool, sql).await?;
    }
    exec(pool, "ANALYZE").await?;
    Ok(())
}

fn percentile(sorted: &[f64], q: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    let i = ((sorted.len() as f64 - 1.0) * q).round() as usize;
    sorted[i.min(sorted.len() - 1)]
}

pub async fn run(args: PagesArgs) -> anyhow::Result<PagesReport> {
    let (database_url, fresh, scratch) = match (&args.database_url, &args.reuse) {
        (Some(u), _) => (u.clone(), false, None),
        (None, Some(path)) => (format!("sqlite://{}", path.display()), !path.exists(), None),
        (None, None) => {
            let path =
                std::env::temp_dir().join(format!("almacen-bench-pages-{}.db", std::process::id()));
            (format!("sqlite://{}", path.display()), true, Some(path))
        }
    };
    if !database_url.starts_with("sqlite:") && fresh {
        bail!(
            "bench pages genera los datos solo sobre SQLite; con PostgreSQL use una base ya cargada"
        );
    }
    let cfg = Config {
        database_url,
        max_connections: 16,
        ..Config::default()
    };
    let wired = crate::server::wire(&cfg, app::Clock::system()).await?;
    let app = wired.app.clone();
    let pool = wired.store.pool().clone();
    let mut build_seconds = None;
    if fresh {
        let started = Instant::now();
        build(&pool, args.products, args.movements, app.clock.now_micros()).await?;
        build_seconds = Some(started.elapsed().as_secs_f64());
    }
    let (products, movements): (i64, i64) = sqlx::query_as(
        "SELECT (SELECT COUNT(*) FROM products), (SELECT COALESCE(MAX(id), 0) FROM stock_movements)",
    )
    .fetch_one(&pool)
    .await?;
    // What the dashboard agent keeps up to date every few minutes.
    let started = Instant::now();
    app.refresh_sales_rollup().await?;
    let rollup_seconds = started.elapsed().as_secs_f64();
    let started = Instant::now();
    app.refresh_stock_snapshot().await?;
    let snapshot_seconds = started.elapsed().as_secs_f64();

    let sys = app::Principal::system();
    let password = "clave-del-benchmark-123";
    let username = format!("bench{}", std::process::id());
    app.create_user(
        &sys,
        app::auth::UserInput {
            username: username.clone(),
            password: password.into(),
            role: "admin".into(),
            locations: vec![],
        },
        app.meta(&sys, None),
    )
    .await?;
    let login = app
        .login(app::auth::LoginInput {
            username,
            password: password.into(),
        })
        .await?;
    let cookie = format!("{}={}", web::session::SESSION_COOKIE, login.token);
    let agents = crate::agents::agents(app.clone(), &cfg);
    let router = crate::server::router(app.clone(), agents, &crate::server::HttpOptions::default());

    let mut pages = Vec::new();
    for (name, path) in PAGES {
        let mut times = Vec::with_capacity(args.requests);
        let mut status = 0;
        let mut bytes = 0usize;
        for i in 0..args.requests + 2 {
            let req = Request::get(*path)
                .header(header::COOKIE, &cookie)
                .header(header::HOST, "localhost")
                .body(Body::empty())?;
            let started = Instant::now();
            let res = router.clone().oneshot(req).await?;
            status = res.status().as_u16();
            let body = axum::body::to_bytes(res.into_body(), usize::MAX).await?;
            let took = started.elapsed();
            bytes = body.len();
            // The first two warm the caches, as on a shop's server that has been up.
            if i >= 2 {
                times.push(took.as_secs_f64() * 1000.0);
            }
        }
        times.sort_by(f64::total_cmp);
        let p95 = percentile(&times, 0.95);
        let kb = bytes as f64 / 1024.0;
        pages.push(PageTime {
            name: (*name).to_owned(),
            path: (*path).to_owned(),
            status,
            p50_ms: percentile(&times, 0.5),
            p95_ms: p95,
            max_ms: times.last().copied().unwrap_or(0.0),
            kb,
            ok: status == 200 && p95 <= MAX_P95_MS && kb <= MAX_KB,
        });
    }
    let report = PagesReport {
        engine: app.store.engine().to_string(),
        products,
        movements,
        build_seconds,
        rollup_seconds,
        snapshot_seconds,
        pages,
    };
    drop(router);
    drop(wired);
    if let Some(path) = scratch {
        tokio::time::sleep(Duration::from_millis(100)).await;
        for suffix in ["", "-wal", "-shm"] {
            let _ = std::fs::remove_file(format!("{}{suffix}", path.display()));
        }
    }
    Ok(report)
}
