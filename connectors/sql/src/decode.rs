//! Column decoders: one chosen per column from its declared type before the row loop (never a
//! `match` on the type name per cell), and column builders that become polars columns.

use chrono::{DateTime, FixedOffset, NaiveDate, NaiveDateTime, NaiveTime, Utc};
use polars::prelude::Column;
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

    /// The builder this kind fills.
    pub fn builder(&self, capacity: usize) -> Builder {
        match self {
            Self::Int(_) | Self::Year => Builder::Int(Vec::with_capacity(capacity)),
            Self::Float32 | Self::Float64 => Builder::Float(Vec::with_capacity(capacity)),
            Self::Bool => Builder::Bool(Vec::with_capacity(capacity)),
            _ => Builder::Text(Vec::with_capacity(capacity)),
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

/// One decoded value.
#[derive(Debug, Clone, PartialEq)]
pub enum Cell {
    /// SQL NULL (or a zero date).
    Null,
    /// An integer.
    Int(i64),
    /// A float.
    Float(f64),
    /// A boolean.
    Bool(bool),
    /// Anything kept as text.
    Text(String),
}

/// A column being filled.
#[derive(Debug)]
pub enum Builder {
    /// Int64 column.
    Int(Vec<Option<i64>>),
    /// Float64 column.
    Float(Vec<Option<f64>>),
    /// Boolean column.
    Bool(Vec<Option<bool>>),
    /// String column.
    Text(Vec<Option<String>>),
}

impl Builder {
    /// Appends a cell (its variant matches the builder: both come from the same [`Kind`]).
    pub fn push(&mut self, cell: Cell) {
        match (self, cell) {
            (Self::Int(v), Cell::Int(x)) => v.push(Some(x)),
            (Self::Float(v), Cell::Float(x)) => v.push(Some(x)),
            (Self::Bool(v), Cell::Bool(x)) => v.push(Some(x)),
            (Self::Text(v), Cell::Text(x)) => v.push(Some(x)),
            (Self::Int(v), _) => v.push(None),
            (Self::Float(v), _) => v.push(None),
            (Self::Bool(v), _) => v.push(None),
            (Self::Text(v), _) => v.push(None),
        }
    }

    /// The last value, as JSON, for the source state.
    pub fn last_json(&self) -> serde_json::Value {
        match self {
            Self::Int(v) => v.last().copied().flatten().map_or(serde_json::Value::Null, Into::into),
            Self::Float(v) => v.last().copied().flatten().map_or(serde_json::Value::Null, Into::into),
            Self::Bool(v) => v.last().copied().flatten().map_or(serde_json::Value::Null, Into::into),
            Self::Text(v) => v.last().cloned().flatten().map_or(serde_json::Value::Null, Into::into),
        }
    }

    /// The value at `i`, as text, for row locations.
    pub fn text_at(&self, i: usize) -> String {
        let s = match self {
            Self::Int(v) => v.get(i).copied().flatten().map(|x| x.to_string()),
            Self::Float(v) => v.get(i).copied().flatten().map(|x| x.to_string()),
            Self::Bool(v) => v.get(i).copied().flatten().map(|x| x.to_string()),
            Self::Text(v) => v.get(i).cloned().flatten(),
        };
        s.unwrap_or_else(|| "NULL".into())
    }

    /// Takes the values out as a polars column, leaving the builder empty.
    pub fn take(&mut self, name: &str, capacity: usize) -> Column {
        match self {
            Self::Int(v) => Column::new(name.into(), std::mem::replace(v, Vec::with_capacity(capacity))),
            Self::Float(v) => Column::new(name.into(), std::mem::replace(v, Vec::with_capacity(capacity))),
            Self::Bool(v) => Column::new(name.into(), std::mem::replace(v, Vec::with_capacity(capacity))),
            Self::Text(v) => Column::new(name.into(), std::mem::replace(v, Vec::with_capacity(capacity))),
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

/// `2024-03-05 10:11:12` or `2024-03-05 10:11:12.123456`: the full precision, as the source wrote it.
pub fn datetime_text(dt: &NaiveDateTime) -> String {
    dt.format("%Y-%m-%d %H:%M:%S%.f").to_string()
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

macro_rules! cell {
    ($v:expr, $f:expr) => {
        match $v {
            Some(x) => $f(x),
            None => Cell::Null,
        }
    };
}

/// Decodes column `i` of a MySQL row.
pub fn mysql(
    row: &sqlx::mysql::MySqlRow,
    i: usize,
    kind: Kind,
    tz: FixedOffset,
    counters: &mut Counters,
) -> Result<Cell, sqlx::Error> {
    Ok(match kind {
        Kind::Int(_) => cell!(row.try_get::<Option<i64>, _>(i)?, Cell::Int),
        Kind::UInt => cell!(row.try_get::<Option<u64>, _>(i)?, |x: u64| Cell::Text(x.to_string())),
        Kind::Year => cell!(row.try_get::<Option<u16>, _>(i)?, |x: u16| Cell::Int(x.into())),
        Kind::Float32 => cell!(row.try_get::<Option<f32>, _>(i)?, |x: f32| Cell::Float(x.into())),
        Kind::Float64 => cell!(row.try_get::<Option<f64>, _>(i)?, Cell::Float),
        Kind::Bool => cell!(row.try_get::<Option<bool>, _>(i)?, Cell::Bool),
        Kind::Decimal => cell!(row.try_get::<Option<Decimal>, _>(i)?, |d: Decimal| Cell::Text(d.to_string())),
        Kind::Text => cell!(row.try_get_unchecked::<Option<String>, _>(i)?, Cell::Text),
        Kind::Json => {
            cell!(row.try_get::<Option<serde_json::Value>, _>(i)?, |v: serde_json::Value| Cell::Text(
                v.to_string()
            ))
        }
        Kind::Bytes => cell!(row.try_get_unchecked::<Option<Vec<u8>>, _>(i)?, |b: Vec<u8>| {
            Cell::Text(String::from_utf8(b).unwrap_or_else(|e| hex(e.as_bytes())))
        }),
        Kind::Date => {
            cell!(opt(row.try_get::<Option<NaiveDate>, _>(i), counters)?, |d: NaiveDate| Cell::Text(
                d.to_string()
            ))
        }
        Kind::DateTime => {
            cell!(opt(row.try_get::<Option<NaiveDateTime>, _>(i), counters)?, |d: NaiveDateTime| {
                Cell::Text(datetime_text(&d))
            })
        }
        Kind::Timestamp => {
            cell!(opt(row.try_get::<Option<DateTime<Utc>>, _>(i), counters)?, |d: DateTime<Utc>| {
                Cell::Text(d.with_timezone(&tz).to_rfc3339())
            })
        }
        Kind::Time => {
            cell!(row.try_get::<Option<NaiveTime>, _>(i)?, |t: NaiveTime| Cell::Text(t.to_string()))
        }
        Kind::Dynamic => cell!(row.try_get_unchecked::<Option<String>, _>(i)?, Cell::Text),
    })
}

/// Decodes column `i` of a PostgreSQL row.
pub fn postgres(
    row: &sqlx::postgres::PgRow,
    i: usize,
    kind: Kind,
    tz: FixedOffset,
    _counters: &mut Counters,
) -> Result<Cell, sqlx::Error> {
    Ok(match kind {
        Kind::Int(2) => cell!(row.try_get::<Option<i16>, _>(i)?, |x: i16| Cell::Int(x.into())),
        Kind::Int(4) => cell!(row.try_get::<Option<i32>, _>(i)?, |x: i32| Cell::Int(x.into())),
        Kind::Int(_) | Kind::Year | Kind::UInt => cell!(row.try_get::<Option<i64>, _>(i)?, Cell::Int),
        Kind::Float32 => cell!(row.try_get::<Option<f32>, _>(i)?, |x: f32| Cell::Float(x.into())),
        Kind::Float64 => cell!(row.try_get::<Option<f64>, _>(i)?, Cell::Float),
        Kind::Bool => cell!(row.try_get::<Option<bool>, _>(i)?, Cell::Bool),
        Kind::Decimal => cell!(row.try_get::<Option<Decimal>, _>(i)?, |d: Decimal| Cell::Text(d.to_string())),
        Kind::Text | Kind::Dynamic => cell!(row.try_get_unchecked::<Option<String>, _>(i)?, Cell::Text),
        Kind::Json => {
            cell!(row.try_get::<Option<serde_json::Value>, _>(i)?, |v: serde_json::Value| Cell::Text(
                v.to_string()
            ))
        }
        Kind::Bytes => cell!(row.try_get::<Option<Vec<u8>>, _>(i)?, |b: Vec<u8>| Cell::Text(hex(&b))),
        Kind::Date => {
            cell!(row.try_get::<Option<NaiveDate>, _>(i)?, |d: NaiveDate| Cell::Text(d.to_string()))
        }
        Kind::DateTime => cell!(row.try_get::<Option<NaiveDateTime>, _>(i)?, |d: NaiveDateTime| Cell::Text(
            datetime_text(&d)
        )),
        Kind::Timestamp => cell!(row.try_get::<Option<DateTime<Utc>>, _>(i)?, |d: DateTime<Utc>| {
            Cell::Text(d.with_timezone(&tz).to_rfc3339())
        }),
        Kind::Time => {
            cell!(row.try_get::<Option<NaiveTime>, _>(i)?, |t: NaiveTime| Cell::Text(t.to_string()))
        }
    })
}

/// Decodes column `i` of a SQLite row (dynamically typed: every value is read as text).
pub fn sqlite(
    row: &sqlx::sqlite::SqliteRow,
    i: usize,
    _kind: Kind,
    _tz: FixedOffset,
    _counters: &mut Counters,
) -> Result<Cell, sqlx::Error> {
    use sqlx::{TypeInfo, ValueRef};
    let raw = row.try_get_raw(i)?;
    if raw.is_null() {
        return Ok(Cell::Null);
    }
    Ok(match raw.type_info().name() {
        "INTEGER" => Cell::Text(row.try_get::<i64, _>(i)?.to_string()),
        "REAL" => Cell::Text(row.try_get::<f64, _>(i)?.to_string()),
        "BLOB" => Cell::Text(hex(&row.try_get::<Vec<u8>, _>(i)?)),
        _ => Cell::Text(row.try_get_unchecked::<String, _>(i)?),
    })
}
