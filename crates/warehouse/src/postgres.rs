//! The PostgreSQL warehouse: the same schemas as SQLite (`migrations/postgres`), bulk loads with
//! `COPY … FROM STDIN` into a per-connection staging table, then the same merge in SQL.
//!
//! A session advisory lock per pipeline, held from `begin_run` to `finish_run` on a connection of
//! its own, guarantees that two runs of one pipeline (from two `satu` processes) never overlap.

use crate::binary::{copy_binary, Cells};
use crate::common::{
    create_entity_sql, entity_table, quoted, region_columns, upsert_clause, Dialect, MergeCounts,
    REJECT_COLUMNS, REJECT_SOURCE_COLUMNS, STAGE_COLUMNS,
};
use crate::{
    BatchLoad, Circuit, DriftRecord, EntityLoad, MigrationReport, QueryResult, RunRecord, Tick, Warehouse,
    WarehouseError,
};
use polars::prelude::DataFrame;
use satu_config::{ColumnType, Deployment, EntityTarget, SyncMode};
use satu_core::{RowCounts, SourceState};
use sqlx::migrate::MigrateDatabase;
use sqlx::pool::PoolConnection;
use sqlx::postgres::{PgConnection, PgPool, PgPoolOptions};
use sqlx::{Postgres, Row, TypeInfo, ValueRef};
use std::collections::HashMap;
use std::str::FromStr;
use std::sync::Mutex;
use std::time::Duration;

static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("../../migrations/postgres");

/// The COPY option of binary data ([`copy_binary`]).
const BINARY: &str = " WITH (FORMAT binary)";

/// Bytes of COPY data sent per message.
const COPY_CHUNK: usize = 1 << 20;

/// What PostgreSQL says differently.
const DIALECT: Dialect = Dialect {
    begin: "BEGIN",
    now: "now()",
    now_text: "to_char(now() AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.MS\"Z\"')",
    run_columns: "id, pipeline, \
         to_char(started_at AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.MS\"Z\"') AS started_at, \
         to_char(finished_at AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.MS\"Z\"') AS finished_at, \
         status, rows_read, rows_inserted, rows_updated, rows_unchanged, rows_rejected, rows_filtered, \
         rows_duplicate, rows_deleted, mode, error",
    table_columns: "SELECT column_name::text FROM information_schema.columns \
                    WHERE table_schema = 'dw' AND table_name = $1",
    text_cast: "({})::text",
};

/// The PostgreSQL backend.
pub struct PostgresWarehouse {
    pool: PgPool,
    read_pool: PgPool,
    /// The connection holding each running pipeline's advisory lock, by run id.
    locks: Mutex<HashMap<i64, PoolConnection<Postgres>>>,
}

impl PostgresWarehouse {
    /// Connects to `url`, creating the database when it does not exist yet.
    pub async fn open(url: &str) -> Result<Self, WarehouseError> {
        if !Postgres::database_exists(url).await? {
            Postgres::create_database(url).await?;
        }
        // Loads run many short statements: compiling them (JIT) costs more than it saves.
        let options = sqlx::postgres::PgConnectOptions::from_str(url)?.options([("jit", "off")]);
        let pool = PgPoolOptions::new()
            .max_connections(8)
            .acquire_timeout(Duration::from_secs(30))
            .connect_with(options)
            .await?;
        let read_pool = PgPoolOptions::new()
            .max_connections(2)
            .after_connect(|conn, _| {
                Box::pin(async move {
                    sqlx::query("SET SESSION CHARACTERISTICS AS TRANSACTION READ ONLY")
                        .execute(&mut *conn)
                        .await?;
                    Ok(())
                })
            })
            .connect(url)
            .await?;
        Ok(Self { pool, read_pool, locks: Mutex::new(HashMap::new()) })
    }
}

/// Appends one value in COPY text format.
fn copy_value(buf: &mut Vec<u8>, value: Option<&str>) {
    let Some(v) = value else {
        buf.extend_from_slice(b"\\N");
        return;
    };
    // Runs of plain bytes are copied whole; only the four special bytes are escaped.
    let mut rest = v.as_bytes();
    while let Some(at) = rest.iter().position(|b| matches!(b, b'\\' | b'\t' | b'\n' | b'\r')) {
        buf.extend_from_slice(&rest[..at]);
        buf.extend_from_slice(match rest[at] {
            b'\\' => b"\\\\",
            b'\t' => b"\\t",
            b'\n' => b"\\n",
            _ => b"\\r",
        });
        rest = &rest[at + 1..];
    }
    buf.extend_from_slice(rest);
}

/// Streams `columns` (with `fixed` values first on every row) through `COPY table (names) FROM
/// STDIN`.
async fn copy_in(
    conn: &mut PgConnection,
    table: &str,
    names: &[&str],
    fixed: &[&str],
    columns: &[Vec<Option<String>>],
) -> Result<u64, WarehouseError> {
    let height = columns.first().map_or(0, Vec::len);
    let mut buf = Vec::new();
    for i in 0..height {
        let values = fixed.iter().map(|f| Some(*f)).chain(columns.iter().map(|c| c[i].as_deref()));
        for (j, v) in values.enumerate() {
            if j > 0 {
                buf.push(b'\t');
            }
            copy_value(&mut buf, v);
        }
        buf.push(b'\n');
    }
    send_copy(conn, table, names, buf).await
}

/// The COPY text of `columns` of `df` (with `fixed` values first on every row), written straight
/// from the polars columns: no per-cell allocation. Columns of other types are cast to text.
fn copy_text(df: &DataFrame, columns: &[&str], fixed: &[&str]) -> Result<Vec<u8>, WarehouseError> {
    use polars::prelude::DataType;
    use std::io::Write;
    let bad = |e: polars::prelude::PolarsError| WarehouseError::Batch(e.to_string());
    let mut owned = Vec::new();
    for name in columns {
        let col = df.column(name).map_err(|_| {
            let have: Vec<&str> = df.get_column_names().iter().map(|c| c.as_str()).collect();
            WarehouseError::Batch(format!("the source has no column `{name}` (it has: {})", have.join(", ")))
        })?;
        let plain =
            matches!(col.dtype(), DataType::String | DataType::Int64 | DataType::Float64 | DataType::Boolean);
        owned.push(if plain { col.clone() } else { col.cast(&DataType::String).map_err(bad)? });
    }
    let mut cells = Vec::with_capacity(owned.len());
    for col in &owned {
        cells.push(Cells::of(col).ok_or_else(|| WarehouseError::Batch(format!("column `{}`", col.name())))?);
    }
    let mut buf = Vec::with_capacity(df.height() * (16 + 12 * columns.len()));
    for _ in 0..df.height() {
        for (j, f) in fixed.iter().enumerate() {
            if j > 0 {
                buf.push(b'\t');
            }
            copy_value(&mut buf, Some(f));
        }
        for (j, c) in cells.iter_mut().enumerate() {
            if j > 0 || !fixed.is_empty() {
                buf.push(b'\t');
            }
            // Columns are as long as the frame: `next` yields a value for every row.
            let written = match c {
                Cells::Text(it) => it.next().map(|v| copy_value(&mut buf, v)),
                Cells::Int(it) => it.next().map(|v| match v {
                    Some(x) => drop(write!(buf, "{x}")),
                    None => copy_value(&mut buf, None),
                }),
                Cells::Float(it) => it.next().map(|v| match v {
                    Some(x) => drop(write!(buf, "{x}")),
                    None => copy_value(&mut buf, None),
                }),
                Cells::Bool(it) => {
                    it.next().map(|v| copy_value(&mut buf, v.map(|b| if b { "t" } else { "f" })))
                }
            };
            if written.is_none() {
                return Err(WarehouseError::Batch("a column ended before the frame".into()));
            }
        }
        buf.push(b'\n');
    }
    Ok(buf)
}

/// The name of the primary key constraint of `dw.<table>`, if it has one.
async fn primary_key_name(conn: &mut PgConnection, table: &str) -> Result<Option<String>, WarehouseError> {
    Ok(sqlx::query_scalar(
        "SELECT conname::text FROM pg_constraint WHERE conrelid = to_regclass($1) AND contype = 'p'",
    )
    .bind(format!("dw.\"{table}\""))
    .fetch_optional(conn)
    .await?)
}

/// Gives `dw.<table>` its declared primary key when a bulk load left it out; a key the source
/// repeated is named in the error (the table is then left as loaded, without its key).
async fn restore_primary_key(
    conn: &mut PgConnection,
    e: &EntityTarget,
    table: &str,
) -> Result<(), WarehouseError> {
    if e.primary_key.is_empty() || primary_key_name(conn, table).await?.is_some() {
        return Ok(());
    }
    let key = quoted(&e.primary_key);
    sqlx::query(&format!("ALTER TABLE dw.\"{table}\" ADD PRIMARY KEY ({key})")).execute(conn).await.map_err(
        |err| {
            // PostgreSQL names the repeated key in the detail: `Key (id)=(7) is duplicated.`
            let detail = match &err {
                sqlx::Error::Database(db) => db
                    .try_downcast_ref::<sqlx::postgres::PgDatabaseError>()
                    .and_then(|pg| pg.detail())
                    .map(|d| format!(" ({d})"))
                    .unwrap_or_default(),
                _ => String::new(),
            };
            WarehouseError::Batch(format!(
                "dw.{table}: the primary key ({key}) cannot be built after the bulk load: {err}{detail}; \
                 the source repeats a key it declares unique"
            ))
        },
    )?;
    Ok(())
}

/// The COPY data of an entity batch's declared columns, each row led by `run_id` when given:
/// binary when every value encodes exactly, else text (`true` for binary). Encoded on a blocking
/// thread, so that the batch loading before this one keeps being served meanwhile.
async fn encode_entity_rows(
    rows: &DataFrame,
    e: &EntityTarget,
    run_id: Option<i64>,
) -> Result<(Vec<u8>, bool), WarehouseError> {
    let df = rows.clone();
    let names: Vec<String> = e.columns.keys().cloned().collect();
    let types: Vec<ColumnType> = e.columns.values().copied().collect();
    tokio::task::spawn_blocking(move || {
        let names: Vec<&str> = names.iter().map(String::as_str).collect();
        if let Some(data) = copy_binary(&df, &names, &types, run_id) {
            return Ok((data, true));
        }
        let run = run_id.map(|r| r.to_string());
        let fixed: Vec<&str> = run.iter().map(String::as_str).collect();
        copy_text(&df, &names, &fixed).map(|data| (data, false))
    })
    .await
    .map_err(|e| WarehouseError::Batch(format!("encoding the batch failed: {e}")))?
}

/// `COPY table (names) FROM STDIN` with `data` (COPY text), sent in chunks; the COPY is always
/// finished or aborted.
async fn send_copy(
    conn: &mut PgConnection,
    table: &str,
    names: &[&str],
    data: Vec<u8>,
) -> Result<u64, WarehouseError> {
    send_copy_as(conn, table, names, data, "").await
}

/// [`send_copy`] with COPY options (` WITH (FORMAT binary)`).
async fn send_copy_as(
    conn: &mut PgConnection,
    table: &str,
    names: &[&str],
    data: Vec<u8>,
    options: &str,
) -> Result<u64, WarehouseError> {
    if data.is_empty() {
        return Ok(0);
    }
    let mut copy =
        conn.copy_in_raw(&format!("COPY {table} ({}) FROM STDIN{options}", names.join(", "))).await?;
    let mut sent: Result<(), sqlx::Error> = Ok(());
    for chunk in data.chunks(COPY_CHUNK) {
        if let Err(e) = copy.send(chunk).await {
            sent = Err(e);
            break;
        }
    }
    match sent {
        Ok(()) => Ok(copy.finish().await?),
        Err(e) => {
            // Best effort: the connection is being torn down anyway when abort fails.
            let _ = copy.abort(e.to_string()).await;
            Err(e.into())
        }
    }
}

fn json_value(r: &sqlx::postgres::PgRow, i: usize) -> Result<serde_json::Value, sqlx::Error> {
    let raw = r.try_get_raw(i)?;
    if raw.is_null() {
        return Ok(serde_json::Value::Null);
    }
    let type_name = raw.type_info().name().to_string();
    Ok(match type_name.as_str() {
        "INT2" => r.try_get::<i16, _>(i)?.into(),
        "INT4" => r.try_get::<i32, _>(i)?.into(),
        "INT8" => r.try_get::<i64, _>(i)?.into(),
        "FLOAT4" => r.try_get::<f32, _>(i)?.into(),
        "FLOAT8" => r.try_get::<f64, _>(i)?.into(),
        "BOOL" => r.try_get::<bool, _>(i)?.into(),
        "NUMERIC" => {
            use rust_decimal::prelude::ToPrimitive;
            let d: rust_decimal::Decimal = r.try_get(i)?;
            // By scale, as SQLite answers: whole numbers stored as such stay integers.
            match (d.scale() == 0, d.to_i64(), d.to_f64()) {
                (true, Some(n), _) => n.into(),
                (_, _, Some(f)) => f.into(),
                _ => d.to_string().into(),
            }
        }
        "TIMESTAMPTZ" => r.try_get::<chrono::DateTime<chrono::Utc>, _>(i)?.to_rfc3339().into(),
        "TIMESTAMP" => r.try_get::<chrono::NaiveDateTime, _>(i)?.to_string().into(),
        "DATE" => r.try_get::<chrono::NaiveDate, _>(i)?.to_string().into(),
        _ => match r.try_get::<String, _>(i) {
            Ok(s) => s.into(),
            Err(_) => format!("<{type_name}>").into(),
        },
    })
}

#[async_trait::async_trait]
impl Warehouse for PostgresWarehouse {
    async fn migrate(&self) -> Result<MigrationReport, WarehouseError> {
        MIGRATOR.run(&self.pool).await?;
        let version: Option<String> =
            sqlx::query_scalar("SELECT nilai FROM ref.info WHERE kunci = 'wilayah_versi'")
                .fetch_optional(&self.pool)
                .await?;
        if version.as_deref() == Some(satu_reference::KEMENDAGRI_VERSION) {
            return Ok(MigrationReport::default());
        }
        let cols = region_columns();
        let mut tx = self.pool.begin().await?;
        sqlx::query("DELETE FROM ref.wilayah").execute(&mut *tx).await?;
        copy_in(
            &mut tx,
            "ref.wilayah",
            &["sumber", "kode", "kode_polos", "nama", "level", "jenis", "kode_induk"],
            &[satu_reference::KEMENDAGRI_VERSION],
            &cols,
        )
        .await?;
        sqlx::query(
            "INSERT INTO ref.info (kunci, nilai) VALUES ('wilayah_versi', $1) \
             ON CONFLICT (kunci) DO UPDATE SET nilai = excluded.nilai",
        )
        .bind(satu_reference::KEMENDAGRI_VERSION)
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(MigrationReport { regions_loaded: cols[0].len() })
    }

    async fn sync_metadata(&self, d: &Deployment) -> Result<(), WarehouseError> {
        let mut tx = self.pool.begin().await?;
        sync_metadata!(tx, d);
        tx.commit().await?;
        Ok(())
    }

    async fn begin_run(&self, pipeline: &str, mode: &str) -> Result<i64, WarehouseError> {
        let mut lock = self.pool.acquire().await?;
        let got: bool = sqlx::query_scalar("SELECT pg_try_advisory_lock(hashtextextended('satu:' || $1, 0))")
            .bind(pipeline)
            .fetch_one(&mut *lock)
            .await?;
        if !got {
            return Err(WarehouseError::Busy(format!(
                "pipeline `{pipeline}` is already running in another process"
            )));
        }
        let id = start_run!(&self.pool, DIALECT, pipeline, mode);
        self.locks.lock().map_err(|_| WarehouseError::Batch("lock table poisoned".into()))?.insert(id, lock);
        Ok(id)
    }

    async fn state(&self, pipeline: &str) -> Result<Option<SourceState>, WarehouseError> {
        fetch_state!(&self.pool, pipeline)
    }

    async fn commit_batch(&self, load: BatchLoad<'_>) -> Result<RowCounts, WarehouseError> {
        let obs = copy_text(load.observations, &STAGE_COLUMNS, &[])?;
        let run = load.run_id.to_string();
        let mut tx = self.pool.begin().await?;
        let withdrawn = withdraw_slice!(tx, DIALECT, load);

        sqlx::query(
            "CREATE TEMP TABLE IF NOT EXISTS stage_observasi (kode_wilayah text, periode text, \
             dimensi_kunci text, nilai numeric, status_nilai text, nilai_mentah text, lokasi_sumber text, \
             cur_id bigint, same boolean) ON COMMIT DELETE ROWS",
        )
        .execute(&mut *tx)
        .await?;
        send_copy(&mut tx, "stage_observasi", &STAGE_COLUMNS, obs).await?;
        // Each staged row looks up its current version by the whole key of `observasi_kini`: a
        // correlated lookup, so that the plan never depends on table statistics (a join planned
        // from stale ones scanned every current observation of the indicator for every batch).
        sqlx::query(
            "UPDATE stage_observasi AS s SET (cur_id, same) = (SELECT o.id, \
               o.nilai IS NOT DISTINCT FROM s.nilai AND o.status_nilai = s.status_nilai AND o.satuan = $3 \
             FROM dw.observasi AS o \
             WHERE o.berlaku_sampai IS NULL AND o.dataset = $1 AND o.indikator = $2 \
               AND o.kode_wilayah = s.kode_wilayah AND o.periode = s.periode AND o.dimensi_kunci = s.dimensi_kunci)",
        )
        .bind(load.dataset)
        .bind(load.indikator)
        .bind(load.satuan)
        .execute(&mut *tx)
        .await?;
        let (inserted, updated, unchanged): (i64, i64, i64) = sqlx::query_as(
            "SELECT count(*) FILTER (WHERE cur_id IS NULL), count(*) FILTER (WHERE cur_id IS NOT NULL AND NOT same), \
             count(*) FILTER (WHERE same) FROM stage_observasi",
        )
        .fetch_one(&mut *tx)
        .await?;
        sqlx::query(
            "UPDATE dw.observasi SET berlaku_sampai = now(), diganti_run_id = $1 \
             WHERE id IN (SELECT cur_id FROM stage_observasi WHERE NOT same)",
        )
        .bind(load.run_id)
        .execute(&mut *tx)
        .await?;
        sqlx::query(
            "INSERT INTO dw.observasi (dataset, indikator, kode_wilayah, periode, dimensi_kunci, nilai, satuan, \
               status_nilai, nilai_mentah, lokasi_sumber, run_id, berlaku_mulai) \
             SELECT $1, $2, kode_wilayah, periode, dimensi_kunci, nilai, $3, status_nilai, nilai_mentah, \
               lokasi_sumber, $4, now() FROM stage_observasi WHERE cur_id IS NULL OR NOT same",
        )
        .bind(load.dataset)
        .bind(load.indikator)
        .bind(load.satuan)
        .bind(load.run_id)
        .execute(&mut *tx)
        .await?;
        let rejects = copy_text(load.rejects, &REJECT_SOURCE_COLUMNS, &[&run, load.pipeline])?;
        send_copy(&mut tx, "etl.reject", &REJECT_COLUMNS, rejects).await?;
        for p in load.periods {
            sqlx::query(
                "INSERT INTO ref.periode (kode, jenis, mulai, selesai) VALUES ($1, $2, $3, $4) \
                 ON CONFLICT (kode) DO NOTHING",
            )
            .bind(&p.kode)
            .bind(p.jenis)
            .bind(&p.mulai)
            .bind(&p.selesai)
            .execute(&mut *tx)
            .await?;
        }
        let counts = RowCounts {
            inserted: inserted as u64,
            updated: updated as u64,
            unchanged: unchanged as u64,
            deleted: load.counts.deleted + withdrawn,
            ..load.counts
        };
        record_progress!(tx, DIALECT, load.pipeline, load.run_id, load.checkpoint, &counts);
        tx.commit().await?;
        Ok(counts)
    }

    async fn prepare_entity(&self, e: &EntityTarget, fresh: bool) -> Result<bool, WarehouseError> {
        let create = |name: &str| {
            create_entity_sql(e, name, ColumnType::postgres, "bigint", "timestamptz", " DEFAULT now()")
        };
        let direct = prepare_entity!(self.pool, DIALECT, e, fresh, create);
        // Tables made before bulk loads left `_satu_dimuat` to its default get the default once.
        let table = entity_table(e);
        let default: Option<String> = sqlx::query_scalar(
            "SELECT column_default::text FROM information_schema.columns \
             WHERE table_schema = 'dw' AND table_name = $1 AND column_name = '_satu_dimuat'",
        )
        .bind(&table)
        .fetch_optional(&self.pool)
        .await?
        .flatten();
        if default.is_none() {
            sqlx::query(&format!("ALTER TABLE dw.\"{table}\" ALTER COLUMN _satu_dimuat SET DEFAULT now()"))
                .execute(&self.pool)
                .await?;
        }
        let mut conn = self.pool.acquire().await?;
        if direct {
            // A bulk load into an empty table builds its key's index once, at the end
            // (`finish_entity`): inserting every row into the index cost PostgreSQL a third of
            // the COPY. A resumed load finds the key already gone.
            let empty: bool =
                sqlx::query_scalar(&format!("SELECT NOT EXISTS (SELECT 1 FROM dw.\"{table}\")"))
                    .fetch_one(&mut *conn)
                    .await?;
            if let (true, Some(constraint)) = (empty, primary_key_name(&mut conn, &table).await?) {
                sqlx::query(&format!("ALTER TABLE dw.\"{table}\" DROP CONSTRAINT \"{constraint}\""))
                    .execute(&mut *conn)
                    .await?;
            }
        } else {
            // A merge looks rows up by the key (a load that failed before its end left it out).
            restore_primary_key(&mut conn, e, &table).await?;
        }
        Ok(direct)
    }

    async fn commit_entity_batch(&self, load: EntityLoad<'_>) -> Result<RowCounts, WarehouseError> {
        let e = load.entity;
        let mut turn = load.turn;
        let names: Vec<&str> = e.columns.keys().map(String::as_str).collect();
        let table = entity_table(e);
        let list = quoted(&names);
        // `_satu_dimuat` takes its default, now(): parsing a timestamp on every row cost
        // PostgreSQL a fifth of the COPY. A direct load leads each row with the run id.
        let run_id = load.direct.then_some(load.run_id);
        let (data, binary) = encode_entity_rows(load.rows, e, run_id).await?;
        let mut tx = self.pool.begin().await?;
        let quoted_names: Vec<String> = names.iter().map(|n| format!("\"{n}\"")).collect();
        let options = if binary { BINARY } else { "" };
        if load.direct {
            let mut target: Vec<&str> = vec!["_satu_run_id"];
            target.extend(quoted_names.iter().map(String::as_str));
            let n = send_copy_as(&mut tx, &format!("dw.\"{table}\""), &target, data, options).await?;
            let counts = RowCounts { inserted: n, ..load.counts };
            turn.wait().await?;
            record_progress!(tx, DIALECT, load.pipeline, load.run_id, load.checkpoint, &counts);
            tx.commit().await?;
            turn.committed();
            return Ok(counts);
        }
        let typed: Vec<String> = e.columns.iter().map(|(c, t)| format!("\"{c}\" {}", t.postgres())).collect();
        sqlx::query(&format!("CREATE TEMP TABLE stage_entitas ({}) ON COMMIT DROP", typed.join(", ")))
            .execute(&mut *tx)
            .await?;
        let quoted_refs: Vec<&str> = quoted_names.iter().map(String::as_str).collect();
        send_copy_as(&mut tx, "stage_entitas", &quoted_refs, data, options).await?;
        let (inserted, updated, unchanged): MergeCounts = match e.sync {
            SyncMode::Merge => {
                // One statement: rows identical to their current version are left out, the rest
                // are upserted, and `xmax = 0` tells an insert from an update. The current
                // version is looked up row by row through the key (a scalar subquery, never
                // turned into a join): a join planned from the statistics of a freshly copied
                // table scanned the whole table for every batch.
                let keys: Vec<String> =
                    e.primary_key.iter().map(|k| format!("o.\"{k}\" = s.\"{k}\"")).collect();
                let same: Vec<String> =
                    names.iter().map(|c| format!("o.\"{c}\" IS NOT DISTINCT FROM s.\"{c}\"")).collect();
                let s_list = names.iter().map(|n| format!("s.\"{n}\"")).collect::<Vec<_>>().join(", ");
                let (inserted, upserted): (i64, i64) = sqlx::query_as(&format!(
                    "WITH up AS (INSERT INTO dw.\"{table}\" ({list}, _satu_run_id, _satu_dimuat) \
                       SELECT {s_list}, $1, now() FROM stage_entitas AS s WHERE \
                         (SELECT 1 FROM dw.\"{table}\" AS o WHERE {} AND o._satu_dihapus IS NULL AND {}) IS NULL \
                       {} RETURNING (xmax = 0) AS fresh) \
                     SELECT count(*) FILTER (WHERE fresh), count(*) FROM up",
                    keys.join(" AND "),
                    same.join(" AND "),
                    upsert_clause(e)
                ))
                .bind(load.run_id)
                .fetch_one(&mut *tx)
                .await?;
                (inserted, upserted - inserted, load.rows.height() as i64 - upserted)
            }
            SyncMode::Append | SyncMode::FullRefresh => {
                let n = sqlx::query(&format!(
                    "INSERT INTO dw.\"{table}\" ({list}, _satu_run_id, _satu_dimuat) \
                     SELECT {list}, $1, now() FROM stage_entitas"
                ))
                .bind(load.run_id)
                .execute(&mut *tx)
                .await?
                .rows_affected();
                (n as i64, 0, 0)
            }
        };
        let counts = RowCounts {
            inserted: inserted as u64,
            updated: updated as u64,
            unchanged: unchanged as u64,
            ..load.counts
        };
        turn.wait().await?;
        record_progress!(tx, DIALECT, load.pipeline, load.run_id, load.checkpoint, &counts);
        tx.commit().await?;
        turn.committed();
        Ok(counts)
    }

    fn parallel_loads(&self) -> usize {
        2
    }

    async fn stage_keys(&self, run_id: i64, keys: &DataFrame) -> Result<(), WarehouseError> {
        let Some(key) =
            keys.get_column_names().into_iter().find(|c| c.as_str() != satu_core::LOCATION_COLUMN)
        else {
            return Ok(());
        };
        let data = copy_text(keys, &[key.as_str()], &[&run_id.to_string()])?;
        let mut conn = self.pool.acquire().await?;
        send_copy(&mut conn, "etl.kunci_sumber", &["run_id", "kunci"], data).await?;
        Ok(())
    }

    async fn mark_deleted(&self, run_id: i64, e: &EntityTarget) -> Result<u64, WarehouseError> {
        Ok(mark_deleted!(self.pool, DIALECT, run_id, e))
    }

    async fn last_schema(&self, pipeline: &str) -> Result<Option<Vec<(String, String)>>, WarehouseError> {
        last_schema!(&self.pool, pipeline)
    }

    async fn record_schema(
        &self,
        pipeline: &str,
        run_id: i64,
        accepted: Option<&[(String, String)]>,
        changes: &[DriftRecord],
    ) -> Result<(), WarehouseError> {
        record_schema!(self.pool, DIALECT, pipeline, run_id, accepted, changes);
        Ok(())
    }

    async fn drift_history(&self, pipeline: Option<&str>) -> Result<QueryResult, WarehouseError> {
        Ok(drift_history!(&self.read_pool, pipeline, json_value))
    }

    async fn finish_entity(&self, e: &EntityTarget) -> Result<(), WarehouseError> {
        let mut tx = self.pool.begin().await?;
        restore_primary_key(&mut tx, e, &entity_table(e)).await?;
        if e.sync == SyncMode::FullRefresh {
            swap_entity!(tx, e);
            // The key's index keeps the copy's name: give it the table's, so the next copy can be made.
            sqlx::query(&format!(
                "ALTER INDEX IF EXISTS dw.\"{}_pkey\" RENAME TO \"{}_pkey\"",
                entity_table(e),
                e.table
            ))
            .execute(&mut *tx)
            .await?;
        }
        tx.commit().await?;
        Ok(())
    }

    async fn finish_run(&self, run_id: i64, outcome: Result<(), String>) -> Result<(), WarehouseError> {
        finish_run_record!(&self.pool, DIALECT, run_id, outcome);
        let lock = self
            .locks
            .lock()
            .map_err(|_| WarehouseError::Batch("lock table poisoned".into()))?
            .remove(&run_id);
        if let Some(mut conn) = lock {
            sqlx::query("SELECT pg_advisory_unlock_all()").execute(&mut *conn).await?;
        }
        Ok(())
    }

    async fn run(&self, run_id: i64) -> Result<Option<RunRecord>, WarehouseError> {
        Ok(fetch_runs!(&self.pool, DIALECT, Some(run_id)).pop())
    }

    async fn last_runs(&self) -> Result<Vec<RunRecord>, WarehouseError> {
        Ok(fetch_runs!(&self.read_pool, DIALECT, None))
    }

    async fn record_warnings(
        &self,
        run_id: i64,
        pipeline: &str,
        warnings: &[(&str, String, String)],
    ) -> Result<(), WarehouseError> {
        record_warnings!(self.pool, DIALECT, run_id, pipeline, warnings);
        Ok(())
    }

    async fn runs(&self, pipeline: Option<&str>, limit: u32) -> Result<Vec<RunRecord>, WarehouseError> {
        Ok(run_history!(&self.read_pool, DIALECT, pipeline, limit))
    }

    async fn last_successes(&self) -> Result<Vec<RunRecord>, WarehouseError> {
        Ok(last_successes!(&self.read_pool, DIALECT))
    }

    async fn reject_reasons(&self, run_id: i64) -> Result<Vec<(String, u64)>, WarehouseError> {
        Ok(reject_reasons!(&self.read_pool, run_id))
    }

    async fn abandon_runs(&self, pipeline: &str, reason: &str) -> Result<(), WarehouseError> {
        abandon_runs!(&self.pool, DIALECT, pipeline, reason);
        Ok(())
    }

    async fn claim_tick(
        &self,
        pipeline: &str,
        scheduled_for: &str,
        owner: &str,
        now: &str,
        lease_until: &str,
    ) -> Result<bool, WarehouseError> {
        Ok(claim_tick!(&self.pool, pipeline, scheduled_for, owner, now, lease_until))
    }

    async fn renew_ticks(&self, owner: &str, lease_until: &str) -> Result<(), WarehouseError> {
        renew_ticks!(&self.pool, owner, lease_until);
        Ok(())
    }

    async fn release_tick(
        &self,
        pipeline: &str,
        scheduled_for: &str,
        owner: &str,
        now: &str,
        outcome: Option<&str>,
    ) -> Result<(), WarehouseError> {
        release_tick!(&self.pool, pipeline, scheduled_for, owner, now, outcome);
        Ok(())
    }

    async fn supersede_ticks(&self, pipeline: &str, before: &str, now: &str) -> Result<(), WarehouseError> {
        supersede_ticks!(&self.pool, pipeline, before, now);
        Ok(())
    }

    async fn expired_ticks(&self, now: &str) -> Result<Vec<Tick>, WarehouseError> {
        Ok(expired_ticks!(&self.pool, now))
    }

    async fn last_tick(&self, pipeline: &str) -> Result<Option<Tick>, WarehouseError> {
        Ok(last_tick!(&self.pool, pipeline))
    }

    async fn record_outcome(
        &self,
        pipeline: &str,
        now: &str,
        error: Option<&str>,
        open_after: u32,
    ) -> Result<Circuit, WarehouseError> {
        Ok(record_outcome!(&self.pool, pipeline, now, error, open_after))
    }

    async fn circuits(&self) -> Result<Vec<Circuit>, WarehouseError> {
        Ok(circuits!(&self.read_pool))
    }

    async fn reset(&self, pipeline: &str, now: &str, state: bool) -> Result<(), WarehouseError> {
        reset_pipeline!(self.pool, DIALECT, pipeline, now, state);
        Ok(())
    }

    async fn query(&self, sql: &str) -> Result<QueryResult, WarehouseError> {
        Ok(query_result!(&self.read_pool, sql, json_value))
    }
}

#[cfg(test)]
mod tests {
    use super::copy_value;

    #[test]
    fn copy_text_escapes_only_its_special_bytes() {
        let mut buf = Vec::new();
        copy_value(&mut buf, Some("Jl. Majapahit\tNo. 1\\2\r\nSémarang"));
        buf.push(b'|');
        copy_value(&mut buf, None);
        buf.push(b'|');
        copy_value(&mut buf, Some(""));
        assert_eq!(String::from_utf8_lossy(&buf), "Jl. Majapahit\\tNo. 1\\\\2\\r\\nSémarang|\\N|");
    }
}
