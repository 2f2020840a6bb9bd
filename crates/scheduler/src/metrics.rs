//! The scheduler's counters and gauges, rendered in the Prometheus text format (0.0.4).

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::sync::Mutex;

/// What a finished run or skipped tick counts as in `satu_runs_total`.
pub const OUTCOMES: [&str; 6] = ["success", "failed", "timeout", "memory", "interrupted", "circuit_open"];

/// Row outcomes in `satu_rows_total`.
const ROW_OUTCOMES: [&str; 8] =
    ["read", "inserted", "updated", "unchanged", "rejected", "filtered", "duplicate", "deleted"];

/// Per pipeline figures.
#[derive(Debug, Default, Clone)]
struct PipelineFigures {
    runs: [u64; OUTCOMES.len()],
    rows: [u64; ROW_OUTCOMES.len()],
    duration_sum: f64,
    duration_count: u64,
    last_success: Option<f64>,
    failures: u32,
    circuit_open: bool,
    running: bool,
    skipped_ticks: u64,
    next_tick: Option<f64>,
}

/// The scheduler's metrics, shared by its tasks and the HTTP listener.
#[derive(Debug, Default)]
pub struct Metrics {
    started_at: f64,
    pipelines: Mutex<BTreeMap<String, PipelineFigures>>,
}

impl Metrics {
    /// Metrics for `pipelines`, each present from the start (at zero).
    pub fn new(pipelines: &[String], started_at: f64) -> Self {
        let map = pipelines.iter().map(|p| (p.clone(), PipelineFigures::default())).collect();
        Self { started_at, pipelines: Mutex::new(map) }
    }

    fn with(&self, pipeline: &str, f: impl FnOnce(&mut PipelineFigures)) {
        let mut map = self.pipelines.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        f(map.entry(pipeline.to_string()).or_default());
    }

    /// Counts a finished run (or a tick the circuit held back) and its rows.
    pub fn run_finished(
        &self,
        pipeline: &str,
        outcome: &str,
        seconds: f64,
        rows: Option<&satu_warehouse::RunRecord>,
    ) {
        self.with(pipeline, |f| {
            if let Some(i) = OUTCOMES.iter().position(|o| *o == outcome) {
                f.runs[i] += 1;
            }
            if outcome != "circuit_open" {
                f.duration_sum += seconds;
                f.duration_count += 1;
            }
            if let Some(r) = rows {
                let c = r.counts;
                let values = [
                    c.read,
                    c.inserted,
                    c.updated,
                    c.unchanged,
                    c.rejected,
                    c.filtered,
                    c.duplicates,
                    c.deleted,
                ];
                for (total, v) in f.rows.iter_mut().zip(values) {
                    *total += v;
                }
            }
        });
    }

    /// Records the time of a pipeline's latest success (Unix seconds).
    pub fn succeeded_at(&self, pipeline: &str, unix: f64) {
        self.with(pipeline, |f| f.last_success = Some(f.last_success.map_or(unix, |t| t.max(unix))));
    }

    /// Records the circuit state.
    pub fn circuit(&self, pipeline: &str, failures: u32, open: bool) {
        self.with(pipeline, |f| {
            f.failures = failures;
            f.circuit_open = open;
        });
    }

    /// Marks a pipeline running or idle.
    pub fn running(&self, pipeline: &str, running: bool) {
        self.with(pipeline, |f| f.running = running);
    }

    /// Counts ticks skipped because the previous run was still going.
    pub fn skipped(&self, pipeline: &str, ticks: u64) {
        self.with(pipeline, |f| f.skipped_ticks += ticks);
    }

    /// Records the next scheduled tick (Unix seconds).
    pub fn next_tick(&self, pipeline: &str, unix: f64) {
        self.with(pipeline, |f| f.next_tick = Some(unix));
    }

    /// How many pipelines are running now.
    pub fn running_count(&self) -> usize {
        let map = self.pipelines.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        map.values().filter(|f| f.running).count()
    }

    /// The Prometheus text exposition.
    pub fn render(&self) -> String {
        let map = self.pipelines.lock().unwrap_or_else(|poisoned| poisoned.into_inner()).clone();
        let mut out = String::new();
        let mut family =
            |name: &str, kind: &str, help: &str, samples: &mut dyn Iterator<Item = (String, String)>| {
                let _ = writeln!(out, "# HELP {name} {help}\n# TYPE {name} {kind}");
                for (labels, value) in samples {
                    let _ = writeln!(out, "{name}{labels} {value}");
                }
            };
        let label = |p: &str| format!("pipeline=\"{}\"", escape(p));
        family(
            "satu_scheduler_start_time_seconds",
            "gauge",
            "When this scheduler started (Unix seconds).",
            &mut std::iter::once((String::new(), self.started_at.to_string())),
        );
        family(
            "satu_runs_total",
            "counter",
            "Finished runs by outcome (circuit_open: ticks held back by an open circuit).",
            &mut map.iter().flat_map(|(p, f)| {
                OUTCOMES
                    .iter()
                    .zip(f.runs)
                    .map(move |(o, n)| (format!("{{{},outcome=\"{o}\"}}", label(p)), n.to_string()))
            }),
        );
        family(
            "satu_rows_total",
            "counter",
            "Rows of finished runs by outcome.",
            &mut map.iter().flat_map(|(p, f)| {
                ROW_OUTCOMES
                    .iter()
                    .zip(f.rows)
                    .map(move |(o, n)| (format!("{{{},outcome=\"{o}\"}}", label(p)), n.to_string()))
            }),
        );
        family(
            "satu_run_duration_seconds",
            "summary",
            "Duration of runs, retries included.",
            &mut map.iter().flat_map(|(p, f)| {
                [
                    (format!("_sum{{{}}}", label(p)), f.duration_sum.to_string()),
                    (format!("_count{{{}}}", label(p)), f.duration_count.to_string()),
                ]
            }),
        );
        let gauge = |pick: fn(&PipelineFigures) -> Option<String>| {
            map.iter()
                .filter_map(move |(p, f)| pick(f).map(|v| (format!("{{{}}}", label(p)), v)))
                .collect::<Vec<_>>()
        };
        family(
            "satu_last_success_timestamp_seconds",
            "gauge",
            "End of the latest successful run (Unix seconds).",
            &mut gauge(|f| f.last_success.map(|t| t.to_string())).into_iter(),
        );
        family(
            "satu_circuit_open",
            "gauge",
            "1 when the pipeline's circuit is open (runs held back until a probe succeeds or a reset).",
            &mut gauge(|f| Some(u8::from(f.circuit_open).to_string())).into_iter(),
        );
        family(
            "satu_consecutive_failures",
            "gauge",
            "Consecutive failed ticks.",
            &mut gauge(|f| Some(f.failures.to_string())).into_iter(),
        );
        family(
            "satu_running",
            "gauge",
            "1 while a run of the pipeline is going.",
            &mut gauge(|f| Some(u8::from(f.running).to_string())).into_iter(),
        );
        family(
            "satu_ticks_skipped_total",
            "counter",
            "Ticks skipped because the previous run was still going.",
            &mut gauge(|f| Some(f.skipped_ticks.to_string())).into_iter(),
        );
        family(
            "satu_next_run_timestamp_seconds",
            "gauge",
            "The next scheduled tick (Unix seconds).",
            &mut gauge(|f| f.next_tick.map(|t| t.to_string())).into_iter(),
        );
        out
    }
}

/// Escapes a label value (backslash, quote, newline).
fn escape(v: &str) -> String {
    v.replace('\\', r"\\").replace('"', "\\\"").replace('\n', r"\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_families_with_help_and_type() {
        let m = Metrics::new(&["dinkes".into()], 1_700_000_000.0);
        m.run_finished("dinkes", "success", 1.5, None);
        m.succeeded_at("dinkes", 1_700_000_100.0);
        m.circuit("dinkes", 0, false);
        let text = m.render();
        assert!(text.contains("# TYPE satu_runs_total counter\n"));
        assert!(text.contains("satu_runs_total{pipeline=\"dinkes\",outcome=\"success\"} 1\n"));
        assert!(text.contains("satu_run_duration_seconds_sum{pipeline=\"dinkes\"} 1.5\n"));
        assert!(text.contains("satu_last_success_timestamp_seconds{pipeline=\"dinkes\"} 1700000100\n"));
        assert_eq!(escape("a\"b\\c"), "a\\\"b\\\\c");
    }
}
