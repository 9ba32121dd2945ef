//! Catalogue tables: categories, suppliers, locations, products with their barcodes and stock limits.

use std::collections::HashMap;
use std::sync::Arc;

use app::catalog::{
    Barcode, Category, Location, NewLocation, NewProduct, NewSupplier, Product, ProductQuery,
    StockLimit, Supplier, UpsertMode, UpsertedProduct, search_key, sku_prefix_for,
};
use app::page::{Page, PageRequest};
use app::{Error, Result, WriteMeta, Written};
use domain::catalog::{LocationKind, UnitOfMeasure, VatCondition};
use domain::{Cuit, Money, Qty, Sku};
use sqlx::AssertSqlSafe;
use sqlx::any::AnyRow;
use sqlx::{AnyConnection, AnyPool};

use crate::SqlStore;
use crate::audit::{self, Change};
use crate::idempotency;
use crate::rows::{db_error, get, instant, parsed, placeholders, vat_from_bp};

// ---------------------------------------------------------------- suppliers

pub(crate) const SUPPLIER_COLUMNS: &str =
    "id, name, cuit, vat_condition, lead_time_days, contact, active";

pub(crate) fn supplier_from(r: &AnyRow) -> Result<Supplier> {
    Ok(Supplier {
        id: get(r, "id")?,
        name: get(r, "name")?,
        cuit: parsed("cuit", Cuit::parse(&get::<String>(r, "cuit")?))?,
        vat_condition: parsed(
            "vat_condition",
            VatCondition::parse(&get::<String>(r, "vat_condition")?),
        )?,
        lead_time_days: get(r, "lead_time_days")?,
        contact: get(r, "contact")?,
        active: get::<i64>(r, "active")? != 0,
    })
}

pub(crate) async fn create_supplier(
    store: &SqlStore,
    meta: &WriteMeta,
    new: NewSupplier,
) -> Result<Written<Supplier>> {
    let owned_meta = meta.clone();
    store
        .write_idempotent(meta, Arc::new(move |conn| {
            let (meta, new) = (owned_meta.clone(), new.clone());
            Box::pin(async move {
                let taken: Option<i64> = sqlx::query_scalar("SELECT id FROM suppliers WHERE cuit = $1")
                    .bind(new.cuit.as_str())
                    .fetch_optional(&mut *conn)
                    .await
                    .map_err(db_error)?;
                if let Some(id) = taken {
                    return Err(Error::conflict(
                        "duplicate_cuit",
                        Some("cuit"),
                        format!("ya existe el proveedor {id} con CUIT {}", new.cuit),
                    ));
                }
                let row = sqlx::query(AssertSqlSafe(format!(
                    "INSERT INTO suppliers (name, cuit, vat_condition, lead_time_days, contact, active, created_at, updated_at) \
                     VALUES ($1, $2, $3, $4, $5, 1, $6, $6) RETURNING {SUPPLIER_COLUMNS}"
                )))
                .bind(&new.name)
                .bind(new.cuit.as_str())
                .bind(new.vat_condition.as_str())
                .bind(new.lead_time_days)
                .bind(&new.contact)
                .bind(meta.now)
                .fetch_one(&mut *conn)
                .await
                .map_err(db_error)?;
                let supplier = supplier_from(&row)?;
                audit::record(conn, &meta, Change::<(), _> {
                    action: "supplier.create",
                    entity: "supplier",
                    entity_id: Some(supplier.id.to_string()),
                    before: None,
                    after: Some(&supplier),
                })
                .await?;
                idempotency::record(conn, &meta, &supplier).await?;
                Ok(supplier)
            })
        }))
        .await
}

pub(crate) async fn get_supplier(pool: &AnyPool, id: i64) -> Result<Option<Supplier>> {
    sqlx::query(AssertSqlSafe(format!(
        "SELECT {SUPPLIER_COLUMNS} FROM suppliers WHERE id = $1"
    )))
    .bind(id)
    .fetch_optional(pool)
    .await
    .map_err(db_error)?
    .as_ref()
    .map(supplier_from)
    .transpose()
}

pub(crate) async fn list_suppliers(pool: &AnyPool, page: PageRequest) -> Result<Page<Supplier>> {
    let rows = sqlx::query(AssertSqlSafe(format!(
        "SELECT {SUPPLIER_COLUMNS} FROM suppliers WHERE id > $1 ORDER BY id LIMIT $2"
    )))
    .bind(page.after)
    .bind(page.fetch_limit())
    .fetch_all(pool)
    .await
    .map_err(db_error)?;
    let items = rows.iter().map(supplier_from).collect::<Result<Vec<_>>>()?;
    Ok(Page::from_rows(items, page, |s| s.id))
}

// ---------------------------------------------------------------- locations

const LOCATION_COLUMNS: &str = "id, code, name, kind, active";

fn location_from(r: &AnyRow) -> Result<Location> {
    Ok(Location {
        id: get(r, "id")?,
        code: get(r, "code")?,
        name: get(r, "name")?,
        kind: parsed("kind", LocationKind::parse(&get::<String>(r, "kind")?))?,
        active: get::<i64>(r, "active")? != 0,
    })
}

pub(crate) async fn create_location(
    store: &SqlStore,
    meta: &WriteMeta,
    new: NewLocation,
) -> Result<Written<Location>> {
    let owned_meta = meta.clone();
    store
        .write_idempotent(meta, Arc::new(move |conn| {
            let (meta, new) = (owned_meta.clone(), new.clone());
            Box::pin(async move {
                let taken: Option<i64> = sqlx::query_scalar("SELECT id FROM locations WHERE code = $1")
                    .bind(&new.code)
                    .fetch_optional(&mut *conn)
                    .await
                    .map_err(db_error)?;
                if taken.is_some() {
                    return Err(Error::conflict(
                        "duplicate_code",
                        Some("code"),
                        format!("ya existe la ubicación {}", new.code),
                    ));
                }
                let row = sqlx::query(AssertSqlSafe(format!(
                    "INSERT INTO locations (code, name, kind, active, created_at) VALUES ($1, $2, $3, 1, $4) RETURNING {LOCATION_COLUMNS}"
                )))
                .bind(&new.code)
                .bind(&new.name)
                .bind(new.kind.as_str())
                .bind(meta.now)
                .fetch_one(&mut *conn)
                .await
                .map_err(db_error)?;
                let location = location_from(&row)?;
                audit::record(conn, &meta, Change::<(), _> {
                    action: "location.create",
                    entity: "location",
                    entity_id: Some(location.id.to_string()),
                    before: None,
                    after: Some(&location),
                })
                .await?;
                idempotency::record(conn, &meta, &location).await?;
                Ok(location)
            })
        }))
        .await
}

pub(crate) async fn get_location(pool: &AnyPool, id: i64) -> Result<Option<Location>> {
    sqlx::query(AssertSqlSafe(format!(
        "SELECT {LOCATION_COLUMNS} FROM locations WHERE id = $1"
    )))
    .bind(id)
    .fetch_optional(pool)
    .await
    .map_err(db_error)?
    .as_ref()
    .map(location_from)
    .transpose()
}

pub(crate) async fn list_locations(pool: &AnyPool, page: PageRequest) -> Result<Page<Location>> {
    let rows = sqlx::query(AssertSqlSafe(format!(
        "SELECT {LOCATION_COLUMNS} FROM locations WHERE id > $1 ORDER BY id LIMIT $2"
    )))
    .bind(page.after)
    .bind(page.fetch_limit())
    .fetch_all(pool)
    .await
    .map_err(db_error)?;
    let items = rows.iter().map(location_from).collect::<Result<Vec<_>>>()?;
    Ok(Page::from_rows(items, page, |l| l.id))
}

/// Resolves location codes to ids inside a transaction; unknown codes are reported on `field`.
pub(crate) async fn location_ids(
    conn: &mut AnyConnection,
    codes: &[(String, String)],
) -> Result<HashMap<String, i64>> {
    let mut out = HashMap::new();
    for (field, code) in codes {
        if out.contains_key(code) {
            continue;
        }
        let id: Option<i64> = sqlx::query_scalar("SELECT id FROM locations WHERE code = $1")
            .bind(code)
            .fetch_optional(&mut *conn)
            .await
            .map_err(db_error)?;
        let id = id.ok_or_else(|| {
            Error::unknown(field.clone(), format!("la ubicación {code} no existe"))
        })?;
        out.insert(code.clone(), id);
    }
    Ok(out)
}

// ---------------------------------------------------------------- categories

pub(crate) async fn list_categories(pool: &AnyPool) -> Result<Vec<Category>> {
    let rows: Vec<(i64, String, String)> =
        sqlx::query_as("SELECT id, name, sku_prefix FROM categories ORDER BY name")
            .fetch_all(pool)
            .await
            .map_err(db_error)?;
    Ok(rows
        .into_iter()
        .map(|(id, name, sku_prefix)| Category {
            id,
            name,
            sku_prefix,
        })
        .collect())
}

/// Finds a category by name (ignoring case and accents) or creates it.
async fn ensure_category(conn: &mut AnyConnection, name: &str) -> Result<(i64, String)> {
    let key = search_key(name);
    let existing: Vec<(i64, String, String)> =
        sqlx::query_as("SELECT id, name, sku_prefix FROM categories")
            .fetch_all(&mut *conn)
            .await
            .map_err(db_error)?;
    if let Some((id, _, prefix)) = existing.into_iter().find(|(_, n, _)| search_key(n) == key) {
        return Ok((id, prefix));
    }
    let prefix = sku_prefix_for(name);
    sqlx::query(
        "INSERT INTO categories (name, sku_prefix) VALUES ($1, $2) ON CONFLICT (name) DO NOTHING",
    )
    .bind(name)
    .bind(&prefix)
    .execute(&mut *conn)
    .await
    .map_err(db_error)?;
    let (id, prefix): (i64, String) =
        sqlx::query_as("SELECT id, sku_prefix FROM categories WHERE name = $1")
            .bind(name)
            .fetch_one(&mut *conn)
            .await
            .map_err(db_error)?;
    Ok((id, prefix))
}

// ---------------------------------------------------------------- products

/// Appends to the cost history that past-date valuation reads.
pub(crate) async fn record_cost(
    conn: &mut AnyConnection,
    product_id: i64,
    cost: Money,
    at: i64,
    source: &str,
) -> Result<()> {
    sqlx::query("INSERT INTO product_cost_history (product_id, cost, changed_at, source) VALUES ($1, $2, $3, $4)")
        .bind(product_id)
        .bind(cost.minor())
        .bind(at)
        .bind(source)
        .execute(&mut *conn)
        .await
        .map_err(db_error)?;
    Ok(())
}

const PRODUCT_SELECT: &str = "SELECT p.id, p.sku, p.name, c.name AS category, p.brand, p.unit, p.cost, p.price, p.vat_bp, \
     p.supplier_id, p.plu, p.active, p.created_at, p.updated_at FROM products p JOIN categories c ON c.id = p.category_id";

fn product_from(r: &AnyRow) -> Result<Product> {
    Ok(Product {
        id: get(r, "id")?,
        sku: get(r, "sku")?,
        name: get(r, "name")?,
        category: get(r, "category")?,
        brand: get(r, "brand")?,
        unit: parsed("unit", UnitOfMeasure::parse(&get::<String>(r, "unit")?))?,
        barcodes: Vec::new(),
        cost: Money::from_minor(get(r, "cost")?),
        price: Money::from_minor(get(r, "price")?),
        vat_rate: vat_from_bp(get(r, "vat_bp")?)?,
        supplier_id: get(r, "supplier_id")?,
        plu: get(r, "plu")?,
        active: get::<i64>(r, "active")? != 0,
        stock_limits: Vec::new(),
        created_at: instant(get(r, "created_at")?),
        updated_at: instant(get(r, "updated_at")?),
    })
}

/// Fills barcodes and limits of a page of products with two queries, whatever the page size.
async fn complete(conn: &mut AnyConnection, mut products: Vec<Product>) -> Result<Vec<Product>> {
    if products.is_empty() {
        return Ok(products);
    }
    let ids = placeholders(1, products.len());
    let mut q = sqlx::query_as::<_, (i64, String, i64)>(AssertSqlSafe(format!(
        "SELECT product_id, code, pack FROM product_barcodes WHERE product_id IN ({ids}) ORDER BY product_id, code"
    )));
    for p in &products {
        q = q.bind(p.id);
    }
    let barcodes = q.fetch_all(&mut *conn).await.map_err(db_error)?;
    let mut q = sqlx::query_as::<_, (i64, String, i64, i64)>(AssertSqlSafe(format!(
        "SELECT l.product_id, loc.code, l.min_qty, l.max_qty FROM stock_limits l JOIN locations loc ON loc.id = l.location_id \
         WHERE l.product_id IN ({ids}) ORDER BY l.product_id, loc.code"
    )));
    for p in &products {
        q = q.bind(p.id);
    }
    let limits = q.fetch_all(&mut *conn).await.map_err(db_error)?;
    let index: HashMap<i64, usize> = products
        .iter()
        .enumerate()
        .map(|(i, p)| (p.id, i))
        .collect();
    for (pid, code, pack) in barcodes {
        if let Some(i) = index.get(&pid) {
            products[*i].barcodes.push(Barcode { code, pack });
        }
    }
    for (pid, location, min, max) in limits {
        if let Some(i) = index.get(&pid) {
            products[*i].stock_limits.push(StockLimit {
                location,
                min: Qty::from_milli(min),
                max: Qty::from_milli(max),
            });
        }
    }
    Ok(products)
}

async fn load_product(conn: &mut AnyConnection, id: i64) -> Result<Option<Product>> {
    let row = sqlx::query(AssertSqlSafe(format!("{PRODUCT_SELECT} WHERE p.id = $1")))
        .bind(id)
        .fetch_optional(&mut *conn)
        .await
        .map_err(db_error)?;
    let Some(row) = row else { return Ok(None) };
    Ok(complete(conn, vec![product_from(&row)?]).await?.pop())
}

pub(crate) async fn get_product(pool: &AnyPool, id: i64) -> Result<Option<Product>> {
    let mut conn = pool.acquire().await.map_err(db_error)?;
    load_product(&mut conn, id).await
}

enum Bind {
    Int(i64),
    Text(String),
}

fn like_pattern(s: &str) -> String {
    let escaped = s
        .replace('\\', "\\\\")
        .replace('%', "\\%")
        .replace('_', "\\_");
    format!("%{escaped}%")
}

pub(crate) async fn search_products(
    pool: &AnyPool,
    q: &ProductQuery,
    page: PageRequest,
) -> Result<Page<Product>> {
    let mut conds: Vec<String> = vec!["p.id > $1".into()];
    let mut binds: Vec<Bind> = vec![Bind::Int(page.after)];
    let next = |binds: &mut Vec<Bind>, b: Bind| {
        binds.push(b);
        binds.len()
    };
    if let Some(text) = q.q.as_deref().map(str::trim).filter(|t| !t.is_empty()) {
        let like = next(&mut binds, Bind::Text(like_pattern(&search_key(text))));
        let sku = next(&mut binds, Bind::Text(text.to_uppercase()));
        let mut alternatives = format!("p.search_text LIKE ${like} ESCAPE '\\' OR p.sku = ${sku}");
        if text.chars().all(|c| c.is_ascii_digit()) && (8..=14).contains(&text.len()) {
            let code = next(&mut binds, Bind::Text(text.to_owned()));
            alternatives.push_str(&format!(
                " OR p.id IN (SELECT product_id FROM product_barcodes WHERE code = ${code})"
            ));
        }
        conds.push(format!("({alternatives})"));
    }
    if let Some(sku) = q.sku.as_deref().map(str::trim).filter(|t| !t.is_empty()) {
        let i = next(&mut binds, Bind::Text(sku.to_uppercase()));
        conds.push(format!("p.sku = ${i}"));
    }
    if let Some(code) = q
        .barcode
        .as_deref()
        .map(str::trim)
        .filter(|t| !t.is_empty())
    {
        let i = next(&mut binds, Bind::Text(code.to_owned()));
        conds.push(format!(
            "p.id IN (SELECT product_id FROM product_barcodes WHERE code = ${i})"
        ));
    }
    if let Some(cat) = q
        .category
        .as_deref()
        .map(str::trim)
        .filter(|t| !t.is_empty())
    {
        // Categories match as they do on creation: ignoring case and accents.
        let key = search_key(cat);
        let id = list_categories(pool)
            .await?
            .into_iter()
            .find(|c| search_key(&c.name) == key)
            .map_or(-1, |c| c.id);
        let i = next(&mut binds, Bind::Int(id));
        conds.push(format!("p.category_id = ${i}"));
    }
    if let Some(active) = q.active {
        let i = next(&mut binds, Bind::Int(i64::from(active)));
        conds.push(format!("p.active = ${i}"));
    }
    let limit = next(&mut binds, Bind::Int(page.fetch_limit()));
    let sql = format!(
        "{PRODUCT_SELECT} WHERE {} ORDER BY p.id LIMIT ${limit}",
        conds.join(" AND ")
    );
    let mut query = sqlx::query(AssertSqlSafe(sql));
    for b in binds {
        query = match b {
            Bind::Int(i) => query.bind(i),
            Bind::Text(t) => query.bind(t),
        };
    }
    let mut conn = pool.acquire().await.map_err(db_error)?;
    let rows = query.fetch_all(&mut *conn).await.map_err(db_error)?;
    let products = rows.iter().map(product_from).collect::<Result<Vec<_>>>()?;
    let products = complete(&mut conn, products).await?;
    Ok(Page::from_rows(products, page, |p| p.id))
}

/// Creates or changes one product's limits at one location. A new limit starts with the
/// location's on-hand; from then on the stock triggers keep it. On PostgreSQL the stock rows
/// are locked first (and a first stock row's insert is ordered by the same advisory lock the
/// trigger takes), so a sale in flight is either summed here or applied to the new row.
async fn save_stock_limit(
    conn: &mut AnyConnection,
    product_id: i64,
    location_id: i64,
    min: i64,
    max: i64,
) -> Result<()> {
    let exists: Option<i64> =
        sqlx::query_scalar("SELECT 1 FROM stock_limits WHERE product_id = $1 AND location_id = $2")
            .bind(product_id)
            .bind(location_id)
            .fetch_optional(&mut *conn)
            .await
            .map_err(db_error)?;
    if exists.is_some() {
        sqlx::query(
            "UPDATE stock_limits SET min_qty = $3, max_qty = $4 WHERE product_id = $1 AND location_id = $2",
        )
        .bind(product_id)
        .bind(location_id)
        .bind(min)
        .bind(max)
        .execute(&mut *conn)
        .await
        .map_err(db_error)?;
        return Ok(());
    }
    if conn.backend_name().eq_ignore_ascii_case("postgresql") {
        sqlx::query("SELECT pg_advisory_xact_lock(stock_limit_lock_key($1, $2))")
            .bind(product_id)
            .bind(location_id)
            .execute(&mut *conn)
            .await
            .map_err(db_error)?;
        sqlx::query(
            "SELECT 1 FROM stock_levels WHERE product_id = $1 AND location_id = $2 FOR UPDATE",
        )
        .bind(product_id)
        .bind(location_id)
        .execute(&mut *conn)
        .await
        .map_err(db_error)?;
    }
    sqlx::query(
        "INSERT INTO stock_limits (product_id, location_id, min_qty, max_qty, on_hand) \
         SELECT $1, $2, $3, $4, CAST(COALESCE(SUM(on_hand), 0) AS BIGINT) FROM stock_levels \
         WHERE product_id = $1 AND location_id = $2",
    )
    .bind(product_id)
    .bind(location_id)
    .bind(min)
    .bind(max)
    .execute(&mut *conn)
    .await
    .map_err(db_error)?;
    Ok(())
}

async fn next_sku(conn: &mut AnyConnection, prefix: &str) -> Result<Sku> {
    loop {
        let n: i64 = sqlx::query_scalar(
            "INSERT INTO sku_sequences (prefix, next_value) VALUES ($1, 2) \
             ON CONFLICT (prefix) DO UPDATE SET next_value = sku_sequences.next_value + 1 RETURNING next_value - 1",
        )
        .bind(prefix)
        .fetch_one(&mut *conn)
        .await
        .map_err(db_error)?;
        let sku = Sku::generated(prefix, n.unsigned_abs());
        let taken: Option<i64> = sqlx::query_scalar("SELECT id FROM products WHERE sku = $1")
            .bind(sku.as_str())
            .fetch_optional(&mut *conn)
            .await
            .map_err(db_error)?;
        if taken.is_none() {
            return Ok(sku);
        }
    }
}

pub(crate) async fn upsert_product(
    store: &SqlStore,
    meta: &WriteMeta,
    new: NewProduct,
    mode: UpsertMode,
) -> Result<Written<UpsertedProduct>> {
    let owned_meta = meta.clone();
    store
        .write_idempotent(
            meta,
            Arc::new(move |conn| {
                let (meta, new) = (owned_meta.clone(), new.clone());
                Box::pin(async move {
                    let done = upsert_product_tx(conn, &meta, &new, mode).await?;
                    idempotency::record(conn, &meta, &done).await?;
                    Ok(done)
                })
            }),
        )
        .await
}

async fn upsert_product_tx(
    conn: &mut AnyConnection,
    meta: &WriteMeta,
    new: &NewProduct,
    mode: UpsertMode,
) -> Result<UpsertedProduct> {
    let by_sku = match &new.sku {
        Some(sku) => sqlx::query_scalar::<_, i64>("SELECT id FROM products WHERE sku = $1")
            .bind(sku.as_str())
            .fetch_optional(&mut *conn)
            .await
            .map_err(db_error)?,
        None => None,
    };
    let existing_id = match mode {
        UpsertMode::Create => {
            if let (Some(id), Some(sku)) = (by_sku, &new.sku) {
                return Err(Error::conflict(
                    "duplicate_sku",
                    Some("sku"),
                    format!("el SKU {sku} ya es del producto {id}"),
                ));
            }
            None
        }
        UpsertMode::Update(id) => {
            if by_sku.is_some_and(|other| other != id) {
                return Err(Error::conflict(
                    "duplicate_sku",
                    Some("sku"),
                    "el SKU ya es de otro producto",
                ));
            }
            Some(id)
        }
        UpsertMode::CreateOrUpdateBySku => by_sku,
    };
    let before = match existing_id {
        Some(id) => Some(
            load_product(conn, id)
                .await?
                .ok_or_else(|| Error::NotFound {
                    entity: "producto",
                    key: id.to_string(),
                })?,
        ),
        None => None,
    };
    if let (Some(b), Some(sku)) = (&before, &new.sku)
        && b.sku != sku.as_str()
    {
        return Err(Error::invalid(
            "sku",
            "immutable",
            "el SKU de un producto no se puede cambiar",
        ));
    }
    let (category_id, prefix) = ensure_category(conn, &new.category).await?;
    if let Some(sid) = new.supplier_id {
        let found: Option<i64> = sqlx::query_scalar("SELECT id FROM suppliers WHERE id = $1")
            .bind(sid)
            .fetch_optional(&mut *conn)
            .await
            .map_err(db_error)?;
        if found.is_none() {
            return Err(Error::unknown(
                "supplier_id",
                format!("el proveedor {sid} no existe"),
            ));
        }
    }
    let codes: Vec<(String, String)> = new
        .stock_limits
        .iter()
        .enumerate()
        .map(|(i, l)| (format!("stock_limits[{i}].location"), l.location.clone()))
        .collect();
    let location_ids = location_ids(conn, &codes).await?;
    for (i, b) in new.barcodes.iter().enumerate() {
        let owner: Option<i64> =
            sqlx::query_scalar("SELECT product_id FROM product_barcodes WHERE code = $1")
                .bind(b.gtin.as_str())
                .fetch_optional(&mut *conn)
                .await
                .map_err(db_error)?;
        if let Some(owner) = owner.filter(|o| Some(*o) != existing_id) {
            return Err(Error::conflict(
                "duplicate_barcode",
                Some(&format!("barcodes[{i}]")),
                format!("el código {} ya es del producto {owner}", b.gtin),
            ));
        }
    }
    if let Some(plu) = new.plu {
        let owner: Option<i64> = sqlx::query_scalar("SELECT id FROM products WHERE plu = $1")
            .bind(plu)
            .fetch_optional(&mut *conn)
            .await
            .map_err(db_error)?;
        if let Some(owner) = owner.filter(|o| Some(*o) != existing_id) {
            return Err(Error::conflict(
                "duplicate_plu",
                Some("plu"),
                format!("el código de balanza {plu} ya es del producto {owner}"),
            ));
        }
    }
    let search = search_key(&format!("{} {}", new.name, new.brand));
    let id = match existing_id {
        Some(id) => {
            sqlx::query(
                "UPDATE products SET name = $1, search_text = $2, category_id = $3, brand = $4, unit = $5, cost = $6, price = $7, \
                 vat_bp = $8, supplier_id = $9, active = $10, updated_at = $11, plu = $13 WHERE id = $12",
            )
            .bind(&new.name)
            .bind(&search)
            .bind(category_id)
            .bind(&new.brand)
            .bind(new.unit.as_str())
            .bind(new.cost.minor())
            .bind(new.price.minor())
            .bind(new.vat_rate.basis_points())
            .bind(new.supplier_id)
            .bind(i64::from(new.active))
            .bind(meta.now)
            .bind(id)
            .bind(new.plu)
            .execute(&mut *conn)
            .await
            .map_err(db_error)?;
            sqlx::query("DELETE FROM product_barcodes WHERE product_id = $1")
                .bind(id)
                .execute(&mut *conn)
                .await
                .map_err(db_error)?;
            // Limits that stay are updated in place (they carry the on-hand the stock
            // triggers keep); only the locations no longer listed lose theirs.
            let kept: Vec<i64> = new
                .stock_limits
                .iter()
                .filter_map(|l| location_ids.get(&l.location).copied())
                .collect();
            let existing: Vec<i64> =
                sqlx::query_scalar("SELECT location_id FROM stock_limits WHERE product_id = $1")
                    .bind(id)
                    .fetch_all(&mut *conn)
                    .await
                    .map_err(db_error)?;
            for location_id in existing.into_iter().filter(|l| !kept.contains(l)) {
                sqlx::query("DELETE FROM stock_limits WHERE product_id = $1 AND location_id = $2")
                    .bind(id)
                    .bind(location_id)
                    .execute(&mut *conn)
                    .await
                    .map_err(db_error)?;
            }
            id
        }
        None => {
            let sku = match &new.sku {
                Some(s) => s.clone(),
                None => next_sku(conn, &prefix).await?,
            };
            sqlx::query_scalar::<_, i64>(
                "INSERT INTO products (sku, name, search_text, category_id, brand, unit, cost, price, vat_bp, supplier_id, active, created_at, updated_at, plu) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $12, $13) RETURNING id",
            )
            .bind(sku.as_str())
            .bind(&new.name)
            .bind(&search)
            .bind(category_id)
            .bind(&new.brand)
            .bind(new.unit.as_str())
            .bind(new.cost.minor())
            .bind(new.price.minor())
            .bind(new.vat_rate.basis_points())
            .bind(new.supplier_id)
            .bind(i64::from(new.active))
            .bind(meta.now)
            .bind(new.plu)
            .fetch_one(&mut *conn)
            .await
            .map_err(db_error)?
        }
    };
    for b in &new.barcodes {
        sqlx::query("INSERT INTO product_barcodes (code, product_id, pack) VALUES ($1, $2, $3)")
            .bind(b.gtin.as_str())
            .bind(id)
            .bind(b.pack)
            .execute(&mut *conn)
            .await
            .map_err(db_error)?;
    }
    for l in &new.stock_limits {
        let location_id = location_ids.get(&l.location).copied().unwrap_or_default();
        save_stock_limit(conn, id, location_id, l.min.milli(), l.max.milli()).await?;
    }
    if before.as_ref().is_none_or(|b| b.cost != new.cost) {
        record_cost(conn, id, new.cost, meta.now, "product").await?;
    }
    if before.as_ref().is_none_or(|b| b.price != new.price) {
        let reason = if before.is_some() {
            "producto modificado"
        } else {
            "alta del producto"
        };
        crate::pricing::record_price(conn, meta, id, new.price, new.cost, reason, "product")
            .await?;
    }
    let product = load_product(conn, id)
        .await?
        .ok_or_else(|| Error::internal("el producto recién guardado no se encuentra"))?;
    audit::record(
        conn,
        meta,
        Change {
            action: if before.is_some() {
                "product.update"
            } else {
                "product.create"
            },
            entity: "product",
            entity_id: Some(id.to_string()),
            before: before.as_ref(),
            after: Some(&product),
        },
    )
    .await?;
    Ok(UpsertedProduct {
        created: before.is_none(),
        product,
    })
}

pub(crate) async fn set_product_active(
    store: &SqlStore,
    meta: &WriteMeta,
    id: i64,
    active: bool,
) -> Result<Product> {
    let meta = meta.clone();
    store
        .write(Arc::new(move |conn| {
            let meta = meta.clone();
            Box::pin(async move {
                let before = load_product(conn, id)
                    .await?
                    .ok_or_else(|| Error::NotFound {
                        entity: "producto",
                        key: id.to_string(),
                    })?;
                sqlx::query("UPDATE products SET active = $1, updated_at = $2 WHERE id = $3")
                    .bind(i64::from(active))
                    .bind(meta.now)
                    .bind(id)
                    .execute(&mut *conn)
                    .await
                    .map_err(db_error)?;
                let after = load_product(conn, id)
                    .await?
                    .ok_or_else(|| Error::internal("el producto desapareció"))?;
                audit::record(
                    conn,
                    &meta,
                    Change {
                        action: if active {
                            "product.activate"
                        } else {
                            "product.deactivate"
                        },
                        entity: "product",
                        entity_id: Some(id.to_string()),
                        before: Some(&before),
                        after: Some(&after),
                    },
                )
                .await?;
                Ok(after)
            })
        }))
        .await
}
