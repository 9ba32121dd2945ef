//! Login, sessions, users, API keys and the audit log.

use axum::Json;
use axum::extract::{Path, State};
use axum::http::HeaderMap;
use axum::http::StatusCode;
use axum::response::Response;

use app::auth::{
    ApiKey, ApiKeyInput, AuditEntry, CreatedApiKey, LoginInput, LoginResult, User, UserInput,
};
use app::page::{Page, PageParams, PageRequest};

use crate::ApiState;
use crate::error::{ApiResult, Problem};
use crate::extract::{ApiJson, ApiQuery, Auth, Idempotent, bearer_token};
use crate::routes::created;

/// Exchanges a username and password for an opaque, revocable session token.
#[utoipa::path(post, path = "/api/v1/auth/login", tag = "auth", request_body = LoginInput,
    responses((status = 200, body = LoginResult), (status = 401, body = Problem), (status = 429, body = Problem), (status = 422, body = Problem)))]
pub async fn login(
    State(s): State<ApiState>,
    ApiJson(input): ApiJson<LoginInput>,
) -> ApiResult<Json<LoginResult>> {
    Ok(Json(s.app.login(input).await?))
}

/// Revokes the session token used for this call.
#[utoipa::path(post, path = "/api/v1/auth/logout", tag = "auth", security(("bearer" = [])),
    responses((status = 204), (status = 401, body = Problem)))]
pub async fn logout(
    State(s): State<ApiState>,
    _auth: Auth,
    headers: HeaderMap,
) -> ApiResult<StatusCode> {
    if let Some(token) = bearer_token(&headers) {
        s.app.logout(&token).await?;
    }
    Ok(StatusCode::NO_CONTENT)
}

#[derive(serde::Serialize, utoipa::ToSchema)]
pub struct Me {
    pub user_id: Option<i64>,
    pub name: String,
    pub role: String,
    /// Location ids the caller may act on; absent means all.
    pub locations: Option<Vec<i64>>,
}

/// Who the token belongs to.
#[utoipa::path(get, path = "/api/v1/auth/me", tag = "auth", security(("bearer" = [])),
    responses((status = 200, body = Me), (status = 401, body = Problem)))]
pub async fn me(Auth(p): Auth) -> Json<Me> {
    Json(Me {
        user_id: p.user_id,
        name: p.label,
        role: p.role.as_str().to_owned(),
        locations: p.locations,
    })
}

/// Creates a user (admin only).
#[utoipa::path(post, path = "/api/v1/users", tag = "auth", security(("bearer" = [])), request_body = UserInput,
    params(("Idempotency-Key" = Option<String>, Header, description = "Makes the request safe to retry")),
    responses((status = 201, body = User), (status = 401, body = Problem), (status = 403, body = Problem), (status = 409, body = Problem), (status = 422, body = Problem)))]
pub async fn create_user(
    State(s): State<ApiState>,
    Auth(p): Auth,
    req: Idempotent<UserInput>,
) -> ApiResult<Response> {
    let meta = s.app.meta(&p, req.key);
    Ok(created(s.app.create_user(&p, req.body, meta).await?))
}

#[utoipa::path(get, path = "/api/v1/users", tag = "auth", security(("bearer" = [])), params(PageParams),
    responses((status = 200, body = Page<User>), (status = 401, body = Problem), (status = 403, body = Problem)))]
pub async fn list_users(
    State(s): State<ApiState>,
    Auth(p): Auth,
    ApiQuery(page): ApiQuery<PageParams>,
) -> ApiResult<Json<Page<User>>> {
    Ok(Json(s.app.users(&p, PageRequest::parse(&page)?).await?))
}

/// Creates an API key; its secret is in this response only.
#[utoipa::path(post, path = "/api/v1/api-keys", tag = "auth", security(("bearer" = [])), request_body = ApiKeyInput,
    params(("Idempotency-Key" = Option<String>, Header, description = "Makes the request safe to retry")),
    responses((status = 201, body = CreatedApiKey), (status = 401, body = Problem), (status = 403, body = Problem), (status = 422, body = Problem)))]
pub async fn create_api_key(
    State(s): State<ApiState>,
    Auth(p): Auth,
    req: Idempotent<ApiKeyInput>,
) -> ApiResult<Response> {
    let meta = s.app.meta(&p, req.key);
    Ok(created(s.app.create_api_key(&p, req.body, meta).await?))
}

#[utoipa::path(get, path = "/api/v1/api-keys", tag = "auth", security(("bearer" = [])),
    responses((status = 200, body = Vec<ApiKey>), (status = 401, body = Problem), (status = 403, body = Problem)))]
pub async fn list_api_keys(
    State(s): State<ApiState>,
    Auth(p): Auth,
) -> ApiResult<Json<Vec<ApiKey>>> {
    Ok(Json(s.app.api_keys(&p).await?))
}

#[utoipa::path(delete, path = "/api/v1/api-keys/{id}", tag = "auth", security(("bearer" = [])),
    params(("id" = i64, Path)),
    responses((status = 204), (status = 401, body = Problem), (status = 403, body = Problem), (status = 404, body = Problem)))]
pub async fn revoke_api_key(
    State(s): State<ApiState>,
    Auth(p): Auth,
    Path(id): Path<i64>,
) -> ApiResult<StatusCode> {
    let meta = s.app.meta(&p, None);
    s.app.revoke_api_key(&p, id, meta).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// The audit log, newest first.
#[utoipa::path(get, path = "/api/v1/audit", tag = "auth", security(("bearer" = [])), params(PageParams),
    responses((status = 200, body = Page<AuditEntry>), (status = 401, body = Problem), (status = 403, body = Problem)))]
pub async fn audit(
    State(s): State<ApiState>,
    Auth(p): Auth,
    ApiQuery(page): ApiQuery<PageParams>,
) -> ApiResult<Json<Page<AuditEntry>>> {
    Ok(Json(s.app.audit_log(&p, PageRequest::parse(&page)?).await?))
}
