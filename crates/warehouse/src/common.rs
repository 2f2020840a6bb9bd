//! What the backends share: the metadata statements (`$n` parameters, numbered in order of first
//! use, which SQLite and PostgreSQL read alike), the batch column lists, and row decoding.

/// Upserts organisations, datasets, indicators and dimensions of `$d` inside transaction `$tx`.
/// A macro rather than a generic function: it expands against each backend's concrete
/// transaction type, without a wall of sqlx trait bounds.
macro_rules! sync_metadata {
    ($tx:expr, $d:expr) => {{
        let d: &satu_config::Deployment = $d;
        for o in &d.organisations {
            sqlx::query(
                "INSERT INTO meta.organisasi (kode, nama, peran) VALUES ($1, $2, $3) \
                 ON CONFLICT (kode) DO UPDATE SET nama = excluded.nama, peran = excluded.peran",
            )
            .bind(&o.code)
            .bind(&o.name)
            .bind(o.role.as_str())
            .execute(&mut *$tx)
            .await?;
        }
        for ds in &d.datasets {
            sqlx::query(
                "INSERT INTO meta.dataset (slug, judul, opd, frekuensi, akses, prioritas, deskripsi) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT (slug) DO UPDATE SET judul = excluded.judul, \
                 opd = excluded.opd, frekuensi = excluded.frekuensi, akses = excluded.akses, \
                 prioritas = excluded.prioritas, deskripsi = excluded.deskripsi",
            )
            .bind(&ds.slug)
            .bind(&ds.title)
            .bind(&ds.opd)
            .bind(ds.frequency.as_str())
            .bind(ds.access.as_str())
            .bind(ds.prioritas)
            .bind(&ds.description)
            .execute(&mut *$tx)
            .await?;
        }
        for ind in &d.indicators {
            sqlx::query(
                "INSERT INTO meta.indikator (kode, nama, satuan, konsep, definisi, ukuran, dimensi) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT (kode) DO UPDATE SET nama = excluded.nama, \
                 satuan = excluded.satuan, konsep = excluded.konsep, definisi = excluded.definisi, \
                 ukuran = excluded.ukuran, dimensi = excluded.dimensi",
            )
            .bind(&ind.code)
            .bind(&ind.name)
            .bind(&ind.satuan)
            .bind(&ind.konsep)
            .bind(&ind.definisi)
            .bind(&ind.ukuran)
            .bind(ind.dimensi.join(","))
            .execute(&mut *$tx)
            .await?;
        }
        for dim in $crate::common::dimensions(d) {
            sqlx::query(
                "INSERT INTO ref.dimensi (kode, nama) VALUES ($1, $2) \
                 ON CONFLICT (kode) DO UPDATE SET nama = excluded.nama",
            )
            .bind(&dim.code)
            .bind(&dim.name)
            .execute(&mut *$tx)
            .await?;
            for (code, label) in &dim.values {
                sqlx::query(
                    "INSERT INTO ref.kode_dimensi (dimensi, kode, label) VALUES ($1, $2, $3) \
                     ON CONFLICT (dimensi, kode) DO UPDATE SET label = excluded.label",
                )
                .bind(&dim.code)
                .bind(code)
                .bind(label)
                .execute(&mut *$tx)
                .await?;
            }
        }
    }};
}

/// The declared dimensions plus the built-in ones the deployment does not redefine.
pub(crate) fn dimensions(d: &satu_config::Deployment) -> Vec<satu_config::Dimension> {
    let mut dims = satu_config::Dimension::builtin();
    dims.retain(|b| !d.dimensions.iter().any(|x| x.code == b.code));
    dims.extend(d.dimensions.iter().cloned());
    dims
}

/// Region rows for `ref.wilayah`, as columns: kode, kode_polos, nama, level, jenis, kode_induk.
pub(crate) fn region_columns() -> [Vec<Option<String>>; 6] {
    let regions = satu_reference::kemendagri();
    [
        regions.iter().map(|r| Some(r.code.clone())).collect(),
        regions.iter().map(|r| Some(r.code.replace('.', ""))).collect(),
        regions.iter().map(|r| Some(r.name.clone())).collect(),
        regions.iter().map(|r| Some(r.level.to_string())).collect(),
        regions.iter().map(|r| Some(r.kind.clone())).collect(),
        regions.iter().map(|r| r.parent.clone()).collect(),
    ]
}

/// The observation columns a batch carries, in staging order.
pub(crate) const STAGE_COLUMNS: [&str; 7] =
    ["kode_wilayah", "periode", "dimensi_kunci", "nilai", "status_nilai", "nilai_mentah", "lokasi_sumber"];

/// The reject columns a batch carries, in `etl.reject` order after `run_id, pipeline`.
pub(crate) const REJECT_SOURCE_COLUMNS: [&str; 6] =
    ["aturan", "pesan", "kolom", "nilai_mentah", "lokasi_sumber", "baris"];

/// `etl.reject` columns, matching `run_id, pipeline` + [`REJECT_SOURCE_COLUMNS`].
pub(crate) const REJECT_COLUMNS: [&str; 8] =
    ["run_id", "pipeline", "rule", "message", "column_name", "raw_value", "location", "row_json"];

/// Decodes an `etl.run` row (timestamps already rendered as RFC 3339 text).
pub(crate) fn run_record<R>(r: &R) -> Result<crate::RunRecord, sqlx::Error>
where
    R: sqlx::Row,
    for<'a> &'a str: sqlx::ColumnIndex<R>,
    for<'a> i64: sqlx::Decode<'a, R::Database> + sqlx::Type<R::Database>,
    for<'a> String: sqlx::Decode<'a, R::Database> + sqlx::Type<R::Database>,
{
    let n = |c: &str| r.try_get::<i64, _>(c).map(|v| v as u64);
    Ok(crate::RunRecord {
        id: r.try_get("id")?,
        pipeline: r.try_get("pipeline")?,
        started_at: r.try_get("started_at")?,
        finished_at: r.try_get("finished_at")?,
        status: r.try_get("status")?,
        mode: r.try_get("mode")?,
        counts: satu_core::RowCounts {
            read: n("rows_read")?,
            inserted: n("rows_inserted")?,
            updated: n("rows_updated")?,
            unchanged: n("rows_unchanged")?,
            rejected: n("rows_rejected")?,
            filtered: n("rows_filtered")?,
            duplicates: n("rows_duplicate")?,
            deleted: n("rows_deleted")?,
        },
        error: r.try_get("error")?,
    })
}

/// The lineage columns of entity tables.
pub(crate) const LINEAGE_COLUMNS: [&str; 3] = ["_satu_run_id", "_satu_dimuat", "_satu_dihapus"];

/// The table an entity batch is written to: the table itself, or its new copy while a
/// `full_refresh` fills it.
pub(crate) fn entity_table(e: &satu_config::EntityTarget) -> String {
    match e.sync {
        satu_config::SyncMode::FullRefresh => format!("{}__baru", e.table),
        _ => e.table.clone(),
    }
}

/// `"a", "b"`: declared names are validated lower-case identifiers, quoted all the same.
pub(crate) fn quoted(names: impl IntoIterator<Item = impl AsRef<str>>) -> String {
    names.into_iter().map(|n| format!("\"{}\"", n.as_ref())).collect::<Vec<_>>().join(", ")
}

/// `CREATE TABLE IF NOT EXISTS dw."name" (…)` for an entity, with the backend's types;
/// `loaded_default` (`" DEFAULT now()"` or empty) lets bulk loads leave `_satu_dimuat` out.
pub(crate) fn create_entity_sql(
    e: &satu_config::EntityTarget,
    name: &str,
    column_type: impl Fn(&satu_config::ColumnType) -> String,
    int8: &str,
    instant: &str,
    loaded_default: &str,
) -> String {
    let mut cols: Vec<String> =
        e.columns.iter().map(|(c, t)| format!("\"{c}\" {}", column_type(t))).collect();
    cols.push(format!("\"_satu_run_id\" {int8} NOT NULL"));
    cols.push(format!("\"_satu_dimuat\" {instant} NOT NULL{loaded_default}"));
    cols.push(format!("\"_satu_dihapus\" {instant}"));
    if !e.primary_key.is_empty() {
        cols.push(format!("PRIMARY KEY ({})", quoted(&e.primary_key)));
    }
    format!("CREATE TABLE IF NOT EXISTS dw.\"{name}\" ({})", cols.join(", "))
}

/// Checks that an existing entity table has exactly the declared and lineage columns.
pub(crate) fn check_entity_columns(
    e: &satu_config::EntityTarget,
    existing: &[String],
) -> Result<(), crate::WarehouseError> {
    let mut want: Vec<String> =
        e.columns.keys().cloned().chain(LINEAGE_COLUMNS.iter().map(|s| s.to_string())).collect();
    let mut have = existing.to_vec();
    want.sort();
    have.sort();
    if want == have {
        return Ok(());
    }
    Err(crate::WarehouseError::Config(format!(
        "dw.{} exists with columns ({}) but the pipeline declares ({}); rename the table or the pipeline's \
         entity.table (schema-drift handling comes with the landing release)",
        e.table,
        have.join(", "),
        want.join(", ")
    )))
}

/// The declared columns of `df`, as text (booleans as `1`/`0` when `bool_as_int`), in the
/// declared (sorted) order.
pub(crate) fn entity_rows(
    df: &polars::prelude::DataFrame,
    e: &satu_config::EntityTarget,
    bool_as_int: bool,
) -> Result<Vec<Vec<Option<String>>>, crate::WarehouseError> {
    use polars::prelude::DataType;
    let bad = |e: polars::prelude::PolarsError| crate::WarehouseError::Batch(e.to_string());
    let mut out = Vec::with_capacity(e.columns.len());
    for name in e.columns.keys() {
        // An empty batch may carry no columns at all (an API page with no records).
        if df.height() == 0 && df.column(name).is_err() {
            out.push(vec![]);
            continue;
        }
        let col = df.column(name).map_err(|_| {
            let have: Vec<&str> = df.get_column_names().iter().map(|c| c.as_str()).collect();
            crate::WarehouseError::Batch(format!(
                "the source has no column `{name}` for dw.{} (it has: {})",
                e.table,
                have.join(", ")
            ))
        })?;
        let values: Vec<Option<String>> = if bool_as_int && col.dtype() == &DataType::Boolean {
            col.bool()
                .map_err(bad)?
                .iter()
                .map(|v| v.map(|b| if b { "1" } else { "0" }.to_string()))
                .collect()
        } else {
            let s = col.cast(&DataType::String).map_err(bad)?;
            s.str().map_err(bad)?.iter().map(|v| v.map(str::to_string)).collect()
        };
        out.push(values);
    }
    Ok(out)
}

/// `ON CONFLICT (key) DO UPDATE SET …` of an entity merge: every non-key column and the lineage;
/// a row that comes back is live again.
pub(crate) fn upsert_clause(e: &satu_config::EntityTarget) -> String {
    let set: Vec<String> = e
        .columns
        .keys()
        .filter(|c| !e.primary_key.contains(c))
        .map(|c| format!("\"{c}\" = excluded.\"{c}\""))
        .chain([
            "_satu_run_id = excluded._satu_run_id".into(),
            "_satu_dimuat = excluded._satu_dimuat".into(),
            "_satu_dihapus = NULL".into(),
        ])
        .collect();
    format!("ON CONFLICT ({}) DO UPDATE SET {}", quoted(&e.primary_key), set.join(", "))
}

/// Runs a read-only statement and collects its columns and rows, decoding values with
/// `$value(row, index)`.
macro_rules! query_result {
    ($pool:expr, $sql:expr, $value:expr) => {{
        use sqlx::{Column as _, Row as _};
        let sql: &str = $sql;
        let rows = sqlx::query(sql).fetch_all($pool).await?;
        let columns = match rows.first() {
            Some(r) => r.columns().iter().map(|c| c.name().to_string()).collect(),
            None => sqlx::Executor::describe($pool, sql)
                .await?
                .columns()
                .iter()
                .map(|c| c.name().to_string())
                .collect(),
        };
        let mut out = Vec::with_capacity(rows.len());
        for r in &rows {
            out.push((0..r.len()).map(|i| $value(r, i)).collect::<Result<Vec<_>, sqlx::Error>>()?);
        }
        $crate::QueryResult { columns, rows: out }
    }};
}

/// The merge counts of a classified staging table: (inserted, updated, unchanged).
pub(crate) type MergeCounts = (i64, i64, i64);

/// The keys of a one-column key batch, as text.
pub(crate) fn key_column(
    keys: &polars::prelude::DataFrame,
) -> Result<Vec<Option<String>>, crate::WarehouseError> {
    use polars::prelude::DataType;
    let bad = |e: polars::prelude::PolarsError| crate::WarehouseError::Batch(e.to_string());
    let Some(col) = keys.columns().iter().find(|c| c.name().as_str() != satu_core::LOCATION_COLUMN) else {
        return Ok(vec![]);
    };
    let s = col.cast(&DataType::String).map_err(bad)?;
    Ok(s.str().map_err(bad)?.iter().map(|v| v.map(str::to_string)).collect())
}

/// The refusal when a source listed no key but the table has rows.
pub(crate) fn no_keys_listed(e: &satu_config::EntityTarget, rows: i64) -> crate::WarehouseError {
    crate::WarehouseError::Batch(format!(
        "the source listed no keys, so all {rows} rows of dw.{} would be marked deleted; refusing (check the source)",
        e.table
    ))
}

/// What differs between the backends in the bookkeeping SQL below; the rest is shared.
pub(crate) struct Dialect {
    /// The statement that opens a write transaction.
    pub begin: &'static str,
    /// The current instant, as the backend stores it.
    pub now: &'static str,
    /// The current instant as RFC 3339 text.
    pub now_text: &'static str,
    /// `etl.run` columns with the timestamps rendered as RFC 3339 text.
    pub run_columns: &'static str,
    /// A query of the column names of table `dw.$1`.
    pub table_columns: &'static str,
    /// Casts the expression `{}` to text.
    pub text_cast: &'static str,
}

/// The committed source state of pipeline `$pipeline`.
macro_rules! fetch_state {
    ($exec:expr, $pipeline:expr) => {{
        let pipeline: &str = $pipeline;
        let raw: Option<String> = sqlx::query_scalar("SELECT state FROM etl.state WHERE pipeline = $1")
            .bind(pipeline)
            .fetch_optional($exec)
            .await?;
        raw.map(|s| serde_json::from_str(&s).map(satu_core::SourceState)).transpose().map_err(|e| {
            $crate::WarehouseError::Batch(format!("stored state of `{pipeline}` is not JSON: {e}"))
        })
    }};
}

/// Stores the source checkpoint and adds a batch's counts to its run, inside the batch's
/// transaction `$tx`: state is never written ahead of the data.
macro_rules! record_progress {
    ($tx:expr, $dialect:expr, $pipeline:expr, $run_id:expr, $checkpoint:expr, $counts:expr) => {{
        let counts: &satu_core::RowCounts = $counts;
        if let Some(state) = $checkpoint {
            sqlx::query(&format!(
                "INSERT INTO etl.state (pipeline, state, run_id, updated_at) VALUES ($1, $2, $3, {}) \
                 ON CONFLICT (pipeline) DO UPDATE SET state = excluded.state, run_id = excluded.run_id, \
                 updated_at = excluded.updated_at",
                $dialect.now
            ))
            .bind($pipeline)
            .bind(state.0.to_string())
            .bind($run_id)
            .execute(&mut *$tx)
            .await?;
        }
        sqlx::query(
            "UPDATE etl.run SET rows_read = rows_read + $2, rows_inserted = rows_inserted + $3, \
             rows_updated = rows_updated + $4, rows_unchanged = rows_unchanged + $5, \
             rows_rejected = rows_rejected + $6, rows_filtered = rows_filtered + $7, \
             rows_duplicate = rows_duplicate + $8, rows_deleted = rows_deleted + $9 WHERE id = $1",
        )
        .bind($run_id)
        .bind(counts.read as i64)
        .bind(counts.inserted as i64)
        .bind(counts.updated as i64)
        .bind(counts.unchanged as i64)
        .bind(counts.rejected as i64)
        .bind(counts.filtered as i64)
        .bind(counts.duplicates as i64)
        .bind(counts.deleted as i64)
        .execute(&mut *$tx)
        .await?;
    }};
}

/// Starts a run of `$pipeline`; runs of it still marked `running` were cut off (the process was
/// killed: nothing of theirs is half-written, their last transaction rolled back) and are closed
/// as interrupted. Callers hold the pipeline's lock, where the backend has one.
macro_rules! start_run {
    ($exec:expr, $dialect:expr, $pipeline:expr, $mode:expr) => {{
        let pipeline: &str = $pipeline;
        sqlx::query(&format!(
            "UPDATE etl.run SET status = 'failed', finished_at = {}, \
             error = 'interrupted: the process stopped before the run finished' \
             WHERE pipeline = $1 AND status = 'running'",
            $dialect.now
        ))
        .bind(pipeline)
        .execute($exec)
        .await?;
        let id: i64 = sqlx::query_scalar(&format!(
            "INSERT INTO etl.run (pipeline, mode, started_at, status) VALUES ($1, $2, {}, 'running') RETURNING id",
            $dialect.now
        ))
        .bind(pipeline)
        .bind($mode)
        .fetch_one($exec)
        .await?;
        id
    }};
}

/// Records the end of run `$run_id` and drops the keys of a delete detection that did not finish.
macro_rules! finish_run_record {
    ($pool:expr, $dialect:expr, $run_id:expr, $outcome:expr) => {{
        let (status, error) = match $outcome {
            Ok(()) => ("success", None),
            Err(e) => ("failed", Some(e)),
        };
        sqlx::query(&format!(
            "UPDATE etl.run SET finished_at = {}, status = $2, error = $3 WHERE id = $1",
            $dialect.now
        ))
        .bind($run_id)
        .bind(status)
        .bind(error)
        .execute($pool)
        .await?;
        sqlx::query("DELETE FROM etl.kunci_sumber WHERE run_id = $1").bind($run_id).execute($pool).await?;
    }};
}

/// The run `$run_id`, or the latest run of every pipeline when `$run_id` is `None`.
macro_rules! fetch_runs {
    ($pool:expr, $dialect:expr, $run_id:expr) => {{
        let run_id: Option<i64> = $run_id;
        let filter = match run_id {
            Some(_) => "id = $1",
            None => "id IN (SELECT max(id) FROM etl.run GROUP BY pipeline)",
        };
        let sql =
            format!("SELECT {} FROM etl.run WHERE {filter} ORDER BY pipeline, id", $dialect.run_columns);
        let mut q = sqlx::query(&sql);
        if let Some(id) = run_id {
            q = q.bind(id);
        }
        let rows = q.fetch_all($pool).await?;
        rows.iter().map($crate::common::run_record).collect::<Result<Vec<_>, _>>()?
    }};
}

/// Creates an entity table when missing (checking its columns when present), prepares a full
/// refresh's copy, and answers whether batches can be loaded directly (see `prepare_entity`).
macro_rules! prepare_entity {
    ($pool:expr, $dialect:expr, $entity:expr, $fresh:expr, $create:expr) => {{
        let e: &satu_config::EntityTarget = $entity;
        let create = $create;
        let mut tx = $pool.begin_with($dialect.begin).await?;
        let existing: Vec<String> =
            sqlx::query_scalar($dialect.table_columns).bind(&e.table).fetch_all(&mut *tx).await?;
        if existing.is_empty() {
            sqlx::query(&create(&e.table)).execute(&mut *tx).await?;
        } else {
            $crate::common::check_entity_columns(e, &existing)?;
        }
        if e.sync == satu_config::SyncMode::FullRefresh {
            let copy = $crate::common::entity_table(e);
            if $fresh {
                sqlx::query(&format!("DROP TABLE IF EXISTS dw.\"{copy}\"")).execute(&mut *tx).await?;
            }
            sqlx::query(&create(&copy)).execute(&mut *tx).await?;
        }
        let direct = match e.sync {
            satu_config::SyncMode::Merge => {
                let any: i64 = sqlx::query_scalar(&format!(
                    "SELECT count(*) FROM (SELECT 1 FROM dw.\"{}\" LIMIT 1) AS x",
                    e.table
                ))
                .fetch_one(&mut *tx)
                .await?;
                any == 0
            }
            satu_config::SyncMode::Append | satu_config::SyncMode::FullRefresh => true,
        };
        tx.commit().await?;
        direct
    }};
}

/// Soft-deletes the rows whose key the source no longer lists; returns how many.
macro_rules! mark_deleted {
    ($pool:expr, $dialect:expr, $run_id:expr, $entity:expr) => {{
        let e: &satu_config::EntityTarget = $entity;
        let key = e
            .primary_key
            .first()
            .ok_or_else(|| $crate::WarehouseError::Config("delete detection needs a key".into()))?;
        let mut tx = $pool.begin_with($dialect.begin).await?;
        let listed: i64 = sqlx::query_scalar("SELECT count(*) FROM etl.kunci_sumber WHERE run_id = $1")
            .bind($run_id)
            .fetch_one(&mut *tx)
            .await?;
        let live: i64 =
            sqlx::query_scalar(&format!("SELECT count(*) FROM dw.\"{}\" WHERE _satu_dihapus IS NULL", e.table))
                .fetch_one(&mut *tx)
                .await?;
        if listed == 0 && live > 0 {
            return Err($crate::common::no_keys_listed(e, live));
        }
        let key_text = $dialect.text_cast.replace("{}", &format!("dw.\"{}\".\"{key}\"", e.table));
        let marked = sqlx::query(&format!(
            "UPDATE dw.\"{t}\" SET _satu_dihapus = {now}, _satu_run_id = $1 WHERE _satu_dihapus IS NULL \
             AND NOT EXISTS (SELECT 1 FROM etl.kunci_sumber AS k WHERE k.run_id = $1 AND k.kunci = {key_text})",
            t = e.table,
            now = $dialect.now
        ))
        .bind($run_id)
        .execute(&mut *tx)
        .await?
        .rows_affected();
        sqlx::query("UPDATE etl.run SET rows_deleted = rows_deleted + $2 WHERE id = $1")
            .bind($run_id)
            .bind(marked as i64)
            .execute(&mut *tx)
            .await?;
        sqlx::query("DELETE FROM etl.kunci_sumber WHERE run_id = $1").bind($run_id).execute(&mut *tx).await?;
        tx.commit().await?;
        marked
    }};
}

/// Replaces an entity table by its full-refresh copy inside transaction `$tx`.
macro_rules! swap_entity {
    ($tx:expr, $entity:expr) => {{
        let e: &satu_config::EntityTarget = $entity;
        sqlx::query(&format!("DROP TABLE IF EXISTS dw.\"{}\"", e.table)).execute(&mut *$tx).await?;
        sqlx::query(&format!(
            "ALTER TABLE dw.\"{}\" RENAME TO \"{}\"",
            $crate::common::entity_table(e),
            e.table
        ))
        .execute(&mut *$tx)
        .await?;
    }};
}

/// The baseline schema of a pipeline: the last one recorded.
macro_rules! last_schema {
    ($pool:expr, $pipeline:expr) => {{
        let raw: Option<String> = sqlx::query_scalar(
            "SELECT kolom FROM etl.skema_sumber WHERE pipeline = $1 ORDER BY run_id DESC LIMIT 1",
        )
        .bind($pipeline)
        .fetch_optional($pool)
        .await?;
        raw.map(|s| serde_json::from_str::<Vec<(String, String)>>(&s))
            .transpose()
            .map_err(|e| $crate::WarehouseError::Batch(format!("stored schema is not JSON: {e}")))
    }};
}

/// Stores a run's drift records and, when accepted, its schema as the new baseline.
macro_rules! record_schema {
    ($pool:expr, $dialect:expr, $pipeline:expr, $run_id:expr, $accepted:expr, $changes:expr) => {{
        let mut tx = $pool.begin_with($dialect.begin).await?;
        if let Some(columns) = $accepted {
            let json = serde_json::to_string(columns).map_err(|e| $crate::WarehouseError::Batch(e.to_string()))?;
            sqlx::query(&format!(
                "INSERT INTO etl.skema_sumber (pipeline, run_id, kolom, recorded_at) VALUES ($1, $2, $3, {})",
                $dialect.now_text
            ))
            .bind($pipeline)
            .bind($run_id)
            .bind(json)
            .execute(&mut *tx)
            .await?;
        }
        for c in $changes {
            sqlx::query(&format!(
                "INSERT INTO etl.drift (pipeline, run_id, change, column_name, old_type, new_type, action, recorded_at) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7, {})",
                $dialect.now_text
            ))
            .bind($pipeline)
            .bind($run_id)
            .bind(c.change)
            .bind(&c.column)
            .bind(&c.old_type)
            .bind(&c.new_type)
            .bind(c.action)
            .execute(&mut *tx)
            .await?;
        }
        tx.commit().await?;
    }};
}

/// The drift history, newest first, of one pipeline or all; values decoded with `$value`.
macro_rules! drift_history {
    ($pool:expr, $pipeline:expr, $value:expr) => {{
        let pipeline: Option<&str> = $pipeline;
        let columns =
            ["pipeline", "run_id", "change", "column_name", "old_type", "new_type", "action", "recorded_at"];
        let sql = format!(
            "SELECT {} FROM etl.drift {} ORDER BY id DESC",
            columns.join(", "),
            if pipeline.is_some() { "WHERE pipeline = $1" } else { "" }
        );
        let mut q = sqlx::query(&sql);
        if let Some(p) = pipeline {
            q = q.bind(p);
        }
        let rows = q.fetch_all($pool).await?;
        let mut out = Vec::with_capacity(rows.len());
        for r in &rows {
            out.push((0..columns.len()).map(|i| $value(r, i)).collect::<Result<Vec<_>, sqlx::Error>>()?);
        }
        $crate::QueryResult { columns: columns.iter().map(|c| c.to_string()).collect(), rows: out }
    }};
}

/// The runs of one pipeline (`Some`) or all, newest first, at most `$limit`.
macro_rules! run_history {
    ($pool:expr, $dialect:expr, $pipeline:expr, $limit:expr) => {{
        let pipeline: Option<&str> = $pipeline;
        let filter = if pipeline.is_some() { "WHERE pipeline = $2" } else { "" };
        let sql = format!("SELECT {} FROM etl.run {filter} ORDER BY id DESC LIMIT $1", $dialect.run_columns);
        let mut q = sqlx::query(&sql).bind(i64::from($limit));
        if let Some(p) = pipeline {
            q = q.bind(p);
        }
        let rows = q.fetch_all($pool).await?;
        rows.iter().map($crate::common::run_record).collect::<Result<Vec<_>, _>>()?
    }};
}

/// The latest successful run of every pipeline.
macro_rules! last_successes {
    ($pool:expr, $dialect:expr) => {{
        let sql = format!(
            "SELECT {} FROM etl.run WHERE id IN \
             (SELECT max(id) FROM etl.run WHERE status = 'success' GROUP BY pipeline) ORDER BY pipeline",
            $dialect.run_columns
        );
        let rows = sqlx::query(&sql).fetch_all($pool).await?;
        rows.iter().map($crate::common::run_record).collect::<Result<Vec<_>, _>>()?
    }};
}

/// Rejected rows of run `$run_id` by rule.
macro_rules! reject_reasons {
    ($pool:expr, $run_id:expr) => {{
        let rows: Vec<(String, i64)> = sqlx::query_as(
            "SELECT rule, count(*) AS n FROM etl.reject WHERE run_id = $1 GROUP BY rule ORDER BY n DESC, rule",
        )
        .bind($run_id)
        .fetch_all($pool)
        .await?;
        rows.into_iter().map(|(rule, n)| (rule, n as u64)).collect()
    }};
}

/// Closes the running runs of `$pipeline` as failed.
macro_rules! abandon_runs {
    ($pool:expr, $dialect:expr, $pipeline:expr, $reason:expr) => {{
        sqlx::query(&format!(
            "UPDATE etl.run SET status = 'failed', finished_at = {}, error = $2 \
             WHERE pipeline = $1 AND status = 'running'",
            $dialect.now
        ))
        .bind($pipeline)
        .bind($reason)
        .execute($pool)
        .await?;
    }};
}

/// Claims a tick (see `Warehouse::claim_tick`): inserts it, or takes it over when its lease ran
/// out unfinished; not while another tick of the pipeline runs under a live lease. Whether a row
/// was written says who won.
macro_rules! claim_tick {
    ($pool:expr, $pipeline:expr, $at:expr, $owner:expr, $now:expr, $lease_until:expr) => {{
        let done = sqlx::query(
            "INSERT INTO etl.tick AS t (pipeline, scheduled_for, owner, lease_until) \
             SELECT $1, $2, $3, $5 WHERE NOT EXISTS (SELECT 1 FROM etl.tick o WHERE o.pipeline = $1 \
               AND o.scheduled_for <> $2 AND o.finished_at IS NULL AND o.lease_until >= $4) \
             ON CONFLICT (pipeline, scheduled_for) DO UPDATE SET owner = excluded.owner, \
             lease_until = excluded.lease_until \
             WHERE t.finished_at IS NULL AND t.lease_until < $4",
        )
        .bind($pipeline)
        .bind($at)
        .bind($owner)
        .bind($now)
        .bind($lease_until)
        .execute($pool)
        .await?;
        done.rows_affected() == 1
    }};
}

/// Extends the leases of `$owner`'s unfinished ticks.
macro_rules! renew_ticks {
    ($pool:expr, $owner:expr, $lease_until:expr) => {{
        sqlx::query("UPDATE etl.tick SET lease_until = $2 WHERE owner = $1 AND finished_at IS NULL")
            .bind($owner)
            .bind($lease_until)
            .execute($pool)
            .await?;
    }};
}

/// Finishes or releases a tick (see `Warehouse::release_tick`).
macro_rules! release_tick {
    ($pool:expr, $pipeline:expr, $at:expr, $owner:expr, $now:expr, $outcome:expr) => {{
        let outcome: Option<&str> = $outcome;
        let sql = if outcome.is_some() {
            "UPDATE etl.tick SET finished_at = $4, outcome = $5 \
             WHERE pipeline = $1 AND scheduled_for = $2 AND owner = $3"
        } else {
            "UPDATE etl.tick SET lease_until = $4 \
             WHERE pipeline = $1 AND scheduled_for = $2 AND owner = $3 AND finished_at IS NULL"
        };
        let mut q = sqlx::query(sql).bind($pipeline).bind($at).bind($owner).bind($now);
        if let Some(o) = outcome {
            q = q.bind(o);
        }
        q.execute($pool).await?;
    }};
}

/// Closes older unfinished, unleased ticks as superseded.
macro_rules! supersede_ticks {
    ($pool:expr, $pipeline:expr, $before:expr, $now:expr) => {{
        sqlx::query(
            "UPDATE etl.tick SET finished_at = $3, outcome = 'superseded' \
             WHERE pipeline = $1 AND scheduled_for < $2 AND finished_at IS NULL AND lease_until < $3",
        )
        .bind($pipeline)
        .bind($before)
        .bind($now)
        .execute($pool)
        .await?;
    }};
}

/// Ticks as `Tick` records, from rows of (pipeline, scheduled_for, finished).
pub(crate) fn ticks(rows: Vec<(String, String, bool)>) -> Vec<crate::Tick> {
    rows.into_iter()
        .map(|(pipeline, scheduled_for, finished)| crate::Tick { pipeline, scheduled_for, finished })
        .collect()
}

/// Unfinished ticks whose lease ran out.
macro_rules! expired_ticks {
    ($pool:expr, $now:expr) => {{
        let rows: Vec<(String, String, bool)> = sqlx::query_as(
            "SELECT pipeline, scheduled_for, false FROM etl.tick \
             WHERE finished_at IS NULL AND lease_until < $1 ORDER BY scheduled_for",
        )
        .bind($now)
        .fetch_all($pool)
        .await?;
        $crate::common::ticks(rows)
    }};
}

/// The latest tick of `$pipeline`.
macro_rules! last_tick {
    ($pool:expr, $pipeline:expr) => {{
        let rows: Vec<(String, String, bool)> = sqlx::query_as(
            "SELECT pipeline, scheduled_for, finished_at IS NOT NULL FROM etl.tick \
             WHERE pipeline = $1 ORDER BY scheduled_for DESC LIMIT 1",
        )
        .bind($pipeline)
        .fetch_all($pool)
        .await?;
        $crate::common::ticks(rows).pop()
    }};
}

/// The columns of `etl.circuit`, in `Circuit` order.
pub(crate) const CIRCUIT_COLUMNS: &str = "pipeline, failures, opened_at, last_error, updated_at";

/// A `Circuit` from a row of `CIRCUIT_COLUMNS`.
pub(crate) fn circuit((pipeline, failures, opened_at, last_error, updated_at): CircuitRow) -> crate::Circuit {
    crate::Circuit { pipeline, failures: failures.max(0) as u32, opened_at, last_error, updated_at }
}

/// A row of `CIRCUIT_COLUMNS`.
pub(crate) type CircuitRow = (String, i32, Option<String>, Option<String>, String);

/// Records a tick's result in `etl.circuit` (see `Warehouse::record_outcome`).
macro_rules! record_outcome {
    ($pool:expr, $pipeline:expr, $now:expr, $error:expr, $open_after:expr) => {{
        let error: Option<&str> = $error;
        let sql = if error.is_none() {
            format!(
                "INSERT INTO etl.circuit AS c (pipeline, failures, updated_at) VALUES ($1, 0, $2) \
                 ON CONFLICT (pipeline) DO UPDATE SET failures = 0, opened_at = NULL, last_error = NULL, \
                 updated_at = excluded.updated_at RETURNING {}",
                $crate::common::CIRCUIT_COLUMNS
            )
        } else {
            format!(
                "INSERT INTO etl.circuit AS c (pipeline, failures, opened_at, last_error, updated_at) \
                 VALUES ($1, 1, CASE WHEN $4 <= 1 THEN $2 END, $3, $2) \
                 ON CONFLICT (pipeline) DO UPDATE SET failures = c.failures + 1, \
                 opened_at = COALESCE(c.opened_at, \
                   CASE WHEN c.failures + 1 >= $4 THEN excluded.updated_at END), \
                 last_error = excluded.last_error, updated_at = excluded.updated_at RETURNING {}",
                $crate::common::CIRCUIT_COLUMNS
            )
        };
        let mut q = sqlx::query_as::<_, $crate::common::CircuitRow>(&sql).bind($pipeline).bind($now);
        if let Some(e) = error {
            q = q.bind(e).bind(i32::try_from($open_after).unwrap_or(i32::MAX));
        }
        $crate::common::circuit(q.fetch_one($pool).await?)
    }};
}

/// Every recorded circuit.
macro_rules! circuits {
    ($pool:expr) => {{
        let sql = format!("SELECT {} FROM etl.circuit ORDER BY pipeline", $crate::common::CIRCUIT_COLUMNS);
        let rows: Vec<$crate::common::CircuitRow> = sqlx::query_as(&sql).fetch_all($pool).await?;
        rows.into_iter().map($crate::common::circuit).collect()
    }};
}

/// Closes a circuit and, with `$state`, drops the source state.
macro_rules! reset_pipeline {
    ($pool:expr, $dialect:expr, $pipeline:expr, $now:expr, $state:expr) => {{
        let mut tx = $pool.begin_with($dialect.begin).await?;
        sqlx::query(
            "UPDATE etl.circuit SET failures = 0, opened_at = NULL, last_error = NULL, updated_at = $2 \
             WHERE pipeline = $1",
        )
        .bind($pipeline)
        .bind($now)
        .execute(&mut *tx)
        .await?;
        if $state {
            sqlx::query("DELETE FROM etl.state WHERE pipeline = $1")
                .bind($pipeline)
                .execute(&mut *tx)
                .await?;
        }
        tx.commit().await?;
    }};
}

/// Inserts a run's warnings in one transaction.
macro_rules! record_warnings {
    ($pool:expr, $dialect:expr, $run_id:expr, $pipeline:expr, $warnings:expr) => {{
        let mut tx = $pool.begin_with($dialect.begin).await?;
        for (rule, message, location) in $warnings {
            sqlx::query(&format!(
                "INSERT INTO etl.peringatan (run_id, pipeline, rule, message, location, recorded_at) \
                 VALUES ($1, $2, $3, $4, $5, {})",
                $dialect.now_text
            ))
            .bind($run_id)
            .bind($pipeline)
            .bind(*rule)
            .bind(message)
            .bind(location)
            .execute(&mut *tx)
            .await?;
        }
        tx.commit().await?;
    }};
}

/// Closes the current observations of `$load`'s dataset and indicator whose location lies in
/// the slice `$load.withdraw` (`slice:line`, `slice SHEET!row`, `slice#n`); evaluates to how many.
macro_rules! withdraw_slice {
    ($tx:expr, $dialect:expr, $load:expr) => {{
        match $load.withdraw {
            None => 0u64,
            Some(slice) => sqlx::query(&format!(
                "UPDATE dw.observasi SET berlaku_sampai = {}, diganti_run_id = $4 \
                 WHERE berlaku_sampai IS NULL AND dataset = $1 AND indikator = $2 \
                   AND substr(lokasi_sumber, 1, length(CAST($3 AS TEXT)) + 1) \
                       IN (CAST($3 AS TEXT) || ':', CAST($3 AS TEXT) || ' ', CAST($3 AS TEXT) || '#')",
                $dialect.now
            ))
            .bind($load.dataset)
            .bind($load.indikator)
            .bind(slice)
            .bind($load.run_id)
            .execute(&mut *$tx)
            .await?
            .rows_affected(),
        }
    }};
}
