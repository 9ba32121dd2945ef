//! Pure retail domain of almacen: validated value types and stock rules, with no I/O.
//!
//! House style is "parse, don't validate": every newtype can only hold a valid value and is
//! built by a parsing constructor returning a typed error whose `rule()` is a stable slug the
//! API layer turns into RFC 7807 problem details. Error messages are es-AR because they reach
//! the UI.

/// Declares a closed set of wire names: serde snake_case, `as_str`, `parse`, `ALL`,
/// `Display` and `FromStr`, all agreeing by construction.
macro_rules! str_enum {
    (
        $(#[$meta:meta])*
        pub enum $name:ident ($what:literal) {
            $( $(#[$vmeta:meta])* $variant:ident = $text:literal, )+
        }
    ) => {
        $(#[$meta])*
        #[derive(
            Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord,
            serde::Serialize, serde::Deserialize,
        )]
        #[serde(rename_all = "snake_case")]
        pub enum $name {
            $( $(#[$vmeta])* $variant, )+
        }

        impl $name {
            /// Every value in declaration order, for pickers and exhaustive checks.
            pub const ALL: &'static [$name] = &[$($name::$variant,)+];

            /// The stable wire and database name (identical to the serde form).
            pub const fn as_str(self) -> &'static str {
                match self {
                    $($name::$variant => $text,)+
                }
            }

            /// Parses a wire name, ignoring surrounding whitespace and ASCII case.
            pub fn parse(s: &str) -> Result<Self, $crate::catalog::CatalogError> {
                let wanted = s.trim();
                Self::ALL
                    .iter()
                    .copied()
                    .find(|v| v.as_str().eq_ignore_ascii_case(wanted))
                    .ok_or_else(|| {
                        $crate::catalog::CatalogError::unknown(
                            $what,
                            wanted,
                            Self::ALL.iter().map(|v| v.as_str()),
                        )
                    })
            }
        }

        impl ::std::fmt::Display for $name {
            fn fmt(&self, f: &mut ::std::fmt::Formatter<'_>) -> ::std::fmt::Result {
                f.write_str(self.as_str())
            }
        }

        impl ::std::str::FromStr for $name {
            type Err = $crate::catalog::CatalogError;

            fn from_str(s: &str) -> Result<Self, Self::Err> {
                Self::parse(s)
            }
        }
    };
}

mod support;

pub mod auth;
pub mod catalog;
pub mod cuit;
pub mod forecast;
pub mod gtin;
pub mod invoice;
pub mod ledger;
pub mod money;
pub mod pricing;
pub mod purchasing;
pub mod qty;
pub mod replenishment;
pub mod sale;
pub mod season;
pub mod sku;

pub use cuit::{Cuit, CuitError};
pub use gtin::{Gtin, GtinError, GtinKind};
pub use money::{Money, MoneyError};
pub use qty::{Qty, QtyError};
pub use sku::{Sku, SkuError};
