//! The storage port: everything the use cases need from a database, one transaction per write.
//!
//! Every write takes a [`WriteMeta`]: it records the audit entry and, when an idempotency key
//! is present, stores the result so that a retry with the same key returns it unchanged.

use async_trait::async_trait;
use domain::auth::Role;

use crate::audit::{ChainEntry, ChainHead};
use crate::auth::{ApiKey, AuditEntry, Credentials, NewUser, TokenOwner, User};
use crate::catalog::{
    Category, Location, NewLocation, NewProduct, NewSupplier, Product, ProductQuery, Supplier,
    UpsertMode, UpsertedProduct,
};
use crate::error::Result;
use crate::forecast::{
    DemandDay, FinishedRun, ForecastRun, HistoryLine, NewForecastRun, OpeningBalance,
    ReplenishmentRow, StoredSeries,
};
use crate::invoices::{
    InvoicePosting, JobError, LineMatch, NewInvoiceDraft, PostedPurchase, SaleVatRow, ScanJob,
    SupplierInvoice,
};
use crate::operations::{AgentRun, Alert, ExpiringLot, NewAlert, OutboxEvent};
use crate::page::{Page, PageRequest};
use crate::price_lists::{ItemMapping, MatchData};
use crate::pricing::{
    InflationRate, NewInflationRate, NewPriceRule, PricePoint, PriceRule, PriceUpdateApplied,
    PriceUpdateRequest, PricingSnapshot, Selection,
};
use crate::purchasing::{NewPurchaseOrder, NewReceipt, PurchaseOrder, Receipt};
use crate::reports::{SalesGrouping, SalesRow, ValuedStock};
use crate::sales::{
    MethodAmount, NewReturn, NewSale, NewShift, Sale, SaleItem, SaleItemRef, SaleReturn, Shift,
};
use crate::stock::{
    LedgerReport, Movement, MovementFilter, MovementLine, StockLevel, StockLimitRow,
    TransferRequest,
};
use crate::write::{WriteMeta, Written};
use domain::purchasing::PoStatus;

#[async_trait]
pub trait Store: Send + Sync + 'static {
    /// Which engine this is, for logs and health output.
    fn engine(&self) -> &'static str;
    /// Cheap round trip used by readiness.
    async fn ping(&self) -> Result<()>;
    /// Migrations known to the binary but not yet applied.
    async fn pending_migrations(&self) -> Result<usize>;

    // catalogue
    async fn create_supplier(
        &self,
        meta: &WriteMeta,
        new: NewSupplier,
    ) -> Result<Written<Supplier>>;
    async fn get_supplier(&self, id: i64) -> Result<Option<Supplier>>;
    async fn list_suppliers(&self, page: PageRequest) -> Result<Page<Supplier>>;
    async fn create_location(
        &self,
        meta: &WriteMeta,
        new: NewLocation,
    ) -> Result<Written<Location>>;
    async fn get_location(&self, id: i64) -> Result<Option<Location>>;
    async fn list_locations(&self, page: PageRequest) -> Result<Page<Location>>;
    async fn list_categories(&self) -> Result<Vec<Category>>;
    async fn upsert_product(
        &self,
        meta: &WriteMeta,
        new: NewProduct,
        mode: UpsertMode,
    ) -> Result<Written<UpsertedProduct>>;
    async fn set_product_active(&self, meta: &WriteMeta, id: i64, active: bool) -> Result<Product>;
    async fn get_product(&self, id: i64) -> Result<Option<Product>>;
    async fn search_products(&self, q: &ProductQuery, page: PageRequest) -> Result<Page<Product>>;

    // stock ledger
    /// All lines or none; a line short of stock fails the batch with every shortage listed.
    async fn post_movements(
        &self,
        meta: &WriteMeta,
        lines: Vec<MovementLine>,
    ) -> Result<Written<Vec<Movement>>>;
    async fn post_transfer(
        &self,
        meta: &WriteMeta,
        req: TransferRequest,
    ) -> Result<Written<Vec<Movement>>>;
    async fn stock_levels(
        &self,
        product_id: Option<i64>,
        location: Option<&str>,
        page: PageRequest,
    ) -> Result<Page<StockLevel>>;
    async fn list_movements(
        &self,
        filter: &MovementFilter,
        page: PageRequest,
    ) -> Result<Page<Movement>>;
    /// Every stock row (location × lot) of one product.
    async fn product_stock(&self, product_id: i64) -> Result<Vec<StockLevel>>;
    /// One product's movements, newest first, reading only that product's index entries.
    async fn product_movements(&self, product_id: i64, page: PageRequest)
    -> Result<Page<Movement>>;
    /// Critical rows at the given seasonal factor (per-mille), by deficit (largest first) then
    /// SKU, with how many there are in all; `window` is (offset, limit) for one page.
    async fn critical_rows(
        &self,
        location: Option<&str>,
        factor_permille: i64,
        window: Option<(i64, i64)>,
    ) -> Result<(i64, Vec<StockLimitRow>)>;
    /// Replays the ledger and compares it with the on-hand projection.
    async fn check_ledger(&self) -> Result<LedgerReport>;

    // access
    async fn create_user(&self, meta: &WriteMeta, new: NewUser) -> Result<Written<User>>;
    async fn list_users(&self, page: PageRequest) -> Result<Page<User>>;
    async fn credentials(&self, username: &str) -> Result<Option<Credentials>>;
    async fn record_login_failure(
        &self,
        user_id: i64,
        lock_until: Option<i64>,
        now: i64,
    ) -> Result<()>;
    async fn create_session(
        &self,
        user_id: i64,
        token_hash: &str,
        now: i64,
        expires_at: i64,
    ) -> Result<()>;
    async fn session_owner(&self, token_hash: &str, now: i64) -> Result<Option<TokenOwner>>;
    async fn revoke_session(&self, token_hash: &str, now: i64) -> Result<()>;
    async fn create_api_key(
        &self,
        meta: &WriteMeta,
        name: &str,
        role: Role,
        prefix: &str,
        key_hash: &str,
    ) -> Result<Written<ApiKey>>;
    async fn api_key_owner(&self, key_hash: &str) -> Result<Option<TokenOwner>>;
    async fn list_api_keys(&self) -> Result<Vec<ApiKey>>;
    async fn revoke_api_key(&self, meta: &WriteMeta, id: i64) -> Result<()>;
    async fn list_audit(&self, page: PageRequest) -> Result<Page<AuditEntry>>;
    /// The audit log narrowed by actor, entity and action prefix, newest first.
    async fn search_audit(
        &self,
        filter: &crate::auth::AuditFilter,
        page: PageRequest,
    ) -> Result<Page<AuditEntry>>;
    /// Chains up to `limit` committed, unsealed audit entries in id order; returns how many.
    async fn seal_audit(&self, limit: i64) -> Result<u64>;
    /// The chain head and how many entries are not sealed yet.
    async fn audit_chain_head(&self) -> Result<(ChainHead, i64)>;
    /// Sealed entries with `after_seq < seq <= up_to_seq`, in `seq` order.
    async fn audit_chain(
        &self,
        after_seq: i64,
        up_to_seq: i64,
        limit: i64,
    ) -> Result<Vec<ChainEntry>>;

    // negocio: till
    async fn open_shift(&self, meta: &WriteMeta, new: NewShift) -> Result<Written<Shift>>;
    async fn close_shift(
        &self,
        meta: &WriteMeta,
        id: i64,
        counted: Vec<MethodAmount>,
    ) -> Result<Shift>;
    async fn get_shift(&self, id: i64) -> Result<Option<Shift>>;
    /// The open shift of a till at a location (by code), if any.
    async fn open_shift_at(&self, location: &str, till: &str) -> Result<Option<Shift>>;
    async fn sale_item(&self, r: &SaleItemRef) -> Result<Option<SaleItem>>;
    /// The ticket, its lines, sale movements (FEFO), lots and payments in one transaction.
    async fn post_sale(&self, meta: &WriteMeta, new: NewSale) -> Result<Written<Sale>>;
    async fn get_sale(&self, id: i64) -> Result<Option<Sale>>;
    async fn post_return(&self, meta: &WriteMeta, new: NewReturn) -> Result<Written<SaleReturn>>;

    // negocio: purchasing
    async fn create_purchase_order(
        &self,
        meta: &WriteMeta,
        new: NewPurchaseOrder,
    ) -> Result<Written<PurchaseOrder>>;
    async fn set_purchase_order_status(
        &self,
        meta: &WriteMeta,
        id: i64,
        to: PoStatus,
    ) -> Result<PurchaseOrder>;
    async fn get_purchase_order(&self, id: i64) -> Result<Option<PurchaseOrder>>;
    async fn list_purchase_orders(&self, page: PageRequest) -> Result<Page<PurchaseOrder>>;
    /// Orders newest first, optionally of one status, in a fixed number of statements.
    async fn list_purchase_orders_by_status(
        &self,
        status: Option<PoStatus>,
        page: PageRequest,
    ) -> Result<Page<PurchaseOrder>>;
    /// Receipt movements, order progress and weighted average cost in one transaction.
    async fn post_receipt(&self, meta: &WriteMeta, new: NewReceipt) -> Result<Written<Receipt>>;

    // supplier invoices
    async fn supplier_by_cuit(&self, cuit: &domain::Cuit) -> Result<Option<Supplier>>;
    async fn create_scan_job(
        &self,
        meta: &WriteMeta,
        file_kind: &str,
        file_bytes: i64,
    ) -> Result<Written<ScanJob>>;
    async fn start_scan_job(&self, id: i64, now: i64) -> Result<()>;
    async fn finish_scan_job(
        &self,
        id: i64,
        invoice_id: Option<i64>,
        error: Option<JobError>,
        now: i64,
    ) -> Result<()>;
    async fn get_scan_job(&self, id: i64) -> Result<Option<ScanJob>>;
    async fn create_invoice_draft(
        &self,
        meta: &WriteMeta,
        new: NewInvoiceDraft,
    ) -> Result<Written<SupplierInvoice>>;
    async fn get_supplier_invoice(&self, id: i64) -> Result<Option<SupplierInvoice>>;
    /// Invoices newest first, optionally of one status (draft, posted).
    async fn list_supplier_invoices(
        &self,
        status: Option<&str>,
        page: PageRequest,
    ) -> Result<Page<SupplierInvoice>>;
    /// Keeps the uploaded file of a scan job (shown on the review screen).
    async fn save_scan_file(&self, job_id: i64, file_kind: &str, content: Vec<u8>) -> Result<()>;
    /// The kind and bytes of the file an invoice was scanned from, or (`page_image`) of the
    /// page image the reader made of it.
    async fn invoice_file(
        &self,
        invoice_id: i64,
        page_image: bool,
    ) -> Result<Option<(String, Vec<u8>)>>;
    /// Replaces a draft's data and matches and appends the correction; refuses posted ones.
    async fn update_invoice_draft(
        &self,
        meta: &WriteMeta,
        id: i64,
        data: domain::invoice::InvoiceData,
        matches: Vec<LineMatch>,
        correction: serde_json::Value,
    ) -> Result<SupplierInvoice>;
    /// The posted invoice with this issuer, voucher code, point of sale and number.
    async fn posted_invoice_id(
        &self,
        issuer: &domain::Cuit,
        voucher_code: u32,
        point_of_sale: u32,
        number: u32,
    ) -> Result<Option<i64>>;
    /// Receipt (stock, cost, PO), invoice status and remembered mappings in one transaction;
    /// a duplicate voucher is a 409.
    async fn post_supplier_invoice(
        &self,
        meta: &WriteMeta,
        posting: InvoicePosting,
    ) -> Result<Written<SupplierInvoice>>;
    async fn remembered_product(&self, supplier_id: i64, key: &str) -> Result<Option<i64>>;
    /// Posted invoices issued in [from, to), by date then id, with the supplier's name.
    async fn posted_invoices(
        &self,
        from: chrono::NaiveDate,
        to: chrono::NaiveDate,
    ) -> Result<Vec<PostedPurchase>>;
    /// Completed tickets in [from, to) micros: IVA per rate, ordered by ticket.
    async fn sales_vat(&self, from_micros: i64, to_micros: i64) -> Result<Vec<SaleVatRow>>;

    // negocio: reports
    /// Quantity per product and location at the instant, with the cost in force then.
    async fn valued_stock(&self, at_micros: i64) -> Result<Vec<ValuedStock>>;
    async fn sales_summary(
        &self,
        from_micros: i64,
        to_micros: i64,
        group: SalesGrouping,
    ) -> Result<Vec<SalesRow>>;

    // pricing
    async fn list_price_rules(&self) -> Result<Vec<PriceRule>>;
    /// Creates or replaces the rule of (scope, target); an unknown target is refused.
    async fn save_price_rule(&self, meta: &WriteMeta, new: NewPriceRule) -> Result<PriceRule>;
    async fn delete_price_rule(&self, meta: &WriteMeta, id: i64) -> Result<()>;
    async fn price_history(&self, product_id: i64, page: PageRequest) -> Result<Page<PricePoint>>;
    /// The last price recorded at or before the instant.
    async fn price_at(&self, product_id: i64, at_micros: i64) -> Result<Option<PricePoint>>;
    async fn list_inflation_rates(&self) -> Result<Vec<InflationRate>>;
    /// Upserts the months given, all or none; returns them as stored.
    async fn save_inflation_rates(
        &self,
        meta: &WriteMeta,
        rates: Vec<NewInflationRate>,
    ) -> Result<Vec<InflationRate>>;
    /// The selected active products with the rules and rates a plan reads.
    async fn pricing_snapshot(
        &self,
        selection: &Selection,
        with_history: bool,
    ) -> Result<PricingSnapshot>;
    /// Records a previewed update and returns its id.
    async fn create_price_update(
        &self,
        meta: &WriteMeta,
        req: &PriceUpdateRequest,
        token: &str,
        lines: usize,
    ) -> Result<i64>;
    /// Re-plans inside one transaction; a token that no longer matches is a 409 (stale preview).
    async fn apply_price_update(
        &self,
        meta: &WriteMeta,
        id: i64,
        token: &str,
    ) -> Result<PriceUpdateApplied>;
    /// Barcode owners and the supplier's remembered items; manual mappings must name products.
    async fn supplier_match_data(
        &self,
        supplier_id: i64,
        barcodes: &[String],
        manual: &[ItemMapping],
    ) -> Result<MatchData>;
    /// Applies a supplier list's update and remembers its items, in one transaction.
    async fn apply_supplier_list(
        &self,
        meta: &WriteMeta,
        update_id: i64,
        token: &str,
        supplier_id: i64,
        mappings: Vec<ItemMapping>,
    ) -> Result<PriceUpdateApplied>;

    /// Active products whose price changed since the last recorded label print (all when none).
    async fn prices_changed_since_last_print(&self) -> Result<Vec<i64>>;
    async fn label_items(&self, product_ids: &[i64]) -> Result<Vec<crate::labels::LabelItem>>;
    async fn record_label_print(&self, meta: &WriteMeta, count: usize) -> Result<()>;

    // operación: alerts, agents, outbox
    /// `None` when an alert for the same subject is still open.
    async fn raise_alert(&self, new: NewAlert, now: i64) -> Result<Option<i64>>;
    /// Resolves the open alerts of `kind` whose subject is not in `still_open`; returns how many.
    async fn resolve_alerts(&self, kind: &str, still_open: &[String], now: i64) -> Result<u64>;
    async fn list_alerts(
        &self,
        user_id: Option<i64>,
        unread_only: bool,
        page: PageRequest,
    ) -> Result<Page<Alert>>;
    async fn mark_alert_read(&self, alert_id: i64, user_id: i64, now: i64) -> Result<()>;
    async fn expiring_lots(&self, until: chrono::NaiveDate) -> Result<Vec<ExpiringLot>>;
    /// Claims a scheduled slot; `None` when another node (or an earlier tick) already has it.
    async fn claim_agent_run(
        &self,
        agent: &str,
        slot: i64,
        node: &str,
        now: i64,
    ) -> Result<Option<i64>>;
    async fn finish_agent_run(&self, run_id: i64, ok: bool, detail: &str, now: i64) -> Result<()>;
    async fn latest_agent_runs(&self) -> Result<Vec<AgentRun>>;
    /// Takes or renews a lease for a continuous worker; false while another node holds it.
    async fn hold_lease(
        &self,
        agent: &str,
        holder: &str,
        now: i64,
        ttl_micros: i64,
    ) -> Result<bool>;
    async fn due_outbox(&self, now: i64, limit: i64) -> Result<Vec<OutboxEvent>>;
    async fn outbox_delivered(&self, ids: &[i64], now: i64) -> Result<()>;
    async fn outbox_failed(
        &self,
        id: i64,
        attempts: i64,
        next_attempt_at: i64,
        error: &str,
        dead: bool,
    ) -> Result<()>;
    async fn list_outbox(&self, status: &str, page: PageRequest) -> Result<Page<OutboxEvent>>;
    async fn retry_outbox(&self, id: i64, now: i64) -> Result<bool>;
    /// (pending, dead)
    async fn outbox_counts(&self) -> Result<(i64, i64)>;
    /// Deletes expired sessions, and delivered events and idempotency keys older than `before`.
    async fn cleanup(&self, now: i64, before: i64) -> Result<String>;

    // pronóstico
    /// Appends a block of past receipts and sales (lot-less) in one transaction, chaining
    /// each product × location's balance from its current on-hand, and updates the on-hand
    /// projection; fails whole if any balance would go negative. For demo and migration
    /// data, where posting one request per day would take minutes.
    async fn append_history(&self, lines: Vec<HistoryLine>) -> Result<u64>;
    /// Stock per product × location before `from_micros`, and per local day from then on the
    /// net ledger change and the units sold.
    async fn demand_history(
        &self,
        from_micros: i64,
    ) -> Result<(Vec<OpeningBalance>, Vec<DemandDay>)>;
    /// Units (milli) of one product sold per location and local day from `from_micros` on:
    /// (location code, day number since the epoch, sold).
    async fn product_daily_sales(
        &self,
        product_id: i64,
        from_micros: i64,
    ) -> Result<Vec<(String, i64, i64)>>;
    async fn start_forecast_run(&self, new: NewForecastRun) -> Result<i64>;
    /// Writes the run's series and marks it done (or failed) in one transaction.
    async fn finish_forecast_run(&self, run_id: i64, run: FinishedRun, now: i64) -> Result<()>;
    async fn get_forecast_run(&self, run_id: i64) -> Result<Option<ForecastRun>>;
    /// The most recent run that finished successfully.
    async fn latest_forecast_run(&self) -> Result<Option<ForecastRun>>;
    async fn forecast_series(&self, run_id: i64, product_id: i64) -> Result<Vec<StoredSeries>>;
    /// The order an earlier request with the same idempotency key created, if any (so a retry
    /// of "order the suggestions" returns it even though nothing is left to suggest).
    async fn replayed_purchase_order(
        &self,
        meta: &WriteMeta,
    ) -> Result<Option<Written<PurchaseOrder>>>;
    /// Every series of the run with its product, supplier, stock and open orders.
    async fn replenishment_rows(&self, run_id: i64) -> Result<Vec<ReplenishmentRow>>;

    // ---- tablero
    /// Folds tickets created before `settled_before` and returns into `sales_daily`, moving
    /// the watermarks; returns how many tickets and returns were folded.
    async fn refresh_sales_rollup(&self, settled_before: i64, now: i64) -> Result<(u64, u64)>;
    /// Rollup rows plus the live tail after the watermarks, for shop days `from_day..to_day`.
    async fn daily_sales(
        &self,
        from_day: i64,
        to_day: i64,
    ) -> Result<Vec<crate::dashboard::DailySales>>;
    /// Stock value at current cost per location id, in centavos.
    async fn stock_value_now(&self) -> Result<Vec<(i64, i64)>>;
    async fn save_stock_snapshot(
        &self,
        rows: Vec<crate::dashboard::StockSnapshotRow>,
    ) -> Result<()>;
    async fn stock_snapshot(&self) -> Result<Vec<crate::dashboard::StockSnapshotRow>>;
    async fn live_marks(&self) -> Result<crate::dashboard::LiveMarks>;
}
