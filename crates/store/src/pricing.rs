//! Pricing storage: markup rules, price history, inflation rates, and bulk price updates whose
//! apply re-plans inside its transaction and writes set-based (a few batched statements, not a
//! round trip per product).

use std::sync::Arc;

use app::page::{Page, PageRequest};
use app::price_lists::{ItemMapping, MatchData};
use app::pricing::{
    CandidateRow, InflationRate, NewInflationRate, NewPriceRule, PlanLine, PricePoint, PriceRule,
    PriceUpdateApplied, PriceUpdateRequest, PricingSnapshot, Selection, plan, plan_token,
    shop_date,
};
use app::{Error, Result, WriteMeta};
use domain::Money;
use domain::catalog::UnitOfMeasure;
use domain::pricing::{MonthlyRate, Percent, Rounding, RuleScope};
use sqlx::any::AnyRow;
use sqlx::{AnyConnection, AnyPool, AssertSqlSafe};

use crate::audit::{self, Change};
use crate::rows::{db_error, get, instant, parsed, placeholders, vat_from_bp};
use crate::{Engine, SqlStore};

/// Rows per batched statement: far below both engines' bind limits.
const BATCH: usize = 1_000;

// ---------------------------------------------------------------- rules

const RULE_SELECT: &str = "SELECT id, scope, target_id, markup_bp, min_margin_bp, rounding, updated_by, updated_at FROM price_rules";

fn rule_from(r: &AnyRow) -> Result<PriceRule> {
    let scope: String = get(r, "scope")?;
    let rounding: Option<String> = get(r, "rounding")?;
    Ok(PriceRule {
        id: get(r, "id")?,
        scope: RuleScope::parse(&scope)
            .ok_or_else(|| Error::internal(format!("alcance desconocido {scope}")))?,
        target_id: get(r, "target_id")?,
        markup: get::<Option<i64>>(r, "markup_bp")?.map(Percent::from_bp),
        min_margin: get::<Option<i64>>(r, "min_margin_bp")?.map(Percent::from_bp),
        rounding: rounding
            .map(|s| parsed("rounding", Rounding::parse(&s)))
            .transpose()?,
        updated_by: get(r, "updated_by")?,
        updated_at: instant(get(r, "updated_at")?),
    })
}

async fn load_rules(conn: &mut AnyConnection) -> Result<Vec<PriceRule>> {
    sqlx::query(AssertSqlSafe(format!(
        "{RULE_SELECT} ORDER BY scope, target_id"
    )))
    .fetch_all(&mut *conn)
    .await
    .map_err(db_error)?
    .iter()
    .map(rule_from)
    .collect()
}

pub(crate) async fn list_price_rules(pool: &AnyPool) -> Result<Vec<PriceRule>> {
    let mut conn = pool.acquire().await.map_err(db_error)?;
    load_rules(&mut conn).await
}

async fn exists(conn: &mut AnyConnection, table: &str, id: i64) -> Result<bool> {
    let found: Option<i64> = sqlx::query_scalar(AssertSqlSafe(format!(
        "SELECT id FROM {table} WHERE id = $1"
    )))
    .bind(id)
    .fetch_optional(&mut *conn)
    .await
    .map_err(db_error)?;
    Ok(found.is_some())
}

pub(crate) async fn save_price_rule(
    store: &SqlStore,
    meta: &WriteMeta,
    new: NewPriceRule,
) -> Result<PriceRule> {
    let meta = meta.clone();
    store
        .write(Arc::new(move |conn| {
            let (meta, new) = (meta.clone(), new.clone());
            Box::pin(async move {
                let (table, what) = match new.scope {
                    RuleScope::Category => ("categories", "la categoría"),
                    RuleScope::Supplier => ("suppliers", "el proveedor"),
                    RuleScope::Product => ("products", "el producto"),
                };
                if !exists(conn, table, new.target_id).await? {
                    return Err(Error::unknown(
                        "target_id",
                        format!("{what} {} no existe", new.target_id),
                    ));
                }
                let before = sqlx::query(AssertSqlSafe(format!(
                    "{RULE_SELECT} WHERE scope = $1 AND target_id = $2"
                )))
                .bind(new.scope.as_str())
                .bind(new.target_id)
                .fetch_optional(&mut *conn)
                .await
                .map_err(db_error)?
                .map(|r| rule_from(&r))
                .transpose()?;
                let id: i64 = sqlx::query_scalar(
                    "INSERT INTO price_rules (scope, target_id, markup_bp, min_margin_bp, rounding, updated_by, updated_at) \
                     VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT (scope, target_id) DO UPDATE SET \
                     markup_bp = excluded.markup_bp, min_margin_bp = excluded.min_margin_bp, rounding = excluded.rounding, \
                     updated_by = excluded.updated_by, updated_at = excluded.updated_at RETURNING id",
                )
                .bind(new.scope.as_str())
                .bind(new.target_id)
                .bind(new.markup.map(Percent::bp))
                .bind(new.min_margin.map(Percent::bp))
                .bind(new.rounding.map(|r| r.as_str()))
                .bind(&meta.actor.label)
                .bind(meta.now)
                .fetch_one(&mut *conn)
                .await
                .map_err(db_error)?;
                let rule = rule_from(
                    &sqlx::query(AssertSqlSafe(format!("{RULE_SELECT} WHERE id = $1")))
                        .bind(id)
                        .fetch_one(&mut *conn)
                        .await
                        .map_err(db_error)?,
                )?;
                audit::record(
                    conn,
                    &meta,
                    Change {
                        action: "price_rule.save",
                        entity: "price_rule",
                        entity_id: Some(id.to_string()),
                        before: before.as_ref(),
                        after: Some(&rule),
                    },
                )
                .await?;
                Ok(rule)
            })
        }))
        .await
}

pub(crate) async fn delete_price_rule(store: &SqlStore, meta: &WriteMeta, id: i64) -> Result<()> {
    let meta = meta.clone();
    store
        .write(Arc::new(move |conn| {
            let meta = meta.clone();
            Box::pin(async move {
                let before = sqlx::query(AssertSqlSafe(format!("{RULE_SELECT} WHERE id = $1")))
                    .bind(id)
                    .fetch_optional(&mut *conn)
                    .await
                    .map_err(db_error)?
                    .map(|r| rule_from(&r))
                    .transpose()?
                    .ok_or_else(|| Error::NotFound {
                        entity: "regla de precios",
                        key: id.to_string(),
                    })?;
                sqlx::query("DELETE FROM price_rules WHERE id = $1")
                    .bind(id)
                    .execute(&mut *conn)
                    .await
                    .map_err(db_error)?;
                audit::record::<PriceRule, PriceRule>(
                    conn,
                    &meta,
                    Change {
                        action: "price_rule.delete",
                        entity: "price_rule",
                        entity_id: Some(id.to_string()),
                        before: Some(&before),
                        after: None,
                    },
                )
                .await
            })
        }))
        .await
}

// ---------------------------------------------------------------- history

const POINT_SELECT: &str = "SELECT id, product_id, price, cost, changed_at, actor, reason, source, update_id FROM price_history";

fn point_from(r: &AnyRow) -> Result<PricePoint> {
    Ok(PricePoint {
        id: get(r, "id")?,
        product_id: get(r, "product_id")?,
        price: Money::from_minor(get(r, "price")?),
        cost: Money::from_minor(get(r, "cost")?),
        changed_at: instant(get(r, "changed_at")?),
        actor: get(r, "actor")?,
        reason: get(r, "reason")?,
        source: get(r, "source")?,
        update_id: get(r, "update_id")?,
    })
}

pub(crate) async fn price_history(
    pool: &AnyPool,
    product_id: i64,
    page: PageRequest,
) -> Result<Page<PricePoint>> {
    // Newest first: the cursor is the last id seen.
    let rows = sqlx::query(AssertSqlSafe(format!(
        "{POINT_SELECT} WHERE product_id = $1 AND ($2 = 0 OR id < $2) ORDER BY id DESC LIMIT $3"
    )))
    .bind(product_id)
    .bind(page.after)
    .bind(page.fetch_limit())
    .fetch_all(pool)
    .await
    .map_err(db_error)?;
    let items = rows.iter().map(point_from).collect::<Result<Vec<_>>>()?;
    Ok(Page::from_rows(items, page, |p| p.id))
}

pub(crate) async fn price_at(
    pool: &AnyPool,
    product_id: i64,
    at: i64,
) -> Result<Option<PricePoint>> {
    sqlx::query(AssertSqlSafe(format!(
        "{POINT_SELECT} WHERE product_id = $1 AND changed_at <= $2 ORDER BY changed_at DESC, id DESC LIMIT 1"
    )))
    .bind(product_id)
    .bind(at)
    .fetch_optional(pool)
    .await
    .map_err(db_error)?
    .map(|r| point_from(&r))
    .transpose()
}

/// Records one product's new price (and the cost it was set on) in its history.
pub(crate) async fn record_price(
    conn: &mut AnyConnection,
    meta: &WriteMeta,
    product_id: i64,
    price: Money,
    cost: Money,
    reason: &str,
    source: &str,
) -> Result<()> {
    sqlx::query(
        "INSERT INTO price_history (product_id, price, cost, changed_at, actor, reason, source) VALUES ($1, $2, $3, $4, $5, $6, $7)",
    )
    .bind(product_id)
    .bind(price.minor())
    .bind(cost.minor())
    .bind(meta.now)
    .bind(&meta.actor.label)
    .bind(reason)
    .bind(source)
    .execute(&mut *conn)
    .await
    .map_err(db_error)?;
    Ok(())
}

// ---------------------------------------------------------------- inflation

fn rate_from(r: &AnyRow) -> Result<InflationRate> {
    Ok(InflationRate {
        month: get(r, "month")?,
        rate: parsed("rate_ppm", MonthlyRate::from_ppm(get(r, "rate_ppm")?))?,
        source: get(r, "source")?,
        updated_by: get(r, "updated_by")?,
        updated_at: instant(get(r, "updated_at")?),
    })
}

async fn load_rates(conn: &mut AnyConnection) -> Result<Vec<InflationRate>> {
    sqlx::query("SELECT month, rate_ppm, source, updated_by, updated_at FROM inflation_rates ORDER BY month")
        .fetch_all(&mut *conn)
        .await
        .map_err(db_error)?
        .iter()
        .map(rate_from)
        .collect()
}

pub(crate) async fn list_inflation_rates(pool: &AnyPool) -> Result<Vec<InflationRate>> {
    let mut conn = pool.acquire().await.map_err(db_error)?;
    load_rates(&mut conn).await
}

pub(crate) async fn save_inflation_rates(
    store: &SqlStore,
    meta: &WriteMeta,
    rates: Vec<NewInflationRate>,
) -> Result<Vec<InflationRate>> {
    let meta = meta.clone();
    let rates = Arc::new(rates);
    store
        .write(Arc::new(move |conn| {
            let (meta, rates) = (meta.clone(), rates.clone());
            Box::pin(async move {
                for r in rates.iter() {
                    sqlx::query(
                        "INSERT INTO inflation_rates (month, rate_ppm, source, updated_by, updated_at) VALUES ($1, $2, $3, $4, $5) \
                         ON CONFLICT (month) DO UPDATE SET rate_ppm = excluded.rate_ppm, source = excluded.source, \
                         updated_by = excluded.updated_by, updated_at = excluded.updated_at",
                    )
                    .bind(&r.month)
                    .bind(r.rate.ppm())
                    .bind(&r.source)
                    .bind(&meta.actor.label)
                    .bind(meta.now)
                    .execute(&mut *conn)
                    .await
                    .map_err(db_error)?;
                }
                let all = load_rates(conn).await?;
                let saved: Vec<InflationRate> = all
                    .into_iter()
                    .filter(|s| rates.iter().any(|r| r.month == s.month))
                    .collect();
                audit::record::<(), _>(
                    conn,
                    &meta,
                    Change {
                        action: "inflation_rate.save",
                        entity: "inflation_rate",
                        entity_id: None,
                        before: None,
                        after: Some(&saved),
                    },
                )
                .await?;
                Ok(saved)
            })
        }))
        .await
}

// ---------------------------------------------------------------- snapshots

const CANDIDATE_SELECT: &str = "SELECT p.id, p.sku, p.name, p.category_id, p.supplier_id, p.unit, p.cost, p.price, p.vat_bp, p.created_at FROM products p";

fn candidate_from(r: &AnyRow) -> Result<CandidateRow> {
    Ok(CandidateRow {
        product_id: get(r, "id")?,
        sku: get(r, "sku")?,
        name: get(r, "name")?,
        category_id: get(r, "category_id")?,
        supplier_id: get(r, "supplier_id")?,
        unit: parsed("unit", UnitOfMeasure::parse(&get::<String>(r, "unit")?))?,
        cost: Money::from_minor(get(r, "cost")?),
        price: Money::from_minor(get(r, "price")?),
        vat: vat_from_bp(get(r, "vat_bp")?)?,
        last_change: get(r, "created_at")?,
    })
}

/// The selected active products, rules and rates, read on one connection. Inside the apply
/// transaction `lock` is the engine's row lock, so no product changes between plan and write.
pub(crate) async fn load_snapshot(
    conn: &mut AnyConnection,
    sel: &Selection,
    with_history: bool,
    lock: &str,
) -> Result<PricingSnapshot> {
    if let Some(s) = sel.supplier_id
        && !exists(conn, "suppliers", s).await?
    {
        return Err(Error::unknown(
            "supplier_id",
            format!("el proveedor {s} no existe"),
        ));
    }
    if let Some(c) = sel.category_id
        && !exists(conn, "categories", c).await?
    {
        return Err(Error::unknown(
            "category_id",
            format!("la categoría {c} no existe"),
        ));
    }
    let mut filters = vec!["p.active = 1".to_owned()];
    let mut binds: Vec<i64> = Vec::new();
    if let Some(s) = sel.supplier_id {
        binds.push(s);
        filters.push(format!("p.supplier_id = ${}", binds.len()));
    }
    if let Some(c) = sel.category_id {
        binds.push(c);
        filters.push(format!("p.category_id = ${}", binds.len()));
    }
    let mut rows = Vec::new();
    match &sel.product_ids {
        None => {
            let sql = format!(
                "{CANDIDATE_SELECT} WHERE {} ORDER BY p.id{lock}",
                filters.join(" AND ")
            );
            let mut q = sqlx::query(AssertSqlSafe(sql));
            for b in &binds {
                q = q.bind(*b);
            }
            for r in q.fetch_all(&mut *conn).await.map_err(db_error)? {
                rows.push(candidate_from(&r)?);
            }
        }
        Some(ids) => {
            let mut sorted = ids.clone();
            sorted.sort_unstable();
            sorted.dedup();
            for chunk in sorted.chunks(BATCH) {
                let sql = format!(
                    "{CANDIDATE_SELECT} WHERE {} AND p.id IN ({}) ORDER BY p.id{lock}",
                    filters.join(" AND "),
                    placeholders(binds.len() + 1, chunk.len())
                );
                let mut q = sqlx::query(AssertSqlSafe(sql));
                for b in binds.iter().chain(chunk) {
                    q = q.bind(*b);
                }
                for r in q.fetch_all(&mut *conn).await.map_err(db_error)? {
                    rows.push(candidate_from(&r)?);
                }
            }
            if sel.supplier_id.is_none() && sel.category_id.is_none() && rows.len() < sorted.len() {
                let found: std::collections::HashSet<i64> =
                    rows.iter().map(|r| r.product_id).collect();
                if let Some(pos) = ids.iter().position(|id| !found.contains(id)) {
                    return Err(Error::unknown(
                        format!("product_ids[{pos}]"),
                        format!("el producto {} no existe o está inactivo", ids[pos]),
                    ));
                }
            }
        }
    }
    if with_history && !rows.is_empty() {
        // Last price change per product: one grouped read, merged by id (both sorted).
        let last: Vec<(i64, i64)> = sqlx::query_as(
            "SELECT product_id, MAX(changed_at) FROM price_history GROUP BY product_id ORDER BY product_id",
        )
        .fetch_all(&mut *conn)
        .await
        .map_err(db_error)?;
        let mut it = last.into_iter().peekable();
        for row in rows.iter_mut() {
            while it.peek().is_some_and(|(id, _)| *id < row.product_id) {
                it.next();
            }
            if let Some((id, at)) = it.peek()
                && *id == row.product_id
            {
                row.last_change = *at;
            }
        }
    }
    let rules = load_rules(conn).await?;
    let rates = load_rates(conn)
        .await?
        .into_iter()
        .map(|r| (r.month, r.rate))
        .collect();
    Ok(PricingSnapshot { rows, rules, rates })
}

pub(crate) async fn pricing_snapshot(
    pool: &AnyPool,
    sel: &Selection,
    with_history: bool,
) -> Result<PricingSnapshot> {
    let mut conn = pool.acquire().await.map_err(db_error)?;
    load_snapshot(&mut conn, sel, with_history, "").await
}

// ---------------------------------------------------------------- bulk updates

pub(crate) async fn create_price_update(
    store: &SqlStore,
    meta: &WriteMeta,
    req: &PriceUpdateRequest,
    token: &str,
    lines: usize,
) -> Result<i64> {
    let json = serde_json::to_string(req).map_err(Error::internal)?;
    let (meta, token) = (meta.clone(), token.to_owned());
    let lines = i64::try_from(lines).unwrap_or(i64::MAX);
    store
        .write(Arc::new(move |conn| {
            let (meta, json, token) = (meta.clone(), json.clone(), token.clone());
            Box::pin(async move {
                sqlx::query_scalar(
                    "INSERT INTO price_updates (request_json, token, status, lines, created_by, created_at) \
                     VALUES ($1, $2, 'previewed', $3, $4, $5) RETURNING id",
                )
                .bind(&json)
                .bind(&token)
                .bind(lines)
                .bind(&meta.actor.label)
                .bind(meta.now)
                .fetch_one(&mut *conn)
                .await
                .map_err(db_error)
            })
        }))
        .await
}

/// Extra work of a supplier list apply: the items to remember for the next lists.
#[derive(Clone, Debug)]
pub(crate) struct Remember {
    pub supplier_id: i64,
    pub mappings: Vec<ItemMapping>,
}

pub(crate) async fn apply_price_update(
    store: &SqlStore,
    meta: &WriteMeta,
    id: i64,
    token: &str,
    remember: Option<Remember>,
) -> Result<PriceUpdateApplied> {
    let (meta, token) = (meta.clone(), token.to_owned());
    let engine = store.engine;
    let remember = Arc::new(remember);
    store
        .write(Arc::new(move |conn| {
            let (meta, token, remember) = (meta.clone(), token.clone(), remember.clone());
            Box::pin(async move {
                apply_tx(conn, engine, &meta, id, &token, remember.as_ref().as_ref()).await
            })
        }))
        .await
}

async fn apply_tx(
    conn: &mut AnyConnection,
    engine: Engine,
    meta: &WriteMeta,
    id: i64,
    token: &str,
    remember: Option<&Remember>,
) -> Result<PriceUpdateApplied> {
    let row: Option<(String, String, String)> = sqlx::query_as(AssertSqlSafe(format!(
        "SELECT request_json, token, status FROM price_updates WHERE id = $1{}",
        engine.for_update()
    )))
    .bind(id)
    .fetch_optional(&mut *conn)
    .await
    .map_err(db_error)?;
    let (json, stored_token, status) = row.ok_or_else(|| Error::NotFound {
        entity: "actualización de precios",
        key: id.to_string(),
    })?;
    if status == "applied" {
        return Err(Error::conflict(
            "already_applied",
            None,
            format!("la actualización de precios {id} ya se aplicó"),
        ));
    }
    if stored_token != token {
        return Err(Error::conflict(
            "stale_preview",
            Some("token"),
            "el token no corresponde a la vista previa de esta actualización",
        ));
    }
    let req: PriceUpdateRequest = serde_json::from_str(&json).map_err(Error::internal)?;
    let snap = load_snapshot(
        conn,
        &req.selection,
        matches!(req.action, app::pricing::UpdateAction::Reindex),
        engine.for_update(),
    )
    .await?;
    let lines = plan(&req, &snap, shop_date(meta.now))?;
    if plan_token(&req, &lines) != token {
        return Err(Error::conflict(
            "stale_preview",
            Some("token"),
            "los precios, costos o reglas cambiaron desde la vista previa; genere una nueva",
        ));
    }
    write_lines(conn, engine, meta, id, &req, &lines).await?;
    if let Some(r) = remember {
        // Few rows (one per list item at most); an upsert each keeps a repeated key harmless.
        for m in &r.mappings {
            sqlx::query(
                "INSERT INTO supplier_item_mappings (supplier_id, kind, item_key, product_id) VALUES ($1, $2, $3, $4) \
                 ON CONFLICT (supplier_id, kind, item_key) DO UPDATE SET product_id = excluded.product_id",
            )
            .bind(r.supplier_id)
            .bind(&m.kind)
            .bind(&m.key)
            .bind(m.product_id)
            .execute(&mut *conn)
            .await
            .map_err(db_error)?;
        }
    }
    sqlx::query("UPDATE price_updates SET status = 'applied', applied_by = $1, applied_at = $2 WHERE id = $3")
        .bind(&meta.actor.label)
        .bind(meta.now)
        .bind(id)
        .execute(&mut *conn)
        .await
        .map_err(db_error)?;
    let below = lines.iter().filter(|l| l.below_floor).count();
    let summary = serde_json::json!({
        "reason": req.reason,
        "source": req.source,
        "changed": lines.len(),
        "below_floor": below,
    });
    audit::record::<(), _>(
        conn,
        meta,
        Change {
            action: "price_update.apply",
            entity: "price_update",
            entity_id: Some(id.to_string()),
            before: None,
            after: Some(&summary),
        },
    )
    .await?;
    Ok(PriceUpdateApplied {
        id,
        changed: lines.len(),
        below_floor: below,
        applied_at: instant(meta.now),
    })
}

/// `[[id, cost, price], …]` of the lines.
fn lines_json<'a>(ls: impl Iterator<Item = &'a PlanLine>) -> String {
    let mut out = String::from("[");
    for (i, l) in ls.enumerate() {
        if i > 0 {
            out.push(',');
        }
        out.push_str(&format!(
            "[{},{},{}]",
            l.product_id,
            l.new_cost.minor(),
            l.new_price.minor()
        ));
    }
    out.push(']');
    out
}

/// New costs and prices and their histories: three statements whatever the number of
/// products, each reading the lines from one JSON parameter (binding three values per product
/// cost more than the writes themselves).
async fn write_lines(
    conn: &mut AnyConnection,
    engine: Engine,
    meta: &WriteMeta,
    update_id: i64,
    req: &PriceUpdateRequest,
    lines: &[PlanLine],
) -> Result<()> {
    if lines.is_empty() {
        return Ok(());
    }
    let all = lines_json(lines.iter());
    let moved: Vec<&PlanLine> = lines.iter().filter(|l| l.new_cost != l.old_cost).collect();
    let costs = (!moved.is_empty()).then(|| lines_json(moved.into_iter()));
    let cols = ["id", "cost", "price"];
    sqlx::query(AssertSqlSafe(format!(
        "WITH v AS {} UPDATE products SET cost = v.cost, price = v.price, updated_at = $1 FROM v WHERE products.id = v.id",
        engine.int_rows(2, &cols)
    )))
    .bind(meta.now)
    .bind(&all)
    .execute(&mut *conn)
    .await
    .map_err(db_error)?;
    sqlx::query(AssertSqlSafe(format!(
        "INSERT INTO price_history (product_id, price, cost, changed_at, actor, reason, source, update_id) \
         SELECT v.id, v.price, v.cost, $1, $2, $3, $4, $5 FROM {} v",
        engine.int_rows(6, &cols)
    )))
    .bind(meta.now)
    .bind(&meta.actor.label)
    .bind(&req.reason)
    .bind(&req.source)
    .bind(update_id)
    .bind(&all)
    .execute(&mut *conn)
    .await
    .map_err(db_error)?;
    if let Some(costs) = costs {
        sqlx::query(AssertSqlSafe(format!(
            "INSERT INTO product_cost_history (product_id, cost, changed_at, source) SELECT v.id, v.cost, $1, $2 FROM {} v",
            engine.int_rows(3, &cols)
        )))
        .bind(meta.now)
        .bind(&req.source)
        .bind(&costs)
        .execute(&mut *conn)
        .await
        .map_err(db_error)?;
    }
    Ok(())
}

// ---------------------------------------------------------------- supplier lists

pub(crate) async fn supplier_match_data(
    pool: &AnyPool,
    supplier_id: i64,
    barcodes: &[String],
    manual: &[ItemMapping],
) -> Result<MatchData> {
    let mut conn = pool.acquire().await.map_err(db_error)?;
    let mut data = MatchData::default();
    for chunk in barcodes.chunks(BATCH) {
        let sql = format!(
            "SELECT code, product_id FROM product_barcodes WHERE code IN ({})",
            placeholders(1, chunk.len())
        );
        let mut q = sqlx::query_as::<_, (String, i64)>(AssertSqlSafe(sql));
        for b in chunk {
            q = q.bind(b);
        }
        data.barcodes
            .extend(q.fetch_all(&mut *conn).await.map_err(db_error)?);
    }
    let remembered: Vec<(String, String, i64)> = sqlx::query_as(
        "SELECT kind, item_key, product_id FROM supplier_item_mappings WHERE supplier_id = $1",
    )
    .bind(supplier_id)
    .fetch_all(&mut *conn)
    .await
    .map_err(db_error)?;
    data.remembered = remembered
        .into_iter()
        .map(|(k, key, id)| ((k, key), id))
        .collect();
    let mut ids: Vec<i64> = data
        .barcodes
        .values()
        .chain(data.remembered.values())
        .copied()
        .chain(manual.iter().map(|m| m.product_id))
        .collect();
    ids.sort_unstable();
    ids.dedup();
    for chunk in ids.chunks(BATCH) {
        let sql = format!(
            "SELECT id, sku, cost FROM products WHERE id IN ({})",
            placeholders(1, chunk.len())
        );
        let mut q = sqlx::query_as::<_, (i64, String, i64)>(AssertSqlSafe(sql));
        for id in chunk {
            q = q.bind(*id);
        }
        for (id, sku, cost) in q.fetch_all(&mut *conn).await.map_err(db_error)? {
            data.products.insert(id, (sku, Money::from_minor(cost)));
        }
    }
    if let Some(pos) = manual
        .iter()
        .position(|m| !data.products.contains_key(&m.product_id))
    {
        return Err(Error::unknown(
            format!("mappings[{pos}].product_id"),
            format!("el producto {} no existe", manual[pos].product_id),
        ));
    }
    Ok(data)
}

// ---------------------------------------------------------------- shelf labels

pub(crate) async fn prices_changed_since_last_print(pool: &AnyPool) -> Result<Vec<i64>> {
    sqlx::query_scalar(
        "SELECT p.id FROM products p WHERE p.active = 1 AND EXISTS (SELECT 1 FROM price_history h WHERE h.product_id = p.id \
         AND h.changed_at > COALESCE((SELECT MAX(printed_at) FROM label_prints), -1)) ORDER BY p.id",
    )
    .fetch_all(pool)
    .await
    .map_err(db_error)
}

pub(crate) async fn label_items(
    pool: &AnyPool,
    product_ids: &[i64],
) -> Result<Vec<app::labels::LabelItem>> {
    let mut conn = pool.acquire().await.map_err(db_error)?;
    let mut out: Vec<app::labels::LabelItem> = Vec::with_capacity(product_ids.len());
    for chunk in product_ids.chunks(BATCH) {
        let ids = placeholders(1, chunk.len());
        let sql =
            format!("SELECT id, name, unit, price FROM products WHERE id IN ({ids}) ORDER BY id");
        let mut q = sqlx::query_as::<_, (i64, String, String, i64)>(AssertSqlSafe(sql));
        for id in chunk {
            q = q.bind(*id);
        }
        let rows = q.fetch_all(&mut *conn).await.map_err(db_error)?;
        let sql = format!(
            "SELECT product_id, code FROM product_barcodes WHERE product_id IN ({ids}) ORDER BY product_id, code"
        );
        let mut q = sqlx::query_as::<_, (i64, String)>(AssertSqlSafe(sql));
        for id in chunk {
            q = q.bind(*id);
        }
        let codes = q.fetch_all(&mut *conn).await.map_err(db_error)?;
        for (id, name, unit, price) in rows {
            out.push(app::labels::LabelItem {
                product_id: id,
                name,
                unit: parsed("unit", UnitOfMeasure::parse(&unit))?,
                price: Money::from_minor(price),
                ean13: app::labels::first_ean13(
                    codes
                        .iter()
                        .filter(|(p, _)| *p == id)
                        .map(|(_, c)| c.as_str()),
                ),
            });
        }
    }
    // In the order asked for, so a chosen sequence prints as chosen.
    let pos: std::collections::HashMap<i64, usize> = product_ids
        .iter()
        .enumerate()
        .map(|(i, id)| (*id, i))
        .collect();
    out.sort_by_key(|i| pos.get(&i.product_id).copied().unwrap_or(usize::MAX));
    Ok(out)
}

pub(crate) async fn record_label_print(
    store: &SqlStore,
    meta: &WriteMeta,
    count: usize,
) -> Result<()> {
    let meta = meta.clone();
    let count = i64::try_from(count).unwrap_or(i64::MAX);
    store
        .write(Arc::new(move |conn| {
            let meta = meta.clone();
            Box::pin(async move {
                sqlx::query(
                    "INSERT INTO label_prints (printed_at, actor, products) VALUES ($1, $2, $3)",
                )
                .bind(meta.now)
                .bind(&meta.actor.label)
                .bind(count)
                .execute(&mut *conn)
                .await
                .map_err(db_error)?;
                Ok(())
            })
        }))
        .await
}
