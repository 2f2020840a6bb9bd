//! Applies a pipeline's `target` to whole batches.

use crate::dimension::DimensionMapper;
use crate::number::{self, NumberRules};
use crate::period::{self, Period};
use crate::region::RegionResolver;
use crate::{Memo, Reject};
use polars::prelude::*;
use rust_decimal::Decimal;
use satu_config::{Deployment, Pengali, Pipeline, Problems};
use satu_core::{is_reserved, RowCounts, CELLS_COLUMN, LOCATION_COLUMN, TITLE_COLUMN};
use std::collections::{HashMap, HashSet};

/// Columns of [`Mapped::observations`], all strings (`nilai` is an exact decimal written out).
pub const OBSERVATION_COLUMNS: [&str; 7] =
    ["kode_wilayah", "periode", "dimensi_kunci", "nilai", "status_nilai", "nilai_mentah", "lokasi_sumber"];

/// Columns of [`Mapped::rejects`], all strings.
pub const REJECT_COLUMNS: [&str; 6] = ["aturan", "pesan", "kolom", "nilai_mentah", "lokasi_sumber", "baris"];

/// A batch that cannot be mapped at all (as opposed to rows that are rejected).
#[derive(Debug, thiserror::Error)]
pub enum TransformError {
    /// The batch lacks columns the target needs.
    #[error("pipeline `{pipeline}`: the source has no column {missing} (it has: {available})")]
    MissingColumn {
        /// Pipeline name.
        pipeline: String,
        /// The missing columns, quoted and comma-separated.
        missing: String,
        /// The columns the source does have.
        available: String,
    },
    /// Polars failed on the batch.
    #[error("pipeline `{pipeline}`: {source}")]
    Polars {
        /// Pipeline name.
        pipeline: String,
        /// The polars error.
        source: PolarsError,
    },
}

/// The result of mapping one batch.
#[derive(Debug)]
pub struct Mapped {
    /// Canonical observations ([`OBSERVATION_COLUMNS`]).
    pub observations: DataFrame,
    /// Rejected and duplicate rows with their rule and reason ([`REJECT_COLUMNS`]); duplicates
    /// carry the rule `duplikat`.
    pub rejects: DataFrame,
    /// Periods first seen in this batch, for `ref.periode`.
    pub periods: Vec<Period>,
    /// `read`, `rejected`, `filtered` and `duplicates` of this batch; the loaded counts come
    /// from the warehouse.
    pub counts: RowCounts,
}

enum PeriodeRule {
    Column(String),
    Fixed(Period),
    Year(String),
    YearPart { tahun: String, column: String, kind: Part },
}

#[derive(Clone, Copy)]
enum Part {
    Month,
    Quarter,
    Semester,
}

/// What duplicate detection keeps per observation key seen in a run: about 60 bytes plus the
/// location, instead of the key itself (a 64-bit hash: a collision, about 1 in 10^7 for a
/// million keys, would reject a row as a duplicate — counted and kept in quarantine, not lost).
struct Seen {
    value: u64,
    location: Box<str>,
}

fn hash64(parts: &[&str]) -> u64 {
    use std::hash::{Hash, Hasher};
    let mut h = std::hash::DefaultHasher::new();
    parts.hash(&mut h);
    h.finish()
}

/// Maps the batches of one pipeline run; remembers what it saw so duplicates are found across
/// batches.
pub struct Mapper {
    pipeline: String,
    wilayah_column: String,
    parent_column: Option<String>,
    name_column: Option<String>,
    regions: RegionResolver,
    periode: PeriodeRule,
    nilai_column: String,
    number: NumberRules,
    /// `pengali = "auto"`: the unit of each value column's header (a wide table's, in order, or
    /// the long value column's); where there is none, the title's is used.
    header_scales: Option<Vec<Result<Option<Decimal>, Reject>>>,
    dims: Vec<(String, DimensionMapper)>,
    /// Parsed periods and period parts, and dimension codes, by raw value: a column holds few
    /// distinct values, so each is parsed once.
    period_memo: Memo<Result<Period, Reject>>,
    part_memo: Memo<Result<u8, Reject>>,
    dim_memos: Vec<Memo<Result<String, Reject>>>,
    skip: Vec<(String, regex::Regex)>,
    seen: HashMap<u64, Seen>,
    periods: HashSet<Period>,
    rows: u64,
    /// The `totals` levels (as level numbers) and what the run saw of each total and its details.
    total_levels: Vec<u8>,
    totals: HashMap<(String, String, String), Tally>,
    /// A wide table's value columns (unpivoted into `WIDE_VALUE` and `WIDE_DIMENSION`).
    wide: Vec<String>,
    /// Declared subtotal rows, the values they stated, and the sums of detail rows by group.
    subtotals: Option<Subtotals>,
}

/// The value of an unpivoted cell.
const WIDE_VALUE: &str = "__satu_nilai";
/// The dimension value of an unpivoted cell: the last part of its column's name.
const WIDE_DIMENSION: &str = "__satu_kolom";

/// Subtotal rows of a recap (`target.subtotals`).
struct Subtotals {
    column: String,
    subtotal: regex::Regex,
    total: Option<regex::Regex>,
    group: Option<String>,
    /// (group, key) → value stated and its location; group `""` for the grand total.
    stated: Vec<((String, String), rust_decimal::Decimal, String)>,
    /// (group, key) → sum of detail values and how many.
    sums: HashMap<(String, String), (rust_decimal::Decimal, u32)>,
}

/// A total row and the sum of its detail rows, over a run.
#[derive(Default)]
struct Tally {
    total: Option<(rust_decimal::Decimal, String)>,
    sum: rust_decimal::Decimal,
    details: u32,
}

/// A total row that disagrees with the sum of its detail rows.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TotalMismatch {
    /// The total's region (dotted Kemendagri code), or the group a declared subtotal row sums
    /// (`MAGERSARI`, `TOTAL`).
    pub kode_wilayah: String,
    /// Period code.
    pub periode: String,
    /// Dimension key.
    pub dimensi_kunci: String,
    /// The total as the source wrote it.
    pub total: String,
    /// The sum of the detail rows.
    pub sum: String,
    /// How many detail rows were summed.
    pub details: u32,
    /// Where the total row is.
    pub location: String,
}

impl std::fmt::Display for TotalMismatch {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let of: Vec<&str> = [self.periode.as_str(), self.dimensi_kunci.as_str()]
            .into_iter()
            .filter(|p| !p.is_empty())
            .collect();
        write!(
            f,
            "total {} of {} ({}) differs from the sum {} of its {} detail rows",
            self.total,
            self.kode_wilayah,
            of.join(", "),
            self.sum,
            self.details
        )
    }
}

impl Mapper {
    /// Compiles `pipeline.target`. Problems are config errors (an unknown area, a bad fixed
    /// period), located at the pipeline's place in the file. Pure: no I/O.
    pub fn new(d: &Deployment, pipeline: &Pipeline) -> Result<Self, Problems> {
        let mut problems = Problems::default();
        let at = pipeline.at.as_str();
        let Some(t) = &pipeline.target else {
            problems.push(at, "the pipeline has no canonical `target`");
            return Err(problems);
        };
        let regions = RegionResolver::new(&t.wilayah)
            .map_err(|e| problems.push(format!("{at}.target.wilayah.within"), e))
            .ok();
        let p = &t.periode;
        let part = |c: &Option<String>, kind| c.clone().map(|column| (column, kind));
        let periods_as_columns = t.nilai.into.as_deref() == Some("periode") && !t.nilai.columns.is_empty();
        let periode = match (&p.column, &p.value, &p.tahun) {
            _ if periods_as_columns => Some(PeriodeRule::Column(WIDE_DIMENSION.into())),
            (Some(c), _, _) => Some(PeriodeRule::Column(c.clone())),
            (_, Some(v), _) => period::parse(v)
                .map(PeriodeRule::Fixed)
                .map_err(|r| problems.push(format!("{at}.target.periode.value"), r.message))
                .ok(),
            (_, _, Some(tahun)) => Some(
                match part(&p.bulan, Part::Month)
                    .or_else(|| part(&p.triwulan, Part::Quarter))
                    .or_else(|| part(&p.semester, Part::Semester))
                {
                    Some((column, kind)) => PeriodeRule::YearPart { tahun: tahun.clone(), column, kind },
                    None => PeriodeRule::Year(tahun.clone()),
                },
            ),
            _ => None, // reported by satu-config
        };
        let mut dims = Vec::new();
        for (code, column) in &t.dimensi {
            match d.dimension(code) {
                Some(dim) => dims.push((column.clone(), DimensionMapper::new(&dim))),
                None => problems
                    .push(format!("{at}.target.dimensi.{code}"), format!("unknown dimension `{code}`")),
            }
        }
        if let Some(into) = t.nilai.into.as_ref().filter(|i| !t.nilai.columns.is_empty() && *i != "periode") {
            match d.dimension(into) {
                Some(dim) => dims.push((WIDE_DIMENSION.to_string(), DimensionMapper::new(&dim))),
                None => {
                    problems.push(format!("{at}.target.nilai.into"), format!("unknown dimension `{into}`"))
                }
            }
        }
        // Dimension keys are written in dimension-code order.
        dims.sort_by(|a, b| a.1.code().cmp(b.1.code()));
        let regex = |pattern: &str, path: String, problems: &mut Problems| {
            regex::RegexBuilder::new(pattern)
                .case_insensitive(true)
                .build()
                .map_err(|e| problems.push(path, e.to_string()))
                .ok()
        };
        let subtotals = t.subtotals.as_ref().and_then(|sub| {
            let subtotal = regex(&sub.subtotal, format!("{at}.target.subtotals.subtotal"), &mut problems)?;
            let total = match &sub.total {
                Some(p) => Some(regex(p, format!("{at}.target.subtotals.total"), &mut problems)?),
                None => None,
            };
            Some(Subtotals {
                column: sub.column.clone(),
                subtotal,
                total,
                group: sub.group.clone().or_else(|| t.wilayah.parent_column.clone()),
                stated: Vec::new(),
                sums: HashMap::new(),
            })
        });
        let mut skip = Vec::new();
        for (i, rule) in pipeline.skip.iter().enumerate() {
            match regex::RegexBuilder::new(&rule.matches).case_insensitive(true).build() {
                Ok(re) => skip.push((rule.column.clone(), re)),
                Err(e) => problems.push(format!("{at}.skip[{i}].matches"), e.to_string()),
            }
        }
        match (regions, periode, problems.is_empty()) {
            (Some(regions), Some(periode), true) => Ok(Self {
                period_memo: Memo::new(),
                part_memo: Memo::new(),
                dim_memos: dims.iter().map(|_| Memo::new()).collect(),
                pipeline: pipeline.name.clone(),
                wilayah_column: t.wilayah.column.clone(),
                parent_column: t.wilayah.parent_column.clone(),
                name_column: t.wilayah.name_column.clone(),
                regions,
                periode,
                nilai_column: if t.nilai.columns.is_empty() {
                    t.nilai.column.clone()
                } else {
                    WIDE_VALUE.into()
                },
                number: NumberRules {
                    format: t.nilai.number,
                    integer: t.nilai.integer,
                    pengali: match t.nilai.pengali {
                        Some(Pengali::Kali(n)) => Some(Decimal::from(n)),
                        _ => None,
                    },
                },
                header_scales: (t.nilai.pengali == Some(Pengali::Auto)).then(|| {
                    let headers = if t.nilai.columns.is_empty() {
                        std::slice::from_ref(&t.nilai.column)
                    } else {
                        t.nilai.columns.as_slice()
                    };
                    headers.iter().map(|h| number::scale_in(h)).collect()
                }),
                dims,
                skip,
                seen: HashMap::new(),
                periods: HashSet::new(),
                rows: 0,
                total_levels: t.wilayah.totals.iter().map(|l| l.number()).collect(),
                totals: HashMap::new(),
                wide: t.nilai.columns.clone(),
                subtotals,
            }),
            _ => Err(problems),
        }
    }

    /// The source columns this mapper reads.
    pub fn columns(&self) -> Vec<&str> {
        let mut cols: Vec<&str> = self
            .internal_columns()
            .into_iter()
            .filter(|c| *c != WIDE_VALUE && *c != WIDE_DIMENSION)
            .collect();
        cols.extend(self.wide.iter().map(String::as_str));
        cols
    }

    /// The columns of the (unpivoted) frame the row mapping reads.
    fn internal_columns(&self) -> Vec<&str> {
        let mut cols = vec![self.wilayah_column.as_str(), self.nilai_column.as_str()];
        cols.extend(self.parent_column.as_deref());
        cols.extend(self.name_column.as_deref());
        match &self.periode {
            PeriodeRule::Column(c) | PeriodeRule::Year(c) => cols.push(c),
            PeriodeRule::YearPart { tahun, column, .. } => cols.extend([tahun.as_str(), column.as_str()]),
            PeriodeRule::Fixed(_) => {}
        }
        cols.extend(self.dims.iter().map(|(c, _)| c.as_str()));
        cols.extend(self.skip.iter().map(|(c, _)| c.as_str()));
        if let Some(sub) = &self.subtotals {
            cols.push(sub.column.as_str());
            cols.extend(sub.group.as_deref());
        }
        cols
    }

    fn polars(&self, source: PolarsError) -> TransformError {
        TransformError::Polars { pipeline: self.pipeline.clone(), source }
    }

    /// Maps one batch. Every row ends in exactly one of: observations, rejects (rejected or
    /// duplicate), or the filtered count.
    pub fn map(&mut self, df: &DataFrame) -> Result<Mapped, TransformError> {
        let mut cols: HashMap<String, StringChunked> = HashMap::new();
        let mut once = HashSet::new();
        // An empty batch (an API page with no records carries no columns) maps to nothing.
        let empty = df.height() == 0;
        let missing: Vec<String> = self
            .columns()
            .into_iter()
            .filter(|c| once.insert(*c) && !empty && df.column(c).is_err())
            .map(|c| format!("`{c}`"))
            .collect();
        if !missing.is_empty() {
            return Err(TransformError::MissingColumn {
                pipeline: self.pipeline.clone(),
                missing: missing.join(", "),
                available: df
                    .get_column_names()
                    .iter()
                    .filter(|c| !is_reserved(c.as_str()))
                    .map(|c| c.as_str())
                    .collect::<Vec<_>>()
                    .join(", "),
            });
        }
        // Column letters, where the source is laid out in cells: lineage then names the cell.
        let letters: HashMap<String, String> = df
            .column(CELLS_COLUMN)
            .ok()
            .and_then(|c| c.str().ok()?.get(0).map(str::to_string))
            .and_then(|json| serde_json::from_str(&json).ok())
            .unwrap_or_default();
        let value_letter = if self.wide.is_empty() { letters.get(&self.nilai_column).cloned() } else { None };
        // `pengali = "auto"`: each value's rules, by the header's unit or else the title's.
        let rules: Vec<Result<NumberRules, Reject>> = match &self.header_scales {
            None => vec![Ok(self.number)],
            Some(headers) => {
                let title =
                    df.column(TITLE_COLUMN).ok().and_then(|c| c.str().ok()?.get(0).map(number::scale_in));
                let title = title.unwrap_or(Ok(None));
                headers
                    .iter()
                    .map(|h| {
                        let scale = match h {
                            Ok(None) => title.clone()?,
                            other => other.clone()?,
                        };
                        Ok(NumberRules { pengali: scale, ..self.number })
                    })
                    .collect()
            }
        };
        // A wide table becomes one row per value cell.
        let long;
        let df = if self.wide.is_empty() || empty {
            df
        } else {
            long = unpivot(df, &self.wide, &letters).map_err(|e| self.polars(e))?;
            &long
        };
        let empty = df.height() == 0;
        for name in self.internal_columns() {
            if cols.contains_key(name) {
                continue;
            }
            if empty && df.column(name).is_err() {
                cols.insert(name.to_string(), StringChunked::full_null(name.into(), 0));
                continue;
            }
            let col = df.column(name).map_err(|e| self.polars(e))?;
            let s = col.cast(&DataType::String).map_err(|e| self.polars(e))?;
            let s = s.str().map_err(|e| self.polars(e))?.rechunk().into_owned();
            cols.insert(name.to_string(), s);
        }
        let location = match df.column(LOCATION_COLUMN) {
            Ok(c) => Some(c.str().map_err(|e| self.polars(e))?.rechunk().into_owned()),
            Err(_) => None,
        };
        let height = df.height();
        let mut obs = Columns::new(OBSERVATION_COLUMNS.len(), height);
        let mut rej = Columns::new(REJECT_COLUMNS.len(), 0);
        let mut counts = RowCounts { read: height as u64, ..Default::default() };
        let mut periods = Vec::new();
        for i in 0..height {
            self.rows += 1;
            let get = |c: &str| cols.get(c).and_then(|s| s.get(i));
            // Unpivoted rows cycle through the wide columns in order.
            let rules = &rules[i % rules.len()];
            let loc = location
                .as_ref()
                .and_then(|l| l.get(i))
                .map(|l| match &value_letter {
                    Some(letter) => cell_location(l, letter),
                    None => l.to_string(),
                })
                .unwrap_or_else(|| format!("row {}", self.rows));
            if let Some(sub) = &mut self.subtotals {
                let named = get(&sub.column).map(str::trim).unwrap_or_default();
                let grand = sub.total.as_ref().is_some_and(|re| re.is_match(named));
                if grand || sub.subtotal.is_match(named) {
                    counts.filtered += 1;
                    let raw = get(&self.nilai_column).unwrap_or_default();
                    let value = rules.as_ref().ok().and_then(|r| number::parse(raw, r).ok());
                    if let Some(number::Value { nilai: Some(v), .. }) = value {
                        let group = if grand { String::new() } else { group_of(sub, &get) };
                        sub.stated.push(((group, raw_key(&self.periode, &self.dims, &get)), v, loc));
                    }
                    continue;
                }
            }
            if self.skip.iter().any(|(c, re)| get(c).is_some_and(|v| re.is_match(v.trim()))) {
                counts.filtered += 1;
                continue;
            }
            match self.map_row(&get, rules) {
                Ok(row) => {
                    if self.periods.insert(row.period) {
                        periods.push(row.period);
                    }
                    let periode = row.period.code();
                    let key = hash64(&[row.wilayah, &periode, &row.dims]);
                    let nilai = row.value.nilai.map(|d| d.to_string());
                    let value = hash64(&[nilai.as_deref().unwrap_or("\u{0}"), row.value.status.as_str()]);
                    if let Some(first) = self.seen.get(&key) {
                        let (rule, message) = if first.value == value {
                            counts.duplicates += 1;
                            ("duplikat", format!("same observation as {}", first.location))
                        } else {
                            counts.rejected += 1;
                            (
                                "kunci_ganda",
                                format!(
                                "a different value for the same region, period and dimensions was read at {}",
                                first.location
                            ),
                            )
                        };
                        rej.push([
                            rule.into(),
                            message,
                            self.nilai_column.clone(),
                            row.raw.clone(),
                            loc,
                            row_json(df, i),
                        ]);
                        continue;
                    }
                    self.seen.insert(key, Seen { value, location: loc.as_str().into() });
                    if let (false, Some(v)) = (self.total_levels.is_empty(), row.value.nilai) {
                        self.tally(&row, &periode, v, &loc);
                    }
                    if let (Some(sub), Some(v)) = (&mut self.subtotals, row.value.nilai) {
                        let key = raw_key(&self.periode, &self.dims, &get);
                        for group in [group_of(sub, &get), String::new()] {
                            let sum = sub.sums.entry((group, key.clone())).or_default();
                            sum.0 += v;
                            sum.1 += 1;
                        }
                    }
                    obs.push_opt([
                        Some(row.wilayah.to_string()),
                        Some(periode),
                        Some(row.dims),
                        nilai,
                        Some(row.value.status.as_str().to_string()),
                        Some(row.raw),
                        Some(loc),
                    ]);
                }
                Err((column, raw, reject)) => {
                    counts.rejected += 1;
                    rej.push([reject.rule.to_string(), reject.message, column, raw, loc, row_json(df, i)]);
                }
            }
        }
        Ok(Mapped {
            observations: obs.finish(&OBSERVATION_COLUMNS).map_err(|e| self.polars(e))?,
            rejects: rej.finish(&REJECT_COLUMNS).map_err(|e| self.polars(e))?,
            periods,
            counts,
        })
    }

    /// Adds a loaded value to the run's totals check: a total row records itself, a detail row
    /// adds to each of its totals.
    fn tally(&mut self, row: &Row, periode: &str, value: rust_decimal::Decimal, location: &str) {
        let key = |code: &str| (code.to_string(), periode.to_string(), row.dims.clone());
        if self.total_levels.contains(&row.level) {
            self.totals.entry(key(row.wilayah)).or_default().total = Some((value, location.to_string()));
            return;
        }
        for level in self.total_levels.clone() {
            let ancestor: Vec<&str> = row.wilayah.split('.').take(usize::from(level)).collect();
            let tally = self.totals.entry(key(&ancestor.join("."))).or_default();
            tally.sum += value;
            tally.details += 1;
        }
    }

    /// The total rows of the run so far that disagree with the sum of their detail rows (only
    /// totals with at least one detail row are checked): region totals (`wilayah.totals`) and
    /// declared subtotal rows (`subtotals`).
    pub fn total_mismatches(&self) -> Vec<TotalMismatch> {
        let declared = self.subtotals.iter().flat_map(|sub| {
            sub.stated.iter().filter_map(|((group, key), stated, location)| {
                let (sum, details) = sub.sums.get(&(group.clone(), key.clone())).copied()?;
                (sum != *stated).then(|| TotalMismatch {
                    kode_wilayah: if group.is_empty() { "TOTAL".into() } else { group.clone() },
                    periode: String::new(),
                    dimensi_kunci: key.clone(),
                    total: stated.to_string(),
                    sum: sum.to_string(),
                    details,
                    location: location.clone(),
                })
            })
        });
        let mut out: Vec<TotalMismatch> = self
            .totals
            .iter()
            .filter_map(|((code, periode, dims), t)| {
                let (total, location) = t.total.as_ref()?;
                (t.details > 0 && *total != t.sum).then(|| TotalMismatch {
                    kode_wilayah: code.clone(),
                    periode: periode.clone(),
                    dimensi_kunci: dims.clone(),
                    total: total.to_string(),
                    sum: t.sum.to_string(),
                    details: t.details,
                    location: location.clone(),
                })
            })
            .chain(declared)
            .collect();
        out.sort_by(|a, b| a.location.cmp(&b.location));
        out
    }

    /// One row, or the column, raw value and reason it was rejected for.
    fn map_row<'a>(
        &mut self,
        get: &dyn Fn(&str) -> Option<&'a str>,
        rules: &Result<NumberRules, Reject>,
    ) -> Result<Row, (String, String, Reject)> {
        let fail = |col: &str, r: Reject| (col.to_string(), get(col).unwrap_or_default().to_string(), r);
        let wcol = self.wilayah_column.as_str();
        let parent = self.parent_column.as_deref().and_then(get);
        let name = self.name_column.as_deref().and_then(get);
        let region =
            self.regions.resolve(get(wcol).unwrap_or_default(), parent, name).map_err(|r| fail(wcol, r))?;
        let mut marker = 0;
        let period = match &self.periode {
            PeriodeRule::Fixed(p) => *p,
            PeriodeRule::Column(c) => {
                let raw = get(c).unwrap_or_default();
                // Years as a wide table's columns: `2023*` is 2023, provisional.
                let raw = if c == WIDE_DIMENSION {
                    marker = raw.trim_end().len() - raw.trim_end().trim_end_matches('*').len();
                    raw.trim_end().trim_end_matches('*')
                } else {
                    raw
                };
                self.period_memo.get_or(raw, || period::parse(raw)).map_err(|r| fail(c, r))?
            }
            PeriodeRule::Year(c) => {
                Period::Year(period::year(get(c).unwrap_or_default()).map_err(|r| fail(c, r))?)
            }
            PeriodeRule::YearPart { tahun, column, kind } => {
                let y = period::year(get(tahun).unwrap_or_default()).map_err(|r| fail(tahun, r))?;
                let raw = get(column).unwrap_or_default();
                let parsed = self.part_memo.get_or(raw, || match kind {
                    Part::Month => period::month(raw),
                    Part::Quarter => period::part(raw, 4, "triwulan_tidak_valid"),
                    Part::Semester => period::part(raw, 2, "semester_tidak_valid"),
                });
                let n = parsed.map_err(|r| fail(column, r))?;
                match kind {
                    Part::Month => Period::Month(y, n),
                    Part::Quarter => Period::Quarter(y, n),
                    Part::Semester => Period::Semester(y, n),
                }
            }
        };
        let mut dims = String::new();
        for ((column, mapper), memo) in self.dims.iter().zip(self.dim_memos.iter_mut()) {
            let raw = get(column);
            // A missing value and an empty one are the same reject; the memo keys on the text.
            let code = memo
                .get_or(raw.unwrap_or_default(), || mapper.map(raw).map(str::to_string))
                .map_err(|r| fail(column, r))?;
            if !dims.is_empty() {
                dims.push('|');
            }
            dims.push_str(mapper.code());
            dims.push('=');
            dims.push_str(&code);
        }
        let ncol = self.nilai_column.as_str();
        let raw = get(ncol).unwrap_or_default();
        let rules = rules.as_ref().map_err(|r| fail(ncol, r.clone()))?;
        let mut value = number::parse(raw, rules).map_err(|r| fail(ncol, r))?;
        if value.status == number::Status::Tetap {
            value.status = match marker {
                0 => number::Status::Tetap,
                1 => number::Status::Sementara,
                _ => number::Status::SangatSementara,
            };
        }
        // `dims` follows the BTreeMap order of `target.dimensi`: sorted by dimension code.
        Ok(Row { wilayah: region.code, level: region.level, period, dims, value, raw: raw.to_string() })
    }
}

struct Row {
    wilayah: &'static str,
    level: u8,
    period: Period,
    dims: String,
    value: number::Value,
    raw: String,
}

/// The group a row belongs to for subtotal checks: its group column, normalised.
fn group_of<'a>(sub: &Subtotals, get: &dyn Fn(&str) -> Option<&'a str>) -> String {
    sub.group.as_deref().and_then(get).map(crate::region::normalise_name).unwrap_or_default()
}

/// What a detail row and its subtotal share besides the group: the raw period and dimension
/// values (the subtotal row is never resolved, so raw text is what both have).
fn raw_key<'a>(
    periode: &PeriodeRule,
    dims: &[(String, DimensionMapper)],
    get: &dyn Fn(&str) -> Option<&'a str>,
) -> String {
    let mut parts: Vec<String> = match periode {
        PeriodeRule::Column(c) | PeriodeRule::Year(c) => {
            vec![get(c).unwrap_or_default().trim().to_uppercase()]
        }
        PeriodeRule::YearPart { tahun, column, .. } => {
            [tahun, column].iter().map(|c| get(c).unwrap_or_default().trim().to_uppercase()).collect()
        }
        PeriodeRule::Fixed(_) => vec![],
    };
    for (column, mapper) in dims {
        parts.push(format!("{}={}", mapper.code(), get(column).unwrap_or_default().trim().to_uppercase()));
    }
    parts.join("|")
}

/// A wide frame as one row per value cell: the other columns repeated, the cell's value in
/// `WIDE_VALUE`, the last part of its column's name in `WIDE_DIMENSION`, and its location
/// extended with the column (`… REKAP SD!7 · Jumlah Peserta Didik/L`).
fn unpivot(df: &DataFrame, wide: &[String], letters: &HashMap<String, String>) -> PolarsResult<DataFrame> {
    let n = wide.len();
    let height = df.height() * n;
    let mut out: Vec<Column> = Vec::new();
    for col in df.columns() {
        let name = col.name().as_str();
        if wide.iter().any(|w| w == name) || (is_reserved(name) && name != LOCATION_COLUMN) {
            continue;
        }
        let s = col.cast(&DataType::String)?;
        let s = s.str()?;
        let values: Vec<Option<String>> = if name == LOCATION_COLUMN {
            s.iter()
                .flat_map(|v| {
                    wide.iter().map(move |w| {
                        let v = v.unwrap_or_default();
                        Some(match letters.get(w) {
                            Some(letter) => cell_location(v, letter),
                            None => format!("{v} · {w}"),
                        })
                    })
                })
                .collect()
        } else {
            s.iter().flat_map(|v| std::iter::repeat_n(v.map(str::to_string), n)).collect()
        };
        out.push(Column::new(name.into(), values));
    }
    let cells: Vec<StringChunked> = wide
        .iter()
        .map(|w| df.column(w)?.cast(&DataType::String).and_then(|c| Ok(c.str()?.clone())))
        .collect::<PolarsResult<_>>()?;
    let mut values = Vec::with_capacity(height);
    let mut labels = Vec::with_capacity(height);
    for i in 0..df.height() {
        for (w, c) in wide.iter().zip(&cells) {
            values.push(c.get(i).map(str::to_string));
            labels.push(Some(w.rsplit('/').next().unwrap_or(w).trim().to_string()));
        }
    }
    out.push(Column::new(WIDE_VALUE.into(), values));
    out.push(Column::new(WIDE_DIMENSION.into(), labels));
    DataFrame::new(height, out)
}

/// `rekap.xlsx REKAP SD!7` with column `E` → `rekap.xlsx REKAP SD!E7`; other locations as they are.
fn cell_location(location: &str, letter: &str) -> String {
    match location.rfind('!') {
        Some(i) if !location[i + 1..].is_empty() && location[i + 1..].bytes().all(|b| b.is_ascii_digit()) => {
            format!("{}{letter}{}", &location[..=i], &location[i + 1..])
        }
        _ => location.to_string(),
    }
}

/// The whole source row as JSON, kept with a reject as evidence.
fn row_json(df: &DataFrame, i: usize) -> String {
    let mut map = serde_json::Map::new();
    for col in df.columns() {
        if is_reserved(col.name().as_str()) {
            continue;
        }
        let v = match col.get(i) {
            Ok(AnyValue::Null) | Err(_) => serde_json::Value::Null,
            Ok(AnyValue::String(s)) => serde_json::Value::String(s.to_string()),
            Ok(other) => serde_json::Value::String(other.to_string()),
        };
        map.insert(col.name().to_string(), v);
    }
    serde_json::Value::Object(map).to_string()
}

/// Column builders for an all-string frame.
struct Columns(Vec<Vec<Option<String>>>);

impl Columns {
    fn new(n: usize, capacity: usize) -> Self {
        Self((0..n).map(|_| Vec::with_capacity(capacity)).collect())
    }

    fn push<const N: usize>(&mut self, row: [String; N]) {
        self.push_opt(row.map(Some));
    }

    fn push_opt<const N: usize>(&mut self, row: [Option<String>; N]) {
        for (col, v) in self.0.iter_mut().zip(row) {
            col.push(v);
        }
    }

    fn finish(self, names: &[&str]) -> PolarsResult<DataFrame> {
        let height = self.0.first().map_or(0, Vec::len);
        let cols = self.0.into_iter().zip(names).map(|(v, n)| Column::new((*n).into(), v)).collect();
        DataFrame::new(height, cols)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap as Env;
    use std::path::Path;

    const DEPLOYMENT: &str = r#"
[[organisation]]
code = "DINKES-3576"
name = "Dinas Kesehatan"

[[dataset]]
slug = "kunjungan"
title = "Kunjungan"
opd = "DINKES-3576"
frequency = "bulanan"

[[indicator]]
code = "kes.kunjungan_puskesmas"
name = "Kunjungan"
satuan = "kunjungan"
dimensi = ["jenis_kelamin", "jenis_kunjungan"]

[[dimension]]
code = "jenis_kunjungan"
name = "Jenis Kunjungan"
values = { BARU = "Baru", LAMA = "Lama" }

[[pipeline]]
name = "dinkes"
opd = "DINKES-3576"
source = { type = "csv", path = "x.csv" }
skip = [{ column = "kelurahan", matches = "^total" }]
[pipeline.target]
dataset = "kunjungan"
indikator = "kes.kunjungan_puskesmas"
wilayah = { column = "kelurahan", level = "kelurahan", within = "35.76" }
periode = { tahun = "tahun", bulan = "bulan" }
nilai = { column = "jumlah", integer = true }
dimensi = { jenis_kelamin = "jk", jenis_kunjungan = "jenis_kunjungan" }
"#;

    fn mapper() -> Mapper {
        let loaded = satu_config::load_str(DEPLOYMENT, Path::new("."), &Env::new());
        assert!(loaded.problems.is_empty(), "{}", loaded.problems);
        let d = loaded.deployment;
        Mapper::new(&d, &d.pipelines[0]).expect("the test target compiles")
    }

    /// Fixture F1 of DOMAIN.md §7, one batch.
    fn f1() -> PolarsResult<DataFrame> {
        df!(
            "kelurahan" => ["Kel. Magersari", "MAGERSARI ", "Gunung Gedangan", "Prajurit Kulon", "Wates (Magersari)",
                            "Desa Jagalan", "Kranggan", "Meri", "Miji", "Sentanan", "Magersari", "TOTAL"],
            "bulan" => ["Februari", "Pebruari", "02", "Agt", "Nopember", "Maret", "Januari", "13", "April", "Mei", "02", ""],
            "tahun" => ["2024"; 12],
            "jk" => [Some("P"), Some("LK"), Some("Perempuan"), Some("L"), Some("P"), Some("Laki-laki"), Some("L"),
                     Some("P"), None, Some("P"), Some("Perempuan"), None],
            "jenis_kunjungan" => ["BARU", "LAMA", "BARU", "BARU", "LAMA", "BARU", "BARU", "BARU", "LAMA", "LAMA", "baru", ""],
            "jumlah" => ["1.234", "987", "  88 ", "1.507", "-", "412", "1,045", "45", "33", "3O", "1.234", "9.999"],
            LOCATION_COLUMN => (2..14).map(|i| format!("f1.csv:{i}")).collect::<Vec<_>>(),
        )
    }

    #[test]
    fn f1_sorts_every_row_into_one_place() -> Result<(), Box<dyn std::error::Error>> {
        let mut m = mapper();
        let out = m.map(&f1()?)?;
        let expected = df!(
            "kode_wilayah" => ["35.76.02.1003", "35.76.02.1003", "35.76.02.1001", "35.76.01.1006", "35.76.02.1010", "35.76.03.1004"],
            "periode" => ["2024-02", "2024-02", "2024-02", "2024-08", "2024-11", "2024-03"],
            "dimensi_kunci" => [
                "jenis_kelamin=P|jenis_kunjungan=BARU", "jenis_kelamin=L|jenis_kunjungan=LAMA",
                "jenis_kelamin=P|jenis_kunjungan=BARU", "jenis_kelamin=L|jenis_kunjungan=BARU",
                "jenis_kelamin=P|jenis_kunjungan=LAMA", "jenis_kelamin=L|jenis_kunjungan=BARU",
            ],
            "nilai" => ["1234", "987", "88", "1507", "0", "412"],
            "status_nilai" => ["tetap", "tetap", "tetap", "tetap", "nihil", "tetap"],
            "nilai_mentah" => ["1.234", "987", "  88 ", "1.507", "-", "412"],
            "lokasi_sumber" => ["f1.csv:2", "f1.csv:3", "f1.csv:4", "f1.csv:5", "f1.csv:6", "f1.csv:7"],
        )?;
        assert!(out.observations.equals_missing(&expected), "{}", out.observations);
        let rules: Vec<(Option<&str>, Option<&str>)> = out
            .rejects
            .column("aturan")?
            .str()?
            .iter()
            .zip(out.rejects.column("lokasi_sumber")?.str()?.iter())
            .collect();
        assert_eq!(
            rules,
            vec![
                (Some("angka_ambigu"), Some("f1.csv:8")),
                (Some("bulan_tidak_valid"), Some("f1.csv:9")),
                (Some("dimensi_kosong"), Some("f1.csv:10")),
                (Some("angka_tidak_valid"), Some("f1.csv:11")),
                (Some("duplikat"), Some("f1.csv:12")),
            ]
        );
        let c = out.counts;
        assert_eq!((c.read, c.rejected, c.duplicates, c.filtered), (12, 4, 1, 1));
        assert_eq!(c.read, out.observations.height() as u64 + c.rejected + c.duplicates + c.filtered);
        let row: serde_json::Value =
            serde_json::from_str(out.rejects.column("baris")?.str()?.get(0).unwrap_or("{}"))?;
        assert_eq!(row["jumlah"], "1,045");
        Ok(())
    }

    #[test]
    fn duplicates_are_found_across_batches_and_conflicts_rejected() -> Result<(), Box<dyn std::error::Error>>
    {
        let mut m = mapper();
        let batch = |v: &str| {
            df!("kelurahan" => ["Meri"], "bulan" => ["1"], "tahun" => ["2024"], "jk" => ["L"],
                "jenis_kunjungan" => ["BARU"], "jumlah" => [v], LOCATION_COLUMN => ["b.csv:2"])
        };
        assert_eq!(m.map(&batch("5")?)?.observations.height(), 1);
        assert_eq!(m.map(&batch("5")?)?.counts.duplicates, 1);
        let conflict = m.map(&batch("6")?)?;
        assert_eq!(conflict.counts.rejected, 1);
        assert_eq!(conflict.rejects.column("aturan")?.str()?.get(0), Some("kunci_ganda"));
        Ok(())
    }

    #[test]
    fn auto_units_come_from_each_header_else_from_the_title() -> Result<(), Box<dyn std::error::Error>> {
        let text = DEPLOYMENT.replace(
            r#"periode = { tahun = "tahun", bulan = "bulan" }
nilai = { column = "jumlah", integer = true }
dimensi = { jenis_kelamin = "jk", jenis_kunjungan = "jenis_kunjungan" }"#,
            r#"nilai = { columns = ["Jumlah (Juta)/2023", "Jumlah/2024"], into = "periode", pengali = "auto" }
dimensi = { jenis_kelamin = "jk", jenis_kunjungan = "jenis_kunjungan" }"#,
        );
        let loaded = satu_config::load_str(&text, Path::new("."), &Env::new());
        assert!(loaded.problems.is_empty(), "{}", loaded.problems);
        let d = loaded.deployment;
        let mut m = Mapper::new(&d, &d.pipelines[0]).map_err(|p| p.to_string())?;
        let batch = |title: &str| {
            df!("kelurahan" => ["Meri"], "jk" => ["L"], "jenis_kunjungan" => ["BARU"],
                "Jumlah (Juta)/2023" => ["1,5"], "Jumlah/2024" => ["2"],
                LOCATION_COLUMN => ["t.csv:5"], TITLE_COLUMN => [title])
        };
        let out = m.map(&batch("Kunjungan (Ribu Kunjungan)")?)?;
        let nilai: Vec<Option<&str>> = out.observations.column("nilai")?.str()?.iter().collect();
        assert_eq!(nilai, [Some("1500000"), Some("2000")], "the header's unit, else the title's");
        let mut m = Mapper::new(&d, &d.pipelines[0]).map_err(|p| p.to_string())?;
        let out = m.map(&batch("Kunjungan (ribu) dan biaya (juta rupiah)")?)?;
        assert_eq!((out.observations.height(), out.counts.rejected), (1, 1), "2024 has no unit of its own");
        assert_eq!(out.rejects.column("aturan")?.str()?.get(0), Some("satuan_ambigu"));
        Ok(())
    }

    #[test]
    fn a_missing_column_is_a_clear_error() -> Result<(), Box<dyn std::error::Error>> {
        let mut m = mapper();
        let df = df!("kelurahan" => ["Meri"], "bulan" => ["1"])?;
        let err = m.map(&df).err().map(|e| e.to_string()).unwrap_or_default();
        assert!(
            err.contains("pipeline `dinkes`") && err.contains("no column `jumlah`, `tahun`, `jk`"),
            "{err}"
        );
        Ok(())
    }
}
