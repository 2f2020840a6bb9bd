//! `satu serve`: runs every pipeline on its cron schedule (WIB by default), unattended.
//!
//! - Each run is a child process (`satu run PIPELINE`), so an error, hang, panic or runaway
//!   memory stays with its pipeline; a timeout and a memory budget stop it.
//! - A global and a per-source-host limit bound how many runs go at once.
//! - Retryable failures (unreachable source, busy warehouse, timeout) are retried with
//!   exponential backoff and jitter; configuration and data errors are not.
//! - After `circuit_after` consecutive failed ticks a pipeline's circuit opens: it then runs only
//!   as a probe every `probe_every`, until a probe succeeds or `satu reset`.
//! - Every tick is claimed in the warehouse (`etl.tick`) under a lease: schedulers sharing a
//!   warehouse never run a tick twice, and take over the ticks of one that died.
//! - A tick that comes while the previous run still goes is skipped (and counted); ticks missed
//!   while no scheduler ran are run once at start (`misfire = "run_once"`).
//! - On SIGTERM, runs are asked to stop (each rolls back its batch in flight) and their ticks are
//!   released, so the next start resumes them from the committed checkpoint.

mod http;
mod metrics;
mod supervisor;
mod timetable;

pub use metrics::Metrics;
pub use supervisor::{Launcher, EXIT_RETRYABLE};
pub use timetable::Timetable;

use chrono::{DateTime, Utc};
use satu_config::{Deployment, Misfire};
use satu_warehouse::{timestamp, Warehouse, WarehouseError};
use std::collections::HashMap;
use std::future::Future;
use std::sync::Arc;
use std::time::{Duration, Instant};
use supervisor::{attempt, human, Attempt, Limits};
use tokio::sync::{watch, Mutex, Semaphore};
use tokio::task::JoinSet;

/// Why the scheduler could not start or stopped.
#[derive(Debug, thiserror::Error)]
pub enum ServeError {
    /// The schedules or the time zone are invalid.
    #[error("{0}")]
    Config(String),
    /// The health/metrics address could not be bound.
    #[error("cannot listen on {addr}: {source}")]
    Listen {
        /// The address.
        addr: String,
        /// Why.
        source: std::io::Error,
    },
    /// The warehouse failed.
    #[error(transparent)]
    Warehouse(#[from] WarehouseError),
}

/// What every pipeline task shares.
struct Shared {
    deployment: Deployment,
    timetable: Timetable,
    warehouse: Arc<dyn Warehouse>,
    launcher: Launcher,
    metrics: Arc<Metrics>,
    /// `host:pid`, the owner of the ticks this scheduler claims.
    owner: String,
    global: Semaphore,
    hosts: HashMap<String, Arc<Semaphore>>,
    /// One lock per pipeline: held while it runs, so an overlapping tick is skipped.
    running: HashMap<String, Mutex<()>>,
}

/// Runs the scheduler until `shutdown` resolves, then stops the runs in flight and returns.
pub async fn serve(
    deployment: Deployment,
    warehouse: Arc<dyn Warehouse>,
    launcher: Launcher,
    shutdown: impl Future<Output = ()>,
) -> Result<(), ServeError> {
    let timetable = Timetable::new(&deployment).map_err(ServeError::Config)?;
    let names: Vec<String> = deployment.pipelines.iter().map(|p| p.name.clone()).collect();
    let metrics = Arc::new(Metrics::new(&names, unix(Utc::now())));
    for run in warehouse.last_successes().await? {
        if let Some(t) = run.finished_at.as_deref().and_then(parse_time) {
            metrics.succeeded_at(&run.pipeline, unix(t));
        }
    }
    for c in warehouse.circuits().await? {
        metrics.circuit(&c.pipeline, c.failures, c.opened_at.is_some());
    }
    let s = &deployment.scheduler;
    let mut hosts = HashMap::new();
    for p in &deployment.pipelines {
        if let Some(h) = source_host(&p.source) {
            hosts.entry(h).or_insert_with(|| Arc::new(Semaphore::new(s.per_host)));
        }
    }
    let (stop_tx, stop_rx) = watch::channel(false);
    let mut tasks = JoinSet::new();
    if !s.listen.is_empty() {
        let listener = tokio::net::TcpListener::bind(&s.listen)
            .await
            .map_err(|source| ServeError::Listen { addr: s.listen.clone(), source })?;
        if let Ok(addr) = listener.local_addr() {
            tracing::info!(%addr, "health and metrics on http://{addr}/healthz and /metrics");
        }
        tasks.spawn(http::serve(listener, metrics.clone(), stop_rx.clone()));
    }
    let shared = Arc::new(Shared {
        global: Semaphore::new(s.concurrency),
        hosts,
        running: names.iter().map(|n| (n.clone(), Mutex::new(()))).collect(),
        owner: owner_id(),
        timetable,
        warehouse,
        launcher,
        metrics,
        deployment,
    });
    tracing::info!(
        pipelines = names.len(),
        zone = %shared.timetable.zone(),
        owner = %shared.owner,
        "scheduler started"
    );
    tasks.spawn(keep_leases(shared.clone(), stop_rx.clone()));
    for name in names {
        tasks.spawn(pipeline_loop(shared.clone(), name, stop_rx.clone()));
    }
    shutdown.await;
    tracing::info!("stopping: asking runs in flight to roll back their open batch");
    let _ = stop_tx.send(true);
    while tasks.join_next().await.is_some() {}
    tracing::info!("scheduler stopped");
    Ok(())
}

/// Schedules one pipeline: the missed tick at start (misfire policy), then every tick.
async fn pipeline_loop(s: Arc<Shared>, name: String, mut stop: watch::Receiver<bool>) {
    if s.deployment.scheduler.misfire == Misfire::RunOnce {
        let due = s.timetable.latest_until(&name, Utc::now()).map(|t| t.to_utc());
        match s.warehouse.last_tick(&name).await {
            // A tick left unfinished (an interrupted run): run it again, resuming from its last
            // commit (unless another scheduler holds it).
            Ok(Some(last)) if !last.finished => {
                if let Some(at) = parse_time(&last.scheduled_for) {
                    tracing::info!(pipeline = %name, tick = %last.scheduled_for, "resuming an unfinished tick");
                    tick(&s, &name, at, &mut stop).await;
                }
            }
            // Ticks missed while no scheduler ran: the latest once.
            Ok(Some(last)) => {
                if let Some(due) = due.filter(|d| timestamp(*d) > last.scheduled_for) {
                    tracing::info!(pipeline = %name, tick = %due, "running a tick missed while no scheduler ran");
                    tick(&s, &name, due, &mut stop).await;
                }
            }
            Ok(None) => {}
            Err(e) => tracing::error!(pipeline = %name, error = %e, "cannot read the last tick"),
        }
    }
    loop {
        let Some(next) = s.timetable.next_after(&name, Utc::now()) else {
            tracing::warn!(pipeline = %name, "the schedule has no future tick");
            return;
        };
        s.metrics.next_tick(&name, unix(next.to_utc()));
        let wait = (next.to_utc() - Utc::now()).to_std().unwrap_or_default();
        tokio::select! {
            _ = tokio::time::sleep(wait) => {}
            _ = stop.changed() => return,
        }
        if *stop.borrow() {
            return;
        }
        tick(&s, &name, next.to_utc(), &mut stop).await;
        let skipped = s.timetable.ticks_between(&name, next.to_utc(), Utc::now(), 10_000);
        if skipped > 0 {
            s.metrics.skipped(&name, skipped as u64);
            tracing::warn!(pipeline = %name, skipped, "skipped ticks that came while the run was still going");
        }
        if *stop.borrow() {
            return;
        }
    }
}

/// Runs one tick of a pipeline, if this scheduler wins it and the circuit lets it through.
async fn tick(s: &Shared, name: &str, at: DateTime<Utc>, stop: &mut watch::Receiver<bool>) {
    let Some(lock) = s.running.get(name) else { return };
    let Ok(_running) = lock.try_lock() else {
        s.metrics.skipped(name, 1);
        tracing::warn!(pipeline = %name, tick = %at, "skipped: the previous run is still going");
        return;
    };
    let at_text = timestamp(at);
    let lease = s.deployment.scheduler.lease.0;
    let now = Utc::now();
    match s.warehouse.claim_tick(name, &at_text, &s.owner, &timestamp(now), &timestamp(now + lease)).await {
        Ok(true) => {
            // This run stands for older ticks left unfinished (an interrupted run, a dead
            // scheduler): they are not run again after it.
            if let Err(e) = s.warehouse.supersede_ticks(name, &at_text, &timestamp(now)).await {
                tracing::error!(pipeline = %name, error = %e, "cannot close older unfinished ticks");
            }
        }
        Ok(false) => {
            tracing::debug!(pipeline = %name, tick = %at_text, "tick taken by another scheduler");
            return;
        }
        Err(e) => {
            tracing::error!(pipeline = %name, error = %e, "cannot claim the tick; skipping it");
            return;
        }
    }
    let outcome = run_tick(s, name, stop).await;
    let now = timestamp(Utc::now());
    let released = s.warehouse.release_tick(name, &at_text, &s.owner, &now, outcome).await;
    if let Err(e) = released {
        tracing::error!(pipeline = %name, error = %e, "cannot record the tick's end");
    }
}

/// Runs a claimed tick: circuit check, limits, attempts with retries. Returns the tick's outcome,
/// or `None` when interrupted (the tick is released for the next start or another scheduler).
async fn run_tick(s: &Shared, name: &str, stop: &mut watch::Receiver<bool>) -> Option<&'static str> {
    let cfg = &s.deployment.scheduler;
    let circuit = match s.warehouse.circuits().await {
        Ok(all) => all.into_iter().find(|c| c.pipeline == name),
        Err(e) => {
            tracing::error!(pipeline = %name, error = %e, "cannot read the circuit; running anyway");
            None
        }
    };
    let probing = circuit.as_ref().is_some_and(|c| c.opened_at.is_some());
    if let Some(c) = circuit.as_ref().filter(|_| probing) {
        let since = parse_time(&c.updated_at)
            .map_or(Duration::MAX, |t| (Utc::now() - t).to_std().unwrap_or_default());
        if since < cfg.probe_every.0 {
            tracing::warn!(
                pipeline = %name, failures = c.failures, opened_at = ?c.opened_at,
                "circuit open: tick held back (`satu reset {name}` closes it)"
            );
            s.metrics.run_finished(name, "circuit_open", 0.0, None);
            return Some("circuit_open");
        }
        tracing::info!(pipeline = %name, "circuit open: this tick runs as a probe");
    }
    let Some(pipeline) = s.deployment.pipeline(name) else { return Some("failed") };
    // Wait for a free slot (overall, then on the source's host), unless the scheduler stops.
    let host = source_host(&pipeline.source).and_then(|h| s.hosts.get(&h).cloned());
    let permits = async {
        let global = s.global.acquire().await.ok()?;
        let host = match &host {
            Some(h) => Some(h.acquire().await.ok()?),
            None => None,
        };
        Some((global, host))
    };
    let _permits = tokio::select! {
        p = permits => p?,
        _ = stop.changed() => return None,
    };
    let limits = Limits {
        timeout: pipeline.timeout.unwrap_or(cfg.timeout).0,
        memory_bytes: cfg.memory_mb.saturating_mul(1 << 20),
        grace: cfg.shutdown_grace.0,
    };
    s.metrics.running(name, true);
    let started = Instant::now();
    let mut tries = 0;
    let result = loop {
        tries += 1;
        tracing::info!(pipeline = %name, attempt = tries, "run starting");
        match attempt(&s.launcher, name, limits, stop).await {
            Attempt::Success => break Ok(()),
            Attempt::Interrupted => {
                let reason = "interrupted: the scheduler stopped; the next run resumes from the last commit";
                if let Err(e) = s.warehouse.abandon_runs(name, reason).await {
                    tracing::error!(pipeline = %name, error = %e, "cannot close the interrupted run's record");
                }
                break Err(None);
            }
            Attempt::Busy => {
                s.metrics.running(name, false);
                s.metrics.skipped(name, 1);
                tracing::warn!(pipeline = %name, "skipped: another process is running this pipeline");
                return Some("busy");
            }
            Attempt::Failed { outcome, reason, retryable, stopped } => {
                let error = last_error(s, name, &reason, stopped).await;
                if retryable && tries <= cfg.retries && !*stop.borrow() {
                    let wait = backoff(cfg.retry_backoff.0, tries);
                    tracing::warn!(pipeline = %name, attempt = tries, error = %error, retry_in = %human(wait), "run failed; retrying");
                    tokio::select! {
                        _ = tokio::time::sleep(wait) => continue,
                        _ = stop.changed() => break Err(None),
                    }
                }
                break Err(Some((outcome, error)));
            }
        }
    };
    s.metrics.running(name, false);
    let seconds = started.elapsed().as_secs_f64();
    let record = s.warehouse.runs(Some(name), 1).await.ok().and_then(|mut r| r.pop());
    let (outcome, error) = match &result {
        Ok(()) => ("success", None),
        Err(Some((outcome, error))) => (*outcome, Some(error.as_str())),
        Err(None) => {
            tracing::warn!(pipeline = %name, "run interrupted; the next start resumes from its last commit");
            s.metrics.run_finished(name, "interrupted", seconds, record.as_ref());
            return None;
        }
    };
    s.metrics.run_finished(name, outcome, seconds, record.as_ref());
    if outcome == "success" {
        s.metrics.succeeded_at(name, unix(Utc::now()));
        tracing::info!(pipeline = %name, seconds, attempts = tries, "tick succeeded");
    } else {
        tracing::error!(pipeline = %name, attempts = tries, error = error.unwrap_or(""), "tick failed");
    }
    let now = timestamp(Utc::now());
    match s.warehouse.record_outcome(name, &now, error, cfg.circuit_after).await {
        Ok(c) => {
            s.metrics.circuit(name, c.failures, c.opened_at.is_some());
            if c.opened_at.is_some() && !probing {
                tracing::error!(
                    pipeline = %name, failures = c.failures,
                    "circuit opened: the pipeline now runs only as a probe every {} until it succeeds or `satu reset {name}`",
                    human(cfg.probe_every.0)
                );
            } else if probing && c.opened_at.is_none() {
                tracing::info!(pipeline = %name, "probe succeeded: circuit closed");
            }
        }
        Err(e) => tracing::error!(pipeline = %name, error = %e, "cannot record the circuit"),
    }
    Some(if outcome == "success" { "success" } else { "failed" })
}

/// The error to record for a failed attempt: the run's own, or why it was stopped (closing its
/// run record, which its killed process could not).
async fn last_error(s: &Shared, name: &str, reason: &str, stopped: bool) -> String {
    if stopped {
        if let Err(e) = s.warehouse.abandon_runs(name, reason).await {
            tracing::error!(pipeline = %name, error = %e, "cannot close the stopped run's record");
        }
        return reason.to_string();
    }
    match s.warehouse.runs(Some(name), 1).await {
        Ok(runs) => runs.into_iter().next().and_then(|r| r.error).unwrap_or_else(|| reason.to_string()),
        Err(_) => reason.to_string(),
    }
}

/// Renews this scheduler's leases, and takes over the ticks of schedulers that died.
async fn keep_leases(s: Arc<Shared>, mut stop: watch::Receiver<bool>) {
    let lease = s.deployment.scheduler.lease.0;
    let mut every = tokio::time::interval((lease / 3).max(Duration::from_millis(100)));
    // Takeovers run beside the loop; on stop they are waited for, like the scheduled ticks.
    let mut takeovers = JoinSet::new();
    loop {
        tokio::select! {
            _ = every.tick() => {}
            _ = stop.changed() => {
                while takeovers.join_next().await.is_some() {}
                return;
            }
        }
        while takeovers.try_join_next().is_some() {}
        let now = Utc::now();
        if let Err(e) = s.warehouse.renew_ticks(&s.owner, &timestamp(now + lease)).await {
            tracing::error!(error = %e, "cannot renew the leases of running ticks");
        }
        let expired = match s.warehouse.expired_ticks(&timestamp(now)).await {
            Ok(t) => t,
            Err(e) => {
                tracing::error!(error = %e, "cannot look for abandoned ticks");
                continue;
            }
        };
        // Only the latest tick of a pipeline is taken over; older ones are superseded by it.
        let mut latest: HashMap<String, satu_warehouse::Tick> = HashMap::new();
        for t in expired.into_iter().filter(|t| s.running.contains_key(&t.pipeline)) {
            latest.insert(t.pipeline.clone(), t);
        }
        for t in latest.into_values() {
            let Some(at) = parse_time(&t.scheduled_for) else { continue };
            let (s, mut stop) = (s.clone(), stop.clone());
            takeovers.spawn(async move {
                if let Ok(Some(last)) = s.warehouse.last_tick(&t.pipeline).await {
                    if last.scheduled_for > t.scheduled_for {
                        let now = timestamp(Utc::now());
                        let _ = s.warehouse.supersede_ticks(&t.pipeline, &last.scheduled_for, &now).await;
                        return;
                    }
                }
                if finished_elsewhere(&s, &t).await {
                    return;
                }
                tracing::warn!(pipeline = %t.pipeline, tick = %t.scheduled_for, "taking over a tick whose scheduler stopped");
                tick(&s, &t.pipeline, at, &mut stop).await;
            });
        }
    }
}

/// Whether an abandoned tick's run in fact succeeded (its scheduler died after the run ended,
/// before recording it): the tick is then closed as such instead of run again.
async fn finished_elsewhere(s: &Shared, t: &satu_warehouse::Tick) -> bool {
    let Ok(mut runs) = s.warehouse.runs(Some(&t.pipeline), 1).await else { return false };
    let Some(run) = runs.pop() else { return false };
    if run.status != "success" || run.started_at < t.scheduled_for {
        return false;
    }
    let now = Utc::now();
    let lease_until = timestamp(now + s.deployment.scheduler.lease.0);
    match s.warehouse.claim_tick(&t.pipeline, &t.scheduled_for, &s.owner, &timestamp(now), &lease_until).await
    {
        Ok(true) => {
            let _ = s
                .warehouse
                .release_tick(&t.pipeline, &t.scheduled_for, &s.owner, &timestamp(now), Some("success"))
                .await;
            tracing::info!(pipeline = %t.pipeline, tick = %t.scheduled_for, run = run.id, "an abandoned tick's run had succeeded; recorded");
            true
        }
        _ => true,
    }
}

/// The wait before retry `n` (1-based): `base × 2^(n-1)`, plus up to half of it as jitter,
/// capped at an hour.
fn backoff(base: Duration, n: u32) -> Duration {
    let exp = base.saturating_mul(1 << n.saturating_sub(1).min(16)).min(Duration::from_secs(3600));
    let nanos =
        std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.subsec_nanos());
    exp + exp.mul_f64(f64::from(nanos % 1000) / 2000.0)
}

/// The host (and port) a source reads from, from its `url`, for the per-host limit; `None` for
/// local sources (files).
pub fn source_host(source: &serde_json::Value) -> Option<String> {
    let url = source.get("url")?.as_str()?;
    let rest = url.split_once("://")?.1;
    let authority = rest.split(['/', '?', '#']).next()?;
    let host = authority.rsplit_once('@').map_or(authority, |(_, h)| h);
    (!host.is_empty()).then(|| host.to_ascii_lowercase())
}

/// This scheduler's identity in `etl.tick`: host name and process id.
fn owner_id() -> String {
    let host = std::fs::read_to_string("/etc/hostname")
        .ok()
        .map(|h| h.trim().to_string())
        .filter(|h| !h.is_empty())
        .or_else(|| std::env::var("HOSTNAME").ok())
        .unwrap_or_else(|| "satu".into());
    format!("{host}:{}", std::process::id())
}

fn parse_time(s: &str) -> Option<DateTime<Utc>> {
    DateTime::parse_from_rfc3339(s).ok().map(|t| t.to_utc())
}

fn unix(t: DateTime<Utc>) -> f64 {
    t.timestamp_millis() as f64 / 1000.0
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn hosts_from_source_urls() {
        let pg = json!({ "type": "postgres", "url": "postgres://satu:rahasia@db.dinkes.local:5432/simpus" });
        assert_eq!(source_host(&pg).as_deref(), Some("db.dinkes.local:5432"));
        let my = json!({ "type": "mysql", "url": "mysql://root@10.0.0.5/sipd?ssl-mode=disabled" });
        assert_eq!(source_host(&my).as_deref(), Some("10.0.0.5"));
        assert_eq!(source_host(&json!({ "type": "csv", "path": "a.csv" })), None);
    }

    #[test]
    fn backoff_doubles_with_bounded_jitter() {
        let base = Duration::from_secs(10);
        for (n, low) in [(1, 10), (2, 20), (3, 40)] {
            let b = backoff(base, n);
            assert!(b >= Duration::from_secs(low) && b <= Duration::from_secs(low * 3 / 2), "{n}: {b:?}");
        }
        assert!(backoff(base, 40) <= Duration::from_secs(5400));
    }
}
