//! Schema drift against a real MariaDB table altered between runs: each policy, a breaking
//! change that stops only its own pipeline, and `satu drift`.

mod common;
use common::{query, status};

type TestResult = Result<(), Box<dyn std::error::Error>>;

const TABLES: &str = "
CREATE TABLE kunjungan (id INT PRIMARY KEY, kelurahan VARCHAR(40), bulan VARCHAR(12), tahun INT, jumlah VARCHAR(12),
  updated_at DATETIME);
INSERT INTO kunjungan VALUES (1, 'Magersari', 'Januari', 2024, '10', '2024-01-01 00:00:00'),
                             (2, 'Kranggan', 'Februari', 2024, '20', '2024-01-02 00:00:00');
CREATE TABLE lain (id INT PRIMARY KEY, kelurahan VARCHAR(40), tahun INT, jumlah VARCHAR(12));
INSERT INTO lain VALUES (1, 'Meri', 2024, '5');
";

fn config(policy: &str) -> String {
    r#"
[[organisation]]
code = "DINKES-3576"
name = "Dinas Kesehatan"
[[dataset]]
slug = "kunjungan"
title = "Kunjungan"
opd = "DINKES-3576"
frequency = "bulanan"
[[indicator]]
code = "kes.kunjungan"
name = "Kunjungan"
satuan = "kunjungan"
[[pipeline]]
name = "kunjungan"
opd = "DINKES-3576"
schema_drift = "POLICY"
source = { type = "mariadb", url = "${SATU_TEST_SOURCE}", table = "kunjungan", cursor = "updated_at", primary_key = "id" }
[pipeline.target]
dataset = "kunjungan"
indikator = "kes.kunjungan"
wilayah = { column = "kelurahan", level = "kelurahan", within = "35.76" }
periode = { tahun = "tahun", bulan = "bulan" }
nilai = { column = "jumlah" }
[[pipeline]]
name = "lain"
opd = "DINKES-3576"
source = { type = "mariadb", url = "${SATU_TEST_SOURCE}", table = "lain", primary_key = "id" }
[pipeline.target]
dataset = "kunjungan"
indikator = "kes.kunjungan"
wilayah = { column = "kelurahan", level = "kelurahan", within = "35.76" }
periode = { tahun = "tahun" }
nilai = { column = "jumlah" }
"#
    .replace("POLICY", policy)
}

fn run(dir: &std::path::Path, url: &str) -> std::io::Result<std::process::Output> {
    std::process::Command::new(env!("CARGO_BIN_EXE_satu"))
        .current_dir(dir)
        .args(["run", "--all"])
        .env("SATU_TEST_SOURCE", url)
        .env("SATU_LOG_FORMAT", "json")
        .output()
}

/// (change, column, action) of each drift record, oldest first.
type Changes = Vec<(String, String, String)>;

fn drift(dir: &std::path::Path) -> Result<Changes, Box<dyn std::error::Error>> {
    let rows = query(dir, "SELECT change, column_name, action FROM etl.drift ORDER BY id")?;
    Ok(rows
        .iter()
        .map(|r| {
            let s = |k: &str| r[k].as_str().unwrap_or_default().to_string();
            (s("change"), s("column_name"), s("action"))
        })
        .collect())
}

async fn setup(
    policy: &str,
) -> Result<Option<(satu_testkit::MyTestDb, tempfile::TempDir)>, Box<dyn std::error::Error>> {
    let Some(db) = satu_testkit::MyTestDb::create().await else { return Ok(None) };
    db.execute(TABLES).await?;
    let dir = tempfile::tempdir()?;
    std::fs::write(dir.path().join("pipelines.toml"), config(policy))?;
    let out = run(dir.path(), &db.url)?;
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert!(drift(dir.path())?.is_empty(), "the first run only records the baseline");
    Ok(Some((db, dir)))
}

#[tokio::test(flavor = "multi_thread")]
async fn evolve_records_additions_and_stops_on_a_retyped_mapped_column() -> TestResult {
    let Some((db, dir)) = setup("evolve").await? else { return Ok(()) };
    let d = dir.path();
    db.execute("ALTER TABLE kunjungan ADD COLUMN catatan VARCHAR(20);\nUPDATE kunjungan SET catatan = 'ok', updated_at = '2024-02-01 00:00:00' WHERE id = 1;").await?;
    let out = run(d, &db.url)?;
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert_eq!(drift(d)?, vec![("added".into(), "catatan".into(), "recorded".into())]);
    assert_eq!(status(d)?["kunjungan"]["read"], 1, "the new column flowed through with the changed row");

    db.execute("ALTER TABLE kunjungan MODIFY tahun VARCHAR(4);").await?;
    let out = run(d, &db.url)?;
    assert_eq!(out.status.code(), Some(1));
    let logs = String::from_utf8_lossy(&out.stderr);
    assert!(logs.contains("schema drift") && logs.contains("`tahun` retyped"), "{logs}");
    let s = status(d)?;
    assert_eq!(s["kunjungan"]["status"], "failed");
    assert_eq!(s["lain"]["status"], "success", "a drifting pipeline never stops the others");
    assert_eq!(drift(d)?.last(), Some(&("retyped".into(), "tahun".into(), "stopped".into())));
    // It stays stopped: the accepted schema did not move.
    let again = run(d, &db.url)?;
    assert_eq!(again.status.code(), Some(1));

    let shown = std::process::Command::new(env!("CARGO_BIN_EXE_satu"))
        .current_dir(d)
        .args(["drift", "kunjungan", "--format", "json"])
        .output()?;
    assert!(shown.status.success());
    let history: Vec<serde_json::Value> = serde_json::from_slice(&shown.stdout)?;
    assert_eq!(history[0]["column_name"], "tahun");
    assert_eq!(history[0]["old_type"], "i64");
    assert_eq!(history[0]["new_type"], "str");
    Ok(())
}

#[tokio::test(flavor = "multi_thread")]
async fn discard_drops_new_columns_and_freeze_stops_on_any_change() -> TestResult {
    let Some((db, dir)) = setup("discard").await? else { return Ok(()) };
    let d = dir.path();
    db.execute("ALTER TABLE kunjungan ADD COLUMN rahasia VARCHAR(20);\nUPDATE kunjungan SET rahasia = 'x', updated_at = '2024-02-01 00:00:00' WHERE id = 2;").await?;
    let out = run(d, &db.url)?;
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert_eq!(drift(d)?, vec![("added".into(), "rahasia".into(), "discarded".into())]);
    let landed = satu_landing::runs(&d.join("landing"), "kunjungan")?;
    let manifest = satu_landing::read_manifest(&landed.last().ok_or("no landed run")?.1)?;
    assert!(manifest.columns.iter().all(|c| c.name != "rahasia"), "discarded columns are not landed");

    // The same deployment, frozen: any change stops it.
    std::fs::write(d.join("pipelines.toml"), config("freeze"))?;
    db.execute("ALTER TABLE kunjungan ADD COLUMN baru INT;").await?;
    let out = run(d, &db.url)?;
    assert_eq!(out.status.code(), Some(1));
    let s = status(d)?;
    assert_eq!(s["kunjungan"]["status"], "failed");
    assert_eq!(s["kunjungan"]["inserted"], 0);
    let last = drift(d)?;
    assert!(last.contains(&("added".into(), "baru".into(), "stopped".into())), "{last:?}");
    Ok(())
}

#[tokio::test(flavor = "multi_thread")]
async fn a_removed_mapped_column_stops_even_under_evolve() -> TestResult {
    let Some((db, dir)) = setup("evolve").await? else { return Ok(()) };
    let d = dir.path();
    db.execute("ALTER TABLE kunjungan DROP COLUMN bulan;").await?;
    let out = run(d, &db.url)?;
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(drift(d)?, vec![("removed".into(), "bulan".into(), "stopped".into())]);
    assert_eq!(status(d)?["lain"]["status"], "success");

    // A changed primary key always stops its pipeline.
    db.execute("ALTER TABLE lain DROP PRIMARY KEY, ADD PRIMARY KEY (id, kelurahan);").await?;
    let out = run(d, &db.url)?;
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(status(d)?["lain"]["status"], "failed");
    let history =
        query(d, "SELECT change, old_type, new_type, action FROM etl.drift WHERE pipeline = 'lain'")?;
    assert_eq!(
        history,
        vec![
            serde_json::json!({ "change": "key_changed", "old_type": "id", "new_type": "id,kelurahan", "action": "stopped" })
        ]
    );
    Ok(())
}
