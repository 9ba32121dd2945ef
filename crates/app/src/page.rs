//! The one pagination shape of every list: a limit and an opaque cursor.

use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use crate::error::{Error, Result};

pub const DEFAULT_LIMIT: u32 = 50;
pub const MAX_LIMIT: u32 = 500;

#[derive(Clone, Debug, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct PageParams {
    /// Items per page, 1–500 (default 50).
    pub limit: Option<u32>,
    /// The `next_cursor` of the previous page.
    pub cursor: Option<String>,
}

/// A checked page request: the cursor is the key after which the page starts.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PageRequest {
    pub limit: u32,
    pub after: i64,
}

impl PageRequest {
    pub fn first(limit: u32) -> Self {
        PageRequest { limit, after: 0 }
    }

    pub fn parse(p: &PageParams) -> Result<Self> {
        let limit = p.limit.unwrap_or(DEFAULT_LIMIT);
        if limit == 0 || limit > MAX_LIMIT {
            return Err(Error::invalid(
                "limit",
                "range",
                format!("limit debe estar entre 1 y {MAX_LIMIT}"),
            ));
        }
        let after = match p.cursor.as_deref() {
            None | Some("") => 0,
            Some(c) => c.parse::<i64>().ok().filter(|v| *v >= 0).ok_or_else(|| {
                Error::invalid(
                    "cursor",
                    "format",
                    "cursor inválido: use el next_cursor de la página anterior",
                )
            })?,
        };
        Ok(PageRequest { limit, after })
    }

    /// Fetch one row more than the limit to know whether a next page exists.
    pub fn fetch_limit(&self) -> i64 {
        i64::from(self.limit) + 1
    }
}

#[derive(Clone, Debug, Serialize, Deserialize, ToSchema)]
pub struct Page<T> {
    pub items: Vec<T>,
    /// Pass as `cursor` to get the next page; absent on the last page.
    pub next_cursor: Option<String>,
}

impl<T> Page<T> {
    /// Builds a page from `limit + 1` rows ordered by the key that `key` returns.
    pub fn from_rows(mut rows: Vec<T>, req: PageRequest, key: impl Fn(&T) -> i64) -> Self {
        let limit = req.limit as usize;
        let next_cursor = if rows.len() > limit {
            rows.truncate(limit);
            rows.last().map(|r| key(r).to_string())
        } else {
            None
        };
        Page {
            items: rows,
            next_cursor,
        }
    }

    /// Builds a page from `limit + 1` rows fetched at the offset the cursor holds.
    pub fn from_offset_rows(mut rows: Vec<T>, req: PageRequest) -> Self {
        let limit = req.limit as usize;
        let next_cursor =
            (rows.len() > limit).then(|| (req.after + i64::from(req.limit)).to_string());
        rows.truncate(limit);
        Page {
            items: rows,
            next_cursor,
        }
    }
}
