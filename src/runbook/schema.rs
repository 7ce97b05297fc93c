//! `deployctl schema`: the JSON Schema of the runbook format, for editors and CI.
//!
//! Generated from the same raw types the loader deserializes, so it cannot drift from what
//! deployctl accepts. (Semantic rules, like "names a declared database", are the validator's.)

use super::raw::RawRunbook;

/// The JSON Schema (draft 2020-12) of runbook format 1.
pub fn runbook_schema() -> serde_json::Value {
    let schema = schemars::schema_for!(RawRunbook);
    schema.to_value()
}
