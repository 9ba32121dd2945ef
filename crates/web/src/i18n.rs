//! The dashboard speaks Spanish (es-AR); English is an option per browser.
//!
//! Spanish text is the key: templates write `{{ t.s("Productos") }}` and English readers get the
//! translation from one table. A missing translation shows the Spanish text, never a key.

use std::collections::HashMap;
use std::sync::LazyLock;

use axum::http::HeaderMap;

pub const LANG_COOKIE: &str = "almacen_lang";

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Lang {
    #[default]
    Es,
    En,
}

impl Lang {
    pub fn from_headers(headers: &HeaderMap) -> Lang {
        match crate::session::cookie(headers, LANG_COOKIE).as_deref() {
            Some("en") => Lang::En,
            _ => Lang::Es,
        }
    }

    pub const fn code(self) -> &'static str {
        match self {
            Lang::Es => "es-AR",
            Lang::En => "en",
        }
    }
}

/// The translator templates receive as `t`.
#[derive(Clone, Copy, Debug, Default)]
pub struct Tr(pub Lang);

impl Tr {
    pub fn s(&self, es: &'static str) -> &'static str {
        match self.0 {
            Lang::Es => es,
            Lang::En => ENGLISH.get(es).copied().unwrap_or(es),
        }
    }

    pub fn lang(&self) -> &'static str {
        self.0.code()
    }

    pub fn is_en(&self) -> bool {
        self.0 == Lang::En
    }
}

/// Every table: the shared words here, each page module's own in its `EN`.
static ENGLISH: LazyLock<HashMap<&'static str, &'static str>> = LazyLock::new(|| {
    std::iter::once(EN)
        .chain(crate::pages::TRANSLATIONS.iter().copied())
        .flat_map(|table| table.iter().copied())
        .collect()
});

/// Spanish → English for the frame and words every page uses. Keep alphabetical by Spanish
/// text so duplicates stand out.
const EN: &[(&str, &str)] = &[
    ("1 minuto", "1 minute"),
    ("Acción", "Action"),
    ("Activo", "Active"),
    ("Administración", "Administration"),
    ("Administrador", "Administrator"),
    ("Alertas", "Alerts"),
    ("Anterior", "Previous"),
    ("Auditoría", "Audit log"),
    ("Buscar", "Search"),
    ("Caja", "Till"),
    ("Cajero", "Cashier"),
    ("Cantidad", "Quantity"),
    ("Categoría", "Category"),
    ("Cerrar sesión", "Log out"),
    ("Claves de API", "API keys"),
    ("Compras", "Purchasing"),
    ("Conflicto", "Conflict"),
    ("Consulta", "Viewer"),
    ("Contraseña", "Password"),
    ("Costo", "Cost"),
    ("Cuenta bloqueada", "Account locked"),
    (
        "Cuenta bloqueada por demasiados intentos. Reintente en",
        "Account locked after too many attempts. Try again in",
    ),
    ("Código de barras", "Barcode"),
    ("Dato inválido", "Invalid data"),
    ("Demasiados intentos", "Too many attempts"),
    (
        "Demasiados intentos seguidos; reintente en",
        "Too many attempts in a row; try again in",
    ),
    (
        "Demasiados intentos fallidos; espere unos minutos.",
        "Too many failed attempts; wait a few minutes.",
    ),
    ("Depósito", "Warehouse"),
    ("Descripción", "Description"),
    (
        "El formulario no es válido o venció. Vuelva a la página e intente de nuevo.",
        "The form is invalid or expired. Go back to the page and try again.",
    ),
    ("Encargado", "Manager"),
    ("Error", "Error"),
    ("Error interno", "Internal error"),
    (
        "Esta operación ya se registró con otros datos.",
        "This operation was already recorded with other data.",
    ),
    ("Estado", "Status"),
    ("Exportar CSV", "Export CSV"),
    ("Fecha", "Date"),
    ("Formulario demasiado grande", "Form too large"),
    ("Formulario inválido", "Invalid form"),
    ("Formulario vencido", "Expired form"),
    ("Función no instalada", "Feature not installed"),
    ("Inactivo", "Inactive"),
    ("Ingresar", "Log in"),
    ("Inicie sesión de nuevo.", "Log in again."),
    ("Inicio", "Home"),
    ("IVA", "VAT"),
    (
        "La base de datos no responde. Reintente en unos segundos.",
        "The database does not answer. Try again in a few seconds.",
    ),
    (
        "Los datos enviados superan el tamaño permitido.",
        "The data sent is larger than allowed.",
    ),
    ("Marca", "Brand"),
    ("Menú", "Menu"),
    ("minutos", "minutes"),
    ("Movimientos", "Movements"),
    ("No encontrado", "Not found"),
    ("no existe", "does not exist"),
    ("No hay resultados.", "No results."),
    (
        "No se pudo leer el formulario",
        "The form could not be read",
    ),
    ("Nombre", "Name"),
    ("Nombre, SKU o código de barras", "Name, SKU or barcode"),
    (
        "Ocurrió un error inesperado. Informe el número de solicitud a soporte.",
        "An unexpected error occurred. Give the request number to support.",
    ),
    ("Operación repetida", "Repeated operation"),
    ("Precio", "Price"),
    ("Precios", "Prices"),
    ("Productos", "Products"),
    ("Reposición", "Replenishment"),
    ("Servicio no disponible", "Service unavailable"),
    ("Sesión vencida", "Session expired"),
    ("Siguiente", "Next"),
    ("Sin permiso", "Not allowed"),
    ("Solicitud", "Request"),
    ("Stock", "Stock"),
    ("Stock insuficiente", "Insufficient stock"),
    (
        "Su rol no tiene permiso para ver esta página o hacer esta acción.",
        "Your role may not see this page or do this action.",
    ),
    ("Sucursal", "Store"),
    ("Todas", "All"),
    ("Todos", "All"),
    ("Total", "Total"),
    ("Usuario", "Username"),
    (
        "Usuario o contraseña incorrectos.",
        "Wrong username or password.",
    ),
    ("Usuarios", "Users"),
    ("Volver al inicio", "Back to home"),
];
