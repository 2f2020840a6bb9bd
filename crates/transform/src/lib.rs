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

pub use mapper::{Mapped, Mapper, TransformError, OBSERVATION_COLUMNS, REJECT_COLUMNS};

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

/// Upper-cases, treats `-`, `_` and `/` as spaces and collapses runs of whitespace: the form used
/// to match codes, aliases and names.
pub fn fold(raw: &str) -> String {
    raw.split(|c: char| c.is_whitespace() || matches!(c, '-' | '_' | '/'))
        .filter(|s| !s.is_empty())
        .collect::<Vec<_>>()
        .join(" ")
        .to_uppercase()
}
