//! Fixture F3 of DOMAIN.md, built here with rust_xlsxwriter: the Dinas Pendidikan recap sheet
//! `REKAP SD` (two title rows, header rows 4–5 with merged groups, a `(1)…(8)` row, kecamatan
//! merged vertically over its kelurahan, `Jumlah Kec. …` subtotals and a `TOTAL` row, `-` for
//! zero, a number stored as text, `18,5` in a column nobody loads, a footnote), loaded through the
//! `satu` binary by two pipelines, one per indicator, unpivoting the wide columns.

mod common;

use rust_xlsxwriter::{Format, Workbook};

type TestResult = Result<(), Box<dyn std::error::Error>>;

/// A value cell: a number, or text as the OPD typed it.
enum V {
    N(f64),
    T(&'static str),
}
use V::{N, T};

fn f3(path: &std::path::Path) -> Result<(), rust_xlsxwriter::XlsxError> {
    let mut book = Workbook::new();
    let merged = Format::new();
    let s = book.add_worksheet().set_name("REKAP SD")?;
    s.write_string(0, 0, "REKAPITULASI SEKOLAH DAN PESERTA DIDIK SD KOTA MOJOKERTO")?;
    s.write_string(1, 0, "Tahun Ajaran 2024/2025")?;
    s.merge_range(3, 0, 4, 0, "Kecamatan", &merged)?;
    s.merge_range(3, 1, 4, 1, "Kelurahan", &merged)?;
    s.merge_range(3, 2, 3, 3, "Jumlah Sekolah", &merged)?;
    s.merge_range(3, 4, 3, 6, "Jumlah Peserta Didik", &merged)?;
    s.merge_range(3, 7, 4, 7, "Rasio Siswa/Guru", &merged)?;
    for (c, h) in ["Negeri", "Swasta", "L", "P", "Jumlah"].iter().enumerate() {
        s.write_string(4, 2 + c as u16, *h)?;
    }
    for c in 0..8u16 {
        s.write_string(5, c, format!("({})", c + 1))?;
    }
    let rows: [(u32, &str, [V; 6]); 7] = [
        (6, "Gunung Gedangan", [N(2.0), N(1.0), N(150.0), N(140.0), N(290.0), T("18,5")]),
        (7, "Balongsari", [N(1.0), T("-"), T("1.210"), N(85.0), N(1295.0), T("19,0")]),
        (8, "Jumlah Kec. Magersari", [N(3.0), N(1.0), N(1360.0), N(225.0), N(1585.0), T("")]),
        (9, "Kranggan", [N(2.0), N(0.0), N(100.0), N(95.0), N(195.0), T("17,2")]),
        (10, "Meri", [N(1.0), N(1.0), N(80.0), N(70.0), N(150.0), T("16,0")]),
        // Wrong by one: the kelurahan give 165 girls.
        (11, "Jumlah Kec. Kranggan", [N(3.0), N(1.0), N(180.0), N(166.0), N(346.0), T("")]),
        (12, "TOTAL", [N(6.0), N(2.0), N(1540.0), N(390.0), N(1930.0), T("")]),
    ];
    s.merge_range(6, 0, 8, 0, "Magersari", &merged)?;
    s.merge_range(9, 0, 11, 0, "Kranggan", &merged)?;
    for (r, kelurahan, values) in rows {
        s.write_string(r, 1, kelurahan)?;
        for (c, v) in values.iter().enumerate() {
            match v {
                N(n) => s.write_number(r, 2 + c as u16, *n)?,
                T("") => s,
                T(t) => s.write_string(r, 2 + c as u16, *t)?,
            };
        }
    }
    s.write_string(14, 0, "Sumber: Dapodik, data per 31 Agustus 2024")?;
    book.save(path)
}

const CONFIG: &str = r#"
[warehouse]
url = "sqlite://warehouse.db"

[[organisation]]
code = "DISDIK-3576"
name = "Dinas Pendidikan Kota Mojokerto"

[[dataset]]
slug = "sekolah-dan-peserta-didik-sd"
title = "Jumlah Sekolah dan Peserta Didik SD menurut Kelurahan"
opd = "DISDIK-3576"
frequency = "tahunan"

[[indicator]]
code = "pendidikan.jumlah_sekolah_sd"
name = "Jumlah sekolah SD"
satuan = "sekolah"
dimensi = ["status_sekolah"]

[[indicator]]
code = "pendidikan.peserta_didik_sd"
name = "Jumlah peserta didik SD"
satuan = "siswa"
dimensi = ["jenis_kelamin"]

[[dimension]]
code = "status_sekolah"
name = "Status Sekolah"
values = { NEGERI = "Negeri", SWASTA = "Swasta" }

[[pipeline]]
name = "disdik-sekolah"
opd = "DISDIK-3576"
source = { type = "xlsx", path = "rekap.xlsx", sheet = "REKAP*", header_rows = [4, 5], fill_down = ["Kecamatan"] }
skip = [{ column = "Kelurahan", matches = '^\(\d+\)$' }, { column = "Kecamatan", matches = "^(Sumber|Catatan)" }]
[pipeline.target]
dataset = "sekolah-dan-peserta-didik-sd"
indikator = "pendidikan.jumlah_sekolah_sd"
wilayah = { column = "Kelurahan", level = "kelurahan", within = "35.76", parent_column = "Kecamatan" }
periode = { value = "TA2024/2025" }
nilai = { columns = ["Jumlah Sekolah/Negeri", "Jumlah Sekolah/Swasta"], into = "status_sekolah", integer = true }
subtotals = { column = "Kelurahan", subtotal = "^Jumlah Kec", total = "^TOTAL" }

[[pipeline]]
name = "disdik-peserta"
opd = "DISDIK-3576"
source = { type = "xlsx", path = "rekap.xlsx", sheet = "REKAP*", header_rows = [4, 5], fill_down = ["Kecamatan"], values = { tahun_ajaran = 'Tahun Ajaran (\d{4}/\d{4})' } }
skip = [{ column = "Kelurahan", matches = '^\(\d+\)$' }, { column = "Kecamatan", matches = "^(Sumber|Catatan)" }]
[pipeline.target]
dataset = "sekolah-dan-peserta-didik-sd"
indikator = "pendidikan.peserta_didik_sd"
wilayah = { column = "Kelurahan", level = "kelurahan", within = "35.76", parent_column = "Kecamatan" }
# The school year as the recap's title states it.
periode = { column = "tahun_ajaran" }
nilai = { columns = ["Jumlah Peserta Didik/L", "Jumlah Peserta Didik/P"], into = "jenis_kelamin", integer = true }
subtotals = { column = "Kelurahan", subtotal = "^Jumlah Kec", total = "^TOTAL" }
"#;

#[test]
fn f3_recap_loads_as_specified() -> TestResult {
    let dir = tempfile::tempdir()?;
    f3(&dir.path().join("rekap.xlsx"))?;
    std::fs::write(dir.path().join("pipelines.toml"), CONFIG)?;
    let out = common::satu(dir.path(), &["run", "--all"])?;
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));

    // Counts are in values: 9 data rows × 2 value columns.
    let s = common::status(dir.path())?;
    let p = &s["disdik-peserta"];
    assert_eq!([&p["read"], &p["inserted"], &p["rejected"], &p["filtered"]], [18, 8, 0, 10], "{p}");
    assert_eq!(p["balanced"], "true");
    let k = &s["disdik-sekolah"];
    assert_eq!([&k["read"], &k["inserted"], &k["rejected"], &k["filtered"]], [18, 8, 0, 10], "{k}");

    // Kelurahan resolved within their merged kecamatan; `-` is a zero; `1.210` as text is 1210.
    let rows = common::query(
        dir.path(),
        "SELECT indikator, kode_wilayah, dimensi_kunci, nilai, status_nilai, periode, lokasi_sumber \
         FROM dw.observasi ORDER BY indikator, kode_wilayah, dimensi_kunci",
    )?;
    assert_eq!(rows.len(), 16);
    let find = |ind: &str, kode: &str, dim: &str| {
        rows.iter()
            .find(|r| r["indikator"] == ind && r["kode_wilayah"] == kode && r["dimensi_kunci"] == dim)
            .cloned()
    };
    let balongsari_l =
        find("pendidikan.peserta_didik_sd", "35.76.02.1008", "jenis_kelamin=L").ok_or("Balongsari L")?;
    assert_eq!(balongsari_l["nilai"], 1210);
    assert_eq!(balongsari_l["periode"], "TA2024/2025");
    assert_eq!(balongsari_l["lokasi_sumber"], "rekap.xlsx REKAP SD!E8", "the very cell");
    let balongsari_swasta =
        find("pendidikan.jumlah_sekolah_sd", "35.76.02.1008", "status_sekolah=SWASTA").ok_or("swasta")?;
    assert_eq!(balongsari_swasta["status_nilai"], "nihil");
    assert!(
        find("pendidikan.peserta_didik_sd", "35.76.03.1001", "jenis_kelamin=P").is_some(),
        "Kelurahan Kranggan"
    );
    assert!(find("pendidikan.peserta_didik_sd", "35.76.03.1003", "jenis_kelamin=L").is_some(), "Meri");

    // Exactly one subtotal warning, at the wrong cell; subtotal and TOTAL rows not loaded.
    let warnings = common::query(dir.path(), "SELECT pipeline, rule, message, location FROM etl.peringatan")?;
    assert_eq!(warnings.len(), 1, "{warnings:?}");
    assert_eq!(warnings[0]["pipeline"], "disdik-peserta");
    assert_eq!(warnings[0]["location"], "rekap.xlsx REKAP SD!F12");
    let message = warnings[0]["message"].as_str().unwrap_or_default();
    assert!(
        message.contains("total 166 of KRANGGAN") && message.contains("sum 165 of its 2 detail rows"),
        "{message}"
    );
    let loaded_totals = common::query(dir.path(), "SELECT count(*) AS n FROM dw.observasi WHERE lokasi_sumber LIKE '%!_9' OR lokasi_sumber LIKE '%!_12' OR lokasi_sumber LIKE '%!_13'")?;
    assert_eq!(loaded_totals[0]["n"], 0);

    // Again: nothing changes.
    let out = common::satu(dir.path(), &["run", "--all"])?;
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let p = &common::status(dir.path())?["disdik-peserta"];
    assert_eq!([&p["inserted"], &p["updated"], &p["unchanged"]], [0, 0, 8], "{p}");
    Ok(())
}
