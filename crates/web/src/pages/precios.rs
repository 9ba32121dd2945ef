//! Precios: price rules, monthly inflation rates, the bulk price update (preview with old and
//! new prices and margins, then apply with the preview's token), supplier price-list import and
//! shelf labels as PDF.

use askama::Template;
use axum::Router;
use axum::extract::{DefaultBodyLimit, Multipart, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use base64::Engine as _;
use serde::Deserialize;

use app::labels::LabelRequest;
use app::price_lists::{ColumnMapping, ListFormat, ListOutcome, SupplierListInput};
use app::pricing::{
    ApplyInput, InflationRateInput, PriceRuleInput, PriceUpdateInput, PriceUpdateKind, RaiseTarget,
};
use domain::auth::Permission;

use super::compras::{Directory, item_ref};
use super::forms::{Errors, Fields, Input, ar_decimal, capitalise, field_error};
use crate::error::PageError;
use crate::layout::Chrome;
use crate::{Submitted, Viewer, WebState, format, render};

pub fn routes() -> Router<WebState> {
    Router::new()
        .route("/precios", get(index))
        .route("/precios/reglas", post(save_rule))
        .route("/precios/reglas/{id}/borrar", post(delete_rule))
        .route("/precios/inflacion", post(save_rate))
        .route("/precios/actualizacion", post(preview))
        .route("/precios/actualizacion/aplicar", post(apply))
        .route(
            "/precios/lista-proveedor",
            post(supplier_list).layer(DefaultBodyLimit::max(10 * 1024 * 1024)),
        )
        .route("/precios/etiquetas", post(labels))
}

pub const EN: &[(&str, &str)] = &[
    ("Reglas de precio", "Price rules"),
    ("Alcance", "Scope"),
    ("Destino de la regla (id)", "Rule target (id)"),
    ("Recargo %", "Markup %"),
    ("Margen mínimo %", "Minimum margin %"),
    ("Redondeo", "Rounding"),
    ("Guardar regla", "Save rule"),
    ("Borrar", "Delete"),
    ("Regla guardada.", "Rule saved."),
    ("Regla borrada.", "Rule deleted."),
    ("Inflación mensual", "Monthly inflation"),
    ("Mes", "Month"),
    ("Tasa %", "Rate %"),
    ("Guardar tasa", "Save rate"),
    ("Tasa guardada.", "Rate saved."),
    ("Actualización masiva de precios", "Bulk price update"),
    ("Aumento porcentual", "Percentage raise"),
    ("Indexar por inflación", "Index by inflation"),
    ("Recalcular por reglas", "Reprice by rules"),
    ("Porcentaje", "Percentage"),
    ("Aplicar sobre", "Apply to"),
    ("Todos los proveedores", "All suppliers"),
    ("Vista previa", "Preview"),
    ("Aplicar actualización", "Apply update"),
    ("Productos que cambian", "Products that change"),
    (
        "Quedan bajo el margen mínimo",
        "Fall below the minimum margin",
    ),
    ("Costo anterior", "Old cost"),
    ("Costo nuevo", "New cost"),
    ("Precio anterior", "Old price"),
    ("Precio nuevo", "New price"),
    ("Margen", "Margin"),
    ("Bajo el mínimo", "Below minimum"),
    ("Precios actualizados", "Prices updated"),
    ("Lista de precios del proveedor", "Supplier price list"),
    ("Archivo CSV o XLSX", "CSV or XLSX file"),
    ("Columna del código", "Code column"),
    ("Columna del código de barras", "Barcode column"),
    ("Columna de la descripción", "Description column"),
    ("Columna del costo", "Cost column"),
    (
        "Aplicar los costos (si no, solo informa)",
        "Apply the costs (otherwise report only)",
    ),
    ("Importar lista", "Import list"),
    ("Nuevos", "New"),
    ("Cambian", "Changed"),
    ("Sin cambios", "Unchanged"),
    ("Línea", "Line"),
    ("Resultado", "Outcome"),
    ("Etiquetas de góndola", "Shelf labels"),
    (
        "Productos cuyo precio cambió desde la última impresión",
        "Products whose price changed since the last print",
    ),
    (
        "Estos productos (SKU o código, uno por línea)",
        "These products (SKU or barcode, one per line)",
    ),
    ("Descargar PDF", "Download PDF"),
    ("No hay reglas.", "No rules."),
    ("No hay tasas cargadas.", "No rates yet."),
    ("Siguiente página", "Next page"),
    ("Página anterior", "Previous page"),
    ("Errores de lectura", "Read errors"),
    ("Adjunte el archivo de la lista.", "Attach the list file."),
];

const PAGE_SIZE: usize = 50;

fn rounding_options() -> Vec<(&'static str, &'static str)> {
    vec![
        ("", "—"),
        ("centavo", "$ 0,01"),
        ("half_peso", "$ 0,50"),
        ("peso", "$ 1"),
        ("ten_pesos", "$ 10"),
        ("hundred_pesos", "$ 100"),
        ("ninety_nine", ",99"),
    ]
}

pub struct RuleRow {
    pub id: i64,
    pub scope: &'static str,
    pub target: String,
    pub markup: String,
    pub min_margin: String,
    pub rounding: String,
    pub updated: String,
}

pub struct PreviewRow {
    pub sku: String,
    pub name: String,
    pub old_cost: String,
    pub new_cost: String,
    pub old_price: String,
    pub new_price: String,
    pub margin: String,
    pub below_floor: bool,
}

pub struct PreviewView {
    pub id: i64,
    pub token: String,
    pub changes: String,
    pub below_floor: String,
    pub rows: Vec<PreviewRow>,
    pub page: usize,
    pub pages: usize,
}

pub struct ListLineView {
    pub line: u64,
    pub outcome: &'static str,
    pub code: String,
    pub description: String,
    pub sku: String,
    pub old_cost: String,
    pub new_cost: String,
    pub new_price: String,
}

pub struct ListReportView {
    pub applied: bool,
    pub new: usize,
    pub changed: usize,
    pub unchanged: usize,
    pub unmatched: usize,
    pub malformed: Vec<String>,
    pub lines: Vec<ListLineView>,
}

#[derive(Template)]
#[template(path = "backoffice/prices.html")]
struct PricesPage {
    chrome: Chrome,
    notice: Option<String>,
    others: Vec<String>,
    rules: Vec<RuleRow>,
    rates: Vec<(String, String, String)>,
    suppliers: Vec<(String, String)>,
    categories: Vec<(String, String)>,
    roundings: Vec<(&'static str, &'static str)>,
    /// Every input of every form on the page, by name, with its value and error.
    f: FormView,
    preview: Option<PreviewView>,
    report: Option<ListReportView>,
}

/// The inputs of the page's forms: the user's values kept on error.
pub struct FormView {
    fields: Fields,
    errors: Errors,
}

impl FormView {
    pub fn input(&self, name: &str) -> Input {
        Input::new(name, self.fields.get(name), &self.errors)
    }

    pub fn value(&self, name: &str) -> &str {
        self.fields.get(name)
    }
}

struct Extra {
    notice: Option<String>,
    preview: Option<PreviewView>,
    report: Option<ListReportView>,
}

async fn page(
    state: &WebState,
    viewer: &Viewer,
    fields: Fields,
    errors: Errors,
    extra: Extra,
) -> Result<PricesPage, PageError> {
    let t = viewer.t;
    let p = &viewer.principal;
    let dir = Directory::load(state, viewer).await?;
    let categories = state
        .app
        .categories(p)
        .await
        .map_err(|e| PageError::from_app(e, t))?;
    let rules = state
        .app
        .price_rules(p)
        .await
        .map_err(|e| PageError::from_app(e, t))?
        .into_iter()
        .map(|r| {
            let (scope, target) = match r.scope.as_str() {
                "category" => (
                    "Categoría",
                    categories
                        .iter()
                        .find(|c| c.id == r.target_id)
                        .map_or_else(|| format!("#{}", r.target_id), |c| c.name.clone()),
                ),
                "supplier" => ("Proveedor", dir.supplier(r.target_id)),
                _ => ("Producto", format!("#{}", r.target_id)),
            };
            RuleRow {
                id: r.id,
                scope: t.s(scope),
                target,
                markup: r
                    .markup
                    .map(|m| format!("{} %", m.to_string().replace('.', ",")))
                    .unwrap_or_default(),
                min_margin: r
                    .min_margin
                    .map(|m| format!("{} %", m.to_string().replace('.', ",")))
                    .unwrap_or_default(),
                rounding: r
                    .rounding
                    .map(|x| x.as_str().to_owned())
                    .unwrap_or_default(),
                updated: format::date_time(r.updated_at),
            }
        })
        .collect();
    let rates = state
        .app
        .inflation_rates(p)
        .await
        .map_err(|e| PageError::from_app(e, t))?
        .into_iter()
        .rev()
        .take(24)
        .map(|r| {
            (
                r.month,
                format!("{} %", r.rate.to_string().replace('.', ",")),
                r.source,
            )
        })
        .collect();
    let known = [
        "scope",
        "target_id",
        "markup",
        "min_margin",
        "rounding",
        "month",
        "rate",
        "kind",
        "percent",
        "target",
        "supplier_id",
        "category_id",
        "reason",
        "list_supplier_id",
        "file",
        "cost_column",
        "labels_products",
    ];
    Ok(PricesPage {
        chrome: viewer.chrome("/precios", "Precios"),
        notice: extra.notice,
        others: errors.others(&known),
        rules,
        rates,
        suppliers: dir
            .suppliers
            .into_iter()
            .map(|(id, n)| (id.to_string(), n))
            .collect(),
        categories: categories
            .into_iter()
            .map(|c| (c.id.to_string(), c.name))
            .collect(),
        roundings: rounding_options(),
        f: FormView { fields, errors },
        preview: extra.preview,
        report: extra.report,
    })
}

fn defaults() -> Fields {
    Fields::new(vec![
        ("kind".into(), "raise".into()),
        ("target".into(), "cost".into()),
        ("scope".into(), "category".into()),
        ("code_column".into(), "Código".into()),
        ("barcode_column".into(), "EAN".into()),
        ("description_column".into(), "Descripción".into()),
        ("cost_column".into(), "Costo".into()),
    ])
}

#[derive(Deserialize, Default)]
struct IndexQuery {
    #[serde(default)]
    ok: String,
}

async fn index(
    State(state): State<WebState>,
    viewer: Viewer,
    axum::extract::Query(q): axum::extract::Query<IndexQuery>,
) -> Result<Response, PageError> {
    viewer.require(Permission::PricingWrite)?;
    let t = viewer.t;
    let notice = match q.ok.as_str() {
        "regla" => Some(t.s("Regla guardada.").to_owned()),
        "borrada" => Some(t.s("Regla borrada.").to_owned()),
        "tasa" => Some(t.s("Tasa guardada.").to_owned()),
        _ => None,
    };
    let extra = Extra {
        notice,
        preview: None,
        report: None,
    };
    Ok(render(
        &page(&state, &viewer, defaults(), Errors::default(), extra).await?,
        t,
    ))
}

/// The page again with the user's input and the errors, as a 422.
async fn again(
    state: &WebState,
    viewer: &Viewer,
    fields: Fields,
    errors: Errors,
) -> Result<Response, PageError> {
    let extra = Extra {
        notice: None,
        preview: None,
        report: None,
    };
    let mut res = render(&page(state, viewer, fields, errors, extra).await?, viewer.t);
    *res.status_mut() = StatusCode::UNPROCESSABLE_ENTITY;
    Ok(res)
}

async fn save_rule(
    State(state): State<WebState>,
    Submitted { viewer, form }: Submitted<Vec<(String, String)>>,
) -> Result<Response, PageError> {
    viewer.require(Permission::PricingWrite)?;
    let t = viewer.t;
    let f = Fields::new(form);
    let target_id = match f.get("target_id").parse::<i64>() {
        Ok(id) => id,
        Err(_) => {
            let mut errors = Errors::default();
            errors.set("target_id", t.s("Escriba solo números."));
            return again(&state, &viewer, f, errors).await;
        }
    };
    let input = PriceRuleInput {
        scope: f.get("scope").to_owned(),
        target_id,
        markup: f.opt("markup").map(|v| ar_decimal(&v)),
        min_margin: f.opt("min_margin").map(|v| ar_decimal(&v)),
        rounding: f.opt("rounding"),
    };
    let meta = state.app.meta(&viewer.principal, None);
    match state
        .app
        .save_price_rule(&viewer.principal, input, meta)
        .await
    {
        Ok(_) => Ok(Redirect::to("/precios?ok=regla").into_response()),
        Err(e) => {
            let errors = field_error(e, t, str::to_owned)?;
            again(&state, &viewer, f, errors).await
        }
    }
}

async fn delete_rule(
    State(state): State<WebState>,
    axum::extract::Path(id): axum::extract::Path<i64>,
    Submitted { viewer, .. }: Submitted<crate::session::NoFields>,
) -> Result<Response, PageError> {
    viewer.require(Permission::PricingWrite)?;
    let meta = state.app.meta(&viewer.principal, None);
    state
        .app
        .delete_price_rule(&viewer.principal, id, meta)
        .await
        .map_err(|e| PageError::from_app(e, viewer.t))?;
    Ok(Redirect::to("/precios?ok=borrada").into_response())
}

async fn save_rate(
    State(state): State<WebState>,
    Submitted { viewer, form }: Submitted<Vec<(String, String)>>,
) -> Result<Response, PageError> {
    viewer.require(Permission::PricingWrite)?;
    let t = viewer.t;
    let f = Fields::new(form);
    let input = InflationRateInput {
        rate: ar_decimal(f.get("rate")),
    };
    let meta = state.app.meta(&viewer.principal, None);
    match state
        .app
        .save_inflation_rate(&viewer.principal, f.get("month"), input, meta)
        .await
    {
        Ok(_) => Ok(Redirect::to("/precios?ok=tasa").into_response()),
        Err(e) => {
            let errors = field_error(e, t, str::to_owned)?;
            again(&state, &viewer, f, errors).await
        }
    }
}

fn update_input(f: &Fields, errors: &mut Errors, t: crate::Tr, limit: u32) -> PriceUpdateInput {
    let kind = match f.get("kind") {
        "reindex" => PriceUpdateKind::Reindex,
        "reprice" => PriceUpdateKind::Reprice,
        _ => PriceUpdateKind::Raise,
    };
    let id = |name: &str, errors: &mut Errors| match f.get(name) {
        "" => None,
        v => match v.parse::<i64>() {
            Ok(n) => Some(n),
            Err(_) => {
                errors.set(name, t.s("Escriba solo números."));
                None
            }
        },
    };
    PriceUpdateInput {
        kind,
        percent: (kind == PriceUpdateKind::Raise).then(|| ar_decimal(f.get("percent"))),
        target: (kind == PriceUpdateKind::Raise).then_some(if f.get("target") == "price" {
            RaiseTarget::Price
        } else {
            RaiseTarget::Cost
        }),
        supplier_id: id("supplier_id", errors),
        category_id: id("category_id", errors),
        product_ids: None,
        reason: f.get("reason").to_owned(),
        lines_limit: Some(limit),
    }
}

async fn preview(
    State(state): State<WebState>,
    Submitted { viewer, form }: Submitted<Vec<(String, String)>>,
) -> Result<Response, PageError> {
    viewer.require(Permission::PricingWrite)?;
    let t = viewer.t;
    let f = Fields::new(form);
    let page_no = f.get("page").parse::<usize>().unwrap_or(0);
    let limit = ((page_no + 1) * PAGE_SIZE).min(5000);
    let mut errors = Errors::default();
    let input = update_input(&f, &mut errors, t, u32::try_from(limit).unwrap_or(5000));
    if !errors.is_empty() {
        return again(&state, &viewer, f, errors).await;
    }
    let meta = state.app.meta(&viewer.principal, None);
    match state
        .app
        .preview_price_update(&viewer.principal, input, meta)
        .await
    {
        Ok(p) => {
            let pages = p.changes.div_ceil(PAGE_SIZE).clamp(1, 5000 / PAGE_SIZE);
            let rows = p
                .lines
                .iter()
                .skip(page_no * PAGE_SIZE)
                .take(PAGE_SIZE)
                .map(|l| PreviewRow {
                    sku: l.sku.clone(),
                    name: l.name.clone(),
                    old_cost: format::money(l.old_cost),
                    new_cost: format::money(l.new_cost),
                    old_price: format::money(l.old_price),
                    new_price: format::money(l.new_price),
                    margin: l
                        .margin
                        .map(|m| format!("{} %", m.to_string().replace('.', ",")))
                        .unwrap_or_default(),
                    below_floor: l.below_floor,
                })
                .collect();
            let view = PreviewView {
                id: p.id,
                token: p.token,
                changes: format::count(i64::try_from(p.changes).unwrap_or(i64::MAX)),
                below_floor: format::count(i64::try_from(p.below_floor).unwrap_or(i64::MAX)),
                rows,
                page: page_no,
                pages,
            };
            let extra = Extra {
                notice: None,
                preview: Some(view),
                report: None,
            };
            Ok(render(
                &page(&state, &viewer, f, Errors::default(), extra).await?,
                t,
            ))
        }
        Err(e) => {
            let errors = field_error(e, t, str::to_owned)?;
            again(&state, &viewer, f, errors).await
        }
    }
}

async fn apply(
    State(state): State<WebState>,
    Submitted { viewer, form }: Submitted<Vec<(String, String)>>,
) -> Result<Response, PageError> {
    viewer.require(Permission::PricingWrite)?;
    let t = viewer.t;
    let f = Fields::new(form);
    let id = f.get("update_id").parse::<i64>().unwrap_or(0);
    let input = ApplyInput {
        token: f.get("token").to_owned(),
    };
    let meta = state.app.meta(&viewer.principal, None);
    match state
        .app
        .apply_price_update(&viewer.principal, id, input, meta)
        .await
    {
        Ok(done) => {
            let notice = format!(
                "{}: {}.",
                t.s("Precios actualizados"),
                format::count(i64::try_from(done.changed).unwrap_or(i64::MAX))
            );
            let extra = Extra {
                notice: Some(notice),
                preview: None,
                report: None,
            };
            Ok(render(
                &page(&state, &viewer, defaults(), Errors::default(), extra).await?,
                t,
            ))
        }
        Err(app::Error::Conflict { message, .. }) => {
            let mut errors = Errors::default();
            errors.set("general", capitalise(&message));
            let mut res = again(&state, &viewer, f, errors).await?;
            *res.status_mut() = StatusCode::CONFLICT;
            Ok(res)
        }
        Err(e) => {
            let errors = field_error(e, t, str::to_owned)?;
            again(&state, &viewer, f, errors).await
        }
    }
}

async fn supplier_list(
    State(state): State<WebState>,
    viewer: Viewer,
    headers: HeaderMap,
    form: Result<Multipart, axum::extract::multipart::MultipartRejection>,
) -> Result<Response, PageError> {
    let t = viewer.t;
    let mut form = form.map_err(|e| PageError::bad_form(t, &e.body_text()))?;
    let mut pairs = Vec::new();
    let mut file: Option<(String, bytes::Bytes)> = None;
    while let Some(field) = form
        .next_field()
        .await
        .map_err(|e| PageError::bad_form(t, &e.body_text()))?
    {
        let name = field.name().unwrap_or_default().to_owned();
        if name == "file" {
            let file_name = field.file_name().unwrap_or_default().to_lowercase();
            let b = field.bytes().await.map_err(|_| PageError::too_large(t))?;
            file = Some((file_name, b));
        } else {
            pairs.push((name, field.text().await.unwrap_or_default()));
        }
    }
    let f = Fields::new(pairs);
    viewer.check_form(&headers, f.get("csrf"))?;
    viewer.require(Permission::PricingWrite)?;
    let mut errors = Errors::default();
    let supplier_id = f.get("list_supplier_id").parse::<i64>().ok();
    if supplier_id.is_none() {
        errors.set("list_supplier_id", t.s("Elija un proveedor."));
    }
    let file = file.filter(|(_, b)| !b.is_empty());
    if file.is_none() {
        errors.set("file", t.s("Adjunte el archivo de la lista."));
    }
    let (Some(supplier_id), Some((name, content))) = (supplier_id, file) else {
        return again(&state, &viewer, f, errors).await;
    };
    let input = SupplierListInput {
        supplier_id,
        format: if name.ends_with(".xlsx") || content.starts_with(b"PK") {
            ListFormat::Xlsx
        } else {
            ListFormat::Csv
        },
        content_base64: base64::engine::general_purpose::STANDARD.encode(&content),
        mapping: ColumnMapping {
            supplier_code: f.opt("code_column"),
            barcode: f.opt("barcode_column"),
            description: f.opt("description_column"),
            cost: f.get("cost_column").to_owned(),
        },
        apply: f.get("apply") == "1",
        reason: None,
        mappings: Vec::new(),
    };
    let meta = state.app.meta(&viewer.principal, None);
    match state
        .app
        .import_supplier_list(&viewer.principal, input, meta)
        .await
    {
        Ok(r) => {
            let opt_money = |m: Option<domain::Money>| m.map(format::money).unwrap_or_default();
            let report = ListReportView {
                applied: r.applied,
                new: r.new,
                changed: r.changed,
                unchanged: r.unchanged,
                unmatched: r.unmatched,
                malformed: r
                    .malformed
                    .iter()
                    .map(|c| format!("{} {} · {}: {}", t.s("Línea"), c.line, c.column, c.reason))
                    .collect(),
                lines: r
                    .lines
                    .iter()
                    .take(200)
                    .map(|l| ListLineView {
                        line: l.line,
                        outcome: t.s(match l.outcome {
                            ListOutcome::New => "Nuevos",
                            ListOutcome::Changed => "Cambian",
                            ListOutcome::Unchanged => "Sin cambios",
                            ListOutcome::Unmatched => "Sin asociar",
                        }),
                        code: l
                            .supplier_code
                            .clone()
                            .or_else(|| l.barcode.clone())
                            .unwrap_or_default(),
                        description: l.description.clone().unwrap_or_default(),
                        sku: l.sku.clone().unwrap_or_default(),
                        old_cost: opt_money(l.old_cost),
                        new_cost: format::money(l.new_cost),
                        new_price: opt_money(l.new_price),
                    })
                    .collect(),
            };
            let extra = Extra {
                notice: None,
                preview: None,
                report: Some(report),
            };
            Ok(render(
                &page(&state, &viewer, f, Errors::default(), extra).await?,
                t,
            ))
        }
        Err(e) => {
            let errors = field_error(e, t, |p| match p {
                "supplier_id" => "list_supplier_id".to_owned(),
                p if p.starts_with("mapping") => "cost_column".to_owned(),
                _ => "file".to_owned(),
            })?;
            again(&state, &viewer, f, errors).await
        }
    }
}

async fn labels(
    State(state): State<WebState>,
    Submitted { viewer, form }: Submitted<Vec<(String, String)>>,
) -> Result<Response, PageError> {
    viewer.require(Permission::PricingWrite)?;
    let t = viewer.t;
    let f = Fields::new(form);
    let mut errors = Errors::default();
    let req = if f.get("labels_mode") == "changed" {
        LabelRequest {
            product_ids: None,
            changed_since_last_print: true,
        }
    } else {
        let mut ids = Vec::new();
        for code in f
            .get("labels_products")
            .split(['\n', ',', ';'])
            .map(str::trim)
        {
            if code.is_empty() {
                continue;
            }
            let (sku, barcode) = item_ref(code);
            let q = app::catalog::ProductQuery {
                sku,
                barcode,
                ..Default::default()
            };
            let found = state
                .app
                .products(&viewer.principal, q, app::page::PageRequest::first(1))
                .await
                .map_err(|e| PageError::from_app(e, t))?;
            match found.items.first() {
                Some(p) => ids.push(p.id),
                None => errors.set(
                    "labels_products",
                    format!(
                        "{}: {code}",
                        t.s("No hay un producto con ese SKU o código de barras.")
                    ),
                ),
            }
        }
        LabelRequest {
            product_ids: Some(ids),
            changed_since_last_print: false,
        }
    };
    if !errors.is_empty() {
        return again(&state, &viewer, f, errors).await;
    }
    let meta = state.app.meta(&viewer.principal, None);
    match state.app.shelf_labels(&viewer.principal, req, meta).await {
        Ok(l) => {
            let mut res = l.pdf.into_response();
            let h = res.headers_mut();
            h.insert(
                header::CONTENT_TYPE,
                HeaderValue::from_static("application/pdf"),
            );
            h.insert(
                header::CONTENT_DISPOSITION,
                HeaderValue::from_static("attachment; filename=\"etiquetas.pdf\""),
            );
            Ok(res)
        }
        Err(e) => {
            let errors = field_error(e, t, |_| "labels_products".to_owned())?;
            again(&state, &viewer, f, errors).await
        }
    }
}
