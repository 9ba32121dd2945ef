//! Running poppler and Tesseract as child processes: bounded in time, output to files, so a
//! hung or crashing tool fails one scan and never the server.

use std::path::Path;
use std::process::{Command, Stdio};
use std::time::Duration;

use wait_timeout::ChildExt;

use crate::ScanError;

/// Runs `cmd` to completion within `timeout`; kills it past the deadline.
pub(crate) fn run(
    mut cmd: Command,
    what: &'static str,
    timeout: Duration,
) -> Result<(), ScanError> {
    cmd.stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped());
    // One thread per Tesseract: the worker pool decides parallelism, not OpenMP.
    cmd.env("OMP_THREAD_LIMIT", "1");
    let mut child = cmd.spawn().map_err(|e| {
        if e.kind() == std::io::ErrorKind::NotFound {
            ScanError::ToolMissing(what)
        } else {
            ScanError::Tool {
                tool: what,
                detail: e.to_string(),
            }
        }
    })?;
    match child.wait_timeout(timeout) {
        Ok(Some(status)) if status.success() => Ok(()),
        Ok(Some(status)) => {
            let mut err = String::new();
            if let Some(mut e) = child.stderr.take() {
                use std::io::Read;
                let _ = e.by_ref().take(2000).read_to_string(&mut err);
            }
            Err(ScanError::Tool {
                tool: what,
                detail: format!("{status}: {}", err.trim()),
            })
        }
        Ok(None) => {
            let _ = child.kill();
            let _ = child.wait();
            Err(ScanError::Timeout(what))
        }
        Err(e) => {
            let _ = child.kill();
            let _ = child.wait();
            Err(ScanError::Tool {
                tool: what,
                detail: e.to_string(),
            })
        }
    }
}

/// Whether a tool answers `--version` (used to report "Tesseract is not installed" up front).
pub fn available(program: &Path) -> bool {
    let mut cmd = Command::new(program);
    cmd.arg("--version");
    run(cmd, "version", Duration::from_secs(10)).is_ok()
}
