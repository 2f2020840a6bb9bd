//! The embedded SQLite warehouse.
//!
//! `warehouse.db` holds the migration history; each schema lives in a sibling file attached
//! under its name (`warehouse.ref.db` as `ref`, …), so SQL written for PostgreSQL schemas runs
//! unchanged. The rollback journal (not WAL) keeps a commit across the attached files atomic:
//! rows, checkpoint and run counts land together or not at all.

use crate::common::{
    create_entity_sql, entity_rows, entity_table, key_column, quoted, region_columns, upsert_clause, Dialect,
    MergeCounts, REJECT_COLUMNS, REJECT_SOURCE_COLUMNS, STAGE_COLUMNS,
};
use crate::{
    BatchLoad, Circuit, DriftRecord, EntityLoad, MigrationReport, QueryResult, RunRecord, Tick, Warehouse,
    WarehouseError,
};
use polars::prelude::{DataFrame, StringChunked};
use satu_config::{Deployment, EntityTarget, SyncMode};
use satu_core::{RowCounts, SourceState};
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePool, SqlitePoolOptions};
use sqlx::{Row, Sqlite, Transaction, TypeInfo, ValueRef};
use std::path::{Path, PathBuf};
use std::time::Duration;

static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("../../migrations/sqlite");

/// The schemas, each an attached database file.
const SCHEMAS: [&str; 4] = ["ref", "meta", "etl", "dw"];

/// SQLite keeps at most 32766 bound parameters per statement; stay well below.
const MAX_BINDS: usize = 8000;

/// The SQLite backend.
pub struct SqliteWarehouse {
    pool: SqlitePool,
    read_pool: SqlitePool,
}

/// `warehouse.db` → `warehouse.dw.db`.
fn schema_file(main: &Path, schema: &str) -> PathBuf {
    let stem =
        main.file_stem().map(|s| s.to_string_lossy().into_owned()).unwrap_or_else(|| "warehouse".into());
    let ext = main.extension().map(|e| e.to_string_lossy().into_owned()).unwrap_or_else(|| "db".into());
    main.with_file_name(format!("{stem}.{schema}.{ext}"))
}

fn now() -> String {
    chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Millis, true)
}

async fn connect(main: &Path, read_only: bool) -> Result<SqlitePool, WarehouseError> {
    let files: Vec<(&'static str, String)> =
        SCHEMAS.iter().map(|s| (*s, schema_file(main, s).to_string_lossy().into_owned())).collect();
    let options = SqliteConnectOptions::new()
        .filename(main)
        .create_if_missing(!read_only)
        .read_only(read_only)
        .journal_mode(SqliteJournalMode::Delete)
        .busy_timeout(Duration::from_secs(30));
    let pool = SqlitePoolOptions::new()
        .max_connections(if read_only { 2 } else { 1 })
        .after_connect(move |conn, _| {
            let files = files.clone();
            Box::pin(async move {
                for (schema, file) in files {
                    // The schema name is one of SCHEMAS (a constant); the file is bound.
                    sqlx::query(&format!("ATTACH DATABASE ?1 AS {schema}"))
                        .bind(file)
                        .execute(&mut *conn)
                        .await?;
                }
                if read_only {
                    sqlx::query("PRAGMA query_only = ON").execute(&mut *conn).await?;
                }
                Ok(())
            })
        })
        .connect_with(options)
        .await?;
    Ok(pool)
}

impl SqliteWarehouse {
    /// Opens (creating when missing) the warehouse whose main file is `main`.
    pub async fn open(main: &Path) -> Result<Self, WarehouseError> {
        if let Some(dir) = main.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir)
                .map_err(|e| WarehouseError::Config(format!("cannot create {}: {e}", dir.display())))?;
        }
        let pool = connect(main, false).await?;
        // The read-only pool connects only after the write pool has created the files.
        let read_pool = connect(main, true).await?;
        Ok(Self { pool, read_pool })
    }
}

/// `(?,?,?),(?,?,?)` for `rows` rows of `cols` parameters.
fn placeholders(rows: usize, cols: usize) -> String {
    let one = format!("({})", vec!["?"; cols].join(","));
    vec![one; rows].join(",")
}

/// A column of text values to bind, owned or read in place from a batch.
trait TextColumn {
    fn value(&self, i: usize) -> Option<&str>;
    fn height(&self) -> usize;
}

impl TextColumn for Vec<Option<String>> {
    fn value(&self, i: usize) -> Option<&str> {
        self.get(i).and_then(|v| v.as_deref())
    }
    fn height(&self) -> usize {
        self.len()
    }
}

impl TextColumn for &StringChunked {
    fn value(&self, i: usize) -> Option<&str> {
        self.get(i)
    }
    fn height(&self) -> usize {
        self.len()
    }
}

/// The string columns `names` of a batch, read in place (single-chunk, so `get` is direct).
fn text_columns<'a>(df: &'a DataFrame, names: &[&str]) -> Result<Vec<&'a StringChunked>, WarehouseError> {
    names
        .iter()
        .map(|n| {
            let col = df.column(n).map_err(|e| WarehouseError::Batch(e.to_string()))?;
            col.str().map_err(|e| WarehouseError::Batch(e.to_string()))
        })
        .collect()
}

/// Inserts `columns` (all of equal length) into `table` in chunks, with `fixed` values bound
/// before each row's own.
async fn insert_rows<C: TextColumn>(
    tx: &mut Transaction<'_, Sqlite>,
    table: &str,
    column_names: &[&str],
    fixed: &[&str],
    columns: &[C],
) -> Result<(), WarehouseError> {
    let height = columns.first().map_or(0, TextColumn::height);
    let width = fixed.len() + columns.len();
    let per_stmt = (MAX_BINDS / width).max(1);
    let head = format!("INSERT INTO {table} ({}) VALUES ", column_names.join(", "));
    let mut start = 0;
    while start < height {
        let n = per_stmt.min(height - start);
        let sql = format!("{head}{}", placeholders(n, width));
        let mut q = sqlx::query(&sql);
        for i in start..start + n {
            for f in fixed {
                q = q.bind(*f);
            }
            for col in columns {
                q = q.bind(col.value(i));
            }
        }
        q.execute(&mut **tx).await?;
        start += n;
    }
    Ok(())
}

/// What SQLite says differently.
const DIALECT: Dialect = Dialect {
    // Take the write lock at the start: a transaction that reads first and writes later would get
    // SQLITE_BUSY at once, not after the busy timeout, when another process writes meanwhile.
    begin: "BEGIN IMMEDIATE",
    now: "strftime('%Y-%m-%dT%H:%M:%fZ', 'now')",
    now_text: "strftime('%Y-%m-%dT%H:%M:%fZ', 'now')",
    run_columns: "id, pipeline, started_at, finished_at, status, rows_read, rows_inserted, rows_updated, \
                  rows_unchanged, rows_rejected, rows_filtered, rows_duplicate, rows_deleted, mode, error",
    table_columns: "SELECT name FROM pragma_table_info($1, 'dw')",
    text_cast: "CAST({} AS TEXT)",
};

#[async_trait::async_trait]
impl Warehouse for SqliteWarehouse {
    async fn migrate(&self) -> Result<MigrationReport, WarehouseError> {
        MIGRATOR.run(&self.pool).await?;
        let version: Option<String> =
            sqlx::query_scalar("SELECT nilai FROM ref.info WHERE kunci = 'wilayah_versi'")
                .fetch_optional(&self.pool)
                .await?;
        if version.as_deref() == Some(satu_reference::KEMENDAGRI_VERSION) {
            return Ok(MigrationReport::default());
        }
        let mut tx = self.pool.begin_with(DIALECT.begin).await?;
        sqlx::query("DELETE FROM ref.wilayah").execute(&mut *tx).await?;
        let cols = region_columns();
        insert_rows(
            &mut tx,
            "ref.wilayah",
            &["sumber", "kode", "kode_polos", "nama", "level", "jenis", "kode_induk"],
            &[satu_reference::KEMENDAGRI_VERSION],
            &cols,
        )
        .await?;
        sqlx::query(
            "INSERT INTO ref.info (kunci, nilai) VALUES ('wilayah_versi', ?1) \
             ON CONFLICT (kunci) DO UPDATE SET nilai = excluded.nilai",
        )
        .bind(satu_reference::KEMENDAGRI_VERSION)
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(MigrationReport { regions_loaded: cols[0].len() })
    }

    async fn sync_metadata(&self, d: &Deployment) -> Result<(), WarehouseError> {
        let mut tx = self.pool.begin_with(DIALECT.begin).await?;
        sync_metadata!(tx, d);
        tx.commit().await?;
        Ok(())
    }

    async fn begin_run(&self, pipeline: &str, mode: &str) -> Result<i64, WarehouseError> {
        // The embedded warehouse serves one `satu` process at a time (no cross-process lock):
        // a run still marked `running` was cut off.
        Ok(start_run!(&self.pool, DIALECT, pipeline, mode))
    }

    async fn state(&self, pipeline: &str) -> Result<Option<SourceState>, WarehouseError> {
        fetch_state!(&self.pool, pipeline)
    }

    async fn commit_batch(&self, load: BatchLoad<'_>) -> Result<RowCounts, WarehouseError> {
        let obs = text_columns(load.observations, &STAGE_COLUMNS)?;
        let rejects = text_columns(load.rejects, &REJECT_SOURCE_COLUMNS)?;
        let at = now();
        let run = load.run_id.to_string();
        let mut tx = self.pool.begin_with(DIALECT.begin).await?;
        let withdrawn = withdraw_slice!(tx, DIALECT, load);

        // Stage, classify against the current versions, close changed ones, insert new versions.
        sqlx::query(
            "CREATE TEMP TABLE IF NOT EXISTS stage_observasi (kode_wilayah TEXT, periode TEXT, \
             dimensi_kunci TEXT, nilai NUMERIC, status_nilai TEXT, nilai_mentah TEXT, lokasi_sumber TEXT, \
             cur_id INTEGER, same INTEGER)",
        )
        .execute(&mut *tx)
        .await?;
        sqlx::query("DELETE FROM temp.stage_observasi").execute(&mut *tx).await?;
        insert_rows(&mut tx, "temp.stage_observasi", &STAGE_COLUMNS, &[], &obs).await?;
        // Driven from each staged row, so the lookup uses the whole unique index (an UPDATE … FROM
        // join lets SQLite's planner scan the staging table once per warehouse row).
        sqlx::query(
            "UPDATE temp.stage_observasi SET cur_id = (SELECT o.id FROM dw.observasi AS o \
               WHERE o.dataset = $1 AND o.indikator = $2 AND o.kode_wilayah = stage_observasi.kode_wilayah \
                 AND o.periode = stage_observasi.periode AND o.dimensi_kunci = stage_observasi.dimensi_kunci \
                 AND o.berlaku_sampai IS NULL)",
        )
        .bind(load.dataset)
        .bind(load.indikator)
        .execute(&mut *tx)
        .await?;
        sqlx::query(
            "UPDATE temp.stage_observasi SET same = (SELECT o.nilai IS stage_observasi.nilai \
               AND o.status_nilai = stage_observasi.status_nilai AND o.satuan = $1 \
               FROM dw.observasi AS o WHERE o.id = stage_observasi.cur_id) WHERE cur_id IS NOT NULL",
        )
        .bind(load.satuan)
        .execute(&mut *tx)
        .await?;
        let (inserted, updated, unchanged): (i64, i64, i64) = sqlx::query_as(
            "SELECT coalesce(sum(cur_id IS NULL), 0), coalesce(sum(cur_id IS NOT NULL AND same = 0), 0), \
             coalesce(sum(same = 1), 0) FROM temp.stage_observasi",
        )
        .fetch_one(&mut *tx)
        .await?;
        sqlx::query(
            "UPDATE dw.observasi SET berlaku_sampai = ?1, diganti_run_id = ?2 \
             WHERE id IN (SELECT cur_id FROM temp.stage_observasi WHERE same = 0)",
        )
        .bind(&at)
        .bind(load.run_id)
        .execute(&mut *tx)
        .await?;
        sqlx::query(
            "INSERT INTO dw.observasi (dataset, indikator, kode_wilayah, periode, dimensi_kunci, nilai, satuan, \
               status_nilai, nilai_mentah, lokasi_sumber, run_id, berlaku_mulai) \
             SELECT ?1, ?2, kode_wilayah, periode, dimensi_kunci, nilai, ?3, status_nilai, nilai_mentah, \
               lokasi_sumber, ?4, ?5 FROM temp.stage_observasi WHERE cur_id IS NULL OR same = 0",
        )
        .bind(load.dataset)
        .bind(load.indikator)
        .bind(load.satuan)
        .bind(load.run_id)
        .bind(&at)
        .execute(&mut *tx)
        .await?;

        insert_rows(&mut tx, "etl.reject", &REJECT_COLUMNS, &[&run, load.pipeline], &rejects).await?;
        for p in load.periods {
            sqlx::query("INSERT INTO ref.periode (kode, jenis, mulai, selesai) VALUES (?1, ?2, ?3, ?4) ON CONFLICT (kode) DO NOTHING")
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
        let create =
            |name: &str| create_entity_sql(e, name, |t| t.sqlite().to_string(), "INTEGER", "TEXT", "");
        Ok(prepare_entity!(self.pool, DIALECT, e, fresh, create))
    }

    async fn commit_entity_batch(&self, load: EntityLoad<'_>) -> Result<RowCounts, WarehouseError> {
        let e = load.entity;
        let mut turn = load.turn;
        let rows = entity_rows(load.rows, e, true)?;
        let names: Vec<&str> = e.columns.keys().map(String::as_str).collect();
        let table = entity_table(e);
        let at = now();
        let mut tx = self.pool.begin_with(DIALECT.begin).await?;
        let quoted_names: Vec<String> = names.iter().map(|n| format!("\"{n}\"")).collect();
        if load.direct {
            let run = load.run_id.to_string();
            let mut target: Vec<&str> = vec!["_satu_run_id", "_satu_dimuat"];
            target.extend(quoted_names.iter().map(String::as_str));
            insert_rows(&mut tx, &format!("dw.\"{table}\""), &target, &[&run, &at], &rows).await?;
            let counts = RowCounts { inserted: rows.first().map_or(0, Vec::len) as u64, ..load.counts };
            turn.wait().await?;
            record_progress!(tx, DIALECT, load.pipeline, load.run_id, load.checkpoint, &counts);
            tx.commit().await?;
            turn.committed();
            return Ok(counts);
        }
        let typed: Vec<String> = e.columns.iter().map(|(c, t)| format!("\"{c}\" {}", t.sqlite())).collect();
        sqlx::query("DROP TABLE IF EXISTS temp.stage_entitas").execute(&mut *tx).await?;
        sqlx::query(&format!(
            "CREATE TEMP TABLE stage_entitas ({}, _ada INTEGER, _sama INTEGER)",
            typed.join(", ")
        ))
        .execute(&mut *tx)
        .await?;
        let quoted_refs: Vec<&str> = quoted_names.iter().map(String::as_str).collect();
        insert_rows(&mut tx, "temp.stage_entitas", &quoted_refs, &[], &rows).await?;
        let list = quoted(&names);
        let (inserted, updated, unchanged): MergeCounts = match e.sync {
            SyncMode::Merge => {
                let keys: Vec<String> =
                    e.primary_key.iter().map(|k| format!("o.\"{k}\" = stage_entitas.\"{k}\"")).collect();
                let same: Vec<String> =
                    names.iter().map(|c| format!("o.\"{c}\" IS stage_entitas.\"{c}\"")).collect();
                let keys = keys.join(" AND ");
                sqlx::query(&format!(
                    "UPDATE temp.stage_entitas SET \
                       _ada = EXISTS (SELECT 1 FROM dw.\"{table}\" AS o WHERE {keys}), \
                       _sama = EXISTS (SELECT 1 FROM dw.\"{table}\" AS o WHERE {keys} \
                         AND o._satu_dihapus IS NULL AND {})",
                    same.join(" AND ")
                ))
                .execute(&mut *tx)
                .await?;
                let counts = sqlx::query_as(
                    "SELECT coalesce(sum(NOT _ada), 0), coalesce(sum(_ada AND NOT _sama), 0), \
                     coalesce(sum(_sama), 0) FROM temp.stage_entitas",
                )
                .fetch_one(&mut *tx)
                .await?;
                sqlx::query(&format!(
                    "INSERT INTO dw.\"{table}\" ({list}, _satu_run_id, _satu_dimuat) \
                     SELECT {list}, $1, $2 FROM temp.stage_entitas WHERE NOT _sama \
                     {}",
                    upsert_clause(e)
                ))
                .bind(load.run_id)
                .bind(&at)
                .execute(&mut *tx)
                .await?;
                counts
            }
            SyncMode::Append | SyncMode::FullRefresh => {
                let n = sqlx::query(&format!(
                    "INSERT INTO dw.\"{table}\" ({list}, _satu_run_id, _satu_dimuat) \
                     SELECT {list}, $1, $2 FROM temp.stage_entitas"
                ))
                .bind(load.run_id)
                .bind(&at)
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

    async fn stage_keys(&self, run_id: i64, keys: &DataFrame) -> Result<(), WarehouseError> {
        let column = key_column(keys)?;
        let mut tx = self.pool.begin_with(DIALECT.begin).await?;
        insert_rows(&mut tx, "etl.kunci_sumber", &["run_id", "kunci"], &[&run_id.to_string()], &[column])
            .await?;
        tx.commit().await?;
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
        if e.sync == SyncMode::FullRefresh {
            let mut tx = self.pool.begin_with(DIALECT.begin).await?;
            swap_entity!(tx, e);
            tx.commit().await?;
        }
        Ok(())
    }

    async fn finish_run(&self, run_id: i64, outcome: Result<(), String>) -> Result<(), WarehouseError> {
        finish_run_record!(&self.pool, DIALECT, run_id, outcome);
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

/// A SQLite value as JSON: integers and reals stay numbers, blobs become hex.
fn json_value(r: &sqlx::sqlite::SqliteRow, i: usize) -> Result<serde_json::Value, sqlx::Error> {
    let raw = r.try_get_raw(i)?;
    if raw.is_null() {
        return Ok(serde_json::Value::Null);
    }
    Ok(match raw.type_info().name() {
        "INTEGER" => r.try_get::<i64, _>(i)?.into(),
        "REAL" => r.try_get::<f64, _>(i)?.into(),
        "BLOB" => {
            let b: Vec<u8> = r.try_get(i)?;
            b.iter().map(|x| format!("{x:02x}")).collect::<String>().into()
        }
        _ => r.try_get::<String, _>(i)?.into(),
    })
}
