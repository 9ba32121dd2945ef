//! Authorization vocabulary: roles, permissions, and username/password rules.

str_enum! {
    /// A user's role; permissions follow from it.
    pub enum Role ("Rol") {
        Admin = "admin",
        Manager = "manager",
        Cashier = "cashier",
        Warehouse = "warehouse",
        Viewer = "viewer",
    }
}

str_enum! {
    /// An action the API guards.
    pub enum Permission ("Permiso") {
        CatalogRead = "catalog_read",
        CatalogWrite = "catalog_write",
        StockRead = "stock_read",
        StockWrite = "stock_write",
        StockCount = "stock_count",
        SalesWrite = "sales_write",
        SalesVoid = "sales_void",
        PurchasingWrite = "purchasing_write",
        /// Price rules, inflation rates, bulk price updates, supplier lists and shelf labels.
        PricingWrite = "pricing_write",
        ReportsRead = "reports_read",
        UsersManage = "users_manage",
        AuditRead = "audit_read",
        AdminTools = "admin_tools",
    }
}

impl Role {
    /// Whether this role may perform `p`. Kept as one exhaustive match so adding a permission
    /// forces a decision for every role.
    pub fn allows(self, p: Permission) -> bool {
        use Permission as P;
        match self {
            Role::Admin => true,
            Role::Manager => !matches!(p, P::UsersManage | P::AdminTools),
            Role::Cashier => matches!(p, P::CatalogRead | P::StockRead | P::SalesWrite),
            Role::Warehouse => matches!(
                p,
                P::CatalogRead | P::StockRead | P::StockWrite | P::StockCount | P::PurchasingWrite
            ),
            Role::Viewer => matches!(p, P::CatalogRead | P::StockRead | P::ReportsRead),
        }
    }

    /// The name shown in the UI.
    pub const fn label_es(self) -> &'static str {
        match self {
            Role::Admin => "Administrador",
            Role::Manager => "Encargado",
            Role::Cashier => "Cajero",
            Role::Warehouse => "Depósito",
            Role::Viewer => "Consulta",
        }
    }
}

/// Shortest password accepted; length beats composition rules for strength.
pub const MIN_PASSWORD_CHARS: usize = 10;

/// Why a username or password was rejected.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum AuthError {
    #[error("el nombre de usuario debe tener entre 3 y 64 caracteres")]
    UsernameLength { len: usize },
    #[error("el nombre de usuario solo admite letras a–z sin acentos, dígitos, '.', '_' y '-'")]
    UsernameCharset,
    #[error("la contraseña debe tener al menos {min} caracteres")]
    PasswordTooShort { min: usize },
}

impl AuthError {
    /// Stable machine slug of the broken rule, for problem+json.
    pub fn rule(&self) -> &'static str {
        match self {
            AuthError::UsernameLength { .. } => "length",
            AuthError::UsernameCharset => "charset",
            AuthError::PasswordTooShort { .. } => "too_short",
        }
    }
}

/// Normalises a username (trimmed, ASCII lower-cased) so "Ana" and "ana" are one account,
/// then checks 3–64 characters of `[a-z0-9._-]`.
pub fn validate_username(s: &str) -> Result<String, AuthError> {
    let name = s.trim().to_ascii_lowercase();
    let len = name.chars().count();
    if !(3..=64).contains(&len) {
        return Err(AuthError::UsernameLength { len });
    }
    let ok = name
        .bytes()
        .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || matches!(b, b'.' | b'_' | b'-'));
    if !ok {
        return Err(AuthError::UsernameCharset);
    }
    Ok(name)
}

/// At least 10 characters (counted as Unicode scalars, not bytes). Not trimmed: spaces are
/// part of a passphrase.
pub fn validate_password(s: &str) -> Result<(), AuthError> {
    if s.chars().count() < MIN_PASSWORD_CHARS {
        return Err(AuthError::PasswordTooShort {
            min: MIN_PASSWORD_CHARS,
        });
    }
    Ok(())
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn permission_matrix() {
        use Permission as P;
        for p in Permission::ALL {
            assert!(Role::Admin.allows(*p));
        }
        let granted = |r: Role| -> Vec<Permission> {
            Permission::ALL
                .iter()
                .copied()
                .filter(|p| r.allows(*p))
                .collect()
        };
        assert_eq!(
            granted(Role::Manager),
            [
                P::CatalogRead,
                P::CatalogWrite,
                P::StockRead,
                P::StockWrite,
                P::StockCount,
                P::SalesWrite,
                P::SalesVoid,
                P::PurchasingWrite,
                P::PricingWrite,
                P::ReportsRead,
                P::AuditRead
            ]
        );
        assert_eq!(
            granted(Role::Cashier),
            [P::CatalogRead, P::StockRead, P::SalesWrite]
        );
        assert_eq!(
            granted(Role::Warehouse),
            [
                P::CatalogRead,
                P::StockRead,
                P::StockWrite,
                P::StockCount,
                P::PurchasingWrite
            ]
        );
        assert_eq!(
            granted(Role::Viewer),
            [P::CatalogRead, P::StockRead, P::ReportsRead]
        );
    }

    #[test]
    fn roles_agree_with_serde() {
        for r in Role::ALL {
            assert_eq!(Role::parse(r.as_str()), Ok(*r));
            assert_eq!(crate::support::de_str::<Role>(r.as_str()).unwrap(), *r);
        }
        for p in Permission::ALL {
            assert_eq!(
                crate::support::de_str::<Permission>(p.as_str()).unwrap(),
                *p
            );
        }
        assert_eq!(Role::parse("Admin"), Ok(Role::Admin));
        assert_eq!(Role::parse("root").unwrap_err().rule(), "unknown_value");
        assert_eq!(Role::Cashier.label_es(), "Cajero");
    }

    #[test]
    fn usernames() {
        assert_eq!(validate_username("  Ana.Perez_1 ").unwrap(), "ana.perez_1");
        assert_eq!(validate_username("abc").unwrap(), "abc");
        assert_eq!(validate_username("ab").unwrap_err().rule(), "length");
        assert_eq!(
            validate_username(&"a".repeat(65)).unwrap_err().rule(),
            "length"
        );
        assert!(validate_username(&"a".repeat(64)).is_ok());
        assert_eq!(
            validate_username("ana pérez").unwrap_err().rule(),
            "charset"
        );
        assert_eq!(validate_username("ana@x").unwrap_err().rule(), "charset");
    }

    #[test]
    fn passwords() {
        assert_eq!(
            validate_password("123456789").unwrap_err().rule(),
            "too_short"
        );
        assert_eq!(
            validate_password("corto").unwrap_err().to_string(),
            "la contraseña debe tener al menos 10 caracteres"
        );
        assert!(validate_password("ñandú ñandú").is_ok());
        assert!(validate_password("0123456789").is_ok());
    }
}
