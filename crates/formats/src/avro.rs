//! Avro object container files as records: every record flattened to `a.b` columns of text,
//! numbers and decimals exact, dates and timestamps in ISO form, arrays and maps as JSON.

use crate::json::Record;
use apache_avro::schema::Schema;
use apache_avro::types::Value;
use std::collections::HashMap;

/// Reads every record of the Avro file in `bytes`; errors name the record (from 1).
pub fn records(bytes: &[u8]) -> Result<Vec<Record>, String> {
    let reader =
        apache_avro::Reader::new(bytes).map_err(|e| format!("not an Avro object container file: {e}"))?;
    let scales = decimal_scales(reader.writer_schema());
    let mut out = Vec::new();
    for (i, value) in reader.enumerate() {
        let value = value.map_err(|e| format!("record {}: {e}", i + 1))?;
        let mut record = Vec::new();
        flatten("", value, &scales, &mut record).map_err(|e| format!("record {}: {e}", i + 1))?;
        out.push(record);
    }
    Ok(out)
}

/// The scale of every decimal field, by flattened name.
fn decimal_scales(schema: &Schema) -> HashMap<String, usize> {
    fn walk(prefix: &str, schema: &Schema, out: &mut HashMap<String, usize>) {
        match schema {
            Schema::Record(r) => {
                for f in &r.fields {
                    let name =
                        if prefix.is_empty() { f.name.clone() } else { format!("{prefix}.{}", f.name) };
                    walk(&name, &f.schema, out);
                }
            }
            Schema::Union(u) => u.variants().iter().for_each(|v| walk(prefix, v, out)),
            Schema::Decimal(d) => {
                out.insert(prefix.to_string(), d.scale);
            }
            _ => {}
        }
    }
    let mut out = HashMap::new();
    walk("", schema, &mut out);
    out
}

fn flatten(
    name: &str,
    value: Value,
    scales: &HashMap<String, usize>,
    out: &mut Record,
) -> Result<(), String> {
    let text = match value {
        Value::Record(fields) => {
            for (field, v) in fields {
                let path = if name.is_empty() { field } else { format!("{name}.{field}") };
                flatten(&path, v, scales, out)?;
            }
            return Ok(());
        }
        Value::Union(_, inner) => return flatten(name, *inner, scales, out),
        Value::Null => None,
        Value::Boolean(b) => Some(b.to_string()),
        Value::Int(n) => Some(n.to_string()),
        Value::Long(n) => Some(n.to_string()),
        Value::Float(f) => Some(f.to_string()),
        Value::Double(f) => Some(f.to_string()),
        Value::String(s) | Value::Enum(_, s) => Some(s),
        Value::Bytes(b) | Value::Fixed(_, b) => Some(b.iter().map(|x| format!("{x:02x}")).collect()),
        Value::Date(days) => {
            chrono::NaiveDate::from_num_days_from_ce_opt(days + 719_163).map(|d| d.to_string())
        }
        Value::TimestampMillis(ms) | Value::LocalTimestampMillis(ms) => {
            chrono::DateTime::from_timestamp_millis(ms)
                .map(|t| t.format("%Y-%m-%dT%H:%M:%S%.3fZ").to_string())
        }
        Value::TimestampMicros(us) | Value::LocalTimestampMicros(us) => {
            chrono::DateTime::from_timestamp_micros(us)
                .map(|t| t.format("%Y-%m-%dT%H:%M:%S%.6fZ").to_string())
        }
        Value::Decimal(d) => {
            let scale =
                *scales.get(name).ok_or_else(|| format!("decimal field `{name}` without a known scale"))?;
            let bytes = Vec::<u8>::try_from(&d).map_err(|e| format!("decimal field `{name}`: {e}"))?;
            Some(
                decimal_text(&bytes, scale)
                    .ok_or_else(|| format!("decimal field `{name}` is wider than 38 digits"))?,
            )
        }
        Value::BigDecimal(d) => Some(d.to_string()),
        Value::Uuid(u) => Some(u.to_string()),
        other @ (Value::Array(_) | Value::Map(_)) => {
            Some(serde_json::Value::try_from(other).map_err(|e| format!("field `{name}`: {e}"))?.to_string())
        }
        other => Some(format!("{other:?}")),
    };
    out.push((name.to_string(), text));
    Ok(())
}

/// A big-endian two's-complement unscaled value with `scale` decimals, as exact text.
fn decimal_text(bytes: &[u8], scale: usize) -> Option<String> {
    if bytes.len() > 16 {
        return None;
    }
    let negative = bytes.first().is_some_and(|b| b & 0x80 != 0);
    let mut buf = if negative { [0xFFu8; 16] } else { [0u8; 16] };
    buf[16 - bytes.len()..].copy_from_slice(bytes);
    let n = i128::from_be_bytes(buf);
    let digits = n.unsigned_abs().to_string();
    let digits = format!("{digits:0>width$}", width = scale + 1);
    let (int, frac) = digits.split_at(digits.len() - scale);
    let sign = if n < 0 { "-" } else { "" };
    Some(if scale == 0 { format!("{sign}{int}") } else { format!("{sign}{int}.{frac}") })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decimals_are_exact() {
        assert_eq!(decimal_text(&[0x30, 0x39], 2).as_deref(), Some("123.45"));
        assert_eq!(decimal_text(&[0xCF, 0xC7], 2).as_deref(), Some("-123.45"));
        assert_eq!(decimal_text(&[0x05], 3).as_deref(), Some("0.005"));
    }

    #[test]
    fn records_from_a_written_file() -> Result<(), Box<dyn std::error::Error>> {
        let schema = apache_avro::Schema::parse_str(
            r#"{"type": "record", "name": "r", "fields": [
                {"name": "kode", "type": "string"},
                {"name": "jumlah", "type": {"type": "bytes", "logicalType": "decimal", "precision": 10, "scale": 2}},
                {"name": "tanggal", "type": {"type": "int", "logicalType": "date"}},
                {"name": "catatan", "type": ["null", "string"]},
                {"name": "wilayah", "type": {"type": "record", "name": "w", "fields": [{"name": "nama", "type": "string"}]}}
            ]}"#,
        )?;
        let mut writer = apache_avro::Writer::new(&schema, Vec::new());
        writer.append(Value::Record(vec![
            ("kode".into(), Value::String("35.76.02.1003".into())),
            ("jumlah".into(), Value::Decimal(apache_avro::Decimal::from(vec![0x30, 0x39]))),
            ("tanggal".into(), Value::Date(19_800)),
            ("catatan".into(), Value::Union(0, Box::new(Value::Null))),
            ("wilayah".into(), Value::Record(vec![("nama".into(), Value::String("Magersari".into()))])),
        ]))?;
        let bytes = writer.into_inner()?;
        let rows = records(&bytes)?;
        let get = |k: &str| rows[0].iter().find(|(n, _)| n == k).and_then(|(_, v)| v.clone());
        assert_eq!(get("jumlah").as_deref(), Some("123.45"));
        assert_eq!(get("tanggal").as_deref(), Some("2024-03-18"));
        assert_eq!(get("catatan"), None);
        assert_eq!(get("wilayah.nama").as_deref(), Some("Magersari"));
        assert!(records(b"not avro").is_err());
        Ok(())
    }
}
