//! CSV import of products: every row is imported or reported back with its line, field and reason.

use std::collections::HashMap;

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::App;
use crate::catalog::{
    BarcodeInput, Product, ProductInput, ProductQuery, StockLimitInput, UpsertMode,
};
use crate::error::{Error, Result};
use crate::page::PageRequest;
use crate::write::Principal;

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct RowError {
    /// 1-based line in the file, counting the header as line 1.
    pub line: u64,
    pub field: String,
    pub reason: String,
}

#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct ImportReport {
    pub created: u64,
    pub updated: u64,
    pub errors: Vec<RowError>,
}

/// Accepted column names (English or Spanish) mapped to the field they fill.
const COLUMNS: &[(&str, &str)] = &[
    ("sku", "sku"),
    ("name", "name"),
    ("nombre", "name"),
    ("category", "category"),
    ("categoria", "category"),
    ("categoría", "category"),
    ("brand", "brand"),
    ("marca", "brand"),
    ("unit", "unit"),
    ("unidad", "unit"),
    ("barcodes", "barcodes"),
    ("barcode", "barcodes"),
    ("codigos", "barcodes"),
    ("códigos", "barcodes"),
    ("ean", "barcodes"),
    ("cost", "cost"),
    ("costo", "cost"),
    ("price", "price"),
    ("precio", "price"),
    ("vat_rate", "vat_rate"),
    ("iva", "vat_rate"),
    ("active", "active"),
    ("activo", "active"),
];

const REQUIRED: &[&str] = &["name", "category", "cost", "price", "vat_rate"];

impl App {
    /// Imports products from CSV bytes (`,` or `;` separated, UTF-8, optional BOM).
    /// Rows are matched by SKU, then by barcode, so a re-import updates instead of duplicating.
    pub async fn import_products(&self, actor: &Principal, data: &[u8]) -> Result<ImportReport> {
        actor.require(domain::auth::Permission::CatalogWrite)?;
        let data = data.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(data);
        let first_line = data.split(|b| *b == b'\n').next().unwrap_or_default();
        let delimiter = if first_line.iter().filter(|b| **b == b';').count()
            > first_line.iter().filter(|b| **b == b',').count()
        {
            b';'
        } else {
            b','
        };
        let mut reader = csv::ReaderBuilder::new()
            .delimiter(delimiter)
            .flexible(true)
            .trim(csv::Trim::All)
            .from_reader(data);
        let headers = reader
            .headers()
            .map_err(|e| Error::invalid("file", "csv", format!("encabezado ilegible: {e}")))?
            .clone();
        let mut index: HashMap<&str, usize> = HashMap::new();
        for (i, h) in headers.iter().enumerate() {
            let h = h.to_lowercase();
            match COLUMNS.iter().find(|(alias, _)| *alias == h) {
                Some((_, field)) => {
                    index.insert(field, i);
                }
                None => {
                    return Err(Error::invalid(
                        "file",
                        "unknown_column",
                        format!("columna desconocida «{h}»"),
                    ));
                }
            }
        }
        if let Some(missing) = REQUIRED.iter().find(|f| !index.contains_key(*f)) {
            return Err(Error::invalid(
                "file",
                "missing_column",
                format!("falta la columna «{missing}»"),
            ));
        }

        let mut report = ImportReport::default();
        for record in reader.records() {
            let record = match record {
                Ok(r) => r,
                Err(e) => {
                    let line = e.position().map_or(0, |p| p.line());
                    report.errors.push(RowError {
                        line,
                        field: "file".into(),
                        reason: format!("fila ilegible: {e}"),
                    });
                    continue;
                }
            };
            let line = record.position().map_or(0, |p| p.line());
            let get = |f: &str| {
                index
                    .get(f)
                    .and_then(|i| record.get(*i))
                    .unwrap_or("")
                    .to_owned()
            };
            let active = match get("active").to_lowercase().as_str() {
                "" | "1" | "true" | "si" | "sí" => true,
                "0" | "false" | "no" => false,
                other => {
                    report.errors.push(RowError {
                        line,
                        field: "active".into(),
                        reason: format!("«{other}» no es sí/no"),
                    });
                    continue;
                }
            };
            let barcodes: Vec<BarcodeInput> = get("barcodes")
                .split(['|', ' '])
                .filter(|s| !s.is_empty())
                .map(|s| BarcodeInput::Code(s.to_owned()))
                .collect();
            let first_barcode = match barcodes.first() {
                Some(BarcodeInput::Code(c)) => Some(c.clone()),
                _ => None,
            };
            let sku = get("sku");
            let existing = if !sku.is_empty() {
                self.find_product(ProductQuery {
                    sku: Some(sku.clone()),
                    ..Default::default()
                })
                .await?
            } else if let Some(code) = &first_barcode {
                self.find_product(ProductQuery {
                    barcode: Some(code.clone()),
                    ..Default::default()
                })
                .await?
            } else {
                report.errors.push(RowError {
                    line,
                    field: "sku".into(),
                    reason: "cada fila necesita SKU o código de barras para poder reimportarse"
                        .into(),
                });
                continue;
            };
            // An update keeps whatever the file does not carry: supplier, stock limits, and the
            // optional columns when they are absent.
            let has = |f: &str| index.contains_key(f);
            let input = ProductInput {
                sku: (!sku.is_empty()).then_some(sku),
                name: get("name"),
                category: get("category"),
                brand: match (&existing, has("brand")) {
                    (Some(p), false) => Some(p.brand.clone()),
                    _ => Some(get("brand")),
                },
                unit: match (&existing, has("unit")) {
                    (Some(p), false) => Some(p.unit.as_str().to_owned()),
                    _ => Some(get("unit")),
                },
                barcodes,
                cost: get("cost"),
                price: get("price"),
                vat_rate: get("vat_rate"),
                supplier_id: existing.as_ref().and_then(|p| p.supplier_id),
                plu: existing.as_ref().and_then(|p| p.plu),
                stock_limits: existing
                    .as_ref()
                    .map(|p| {
                        p.stock_limits
                            .iter()
                            .map(|l| StockLimitInput {
                                location: l.location.clone(),
                                min: l.min.to_string(),
                                max: l.max.to_string(),
                            })
                            .collect()
                    })
                    .unwrap_or_default(),
                active: match (&existing, has("active")) {
                    (Some(p), false) => Some(p.active),
                    _ => Some(active),
                },
            };
            let mode = match &existing {
                Some(p) => UpsertMode::Update(p.id),
                None => UpsertMode::Create,
            };
            let meta = self.meta(actor, None);
            match self.save_product(actor, input, mode, meta).await {
                Ok(w) if w.value.created => report.created += 1,
                Ok(_) => report.updated += 1,
                Err(Error::Invalid { field, message, .. })
                | Err(Error::UnknownReference { field, message }) => report.errors.push(RowError {
                    line,
                    field,
                    reason: message,
                }),
                Err(Error::Conflict { field, message, .. }) => report.errors.push(RowError {
                    line,
                    field: field.unwrap_or_else(|| "row".into()),
                    reason: message,
                }),
                Err(e) => return Err(e),
            }
        }
        Ok(report)
    }

    /// The product an exact SKU or barcode query identifies, if any.
    async fn find_product(&self, q: ProductQuery) -> Result<Option<Product>> {
        Ok(self
            .store
            .search_products(&q, PageRequest::first(1))
            .await?
            .items
            .pop())
    }
}
