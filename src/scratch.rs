//! A fresh folder for one test under the system temp folder, removed when the test ends, failing
//! or not: for the store's unit tests and the integration tests (tests/support), which need
//! files on disk.

use std::path::{Path, PathBuf};

pub struct Scratch(PathBuf);

impl Scratch {
    /// `darkchat-<name>-<pid>`, emptied if an earlier run left it.
    pub fn new(name: &str) -> Self {
        let dir = std::env::temp_dir().join(format!("darkchat-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        Scratch(dir)
    }

    pub fn join(&self, path: impl AsRef<Path>) -> PathBuf {
        self.0.join(path)
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}
