//! The `pipelines.toml` model.
//!
//! [`load`] reads a deployment file with the `config` crate, applies `SATU_<SECTION>__<KEY>`
//! environment overrides, resolves `${VAR}` references and validates everything it can without
//! any I/O, returning **every** problem at once, each with its path (and, for a misspelt key,
//! the likely intended one). Connector tables (`source = {…}`) are kept raw here and checked by
//! the runtime, which alone knows the connectors.

mod load;
mod model;
mod problems;
mod scheduler;
mod validate;

pub use load::{interpolate, load, load_str, Loaded};
pub use model::*;
pub use problems::{deserialize_at, Problem, Problems};
pub use scheduler::{parse_timezone, Misfire, SchedulerConfig, Span};
pub use validate::parse_schedule;
