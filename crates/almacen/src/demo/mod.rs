//! `--demo`: loads, once, a realistic Argentine mini-market (one depósito, two stores, 300
//! products, 12 suppliers, stock with lots, a year of daily sales at both stores) through the
//! same use cases the API uses, and runs the forecast once so suggestions are there.

mod catalog;
pub mod history;

use std::sync::Arc;

use anyhow::Context;
use chrono::Duration;
use domain::{Gtin, Qty};

use app::auth::UserInput;
use app::catalog::{
    BarcodeInput, LocationInput, ProductInput, StockLimitInput, SupplierInput, UpsertMode,
};
use app::page::PageRequest;
use app::stock::{MovementInput, TransferInput};
use app::{App, Principal};

pub use catalog::{DemoProduct, DemoSupplier, PRODUCTS, SUPPLIERS};

pub const WAREHOUSE: &str = "DEP";
pub const STORES: [&str; 2] = ["S01", "S02"];
/// Days of daily sales history the demo starts with.
pub const HISTORY_DAYS: u32 = 365;

pub struct DemoLogin {
    pub username: String,
    pub password: String,
}

/// What `--demo` did: `login` is `None` when the data was already there.
pub struct DemoOutcome {
    pub login: Option<DemoLogin>,
    pub products: usize,
}

/// Categories whose goods carry lots with an expiry date.
fn shelf_life_days(category: &str) -> Option<i64> {
    match category {
        "Lácteos" => Some(25),
        "Fiambrería" => Some(30),
        "Panadería" => Some(5),
        _ => None,
    }
}

fn qty(s: &str) -> anyhow::Result<Qty> {
    Qty::parse(s).map_err(|e| anyhow::anyhow!("cantidad de demo inválida {s}: {e}"))
}

/// Scales a demo quantity, keeping whole units for products sold by unit.
fn scaled(q: Qty, num: i64, den: i64, whole: bool) -> Qty {
    let milli = q.milli() * num / den;
    if whole {
        Qty::from_milli((milli / 1000).max(1) * 1000)
    } else {
        Qty::from_milli(milli.max(1))
    }
}

pub async fn load(app: &Arc<App>) -> anyhow::Result<DemoOutcome> {
    let load_started = std::time::Instant::now();
    let sys = Principal::system();
    let existing = app.locations(&sys, PageRequest::first(500)).await?;
    if existing.items.iter().any(|l| l.code == WAREHOUSE) {
        return Ok(DemoOutcome {
            login: None,
            products: 0,
        });
    }
    for (code, name, kind) in [
        (WAREHOUSE, "Depósito central", "warehouse"),
        (STORES[0], "Sucursal Centro", "store"),
        (STORES[1], "Sucursal Palermo", "store"),
    ] {
        let input = LocationInput {
            code: code.into(),
            name: name.into(),
            kind: kind.into(),
        };
        app.create_location(&sys, input, app.meta(&sys, None))
            .await?;
    }

    let store_ids: Vec<i64> = app
        .locations(&sys, PageRequest::first(500))
        .await?
        .items
        .iter()
        .filter(|l| STORES.contains(&l.code.as_str()))
        .map(|l| l.id)
        .collect();
    let mut lead_times = std::collections::HashMap::new();
    let mut supplier_ids = Vec::with_capacity(SUPPLIERS.len());
    for s in SUPPLIERS {
        let input = SupplierInput {
            name: s.name.into(),
            cuit: s.cuit.into(),
            vat_condition: s.vat_condition.into(),
            lead_time_days: Some(i64::from(s.lead_time_days)),
            contact: Some(s.contact.into()),
        };
        let w = app
            .create_supplier(&sys, input, app.meta(&sys, None))
            .await
            .with_context(|| format!("proveedor {}", s.name))?;
        lead_times.insert(w.value.id, s.lead_time_days);
        supplier_ids.push((w.value.id, s.categories));
    }

    let today = app.clock.today();
    let mut receipts = Vec::new();
    let mut transfers = Vec::new();
    let mut sold = Vec::with_capacity(PRODUCTS.len());
    for (i, p) in PRODUCTS.iter().enumerate() {
        let whole = p.unit == "unit";
        let min = qty(p.min_stock)?;
        let max = qty(p.max_stock)?;
        let mut barcodes = Vec::new();
        if whole {
            let unit_code = Gtin::from_body(&format!("779{:09}", 210_000_000 + i))
                .map_err(|e| anyhow::anyhow!("{e}"))?;
            barcodes.push(BarcodeInput::Code(unit_code.to_string()));
            if p.pack > 1 {
                let pack_code = Gtin::from_body(&format!("779{:09}", 310_000_000 + i))
                    .map_err(|e| anyhow::anyhow!("{e}"))?;
                barcodes.push(BarcodeInput::Pack {
                    code: pack_code.to_string(),
                    pack: i64::from(p.pack),
                });
            }
        }
        let supplier = supplier_ids
            .iter()
            .filter(|(_, cats)| cats.contains(&p.category))
            .nth(i % 2)
            .or_else(|| {
                supplier_ids
                    .iter()
                    .find(|(_, cats)| cats.contains(&p.category))
            })
            .map(|(id, _)| *id);
        let mut stock_limits: Vec<StockLimitInput> = STORES
            .iter()
            .map(|s| StockLimitInput {
                location: (*s).into(),
                min: min.to_string(),
                max: max.to_string(),
            })
            .collect();
        stock_limits.push(StockLimitInput {
            location: WAREHOUSE.into(),
            min: scaled(min, 2, 1, whole).to_string(),
            max: scaled(max, 4, 1, whole).to_string(),
        });
        let input = ProductInput {
            sku: None,
            name: p.name.into(),
            category: p.category.into(),
            brand: Some(p.brand.into()),
            unit: Some(p.unit.into()),
            barcodes,
            cost: p.cost.into(),
            price: p.price.into(),
            vat_rate: p.vat_rate.into(),
            supplier_id: supplier,
            plu: (!whole).then_some(i as i64 + 1),
            stock_limits,
            active: Some(true),
        };
        let product = app
            .save_product(&sys, input, UpsertMode::Create, app.meta(&sys, None))
            .await
            .with_context(|| format!("producto {}", p.name))?
            .value
            .product;
        sold.push(history::HistoryProduct {
            id: product.id,
            demo: p,
            cost: product.cost,
            lead_time_days: supplier
                .and_then(|s| lead_times.get(&s).copied())
                .unwrap_or(3),
        });

        // The depósito receives enough for both stores; perishables arrive in two lots.
        let total = scaled(max, 3, 1, whole);
        let lots: Vec<(Option<String>, Option<String>, Qty)> = match shelf_life_days(p.category) {
            Some(days) => {
                let first = scaled(total, 1, 2, whole);
                let early = today + Duration::days(days / 2);
                let late = today + Duration::days(days);
                vec![
                    (
                        Some(format!("L{}", early.format("%y%m%d"))),
                        Some(early.to_string()),
                        first,
                    ),
                    (
                        Some(format!("L{}", late.format("%y%m%d"))),
                        Some(late.to_string()),
                        total - first,
                    ),
                ]
            }
            None => vec![(None, None, total)],
        };
        for (lot, expiry, q) in lots {
            receipts.push(MovementInput {
                kind: "receipt".into(),
                product_id: Some(product.id),
                sku: None,
                barcode: None,
                location: WAREHOUSE.into(),
                quantity: q.to_string(),
                lot,
                expiry,
                unit_cost: None,
                reason: Some("Stock inicial de demostración".into()),
                document: Some(format!("remito:demo-{:04}", i + 1)),
            });
        }
        for (s, store) in STORES.iter().enumerate() {
            // Every seventh product starts short in one store, so critical stock has content.
            let amount = if (i + s) % 7 == 0 {
                scaled(min, 1, 2, whole)
            } else {
                max
            };
            transfers.push(TransferInput {
                product_id: Some(product.id),
                sku: None,
                barcode: None,
                from: WAREHOUSE.into(),
                to: (*store).into(),
                quantity: amount.to_string(),
                lot: None,
                reason: Some("Reposición inicial".into()),
            });
        }
    }
    // A year of sales before today, inserted as one block of ledger lines.
    let started = std::time::Instant::now();
    let past = history::lines(&sold, &store_ids, today, HISTORY_DAYS);
    let generated = started.elapsed();
    let appended = app
        .append_history(&sys, past)
        .await
        .context("historial de ventas")?;
    tracing::info!(lines = appended, ?generated, elapsed = ?started.elapsed(), "demo: historial de ventas");
    let started = std::time::Instant::now();
    for chunk in receipts.chunks(200) {
        app.post_movements(&sys, chunk.to_vec(), true, app.meta(&sys, None))
            .await?;
    }
    tracing::info!(elapsed = ?started.elapsed(), "demo: stock inicial en el depósito");
    let started = std::time::Instant::now();
    // Transfers run concurrently so the writer can group their commits.
    let mut set = tokio::task::JoinSet::new();
    for t in transfers {
        let app = app.clone();
        let sys = sys.clone();
        set.spawn(async move {
            let meta = app.meta(&sys, None);
            app.transfer(&sys, t, meta).await
        });
    }
    while let Some(r) = set.join_next().await {
        r.context("tarea de transferencia")??;
    }

    tracing::info!(elapsed = ?started.elapsed(), "demo: reposición de sucursales");
    let started = std::time::Instant::now();
    app.run_forecast(&sys).await.context("pronóstico inicial")?;
    tracing::info!(elapsed = ?started.elapsed(), "demo: pronóstico inicial");

    tracing::info!(elapsed = ?load_started.elapsed(), "demo: catálogo, stock e historial");
    let password = app::auth::random_password();
    let username = "admin".to_owned();
    let input = UserInput {
        username: username.clone(),
        password: password.clone(),
        role: "admin".into(),
        locations: Vec::new(),
    };
    let login = match app.create_user(&sys, input, app.meta(&sys, None)).await {
        Ok(_) => Some(DemoLogin { username, password }),
        Err(app::Error::Conflict { .. }) => None,
        Err(e) => return Err(e.into()),
    };
    Ok(DemoOutcome {
        login,
        products: PRODUCTS.len(),
    })
}
