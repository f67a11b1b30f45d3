//! Delimited text exports (to be written).

use std::path::Path;

use super::{IngestError, RawPlate, parse_error};

/// True when the first non-empty line is a run of column numbers 1..N.
#[must_use]
pub fn looks_like_grid(_text: &str) -> bool {
    false
}

/// True when a line has at least three delimited columns with a well in the second.
#[must_use]
pub fn looks_like_long(_text: &str) -> bool {
    false
}

/// Parses a long table.
///
/// # Errors
/// Not written yet.
pub fn parse_long(
    path: &Path,
    _text: &str,
    _signal: Option<&str>,
) -> Result<Vec<RawPlate>, IngestError> {
    Err(parse_error(path, 1, "not written yet"))
}

/// Parses plate grids.
///
/// # Errors
/// Not written yet.
pub fn parse_grid(path: &Path, _text: &str) -> Result<Vec<RawPlate>, IngestError> {
    Err(parse_error(path, 1, "not written yet"))
}
