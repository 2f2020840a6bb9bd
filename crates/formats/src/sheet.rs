//! Spreadsheets (xlsx, xls, ods) as records: one sheet (by name, a `*` pattern, or the first),
//! a header row (given, or the first non-empty one), every later non-empty row a record located
//! by its sheet and row (`REKAP SD!7`). Broken files get errors that say what they are.

use crate::json::Record;
use calamine::{Data, Reader};

/// The largest cell Satu reads (1 MiB of text): anything bigger is a broken export.
const MAX_CELL: usize = 1 << 20;

/// Why a workbook could not be read.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum SheetError {
    /// Zero bytes.
    #[error("the file is empty (0 bytes)")]
    EmptyFile,
    /// An HTML page saved under a spreadsheet's name (a portal's error page, a login page).
    #[error("this is an HTML page saved as a spreadsheet (an error or login page?), not a workbook: {0}")]
    Html(String),
    /// A password-protected workbook.
    #[error("the workbook is password-protected: save it without a password")]
    Encrypted,
    /// Not a workbook calamine can open, or a damaged one.
    #[error("not a readable workbook (damaged or cut short?): {0}")]
    Open(String),
    /// The sheet asked for is not there.
    #[error("no sheet matches `{wanted}` (the workbook has: {available})")]
    NoSheet {
        /// The name or pattern.
        wanted: String,
        /// The sheets there are.
        available: String,
    },
    /// The sheet has no header row.
    #[error("sheet `{0}` has no data")]
    EmptySheet(String),
    /// A cell too large to be data.
    #[error("cell {cell} holds {bytes} bytes of text, more than the {MAX_CELL} Satu reads")]
    CellTooLarge {
        /// `Sheet!B7`.
        cell: String,
        /// Its size.
        bytes: usize,
    },
}

/// One sheet read into records.
#[derive(Debug, Clone, PartialEq)]
pub struct Table {
    /// The sheet's name.
    pub sheet: String,
    /// Its header, as read.
    pub header: Vec<String>,
    /// One record per non-empty row after the header.
    pub records: Vec<Record>,
    /// Each record's location, `<sheet>!<row>`.
    pub locations: Vec<String>,
    /// Each header column's letter (`A`, `B`, … `AA`).
    pub letters: Vec<String>,
    /// The non-empty rows above the header (titles, unit lines), each as its cells' text
    /// joined by spaces.
    pub title: Vec<String>,
}

/// Where the table is on a sheet.
#[derive(Debug, Clone, Default)]
pub struct Layout {
    /// A sheet name or `*` pattern, case-insensitive; `None` for the first sheet.
    pub sheet: Option<String>,
    /// The header's row numbers (1-based, as Excel shows them): one row, or several whose
    /// merged group cells are flattened into paths (`Jumlah Peserta Didik/L`). Empty: the first
    /// non-empty row. Data starts after the last.
    pub header_rows: Vec<usize>,
    /// Columns (by flattened name) whose empty cells take the value above: a kecamatan merged
    /// vertically over its kelurahan.
    pub fill_down: Vec<String>,
}

/// The first sheet of `bytes`, header on its first non-empty row.
pub fn first_sheet(bytes: &[u8]) -> Result<(Vec<Record>, Vec<String>), SheetError> {
    read(bytes, &Layout::default()).map(|t| (t.records, t.locations))
}

/// Reads the table `layout` describes from the workbook in `bytes`.
pub fn read(bytes: &[u8], layout: &Layout) -> Result<Table, SheetError> {
    sniff(bytes)?;
    let mut book = calamine::open_workbook_auto_from_rs(std::io::Cursor::new(bytes))
        .map_err(|e| SheetError::Open(e.to_string()))?;
    let names = book.sheet_names().to_vec();
    let name = match layout.sheet.as_deref() {
        None => names.first().cloned(),
        Some(wanted) => names.iter().find(|n| crate::matches(wanted, n)).cloned(),
    }
    .ok_or_else(|| SheetError::NoSheet {
        wanted: layout.sheet.clone().unwrap_or_else(|| "(first)".into()),
        available: names.join(", "),
    })?;
    let range = book.worksheet_range(&name).map_err(|e| SheetError::Open(e.to_string()))?;
    let (first_row, first_col) = range.start().unwrap_or((0, 0));
    let width = range.width();
    let rows: Vec<(usize, &[Data])> =
        range.rows().enumerate().map(|(i, r)| (first_row as usize + i + 1, r)).collect();
    let blank = |r: &[Data]| r.iter().all(|c| matches!(c, Data::Empty));
    let header_rows: Vec<usize> = if layout.header_rows.is_empty() {
        rows.iter()
            .find(|(_, r)| !blank(r))
            .map(|(n, _)| vec![*n])
            .ok_or_else(|| SheetError::EmptySheet(name.clone()))?
    } else {
        layout.header_rows.clone()
    };
    let last_header = header_rows.iter().copied().max().unwrap_or(0);
    let first_header = header_rows.iter().copied().min().unwrap_or(0);
    let title: Vec<String> = rows
        .iter()
        .filter(|(n, r)| *n < first_header && !blank(r))
        .map(|(_, r)| {
            let cells: Vec<String> = r.iter().filter_map(cell).collect();
            cells.iter().map(|c| c.trim()).filter(|c| !c.is_empty()).collect::<Vec<_>>().join(" ")
        })
        .collect();
    let header = sheet_header(&rows, &header_rows, width, first_col as usize);
    if header.iter().all(|h| h.starts_with("kolom_")) {
        return Err(SheetError::EmptySheet(format!("{name}` header row(s) `{header_rows:?}")));
    }
    let fill: Vec<usize> = layout
        .fill_down
        .iter()
        .filter_map(|f| header.iter().position(|h| h.eq_ignore_ascii_case(f)))
        .collect();
    let mut above: Vec<Option<String>> = vec![None; header.len()];
    let mut records = Vec::new();
    let mut locations = Vec::new();
    for (number, row) in rows.iter().filter(|(n, _)| *n > last_header) {
        if blank(row) {
            continue;
        }
        let mut record = Vec::with_capacity(header.len());
        for (i, h) in header.iter().enumerate() {
            let mut value = row.get(i).and_then(cell);
            if let Some(v) = value.as_ref().filter(|v| v.len() > MAX_CELL) {
                let cell = format!("{name}!{}{number}", column_name(first_col as usize + i));
                return Err(SheetError::CellTooLarge { cell, bytes: v.len() });
            }
            if fill.contains(&i) {
                match &value {
                    Some(v) if !v.trim().is_empty() => above[i] = value.clone(),
                    _ => value = above[i].clone(),
                }
            }
            record.push((h.clone(), value));
        }
        records.push(record);
        locations.push(format!("{name}!{number}"));
    }
    let letters = (0..header.len()).map(|i| column_name(first_col as usize + i)).collect();
    Ok(Table { sheet: name, header, records, locations, letters, title })
}

/// Column names from one or more header rows of a sheet (see [`flatten_header`]).
fn sheet_header(
    rows: &[(usize, &[Data])],
    header_rows: &[usize],
    width: usize,
    first_col: usize,
) -> Vec<String> {
    let grid: Vec<Vec<Option<String>>> = header_rows
        .iter()
        .map(|number| {
            let row = rows.iter().find(|(n, _)| n == number).map(|(_, r)| *r).unwrap_or(&[]);
            (0..width).map(|i| row.get(i).and_then(cell)).collect()
        })
        .collect();
    flatten_header(&grid)
        .into_iter()
        .enumerate()
        .map(|(i, name)| name.unwrap_or_else(|| format!("kolom_{}", column_name(first_col + i))))
        .collect()
}

/// Column names from header rows (a grid of cells, one row per header row). A group header
/// merged across columns (its text only in the first) spans the columns to its right that have a
/// header of their own in the row below; a column's parts are joined with `/`, and a part repeated
/// from the row above (a header merged vertically) counts once: `Kecamatan`,
/// `Jumlah Sekolah/Negeri`, `Jumlah Peserta Didik/L`. `None` for a column with no header.
pub fn flatten_header(grid: &[Vec<Option<String>>]) -> Vec<Option<String>> {
    let width = grid.iter().map(Vec::len).max().unwrap_or(0);
    let text = |k: usize, i: usize| {
        grid.get(k)
            .and_then(|r| r.get(i))
            .cloned()
            .flatten()
            .map(|t| t.trim().to_string())
            .filter(|t| !t.is_empty())
    };
    let mut parts: Vec<Vec<String>> = vec![Vec::new(); width];
    for k in 0..grid.len() {
        let has_below = |i: usize| k + 1 < grid.len() && text(k + 1, i).is_some();
        let mut group: Option<(usize, String)> = None;
        for (i, column) in parts.iter_mut().enumerate() {
            let here = match text(k, i) {
                Some(t) => {
                    group = Some((i, t.clone()));
                    Some(t)
                }
                None => group.as_ref().filter(|(g, _)| has_below(*g) && has_below(i)).map(|(_, t)| t.clone()),
            };
            if let Some(t) = here.filter(|t| column.last() != Some(t)) {
                column.push(t);
            }
        }
    }
    parts.into_iter().map(|p| (!p.is_empty()).then(|| p.join("/"))).collect()
}

/// Tells broken files apart before the workbook reader gives a vaguer error.
fn sniff(bytes: &[u8]) -> Result<(), SheetError> {
    if bytes.is_empty() {
        return Err(SheetError::EmptyFile);
    }
    let start: Vec<u8> = bytes.iter().copied().skip_while(u8::is_ascii_whitespace).take(200).collect();
    if start.first() == Some(&b'<') {
        return Err(SheetError::Html(crate::json::preview(&String::from_utf8_lossy(&start))));
    }
    // An OLE container holding an `EncryptedPackage` stream is an encrypted OOXML workbook.
    const OLE: [u8; 8] = [0xD0, 0xCF, 0x11, 0xE0, 0xA1, 0xB1, 0x1A, 0xE1];
    let encrypted: Vec<u8> = "EncryptedPackage".encode_utf16().flat_map(u16::to_le_bytes).collect();
    if bytes.starts_with(&OLE) && bytes.windows(encrypted.len()).any(|w| w == encrypted.as_slice()) {
        return Err(SheetError::Encrypted);
    }
    Ok(())
}

/// `A`, `B`, … `Z`, `AA` for a 0-based column.
fn column_name(mut i: usize) -> String {
    let mut out = Vec::new();
    loop {
        out.push(b'A' + (i % 26) as u8);
        if i < 26 {
            break;
        }
        i = i / 26 - 1;
    }
    out.reverse();
    String::from_utf8_lossy(&out).into_owned()
}

/// A cell as text: whole numbers without `.0`, dates as ISO, errors as their code.
fn cell(c: &Data) -> Option<String> {
    match c {
        Data::Empty => None,
        Data::Float(f) if f.fract() == 0.0 && f.abs() < 1e15 => Some(format!("{f:.0}")),
        Data::DateTime(d) => d.as_datetime().map(|t| {
            if t.time() == chrono::NaiveTime::MIN {
                t.date().to_string()
            } else {
                t.to_string()
            }
        }),
        other => Some(other.to_string()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn column_letters_and_broken_files() {
        assert_eq!(column_name(0), "A");
        assert_eq!(column_name(25), "Z");
        assert_eq!(column_name(26), "AA");
        assert_eq!(sniff(b""), Err(SheetError::EmptyFile));
        assert!(matches!(sniff(b"  <!DOCTYPE html><title>502</title>"), Err(SheetError::Html(_))));
    }
}
