//! What the back-office forms share: the posted fields as pairs (forms with repeated rows), and
//! the errors shown next to each field, taken from the use case's `Invalid` error.

use std::collections::HashMap;

use crate::error::PageError;
use crate::i18n::Tr;

/// A posted form as its name → value pairs; rows of a table are named `field_N`.
#[derive(Clone, Debug, Default)]
pub struct Fields(HashMap<String, String>);

impl Fields {
    pub fn new(pairs: Vec<(String, String)>) -> Fields {
        Fields(pairs.into_iter().collect())
    }

    /// The trimmed value of a field, "" when absent.
    pub fn get(&self, name: &str) -> &str {
        self.0.get(name).map_or("", |v| v.trim())
    }

    /// Whether the form carried the field at all (empty or not).
    pub fn has(&self, name: &str) -> bool {
        self.0.contains_key(name)
    }

    pub fn row(&self, name: &str, i: usize) -> &str {
        self.get(&format!("{name}_{i}"))
    }

    /// `Some(value)` when the field was filled in.
    pub fn opt(&self, name: &str) -> Option<String> {
        let v = self.get(name);
        (!v.is_empty()).then(|| v.to_owned())
    }

    /// How many rows the form has for `name` (the highest `name_N` present, plus one).
    pub fn rows(&self, name: &str) -> usize {
        let prefix = format!("{name}_");
        self.0
            .keys()
            .filter_map(|k| k.strip_prefix(&prefix)?.parse::<usize>().ok())
            .map(|i| i + 1)
            .max()
            .unwrap_or(0)
    }
}

/// Errors by form field, in Spanish, shown after the field.
#[derive(Clone, Debug, Default)]
pub struct Errors(Vec<(String, String)>);

impl Errors {
    pub fn get(&self, field: &str) -> Option<&str> {
        self.0
            .iter()
            .find(|(f, _)| f == field)
            .map(|(_, m)| m.as_str())
    }

    pub fn has(&self, field: &str) -> bool {
        self.get(field).is_some()
    }

    pub fn set(&mut self, field: impl Into<String>, message: impl Into<String>) {
        self.0.push((field.into(), message.into()));
    }

    pub fn merge(&mut self, other: Errors) {
        self.0.extend(other.0);
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// The messages of errors that belong to no field on the page.
    pub fn others(&self, known: &[&str]) -> Vec<String> {
        self.0
            .iter()
            .filter(|(f, _)| !known.iter().any(|k| field_matches(f, k)))
            .map(|(_, m)| m.clone())
            .collect()
    }
}

/// `quantity_3` matches the row pattern `quantity_*`.
fn field_matches(field: &str, known: &str) -> bool {
    match known.strip_suffix('*') {
        Some(prefix) => field.starts_with(prefix),
        None => field == known,
    }
}

/// Splits a use-case error into a field error the form shows (`Ok`) or a page error.
/// `rename` maps the use case's field path (`lines[2].quantity`) to the form's (`quantity_5`).
pub fn field_error(
    e: app::Error,
    t: Tr,
    rename: impl Fn(&str) -> String,
) -> Result<Errors, PageError> {
    match e {
        app::Error::Invalid { field, message, .. }
        | app::Error::UnknownReference { field, message } => {
            let mut errors = Errors::default();
            errors.set(rename(&field), capitalise(&message));
            Ok(errors)
        }
        app::Error::Conflict {
            field: Some(field),
            message,
            ..
        } => {
            let mut errors = Errors::default();
            errors.set(rename(&field), capitalise(&message));
            Ok(errors)
        }
        other => Err(PageError::from_app(other, t)),
    }
}

/// Splits `lines[2].quantity` into (2, "quantity"); `lines[2]` into (2, "").
pub fn line_field(path: &str) -> Option<(usize, &str)> {
    let rest = path
        .strip_prefix("lines[")
        .or_else(|| path.strip_prefix("lots["))?;
    let (i, rest) = rest.split_once(']')?;
    Some((i.parse().ok()?, rest.trim_start_matches('.')))
}

/// A number as typed in Argentina ("1.234,5") or as the API takes it ("1234.5"), in the API's
/// form: with a comma, dots are thousands separators.
pub fn ar_decimal(s: &str) -> String {
    let s = s.trim().trim_start_matches('$').trim();
    if s.contains(',') {
        s.replace('.', "").replace(',', ".")
    } else {
        s.to_owned()
    }
}

/// Use-case messages start in lower case; a message on its own reads better capitalised.
pub fn capitalise(s: &str) -> String {
    let mut c = s.chars();
    match c.next() {
        Some(f) => f.to_uppercase().chain(c).collect(),
        None => String::new(),
    }
}

/// One input of a form as the template draws it: its value (the user's, kept on error) and
/// its error message.
#[derive(Clone, Debug, Default)]
pub struct Input {
    pub name: String,
    pub value: String,
    pub error: Option<String>,
}

impl Input {
    pub fn new(name: impl Into<String>, value: impl Into<String>, errors: &Errors) -> Input {
        let name = name.into();
        let error = errors.get(&name).map(str::to_owned);
        Input {
            name,
            value: value.into(),
            error,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rows_and_paths() {
        let f = Fields::new(vec![
            ("code_0".into(), " A1 ".into()),
            ("code_3".into(), "".into()),
        ]);
        assert_eq!(f.rows("code"), 4);
        assert_eq!(f.row("code", 0), "A1");
        assert_eq!(line_field("lines[2].quantity"), Some((2, "quantity")));
        assert_eq!(line_field("lines[7]"), Some((7, "")));
        assert_eq!(line_field("supplier_id"), None);
        assert_eq!(capitalise("la cantidad"), "La cantidad");
        assert_eq!(ar_decimal("$ 1.234,50"), "1234.50");
        assert_eq!(ar_decimal("1850.00"), "1850.00");
        let mut e = Errors::default();
        e.set("quantity_1", "x");
        e.set("remito", "y");
        assert_eq!(e.others(&["quantity_*"]), vec!["y".to_owned()]);
    }
}
