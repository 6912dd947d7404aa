//! The data directory's lock: one node process per data directory.
//!
//! `<data>/LOCK` is locked (`flock`, exclusive, non-blocking) before anything in the
//! directory is touched, and holds the owner's process id. A second node on the same
//! directory stops at once with a message that says the directory is in use and by
//! which process, instead of sled's `could not acquire lock … WouldBlock` (and before it
//! could remove files the running node is writing). The kernel releases the lock when
//! the process exits, however it exits, so a crash never leaves a stale lock.

use std::fs::File;
use std::io::{Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};

use nix::errno::Errno;
use nix::fcntl::{Flock, FlockArg};

/// The lock file's name inside the data directory.
pub const LOCK_FILE: &str = "LOCK";
/// The most bytes of the lock file read back for the owner's pid.
const LOCK_FILE_BYTES_MAX: u64 = 64;

/// Why the data directory could not be locked.
#[derive(Debug, thiserror::Error)]
pub enum DirLockError {
    /// Another process holds the lock: a node is running on this directory.
    #[error("data directory {dir} is in use by another jeon process{}; stop it first, or give this node its own --data directory", owner.map(|p| format!(" (pid {p})")).unwrap_or_default())]
    InUse {
        /// The directory.
        dir: PathBuf,
        /// The process that holds it, as it wrote into the lock file.
        owner: Option<u32>,
    },
    /// The lock file could not be opened or locked.
    #[error("cannot lock data directory {dir}: {source}")]
    Io {
        /// The directory.
        dir: PathBuf,
        /// What the operating system said.
        source: std::io::Error,
    },
}

/// The held lock; released when dropped (or when the process exits).
#[derive(Debug)]
pub struct DirLock {
    _file: Flock<File>,
}

impl DirLock {
    /// Locks `dir` (which must exist) for this process, writing its pid into the lock file.
    pub fn acquire(dir: &Path) -> Result<DirLock, DirLockError> {
        let io = |source| DirLockError::Io {
            dir: dir.to_owned(),
            source,
        };
        let path = dir.join(LOCK_FILE);
        let file = std::fs::OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .open(&path)
            .map_err(io)?;
        let mut locked = match Flock::lock(file, FlockArg::LockExclusiveNonblock) {
            Ok(locked) => locked,
            Err((mut file, Errno::EWOULDBLOCK)) => {
                return Err(DirLockError::InUse {
                    dir: dir.to_owned(),
                    owner: owner(&mut file),
                })
            }
            Err((_, errno)) => return Err(io(std::io::Error::from(errno))),
        };
        let pid = format!("{}\n", std::process::id());
        locked
            .set_len(0)
            .and_then(|()| locked.seek(SeekFrom::Start(0)))
            .and_then(|_| locked.write_all(pid.as_bytes()))
            .map_err(io)?;
        Ok(DirLock { _file: locked })
    }
}

/// The pid the holder wrote, if it reads as one.
fn owner(file: &mut File) -> Option<u32> {
    let mut text = String::new();
    file.take(LOCK_FILE_BYTES_MAX)
        .read_to_string(&mut text)
        .ok()?;
    text.trim().parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_second_lock_on_a_directory_in_use_names_the_owner_and_a_dropped_lock_frees_it() {
        let dir = tempfile::tempdir().expect("tempdir");
        let held = DirLock::acquire(dir.path()).expect("the first lock");
        // flock locks belong to the open file description: a second open in this
        // process conflicts just as another process's would.
        let err = DirLock::acquire(dir.path()).expect_err("in use");
        assert!(
            matches!(err, DirLockError::InUse { owner: Some(p), .. } if p == std::process::id()),
            "{err}"
        );
        assert!(
            err.to_string()
                .contains("is in use by another jeon process"),
            "{err}"
        );
        drop(held);
        DirLock::acquire(dir.path()).expect("free again");
    }
}
