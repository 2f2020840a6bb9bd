//! A canonical pipeline fed by an OPD's paginated REST API (a real local HTTP server), end to
//! end through the `satu` binary: values land with lineage to the exact response (its SHA-256,
//! kept in the landing zone), an incremental re-harvest with nothing modified loads nothing, and
//! the API token appears neither in the logs nor in the warehouse.

mod common;

use axum::extract::Query;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;
use serde_json::{json, Value};
use std::collections::HashMap;

type TestResult = Result<(), Box<dyn std::error::Error>>;

const TOKEN: &str = "rahasia-token-simpus-8f2c";

/// Visits per kelurahan and month, as the puskesmas application's API pages them (two per page,
/// numbers as numbers or as Indonesian text, one record listed twice), filtered by
/// `updated_since`.
async fn kunjungan(headers: HeaderMap, Query(q): Query<HashMap<String, String>>) -> Response {
    if headers.get("authorization").and_then(|v| v.to_str().ok()) != Some(&format!("Bearer {TOKEN}")) {
        return StatusCode::UNAUTHORIZED.into_response();
    }
    let rows = [
        json!({ "id": 1, "lokasi": { "kelurahan": "Kel. Magersari" }, "tahun": 2024, "bulan": "Januari", "jk": "L", "jenis": "BARU", "jumlah": 1234, "diubah": "2024-02-01T08:00:00" }),
        json!({ "id": 2, "lokasi": { "kelurahan": "Gunung Gedangan" }, "tahun": 2024, "bulan": "Januari", "jk": "P", "jenis": "LAMA", "jumlah": "1.507", "diubah": "2024-02-01T08:00:00" }),
        json!({ "id": 3, "lokasi": { "kelurahan": "Prajurit Kulon" }, "tahun": 2024, "bulan": "Februari", "jk": "L", "jenis": "BARU", "jumlah": "88", "diubah": "2024-03-01T08:00:00" }),
        json!({ "id": 4, "lokasi": { "kelurahan": "Kelurahan Antah" }, "tahun": 2024, "bulan": "Februari", "jk": "P", "jenis": "BARU", "jumlah": "12", "diubah": "2024-03-02T08:00:00" }),
        json!({ "id": 5, "lokasi": { "kelurahan": "Meri" }, "tahun": 2024, "bulan": "Maret", "jk": "P", "jenis": "LAMA", "jumlah": 45, "diubah": "2024-04-01T08:00:00" }),
        // The first record again, on the last page (the application lists it twice).
        json!({ "id": 1, "lokasi": { "kelurahan": "Kel. Magersari" }, "tahun": 2024, "bulan": "Januari", "jk": "L", "jenis": "BARU", "jumlah": 1234, "diubah": "2024-02-01T08:00:00" }),
    ];
    let since = q.get("updated_since").cloned().unwrap_or_default();
    let fresh: Vec<&Value> =
        rows.iter().filter(|r| r["diubah"].as_str().unwrap_or("") > since.as_str()).collect();
    let page: usize = q.get("page").and_then(|p| p.parse().ok()).unwrap_or(1);
    let items: Vec<&Value> = fresh.iter().skip((page - 1) * 2).take(2).copied().collect();
    axum::Json(json!({ "data": items, "meta": { "page": page, "total": fresh.len() } })).into_response()
}

const CONFIG: &str = r#"
[warehouse]
url = "sqlite://warehouse.db"

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
name = "simpus-api"
opd = "DINKES-3576"
[pipeline.source]
type = "rest"
url = "BASE/api/kunjungan"
records = "data"
total = "meta.total"
pagination = { type = "page", param = "page" }
auth = { type = "bearer", token = "${SIMPUS_TOKEN}" }
incremental = { param = "updated_since", field = "diubah" }
[pipeline.target]
dataset = "kunjungan-puskesmas-bulanan"
indikator = "kes.kunjungan_puskesmas"
wilayah = { column = "lokasi.kelurahan", level = "kelurahan", within = "35.76" }
periode = { tahun = "tahun", bulan = "bulan" }
nilai = { column = "jumlah", integer = true }
dimensi = { jenis_kelamin = "jk", jenis_kunjungan = "jenis" }
"#;

#[tokio::test(flavor = "multi_thread")]
async fn a_paginated_opd_api_loads_exactly_once_without_leaking_its_token() -> TestResult {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let base = format!("http://{}", listener.local_addr()?);
    tokio::spawn(async move {
        let _ = axum::serve(listener, Router::new().route("/api/kunjungan", get(kunjungan))).await;
    });
    let dir = tempfile::tempdir()?;
    std::fs::write(dir.path().join("pipelines.toml"), CONFIG.replace("BASE", &base))?;
    let path = dir.path().to_path_buf();
    let run = move |args: &'static [&'static str]| {
        let path = path.clone();
        tokio::task::spawn_blocking(move || {
            std::process::Command::new(env!("CARGO_BIN_EXE_satu"))
                .current_dir(&path)
                .args(args)
                .env_remove("SATU_CONFIG")
                .env("SATU_LOG_FORMAT", "json")
                .env("SATU_LOG", "debug")
                .env("SIMPUS_TOKEN", TOKEN)
                .output()
        })
    };

    let out = run(&["run", "simpus-api"]).await??;
    let logs = String::from_utf8_lossy(&out.stderr).to_string();
    assert!(out.status.success(), "{logs}");
    let s = common::status(dir.path())?;
    let r = &s["simpus-api"];
    assert_eq!([&r["read"], &r["inserted"], &r["rejected"], &r["duplicates"]], [6, 4, 1, 1], "{r}");
    assert_eq!(r["balanced"], "true");
    // Numbers sent as numbers and as Indonesian text are read alike, exactly.
    let values = common::query(
        dir.path(),
        "SELECT kode_wilayah, nilai, lokasi_sumber FROM dw.observasi ORDER BY kode_wilayah, periode",
    )?;
    let gedangan = values.iter().find(|v| v["kode_wilayah"] == "35.76.02.1001").ok_or("Gunung Gedangan")?;
    assert_eq!(gedangan["nilai"], 1507);
    // Every value traces to a page and the hash of the response that carried it.
    let lokasi = gedangan["lokasi_sumber"].as_str().unwrap_or_default();
    assert!(lokasi.starts_with(&format!("{base}/api/kunjungan?page=1 #1 sha256:")), "{lokasi}");
    let hash = lokasi.rsplit("sha256:").next().unwrap_or_default();
    let kept: Vec<String> = std::fs::read_dir(dir.path().join("landing/simpus-api/responses"))?
        .filter_map(|e| e.ok().map(|e| e.file_name().to_string_lossy().to_string()))
        .collect();
    assert!(kept.iter().any(|f| f.starts_with(hash)), "{hash} in {kept:?}");
    let reject = common::query(dir.path(), "SELECT rule, location FROM etl.reject")?;
    assert_eq!(reject[0]["rule"], "wilayah_tidak_dikenal");
    assert!(reject[0]["location"].as_str().unwrap_or_default().contains("?page=2 #1 sha256:"), "{reject:?}");

    // Nothing modified at the source: the incremental harvest loads nothing.
    let out = run(&["run", "simpus-api"]).await??;
    let logs2 = String::from_utf8_lossy(&out.stderr).to_string();
    assert!(out.status.success(), "{logs2}");
    let r = &common::status(dir.path())?["simpus-api"];
    assert_eq!([&r["read"], &r["inserted"], &r["updated"]], [0, 0, 0], "{r}");

    // The token is in neither the logs (at debug level) nor anywhere in the warehouse.
    assert!(!logs.contains(TOKEN) && !logs2.contains(TOKEN), "the token leaked into the logs");
    for file in std::fs::read_dir(dir.path())? {
        let file = file?.path();
        if file.extension().is_some_and(|e| e == "db") {
            let bytes = std::fs::read(&file)?;
            assert!(
                !bytes.windows(TOKEN.len()).any(|w| w == TOKEN.as_bytes()),
                "token in {}",
                file.display()
            );
        }
    }
    Ok(())
}
