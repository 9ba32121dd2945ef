//! The dashboard's pages, one module per menu section. Each module owns its routes, its view
//! models (strings already formatted the Argentine way) and its templates.

pub mod admin;
pub mod compras;
pub mod facturas;
pub mod forms;
pub mod inicio;
pub mod pos;
pub mod precios;
pub mod product;
pub mod products;
pub mod reposicion;
pub mod stock;

use axum::Router;

use crate::WebState;

pub fn routes() -> Router<WebState> {
    Router::new()
        .merge(inicio::routes())
        .merge(products::routes())
        .merge(product::routes())
        .merge(pos::routes())
        .merge(compras::routes())
        .merge(facturas::routes())
        .merge(precios::routes())
        .merge(reposicion::routes())
        .merge(stock::routes())
        .merge(admin::routes())
}

/// Each page module's Spanish → English table.
pub const TRANSLATIONS: &[&[(&str, &str)]] = &[
    inicio::EN,
    products::EN,
    product::EN,
    stock::EN,
    pos::EN,
    compras::EN,
    facturas::EN,
    precios::EN,
    reposicion::EN,
    admin::EN,
];

/// The list query every table page shares: the cursor of the page to show.
#[derive(Clone, Debug, Default, serde::Deserialize)]
pub struct Paging {
    pub cursor: Option<String>,
}

impl Paging {
    pub fn request(&self, limit: u32) -> app::page::PageRequest {
        app::page::PageRequest::parse(&app::page::PageParams {
            limit: Some(limit),
            cursor: self.cursor.clone(),
        })
        .unwrap_or(app::page::PageRequest::first(limit))
    }
}

/// Most rows an export walks through; bigger exports belong to the API or the CLI.
pub const MAX_EXPORT_ROWS: usize = 100_000;

/// Walks a list page by page for a CSV export, handing every row to `write`, until the last
/// page or `MAX_EXPORT_ROWS`. `fetch` gets the request of each page.
pub async fn export_all<T, Fut>(
    t: crate::Tr,
    mut fetch: impl FnMut(app::page::PageRequest) -> Fut,
    mut write: impl FnMut(&T),
) -> Result<(), crate::PageError>
where
    Fut: std::future::Future<Output = app::Result<app::page::Page<T>>>,
{
    let mut request = app::page::PageRequest::first(app::page::MAX_LIMIT);
    let mut rows = 0;
    loop {
        let page = fetch(request)
            .await
            .map_err(|e| crate::PageError::from_app(e, t))?;
        page.items.iter().for_each(&mut write);
        rows += page.items.len();
        match page.next_cursor.and_then(|c| c.parse::<i64>().ok()) {
            Some(after) if rows < MAX_EXPORT_ROWS => request.after = after,
            _ => return Ok(()),
        }
    }
}
