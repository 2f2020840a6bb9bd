//! JSON records into string columns.
//!
//! Nested objects are flattened to `a.b` columns; arrays stay JSON text, or one of them is
//! exploded into a row per element ([`explode`]); numbers keep the exact
//! text the payload had (`23.456`, `12345678901234567890`), never passing through a float, so
//! that numbers sent as numbers and numbers sent as strings are read alike by the transform.

use polars::prelude::{Column, DataFrame, NamedFrom, Series};
use serde_json::value::RawValue;
use std::collections::HashMap;

/// Why a payload could not be read.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum JsonError {
    /// Not JSON at all, or cut short.
    #[error("invalid JSON (cut short?): {0}")]
    Syntax(String),
    /// The records path does not lead to an array.
    #[error("no records at `{path}`: {found}")]
    Path {
        /// The path asked for.
        path: String,
        /// What was there instead.
        found: String,
    },
}

/// One flattened record: (column, value) in payload order; `None` for JSON null.
pub type Record = Vec<(String, Option<String>)>;

/// The records of `body` at the dot `path` (`""`: the body itself is the array; `result.records`).
pub fn records(body: &[u8], path: &str) -> Result<Vec<Record>, JsonError> {
    let root: &RawValue = serde_json::from_slice(body).map_err(|e| JsonError::Syntax(e.to_string()))?;
    let mut at = root;
    let mut walked = String::new();
    for key in path.split('.').filter(|k| !k.is_empty()) {
        let object: HashMap<String, &RawValue> =
            serde_json::from_str(at.get()).map_err(|_| JsonError::Path {
                path: path.into(),
                found: format!("`{}` is not an object", if walked.is_empty() { "the body" } else { &walked }),
            })?;
        at = *object.get(key).ok_or_else(|| JsonError::Path {
            path: path.into(),
            found: format!(
                "no key `{key}`{}",
                if walked.is_empty() { String::new() } else { format!(" in `{walked}`") }
            ),
        })?;
        walked = if walked.is_empty() { key.to_string() } else { format!("{walked}.{key}") };
    }
    let items: Vec<&RawValue> = serde_json::from_str(at.get()).map_err(|_| JsonError::Path {
        path: path.into(),
        found: format!("not an array: {}", preview(at.get())),
    })?;
    items.into_iter().map(flatten).collect()
}

/// Flattens one record (an object; anything else becomes a single `value` column).
pub fn flatten(raw: &RawValue) -> Result<Record, JsonError> {
    let mut out = Vec::new();
    if raw.get().trim_start().starts_with('{') {
        flatten_into("", raw, &mut out)?;
    } else {
        out.push(("value".to_string(), scalar(raw)?));
    }
    Ok(out)
}

fn flatten_into(prefix: &str, raw: &RawValue, out: &mut Record) -> Result<(), JsonError> {
    // Keys in payload order: a Vec of pairs, not a map.
    let pairs: Vec<(String, &RawValue)> =
        serde_json::from_str::<OrderedObject>(raw.get()).map_err(|e| JsonError::Syntax(e.to_string()))?.0;
    for (key, value) in pairs {
        // A byte-order mark pasted into a field name (a CKAN classic) is not part of the name.
        let key = key.trim_start_matches('\u{feff}');
        let name = if prefix.is_empty() { key.to_string() } else { format!("{prefix}.{key}") };
        if value.get().trim_start().starts_with('{') {
            flatten_into(&name, value, out)?;
        } else {
            out.push((name, scalar(value)?));
        }
    }
    Ok(())
}

/// A JSON value as text: strings unquoted, numbers and booleans as written, arrays as JSON,
/// null as `None`.
fn scalar(raw: &RawValue) -> Result<Option<String>, JsonError> {
    let text = raw.get().trim();
    Ok(match text.as_bytes().first() {
        Some(b'"') => {
            Some(serde_json::from_str::<String>(text).map_err(|e| JsonError::Syntax(e.to_string()))?)
        }
        Some(b'n') => None,
        _ => Some(text.to_string()),
    })
}

/// One row per element of the array in column `column` (JSON text, as flattening leaves arrays):
/// the record's other columns repeated, an object element flattened under the column's name
/// (`anggaran.kode`, `anggaran.nilai`), a scalar element as the column itself; each row located at
/// its element (`data.json#3 anggaran[0]`). A record whose value there is not an array, or an
/// empty one, stays one row, with the column null for an empty array: nothing is dropped.
pub fn explode(
    records: Vec<Record>,
    locations: Vec<String>,
    column: &str,
) -> Result<(Vec<Record>, Vec<String>), JsonError> {
    let mut out = Vec::with_capacity(records.len());
    let mut out_locations = Vec::with_capacity(records.len());
    for (record, location) in records.into_iter().zip(locations) {
        let at =
            record.iter().position(|(n, v)| n == column && v.as_deref().is_some_and(|v| v.starts_with('[')));
        let Some(at) = at else {
            out.push(record);
            out_locations.push(location);
            continue;
        };
        let text = record[at].1.clone().unwrap_or_default();
        let items: Vec<&RawValue> =
            serde_json::from_str(&text).map_err(|e| JsonError::Syntax(e.to_string()))?;
        if items.is_empty() {
            let mut row = record;
            row[at].1 = None;
            out.push(row);
            out_locations.push(location);
            continue;
        }
        for (i, item) in items.into_iter().enumerate() {
            let mut row: Record = record[..at].to_vec();
            if item.get().trim_start().starts_with('{') {
                flatten_into(column, item, &mut row)?;
            } else {
                row.push((column.to_string(), scalar(item)?));
            }
            row.extend_from_slice(&record[at + 1..]);
            out.push(row);
            out_locations.push(format!("{location} {column}[{i}]"));
        }
    }
    Ok((out, out_locations))
}

/// An object read as its (key, raw value) pairs, in order.
struct OrderedObject<'a>(Vec<(String, &'a RawValue)>);

impl<'de: 'a, 'a> serde::Deserialize<'de> for OrderedObject<'a> {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct Pairs<'a>(std::marker::PhantomData<&'a ()>);
        impl<'de: 'a, 'a> serde::de::Visitor<'de> for Pairs<'a> {
            type Value = OrderedObject<'a>;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("a JSON object")
            }
            fn visit_map<M: serde::de::MapAccess<'de>>(self, mut map: M) -> Result<Self::Value, M::Error> {
                let mut pairs = Vec::new();
                while let Some(entry) = map.next_entry::<String, &'de RawValue>()? {
                    pairs.push(entry);
                }
                Ok(OrderedObject(pairs))
            }
        }
        d.deserialize_map(Pairs(std::marker::PhantomData))
    }
}

/// The first characters of a payload, for error messages.
pub fn preview(text: &str) -> String {
    let t: String = text.trim().chars().take(120).collect();
    t.replace(['\n', '\r'], " ")
}

/// The columns of `records`, in order of first appearance.
pub fn column_names(records: &[Record]) -> Vec<String> {
    let mut seen = std::collections::HashSet::new();
    records
        .iter()
        .flatten()
        .filter(|(name, _)| seen.insert(name.as_str()))
        .map(|(name, _)| name.clone())
        .collect()
}

/// A catalog of one entry, `name`, whose columns are those of `records` (all JSON values).
pub fn catalog(name: String, records: &[Record], row_estimate: Option<u64>) -> satu_core::Catalog {
    let columns = column_names(records)
        .into_iter()
        .map(|name| satu_core::CatalogColumn { name, source_type: "json".into(), nullable: true })
        .collect();
    satu_core::Catalog {
        entries: vec![satu_core::CatalogEntry { name, columns, primary_key: vec![], row_estimate }],
    }
}

/// Builds a batch of string columns from records: one column per key, in order of first
/// appearance, missing keys as null, plus `location_column` from `locations`.
pub fn frame(records: &[Record], locations: Vec<String>, location_column: &str) -> Result<DataFrame, String> {
    let names = column_names(records);
    let index: HashMap<&str, usize> = names.iter().enumerate().map(|(i, n)| (n.as_str(), i)).collect();
    let mut columns: Vec<Vec<Option<String>>> = vec![vec![None; records.len()]; names.len()];
    for (row, r) in records.iter().enumerate() {
        for (name, value) in r {
            if let Some(&i) = index.get(name.as_str()) {
                columns[i][row] = value.clone();
            }
        }
    }
    let mut cols: Vec<Column> =
        names.iter().zip(columns).map(|(n, values)| Series::new(n.as_str().into(), values).into()).collect();
    cols.push(Series::new(location_column.into(), locations).into());
    DataFrame::new(records.len(), cols).map_err(|e| e.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn flattens_nested_objects_with_exact_numbers() {
        let body = br#"{"data": {"items": [
            {"\ufeffkode": "3576010", "jumlah": 23.456, "besar": 12345678901234567890, "wilayah": {"nama": "Prajurit Kulon", "tingkat": 3}, "tag": ["a", 1], "kosong": null},
            {"kode": "357602", "jumlah": "23.456", "ok": true}
        ]}}"#;
        let rows = records(body, "data.items").expect("records");
        assert_eq!(rows.len(), 2);
        let get = |r: &Record, k: &str| r.iter().find(|(n, _)| n == k).and_then(|(_, v)| v.clone());
        assert_eq!(get(&rows[0], "kode").as_deref(), Some("3576010"), "BOM stripped from the key");
        assert_eq!(get(&rows[0], "jumlah").as_deref(), Some("23.456"));
        assert_eq!(get(&rows[0], "besar").as_deref(), Some("12345678901234567890"));
        assert_eq!(get(&rows[0], "wilayah.nama").as_deref(), Some("Prajurit Kulon"));
        assert_eq!(get(&rows[0], "wilayah.tingkat").as_deref(), Some("3"));
        assert_eq!(get(&rows[0], "tag").as_deref(), Some(r#"["a", 1]"#));
        assert_eq!(get(&rows[0], "kosong"), None);
        assert_eq!(get(&rows[1], "jumlah").as_deref(), Some("23.456"));
        let df = frame(&rows, vec!["p1#0".into(), "p1#1".into()], "_lokasi").expect("frame");
        assert_eq!(df.height(), 2);
        assert_eq!(df.width(), 9);
    }

    #[test]
    fn explodes_one_array_into_rows() -> Result<(), JsonError> {
        let body = br#"[{"opd": "DINKES", "anggaran": [{"kode": "1.02", "nilai": 1.5}, {"kode": "1.03", "nilai": 2}], "tahun": 2024},
                        {"opd": "DISDIK", "anggaran": [], "tahun": 2024},
                        {"opd": "BPBD", "anggaran": null, "tahun": 2024}]"#;
        let rows = records(body, "")?;
        let (rows, locations) = explode(rows, vec!["a#1".into(), "a#2".into(), "a#3".into()], "anggaran")?;
        let text = |r: &Record| {
            r.iter().map(|(n, v)| format!("{n}={}", v.as_deref().unwrap_or("∅"))).collect::<Vec<_>>()
        };
        assert_eq!(text(&rows[0]), ["opd=DINKES", "anggaran.kode=1.02", "anggaran.nilai=1.5", "tahun=2024"]);
        assert_eq!(text(&rows[1]), ["opd=DINKES", "anggaran.kode=1.03", "anggaran.nilai=2", "tahun=2024"]);
        assert_eq!(
            text(&rows[2]),
            ["opd=DISDIK", "anggaran=∅", "tahun=2024"],
            "an empty array keeps its row"
        );
        assert_eq!(text(&rows[3]), ["opd=BPBD", "anggaran=∅", "tahun=2024"]);
        assert_eq!(locations, ["a#1 anggaran[0]", "a#1 anggaran[1]", "a#2", "a#3"]);
        let (tags, _) = explode(records(br#"[{"t": ["x", 2]}]"#, "")?, vec!["b#1".into()], "t")?;
        assert_eq!(tags.iter().map(text).collect::<Vec<_>>(), [["t=x"], ["t=2"]]);
        Ok(())
    }

    #[test]
    fn says_what_is_wrong() {
        assert!(matches!(records(br#"{"data": [1, 2"#, "data"), Err(JsonError::Syntax(_))));
        assert_eq!(
            records(br#"{"data": {"rows": []}}"#, "data.items"),
            Err(JsonError::Path { path: "data.items".into(), found: "no key `items` in `data`".into() })
        );
        assert!(matches!(records(br#"{"data": 3}"#, "data"), Err(JsonError::Path { .. })));
        assert_eq!(records(b"[]", "").map(|r| r.len()), Ok(0));
    }
}
