//! One pipeline run.

use crate::{build_source, RuntimeError};
use futures::StreamExt;
use satu_config::Deployment;
use satu_core::{ReadContext, RowCounts};
use satu_transform::Mapper;
use satu_warehouse::{BatchLoad, PeriodRow, Warehouse};
use std::time::{Duration, Instant};

/// What a run reports while it works, once per committed batch.
#[derive(Debug, Clone)]
pub struct Progress {
    /// The pipeline.
    pub pipeline: String,
    /// Batches committed so far.
    pub batches: u64,
    /// Counts so far.
    pub counts: RowCounts,
}

/// The outcome of one pipeline run.
#[derive(Debug)]
pub struct RunReport {
    /// The pipeline.
    pub pipeline: String,
    /// The `etl.run` id, when the run got that far.
    pub run_id: Option<i64>,
    /// Where every row went.
    pub counts: RowCounts,
    /// How long it took.
    pub elapsed: Duration,
    /// Success, or why it failed.
    pub result: Result<(), RuntimeError>,
}

/// Runs pipeline `name`: reads its source from the committed state, maps and commits batch by
/// batch, checks the row accounting and records the run. Never panics on bad input; a failing
/// pipeline returns its error in the report and leaves the warehouse at its last commit.
pub async fn run_pipeline(
    d: &Deployment,
    warehouse: &dyn Warehouse,
    name: &str,
    progress: &(dyn Fn(&Progress) + Sync),
) -> RunReport {
    let started = Instant::now();
    let mut report = RunReport {
        pipeline: name.to_string(),
        run_id: None,
        counts: RowCounts::default(),
        elapsed: Duration::ZERO,
        result: Ok(()),
    };
    let result = run_inner(d, warehouse, name, progress, &mut report).await;
    if let Some(id) = report.run_id {
        let outcome = result.as_ref().map(|_| ()).map_err(ToString::to_string);
        if let Err(e) = warehouse.finish_run(id, outcome).await {
            tracing::error!(pipeline = name, run_id = id, error = %e, "could not record the end of the run");
        }
    }
    report.elapsed = started.elapsed();
    report.result = result;
    report
}

async fn run_inner(
    d: &Deployment,
    warehouse: &dyn Warehouse,
    name: &str,
    progress: &(dyn Fn(&Progress) + Sync),
    report: &mut RunReport,
) -> Result<(), RuntimeError> {
    let pipeline = d.pipeline(name).ok_or_else(|| RuntimeError::Internal(format!("no pipeline `{name}`")))?;
    let source = build_source(d, pipeline).map_err(RuntimeError::Config)?;
    let mut mapper = Mapper::new(d, pipeline).map_err(RuntimeError::Config)?;
    let t = &pipeline.target;
    let satuan = d
        .indicator(&t.indikator)
        .map(|i| i.satuan.clone())
        .ok_or_else(|| RuntimeError::Internal(format!("indicator `{}` vanished", t.indikator)))?;

    let run_id = warehouse.begin_run(name).await?;
    report.run_id = Some(run_id);
    let state = warehouse.state(name).await?;
    tracing::info!(pipeline = name, run_id, resume = state.is_some(), "run started");
    let cx = ReadContext {
        pipeline: name.to_string(),
        batch_rows: pipeline.batch_rows.unwrap_or(d.defaults.batch_rows),
        state,
    };
    let mut batches = source.read(cx);
    let mut n = 0u64;
    while let Some(batch) = batches.next().await {
        let batch = batch?;
        // Mapping is CPU work: keep it off the async threads.
        let (returned, mapped) = tokio::task::spawn_blocking(move || {
            let mapped = mapper.map(&batch.df);
            (mapper, mapped.map(|m| (m, batch.checkpoint, batch.seq)))
        })
        .await
        .map_err(|e| RuntimeError::Internal(format!("the transform of `{name}` panicked: {e}")))?;
        mapper = returned;
        let (mapped, checkpoint, seq) = mapped?;
        let periods: Vec<PeriodRow> = mapped
            .periods
            .iter()
            .map(|p| {
                let (mulai, selesai) = p.bounds();
                PeriodRow { kode: p.code(), jenis: p.kind(), mulai, selesai }
            })
            .collect();
        let counts = warehouse
            .commit_batch(BatchLoad {
                run_id,
                pipeline: name,
                dataset: &t.dataset,
                indikator: &t.indikator,
                satuan: &satuan,
                observations: &mapped.observations,
                rejects: &mapped.rejects,
                periods: &periods,
                checkpoint: checkpoint.as_ref(),
                counts: mapped.counts,
            })
            .await?;
        report.counts.add(&counts);
        n += 1;
        tracing::info!(
            pipeline = name,
            run_id,
            batch = seq,
            read = counts.read,
            inserted = counts.inserted,
            updated = counts.updated,
            unchanged = counts.unchanged,
            rejected = counts.rejected,
            filtered = counts.filtered,
            duplicates = counts.duplicates,
            "batch committed"
        );
        progress(&Progress { pipeline: name.to_string(), batches: n, counts: report.counts });
    }
    report.counts.verify()?;
    Ok(())
}
