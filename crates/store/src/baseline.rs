//! The raw SQLite commit loop the benchmarks compare against: one connection with the store's
//! own pragmas committing one small row per transaction, as fast as the disk's fsync allows.
//! A ticket can never be cheaper than this, so it is the honest floor for "how close are we".

use std::path::Path;
use std::time::{Duration, Instant};

/// Commits per second of a single-row transaction loop on a scratch file at `path` (removed
/// afterwards), for `duration`.
pub fn sqlite_commits_per_sec(path: &Path, duration: Duration) -> Result<f64, String> {
    let remove = || {
        for suffix in ["", "-wal", "-shm"] {
            let _ = std::fs::remove_file(format!("{}{suffix}", path.display()));
        }
    };
    remove();
    let result = (|| {
        let mut conn = rusqlite::Connection::open(path).map_err(|e| e.to_string())?;
        conn.execute_batch(crate::SQLITE_PRAGMAS)
            .map_err(|e| e.to_string())?;
        conn.execute_batch(
            "CREATE TABLE baseline (id INTEGER PRIMARY KEY, at INTEGER NOT NULL, body TEXT NOT NULL)",
        )
        .map_err(|e| e.to_string())?;
        let started = Instant::now();
        let mut commits = 0u64;
        while started.elapsed() < duration {
            let tx = conn.transaction().map_err(|e| e.to_string())?;
            tx.execute(
                "INSERT INTO baseline (at, body) VALUES (?1, 'ticket')",
                [commits as i64],
            )
            .map_err(|e| e.to_string())?;
            tx.commit().map_err(|e| e.to_string())?;
            commits += 1;
        }
        Ok(commits as f64 / started.elapsed().as_secs_f64())
    })();
    remove();
    result
}
