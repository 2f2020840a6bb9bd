//! The SQL source against the machine's real PostgreSQL: type mapping and incremental reads.

use futures::TryStreamExt;
use polars::prelude::*;
use satu_connector_sql::{Driver, SqlConfig, SqlSource};
use satu_core::{Batch, ReadContext, Source, SourceState, LOCATION_COLUMN};
use sqlx::{Connection, Executor};

type TestResult = Result<(), Box<dyn std::error::Error>>;

fn source(url: &str, extra: serde_json::Value) -> SqlSource {
    let mut v = serde_json::json!({ "url": url });
    if let (Some(m), Some(e)) = (v.as_object_mut(), extra.as_object()) {
        m.extend(e.clone());
    }
    let config: SqlConfig = serde_json::from_value(v).expect("valid test config");
    assert!(config.problems(Driver::Postgres).is_empty());
    SqlSource::new(config, Driver::Postgres)
}

async fn read(s: SqlSource, state: Option<SourceState>) -> Result<Vec<Batch>, satu_core::SourceError> {
    let cx = ReadContext { pipeline: "t".into(), batch_rows: 10, state, from: None, needs: vec![] };
    Box::new(s).read(cx).try_collect().await
}

#[tokio::test]
async fn types_map_exactly_and_cursors_are_timestamps() -> TestResult {
    let Some(db) = satu_testkit::PgTestDb::create().await else { return Ok(()) };
    let mut conn = sqlx::PgConnection::connect(&db.url).await?;
    conn.execute(
        "CREATE SCHEMA opd; CREATE TABLE opd.sekolah (npsn bigint PRIMARY KEY, nama text, jenjang varchar(4), \
           siswa int, rombel smallint, akreditasi numeric(5,2), aktif boolean, luas real, rasio double precision, \
           berdiri date, diubah timestamptz, dicatat timestamp, profil jsonb, foto bytea); \
         INSERT INTO opd.sekolah VALUES \
           (20539791, 'SDN Kranggan 1', 'SD', 412, 14, 91.50, true, 1200.5, 0.25, '1978-07-01', \
            '2024-01-01 16:59:59+00', '2024-01-01 23:59:59.5', '{\"kurikulum\": \"merdeka\"}', '\\x00ff'), \
           (20539792, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, '2024-01-01 17:00:01+00', NULL, NULL, NULL);",
    )
    .await?;
    let cfg = serde_json::json!({ "table": "opd.sekolah", "cursor": "diubah", "primary_key": "npsn" });
    let batches = read(source(&db.url, cfg.clone()), None).await?;
    let df = &batches[0].df;
    let expected = df!(
        "npsn" => [20539791i64, 20539792],
        "nama" => [Some("SDN Kranggan 1"), None],
        "jenjang" => [Some("SD"), None],
        "siswa" => [Some(412i64), None],
        "rombel" => [Some(14i64), None],
        "akreditasi" => [Some("91.50"), None],
        "aktif" => [Some(true), None],
        "luas" => [Some(1200.5f64), None],
        "rasio" => [Some(0.25f64), None],
        "berdiri" => [Some("1978-07-01"), None],
        // Instants are shown in the source's zone (WIB by default): 16:59:59 UTC is 23:59:59 WIB.
        "diubah" => [Some("2024-01-01T23:59:59+07:00"), Some("2024-01-02T00:00:01+07:00")],
        "dicatat" => [Some("2024-01-01 23:59:59.500"), None],
        "profil" => [Some("{\"kurikulum\":\"merdeka\"}"), None],
        "foto" => [Some("00ff"), None],
        LOCATION_COLUMN => ["opd.sekolah.npsn=20539791", "opd.sekolah.npsn=20539792"],
    )?;
    assert!(df.equals_missing(&expected), "{df}");
    let state = batches.last().and_then(|b| b.checkpoint.clone());
    assert_eq!(state.as_ref().map(|s| s.0["cursor"]["kind"].clone()), Some("timestamp".into()));
    conn.execute("INSERT INTO opd.sekolah (npsn, nama, diubah) VALUES (20539793, 'SDN Baru', '2024-01-01 17:00:02+00')").await?;
    let next = read(source(&db.url, cfg), state).await?;
    let ids: Vec<i64> = next
        .iter()
        .flat_map(|b| b.df.column("npsn").ok()?.i64().ok().map(|c| c.iter().flatten().collect::<Vec<_>>()))
        .flatten()
        .collect();
    assert_eq!(ids, vec![20539793]);
    let mut s = source(&db.url, serde_json::json!({ "table": "opd.sekolah" }));
    let catalog = s.discover().await?;
    assert_eq!(catalog.entries[0].name, "opd.sekolah");
    assert_eq!(catalog.entries[0].primary_key, vec!["npsn"]);
    conn.close().await?;
    drop(db);
    Ok(())
}
