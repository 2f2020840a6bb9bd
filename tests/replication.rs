//! Replicating an OPD table (MariaDB) into the PostgreSQL warehouse, end to end: full copy,
//! incremental run after 1 % of rows change, and a run killed with SIGKILL that resumes.

mod common;

use sqlx::{Connection, Executor, Row};
use std::path::Path;
use std::time::{Duration, Instant};

type TestResult = Result<(), Box<dyn std::error::Error>>;

/// A population register like the benchmark's, with non-ASCII names and ~5 % NULLs.
fn register(rows: u32) -> String {
    format!(
        "CREATE TABLE penduduk (id BIGINT PRIMARY KEY, nik CHAR(16), nama VARCHAR(80), jenis_kelamin CHAR(1), \
           tanggal_lahir DATE, kode_kelurahan VARCHAR(13), penghasilan DECIMAL(14,2), updated_at DATETIME(6), aktif TINYINT(1)) \
           DEFAULT CHARSET=utf8mb4;\n\
         INSERT INTO penduduk SELECT seq, LPAD(seq, 16, '3576'), CONCAT('Warga Sémarang ', seq), IF(seq % 2, 'L', 'P'), \
           DATE_ADD('1950-01-01', INTERVAL seq % 20000 DAY), '35.76.02.1003', \
           IF(seq % 20 = 0, NULL, ROUND((seq * 7919) % 100000000 / 100, 2)), \
           DATE_ADD('2024-01-01 00:00:00', INTERVAL seq SECOND), seq % 3 <> 0 FROM seq_1_to_{rows};"
    )
}

fn config(sync: &str, cursor: bool, batch_rows: u32) -> String {
    let cursor = if cursor { ", cursor = \"updated_at\"" } else { "" };
    let deletes = if sync == "merge" { "delete_detection = true" } else { "" };
    format!(
        r#"
[warehouse]
url = "${{SATU_TEST_WAREHOUSE}}"
[defaults]
batch_rows = {batch_rows}
[[organisation]]
code = "DISPENDUKCAPIL-3576"
name = "Dispendukcapil"
[[pipeline]]
name = "penduduk"
opd = "DISPENDUKCAPIL-3576"
source = {{ type = "mariadb", url = "${{SATU_TEST_SOURCE}}", table = "penduduk", primary_key = "id"{cursor} }}
[pipeline.entity]
table = "penduduk"
primary_key = ["id"]
sync = "{sync}"
{deletes}
columns = {{ id = "bigint", nama = "text", jenis_kelamin = "text", tanggal_lahir = "date", kode_kelurahan = "text",
            penghasilan = "numeric(14,2)", updated_at = "timestamp", aktif = "boolean" }}
"#
    )
}

fn satu(dir: &Path, source: &str, warehouse: &str, args: &[&str]) -> std::process::Command {
    let mut cmd = std::process::Command::new(env!("CARGO_BIN_EXE_satu"));
    cmd.current_dir(dir)
        .args(args)
        .env("SATU_TEST_SOURCE", source)
        .env("SATU_TEST_WAREHOUSE", warehouse)
        .env("SATU_LOG_FORMAT", "json");
    cmd
}

/// (count, sum of penghasilan, NULL penghasilan, max updated_at) of the source and the copy.
async fn fingerprints(source: &str, warehouse: &str) -> Result<(String, String), Box<dyn std::error::Error>> {
    let mut my = sqlx::MySqlConnection::connect(source).await?;
    let s = my
        .fetch_one(
            "SELECT CONCAT_WS('|', COUNT(*), SUM(penghasilan), SUM(penghasilan IS NULL), \
             DATE_FORMAT(MAX(updated_at), '%Y-%m-%d %H:%i:%s.%f')) FROM penduduk",
        )
        .await?
        .try_get_unchecked::<String, _>(0)?;
    let mut pg = sqlx::PgConnection::connect(warehouse).await?;
    let w = pg
        .fetch_one(
            "SELECT concat_ws('|', count(*), sum(penghasilan), count(*) FILTER (WHERE penghasilan IS NULL), \
             to_char(max(updated_at), 'YYYY-MM-DD HH24:MI:SS.US')) FROM dw.penduduk WHERE _satu_dihapus IS NULL",
        )
        .await?
        .try_get::<String, _>(0)?;
    Ok((s, w))
}

async fn last_run(warehouse: &str) -> Result<(i64, i64, i64, String), Box<dyn std::error::Error>> {
    let mut pg = sqlx::PgConnection::connect(warehouse).await?;
    let r = pg
        .fetch_one(
            "SELECT rows_read, rows_inserted, rows_updated, status FROM etl.run ORDER BY id DESC LIMIT 1",
        )
        .await?;
    Ok((r.try_get(0)?, r.try_get(1)?, r.try_get(2)?, r.try_get(3)?))
}

#[tokio::test(flavor = "multi_thread")]
async fn a_register_replicates_incrementally_and_exactly() -> TestResult {
    let Some(src) = satu_testkit::MyTestDb::create().await else { return Ok(()) };
    let Some(wh) = satu_testkit::PgTestDb::create().await else { return Ok(()) };
    src.execute(&register(5_000)).await?;
    let dir = tempfile::tempdir()?;
    std::fs::write(dir.path().join("pipelines.toml"), config("merge", true, 1_000))?;

    let out = satu(dir.path(), &src.url, &wh.url, &["run", "penduduk"]).output()?;
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let (s, w) = fingerprints(&src.url, &wh.url).await?;
    assert_eq!(s, w);
    assert_eq!(last_run(&wh.url).await?, (5_000, 5_000, 0, "success".into()));
    let mut pg = sqlx::PgConnection::connect(&wh.url).await?;
    let nik: i64 = pg
        .fetch_one("SELECT count(*) FROM information_schema.columns WHERE table_schema = 'dw' AND column_name = 'nik'")
        .await?
        .try_get(0)?;
    assert_eq!(nik, 0, "the NIK never reaches the warehouse");
    let name: String = pg.fetch_one("SELECT nama FROM dw.penduduk WHERE id = 7").await?.try_get(0)?;
    assert_eq!(name, "Warga Sémarang 7");

    // Nothing changed: nothing read.
    let out = satu(dir.path(), &src.url, &wh.url, &["run", "penduduk"]).output()?;
    assert!(out.status.success());
    assert_eq!(last_run(&wh.url).await?, (0, 0, 0, "success".into()));

    // 1 % of the rows change.
    src.execute(
        "UPDATE penduduk SET penghasilan = penghasilan + 1, updated_at = DATE_ADD(updated_at, INTERVAL 1 YEAR) \
         WHERE id % 100 = 0;",
    )
    .await?;
    let out = satu(dir.path(), &src.url, &wh.url, &["run", "penduduk"]).output()?;
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert_eq!(last_run(&wh.url).await?, (50, 0, 50, "success".into()));
    let (s, w) = fingerprints(&src.url, &wh.url).await?;
    assert_eq!(s, w);

    // Rows deleted at the source are soft-deleted in the warehouse and counted.
    src.execute("DELETE FROM penduduk WHERE id BETWEEN 101 AND 110;").await?;
    let out = satu(dir.path(), &src.url, &wh.url, &["run", "penduduk"]).output()?;
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let deleted: i64 =
        pg.fetch_one("SELECT rows_deleted FROM etl.run ORDER BY id DESC LIMIT 1").await?.try_get(0)?;
    assert_eq!(deleted, 10);
    let marked: i64 = pg
        .fetch_one(
            "SELECT count(*) FROM dw.penduduk WHERE _satu_dihapus IS NOT NULL AND id BETWEEN 101 AND 110",
        )
        .await?
        .try_get(0)?;
    assert_eq!(marked, 10);
    let (s, w) = fingerprints(&src.url, &wh.url).await?;
    assert_eq!(s, w, "live rows equal the source");

    // A source that suddenly lists no keys never wipes the table.
    src.execute("DELETE FROM penduduk;").await?;
    let out = satu(dir.path(), &src.url, &wh.url, &["run", "penduduk"]).output()?;
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("refusing"));
    let live: i64 =
        pg.fetch_one("SELECT count(*) FROM dw.penduduk WHERE _satu_dihapus IS NULL").await?.try_get(0)?;
    assert_eq!(live, 4_990);
    pg.close().await?;
    Ok(())
}

#[tokio::test(flavor = "multi_thread")]
async fn a_killed_full_refresh_resumes_where_it_stopped() -> TestResult {
    killed_copy_resumes("full_refresh", false).await
}

/// The first run of an incremental merge is a key-ordered snapshot, loaded straight into the
/// empty table with its key left out until the end: killed half-way, the rerun puts the key back
/// and merges the rest.
#[tokio::test(flavor = "multi_thread")]
async fn a_killed_first_snapshot_resumes_where_it_stopped() -> TestResult {
    killed_copy_resumes("merge", true).await
}

async fn killed_copy_resumes(sync: &str, cursor: bool) -> TestResult {
    let Some(src) = satu_testkit::MyTestDb::create().await else { return Ok(()) };
    let Some(wh) = satu_testkit::PgTestDb::create().await else { return Ok(()) };
    const ROWS: i64 = 40_000;
    src.execute(&register(ROWS as u32)).await?;
    let dir = tempfile::tempdir()?;
    std::fs::write(dir.path().join("pipelines.toml"), config(sync, cursor, 200))?;

    // Create the warehouse first, so the kill lands in the copy, not in the migration.
    let out = satu(dir.path(), &src.url, &wh.url, &["status"]).output()?;
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let mut child = satu(dir.path(), &src.url, &wh.url, &["run", "penduduk"]).spawn()?;
    let mut pg = sqlx::PgConnection::connect(&wh.url).await?;
    let started = Instant::now();
    loop {
        let committed: Option<i64> = pg
            .fetch_optional(
                "SELECT coalesce(state::json -> 'key' ->> 'value', state::json -> 'snapshot' -> 'key' ->> 'value')::bigint \
                 FROM etl.state WHERE pipeline = 'penduduk'",
            )
            .await?
            .map(|r| r.try_get(0))
            .transpose()?;
        if committed.is_some_and(|k| k >= 2_000) || started.elapsed() > Duration::from_secs(60) {
            break;
        }
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    child.kill()?; // SIGKILL
    child.wait()?;
    let visible: i64 = pg.fetch_one("SELECT count(*) FROM dw.penduduk").await?.try_get(0)?;
    if sync == "full_refresh" {
        // Readers still see the old (here: empty) table, never a half copy.
        assert_eq!(visible, 0);
    } else {
        assert!(visible > 0 && visible < ROWS, "killed half-way: {visible} rows");
    }

    let out = satu(dir.path(), &src.url, &wh.url, &["run", "penduduk"]).output()?;
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let killed: (String, String) = {
        let r = pg
            .fetch_one("SELECT status, error FROM etl.run WHERE pipeline = 'penduduk' ORDER BY id LIMIT 1")
            .await?;
        (r.try_get(0)?, r.try_get(1)?)
    };
    assert_eq!(killed.0, "failed", "the killed run is closed by the next one");
    assert!(killed.1.contains("interrupted"), "{}", killed.1);
    let (read, inserted, _, status) = last_run(&wh.url).await?;
    assert_eq!(status, "success");
    assert!(read < ROWS && read == inserted, "the rerun resumed instead of starting over: read {read}");
    let (s, w) = fingerprints(&src.url, &wh.url).await?;
    assert_eq!(s, w, "the copy equals the source");
    let dup: i64 = pg.fetch_one("SELECT count(*) - count(DISTINCT id) FROM dw.penduduk").await?.try_get(0)?;
    assert_eq!(dup, 0);
    let keys: i64 = pg
        .fetch_one(
            "SELECT count(*) FROM pg_constraint WHERE conrelid = 'dw.penduduk'::regclass AND contype = 'p'",
        )
        .await?
        .try_get(0)?;
    assert_eq!(keys, 1, "the primary key is back after the bulk load");

    // The next run: a full refresh starts over and swaps again; a merge reads nothing new.
    let out = satu(dir.path(), &src.url, &wh.url, &["run", "penduduk"]).output()?;
    assert!(out.status.success());
    assert_eq!(last_run(&wh.url).await?.0, if sync == "full_refresh" { ROWS } else { 0 });
    let (s, w) = fingerprints(&src.url, &wh.url).await?;
    assert_eq!(s, w);
    pg.close().await?;
    Ok(())
}

#[tokio::test(flavor = "multi_thread")]
async fn sigterm_rolls_back_the_batch_in_flight_and_exits_130() -> TestResult {
    let Some(src) = satu_testkit::MyTestDb::create().await else { return Ok(()) };
    let Some(wh) = satu_testkit::PgTestDb::create().await else { return Ok(()) };
    const ROWS: i64 = 40_000;
    src.execute(&register(ROWS as u32)).await?;
    let dir = tempfile::tempdir()?;
    std::fs::write(dir.path().join("pipelines.toml"), config("merge", true, 200))?;
    let out = satu(dir.path(), &src.url, &wh.url, &["status"]).output()?;
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let mut child = satu(dir.path(), &src.url, &wh.url, &["run", "penduduk"]).spawn()?;
    let mut pg = sqlx::PgConnection::connect(&wh.url).await?;
    let started = Instant::now();
    while started.elapsed() < Duration::from_secs(60) {
        let committed: Option<i64> = pg
            .fetch_optional("SELECT (state::json -> 'snapshot' -> 'key' ->> 'value')::bigint FROM etl.state WHERE pipeline = 'penduduk'")
            .await?
            .map(|r| r.try_get(0))
            .transpose()?;
        if committed.is_some_and(|k| k >= 2_000) {
            break;
        }
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    std::process::Command::new("kill").args(["-TERM", &child.id().to_string()]).status()?;
    let status = child.wait()?;
    assert_eq!(status.code(), Some(130));
    // A COMMIT the process sent just before it exited may still be finishing on the server.
    tokio::time::sleep(Duration::from_secs(1)).await;
    // What was committed is consistent: rows and checkpoint agree.
    let committed: i64 = pg.fetch_one("SELECT count(*) FROM dw.penduduk").await?.try_get(0)?;
    let key: i64 = pg
        .fetch_one(
            "SELECT (state::json -> 'snapshot' -> 'key' ->> 'value')::bigint FROM etl.state WHERE pipeline = 'penduduk'",
        )
        .await?
        .try_get(0)?;
    // The first read of an incremental source is a snapshot in key order, resumable by key.
    assert_eq!(committed, key, "the checkpoint is the last committed key (ids are 1..n)");
    let out = satu(dir.path(), &src.url, &wh.url, &["run", "penduduk"]).output()?;
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let (read, ..) = last_run(&wh.url).await?;
    assert_eq!(read, ROWS - committed, "the rerun resumes after the last commit");
    let (s, w) = fingerprints(&src.url, &wh.url).await?;
    assert_eq!(s, w);
    pg.close().await?;
    Ok(())
}
