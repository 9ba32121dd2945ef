//! Depósito's catalogue: products, barcodes, categories, suppliers and locations.

use chrono::{DateTime, Utc};
use domain::auth::Permission;
use domain::catalog::{LocationKind, UnitOfMeasure, VatCondition, VatRate};
use domain::{Cuit, Gtin, Money, Qty, Sku};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::App;
use crate::error::{Error, FieldContext, Result};
use crate::page::{Page, PageRequest};
use crate::write::{Principal, WriteMeta, Written};

// ---------------------------------------------------------------- read models

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct Category {
    pub id: i64,
    pub name: String,
    /// Prefix of generated SKUs, e.g. `ALM` → `ALM000123`.
    pub sku_prefix: String,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct Supplier {
    pub id: i64,
    pub name: String,
    /// Shown as `30-71234567-8`.
    #[schema(value_type = String, example = "30-71234567-1")]
    pub cuit: Cuit,
    #[schema(value_type = String, example = "responsable_inscripto")]
    pub vat_condition: VatCondition,
    pub lead_time_days: i64,
    pub contact: String,
    pub active: bool,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct Location {
    pub id: i64,
    pub code: String,
    pub name: String,
    #[schema(value_type = String, example = "store")]
    pub kind: LocationKind,
    pub active: bool,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct Barcode {
    pub code: String,
    /// Units the barcode stands for (a case of 12 has pack 12).
    pub pack: i64,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct StockLimit {
    pub location: String,
    #[schema(value_type = String, example = "10")]
    pub min: Qty,
    #[schema(value_type = String, example = "40")]
    pub max: Qty,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct Product {
    pub id: i64,
    pub sku: String,
    pub name: String,
    pub category: String,
    pub brand: String,
    #[schema(value_type = String, example = "unit")]
    pub unit: UnitOfMeasure,
    pub barcodes: Vec<Barcode>,
    /// Replacement cost per unit of measure, without IVA.
    #[schema(value_type = String, example = "1850.00")]
    pub cost: Money,
    /// Shelf price with IVA included.
    #[schema(value_type = String, example = "2599.00")]
    pub price: Money,
    #[schema(value_type = String, example = "21")]
    pub vat_rate: VatRate,
    pub supplier_id: Option<i64>,
    /// Item code the shop's scale prints inside weight and price barcodes.
    pub plu: Option<i64>,
    pub active: bool,
    pub stock_limits: Vec<StockLimit>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

// ---------------------------------------------------------------- inputs

#[derive(Clone, Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SupplierInput {
    pub name: String,
    /// With or without dashes; the check digit is verified.
    #[schema(example = "30-71234567-1")]
    pub cuit: String,
    /// responsable_inscripto | monotributo | exento | consumidor_final
    #[schema(example = "responsable_inscripto")]
    pub vat_condition: String,
    #[serde(default)]
    pub lead_time_days: Option<i64>,
    #[serde(default)]
    pub contact: Option<String>,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NewSupplier {
    pub name: String,
    pub cuit: Cuit,
    pub vat_condition: VatCondition,
    pub lead_time_days: i64,
    pub contact: String,
}

impl SupplierInput {
    pub fn parse(self) -> Result<NewSupplier> {
        Ok(NewSupplier {
            name: text("name", &self.name, 1, 200)?,
            cuit: Cuit::parse(&self.cuit).field("cuit")?,
            vat_condition: VatCondition::parse(&self.vat_condition).field("vat_condition")?,
            lead_time_days: match self.lead_time_days {
                None => 2,
                Some(d @ 0..=365) => d,
                Some(_) => {
                    return Err(Error::invalid(
                        "lead_time_days",
                        "range",
                        "el plazo de entrega debe estar entre 0 y 365 días",
                    ));
                }
            },
            contact: text("contact", self.contact.as_deref().unwrap_or(""), 0, 500)?,
        })
    }
}

#[derive(Clone, Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct LocationInput {
    /// Short code used everywhere else, e.g. `DEP`, `S01`.
    #[schema(example = "S01")]
    pub code: String,
    pub name: String,
    /// warehouse | store
    #[schema(example = "store")]
    pub kind: String,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NewLocation {
    pub code: String,
    pub name: String,
    pub kind: LocationKind,
}

impl LocationInput {
    pub fn parse(self) -> Result<NewLocation> {
        Ok(NewLocation {
            code: location_code("code", &self.code)?,
            name: text("name", &self.name, 1, 120)?,
            kind: LocationKind::parse(&self.kind).field("kind")?,
        })
    }
}

/// A location code: 1–16 of A–Z, 0–9, `-`, `_`, stored upper-cased; errors name `field`.
pub fn location_code(field: &str, raw: &str) -> Result<String> {
    let code = raw.trim().to_uppercase();
    if code.is_empty()
        || code.len() > 16
        || !code
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
    {
        return Err(Error::invalid(
            field,
            "format",
            "el código de ubicación debe tener de 1 a 16 letras, números, '-' o '_'",
        ));
    }
    Ok(code)
}

#[derive(Clone, Debug, Deserialize, ToSchema)]
#[serde(untagged)]
pub enum BarcodeInput {
    Code(String),
    Pack { code: String, pack: i64 },
}

#[derive(Clone, Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct StockLimitInput {
    pub location: String,
    #[schema(example = "10")]
    pub min: String,
    #[schema(example = "40")]
    pub max: String,
}

#[derive(Clone, Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ProductInput {
    /// Omit to generate one from the category prefix (`ALM000123`).
    #[serde(default)]
    pub sku: Option<String>,
    pub name: String,
    /// Category name; created on first use.
    pub category: String,
    #[serde(default)]
    pub brand: Option<String>,
    /// unit | kg | l (default unit)
    #[serde(default)]
    #[schema(example = "unit")]
    pub unit: Option<String>,
    /// EAN-13, EAN-8 or UPC-A, as a string or `{code, pack}`.
    #[serde(default)]
    pub barcodes: Vec<BarcodeInput>,
    #[schema(example = "1850.00")]
    pub cost: String,
    #[schema(example = "2599.00")]
    pub price: String,
    /// 0 | 10.5 | 21 | 27
    #[schema(example = "21")]
    pub vat_rate: String,
    #[serde(default)]
    pub supplier_id: Option<i64>,
    /// Scale item code (PLU), 1–99999, for products weighed at the counter.
    #[serde(default)]
    pub plu: Option<i64>,
    #[serde(default)]
    pub stock_limits: Vec<StockLimitInput>,
    #[serde(default)]
    pub active: Option<bool>,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NewBarcode {
    pub gtin: Gtin,
    pub pack: i64,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NewStockLimit {
    pub location: String,
    pub min: Qty,
    pub max: Qty,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NewProduct {
    pub sku: Option<Sku>,
    pub name: String,
    pub category: String,
    pub brand: String,
    pub unit: UnitOfMeasure,
    pub barcodes: Vec<NewBarcode>,
    pub cost: Money,
    pub price: Money,
    pub vat_rate: VatRate,
    pub supplier_id: Option<i64>,
    pub plu: Option<i64>,
    pub stock_limits: Vec<NewStockLimit>,
    pub active: bool,
}

impl ProductInput {
    pub fn parse(self) -> Result<NewProduct> {
        let unit = match self.unit.as_deref() {
            None | Some("") => UnitOfMeasure::Unit,
            Some(u) => UnitOfMeasure::parse(u).field("unit")?,
        };
        let mut barcodes: Vec<NewBarcode> = Vec::with_capacity(self.barcodes.len());
        for (i, b) in self.barcodes.into_iter().enumerate() {
            let field = format!("barcodes[{i}]");
            let (code, pack) = match b {
                BarcodeInput::Code(c) => (c, 1),
                BarcodeInput::Pack { code, pack } => (code, pack),
            };
            let gtin = Gtin::parse(&code).field(&field)?;
            if !(1..=10_000).contains(&pack) {
                return Err(Error::invalid(
                    format!("{field}.pack"),
                    "range",
                    "un bulto debe tener entre 1 y 10000 unidades",
                ));
            }
            if barcodes.iter().any(|b| b.gtin == gtin) {
                return Err(Error::invalid(
                    field,
                    "duplicate",
                    "el código de barras está repetido",
                ));
            }
            barcodes.push(NewBarcode { gtin, pack });
        }
        let mut stock_limits = Vec::with_capacity(self.stock_limits.len());
        for (i, l) in self.stock_limits.into_iter().enumerate() {
            let field = format!("stock_limits[{i}]");
            let min = Qty::parse(&l.min).field(&format!("{field}.min"))?;
            let max = Qty::parse(&l.max).field(&format!("{field}.max"))?;
            unit.check_qty(min).field(&format!("{field}.min"))?;
            unit.check_qty(max).field(&format!("{field}.max"))?;
            if min.is_negative() || max < min {
                return Err(Error::invalid(
                    format!("{field}.max"),
                    "range",
                    "el mínimo no puede ser negativo ni mayor que el máximo",
                ));
            }
            let location = location_code(&format!("{field}.location"), &l.location)?;
            stock_limits.push(NewStockLimit { location, min, max });
        }
        Ok(NewProduct {
            sku: match self.sku.as_deref().map(str::trim) {
                None | Some("") => None,
                Some(s) => Some(Sku::parse(s).field("sku")?),
            },
            name: text("name", &self.name, 1, 200)?,
            category: text("category", &self.category, 1, 80)?,
            brand: text("brand", self.brand.as_deref().unwrap_or(""), 0, 100)?,
            unit,
            barcodes,
            cost: Money::parse_non_negative(&self.cost).field("cost")?,
            price: Money::parse_non_negative(&self.price).field("price")?,
            vat_rate: VatRate::parse(&self.vat_rate).field("vat_rate")?,
            supplier_id: self.supplier_id,
            plu: match self.plu {
                None => None,
                Some(p @ 1..=99_999) => Some(p),
                Some(_) => {
                    return Err(Error::invalid(
                        "plu",
                        "range",
                        "el código de balanza (PLU) va de 1 a 99999",
                    ));
                }
            },
            stock_limits,
            active: self.active.unwrap_or(true),
        })
    }
}

/// Trims and bounds a free-text field; control characters are refused.
pub fn text(field: &str, raw: &str, min: usize, max: usize) -> Result<String> {
    let t = raw.trim();
    let n = t.chars().count();
    if n < min {
        return Err(Error::invalid(
            field,
            "required",
            format!("{field} es obligatorio"),
        ));
    }
    if n > max {
        return Err(Error::invalid(
            field,
            "length",
            format!("{field} admite hasta {max} caracteres"),
        ));
    }
    if t.chars().any(char::is_control) {
        return Err(Error::invalid(
            field,
            "charset",
            format!("{field} contiene caracteres de control"),
        ));
    }
    Ok(t.to_owned())
}

/// An optional free-text field: blank is absent.
pub fn optional_text(field: &str, raw: Option<&str>, max: usize) -> Result<Option<String>> {
    match raw.map(str::trim) {
        None | Some("") => Ok(None),
        Some(t) => Ok(Some(text(field, t, 1, max)?)),
    }
}

/// A lot code and its expiry (AAAA-MM-DD); an expiry needs a lot. `field` names the sibling fields.
pub fn lot_and_expiry(
    field: impl Fn(&str) -> String,
    lot: Option<&str>,
    expiry: Option<&str>,
) -> Result<(Option<String>, Option<chrono::NaiveDate>)> {
    let lot = optional_text(&field("lot"), lot, 64)?;
    let expiry = match expiry.map(str::trim) {
        None | Some("") => None,
        Some(d) => Some(
            chrono::NaiveDate::parse_from_str(d, "%Y-%m-%d").map_err(|_| {
                Error::invalid(
                    field("expiry"),
                    "date_format",
                    "la fecha de vencimiento debe ser AAAA-MM-DD",
                )
            })?,
        ),
    };
    if expiry.is_some() && lot.is_none() {
        return Err(Error::invalid(
            field("lot"),
            "required_with_expiry",
            "un vencimiento necesita un código de lote",
        ));
    }
    Ok((lot, expiry))
}

/// Lower-case without accents: what product search compares against.
pub fn search_key(s: &str) -> String {
    s.chars()
        .flat_map(char::to_lowercase)
        .map(|c| match c {
            'á' | 'à' | 'ä' | 'â' => 'a',
            'é' | 'è' | 'ë' | 'ê' => 'e',
            'í' | 'ì' | 'ï' | 'î' => 'i',
            'ó' | 'ò' | 'ö' | 'ô' => 'o',
            'ú' | 'ù' | 'ü' | 'û' => 'u',
            'ñ' => 'n',
            c => c,
        })
        .collect()
}

/// Default SKU prefix of a category: its first three letters, upper-cased, without accents.
pub fn sku_prefix_for(category: &str) -> String {
    let p: String = search_key(category)
        .chars()
        .filter(|c| c.is_ascii_alphanumeric())
        .take(3)
        .collect::<String>()
        .to_uppercase();
    if p.is_empty() { "PRD".into() } else { p }
}

/// How a product is identified in stock and sales requests.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ProductRef {
    Id(i64),
    Sku(Sku),
    Barcode(Gtin),
}

impl ProductRef {
    /// Exactly one of the three must be given.
    pub fn from_fields(id: Option<i64>, sku: Option<&str>, barcode: Option<&str>) -> Result<Self> {
        match (id, sku, barcode) {
            (Some(id), None, None) => Ok(ProductRef::Id(id)),
            (None, Some(s), None) => Ok(ProductRef::Sku(Sku::parse(s).field("sku")?)),
            (None, None, Some(b)) => Ok(ProductRef::Barcode(Gtin::parse(b).field("barcode")?)),
            _ => Err(Error::invalid(
                "product_id",
                "one_of",
                "indique exactamente uno de product_id, sku o barcode",
            )),
        }
    }

    pub fn field(&self) -> &'static str {
        match self {
            ProductRef::Id(_) => "product_id",
            ProductRef::Sku(_) => "sku",
            ProductRef::Barcode(_) => "barcode",
        }
    }

    pub fn describe(&self) -> String {
        match self {
            ProductRef::Id(i) => i.to_string(),
            ProductRef::Sku(s) => s.to_string(),
            ProductRef::Barcode(g) => g.to_string(),
        }
    }
}

#[derive(Clone, Debug, Default, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ProductQuery {
    /// Name (accents ignored), SKU or barcode.
    pub q: Option<String>,
    /// Exactly this SKU.
    pub sku: Option<String>,
    /// Exactly this barcode.
    pub barcode: Option<String>,
    pub category: Option<String>,
    pub active: Option<bool>,
}

/// Whether an upsert may create, update, or both (CSV re-imports update by SKU).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum UpsertMode {
    Create,
    Update(i64),
    CreateOrUpdateBySku,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct UpsertedProduct {
    pub product: Product,
    pub created: bool,
}

// ---------------------------------------------------------------- use cases

impl App {
    pub async fn create_supplier(
        &self,
        actor: &Principal,
        input: SupplierInput,
        meta: WriteMeta,
    ) -> Result<Written<Supplier>> {
        actor.require(Permission::CatalogWrite)?;
        let new = input.parse()?;
        self.store.create_supplier(&meta, new).await
    }

    pub async fn create_location(
        &self,
        actor: &Principal,
        input: LocationInput,
        meta: WriteMeta,
    ) -> Result<Written<Location>> {
        actor.require(Permission::AdminTools)?;
        let new = input.parse()?;
        self.store.create_location(&meta, new).await
    }

    pub async fn save_product(
        &self,
        actor: &Principal,
        input: ProductInput,
        mode: UpsertMode,
        meta: WriteMeta,
    ) -> Result<Written<UpsertedProduct>> {
        actor.require(Permission::CatalogWrite)?;
        let new = input.parse()?;
        if matches!(mode, UpsertMode::CreateOrUpdateBySku) && new.sku.is_none() {
            return Err(Error::invalid(
                "sku",
                "required",
                "la importación necesita el SKU para poder actualizar",
            ));
        }
        self.store.upsert_product(&meta, new, mode).await
    }

    pub async fn set_product_active(
        &self,
        actor: &Principal,
        id: i64,
        active: bool,
        meta: WriteMeta,
    ) -> Result<Product> {
        actor.require(Permission::CatalogWrite)?;
        self.store.set_product_active(&meta, id, active).await
    }

    pub async fn product(&self, actor: &Principal, id: i64) -> Result<Product> {
        actor.require(Permission::CatalogRead)?;
        self.store
            .get_product(id)
            .await?
            .ok_or_else(|| Error::NotFound {
                entity: "producto",
                key: id.to_string(),
            })
    }

    pub async fn products(
        &self,
        actor: &Principal,
        q: ProductQuery,
        page: PageRequest,
    ) -> Result<Page<Product>> {
        actor.require(Permission::CatalogRead)?;
        self.store.search_products(&q, page).await
    }

    pub async fn supplier(&self, actor: &Principal, id: i64) -> Result<Supplier> {
        actor.require(Permission::CatalogRead)?;
        self.store
            .get_supplier(id)
            .await?
            .ok_or_else(|| Error::NotFound {
                entity: "proveedor",
                key: id.to_string(),
            })
    }

    pub async fn suppliers(&self, actor: &Principal, page: PageRequest) -> Result<Page<Supplier>> {
        actor.require(Permission::CatalogRead)?;
        self.store.list_suppliers(page).await
    }

    pub async fn location(&self, actor: &Principal, id: i64) -> Result<Location> {
        actor.require(Permission::StockRead)?;
        self.store
            .get_location(id)
            .await?
            .ok_or_else(|| Error::NotFound {
                entity: "ubicación",
                key: id.to_string(),
            })
    }

    pub async fn locations(&self, actor: &Principal, page: PageRequest) -> Result<Page<Location>> {
        actor.require(Permission::StockRead)?;
        self.store.list_locations(page).await
    }

    /// The codes of the locations a caller limited to some locations may see; `None` for a
    /// caller who may see every location.
    pub async fn visible_location_codes(&self, actor: &Principal) -> Result<Option<Vec<String>>> {
        let Some(ids) = actor.locations.as_ref() else {
            return Ok(None);
        };
        let mut codes = Vec::with_capacity(ids.len());
        for id in ids {
            if let Some(l) = self.store.get_location(*id).await? {
                codes.push(l.code);
            }
        }
        Ok(Some(codes))
    }

    /// Refuses a read of `code`'s restricted data (tickets, shifts, the movement log) to a
    /// caller limited to other locations.
    pub async fn require_visible_location(&self, actor: &Principal, code: &str) -> Result<()> {
        match self.visible_location_codes(actor).await? {
            Some(codes) if !codes.iter().any(|c| c == code) => Err(Error::Forbidden(format!(
                "no tiene permiso para ver datos de la ubicación {code}"
            ))),
            _ => Ok(()),
        }
    }

    pub async fn categories(&self, actor: &Principal) -> Result<Vec<Category>> {
        actor.require(Permission::CatalogRead)?;
        self.store.list_categories().await
    }
}
