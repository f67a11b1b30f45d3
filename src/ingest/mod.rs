//! Ingest: reads plate-reader exports into [`RawPlate`]s. Owns every file format quirk;
//! later stages never see a file. Formats are detected from content (see [`detect`]).
//!
//! Does not know about layouts, targets or compounds: a plate here is a grid of numbers
//! plus what the instrument said about it.

use std::path::{Path, PathBuf};

use crate::types::Geometry;

pub mod delimited;
pub mod microbeta;

/// One plate (or cassette) as the instrument wrote it.
#[derive(Debug, Clone, PartialEq)]
pub struct RawPlate {
    /// The file the plate came from.
    pub source: PathBuf,
    /// 1-based position of the plate within its file.
    pub index_in_file: usize,
    /// The plate's own label in the file ("Plate 3"), or its id/barcode column in CSV files.
    pub label: String,
    /// Rows x columns.
    pub geometry: Geometry,
    /// Signal per well, row-major (`geometry.index(pos)`); `None` = not counted (`-` or absent).
    pub values: Vec<Option<f64>>,
    /// What the instrument reported besides the counts.
    pub meta: PlateMeta,
}

/// Instrument metadata kept with a plate and shown in QC.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct PlateMeta {
    /// Detected format ("microbeta", "long-csv", "grid-csv").
    pub format: &'static str,
    /// Which column/label the values are (e.g. "CCPM1"; "cpm" for CSV).
    pub signal: String,
    /// Counting protocol name, when the file gives one.
    pub protocol: Option<String>,
    /// Counting date/time as printed by the instrument.
    pub counted_at: Option<String>,
    /// Instrument warnings kept verbatim (e.g. "DETECTORS NOT NORMALIZED").
    pub warnings: Vec<String>,
}

/// Formats radbind can read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// PerkinElmer/Wallac MicroBeta workstation result file.
    MicroBeta,
    /// Long table: plate, well, value (one line per well).
    LongCsv,
    /// A plate-grid matrix: header of column numbers, one line per row letter.
    GridCsv,
}

/// A file that could not be read. The message names the file, the line and what was expected.
#[derive(Debug, thiserror::Error)]
pub enum IngestError {
    /// The file could not be opened or read.
    #[error("cannot read {path}: {source}")]
    Io {
        /// File.
        path: PathBuf,
        /// Cause.
        source: std::io::Error,
    },
    /// The file is not in a format radbind recognises.
    #[error("{path}: not a recognised plate-reader export ({why})")]
    UnknownFormat {
        /// File.
        path: PathBuf,
        /// What was seen.
        why: String,
    },
    /// The content does not follow the format.
    #[error("{path}:{line}: {message}")]
    Parse {
        /// File.
        path: PathBuf,
        /// 1-based line number.
        line: usize,
        /// What was wrong and what was expected.
        message: String,
    },
}

/// Detects the format of a file's text from its content.
pub fn detect(text: &str) -> Option<Format> {
    todo!("ingest helper: {text}")
}

/// How to read a file: force a format, choose the signal column.
#[derive(Debug, Clone, Default)]
pub struct ReadOptions {
    /// Format; `None` = detect from content.
    pub format: Option<Format>,
    /// Signal column (e.g. `CCPM1`); `None` = the first CPM column.
    pub signal: Option<String>,
}

/// Reads every plate in one file with options.
///
/// # Errors
/// As [`read_file`].
pub fn read_file_with(path: &Path, opts: &ReadOptions) -> Result<Vec<RawPlate>, IngestError> {
    todo!("ingest helper: {} {opts:?}", path.display())
}

/// Reads every plate in one file (format detected from content).
///
/// # Errors
/// [`IngestError`] naming the file and line when the file cannot be read or parsed.
pub fn read_file(path: &Path) -> Result<Vec<RawPlate>, IngestError> {
    todo!("ingest helper: {}", path.display())
}
