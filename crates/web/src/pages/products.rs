//! Productos: search by name, SKU or barcode as you type, and export what was found.

use askama::Template;
use axum::Router;
use axum::extract::{Query, State};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use serde::Deserialize;

use app::catalog::{Product, ProductQuery};
use domain::auth::Permission;

use super::Paging;
use crate::csv::Csv;
use crate::error::PageError;
use crate::layout::Chrome;
use crate::{Viewer, WebState, format, render};

pub fn routes() -> Router<WebState> {
    Router::new()
        .route("/productos", get(list))
        .route("/productos.csv", get(export))
}

#[derive(Clone, Debug, Default, Deserialize)]
pub struct Search {
    #[serde(default)]
    pub q: String,
    #[serde(default)]
    pub category: String,
    /// "activos" (default), "inactivos" or "todos".
    #[serde(default)]
    pub estado: String,
    /// Only the results table, for the search-as-you-type script.
    #[serde(default)]
    pub partial: Option<u8>,
    #[serde(flatten)]
    pub paging: Paging,
}

impl Search {
    fn query(&self) -> ProductQuery {
        let q = self.q.trim();
        ProductQuery {
            q: (!q.is_empty()).then(|| q.to_owned()),
            category: (!self.category.is_empty()).then(|| self.category.clone()),
            active: match self.estado.as_str() {
                "inactivos" => Some(false),
                "todos" => None,
                _ => Some(true),
            },
            ..Default::default()
        }
    }

    /// The query string of this search with another cursor, for the pager links.
    fn with_cursor(&self, cursor: &str) -> String {
        let mut pairs = vec![("q", self.q.as_str()), ("category", self.category.as_str())];
        if !self.estado.is_empty() {
            pairs.push(("estado", self.estado.as_str()));
        }
        pairs.push(("cursor", cursor));
        serde_urlencoded::to_string(pairs).unwrap_or_default()
    }
}

pub struct ProductRow {
    pub id: i64,
    pub sku: String,
    pub name: String,
    pub category: String,
    pub barcode: String,
    pub price: String,
    pub cost: String,
    pub active: bool,
}

impl ProductRow {
    fn of(p: &Product) -> ProductRow {
        ProductRow {
            id: p.id,
            sku: p.sku.clone(),
            name: p.name.clone(),
            category: p.category.clone(),
            barcode: p
                .barcodes
                .first()
                .map(|b| b.code.clone())
                .unwrap_or_default(),
            price: format::money(p.price),
            cost: format::money(p.cost),
            active: p.active,
        }
    }
}

#[derive(Template)]
#[template(path = "products/list.html")]
struct ListPage {
    chrome: Chrome,
    search: Search,
    categories: Vec<String>,
    rows: Vec<ProductRow>,
    next: Option<String>,
    export: String,
}

#[derive(Template)]
#[template(path = "products/results.html")]
struct Results<'a> {
    chrome: &'a Chrome,
    rows: &'a [ProductRow],
    next: &'a Option<String>,
}

const PAGE_SIZE: u32 = 50;

pub const EN: &[(&str, &str)] = &[
    ("Activos", "Active"),
    ("Inactivos", "Inactive"),
    ("Todas las categorías", "All categories"),
];

async fn list(
    State(state): State<WebState>,
    viewer: Viewer,
    Query(search): Query<Search>,
) -> Result<Response, PageError> {
    viewer.require(Permission::CatalogRead)?;
    let t = viewer.t;
    let page = state
        .app
        .products(
            &viewer.principal,
            search.query(),
            search.paging.request(PAGE_SIZE),
        )
        .await
        .map_err(|e| PageError::from_app(e, t))?;
    let rows: Vec<ProductRow> = page.items.iter().map(ProductRow::of).collect();
    let next = page.next_cursor.as_deref().map(|c| search.with_cursor(c));
    let chrome = viewer.chrome("/productos", "Productos");
    if search.partial.is_some() {
        return Ok(render(
            &Results {
                chrome: &chrome,
                rows: &rows,
                next: &next,
            },
            t,
        ));
    }
    let categories = state
        .app
        .categories(&viewer.principal)
        .await
        .map_err(|e| PageError::from_app(e, t))?
        .into_iter()
        .map(|c| c.name)
        .collect();
    let export = format!("/productos.csv?{}", search.with_cursor(""));
    Ok(render(
        &ListPage {
            chrome,
            search,
            categories,
            rows,
            next,
            export,
        },
        t,
    ))
}

async fn export(
    State(state): State<WebState>,
    viewer: Viewer,
    Query(search): Query<Search>,
) -> Result<Response, PageError> {
    viewer.require(Permission::CatalogRead)?;
    let t = viewer.t;
    let mut csv = Csv::new(
        "productos",
        &[
            "SKU",
            t.s("Nombre"),
            t.s("Categoría"),
            t.s("Marca"),
            t.s("Código de barras"),
            t.s("Costo"),
            t.s("Precio"),
            t.s("IVA"),
            t.s("Estado"),
        ],
    );
    super::export_all(
        t,
        |request| {
            state
                .app
                .products(&viewer.principal, search.query(), request)
        },
        |p| {
            let vat = format!("{} %", p.vat_rate);
            let barcodes: Vec<&str> = p.barcodes.iter().map(|b| b.code.as_str()).collect();
            csv.row([
                p.sku.as_str(),
                p.name.as_str(),
                p.category.as_str(),
                p.brand.as_str(),
                barcodes.join(" ").as_str(),
                format::money(p.cost).trim_start_matches("$ "),
                format::money(p.price).trim_start_matches("$ "),
                vat.replace('.', ",").as_str(),
                if p.active {
                    t.s("Activo")
                } else {
                    t.s("Inactivo")
                },
            ]);
        },
    )
    .await?;
    Ok(csv.into_response())
}
