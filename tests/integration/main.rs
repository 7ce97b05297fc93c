//! deployctl's integration tests: one binary, a small harness, fixtures as files.

mod dry_run;
mod harness;
mod loader_props;
mod schema;
mod secrets;
mod validate;
