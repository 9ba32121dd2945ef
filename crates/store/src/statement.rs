//! SQL statements as data — text plus parameters — so that one builder serves both runners:
//! sqlx on either engine, and SQLite's direct writer ([`crate::direct`]). The POS ticket's
//! statements are built here once and never written twice.

use sqlx::any::AnyArguments;
use sqlx::query::{Query, QueryAs};
use sqlx::{Any, AssertSqlSafe};

/// A bound value; nullable and typed, because PostgreSQL infers a parameter's type from it.
#[derive(Clone, Debug, PartialEq)]
pub(crate) enum Param {
    Int(Option<i64>),
    Text(Option<String>),
}

impl From<i64> for Param {
    fn from(v: i64) -> Self {
        Param::Int(Some(v))
    }
}
impl From<String> for Param {
    fn from(v: String) -> Self {
        Param::Text(Some(v))
    }
}
impl From<&str> for Param {
    fn from(v: &str) -> Self {
        Param::Text(Some(v.to_owned()))
    }
}
impl From<Option<String>> for Param {
    fn from(v: Option<String>) -> Self {
        Param::Text(v)
    }
}
impl From<Option<&str>> for Param {
    fn from(v: Option<&str>) -> Self {
        Param::Text(v.map(str::to_owned))
    }
}

/// SQL with `$1…$n` placeholders and their values, in order.
#[derive(Clone, Debug)]
pub(crate) struct Statement {
    pub(crate) sql: String,
    pub(crate) params: Vec<Param>,
}

impl Statement {
    pub(crate) fn new(sql: impl Into<String>) -> Self {
        Statement {
            sql: sql.into(),
            params: Vec::new(),
        }
    }

    pub(crate) fn bind(mut self, value: impl Into<Param>) -> Self {
        self.params.push(value.into());
        self
    }

    pub(crate) fn push(&mut self, value: impl Into<Param>) {
        self.params.push(value.into());
    }

    /// The statement as a sqlx query (for `execute`).
    pub(crate) fn query(&self) -> Query<'_, Any, AnyArguments> {
        self.params.iter().fold(
            sqlx::query(AssertSqlSafe(self.sql.clone())),
            |q, p| match p {
                Param::Int(v) => q.bind(*v),
                Param::Text(v) => q.bind(v.clone()),
            },
        )
    }

    /// The statement as a typed sqlx query (for `fetch_*`).
    pub(crate) fn query_as<O>(&self) -> QueryAs<'_, Any, O, AnyArguments>
    where
        O: for<'r> sqlx::FromRow<'r, sqlx::any::AnyRow>,
    {
        self.params.iter().fold(
            sqlx::query_as::<Any, O>(AssertSqlSafe(self.sql.clone())),
            |q, p| match p {
                Param::Int(v) => q.bind(*v),
                Param::Text(v) => q.bind(v.clone()),
            },
        )
    }
}
