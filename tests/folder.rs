//! The drop folder end to end, through the `satu` binary: files load once; the same file again
//! is a no-op; a corrected file replaces exactly the observations of its earlier version and
//! nothing else; a broken file is set aside with its reason while the others load; loaded files
//! move to `processed/` once the warehouse has them.

mod common;

use std::path::Path;

type TestResult = Result<(), Box<dyn std::error::Error>>;

/// A current observation: location, dimension key, value, run.
type Current = (String, String, i64, i64);

fn current(dir: &Path) -> Result<Vec<Current>, Box<dyn std::error::Error>> {
    let rows = common::query(
        dir,
        "SELECT lokasi_sumber, dimensi_kunci, nilai, run_id FROM dw.observasi WHERE berlaku_sampai IS NULL \
         ORDER BY lokasi_sumber",
    )?;
    Ok(rows
        .iter()
        .map(|r| {
            (
                r["lokasi_sumber"].as_str().unwrap_or_default().to_string(),
                r["dimensi_kunci"].as_str().unwrap_or_default().to_string(),
                r["nilai"].as_i64().unwrap_or_default(),
                r["run_id"].as_i64().unwrap_or_default(),
            )
        })
        .collect())
}

fn run(dir: &Path) -> Result<serde_json::Value, Box<dyn std::error::Error>> {
    let out = common::satu(dir, &["run", "kotak-masuk"])?;
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    Ok(common::status(dir)?["kotak-masuk"].clone())
}

#[test]
fn a_drop_folder_loads_each_file_version_exactly_once() -> TestResult {
    let dir = tempfile::tempdir()?;
    let d = dir.path();
    let pipeline = common::penduduk_pipeline(
        "kotak-masuk",
        r#"{ type = "folder", path = "inbox", pattern = "*.csv", read = { type = "csv", delimiter = ";" } }"#,
        "kelurahan",
    );
    std::fs::write(d.join("pipelines.toml"), format!("{}{pipeline}", common::PENDUDUK_KELURAHAN))?;
    let inbox = d.join("inbox");
    std::fs::create_dir_all(&inbox)?;
    std::fs::write(
        inbox.join("a.csv"),
        "kelurahan;jk;periode;jumlah\nMagersari;L;2024-S1;100\nMagersari;P;2024-S1;110\nMeri;L;2024-S1;50\n",
    )?;
    std::fs::write(
        inbox.join("b.csv"),
        "kelurahan;jk;periode;jumlah\nKauman;L;2024-S1;70\nKauman;P;2024-S1;75\n",
    )?;
    std::fs::write(inbox.join("c.csv"), "kelurahan;jk;periode;jumlah\nMiji;L;2024-S1;12\nMiji;P\n")?;
    std::fs::write(inbox.join("catatan.txt"), "not a csv: the pattern leaves it alone")?;

    // The broken file is set aside with its reason; the others load.
    let r = run(d)?;
    assert_eq!([&r["read"], &r["inserted"], &r["deleted"]], [5, 5, 0], "{r}");
    assert!(inbox.join("failed/c.csv").exists());
    let reason = std::fs::read_to_string(inbox.join("failed/c.csv.error.txt"))?;
    assert!(reason.contains("inbox/c.csv:3"), "{reason}");
    assert!(inbox.join("catatan.txt").exists());
    let first = current(d)?;
    assert_eq!(first.len(), 5);

    // Nothing new: nothing read; the loaded files move to processed/ now that they are committed.
    let r = run(d)?;
    assert_eq!([&r["read"], &r["inserted"]], [0, 0], "{r}");
    assert!(inbox.join("processed/a.csv").exists() && inbox.join("processed/b.csv").exists());
    assert!(!inbox.join("a.csv").exists());

    // A corrected a.csv: one value changed, one row gone. Only a.csv's observations change.
    std::fs::write(
        inbox.join("a.csv"),
        "kelurahan;jk;periode;jumlah\nMagersari;L;2024-S1;101\nMagersari;P;2024-S1;110\n",
    )?;
    let r = run(d)?;
    assert_eq!([&r["read"], &r["inserted"], &r["deleted"]], [2, 2, 3], "{r}");
    assert_eq!(r["balanced"], "true");
    let now = current(d)?;
    let from_a: Vec<_> =
        now.iter().filter(|o| o.0.starts_with("inbox/a.csv:")).map(|o| (o.1.as_str(), o.2)).collect();
    assert_eq!(from_a, [("jenis_kelamin=L", 101), ("jenis_kelamin=P", 110)]);
    let from_b_before: Vec<_> = first.iter().filter(|o| o.0.starts_with("inbox/b.csv:")).collect();
    let from_b_now: Vec<_> = now.iter().filter(|o| o.0.starts_with("inbox/b.csv:")).collect();
    assert_eq!(from_b_now, from_b_before, "b.csv's slice is untouched");
    assert!(now.iter().all(|o| !o.1.is_empty() && !o.0.contains("Meri")));
    let meri = common::query(d, "SELECT count(*) AS n FROM dw.observasi WHERE kode_wilayah = '35.76.03.1003' AND berlaku_sampai IS NULL")?;
    assert_eq!(meri[0]["n"], 0, "Meri is gone from the new version");

    // The same version dropped again: a no-op.
    run(d)?;
    std::fs::copy(inbox.join("processed/a.csv"), inbox.join("a.csv"))?;
    let r = run(d)?;
    assert_eq!([&r["read"], &r["inserted"], &r["deleted"]], [0, 0, 0], "{r}");
    assert_eq!(current(d)?, now);
    Ok(())
}
