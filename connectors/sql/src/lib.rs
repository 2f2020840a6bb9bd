//! SQL sources for Satu: MySQL/MariaDB, PostgreSQL and SQLite through sqlx, one crate with a
//! [`Driver`] per database.
//!
//! A read streams rows (`fetch`, never `fetch_all`) over one read-only connection into column
//! builders, one decoder chosen per column from its declared type, and hands bounded batches over
//! a 2-deep channel. Three read modes follow from the config:
//!
//! - **incremental** (`cursor` + `primary_key`): rows after the committed `(cursor, key)` in keyset
//!   order, stepping back `lookback_seconds`; the first run reads everything (NULL cursors too);
//! - **snapshot** (`primary_key` only): the whole table in key order; each batch's last key is its
//!   checkpoint, so a killed run resumes after the last committed batch; the last batch marks the
//!   snapshot complete and the next run starts over;
//! - **plain** (neither): the whole table or query, no checkpoint.

mod config;
pub mod decode;

pub use config::{is_nik, valid_identifier, Driver, SqlConfig};

use decode::{Builder, Counters, Kind};
use futures::TryStreamExt;
use polars::prelude::{Column, DataFrame, IntoColumn, StringChunkedBuilder};
use satu_core::{
    Batch, BatchStream, Catalog, CatalogColumn, CatalogEntry, ErrorKind, ReadContext, Retry, Source,
    SourceError, SourceState, LOCATION_COLUMN,
};
use serde_json::{json, Value};
use sqlx::{Column as _, Connection, Executor, Row, TypeInfo};

/// A SQL table or query source.
pub struct SqlSource {
    config: SqlConfig,
    driver: Driver,
    /// `kunjungan_pkm` or `query`: the prefix of row locations and error messages.
    label: String,
}

impl SqlSource {
    /// A source for `config` on `driver` (validated beforehand with [`SqlConfig::problems`]).
    pub fn new(config: SqlConfig, driver: Driver) -> Self {
        let label = config.table.clone().unwrap_or_else(|| "query".into());
        Self { config, driver, label }
    }

    fn relation(&self) -> String {
        match (&self.config.table, &self.config.query) {
            (Some(t), _) => self.driver.quote(t),
            (None, Some(q)) => format!("({q}) AS satu_q"),
            (None, None) => "(SELECT 1) AS satu_q".into(),
        }
    }

    fn err(&self, e: sqlx::Error) -> SourceError {
        classify(&self.label, e)
    }
}

/// Classifies a driver error where it is understood.
fn classify(location: &str, e: sqlx::Error) -> SourceError {
    let (kind, retry) = match &e {
        sqlx::Error::Io(_) | sqlx::Error::Tls(_) | sqlx::Error::PoolTimedOut | sqlx::Error::Protocol(_) => {
            (ErrorKind::Network, Retry::Backoff)
        }
        sqlx::Error::Configuration(_) => (ErrorKind::Config, Retry::Never),
        sqlx::Error::Database(db) => match db
            .try_downcast_ref::<sqlx::mysql::MySqlDatabaseError>()
            .map(|m| m.number().to_string())
            .or_else(|| db.code().map(|c| c.into_owned()))
            .as_deref()
        {
            // Access denied (MySQL 1044/1045/1142), invalid password / authorization (PostgreSQL).
            Some("1044" | "1045" | "1142" | "28P01" | "28000" | "42501") => (ErrorKind::Auth, Retry::Never),
            // Unknown table or column.
            Some("1146" | "1054" | "42P01" | "42703") => (ErrorKind::Config, Retry::Never),
            // Too many connections, server shutting down, deadlock, serialization failure.
            Some("1040" | "1053" | "1213" | "53300" | "57P01" | "40001" | "40P01") => {
                (ErrorKind::Network, Retry::Backoff)
            }
            _ => (ErrorKind::Data, Retry::Never),
        },
        _ => (ErrorKind::Data, Retry::Never),
    };
    let mut err = SourceError::new(kind, location, e.to_string());
    err.retry = retry;
    err
}

/// A cursor or key value as stored in the source state.
#[derive(Debug, Clone, PartialEq)]
enum Bound {
    Int(i64),
    Text(String),
    DateTime(chrono::NaiveDateTime),
    Timestamp(chrono::DateTime<chrono::Utc>),
    Date(chrono::NaiveDate),
}

impl Bound {
    /// Reads `{ "kind": …, "value": … }`.
    fn from_state(v: &Value) -> Option<Self> {
        let value = &v["value"];
        Some(match v["kind"].as_str()? {
            "int" => Self::Int(value.as_i64()?),
            "datetime" => Self::DateTime(
                chrono::NaiveDateTime::parse_from_str(value.as_str()?, "%Y-%m-%d %H:%M:%S%.f").ok()?,
            ),
            "timestamp" => {
                Self::Timestamp(chrono::DateTime::parse_from_rfc3339(value.as_str()?).ok()?.to_utc())
            }
            "date" => Self::Date(value.as_str()?.parse().ok()?),
            _ => Self::Text(value.as_str()?.to_string()),
        })
    }

    fn minus_seconds(self, secs: u32) -> Self {
        let d = chrono::TimeDelta::seconds(secs.into());
        match self {
            Self::DateTime(t) => Self::DateTime(t - d),
            Self::Timestamp(t) => Self::Timestamp(t - d),
            other => other,
        }
    }
}

/// The SQL of one read and its parameters.
#[derive(Debug)]
struct Plan {
    sql: String,
    binds: Vec<Bound>,
    mode: Mode,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Mode {
    /// Rows after the saved `(cursor, key)`, in that order.
    Incremental,
    /// An incremental source's first read: the whole table in key order (a table scan, not a
    /// walk of the cursor's index), up to the cursor's high-water mark taken before it started;
    /// the runs after it read incrementally from that mark.
    InitialSnapshot,
    /// A table without a cursor, in key order, resumable by key.
    Snapshot,
    /// No key: read whole.
    Plain,
}

/// The column list to read: the configured or discovered columns, less `exclude` and, unless
/// allowed, personal identifiers; the cursor and key are always included.
fn select_columns(config: &SqlConfig, available: &[String]) -> (Vec<String>, Vec<String>) {
    let explicit = config.columns.clone();
    let mut chosen: Vec<String> = explicit.clone().unwrap_or_else(|| available.to_vec());
    let mut dropped = Vec::new();
    chosen.retain(|c| {
        let asked = explicit.as_ref().is_some_and(|e| e.contains(c));
        let keep = !config.exclude.contains(c) && (asked || config.allow_nik || !is_nik(c));
        if !keep {
            dropped.push(c.clone());
        }
        keep
    });
    for needed in config.cursor.iter().chain(config.primary_key.iter()) {
        if !chosen.contains(needed) {
            chosen.push(needed.clone());
        }
    }
    (chosen, dropped)
}

impl SqlSource {
    /// The read's SQL: after the saved state, or from `from` (a backfill, `satu run --from`).
    /// `key_orders` tells whether the key's kind can resume a snapshot (an integer or text key).
    fn plan(
        &self,
        columns: &[String],
        state: Option<&SourceState>,
        backfill: Option<Bound>,
        key_orders: bool,
    ) -> Plan {
        let d = self.driver;
        let list = columns.iter().map(|c| d.quote(c)).collect::<Vec<_>>().join(", ");
        let from = self.relation();
        let state = state.map(|s| &s.0);
        match (&self.config.cursor, &self.config.primary_key) {
            (Some(cursor), Some(pk)) => {
                let (c, k) = (d.quote(cursor), d.quote(pk));
                let order = format!(" ORDER BY {c}, {k}");
                let saved = state
                    .and_then(|s| Some((Bound::from_state(&s["cursor"])?, Bound::from_state(&s["key"])?)));
                let (filter, binds) = match (backfill, saved) {
                    (Some(start), _) => (format!(" WHERE {c} >= {}", d.placeholder(1)), vec![start]),
                    (None, None) if key_orders => {
                        let resume = state
                            .filter(|s| s["complete"] == false)
                            .and_then(|s| Bound::from_state(&s["snapshot"]["key"]));
                        let (filter, binds) = match resume {
                            Some(kv) => (format!(" WHERE {k} > {}", d.placeholder(1)), vec![kv]),
                            None => (String::new(), vec![]),
                        };
                        return Plan {
                            sql: format!("SELECT {list} FROM {from}{filter} ORDER BY {k}"),
                            binds,
                            mode: Mode::InitialSnapshot,
                        };
                    }
                    (None, None) => (String::new(), vec![]),
                    (None, Some((cv, _))) if self.config.lookback_seconds > 0 => (
                        format!(" WHERE {c} >= {}", d.placeholder(1)),
                        vec![cv.minus_seconds(self.config.lookback_seconds)],
                    ),
                    (None, Some((cv, kv))) => (
                        format!(
                            " WHERE {c} > {p1} OR ({c} = {p2} AND {k} > {p3})",
                            p1 = d.placeholder(1),
                            p2 = d.placeholder(2),
                            p3 = d.placeholder(3)
                        ),
                        vec![cv.clone(), cv, kv],
                    ),
                };
                Plan {
                    sql: format!("SELECT {list} FROM {from}{filter}{order}"),
                    binds,
                    mode: Mode::Incremental,
                }
            }
            (None, Some(pk)) => {
                let k = d.quote(pk);
                let resume =
                    state.filter(|s| s["complete"] == false).and_then(|s| Bound::from_state(&s["key"]));
                let (filter, binds) = match resume {
                    Some(kv) => (format!(" WHERE {k} > {}", d.placeholder(1)), vec![kv]),
                    None => (String::new(), vec![]),
                };
                Plan {
                    sql: format!("SELECT {list} FROM {from}{filter} ORDER BY {k}"),
                    binds,
                    mode: Mode::Snapshot,
                }
            }
            _ => Plan { sql: format!("SELECT {list} FROM {from}"), binds: vec![], mode: Mode::Plain },
        }
    }
}

/// Binds the plan's parameters on a query of any of the three drivers.
macro_rules! bind_all {
    ($query:expr, $binds:expr, text_times = $text_times:expr) => {{
        let mut q = $query;
        for b in $binds {
            q = match b.clone() {
                Bound::Int(v) => q.bind(v),
                Bound::Text(v) => q.bind(v),
                Bound::DateTime(v) if $text_times => q.bind(decode::datetime_text(&v)),
                Bound::DateTime(v) => q.bind(v),
                Bound::Timestamp(v) if $text_times => q.bind(v.to_rfc3339()),
                Bound::Timestamp(v) => q.bind(v),
                Bound::Date(v) if $text_times => q.bind(v.to_string()),
                Bound::Date(v) => q.bind(v),
            };
        }
        q
    }};
}

/// What a read loop needs besides the connection.
struct ReadJob {
    plan: Plan,
    columns: Vec<String>,
    kinds: Vec<Kind>,
    cursor_idx: Option<usize>,
    key_idx: Option<usize>,
    label: String,
    pipeline: String,
    batch_rows: usize,
    tz: chrono::FixedOffset,
    /// The committed state this read starts from: carried forward when no row moves it.
    initial: Option<Value>,
    /// An initial snapshot's high-water mark, the `{ cursor, key }` state the incremental runs
    /// after it start from: `None` until taken, `Some(Null)` when the table had no cursor value.
    high_water: Option<Value>,
}

type Sender = tokio::sync::mpsc::Sender<Result<Batch, SourceError>>;

/// Streams the job's rows into batches on `$conn`, decoding with `$decode`.
macro_rules! read_loop {
    ($conn:expr, $decode:path, $job:expr, $tx:expr, text_times = $text_times:expr) => {{
        let job: &ReadJob = $job;
        let q = bind_all!(sqlx::query(&job.plan.sql), &job.plan.binds, text_times = $text_times);
        let mut rows = q.fetch(&mut $conn);
        let cap = job.batch_rows.min(100_000);
        let keeps_last = |i: usize| Some(i) == job.cursor_idx || Some(i) == job.key_idx;
        let mut builders: Vec<Builder> =
            job.kinds.iter().enumerate().map(|(i, k)| k.builder(cap, keeps_last(i))).collect();
        // `penduduk.id=42`: each row's key (or its number), written into one reused buffer.
        let mut locations = StringChunkedBuilder::new(LOCATION_COLUMN.into(), cap);
        let mut location = String::new();
        let mut height = 0usize;
        let mut counters = Counters::default();
        let mut seq = 0u64;
        let mut total = 0u64;
        let mut last_state: Option<Value> = job.initial.clone();
        let prefix = match job.key_idx {
            Some(k) => format!("{}.{}=", job.label, job.columns[k]),
            None => format!("{}#", job.label),
        };
        loop {
            let row = rows.try_next().await.map_err(|e| classify(&job.label, e))?;
            let done = row.is_none();
            if let Some(row) = row {
                for (i, kind) in job.kinds.iter().enumerate() {
                    $decode(&row, i, *kind, job.tz, &mut counters, &mut builders[i]).map_err(|e| {
                        let at = format!("{}, column `{}`", job.label, job.columns[i]);
                        classify(&at, e)
                    })?;
                }
                total += 1;
                height += 1;
                location.clear();
                location.push_str(&prefix);
                match job.key_idx {
                    Some(k) => builders[k].write_last(&mut location),
                    None => location.push_str(&total.to_string()),
                }
                locations.append_value(&location);
            }
            if height < job.batch_rows && !done {
                continue;
            }
            let state = checkpoint(job, &builders, done, last_state.as_ref());
            let mut cols: Vec<Column> =
                job.columns.iter().zip(builders.iter_mut()).map(|(name, b)| b.take(name, cap)).collect();
            let located = std::mem::replace(&mut locations, StringChunkedBuilder::new(LOCATION_COLUMN.into(), cap));
            cols.push(located.finish().into_column());
            let df = DataFrame::new(height, cols).map_err(|e| SourceError::internal(&job.label, e.to_string()))?;
            if counters.zero_dates > 0 {
                tracing::warn!(pipeline = %job.pipeline, source = %job.label, count = counters.zero_dates,
                    "zero or impossible dates (0000-00-00) read as NULL");
                counters = Counters::default();
            }
            last_state = state.as_ref().map(|s| s.0.clone()).or(last_state);
            if $tx.send(Ok(Batch { df, seq, checkpoint: state, replaces: None })).await.is_err() || done {
                break;
            }
            seq += 1;
            height = 0;
        }
        Ok::<(), SourceError>(())
    }};
}

/// Takes an initial snapshot's high-water mark — the last `(cursor, key)` in keyset order,
/// decoded like those columns — unless a resumed snapshot already has one.
macro_rules! take_high_water {
    ($conn:expr, $decode:path, $job:expr, $source:expr) => {{
        let job: &mut ReadJob = $job;
        if let (Mode::InitialSnapshot, None, Some(c), Some(k)) =
            (job.plan.mode, &job.high_water, job.cursor_idx, job.key_idx)
        {
            let d = $source.driver;
            let (qc, qk) = (d.quote(&job.columns[c]), d.quote(&job.columns[k]));
            let sql = format!(
                "SELECT {qc}, {qk} FROM {} WHERE {qc} IS NOT NULL ORDER BY {qc} DESC, {qk} DESC LIMIT 1",
                $source.relation()
            );
            let row = sqlx::query(&sql).fetch_optional(&mut $conn).await.map_err(|e| classify(&job.label, e))?;
            job.high_water = Some(Value::Null);
            if let Some(row) = row {
                let bound = |i: usize, idx: usize| -> Result<Value, SourceError> {
                    let mut builder = job.kinds[idx].builder(1, true);
                    $decode(&row, i, job.kinds[idx], job.tz, &mut Counters::default(), &mut builder)
                        .map_err(|e| classify(&job.label, e))?;
                    Ok(json!({ "kind": job.kinds[idx].state_name(), "value": builder.last_json() }))
                };
                job.high_water = Some(json!({ "cursor": bound(0, c)?, "key": bound(1, k)? }));
            }
        }
    }};
}

/// The state after the rows in `builders` (whose last row is the furthest read so far).
fn checkpoint(
    job: &ReadJob,
    builders: &[Builder],
    done: bool,
    previous: Option<&Value>,
) -> Option<SourceState> {
    let bound =
        |idx: usize| json!({ "kind": job.kinds[idx].state_name(), "value": builders[idx].last_json() });
    let has_rows = builders.first().is_some_and(|b| !b.is_empty());
    match job.plan.mode {
        Mode::Incremental => {
            let (c, k) = (job.cursor_idx?, job.key_idx?);
            // A NULL cursor (read by the first run only) never becomes the saved position.
            let fresh = has_rows && !builders[c].last_json().is_null();
            if fresh {
                Some(SourceState(json!({ "cursor": bound(c), "key": bound(k) })))
            } else {
                previous.map(|p| SourceState(p.clone()))
            }
        }
        Mode::InitialSnapshot => {
            let k = job.key_idx?;
            let key = if has_rows {
                bound(k)
            } else {
                previous.map(|p| p["snapshot"]["key"].clone()).unwrap_or(Value::Null)
            };
            match done {
                false => Some(SourceState(
                    json!({ "snapshot": { "key": key, "high_water": job.high_water }, "complete": false }),
                )),
                // Every row up to the mark is in: the next run reads after it.
                true if job.high_water.as_ref().is_some_and(|h| !h.is_null()) => {
                    job.high_water.clone().map(SourceState)
                }
                // No cursor value at all (an empty table): the next run snapshots again.
                true => Some(SourceState(json!({ "complete": true }))),
            }
        }
        Mode::Snapshot => {
            let k = job.key_idx?;
            let key =
                if has_rows { bound(k) } else { previous.map(|p| p["key"].clone()).unwrap_or(Value::Null) };
            Some(SourceState(json!({ "key": key, "complete": done })))
        }
        Mode::Plain => None,
    }
}

/// Column names and type names of a statement, from the driver's prepare (a macro: a generic
/// function over `Executor` makes the spawned read future fail the `Send` check).
macro_rules! describe {
    ($conn:expr, $sql:expr) => {
        (&mut $conn).describe($sql).await.map(|d| {
            d.columns()
                .iter()
                .map(|c| (c.name().to_string(), c.type_info().name().to_string()))
                .collect::<Vec<_>>()
        })
    };
}

impl SqlSource {
    /// Connects, resolves the columns and their decoders, and plans the read.
    fn job(&self, cx: &ReadContext, available: Vec<(String, String)>) -> Result<ReadJob, SourceError> {
        let names: Vec<String> = available.iter().map(|(n, _)| n.clone()).collect();
        let (columns, dropped) = select_columns(&self.config, &names);
        if !dropped.is_empty() {
            tracing::info!(pipeline = %cx.pipeline, source = %self.label, columns = ?dropped, "columns not read (excluded or personal identifiers)");
        }
        let mut kinds = Vec::with_capacity(columns.len());
        for c in &columns {
            let Some((_, type_name)) = available.iter().find(|(n, _)| n == c) else {
                return Err(SourceError::config(
                    &self.label,
                    format!("the source has no column `{c}` (it has: {})", names.join(", ")),
                ));
            };
            let kind = match self.driver {
                Driver::MySql => Kind::mysql(type_name),
                Driver::Postgres => Kind::postgres(type_name),
                Driver::Sqlite => Some(Kind::Dynamic),
            };
            kinds.push(kind.ok_or_else(|| {
                SourceError::config(
                    &self.label,
                    format!("column `{c}` has type {type_name}, which Satu cannot read; leave it out with exclude = [\"{c}\"]"),
                )
            })?);
        }
        let position =
            |name: &Option<String>| name.as_ref().and_then(|n| columns.iter().position(|c| c == n));
        let tz = config::offset(&self.config.timezone).ok_or_else(|| {
            SourceError::config(&self.label, format!("unknown time zone `{}`", self.config.timezone))
        })?;
        let from = match (cx.from, position(&self.config.cursor)) {
            (None, _) => None,
            (Some(date), Some(i)) => Some(self.backfill_bound(date, kinds[i].state_name(), tz)?),
            (Some(_), None) => {
                return Err(SourceError::config(
                    &self.label,
                    "--from needs an incremental source (a `cursor`)",
                ))
            }
        };
        // SQLite values carry their own types: a saved key would come back as text, which
        // never compares with an integer key; SQLite tables keep the cursor-ordered first read.
        let key_orders = self.driver != Driver::Sqlite
            && position(&self.config.primary_key)
                .is_some_and(|i| matches!(kinds[i].state_name(), "int" | "text"));
        let plan = self.plan(&columns, cx.state.as_ref(), from, key_orders);
        // A resumed initial snapshot keeps the mark it started with.
        let high_water = cx
            .state
            .as_ref()
            .filter(|s| plan.mode == Mode::InitialSnapshot && s.0["snapshot"].get("high_water").is_some())
            .map(|s| s.0["snapshot"]["high_water"].clone());
        Ok(ReadJob {
            plan,
            high_water,
            cursor_idx: position(&self.config.cursor),
            key_idx: position(&self.config.primary_key),
            columns,
            kinds,
            label: self.label.clone(),
            pipeline: cx.pipeline.clone(),
            batch_rows: cx.batch_rows.max(1),
            initial: cx.state.as_ref().map(|s| s.0.clone()),
            tz,
        })
    }

    /// The cursor value a backfill from `date` (midnight in the source's time zone) starts at.
    fn backfill_bound(
        &self,
        date: chrono::NaiveDate,
        kind: &str,
        tz: chrono::FixedOffset,
    ) -> Result<Bound, SourceError> {
        let midnight = date.and_time(chrono::NaiveTime::MIN);
        match kind {
            "datetime" => Ok(Bound::DateTime(midnight)),
            "date" => Ok(Bound::Date(date)),
            "timestamp" => midnight
                .and_local_timezone(tz)
                .single()
                .map(|t| Bound::Timestamp(t.to_utc()))
                .ok_or_else(|| SourceError::config(&self.label, format!("no midnight on {date}"))),
            _ => Err(SourceError::config(
                &self.label,
                format!(
                    "--from needs a date or time cursor; `{}` is {kind}",
                    self.config.cursor.as_deref().unwrap_or_default()
                ),
            )),
        }
    }

    /// `SELECT * … WHERE 1 = 0`: the source's columns and their type names, without reading rows.
    fn probe_sql(&self) -> String {
        format!("SELECT * FROM {} WHERE 1 = 0", self.relation())
    }

    async fn produce(&self, cx: ReadContext, tx: &Sender) -> Result<(), SourceError> {
        let url = self.config.url.expose();
        match self.driver {
            Driver::MySql => {
                let mut conn = sqlx::MySqlConnection::connect(url).await.map_err(|e| self.err(e))?;
                conn.execute("SET SESSION TRANSACTION READ ONLY").await.map_err(|e| self.err(e))?;
                let mut job = self.job(&cx, describe!(conn, &self.probe_sql()).map_err(|e| self.err(e))?)?;
                take_high_water!(conn, decode::mysql, &mut job, self);
                read_loop!(conn, decode::mysql, &job, tx, text_times = false)
            }
            Driver::Postgres => {
                let mut conn = sqlx::PgConnection::connect(url).await.map_err(|e| self.err(e))?;
                conn.execute("SET SESSION CHARACTERISTICS AS TRANSACTION READ ONLY")
                    .await
                    .map_err(|e| self.err(e))?;
                let mut job = self.job(&cx, describe!(conn, &self.probe_sql()).map_err(|e| self.err(e))?)?;
                // One transaction: a consistent snapshot for the whole read.
                conn.execute("BEGIN ISOLATION LEVEL REPEATABLE READ").await.map_err(|e| self.err(e))?;
                take_high_water!(conn, decode::postgres, &mut job, self);
                read_loop!(conn, decode::postgres, &job, tx, text_times = false)
            }
            Driver::Sqlite => {
                let opts = url
                    .parse::<sqlx::sqlite::SqliteConnectOptions>()
                    .map_err(|e| self.err(e))?
                    .read_only(true);
                let mut conn = sqlx::SqliteConnection::connect_with(&opts).await.map_err(|e| self.err(e))?;
                let mut job = self.job(&cx, describe!(conn, &self.probe_sql()).map_err(|e| self.err(e))?)?;
                take_high_water!(conn, decode::sqlite, &mut job, self);
                read_loop!(conn, decode::sqlite, &job, tx, text_times = true)
            }
        }
    }
}

#[async_trait::async_trait]
impl Source for SqlSource {
    async fn check(&mut self) -> Result<(), SourceError> {
        let url = self.config.url.expose();
        let sql = self.probe_sql();
        let result = match self.driver {
            Driver::MySql => match sqlx::MySqlConnection::connect(url).await {
                Ok(mut c) => c.execute(sql.as_str()).await.map(|_| ()),
                Err(e) => Err(e),
            },
            Driver::Postgres => match sqlx::PgConnection::connect(url).await {
                Ok(mut c) => c.execute(sql.as_str()).await.map(|_| ()),
                Err(e) => Err(e),
            },
            Driver::Sqlite => match sqlx::SqliteConnection::connect(url).await {
                Ok(mut c) => c.execute(sql.as_str()).await.map(|_| ()),
                Err(e) => Err(e),
            },
        };
        result.map_err(|e| self.err(e))
    }

    fn backfills(&self) -> bool {
        true
    }

    async fn primary_key(&mut self) -> Result<Option<Vec<String>>, SourceError> {
        let Some(table) = self.config.table.clone() else { return Ok(None) };
        let url = self.config.url.expose();
        let (schema, name) = match table.split_once('.') {
            Some((s, n)) => (Some(s.to_string()), n.to_string()),
            None => (None, table.clone()),
        };
        let key: Vec<String> = match self.driver {
            Driver::MySql => {
                let mut c = sqlx::MySqlConnection::connect(url).await.map_err(|e| self.err(e))?;
                let rows = sqlx::query(
                    "SELECT column_name FROM information_schema.key_column_usage WHERE constraint_name = 'PRIMARY' \
                     AND table_schema = COALESCE(?, DATABASE()) AND table_name = ? ORDER BY ordinal_position",
                )
                .bind(schema)
                .bind(name)
                .fetch_all(&mut c)
                .await
                .map_err(|e| self.err(e))?;
                rows.iter()
                    .map(|r| r.try_get_unchecked::<String, _>(0))
                    .collect::<Result<_, _>>()
                    .map_err(|e| self.err(e))?
            }
            Driver::Postgres => {
                let mut c = sqlx::PgConnection::connect(url).await.map_err(|e| self.err(e))?;
                sqlx::query_scalar(
                    "SELECT a.attname::text FROM pg_index i JOIN pg_attribute a ON a.attrelid = i.indrelid \
                     AND a.attnum = ANY(i.indkey) WHERE i.indisprimary AND i.indrelid = to_regclass($1) \
                     ORDER BY array_position(i.indkey, a.attnum)",
                )
                .bind(&table)
                .fetch_all(&mut c)
                .await
                .map_err(|e| self.err(e))?
            }
            Driver::Sqlite => {
                let mut c = sqlx::SqliteConnection::connect(url).await.map_err(|e| self.err(e))?;
                sqlx::query_scalar("SELECT name FROM pragma_table_info(?1) WHERE pk > 0 ORDER BY pk")
                    .bind(name)
                    .fetch_all(&mut c)
                    .await
                    .map_err(|e| self.err(e))?
            }
        };
        Ok(Some(key))
    }

    async fn discover(&mut self) -> Result<Catalog, SourceError> {
        let url = self.config.url.expose().to_string();
        let rows: Vec<(String, String, String, bool, bool, Option<i64>)> = match self.driver {
            Driver::MySql => {
                let mut c = sqlx::MySqlConnection::connect(&url).await.map_err(|e| self.err(e))?;
                let rows = sqlx::query(
                    "SELECT c.table_name, c.column_name, c.column_type, c.is_nullable = 'YES', c.column_key = 'PRI', \
                     CAST(t.table_rows AS SIGNED) FROM information_schema.columns c \
                     JOIN information_schema.tables t ON t.table_schema = c.table_schema AND t.table_name = c.table_name \
                     WHERE c.table_schema = DATABASE() ORDER BY c.table_name, c.ordinal_position",
                )
                .fetch_all(&mut c)
                .await
                .map_err(|e| self.err(e))?;
                rows.iter()
                    .map(|r| {
                        Ok((
                            r.try_get_unchecked::<String, _>(0)?,
                            r.try_get_unchecked::<String, _>(1)?,
                            r.try_get_unchecked::<String, _>(2)?,
                            r.try_get::<i64, _>(3)? != 0,
                            r.try_get::<i64, _>(4)? != 0,
                            r.try_get::<Option<i64>, _>(5)?,
                        ))
                    })
                    .collect::<Result<_, sqlx::Error>>()
                    .map_err(|e| self.err(e))?
            }
            Driver::Postgres => {
                let mut c = sqlx::PgConnection::connect(&url).await.map_err(|e| self.err(e))?;
                let rows = sqlx::query(
                    "SELECT c.table_schema || '.' || c.table_name, c.column_name::text, c.data_type::text, \
                     c.is_nullable = 'YES', EXISTS (SELECT 1 FROM information_schema.table_constraints tc \
                       JOIN information_schema.key_column_usage k ON k.constraint_schema = tc.constraint_schema \
                       AND k.constraint_name = tc.constraint_name WHERE tc.constraint_type = 'PRIMARY KEY' \
                       AND k.table_schema = c.table_schema AND k.table_name = c.table_name AND k.column_name = c.column_name), \
                     (SELECT reltuples::bigint FROM pg_class WHERE oid = (quote_ident(c.table_schema) || '.' || quote_ident(c.table_name))::regclass) \
                     FROM information_schema.columns c WHERE c.table_schema NOT IN ('pg_catalog', 'information_schema') \
                     ORDER BY 1, c.ordinal_position",
                )
                .fetch_all(&mut c)
                .await
                .map_err(|e| self.err(e))?;
                rows.iter()
                    .map(|r| {
                        Ok((
                            r.try_get(0)?,
                            r.try_get(1)?,
                            r.try_get(2)?,
                            r.try_get(3)?,
                            r.try_get(4)?,
                            r.try_get(5)?,
                        ))
                    })
                    .collect::<Result<_, sqlx::Error>>()
                    .map_err(|e| self.err(e))?
            }
            Driver::Sqlite => {
                let mut c = sqlx::SqliteConnection::connect(&url).await.map_err(|e| self.err(e))?;
                let rows = sqlx::query(
                    "SELECT m.name, p.name, p.type, p.\"notnull\" = 0, p.pk > 0, NULL FROM sqlite_master m \
                     JOIN pragma_table_info(m.name) p WHERE m.type = 'table' AND m.name NOT LIKE 'sqlite_%' \
                     ORDER BY m.name, p.cid",
                )
                .fetch_all(&mut c)
                .await
                .map_err(|e| self.err(e))?;
                rows.iter()
                    .map(|r| {
                        Ok((r.try_get(0)?, r.try_get(1)?, r.try_get(2)?, r.try_get(3)?, r.try_get(4)?, None))
                    })
                    .collect::<Result<_, sqlx::Error>>()
                    .map_err(|e| self.err(e))?
            }
        };
        let mut catalog = Catalog::default();
        for (table, column, source_type, nullable, pk, estimate) in rows {
            if catalog.entries.last().is_none_or(|e| e.name != table) {
                catalog.entries.push(CatalogEntry {
                    name: table.clone(),
                    columns: vec![],
                    primary_key: vec![],
                    row_estimate: estimate.and_then(|n| u64::try_from(n).ok()),
                });
            }
            if let Some(entry) = catalog.entries.last_mut() {
                if pk {
                    entry.primary_key.push(column.clone());
                }
                entry.columns.push(CatalogColumn { name: column, source_type, nullable });
            }
        }
        Ok(catalog)
    }

    fn keys(self: Box<Self>, cx: ReadContext) -> BatchStream {
        let Some(pk) = self.config.primary_key.clone() else {
            let err = SourceError::config(&self.label, "delete detection needs the source's `primary_key`");
            return Box::pin(futures::stream::once(async move { Err(err) }));
        };
        // A plain read of the key column alone: no cursor, no state, no personal data.
        let mut config = self.config.clone();
        config.columns = Some(vec![pk]);
        config.cursor = None;
        config.primary_key = None;
        Box::new(SqlSource::new(config, self.driver)).read(ReadContext {
            state: None,
            from: None,
            needs: vec![],
            ..cx
        })
    }

    fn read(self: Box<Self>, cx: ReadContext) -> BatchStream {
        let (tx, rx) = tokio::sync::mpsc::channel(2);
        tokio::spawn(async move {
            if let Err(e) = self.produce(cx, &tx).await {
                // The receiver may be gone (run cancelled): nothing left to tell.
                let _ = tx.send(Err(e)).await;
            }
        });
        satu_core::channel_stream(rx)
    }
}
