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
