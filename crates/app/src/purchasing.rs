//! Negocio's purchasing: purchase orders to suppliers and receiving (remitos), with or without
//! an order, which post receipts to the ledger and update the weighted average cost.

use chrono::{DateTime, NaiveDate, Utc};
use domain::auth::Permission;
use domain::purchasing::PoStatus;
use domain::{Money, Qty};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::App;
use crate::catalog::{ProductRef, location_code, lot_and_expiry, text};
use crate::error::{Error, FieldContext, Result};
use crate::page::{Page, PageRequest};
use crate::write::{Principal, WriteMeta, Written};

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct PurchaseOrderLine {
    pub line: i64,
    pub product_id: i64,
    pub sku: String,
    #[schema(value_type = String)]
    pub quantity: Qty,
    #[schema(value_type = String)]
    pub received: Qty,
    /// Agreed cost per unit, without IVA.
    #[schema(value_type = String)]
    pub unit_cost: Money,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct PurchaseOrder {
    pub id: i64,
    pub supplier_id: i64,
    pub location: String,
    #[schema(value_type = String, example = "draft")]
    pub status: PoStatus,
    pub notes: String,
    pub lines: Vec<PurchaseOrderLine>,
    #[schema(value_type = String)]
    pub total: Money,
    pub created_by: String,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

#[derive(Clone, Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ItemInput {
    #[serde(default)]
    pub product_id: Option<i64>,
    #[serde(default)]
    pub sku: Option<String>,
    #[serde(default)]
    pub barcode: Option<String>,
    #[schema(example = "24")]
    pub quantity: String,
    /// Cost per unit without IVA; on receipts defaults to the order's, else the product's.
    #[serde(default)]
    #[schema(example = "1850.00")]
    pub unit_cost: Option<String>,
    /// Receipts only.
    #[serde(default)]
    pub lot: Option<String>,
    /// Receipts only, YYYY-MM-DD.
    #[serde(default)]
    pub expiry: Option<String>,
}

#[derive(Clone, Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PurchaseOrderInput {
    pub supplier_id: i64,
    /// Location code the goods go to.
    pub location: String,
    pub lines: Vec<ItemInput>,
    #[serde(default)]
    pub notes: Option<String>,
}

#[derive(Clone, Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ReceiptInput {
    /// Receive against this order (partial deliveries allowed); omit for a direct receipt.
    #[serde(default)]
    pub purchase_order_id: Option<i64>,
    #[serde(default)]
    pub supplier_id: Option<i64>,
    pub location: String,
    /// The supplier's delivery note number.
    #[serde(default)]
    #[schema(example = "0001-00012345")]
    pub remito: Option<String>,
    /// Needed to receive more than the order still expects.
    #[serde(default)]
    pub allow_over_receipt: bool,
    pub lines: Vec<ItemInput>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct NewItem {
    pub product: ProductRefKey,
    pub quantity: Qty,
    pub unit_cost: Option<Money>,
    pub lot: Option<String>,
    pub expiry: Option<NaiveDate>,
}

/// A serialisable product reference (the store resolves it).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum ProductRefKey {
    Id(i64),
    Sku(String),
    Barcode(String),
}

impl From<&ProductRef> for ProductRefKey {
    fn from(r: &ProductRef) -> Self {
        match r {
            ProductRef::Id(i) => ProductRefKey::Id(*i),
            ProductRef::Sku(s) => ProductRefKey::Sku(s.as_str().to_owned()),
            ProductRef::Barcode(g) => ProductRefKey::Barcode(g.as_str().to_owned()),
        }
    }
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct NewPurchaseOrder {
    pub supplier_id: i64,
    pub location: String,
    pub notes: String,
    pub lines: Vec<NewItem>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct NewReceipt {
    pub purchase_order_id: Option<i64>,
    pub supplier_id: Option<i64>,
    pub location: String,
    pub remito: Option<String>,
    pub allow_over_receipt: bool,
    pub lines: Vec<NewItem>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct ReceiptLine {
    pub line: i64,
    pub product_id: i64,
    pub sku: String,
    #[schema(value_type = String)]
    pub quantity: Qty,
    #[schema(value_type = String)]
    pub unit_cost: Money,
    pub lot: Option<String>,
    pub expiry: Option<NaiveDate>,
    /// The product's weighted average cost after this line.
    #[schema(value_type = String)]
    pub average_cost: Money,
    /// The product's cost before this line.
    #[serde(default)]
    #[schema(value_type = String)]
    pub previous_cost: Money,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct Receipt {
    pub id: i64,
    pub purchase_order_id: Option<i64>,
    /// The order's status after this delivery.
    #[schema(value_type = Option<String>)]
    pub purchase_order_status: Option<PoStatus>,
    pub supplier_id: Option<i64>,
    pub location: String,
    pub remito: Option<String>,
    pub lines: Vec<ReceiptLine>,
    pub created_at: DateTime<Utc>,
    /// When a line costs more than the previous cost by over the configured threshold: a
    /// previewed repricing of those products, to apply with `POST /api/v1/price-updates/{id}/apply`.
    #[serde(default)]
    pub repricing: Option<crate::pricing::PricePreview>,
}

fn parse_items(lines: Vec<ItemInput>, receipts: bool) -> Result<Vec<NewItem>> {
    if lines.is_empty() {
        return Err(Error::invalid(
            "lines",
            "required",
            "indique al menos una línea",
        ));
    }
    if lines.len() > 1000 {
        return Err(Error::invalid(
            "lines",
            "length",
            "hasta 1000 líneas por documento",
        ));
    }
    let mut out = Vec::with_capacity(lines.len());
    for (i, l) in lines.into_iter().enumerate() {
        let f = |n: &str| format!("lines[{i}].{n}");
        let product = ProductRef::from_fields(l.product_id, l.sku.as_deref(), l.barcode.as_deref())
            .map_err(|e| e.under(&format!("lines[{i}]")))?;
        let quantity = Qty::parse(&l.quantity).field(&f("quantity"))?;
        if !quantity.is_positive() {
            return Err(Error::invalid(
                f("quantity"),
                "positive",
                "la cantidad debe ser mayor que cero",
            ));
        }
        let unit_cost = l
            .unit_cost
            .as_deref()
            .map(Money::parse_non_negative)
            .transpose()
            .field(&f("unit_cost"))?;
        if !receipts && unit_cost.is_none() {
            return Err(Error::invalid(
                f("unit_cost"),
                "required",
                "la orden de compra necesita el costo acordado",
            ));
        }
        if !receipts && (l.lot.is_some() || l.expiry.is_some()) {
            return Err(Error::invalid(
                f("lot"),
                "receipts_only",
                "lote y vencimiento se cargan al recibir",
            ));
        }
        let (lot, expiry) = lot_and_expiry(f, l.lot.as_deref(), l.expiry.as_deref())?;
        out.push(NewItem {
            product: ProductRefKey::from(&product),
            quantity,
            unit_cost,
            lot,
            expiry,
        });
    }
    Ok(out)
}

impl App {
    pub async fn create_purchase_order(
        &self,
        actor: &Principal,
        input: PurchaseOrderInput,
        meta: WriteMeta,
    ) -> Result<Written<PurchaseOrder>> {
        actor.require(Permission::PurchasingWrite)?;
        let new = NewPurchaseOrder {
            supplier_id: input.supplier_id,
            location: location_code("location", &input.location)?,
            notes: text("notes", input.notes.as_deref().unwrap_or(""), 0, 1000)?,
            lines: parse_items(input.lines, false)?,
        };
        self.store.create_purchase_order(&meta, new).await
    }

    pub async fn set_purchase_order_status(
        &self,
        actor: &Principal,
        id: i64,
        to: PoStatus,
        meta: WriteMeta,
    ) -> Result<PurchaseOrder> {
        actor.require(Permission::PurchasingWrite)?;
        self.store.set_purchase_order_status(&meta, id, to).await
    }

    pub async fn purchase_order(&self, actor: &Principal, id: i64) -> Result<PurchaseOrder> {
        actor.require(Permission::StockRead)?;
        self.store
            .get_purchase_order(id)
            .await?
            .ok_or_else(|| Error::NotFound {
                entity: "orden de compra",
                key: id.to_string(),
            })
    }

    pub async fn purchase_orders(
        &self,
        actor: &Principal,
        page: PageRequest,
    ) -> Result<Page<PurchaseOrder>> {
        actor.require(Permission::StockRead)?;
        self.store.list_purchase_orders(page).await
    }

    /// Orders newest first, optionally of one status.
    pub async fn purchase_orders_by_status(
        &self,
        actor: &Principal,
        status: Option<PoStatus>,
        page: PageRequest,
    ) -> Result<Page<PurchaseOrder>> {
        actor.require(Permission::StockRead)?;
        self.store
            .list_purchase_orders_by_status(status, page)
            .await
    }

    pub async fn receive(
        &self,
        actor: &Principal,
        input: ReceiptInput,
        meta: WriteMeta,
    ) -> Result<Written<Receipt>> {
        actor.require(Permission::PurchasingWrite)?;
        let new = NewReceipt {
            purchase_order_id: input.purchase_order_id,
            supplier_id: input.supplier_id,
            location: location_code("location", &input.location)?,
            remito: match input.remito.as_deref().map(str::trim) {
                None | Some("") => None,
                Some(r) => Some(text("remito", r, 1, 40)?),
            },
            allow_over_receipt: input.allow_over_receipt,
            lines: parse_items(input.lines, true)?,
        };
        let mut written = self.store.post_receipt(&meta, new).await?;
        if !written.replayed {
            written.value.repricing = self.propose_repricing(&written.value, &meta).await?;
            crate::telemetry::movements_posted(
                written
                    .value
                    .lines
                    .iter()
                    .map(|_| domain::ledger::MovementKind::Receipt),
            );
        }
        Ok(written)
    }
}
