//! One attempt of a run, as a child process (`satu run PIPELINE`): whatever the run does —
//! error, hang, panic, runaway memory — stays in that process, and the scheduler records it.

use nix::sys::signal::{kill, Signal};
use nix::unistd::Pid;
use std::ffi::OsString;
use std::path::PathBuf;
use std::process::{ExitStatus, Stdio};
use std::time::Duration;
use tokio::process::{Child, Command};
use tokio::sync::watch;

/// How runs are started: the `satu` binary and the arguments before `run PIPELINE` (the
/// deployment file, log settings).
#[derive(Debug, Clone)]
pub struct Launcher {
    /// The program, normally the running `satu` itself.
    pub program: PathBuf,
    /// Arguments before `run PIPELINE`, e.g. `["--config", "/etc/satu/pipelines.toml"]`.
    pub args: Vec<OsString>,
}

/// Exit code of `satu run` when every failure may pass on a retry (`EX_TEMPFAIL`).
pub const EXIT_RETRYABLE: i32 = 75;
/// Exit code of `satu run` when another process runs the pipeline.
const EXIT_BUSY: i32 = 4;
/// Exit code of `satu run` when the warehouse could not be used.
const EXIT_WAREHOUSE: i32 = 3;
/// Exit code of `satu run` when stopped by a signal it handled.
const EXIT_INTERRUPTED: i32 = 130;
/// Exit code of a Rust program that panicked.
const EXIT_PANIC: i32 = 101;

/// Limits of one attempt.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    /// Stop the run after this long.
    pub timeout: Duration,
    /// Stop the run when its resident memory exceeds this many bytes.
    pub memory_bytes: u64,
    /// After SIGTERM, wait this long for the run to roll back before killing it.
    pub grace: Duration,
}

/// How an attempt ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Attempt {
    /// The run succeeded.
    Success,
    /// The run failed; `retryable` when trying again may help.
    Failed {
        /// `failed`, `timeout` or `memory` (the `satu_runs_total` outcome).
        outcome: &'static str,
        /// Why, for the history and the logs.
        reason: String,
        /// Whether a retry may help.
        retryable: bool,
        /// The process was stopped from outside, so its run record must be closed for it.
        stopped: bool,
    },
    /// The scheduler is stopping: the run was asked to stop and rolled back its batch in flight.
    Interrupted,
    /// Another process (another scheduler, or a hand-started run) is running the pipeline.
    Busy,
}

/// Runs `pipeline` once in a child process within `limits`, stopping it when `stop` turns true.
pub async fn attempt(
    launcher: &Launcher,
    pipeline: &str,
    limits: Limits,
    stop: &mut watch::Receiver<bool>,
) -> Attempt {
    let spawned = Command::new(&launcher.program)
        .args(&launcher.args)
        .arg("run")
        .arg(pipeline)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::inherit())
        .kill_on_drop(true)
        .spawn();
    let mut child = match spawned {
        Ok(c) => c,
        Err(e) => {
            return Attempt::Failed {
                outcome: "failed",
                reason: format!("cannot start `{} run`: {e}", launcher.program.display()),
                retryable: true,
                stopped: false,
            }
        }
    };
    let pid = child.id();
    let deadline = tokio::time::sleep(limits.timeout);
    tokio::pin!(deadline);
    let mut watch_memory = tokio::time::interval(Duration::from_millis(250));
    loop {
        tokio::select! {
            status = child.wait() => return classify(status),
            _ = &mut deadline => {
                terminate(&mut child, limits.grace).await;
                return Attempt::Failed {
                    outcome: "timeout",
                    reason: format!("timed out after {}", human(limits.timeout)),
                    retryable: true,
                    stopped: true,
                };
            }
            _ = watch_memory.tick() => {
                let rss = pid.and_then(resident_bytes).unwrap_or(0);
                if rss > limits.memory_bytes {
                    let _ = child.kill().await;
                    return Attempt::Failed {
                        outcome: "memory",
                        reason: format!(
                            "memory budget exceeded: {} MiB resident, budget {} MiB",
                            rss >> 20,
                            limits.memory_bytes >> 20
                        ),
                        retryable: false,
                        stopped: true,
                    };
                }
            }
            changed = stop.changed() => {
                if changed.is_err() || *stop.borrow() {
                    terminate(&mut child, limits.grace).await;
                    return Attempt::Interrupted;
                }
            }
        }
    }
}

/// What an exit status means.
fn classify(status: std::io::Result<ExitStatus>) -> Attempt {
    let failed = |reason: String, retryable: bool| Attempt::Failed {
        outcome: "failed",
        reason,
        retryable,
        stopped: false,
    };
    let status = match status {
        Ok(s) => s,
        Err(e) => return failed(format!("lost the run's process: {e}"), true),
    };
    match status.code() {
        Some(0) => Attempt::Success,
        Some(EXIT_RETRYABLE) => failed("failed with a retryable error (see the run's error)".into(), true),
        Some(EXIT_WAREHOUSE) => failed("the warehouse could not be used".into(), true),
        Some(EXIT_INTERRUPTED) => Attempt::Interrupted,
        Some(EXIT_BUSY) => Attempt::Busy,
        Some(EXIT_PANIC) => failed("the run panicked (a bug: see the log)".into(), false),
        Some(code) => failed(format!("failed (exit code {code})"), false),
        None => {
            use std::os::unix::process::ExitStatusExt;
            let signal = status.signal().unwrap_or(0);
            failed(format!("killed by signal {signal} (out of memory?)"), false)
        }
    }
}

/// Asks the run to stop (SIGTERM: it rolls back its batch in flight), then kills it after
/// `grace`.
async fn terminate(child: &mut Child, grace: Duration) {
    if let Some(pid) = child.id().and_then(|p| i32::try_from(p).ok()) {
        let _ = kill(Pid::from_raw(pid), Signal::SIGTERM);
        if tokio::time::timeout(grace, child.wait()).await.is_ok() {
            return;
        }
    }
    let _ = child.kill().await;
}

/// Resident memory of a process, from `/proc/PID/status` (Linux).
fn resident_bytes(pid: u32) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let line = status.lines().find(|l| l.starts_with("VmRSS:"))?;
    let kib: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kib * 1024)
}

/// `90s`, `15m`, `2h`: a duration as the config writes it.
pub(crate) fn human(d: Duration) -> String {
    let s = d.as_secs();
    match s {
        _ if d.subsec_millis() != 0 || s == 0 => format!("{}ms", d.as_millis()),
        _ if s % 3600 == 0 => format!("{}h", s / 3600),
        _ if s % 60 == 0 => format!("{}m", s / 60),
        _ => format!("{s}s"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exit_statuses_say_what_happened() {
        use std::os::unix::process::ExitStatusExt;
        let exit = |code: i32| classify(Ok(ExitStatus::from_raw(code << 8)));
        let retryable = |a: Attempt| matches!(a, Attempt::Failed { retryable: true, .. });
        assert_eq!(exit(0), Attempt::Success);
        assert!(retryable(exit(EXIT_RETRYABLE)));
        assert!(retryable(exit(EXIT_WAREHOUSE)));
        assert_eq!(exit(EXIT_BUSY), Attempt::Busy);
        assert_eq!(exit(EXIT_INTERRUPTED), Attempt::Interrupted);
        let panicked = exit(EXIT_PANIC);
        assert!(
            matches!(&panicked, Attempt::Failed { reason, retryable: false, .. } if reason.contains("panicked"))
        );
        assert!(!retryable(exit(1)));
        let killed = classify(Ok(ExitStatus::from_raw(9)));
        assert!(
            matches!(&killed, Attempt::Failed { reason, .. } if reason.contains("signal 9")),
            "{killed:?}"
        );
    }

    #[test]
    fn reads_own_memory_and_writes_durations() {
        let rss = resident_bytes(std::process::id()).expect("a Linux /proc");
        assert!(rss > 1 << 20, "{rss}");
        assert_eq!(human(Duration::from_secs(7200)), "2h");
        assert_eq!(human(Duration::from_secs(90)), "90s");
        assert_eq!(human(Duration::from_millis(300)), "300ms");
        assert_eq!(human(Duration::from_millis(1500)), "1500ms");
    }
}
