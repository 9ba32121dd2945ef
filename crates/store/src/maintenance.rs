//! Whole-database operations for backups and restores: a consistent copy, row counts, and
//! content checksums that a restored copy must reproduce.

use std::collections::BTreeMap;
use std::path::Path;

use app::{Error, Result};
use sha2::{Digest, Sha256};
use sqlx::{AssertSqlSafe, Executor};

use crate::rows::db_error;
use crate::{Engine, SqlStore};

/// Every table a backup carries, in dependency order.
pub const TABLES: &[&str] = &[
    "categories",
    "sku_sequences",
    "suppliers",
    "locations",
    "products",
    "product_barcodes",
    "stock_limits",
    "stock_levels",
    "stock_transfers",
    "stock_movements",
    "users",
    "user_locations",
    "sessions",
    "api_keys",
    "audit_log",
    "audit_chain",
    "idempotency_keys",
    "product_cost_history",
    "shifts",
    "sales",
    "sale_lines",
    "sale_payments",
    "sale_returns",
    "sale_return_lines",
    "purchase_orders",
    "purchase_order_lines",
    "receipts",
    "receipt_lines",
    "price_rules",
    "price_history",
    "inflation_rates",
    "price_updates",
    "supplier_item_mappings",
    "label_prints",
    "invoice_scan_jobs",
    "supplier_invoices",
    "supplier_product_codes",
];

/// Columns whose content is hashed per table: the ledger, the projection and what prices it.
const CHECKSUMS: &[(&str, &str)] = &[
    (
        "stock_movements",
        "id, product_id, location_id, lot, kind, quantity, before_qty, after_qty, unit_cost, created_at",
    ),
    ("stock_levels", "product_id, location_id, lot, on_hand"),
    ("products", "id, sku, cost, price, vat_bp"),
    ("sales", "id, shift_id, total, paid, change_given"),
];

impl Engine {
    /// The newest migration this binary knows for the engine.
    pub fn latest_migration(self) -> i64 {
        self.migrator().iter().map(|m| m.version).max().unwrap_or(0)
    }
}

impl SqlStore {
    /// A transactionally consistent copy of an SQLite database, taken while it is in use.
    pub async fn sqlite_copy_to(&self, target: &Path) -> Result<()> {
        if self.engine != Engine::Sqlite {
            return Err(Error::internal(
                "la copia en línea de SQLite no aplica a PostgreSQL",
            ));
        }
        let path = target.to_string_lossy().replace('\'', "''");
        self.pool
            .execute(AssertSqlSafe(format!("VACUUM INTO '{path}'")))
            .await
            .map_err(db_error)?;
        Ok(())
    }

    pub async fn row_counts(&self) -> Result<BTreeMap<String, i64>> {
        let mut out = BTreeMap::new();
        for t in TABLES {
            let n: i64 = sqlx::query_scalar(AssertSqlSafe(format!("SELECT COUNT(*) FROM {t}")))
                .fetch_one(&self.pool)
                .await
                .map_err(db_error)?;
            out.insert((*t).to_owned(), n);
        }
        Ok(out)
    }

    /// SHA-256 of the key columns of the ledger and the tables that value it, row by row in key order.
    pub async fn content_checksums(&self) -> Result<BTreeMap<String, String>> {
        let mut out = BTreeMap::new();
        for (table, cols) in CHECKSUMS {
            // Every column is cast to text so both engines hash the same bytes.
            let concat = cols
                .split(", ")
                .map(|c| format!("COALESCE(CAST({c} AS TEXT), '')"))
                .collect::<Vec<_>>()
                .join(" || '|' || ");
            let order = cols.split(", ").next().unwrap_or("1");
            let order = if *table == "stock_levels" {
                "product_id, location_id, lot"
            } else {
                order
            };
            let rows: Vec<String> = sqlx::query_scalar(AssertSqlSafe(format!(
                "SELECT {concat} FROM {table} ORDER BY {order}"
            )))
            .fetch_all(&self.pool)
            .await
            .map_err(db_error)?;
            let mut h = Sha256::new();
            for r in rows {
                h.update(r.as_bytes());
                h.update(b"\n");
            }
            out.insert((*table).to_owned(), hex::encode(h.finalize()));
        }
        Ok(out)
    }

    /// The newest migration applied to this database.
    pub async fn schema_version(&self) -> Result<i64> {
        sqlx::query_scalar(
            "SELECT CAST(COALESCE(MAX(version), 0) AS BIGINT) FROM _sqlx_migrations WHERE success",
        )
        .fetch_one(&self.pool)
        .await
        .map_err(db_error)
    }

    /// Whether the database holds no almacen tables yet (a safe restore target).
    pub async fn is_empty(&self) -> Result<bool> {
        let sql = match self.engine {
            Engine::Sqlite => {
                "SELECT COUNT(*) FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'"
            }
            Engine::Postgres => {
                "SELECT COUNT(*) FROM information_schema.tables WHERE table_schema = 'public'"
            }
        };
        let n: i64 = sqlx::query_scalar(sql)
            .fetch_one(&self.pool)
            .await
            .map_err(db_error)?;
        Ok(n == 0)
    }

    /// Remembers a finished backup so every node can export when the last one happened.
    pub async fn record_backup(&self, at: i64, bytes: i64, sha256: &str, path: &str) -> Result<()> {
        let (path, sha256) = (path.to_owned(), sha256.to_owned());
        self.write(std::sync::Arc::new(move |conn| {
            let (path, sha256) = (path.clone(), sha256.clone());
            Box::pin(async move {
                sqlx::query("INSERT INTO backup_runs (created_at, bytes, sha256, path) VALUES ($1, $2, $3, $4)")
                    .bind(at)
                    .bind(bytes)
                    .bind(sha256)
                    .bind(path)
                    .execute(&mut *conn)
                    .await
                    .map_err(db_error)?;
                Ok(())
            })
        }))
        .await
    }

    /// (time, bytes) of the newest recorded backup.
    pub async fn last_backup(&self) -> Result<Option<(i64, i64)>> {
        sqlx::query_as("SELECT created_at, bytes FROM backup_runs ORDER BY id DESC LIMIT 1")
            .fetch_optional(&self.pool)
            .await
            .map_err(db_error)
    }
}

impl SqlStore {
    /// Loads `n` products (and their initial price history) in batched statements for the
    /// pricing benchmark: one category and two suppliers, half the products each. Returns the
    /// category id and the supplier ids.
    pub async fn seed_pricing_bench(&self, n: usize, now: i64) -> Result<(i64, i64, i64)> {
        let mut conn = self.pool.acquire().await.map_err(db_error)?;
        conn.execute("BEGIN").await.map_err(db_error)?;
        let category: i64 = sqlx::query_scalar(
            "INSERT INTO categories (name, sku_prefix) VALUES ('Bench', 'BEN') RETURNING id",
        )
        .fetch_one(&mut *conn)
        .await
        .map_err(db_error)?;
        let mut suppliers = Vec::new();
        for cuit in ["30500010912", "30999999999"] {
            let id: i64 = sqlx::query_scalar(
                "INSERT INTO suppliers (name, cuit, vat_condition, lead_time_days, created_at, updated_at) \
                 VALUES ($1, $2, 'responsable_inscripto', 7, $3, $3) RETURNING id",
            )
            .bind(format!("Proveedor {cuit}"))
            .bind(cuit)
            .bind(now)
            .fetch_one(&mut *conn)
            .await
            .map_err(db_error)?;
            suppliers.push(id);
        }
        const CHUNK: usize = 1_000;
        let mut i = 0;
        while i < n {
            let m = CHUNK.min(n - i);
            // $1 category, $2 now, $3/$4 the suppliers; then sku, name, cost, price per row.
            let values: Vec<String> = (0..m)
                .map(|k| {
                    let b = 5 + 4 * k;
                    let supplier = if (i + k) % 2 == 0 { "$3" } else { "$4" };
                    format!(
                        "(${b}, ${}, lower(${}), $1, '', 'unit', ${}, ${}, 2100, {supplier}, 1, $2, $2)",
                        b + 1,
                        b + 1,
                        b + 2,
                        b + 3
                    )
                })
                .collect();
            let sql = format!(
                "INSERT INTO products (sku, name, search_text, category_id, brand, unit, cost, price, vat_bp, supplier_id, active, created_at, updated_at) VALUES {}",
                values.join(", ")
            );
            let mut q = sqlx::query(AssertSqlSafe(sql))
                .bind(category)
                .bind(now)
                .bind(suppliers[0])
                .bind(suppliers[1]);
            for k in i..i + m {
                let cost = 10_000 + (k as i64 % 9_000) * 10;
                q = q
                    .bind(format!("BEN{k:07}"))
                    .bind(format!("Producto de prueba {k}"))
                    .bind(cost)
                    .bind(cost * 2);
            }
            q.execute(&mut *conn).await.map_err(db_error)?;
            i += m;
        }
        sqlx::query(
            "INSERT INTO price_history (product_id, price, cost, changed_at, actor, reason, source) \
             SELECT id, price, cost, created_at, 'sistema', 'precio inicial', 'initial' FROM products WHERE category_id = $1",
        )
        .bind(category)
        .execute(&mut *conn)
        .await
        .map_err(db_error)?;
        conn.execute("COMMIT").await.map_err(db_error)?;
        Ok((category, suppliers[0], suppliers[1]))
    }
}
