//! Who writes and how a retried write is recognised: carried by every write to the store.

use domain::auth::{Permission, Role};
use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};

/// The authenticated caller: a user session or an API key.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Principal {
    pub user_id: Option<i64>,
    /// Username, or `api-key:NAME` for integrations; recorded in the audit log.
    pub label: String,
    pub role: Role,
    /// Location ids the caller may act on; `None` means every location.
    pub locations: Option<Vec<i64>>,
}

impl Principal {
    /// The binary's own identity for CLI commands (import, demo data).
    pub fn system() -> Self {
        Principal {
            user_id: None,
            label: "sistema".into(),
            role: Role::Admin,
            locations: None,
        }
    }

    pub fn require(&self, p: Permission) -> Result<()> {
        if self.role.allows(p) {
            Ok(())
        } else {
            Err(Error::Forbidden(format!(
                "el rol {} no tiene permiso para esta acción",
                self.role.as_str()
            )))
        }
    }

    pub fn may_act_on(&self, location_id: i64) -> bool {
        self.locations
            .as_ref()
            .is_none_or(|l| l.contains(&location_id))
    }

    pub fn require_location(&self, location_id: i64, code: &str) -> Result<()> {
        if self.may_act_on(location_id) {
            Ok(())
        } else {
            Err(Error::Forbidden(format!(
                "no tiene permiso para operar en la ubicación {code}"
            )))
        }
    }
}

/// A client-chosen key that makes a POST safe to retry.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct IdempotencyKey {
    pub key: String,
    /// Hash of the method, path and body: the same key with another body is refused.
    pub fingerprint: String,
}

impl IdempotencyKey {
    pub fn parse(key: &str, fingerprint: String) -> Result<Self> {
        let key = key.trim();
        if key.is_empty() || key.len() > 200 || !key.chars().all(|c| c.is_ascii_graphic()) {
            return Err(Error::invalid(
                "Idempotency-Key",
                "format",
                "la clave de idempotencia debe tener entre 1 y 200 caracteres ASCII visibles",
            ));
        }
        Ok(IdempotencyKey {
            key: key.to_owned(),
            fingerprint,
        })
    }
}

#[derive(Clone, Debug)]
pub struct WriteMeta {
    pub actor: Principal,
    pub idempotency: Option<IdempotencyKey>,
    /// Microseconds since the epoch, from the one clock.
    pub now: i64,
}

/// The result of a write, and whether it is the stored result of an earlier identical request.
#[derive(Clone, Debug)]
pub struct Written<T> {
    pub value: T,
    pub replayed: bool,
}

impl<T> Written<T> {
    pub fn fresh(value: T) -> Self {
        Written {
            value,
            replayed: false,
        }
    }

    pub fn map<U>(self, f: impl FnOnce(T) -> U) -> Written<U> {
        Written {
            value: f(self.value),
            replayed: self.replayed,
        }
    }
}
