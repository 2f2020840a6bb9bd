//! Runs Satu pipelines: builds each source from its config table (the only place that knows the
//! list of connectors), maps its batches to canonical observations off the async threads, and
//! commits them batch by batch with their checkpoint and counts.

mod drift;
mod registry;
mod run;

pub use registry::{build_source, check, source_from_url};
pub use run::{replay_pipeline, run_pipeline, Progress, RunReport};

use satu_config::Problems;
use satu_core::{AccountingError, ErrorKind, Retry, SourceError};
use satu_transform::TransformError;
use satu_warehouse::WarehouseError;

/// Why a pipeline run failed.
#[derive(Debug, thiserror::Error)]
pub enum RuntimeError {
    /// The pipeline's configuration is invalid.
    #[error("invalid configuration:\n{0}")]
    Config(Problems),
    /// The source failed.
    #[error(transparent)]
    Source(#[from] SourceError),
    /// A batch could not be mapped.
    #[error(transparent)]
    Transform(#[from] TransformError),
    /// The warehouse failed.
    #[error(transparent)]
    Warehouse(#[from] WarehouseError),
    /// The counts did not add up.
    #[error(transparent)]
    Accounting(#[from] AccountingError),
    /// The source's columns changed in a way the pipeline's policy does not accept.
    #[error("schema drift: {0}")]
    Drift(String),
    /// The landing zone could not be written.
    #[error(transparent)]
    Landing(#[from] satu_landing::LandingError),
    /// A bug: a task panicked.
    #[error("internal error: {0}")]
    Internal(String),
}

impl RuntimeError {
    /// The error's kind.
    pub fn kind(&self) -> ErrorKind {
        match self {
            Self::Config(_) => ErrorKind::Config,
            Self::Source(e) => e.kind,
            Self::Transform(TransformError::MissingColumn { .. }) => ErrorKind::Data,
            Self::Transform(_) | Self::Accounting(_) | Self::Internal(_) => ErrorKind::Internal,
            Self::Landing(_) => ErrorKind::Capacity,
            Self::Drift(_) => ErrorKind::Data,
            Self::Warehouse(e) => e.kind(),
        }
    }

    /// Whether a retry may help.
    pub fn retry(&self) -> Retry {
        match self {
            Self::Source(e) => e.retry,
            Self::Warehouse(e) => e.retry(),
            _ => Retry::Never,
        }
    }
}
