//! The one clock of the system, injectable so tests can move time.

use chrono::{DateTime, NaiveDate, Utc};
use std::sync::Arc;
use std::sync::atomic::{AtomicI64, Ordering};

#[derive(Clone, Default)]
pub struct Clock {
    /// `None` follows the system clock; `Some` is a fixed instant a test can advance.
    fixed_micros: Option<Arc<AtomicI64>>,
}

impl Clock {
    pub fn system() -> Self {
        Clock { fixed_micros: None }
    }

    pub fn fixed(at: DateTime<Utc>) -> Self {
        Clock {
            fixed_micros: Some(Arc::new(AtomicI64::new(at.timestamp_micros()))),
        }
    }

    /// Moves a fixed clock forward; a system clock ignores it.
    pub fn advance(&self, by: chrono::Duration) {
        if let Some(m) = &self.fixed_micros {
            m.fetch_add(
                by.num_microseconds().unwrap_or(i64::MAX / 4),
                Ordering::SeqCst,
            );
        }
    }

    pub fn now(&self) -> DateTime<Utc> {
        match &self.fixed_micros {
            Some(m) => {
                DateTime::from_timestamp_micros(m.load(Ordering::SeqCst)).unwrap_or_default()
            }
            None => Utc::now(),
        }
    }

    /// Timestamps are stored as microseconds since the epoch in both engines.
    pub fn now_micros(&self) -> i64 {
        self.now().timestamp_micros()
    }

    /// The shop's calendar date (Argentina, UTC−3, no DST).
    pub fn today(&self) -> NaiveDate {
        (self.now() - chrono::Duration::hours(3)).date_naive()
    }
}
