//! Users, their locations, sessions and API keys.

use std::sync::Arc;

use app::auth::{ApiKey, Credentials, NewUser, TokenOwner, User};
use app::page::{Page, PageRequest};
use app::{Error, Principal, Result, WriteMeta, Written};
use domain::auth::Role;
use sqlx::AssertSqlSafe;
use sqlx::any::AnyRow;
use sqlx::{AnyConnection, AnyPool};

use crate::SqlStore;
use crate::audit::{self, Change};
use crate::catalog::location_ids;
use crate::idempotency;
use crate::rows::{db_error, get, instant, parsed, placeholders};

const USER_COLUMNS: &str =
    "id, username, role, active, created_at, password_hash, failed_logins, locked_until";

fn user_from(r: &AnyRow) -> Result<User> {
    Ok(User {
        id: get(r, "id")?,
        username: get(r, "username")?,
        role: parsed("role", Role::parse(&get::<String>(r, "role")?))?,
        locations: Vec::new(),
        active: get::<i64>(r, "active")? != 0,
        created_at: instant(get(r, "created_at")?),
    })
}

/// Location ids and codes of the users given, in one query.
async fn user_locations(
    conn: &mut AnyConnection,
    user_ids: &[i64],
) -> Result<Vec<(i64, i64, String)>> {
    if user_ids.is_empty() {
        return Ok(Vec::new());
    }
    let mut q = sqlx::query_as::<_, (i64, i64, String)>(AssertSqlSafe(format!(
        "SELECT ul.user_id, l.id, l.code FROM user_locations ul JOIN locations l ON l.id = ul.location_id \
         WHERE ul.user_id IN ({}) ORDER BY l.code",
        placeholders(1, user_ids.len())
    )));
    for id in user_ids {
        q = q.bind(*id);
    }
    q.fetch_all(&mut *conn).await.map_err(db_error)
}

pub(crate) async fn create_user(
    store: &SqlStore,
    meta: &WriteMeta,
    new: NewUser,
) -> Result<Written<User>> {
    let owned_meta = meta.clone();
    store
        .write_idempotent(meta, Arc::new(move |conn| {
            let (meta, new) = (owned_meta.clone(), new.clone());
            Box::pin(async move {
                let taken: Option<i64> = sqlx::query_scalar("SELECT id FROM users WHERE username = $1")
                    .bind(&new.username)
                    .fetch_optional(&mut *conn)
                    .await
                    .map_err(db_error)?;
                if taken.is_some() {
                    return Err(Error::conflict(
                        "duplicate_username",
                        Some("username"),
                        format!("el usuario {} ya existe", new.username),
                    ));
                }
                let codes: Vec<(String, String)> = new
                    .locations
                    .iter()
                    .enumerate()
                    .map(|(i, c)| (format!("locations[{i}]"), c.clone()))
                    .collect();
                let ids = location_ids(conn, &codes).await?;
                let row = sqlx::query(AssertSqlSafe(format!(
                    "INSERT INTO users (username, password_hash, role, active, failed_logins, created_at) \
                     VALUES ($1, $2, $3, 1, 0, $4) RETURNING {USER_COLUMNS}"
                )))
                .bind(&new.username)
                .bind(&new.password_hash)
                .bind(new.role.as_str())
                .bind(meta.now)
                .fetch_one(&mut *conn)
                .await
                .map_err(db_error)?;
                let mut user = user_from(&row)?;
                for code in &new.locations {
                    sqlx::query("INSERT INTO user_locations (user_id, location_id) VALUES ($1, $2) ON CONFLICT DO NOTHING")
                        .bind(user.id)
                        .bind(ids.get(code).copied().unwrap_or_default())
                        .execute(&mut *conn)
                        .await
                        .map_err(db_error)?;
                }
                user.locations = new.locations.clone();
                user.locations.sort();
                user.locations.dedup();
                audit::record(conn, &meta, Change::<(), _> {
                    action: "user.create",
                    entity: "user",
                    entity_id: Some(user.id.to_string()),
                    before: None,
                    after: Some(&user),
                })
                .await?;
                idempotency::record(conn, &meta, &user).await?;
                Ok(user)
            })
        }))
        .await
}

pub(crate) async fn list_users(pool: &AnyPool, page: PageRequest) -> Result<Page<User>> {
    let mut conn = pool.acquire().await.map_err(db_error)?;
    let rows = sqlx::query(AssertSqlSafe(format!(
        "SELECT {USER_COLUMNS} FROM users WHERE id > $1 ORDER BY id LIMIT $2"
    )))
    .bind(page.after)
    .bind(page.fetch_limit())
    .fetch_all(&mut *conn)
    .await
    .map_err(db_error)?;
    let mut users = rows.iter().map(user_from).collect::<Result<Vec<_>>>()?;
    let ids: Vec<i64> = users.iter().map(|u| u.id).collect();
    for (uid, _, code) in user_locations(&mut conn, &ids).await? {
        if let Some(u) = users.iter_mut().find(|u| u.id == uid) {
            u.locations.push(code);
        }
    }
    Ok(Page::from_rows(users, page, |u| u.id))
}

pub(crate) async fn credentials(pool: &AnyPool, username: &str) -> Result<Option<Credentials>> {
    let mut conn = pool.acquire().await.map_err(db_error)?;
    let row = sqlx::query(AssertSqlSafe(format!(
        "SELECT {USER_COLUMNS} FROM users WHERE username = $1"
    )))
    .bind(username)
    .fetch_optional(&mut *conn)
    .await
    .map_err(db_error)?;
    let Some(row) = row else { return Ok(None) };
    let mut user = user_from(&row)?;
    for (_, _, code) in user_locations(&mut conn, &[user.id]).await? {
        user.locations.push(code);
    }
    Ok(Some(Credentials {
        user,
        password_hash: get(&row, "password_hash")?,
        failed_logins: get(&row, "failed_logins")?,
        locked_until: get(&row, "locked_until")?,
    }))
}

pub(crate) async fn record_login_failure(
    store: &SqlStore,
    user_id: i64,
    lock_until: Option<i64>,
    now: i64,
) -> Result<()> {
    store
        .write(Arc::new(move |conn| {
            Box::pin(async move {
                // A lock resets the counter, so the next window starts afresh once it expires.
                let sql = if lock_until.is_some() {
                    "UPDATE users SET failed_logins = 0, locked_until = $1 WHERE id = $2"
                } else {
                    "UPDATE users SET failed_logins = failed_logins + 1, locked_until = $1 WHERE id = $2"
                };
                sqlx::query(sql)
                    .bind(lock_until)
                    .bind(user_id)
                    .execute(&mut *conn)
                    .await
                    .map_err(db_error)?;
                sqlx::query("INSERT INTO audit_log (at, actor, action, entity, entity_id) VALUES ($1, 'anónimo', $2, 'user', $3)")
                    .bind(now)
                    .bind(if lock_until.is_some() { "auth.lockout" } else { "auth.login_failed" })
                    .bind(user_id.to_string())
                    .execute(&mut *conn)
                    .await
                    .map_err(db_error)?;
                Ok(())
            })
        }))
        .await
}

pub(crate) async fn create_session(
    store: &SqlStore,
    user_id: i64,
    token_hash: &str,
    now: i64,
    expires_at: i64,
) -> Result<()> {
    let token_hash = token_hash.to_owned();
    store
        .write(Arc::new(move |conn| {
            let token_hash = token_hash.clone();
            Box::pin(async move {
                sqlx::query("UPDATE users SET failed_logins = 0, locked_until = NULL WHERE id = $1")
                    .bind(user_id)
                    .execute(&mut *conn)
                    .await
                    .map_err(db_error)?;
                sqlx::query("INSERT INTO sessions (token_hash, user_id, created_at, expires_at) VALUES ($1, $2, $3, $4)")
                    .bind(&token_hash)
                    .bind(user_id)
                    .bind(now)
                    .bind(expires_at)
                    .execute(&mut *conn)
                    .await
                    .map_err(db_error)?;
                Ok(())
            })
        }))
        .await
}

pub(crate) async fn session_owner(
    pool: &AnyPool,
    token_hash: &str,
    now: i64,
) -> Result<Option<TokenOwner>> {
    let mut conn = pool.acquire().await.map_err(db_error)?;
    let row: Option<(i64, String, String, i64)> = sqlx::query_as(
        "SELECT u.id, u.username, u.role, s.expires_at FROM sessions s JOIN users u ON u.id = s.user_id \
         WHERE s.token_hash = $1 AND s.revoked_at IS NULL AND s.expires_at > $2 AND u.active = 1",
    )
    .bind(token_hash)
    .bind(now)
    .fetch_optional(&mut *conn)
    .await
    .map_err(db_error)?;
    let Some((id, username, role, expires_at)) = row else {
        return Ok(None);
    };
    let locations: Vec<i64> = user_locations(&mut conn, &[id])
        .await?
        .into_iter()
        .map(|(_, l, _)| l)
        .collect();
    Ok(Some(TokenOwner {
        principal: Principal {
            user_id: Some(id),
            label: username,
            role: parsed("role", Role::parse(&role))?,
            locations: (!locations.is_empty()).then_some(locations),
        },
        expires_at: Some(expires_at),
    }))
}

pub(crate) async fn revoke_session(store: &SqlStore, token_hash: &str, now: i64) -> Result<()> {
    let token_hash = token_hash.to_owned();
    store
        .write(Arc::new(move |conn| {
            let token_hash = token_hash.clone();
            Box::pin(async move {
                sqlx::query("UPDATE sessions SET revoked_at = $1 WHERE token_hash = $2 AND revoked_at IS NULL")
                    .bind(now)
                    .bind(&token_hash)
                    .execute(&mut *conn)
                    .await
                    .map_err(db_error)?;
                Ok(())
            })
        }))
        .await
}

fn api_key_from(r: &AnyRow) -> Result<ApiKey> {
    Ok(ApiKey {
        id: get(r, "id")?,
        name: get(r, "name")?,
        role: parsed("role", Role::parse(&get::<String>(r, "role")?))?,
        prefix: get(r, "prefix")?,
        created_at: instant(get(r, "created_at")?),
        revoked: get::<Option<i64>>(r, "revoked_at")?.is_some(),
    })
}

pub(crate) async fn create_api_key(
    store: &SqlStore,
    meta: &WriteMeta,
    name: &str,
    role: Role,
    prefix: &str,
    key_hash: &str,
) -> Result<Written<ApiKey>> {
    let (owned_meta, name, prefix, key_hash) = (
        meta.clone(),
        name.to_owned(),
        prefix.to_owned(),
        key_hash.to_owned(),
    );
    store
        .write_idempotent(meta, Arc::new(move |conn| {
            let (meta, name, prefix, key_hash) = (owned_meta.clone(), name.clone(), prefix.clone(), key_hash.clone());
            Box::pin(async move {
                let row = sqlx::query(
                    "INSERT INTO api_keys (name, role, prefix, key_hash, created_by, created_at) VALUES ($1, $2, $3, $4, $5, $6) \
                     RETURNING id, name, role, prefix, created_at, revoked_at",
                )
                .bind(&name)
                .bind(role.as_str())
                .bind(&prefix)
                .bind(&key_hash)
                .bind(&meta.actor.label)
                .bind(meta.now)
                .fetch_one(&mut *conn)
                .await
                .map_err(db_error)?;
                let key = api_key_from(&row)?;
                audit::record(conn, &meta, Change::<(), _> {
                    action: "api_key.create",
                    entity: "api_key",
                    entity_id: Some(key.id.to_string()),
                    before: None,
                    after: Some(&key),
                })
                .await?;
                idempotency::record(conn, &meta, &key).await?;
                Ok(key)
            })
        }))
        .await
}

pub(crate) async fn api_key_owner(pool: &AnyPool, key_hash: &str) -> Result<Option<TokenOwner>> {
    let row: Option<(i64, String, String)> = sqlx::query_as(
        "SELECT id, name, role FROM api_keys WHERE key_hash = $1 AND revoked_at IS NULL",
    )
    .bind(key_hash)
    .fetch_optional(pool)
    .await
    .map_err(db_error)?;
    let Some((_, name, role)) = row else {
        return Ok(None);
    };
    Ok(Some(TokenOwner {
        principal: Principal {
            user_id: None,
            label: format!("api-key:{name}"),
            role: parsed("role", Role::parse(&role))?,
            locations: None,
        },
        expires_at: None,
    }))
}

pub(crate) async fn list_api_keys(pool: &AnyPool) -> Result<Vec<ApiKey>> {
    let rows = sqlx::query(
        "SELECT id, name, role, prefix, created_at, revoked_at FROM api_keys ORDER BY id",
    )
    .fetch_all(pool)
    .await
    .map_err(db_error)?;
    rows.iter().map(api_key_from).collect()
}

pub(crate) async fn revoke_api_key(store: &SqlStore, meta: &WriteMeta, id: i64) -> Result<()> {
    let meta = meta.clone();
    store
        .write(Arc::new(move |conn| {
            let meta = meta.clone();
            Box::pin(async move {
                let n = sqlx::query(
                    "UPDATE api_keys SET revoked_at = $1 WHERE id = $2 AND revoked_at IS NULL",
                )
                .bind(meta.now)
                .bind(id)
                .execute(&mut *conn)
                .await
                .map_err(db_error)?
                .rows_affected();
                if n == 0 {
                    return Err(Error::NotFound {
                        entity: "clave de API",
                        key: id.to_string(),
                    });
                }
                audit::record(
                    conn,
                    &meta,
                    Change::<(), ()> {
                        action: "api_key.revoke",
                        entity: "api_key",
                        entity_id: Some(id.to_string()),
                        before: None,
                        after: None,
                    },
                )
                .await?;
                Ok(())
            })
        }))
        .await
}
