//! The SQL source against the machine's real MariaDB: type mapping, zero dates, personal
//! identifiers, unsupported types, incremental keyset reads with a WIB cursor, snapshot resume,
//! discovery. Every test works in a database of its own.

use futures::TryStreamExt;
use polars::prelude::*;
use satu_connector_sql::{Driver, SqlConfig, SqlSource};
use satu_core::{Batch, ReadContext, Source, SourceState, LOCATION_COLUMN};
use satu_testkit::MyTestDb;

type TestResult = Result<(), Box<dyn std::error::Error>>;

fn source(url: &str, extra: serde_json::Value) -> SqlSource {
    let mut v = serde_json::json!({ "url": url });
    if let (Some(m), Some(e)) = (v.as_object_mut(), extra.as_object()) {
        m.extend(e.clone());
    }
    let config: SqlConfig = serde_json::from_value(v).expect("valid test config");
    assert!(config.problems(Driver::MySql).is_empty(), "{:?}", config.problems(Driver::MySql));
    SqlSource::new(config, Driver::MySql)
}

async fn read(
    s: SqlSource,
    batch_rows: usize,
    state: Option<SourceState>,
) -> Result<Vec<Batch>, satu_core::SourceError> {
    let cx = ReadContext { pipeline: "t".into(), batch_rows, state, from: None, needs: vec![] };
    Box::new(s).read(cx).try_collect().await
}

fn all(batches: &[Batch]) -> PolarsResult<DataFrame> {
    let mut out = batches[0].df.clone();
    for b in &batches[1..] {
        out.vstack_mut(&b.df)?;
    }
    Ok(out)
}

const TYPE_ZOO: &str = "
CREATE TABLE zoo (
  id BIGINT PRIMARY KEY, nik VARCHAR(16), nama VARCHAR(60) CHARACTER SET latin1, catatan TEXT,
  penghasilan DECIMAL(14,2), besar BIGINT UNSIGNED, kecil TINYINT, aktif TINYINT(1), skor FLOAT, rasio DOUBLE,
  lahir DATE, dicatat DATETIME(6), diubah TIMESTAMP NULL, jam TIME, tahun YEAR, status ENUM('BARU','LAMA'),
  data JSON, berkas BLOB
) ENGINE=MyISAM;
INSERT INTO zoo VALUES
  (1, '3576010101010001', 'Siti Aminah Sémarang', 'Jawa Timur 🌾', 1234567.89, 18446744073709551615, -5, 1, 1.5, 0.1,
   '1990-02-28', '2024-03-05 10:11:12.123456', '2024-03-05 03:11:12', '08:30:00', 2024, 'BARU', '{\"a\": [1, 2]}', X'00ff'),
  (2, NULL, NULL, NULL, NULL, NULL, NULL, 0, NULL, NULL, '0000-00-00', '0000-00-00 00:00:00', NULL, NULL, NULL, NULL, NULL, NULL);
";

#[tokio::test]
async fn types_map_exactly_and_nik_is_left_out() -> TestResult {
    let Some(db) = MyTestDb::create().await else { return Ok(()) };
    db.execute(TYPE_ZOO).await?;
    let batches =
        read(source(&db.url, serde_json::json!({ "table": "zoo", "primary_key": "id" })), 100, None).await?;
    let df = all(&batches)?;
    assert!(df.column("nik").is_err(), "personal identifiers are not read unless asked for");
    let expected = df!(
        "id" => [1i64, 2],
        "nama" => [Some("Siti Aminah Sémarang"), None],
        "catatan" => [Some("Jawa Timur 🌾"), None],
        "penghasilan" => [Some("1234567.89"), None],
        "besar" => [Some("18446744073709551615"), None],
        "kecil" => [Some(-5i64), None],
        "aktif" => [Some(true), Some(false)],
        "skor" => [Some(1.5f64), None],
        "rasio" => [Some(0.1f64), None],
        "lahir" => [Some("1990-02-28"), None],
        "dicatat" => [Some("2024-03-05 10:11:12.123456"), None],
        "diubah" => [Some("2024-03-05T10:11:12+07:00"), None],
        "jam" => [Some("08:30:00"), None],
        "tahun" => [Some(2024i64), None],
        "status" => [Some("BARU"), None],
        "data" => [Some("{\"a\": [1, 2]}"), None],
        "berkas" => [Some("00ff"), None],
        LOCATION_COLUMN => ["zoo.id=1", "zoo.id=2"],
    )?;
    assert!(df.equals_missing(&expected), "{df}");
    // Asked for by name, the NIK column is read.
    let cols = serde_json::json!({ "table": "zoo", "columns": ["id", "nik"] });
    let with_nik = all(&read(source(&db.url, cols), 10, None).await?)?;
    assert_eq!(with_nik.column("nik")?.str()?.get(0), Some("3576010101010001"));
    Ok(())
}

#[tokio::test]
async fn unsupported_types_are_named_and_can_be_excluded() -> TestResult {
    let Some(db) = MyTestDb::create().await else { return Ok(()) };
    db.execute("CREATE TABLE lokasi (id INT PRIMARY KEY, titik POINT, nama VARCHAR(10));\nINSERT INTO lokasi VALUES (1, POINT(1, 2), 'a');").await?;
    let err = read(source(&db.url, serde_json::json!({ "table": "lokasi" })), 10, None).await.err();
    let msg = err.map(|e| e.to_string()).unwrap_or_default();
    assert!(msg.contains("column `titik`") && msg.contains("exclude"), "{msg}");
    let ok = read(source(&db.url, serde_json::json!({ "table": "lokasi", "exclude": ["titik"] })), 10, None)
        .await?;
    assert_eq!(ok[0].df.width(), 3); // id, nama, _lokasi
    let missing = read(source(&db.url, serde_json::json!({ "table": "tidak_ada" })), 10, None).await.err();
    assert_eq!(missing.map(|e| e.kind), Some(satu_core::ErrorKind::Config));
    Ok(())
}

const F1: &str = "
CREATE TABLE kunjungan_pkm (
  id INT PRIMARY KEY, puskesmas VARCHAR(40), kelurahan VARCHAR(40), bulan VARCHAR(12), tahun INT,
  jk VARCHAR(12), jenis_kunjungan ENUM('BARU','LAMA'), jumlah VARCHAR(12), updated_at DATETIME
) ENGINE=MyISAM DEFAULT CHARSET=latin1;
INSERT INTO kunjungan_pkm VALUES
  (1, 'PKM Gedongan', 'Kel. Magersari', 'Februari', 2024, 'P', 'BARU', '1.234', '2024-01-01 06:59:59'),
  (2, 'PKM Gedongan', 'MAGERSARI ', 'Pebruari', 2024, 'LK', 'LAMA', '987', '2024-01-01 06:59:59'),
  (3, 'PKM Kedundung', 'Prajurit Kulon', 'Agt', 2024, 'L', 'BARU', '1.507', '2024-01-01 07:00:01'),
  (4, 'PKM Blooto', 'Desa Jagalan', 'Maret', 2024, 'Laki-laki', 'BARU', '412', '0000-00-00 00:00:00'),
  (5, 'PKM Kranggan', 'Kranggan', 'Januari', 2024, 'L', 'BARU', '1,045', NULL);
";

#[tokio::test]
async fn incremental_reads_follow_the_keyset_across_midnight_utc() -> TestResult {
    let Some(db) = MyTestDb::create().await else { return Ok(()) };
    db.execute(F1).await?;
    let cfg = serde_json::json!({ "table": "kunjungan_pkm", "cursor": "updated_at", "primary_key": "id" });
    let first = read(source(&db.url, cfg.clone()), 2, None).await?;
    let ids: Vec<i64> = all(&first)?.column("id")?.i64()?.iter().flatten().collect();
    // The first run is a snapshot in key order (NULL and zero cursors included), up to the
    // high-water mark taken as it starts: the last (cursor, key) in keyset order.
    assert_eq!(ids, [1, 2, 3, 4, 5]);
    let state = first.last().and_then(|b| b.checkpoint.clone());
    assert_eq!(
        state.as_ref().map(|s| s.0.clone()),
        Some(serde_json::json!({
            "cursor": { "kind": "datetime", "value": "2024-01-01 07:00:01" }, "key": { "kind": "int", "value": 3 }
        }))
    );
    // Until it is done, each checkpoint is the last key read and the mark; a killed first run
    // resumes after that key.
    let keys: Vec<Option<i64>> = first[..first.len() - 1]
        .iter()
        .filter_map(|b| b.checkpoint.as_ref())
        .map(|s| s.0["snapshot"]["key"]["value"].as_i64())
        .collect();
    assert_eq!(keys, [Some(2), Some(4)]);
    let rest = read(source(&db.url, cfg.clone()), 2, first[0].checkpoint.clone()).await?;
    let ids: Vec<i64> = all(&rest)?.column("id")?.i64()?.iter().flatten().collect();
    assert_eq!(ids, [3, 4, 5]);
    assert_eq!(rest.last().and_then(|b| b.checkpoint.clone()), state, "the mark it started with");

    // Nothing changed: nothing read.
    let again = read(source(&db.url, cfg.clone()), 2, state.clone()).await?;
    assert_eq!(again.iter().map(|b| b.df.height()).sum::<usize>(), 0);
    assert_eq!(again.last().and_then(|b| b.checkpoint.clone()), state);

    // A row at the same instant with a higher key, a later row, and an edit.
    db.execute("INSERT INTO kunjungan_pkm VALUES (6, 'PKM X', 'Meri', 'Mei', 2024, 'P', 'LAMA', '10', '2024-01-01 07:00:01');\n\
                UPDATE kunjungan_pkm SET jumlah = '990', updated_at = '2024-01-02 00:00:00' WHERE id = 2;").await?;
    let next = read(source(&db.url, cfg.clone()), 10, state).await?;
    let ids: Vec<i64> = all(&next)?.column("id")?.i64()?.iter().flatten().collect();
    assert_eq!(ids, vec![6, 2]);

    // With a lookback, rows just before the saved cursor are read again (and merge as unchanged).
    let mut lb = cfg;
    lb["lookback_seconds"] = 61_200.into(); // 17 h: back to 2024-01-01 07:00:00
    let saved = next.last().and_then(|b| b.checkpoint.clone());
    let back = read(source(&db.url, lb), 10, saved).await?;
    assert_eq!(all(&back)?.height(), 3, "rows of the last day: ids 3, 6 and 2");
    Ok(())
}

#[tokio::test]
async fn a_snapshot_resumes_after_the_last_committed_key() -> TestResult {
    let Some(db) = MyTestDb::create().await else { return Ok(()) };
    db.execute(F1).await?;
    let cfg =
        serde_json::json!({ "table": "kunjungan_pkm", "primary_key": "id", "columns": ["id", "jumlah"] });
    let whole = read(source(&db.url, cfg.clone()), 2, None).await?;
    assert_eq!(whole.iter().map(|b| b.df.height()).collect::<Vec<_>>(), vec![2, 2, 1]);
    assert_eq!(whole[2].checkpoint.as_ref().map(|s| s.0["complete"].clone()), Some(true.into()));
    // Killed after the first batch was committed: the rerun reads the rest only.
    let rest = read(source(&db.url, cfg.clone()), 2, whole[0].checkpoint.clone()).await?;
    let ids: Vec<i64> = all(&rest)?.column("id")?.i64()?.iter().flatten().collect();
    assert_eq!(ids, vec![3, 4, 5]);
    // A completed snapshot starts over.
    let over = read(source(&db.url, cfg), 10, whole[2].checkpoint.clone()).await?;
    assert_eq!(all(&over)?.height(), 5);
    Ok(())
}

#[tokio::test]
async fn discover_lists_tables_columns_and_keys() -> TestResult {
    let Some(db) = MyTestDb::create().await else { return Ok(()) };
    db.execute(F1).await?;
    let mut s = source(&db.url, serde_json::json!({ "table": "kunjungan_pkm" }));
    s.check().await?;
    let catalog = s.discover().await?;
    let t = &catalog.entries[0];
    assert_eq!(t.name, "kunjungan_pkm");
    assert_eq!(t.primary_key, vec!["id"]);
    assert_eq!(t.columns.len(), 9);
    assert_eq!(t.columns[6].source_type, "enum('BARU','LAMA')");
    Ok(())
}
