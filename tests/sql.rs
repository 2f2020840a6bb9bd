//! A canonical pipeline fed by an OPD's MySQL/MariaDB table (fixture F1), end to end.

mod common;
use common::{query, status};

type TestResult = Result<(), Box<dyn std::error::Error>>;

const F1: &str = "
CREATE TABLE kunjungan_pkm (
  id INT PRIMARY KEY, puskesmas VARCHAR(40), kelurahan VARCHAR(40), bulan VARCHAR(12), tahun INT,
  jk VARCHAR(12), jenis_kunjungan ENUM('BARU','LAMA'), jumlah VARCHAR(12), updated_at DATETIME
) ENGINE=MyISAM DEFAULT CHARSET=latin1;
INSERT INTO kunjungan_pkm VALUES
  (1, 'PKM Gedongan', 'Kel. Magersari', 'Februari', 2024, 'P', 'BARU', '1.234', '2024-03-05 10:11:12'),
  (2, 'PKM Gedongan', 'MAGERSARI ', 'Pebruari', 2024, 'LK', 'LAMA', '987', '2024-03-05 10:11:12'),
  (3, 'PKM Gedongan', 'Gunung Gedangan', '02', 2024, 'Perempuan', 'BARU', '  88 ', '2024-03-05 10:11:13'),
  (4, 'PKM Kedundung', 'Prajurit Kulon', 'Agt', 2024, 'L', 'BARU', '1.507', '2024-09-02 08:00:00'),
  (5, 'PKM Kedundung', 'Wates (Magersari)', 'Nopember', 2024, 'P', 'LAMA', '-', '2024-12-01 07:30:00'),
  (6, 'PKM Blooto', 'Desa Jagalan', 'Maret', 2024, 'Laki-laki', 'BARU', '412', '0000-00-00 00:00:00'),
  (7, 'PKM Kranggan', 'Kranggan', 'Januari', 2024, 'L', 'BARU', '1,045', '2024-02-01 09:00:00'),
  (8, 'PKM Kranggan', 'Meri', '13', 2024, 'P', 'BARU', '45', '2024-02-01 09:00:00'),
  (9, 'PKM Kranggan', 'Miji', 'April', 2024, NULL, 'LAMA', '33', '2024-05-02 09:00:00'),
  (10, 'PKM Kranggan', 'Sentanan', 'Mei', 2024, 'P', 'LAMA', '3O', '2024-06-03 09:00:00'),
  (11, 'PKM Gedongan', 'Magersari', '02', 2024, 'Perempuan', 'BARU', '1.234', '2024-03-06 11:00:00');
";

const CONFIG: &str = r#"
[[organisation]]
code = "DINKES-3576"
name = "Dinas Kesehatan Kota Mojokerto"

[[dataset]]
slug = "kunjungan-puskesmas-bulanan"
title = "Kunjungan Puskesmas"
opd = "DINKES-3576"
frequency = "bulanan"

[[indicator]]
code = "kes.kunjungan_puskesmas"
name = "Jumlah kunjungan puskesmas"
satuan = "kunjungan"
dimensi = ["jenis_kelamin", "jenis_kunjungan"]

[[dimension]]
code = "jenis_kunjungan"
name = "Jenis Kunjungan"
values = { BARU = "Baru", LAMA = "Lama" }

[[pipeline]]
name = "dinkes-kunjungan-puskesmas"
opd = "DINKES-3576"
source = { type = "mysql", url = "${SATU_TEST_F1_URL}", table = "TABLE", cursor = "updated_at", primary_key = "id" }
[pipeline.target]
dataset = "kunjungan-puskesmas-bulanan"
indikator = "kes.kunjungan_puskesmas"
wilayah = { column = "kelurahan", level = "kelurahan", within = "35.76" }
periode = { tahun = "tahun", bulan = "bulan" }
nilai = { column = "jumlah", integer = true }
dimensi = { jenis_kelamin = "jk", jenis_kunjungan = "jenis_kunjungan" }
"#;

fn run_with(dir: &std::path::Path, url: &str, args: &[&str]) -> std::io::Result<std::process::Output> {
    std::process::Command::new(env!("CARGO_BIN_EXE_satu"))
        .current_dir(dir)
        .args(args)
        .env("SATU_TEST_F1_URL", url)
        .env("SATU_LOG_FORMAT", "json")
        .output()
}

#[test]
fn f1_from_mariadb_loads_incrementally_and_exactly_once() -> TestResult {
    let rt = tokio::runtime::Runtime::new()?;
    let Some(db) = rt.block_on(satu_testkit::MyTestDb::create()) else { return Ok(()) };
    rt.block_on(db.execute(F1))?;
    let dir = tempfile::tempdir()?;
    let d = dir.path();
    std::fs::write(d.join("pipelines.toml"), CONFIG.replace("TABLE", "kunjungan_pkm"))?;

    let out = run_with(d, &db.url, &["run", "--all"])?;
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let logs = String::from_utf8_lossy(&out.stderr);
    assert!(!logs.contains(&db.url), "the source URL is a secret");
    let s = status(d)?;
    let r = &s["dinkes-kunjungan-puskesmas"];
    assert_eq!([&r["read"], &r["inserted"], &r["rejected"], &r["duplicates"]], [11, 6, 4, 1], "{r}");
    assert_eq!(r["balanced"], "true");
    let rejects = query(d, "SELECT rule, location FROM etl.reject ORDER BY location")?;
    let rules: Vec<(&str, &str)> = rejects
        .iter()
        .map(|r| (r["rule"].as_str().unwrap_or(""), r["location"].as_str().unwrap_or("")))
        .collect();
    assert!(rules.contains(&("angka_ambigu", "kunjungan_pkm.id=7")), "{rules:?}");
    assert!(rules.contains(&("duplikat", "kunjungan_pkm.id=11")), "{rules:?}");
    let lineage = query(
        d,
        "SELECT lokasi_sumber FROM dw.observasi WHERE kode_wilayah = '35.76.02.1001' AND berlaku_sampai IS NULL",
    )?;
    assert_eq!(lineage[0]["lokasi_sumber"], "kunjungan_pkm.id=3");

    // Nothing changed at the source: the incremental run reads and inserts nothing.
    let out = run_with(d, &db.url, &["run", "--all"])?;
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let s = status(d)?;
    assert_eq!(
        [&s["dinkes-kunjungan-puskesmas"]["read"], &s["dinkes-kunjungan-puskesmas"]["inserted"]],
        [0, 0]
    );

    // One value changes at the source: exactly one cell is revised.
    rt.block_on(db.execute(
        "UPDATE kunjungan_pkm SET jumlah = '990', updated_at = '2024-12-31 23:59:59' WHERE id = 2;",
    ))?;
    let out = run_with(d, &db.url, &["run", "--all"])?;
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let s = status(d)?;
    let r = &s["dinkes-kunjungan-puskesmas"];
    assert_eq!([&r["read"], &r["updated"], &r["inserted"]], [1, 1, 0], "{r}");
    let history = query(
        d,
        "SELECT nilai FROM dw.observasi WHERE kode_wilayah = '35.76.02.1003' \
         AND dimensi_kunci = 'jenis_kelamin=L|jenis_kunjungan=LAMA' ORDER BY id",
    )?;
    assert_eq!(history, vec![serde_json::json!({ "nilai": 987 }), serde_json::json!({ "nilai": 990 })]);

    // An OPD corrects an old record without touching its update time: the incremental run cannot
    // see it; a backfill from that date (`run --from`) does, and the next run carries on as before.
    rt.block_on(db.execute("UPDATE kunjungan_pkm SET jumlah = '1.300' WHERE id = 4;"))?;
    let out = run_with(d, &db.url, &["run", "--all"])?;
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert_eq!(status(d)?["dinkes-kunjungan-puskesmas"]["read"], 0);
    let out = run_with(d, &db.url, &["run", "dinkes-kunjungan-puskesmas", "--from", "2024-09-01"])?;
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let r = &status(d)?["dinkes-kunjungan-puskesmas"];
    assert_eq!([&r["read"], &r["updated"], &r["inserted"]], [3, 1, 0], "ids 4, 5 and 2: {r}");
    let corrected = query(
        d,
        "SELECT nilai FROM dw.observasi WHERE lokasi_sumber = 'kunjungan_pkm.id=4' AND berlaku_sampai IS NULL",
    )?;
    assert_eq!(corrected, vec![serde_json::json!({ "nilai": 1300 })]);
    let out = run_with(d, &db.url, &["run", "--all"])?;
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert_eq!(status(d)?["dinkes-kunjungan-puskesmas"]["read"], 0, "the saved position moved on");

    // The source can be discovered through the pipeline.
    let out = run_with(d, &db.url, &["discover", "dinkes-kunjungan-puskesmas", "--format", "json"])?;
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let columns: Vec<serde_json::Value> = serde_json::from_slice(&out.stdout)?;
    assert!(columns.iter().any(|c| c["column"] == "id" && c["primary_key"] == true));
    // … and a database no pipeline reads yet, by URL.
    let out = run_with(d, &db.url, &["discover", "--source", &db.url, "--format", "json"])?;
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let columns: Vec<serde_json::Value> = serde_json::from_slice(&out.stdout)?;
    assert_eq!(columns.iter().filter(|c| c["table"] == "kunjungan_pkm").count(), 9);
    drop(db);
    Ok(())
}

#[test]
fn hostile_table_names_are_refused_before_anything_runs() -> TestResult {
    let dir = tempfile::tempdir()?;
    let d = dir.path();
    let hostile = CONFIG.replace("TABLE", "kunjungan_pkm`; DROP TABLE kunjungan_pkm; --");
    std::fs::write(d.join("pipelines.toml"), hostile)?;
    let out = run_with(d, "mysql://root@127.0.0.1:3306/x", &["run", "--all"])?;
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("pipeline[0].source.table") && err.contains("not a valid table name"), "{err}");
    Ok(())
}
