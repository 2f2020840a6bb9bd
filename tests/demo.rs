//! The demo deployment, end to end, as a newcomer runs it.

mod common;
use common::{demo_copy, query, satu, status};

type TestResult = Result<(), Box<dyn std::error::Error>>;

const PIPELINES: [&str; 4] =
    ["dinkes-kunjungan-puskesmas", "dispendukcapil-penduduk", "disdik-peserta-didik-sd", "bappeda-ipm"];

#[test]
fn the_demo_loads_balances_and_reruns_idempotently() -> TestResult {
    let dir = demo_copy()?;
    let d = dir.path();

    let check = satu(d, &["check"])?;
    assert!(check.status.success(), "{}", String::from_utf8_lossy(&check.stderr));

    let run = satu(d, &["run", "--all"])?;
    assert!(run.status.success(), "{}", String::from_utf8_lossy(&run.stderr));
    let s = status(d)?;
    for p in PIPELINES {
        assert_eq!(s[p]["status"], "success", "{p}: {}", s[p]);
        assert_eq!(s[p]["balanced"], "true", "{p}");
    }
    let dinkes = &s["dinkes-kunjungan-puskesmas"];
    assert_eq!(
        [
            &dinkes["read"],
            &dinkes["inserted"],
            &dinkes["rejected"],
            &dinkes["filtered"],
            &dinkes["duplicates"]
        ],
        [23, 16, 5, 1, 1]
    );
    assert_eq!(s["dispendukcapil-penduduk"]["inserted"], 36);

    // Canonical rows joined to region names.
    let rows = query(
        d,
        "SELECT w.nama, o.periode, o.dimensi_kunci, o.nilai, o.status_nilai FROM dw.observasi o \
         JOIN ref.wilayah w ON w.kode = o.kode_wilayah \
         WHERE o.indikator = 'kes.kunjungan_puskesmas' AND o.kode_wilayah = '35.76.02.1003' AND o.berlaku_sampai IS NULL \
         ORDER BY o.dimensi_kunci",
    )?;
    assert_eq!(rows.len(), 2);
    assert_eq!(rows[1]["nama"], "Magersari");
    assert_eq!(rows[1]["periode"], "2024-02");
    assert_eq!(rows[1]["dimensi_kunci"], "jenis_kelamin=P|jenis_kunjungan=BARU");
    assert_eq!(rows[1]["nilai"], 1234);
    let ipm = query(d, "SELECT periode, nilai, status_nilai FROM dw.observasi WHERE indikator = 'pembangunan.ipm' ORDER BY periode")?;
    assert_eq!(ipm[2], serde_json::json!({ "periode": "2023", "nilai": 79.92, "status_nilai": "sementara" }));
    let ta = query(d, "SELECT p.mulai, p.selesai FROM ref.periode p WHERE p.kode = 'TA2024/2025'")?;
    assert_eq!(ta, vec![serde_json::json!({ "mulai": "2024-07-01", "selesai": "2025-06-30" })]);

    // The bad number and the unknown kelurahan are quarantined with reason and location.
    let rejects = query(d, "SELECT rule, raw_value, location, message FROM etl.reject WHERE pipeline = 'dinkes-kunjungan-puskesmas' ORDER BY id")?;
    let find = |rule: &str| rejects.iter().find(|r| r["rule"] == rule).cloned().unwrap_or_default();
    assert_eq!(find("angka_tidak_valid")["raw_value"], "3O");
    assert_eq!(find("angka_tidak_valid")["location"], "demo/data/dinkes_kunjungan_puskesmas.csv:11");
    assert_eq!(find("wilayah_tidak_dikenal")["raw_value"], "Sooko");
    assert_eq!(find("wilayah_tidak_dikenal")["location"], "demo/data/dinkes_kunjungan_puskesmas.csv:13");
    assert_eq!(find("angka_ambigu")["raw_value"], "1,045");

    // A second run inserts nothing.
    let again = satu(d, &["run", "--all"])?;
    assert!(again.status.success(), "{}", String::from_utf8_lossy(&again.stderr));
    let s = status(d)?;
    for p in PIPELINES {
        assert_eq!(s[p]["inserted"], 0, "{p}");
        assert_eq!(s[p]["updated"], 0, "{p}");
        assert_eq!(s[p]["balanced"], "true", "{p}");
    }
    let total = query(d, "SELECT count(*) AS n FROM dw.observasi")?;
    assert_eq!(total[0]["n"], 61);

    // Changing one value revises exactly one cell and keeps the old version.
    let csv = d.join("demo/data/dinkes_kunjungan_puskesmas.csv");
    let text = std::fs::read(&csv)?;
    let changed = String::from_utf8(text)?.replace(";LK;LAMA;987;", ";LK;LAMA;990;");
    std::fs::write(&csv, changed)?;
    let third = satu(d, &["run", "dinkes-kunjungan-puskesmas"])?;
    assert!(third.status.success(), "{}", String::from_utf8_lossy(&third.stderr));
    let s = status(d)?;
    assert_eq!(s["dinkes-kunjungan-puskesmas"]["updated"], 1);
    assert_eq!(s["dinkes-kunjungan-puskesmas"]["inserted"], 0);
    let history = query(
        d,
        "SELECT nilai, berlaku_sampai IS NULL AS kini FROM dw.observasi WHERE kode_wilayah = '35.76.02.1003' \
         AND dimensi_kunci = 'jenis_kelamin=L|jenis_kunjungan=LAMA' ORDER BY id",
    )?;
    assert_eq!(
        history,
        vec![serde_json::json!({ "nilai": 987, "kini": 0 }), serde_json::json!({ "nilai": 990, "kini": 1 })]
    );
    Ok(())
}

#[test]
fn one_broken_pipeline_does_not_stop_the_others() -> TestResult {
    let dir = demo_copy()?;
    let d = dir.path();
    std::fs::remove_file(d.join("demo/data/bappeda_ipm.tsv"))?;
    let run = satu(d, &["run", "--all"])?;
    assert_eq!(run.status.code(), Some(1), "{}", String::from_utf8_lossy(&run.stderr));
    let logs = String::from_utf8_lossy(&run.stderr);
    assert!(logs.contains("bappeda_ipm.tsv"), "the failure names the file: {logs}");
    let s = status(d)?;
    assert_eq!(s["bappeda-ipm"]["status"], "failed");
    assert!(s["bappeda-ipm"]["error"].as_str().is_some_and(|e| e.contains("demo/data/bappeda_ipm.tsv")));
    for p in &PIPELINES[..3] {
        assert_eq!(s[*p]["status"], "success", "{p}");
    }
    Ok(())
}

/// Analyst SQL that must give the same answers on every warehouse backend.
const ANALYST_SQL: [&str; 5] = [
    "SELECT w.nama, o.periode, o.dimensi_kunci, o.nilai, o.status_nilai FROM dw.observasi o \
     JOIN ref.wilayah w ON w.kode = o.kode_wilayah WHERE o.berlaku_sampai IS NULL \
     ORDER BY o.indikator, o.kode_wilayah, o.periode, o.dimensi_kunci",
    "SELECT o.indikator, i.satuan, count(*) AS n, sum(o.nilai) AS total FROM dw.observasi o \
     JOIN meta.indikator i ON i.kode = o.indikator GROUP BY o.indikator, i.satuan ORDER BY o.indikator",
    "SELECT k.nama AS kecamatan, sum(o.nilai) AS penduduk FROM dw.observasi o \
     JOIN ref.wilayah w ON w.kode = o.kode_wilayah JOIN ref.wilayah k ON k.kode = w.kode_induk \
     WHERE o.indikator = 'kependudukan.jumlah_penduduk' GROUP BY k.nama ORDER BY k.nama",
    "SELECT rule, count(*) AS n FROM etl.reject GROUP BY rule ORDER BY rule",
    "SELECT p.kode, p.jenis, p.mulai, p.selesai FROM ref.periode p ORDER BY p.kode",
];

#[test]
fn the_demo_gives_the_same_answers_on_postgresql() -> TestResult {
    let rt = tokio::runtime::Runtime::new()?;
    let Some(db) = rt.block_on(satu_testkit::PgTestDb::create()) else { return Ok(()) };
    let sqlite = demo_copy()?;
    let pg = demo_copy()?;
    let run_pg = |args: &[&str]| {
        std::process::Command::new(env!("CARGO_BIN_EXE_satu"))
            .current_dir(pg.path())
            .args(args)
            .env("SATU_WAREHOUSE__URL", &db.url)
            .env("SATU_LOG_FORMAT", "json")
            .output()
    };
    for _ in 0..2 {
        let out = satu(sqlite.path(), &["run", "--all"])?;
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
        let out = run_pg(&["run", "--all"])?;
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    }
    assert!(!pg.path().join("warehouse.db").exists(), "the override sent everything to PostgreSQL");
    for sql in ANALYST_SQL {
        let expected = query(sqlite.path(), sql)?;
        let out = run_pg(&["query", "--format", "json", sql])?;
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
        let got: Vec<serde_json::Value> = serde_json::from_slice(&out.stdout)?;
        assert!(!expected.is_empty(), "{sql}");
        assert_eq!(got, expected, "{sql}");
    }
    let out = run_pg(&["status", "--format", "json"])?;
    let status: Vec<serde_json::Value> = serde_json::from_slice(&out.stdout)?;
    assert_eq!(status.len(), 4);
    assert!(status.iter().all(|s| s["status"] == "success" && s["inserted"] == 0 && s["balanced"] == "true"));
    drop(db);
    Ok(())
}

/// SHA-256 of a file, hex.
fn sha256_hex(path: &std::path::Path) -> std::io::Result<String> {
    use sha2::Digest;
    Ok(sha2::Sha256::digest(std::fs::read(path)?).iter().map(|b| format!("{b:02x}")).collect())
}

#[test]
fn every_raw_batch_lands_in_avro_and_old_runs_are_retired() -> TestResult {
    let dir = demo_copy()?;
    let d = dir.path();
    let toml = std::fs::read_to_string(d.join("pipelines.toml"))? + "\n[landing]\nkeep_runs = 2\n";
    std::fs::write(d.join("pipelines.toml"), toml)?;
    for _ in 0..3 {
        let run = satu(d, &["run", "--all"])?;
        assert!(run.status.success(), "{}", String::from_utf8_lossy(&run.stderr));
    }
    let s = status(d)?;
    for p in PIPELINES {
        let runs = satu_landing::runs(&d.join("landing"), p)?;
        assert_eq!(runs.len(), 2, "{p}: retention keeps the newest two runs");
        let (run_id, run_dir) = runs.last().cloned().ok_or("no landed run")?;
        assert_eq!(serde_json::json!(run_id), s[p]["run"]);
        let manifest = satu_landing::read_manifest(&run_dir)?;
        assert_eq!(manifest.status, "success");
        assert_eq!(serde_json::json!(manifest.rows), s[p]["read"], "{p}: every row read is landed");
        for f in &manifest.files {
            assert_eq!(sha256_hex(&run_dir.join(&f.name))?, f.sha256);
        }
        let inspect = satu(d, &["landing", "inspect", &run_dir.to_string_lossy(), "--rows", "1"])?;
        assert!(inspect.status.success(), "{}", String::from_utf8_lossy(&inspect.stderr));
        let seen: serde_json::Value = serde_json::from_slice(&inspect.stdout)?;
        assert_eq!(seen["rows"].as_array().map(Vec::len), Some(1));
        assert_eq!(seen["manifest"]["run_id"], serde_json::json!(run_id));
    }

    // An independent Avro reader (Python's fastavro) reads the files back.
    let has_fastavro = std::process::Command::new("python3")
        .args(["-c", "import fastavro"])
        .status()
        .is_ok_and(|s| s.success());
    if !has_fastavro {
        assert_ne!(std::env::var("CI").as_deref(), Ok("true"), "CI must have fastavro (.ci/run installs it)");
        eprintln!("skipped the fastavro check: pip install fastavro");
        return Ok(());
    }
    let script = r#"
import fastavro, glob, json, os, sys
out = {}
for path in sorted(glob.glob(os.path.join(sys.argv[1], "*/*/*/part-*.avro"))):
    with open(path, "rb") as f:
        r = fastavro.reader(f)
        rows = list(r)
    pipeline = path.split(os.sep)[-4]
    out.setdefault(pipeline, []).extend(rows)
print(json.dumps(out))
"#;
    let read = std::process::Command::new("python3")
        .args(["-c", script, &d.join("landing").to_string_lossy()])
        .output()?;
    assert!(read.status.success(), "{}", String::from_utf8_lossy(&read.stderr));
    let landed: serde_json::Value = serde_json::from_slice(&read.stdout)?;
    let dinkes = landed["dinkes-kunjungan-puskesmas"].as_array().ok_or("no dinkes rows")?;
    assert_eq!(dinkes.len(), 2 * 23, "two kept runs of 23 rows");
    let three_o = dinkes.iter().find(|r| r["jumlah"] == "3O").ok_or("the raw `3O` is kept as read")?;
    assert_eq!(three_o["_lokasi"], "demo/data/dinkes_kunjungan_puskesmas.csv:11");
    Ok(())
}

#[test]
fn replay_applies_a_changed_transform_without_the_source() -> TestResult {
    let dir = demo_copy()?;
    let d = dir.path();
    let run = satu(d, &["run", "--all"])?;
    assert!(run.status.success(), "{}", String::from_utf8_lossy(&run.stderr));
    let state_before = query(d, "SELECT pipeline, state FROM etl.state ORDER BY pipeline")?;

    // The transform changes (the unit of an indicator), and the OPD's file is gone.
    let fixed = std::fs::read_to_string(d.join("pipelines.toml"))?
        .replace("satuan = \"kunjungan\"", "satuan = \"kali kunjungan\"");
    std::fs::write(d.join("pipelines.toml"), &fixed)?;
    std::fs::remove_file(d.join("demo/data/dinkes_kunjungan_puskesmas.csv"))?;

    let replay = satu(d, &["replay", "dinkes-kunjungan-puskesmas"])?;
    assert!(replay.status.success(), "{}", String::from_utf8_lossy(&replay.stderr));
    let s = status(d)?;
    let r = &s["dinkes-kunjungan-puskesmas"];
    assert_eq!(r["mode"], "replay");
    assert_eq!([&r["read"], &r["updated"], &r["inserted"], &r["rejected"]], [23, 16, 0, 5], "{r}");
    assert_eq!(r["balanced"], "true");
    assert_eq!(
        query(d, "SELECT pipeline, state FROM etl.state ORDER BY pipeline")?,
        state_before,
        "a replay never moves the source position"
    );

    // The corrected state equals a fresh run of the new transform on the same data.
    let fresh = demo_copy()?;
    std::fs::write(fresh.path().join("pipelines.toml"), &fixed)?;
    let out = satu(fresh.path(), &["run", "dinkes-kunjungan-puskesmas"])?;
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let current =
        "SELECT dataset, indikator, kode_wilayah, periode, dimensi_kunci, nilai, satuan, status_nilai, \
                   nilai_mentah, lokasi_sumber FROM dw.observasi WHERE berlaku_sampai IS NULL \
                   AND dataset = 'kunjungan-puskesmas-bulanan' ORDER BY kode_wilayah, periode, dimensi_kunci";
    let (replayed, rebuilt) = (query(d, current)?, query(fresh.path(), current)?);
    assert_eq!(replayed.len(), 16);
    assert!(replayed == rebuilt, "the replayed state differs from a fresh run of the new transform");

    // A second replay changes nothing.
    let again = satu(d, &["replay", "dinkes-kunjungan-puskesmas"])?;
    assert!(again.status.success(), "{}", String::from_utf8_lossy(&again.stderr));
    let s = status(d)?;
    let r = &s["dinkes-kunjungan-puskesmas"];
    assert_eq!([&r["updated"], &r["inserted"], &r["unchanged"]], [0, 0, 16], "{r}");

    // By run id too; an unknown run is a clear error.
    let by_id = satu(d, &["replay", "1"])?;
    assert!(by_id.status.success(), "{}", String::from_utf8_lossy(&by_id.stderr));
    let missing = satu(d, &["replay", "999"])?;
    assert_eq!(missing.status.code(), Some(2));
    Ok(())
}
