//! What a report says around its table: the title lines above the header and the footnotes
//! below it. Values found there (a school year, a reference date) become columns of every row
//! (`values`), and the title travels with the rows ([`TITLE_COLUMN`]) so that a target can read
//! its unit (`(Ribu Jiwa)`).

use polars::prelude::{AnyValue, Column, DataFrame, DataType, PolarsResult, Scalar};
use satu_core::{is_reserved, TITLE_COLUMN};
use serde::{Deserialize, Deserializer};
use std::collections::BTreeMap;

/// `values = { tahun_ajaran = 'Tahun Ajaran (\d{4}/\d{4})', keadaan = 'Keadaan per (.+)' }`: each
/// key a column added to every row, its value the first capture group (or the whole match) of
/// the first title line — or, in a spreadsheet, footnote row — the regular expression matches
/// (case-insensitive).
#[derive(Debug, Clone, Default)]
pub struct TitleValues(Vec<(String, regex::Regex)>);

impl<'de> Deserialize<'de> for TitleValues {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        use serde::de::Error;
        let rules = BTreeMap::<String, String>::deserialize(d)?;
        let mut out = Vec::with_capacity(rules.len());
        for (column, pattern) in rules {
            if column.trim().is_empty() || is_reserved(&column) {
                return Err(D::Error::custom(format!("values: `{column}` cannot name a column")));
            }
            let re = regex::RegexBuilder::new(&pattern)
                .case_insensitive(true)
                .build()
                .map_err(|e| D::Error::custom(format!("values.{column}: invalid regular expression: {e}")))?;
            out.push((column, re));
        }
        Ok(Self(out))
    }
}

impl TitleValues {
    /// Whether no value is asked for.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// The error for a rule naming a column `header` already has.
    pub fn clash(&self, header: &[String]) -> Option<String> {
        let (column, _) = self.0.iter().find(|(c, _)| header.contains(c))?;
        Some(format!("values.{column}: the file already has a column `{column}`"))
    }

    /// Each column and its value, found in `lines` (searched in order); an error naming the
    /// first rule that matches none of them.
    pub fn extract<'a>(
        &self,
        lines: impl Iterator<Item = &'a str> + Clone,
    ) -> Result<Vec<(String, String)>, String> {
        self.0
            .iter()
            .map(|(column, re)| {
                let found = lines.clone().find_map(|line| {
                    let caps = re.captures(line)?;
                    let m = caps.get(1).or_else(|| caps.get(0))?;
                    Some(m.as_str().trim().to_string())
                });
                found.map(|v| (column.clone(), v)).ok_or_else(|| {
                    format!("values.{column}: no title line or footnote matches `{}`", re.as_str())
                })
            })
            .collect()
    }
}

/// The text of a row of cells or fields: its non-empty parts, trimmed, joined by spaces.
pub fn line_text<'a>(parts: impl IntoIterator<Item = &'a str>) -> String {
    parts.into_iter().map(str::trim).filter(|p| !p.is_empty()).collect::<Vec<_>>().join(" ")
}

/// Adds the title (one line per title row) and the found values to `df` as constant columns.
pub fn add_columns(df: &mut DataFrame, title: &[String], values: &[(String, String)]) -> PolarsResult<()> {
    let height = df.height();
    let constant = |name: &str, value: &str| {
        Column::new_scalar(
            name.into(),
            Scalar::new(DataType::String, AnyValue::StringOwned(value.into())),
            height,
        )
    };
    if !title.is_empty() {
        df.with_column(constant(TITLE_COLUMN, &title.join("\n")))?;
    }
    for (column, value) in values {
        df.with_column(constant(column, value))?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_come_from_the_first_matching_line() -> Result<(), Box<dyn std::error::Error>> {
        let rules: TitleValues = serde_json::from_value(serde_json::json!({
            "tahun_ajaran": r"tahun ajaran (\d{4}/\d{4})",
            "keadaan": r"Keadaan per (.+)",
        }))?;
        let lines = [
            "REKAP SEKOLAH DASAR",
            "Tahun Ajaran 2023/2024",
            "Sumber: Dapodik, keadaan per 31 Desember 2023",
        ];
        let found = rules.extract(lines.iter().copied())?;
        assert_eq!(
            found,
            [("keadaan".into(), "31 Desember 2023".into()), ("tahun_ajaran".into(), "2023/2024".into())]
        );
        let missing = rules.extract(["REKAP"].iter().copied()).err().unwrap_or_default();
        assert!(missing.contains("values.keadaan: no title line or footnote matches"), "{missing}");
        let bad = serde_json::from_value::<TitleValues>(serde_json::json!({ "x": "(" }));
        assert!(bad.err().map(|e| e.to_string()).unwrap_or_default().contains("values.x: invalid regular"));
        assert_eq!(line_text([" a ", "", "b"]), "a b");
        Ok(())
    }
}
