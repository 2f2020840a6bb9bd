//! `[scheduler]`: how `satu serve` runs the pipelines unattended.

use serde::{Deserialize, Deserializer};
use std::time::Duration;

/// `[scheduler]`: time zone, limits, retries, circuit breaker and the health/metrics listener of
/// `satu serve`. Every key has a default; durations are written `90s`, `15m`, `6h` or `1d`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SchedulerConfig {
    /// Time zone of the cron schedules: `WIB` (default, UTC+7), `WITA`, `WIT`, an IANA name of
    /// those (`Asia/Jakarta`, `Asia/Makassar`, `Asia/Jayapura`), `UTC`, or an offset `+07:00`.
    #[serde(default = "default_timezone")]
    pub timezone: String,
    /// Most pipelines running at once (default 4).
    #[serde(default = "default_concurrency")]
    pub concurrency: usize,
    /// Most pipelines reading one source host at once (default 1: never hammer an OPD server).
    #[serde(default = "default_per_host")]
    pub per_host: usize,
    /// A run still going after this long is stopped and counted as failed (default `6h`);
    /// a pipeline may set its own `timeout`.
    #[serde(default = "default_timeout")]
    pub timeout: Span,
    /// Retries of a tick whose run failed with a retryable error (default 2): an unreachable
    /// source, a busy warehouse, a timeout. Configuration and data errors are not retried.
    #[serde(default = "default_retries")]
    pub retries: u32,
    /// Wait before the first retry (default `1m`); doubled at each retry, with jitter.
    #[serde(default = "default_retry_backoff")]
    pub retry_backoff: Span,
    /// Consecutive failed ticks that open a pipeline's circuit (default 3): it then stops running
    /// on schedule, except for a probe every `probe_every`, until a probe succeeds or
    /// `satu reset PIPELINE`.
    #[serde(default = "default_circuit_after")]
    pub circuit_after: u32,
    /// How often an open circuit lets a tick through as a probe (default `6h`).
    #[serde(default = "default_probe_every")]
    pub probe_every: Span,
    /// Memory budget of one run, in MiB of resident memory (default 2048): a run over it is
    /// stopped and recorded as failed.
    #[serde(default = "default_memory_mb")]
    pub memory_mb: u64,
    /// Address of the `/healthz` and `/metrics` listener (default `127.0.0.1:9464`; `""` for
    /// none).
    #[serde(default = "default_listen")]
    pub listen: String,
    /// How long a claimed tick stays reserved without its scheduler renewing it (default `1m`):
    /// when a scheduler dies, another sharing the warehouse takes its ticks over after this.
    #[serde(default = "default_lease")]
    pub lease: Span,
    /// Ticks missed while no scheduler ran: `run_once` (default: the latest missed tick runs at
    /// start, once) or `skip`.
    #[serde(default)]
    pub misfire: Misfire,
    /// How long a stopping scheduler waits for runs to roll back their batch in flight before
    /// killing them (default `30s`).
    #[serde(default = "default_grace")]
    pub shutdown_grace: Span,
}

impl Default for SchedulerConfig {
    fn default() -> Self {
        Self {
            timezone: default_timezone(),
            concurrency: default_concurrency(),
            per_host: default_per_host(),
            timeout: default_timeout(),
            retries: default_retries(),
            retry_backoff: default_retry_backoff(),
            circuit_after: default_circuit_after(),
            probe_every: default_probe_every(),
            memory_mb: default_memory_mb(),
            listen: default_listen(),
            lease: default_lease(),
            misfire: Misfire::default(),
            shutdown_grace: default_grace(),
        }
    }
}

/// What to do with ticks missed while no scheduler ran.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Misfire {
    /// Run the latest missed tick once, at start.
    #[default]
    RunOnce,
    /// Wait for the next tick.
    Skip,
}

fn default_timezone() -> String {
    "WIB".into()
}
fn default_concurrency() -> usize {
    4
}
fn default_per_host() -> usize {
    1
}
fn default_timeout() -> Span {
    Span(Duration::from_secs(6 * 3600))
}
fn default_retries() -> u32 {
    2
}
fn default_retry_backoff() -> Span {
    Span(Duration::from_secs(60))
}
fn default_circuit_after() -> u32 {
    3
}
fn default_probe_every() -> Span {
    Span(Duration::from_secs(6 * 3600))
}
fn default_memory_mb() -> u64 {
    2048
}
fn default_listen() -> String {
    "127.0.0.1:9464".into()
}
fn default_lease() -> Span {
    Span(Duration::from_secs(60))
}
fn default_grace() -> Span {
    Span(Duration::from_secs(30))
}

/// A duration written as a number and a unit: `500ms`, `90s`, `15m`, `6h`, `1d`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Span(pub Duration);

impl std::str::FromStr for Span {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, String> {
        let t = s.trim();
        let split = t.find(|c: char| !c.is_ascii_digit()).unwrap_or(t.len());
        let (digits, unit) = t.split_at(split);
        let n: u64 =
            digits.parse().map_err(|_| format!("`{s}` is not a duration (write e.g. 90s, 15m, 6h)"))?;
        let ms = match unit.trim() {
            "ms" => 1,
            "s" => 1_000,
            "m" => 60_000,
            "h" => 3_600_000,
            "d" => 86_400_000,
            _ => return Err(format!("`{s}`: unknown unit (use ms, s, m, h or d)")),
        };
        Ok(Span(Duration::from_millis(n.saturating_mul(ms))))
    }
}

impl<'de> Deserialize<'de> for Span {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        s.parse().map_err(serde::de::Error::custom)
    }
}

/// Parses a scheduler time zone (see [`SchedulerConfig::timezone`]). Indonesia keeps no daylight
/// saving time, so a fixed offset is exact.
pub fn parse_timezone(tz: &str) -> Result<chrono::FixedOffset, String> {
    let hours = match tz.trim() {
        "WIB" | "Asia/Jakarta" | "Asia/Pontianak" => Some(7),
        "WITA" | "Asia/Makassar" => Some(8),
        "WIT" | "Asia/Jayapura" => Some(9),
        "UTC" | "Z" => Some(0),
        _ => None,
    };
    if let Some(h) = hours {
        return chrono::FixedOffset::east_opt(h * 3600).ok_or_else(|| format!("bad offset {h}"));
    }
    tz.parse::<chrono::FixedOffset>().map_err(|_| {
        format!("unknown time zone `{tz}` (use WIB, WITA, WIT, Asia/Jakarta, UTC or an offset like +07:00)")
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn spans_and_zones() {
        assert_eq!("90s".parse::<Span>(), Ok(Span(Duration::from_secs(90))));
        assert_eq!("6h".parse::<Span>(), Ok(Span(Duration::from_secs(21_600))));
        assert_eq!("250ms".parse::<Span>(), Ok(Span(Duration::from_millis(250))));
        assert!("6 hours".parse::<Span>().is_err());
        assert!("h".parse::<Span>().is_err());
        assert_eq!(parse_timezone("WIB").map(|o| o.local_minus_utc()), Ok(7 * 3600));
        assert_eq!(parse_timezone("Asia/Jayapura").map(|o| o.local_minus_utc()), Ok(9 * 3600));
        assert_eq!(parse_timezone("+08:00").map(|o| o.local_minus_utc()), Ok(8 * 3600));
        assert!(parse_timezone("Europe/Paris").is_err());
    }
}
