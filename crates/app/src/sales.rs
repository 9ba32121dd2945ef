//! Negocio's till: shifts (apertura y cierre de caja), POS tickets, returns and voids.

use chrono::{DateTime, Utc};
use domain::auth::{Permission, Role};
use domain::catalog::{UnitOfMeasure, VatRate};
use domain::sale::{
    self, Discount, LineInput, Payment, PaymentMethod, PricedLine, PricedTicket, ScaleFormat,
    ScaleReading, Settlement, VatBreakdown,
};
use domain::{Gtin, Money, Qty};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::App;
use crate::catalog::{ProductRef, location_code, text};
use crate::error::{Error, FieldContext, Result};
use crate::write::{Principal, WriteMeta, Written};

// ---------------------------------------------------------------- settings

/// Largest ticket discount each role may give, in basis points of the subtotal.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct DiscountLimits {
    pub cashier: i64,
    pub manager: i64,
    pub admin: i64,
}

impl Default for DiscountLimits {
    fn default() -> Self {
        DiscountLimits {
            cashier: 1000,
            manager: 5000,
            admin: 10000,
        }
    }
}

#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct SalesSettings {
    pub max_discount_bp: DiscountLimits,
    /// How the shop's scales print weight and price barcodes.
    pub scale: ScaleFormat,
}

impl SalesSettings {
    fn discount_limit(&self, role: Role) -> i64 {
        match role {
            Role::Admin => self.max_discount_bp.admin,
            Role::Manager => self.max_discount_bp.manager,
            Role::Cashier => self.max_discount_bp.cashier,
            Role::Warehouse | Role::Viewer => 0,
        }
    }
}

// ---------------------------------------------------------------- shifts

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct MethodAmount {
    #[schema(value_type = String, example = "cash")]
    pub method: PaymentMethod,
    #[schema(value_type = String, example = "15000.00")]
    pub amount: Money,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct Shift {
    pub id: i64,
    pub location: String,
    pub till: String,
    /// open | closed
    pub status: String,
    #[schema(value_type = String)]
    pub opening_float: Money,
    pub opened_by: String,
    pub opened_at: DateTime<Utc>,
    pub closed_by: Option<String>,
    pub closed_at: Option<DateTime<Utc>>,
    /// What the till should hold per payment method (cash includes the opening float).
    pub expected: Vec<MethodAmount>,
    /// What was counted at closing.
    pub counted: Vec<MethodAmount>,
    /// counted − expected per method; negative is a shortfall.
    pub difference: Vec<MethodAmount>,
    pub tickets: i64,
}

#[derive(Clone, Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ShiftInput {
    /// Location code of the store.
    #[schema(example = "S01")]
    pub location: String,
    /// The till (caja) name or number, e.g. "1".
    #[schema(example = "1")]
    pub till: String,
    #[schema(example = "20000.00")]
    pub opening_float: String,
}

#[derive(Clone, Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CloseShiftInput {
    /// Counted cash in the drawer.
    #[schema(example = "48250.00")]
    pub cash: String,
    /// Counted totals of the other methods (card batch, transfers); absent means as expected.
    #[serde(default)]
    pub debit: Option<String>,
    #[serde(default)]
    pub credit: Option<String>,
    #[serde(default)]
    pub transfer: Option<String>,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NewShift {
    pub location: String,
    pub till: String,
    pub opening_float: Money,
}

// ---------------------------------------------------------------- tickets

#[derive(Clone, Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SaleLineInput {
    #[serde(default)]
    pub product_id: Option<i64>,
    #[serde(default)]
    pub sku: Option<String>,
    /// Product, pack or scale barcode.
    #[serde(default)]
    pub barcode: Option<String>,
    /// Units or kg; default 1. Scale barcodes carry their own weight.
    #[serde(default)]
    #[schema(example = "2")]
    pub quantity: Option<String>,
    /// "10%" or an amount "150.00".
    #[serde(default)]
    pub discount: Option<String>,
}

#[derive(Clone, Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PaymentInput {
    /// cash | debit | credit | transfer (transfer covers QR wallets)
    #[schema(example = "cash")]
    pub method: String,
    #[schema(example = "10000.00")]
    pub amount: String,
}

#[derive(Clone, Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SaleInput {
    /// The open till shift the ticket belongs to; the sale's location is the shift's.
    pub shift: i64,
    pub lines: Vec<SaleLineInput>,
    pub payments: Vec<PaymentInput>,
    /// Ticket discount: "10%" or an amount.
    #[serde(default)]
    pub discount: Option<String>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct SaleLine {
    pub line: i64,
    pub product_id: i64,
    pub sku: String,
    pub name: String,
    #[schema(value_type = String, example = "2")]
    pub quantity: Qty,
    #[schema(value_type = String)]
    pub unit_price: Money,
    #[schema(value_type = String)]
    pub gross: Money,
    /// Line and ticket discount together.
    #[schema(value_type = String)]
    pub discount: Money,
    #[schema(value_type = String)]
    pub total: Money,
    #[schema(value_type = String, example = "21")]
    pub vat_rate: VatRate,
    #[schema(value_type = String)]
    pub net: Money,
    #[schema(value_type = String)]
    pub vat: Money,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct VatLine {
    #[schema(value_type = String, example = "21")]
    pub rate: VatRate,
    #[schema(value_type = String)]
    pub net: Money,
    #[schema(value_type = String)]
    pub vat: Money,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct Sale {
    pub id: i64,
    pub shift: i64,
    pub location: String,
    /// completed | voided
    pub status: String,
    pub lines: Vec<SaleLine>,
    #[schema(value_type = String)]
    pub subtotal: Money,
    #[schema(value_type = String)]
    pub discount: Money,
    #[schema(value_type = String)]
    pub total: Money,
    /// IVA discriminated by rate; Σ (net + vat) = total exactly.
    pub vat: Vec<VatLine>,
    pub payments: Vec<MethodAmount>,
    #[schema(value_type = String)]
    pub paid: Money,
    #[schema(value_type = String)]
    pub change: Money,
    pub cashier: String,
    pub created_at: DateTime<Utc>,
}

/// A ticket line ready for the store: priced, with the stock quantity it takes.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NewSaleLine {
    pub product_id: i64,
    pub sku: String,
    pub name: String,
    /// Stock quantity (after pack multiplication, or the weight of a scale label).
    pub quantity: Qty,
    pub unit_price: Money,
    pub unit_cost: Money,
    pub priced: PricedLine,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NewSale {
    pub shift: i64,
    pub lines: Vec<NewSaleLine>,
    pub subtotal: Money,
    pub discount: Money,
    pub total: Money,
    pub vat: Vec<VatBreakdown>,
    pub payments: Vec<Payment>,
    pub settlement: Settlement,
}

/// What the store knows about a product for selling it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SaleItem {
    pub product_id: i64,
    pub sku: String,
    pub name: String,
    pub unit: UnitOfMeasure,
    pub price: Money,
    pub cost: Money,
    pub vat_rate: VatRate,
    pub active: bool,
    /// Units per scanned barcode.
    pub pack: i64,
}

/// How a ticket line names its product once scale labels are decoded.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum SaleItemRef {
    Product(ProductRef),
    /// The item code (PLU) printed by the scale.
    ScaleItem(u32),
}

/// A ticket priced but not written.
struct PricedSale {
    items: Vec<SaleItem>,
    stock_qty: Vec<Qty>,
    pricing: Vec<LineInput>,
    ticket: PricedTicket,
    /// Per line: the barcode was a scale label (its own weight or price).
    scale: Vec<bool>,
}

/// One line of a quote: what the ticket would charge, before it is sold.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct QuoteLine {
    pub product_id: i64,
    pub sku: String,
    pub name: String,
    pub unit: UnitOfMeasure,
    /// The quantity charged (units, kg, or 1 for a price label).
    pub quantity: Qty,
    pub unit_price: Money,
    pub total: Money,
    /// A scale label: each scan is its own line, never merged with another.
    pub scale: bool,
}

/// A ticket priced from current prices without writing anything (the POS running total).
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct SaleQuote {
    pub lines: Vec<QuoteLine>,
    pub subtotal: Money,
    pub discount: Money,
    pub total: Money,
    pub vat: Vec<VatLine>,
}

// ---------------------------------------------------------------- returns

#[derive(Clone, Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ReturnLineInput {
    /// Line number on the ticket (1-based).
    pub line: i64,
    #[schema(example = "1")]
    pub quantity: String,
}

#[derive(Clone, Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ReturnInput {
    /// Lines to return; absent returns everything not yet returned.
    #[serde(default)]
    pub lines: Option<Vec<ReturnLineInput>>,
    pub reason: String,
    /// cash | debit | credit | transfer
    pub refund_method: String,
    /// The open shift the refund leaves from (for the cash count); optional.
    #[serde(default)]
    pub shift: Option<i64>,
}

#[derive(Clone, Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct VoidInput {
    pub reason: String,
    pub refund_method: String,
    #[serde(default)]
    pub shift: Option<i64>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct NewReturn {
    pub sale_id: i64,
    /// (ticket line, quantity); `None` is everything not yet returned.
    pub lines: Option<Vec<(i64, Qty)>>,
    pub reason: String,
    pub refund_method: PaymentMethod,
    pub shift: Option<i64>,
    pub void: bool,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct ReturnLine {
    pub line: i64,
    pub sku: String,
    #[schema(value_type = String)]
    pub quantity: Qty,
    #[schema(value_type = String)]
    pub refund: Money,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct SaleReturn {
    pub id: i64,
    pub sale_id: i64,
    pub lines: Vec<ReturnLine>,
    #[schema(value_type = String)]
    pub refund: Money,
    #[schema(value_type = String, example = "cash")]
    pub refund_method: PaymentMethod,
    pub reason: String,
    pub void: bool,
    pub created_at: DateTime<Utc>,
}

// ---------------------------------------------------------------- use cases

fn money_field(field: &str, raw: &str) -> Result<Money> {
    Money::parse_non_negative(raw).field(field)
}

impl App {
    pub async fn open_shift(
        &self,
        actor: &Principal,
        input: ShiftInput,
        meta: WriteMeta,
    ) -> Result<Written<Shift>> {
        actor.require(Permission::SalesWrite)?;
        let new = NewShift {
            location: location_code("location", &input.location)?,
            till: text("till", &input.till, 1, 20)?,
            opening_float: money_field("opening_float", &input.opening_float)?,
        };
        self.store.open_shift(&meta, new).await
    }

    pub async fn close_shift(
        &self,
        actor: &Principal,
        id: i64,
        input: CloseShiftInput,
        meta: WriteMeta,
    ) -> Result<Shift> {
        actor.require(Permission::SalesWrite)?;
        let mut counted = vec![MethodAmount {
            method: PaymentMethod::Cash,
            amount: money_field("cash", &input.cash)?,
        }];
        for (method, raw, field) in [
            (PaymentMethod::Debit, &input.debit, "debit"),
            (PaymentMethod::Credit, &input.credit, "credit"),
            (PaymentMethod::Transfer, &input.transfer, "transfer"),
        ] {
            if let Some(raw) = raw {
                counted.push(MethodAmount {
                    method,
                    amount: money_field(field, raw)?,
                });
            }
        }
        self.store.close_shift(&meta, id, counted).await
    }

    pub async fn shift(&self, actor: &Principal, id: i64) -> Result<Shift> {
        actor.require(Permission::SalesWrite)?;
        let shift = self
            .store
            .get_shift(id)
            .await?
            .ok_or_else(|| Error::NotFound {
                entity: "turno",
                key: id.to_string(),
            })?;
        self.require_visible_location(actor, &shift.location)
            .await?;
        Ok(shift)
    }

    /// Prices ticket lines from current prices without writing anything: what `sell` would
    /// charge, for the POS screen's running total.
    async fn price_sale(
        &self,
        actor: &Principal,
        lines: &[SaleLineInput],
        discount: Option<&str>,
    ) -> Result<PricedSale> {
        if lines.is_empty() {
            return Err(Error::invalid(
                "lines",
                "required",
                "el ticket no tiene líneas",
            ));
        }
        if lines.len() > 500 {
            return Err(Error::invalid(
                "lines",
                "length",
                "un ticket admite hasta 500 líneas",
            ));
        }
        let mut pricing = Vec::with_capacity(lines.len());
        let mut stock_qty = Vec::with_capacity(lines.len());
        let mut items = Vec::with_capacity(lines.len());
        let mut scale = Vec::with_capacity(lines.len());
        for (i, line) in lines.iter().enumerate() {
            let field = |f: &str| format!("lines[{i}].{f}");
            let reference = match (&line.barcode, line.product_id, &line.sku) {
                (Some(code), None, None) => {
                    let gtin = Gtin::parse(code).field(&field("barcode"))?;
                    match sale::decode_scale(&gtin, &self.settings.sales.scale) {
                        Some(reading) => {
                            (SaleItemRef::ScaleItem(scale_item(&reading)), Some(reading))
                        }
                        None => (SaleItemRef::Product(ProductRef::Barcode(gtin)), None),
                    }
                }
                _ => (
                    SaleItemRef::Product(
                        ProductRef::from_fields(line.product_id, line.sku.as_deref(), None)
                            .map_err(|e| e.under(&format!("lines[{i}]")))?,
                    ),
                    None,
                ),
            };
            let (item_ref, reading) = reference;
            let item = self.store.sale_item(&item_ref).await?.ok_or_else(|| {
                let f = if line.barcode.is_some() {
                    "barcode"
                } else if line.sku.is_some() {
                    "sku"
                } else {
                    "product_id"
                };
                Error::unknown(
                    field(f),
                    format!("el producto de la línea {} no existe", i + 1),
                )
            })?;
            if !item.active {
                return Err(Error::invalid(
                    field("product_id"),
                    "inactive",
                    format!("{} está dado de baja", item.name),
                ));
            }
            let requested = match &line.quantity {
                None => None,
                Some(q) => Some(Qty::parse(q).field(&field("quantity"))?),
            };
            if requested.is_some_and(|q| !q.is_positive()) {
                return Err(Error::invalid(
                    field("quantity"),
                    "positive",
                    "la cantidad debe ser mayor que cero",
                ));
            }
            let discount = line
                .discount
                .as_deref()
                .map(Discount::parse)
                .transpose()
                .field(&field("discount"))?;
            scale.push(reading.is_some());
            let (price_line, quantity) = match reading {
                Some(ScaleReading::Weight { quantity, .. }) => (
                    LineInput {
                        unit_price: item.price,
                        quantity,
                        vat_rate: item.vat_rate,
                        discount,
                    },
                    quantity,
                ),
                Some(ScaleReading::Price { amount, .. }) => {
                    // The label's price is what the customer pays; stock falls by the weight it stands for.
                    let weight = if item.price.is_positive() {
                        Qty::from_milli(
                            ((i128::from(amount.minor()) * 1000
                                + i128::from(item.price.minor()) / 2)
                                / i128::from(item.price.minor()))
                                as i64,
                        )
                    } else {
                        Qty::ZERO
                    };
                    (
                        LineInput {
                            unit_price: amount,
                            quantity: Qty::units(1),
                            vat_rate: item.vat_rate,
                            discount,
                        },
                        weight,
                    )
                }
                None => {
                    let q = requested.unwrap_or(Qty::units(1));
                    item.unit.check_qty(q).field(&field("quantity"))?;
                    let stock = Qty::from_milli(q.milli().saturating_mul(item.pack));
                    (
                        LineInput {
                            unit_price: Money::from_minor(
                                item.price.minor().saturating_mul(item.pack),
                            ),
                            quantity: q,
                            vat_rate: item.vat_rate,
                            discount,
                        },
                        stock,
                    )
                }
            };
            pricing.push(price_line);
            stock_qty.push(quantity);
            items.push(item);
        }
        let ticket_discount = discount
            .map(Discount::parse)
            .transpose()
            .field("discount")?;
        let ticket: PricedTicket = sale::price_ticket(&pricing, ticket_discount).field("lines")?;
        let limit = self.settings.sales.discount_limit(actor.role);
        if ticket.discount_bp() > limit {
            let pct = |bp: i64| format!("{},{:02} %", bp / 100, bp % 100);
            return Err(Error::Forbidden(format!(
                "el descuento ({}) supera el máximo de su rol ({})",
                pct(ticket.discount_bp()),
                pct(limit)
            )));
        }
        Ok(PricedSale {
            items,
            stock_qty,
            pricing,
            ticket,
            scale,
        })
    }

    /// The open shift of a till, if any; only at a location the actor may act on.
    pub async fn current_shift(
        &self,
        actor: &Principal,
        location: &str,
        till: &str,
    ) -> Result<Option<Shift>> {
        actor.require(Permission::SalesWrite)?;
        let location = location_code("location", location)?;
        let till = text("till", till, 1, 20)?;
        self.store.open_shift_at(&location, &till).await
    }

    /// What `sell` would charge for these lines now, without writing: the POS shows it as the
    /// cashier scans. Unknown barcodes and inactive products fail as they would on `sell`.
    pub async fn quote_sale(
        &self,
        actor: &Principal,
        lines: &[SaleLineInput],
        discount: Option<&str>,
    ) -> Result<SaleQuote> {
        actor.require(Permission::SalesWrite)?;
        let priced = self.price_sale(actor, lines, discount).await?;
        let lines = priced
            .items
            .into_iter()
            .zip(priced.pricing.iter())
            .zip(priced.ticket.lines.iter())
            .zip(priced.scale)
            .map(|(((item, input), line), scale)| QuoteLine {
                product_id: item.product_id,
                sku: item.sku,
                name: item.name,
                unit: item.unit,
                quantity: input.quantity,
                unit_price: input.unit_price,
                total: line.total,
                scale,
            })
            .collect();
        Ok(SaleQuote {
            lines,
            subtotal: priced.ticket.subtotal,
            discount: priced.ticket.discount,
            total: priced.ticket.total,
            vat: priced
                .ticket
                .vat
                .iter()
                .map(|v| VatLine {
                    rate: v.rate,
                    net: v.net,
                    vat: v.vat,
                })
                .collect(),
        })
    }

    /// Prices a ticket from the products' current prices and writes it with its stock
    /// movements and payments in one transaction.
    pub async fn sell(
        &self,
        actor: &Principal,
        input: SaleInput,
        meta: WriteMeta,
    ) -> Result<Written<Sale>> {
        actor.require(Permission::SalesWrite)?;
        let PricedSale {
            items,
            stock_qty,
            pricing,
            ticket,
            ..
        } = self
            .price_sale(actor, &input.lines, input.discount.as_deref())
            .await?;
        if input.payments.is_empty() {
            return Err(Error::invalid(
                "payments",
                "required",
                "indique al menos un pago",
            ));
        }
        let mut payments = Vec::with_capacity(input.payments.len());
        for (i, p) in input.payments.iter().enumerate() {
            payments.push(Payment {
                method: PaymentMethod::parse(&p.method).field(&format!("payments[{i}].method"))?,
                amount: Money::parse(&p.amount).field(&format!("payments[{i}].amount"))?,
            });
        }
        let settlement = sale::settle(ticket.total, &payments).field("payments")?;
        let lines = items
            .into_iter()
            .zip(stock_qty)
            .zip(ticket.lines.iter().cloned())
            .zip(pricing.iter())
            .map(|(((item, quantity), priced), input)| NewSaleLine {
                product_id: item.product_id,
                sku: item.sku,
                name: item.name,
                quantity,
                unit_price: input.unit_price,
                unit_cost: item.cost,
                priced,
            })
            .collect();
        let new = NewSale {
            shift: input.shift,
            lines,
            subtotal: ticket.subtotal,
            discount: ticket.discount,
            total: ticket.total,
            vat: ticket.vat.clone(),
            payments,
            settlement,
        };
        let written = self.store.post_sale(&meta, new).await?;
        if !written.replayed {
            crate::telemetry::ticket_sold(
                &written.value.location,
                written.value.total,
                written.value.lines.len(),
            );
        }
        Ok(written)
    }

    pub async fn sale(&self, actor: &Principal, id: i64) -> Result<Sale> {
        actor.require(Permission::SalesWrite)?;
        let sale = self
            .store
            .get_sale(id)
            .await?
            .ok_or_else(|| Error::NotFound {
                entity: "venta",
                key: id.to_string(),
            })?;
        self.require_visible_location(actor, &sale.location).await?;
        Ok(sale)
    }

    pub async fn return_sale(
        &self,
        actor: &Principal,
        sale_id: i64,
        input: ReturnInput,
        meta: WriteMeta,
    ) -> Result<Written<SaleReturn>> {
        actor.require(Permission::SalesWrite)?;
        let lines = match input.lines {
            None => None,
            Some(lines) => {
                if lines.is_empty() {
                    return Err(Error::invalid(
                        "lines",
                        "required",
                        "indique qué líneas se devuelven",
                    ));
                }
                let mut out = Vec::with_capacity(lines.len());
                for (i, l) in lines.iter().enumerate() {
                    let q = Qty::parse(&l.quantity).field(&format!("lines[{i}].quantity"))?;
                    if !q.is_positive() {
                        return Err(Error::invalid(
                            format!("lines[{i}].quantity"),
                            "positive",
                            "la cantidad debe ser mayor que cero",
                        ));
                    }
                    out.push((l.line, q));
                }
                Some(out)
            }
        };
        let new = NewReturn {
            sale_id,
            lines,
            reason: text("reason", &input.reason, 1, 500)?,
            refund_method: PaymentMethod::parse(&input.refund_method).field("refund_method")?,
            shift: input.shift,
            void: false,
        };
        self.post_return(new, meta).await
    }

    /// Voiding is a full return that needs a manager.
    pub async fn void_sale(
        &self,
        actor: &Principal,
        sale_id: i64,
        input: VoidInput,
        meta: WriteMeta,
    ) -> Result<Written<SaleReturn>> {
        actor.require(Permission::SalesVoid)?;
        let new = NewReturn {
            sale_id,
            lines: None,
            reason: text("reason", &input.reason, 1, 500)?,
            refund_method: PaymentMethod::parse(&input.refund_method).field("refund_method")?,
            shift: input.shift,
            void: true,
        };
        self.post_return(new, meta).await
    }
}

impl App {
    async fn post_return(&self, new: NewReturn, meta: WriteMeta) -> Result<Written<SaleReturn>> {
        let written = self.store.post_return(&meta, new).await?;
        if !written.replayed {
            crate::telemetry::movements_posted(
                written
                    .value
                    .lines
                    .iter()
                    .map(|_| domain::ledger::MovementKind::Return),
            );
        }
        Ok(written)
    }
}

fn scale_item(r: &ScaleReading) -> u32 {
    match r {
        ScaleReading::Weight { item, .. } | ScaleReading::Price { item, .. } => *item,
    }
}
