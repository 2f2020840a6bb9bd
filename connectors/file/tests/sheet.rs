//! The spreadsheet source on workbooks generated here (rust_xlsxwriter): sheets by pattern, title
//! rows above the header, exact whole numbers (a code stored as a number stays a code), row
//! locations, and broken inputs (empty, cut short, an HTML page, a missing sheet or file) that each get their own error while nothing else is lost.

use futures::StreamExt;
use rust_xlsxwriter::Workbook;
use satu_connector_file::{SheetConfig, SheetSource};
use satu_core::{ReadContext, Source};
use std::path::Path;

type TestResult = Result<(), Box<dyn std::error::Error>>;

/// A Dapodik-style recap: a title, a source line, then the header on row 4.
fn recap(path: &Path) -> Result<(), rust_xlsxwriter::XlsxError> {
    let mut book = Workbook::new();
    book.add_worksheet().set_name("Petunjuk")?.write_string(0, 0, "Isi sheet REKAP SD")?;
    let sheet = book.add_worksheet().set_name("REKAP SD")?;
    sheet.write_string(0, 0, "REKAP PESERTA DIDIK SD 2024/2025")?;
    sheet.write_string(1, 0, "Sumber: Dapodik")?;
    for (c, h) in ["kode_wilayah", "kecamatan", "negeri", "swasta"].iter().enumerate() {
        sheet.write_string(3, c as u16, *h)?;
    }
    let rows = [(3576010.0, "Prajurit Kulon", 3412.0, 1210.0), (3576020.0, "Magersari", 2987.0, 1534.0)];
    for (i, (code, name, n, s)) in rows.iter().enumerate() {
        let r = 4 + i as u32;
        sheet.write_number(r, 0, *code)?;
        sheet.write_string(r, 1, *name)?;
        sheet.write_number(r, 2, *n)?;
        sheet.write_number(r, 3, *s)?;
    }
    book.save(path)
}

async fn read(
    dir: &Path,
    file: &str,
    sheet: Option<&str>,
    header_row: Option<usize>,
) -> Result<Vec<Vec<String>>, String> {
    let config = SheetConfig {
        path: file.into(),
        sheet: sheet.map(str::to_string),
        header_row,
        header_rows: vec![],
        fill_down: vec![],
        values: Default::default(),
    };
    let source = Box::new(SheetSource::new(config, dir));
    let cx = ReadContext { pipeline: "t".into(), batch_rows: 1, state: None, from: None, needs: vec![] };
    let mut stream = source.read(cx);
    let mut rows = Vec::new();
    while let Some(batch) = stream.next().await {
        let batch = batch.map_err(|e| e.to_string())?;
        for i in 0..batch.df.height() {
            let row = batch
                .df
                .columns()
                .iter()
                .filter(|c| ![satu_core::CELLS_COLUMN, satu_core::TITLE_COLUMN].contains(&c.name().as_str()))
                .map(|c| c.str().ok().and_then(|s| s.get(i)).unwrap_or_default().to_string())
                .collect();
            rows.push(row);
        }
    }
    Ok(rows)
}

#[tokio::test]
async fn a_recap_sheet_by_pattern_below_its_title_rows() -> TestResult {
    let dir = tempfile::tempdir()?;
    recap(&dir.path().join("rekap.xlsx"))?;
    let rows = read(dir.path(), "rekap.xlsx", Some("rekap*"), Some(4)).await?;
    assert_eq!(
        rows,
        vec![
            vec!["3576010", "Prajurit Kulon", "3412", "1210", "rekap.xlsx REKAP SD!5"],
            vec!["3576020", "Magersari", "2987", "1534", "rekap.xlsx REKAP SD!6"],
        ]
    );
    // Without a header row, the first non-empty row is the header: here the title.
    let first = read(dir.path(), "rekap.xlsx", Some("REKAP SD"), None).await?;
    assert_eq!(first.len(), 4, "source line, header and two rows under the title");
    Ok(())
}

#[tokio::test]
async fn broken_workbooks_are_named_for_what_they_are() -> TestResult {
    let dir = tempfile::tempdir()?;
    let d = dir.path();
    recap(&d.join("rekap.xlsx"))?;
    let good = std::fs::read(d.join("rekap.xlsx"))?;
    std::fs::write(d.join("kosong.xlsx"), b"")?;
    std::fs::write(d.join("terpotong.xlsx"), &good[..good.len() / 2])?;
    std::fs::write(d.join("galat.xlsx"), "<!DOCTYPE html><html><title>502 Bad Gateway</title></html>")?;

    let err = |file: &'static str, sheet: Option<&'static str>| async move {
        read(d, file, sheet, Some(4)).await.err().unwrap_or_default()
    };
    assert_eq!(err("kosong.xlsx", None).await, "data error at kosong.xlsx: the file is empty (0 bytes)");
    assert!(err("terpotong.xlsx", None).await.contains("not a readable workbook (damaged or cut short?)"));
    assert!(err("galat.xlsx", None).await.contains("an HTML page saved as a spreadsheet"));
    assert!(err("galat.xlsx", None).await.contains("502 Bad Gateway"));
    assert_eq!(
        err("rekap.xlsx", Some("REKAP SMP")).await,
        "data error at rekap.xlsx: no sheet matches `REKAP SMP` (the workbook has: Petunjuk, REKAP SD)"
    );
    assert!(err("hilang.xlsx", None).await.starts_with("config error at hilang.xlsx"));
    Ok(())
}

/// The F3 layout: two title rows, merged group headers on rows 4–5, a `(1)…(8)` row, a kecamatan
/// merged vertically over its kelurahan, a subtotal row.
fn f3_layout(path: &Path) -> Result<(), rust_xlsxwriter::XlsxError> {
    let mut book = Workbook::new();
    let fmt = rust_xlsxwriter::Format::new();
    let sheet = book.add_worksheet().set_name("REKAP SD")?;
    sheet.write_string(0, 0, "REKAPITULASI SEKOLAH DAN PESERTA DIDIK SD")?;
    sheet.write_string(1, 0, "Tahun Ajaran 2024/2025")?;
    sheet.merge_range(3, 0, 4, 0, "Kecamatan", &fmt)?;
    sheet.merge_range(3, 1, 4, 1, "Kelurahan", &fmt)?;
    sheet.merge_range(3, 2, 3, 3, "Jumlah Sekolah", &fmt)?;
    sheet.merge_range(3, 4, 3, 6, "Jumlah Peserta Didik", &fmt)?;
    for (c, h) in ["Negeri", "Swasta", "L", "P", "Jumlah"].iter().enumerate() {
        sheet.write_string(4, 2 + c as u16, *h)?;
    }
    for c in 0..7u16 {
        sheet.write_string(5, c, format!("({})", c + 1))?;
    }
    sheet.merge_range(6, 0, 7, 0, "Magersari", &fmt)?;
    sheet.write_string(6, 1, "Gunung Gedangan")?;
    sheet.write_string(7, 1, "Balongsari")?;
    sheet.write_string(8, 1, "Jumlah Kec. Magersari")?;
    for (r, values) in [
        (6u32, [2.0, 1.0, 150.0, 140.0, 290.0]),
        (7, [1.0, 0.0, 90.0, 85.0, 175.0]),
        (8, [3.0, 1.0, 240.0, 225.0, 465.0]),
    ] {
        for (c, v) in values.iter().enumerate() {
            sheet.write_number(r, 2 + c as u16, *v)?;
        }
    }
    sheet.write_string(10, 0, "Sumber: Dapodik, data per 31 Agustus 2024")?;
    book.save(path)
}

#[tokio::test]
async fn merged_headers_flatten_to_paths_and_merged_kecamatan_fill_down() -> TestResult {
    let dir = tempfile::tempdir()?;
    f3_layout(&dir.path().join("rekap.xlsx"))?;
    let config: SheetConfig = serde_json::from_value(serde_json::json!({
        "path": "rekap.xlsx",
        "sheet": "REKAP SD",
        "header_rows": [4, 5],
        "fill_down": ["kecamatan"],
        // One value from a title row, one from the footnote below the table.
        "values": { "tahun_ajaran": r"Tahun Ajaran (\d{4}/\d{4})", "data_per": "data per (.+)$" },
    }))?;
    let mut source = SheetSource::new(config.clone(), dir.path());
    let catalog = source.discover().await?;
    let names: Vec<&str> = catalog.entries[0].columns.iter().map(|c| c.name.as_str()).collect();
    assert_eq!(
        names,
        [
            "Kecamatan",
            "Kelurahan",
            "Jumlah Sekolah/Negeri",
            "Jumlah Sekolah/Swasta",
            "Jumlah Peserta Didik/L",
            "Jumlah Peserta Didik/P",
            "Jumlah Peserta Didik/Jumlah"
        ]
    );
    let cx = ReadContext { pipeline: "t".into(), batch_rows: 10, state: None, from: None, needs: vec![] };
    let mut stream = Box::new(SheetSource::new(config, dir.path())).read(cx);
    let batch = stream.next().await.ok_or("a batch")??;
    let column = |name: &str| -> Vec<String> {
        batch
            .df
            .column(name)
            .ok()
            .and_then(|c| c.str().ok().map(|s| s.iter().map(|v| v.unwrap_or_default().to_string()).collect()))
            .unwrap_or_default()
    };
    assert_eq!(column("Kelurahan"), ["(2)", "Gunung Gedangan", "Balongsari", "Jumlah Kec. Magersari", ""]);
    assert_eq!(column("Kecamatan")[..4], ["(1)", "Magersari", "Magersari", "Magersari"], "filled down");
    assert_eq!(column("Jumlah Peserta Didik/P")[..4], ["(6)", "140", "85", "225"]);
    assert_eq!(column("tahun_ajaran"), ["2024/2025"; 5], "from the title");
    assert_eq!(column("data_per"), ["31 Agustus 2024"; 5], "from the footnote");
    assert_eq!(column("_judul")[0], "REKAPITULASI SEKOLAH DAN PESERTA DIDIK SD\nTahun Ajaran 2024/2025");
    assert_eq!(column("_lokasi")[1], "rekap.xlsx REKAP SD!7");
    let letters: serde_json::Value = serde_json::from_str(&column("_kolom")[0])?;
    assert_eq!(letters["Jumlah Peserta Didik/P"], "F", "each column's letter, for cell lineage");

    // A value the report does not state is an error naming the rule, not an empty column.
    let config: SheetConfig = serde_json::from_value(serde_json::json!({
        "path": "rekap.xlsx", "header_rows": [4, 5], "values": { "semester": r"Semester (\w+)" },
    }))?;
    let cx = ReadContext { pipeline: "t".into(), batch_rows: 10, state: None, from: None, needs: vec![] };
    let err = Box::new(SheetSource::new(config, dir.path())).read(cx).next().await.ok_or("an item")?.err();
    assert_eq!(
        err.map(|e| e.to_string()).unwrap_or_default(),
        r"data error at rekap.xlsx REKAP SD: values.semester: no title line or footnote matches `Semester (\w+)`"
    );
    Ok(())
}
