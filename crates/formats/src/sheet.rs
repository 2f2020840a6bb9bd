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
}

/// The first sheet of `bytes`, header on its first non-empty row.
pub fn first_sheet(bytes: &[u8]) -> Result<(Vec<Record>, Vec<String>), SheetError> {
    read(bytes, None, None).map(|t| (t.records, t.locations))
}

/// Reads sheet `sheet` (a name or a `*` pattern, case-insensitive; default the first) of
/// `bytes`, with the header on row `header_row` (1-based; default the first non-empty row).
pub fn read(bytes: &[u8], sheet: Option<&str>, header_row: Option<usize>) -> Result<Table, SheetError> {
    sniff(bytes)?;
    let mut book = calamine::open_workbook_auto_from_rs(std::io::Cursor::new(bytes))
        .map_err(|e| SheetError::Open(e.to_string()))?;
    let names = book.sheet_names().to_vec();
    let name = match sheet {
        None => names.first().cloned(),
        Some(wanted) => names.iter().find(|n| matches(wanted, n)).cloned(),
    }
    .ok_or_else(|| SheetError::NoSheet {
        wanted: sheet.unwrap_or("(first)").into(),
        available: names.join(", "),
    })?;
    let range = book.worksheet_range(&name).map_err(|e| SheetError::Open(e.to_string()))?;
    let (first_row, first_col) = range.start().unwrap_or((0, 0));
    let mut rows = range.rows().enumerate().map(|(i, r)| (first_row as usize + i + 1, r));
    let header: Vec<String> = loop {
        let (number, row) = rows.next().ok_or_else(|| SheetError::EmptySheet(name.clone()))?;
        let wanted = header_row.is_none_or(|h| h == number);
        if wanted && row.iter().any(|c| !matches!(c, Data::Empty)) {
            break row
                .iter()
                .enumerate()
                .map(|(i, c)| {
                    cell(c).unwrap_or_else(|| format!("kolom_{}", column_name(first_col as usize + i)))
                })
                .collect();
        }
        if header_row.is_some_and(|h| number >= h) {
            return Err(SheetError::EmptySheet(format!("{name}` row `{number}")));
        }
    };
    let mut records = Vec::new();
    let mut locations = Vec::new();
    for (number, row) in rows {
        if row.iter().all(|c| matches!(c, Data::Empty)) {
            continue;
        }
        let mut record = Vec::with_capacity(header.len());
        for (i, (h, c)) in header.iter().zip(row.iter()).enumerate() {
            let value = cell(c);
            if let Some(v) = value.as_ref().filter(|v| v.len() > MAX_CELL) {
                let cell = format!("{name}!{}{number}", column_name(first_col as usize + i));
                return Err(SheetError::CellTooLarge { cell, bytes: v.len() });
            }
            record.push((h.clone(), value));
        }
        records.push(record);
        locations.push(format!("{name}!{number}"));
    }
    Ok(Table { sheet: name, header, records, locations })
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

/// `REKAP*` matches `REKAP SD`; without `*`, names match whole; case does not matter.
fn matches(pattern: &str, name: &str) -> bool {
    let (p, n) = (pattern.to_lowercase(), name.to_lowercase());
    let parts: Vec<&str> = p.split('*').collect();
    if parts.len() == 1 {
        return p == n;
    }
    let mut rest = n.as_str();
    for (i, part) in parts.iter().enumerate() {
        if i == 0 {
            let Some(r) = rest.strip_prefix(part) else { return false };
            rest = r;
        } else if i == parts.len() - 1 {
            return rest.ends_with(part);
        } else {
            let Some(at) = rest.find(part) else { return false };
            rest = &rest[at + part.len()..];
        }
    }
    true
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
    fn names_patterns_and_columns() {
        assert!(matches("REKAP*", "Rekap SD"));
        assert!(matches("*sd", "REKAP SD"));
        assert!(matches("rekap sd", "REKAP SD"));
        assert!(!matches("REKAP*SMP", "REKAP SD"));
        assert_eq!(column_name(0), "A");
        assert_eq!(column_name(25), "Z");
        assert_eq!(column_name(26), "AA");
        assert_eq!(sniff(b""), Err(SheetError::EmptyFile));
        assert!(matches!(sniff(b"  <!DOCTYPE html><title>502</title>"), Err(SheetError::Html(_))));
    }
}
