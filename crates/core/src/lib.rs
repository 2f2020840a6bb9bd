//! Satu's core contracts, shared by every other crate.
//!
//! - [`Batch`]: a bounded polars `DataFrame` of raw source rows, its sequence number and the
//!   checkpoint that resumes the source right after it.
//! - [`Source`]: what every connector implements (`check`, `discover`, `read`).
//! - [`SourceError`]: an error classified by [`ErrorKind`] and [`Retry`] where it is raised.
//! - [`Secret`]: a string that never prints.
//! - [`RowCounts`]: the row accounting every run must balance.

mod accounting;
mod error;
mod secret;
mod source;

pub use accounting::{AccountingError, RowCounts};
pub use error::{ErrorKind, Retry, SourceError};
pub use secret::Secret;
pub use source::{
    channel_stream, is_reserved, Batch, BatchStream, Catalog, CatalogColumn, CatalogEntry, ReadContext,
    Source, SourceState, CELLS_COLUMN, LOCATION_COLUMN, TITLE_COLUMN,
};
