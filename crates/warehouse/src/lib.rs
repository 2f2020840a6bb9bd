//! The Satu warehouse: the canonical schema (`ref`, `meta`, `etl`, `dw`), embedded migrations,
//! idempotent loads with revision history, and run records with row accounting.
//!
//! [`Warehouse`] is the abstraction the runtime talks to; [`open`] picks the backend from the
//! URL: SQLite (embedded, the default) or PostgreSQL, with the same schemas.

mod binary;
#[macro_use]
mod common;
mod postgres;
mod sqlite;

use polars::prelude::DataFrame;
use satu_config::{Deployment, EntityTarget};
use satu_core::{ErrorKind, Retry, RowCounts, Secret, SourceState};
use std::path::Path;

pub use postgres::PostgresWarehouse;
pub use sqlite::SqliteWarehouse;

/// Errors of the warehouse, classified for retries.
#[derive(Debug, thiserror::Error)]
pub enum WarehouseError {
    /// The database refused or failed a statement, or could not be reached.
    #[error("warehouse: {0}")]
    Database(#[from] sqlx::Error),
    /// The embedded migrations could not be applied.
    #[error("warehouse migration: {0}")]
    Migrate(#[from] sqlx::migrate::MigrateError),
    /// The URL or setup is wrong.
    #[error("warehouse: {0}")]
    Config(String),
    /// A batch did not have the shape the warehouse loads.
    #[error("warehouse: {0}")]
    Batch(String),
    /// Another process holds the pipeline's lock.
    #[error("warehouse: {0}")]
    Busy(String),
}

impl WarehouseError {
    /// What kind of failure this is.
    pub fn kind(&self) -> ErrorKind {
        match self {
            Self::Database(sqlx::Error::Io(_) | sqlx::Error::PoolTimedOut | sqlx::Error::PoolClosed) => {
                ErrorKind::Network
            }
            Self::Database(e) if is_locked(e) => ErrorKind::Capacity,
            Self::Database(_) | Self::Migrate(_) | Self::Batch(_) => ErrorKind::Internal,
            Self::Config(_) => ErrorKind::Config,
            Self::Busy(_) => ErrorKind::Capacity,
        }
    }

    /// Whether trying again may help (a busy or unreachable database).
    pub fn retry(&self) -> Retry {
        match self {
            Self::Database(e) if is_locked(e) => Retry::Backoff,
            _ if self.kind() == ErrorKind::Network => Retry::Backoff,
            _ => Retry::Never,
        }
    }
}

/// A database locked by another writer past the busy timeout (SQLite `SQLITE_BUSY`/`LOCKED`),
/// or a PostgreSQL lock or serialization conflict: worth another try.
fn is_locked(e: &sqlx::Error) -> bool {
    let sqlx::Error::Database(db) = e else { return false };
    matches!(db.code().as_deref(), Some("5" | "6" | "517" | "261" | "55P03" | "40001" | "40P01"))
}

/// A period row for `ref.periode`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PeriodRow {
    /// Canonical code, e.g. `2024-03`.
    pub kode: String,
    /// `tahun`, `semester`, `triwulan`, `bulan`, `hari` or `tahun_ajaran`.
    pub jenis: &'static str,
    /// First day, `YYYY-MM-DD`.
    pub mulai: String,
    /// Last day, `YYYY-MM-DD`.
    pub selesai: String,
}

/// One mapped batch to commit, with everything that must land in the same transaction.
#[derive(Debug)]
pub struct BatchLoad<'a> {
    /// The run this batch belongs to.
    pub run_id: i64,
    /// The pipeline name.
    pub pipeline: &'a str,
    /// Dataset slug of every observation.
    pub dataset: &'a str,
    /// Indicator code of every observation.
    pub indikator: &'a str,
    /// Unit of every observation.
    pub satuan: &'a str,
    /// Canonical observations (`satu_transform::OBSERVATION_COLUMNS`).
    pub observations: &'a DataFrame,
    /// Rejects and duplicates (`satu_transform::REJECT_COLUMNS`).
    pub rejects: &'a DataFrame,
    /// Periods to add to `ref.periode`.
    pub periods: &'a [PeriodRow],
    /// The source state after this batch, stored with the rows.
    pub checkpoint: Option<&'a SourceState>,
    /// This batch's read/rejected/filtered/duplicate counts (loaded counts are computed here).
    pub counts: RowCounts,
    /// Withdraw first the current observations of this dataset and indicator whose location
    /// lies in this slice (a file's earlier version), counting them as deleted.
    pub withdraw: Option<&'a str>,
}

/// One batch for an entity target (`dw.<table>`), committed with its checkpoint and counts.
#[derive(Debug)]
pub struct EntityLoad<'a> {
    /// The run this batch belongs to.
    pub run_id: i64,
    /// The pipeline name.
    pub pipeline: &'a str,
    /// The declared table.
    pub entity: &'a EntityTarget,
    /// Source rows: one column per declared column (more are ignored).
    pub rows: &'a DataFrame,
    /// Load straight into the table, without staging and comparing (what
    /// [`Warehouse::prepare_entity`] answered).
    pub direct: bool,
    /// The source state after this batch.
    pub checkpoint: Option<&'a SourceState>,
    /// This batch's counts so far (`read`); the loaded counts are computed here.
    pub counts: RowCounts,
    /// Its place in the commit order when batches load at once ([`Warehouse::parallel_loads`]).
    pub turn: CommitTurn,
}

/// A batch's place in the commit order when several batches load at once: its transaction loads
/// its rows straight away but records its checkpoint and commits only after the batch before it
/// has committed — and never when that one failed. The committed batches are thus always a
/// prefix of the run, and a resumed run starts after the last of them.
#[derive(Debug, Default)]
pub struct CommitTurn {
    previous: Option<tokio::sync::oneshot::Receiver<()>>,
    done: Option<tokio::sync::oneshot::Sender<()>>,
}

/// Hands out [`CommitTurn`]s in batch order.
#[derive(Debug, Default)]
pub struct CommitOrder {
    last: Option<tokio::sync::oneshot::Receiver<()>>,
}

impl CommitOrder {
    /// The turn of the next batch: after every turn handed out before it.
    pub fn next_turn(&mut self) -> CommitTurn {
        let (done, next) = tokio::sync::oneshot::channel();
        CommitTurn { previous: self.last.replace(next), done: Some(done) }
    }
}

impl CommitTurn {
    /// Waits until the batch before this one has committed; an error when it did not.
    pub async fn wait(&mut self) -> Result<(), WarehouseError> {
        match self.previous.take() {
            Some(previous) => previous.await.map_err(|_| {
                WarehouseError::Batch("not committed: the batch before this one failed to load".into())
            }),
            None => Ok(()),
        }
    }

    /// Marks this batch committed, letting the next one commit. A turn dropped unmarked (its
    /// batch failed) stops the next.
    pub fn committed(mut self) {
        if let Some(done) = self.done.take() {
            // The next batch may have been abandoned already: nothing waits then.
            let _ = done.send(());
        }
    }
}

/// A change between the source schema of two runs, and what the pipeline did about it.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct DriftRecord {
    /// `added`, `removed` or `retyped`.
    pub change: &'static str,
    /// The column.
    pub column: String,
    /// Its type before (not for `added`).
    pub old_type: Option<String>,
    /// Its type now (not for `removed`).
    pub new_type: Option<String>,
    /// `recorded` (flows through), `discarded` (dropped from the batches) or `stopped`.
    pub action: &'static str,
}

/// A run as recorded in `etl.run`.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct RunRecord {
    /// Run id.
    pub id: i64,
    /// Pipeline name.
    pub pipeline: String,
    /// Start, UTC RFC 3339.
    pub started_at: String,
    /// End, when finished.
    pub finished_at: Option<String>,
    /// `running`, `success` or `failed`.
    pub status: String,
    /// `source` (read from the OPD system) or `replay` (from the landing zone).
    pub mode: String,
    /// Row accounting.
    pub counts: RowCounts,
    /// The error of a failed run.
    pub error: Option<String>,
}

/// A pipeline's circuit breaker, as recorded in `etl.circuit`.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Circuit {
    /// Pipeline name.
    pub pipeline: String,
    /// Consecutive failed ticks.
    pub failures: u32,
    /// Since when the circuit is open (UTC RFC 3339); `None` while closed.
    pub opened_at: Option<String>,
    /// The error of the last failure.
    pub last_error: Option<String>,
    /// The last failure, probe or reset.
    pub updated_at: String,
}

/// A scheduler tick as recorded in `etl.tick`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Tick {
    /// Pipeline name.
    pub pipeline: String,
    /// The cron tick, UTC RFC 3339.
    pub scheduled_for: String,
    /// Whether its run (with retries) ended.
    pub finished: bool,
}

/// The current instant as the scheduler tables store it: UTC RFC 3339 with milliseconds, which
/// sorts as text.
pub fn timestamp(t: chrono::DateTime<chrono::Utc>) -> String {
    t.format("%Y-%m-%dT%H:%M:%S%.3fZ").to_string()
}

/// The result of `satu query`: column names and rows of JSON values.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct QueryResult {
    /// Column names, in order.
    pub columns: Vec<String>,
    /// Rows; numbers stay numbers, text stays text, NULL is null.
    pub rows: Vec<Vec<serde_json::Value>>,
}

/// What a run of the migrations did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct MigrationReport {
    /// Region codes loaded into `ref.wilayah` (0 when the list was already current).
    pub regions_loaded: usize,
}

/// A warehouse backend.
#[async_trait::async_trait]
pub trait Warehouse: Send + Sync {
    /// Applies the embedded migrations and loads reference data when it is missing or stale.
    async fn migrate(&self) -> Result<MigrationReport, WarehouseError>;
    /// Writes the deployment's organisations, datasets, indicators and dimensions to `meta`/`ref`.
    async fn sync_metadata(&self, deployment: &Deployment) -> Result<(), WarehouseError>;
    /// Records the start of a run reading from `mode` (`source` or `replay`); returns its id.
    async fn begin_run(&self, pipeline: &str, mode: &str) -> Result<i64, WarehouseError>;
    /// The committed source state of a pipeline, to resume from.
    async fn state(&self, pipeline: &str) -> Result<Option<SourceState>, WarehouseError>;
    /// Loads one batch (observations merged with revision history, rejects, periods, checkpoint
    /// and run counts) in one transaction; returns the batch's counts with the loaded part
    /// (inserted, updated, unchanged) filled in.
    async fn commit_batch(&self, load: BatchLoad<'_>) -> Result<RowCounts, WarehouseError>;
    /// Creates `dw.<table>` when missing (and checks its columns when present). For
    /// `full_refresh`, also prepares the new copy: empty when `fresh`, kept when a killed run
    /// resumes filling it. Answers whether batches can be loaded directly, with no staging and
    /// comparing: always for `append` and `full_refresh`, and for `merge` into an empty table
    /// (a first copy: source keys are unique, so nothing can conflict).
    async fn prepare_entity(&self, entity: &EntityTarget, fresh: bool) -> Result<bool, WarehouseError>;
    /// Loads one batch into an entity table as its sync mode says, with the checkpoint and the run
    /// counts, in one transaction; returns the counts with inserted/updated/unchanged filled in.
    async fn commit_entity_batch(&self, load: EntityLoad<'_>) -> Result<RowCounts, WarehouseError>;
    /// How many entity batches may load at once (each in its own transaction, committed in
    /// order through its [`CommitTurn`]): 1 where writers take turns anyway (SQLite).
    fn parallel_loads(&self) -> usize {
        1
    }
    /// Adds keys the source listed (one column) to the run's key set, for delete detection.
    async fn stage_keys(&self, run_id: i64, keys: &DataFrame) -> Result<(), WarehouseError>;
    /// Soft-deletes the rows of `entity` whose key is not in the run's key set, records the
    /// count in the run and clears the set; returns how many rows were marked. Refuses to mark a
    /// whole non-empty table when the source listed no key at all.
    async fn mark_deleted(&self, run_id: i64, entity: &EntityTarget) -> Result<u64, WarehouseError>;
    /// The source schema (column, type) that `pipeline` last accepted, if any.
    async fn last_schema(&self, pipeline: &str) -> Result<Option<Vec<(String, String)>>, WarehouseError>;
    /// Records the drift a run found and, when `accepted` is given, that schema as the new
    /// baseline.
    async fn record_schema(
        &self,
        pipeline: &str,
        run_id: i64,
        accepted: Option<&[(String, String)]>,
        changes: &[DriftRecord],
    ) -> Result<(), WarehouseError>;
    /// The drift history, newest first, of one pipeline or all.
    async fn drift_history(&self, pipeline: Option<&str>) -> Result<QueryResult, WarehouseError>;
    /// Ends an entity load: for `full_refresh`, swaps the new copy in, atomically.
    async fn finish_entity(&self, entity: &EntityTarget) -> Result<(), WarehouseError>;
    /// Records the end of a run: `Ok` for success, `Err(message)` for failure.
    async fn finish_run(&self, run_id: i64, outcome: Result<(), String>) -> Result<(), WarehouseError>;
    /// The counts recorded for a run.
    async fn run(&self, run_id: i64) -> Result<Option<RunRecord>, WarehouseError>;
    /// The latest run of each pipeline.
    async fn last_runs(&self) -> Result<Vec<RunRecord>, WarehouseError>;
    /// Records warnings of a run about loaded rows: (rule, message, location).
    async fn record_warnings(
        &self,
        run_id: i64,
        pipeline: &str,
        warnings: &[(&str, String, String)],
    ) -> Result<(), WarehouseError>;
    /// The runs of one pipeline or all, newest first, at most `limit`.
    async fn runs(&self, pipeline: Option<&str>, limit: u32) -> Result<Vec<RunRecord>, WarehouseError>;
    /// The latest successful run of each pipeline.
    async fn last_successes(&self) -> Result<Vec<RunRecord>, WarehouseError>;
    /// Rejected rows of a run by rule, most frequent first.
    async fn reject_reasons(&self, run_id: i64) -> Result<Vec<(String, u64)>, WarehouseError>;
    /// Closes the `running` runs of a pipeline as failed with `reason` (its process was stopped
    /// from outside: a timeout, a memory budget).
    async fn abandon_runs(&self, pipeline: &str, reason: &str) -> Result<(), WarehouseError>;
    /// Claims tick `scheduled_for` of `pipeline` for `owner` until `lease_until`; true when this
    /// caller got it: nobody held it, or its holder's lease ran out (at `now`) before it finished,
    /// and no other tick of the pipeline is running under a live lease.
    async fn claim_tick(
        &self,
        pipeline: &str,
        scheduled_for: &str,
        owner: &str,
        now: &str,
        lease_until: &str,
    ) -> Result<bool, WarehouseError>;
    /// Extends the lease of every unfinished tick `owner` holds.
    async fn renew_ticks(&self, owner: &str, lease_until: &str) -> Result<(), WarehouseError>;
    /// Ends `owner`'s hold on a tick: finished with `outcome`, or, without one, released at
    /// `now` for another scheduler (or the next start) to take over.
    async fn release_tick(
        &self,
        pipeline: &str,
        scheduled_for: &str,
        owner: &str,
        now: &str,
        outcome: Option<&str>,
    ) -> Result<(), WarehouseError>;
    /// Closes as `superseded` the unfinished, unleased (at `now`) ticks of `pipeline` scheduled
    /// before `before`: a later tick runs in their place, so they are not run as well.
    async fn supersede_ticks(&self, pipeline: &str, before: &str, now: &str) -> Result<(), WarehouseError>;
    /// Unfinished ticks whose lease ran out before `now`: their scheduler died.
    async fn expired_ticks(&self, now: &str) -> Result<Vec<Tick>, WarehouseError>;
    /// The latest tick of a pipeline.
    async fn last_tick(&self, pipeline: &str) -> Result<Option<Tick>, WarehouseError>;
    /// Records a tick's result in the pipeline's circuit: a success closes it; a failure counts,
    /// and opens it at `open_after` consecutive failures.
    async fn record_outcome(
        &self,
        pipeline: &str,
        now: &str,
        error: Option<&str>,
        open_after: u32,
    ) -> Result<Circuit, WarehouseError>;
    /// The circuit of every pipeline that has one.
    async fn circuits(&self) -> Result<Vec<Circuit>, WarehouseError>;
    /// Closes a pipeline's circuit and, with `state`, forgets its source state (the next run
    /// reads everything again).
    async fn reset(&self, pipeline: &str, now: &str, state: bool) -> Result<(), WarehouseError>;
    /// Runs one read-only SQL statement.
    async fn query(&self, sql: &str) -> Result<QueryResult, WarehouseError>;
}

/// Opens the warehouse at `url`; relative SQLite paths are resolved against `base_dir`.
pub async fn open(url: &Secret, base_dir: &Path) -> Result<Box<dyn Warehouse>, WarehouseError> {
    let url = url.expose();
    if let Some(path) = url.strip_prefix("sqlite://").or_else(|| url.strip_prefix("sqlite:")) {
        return Ok(Box::new(SqliteWarehouse::open(&base_dir.join(path)).await?));
    }
    if url.starts_with("postgres://") || url.starts_with("postgresql://") {
        return Ok(Box::new(PostgresWarehouse::open(url).await?));
    }
    Err(WarehouseError::Config(
        "unsupported warehouse URL scheme (expected sqlite://FILE or postgres://…)".into(),
    ))
}
