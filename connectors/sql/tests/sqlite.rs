//! The SQL source on a SQLite file (some small OPD applications keep one): values read as text,
//! incremental reads, a relative path resolved by the caller.

use futures::TryStreamExt;
use polars::prelude::*;
use satu_connector_sql::{Driver, SqlConfig, SqlSource};
use satu_core::{Batch, ReadContext, Source, SourceState, LOCATION_COLUMN};
use sqlx::{Connection, Executor};

type TestResult = Result<(), Box<dyn std::error::Error>>;

async fn read(url: &str, state: Option<SourceState>) -> Result<Vec<Batch>, satu_core::SourceError> {
    let config: SqlConfig = serde_json::from_value(serde_json::json!({
        "url": url, "table": "sekolah", "cursor": "diubah", "primary_key": "npsn"
    }))
    .expect("valid config");
    assert!(config.problems(Driver::Sqlite).is_empty());
    let cx = ReadContext { pipeline: "t".into(), batch_rows: 10, state, from: None, needs: vec![] };
    Box::new(SqlSource::new(config, Driver::Sqlite)).read(cx).try_collect().await
}

#[tokio::test]
async fn a_sqlite_database_reads_exactly_and_incrementally() -> TestResult {
    let dir = tempfile::tempdir()?;
    let url = format!("sqlite://{}", dir.path().join("opd.db").display());
    let mut conn = sqlx::SqliteConnection::connect(&format!("{url}?mode=rwc")).await?;
    conn.execute(
        "CREATE TABLE sekolah (npsn INTEGER PRIMARY KEY, nama TEXT, siswa INTEGER, rasio REAL, foto BLOB, diubah TEXT);
         INSERT INTO sekolah VALUES (20539791, 'SDN Kranggan 1', 412, 0.25, x'00ff', '2024-01-01 23:59:59'),
                                    (20539792, NULL, NULL, NULL, NULL, '2024-01-02 00:00:01');",
    )
    .await?;
    let batches = read(&url, None).await?;
    let expected = df!(
        "npsn" => ["20539791", "20539792"],
        "nama" => [Some("SDN Kranggan 1"), None],
        "siswa" => [Some("412"), None],
        "rasio" => [Some("0.25"), None],
        "foto" => [Some("00ff"), None],
        "diubah" => ["2024-01-01 23:59:59", "2024-01-02 00:00:01"],
        LOCATION_COLUMN => ["sekolah.npsn=20539791", "sekolah.npsn=20539792"],
    )?;
    assert!(batches[0].df.equals_missing(&expected), "{}", batches[0].df);
    let state = batches.last().and_then(|b| b.checkpoint.clone());
    conn.execute(
        "INSERT INTO sekolah (npsn, nama, diubah) VALUES (20539793, 'SDN Baru', '2024-01-02 00:00:02')",
    )
    .await?;
    let next = read(&url, state).await?;
    let ids: Vec<String> = next[0].df.column("npsn")?.str()?.iter().flatten().map(str::to_string).collect();
    assert_eq!(ids, vec!["20539793"]);
    conn.close().await?;
    Ok(())
}
