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

/// The string columns `names` of `df`, each as a Vec of optional strings.
pub(crate) fn string_columns(
    df: &polars::prelude::DataFrame,
    names: &[&str],
) -> Result<Vec<Vec<Option<String>>>, crate::WarehouseError> {
    names
        .iter()
        .map(|n| {
            let col = df.column(n).map_err(|e| crate::WarehouseError::Batch(e.to_string()))?;
            let s = col.str().map_err(|e| crate::WarehouseError::Batch(e.to_string()))?;
            Ok(s.iter().map(|v| v.map(str::to_string)).collect())
        })
        .collect()
}

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

/// `CREATE TABLE IF NOT EXISTS dw."name" (…)` for an entity, with the backend's types.
pub(crate) fn create_entity_sql(
    e: &satu_config::EntityTarget,
    name: &str,
    column_type: impl Fn(&satu_config::ColumnType) -> String,
    int8: &str,
    instant: &str,
) -> String {
    let mut cols: Vec<String> =
        e.columns.iter().map(|(c, t)| format!("\"{c}\" {}", column_type(t))).collect();
    cols.push(format!("\"_satu_run_id\" {int8} NOT NULL"));
    cols.push(format!("\"_satu_dimuat\" {instant} NOT NULL"));
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
