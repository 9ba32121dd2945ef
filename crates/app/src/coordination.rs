//! Coordination between nodes that share one database: the counters behind rate limits and the
//! invalidation of cached credentials. This is the port; the Redis adapter lives in the binary.
//! Every node also keeps local counters, used whenever the shared backend cannot answer: a node
//! never fails a request because coordination is down, it only limits on its own.

use std::collections::HashMap;
use std::sync::Mutex;

use async_trait::async_trait;

#[async_trait]
pub trait Coordination: Send + Sync {
    /// Counts one hit on `key` in window number `window` (callers compute it from the clock)
    /// and returns the window's count so far across nodes; `None` when the backend cannot
    /// answer, and the caller then counts locally.
    async fn hit(&self, key: &str, window: i64, window_secs: i64) -> Option<i64>;
    /// Tells every node to resolve a token again: one (by its hash) or, with `None`, all.
    async fn invalidate(&self, token_hash: Option<&str>);
}

/// Fixed-window counters of this node alone (the fallback).
#[derive(Default)]
pub struct LocalCounters {
    windows: Mutex<HashMap<String, (i64, i64)>>,
}

impl LocalCounters {
    pub fn hit(&self, key: &str, window: i64) -> i64 {
        let Ok(mut map) = self.windows.lock() else {
            return 0;
        };
        if map.len() > 100_000 {
            map.retain(|_, (w, _)| *w >= window);
        }
        let entry = map.entry(key.to_owned()).or_insert((window, 0));
        if entry.0 != window {
            *entry = (window, 0);
        }
        entry.1 += 1;
        entry.1
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn local_counters_restart_each_window() {
        let c = LocalCounters::default();
        assert_eq!((c.hit("a", 7), c.hit("a", 7), c.hit("b", 7)), (1, 2, 1));
        assert_eq!(c.hit("a", 8), 1);
    }
}
