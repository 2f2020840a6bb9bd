//! Normalises raw source batches into canonical Satu Data observations.
//!
//! The parsers ([`number`], [`period`], [`region`], [`dimension`]) each turn one raw value into a
//! canonical one or a [`Reject`] with a rule and a reason, never a guess. [`Mapper`] applies them to
//! a whole batch (a polars `DataFrame`) as a pipeline's `target` declares, and sorts every row into
//! exactly one place: an observation, a reject, a filtered row or a duplicate.

pub mod dimension;
mod mapper;
pub mod number;
pub mod period;
pub mod region;

pub use mapper::{Mapped, Mapper, TotalMismatch, TransformError, OBSERVATION_COLUMNS, REJECT_COLUMNS};

/// Why one raw value could not be used: a rule name (stable, for `GROUP BY aturan`) and a message
/// a walidata can act on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reject {
    /// Stable rule name, e.g. `angka_ambigu`, `wilayah_tidak_dikenal`.
    pub rule: &'static str,
    /// Human explanation naming the value.
    pub message: String,
}

impl Reject {
    /// A reject under `rule`.
    pub fn new(rule: &'static str, message: impl Into<String>) -> Self {
        Self { rule, message: message.into() }
    }
}

/// Answers remembered by raw value: looked up by `&str` (no allocation on a hit), bounded so a
/// column with endless distinct values cannot grow it without limit.
pub(crate) struct Memo<V> {
    map: std::collections::HashMap<String, V>,
}

impl<V: Clone> Memo<V> {
    /// Most remembered values; past it the memo starts over.
    const LIMIT: usize = 100_000;

    pub(crate) fn new() -> Self {
        Self { map: std::collections::HashMap::new() }
    }

    /// The remembered answer for `key`, or `compute()`'s, remembered.
    pub(crate) fn get_or(&mut self, key: &str, compute: impl FnOnce() -> V) -> V {
        if let Some(v) = self.map.get(key) {
            return v.clone();
        }
        let v = compute();
        if self.map.len() >= Self::LIMIT {
            self.map.clear();
        }
        self.map.insert(key.to_string(), v.clone());
        v
    }
}

/// Upper-cases, treats `-`, `_` and `/` as spaces and collapses runs of whitespace: the form used
/// to match codes, aliases and names.
pub fn fold(raw: &str) -> String {
    raw.split(|c: char| c.is_whitespace() || matches!(c, '-' | '_' | '/'))
        .filter(|s| !s.is_empty())
        .collect::<Vec<_>>()
        .join(" ")
        .to_uppercase()
}
