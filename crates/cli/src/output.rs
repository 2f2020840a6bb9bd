//! Terminal output: tables, CSV, JSON, logs and progress.

use crate::{LogFormat, TICK};
use clap::ValueEnum;
use comfy_table::{presets::UTF8_FULL_CONDENSED, Table};
use satu_warehouse::{QueryResult, RunRecord};
use std::io::Write;

/// Output formats of `status` and `query`.
#[derive(Clone, Copy, ValueEnum)]
pub enum Format {
    /// An aligned table.
    Table,
    /// CSV with a header row.
    Csv,
    /// A JSON array of objects.
    Json,
}

/// Sets up tracing on stderr; log lines pause the progress bars so neither garbles the other.
pub fn init_tracing(format: LogFormat, filter: &str, progress: indicatif::MultiProgress) {
    let filter = tracing_subscriber::EnvFilter::try_new(filter)
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    let writer = move || ProgressWriter(progress.clone());
    // Colours only on a terminal: not in files, pipes or the journal.
    let ansi = std::io::IsTerminal::is_terminal(&std::io::stderr());
    let builder = tracing_subscriber::fmt().with_env_filter(filter).with_writer(writer).with_ansi(ansi);
    match format {
        LogFormat::Human => builder.with_target(false).init(),
        LogFormat::Json => builder.json().init(),
    }
}

struct ProgressWriter(indicatif::MultiProgress);

impl Write for ProgressWriter {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.suspend(|| std::io::stderr().write_all(buf))?;
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        std::io::stderr().flush()
    }
}

/// A spinner for one pipeline; drawn only when stderr is a terminal.
pub fn spinner(pipeline: &str) -> indicatif::ProgressBar {
    let bar = indicatif::ProgressBar::new_spinner();
    bar.set_message(format!("{pipeline}: starting"));
    bar.enable_steady_tick(TICK);
    bar
}

fn json_rows(result: &QueryResult) -> serde_json::Value {
    result
        .rows
        .iter()
        .map(|row| {
            let obj: serde_json::Map<String, serde_json::Value> =
                result.columns.iter().cloned().zip(row.iter().cloned()).collect();
            serde_json::Value::Object(obj)
        })
        .collect()
}

fn text(v: &serde_json::Value) -> String {
    match v {
        serde_json::Value::Null => String::new(),
        serde_json::Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

/// Prints a query result.
pub fn print_query(result: &QueryResult, format: Format) -> anyhow::Result<()> {
    let mut out = std::io::stdout().lock();
    match format {
        Format::Table => {
            let mut table = Table::new();
            table.load_preset(UTF8_FULL_CONDENSED).set_header(&result.columns);
            for row in &result.rows {
                table.add_row(row.iter().map(text));
            }
            writeln!(out, "{table}")?;
            writeln!(out, "({} rows)", result.rows.len())?;
        }
        Format::Csv => {
            let mut w = csv::Writer::from_writer(out);
            w.write_record(&result.columns)?;
            for row in &result.rows {
                w.write_record(row.iter().map(text))?;
            }
            w.flush()?;
        }
        Format::Json => writeln!(out, "{}", serde_json::to_string_pretty(&json_rows(result))?)?,
    }
    Ok(())
}

/// Prints run records as `status` shows them.
pub fn print_runs(runs: &[RunRecord], format: Format) -> anyhow::Result<()> {
    let result = run_table(runs);
    match format {
        Format::Table => {
            // The table leaves out the timestamps' fractions and the long error text columns
            // stay readable by wrapping.
            let mut table = Table::new();
            table.load_preset(UTF8_FULL_CONDENSED).set_header([
                "pipeline",
                "status",
                "run",
                "started (UTC)",
                "secs",
                "read",
                "ins",
                "upd",
                "same",
                "rej",
                "filt",
                "dup",
                "del",
                "ok",
                "error",
            ]);
            for row in &result.rows {
                let mut cells: Vec<String> = row.iter().map(text).collect();
                if cells.remove(2) == "replay" {
                    cells[1] = format!("{} (replay)", cells[1]);
                }
                cells[3] = cells[3].chars().take(19).collect::<String>().replace('T', " ");
                cells.remove(4);
                if let Ok(secs) = cells[4].parse::<f64>() {
                    cells[4] = format!("{secs:.2}");
                }
                table.add_row(cells);
            }
            writeln!(std::io::stdout().lock(), "{table}")?;
            Ok(())
        }
        other => print_query(&result, other),
    }
}

/// Prints a source catalog: one row per column.
pub fn print_catalog(catalog: &satu_core::Catalog, format: Format) -> anyhow::Result<()> {
    let columns = ["table", "column", "type", "nullable", "primary_key", "row_estimate"];
    let mut rows = Vec::new();
    for entry in &catalog.entries {
        for c in &entry.columns {
            rows.push(vec![
                entry.name.clone().into(),
                c.name.clone().into(),
                c.source_type.clone().into(),
                c.nullable.into(),
                entry.primary_key.contains(&c.name).into(),
                entry.row_estimate.map_or(serde_json::Value::Null, Into::into),
            ]);
        }
    }
    print_query(&QueryResult { columns: columns.iter().map(|s| s.to_string()).collect(), rows }, format)
}

/// Run records as columns and rows, every count included.
fn run_table(runs: &[RunRecord]) -> QueryResult {
    let columns = [
        "pipeline",
        "status",
        "mode",
        "run",
        "started_at",
        "finished_at",
        "seconds",
        "read",
        "inserted",
        "updated",
        "unchanged",
        "rejected",
        "filtered",
        "duplicates",
        "deleted",
        "balanced",
        "error",
    ];
    let rows = runs
        .iter()
        .map(|r| {
            let c = r.counts;
            let balanced =
                if r.status == "never run" { String::new() } else { c.verify().is_ok().to_string() };
            vec![
                r.pipeline.clone().into(),
                r.status.clone().into(),
                r.mode.clone().into(),
                r.id.into(),
                r.started_at.clone().into(),
                r.finished_at.clone().unwrap_or_default().into(),
                seconds(r).map_or(serde_json::Value::Null, Into::into),
                c.read.into(),
                c.inserted.into(),
                c.updated.into(),
                c.unchanged.into(),
                c.rejected.into(),
                c.filtered.into(),
                c.duplicates.into(),
                c.deleted.into(),
                balanced.into(),
                r.error.clone().unwrap_or_default().into(),
            ]
        })
        .collect();
    QueryResult { columns: columns.iter().map(|s| s.to_string()).collect(), rows }
}

/// How long a finished run took, in seconds.
fn seconds(r: &RunRecord) -> Option<f64> {
    let parse = |t: &str| chrono::DateTime::parse_from_rfc3339(t).ok();
    let (start, end) = (parse(&r.started_at)?, parse(r.finished_at.as_deref()?)?);
    Some((end - start).num_milliseconds() as f64 / 1000.0)
}

/// One line of `satu status`.
pub struct StatusRow {
    /// The pipeline.
    pub pipeline: String,
    /// Its latest run, if any.
    pub last: Option<RunRecord>,
    /// Its next scheduled tick, in the deployment's zone.
    pub next: Option<chrono::DateTime<chrono::FixedOffset>>,
    /// Its circuit, once the scheduler recorded one.
    pub circuit: Option<satu_warehouse::Circuit>,
}

/// Prints `satu status`: last run, next run and circuit of every pipeline. The table shows the
/// essentials; CSV and JSON carry every count of the last run too.
pub fn print_status(rows: &[StatusRow], format: Format) -> anyhow::Result<()> {
    let table = matches!(format, Format::Table);
    let records: Vec<RunRecord> = rows
        .iter()
        .map(|s| {
            s.last.clone().unwrap_or_else(|| RunRecord {
                id: 0,
                pipeline: s.pipeline.clone(),
                started_at: String::new(),
                finished_at: None,
                status: "never run".into(),
                mode: String::new(),
                counts: Default::default(),
                error: None,
            })
        })
        .collect();
    let mut result = run_table(&records);
    result.columns.extend(["next_run".to_string(), "circuit".to_string()]);
    for (row, s) in result.rows.iter_mut().zip(rows) {
        let circuit = match &s.circuit {
            Some(c) if c.opened_at.is_some() => {
                format!("open since {} ({} failures)", short_time(c.opened_at.as_deref(), table), c.failures)
            }
            Some(c) if c.failures > 0 => format!("closed ({} failed)", c.failures),
            _ => "closed".into(),
        };
        let next =
            s.next.map(|t| if table { t.format("%Y-%m-%d %H:%M %:z").to_string() } else { t.to_rfc3339() });
        row.extend([next.into(), circuit.into()]);
    }
    if !table {
        return print_query(&result, format);
    }
    let keep =
        ["pipeline", "status", "run", "finished_at", "read", "rejected", "next_run", "circuit", "error"];
    let picks: Vec<usize> = keep.iter().filter_map(|k| result.columns.iter().position(|c| c == k)).collect();
    let mut t = Table::new();
    t.load_preset(UTF8_FULL_CONDENSED).set_header([
        "pipeline",
        "status",
        "run",
        "finished (UTC)",
        "read",
        "rej",
        "next run",
        "circuit",
        "error",
    ]);
    for row in &result.rows {
        let mut cells: Vec<String> = picks.iter().map(|&i| text(&row[i])).collect();
        cells[3] = short_time(Some(&cells[3]), true);
        cells[8] = cells[8].chars().take(80).collect();
        t.add_row(cells);
    }
    writeln!(std::io::stdout().lock(), "{t}")?;
    Ok(())
}

/// A UTC timestamp as a table shows it (`2026-11-22 02:00`), or whole for CSV and JSON.
fn short_time(t: Option<&str>, table: bool) -> String {
    let t = t.unwrap_or_default();
    if table {
        t.chars().take(16).collect::<String>().replace('T', " ")
    } else {
        t.to_string()
    }
}
