//! `satu report`: the walidata's morning page — on time, late and never-delivered OPD datasets,
//! with rejection reasons — as CSV, and as HTML opened in a real headless Chromium.

mod common;

use sqlx::Connection;
use std::collections::HashMap;

type TestResult = Result<(), Box<dyn std::error::Error>>;

#[tokio::test]
async fn the_report_tells_who_delivered_who_is_late_and_why_rows_were_rejected() -> TestResult {
    let dir = common::demo_copy()?;
    let run = common::satu(
        dir.path(),
        &["run", "dinkes-kunjungan-puskesmas", "dispendukcapil-penduduk", "disdik-peserta-didik-sd"],
    )?;
    assert!(run.status.success(), "{}", String::from_utf8_lossy(&run.stderr));
    // Dispendukcapil last delivered long ago: its semesteran dataset is late.
    let mut etl = sqlx::SqliteConnection::connect(&format!(
        "sqlite://{}",
        dir.path().join("warehouse.etl.db").display()
    ))
    .await?;
    sqlx::query(
        "UPDATE run SET started_at = '2025-01-01T00:00:00.000Z', finished_at = '2025-01-01T00:01:00.000Z' \
         WHERE pipeline = 'dispendukcapil-penduduk'",
    )
    .execute(&mut etl)
    .await?;
    etl.close().await?;

    let out = common::satu(dir.path(), &["report", "--format", "csv"])?;
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let mut reader = csv::Reader::from_reader(out.stdout.as_slice());
    let rows: Vec<HashMap<String, String>> = reader.deserialize().collect::<Result<_, _>>()?;
    let row = |p: &str| rows.iter().find(|r| r["pipeline"] == p).cloned().unwrap_or_default();
    assert_eq!(rows.len(), 4, "{rows:?}");
    assert_eq!(row("dinkes-kunjungan-puskesmas")["freshness"], "on_time");
    assert_eq!(row("disdik-peserta-didik-sd")["freshness"], "on_time");
    assert_eq!(row("dispendukcapil-penduduk")["freshness"], "late");
    assert_eq!(row("bappeda-ipm")["freshness"], "never");
    assert_eq!(row("bappeda-ipm")["last_status"], "never run");
    let dinkes = row("dinkes-kunjungan-puskesmas");
    assert_eq!(dinkes["opd"], "DINKES-3576");
    assert_eq!(dinkes["frequency"], "bulanan");
    assert_eq!(dinkes["rows_rejected"], "5");
    assert!(dinkes["reject_reasons"].contains("angka_ambigu=1"), "{dinkes:?}");
    assert!(!dinkes["reject_reasons"].contains("duplikat"), "duplicates are not rejections: {dinkes:?}");
    assert!(row("dispendukcapil-penduduk")["age_days"].parse::<f64>()? > 300.0);

    let table = common::satu(dir.path(), &["report"])?;
    assert!(String::from_utf8(table.stdout)?.contains("2 on time, 1 late, 1 never delivered"));

    // The HTML page, in a real browser: rendered, with the late and never-delivered badges.
    let shot = dir.path().join("laporan.png");
    let script = common::repo().join("scripts/report-screenshot.sh");
    let chromium = ["chromium", "chromium-browser"].iter().any(|b| which(b));
    if !chromium {
        assert_ne!(std::env::var("CI").as_deref(), Ok("true"), "CI=true but chromium is not installed");
        eprintln!("skipped the browser check: apt-get install chromium");
        return Ok(());
    }
    let out = std::process::Command::new(&script)
        .current_dir(dir.path())
        .env("SATU_BIN", env!("CARGO_BIN_EXE_satu"))
        .env_remove("SATU_CONFIG")
        .arg(&shot)
        .output()?;
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let png = std::fs::read(&shot)?;
    assert!(png.starts_with(b"\x89PNG\r\n\x1a\n") && png.len() > 10_000, "{} bytes", png.len());
    let html = dir.path().join("laporan.html");
    let dom = std::process::Command::new(if which("chromium") { "chromium" } else { "chromium-browser" })
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-background-networking",
            "--disable-component-update",
            "--no-first-run",
            &format!("--user-data-dir={}", dir.path().join("profile").display()),
            "--dump-dom",
        ])
        .arg(format!("file://{}", html.display()))
        .output()?;
    let dom = String::from_utf8(dom.stdout)?;
    assert!(dom.contains("Laporan Walidata"), "{dom}");
    assert!(dom.contains("<span class=\"badge late\">Terlambat</span>"), "{dom}");
    assert!(dom.contains("<span class=\"badge never\">Belum pernah dikirim</span>"), "{dom}");
    assert!(dom.contains("Dinas Kesehatan Kota Mojokerto"), "{dom}");
    Ok(())
}

fn which(program: &str) -> bool {
    std::process::Command::new("sh")
        .args(["-c", &format!("command -v {program}")])
        .output()
        .is_ok_and(|o| o.status.success())
}
