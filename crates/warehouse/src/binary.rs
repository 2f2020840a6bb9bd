//! PostgreSQL's binary COPY format for entity rows: PostgreSQL reads binary values without
//! parsing them (numbers, dates and timestamps cost it a fifth of a text COPY). Values are
//! encoded from the batch's columns by their declared types; a value this encoder does not
//! recognise makes the whole batch fall back to text COPY, where PostgreSQL's own parser decides.

use chrono::{NaiveDate, NaiveDateTime};
use polars::prelude::{Column, DataFrame, DataType};
use satu_config::ColumnType;

/// `PGCOPY\n\377\r\n\0`, no flags, no header extension.
const HEADER: &[u8] = b"PGCOPY\n\xff\r\n\0\0\0\0\0\0\0\0\0";

/// The binary COPY data of `columns` of `df` with their declared `types`, each row led by
/// `run_id` (a bigint) when given; `None` when a value needs PostgreSQL's text parser.
pub(crate) fn copy_binary(
    df: &DataFrame,
    columns: &[&str],
    types: &[ColumnType],
    run_id: Option<i64>,
) -> Option<Vec<u8>> {
    let mut cells: Vec<(Cells<'_>, ColumnType)> = Vec::with_capacity(columns.len());
    for (name, ty) in columns.iter().zip(types) {
        let cell = Cells::of(df.column(name).ok()?)?;
        match (&cell, ty) {
            (Cells::Float(_), t) if *t != ColumnType::Double => return None,
            (Cells::Bool(_), t) if *t != ColumnType::Boolean => return None,
            _ => cells.push((cell, *ty)),
        }
    }
    let fields = i16::try_from(columns.len() + usize::from(run_id.is_some())).ok()?;
    let mut out = Vec::with_capacity(HEADER.len() + df.height() * (8 + 16 * columns.len()));
    out.extend_from_slice(HEADER);
    for _ in 0..df.height() {
        out.extend_from_slice(&fields.to_be_bytes());
        if let Some(run) = run_id {
            field(&mut out, &run.to_be_bytes());
        }
        for (c, ty) in cells.iter_mut() {
            c.encode_next(&mut out, *ty)?;
        }
    }
    out.extend_from_slice(&(-1i16).to_be_bytes());
    Some(out)
}

/// One column of a batch, read in place (text COPY writes these too).
pub(crate) enum Cells<'a> {
    /// Strings.
    Text(Box<dyn Iterator<Item = Option<&'a str>> + 'a>),
    /// 64-bit integers.
    Int(Box<dyn Iterator<Item = Option<i64>> + 'a>),
    /// Floats.
    Float(Box<dyn Iterator<Item = Option<f64>> + 'a>),
    /// Booleans.
    Bool(Box<dyn Iterator<Item = Option<bool>> + 'a>),
}

impl<'a> Cells<'a> {
    /// The cells of a string, Int64, Float64 or Boolean column; `None` for other types.
    pub(crate) fn of(col: &'a Column) -> Option<Self> {
        Some(match col.dtype() {
            DataType::String => Self::Text(Box::new(col.str().ok()?.iter())),
            DataType::Int64 => Self::Int(Box::new(col.i64().ok()?.iter())),
            DataType::Float64 => Self::Float(Box::new(col.f64().ok()?.iter())),
            DataType::Boolean => Self::Bool(Box::new(col.bool().ok()?.iter())),
            _ => return None,
        })
    }

    /// Appends the next value as `ty` in binary; `None` when it cannot be encoded here.
    fn encode_next(&mut self, out: &mut Vec<u8>, ty: ColumnType) -> Option<()> {
        match self {
            Self::Text(it) => match it.next()? {
                None => null(out),
                Some(v) => encode_text(out, v, ty)?,
            },
            Self::Int(it) => match it.next()? {
                None => null(out),
                Some(x) => match ty {
                    ColumnType::BigInt => field(out, &x.to_be_bytes()),
                    ColumnType::Integer => field(out, &i32::try_from(x).ok()?.to_be_bytes()),
                    _ => encode_text(out, &x.to_string(), ty)?,
                },
            },
            Self::Float(it) => match it.next()? {
                None => null(out),
                Some(x) => field(out, &x.to_be_bytes()),
            },
            Self::Bool(it) => match it.next()? {
                None => null(out),
                Some(b) => field(out, &[u8::from(b)]),
            },
        }
        Some(())
    }
}

fn field(out: &mut Vec<u8>, bytes: &[u8]) {
    // Batches are far below 2 GiB per value; a longer one would already have failed upstream.
    out.extend_from_slice(&(bytes.len() as i32).to_be_bytes());
    out.extend_from_slice(bytes);
}

fn null(out: &mut Vec<u8>) {
    out.extend_from_slice(&(-1i32).to_be_bytes());
}

/// Microseconds and days count from 2000-01-01, PostgreSQL's epoch.
fn epoch() -> NaiveDateTime {
    NaiveDate::from_ymd_opt(2000, 1, 1).unwrap_or_default().and_hms_opt(0, 0, 0).unwrap_or_default()
}

/// A text value as the declared type, or `None` when it is not in a form read exactly here.
fn encode_text(out: &mut Vec<u8>, v: &str, ty: ColumnType) -> Option<()> {
    match ty {
        ColumnType::Text => field(out, v.as_bytes()),
        ColumnType::BigInt => field(out, &v.trim().parse::<i64>().ok()?.to_be_bytes()),
        ColumnType::Integer => field(out, &v.trim().parse::<i32>().ok()?.to_be_bytes()),
        ColumnType::Double => {
            field(out, &v.trim().parse::<f64>().ok().filter(|x| x.is_finite())?.to_be_bytes())
        }
        ColumnType::Boolean => {
            let b = match v.trim().to_ascii_lowercase().as_str() {
                "t" | "true" | "1" | "y" | "yes" | "on" => true,
                "f" | "false" | "0" | "n" | "no" | "off" => false,
                _ => return None,
            };
            field(out, &[u8::from(b)]);
        }
        ColumnType::Date => {
            let t = v.trim();
            let d = iso_date(t.as_bytes()).or_else(|| NaiveDate::parse_from_str(t, "%Y-%m-%d").ok())?;
            let days = i32::try_from((d - epoch().date()).num_days()).ok()?;
            field(out, &days.to_be_bytes());
        }
        ColumnType::Timestamp => {
            let t = v.trim();
            let dt = iso_datetime(t.as_bytes())
                .or_else(|| NaiveDateTime::parse_from_str(t, "%Y-%m-%d %H:%M:%S%.f").ok())
                .or_else(|| NaiveDateTime::parse_from_str(t, "%Y-%m-%dT%H:%M:%S%.f").ok())?;
            field(out, &micros(dt)?.to_be_bytes());
        }
        ColumnType::Timestamptz => {
            let dt = chrono::DateTime::parse_from_rfc3339(v.trim()).ok()?.naive_utc();
            field(out, &micros(dt)?.to_be_bytes());
        }
        ColumnType::Numeric(_) => numeric(out, v.trim())?,
    }
    Some(())
}

/// The decimal number of `digits` (all ASCII digits).
fn number(digits: &[u8]) -> Option<u32> {
    digits.iter().try_fold(0u32, |n, d| d.is_ascii_digit().then(|| n * 10 + u32::from(d - b'0')))
}

/// `YYYY-MM-DD` exactly (the form SQL sources write), read without chrono's pattern parser.
fn iso_date(v: &[u8]) -> Option<NaiveDate> {
    if v.len() != 10 || v[4] != b'-' || v[7] != b'-' {
        return None;
    }
    NaiveDate::from_ymd_opt(i32::try_from(number(&v[..4])?).ok()?, number(&v[5..7])?, number(&v[8..])?)
}

/// `YYYY-MM-DD HH:MM:SS` (or with `T`), with an optional fraction of up to nine digits.
fn iso_datetime(v: &[u8]) -> Option<NaiveDateTime> {
    if v.len() < 19 || !matches!(v[10], b' ' | b'T') || v[13] != b':' || v[16] != b':' {
        return None;
    }
    let nanos = match &v[19..] {
        [] => 0,
        [b'.', f @ ..] if (1..=9).contains(&f.len()) => number(f)? * 10u32.pow(9 - f.len() as u32),
        _ => return None,
    };
    iso_date(&v[..10])?.and_hms_nano_opt(number(&v[11..13])?, number(&v[14..16])?, number(&v[17..19])?, nanos)
}

/// Microseconds since PostgreSQL's epoch; `None` below a microsecond (PostgreSQL rounds those).
fn micros(dt: NaiveDateTime) -> Option<i64> {
    let d = dt - epoch();
    (d.subsec_nanos() % 1000 == 0).then(|| d.num_microseconds()).flatten()
}

/// A plain decimal (`-1234.50`) in PostgreSQL's numeric format: base-10000 digits around the
/// decimal point, with the weight of the first, the sign, and the scale as written. Written
/// straight into `out` (no allocation per value), the header filled in once the digits are known.
fn numeric(out: &mut Vec<u8>, v: &str) -> Option<()> {
    let (negative, body) = match v.strip_prefix('-') {
        Some(b) => (true, b),
        None => (false, v.strip_prefix('+').unwrap_or(v)),
    };
    let (int, frac) = body.split_once('.').unwrap_or((body, ""));
    if int.is_empty() && frac.is_empty() || !int.bytes().chain(frac.bytes()).all(|b| b.is_ascii_digit()) {
        return None;
    }
    let dscale = i16::try_from(frac.len()).ok()?;
    let (int, frac) = (int.trim_start_matches('0').as_bytes(), frac.as_bytes());
    // Digits in groups of four aligned on the decimal point: the integer part padded on the left.
    let pad = (4 - int.len() % 4) % 4;
    let groups = (pad + int.len()).div_ceil(4) + frac.len().div_ceil(4);
    let digit = |p: usize| match p.checked_sub(pad) {
        Some(i) if i < int.len() => int[i] - b'0',
        Some(i) => frac.get(i - int.len()).map_or(0, |d| d - b'0'),
        None => 0,
    };
    let mut weight = i16::try_from((pad + int.len()) / 4).ok()? - 1;
    let start = out.len();
    out.extend_from_slice(&[0; 12]);
    let mut end = start + 12;
    for g in 0..groups {
        let n = (4 * g..4 * g + 4).fold(0i16, |n, p| n * 10 + i16::from(digit(p)));
        if end == start + 12 && n == 0 {
            // No leading zero groups: the weight moves instead.
            weight -= 1;
            continue;
        }
        out.extend_from_slice(&n.to_be_bytes());
        if n != 0 {
            end = out.len();
        }
    }
    // No trailing zero groups either.
    out.truncate(end);
    let ndigits = i16::try_from((end - start - 12) / 2).ok()?;
    if ndigits == 0 {
        weight = 0;
    }
    let sign: i16 = if negative && ndigits > 0 { 0x4000 } else { 0 };
    let len = i32::try_from(end - start - 4).ok()?;
    out[start..start + 4].copy_from_slice(&len.to_be_bytes());
    for (i, part) in [ndigits, weight, sign, dscale].iter().enumerate() {
        out[start + 4 + 2 * i..start + 6 + 2 * i].copy_from_slice(&part.to_be_bytes());
    }
    Some(())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// (ndigits, weight, sign, dscale, digits) of an encoded numeric.
    fn parts(v: &str) -> Option<(i16, i16, u16, i16, Vec<i16>)> {
        let mut out = Vec::new();
        numeric(&mut out, v)?;
        let b = &out[4..];
        let n = |i: usize| i16::from_be_bytes([b[i], b[i + 1]]);
        let ndigits = n(0);
        let digits = (0..ndigits as usize).map(|k| n(8 + 2 * k)).collect();
        Some((ndigits, n(2), u16::from_be_bytes([b[4], b[5]]), n(6), digits))
    }

    #[test]
    fn numerics_in_base_ten_thousand() {
        assert_eq!(parts("1234567.89"), Some((3, 1, 0, 2, vec![123, 4567, 8900])));
        assert_eq!(parts("-0.05"), Some((1, -1, 0x4000, 2, vec![500])));
        assert_eq!(parts("10000"), Some((1, 1, 0, 0, vec![1])));
        assert_eq!(parts("0.00"), Some((0, 0, 0, 2, vec![])));
        assert_eq!(parts("007"), Some((1, 0, 0, 0, vec![7])));
        assert_eq!(parts("1e5"), None);
        assert_eq!(parts(""), None);
        assert_eq!(parts("10000.0001"), Some((3, 1, 0, 4, vec![1, 0, 1])));
        assert_eq!(parts("0.00000001"), Some((1, -2, 0, 8, vec![1])));
        assert_eq!(parts("0.000001"), Some((1, -2, 0, 6, vec![100])));
    }

    #[test]
    fn unusual_values_fall_back_to_text() -> Result<(), polars::prelude::PolarsError> {
        use polars::prelude::*;
        let ok = df!("d" => ["2024-01-31"], "t" => ["2024-01-31 07:00:00.5"])?;
        let types = [ColumnType::Date, ColumnType::Timestamp];
        let data = copy_binary(&ok, &["d", "t"], &types, Some(7)).unwrap_or_default();
        // header, 3 fields: run id (8 bytes), date (4), timestamp (8), then the trailer
        assert_eq!(data.len(), HEADER.len() + 2 + (4 + 8) + (4 + 4) + (4 + 8) + 2);
        let t = |v: &str| iso_datetime(v.as_bytes()).map(|d| d.to_string());
        assert_eq!(t("2024-01-31T07:00:00.000123"), Some("2024-01-31 07:00:00.000123".into()));
        assert_eq!(t("2024-02-30 07:00:00"), None);
        assert_eq!(t("2024-01-31 07:00:00."), None);
        let odd = df!("d" => ["31/01/2024"], "t" => ["2024-01-31 07:00:00"])?;
        assert!(copy_binary(&odd, &["d", "t"], &types, None).is_none());
        Ok(())
    }
}
