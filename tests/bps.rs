//! A BPS-style wide CSV through the `satu` binary: title and unit rows, a two-row header with the
//! years as columns (`2023*` provisional), `...` for not available, `45,9` in thousands of people,
//! BPS kecamatan codes in square brackets beside their names, and the city's own total row.

mod common;

type TestResult = Result<(), Box<dyn std::error::Error>>;

/// As spreadsheet programs export it: rows below the header padded with commas to its width.
const CSV: &str = "\"Jumlah Penduduk menurut Kecamatan di Kota Mojokerto (Ribu Jiwa), 2021-2023\"
\"Population by Subdistrict in Mojokerto Municipality (Thousand People)\"

Kecamatan,Jumlah Penduduk,,
,2021,2022,2023*
[3576010] Prajurit Kulon,\"45,9\",\"46,2\",\"46,8\"
[3576020] Magersari,\"41,0\",...,\"42,1\"
[3576021] Kranggan,\"38,5\",\"38,9\",\"39,3\"
Kota Mojokerto,\"125,4\",...,\"128,2\"
Sumber: BPS Kota Mojokerto,,,
";

const CONFIG: &str = r#"
[warehouse]
url = "sqlite://warehouse.db"

[[organisation]]
code = "BPS-3576"
name = "BPS Kota Mojokerto"
role = "pembina"

[[dataset]]
slug = "penduduk-kecamatan-tahunan"
title = "Jumlah Penduduk menurut Kecamatan"
opd = "BPS-3576"
frequency = "tahunan"

[[indicator]]
code = "kependudukan.jumlah_penduduk"
name = "Jumlah penduduk"
satuan = "jiwa"

[[pipeline]]
name = "bps-penduduk"
opd = "BPS-3576"
source = { type = "csv", path = "bps.csv", header_rows = [4, 5] }
skip = [{ column = "Kecamatan", matches = "^Sumber" }]
[pipeline.target]
dataset = "penduduk-kecamatan-tahunan"
indikator = "kependudukan.jumlah_penduduk"
wilayah = { column = "Kecamatan", level = "kecamatan", within = "35.76", codes = "bps", totals = ["kabkota"] }
nilai = { columns = ["Jumlah Penduduk/2021", "Jumlah Penduduk/2022", "Jumlah Penduduk/2023*"], into = "periode", pengali = "auto" }
"#;

#[test]
fn a_bps_wide_csv_loads_with_statuses_multipliers_and_mapped_codes() -> TestResult {
    let dir = tempfile::tempdir()?;
    std::fs::write(dir.path().join("bps.csv"), CSV)?;
    std::fs::write(dir.path().join("pipelines.toml"), CONFIG)?;
    let check = common::satu(dir.path(), &["check"])?;
    assert!(check.status.success(), "{}", String::from_utf8_lossy(&check.stderr));
    let out = common::satu(dir.path(), &["run", "bps-penduduk"])?;
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let r = &common::status(dir.path())?["bps-penduduk"];
    assert_eq!([&r["read"], &r["inserted"], &r["rejected"], &r["filtered"]], [15, 12, 0, 3], "{r}");

    let rows = common::query(
        dir.path(),
        "SELECT kode_wilayah, periode, nilai, status_nilai, nilai_mentah FROM dw.observasi ORDER BY kode_wilayah, periode",
    )?;
    let get = |kode: &str, periode: &str| {
        rows.iter()
            .find(|r| r["kode_wilayah"] == kode && r["periode"] == periode)
            .cloned()
            .unwrap_or_default()
    };
    // BPS 3576010 is Kemendagri 35.76.01; `45,9` thousand is 45,900 people, final.
    assert_eq!(get("35.76.01", "2021")["nilai"], 45900);
    assert_eq!(get("35.76.01", "2021")["status_nilai"], "tetap");
    // The 2023 column is provisional.
    assert_eq!(get("35.76.01", "2023")["nilai"], 46800);
    assert_eq!(get("35.76.01", "2023")["status_nilai"], "sementara");
    // `...` is not available: loaded without a value.
    assert_eq!(get("35.76.02", "2022")["status_nilai"], "tidak_tersedia");
    assert!(get("35.76.02", "2022")["nilai"].is_null());
    // BPS 3576021 Kranggan is Kemendagri 35.76.03 (the codes differ, the crosswalk knows).
    assert_eq!(get("35.76.03", "2022")["nilai"], 38900);
    // The city's own row at its level, agreeing with its kecamatan: no warning.
    assert_eq!(get("35.76", "2023")["nilai"], 128200);
    let warnings = common::query(dir.path(), "SELECT count(*) AS n FROM etl.peringatan")?;
    assert_eq!(warnings[0]["n"], 0);
    Ok(())
}
