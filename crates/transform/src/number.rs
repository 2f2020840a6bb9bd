//! Indonesian numbers and statistical markers.
//!
//! `.` groups thousands and `,` is the decimal mark: `1.507` = 1507, `12,5` = 12.5,
//! `1.234.567,89`. `1,045` (a comma before exactly three digits, no dot) could be 1045 written the
//! English way or 1.045: it is rejected, never guessed. Markers: `-` nihil (0), `...`/`…` not
//! available, `x` confidential; a trailing `*` marks a provisional figure and `**` a very
//! provisional one. Values stay exact ([`Decimal`]), never floats.

use crate::Reject;
use rust_decimal::Decimal;
use satu_config::NumberFormat;
use std::str::FromStr;

/// `status_nilai` of an observation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Status {
    /// Final figure.
    Tetap,
    /// Provisional (`*`).
    Sementara,
    /// Very provisional (`**`).
    SangatSementara,
    /// Not available (`...`): no value.
    TidakTersedia,
    /// Nil (`-`): zero.
    Nihil,
    /// Confidential (`x`): no value.
    Rahasia,
}

impl Status {
    /// The status as stored in the warehouse.
    pub fn as_str(&self) -> &'static str {
        match self {
            Self::Tetap => "tetap",
            Self::Sementara => "sementara",
            Self::SangatSementara => "sangat_sementara",
            Self::TidakTersedia => "tidak_tersedia",
            Self::Nihil => "nihil",
            Self::Rahasia => "rahasia",
        }
    }
}

/// A parsed value: `None` for markers that carry no number.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Value {
    /// The exact number, if there is one.
    pub nilai: Option<Decimal>,
    /// Its status.
    pub status: Status,
}

/// How to read a value column.
#[derive(Debug, Clone, Copy, Default)]
pub struct NumberRules {
    /// Decimal and grouping marks.
    pub format: NumberFormat,
    /// Reject fractions (counts).
    pub integer: bool,
    /// Multiply by this (e.g. 1000 for `Ribu Jiwa`).
    pub pengali: Option<Decimal>,
}

/// Parses one raw cell.
pub fn parse(raw: &str, rules: &NumberRules) -> Result<Value, Reject> {
    let s = raw.trim_matches(|c: char| c.is_whitespace() || c == '\u{a0}');
    match s {
        "" => return Err(Reject::new("nilai_kosong", "the value is empty")),
        "-" | "–" | "—" => return Ok(Value { nilai: Some(Decimal::ZERO), status: Status::Nihil }),
        "..." | "…" | ".." => return Ok(Value { nilai: None, status: Status::TidakTersedia }),
        "x" | "X" => return Ok(Value { nilai: None, status: Status::Rahasia }),
        _ => {}
    }
    let (s, status) = if let Some(t) = s.strip_suffix("**") {
        (t.trim_end(), Status::SangatSementara)
    } else if let Some(t) = s.strip_suffix('*') {
        (t.trim_end(), Status::Sementara)
    } else {
        (s, Status::Tetap)
    };
    let mut n = match rules.format {
        NumberFormat::Id => parse_id(s)?,
        NumberFormat::Plain => parse_plain(s)?,
    };
    if rules.integer && !n.fract().is_zero() {
        return Err(Reject::new(
            "bukan_bilangan_bulat",
            format!("`{raw}` is not a whole number, but this column counts"),
        ));
    }
    if let Some(m) = rules.pengali {
        n = n
            .checked_mul(m)
            .ok_or_else(|| Reject::new("angka_tidak_valid", format!("`{raw}` × {m} overflows")))?;
    }
    Ok(Value { nilai: Some(n.normalize()), status })
}

/// The multiplier a unit written in a header or title stands for: `(Ribu Jiwa)` → 1000, `Juta
/// Rupiah` → 1,000,000, also `ribuan`, `miliar`/`milyar`, `triliun` and the English words. A word
/// after `per` is a rate's base (`per 100 ribu penduduk`), not a unit. `Ok(None)`: no unit word;
/// an error when words of different sizes appear.
pub fn scale_in(text: &str) -> Result<Option<Decimal>, Reject> {
    let words: Vec<String> =
        text.split(|c: char| !c.is_alphanumeric()).filter(|w| !w.is_empty()).map(str::to_lowercase).collect();
    let mut found: Option<(Decimal, &str)> = None;
    for (i, word) in words.iter().enumerate() {
        let zeros = match word.as_str() {
            "ribu" | "ribuan" | "thousand" | "thousands" => 3,
            "juta" | "jutaan" | "million" | "millions" => 6,
            "miliar" | "milyar" | "miliaran" | "billion" | "billions" => 9,
            "triliun" | "trilyun" | "trillion" | "trillions" => 12,
            _ => continue,
        };
        if words[i.saturating_sub(2)..i].iter().any(|w| w == "per") {
            continue;
        }
        let scale = Decimal::from(10u64.pow(zeros));
        match found {
            Some((other, first)) if other != scale => {
                return Err(Reject::new(
                    "satuan_ambigu",
                    format!(
                        "`{text}` names two units, `{first}` and `{word}`: set `nilai.pengali` to a number"
                    ),
                ));
            }
            _ => found = Some((scale, word)),
        }
    }
    Ok(found.map(|(scale, _)| scale))
}

fn invalid(s: &str, why: &str) -> Reject {
    Reject::new("angka_tidak_valid", format!("`{s}` is not a number: {why}"))
}

fn parse_id(s: &str) -> Result<Decimal, Reject> {
    let (sign, body) = match s.strip_prefix('-') {
        Some(b) => ("-", b.trim_start()),
        None => ("", s),
    };
    if body.is_empty() || !body.chars().all(|c| c.is_ascii_digit() || c == '.' || c == ',') {
        return Err(invalid(s, "only digits, `.` (thousands) and `,` (decimals) may appear"));
    }
    let mut parts = body.split(',');
    let int = parts.next().unwrap_or_default();
    let frac = parts.next();
    if parts.next().is_some() {
        return Err(invalid(s, "more than one `,` decimal mark"));
    }
    if let Some(f) = frac {
        if f.is_empty() || f.contains('.') {
            return Err(invalid(s, "the digits after `,` must be plain digits"));
        }
        if !int.contains('.') && f.len() == 3 && (1..=3).contains(&int.len()) {
            return Err(Reject::new(
                "angka_ambigu",
                format!(
                    "`{s}` is ambiguous: {int}{f} with an English thousands comma, or {int},{f} \
                         as an Indonesian decimal; write it as `{int}.{f}` or `{int},{f}0`"
                ),
            ));
        }
    }
    let groups: Vec<&str> = int.split('.').collect();
    let well_grouped = groups.len() == 1
        || (!groups[0].is_empty() && groups[0].len() <= 3 && groups[1..].iter().all(|g| g.len() == 3));
    if int.is_empty() || !well_grouped {
        return Err(invalid(s, "`.` groups thousands in groups of three digits (1.234.567)"));
    }
    let digits = groups.concat();
    let text = match frac {
        Some(f) => format!("{sign}{digits}.{f}"),
        None => format!("{sign}{digits}"),
    };
    Decimal::from_str(&text).map_err(|e| invalid(s, &e.to_string()))
}

fn parse_plain(s: &str) -> Result<Decimal, Reject> {
    let ok = s.strip_prefix('-').unwrap_or(s);
    if ok.is_empty() || !ok.chars().all(|c| c.is_ascii_digit() || c == '.') || ok.matches('.').count() > 1 {
        return Err(invalid(s, "a plain number has digits and at most one `.`"));
    }
    Decimal::from_str(s).map_err(|e| invalid(s, &e.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn id(raw: &str) -> Result<(Option<String>, &'static str), &'static str> {
        parse(raw, &NumberRules::default())
            .map(|v| (v.nilai.map(|d| d.to_string()), v.status.as_str()))
            .map_err(|r| r.rule)
    }

    #[test]
    fn indonesian_numbers() {
        assert_eq!(id("1.507"), Ok((Some("1507".into()), "tetap")));
        assert_eq!(id("1.234"), Ok((Some("1234".into()), "tetap")));
        assert_eq!(id("987"), Ok((Some("987".into()), "tetap")));
        assert_eq!(id("  88 "), Ok((Some("88".into()), "tetap")));
        assert_eq!(id("12,5"), Ok((Some("12.5".into()), "tetap")));
        assert_eq!(id("18,5"), Ok((Some("18.5".into()), "tetap")));
        assert_eq!(id("1.234.567,89"), Ok((Some("1234567.89".into()), "tetap")));
        assert_eq!(id("-3,25"), Ok((Some("-3.25".into()), "tetap")));
        assert_eq!(id("1.210"), Ok((Some("1210".into()), "tetap")));
        assert_eq!(id("0,10"), Ok((Some("0.1".into()), "tetap")));
    }

    #[test]
    fn ambiguous_and_invalid_numbers_are_rejected() {
        assert_eq!(id("1,045"), Err("angka_ambigu"));
        assert_eq!(id("12,500"), Err("angka_ambigu"));
        assert_eq!(id("3O"), Err("angka_tidak_valid"));
        assert_eq!(id("12.5"), Err("angka_tidak_valid"));
        assert_eq!(id("1.23.456"), Err("angka_tidak_valid"));
        assert_eq!(id("3.576021003E+09"), Err("angka_tidak_valid"));
        assert_eq!(id("1,2,3"), Err("angka_tidak_valid"));
        assert_eq!(id(""), Err("nilai_kosong"));
        assert_eq!(id("   "), Err("nilai_kosong"));
    }

    #[test]
    fn markers_set_the_status() {
        assert_eq!(id("-"), Ok((Some("0".into()), "nihil")));
        assert_eq!(id("..."), Ok((None, "tidak_tersedia")));
        assert_eq!(id("…"), Ok((None, "tidak_tersedia")));
        assert_eq!(id("x"), Ok((None, "rahasia")));
        assert_eq!(id("1.210*"), Ok((Some("1210".into()), "sementara")));
        assert_eq!(id("45,9 **"), Ok((Some("45.9".into()), "sangat_sementara")));
    }

    #[test]
    fn integer_columns_and_multipliers() {
        let count = NumberRules { integer: true, ..Default::default() };
        assert_eq!(parse("12,5", &count).map_err(|r| r.rule), Err("bukan_bilangan_bulat"));
        let ribu = NumberRules { pengali: Some(Decimal::from(1000)), ..Default::default() };
        assert_eq!(parse("45,9", &ribu).map(|v| v.nilai.map(|d| d.to_string())), Ok(Some("45900".into())));
        let plain = NumberRules { format: NumberFormat::Plain, ..Default::default() };
        assert_eq!(
            parse("1234.5", &plain).map(|v| v.nilai.map(|d| d.to_string())),
            Ok(Some("1234.5".into()))
        );
        assert_eq!(parse("1,5", &plain).map_err(|r| r.rule), Err("angka_tidak_valid"));
    }

    #[test]
    fn units_in_headers_and_titles() {
        let scale = |t: &str| scale_in(t).map(|d| d.map(|d| d.to_string())).map_err(|r| r.rule);
        assert_eq!(scale("Jumlah Penduduk (Ribu Jiwa), 2021-2023"), Ok(Some("1000".into())));
        assert_eq!(scale("PDRB (Juta Rupiah)\nGRDP (Million Rupiahs)"), Ok(Some("1000000".into())));
        assert_eq!(scale("Realisasi (milyar rupiah)"), Ok(Some("1000000000".into())));
        assert_eq!(scale("Jumlah Penduduk/2021"), Ok(None));
        assert_eq!(scale("Kasus TB per 100 ribu penduduk"), Ok(None));
        assert_eq!(scale("Seribu Rumah"), Ok(None));
        assert_eq!(scale("Penduduk (ribu) dan PDRB (juta rupiah)"), Err("satuan_ambigu"));
    }
}
