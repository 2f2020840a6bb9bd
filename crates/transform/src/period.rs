//! Periods: years, semesters, quarters, months (Indonesian names and their variants, numbers,
//! Roman numerals), days and school years, as canonical codes (`2024`, `2024-S1`, `2024-Q3`,
//! `2024-03`, `2024-03-15`, `TA2024/2025`) with their first and last day.

use crate::{fold, Reject};

/// A canonical period.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Period {
    /// A calendar year.
    Year(i32),
    /// A half year, 1 or 2.
    Semester(i32, u8),
    /// A quarter, 1 to 4.
    Quarter(i32, u8),
    /// A month, 1 to 12.
    Month(i32, u8),
    /// A day.
    Day(i32, u8, u8),
    /// A school year starting in July of the year given (`TA2024/2025`).
    SchoolYear(i32),
}

impl Period {
    /// The canonical code, the key of `ref.periode`.
    pub fn code(&self) -> String {
        match *self {
            Self::Year(y) => format!("{y}"),
            Self::Semester(y, s) => format!("{y}-S{s}"),
            Self::Quarter(y, q) => format!("{y}-Q{q}"),
            Self::Month(y, m) => format!("{y}-{m:02}"),
            Self::Day(y, m, d) => format!("{y}-{m:02}-{d:02}"),
            Self::SchoolYear(y) => format!("TA{y}/{}", y + 1),
        }
    }

    /// `tahun`, `semester`, `triwulan`, `bulan`, `hari` or `tahun_ajaran`.
    pub fn kind(&self) -> &'static str {
        match self {
            Self::Year(_) => "tahun",
            Self::Semester(..) => "semester",
            Self::Quarter(..) => "triwulan",
            Self::Month(..) => "bulan",
            Self::Day(..) => "hari",
            Self::SchoolYear(_) => "tahun_ajaran",
        }
    }

    /// First and last day, as `YYYY-MM-DD`.
    pub fn bounds(&self) -> (String, String) {
        let (y, m0, m1, d1) = match *self {
            Self::Year(y) => (y, 1, 12, None),
            Self::Semester(y, s) => (y, 6 * (s - 1) + 1, 6 * s, None),
            Self::Quarter(y, q) => (y, 3 * (q - 1) + 1, 3 * q, None),
            Self::Month(y, m) => (y, m, m, None),
            Self::Day(y, m, d) => (y, m, m, Some(d)),
            Self::SchoolYear(y) => {
                return (format!("{y}-07-01"), format!("{}-06-30", y + 1));
            }
        };
        let start = format!("{y}-{m0:02}-{:02}", d1.unwrap_or(1));
        let end = format!("{y}-{m1:02}-{:02}", d1.unwrap_or_else(|| days_in_month(y, m1)));
        (start, end)
    }
}

fn days_in_month(y: i32, m: u8) -> u8 {
    match m {
        2 if (y % 4 == 0 && y % 100 != 0) || y % 400 == 0 => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

const MONTHS: [(&str, u8); 32] = [
    ("JANUARI", 1),
    ("JAN", 1),
    ("FEBRUARI", 2),
    ("PEBRUARI", 2),
    ("FEB", 2),
    ("PEB", 2),
    ("MARET", 3),
    ("MAR", 3),
    ("APRIL", 4),
    ("APR", 4),
    ("MEI", 5),
    ("JUNI", 6),
    ("JUN", 6),
    ("JULI", 7),
    ("JUL", 7),
    ("AGUSTUS", 8),
    ("AGT", 8),
    ("AGS", 8),
    ("AGU", 8),
    ("AGUST", 8),
    ("SEPTEMBER", 9),
    ("SEPT", 9),
    ("SEP", 9),
    ("OKTOBER", 10),
    ("OKT", 10),
    ("NOVEMBER", 11),
    ("NOPEMBER", 11),
    ("NOV", 11),
    ("NOP", 11),
    ("DESEMBER", 12),
    ("DES", 12),
    ("DEC", 12),
];

const ROMAN: [&str; 12] = ["I", "II", "III", "IV", "V", "VI", "VII", "VIII", "IX", "X", "XI", "XII"];

/// A number written as digits (`02`) or in Roman numerals (`II`).
fn ordinal(token: &str) -> Option<u32> {
    if !token.is_empty() && token.len() <= 2 && token.chars().all(|c| c.is_ascii_digit()) {
        return token.parse().ok();
    }
    ROMAN.iter().position(|r| *r == token).map(|i| i as u32 + 1)
}

/// A month: name or abbreviation (`Februari`, `Pebruari`, `Agt`, `Nopember`), `1`–`12`, `01`–`12`
/// or `I`–`XII`.
pub fn month(raw: &str) -> Result<u8, Reject> {
    let t = fold(raw).replace('.', "");
    MONTHS
        .iter()
        .find(|(name, _)| *name == t)
        .map(|(_, m)| *m)
        .or_else(|| ordinal(&t).filter(|m| (1..=12).contains(m)).map(|m| m as u8))
        .ok_or_else(|| Reject::new("bulan_tidak_valid", format!("`{}` is not a month", raw.trim())))
}

/// A year, 1900–2100.
pub fn year(raw: &str) -> Result<i32, Reject> {
    let t = raw.trim();
    t.parse::<i32>()
        .ok()
        .filter(|y| (1900..=2100).contains(y))
        .ok_or_else(|| Reject::new("tahun_tidak_valid", format!("`{t}` is not a year")))
}

/// A part of a year (`n` of `max`): `2`, `II`, `Semester II`, `TW 3`, `Triwulan III`, `Q3`, `S1`.
pub fn part(raw: &str, max: u8, rule: &'static str) -> Result<u8, Reject> {
    let t = fold(raw);
    let words = ["SEMESTER", "SMT", "TRIWULAN", "TW", "KUARTAL"];
    let mut rest = t.as_str();
    for w in words {
        if let Some(r) = rest.strip_prefix(w) {
            rest = r.trim_start();
            break;
        }
    }
    let rest = rest.strip_prefix('Q').or_else(|| rest.strip_prefix('S')).unwrap_or(rest);
    ordinal(rest.trim())
        .filter(|n| (1..=max as u32).contains(n))
        .map(|n| n as u8)
        .ok_or_else(|| Reject::new(rule, format!("`{}` is not one of 1–{max}", raw.trim())))
}

/// A whole period written in one value: `2024`, `2024/2025`, `TA 2024/2025`, `Semester I 2024`,
/// `2024-S1`, `TW 3 2024`, `Triwulan III 2024`, `2024-Q3`, `Maret 2024`, `2024-03`, `03/2024`,
/// `2024-03-15`, `15 Maret 2024`.
pub fn parse(raw: &str) -> Result<Period, Reject> {
    let bad = || Reject::new("periode_tidak_valid", format!("`{}` is not a period", raw.trim()));
    let t = raw.trim().to_uppercase();
    let t = t.strip_prefix("TA").map(str::trim_start).unwrap_or(&t);
    // School year: 2024/2025.
    if let Some((a, b)) = t.split_once('/') {
        let (a, b) = (a.trim(), b.trim());
        if a.len() == 4 && b.len() == 4 {
            let (y0, y1) = (year(a).map_err(|_| bad())?, year(b).map_err(|_| bad())?);
            return if y1 == y0 + 1 { Ok(Period::SchoolYear(y0)) } else { Err(bad()) };
        }
    }
    let tokens: Vec<&str> = t
        .split(|c: char| c.is_whitespace() || matches!(c, '-' | '/' | '.' | ','))
        .filter(|s| !s.is_empty())
        .collect();
    let Some(yi) = tokens.iter().position(|tok| tok.len() == 4 && year(tok).is_ok()) else {
        return Err(bad());
    };
    let y = year(tokens[yi])?;
    let rest: Vec<&str> = tokens.iter().enumerate().filter(|(i, _)| *i != yi).map(|(_, t)| *t).collect();
    match rest.as_slice() {
        [] => Ok(Period::Year(y)),
        [w, n] if ["SEMESTER", "SMT"].contains(w) => {
            Ok(Period::Semester(y, part(n, 2, "periode_tidak_valid")?))
        }
        [w, n] if ["TRIWULAN", "TW", "KUARTAL"].contains(w) => {
            Ok(Period::Quarter(y, part(n, 4, "periode_tidak_valid")?))
        }
        [p] if p.len() == 2 && (p.starts_with('S') || p.starts_with('Q')) => {
            let max = if p.starts_with('S') { 2 } else { 4 };
            let n = part(p, max, "periode_tidak_valid")?;
            Ok(if max == 2 { Period::Semester(y, n) } else { Period::Quarter(y, n) })
        }
        [m] => Ok(Period::Month(y, month(m)?)),
        // Year first (2024-03-15) or day first (15 Maret 2024).
        [a, b] => {
            let (m, d) = if yi == 0 { (a, b) } else { (b, a) };
            let m = month(m)?;
            let d = d.parse::<u8>().ok().filter(|d| (1..=days_in_month(y, m)).contains(d)).ok_or_else(bad)?;
            Ok(Period::Day(y, m, d))
        }
        _ => Err(bad()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn code(raw: &str) -> Result<String, &'static str> {
        parse(raw).map(|p| p.code()).map_err(|r| r.rule)
    }

    #[test]
    fn months_in_all_their_spellings() {
        for (raw, m) in [
            ("Februari", 2),
            ("Pebruari", 2),
            ("02", 2),
            ("2", 2),
            ("II", 2),
            ("Agt", 8),
            ("Ags", 8),
            ("agustus", 8),
            ("Nopember", 11),
            ("November", 11),
            ("Sept", 9),
            ("Des", 12),
            ("XII", 12),
            (" mei ", 5),
        ] {
            assert_eq!(month(raw), Ok(m), "{raw}");
        }
        assert_eq!(month("13").map_err(|r| r.rule), Err("bulan_tidak_valid"));
        assert_eq!(month("Febuary").map_err(|r| r.rule), Err("bulan_tidak_valid"));
    }

    #[test]
    fn whole_periods() {
        assert_eq!(code("2024"), Ok("2024".into()));
        assert_eq!(code("2024/2025"), Ok("TA2024/2025".into()));
        assert_eq!(code("TA 2024/2025"), Ok("TA2024/2025".into()));
        assert_eq!(code("Semester II 2024"), Ok("2024-S2".into()));
        assert_eq!(code("2024-S1"), Ok("2024-S1".into()));
        assert_eq!(code("Triwulan III 2024"), Ok("2024-Q3".into()));
        assert_eq!(code("TW 3 2024"), Ok("2024-Q3".into()));
        assert_eq!(code("2024-Q4"), Ok("2024-Q4".into()));
        assert_eq!(code("Maret 2024"), Ok("2024-03".into()));
        assert_eq!(code("2024-03"), Ok("2024-03".into()));
        assert_eq!(code("03/2024"), Ok("2024-03".into()));
        assert_eq!(code("2024-03-15"), Ok("2024-03-15".into()));
        assert_eq!(code("15 Maret 2024"), Ok("2024-03-15".into()));
        assert_eq!(code("2024/2026"), Err("periode_tidak_valid"));
        assert_eq!(code("2024-02-30"), Err("periode_tidak_valid"));
        assert_eq!(code("Semester III 2024"), Err("periode_tidak_valid"));
        assert_eq!(code("kemarin"), Err("periode_tidak_valid"));
    }

    #[test]
    fn parts_and_bounds() {
        assert_eq!(part("TW 3", 4, "r"), Ok(3));
        assert_eq!(part("Semester II", 2, "r"), Ok(2));
        assert_eq!(part("5", 4, "r").map_err(|r| r.rule), Err("r"));
        assert_eq!(Period::Quarter(2024, 1).bounds(), ("2024-01-01".into(), "2024-03-31".into()));
        assert_eq!(Period::Month(2024, 2).bounds(), ("2024-02-01".into(), "2024-02-29".into()));
        assert_eq!(Period::SchoolYear(2024).bounds(), ("2024-07-01".into(), "2025-06-30".into()));
        assert_eq!(Period::Semester(2024, 2).bounds(), ("2024-07-01".into(), "2024-12-31".into()));
    }
}
