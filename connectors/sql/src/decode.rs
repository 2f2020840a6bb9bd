//! Column decoders: one chosen per column from its declared type before the row loop (never a
//! `match` on the type name per cell), and column builders that become polars columns.

use chrono::{DateTime, FixedOffset, NaiveDate, NaiveDateTime, NaiveTime, Utc};
use polars::prelude::{Column, IntoColumn, StringChunkedBuilder};
use rust_decimal::Decimal;
use sqlx::error::UnexpectedNullError;
use sqlx::Row;

/// How a column is decoded.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// Signed integers of up to 8 bytes (`width` 1, 2, 4 or 8).
    Int(u8),
    /// Unsigned integers, kept exact as text when they may exceed i64.
    UInt,
    /// `YEAR`.
    Year,
    /// 4-byte float.
    Float32,
    /// 8-byte float.
    Float64,
    /// Booleans.
    Bool,
    /// DECIMAL/NUMERIC, kept exact as text.
    Decimal,
    /// Text, ENUM, SET.
    Text,
    /// JSON, as its text.
    Json,
    /// Binary, as lower-case hex — or as text when it is valid UTF-8: MariaDB reports JSON and
    /// `_bin`-collated text as binary.
    Bytes,
    /// DATE, as `YYYY-MM-DD`.
    Date,
    /// Wall-clock DATETIME/TIMESTAMP WITHOUT TIME ZONE, as the source wrote it.
    DateTime,
    /// An instant (MySQL TIMESTAMP, TIMESTAMPTZ), in the source's declared zone.
    Timestamp,
    /// TIME.
    Time,
    /// SQLite: each value carries its own type; rendered as text.
    Dynamic,
}

impl Kind {
    /// The decoder for a MySQL/MariaDB type name, or `None` when Satu cannot read it.
    pub fn mysql(type_name: &str) -> Option<Self> {
        Some(match type_name {
            "TINYINT" => Self::Int(1),
            "SMALLINT" => Self::Int(2),
            "INT" | "MEDIUMINT" => Self::Int(4),
            "BIGINT" => Self::Int(8),
            "TINYINT UNSIGNED" | "SMALLINT UNSIGNED" | "MEDIUMINT UNSIGNED" | "INT UNSIGNED"
            | "BIGINT UNSIGNED" => Self::UInt,
            "YEAR" => Self::Year,
            "FLOAT" => Self::Float32,
            "DOUBLE" => Self::Float64,
            "BOOLEAN" => Self::Bool,
            "DECIMAL" => Self::Decimal,
            "CHAR" | "VARCHAR" | "TINYTEXT" | "TEXT" | "MEDIUMTEXT" | "LONGTEXT" | "ENUM" | "SET" => {
                Self::Text
            }
            "JSON" => Self::Json,
            "BINARY" | "VARBINARY" | "TINYBLOB" | "BLOB" | "MEDIUMBLOB" | "LONGBLOB" | "BIT" => Self::Bytes,
            "DATE" => Self::Date,
            "DATETIME" => Self::DateTime,
            "TIMESTAMP" => Self::Timestamp,
            "TIME" => Self::Time,
            _ => return None,
        })
    }

    /// The decoder for a PostgreSQL type name, or `None` when Satu cannot read it.
    pub fn postgres(type_name: &str) -> Option<Self> {
        Some(match type_name {
            "INT2" => Self::Int(2),
            "INT4" => Self::Int(4),
            "INT8" => Self::Int(8),
            "FLOAT4" => Self::Float32,
            "FLOAT8" => Self::Float64,
            "BOOL" => Self::Bool,
            "NUMERIC" => Self::Decimal,
            "TEXT" | "VARCHAR" | "BPCHAR" | "NAME" | "CHAR" => Self::Text,
            "JSON" | "JSONB" => Self::Json,
            "BYTEA" => Self::Bytes,
            "DATE" => Self::Date,
            "TIMESTAMP" => Self::DateTime,
            "TIMESTAMPTZ" => Self::Timestamp,
            "TIME" => Self::Time,
            _ => return None,
        })
    }

    /// The builder this kind fills; `keep_last` when the last value is read back (cursor and key
    /// columns: checkpoints and row locations), which costs text columns a copy per value.
    pub fn builder(&self, capacity: usize, keep_last: bool) -> Builder {
        match self {
            Self::Int(_) | Self::Year => Builder::Int(Vec::with_capacity(capacity)),
            Self::Float32 | Self::Float64 => Builder::Float(Vec::with_capacity(capacity)),
            Self::Bool => Builder::Bool(Vec::with_capacity(capacity)),
            _ => Builder::text(capacity, keep_last),
        }
    }

    /// The kind name stored with cursor and key values in the source state.
    pub fn state_name(&self) -> &'static str {
        match self {
            Self::Int(_) | Self::Year => "int",
            Self::DateTime => "datetime",
            Self::Timestamp => "timestamp",
            Self::Date => "date",
            _ => "text",
        }
    }
}

/// A column being filled. Text goes straight from the row into polars' string builder: no
/// `String` per cell.
// One builder per column: the size of the text variant does not matter.
#[allow(clippy::large_enum_variant)]
pub enum Builder {
    /// Int64 column.
    Int(Vec<Option<i64>>),
    /// Float64 column.
    Float(Vec<Option<f64>>),
    /// Boolean column.
    Bool(Vec<Option<bool>>),
    /// String column, with the last value kept when `keep_last` (for checkpoints and row
    /// locations) and a scratch buffer for values formatted on the way in.
    Text { values: StringChunkedBuilder, len: usize, keep_last: bool, last: Option<String>, scratch: String },
}

impl Builder {
    fn text(capacity: usize, keep_last: bool) -> Self {
        Self::Text {
            values: StringChunkedBuilder::new("".into(), capacity),
            len: 0,
            keep_last,
            last: None,
            scratch: String::new(),
        }
    }

    /// Rows pushed since the last [`Builder::take`].
    pub fn len(&self) -> usize {
        match self {
            Self::Int(v) => v.len(),
            Self::Float(v) => v.len(),
            Self::Bool(v) => v.len(),
            Self::Text { len, .. } => *len,
        }
    }

    /// True when no row was pushed since the last [`Builder::take`].
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Appends NULL.
    pub fn push_null(&mut self) {
        match self {
            Self::Int(v) => v.push(None),
            Self::Float(v) => v.push(None),
            Self::Bool(v) => v.push(None),
            Self::Text { values, len, last, .. } => {
                values.append_null();
                *len += 1;
                *last = None;
            }
        }
    }

    fn push_int(&mut self, x: i64) {
        match self {
            Self::Int(v) => v.push(Some(x)),
            _ => self.push_display(x),
        }
    }

    fn push_float(&mut self, x: f64) {
        match self {
            Self::Float(v) => v.push(Some(x)),
            _ => self.push_display(x),
        }
    }

    fn push_bool(&mut self, x: bool) {
        match self {
            Self::Bool(v) => v.push(Some(x)),
            _ => self.push_display(x),
        }
    }

    /// Appends text.
    pub fn push_str(&mut self, s: &str) {
        match self {
            Self::Text { values, len, keep_last, last, .. } => {
                values.append_value(s);
                *len += 1;
                match last {
                    Some(l) => {
                        l.clear();
                        l.push_str(s);
                    }
                    None if *keep_last => *last = Some(s.to_string()),
                    None => {}
                }
            }
            // Kinds and builders are chosen together: text never meets another builder.
            other => other.push_null(),
        }
    }

    /// Appends a value formatted by `write` into the scratch buffer.
    fn push_with(&mut self, write: impl FnOnce(&mut String)) {
        let mut buf = match self {
            Self::Text { scratch, .. } => std::mem::take(scratch),
            _ => String::new(),
        };
        buf.clear();
        write(&mut buf);
        self.push_str(&buf);
        if let Self::Text { scratch, .. } = self {
            *scratch = buf;
        }
    }

    fn push_display(&mut self, x: impl std::fmt::Display) {
        use std::fmt::Write;
        self.push_with(|b| {
            let _ = write!(b, "{x}");
        });
    }

    /// The last value, as JSON, for the source state.
    pub fn last_json(&self) -> serde_json::Value {
        match self {
            Self::Int(v) => v.last().copied().flatten().map_or(serde_json::Value::Null, Into::into),
            Self::Float(v) => v.last().copied().flatten().map_or(serde_json::Value::Null, Into::into),
            Self::Bool(v) => v.last().copied().flatten().map_or(serde_json::Value::Null, Into::into),
            Self::Text { last, .. } => last.clone().map_or(serde_json::Value::Null, Into::into),
        }
    }

    /// Appends the last value as text to `out` (`NULL` for none), for row locations.
    pub fn write_last(&self, out: &mut String) {
        use std::fmt::Write;
        let _ = match self {
            Self::Int(v) => {
                match v.last().copied().flatten() {
                    Some(x) => out.push_str(itoa::Buffer::new().format(x)),
                    None => out.push_str("NULL"),
                }
                Ok(())
            }
            Self::Float(v) => match v.last().copied().flatten() {
                Some(x) => write!(out, "{x}"),
                None => write!(out, "NULL"),
            },
            Self::Bool(v) => match v.last().copied().flatten() {
                Some(x) => write!(out, "{x}"),
                None => write!(out, "NULL"),
            },
            Self::Text { last, .. } => write!(out, "{}", last.as_deref().unwrap_or("NULL")),
        };
    }

    /// Takes the values out as a polars column, leaving the builder empty.
    pub fn take(&mut self, name: &str, capacity: usize) -> Column {
        match self {
            Self::Int(v) => Column::new(name.into(), std::mem::replace(v, Vec::with_capacity(capacity))),
            Self::Float(v) => Column::new(name.into(), std::mem::replace(v, Vec::with_capacity(capacity))),
            Self::Bool(v) => Column::new(name.into(), std::mem::replace(v, Vec::with_capacity(capacity))),
            Self::Text { values, len, .. } => {
                *len = 0;
                let done = std::mem::replace(values, StringChunkedBuilder::new("".into(), capacity)).finish();
                done.with_name(name.into()).into_column()
            }
        }
    }
}

/// Source-side conversions worth counting.
#[derive(Debug, Default, Clone, Copy)]
pub struct Counters {
    /// `0000-00-00` (and other impossible) dates read as NULL.
    pub zero_dates: u64,
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// `2024-03-05 10:11:12` or `2024-03-05 10:11:12.123456`: the full precision, as the source wrote
/// it (the fraction in 3, 6 or 9 digits, as chrono's `%.f`). Plain integer formatting: chrono's
/// `format` parses its pattern on every call.
pub fn datetime_text(dt: &NaiveDateTime) -> String {
    let mut s = String::with_capacity(26);
    write_datetime(&mut s, dt);
    s
}

fn write_datetime(b: &mut String, dt: &NaiveDateTime) {
    use chrono::Timelike;
    write_date(b, &dt.date());
    b.push(' ');
    digits(b, dt.hour(), 2);
    b.push(':');
    digits(b, dt.minute(), 2);
    b.push(':');
    digits(b, dt.second(), 2);
    let ns = dt.nanosecond();
    match ns {
        0 => {}
        _ if ns % 1_000_000 == 0 => {
            b.push('.');
            digits(b, ns / 1_000_000, 3);
        }
        _ if ns % 1_000 == 0 => {
            b.push('.');
            digits(b, ns / 1_000, 6);
        }
        _ => {
            b.push('.');
            digits(b, ns, 9);
        }
    }
}

fn write_date(b: &mut String, d: &NaiveDate) {
    use chrono::Datelike;
    match u32::try_from(d.year()) {
        Ok(y) if y <= 9999 => digits(b, y, 4),
        // Outside 0000–9999 (never from MySQL): chrono's own form.
        _ => {
            use std::fmt::Write;
            let _ = write!(b, "{:04}", d.year());
        }
    }
    b.push('-');
    digits(b, d.month(), 2);
    b.push('-');
    digits(b, d.day(), 2);
}

/// `n` as exactly `width` decimal digits (zero-padded; `n` is below 10^width).
fn digits(b: &mut String, n: u32, width: u32) {
    for p in (0..width).rev() {
        b.push(char::from(b'0' + (n / 10u32.pow(p) % 10) as u8));
    }
}

fn opt<T>(r: Result<Option<T>, sqlx::Error>, counters: &mut Counters) -> Result<Option<T>, sqlx::Error> {
    match r {
        Err(sqlx::Error::ColumnDecode { source, .. }) if source.is::<UnexpectedNullError>() => {
            counters.zero_dates += 1;
            Ok(None)
        }
        other => other,
    }
}

/// Pushes `$v` (an `Option`) into `$out` with `$push`, or NULL.
macro_rules! push {
    ($out:expr, $v:expr, $push:expr) => {
        match $v {
            Some(x) => $push($out, x),
            None => $out.push_null(),
        }
    };
}

/// Decodes column `i` of a MySQL row into `out`.
pub fn mysql(
    row: &sqlx::mysql::MySqlRow,
    i: usize,
    kind: Kind,
    tz: FixedOffset,
    counters: &mut Counters,
    out: &mut Builder,
) -> Result<(), sqlx::Error> {
    match kind {
        // The protocol carries DECIMAL as its exact text (`-1234.50`): taken as it is.
        Kind::Decimal => push!(out, row.try_get_unchecked::<Option<&str>, _>(i)?, Builder::push_str),
        Kind::Int(_) => push!(out, row.try_get::<Option<i64>, _>(i)?, Builder::push_int),
        Kind::UInt => {
            push!(out, row.try_get::<Option<u64>, _>(i)?, |b: &mut Builder, x: u64| b.push_display(x))
        }
        Kind::Year => {
            push!(out, row.try_get::<Option<u16>, _>(i)?, |b: &mut Builder, x: u16| b.push_int(x.into()))
        }
        Kind::Float32 => {
            push!(out, row.try_get::<Option<f32>, _>(i)?, |b: &mut Builder, x: f32| b.push_float(x.into()))
        }
        Kind::Float64 => push!(out, row.try_get::<Option<f64>, _>(i)?, Builder::push_float),
        Kind::Bool => push!(out, row.try_get::<Option<bool>, _>(i)?, Builder::push_bool),
        Kind::Text | Kind::Dynamic => {
            push!(out, row.try_get_unchecked::<Option<&str>, _>(i)?, Builder::push_str)
        }
        Kind::Json => push!(
            out,
            row.try_get::<Option<serde_json::Value>, _>(i)?,
            |b: &mut Builder, v: serde_json::Value| { b.push_display(v) }
        ),
        Kind::Bytes => {
            push!(out, row.try_get_unchecked::<Option<&[u8]>, _>(i)?, |b: &mut Builder, x: &[u8]| {
                match std::str::from_utf8(x) {
                    Ok(s) => b.push_str(s),
                    Err(_) => b.push_str(&hex(x)),
                }
            })
        }
        Kind::Date => push!(
            out,
            opt(row.try_get::<Option<NaiveDate>, _>(i), counters)?,
            |b: &mut Builder, d: NaiveDate| { b.push_with(|s| write_date(s, &d)) }
        ),
        Kind::DateTime => push!(
            out,
            opt(row.try_get::<Option<NaiveDateTime>, _>(i), counters)?,
            |b: &mut Builder, d: NaiveDateTime| { b.push_with(|s| write_datetime(s, &d)) }
        ),
        Kind::Timestamp => push!(
            out,
            opt(row.try_get::<Option<DateTime<Utc>>, _>(i), counters)?,
            |b: &mut Builder, d: DateTime<Utc>| { b.push_str(&d.with_timezone(&tz).to_rfc3339()) }
        ),
        Kind::Time => push!(out, row.try_get::<Option<NaiveTime>, _>(i)?, |b: &mut Builder, t: NaiveTime| b
            .push_display(t)),
    }
    Ok(())
}

/// Decodes column `i` of a PostgreSQL row into `out`.
pub fn postgres(
    row: &sqlx::postgres::PgRow,
    i: usize,
    kind: Kind,
    tz: FixedOffset,
    _counters: &mut Counters,
    out: &mut Builder,
) -> Result<(), sqlx::Error> {
    match kind {
        Kind::Int(2) => {
            push!(out, row.try_get::<Option<i16>, _>(i)?, |b: &mut Builder, x: i16| b.push_int(x.into()))
        }
        Kind::Int(4) => {
            push!(out, row.try_get::<Option<i32>, _>(i)?, |b: &mut Builder, x: i32| b.push_int(x.into()))
        }
        Kind::Int(_) | Kind::Year | Kind::UInt => {
            push!(out, row.try_get::<Option<i64>, _>(i)?, Builder::push_int)
        }
        Kind::Float32 => {
            push!(out, row.try_get::<Option<f32>, _>(i)?, |b: &mut Builder, x: f32| b.push_float(x.into()))
        }
        Kind::Float64 => push!(out, row.try_get::<Option<f64>, _>(i)?, Builder::push_float),
        Kind::Bool => push!(out, row.try_get::<Option<bool>, _>(i)?, Builder::push_bool),
        Kind::Decimal => {
            push!(out, row.try_get::<Option<Decimal>, _>(i)?, |b: &mut Builder, d: Decimal| b.push_display(d))
        }
        Kind::Text | Kind::Dynamic => {
            push!(out, row.try_get_unchecked::<Option<&str>, _>(i)?, Builder::push_str)
        }
        Kind::Json => push!(
            out,
            row.try_get::<Option<serde_json::Value>, _>(i)?,
            |b: &mut Builder, v: serde_json::Value| { b.push_display(v) }
        ),
        Kind::Bytes => {
            push!(out, row.try_get::<Option<&[u8]>, _>(i)?, |b: &mut Builder, x: &[u8]| b.push_str(&hex(x)))
        }
        Kind::Date => push!(out, row.try_get::<Option<NaiveDate>, _>(i)?, |b: &mut Builder, d: NaiveDate| {
            b.push_with(|s| write_date(s, &d))
        }),
        Kind::DateTime => {
            push!(out, row.try_get::<Option<NaiveDateTime>, _>(i)?, |b: &mut Builder, d: NaiveDateTime| {
                b.push_with(|s| write_datetime(s, &d))
            })
        }
        Kind::Timestamp => {
            push!(out, row.try_get::<Option<DateTime<Utc>>, _>(i)?, |b: &mut Builder, d: DateTime<Utc>| {
                b.push_str(&d.with_timezone(&tz).to_rfc3339())
            })
        }
        Kind::Time => push!(out, row.try_get::<Option<NaiveTime>, _>(i)?, |b: &mut Builder, t: NaiveTime| b
            .push_display(t)),
    }
    Ok(())
}

/// Decodes column `i` of a SQLite row (dynamically typed: every value is read as text).
pub fn sqlite(
    row: &sqlx::sqlite::SqliteRow,
    i: usize,
    _kind: Kind,
    _tz: FixedOffset,
    _counters: &mut Counters,
    out: &mut Builder,
) -> Result<(), sqlx::Error> {
    use sqlx::{TypeInfo, ValueRef};
    let raw = row.try_get_raw(i)?;
    if raw.is_null() {
        out.push_null();
        return Ok(());
    }
    match raw.type_info().name() {
        "INTEGER" => out.push_display(row.try_get::<i64, _>(i)?),
        "REAL" => out.push_display(row.try_get::<f64, _>(i)?),
        "BLOB" => out.push_str(&hex(&row.try_get::<Vec<u8>, _>(i)?)),
        _ => out.push_str(row.try_get_unchecked::<&str, _>(i)?),
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn datetimes_keep_their_precision() {
        let d = NaiveDate::from_ymd_opt(2024, 3, 5).unwrap_or_default();
        let at = |h, m, s, ns| datetime_text(&d.and_hms_nano_opt(h, m, s, ns).unwrap_or_default());
        assert_eq!(at(0, 0, 0, 0), "2024-03-05 00:00:00");
        assert_eq!(at(23, 59, 7, 120_000_000), "2024-03-05 23:59:07.120");
        assert_eq!(at(10, 11, 12, 123_456_000), "2024-03-05 10:11:12.123456");
        assert_eq!(at(10, 11, 12, 5), "2024-03-05 10:11:12.000000005");
        let mut s = String::new();
        write_date(&mut s, &NaiveDate::from_ymd_opt(7, 1, 9).unwrap_or_default());
        assert_eq!(s, "0007-01-09");
    }
}
