//! The golden-file runner shared by the compiler's and the optimizer's golden tests.
//!
//! [`yaml_files`] lists the plans of a golden directory in a stable (sorted) order, and
//! [`golden`] compares what a test produced with the expected file beside the plan, returning a
//! mismatch message instead of panicking so that one run reports every differing file. With the
//! `BLESS` environment variable set, [`golden`] rewrites the expected file instead, to be
//! reviewed as a diff after an intended change. Expected files are compared and written byte for
//! byte, with no normalization.

#![allow(dead_code)]

use std::path::{Path, PathBuf};

/// The `.yaml` files directly in `directory`, sorted by path.
pub fn yaml_files(directory: &str) -> Vec<PathBuf> {
    let mut plans: Vec<PathBuf> = std::fs::read_dir(directory)
        .unwrap_or_else(|_| panic!("{directory} exists"))
        .filter_map(|entry| entry.ok().map(|e| e.path()))
        .filter(|path| path.extension().is_some_and(|e| e == "yaml"))
        .collect();
    plans.sort();
    plans
}

/// Compares `actual` with the golden file (or rewrites it under `BLESS=1`); returns a mismatch
/// message.
pub fn golden(path: &Path, actual: &str) -> Option<String> {
    if std::env::var_os("BLESS").is_some() {
        std::fs::write(path, actual).expect("golden file is writable");
        return None;
    }
    let expected = std::fs::read_to_string(path).unwrap_or_default();
    (expected != actual).then(|| {
        format!(
            "{} differs (BLESS=1 to update):\n--- expected\n{expected}\n--- actual\n{actual}",
            path.display()
        )
    })
}
