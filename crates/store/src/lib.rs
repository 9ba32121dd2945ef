//! The sqlx adapters behind `app::Store`: one SQL implementation over `sqlx::Any`, run on
//! SQLite (embedded, one writer with group commit) or PostgreSQL (pooled, guarded updates and
//! row locks in a fixed order). Engine differences live in [`Engine`] and the two migration folders.

mod access;
mod audit;
pub mod baseline;
mod catalog;
mod dashboard;
mod direct;
mod forecast;
mod idempotency;
mod invoices;
pub mod maintenance;
mod operations;
mod pricing;
mod purchasing;
mod reports;
mod rows;
mod sales;
mod statement;
mod stock;
mod writer;

use std::any::Any as StdAny;
use std::str::FromStr;
use std::sync::Arc;
use std::time::Duration;

use app::Result;
use futures_core::future::BoxFuture;
use sqlx::any::{AnyConnectOptions, AnyPoolOptions};
use sqlx::{AnyConnection, AnyPool, ConnectOptions, Connection, Executor};

pub use rows::db_error;

static SQLITE_MIGRATIONS: sqlx::migrate::Migrator = sqlx::migrate!("migrations/sqlite");
static POSTGRES_MIGRATIONS: sqlx::migrate::Migrator = sqlx::migrate!("migrations/postgres");

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Engine {
    Sqlite,
    Postgres,
}

impl Engine {
    pub fn from_url(url: &str) -> std::result::Result<Self, String> {
        if url.starts_with("sqlite:") {
            Ok(Engine::Sqlite)
        } else if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            Ok(Engine::Postgres)
        } else {
            Err(format!(
                "URL de base de datos no soportada: use sqlite://ARCHIVO o postgres://… (recibido «{url}»)"
            ))
        }
    }

    fn migrator(self) -> &'static sqlx::migrate::Migrator {
        match self {
            Engine::Sqlite => &SQLITE_MIGRATIONS,
            Engine::Postgres => &POSTGRES_MIGRATIONS,
        }
    }

    /// A subquery over a JSON array of integer tuples bound at `$param`, one column per name:
    /// lets a single statement carry thousands of rows without thousands of binds.
    pub(crate) fn int_rows(self, param: usize, cols: &[&str]) -> String {
        let pick = |i: usize, c: &str| match self {
            Engine::Sqlite => format!("CAST(json_extract(value, '$[{i}]') AS BIGINT) AS {c}"),
            Engine::Postgres => format!("(e ->> {i})::bigint AS {c}"),
        };
        let cols: Vec<String> = cols.iter().enumerate().map(|(i, c)| pick(i, c)).collect();
        match self {
            Engine::Sqlite => format!("(SELECT {} FROM json_each(${param}))", cols.join(", ")),
            Engine::Postgres => format!(
                "(SELECT {} FROM json_array_elements(${param}::json) AS e)",
                cols.join(", ")
            ),
        }
    }

    /// Row lock for reads that precede a guarded update; SQLite has one writer and needs none.
    pub(crate) fn for_update(self) -> &'static str {
        match self {
            Engine::Sqlite => "",
            Engine::Postgres => " FOR UPDATE",
        }
    }
}

#[derive(Clone, Debug)]
pub struct StoreOptions {
    pub max_connections: u32,
    /// How long a request waits for a connection before it fails with 503.
    pub acquire_timeout: Duration,
    /// Most write transactions the SQLite writer groups into one commit.
    pub group_commit_max: usize,
}

impl Default for StoreOptions {
    fn default() -> Self {
        StoreOptions {
            max_connections: 16,
            acquire_timeout: Duration::from_secs(5),
            group_commit_max: 256,
        }
    }
}

/// The one store: reads from a pool, writes through the engine's write path.
pub struct SqlStore {
    engine: Engine,
    pool: AnyPool,
    writer: Option<writer::GroupCommitWriter>,
    resolve_cache: stock::ResolveCache,
    known_keys: Option<idempotency::KnownKeys>,
    /// SQLite: checkpoints the WAL beside the writer, which never does.
    _checkpointer: Option<direct::Checkpointer>,
}

/// A unit of work run inside one write transaction; `Fn` because PostgreSQL may retry it.
pub(crate) type TxBody<T> =
    Arc<dyn for<'c> Fn(&'c mut AnyConnection) -> BoxFuture<'c, Result<T>> + Send + Sync>;

/// A unit of work for SQLite's direct connection; `Fn` because a failed group runs it again.
pub(crate) type DirectTxBody<T> = Arc<dyn Fn(&rusqlite::Connection) -> Result<T> + Send + Sync>;

fn unerase<T: 'static>(out: writer::Erased) -> Result<T> {
    out.downcast::<T>()
        .map(|b| *b)
        .map_err(|_| app::Error::internal("tipo de resultado inesperado del escritor"))
}

const SQLITE_PRAGMAS: &str = "PRAGMA journal_mode = WAL; PRAGMA synchronous = FULL; PRAGMA foreign_keys = ON; PRAGMA busy_timeout = 5000; PRAGMA cache_size = -65536; PRAGMA temp_store = MEMORY;";

impl SqlStore {
    /// Opens the database; `create` makes an SQLite file that does not exist yet.
    pub async fn open(url: &str, opts: StoreOptions) -> std::result::Result<SqlStore, String> {
        sqlx::any::install_default_drivers();
        let engine = Engine::from_url(url)?;
        let url = match engine {
            Engine::Sqlite if !url.contains("mode=") => {
                let sep = if url.contains('?') { '&' } else { '?' };
                format!("{url}{sep}mode=rwc")
            }
            _ => url.to_owned(),
        };
        let connect = AnyConnectOptions::from_str(&url)
            .map_err(|e| format!("URL de base de datos inválida: {e}"))?
            .disable_statement_logging();
        let pool = AnyPoolOptions::new()
            .max_connections(opts.max_connections)
            .min_connections(if engine == Engine::Sqlite { 1 } else { 0 })
            .acquire_timeout(opts.acquire_timeout)
            .after_connect(move |conn, _| {
                Box::pin(async move {
                    if engine == Engine::Sqlite {
                        conn.execute(SQLITE_PRAGMAS).await?;
                    }
                    Ok(())
                })
            })
            .connect_with(connect.clone())
            .await
            .map_err(|e| format!("no se pudo abrir la base de datos: {e}"))?;
        let mut checkpointer = None;
        let writer = match engine {
            Engine::Sqlite => {
                let mut conn = AnyConnection::connect_with(&connect)
                    .await
                    .map_err(|e| format!("no se pudo abrir la base de datos: {e}"))?;
                conn.execute(SQLITE_PRAGMAS)
                    .await
                    .map_err(|e| format!("no se pudo configurar SQLite: {e}"))?;
                conn.execute(direct::WRITER_PRAGMAS)
                    .await
                    .map_err(|e| format!("no se pudo configurar SQLite: {e}"))?;
                let direct = direct::open(&url)?;
                checkpointer = Some(direct::Checkpointer::start(&url)?);
                Some(
                    writer::GroupCommitWriter::start(conn, direct, opts.group_commit_max)
                        .map_err(|e| format!("no se pudo iniciar el escritor de SQLite: {e}"))?,
                )
            }
            Engine::Postgres => None,
        };
        Ok(SqlStore {
            engine,
            pool,
            writer,
            resolve_cache: stock::ResolveCache::default(),
            known_keys: (engine == Engine::Sqlite).then(idempotency::KnownKeys::default),
            _checkpointer: checkpointer,
        })
    }

    pub fn engine_kind(&self) -> Engine {
        self.engine
    }

    /// The read pool, for tools that need raw SQL (tests, backups).
    pub fn pool(&self) -> &AnyPool {
        &self.pool
    }

    pub async fn migrate(&self) -> std::result::Result<(), String> {
        self.engine
            .migrator()
            .run(&self.pool)
            .await
            .map_err(|e| format!("falló la migración: {e}"))
    }

    /// Runs `body` in one write transaction and returns its result once it is durable.
    pub(crate) async fn write<T: Send + 'static>(&self, body: TxBody<T>) -> Result<T> {
        match &self.writer {
            Some(w) => {
                let erased: writer::ErasedBody = Arc::new(move |conn| {
                    let body = body.clone();
                    Box::pin(async move {
                        body(conn)
                            .await
                            .map(|v| Box::new(v) as Box<dyn StdAny + Send>)
                    })
                });
                unerase(w.submit(writer::Work::Sqlx(erased)).await?)
            }
            None => self.write_pooled(body).await,
        }
    }

    /// SQLite only: runs `body` on the writer's direct connection (see [`direct`]).
    async fn write_direct<T: Send + 'static>(&self, body: DirectTxBody<T>) -> Result<T> {
        let w = self
            .writer
            .as_ref()
            .ok_or_else(|| app::Error::internal("escritura directa fuera de SQLite"))?;
        let erased: writer::DirectBody =
            Arc::new(move |conn| body(conn).map(|v| Box::new(v) as Box<dyn StdAny + Send>));
        unerase(w.submit(writer::Work::Direct(erased)).await?)
    }

    /// Like [`write`](Self::write) for requests that may carry an idempotency key: a repeated
    /// key returns the stored result without running `body`, which must call
    /// [`idempotency::record`] before it succeeds.
    pub(crate) async fn write_idempotent<T>(
        &self,
        meta: &app::WriteMeta,
        body: TxBody<T>,
    ) -> Result<app::Written<T>>
    where
        T: serde::Serialize + serde::de::DeserializeOwned + Send + 'static,
    {
        self.idempotently(meta, true, self.write(body)).await
    }

    /// For writes that record their idempotency key before anything can fail for business
    /// reasons: no lookup round trip first, since a repeated key's record conflicts with its
    /// twin's and the twin's result is then returned.
    pub(crate) async fn write_idempotent_recorded_first<T>(
        &self,
        meta: &app::WriteMeta,
        body: TxBody<T>,
    ) -> Result<app::Written<T>>
    where
        T: serde::Serialize + serde::de::DeserializeOwned + Send + 'static,
    {
        self.idempotently(meta, false, self.write(body)).await
    }

    /// [`write_idempotent`](Self::write_idempotent) on SQLite's direct connection.
    pub(crate) async fn write_idempotent_direct<T>(
        &self,
        meta: &app::WriteMeta,
        body: DirectTxBody<T>,
    ) -> Result<app::Written<T>>
    where
        T: serde::Serialize + serde::de::DeserializeOwned + Send + 'static,
    {
        self.idempotently(meta, true, self.write_direct(body)).await
    }

    /// The idempotency protocol around a write: replay a known key, run the write otherwise,
    /// and if a concurrent twin recorded the key first, answer with the twin's result.
    async fn idempotently<T>(
        &self,
        meta: &app::WriteMeta,
        lookup_first: bool,
        write: impl Future<Output = Result<T>>,
    ) -> Result<app::Written<T>>
    where
        T: serde::Serialize + serde::de::DeserializeOwned + Send + 'static,
    {
        let known = self.known_keys.as_ref();
        if lookup_first && let Some(done) = idempotency::lookup(&self.pool, known, meta).await? {
            return Ok(done);
        }
        match write.await {
            Ok(v) => {
                if let Some(k) = known {
                    k.remember(meta);
                }
                Ok(app::Written::fresh(v))
            }
            Err(e) if idempotency::is_race(&e) => idempotency::lookup(&self.pool, None, meta)
                .await?
                .ok_or_else(|| app::Error::internal("clave de idempotencia sin resultado")),
            Err(e) => Err(e),
        }
    }

    /// PostgreSQL: a short transaction per write, retried on deadlock or serialization failure.
    async fn write_pooled<T>(&self, body: TxBody<T>) -> Result<T> {
        let mut attempt = 0;
        loop {
            attempt += 1;
            let mut conn = self.pool.acquire().await.map_err(db_error)?;
            conn.execute("BEGIN").await.map_err(db_error)?;
            match body(&mut conn).await {
                Ok(v) => match conn.execute("COMMIT").await {
                    Ok(_) => return Ok(v),
                    Err(e) if rows::is_retryable(&e) && attempt < 5 => continue,
                    Err(e) => return Err(db_error(e)),
                },
                Err(e) => {
                    // A failed ROLLBACK leaves a broken connection; closing it keeps the pool clean.
                    if conn.execute("ROLLBACK").await.is_err() {
                        let _ = conn.detach().close().await;
                    }
                    if matches!(&e, app::Error::Unavailable(m) if m.contains(rows::RETRYABLE_MARK))
                        && attempt < 5
                    {
                        continue;
                    }
                    return Err(e);
                }
            }
        }
    }
}

#[async_trait::async_trait]
impl app::Store for SqlStore {
    fn engine(&self) -> &'static str {
        match self.engine {
            Engine::Sqlite => "sqlite",
            Engine::Postgres => "postgres",
        }
    }

    async fn ping(&self) -> Result<()> {
        self.pool.execute("SELECT 1").await.map_err(db_error)?;
        Ok(())
    }

    async fn pending_migrations(&self) -> Result<usize> {
        let applied: Vec<i64> = match sqlx::query_scalar::<_, i64>(
            "SELECT version FROM _sqlx_migrations WHERE success",
        )
        .fetch_all(&self.pool)
        .await
        {
            Ok(v) => v,
            Err(sqlx::Error::Database(_)) => Vec::new(),
            Err(e) => return Err(db_error(e)),
        };
        Ok(self
            .engine
            .migrator()
            .iter()
            .filter(|m| !applied.contains(&m.version))
            .count())
    }

    async fn create_supplier(
        &self,
        meta: &app::WriteMeta,
        new: app::catalog::NewSupplier,
    ) -> Result<app::Written<app::catalog::Supplier>> {
        catalog::create_supplier(self, meta, new).await
    }
    async fn get_supplier(&self, id: i64) -> Result<Option<app::catalog::Supplier>> {
        catalog::get_supplier(&self.pool, id).await
    }
    async fn list_suppliers(
        &self,
        page: app::page::PageRequest,
    ) -> Result<app::page::Page<app::catalog::Supplier>> {
        catalog::list_suppliers(&self.pool, page).await
    }
    async fn create_location(
        &self,
        meta: &app::WriteMeta,
        new: app::catalog::NewLocation,
    ) -> Result<app::Written<app::catalog::Location>> {
        catalog::create_location(self, meta, new).await
    }
    async fn get_location(&self, id: i64) -> Result<Option<app::catalog::Location>> {
        catalog::get_location(&self.pool, id).await
    }
    async fn list_locations(
        &self,
        page: app::page::PageRequest,
    ) -> Result<app::page::Page<app::catalog::Location>> {
        catalog::list_locations(&self.pool, page).await
    }
    async fn list_categories(&self) -> Result<Vec<app::catalog::Category>> {
        catalog::list_categories(&self.pool).await
    }
    async fn upsert_product(
        &self,
        meta: &app::WriteMeta,
        new: app::catalog::NewProduct,
        mode: app::catalog::UpsertMode,
    ) -> Result<app::Written<app::catalog::UpsertedProduct>> {
        let out = catalog::upsert_product(self, meta, new, mode).await;
        self.resolve_cache.forget_products();
        out
    }
    async fn set_product_active(
        &self,
        meta: &app::WriteMeta,
        id: i64,
        active: bool,
    ) -> Result<app::catalog::Product> {
        let out = catalog::set_product_active(self, meta, id, active).await;
        self.resolve_cache.forget_products();
        out
    }
    async fn get_product(&self, id: i64) -> Result<Option<app::catalog::Product>> {
        catalog::get_product(&self.pool, id).await
    }
    async fn search_products(
        &self,
        q: &app::catalog::ProductQuery,
        page: app::page::PageRequest,
    ) -> Result<app::page::Page<app::catalog::Product>> {
        catalog::search_products(&self.pool, q, page).await
    }

    async fn post_movements(
        &self,
        meta: &app::WriteMeta,
        lines: Vec<app::stock::MovementLine>,
    ) -> Result<app::Written<Vec<app::stock::Movement>>> {
        stock::post_movements(self, meta, lines).await
    }
    async fn post_transfer(
        &self,
        meta: &app::WriteMeta,
        req: app::stock::TransferRequest,
    ) -> Result<app::Written<Vec<app::stock::Movement>>> {
        stock::post_transfer(self, meta, req).await
    }
    async fn stock_levels(
        &self,
        product_id: Option<i64>,
        location: Option<&str>,
        page: app::page::PageRequest,
    ) -> Result<app::page::Page<app::stock::StockLevel>> {
        stock::stock_levels(&self.pool, product_id, location, page).await
    }
    async fn list_movements(
        &self,
        filter: &app::stock::MovementFilter,
        page: app::page::PageRequest,
    ) -> Result<app::page::Page<app::stock::Movement>> {
        stock::list_movements(&self.pool, filter, page).await
    }
    async fn product_stock(&self, product_id: i64) -> Result<Vec<app::stock::StockLevel>> {
        stock::product_stock(&self.pool, product_id).await
    }
    async fn product_movements(
        &self,
        product_id: i64,
        page: app::page::PageRequest,
    ) -> Result<app::page::Page<app::stock::Movement>> {
        stock::product_movements(&self.pool, product_id, page).await
    }
    async fn critical_rows(
        &self,
        location: Option<&str>,
        factor_permille: i64,
        window: Option<(i64, i64)>,
    ) -> Result<(i64, Vec<app::stock::StockLimitRow>)> {
        stock::critical_rows(&self.pool, location, factor_permille, window).await
    }
    async fn check_ledger(&self) -> Result<app::stock::LedgerReport> {
        stock::check_ledger(&self.pool).await
    }

    async fn create_user(
        &self,
        meta: &app::WriteMeta,
        new: app::auth::NewUser,
    ) -> Result<app::Written<app::auth::User>> {
        access::create_user(self, meta, new).await
    }
    async fn list_users(
        &self,
        page: app::page::PageRequest,
    ) -> Result<app::page::Page<app::auth::User>> {
        access::list_users(&self.pool, page).await
    }
    async fn credentials(&self, username: &str) -> Result<Option<app::auth::Credentials>> {
        access::credentials(&self.pool, username).await
    }
    async fn record_login_failure(
        &self,
        user_id: i64,
        lock_until: Option<i64>,
        now: i64,
    ) -> Result<()> {
        access::record_login_failure(self, user_id, lock_until, now).await
    }
    async fn create_session(
        &self,
        user_id: i64,
        token_hash: &str,
        now: i64,
        expires_at: i64,
    ) -> Result<()> {
        access::create_session(self, user_id, token_hash, now, expires_at).await
    }
    async fn session_owner(
        &self,
        token_hash: &str,
        now: i64,
    ) -> Result<Option<app::auth::TokenOwner>> {
        access::session_owner(&self.pool, token_hash, now).await
    }
    async fn revoke_session(&self, token_hash: &str, now: i64) -> Result<()> {
        access::revoke_session(self, token_hash, now).await
    }
    async fn create_api_key(
        &self,
        meta: &app::WriteMeta,
        name: &str,
        role: domain::auth::Role,
        prefix: &str,
        key_hash: &str,
    ) -> Result<app::Written<app::auth::ApiKey>> {
        access::create_api_key(self, meta, name, role, prefix, key_hash).await
    }
    async fn api_key_owner(&self, key_hash: &str) -> Result<Option<app::auth::TokenOwner>> {
        access::api_key_owner(&self.pool, key_hash).await
    }
    async fn list_api_keys(&self) -> Result<Vec<app::auth::ApiKey>> {
        access::list_api_keys(&self.pool).await
    }
    async fn revoke_api_key(&self, meta: &app::WriteMeta, id: i64) -> Result<()> {
        access::revoke_api_key(self, meta, id).await
    }
    async fn search_audit(
        &self,
        filter: &app::auth::AuditFilter,
        page: app::page::PageRequest,
    ) -> Result<app::page::Page<app::auth::AuditEntry>> {
        audit::search(&self.pool, filter, page).await
    }
    async fn list_audit(
        &self,
        page: app::page::PageRequest,
    ) -> Result<app::page::Page<app::auth::AuditEntry>> {
        audit::list(&self.pool, page).await
    }
    async fn seal_audit(&self, limit: i64) -> Result<u64> {
        audit::seal(self, limit).await
    }
    async fn audit_chain_head(&self) -> Result<(app::audit::ChainHead, i64)> {
        audit::chain_head(&self.pool).await
    }
    async fn audit_chain(
        &self,
        after_seq: i64,
        up_to_seq: i64,
        limit: i64,
    ) -> Result<Vec<app::audit::ChainEntry>> {
        audit::chain(&self.pool, after_seq, up_to_seq, limit).await
    }
    async fn open_shift(
        &self,
        meta: &app::WriteMeta,
        new: app::sales::NewShift,
    ) -> Result<app::Written<app::sales::Shift>> {
        sales::open_shift(self, meta, new).await
    }
    async fn close_shift(
        &self,
        meta: &app::WriteMeta,
        id: i64,
        counted: Vec<app::sales::MethodAmount>,
    ) -> Result<app::sales::Shift> {
        sales::close_shift(self, meta, id, counted).await
    }
    async fn get_shift(&self, id: i64) -> Result<Option<app::sales::Shift>> {
        sales::get_shift(&self.pool, id).await
    }
    async fn open_shift_at(&self, location: &str, till: &str) -> Result<Option<app::sales::Shift>> {
        sales::open_shift_at(&self.pool, location, till).await
    }
    async fn sale_item(&self, r: &app::sales::SaleItemRef) -> Result<Option<app::sales::SaleItem>> {
        sales::sale_item(self, r).await
    }
    async fn post_sale(
        &self,
        meta: &app::WriteMeta,
        new: app::sales::NewSale,
    ) -> Result<app::Written<app::sales::Sale>> {
        sales::post_sale(self, meta, new).await
    }
    async fn get_sale(&self, id: i64) -> Result<Option<app::sales::Sale>> {
        sales::get_sale(&self.pool, id).await
    }
    async fn post_return(
        &self,
        meta: &app::WriteMeta,
        new: app::sales::NewReturn,
    ) -> Result<app::Written<app::sales::SaleReturn>> {
        sales::post_return(self, meta, new).await
    }
    async fn create_purchase_order(
        &self,
        meta: &app::WriteMeta,
        new: app::purchasing::NewPurchaseOrder,
    ) -> Result<app::Written<app::purchasing::PurchaseOrder>> {
        purchasing::create_purchase_order(self, meta, new).await
    }
    async fn set_purchase_order_status(
        &self,
        meta: &app::WriteMeta,
        id: i64,
        to: domain::purchasing::PoStatus,
    ) -> Result<app::purchasing::PurchaseOrder> {
        purchasing::set_purchase_order_status(self, meta, id, to).await
    }
    async fn get_purchase_order(&self, id: i64) -> Result<Option<app::purchasing::PurchaseOrder>> {
        purchasing::get_purchase_order(&self.pool, id).await
    }
    async fn list_purchase_orders_by_status(
        &self,
        status: Option<domain::purchasing::PoStatus>,
        page: app::page::PageRequest,
    ) -> Result<app::page::Page<app::purchasing::PurchaseOrder>> {
        purchasing::list_purchase_orders_by_status(&self.pool, status, page).await
    }
    async fn list_purchase_orders(
        &self,
        page: app::page::PageRequest,
    ) -> Result<app::page::Page<app::purchasing::PurchaseOrder>> {
        purchasing::list_purchase_orders(&self.pool, page).await
    }
    async fn post_receipt(
        &self,
        meta: &app::WriteMeta,
        new: app::purchasing::NewReceipt,
    ) -> Result<app::Written<app::purchasing::Receipt>> {
        let out = purchasing::post_receipt(self, meta, new).await;
        // Receipts move average costs.
        self.resolve_cache.forget_products();
        out
    }
    async fn supplier_by_cuit(
        &self,
        cuit: &domain::Cuit,
    ) -> Result<Option<app::catalog::Supplier>> {
        invoices::supplier_by_cuit(&self.pool, cuit).await
    }
    async fn create_scan_job(
        &self,
        meta: &app::WriteMeta,
        file_kind: &str,
        file_bytes: i64,
    ) -> Result<app::Written<app::invoices::ScanJob>> {
        invoices::create_scan_job(self, meta, file_kind, file_bytes).await
    }
    async fn start_scan_job(&self, id: i64, _now: i64) -> Result<()> {
        invoices::start_scan_job(self, id).await
    }
    async fn finish_scan_job(
        &self,
        id: i64,
        invoice_id: Option<i64>,
        error: Option<app::invoices::JobError>,
        now: i64,
    ) -> Result<()> {
        invoices::finish_scan_job(self, id, invoice_id, error, now).await
    }
    async fn get_scan_job(&self, id: i64) -> Result<Option<app::invoices::ScanJob>> {
        invoices::get_scan_job(&self.pool, id).await
    }
    async fn create_invoice_draft(
        &self,
        meta: &app::WriteMeta,
        new: app::invoices::NewInvoiceDraft,
    ) -> Result<app::Written<app::invoices::SupplierInvoice>> {
        invoices::create_invoice_draft(self, meta, new).await
    }
    async fn list_supplier_invoices(
        &self,
        status: Option<&str>,
        page: app::page::PageRequest,
    ) -> Result<app::page::Page<app::invoices::SupplierInvoice>> {
        invoices::list_supplier_invoices(&self.pool, status, page).await
    }
    async fn save_scan_file(&self, job_id: i64, file_kind: &str, content: Vec<u8>) -> Result<()> {
        invoices::save_scan_file(self, job_id, file_kind, content).await
    }
    async fn invoice_file(
        &self,
        invoice_id: i64,
        page_image: bool,
    ) -> Result<Option<(String, Vec<u8>)>> {
        invoices::invoice_file(&self.pool, invoice_id, page_image).await
    }
    async fn get_supplier_invoice(
        &self,
        id: i64,
    ) -> Result<Option<app::invoices::SupplierInvoice>> {
        invoices::get_supplier_invoice(&self.pool, id).await
    }
    async fn update_invoice_draft(
        &self,
        meta: &app::WriteMeta,
        id: i64,
        data: domain::invoice::InvoiceData,
        matches: Vec<app::invoices::LineMatch>,
        correction: serde_json::Value,
    ) -> Result<app::invoices::SupplierInvoice> {
        invoices::update_invoice_draft(self, meta, id, data, matches, correction).await
    }
    async fn posted_invoice_id(
        &self,
        issuer: &domain::Cuit,
        voucher_code: u32,
        point_of_sale: u32,
        number: u32,
    ) -> Result<Option<i64>> {
        invoices::posted_invoice_id(&self.pool, issuer, voucher_code, point_of_sale, number).await
    }
    async fn post_supplier_invoice(
        &self,
        meta: &app::WriteMeta,
        posting: app::invoices::InvoicePosting,
    ) -> Result<app::Written<app::invoices::SupplierInvoice>> {
        let out = invoices::post_supplier_invoice(self, meta, posting).await;
        // Posting receives goods, which moves average costs.
        self.resolve_cache.forget_products();
        out
    }
    async fn remembered_product(&self, supplier_id: i64, key: &str) -> Result<Option<i64>> {
        invoices::remembered_product(&self.pool, supplier_id, key).await
    }
    async fn posted_invoices(
        &self,
        from: chrono::NaiveDate,
        to: chrono::NaiveDate,
    ) -> Result<Vec<app::invoices::PostedPurchase>> {
        invoices::posted_invoices(&self.pool, from, to).await
    }
    async fn sales_vat(
        &self,
        from_micros: i64,
        to_micros: i64,
    ) -> Result<Vec<app::invoices::SaleVatRow>> {
        invoices::sales_vat(&self.pool, from_micros, to_micros).await
    }
    async fn valued_stock(&self, at_micros: i64) -> Result<Vec<app::reports::ValuedStock>> {
        reports::valued_stock(&self.pool, at_micros).await
    }
    async fn sales_summary(
        &self,
        from_micros: i64,
        to_micros: i64,
        group: app::reports::SalesGrouping,
    ) -> Result<Vec<app::reports::SalesRow>> {
        reports::sales_summary(&self.pool, from_micros, to_micros, group).await
    }

    async fn list_price_rules(&self) -> Result<Vec<app::pricing::PriceRule>> {
        pricing::list_price_rules(&self.pool).await
    }
    async fn save_price_rule(
        &self,
        meta: &app::WriteMeta,
        new: app::pricing::NewPriceRule,
    ) -> Result<app::pricing::PriceRule> {
        pricing::save_price_rule(self, meta, new).await
    }
    async fn delete_price_rule(&self, meta: &app::WriteMeta, id: i64) -> Result<()> {
        pricing::delete_price_rule(self, meta, id).await
    }
    async fn price_history(
        &self,
        product_id: i64,
        page: app::page::PageRequest,
    ) -> Result<app::page::Page<app::pricing::PricePoint>> {
        pricing::price_history(&self.pool, product_id, page).await
    }
    async fn price_at(
        &self,
        product_id: i64,
        at_micros: i64,
    ) -> Result<Option<app::pricing::PricePoint>> {
        pricing::price_at(&self.pool, product_id, at_micros).await
    }
    async fn list_inflation_rates(&self) -> Result<Vec<app::pricing::InflationRate>> {
        pricing::list_inflation_rates(&self.pool).await
    }
    async fn save_inflation_rates(
        &self,
        meta: &app::WriteMeta,
        rates: Vec<app::pricing::NewInflationRate>,
    ) -> Result<Vec<app::pricing::InflationRate>> {
        pricing::save_inflation_rates(self, meta, rates).await
    }
    async fn pricing_snapshot(
        &self,
        selection: &app::pricing::Selection,
        with_history: bool,
    ) -> Result<app::pricing::PricingSnapshot> {
        pricing::pricing_snapshot(&self.pool, selection, with_history).await
    }
    async fn create_price_update(
        &self,
        meta: &app::WriteMeta,
        req: &app::pricing::PriceUpdateRequest,
        token: &str,
        lines: usize,
    ) -> Result<i64> {
        pricing::create_price_update(self, meta, req, token, lines).await
    }
    async fn apply_price_update(
        &self,
        meta: &app::WriteMeta,
        id: i64,
        token: &str,
    ) -> Result<app::pricing::PriceUpdateApplied> {
        let out = pricing::apply_price_update(self, meta, id, token, None).await;
        // Prices and costs moved.
        self.resolve_cache.forget_products();
        out
    }
    async fn supplier_match_data(
        &self,
        supplier_id: i64,
        barcodes: &[String],
        manual: &[app::price_lists::ItemMapping],
    ) -> Result<app::price_lists::MatchData> {
        pricing::supplier_match_data(&self.pool, supplier_id, barcodes, manual).await
    }
    async fn apply_supplier_list(
        &self,
        meta: &app::WriteMeta,
        update_id: i64,
        token: &str,
        supplier_id: i64,
        mappings: Vec<app::price_lists::ItemMapping>,
    ) -> Result<app::pricing::PriceUpdateApplied> {
        let remember = pricing::Remember {
            supplier_id,
            mappings,
        };
        let out = pricing::apply_price_update(self, meta, update_id, token, Some(remember)).await;
        self.resolve_cache.forget_products();
        out
    }
    async fn prices_changed_since_last_print(&self) -> Result<Vec<i64>> {
        pricing::prices_changed_since_last_print(&self.pool).await
    }
    async fn label_items(&self, product_ids: &[i64]) -> Result<Vec<app::labels::LabelItem>> {
        pricing::label_items(&self.pool, product_ids).await
    }
    async fn record_label_print(&self, meta: &app::WriteMeta, count: usize) -> Result<()> {
        pricing::record_label_print(self, meta, count).await
    }

    async fn raise_alert(&self, new: app::operations::NewAlert, now: i64) -> Result<Option<i64>> {
        operations::raise_alert(self, new, now).await
    }
    async fn resolve_alerts(&self, kind: &str, still_open: &[String], now: i64) -> Result<u64> {
        operations::resolve_alerts(self, kind, still_open, now).await
    }
    async fn list_alerts(
        &self,
        user_id: Option<i64>,
        unread_only: bool,
        page: app::page::PageRequest,
    ) -> Result<app::page::Page<app::operations::Alert>> {
        operations::list_alerts(&self.pool, user_id, unread_only, page).await
    }
    async fn mark_alert_read(&self, alert_id: i64, user_id: i64, now: i64) -> Result<()> {
        operations::mark_alert_read(self, alert_id, user_id, now).await
    }
    async fn expiring_lots(
        &self,
        until: chrono::NaiveDate,
    ) -> Result<Vec<app::operations::ExpiringLot>> {
        operations::expiring_lots(&self.pool, until).await
    }
    async fn claim_agent_run(
        &self,
        agent: &str,
        slot: i64,
        node: &str,
        now: i64,
    ) -> Result<Option<i64>> {
        operations::claim_agent_run(self, agent, slot, node, now).await
    }
    async fn finish_agent_run(&self, run_id: i64, ok: bool, detail: &str, now: i64) -> Result<()> {
        operations::finish_agent_run(self, run_id, ok, detail, now).await
    }
    async fn latest_agent_runs(&self) -> Result<Vec<app::operations::AgentRun>> {
        operations::latest_agent_runs(&self.pool).await
    }
    async fn hold_lease(
        &self,
        agent: &str,
        holder: &str,
        now: i64,
        ttl_micros: i64,
    ) -> Result<bool> {
        operations::hold_lease(self, agent, holder, now, ttl_micros).await
    }
    async fn due_outbox(&self, now: i64, limit: i64) -> Result<Vec<app::operations::OutboxEvent>> {
        operations::due_outbox(&self.pool, now, limit).await
    }
    async fn outbox_delivered(&self, ids: &[i64], now: i64) -> Result<()> {
        operations::outbox_delivered(self, ids, now).await
    }
    async fn outbox_failed(
        &self,
        id: i64,
        attempts: i64,
        next_attempt_at: i64,
        error: &str,
        dead: bool,
    ) -> Result<()> {
        operations::outbox_failed(self, id, attempts, next_attempt_at, error, dead).await
    }
    async fn list_outbox(
        &self,
        status: &str,
        page: app::page::PageRequest,
    ) -> Result<app::page::Page<app::operations::OutboxEvent>> {
        operations::list_outbox(&self.pool, status, page).await
    }
    async fn retry_outbox(&self, id: i64, now: i64) -> Result<bool> {
        operations::retry_outbox(self, id, now).await
    }
    async fn outbox_counts(&self) -> Result<(i64, i64)> {
        operations::outbox_counts(&self.pool).await
    }
    async fn cleanup(&self, now: i64, before: i64) -> Result<String> {
        operations::cleanup(self, now, before).await
    }

    async fn append_history(&self, lines: Vec<app::forecast::HistoryLine>) -> Result<u64> {
        forecast::append_history(self, lines).await
    }
    async fn product_daily_sales(
        &self,
        product_id: i64,
        from_micros: i64,
    ) -> Result<Vec<(String, i64, i64)>> {
        forecast::product_daily_sales(&self.pool, product_id, from_micros).await
    }
    async fn demand_history(
        &self,
        from_micros: i64,
    ) -> Result<(
        Vec<app::forecast::OpeningBalance>,
        Vec<app::forecast::DemandDay>,
    )> {
        forecast::demand_history(&self.pool, from_micros).await
    }
    async fn start_forecast_run(&self, new: app::forecast::NewForecastRun) -> Result<i64> {
        forecast::start_forecast_run(self, new).await
    }
    async fn finish_forecast_run(
        &self,
        run_id: i64,
        run: app::forecast::FinishedRun,
        now: i64,
    ) -> Result<()> {
        forecast::finish_forecast_run(self, run_id, run, now).await
    }
    async fn get_forecast_run(&self, run_id: i64) -> Result<Option<app::forecast::ForecastRun>> {
        forecast::get_forecast_run(&self.pool, run_id).await
    }
    async fn latest_forecast_run(&self) -> Result<Option<app::forecast::ForecastRun>> {
        forecast::latest_forecast_run(&self.pool).await
    }
    async fn forecast_series(
        &self,
        run_id: i64,
        product_id: i64,
    ) -> Result<Vec<app::forecast::StoredSeries>> {
        forecast::forecast_series(&self.pool, run_id, product_id).await
    }
    async fn replayed_purchase_order(
        &self,
        meta: &app::WriteMeta,
    ) -> Result<Option<app::Written<app::purchasing::PurchaseOrder>>> {
        idempotency::lookup(&self.pool, self.known_keys.as_ref(), meta).await
    }
    async fn replenishment_rows(
        &self,
        run_id: i64,
    ) -> Result<Vec<app::forecast::ReplenishmentRow>> {
        forecast::replenishment_rows(&self.pool, run_id).await
    }
    async fn refresh_sales_rollup(&self, settled_before: i64, now: i64) -> Result<(u64, u64)> {
        dashboard::refresh_sales_rollup(self, settled_before, now).await
    }
    async fn daily_sales(
        &self,
        from_day: i64,
        to_day: i64,
    ) -> Result<Vec<app::dashboard::DailySales>> {
        dashboard::daily_sales(self, from_day, to_day).await
    }
    async fn stock_value_now(&self) -> Result<Vec<(i64, i64)>> {
        dashboard::stock_value_now(self).await
    }
    async fn save_stock_snapshot(&self, rows: Vec<app::dashboard::StockSnapshotRow>) -> Result<()> {
        dashboard::save_stock_snapshot(self, rows).await
    }
    async fn stock_snapshot(&self) -> Result<Vec<app::dashboard::StockSnapshotRow>> {
        dashboard::stock_snapshot(self).await
    }
    async fn live_marks(&self) -> Result<app::dashboard::LiveMarks> {
        dashboard::live_marks(self).await
    }
}
