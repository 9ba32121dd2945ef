//! Supplier price lists: a CSV or XLSX with a column mapping, matched to products by barcode,
//! then by the supplier's item code, then by a remembered description; applying updates costs
//! and reprices by the rules through the same plan as a bulk update, in one transaction.

use std::collections::HashMap;

use base64::Engine as _;
use domain::auth::Permission;
use domain::pricing::Percent;
use domain::{Gtin, Money};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::App;
use crate::catalog::search_key;
use crate::error::{Error, Result};
use crate::pricing::{
    CellError, PlanLine, PriceUpdateRequest, Selection, UpdateAction, plan, plan_token, shop_date,
};
use crate::write::{Principal, WriteMeta};

/// A file read into text cells: the header and each data row with its 1-based line.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Table {
    pub headers: Vec<String>,
    pub rows: Vec<(u64, Vec<String>)>,
}

/// Reads CSV bytes (`,` or `;`, UTF-8, optional BOM).
pub fn read_csv(data: &[u8]) -> Result<Table> {
    let data = data.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(data);
    let first_line = data.split(|b| *b == b'\n').next().unwrap_or_default();
    let count = |c: u8| first_line.iter().filter(|b| **b == c).count();
    let delimiter = if count(b';') > count(b',') {
        b';'
    } else {
        b','
    };
    let mut reader = csv::ReaderBuilder::new()
        .delimiter(delimiter)
        .flexible(true)
        .trim(csv::Trim::All)
        .from_reader(data);
    let headers: Vec<String> = reader
        .headers()
        .map_err(|e| Error::invalid("file", "format", format!("encabezado ilegible: {e}")))?
        .iter()
        .map(str::to_owned)
        .collect();
    let mut rows = Vec::new();
    for rec in reader.records() {
        let rec = rec.map_err(|e| {
            let line = e.position().map_or(0, |p| p.line());
            Error::invalid(
                "file",
                "format",
                format!("línea {line}: el archivo no es un CSV válido ({e})"),
            )
        })?;
        let line = rec.position().map_or(0, |p| p.line());
        if rec.iter().all(str::is_empty) {
            continue;
        }
        rows.push((line, rec.iter().map(str::to_owned).collect()));
    }
    Ok(Table { headers, rows })
}

/// Reads the first sheet of an XLSX workbook; numbers keep their shortest exact decimal form.
pub fn read_xlsx(data: &[u8]) -> Result<Table> {
    use calamine::{Data, Reader, Xlsx};
    let mut book = Xlsx::new(std::io::Cursor::new(data))
        .map_err(|e| Error::invalid("file", "format", format!("no es un XLSX válido: {e}")))?;
    let range = book
        .worksheet_range_at(0)
        .ok_or_else(|| Error::invalid("file", "format", "el libro no tiene hojas"))?
        .map_err(|e| Error::invalid("file", "format", format!("hoja ilegible: {e}")))?;
    let first_row = range.start().map_or(0, |(r, _)| r);
    let mut rows = range.rows();
    let cell = |d: &Data| match d {
        Data::Empty => String::new(),
        Data::String(s) => s.trim().to_owned(),
        Data::Float(f) => f.to_string(),
        Data::Int(i) => i.to_string(),
        Data::Bool(b) => b.to_string(),
        other => other.to_string(),
    };
    let headers = rows
        .next()
        .map(|r| r.iter().map(cell).collect())
        .unwrap_or_default();
    let mut out = Vec::new();
    for (i, r) in rows.enumerate() {
        let cells: Vec<String> = r.iter().map(cell).collect();
        if cells.iter().all(String::is_empty) {
            continue;
        }
        // Sheet rows are 1-based and the header is the first one.
        out.push((u64::from(first_row) + i as u64 + 2, cells));
    }
    Ok(Table { headers, rows: out })
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum ListFormat {
    Csv,
    Xlsx,
}

/// Which header of the file holds each field; only `cost` is required.
#[derive(Clone, Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ColumnMapping {
    #[serde(default)]
    #[schema(example = "Código")]
    pub supplier_code: Option<String>,
    #[serde(default)]
    #[schema(example = "EAN")]
    pub barcode: Option<String>,
    #[serde(default)]
    #[schema(example = "Descripción")]
    pub description: Option<String>,
    #[schema(example = "Costo")]
    pub cost: String,
}

/// Ties an item of the supplier's list to a product, remembered for the next lists.
#[derive(Clone, Debug, Deserialize, Serialize, PartialEq, Eq, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ItemMappingInput {
    #[serde(default)]
    pub supplier_code: Option<String>,
    #[serde(default)]
    pub description: Option<String>,
    pub product_id: i64,
}

#[derive(Clone, Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SupplierListInput {
    pub supplier_id: i64,
    pub format: ListFormat,
    /// The file, base64-encoded.
    pub content_base64: String,
    pub mapping: ColumnMapping,
    /// false (default): report only; true: update costs, reprice and remember the matches.
    #[serde(default)]
    pub apply: bool,
    /// Recorded in the price history; default "Lista de precios del proveedor N".
    #[serde(default)]
    pub reason: Option<String>,
    /// Items to tie to products by hand (remembered for the next lists).
    #[serde(default)]
    pub mappings: Vec<ItemMappingInput>,
}

/// A supplier item remembered as a product: `code`, `barcode` or `description` key.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ItemMapping {
    pub kind: String,
    pub key: String,
    pub product_id: i64,
}

/// What the store knows to match a list: products by barcode, remembered keys of the supplier.
#[derive(Clone, Debug, Default)]
pub struct MatchData {
    /// Barcode → product id.
    pub barcodes: HashMap<String, i64>,
    /// (kind, key) → product id, for this supplier.
    pub remembered: HashMap<(String, String), i64>,
    /// Product id → (sku, cost).
    pub products: HashMap<i64, (String, Money)>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum ListOutcome {
    /// Matched a product this supplier had not listed before.
    New,
    Changed,
    Unchanged,
    Unmatched,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum MatchedBy {
    Barcode,
    SupplierCode,
    Description,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct ListLine {
    pub line: u64,
    pub outcome: ListOutcome,
    pub supplier_code: Option<String>,
    pub barcode: Option<String>,
    pub description: Option<String>,
    pub product_id: Option<i64>,
    pub sku: Option<String>,
    pub matched_by: Option<MatchedBy>,
    #[schema(value_type = Option<String>)]
    pub old_cost: Option<Money>,
    #[schema(value_type = String)]
    pub new_cost: Money,
    /// Cost change in percent.
    #[schema(value_type = Option<String>)]
    pub change: Option<Percent>,
    /// The price the rules give at the new cost.
    #[schema(value_type = Option<String>)]
    pub new_price: Option<Money>,
    pub below_floor: bool,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct SupplierListReport {
    pub supplier_id: i64,
    pub applied: bool,
    pub new: usize,
    pub changed: usize,
    pub unchanged: usize,
    pub unmatched: usize,
    /// Rows that could not be read, by line and column; never applied.
    pub malformed: Vec<CellError>,
    pub lines: Vec<ListLine>,
    /// The bulk update that carried the new costs, when applied.
    pub price_update_id: Option<i64>,
}

/// A list row that parsed.
#[derive(Clone, Debug, PartialEq, Eq)]
struct ListRow {
    line: u64,
    supplier_code: Option<String>,
    barcode: Option<String>,
    description: Option<String>,
    cost: Money,
}

/// Costs as suppliers write them: "1234.56", "1234,56" or "1.234,56".
pub fn parse_list_cost(raw: &str) -> std::result::Result<Money, String> {
    let s = raw.trim().trim_start_matches('$').trim();
    let normal = if s.contains(',') {
        s.replace('.', "").replace(',', ".")
    } else {
        s.to_owned()
    };
    let m = Money::parse_non_negative(&normal).map_err(|e| e.to_string())?;
    if m.is_zero() {
        return Err("el costo debe ser mayor que cero".into());
    }
    Ok(m)
}

fn parse_rows(table: &Table, mapping: &ColumnMapping) -> Result<(Vec<ListRow>, Vec<CellError>)> {
    let find = |field: &str, name: &Option<String>| -> Result<Option<usize>> {
        match name {
            None => Ok(None),
            Some(n) => table
                .headers
                .iter()
                .position(|h| h.trim().eq_ignore_ascii_case(n.trim()))
                .map(Some)
                .ok_or_else(|| {
                    Error::invalid(
                        format!("mapping.{field}"),
                        "missing_column",
                        format!("el archivo no tiene la columna «{n}»"),
                    )
                }),
        }
    };
    let code_col = find("supplier_code", &mapping.supplier_code)?;
    let barcode_col = find("barcode", &mapping.barcode)?;
    let description_col = find("description", &mapping.description)?;
    let cost_col = find("cost", &Some(mapping.cost.clone()))?
        .ok_or_else(|| Error::internal("columna de costo"))?;
    if code_col.is_none() && barcode_col.is_none() && description_col.is_none() {
        return Err(Error::invalid(
            "mapping.barcode",
            "required",
            "indique al menos la columna de código de barras, de código del proveedor o de descripción",
        ));
    }
    let mut rows = Vec::new();
    let mut errors = Vec::new();
    for (line, cells) in &table.rows {
        let get = |c: Option<usize>| {
            c.and_then(|i| cells.get(i))
                .map(|s| s.trim().to_owned())
                .filter(|s| !s.is_empty())
        };
        let mut bad = |col: usize, reason: String| {
            errors.push(CellError {
                line: *line,
                column: table.headers[col].clone(),
                reason,
            })
        };
        let cost = match get(Some(cost_col)) {
            None => {
                bad(cost_col, "falta el costo".into());
                continue;
            }
            Some(raw) => match parse_list_cost(&raw) {
                Ok(c) => c,
                Err(e) => {
                    bad(cost_col, format!("«{raw}»: {e}"));
                    continue;
                }
            },
        };
        let barcode = match get(barcode_col) {
            None => None,
            Some(raw) => match Gtin::parse(&raw) {
                Ok(g) => Some(g.as_str().to_owned()),
                Err(e) => {
                    if let Some(c) = barcode_col {
                        bad(c, format!("«{raw}»: {e}"));
                    }
                    continue;
                }
            },
        };
        let (supplier_code, description) = (get(code_col), get(description_col));
        if barcode.is_none() && supplier_code.is_none() && description.is_none() {
            bad(
                barcode_col
                    .or(code_col)
                    .or(description_col)
                    .unwrap_or(cost_col),
                "la fila no tiene código de barras, código ni descripción".into(),
            );
            continue;
        }
        rows.push(ListRow {
            line: *line,
            supplier_code,
            barcode,
            description,
            cost,
        });
    }
    Ok((rows, errors))
}

/// Cost change in percent (basis points), rounded half away from zero.
fn change_of(old: Money, new: Money) -> Option<Percent> {
    if !old.is_positive() {
        return None;
    }
    let diff = i128::from(new.minor() - old.minor()) * 10_000;
    let d = i128::from(old.minor());
    let q = diff / d;
    let r = diff % d;
    let v = if 2 * r.abs() >= d {
        q + diff.signum()
    } else {
        q
    };
    Some(Percent::from_bp(i64::try_from(v).unwrap_or(i64::MAX)))
}

impl App {
    pub async fn import_supplier_list(
        &self,
        actor: &Principal,
        input: SupplierListInput,
        meta: WriteMeta,
    ) -> Result<SupplierListReport> {
        actor.require(Permission::PricingWrite)?;
        if input.content_base64.len() > 40 * 1024 * 1024 {
            return Err(Error::invalid(
                "content_base64",
                "too_large",
                "el archivo supera 30 MB",
            ));
        }
        let data = base64::engine::general_purpose::STANDARD
            .decode(input.content_base64.trim())
            .map_err(|_| {
                Error::invalid(
                    "content_base64",
                    "format",
                    "el contenido no es base64 válido",
                )
            })?;
        let table = match input.format {
            ListFormat::Csv => read_csv(&data)?,
            ListFormat::Xlsx => read_xlsx(&data)?,
        };
        let (rows, malformed) = parse_rows(&table, &input.mapping)?;
        if self.store.get_supplier(input.supplier_id).await?.is_none() {
            return Err(Error::unknown(
                "supplier_id",
                format!("el proveedor {} no existe", input.supplier_id),
            ));
        }
        let barcodes: Vec<String> = rows.iter().filter_map(|r| r.barcode.clone()).collect();
        let manual: Vec<ItemMapping> = input
            .mappings
            .iter()
            .flat_map(|m| {
                let code = m.supplier_code.as_ref().map(|c| ItemMapping {
                    kind: "code".into(),
                    key: c.trim().to_owned(),
                    product_id: m.product_id,
                });
                let desc = m.description.as_ref().map(|d| ItemMapping {
                    kind: "description".into(),
                    key: search_key(d),
                    product_id: m.product_id,
                });
                code.into_iter().chain(desc)
            })
            .collect();
        let mut data = self
            .store
            .supplier_match_data(input.supplier_id, &barcodes, &manual)
            .await?;
        for m in &manual {
            data.remembered
                .insert((m.kind.clone(), m.key.clone()), m.product_id);
        }
        let linked: std::collections::HashSet<i64> = data.remembered.values().copied().collect();
        let mut lines = Vec::new();
        let mut costs: Vec<(i64, Money)> = Vec::new();
        let mut remember: Vec<ItemMapping> = manual.clone();
        for r in &rows {
            let by_barcode = r
                .barcode
                .as_ref()
                .and_then(|b| data.barcodes.get(b))
                .map(|id| (*id, MatchedBy::Barcode));
            let by_code = || {
                r.supplier_code
                    .as_ref()
                    .and_then(|c| data.remembered.get(&("code".to_owned(), c.clone())))
                    .map(|id| (*id, MatchedBy::SupplierCode))
            };
            let by_description = || {
                r.description
                    .as_ref()
                    .and_then(|d| {
                        data.remembered
                            .get(&("description".to_owned(), search_key(d)))
                    })
                    .map(|id| (*id, MatchedBy::Description))
            };
            let found = by_barcode.or_else(by_code).or_else(by_description);
            let mut line = ListLine {
                line: r.line,
                outcome: ListOutcome::Unmatched,
                supplier_code: r.supplier_code.clone(),
                barcode: r.barcode.clone(),
                description: r.description.clone(),
                product_id: None,
                sku: None,
                matched_by: None,
                old_cost: None,
                new_cost: r.cost,
                change: None,
                new_price: None,
                below_floor: false,
            };
            if let Some((id, by)) = found
                && let Some((sku, old)) = data.products.get(&id)
            {
                line.product_id = Some(id);
                line.sku = Some(sku.clone());
                line.matched_by = Some(by);
                line.old_cost = Some(*old);
                line.change = change_of(*old, r.cost);
                line.outcome = if !linked.contains(&id) {
                    ListOutcome::New
                } else if *old != r.cost {
                    ListOutcome::Changed
                } else {
                    ListOutcome::Unchanged
                };
                if *old != r.cost {
                    costs.push((id, r.cost));
                }
                let key = match (&r.supplier_code, &r.barcode) {
                    (Some(c), _) => Some(("code", c.clone())),
                    (None, Some(b)) => Some(("barcode", b.clone())),
                    (None, None) => None,
                };
                if let Some((kind, key)) = key
                    && data.remembered.get(&(kind.to_owned(), key.clone())) != Some(&id)
                {
                    remember.push(ItemMapping {
                        kind: kind.into(),
                        key,
                        product_id: id,
                    });
                }
            }
            lines.push(line);
        }
        // The same product listed twice: the last line wins, like a person reading the list.
        let mut seen = std::collections::HashSet::new();
        costs.reverse();
        costs.retain(|(id, _)| seen.insert(*id));
        costs.sort_by_key(|(id, _)| *id);
        let req = PriceUpdateRequest {
            selection: Selection {
                product_ids: Some(costs.iter().map(|(id, _)| *id).collect()),
                ..Selection::default()
            },
            action: UpdateAction::SetCosts(costs),
            reason: input
                .reason
                .clone()
                .unwrap_or_else(|| format!("Lista de precios del proveedor {}", input.supplier_id)),
            source: "supplier_list".into(),
        };
        let planned = if req
            .selection
            .product_ids
            .as_ref()
            .is_some_and(|p| !p.is_empty())
        {
            let snap = self.store.pricing_snapshot(&req.selection, false).await?;
            plan(&req, &snap, shop_date(meta.now))?
        } else {
            Vec::new()
        };
        let by_product: HashMap<i64, &PlanLine> =
            planned.iter().map(|l| (l.product_id, l)).collect();
        for l in &mut lines {
            if let Some(p) = l.product_id.and_then(|id| by_product.get(&id)) {
                l.new_price = Some(p.new_price);
                l.below_floor = p.below_floor;
            }
        }
        let mut price_update_id = None;
        if input.apply && (!planned.is_empty() || !remember.is_empty()) {
            let token = plan_token(&req, &planned);
            let id = self
                .store
                .create_price_update(&meta, &req, &token, planned.len())
                .await?;
            self.store
                .apply_supplier_list(&meta, id, &token, input.supplier_id, remember)
                .await?;
            price_update_id = Some(id);
        }
        let count = |o: ListOutcome| lines.iter().filter(|l| l.outcome == o).count();
        Ok(SupplierListReport {
            supplier_id: input.supplier_id,
            applied: input.apply,
            new: count(ListOutcome::New),
            changed: count(ListOutcome::Changed),
            unchanged: count(ListOutcome::Unchanged),
            unmatched: count(ListOutcome::Unmatched),
            malformed,
            lines,
            price_update_id,
        })
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn list_costs() {
        assert_eq!(
            parse_list_cost("1234.56").unwrap(),
            Money::from_minor(123_456)
        );
        assert_eq!(
            parse_list_cost("1.234,56").unwrap(),
            Money::from_minor(123_456)
        );
        assert_eq!(parse_list_cost("$ 99,5").unwrap(), Money::from_minor(9_950));
        assert!(parse_list_cost("abc").is_err());
        assert!(parse_list_cost("0").is_err());
        assert!(parse_list_cost("-3").is_err());
    }

    #[test]
    fn change_percent() {
        let m = Money::from_minor;
        assert_eq!(change_of(m(1000), m(1100)).unwrap().to_string(), "10");
        assert_eq!(change_of(m(3000), m(3001)).unwrap().to_string(), "0.03");
        assert_eq!(change_of(m(0), m(1)), None);
    }

    #[test]
    fn malformed_rows_name_line_and_column() {
        let t =
            read_csv(b"Codigo;EAN;Costo\nA1;7790001000019;100,00\nA2;123;50\nA3;;abc\n").unwrap();
        let (rows, errors) = parse_rows(
            &t,
            &ColumnMapping {
                supplier_code: Some("codigo".into()),
                barcode: Some("EAN".into()),
                description: None,
                cost: "Costo".into(),
            },
        )
        .unwrap();
        assert_eq!(rows.len(), 1);
        assert_eq!(rows[0].line, 2);
        let at: Vec<(u64, &str)> = errors.iter().map(|e| (e.line, e.column.as_str())).collect();
        assert_eq!(at, [(3, "EAN"), (4, "Costo")]);
    }
}
