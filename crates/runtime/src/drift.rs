//! Schema drift: the columns a source gave this run, compared with the ones it gave before.

use crate::RuntimeError;
use polars::prelude::DataFrame;
use satu_config::DriftPolicy;
use satu_warehouse::{DriftRecord, Warehouse};
use std::collections::HashSet;

/// The schema entry that holds the source's primary key (its "type" is the key's columns).
const KEY: &str = "#primary_key";

/// A batch's columns and their types, in source order (the location column left out), and the
/// source's primary key when it has one.
pub fn schema_of(df: &DataFrame, key: Option<&[String]>) -> Vec<(String, String)> {
    let mut out: Vec<(String, String)> = df
        .columns()
        .iter()
        .filter(|c| !satu_core::is_reserved(c.name().as_str()))
        .map(|c| (c.name().to_string(), c.dtype().to_string()))
        .collect();
    if let Some(key) = key {
        out.push((KEY.to_string(), key.join(",")));
    }
    out
}

/// The changes from `before` to `now`, each with the action `policy` takes. A removed or
/// retyped column that the target reads (`mapped`) is always `stopped`.
pub fn compare(
    before: &[(String, String)],
    now: &[(String, String)],
    mapped: &HashSet<String>,
    policy: DriftPolicy,
) -> Vec<DriftRecord> {
    // A changed key always stops: incremental reads, merges and lineage all rest on it.
    let action = |change: &str, column: &str| {
        if column == KEY || (change != "added" && mapped.contains(column)) || policy == DriftPolicy::Freeze {
            "stopped"
        } else if change == "added" && policy == DriftPolicy::Discard {
            "discarded"
        } else {
            "recorded"
        }
    };
    let mut out = Vec::new();
    for (name, ty) in now {
        match before.iter().find(|(n, _)| n == name) {
            None if name == KEY => {}
            None => out.push(DriftRecord {
                change: "added",
                column: name.clone(),
                old_type: None,
                new_type: Some(ty.clone()),
                action: action("added", name),
            }),
            Some((_, old)) if old != ty => out.push(DriftRecord {
                change: if name == KEY { "key_changed" } else { "retyped" },
                column: name.clone(),
                old_type: Some(old.clone()),
                new_type: Some(ty.clone()),
                action: action("retyped", name),
            }),
            Some(_) => {}
        }
    }
    for (name, ty) in before {
        if name != KEY && !now.iter().any(|(n, _)| n == name) {
            out.push(DriftRecord {
                change: "removed",
                column: name.clone(),
                old_type: Some(ty.clone()),
                new_type: None,
                action: action("removed", name),
            });
        }
    }
    out
}

/// Checks a source run's first batch against the pipeline's last accepted schema and records
/// what changed. Returns the columns to drop from every batch (`discard`), or the error that
/// stops the pipeline.
pub async fn check(
    warehouse: &dyn Warehouse,
    pipeline: &str,
    run_id: i64,
    df: &DataFrame,
    key: Option<&[String]>,
    mapped: &HashSet<String>,
    policy: DriftPolicy,
) -> Result<Vec<String>, RuntimeError> {
    let now = schema_of(df, key);
    let Some(before) = warehouse.last_schema(pipeline).await? else {
        warehouse.record_schema(pipeline, run_id, Some(&now), &[]).await?;
        return Ok(vec![]);
    };
    let changes = compare(&before, &now, mapped, policy);
    if changes.is_empty() {
        return Ok(vec![]);
    }
    let stopped: Vec<String> = changes
        .iter()
        .filter(|c| c.action == "stopped")
        .map(|c| match (&c.old_type, &c.new_type) {
            (Some(o), Some(n)) => format!("`{}` {} {o} → {n}", c.column, c.change),
            _ => format!("`{}` {}", c.column, c.change),
        })
        .collect();
    for c in &changes {
        tracing::warn!(pipeline, run_id, change = c.change, column = %c.column, action = c.action, "schema drift");
    }
    if !stopped.is_empty() {
        warehouse.record_schema(pipeline, run_id, None, &changes).await?;
        return Err(RuntimeError::Drift(format!(
            "pipeline `{pipeline}` stopped: {} (policy {policy:?}; columns the target reads always stop it); \
             fix the source or the pipeline, see `satu drift {pipeline}`",
            stopped.join(", ")
        )));
    }
    let discarded: Vec<String> =
        changes.iter().filter(|c| c.action == "discarded").map(|c| c.column.clone()).collect();
    let accepted: Vec<(String, String)> = now.into_iter().filter(|(n, _)| !discarded.contains(n)).collect();
    warehouse.record_schema(pipeline, run_id, Some(&accepted), &changes).await?;
    Ok(discarded)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cols(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
        pairs.iter().map(|(a, b)| (a.to_string(), b.to_string())).collect()
    }

    #[test]
    fn changes_and_actions() {
        let before = cols(&[("id", "i64"), ("jk", "str"), ("catatan", "str")]);
        let now = cols(&[("id", "str"), ("jk", "str"), ("baru", "i64")]);
        let mapped: HashSet<String> = ["jk".to_string()].into();
        let summary = |p| {
            compare(&before, &now, &mapped, p)
                .iter()
                .map(|c| (c.change, c.column.clone(), c.action))
                .collect::<Vec<_>>()
        };
        assert_eq!(
            summary(DriftPolicy::Evolve),
            vec![
                ("retyped", "id".into(), "recorded"),
                ("added", "baru".into(), "recorded"),
                ("removed", "catatan".into(), "recorded")
            ]
        );
        assert_eq!(summary(DriftPolicy::Discard)[1], ("added", "baru".into(), "discarded"));
        assert!(summary(DriftPolicy::Freeze).iter().all(|c| c.2 == "stopped"));
        let rekeyed = compare(
            &cols(&[("id", "i64"), (KEY, "id")]),
            &cols(&[("id", "i64"), (KEY, "id,tahun")]),
            &mapped,
            DriftPolicy::Evolve,
        );
        assert_eq!((rekeyed[0].change, rekeyed[0].action), ("key_changed", "stopped"));
        let gone = cols(&[("id", "i64"), ("catatan", "str")]);
        let c = compare(&before, &gone, &mapped, DriftPolicy::Evolve);
        assert_eq!((c[0].change, c[0].column.as_str(), c[0].action), ("removed", "jk", "stopped"));
    }
}
