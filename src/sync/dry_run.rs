//! The private copy of the ledger a dry run works on. Copies live in one directory of the
//! user's own (mode 0700, under the temp dir), each file mode 0600 and named after the
//! process that made it, so a copy left behind by a killed process is found and removed
//! by the next dry run instead of lying in the temp dir.

use std::fs;
use std::io;
use std::path::{Path, PathBuf};

use crate::ledger::{Ledger, LedgerError};
use crate::process::ProcessId;

/// A dry run's copy of the ledger, removed (with its WAL files) when dropped.
pub struct DryRunCopy {
    path: PathBuf,
}

impl DryRunCopy {
    /// Copies `ledger` into the private directory under `base` (the temp dir in use),
    /// after removing the copies of processes that are gone.
    pub(crate) async fn make(ledger: &Ledger, base: &Path) -> Result<DryRunCopy, LedgerError> {
        let dir = private_dir(base).map_err(|e| io_error(base, e))?;
        sweep(&dir);
        let me = ProcessId::current();
        let path = dir.join(format!(
            "{}.{}.db",
            me.to_string().replace('/', "-"),
            uuid::Uuid::now_v7()
        ));
        // `VACUUM INTO` writes into an empty file as it finds it: created here, 0600.
        create_private_file(&path).map_err(|e| io_error(&path, e))?;
        let copy = DryRunCopy { path };
        ledger.copy_to(&copy.path).await?;
        Ok(copy)
    }

    pub(crate) fn path(&self) -> &Path {
        &self.path
    }
}

impl Drop for DryRunCopy {
    fn drop(&mut self) {
        remove_with_side_files(&self.path);
    }
}

/// The directory holding every dry-run copy of this user: created 0700, and refused when
/// it is a symlink or someone else's.
fn private_dir(base: &Path) -> io::Result<PathBuf> {
    #[cfg(unix)]
    let name = format!("timeweave-dry-run-{}", user_id());
    #[cfg(not(unix))]
    let name = "timeweave-dry-run".to_owned();
    let dir = base.join(name);
    match fs::create_dir(&dir) {
        Ok(()) => {}
        Err(e) if e.kind() == io::ErrorKind::AlreadyExists => {}
        Err(e) => return Err(e),
    }
    let meta = fs::symlink_metadata(&dir)?;
    if !meta.is_dir() {
        return Err(io::Error::other(format!(
            "{} is not a directory: remove it",
            dir.display()
        )));
    }
    #[cfg(unix)]
    {
        use std::os::unix::fs::{MetadataExt, PermissionsExt};
        if meta.uid() != user_id() {
            return Err(io::Error::other(format!(
                "{} belongs to another user: remove it",
                dir.display()
            )));
        }
        fs::set_permissions(&dir, fs::Permissions::from_mode(0o700))?;
    }
    Ok(dir)
}

/// This process's real user id.
#[cfg(unix)]
#[allow(unsafe_code)]
fn user_id() -> u32 {
    // SAFETY: getuid has no preconditions and cannot fail.
    unsafe { libc::getuid() }
}

fn create_private_file(path: &Path) -> io::Result<()> {
    let mut options = fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    options.open(path).map(drop)
}

/// Removes the copies whose process is no longer running.
fn sweep(dir: &Path) {
    let Ok(entries) = fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        let path = entry.path();
        let Some(owner) = owner_of(&path) else {
            continue;
        };
        if !owner.is_alive() && path.extension().is_some_and(|e| e == "db") {
            tracing::info!(path = %path.display(), "removing the ledger copy of a dry run that did not finish");
            remove_with_side_files(&path);
        }
    }
}

/// The process a copy's file name names (`PID-STARTED.UUID.db`).
fn owner_of(path: &Path) -> Option<ProcessId> {
    let name = path.file_name()?.to_str()?;
    let (owner, _) = name.split_once('.')?;
    ProcessId::parse(&owner.replacen('-', "/", 1))
}

fn remove_with_side_files(path: &Path) {
    let _ = fs::remove_file(path);
    for suffix in ["-wal", "-shm", "-journal"] {
        let mut side = path.as_os_str().to_owned();
        side.push(suffix);
        let _ = fs::remove_file(PathBuf::from(side));
    }
}

fn io_error(path: &Path, e: io::Error) -> LedgerError {
    LedgerError::Open {
        path: path.to_owned(),
        source: sqlx::Error::Io(e),
    }
}

#[cfg(test)]
mod tests {
    use std::os::unix::fs::PermissionsExt;

    use super::*;
    use crate::process::finished_process;

    fn mode(path: &Path) -> u32 {
        fs::metadata(path).unwrap().permissions().mode() & 0o777
    }

    #[tokio::test]
    async fn the_copy_is_private_and_removed_after() {
        let base = tempfile::tempdir().unwrap();
        let ledger = Ledger::open(&base.path().join("ledger.db")).await.unwrap();
        let copy = DryRunCopy::make(&ledger, base.path()).await.unwrap();
        let path = copy.path().to_owned();
        assert_eq!(mode(&path), 0o600);
        assert_eq!(mode(path.parent().unwrap()), 0o700);
        assert!(Ledger::open(&path).await.is_ok());
        drop(copy);
        assert!(!path.exists());
    }

    #[tokio::test]
    async fn a_copy_left_by_a_killed_process_is_removed_by_the_next_run() {
        let base = tempfile::tempdir().unwrap();
        let ledger = Ledger::open(&base.path().join("ledger.db")).await.unwrap();
        let first = DryRunCopy::make(&ledger, base.path()).await.unwrap();
        let dir = first.path().parent().unwrap().to_owned();
        let dead = finished_process().to_string().replace('/', "-");
        let left = dir.join(format!("{dead}.0190.db"));
        let left_wal = dir.join(format!("{dead}.0190.db-wal"));
        fs::write(&left, b"copy").unwrap();
        fs::write(&left_wal, b"wal").unwrap();
        let second = DryRunCopy::make(&ledger, base.path()).await.unwrap();
        assert!(!left.exists() && !left_wal.exists());
        // A copy of a process still running (this one) is left alone.
        assert!(first.path().exists() && second.path().exists());
    }

    #[test]
    fn a_symlink_is_not_taken_for_the_private_directory() {
        let base = tempfile::tempdir().unwrap();
        let elsewhere = tempfile::tempdir().unwrap();
        let name = format!("timeweave-dry-run-{}", user_id());
        std::os::unix::fs::symlink(elsewhere.path(), base.path().join(name)).unwrap();
        assert!(private_dir(base.path()).is_err());
    }
}
