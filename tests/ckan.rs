//! Fixture F4 of DOMAIN.md: a CKAN DataStore resource (a real local HTTP server) read through the
//! `satu` binary. Pages of 4 sorted by `_id`, total 8; a BOM on the first field id; every field
//! text; numbers like `23.456`; kecamatan codes mixing BPS 7-digit and Kemendagri 6-digit codes;
//! case variants; two kota-level total rows; a last page with `records: []` but a `_links.next`.

mod common;

use axum::extract::{Query, State};
use axum::routing::get;
use axum::Router;
use serde_json::{json, Value};
use std::collections::HashMap;
use std::sync::{Arc, Mutex};

type TestResult = Result<(), Box<dyn std::error::Error>>;

/// The portal's state: the resource's modification time and the requests it served.
#[derive(Default)]
struct Portal {
    last_modified: Mutex<String>,
    searches: Mutex<Vec<String>>,
}

fn records() -> Vec<Value> {
    let row = |id: u64, kode: &str, nama: &str, jk: &str, jumlah: &str| {
        json!({ "_id": id, "\u{feff}kode_wilayah": kode, "nama_wilayah": nama, "jenis_kelamin": jk,
                "tahun": "2024", "jumlah": jumlah })
    };
    vec![
        row(1, "3576010", "PRAJURIT KULON", "Laki-laki", "23.456"),
        row(2, "3576010", "Prajurit Kulon", "PEREMPUAN", "23.789"),
        row(3, "3576", "KOTA MOJOKERTO", "laki-laki", "62.580"),
        row(4, "357602", "Magersari", "L", "20.123"),
        row(5, "357602", "magersari", "P", "20.456"),
        row(6, "3576021", "KRANGGAN", "Laki-Laki", "19.001"),
        row(7, "3576021", "Kranggan", "perempuan", "19.222"),
        // The sum of the kecamatan rows is 63.467: this total disagrees.
        row(8, "3576", "Kota Mojokerto", "Perempuan", "63.500"),
    ]
}

async fn resource_show(State(p): State<Arc<Portal>>) -> axum::Json<Value> {
    let modified = p.last_modified.lock().map(|m| m.clone()).unwrap_or_default();
    axum::Json(
        json!({ "success": true, "result": { "id": "f4", "datastore_active": true, "last_modified": modified,
                                                   "metadata_modified": "2024-01-01T00:00:00" } }),
    )
}

async fn datastore_search(
    State(p): State<Arc<Portal>>,
    Query(q): Query<HashMap<String, String>>,
) -> axum::Json<Value> {
    if let Ok(mut s) = p.searches.lock() {
        s.push(format!("offset={} limit={} sort={}", q["offset"], q["limit"], q["sort"]));
    }
    let offset: usize = q.get("offset").and_then(|o| o.parse().ok()).unwrap_or(0);
    let limit: usize = q.get("limit").and_then(|l| l.parse().ok()).unwrap_or(100);
    let page: Vec<Value> = records().into_iter().skip(offset).take(limit).collect();
    axum::Json(json!({ "success": true, "result": {
        "resource_id": "f4",
        "fields": [{ "id": "_id", "type": "int" }, { "id": "\u{feff}kode_wilayah", "type": "text" },
                   { "id": "nama_wilayah", "type": "text" }, { "id": "jenis_kelamin", "type": "text" },
                   { "id": "tahun", "type": "text" }, { "id": "jumlah", "type": "text" }],
        "records": page,
        "total": 8,
        "_links": { "start": "/api/3/action/datastore_search?resource_id=f4",
                    "next": format!("/api/3/action/datastore_search?resource_id=f4&offset={}", offset + limit) }
    } }))
}

const CONFIG: &str = r#"
[warehouse]
url = "sqlite://warehouse.db"

[[organisation]]
code = "DISPENDUKCAPIL-3576"
name = "Dinas Kependudukan dan Pencatatan Sipil Kota Mojokerto"

[[dataset]]
slug = "penduduk-kecamatan-jk"
title = "Jumlah Penduduk Menurut Kecamatan dan Jenis Kelamin 2024"
opd = "DISPENDUKCAPIL-3576"
frequency = "tahunan"

[[indicator]]
code = "kependudukan.jumlah_penduduk"
name = "Jumlah penduduk"
satuan = "jiwa"
dimensi = ["jenis_kelamin"]

[[pipeline]]
name = "ckan-penduduk"
opd = "DISPENDUKCAPIL-3576"
source = { type = "ckan", portal = "BASE", resource_id = "f4", limit = 4 }
[pipeline.target]
dataset = "penduduk-kecamatan-jk"
indikator = "kependudukan.jumlah_penduduk"
wilayah = { column = "kode_wilayah", name_column = "nama_wilayah", level = "kecamatan", within = "35.76",
            codes = "campuran", totals = ["kabkota"] }
periode = { tahun = "tahun" }
nilai = { column = "jumlah", integer = true }
dimensi = { jenis_kelamin = "jenis_kelamin" }
"#;

#[tokio::test(flavor = "multi_thread")]
async fn f4_ckan_datastore_loads_as_specified() -> TestResult {
    let portal = Arc::new(Portal::default());
    if let Ok(mut m) = portal.last_modified.lock() {
        *m = "2024-06-01T00:00:00".into();
    }
    let app = Router::new()
        .route("/api/3/action/resource_show", get(resource_show))
        .route("/api/3/action/datastore_search", get(datastore_search))
        .with_state(portal.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let base = format!("http://{}", listener.local_addr()?);
    tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    let dir = tempfile::tempdir()?;
    std::fs::write(dir.path().join("pipelines.toml"), CONFIG.replace("BASE", &base))?;
    let run = || {
        let path = dir.path().to_path_buf();
        tokio::task::spawn_blocking(move || common::satu(&path, &["run", "ckan-penduduk"]))
    };

    let out = run().await??;
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let r = &common::status(dir.path())?["ckan-penduduk"];
    assert_eq!([&r["read"], &r["inserted"], &r["rejected"]], [8, 8, 0], "{r}");
    let searches = portal.searches.lock().map(|s| s.clone()).unwrap_or_default();
    assert_eq!(
        searches,
        ["offset=0 limit=4 sort=_id", "offset=4 limit=4 sort=_id"],
        "stops at offset ≥ total, never follows _links.next"
    );

    // BPS and Kemendagri codes land on Kemendagri codes; the kota rows at level 2.
    let rows = common::query(
        dir.path(),
        "SELECT o.kode_wilayah, w.level, o.dimensi_kunci, o.nilai FROM dw.observasi o \
         JOIN ref.wilayah w ON w.kode = o.kode_wilayah ORDER BY o.kode_wilayah, o.dimensi_kunci",
    )?;
    let got: Vec<(String, i64, String, i64)> = rows
        .iter()
        .map(|r| {
            (
                r["kode_wilayah"].as_str().unwrap_or_default().to_string(),
                r["level"].as_i64().unwrap_or_default(),
                r["dimensi_kunci"].as_str().unwrap_or_default().to_string(),
                r["nilai"].as_i64().unwrap_or_default(),
            )
        })
        .collect();
    let want = [
        ("35.76", 2, "L", 62580),
        ("35.76", 2, "P", 63500),
        ("35.76.01", 3, "L", 23456),
        ("35.76.01", 3, "P", 23789),
        ("35.76.02", 3, "L", 20123),
        ("35.76.02", 3, "P", 20456),
        ("35.76.03", 3, "L", 19001),
        ("35.76.03", 3, "P", 19222),
    ]
    .map(|(k, l, jk, v)| (k.to_string(), l, format!("jenis_kelamin={jk}"), v));
    assert_eq!(got, want);

    // The kota totals were checked against the kecamatan sums: one disagrees, at its record.
    let warnings = common::query(dir.path(), "SELECT rule, message, location FROM etl.peringatan")?;
    assert_eq!(warnings.len(), 1, "{warnings:?}");
    assert_eq!(warnings[0]["rule"], "total_tidak_cocok");
    let message = warnings[0]["message"].as_str().unwrap_or_default();
    assert!(
        message.contains("total 63500 of 35.76") && message.contains("sum 63467 of its 3 detail rows"),
        "{message}"
    );
    let location = warnings[0]["location"].as_str().unwrap_or_default();
    assert!(location.contains("offset=4&limit=4 #3 sha256:"), "{location}");

    // Re-harvest with nothing modified: nothing is read or loaded, no page is fetched.
    let out = run().await??;
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let r = &common::status(dir.path())?["ckan-penduduk"];
    assert_eq!([&r["read"], &r["inserted"], &r["updated"]], [0, 0, 0], "{r}");
    assert_eq!(portal.searches.lock().map(|s| s.len()).unwrap_or_default(), 2);

    // Modified (same values): harvested again, nothing changes.
    if let Ok(mut m) = portal.last_modified.lock() {
        *m = "2024-07-01T00:00:00".into();
    }
    let out = run().await??;
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let r = &common::status(dir.path())?["ckan-penduduk"];
    assert_eq!([&r["read"], &r["unchanged"], &r["inserted"]], [8, 8, 0], "{r}");
    Ok(())
}

/// Five datasets of the organisation (and one of another), oldest change first.
fn packages() -> Vec<Value> {
    let p = |id: &str, org: &str, modified: &str, extras: Value| {
        json!({ "id": id, "name": format!("data-{id}"), "title": format!("Data {id}"),
                "organization": { "name": org, "title": org.to_uppercase() },
                "extras": extras, "tags": [{ "name": "kependudukan" }],
                "resources": [{ "id": format!("{id}-csv"), "datastore_active": true }],
                "metadata_modified": modified })
    };
    vec![
        p(
            "a",
            "dispendukcapil",
            "2024-01-01T00:00:00.000000",
            json!([{ "key": "frekuensi", "value": "tahunan" }, { "key": "satuan", "value": "jiwa" }]),
        ),
        p(
            "b",
            "dispendukcapil",
            "2024-02-01T00:00:00.000000",
            json!([{ "key": "frekuensi", "value": "semesteran" }]),
        ),
        p("x", "dinkes", "2024-02-15T00:00:00.000000", json!([])),
        p("c", "dispendukcapil", "2024-03-01T00:00:00.000000", json!([])),
        p("d", "dispendukcapil", "2024-04-01T00:00:00.000000", json!([])),
        p("e", "dispendukcapil", "2024-05-01T10:00:00.000000", json!([])),
    ]
}

/// `package_search` with the filters Satu sends: `organization:NAME`, optionally
/// `AND metadata_modified:[T TO *]`; `start` and `rows`.
async fn package_search(
    State(p): State<Arc<Portal>>,
    Query(q): Query<HashMap<String, String>>,
) -> axum::Json<Value> {
    let fq = q.get("fq").cloned().unwrap_or_default();
    if let Ok(mut s) = p.searches.lock() {
        s.push(fq.clone());
    }
    let org =
        fq.strip_prefix("organization:").and_then(|r| r.split(' ').next()).unwrap_or_default().to_string();
    let since = fq
        .split("metadata_modified:[")
        .nth(1)
        .and_then(|r| r.split(' ').next())
        .map(|s| s.trim_end_matches('Z').to_string());
    let matching: Vec<Value> = packages()
        .into_iter()
        .filter(|p| p["organization"]["name"] == org.as_str())
        .filter(|p| since.as_deref().is_none_or(|s| p["metadata_modified"].as_str().unwrap_or("") >= s))
        .collect();
    let start: usize = q.get("start").and_then(|s| s.parse().ok()).unwrap_or(0);
    let rows: usize = q.get("rows").and_then(|s| s.parse().ok()).unwrap_or(10);
    let page: Vec<Value> = matching.iter().skip(start).take(rows).cloned().collect();
    axum::Json(json!({ "success": true, "result": { "count": matching.len(), "results": page } }))
}

const CATALOG: &str = r#"
[warehouse]
url = "sqlite://warehouse.db"

[[organisation]]
code = "DISKOMINFO-3576"
name = "Diskominfo Kota Mojokerto"
role = "walidata"

[[pipeline]]
name = "katalog-dispendukcapil"
opd = "DISKOMINFO-3576"
source = { type = "ckan", portal = "BASE", organization = "dispendukcapil", limit = 2 }
[pipeline.entity]
table = "katalog_ckan"
primary_key = ["id"]
columns = { id = "text", name = "text", title = "text", organization = "text", frequency = "text",
            unit = "text", tags = "text", resources = "bigint", datastore_resources = "text",
            metadata_modified = "text" }
"#;

#[tokio::test(flavor = "multi_thread")]
async fn a_whole_organisation_is_harvested_into_the_catalog_incrementally() -> TestResult {
    let portal = Arc::new(Portal::default());
    let app =
        Router::new().route("/api/3/action/package_search", get(package_search)).with_state(portal.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let base = format!("http://{}", listener.local_addr()?);
    tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    let dir = tempfile::tempdir()?;
    std::fs::write(dir.path().join("pipelines.toml"), CATALOG.replace("BASE", &base))?;
    let run = || {
        let path = dir.path().to_path_buf();
        tokio::task::spawn_blocking(move || common::satu(&path, &["run", "katalog-dispendukcapil"]))
    };
    let out = run().await??;
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let r = &common::status(dir.path())?["katalog-dispendukcapil"];
    assert_eq!([&r["read"], &r["inserted"]], [5, 5], "{r}");
    let a = common::query(
        dir.path(),
        "SELECT title, frequency, unit, tags, datastore_resources FROM dw.katalog_ckan WHERE id = 'a'",
    )?;
    assert_eq!(
        a[0],
        json!({ "title": "Data a", "frequency": "tahunan", "unit": "jiwa", "tags": "kependudukan", "datastore_resources": "[\"a-csv\"]" })
    );
    assert_eq!(
        portal.searches.lock().map(|s| s.len()).unwrap_or_default(),
        3,
        "pages of two, up to the count of five"
    );

    // Again: only what changed since the last harvest (with a five-minute overlap) is asked for.
    let out = run().await??;
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let r = &common::status(dir.path())?["katalog-dispendukcapil"];
    assert_eq!([&r["read"], &r["inserted"], &r["updated"], &r["unchanged"]], [1, 0, 0, 1], "{r}");
    let last = portal.searches.lock().map(|s| s.last().cloned().unwrap_or_default()).unwrap_or_default();
    assert_eq!(last, "organization:dispendukcapil AND metadata_modified:[2024-05-01T09:55:00Z TO *]");
    Ok(())
}

/// Resources without a DataStore: the files themselves.
async fn resource_file_show(
    State(base): State<Arc<std::sync::OnceLock<String>>>,
    Query(q): Query<HashMap<String, String>>,
) -> axum::Json<Value> {
    let base = base.get().cloned().unwrap_or_default();
    let (url, format) = match q.get("id").map(String::as_str) {
        Some("csv1") => (format!("{base}/files/penduduk.csv"), "CSV"),
        _ => (format!("{base}/files/penduduk.xlsx"), "XLSX"),
    };
    axum::Json(json!({ "success": true, "result": { "id": q.get("id"), "datastore_active": false,
        "url": url, "format": format, "last_modified": "2024-06-01T00:00:00" } }))
}

async fn csv_file() -> &'static str {
    "\u{feff}kode_wilayah;nama_wilayah;jenis_kelamin;tahun;jumlah\r\n3576010;PRAJURIT KULON;L;2024;23.456\r\n357602;Magersari;P;2024;20.456\r\n"
}

fn xlsx_file() -> Result<Vec<u8>, rust_xlsxwriter::XlsxError> {
    let mut book = rust_xlsxwriter::Workbook::new();
    let sheet = book.add_worksheet();
    for (c, h) in ["kode_wilayah", "nama_wilayah", "jenis_kelamin", "tahun", "jumlah"].iter().enumerate() {
        sheet.write_string(0, c as u16, *h)?;
    }
    for (r, (kode, nama, jk, jumlah)) in
        [("3576021", "KRANGGAN", "L", 19001.0), ("3576021", "Kranggan", "P", 19222.0)].iter().enumerate()
    {
        let r = r as u32 + 1;
        sheet.write_string(r, 0, *kode)?;
        sheet.write_string(r, 1, *nama)?;
        sheet.write_string(r, 2, *jk)?;
        sheet.write_number(r, 3, 2024.0)?;
        sheet.write_number(r, 4, *jumlah)?;
    }
    book.save_to_buffer()
}

#[tokio::test(flavor = "multi_thread")]
async fn resources_without_a_datastore_are_downloaded_and_read_as_csv_or_xlsx() -> TestResult {
    let xlsx = xlsx_file()?;
    let base_cell = Arc::new(std::sync::OnceLock::new());
    let app = Router::new()
        .route("/api/3/action/resource_show", get(resource_file_show))
        .route("/files/penduduk.csv", get(csv_file))
        .route("/files/penduduk.xlsx", get(move || async move { xlsx.clone() }))
        .with_state(base_cell.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let base = format!("http://{}", listener.local_addr()?);
    let _ = base_cell.set(base.clone());
    tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    let config = CONFIG.replace("BASE", &base).replace(
        "source = { type = \"ckan\", portal = \"BASE\", resource_id = \"f4\", limit = 4 }".replace("BASE", &base).as_str(),
        &format!("source = {{ type = \"ckan\", portal = \"{base}\", resource_id = \"csv1\", csv = {{ delimiter = \";\" }} }}"),
    ) + &format!(
        r#"
[[pipeline]]
name = "ckan-xlsx"
opd = "DISPENDUKCAPIL-3576"
source = {{ type = "ckan", portal = "{base}", resource_id = "xls1" }}
[pipeline.target]
dataset = "penduduk-kecamatan-jk"
indikator = "kependudukan.jumlah_penduduk"
wilayah = {{ column = "kode_wilayah", name_column = "nama_wilayah", level = "kecamatan", within = "35.76", codes = "campuran" }}
periode = {{ tahun = "tahun" }}
nilai = {{ column = "jumlah", integer = true }}
dimensi = {{ jenis_kelamin = "jenis_kelamin" }}
"#
    );
    let dir = tempfile::tempdir()?;
    std::fs::write(dir.path().join("pipelines.toml"), config)?;
    let run = || {
        let path = dir.path().to_path_buf();
        tokio::task::spawn_blocking(move || common::satu(&path, &["run", "--all"]))
    };
    let out = run().await??;
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let s = common::status(dir.path())?;
    assert_eq!(
        [&s["ckan-penduduk"]["read"], &s["ckan-penduduk"]["inserted"]],
        [2, 2],
        "{}",
        s["ckan-penduduk"]
    );
    assert_eq!([&s["ckan-xlsx"]["read"], &s["ckan-xlsx"]["inserted"]], [2, 2], "{}", s["ckan-xlsx"]);
    let rows = common::query(
        dir.path(),
        "SELECT kode_wilayah, nilai, lokasi_sumber FROM dw.observasi ORDER BY kode_wilayah, nilai",
    )?;
    assert_eq!(rows.len(), 4, "{rows:?}");
    assert_eq!(
        (rows[0]["kode_wilayah"].as_str(), rows[0]["nilai"].as_i64()),
        (Some("35.76.01"), Some(23456))
    );
    let csv_line = rows[0]["lokasi_sumber"].as_str().unwrap_or_default();
    assert!(
        csv_line.contains("landing/ckan-penduduk/responses/") && csv_line.ends_with(".csv:2"),
        "{csv_line}"
    );
    assert_eq!(
        (rows[2]["kode_wilayah"].as_str(), rows[2]["nilai"].as_i64()),
        (Some("35.76.03"), Some(19001))
    );
    let cell = rows[2]["lokasi_sumber"].as_str().unwrap_or_default();
    assert!(cell.starts_with(&format!("{base}/files/penduduk.xlsx Sheet1!2 sha256:")), "{cell}");

    let out = run().await??;
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let s = common::status(dir.path())?;
    assert_eq!([&s["ckan-penduduk"]["read"], &s["ckan-xlsx"]["read"]], [0, 0], "not modified: nothing read");
    Ok(())
}
