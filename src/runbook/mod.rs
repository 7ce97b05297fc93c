//! Runbooks: the YAML format, its loading, validation, references and schema.
//!
//! Theory of operation: `load` reads a bounded file, `raw` deserializes it into shapes that
//! keep positions, `validate` turns those into the typed `model` while collecting every
//! problem as a `Diagnostic`, resolving `${...}` references through `interpolate` and
//! registering secrets with the redactor as it goes.

mod channel;
pub mod diagnostic;
pub mod duration;
mod forms;
pub mod interpolate;
pub(crate) mod lint;
pub mod load;
pub mod migration_dir;
pub mod model;
mod model_prometheus;
pub mod raw;
mod raw_prometheus;
pub mod schema;
mod source;
mod spanned;
mod validate;

pub use diagnostic::{Diagnostic, Pos, Severity};
pub use load::{LoadError, LoadOptions, Loaded, load, load_bytes};
pub use model::Runbook;
