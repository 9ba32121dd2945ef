//! The frame around every page: the menu the user's role may see, who is signed in, the logout
//! form and the language switch.

use domain::auth::Permission;

use crate::i18n::Tr;
use crate::session::Viewer;

pub struct MenuItem {
    pub href: &'static str,
    pub label: &'static str,
    pub active: bool,
}

pub struct Chrome {
    pub t: Tr,
    pub title: &'static str,
    pub user: String,
    pub role: &'static str,
    pub csrf: String,
    pub menu: Vec<MenuItem>,
    /// The current path, to come back after switching language.
    pub here: &'static str,
}

/// Menu entries, each shown only to roles holding its permission.
const MENU: &[(&str, &str, Permission)] = &[
    ("/", "Inicio", Permission::CatalogRead),
    ("/productos", "Productos", Permission::CatalogRead),
    ("/stock", "Stock", Permission::StockRead),
    ("/caja", "Caja", Permission::SalesWrite),
    ("/compras", "Compras", Permission::PurchasingWrite),
    ("/precios", "Precios", Permission::PricingWrite),
    ("/reposicion", "Reposición", Permission::ReportsRead),
    ("/admin", "Administración", Permission::UsersManage),
];

impl Chrome {
    pub fn new(viewer: &Viewer, section: &'static str, title: &'static str) -> Chrome {
        let t = viewer.t;
        let menu = MENU
            .iter()
            .filter(|(_, _, p)| viewer.can(*p))
            .map(|(href, label, _)| MenuItem {
                href,
                label: t.s(label),
                active: *href == section,
            })
            .collect();
        Chrome {
            t,
            title: t.s(title),
            user: viewer.principal.label.clone(),
            role: t.s(viewer.principal.role.label_es()),
            csrf: viewer.csrf.clone(),
            menu,
            here: section,
        }
    }
}
