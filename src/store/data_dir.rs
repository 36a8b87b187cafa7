//! The data directory: its location, layout and the lock that keeps a second
//! server process out.
//!
//! Layout: `index.db` (SQLite, WAL mode), `graphs/<collection>/` (saved HNSW
//! graphs) and `lock` (held exclusively while a server runs).

use std::fs::{self, File, TryLockError};
use std::path::{Path, PathBuf};

/// Reasons a data directory cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum DataDirError {
    #[error("no data directory given and the platform has no default one; pass --data-dir")]
    NoDefault,
    #[error(
        "cannot create data directory {path}: {source}; \
         check that the path is a writable directory or pass another --data-dir"
    )]
    Create {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error(
        "data directory {path} is in use by another mcp-code-index process; \
         stop that process or pass a different --data-dir"
    )]
    InUse { path: PathBuf },
    #[error(
        "cannot lock data directory {path}: {source}; \
         make the directory writable or pass another --data-dir"
    )]
    Lock {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
}

/// An opened data directory. The lock is held until this value is dropped.
#[derive(Debug)]
pub struct DataDir {
    root: PathBuf,
    _lock: File,
}

impl DataDir {
    /// Returns the platform's default location, e.g.
    /// `~/.local/share/mcp-code-index` on Linux.
    pub fn default_path() -> Option<PathBuf> {
        directories::ProjectDirs::from("", "", "mcp-code-index")
            .map(|dirs| dirs.data_dir().to_path_buf())
    }

    /// Creates the directory if needed and takes its lock. Fails at once if
    /// another process holds the lock.
    pub fn open(root: Option<&Path>) -> Result<Self, DataDirError> {
        let root = match root {
            Some(path) => path.to_path_buf(),
            None => Self::default_path().ok_or(DataDirError::NoDefault)?,
        };
        let create = |path: &Path| {
            fs::create_dir_all(path).map_err(|source| DataDirError::Create {
                path: path.to_path_buf(),
                source,
            })
        };
        create(&root)?;
        create(&root.join("graphs"))?;

        let lock_path = root.join("lock");
        let lock = File::options()
            .create(true)
            .truncate(false)
            .write(true)
            .open(&lock_path)
            .map_err(|source| DataDirError::Lock {
                path: lock_path.clone(),
                source,
            })?;
        match lock.try_lock() {
            Ok(()) => {}
            Err(TryLockError::WouldBlock) => return Err(DataDirError::InUse { path: root }),
            Err(TryLockError::Error(source)) => {
                return Err(DataDirError::Lock {
                    path: lock_path,
                    source,
                });
            }
        }
        Ok(Self { root, _lock: lock })
    }

    pub fn root(&self) -> &Path {
        &self.root
    }

    pub fn database_path(&self) -> PathBuf {
        self.root.join("index.db")
    }

    pub fn graphs_dir(&self) -> PathBuf {
        self.root.join("graphs")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn second_open_fails_while_locked() {
        let dir = tempfile::tempdir().unwrap();
        let first = DataDir::open(Some(dir.path())).unwrap();
        let error = DataDir::open(Some(dir.path())).unwrap_err();
        assert!(matches!(error, DataDirError::InUse { .. }), "{error}");
        drop(first);
        assert!(DataDir::open(Some(dir.path())).is_ok());
    }
}
