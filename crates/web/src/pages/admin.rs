//! Administración: users (create with a role and locations, list), API keys (create, shown
//! once; list; revoke) and the audit log with filters, pages and CSV.

use askama::Template;
use axum::Router;
use axum::extract::{Path, Query, State};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use serde::Deserialize;

use app::auth::{ApiKeyInput, AuditEntry, AuditFilter, UserInput};
use domain::auth::{Permission, Role};

use super::Paging;
use super::forms::{Errors, Fields, Input, field_error};
use crate::csv::Csv;
use crate::error::PageError;
use crate::layout::Chrome;
use crate::{Submitted, Viewer, WebState, format, render};

pub fn routes() -> Router<WebState> {
    Router::new()
        .route("/admin", get(index))
        .route("/admin/usuarios", post(create_user))
        .route("/admin/claves", post(create_key))
        .route("/admin/claves/{id}/revocar", post(revoke_key))
        .route("/admin/auditoria", get(audit))
        .route("/admin/auditoria.csv", get(audit_export))
}

pub const EN: &[(&str, &str)] = &[
    ("Rol", "Role"),
    ("Ubicaciones", "Locations"),
    ("Crear usuario", "Create user"),
    ("Usuario creado.", "User created."),
    ("Prefijo", "Prefix"),
    ("Crear clave", "Create key"),
    ("Revocar", "Revoke"),
    ("Revocada", "Revoked"),
    ("Clave revocada.", "Key revoked."),
    (
        "Copie la clave ahora: no se vuelve a mostrar.",
        "Copy the key now: it is not shown again.",
    ),
    ("Registro de auditoría", "Audit log"),
    ("Entidad", "Entity"),
    ("Cuándo", "When"),
    ("Quién", "Who"),
    ("Antes", "Before"),
    ("Acción (empieza con)", "Action (starts with)"),
    ("No hay registros.", "No entries."),
    ("Sin usuarios.", "No users."),
    ("Sin claves.", "No keys."),
];

const ROLES: &[Role] = &[
    Role::Admin,
    Role::Manager,
    Role::Cashier,
    Role::Warehouse,
    Role::Viewer,
];

pub struct UserRow {
    pub id: i64,
    pub username: String,
    pub role: &'static str,
    pub locations: String,
    pub active: bool,
    pub created: String,
}

pub struct KeyRow {
    pub id: i64,
    pub name: String,
    pub role: &'static str,
    pub prefix: String,
    pub created: String,
    pub revoked: bool,
}

#[derive(Template)]
#[template(path = "backoffice/admin.html")]
struct AdminPage {
    chrome: Chrome,
    notice: Option<&'static str>,
    secret: Option<String>,
    users: Vec<UserRow>,
    next: Option<String>,
    keys: Vec<KeyRow>,
    roles: Vec<(&'static str, &'static str)>,
    locations: Vec<(String, String)>,
    username: Input,
    password: Input,
    role: Input,
    chosen: Vec<String>,
    key_name: Input,
    key_role: Input,
    others: Vec<String>,
    can_audit: bool,
}

#[derive(Deserialize, Default)]
struct IndexQuery {
    #[serde(default)]
    ok: String,
    #[serde(flatten)]
    paging: Paging,
}

struct Extra<'a> {
    form: &'a Fields,
    errors: &'a Errors,
    chosen: Vec<String>,
    notice: Option<&'static str>,
    secret: Option<String>,
    paging: Paging,
}

async fn admin_page(
    state: &WebState,
    viewer: &Viewer,
    x: Extra<'_>,
) -> Result<AdminPage, PageError> {
    let t = viewer.t;
    let p = &viewer.principal;
    let page = state
        .app
        .users(p, x.paging.request(50))
        .await
        .map_err(|e| PageError::from_app(e, t))?;
    let users = page
        .items
        .iter()
        .map(|u| UserRow {
            id: u.id,
            username: u.username.clone(),
            role: t.s(u.role.label_es()),
            locations: if u.locations.is_empty() {
                t.s("Todas").to_owned()
            } else {
                u.locations.join(", ")
            },
            active: u.active,
            created: format::date_time(u.created_at),
        })
        .collect();
    let keys = state
        .app
        .api_keys(p)
        .await
        .map_err(|e| PageError::from_app(e, t))?
        .into_iter()
        .rev()
        .map(|k| KeyRow {
            id: k.id,
            name: k.name,
            role: t.s(k.role.label_es()),
            prefix: k.prefix,
            created: format::date_time(k.created_at),
            revoked: k.revoked,
        })
        .collect();
    let locations = super::compras::Directory::load(state, viewer)
        .await?
        .locations;
    let f = x.form;
    let e = x.errors;
    Ok(AdminPage {
        chrome: viewer.chrome("/admin", "Administración"),
        notice: x.notice.map(|n| t.s(n)),
        secret: x.secret,
        users,
        next: page
            .next_cursor
            .map(|c| serde_urlencoded::to_string([("cursor", c)]).unwrap_or_default()),
        keys,
        roles: ROLES
            .iter()
            .map(|r| (r.as_str(), t.s(r.label_es())))
            .collect(),
        locations,
        username: Input::new("username", f.get("username"), e),
        password: Input::new("password", "", e),
        role: Input::new("role", f.get("role"), e),
        chosen: x.chosen,
        key_name: Input::new("name", f.get("name"), e),
        key_role: Input::new("key_role", f.get("key_role"), e),
        others: e.others(&[
            "username",
            "password",
            "role",
            "locations*",
            "name",
            "key_role",
        ]),
        can_audit: viewer.can(Permission::AuditRead),
    })
}

async fn index(
    State(state): State<WebState>,
    viewer: Viewer,
    Query(q): Query<IndexQuery>,
) -> Result<Response, PageError> {
    viewer.require(Permission::UsersManage)?;
    let notice = match q.ok.as_str() {
        "usuario" => Some("Usuario creado."),
        "revocada" => Some("Clave revocada."),
        _ => None,
    };
    let x = Extra {
        form: &Fields::default(),
        errors: &Errors::default(),
        chosen: Vec::new(),
        notice,
        secret: None,
        paging: q.paging,
    };
    Ok(render(&admin_page(&state, &viewer, x).await?, viewer.t))
}

async fn create_user(
    State(state): State<WebState>,
    Submitted { viewer, form }: Submitted<Vec<(String, String)>>,
) -> Result<Response, PageError> {
    viewer.require(Permission::UsersManage)?;
    let t = viewer.t;
    let chosen: Vec<String> = form
        .iter()
        .filter(|(k, v)| k == "locations" && !v.trim().is_empty())
        .map(|(_, v)| v.trim().to_owned())
        .collect();
    let f = Fields::new(form);
    let input = UserInput {
        username: f.get("username").to_owned(),
        password: f.get("password").to_owned(),
        role: f.get("role").to_owned(),
        locations: chosen.clone(),
    };
    let meta = state.app.meta(&viewer.principal, None);
    match state.app.create_user(&viewer.principal, input, meta).await {
        Ok(_) => Ok(Redirect::to("/admin?ok=usuario").into_response()),
        Err(e) => {
            let errors = field_error(e, t, |p| {
                if p.starts_with("locations") {
                    "locations".to_owned()
                } else {
                    p.to_owned()
                }
            })?;
            let x = Extra {
                form: &f,
                errors: &errors,
                chosen,
                notice: None,
                secret: None,
                paging: Paging::default(),
            };
            let mut res = render(&admin_page(&state, &viewer, x).await?, t);
            *res.status_mut() = axum::http::StatusCode::UNPROCESSABLE_ENTITY;
            Ok(res)
        }
    }
}

async fn create_key(
    State(state): State<WebState>,
    Submitted { viewer, form }: Submitted<Vec<(String, String)>>,
) -> Result<Response, PageError> {
    viewer.require(Permission::UsersManage)?;
    let t = viewer.t;
    let f = Fields::new(form);
    let input = ApiKeyInput {
        name: f.get("name").to_owned(),
        role: f.get("key_role").to_owned(),
    };
    let meta = state.app.meta(&viewer.principal, None);
    let (errors, secret, status) = match state
        .app
        .create_api_key(&viewer.principal, input, meta)
        .await
    {
        // Shown on this response only: the page is not cached (no-store) and never redirected to.
        Ok(w) => (
            Errors::default(),
            Some(w.value.secret),
            axum::http::StatusCode::CREATED,
        ),
        Err(e) => (
            field_error(e, t, |p| {
                if p == "role" {
                    "key_role".to_owned()
                } else {
                    p.to_owned()
                }
            })?,
            None,
            axum::http::StatusCode::UNPROCESSABLE_ENTITY,
        ),
    };
    let empty = Fields::default();
    let x = Extra {
        form: if secret.is_some() { &empty } else { &f },
        errors: &errors,
        chosen: Vec::new(),
        notice: None,
        secret,
        paging: Paging::default(),
    };
    let mut res = render(&admin_page(&state, &viewer, x).await?, t);
    *res.status_mut() = status;
    Ok(res)
}

async fn revoke_key(
    State(state): State<WebState>,
    Path(id): Path<i64>,
    Submitted { viewer, .. }: Submitted<crate::session::NoFields>,
) -> Result<Response, PageError> {
    viewer.require(Permission::UsersManage)?;
    let meta = state.app.meta(&viewer.principal, None);
    state
        .app
        .revoke_api_key(&viewer.principal, id, meta)
        .await
        .map_err(|e| PageError::from_app(e, viewer.t))?;
    Ok(Redirect::to("/admin?ok=revocada").into_response())
}

// ---------------------------------------------------------------- audit log

#[derive(Clone, Debug, Default, Deserialize)]
struct AuditQuery {
    #[serde(flatten)]
    filter: AuditFilter,
    #[serde(flatten)]
    paging: Paging,
}

impl AuditQuery {
    fn with_cursor(&self, cursor: &str) -> String {
        serde_urlencoded::to_string([
            ("actor", self.filter.actor.as_str()),
            ("entity", self.filter.entity.as_str()),
            ("action", self.filter.action.as_str()),
            ("cursor", cursor),
        ])
        .unwrap_or_default()
    }
}

pub struct AuditRow {
    pub id: i64,
    pub at: String,
    pub actor: String,
    pub action: String,
    pub entity: String,
    pub entity_id: String,
    pub before: String,
    pub after: String,
}

/// A JSON snapshot shortened for the table; the CSV has it whole.
fn brief(v: &Option<serde_json::Value>, max: usize) -> String {
    let s = v.as_ref().map(|v| v.to_string()).unwrap_or_default();
    if s.chars().count() > max {
        let cut: String = s.chars().take(max).collect();
        format!("{cut}…")
    } else {
        s
    }
}

fn audit_row(e: &AuditEntry, max: usize) -> AuditRow {
    AuditRow {
        id: e.id,
        at: format::date_time(e.at),
        actor: e.actor.clone(),
        action: e.action.clone(),
        entity: e.entity.clone(),
        entity_id: e.entity_id.clone().unwrap_or_default(),
        before: brief(&e.before, max),
        after: brief(&e.after, max),
    }
}

#[derive(Template)]
#[template(path = "backoffice/audit.html")]
struct AuditPage {
    chrome: Chrome,
    filter: AuditFilter,
    rows: Vec<AuditRow>,
    next: Option<String>,
    export: String,
}

async fn audit(
    State(state): State<WebState>,
    viewer: Viewer,
    Query(q): Query<AuditQuery>,
) -> Result<Response, PageError> {
    viewer.require(Permission::AuditRead)?;
    let t = viewer.t;
    let page = state
        .app
        .search_audit(&viewer.principal, &q.filter, q.paging.request(50))
        .await
        .map_err(|e| PageError::from_app(e, t))?;
    Ok(render(
        &AuditPage {
            chrome: viewer.chrome("/admin", "Registro de auditoría"),
            rows: page.items.iter().map(|e| audit_row(e, 120)).collect(),
            next: page.next_cursor.as_deref().map(|c| q.with_cursor(c)),
            export: format!("/admin/auditoria.csv?{}", q.with_cursor("")),
            filter: q.filter,
        },
        t,
    ))
}

async fn audit_export(
    State(state): State<WebState>,
    viewer: Viewer,
    Query(q): Query<AuditQuery>,
) -> Result<Response, PageError> {
    viewer.require(Permission::AuditRead)?;
    let t = viewer.t;
    let mut csv = Csv::new(
        "auditoria",
        &[
            "#",
            t.s("Cuándo"),
            t.s("Quién"),
            t.s("Acción"),
            t.s("Entidad"),
            "Id",
            t.s("Antes"),
            t.s("Después"),
        ],
    );
    super::export_all(
        t,
        |request| {
            state
                .app
                .search_audit(&viewer.principal, &q.filter, request)
        },
        |e| {
            let r = audit_row(e, usize::MAX);
            csv.row([
                r.id.to_string().as_str(),
                &r.at,
                &r.actor,
                &r.action,
                &r.entity,
                &r.entity_id,
                &r.before,
                &r.after,
            ]);
        },
    )
    .await?;
    Ok(csv.into_response())
}
