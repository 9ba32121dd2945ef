//! Operación's access control: users, passwords, sessions, API keys, login throttling and the audit log.

use std::collections::HashMap;
use std::sync::RwLock;
use std::sync::atomic::{AtomicU64, Ordering};

use argon2::Argon2;
use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use base64::Engine as _;
use chrono::{DateTime, Utc};
use domain::auth::{self as rules, Permission, Role};
use rand::RngCore;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use utoipa::ToSchema;

use crate::App;
use crate::catalog::location_code;
use crate::error::{Error, FieldContext, Result};
use crate::page::{Page, PageRequest};
use crate::write::{Principal, WriteMeta, Written};

const SESSION_PREFIX: &str = "alms_";
const API_KEY_PREFIX: &str = "almk_";
/// How long a resolved token is trusted without asking the database again.
const PRINCIPAL_CACHE_MICROS: i64 = 30_000_000;

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct User {
    pub id: i64,
    pub username: String,
    #[schema(value_type = String, example = "cashier")]
    pub role: Role,
    /// Location codes the user may act on; empty means all.
    pub locations: Vec<String>,
    pub active: bool,
    pub created_at: DateTime<Utc>,
}

/// What login needs to know about a user; never leaves the app layer.
#[derive(Clone, Debug)]
pub struct Credentials {
    pub user: User,
    pub password_hash: String,
    pub failed_logins: i64,
    pub locked_until: Option<i64>,
}

#[derive(Clone, Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UserInput {
    pub username: String,
    pub password: String,
    /// admin | manager | cashier | warehouse | viewer
    pub role: String,
    /// Location codes; empty or absent means every location.
    #[serde(default)]
    pub locations: Vec<String>,
}

#[derive(Clone, Debug)]
pub struct NewUser {
    pub username: String,
    pub password_hash: String,
    pub role: Role,
    pub locations: Vec<String>,
}

#[derive(Clone, Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct LoginInput {
    pub username: String,
    pub password: String,
}

#[derive(Clone, Debug, Serialize, Deserialize, ToSchema)]
pub struct LoginResult {
    /// Opaque; send as `Authorization: Bearer <token>`.
    pub token: String,
    pub token_type: String,
    pub expires_at: DateTime<Utc>,
    pub user: User,
}

#[derive(Clone, Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ApiKeyInput {
    pub name: String,
    pub role: String,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct ApiKey {
    pub id: i64,
    pub name: String,
    #[schema(value_type = String, example = "viewer")]
    pub role: Role,
    /// First characters of the key, to recognise it in lists.
    pub prefix: String,
    pub created_at: DateTime<Utc>,
    pub revoked: bool,
}

#[derive(Clone, Debug, Serialize, Deserialize, ToSchema)]
pub struct CreatedApiKey {
    #[serde(flatten)]
    pub key: ApiKey,
    /// Shown only once; store it now.
    pub secret: String,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct AuditEntry {
    pub id: i64,
    pub at: DateTime<Utc>,
    pub actor: String,
    pub action: String,
    pub entity: String,
    pub entity_id: Option<String>,
    #[schema(value_type = Option<Object>)]
    pub before: Option<serde_json::Value>,
    #[schema(value_type = Option<Object>)]
    pub after: Option<serde_json::Value>,
}

/// Narrows the audit log; empty fields match everything.
#[derive(Clone, Debug, Default, PartialEq, Eq, Deserialize)]
pub struct AuditFilter {
    /// Exactly this user or API key label.
    #[serde(default)]
    pub actor: String,
    /// Exactly this entity (product, user, stock_movement, ...).
    #[serde(default)]
    pub entity: String,
    /// Actions starting with this text ("stock." matches every movement).
    #[serde(default)]
    pub action: String,
}

/// A resolved bearer credential as the store reports it.
#[derive(Clone, Debug)]
pub struct TokenOwner {
    pub principal: Principal,
    /// Microseconds since the epoch; `None` for API keys, which live until revoked.
    pub expires_at: Option<i64>,
}

/// Failed logins slow down, then lock the account for a while.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct LoginPolicy {
    /// Failures after which each further failure waits before answering.
    pub slowdown_after: i64,
    /// Base wait, doubled per failure past `slowdown_after` (capped at 8 s).
    pub slowdown_ms: u64,
    /// Failures that lock the account.
    pub lock_after: i64,
    pub lock_minutes: i64,
    pub session_hours: i64,
    /// Login attempts per username allowed in each window, across nodes (0: no limit).
    pub attempts_per_window: i64,
    pub attempts_window_secs: i64,
}

impl Default for LoginPolicy {
    fn default() -> Self {
        LoginPolicy {
            slowdown_after: 3,
            slowdown_ms: 500,
            lock_after: 6,
            lock_minutes: 15,
            session_hours: 12,
            attempts_per_window: 60,
            attempts_window_secs: 60,
        }
    }
}

pub fn hash_token(token: &str) -> String {
    hex::encode(Sha256::digest(token.as_bytes()))
}

fn random_token(prefix: &str) -> String {
    let mut bytes = [0u8; 32];
    rand::rng().fill_bytes(&mut bytes);
    format!(
        "{prefix}{}",
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
    )
}

/// A random password for generated accounts (demo admin): 20 characters, no look-alikes.
pub fn random_password() -> String {
    const ALPHABET: &[u8] = b"abcdefghijkmnopqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ23456789";
    let mut bytes = [0u8; 20];
    rand::rng().fill_bytes(&mut bytes);
    bytes
        .iter()
        .map(|b| ALPHABET[*b as usize % ALPHABET.len()] as char)
        .collect()
}

pub fn hash_password(password: &str) -> Result<String> {
    let mut salt = [0u8; 16];
    rand::rng().fill_bytes(&mut salt);
    let salt = SaltString::encode_b64(&salt).map_err(Error::internal)?;
    Argon2::default()
        .hash_password(password.as_bytes(), &salt)
        .map(|h| h.to_string())
        .map_err(Error::internal)
}

fn verify_password(password: &str, hash: &str) -> bool {
    PasswordHash::new(hash)
        .map(|h| {
            Argon2::default()
                .verify_password(password.as_bytes(), &h)
                .is_ok()
        })
        .unwrap_or(false)
}

/// Remembers resolved tokens for a short while so the hot paths skip a database read.
#[derive(Default)]
pub struct PrincipalCache {
    entries: RwLock<HashMap<String, (Principal, i64)>>,
    /// Bumped by every forget: a lookup that started before a revocation must not cache
    /// what it read.
    generation: AtomicU64,
}

impl PrincipalCache {
    fn get(&self, hash: &str, now: i64) -> Option<Principal> {
        let map = self.entries.read().ok()?;
        map.get(hash)
            .filter(|(_, until)| *until > now)
            .map(|(p, _)| p.clone())
    }

    fn generation(&self) -> u64 {
        self.generation.load(Ordering::SeqCst)
    }

    /// Caches a lookup unless something was forgotten since it started (`generation`).
    fn put(&self, hash: String, p: Principal, until: i64, generation: u64) {
        if let Ok(mut map) = self.entries.write() {
            if self.generation() != generation {
                return;
            }
            if map.len() > 50_000 {
                map.clear();
            }
            map.insert(hash, (p, until));
        }
    }

    pub fn forget(&self, hash: &str) {
        if let Ok(mut map) = self.entries.write() {
            self.generation.fetch_add(1, Ordering::SeqCst);
            map.remove(hash);
        }
    }

    pub fn clear(&self) {
        if let Ok(mut map) = self.entries.write() {
            self.generation.fetch_add(1, Ordering::SeqCst);
            map.clear();
        }
    }
}

impl UserInput {
    pub fn parse(self) -> Result<(String, String, Role, Vec<String>)> {
        let username = rules::validate_username(&self.username).field("username")?;
        rules::validate_password(&self.password).field("password")?;
        let role = Role::parse(&self.role).field("role")?;
        let mut locations = Vec::new();
        for (i, l) in self.locations.iter().enumerate() {
            locations.push(location_code(&format!("locations[{i}]"), l)?);
        }
        Ok((username, self.password, role, locations))
    }
}

impl App {
    /// Creates a user; the CLI passes `Principal::system()`.
    pub async fn create_user(
        &self,
        actor: &Principal,
        input: UserInput,
        meta: WriteMeta,
    ) -> Result<Written<User>> {
        actor.require(Permission::UsersManage)?;
        let (username, password, role, locations) = input.parse()?;
        let password_hash = tokio::task::spawn_blocking(move || hash_password(&password))
            .await
            .map_err(Error::internal)??;
        let new = NewUser {
            username,
            password_hash,
            role,
            locations,
        };
        self.store.create_user(&meta, new).await
    }

    pub async fn users(&self, actor: &Principal, page: PageRequest) -> Result<Page<User>> {
        actor.require(Permission::UsersManage)?;
        self.store.list_users(page).await
    }

    pub async fn login(&self, input: LoginInput) -> Result<LoginResult> {
        let now = self.clock.now_micros();
        let policy = &self.settings.login;
        let username = input.username.trim().to_lowercase();
        if policy.attempts_per_window > 0 {
            let key = format!("login:{}", hash_token(&username));
            let (count, left) = self.rate_hit(&key, policy.attempts_window_secs).await;
            if count > policy.attempts_per_window {
                return Err(Error::RateLimited {
                    retry_after_secs: left,
                });
            }
        }
        let creds = self.store.credentials(&username).await?;
        let Some(creds) = creds.filter(|c| c.user.active) else {
            // Spend the same time as a real check so usernames cannot be probed by timing.
            let password = input.password;
            let _ =
                tokio::task::spawn_blocking(move || verify_password(&password, DUMMY_HASH)).await;
            return Err(Error::BadCredentials);
        };
        if let Some(until) = creds.locked_until.filter(|u| *u > now) {
            return Err(Error::Locked {
                retry_after_secs: (until - now) / 1_000_000 + 1,
            });
        }
        let hash = creds.password_hash.clone();
        let password = input.password;
        let ok = tokio::task::spawn_blocking(move || verify_password(&password, &hash))
            .await
            .map_err(Error::internal)?;
        if !ok {
            let failures = creds.failed_logins + 1;
            let lock_until =
                (failures >= policy.lock_after).then(|| now + policy.lock_minutes * 60_000_000);
            self.store
                .record_login_failure(creds.user.id, lock_until, now)
                .await?;
            if failures > policy.slowdown_after {
                let exp = (failures - policy.slowdown_after - 1).clamp(0, 4) as u32;
                let wait = (policy.slowdown_ms.saturating_mul(1 << exp)).min(8_000);
                tokio::time::sleep(std::time::Duration::from_millis(wait)).await;
            }
            if let Some(until) = lock_until {
                return Err(Error::Locked {
                    retry_after_secs: (until - now) / 1_000_000,
                });
            }
            return Err(Error::BadCredentials);
        }
        let token = random_token(SESSION_PREFIX);
        let expires = now + policy.session_hours * 3_600_000_000;
        self.store
            .create_session(creds.user.id, &hash_token(&token), now, expires)
            .await?;
        Ok(LoginResult {
            token,
            token_type: "Bearer".into(),
            expires_at: DateTime::from_timestamp_micros(expires).unwrap_or_default(),
            user: creds.user,
        })
    }

    /// Resolves a bearer token (session or API key) to its principal.
    pub async fn authenticate(&self, token: &str) -> Result<Principal> {
        if !(token.starts_with(SESSION_PREFIX) || token.starts_with(API_KEY_PREFIX))
            || token.len() > 200
        {
            return Err(Error::Unauthenticated);
        }
        let now = self.clock.now_micros();
        let hash = hash_token(token);
        if let Some(p) = self.principals.get(&hash, now) {
            return Ok(p);
        }
        let generation = self.principals.generation();
        let owner = if token.starts_with(SESSION_PREFIX) {
            self.store.session_owner(&hash, now).await?
        } else {
            self.store.api_key_owner(&hash).await?
        };
        let owner = owner.ok_or(Error::Unauthenticated)?;
        let until = owner.expires_at.map_or(now + PRINCIPAL_CACHE_MICROS, |e| {
            e.min(now + PRINCIPAL_CACHE_MICROS)
        });
        self.principals
            .put(hash, owner.principal.clone(), until, generation);
        Ok(owner.principal)
    }

    pub async fn logout(&self, token: &str) -> Result<()> {
        let hash = hash_token(token);
        self.principals.forget(&hash);
        self.store
            .revoke_session(&hash, self.clock.now_micros())
            .await?;
        self.invalidate_principal(Some(&hash)).await;
        Ok(())
    }

    pub async fn create_api_key(
        &self,
        actor: &Principal,
        input: ApiKeyInput,
        meta: WriteMeta,
    ) -> Result<Written<CreatedApiKey>> {
        actor.require(Permission::UsersManage)?;
        let name = crate::catalog::text("name", &input.name, 1, 80)?;
        let role = Role::parse(&input.role).field("role")?;
        let secret = random_token(API_KEY_PREFIX);
        let prefix: String = secret.chars().take(12).collect();
        let key = self
            .store
            .create_api_key(&meta, &name, role, &prefix, &hash_token(&secret))
            .await?;
        Ok(key.map(|key| CreatedApiKey { key, secret }))
    }

    pub async fn api_keys(&self, actor: &Principal) -> Result<Vec<ApiKey>> {
        actor.require(Permission::UsersManage)?;
        self.store.list_api_keys().await
    }

    pub async fn revoke_api_key(&self, actor: &Principal, id: i64, meta: WriteMeta) -> Result<()> {
        actor.require(Permission::UsersManage)?;
        self.store.revoke_api_key(&meta, id).await?;
        self.invalidate_principal(None).await;
        Ok(())
    }

    pub async fn audit_log(
        &self,
        actor: &Principal,
        page: PageRequest,
    ) -> Result<Page<AuditEntry>> {
        actor.require(Permission::AuditRead)?;
        self.store.list_audit(page).await
    }

    /// The audit log narrowed by actor, entity and action, newest first.
    pub async fn search_audit(
        &self,
        actor: &Principal,
        filter: &AuditFilter,
        page: PageRequest,
    ) -> Result<Page<AuditEntry>> {
        actor.require(Permission::AuditRead)?;
        let filter = AuditFilter {
            actor: filter.actor.trim().to_owned(),
            entity: filter.entity.trim().to_owned(),
            action: filter.action.trim().to_owned(),
        };
        self.store.search_audit(&filter, page).await
    }
}

/// A valid Argon2id hash of a random string, verified against when the user does not exist.
const DUMMY_HASH: &str = "$argon2id$v=19$m=19456,t=2,p=1$c29tZXNhbHRzb21lc2FsdA$2bGxAu3mj1z+G5mK0Ujsad2xEo4J1fqgpGXhOJa9v5s";
