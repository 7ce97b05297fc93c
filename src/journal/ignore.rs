//! A journal directory deployctl creates is kept out of version control: a new
//! `.deployctl/` gets its own `.gitignore` holding `*`, as Python's venv does, so running
//! from a repository (`runbooks/.deployctl/`) never leaves journals and locks for `git add`.

use std::os::unix::fs::DirBuilderExt;
use std::path::Path;

/// The directory deployctl names its default journal directories.
const JOURNAL_DIR: &str = ".deployctl";

/// Creates `dir` (mode 0700, with its parents); a `.deployctl` directory created here gets
/// a `.gitignore` that ignores everything in it. An existing directory is left as it is.
pub fn create_dir(dir: &Path) -> std::io::Result<()> {
    let existed = dir.is_dir();
    std::fs::DirBuilder::new().recursive(true).mode(0o700).create(dir)?;
    if !existed && dir.file_name().is_some_and(|n| n == JOURNAL_DIR) {
        let ignore = "# Written by deployctl: its journals and locks stay out of git.\n*\n";
        if let Err(e) = std::fs::write(dir.join(".gitignore"), ignore) {
            tracing::debug!("cannot write {}/.gitignore: {e}", dir.display());
        }
    }
    Ok(())
}
