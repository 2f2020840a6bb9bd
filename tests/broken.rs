//! Ten kinds of broken input dropped beside good files, through the `satu` binary: each broken
//! file is set aside with a clear, specific reason (or, for mangled codes, its rows quarantined
//! with theirs) and nothing else is lost — the good files load and the runs succeed.

mod common;

use rust_xlsxwriter::Workbook;
use std::path::Path;

type TestResult = Result<(), Box<dyn std::error::Error>>;

fn workbook(path: &Path, sheet: &str, rows: &[(&str, &str, f64)]) -> Result<(), rust_xlsxwriter::XlsxError> {
    let mut book = Workbook::new();
    let s = book.add_worksheet().set_name(sheet)?;
    for (c, h) in ["kelurahan", "jk", "periode", "jumlah"].iter().enumerate() {
        s.write_string(0, c as u16, *h)?;
    }
    for (i, (kel, jk, n)) in rows.iter().enumerate() {
        let r = i as u32 + 1;
        s.write_string(r, 0, *kel)?;
        s.write_string(r, 1, *jk)?;
        s.write_string(r, 2, "2024-S1")?;
        s.write_number(r, 3, *n)?;
    }
    book.save(path)
}

/// A password-protected copy of `plain`, made with msoffcrypto-tool (pip); `false` when that is
/// not installed (outside CI).
fn encrypt(plain: &Path, out: &Path) -> Result<bool, Box<dyn std::error::Error>> {
    let script = "import msoffcrypto, sys\nmsoffcrypto.OfficeFile(open(sys.argv[1], 'rb')).encrypt('rahasia', open(sys.argv[2], 'wb'))";
    let done = std::process::Command::new("python3").args(["-c", script]).arg(plain).arg(out).output()?;
    if !done.status.success() {
        assert_ne!(std::env::var("CI").as_deref(), Ok("true"), "{}", String::from_utf8_lossy(&done.stderr));
        eprintln!("skipped the password-protected workbook: pip install msoffcrypto-tool");
        return Ok(false);
    }
    Ok(true)
}

#[test]
fn ten_broken_inputs_lose_nothing_else() -> TestResult {
    let dir = tempfile::tempdir()?;
    let d = dir.path();
    let pipelines = [
        common::penduduk_pipeline(
            "kiriman-xlsx",
            r#"{ type = "folder", path = "inbox", pattern = "*.xlsx", read = { type = "xlsx", sheet = "REKAP*" } }"#,
            "kelurahan",
        ),
        common::penduduk_pipeline(
            "kiriman-csv",
            r#"{ type = "folder", path = "inbox", pattern = "*.csv", read = { type = "csv" } }"#,
            "kode",
        ),
    ];
    std::fs::write(
        d.join("pipelines.toml"),
        format!("{}{}", common::PENDUDUK_KELURAHAN, pipelines.concat()),
    )?;
    let inbox = d.join("inbox");
    std::fs::create_dir_all(&inbox)?;

    // Good files.
    workbook(
        &inbox.join("baik.xlsx"),
        "REKAP 2024",
        &[("Magersari", "L", 100.0), ("Magersari", "P", 110.0)],
    )?;
    std::fs::write(inbox.join("baik.csv"), "kode,jk,periode,jumlah\n35.76.03.1003,L,2024-S1,50\n")?;
    // 1. An empty file.
    std::fs::write(inbox.join("kosong.xlsx"), b"")?;
    // 2. A workbook cut short.
    let good = std::fs::read(inbox.join("baik.xlsx"))?;
    std::fs::write(inbox.join("terpotong.xlsx"), &good[..good.len() / 2])?;
    // 3. A portal's error page saved as .xlsx.
    std::fs::write(
        inbox.join("galat.xlsx"),
        "<!DOCTYPE html><html><title>504 Gateway Time-out</title></html>",
    )?;
    // 4. A password-protected workbook.
    let encrypted = encrypt(&inbox.join("baik.xlsx"), &inbox.join("rahasia.xlsx"))?;
    // 5. A workbook without the sheet.
    workbook(&inbox.join("lain.xlsx"), "Sheet1", &[("Kauman", "L", 1.0)])?;
    // 6. The wrong encoding (latin1 bytes where UTF-8 is declared).
    std::fs::write(
        inbox.join("latin1.csv"),
        b"kode,jk,periode,jumlah,catatan\n35.76.03.1001,L,2024-S1,7,Sudah diverifikasi \xe9\n",
    )?;
    // 7. Ragged rows.
    std::fs::write(inbox.join("ragged.csv"), "kode,jk,periode,jumlah\n35.76.03.1002,L,2024-S1,7,extra\n")?;
    // 8. A required column missing.
    std::fs::write(inbox.join("kolom.csv"), "kode,periode,jumlah\n35.76.03.1002,2024-S1,7\n")?;
    // 9. A 100 MB single cell (an unclosed quote).
    let mut big = b"kode,jk,periode,jumlah\n35.76.03.1004,L,2024-S1,\"".to_vec();
    big.extend(std::iter::repeat_n(b'9', 100 << 20));
    std::fs::write(inbox.join("besar.csv"), big)?;
    // 10. Codes a spreadsheet turned into scientific notation: the rows are quarantined.
    std::fs::write(inbox.join("ilmiah.csv"), "kode,jk,periode,jumlah\n3.576021003E+09,L,2024-S1,9\n")?;

    for pipeline in ["kiriman-xlsx", "kiriman-csv"] {
        let out = common::satu(d, &["run", pipeline])?;
        assert!(out.status.success(), "{pipeline}: {}", String::from_utf8_lossy(&out.stderr));
    }
    let reason = |file: &str| std::fs::read_to_string(inbox.join("failed").join(format!("{file}.error.txt")));
    let expect = [
        ("kosong.xlsx", "the file is empty (0 bytes)"),
        ("terpotong.xlsx", "not a readable workbook (damaged or cut short?)"),
        ("galat.xlsx", "an HTML page saved as a spreadsheet"),
        ("lain.xlsx", "no sheet matches `REKAP*` (the workbook has: Sheet1)"),
        ("latin1.csv", "inbox/latin1.csv:2: the text is not valid UTF-8; set `encoding = \"latin1\"`"),
        ("ragged.csv", "inbox/ragged.csv:2"),
        ("kolom.csv", "missing required column `jk`"),
        ("besar.csv", "an unclosed quote"),
    ];
    for (file, words) in expect {
        let text = reason(file).map_err(|e| format!("{file}: no reason set aside: {e}"))?;
        assert!(text.contains(words), "{file}: {text}");
        assert!(inbox.join("failed").join(file).exists(), "{file} kept in failed/");
    }
    if encrypted {
        assert!(reason("rahasia.xlsx")?.contains("password-protected"), "{}", reason("rahasia.xlsx")?);
    }
    let rejects = common::query(d, "SELECT rule, location FROM etl.reject")?;
    assert_eq!(rejects.len(), 1, "{rejects:?}");
    assert_eq!(rejects[0]["rule"], "kode_notasi_ilmiah");
    assert_eq!(rejects[0]["location"], "inbox/ilmiah.csv:2");

    // The good files loaded, and the counts add up.
    let s = common::status(d)?;
    assert_eq!(s["kiriman-xlsx"]["inserted"], 2);
    assert_eq!(s["kiriman-xlsx"]["balanced"], "true");
    assert_eq!([&s["kiriman-csv"]["inserted"], &s["kiriman-csv"]["rejected"]], [1, 1]);
    Ok(())
}
