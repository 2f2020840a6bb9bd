//! Spreadsheets (xlsx, xls, ods) as records: the first sheet, its first non-empty row as the
//! header, every later row a record located by its cell row (`Sheet1!7`).

use crate::json::Record;
use calamine::{Data, Reader};

/// Why a workbook could not be read.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum SheetError {
    /// Not a workbook calamine can open (or a damaged one).
    #[error("not a readable workbook: {0}")]
    Open(String),
    /// No sheet, or an empty first sheet.
    #[error("the workbook has no data on its first sheet")]
    Empty,
}

/// The records of the first sheet of `bytes`, with their locations (`<sheet>!<row>`).
pub fn first_sheet(bytes: &[u8]) -> Result<(Vec<Record>, Vec<String>), SheetError> {
    let mut book = calamine::open_workbook_auto_from_rs(std::io::Cursor::new(bytes))
        .map_err(|e| SheetError::Open(e.to_string()))?;
    let name = book.sheet_names().first().cloned().ok_or(SheetError::Empty)?;
    let range = book.worksheet_range(&name).map_err(|e| SheetError::Open(e.to_string()))?;
    let first_row = range.start().map_or(0, |(r, _)| r);
    let mut rows = range.rows().enumerate();
    let header: Vec<String> = loop {
        let (_, row) = rows.next().ok_or(SheetError::Empty)?;
        if row.iter().any(|c| !matches!(c, Data::Empty)) {
            break row
                .iter()
                .enumerate()
                .map(|(i, c)| cell(c).unwrap_or_else(|| format!("kolom_{}", i + 1)))
                .collect();
        }
    };
    let mut records = Vec::new();
    let mut locations = Vec::new();
    for (i, row) in rows {
        if row.iter().all(|c| matches!(c, Data::Empty)) {
            continue;
        }
        records.push(header.iter().cloned().zip(row.iter().map(cell)).collect());
        locations.push(format!("{name}!{}", first_row as usize + i + 1));
    }
    Ok((records, locations))
}

/// A cell as text: whole numbers without `.0`, dates as ISO, errors as their code.
fn cell(c: &Data) -> Option<String> {
    match c {
        Data::Empty => None,
        Data::Float(f) if f.fract() == 0.0 && f.abs() < 1e15 => Some(format!("{f:.0}")),
        Data::DateTime(d) => d.as_datetime().map(|t| {
            if t.time() == chrono_midnight() {
                t.date().to_string()
            } else {
                t.to_string()
            }
        }),
        other => Some(other.to_string()),
    }
}

fn chrono_midnight() -> chrono::NaiveTime {
    chrono::NaiveTime::MIN
}
