//! `deployctl completions SHELL` and `deployctl man`: the completion script and the man
//! page, generated from the clap definitions in [`crate::cli`], so they never disagree
//! with `--help`.

use clap::CommandFactory;

use crate::cli::{Cli, CompletionsArgs};
use crate::commands::Ui;
use crate::exit::Exit;

/// Prints the completion script of a shell.
pub fn completions(ui: &Ui, args: &CompletionsArgs) -> Exit {
    let mut command = Cli::command();
    let mut script = Vec::new();
    clap_complete::generate(args.shell, &mut command, "deployctl", &mut script);
    ui.data(String::from_utf8_lossy(&script).trim_end());
    Exit::Success
}

/// Prints the man page (roff).
pub fn man(ui: &Ui) -> Exit {
    let mut page = Vec::new();
    if let Err(e) = clap_mangen::Man::new(Cli::command()).render(&mut page) {
        ui.err(&format!("deployctl: cannot render the man page: {e}"));
        return Exit::Invalid;
    }
    ui.data(String::from_utf8_lossy(&page).trim_end());
    Exit::Success
}
