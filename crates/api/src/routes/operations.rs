//! Operations routes: background agents, alerts with read state, the outbox dead letters.

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use serde::Deserialize;
use utoipa::IntoParams;

use app::operations::{AgentStatus, Alert, OutboxEvent};
use app::page::{Page, PageParams, PageRequest};

use crate::ApiState;
use crate::error::{ApiResult, Problem};
use crate::extract::{ApiQuery, Auth};

/// Background agents of this node: schedule, last run, last success, next run.
#[utoipa::path(get, path = "/api/v1/agents", tag = "operations", security(("bearer" = [])),
    responses((status = 200, body = Vec<AgentStatus>), (status = 401, body = Problem)))]
pub async fn agents(State(s): State<ApiState>, Auth(p): Auth) -> ApiResult<Json<Vec<AgentStatus>>> {
    Ok(Json(s.app.agent_statuses(&p, &s.agents).await?))
}

#[derive(Debug, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct AlertQuery {
    /// Only alerts the caller has not read.
    pub unread: Option<bool>,
}

/// Alerts, newest first, with the caller's read state.
#[utoipa::path(get, path = "/api/v1/alerts", tag = "operations", security(("bearer" = [])), params(AlertQuery, PageParams),
    responses((status = 200, body = Page<Alert>), (status = 401, body = Problem)))]
pub async fn alerts(
    State(s): State<ApiState>,
    Auth(p): Auth,
    ApiQuery(q): ApiQuery<AlertQuery>,
    ApiQuery(page): ApiQuery<PageParams>,
) -> ApiResult<Json<Page<Alert>>> {
    Ok(Json(
        s.app
            .alerts(&p, q.unread.unwrap_or(false), PageRequest::parse(&page)?)
            .await?,
    ))
}

/// Marks an alert as read by the caller.
#[utoipa::path(post, path = "/api/v1/alerts/{id}/read", tag = "operations", security(("bearer" = [])), params(("id" = i64, Path)),
    responses((status = 204), (status = 401, body = Problem), (status = 403, body = Problem), (status = 404, body = Problem)))]
pub async fn read_alert(
    State(s): State<ApiState>,
    Auth(p): Auth,
    Path(id): Path<i64>,
) -> ApiResult<StatusCode> {
    s.app.mark_alert_read(&p, id).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Events that exhausted their delivery retries (admin).
#[utoipa::path(get, path = "/api/v1/outbox/dead-letters", tag = "operations", security(("bearer" = [])), params(PageParams),
    responses((status = 200, body = Page<OutboxEvent>), (status = 401, body = Problem), (status = 403, body = Problem)))]
pub async fn dead_letters(
    State(s): State<ApiState>,
    Auth(p): Auth,
    ApiQuery(page): ApiQuery<PageParams>,
) -> ApiResult<Json<Page<OutboxEvent>>> {
    Ok(Json(
        s.app.dead_letters(&p, PageRequest::parse(&page)?).await?,
    ))
}

/// Puts a dead-lettered event back in the queue (admin).
#[utoipa::path(post, path = "/api/v1/outbox/{id}/retry", tag = "operations", security(("bearer" = [])), params(("id" = i64, Path)),
    responses((status = 204), (status = 401, body = Problem), (status = 403, body = Problem), (status = 404, body = Problem)))]
pub async fn retry_event(
    State(s): State<ApiState>,
    Auth(p): Auth,
    Path(id): Path<i64>,
) -> ApiResult<StatusCode> {
    s.app.retry_dead_letter(&p, id).await?;
    Ok(StatusCode::NO_CONTENT)
}
