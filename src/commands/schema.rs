//! `deployctl schema`: print the runbook JSON Schema.

use crate::commands::Ui;
use crate::exit::Exit;
use crate::runbook::schema::runbook_schema;

/// Prints the schema as pretty JSON.
pub fn schema(ui: &Ui) -> Exit {
    match serde_json::to_string_pretty(&runbook_schema()) {
        Ok(text) => {
            ui.data(&text);
            Exit::Success
        }
        Err(e) => {
            ui.err(&format!("deployctl: cannot render the schema: {e}"));
            Exit::Invalid
        }
    }
}
