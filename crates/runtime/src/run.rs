//! One pipeline run.

use crate::{build_source, RuntimeError};
use futures::stream::FuturesOrdered;
use futures::StreamExt;
use satu_config::Deployment;
use satu_config::{EntityTarget, Target};
use satu_core::{ReadContext, RowCounts};
use satu_landing::LandingWriter;
use satu_transform::Mapper;
use satu_warehouse::{BatchLoad, CommitOrder, EntityLoad, PeriodRow, Warehouse};
use std::collections::{HashSet, VecDeque};
use std::future::Future;
use std::path::PathBuf;
use std::pin::Pin;
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
    from: Option<chrono::NaiveDate>,
    progress: &(dyn Fn(&Progress) + Sync),
) -> RunReport {
    execute(d, warehouse, name, Input::Source { from }, progress).await
}

/// Pushes landed runs of a canonical pipeline through the current transform into the warehouse,
/// without touching the source: one run each, oldest first, so the newest values win. A replay
/// reads no source state and writes none, and is recorded with mode `replay`.
pub async fn replay_pipeline(
    d: &Deployment,
    warehouse: &dyn Warehouse,
    name: &str,
    landed_run: PathBuf,
    progress: &(dyn Fn(&Progress) + Sync),
) -> RunReport {
    execute(d, warehouse, name, Input::Replay(landed_run), progress).await
}

/// Where a run's rows come from.
enum Input {
    /// The pipeline's source: from its saved state, or, for a backfill, from a date.
    Source { from: Option<chrono::NaiveDate> },
    /// One landed run directory.
    Replay(PathBuf),
}

async fn execute(
    d: &Deployment,
    warehouse: &dyn Warehouse,
    name: &str,
    input: Input,
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
    let mut lander = None;
    let mut result = run_inner(d, warehouse, name, input, progress, &mut report, &mut lander).await;
    if let Some(writer) = lander {
        // The landed batches are evidence of what the source said, whatever the outcome.
        let landed = writer.finish(result.is_ok()).map_err(RuntimeError::from).and_then(|m| {
            let oldest = d.landing.keep_days.map(|days| {
                (chrono::Utc::now() - chrono::TimeDelta::days(days.into())).format("%Y-%m-%d").to_string()
            });
            let deleted =
                satu_landing::retain(&d.landing_root(), name, d.landing.keep_runs, oldest.as_deref())?;
            tracing::info!(
                pipeline = name,
                files = m.files.len(),
                rows = m.rows,
                old_runs_deleted = deleted.len(),
                "landed"
            );
            Ok(())
        });
        if let (Ok(()), Err(e)) = (&result, landed) {
            result = Err(e);
        }
    }
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

/// Where a pipeline's batches go.
enum Sink<'a> {
    /// Canonical observations, through the transform.
    /// The mapper is taken to a blocking thread for each batch and put back afterwards.
    Canonical { mapper: Option<Box<Mapper>>, target: &'a Target, satuan: String },
    /// A replica table.
    Entity(&'a EntityTarget),
}

async fn run_inner(
    d: &Deployment,
    warehouse: &dyn Warehouse,
    name: &str,
    input: Input,
    progress: &(dyn Fn(&Progress) + Sync),
    report: &mut RunReport,
    lander: &mut Option<LandingWriter>,
) -> Result<(), RuntimeError> {
    let pipeline = d.pipeline(name).ok_or_else(|| RuntimeError::Internal(format!("no pipeline `{name}`")))?;
    let replay = matches!(input, Input::Replay(_));
    if replay && pipeline.target.is_none() {
        let mut p = satu_config::Problems::default();
        p.push(
            pipeline.at.clone(),
            "replay pushes landed data through a canonical `target`; this pipeline has none",
        );
        return Err(RuntimeError::Config(p));
    }
    let (mut source, from): (Box<dyn satu_core::Source>, _) = match input {
        Input::Source { from } => (build_source(d, pipeline).map_err(RuntimeError::Config)?, from),
        Input::Replay(run) => (Box::new(satu_landing::LandedSource::new(vec![run])), None),
    };
    if from.is_some() && !source.backfills() {
        let mut p = satu_config::Problems::default();
        p.push(
            format!("{}.source", pipeline.at),
            "--from backfills incremental database sources (with a `cursor`); this source reads everything each run",
        );
        return Err(RuntimeError::Config(p));
    }
    let mut sink = match (&pipeline.target, &pipeline.entity) {
        (Some(target), _) => {
            let mapper = Some(Box::new(Mapper::new(d, pipeline).map_err(RuntimeError::Config)?));
            let satuan = d.indicator(&target.indikator).map(|i| i.satuan.clone()).ok_or_else(|| {
                RuntimeError::Internal(format!("indicator `{}` vanished", target.indikator))
            })?;
            Sink::Canonical { mapper, target, satuan }
        }
        (None, Some(entity)) => Sink::Entity(entity),
        (None, None) => return Err(RuntimeError::Internal(format!("pipeline `{name}` has no destination"))),
    };

    let run_id = warehouse.begin_run(name, if replay { "replay" } else { "source" }).await?;
    report.run_id = Some(run_id);
    if d.lands(pipeline) && !replay {
        *lander = Some(LandingWriter::create(&d.landing_root(), name, run_id)?);
    }
    let state = if replay { None } else { warehouse.state(name).await? };
    tracing::info!(pipeline = name, run_id, replay, resume = state.is_some(), "run started");
    let direct = match &sink {
        Sink::Entity(entity) => {
            // A full refresh killed half-way resumes filling its new copy; otherwise it starts afresh.
            let resuming = state.as_ref().is_some_and(|s| s.0["complete"] == false);
            warehouse.prepare_entity(entity, !resuming).await?
        }
        Sink::Canonical { .. } => false,
    };
    let needs: Vec<String> = match &sink {
        Sink::Canonical { mapper, .. } => {
            mapper.as_ref().map(|m| m.columns().into_iter().map(str::to_string).collect()).unwrap_or_default()
        }
        Sink::Entity(entity) => entity.columns.keys().cloned().collect(),
    };
    let cx = ReadContext {
        pipeline: name.to_string(),
        batch_rows: pipeline.batch_rows.unwrap_or(d.defaults.batch_rows),
        state,
        from,
        needs,
    };
    let key = if replay { None } else { source.primary_key().await? };
    let mut batches = source.read(cx);
    let mut n = 0u64;
    let mut discarded: Vec<String> = Vec::new();
    let mut schema_checked = false;
    let mut mapped: Option<MappedBatch> = None;
    let mut loading = Loading::new(warehouse.parallel_loads());
    while let Some(batch) = loading.meanwhile(batches.next()).await {
        let mut batch = match batch {
            Ok(b) => b,
            Err(e) => {
                // What was read before the failure still commits.
                let done = loading.finish().await;
                report_committed(done, name, run_id, &mut n, report, progress)?;
                commit_pending(warehouse, name, run_id, &sink, &mut mapped, n, report, progress).await?;
                return Err(e.into());
            }
        };
        // The schema is checked on the first batch that has one (an empty API page has none).
        if !schema_checked && !replay && batch.df.width() > 1 {
            schema_checked = true;
            let mapped: HashSet<String> = match &sink {
                Sink::Canonical { mapper, .. } => mapper
                    .as_ref()
                    .map(|m| m.columns().into_iter().map(str::to_string).collect())
                    .unwrap_or_default(),
                Sink::Entity(entity) => entity.columns.keys().cloned().collect(),
            };
            discarded = crate::drift::check(
                warehouse,
                name,
                run_id,
                &batch.df,
                key.as_deref(),
                &mapped,
                pipeline.schema_drift,
            )
            .await?;
        }
        if !discarded.is_empty() {
            batch.df = batch.df.drop_many(discarded.iter().map(String::as_str));
        }
        // The raw batch lands (on a blocking thread) while the warehouse commits.
        let landing = lander.take().map(|mut writer| {
            let df = batch.df.clone();
            tokio::task::spawn_blocking(move || {
                let landed = writer.write(&df);
                (writer, landed)
            })
        });
        let seq = batch.seq;
        let (committed, next) = match &mut sink {
            // The batch is mapped (on a blocking thread) while the one before it commits: the
            // transform and the warehouse work at the same time.
            Sink::Canonical { mapper, target, satuan } => {
                let mapping = start_mapping(mapper, batch)?;
                let committed = match mapped.take() {
                    Some(previous) => {
                        let seq = previous.seq;
                        Some(
                            commit_mapped(warehouse, name, run_id, target, satuan, previous)
                                .await
                                .map(|c| (seq, c)),
                        )
                    }
                    None => None,
                };
                let (returned, next) = mapping.await.map_err(|e| {
                    RuntimeError::Internal(format!("the transform of `{name}` panicked: {e}"))
                })?;
                *mapper = Some(returned);
                (committed, Some(next))
            }
            // Entity batches load while the next ones are read, each in its own transaction.
            Sink::Entity(entity) => {
                let entity: &EntityTarget = entity;
                let turn = loading.order.next_turn();
                loading
                    .start(Box::pin(async move {
                        let counts = RowCounts { read: batch.df.height() as u64, ..Default::default() };
                        let load = EntityLoad {
                            run_id,
                            pipeline: name,
                            entity,
                            rows: &batch.df,
                            direct,
                            checkpoint: batch.checkpoint.as_ref(),
                            counts,
                            turn,
                        };
                        Ok((seq, warehouse.commit_entity_batch(load).await?))
                    }))
                    .await;
                (None, None)
            }
        };
        // The writer comes back before any error is returned, so the manifest records the outcome.
        if let Some(landing) = landing {
            let (writer, landed) = loading
                .meanwhile(landing)
                .await
                .map_err(|e| RuntimeError::Internal(format!("landing `{name}` panicked: {e}")))?;
            *lander = Some(writer);
            landed?;
        }
        loading.finished.extend(committed);
        report_committed(loading.finished.drain(..).collect(), name, run_id, &mut n, report, progress)?;
        if let Some(next) = next {
            mapped = Some(next?);
        }
    }
    let done = loading.finish().await;
    report_committed(done, name, run_id, &mut n, report, progress)?;
    commit_pending(warehouse, name, run_id, &sink, &mut mapped, n, report, progress).await?;
    if let Sink::Canonical { mapper: Some(m), .. } = &sink {
        let mismatches = m.total_mismatches();
        for w in &mismatches {
            tracing::warn!(pipeline = name, run_id, location = %w.location, "{w}");
        }
        let rows: Vec<(&str, String, String)> =
            mismatches.iter().map(|w| ("total_tidak_cocok", w.to_string(), w.location.clone())).collect();
        if !rows.is_empty() {
            warehouse.record_warnings(run_id, name, &rows).await?;
        }
    }
    if let Sink::Entity(entity) = &sink {
        warehouse.finish_entity(entity).await?;
        if entity.delete_detection {
            report.counts.deleted = detect_deletes(d, warehouse, pipeline, run_id, entity).await?;
        }
    }
    report.counts.verify()?;
    Ok(())
}

/// Commits the mapped batch still waiting, if any (the last one, or the one before a failure).
#[allow(clippy::too_many_arguments)]
async fn commit_pending(
    warehouse: &dyn Warehouse,
    name: &str,
    run_id: i64,
    sink: &Sink<'_>,
    mapped: &mut Option<MappedBatch>,
    committed_batches: u64,
    report: &mut RunReport,
    progress: &(dyn Fn(&Progress) + Sync),
) -> Result<(), RuntimeError> {
    if let (Sink::Canonical { target, satuan, .. }, Some(last)) = (sink, mapped.take()) {
        let seq = last.seq;
        let counts = commit_mapped(warehouse, name, run_id, target, satuan, last).await?;
        batch_committed(name, run_id, seq, committed_batches + 1, &counts, report, progress);
    }
    Ok(())
}

/// Adds a committed batch's counts to the run, logs them and reports progress.
fn batch_committed(
    name: &str,
    run_id: i64,
    seq: u64,
    batches: u64,
    counts: &RowCounts,
    report: &mut RunReport,
    progress: &(dyn Fn(&Progress) + Sync),
) {
    report.counts.add(counts);
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
    progress(&Progress { pipeline: name.to_string(), batches, counts: report.counts });
}

/// A batch's commit: its sequence number and counts.
type Committed = Result<(u64, RowCounts), RuntimeError>;

/// An entity batch's load, ending in its commit.
type EntityCommit<'a> = Pin<Box<dyn Future<Output = Committed> + Send + 'a>>;

/// Entity batches loading at once — as many as the warehouse takes ([`Warehouse::parallel_loads`]),
/// committed in batch order — while the run reads the next.
struct Loading<'a> {
    inflight: FuturesOrdered<EntityCommit<'a>>,
    finished: VecDeque<Committed>,
    order: CommitOrder,
    depth: usize,
}

impl<'a> Loading<'a> {
    fn new(depth: usize) -> Self {
        Self {
            inflight: FuturesOrdered::new(),
            finished: VecDeque::new(),
            order: CommitOrder::default(),
            depth: depth.max(1),
        }
    }

    /// Starts a load, first waiting for a free place.
    async fn start(&mut self, load: EntityCommit<'a>) {
        while self.inflight.len() >= self.depth {
            if let Some(done) = self.inflight.next().await {
                self.finished.push_back(done);
            }
        }
        self.inflight.push_back(load);
    }

    /// Awaits `next` while the loads go on (they make progress only while polled).
    async fn meanwhile<T>(&mut self, next: impl Future<Output = T>) -> T {
        let mut next = std::pin::pin!(next);
        loop {
            if self.inflight.is_empty() {
                return next.await;
            }
            tokio::select! {
                out = &mut next => return out,
                Some(done) = self.inflight.next() => self.finished.push_back(done),
            }
        }
    }

    /// Waits for every load; the outcomes of all that finished, in order.
    async fn finish(&mut self) -> Vec<Committed> {
        while let Some(done) = self.inflight.next().await {
            self.finished.push_back(done);
        }
        self.finished.drain(..).collect()
    }
}

/// Counts and reports committed batches, in order; the first failure ends the run.
fn report_committed(
    done: Vec<Committed>,
    name: &str,
    run_id: i64,
    batches: &mut u64,
    report: &mut RunReport,
    progress: &(dyn Fn(&Progress) + Sync),
) -> Result<(), RuntimeError> {
    for outcome in done {
        let (seq, counts) = outcome?;
        *batches += 1;
        batch_committed(name, run_id, seq, *batches, &counts, report, progress);
    }
    Ok(())
}

/// A batch mapped to observations, waiting for its commit.
struct MappedBatch {
    mapped: satu_transform::Mapped,
    checkpoint: Option<satu_core::SourceState>,
    replaces: Option<String>,
    seq: u64,
}

type Mapping = tokio::task::JoinHandle<(Box<Mapper>, Result<MappedBatch, RuntimeError>)>;

/// Starts mapping `batch` on a blocking thread (CPU work), taking the mapper along; it comes
/// back with the result.
fn start_mapping(mapper: &mut Option<Box<Mapper>>, batch: satu_core::Batch) -> Result<Mapping, RuntimeError> {
    let mut owned = mapper.take().ok_or_else(|| RuntimeError::Internal("the mapper was lost".into()))?;
    Ok(tokio::task::spawn_blocking(move || {
        let mapped = owned.map(&batch.df).map_err(RuntimeError::from).map(|mapped| MappedBatch {
            mapped,
            checkpoint: batch.checkpoint,
            replaces: batch.replaces,
            seq: batch.seq,
        });
        (owned, mapped)
    }))
}

/// Commits a mapped batch.
async fn commit_mapped(
    warehouse: &dyn Warehouse,
    name: &str,
    run_id: i64,
    target: &Target,
    satuan: &str,
    batch: MappedBatch,
) -> Result<RowCounts, RuntimeError> {
    let periods: Vec<PeriodRow> = batch
        .mapped
        .periods
        .iter()
        .map(|p| {
            let (mulai, selesai) = p.bounds();
            PeriodRow { kode: p.code(), jenis: p.kind(), mulai, selesai }
        })
        .collect();
    Ok(warehouse
        .commit_batch(BatchLoad {
            run_id,
            pipeline: name,
            dataset: &target.dataset,
            indikator: &target.indikator,
            satuan,
            observations: &batch.mapped.observations,
            rejects: &batch.mapped.rejects,
            periods: &periods,
            checkpoint: batch.checkpoint.as_ref(),
            counts: batch.mapped.counts,
            withdraw: batch.replaces.as_deref(),
        })
        .await?)
}

/// Lists the source's keys into the run's key set and soft-deletes the rows whose key vanished.
async fn detect_deletes(
    d: &Deployment,
    warehouse: &dyn Warehouse,
    pipeline: &satu_config::Pipeline,
    run_id: i64,
    entity: &EntityTarget,
) -> Result<u64, RuntimeError> {
    let source = build_source(d, pipeline).map_err(RuntimeError::Config)?;
    let cx = ReadContext {
        pipeline: pipeline.name.clone(),
        batch_rows: pipeline.batch_rows.unwrap_or(d.defaults.batch_rows).max(10_000),
        state: None,
        from: None,
        needs: vec![],
    };
    let mut keys = source.keys(cx);
    while let Some(batch) = keys.next().await {
        warehouse.stage_keys(run_id, &batch?.df).await?;
    }
    let deleted = warehouse.mark_deleted(run_id, entity).await?;
    tracing::info!(pipeline = %pipeline.name, run_id, deleted, "delete detection done");
    Ok(deleted)
}
