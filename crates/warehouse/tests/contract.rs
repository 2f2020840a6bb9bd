//! The contract every warehouse backend passes (SQLite in a temporary directory, PostgreSQL in a
//! throwaway database): migrations load the region list once, a rerun
//! changes nothing, a changed value is revised (old version closed and kept), values stay exact,
//! analyst SQL joins across schemas, and queries cannot write.

use polars::prelude::*;
use satu_core::{RowCounts, SourceState};
use satu_warehouse::{BatchLoad, Warehouse};

type TestResult = Result<(), Box<dyn std::error::Error>>;

fn observations(rows: &[(&str, &str, &str)]) -> PolarsResult<DataFrame> {
    let n = rows.len();
    df!(
        "kode_wilayah" => rows.iter().map(|r| r.0).collect::<Vec<_>>(),
        "periode" => vec!["2024-02"; n],
        "dimensi_kunci" => rows.iter().map(|r| r.1).collect::<Vec<_>>(),
        "nilai" => rows.iter().map(|r| r.2).collect::<Vec<_>>(),
        "status_nilai" => vec!["tetap"; n],
        "nilai_mentah" => rows.iter().map(|r| r.2).collect::<Vec<_>>(),
        "lokasi_sumber" => (0..n).map(|i| format!("f.csv:{}", i + 2)).collect::<Vec<_>>(),
    )
}

fn no_rejects() -> PolarsResult<DataFrame> {
    let cols = ["aturan", "pesan", "kolom", "nilai_mentah", "lokasi_sumber", "baris"]
        .iter()
        .map(|c| Column::new((*c).into(), Vec::<String>::new()))
        .collect();
    DataFrame::new(0, cols)
}

async fn load(wh: &dyn Warehouse, obs: &DataFrame) -> Result<RowCounts, Box<dyn std::error::Error>> {
    let run = wh.begin_run("p", "source").await?;
    let rejects = no_rejects()?;
    let state = SourceState(serde_json::json!({ "rows": obs.height() }));
    let counts = wh
        .commit_batch(BatchLoad {
            run_id: run,
            pipeline: "p",
            dataset: "ds",
            indikator: "ind",
            satuan: "jiwa",
            observations: obs,
            rejects: &rejects,
            periods: &[],
            checkpoint: Some(&state),
            counts: RowCounts { read: obs.height() as u64, ..Default::default() },
            withdraw: None,
        })
        .await?;
    wh.finish_run(run, Ok(())).await?;
    Ok(counts)
}

async fn scalar(wh: &dyn Warehouse, sql: &str) -> Result<serde_json::Value, Box<dyn std::error::Error>> {
    let r = wh.query(sql).await?;
    Ok(r.rows.first().and_then(|row| row.first()).cloned().unwrap_or_default())
}

async fn contract(wh: &dyn Warehouse) -> TestResult {
    assert_eq!(wh.migrate().await?.regions_loaded, 91_599);
    assert_eq!(wh.migrate().await?.regions_loaded, 0, "a second migration reloads nothing");
    assert_eq!(scalar(wh, "SELECT count(*) FROM ref.wilayah").await?, 91_599);

    let first = observations(&[
        ("35.76.02.1003", "jenis_kelamin=L", "1234"),
        ("35.76.02.1003", "jenis_kelamin=P", "1234567.89"),
        ("35.76.01.1006", "jenis_kelamin=L", "12.5"),
    ])?;
    let c = load(wh, &first).await?;
    assert_eq!((c.inserted, c.updated, c.unchanged), (3, 0, 0));
    assert!(c.verify().is_ok());

    let again = load(wh, &first).await?;
    assert_eq!((again.inserted, again.updated, again.unchanged), (0, 0, 3), "a rerun changes nothing");
    assert_eq!(scalar(wh, "SELECT count(*) FROM dw.observasi").await?, 3);

    let revised = observations(&[
        ("35.76.02.1003", "jenis_kelamin=L", "1234"),
        ("35.76.02.1003", "jenis_kelamin=P", "1234567.90"),
        ("35.76.01.1006", "jenis_kelamin=L", "12.5"),
    ])?;
    let c = load(wh, &revised).await?;
    assert_eq!((c.inserted, c.updated, c.unchanged), (0, 1, 2), "one changed value revises one row");
    assert_eq!(scalar(wh, "SELECT count(*) FROM dw.observasi").await?, 4);
    assert_eq!(scalar(wh, "SELECT count(*) FROM dw.observasi WHERE berlaku_sampai IS NULL").await?, 3);
    let old = wh
        .query(
            "SELECT nilai FROM dw.observasi WHERE berlaku_sampai IS NOT NULL AND diganti_run_id IS NOT NULL",
        )
        .await?;
    assert_eq!(old.rows, vec![vec![serde_json::json!(1234567.89)]]);

    // Analyst SQL across schemas, unchanged between backends.
    let joined = wh
        .query(
            "SELECT w.nama, o.nilai FROM dw.observasi o JOIN ref.wilayah w ON w.kode = o.kode_wilayah \
             WHERE o.berlaku_sampai IS NULL ORDER BY o.id",
        )
        .await?;
    assert_eq!(joined.columns, vec!["nama", "nilai"]);
    assert_eq!(joined.rows[0], vec![serde_json::json!("Magersari"), serde_json::json!(1234)]);
    assert_eq!(
        scalar(wh, "SELECT sum(nilai) FROM dw.observasi WHERE kode_wilayah = '35.76.01.1006'").await?,
        12.5
    );

    // The state and the run counts were committed with the rows.
    assert_eq!(wh.state("p").await?.map(|s| s.0["rows"].clone()), Some(serde_json::json!(3)));
    let runs = wh.last_runs().await?;
    assert_eq!(runs.len(), 1);
    assert_eq!(runs[0].status, "success");
    assert_eq!(runs[0].counts.updated, 1);

    // `query` is read-only.
    assert!(wh.query("DELETE FROM dw.observasi").await.is_err());
    assert!(wh.query("CREATE TABLE dw.x (a INTEGER)").await.is_err());
    assert_eq!(scalar(wh, "SELECT count(*) FROM dw.observasi").await?, 4);
    Ok(())
}

fn entity(sync: &str) -> satu_config::EntityTarget {
    serde_json::from_value(serde_json::json!({
        "table": "penduduk",
        "primary_key": ["id"],
        "sync": sync,
        "columns": { "id": "bigint", "nama": "text", "penghasilan": "numeric(14,2)", "lahir": "date",
                     "diubah": "timestamp", "aktif": "boolean" },
    }))
    .expect("valid entity")
}

fn people(rows: &[(i64, &str, &str)]) -> PolarsResult<DataFrame> {
    df!(
        "id" => rows.iter().map(|r| r.0).collect::<Vec<_>>(),
        "nama" => rows.iter().map(|r| r.1).collect::<Vec<_>>(),
        "penghasilan" => rows.iter().map(|r| r.2).collect::<Vec<_>>(),
        "lahir" => vec!["1990-02-28"; rows.len()],
        "diubah" => vec!["2024-03-05 10:11:12.123456"; rows.len()],
        "aktif" => vec![true; rows.len()],
        "ignored_extra" => vec!["x"; rows.len()],
    )
}

async fn load_entity(
    wh: &dyn Warehouse,
    e: &satu_config::EntityTarget,
    rows: &DataFrame,
    fresh: bool,
) -> Result<RowCounts, Box<dyn std::error::Error>> {
    let run = wh.begin_run("entitas", "source").await?;
    let direct = wh.prepare_entity(e, fresh).await?;
    let counts = wh
        .commit_entity_batch(satu_warehouse::EntityLoad {
            run_id: run,
            pipeline: "entitas",
            entity: e,
            rows,
            direct,
            checkpoint: None,
            counts: RowCounts { read: rows.height() as u64, ..Default::default() },
            turn: Default::default(),
        })
        .await?;
    wh.finish_entity(e).await?;
    wh.finish_run(run, Ok(())).await?;
    Ok(counts)
}

async fn entity_contract(wh: &dyn Warehouse) -> TestResult {
    let merge = entity("merge");
    let first = people(&[(1, "Siti", "1234567.89"), (2, "Budi", "0.10"), (3, "Ayu", "5000000.00")])?;
    let c = load_entity(wh, &merge, &first, true).await?;
    assert_eq!((c.inserted, c.updated, c.unchanged), (3, 0, 0));
    let c = load_entity(wh, &merge, &first, true).await?;
    assert_eq!((c.inserted, c.updated, c.unchanged), (0, 0, 3), "a rerun changes nothing");
    let changed = people(&[(1, "Siti", "1234567.89"), (2, "Budi", "0.11"), (4, "Dewi", "7.00")])?;
    let c = load_entity(wh, &merge, &changed, true).await?;
    assert_eq!((c.inserted, c.updated, c.unchanged), (1, 1, 1));
    let rows = wh.query("SELECT id, nama, penghasilan, lahir, aktif FROM dw.penduduk ORDER BY id").await?;
    assert_eq!(rows.rows.len(), 4);
    assert_eq!(rows.rows[0][2], serde_json::json!(1234567.89));
    assert_eq!(rows.rows[1][2], serde_json::json!(0.11));
    assert_eq!(scalar(wh, "SELECT sum(penghasilan) FROM dw.penduduk").await?, serde_json::json!(6234575.0));
    assert_eq!(scalar(wh, "SELECT count(*) FROM dw.penduduk WHERE _satu_run_id IS NOT NULL").await?, 4);

    // Full refresh: the new copy replaces the table at the end, and again on the next run.
    let full = entity("full_refresh");
    let c = load_entity(wh, &full, &changed, true).await?;
    assert_eq!(c.inserted, 3);
    assert_eq!(scalar(wh, "SELECT count(*) FROM dw.penduduk").await?, 3);
    let c = load_entity(wh, &full, &first, true).await?;
    assert_eq!(c.inserted, 3);
    assert_eq!(scalar(wh, "SELECT sum(id) FROM dw.penduduk").await?, 6);

    // Append inserts every row.
    let mut log = entity("append");
    log.table = "log_kunjungan".into();
    log.primary_key.clear();
    load_entity(wh, &log, &first, true).await?;
    load_entity(wh, &log, &first, true).await?;
    assert_eq!(scalar(wh, "SELECT count(*) FROM dw.log_kunjungan").await?, 6);

    // A table whose columns differ from the declaration is refused, not altered.
    let mut drifted = entity("merge");
    drifted.columns.remove("aktif");
    let run = wh.begin_run("drift", "source").await?;
    let err = wh.prepare_entity(&drifted, true).await.err().map(|e| e.to_string()).unwrap_or_default();
    wh.finish_run(run, Err(err.clone())).await?;
    assert!(err.contains("dw.penduduk exists with columns"), "{err}");
    Ok(())
}

/// Batches loading at once commit in batch order: a later batch that finishes loading first waits
/// for the one before it, and never commits when that one failed.
async fn ordered_commits(wh: &dyn Warehouse) -> TestResult {
    use satu_warehouse::{CommitOrder, CommitTurn, EntityLoad};
    let mut log = entity("append");
    log.table = "log_urut".into();
    let run = wh.begin_run("urut", "source").await?;
    let direct = wh.prepare_entity(&log, true).await?;
    let batches = [people(&[(1, "Siti", "1.00")])?, people(&[(2, "Budi", "2.00")])?];
    let states =
        [SourceState(serde_json::json!({ "batch": 1 })), SourceState(serde_json::json!({ "batch": 2 }))];
    let load = |i: usize, turn: CommitTurn| EntityLoad {
        run_id: run,
        pipeline: "urut",
        entity: &log,
        rows: &batches[i],
        direct,
        checkpoint: Some(&states[i]),
        counts: RowCounts { read: 1, ..Default::default() },
        turn,
    };
    let mut order = CommitOrder::default();
    let (first, second) = (order.next_turn(), order.next_turn());
    let later = wh.commit_entity_batch(load(1, second));
    let earlier = async {
        tokio::time::sleep(std::time::Duration::from_millis(300)).await;
        wh.commit_entity_batch(load(0, first)).await
    };
    let (a, b) = tokio::join!(earlier, later);
    assert_eq!((a?.inserted, b?.inserted), (1, 1));
    assert_eq!(
        wh.state("urut").await?.map(|s| s.0),
        Some(serde_json::json!({ "batch": 2 })),
        "committed in order"
    );

    // The batch before failed (its turn dropped unmarked): the next one is not committed.
    let (failed, next) = (order.next_turn(), order.next_turn());
    drop(failed);
    let err = wh.commit_entity_batch(load(1, next)).await.err().map(|e| e.to_string()).unwrap_or_default();
    assert!(err.contains("the batch before this one failed"), "{err}");
    assert_eq!(scalar(wh, "SELECT count(*) FROM dw.log_urut").await?, 2);
    assert_eq!(wh.state("urut").await?.map(|s| s.0), Some(serde_json::json!({ "batch": 2 })));
    wh.finish_entity(&log).await?;
    wh.finish_run(run, Ok(())).await?;
    Ok(())
}

#[tokio::test]
async fn sqlite_backend_passes_the_contract() -> TestResult {
    let dir = tempfile::tempdir()?;
    let url = satu_core::Secret::new("sqlite://sub/warehouse.db");
    let wh = satu_warehouse::open(&url, dir.path()).await?;
    contract(wh.as_ref()).await?;
    entity_contract(wh.as_ref()).await?;
    for schema in ["ref", "meta", "etl", "dw"] {
        assert!(dir.path().join(format!("sub/warehouse.{schema}.db")).exists(), "{schema}");
    }
    Ok(())
}

#[tokio::test]
async fn postgres_backend_passes_the_contract() -> TestResult {
    let Some(db) = satu_testkit::PgTestDb::create().await else { return Ok(()) };
    let wh = satu_warehouse::open(&satu_core::Secret::new(db.url.clone()), std::path::Path::new(".")).await?;
    contract(wh.as_ref()).await?;
    entity_contract(wh.as_ref()).await?;
    ordered_commits(wh.as_ref()).await?;
    // A bulk load builds the key at its end: the table has it afterwards, and a key the source
    // repeats is named.
    let pk = "SELECT count(*) FROM pg_constraint WHERE conrelid = 'dw.penduduk'::regclass AND contype = 'p'";
    assert_eq!(scalar(wh.as_ref(), pk).await?, 1);
    let mut twice = entity("append");
    twice.table = "ganda".into();
    let err = load_entity(wh.as_ref(), &twice, &people(&[(7, "Siti", "1.00"), (7, "Budi", "2.00")])?, true)
        .await
        .err()
        .map(|e| e.to_string())
        .unwrap_or_default();
    assert!(err.contains("primary key (\"id\") cannot be built") && err.contains("(id)=(7)"), "{err}");
    // Two runs of one pipeline never overlap: the second waits for nobody and fails at once.
    let run = wh.begin_run("p", "source").await?;
    let second = wh.begin_run("p", "source").await;
    assert!(matches!(second, Err(satu_warehouse::WarehouseError::Busy(_))), "{second:?}");
    wh.finish_run(run, Ok(())).await?;
    let third = wh.begin_run("p", "source").await?;
    wh.finish_run(third, Ok(())).await?;
    drop(wh);
    Ok(())
}
