//! CSV exports that Excel in Argentina opens right: UTF-8 with a BOM (or accents break), `;` as
//! the separator (the comma is the decimal mark), CRLF line ends, and fields quoted when they hold
//! a separator, a quote or a line break. Cells that a spreadsheet would run as a formula are
//! prefixed with an apostrophe.

use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Response};

pub struct Csv {
    name: String,
    body: String,
}

impl Csv {
    /// A new export whose download is called `name`.csv, starting with its header row.
    pub fn new(name: &str, header: &[&str]) -> Csv {
        let mut csv = Csv {
            name: name
                .chars()
                .filter(|c| c.is_ascii_alphanumeric() || *c == '-' || *c == '_')
                .collect(),
            body: String::from("\u{feff}"),
        };
        csv.row(header.iter().copied());
        csv
    }

    pub fn row<'a>(&mut self, cells: impl IntoIterator<Item = &'a str>) {
        for (i, cell) in cells.into_iter().enumerate() {
            if i > 0 {
                self.body.push(';');
            }
            push_cell(&mut self.body, cell);
        }
        self.body.push_str("\r\n");
    }

    pub fn into_string(self) -> String {
        self.body
    }
}

fn push_cell(out: &mut String, cell: &str) {
    // Formula injection: =, +, -, @ at the start make Excel evaluate the cell. Numbers such as
    // "-12,5" are data, not formulas, so they stay as they are.
    let formula = cell.starts_with(['=', '+', '@', '\t', '\r'])
        || (cell.starts_with('-') && !looks_numeric(cell));
    let quote = formula || cell.contains([';', '"', '\n', '\r']) || cell.starts_with(' ');
    if quote {
        out.push('"');
        if formula {
            out.push('\'');
        }
        for c in cell.chars() {
            if c == '"' {
                out.push('"');
            }
            out.push(c);
        }
        out.push('"');
    } else {
        out.push_str(cell);
    }
}

fn looks_numeric(cell: &str) -> bool {
    let rest = cell.trim_start_matches('-').trim_start_matches("$ ");
    !rest.is_empty()
        && rest
            .chars()
            .all(|c| c.is_ascii_digit() || c == '.' || c == ',')
}

impl IntoResponse for Csv {
    fn into_response(self) -> Response {
        let disposition = format!("attachment; filename=\"{}.csv\"", self.name);
        let mut res = self.body.into_response();
        let headers = res.headers_mut();
        headers.insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("text/csv; charset=utf-8"),
        );
        if let Ok(v) = HeaderValue::from_str(&disposition) {
            headers.insert(header::CONTENT_DISPOSITION, v);
        }
        res
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn excel_argentina_reads_it_right() {
        let mut csv = Csv::new("productos", &["SKU", "Nombre", "Precio"]);
        csv.row(["A-1", "Yerba; 1 kg", "$ 1.234,56"]);
        csv.row(["A-2", "Dulce \"de leche\"", "-12,5"]);
        csv.row(["A-3", "=HYPERLINK(\"x\")", "línea\nnueva"]);
        assert_eq!(
            csv.into_string(),
            "\u{feff}SKU;Nombre;Precio\r\n\
             A-1;\"Yerba; 1 kg\";$ 1.234,56\r\n\
             A-2;\"Dulce \"\"de leche\"\"\";-12,5\r\n\
             A-3;\"'=HYPERLINK(\"\"x\"\")\";\"línea\nnueva\"\r\n"
        );
    }

    #[test]
    fn download_name_cannot_break_the_header() {
        let csv = Csv::new("stock\"\r\nx: y", &["a"]);
        assert_eq!(csv.name, "stockxy");
    }
}
