//! Helpers shared by the integration tests.
#![allow(dead_code)]

use std::path::PathBuf;

/// The project's `../shared` folder (reference data and real exports), if present.
///
/// Tests that need it call this and return early when it is `None`, printing a SKIP line.
/// With `RADBIND_REQUIRE_SHARED=1` (set by `.ci/run`), a missing folder fails the test instead,
/// so CI can never pass by skipping.
pub fn shared_dir() -> Option<PathBuf> {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../shared");
    if dir.join("reference-data").is_dir() {
        return Some(dir);
    }
    assert!(
        std::env::var_os("RADBIND_REQUIRE_SHARED").is_none(),
        "RADBIND_REQUIRE_SHARED is set but {} is missing",
        dir.display()
    );
    eprintln!("SKIP: {} not found; test needs ../shared", dir.display());
    None
}
