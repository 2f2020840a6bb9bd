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
    let config = SheetConfig { path: file.into(), sheet: sheet.map(str::to_string), header_row };
    let source = Box::new(SheetSource::new(config, dir));
    let cx = ReadContext { pipeline: "t".into(), batch_rows: 1, state: None, from: None };
    let mut stream = source.read(cx);
    let mut rows = Vec::new();
    while let Some(batch) = stream.next().await {
        let batch = batch.map_err(|e| e.to_string())?;
        for i in 0..batch.df.height() {
            let row = batch
                .df
                .columns()
                .iter()
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
