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
    let builder = tracing_subscriber::fmt().with_env_filter(filter).with_writer(writer);
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
    let columns = [
        "pipeline",
        "status",
        "mode",
        "run",
        "started_at",
        "finished_at",
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
    let result = QueryResult { columns: columns.iter().map(|s| s.to_string()).collect(), rows };
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
