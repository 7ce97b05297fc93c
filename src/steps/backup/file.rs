//! The dump file: its private folder, its digest, and the `.partial` guard that deletes an
//! unfinished dump on every way out.

use std::io;
use std::os::unix::fs::{DirBuilderExt, PermissionsExt};
use std::path::{Path, PathBuf};

use sha2::{Digest, Sha256};
use tokio::io::AsyncReadExt;

use crate::steps::process::io_reason;

/// Creates the backup folder (0700: dumps hold all the data) if missing.
pub(crate) fn create_dir(dir: &Path) -> Result<(), String> {
    std::fs::DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(dir)
        .map_err(|e| format!("cannot create the backup folder `{}`: {}", dir.display(), io_reason(&e)))
}

/// Size and hex sha256 of a file.
pub(crate) async fn digest(path: &Path) -> io::Result<(u64, String)> {
    let mut file = tokio::fs::File::open(path).await?;
    let mut hasher = Sha256::new();
    let mut buf = vec![0u8; 64 * 1024];
    let mut size = 0u64;
    loop {
        let n = file.read(&mut buf).await?;
        if n == 0 {
            break;
        }
        size += n as u64;
        hasher.update(&buf[..n]);
    }
    Ok((size, hex::encode(hasher.finalize())))
}

/// A `.partial` dump, deleted on drop unless [`PartialFile::keep_as`] renamed it.
pub(crate) struct PartialFile {
    path: PathBuf,
    kept: bool,
}

impl PartialFile {
    pub(crate) fn new(path: PathBuf) -> Self {
        PartialFile { path, kept: false }
    }

    pub(crate) fn path(&self) -> &Path {
        &self.path
    }

    /// Makes it private (0600) and renames it to its final name.
    pub(crate) fn keep_as(mut self, file: &Path) -> io::Result<()> {
        std::fs::set_permissions(&self.path, std::fs::Permissions::from_mode(0o600))?;
        std::fs::rename(&self.path, file)?;
        self.kept = true;
        Ok(())
    }
}

impl Drop for PartialFile {
    fn drop(&mut self) {
        if !self.kept {
            let _ = std::fs::remove_file(&self.path);
        }
    }
}
