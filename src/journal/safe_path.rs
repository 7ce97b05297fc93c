//! Opening a journal and its lock so that another user cannot redirect them.
//!
//! Theory of operation: the journal holds approvals and the lock decides who may run, so
//! neither may be a path someone else controls. Their directory must not be writable by
//! other users (o+w, sticky or not: anyone could plant a file or a link under the names
//! deployctl uses) and must belong to the user running deployctl or to root (its owner can
//! replace anything in it). The files themselves are opened with `O_NOFOLLOW`, so a
//! symbolic link is refused rather than followed (the lock is truncated when taken, so a
//! followed link would empty its target), and must be regular files (a FIFO would hang a
//! reader). Each refusal is an [`UnsafePath`] carried in an `io::Error`, so it reaches the
//! operator as a journal I/O error with a hint of its own.

use std::fs::{File, OpenOptions};
use std::io;
use std::os::unix::fs::{MetadataExt, OpenOptionsExt};
use std::path::{Path, PathBuf};

use nix::libc;

/// Why deployctl refuses a journal or lock path.
#[derive(Debug, thiserror::Error)]
pub enum UnsafePath {
    /// The file is a symbolic link.
    #[error("`{0}` is a symbolic link; deployctl does not follow links for its journal and lock")]
    Symlink(PathBuf),
    /// The file is a directory, a FIFO, a device...
    #[error("`{0}` is not a regular file")]
    NotAFile(PathBuf),
    /// Other users may create, replace or remove entries of the directory.
    #[error(
        "its directory `{dir}` is writable by other users (mode {mode:04o}): they could swap the journal or its lock"
    )]
    SharedDirectory {
        /// The directory.
        dir: PathBuf,
        /// Its permission bits.
        mode: u32,
    },
    /// The directory belongs to another user, who can replace anything in it.
    #[error("its directory `{dir}` belongs to uid {owner}, not to you (uid {me}) or root")]
    ForeignDirectory {
        /// The directory.
        dir: PathBuf,
        /// Its owner.
        owner: u32,
        /// The effective uid of deployctl.
        me: u32,
    },
}

impl UnsafePath {
    /// What the operator can do about it.
    pub fn hint(&self) -> String {
        match self {
            UnsafePath::Symlink(path) => format!(
                "remove the link (`rm {}`), or point `--journal` at the real file",
                path.display()
            ),
            UnsafePath::NotAFile(path) => format!("move `{}` aside; deployctl creates the file itself", path.display()),
            UnsafePath::SharedDirectory { dir, .. } => format!(
                "`chmod o-w {}`, or keep the journal in a directory of your own (`--journal PATH`); a team shares a journal through `--journal postgres://...`",
                dir.display()
            ),
            UnsafePath::ForeignDirectory { .. } => {
                "keep the journal in a directory you own (`--journal PATH`); a team shares a journal through `--journal postgres://...`".into()
            }
        }
    }

    fn into_io(self) -> io::Error {
        io::Error::other(self)
    }
}

/// The refusal carried by an I/O error, if it is one.
pub fn unsafe_path(error: &io::Error) -> Option<&UnsafePath> {
    error.get_ref().and_then(|e| e.downcast_ref::<UnsafePath>())
}

/// Whether a file may be created in `dir` (the directory of a journal or lock).
pub fn check_dir(dir: &Path) -> io::Result<()> {
    let meta = std::fs::metadata(dir)?;
    let mode = meta.mode() & 0o7777;
    if mode & 0o002 != 0 {
        return Err(UnsafePath::SharedDirectory {
            dir: dir.to_path_buf(),
            mode,
        }
        .into_io());
    }
    let me = nix::unistd::geteuid().as_raw();
    if meta.uid() != me && meta.uid() != 0 {
        return Err(UnsafePath::ForeignDirectory {
            dir: dir.to_path_buf(),
            owner: meta.uid(),
            me,
        }
        .into_io());
    }
    Ok(())
}

/// The directory a path's file lives in (`.` for a bare file name).
pub fn parent(path: &Path) -> &Path {
    path.parent()
        .filter(|d| !d.as_os_str().is_empty())
        .unwrap_or(Path::new("."))
}

/// Opens `path` with `options` plus `O_NOFOLLOW` (and `O_NONBLOCK`, so a FIFO cannot hang
/// the open), then insists on a regular file.
pub fn open(path: &Path, options: &mut OpenOptions) -> io::Result<File> {
    let file = options
        .custom_flags(libc::O_NOFOLLOW | libc::O_NONBLOCK)
        .open(path)
        .map_err(|e| match e.raw_os_error() {
            Some(libc::ELOOP) => UnsafePath::Symlink(path.to_path_buf()).into_io(),
            _ => e,
        })?;
    if !file.metadata()?.is_file() {
        return Err(UnsafePath::NotAFile(path.to_path_buf()).into_io());
    }
    Ok(file)
}

/// Whether `path` still names the very file `file` has open (not removed, not replaced).
pub fn still_names(path: &Path, file: &File) -> io::Result<bool> {
    let held = file.metadata()?;
    match std::fs::symlink_metadata(path) {
        Ok(now) => Ok(now.dev() == held.dev() && now.ino() == held.ino()),
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(false),
        Err(e) => Err(e),
    }
}

#[cfg(test)]
mod tests {
    use std::os::unix::fs::PermissionsExt;

    use super::*;

    #[test]
    fn a_link_is_refused_and_its_target_untouched() {
        let dir = tempfile::tempdir().expect("tempdir");
        let target = dir.path().join("precious");
        std::fs::write(&target, "keep me").expect("write");
        let link = dir.path().join("j.jsonl.lock");
        std::os::unix::fs::symlink(&target, &link).expect("symlink");
        let err = open(&link, OpenOptions::new().read(true).write(true).create(true)).expect_err("refused");
        assert!(matches!(unsafe_path(&err), Some(UnsafePath::Symlink(_))), "{err}");
        assert_eq!(std::fs::read_to_string(&target).expect("read"), "keep me");
    }

    #[test]
    fn a_world_writable_directory_is_refused() {
        let dir = tempfile::tempdir().expect("tempdir");
        assert!(check_dir(dir.path()).is_ok());
        std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o1777)).expect("chmod");
        let err = check_dir(dir.path()).expect_err("refused");
        assert!(err.to_string().contains("mode 1777"), "{err}");
    }

    #[test]
    fn a_removed_or_replaced_file_is_noticed() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("f");
        let file = open(&path, OpenOptions::new().read(true).write(true).create(true)).expect("open");
        assert!(still_names(&path, &file).expect("stat"));
        std::fs::remove_file(&path).expect("rm");
        assert!(!still_names(&path, &file).expect("stat"));
        std::fs::write(&path, "").expect("recreate");
        assert!(!still_names(&path, &file).expect("stat"));
    }
}
