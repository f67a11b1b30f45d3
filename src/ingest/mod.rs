//! Ingest: reads plate-reader exports into [`RawPlate`]s. Owns every file format quirk;
//! later stages never see a file. Formats are detected from content (see [`detect`]).
//!
//! Does not know about layouts, targets or compounds: a plate here is a grid of numbers
//! plus what the instrument said about it.
//!
//! Text decoding: files are read as UTF-8 (a leading byte-order mark is dropped). Files that
//! are not valid UTF-8 are decoded as Latin-1 (Windows workstations write protocol names with
//! `µ` that way), and every plate from such a file carries a warning saying so. Nothing is
//! ever replaced lossily. Files larger than [`MAX_FILE_BYTES`] are refused before reading.
//! XLSX workbooks are recognised by their ZIP magic bytes (or a `.xlsx` extension) before any
//! decoding. Plate map CSVs (what each well holds) are read by [`plate_map::read_plate_map`].
//!
//! Counts are checked the same way by every reader: a count must be a finite number, not
//! negative and not above [`MAX_COUNT`]; the error names the file, line and well. A plate with
//! no counted well is kept with a warning.

use std::path::{Path, PathBuf};

use crate::types::Geometry;

pub mod delimited;
pub mod hidex;
pub mod microbeta;
pub mod plate_map;
pub mod table;
pub mod xlsx;

pub use plate_map::{PlateMap, PlateMapEntry, parse_plate_map, read_plate_map};
pub use table::ColumnMap;

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
    /// Detected format ("microbeta", "long-csv", "grid-csv", "count-table", "hidex", "xlsx").
    pub format: &'static str,
    /// Which column/label the values are (e.g. "CCPM1"; "cpm" for CSV).
    pub signal: String,
    /// Counting protocol name, when the file gives one.
    pub protocol: Option<String>,
    /// Counting date/time as printed by the instrument.
    pub counted_at: Option<String>,
    /// Instrument warnings kept verbatim (e.g. "DETECTORS NOT NORMALIZED"), and reader
    /// warnings (no counted well, varying counting times, Latin-1 decoding).
    pub warnings: Vec<String>,
    /// Counting time per well in minutes, when the export has a time column (count tables,
    /// Hidex). When wells differ, the mean (with a warning).
    pub counting_minutes: Option<f64>,
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
    /// TopCount / MicroBeta2 style count table: optional `key,value` preamble, then a header
    /// and one line per well (plate/barcode, well, CPM, optionally DPM and time), read through
    /// [`ReadOptions::columns`].
    CountTable,
    /// Hidex 300 SL style `key;value` sample blocks.
    Hidex,
    /// XLSX workbook: a plate grid per sheet, or a long table on a sheet.
    Xlsx,
}

impl Format {
    /// Every format, in detection order.
    pub const ALL: [Format; 6] = [
        Format::MicroBeta,
        Format::Hidex,
        Format::GridCsv,
        Format::CountTable,
        Format::LongCsv,
        Format::Xlsx,
    ];

    /// The name used in configs (`microbeta`, `long_csv`, `grid_csv`, `count_table`, `hidex`,
    /// `xlsx`).
    #[must_use]
    pub fn name(self) -> &'static str {
        match self {
            Format::MicroBeta => "microbeta",
            Format::LongCsv => "long_csv",
            Format::GridCsv => "grid_csv",
            Format::CountTable => "count_table",
            Format::Hidex => "hidex",
            Format::Xlsx => "xlsx",
        }
    }

    /// The format with config name `name` (see [`Format::name`]).
    #[must_use]
    pub fn from_name(name: &str) -> Option<Format> {
        Format::ALL.into_iter().find(|f| f.name() == name)
    }
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

/// Largest file radbind reads (512 MiB); bigger files are refused before being read.
pub const MAX_FILE_BYTES: u64 = 512 * 1024 * 1024;

/// Largest count accepted (1e9 CPM); larger values are reported as errors (a unit or export
/// mistake, not a radioligand binding count).
pub const MAX_COUNT: f64 = 1e9;

/// Choices the user can make when reading a file. `Default` = detect everything.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ReadOptions {
    /// Force a format instead of detecting it from the content.
    pub format: Option<Format>,
    /// Which label/column is the signal (MicroBeta `CCPM2`, a CSV value column name).
    /// `None` = the first CPM-like column.
    pub signal: Option<String>,
    /// Column map for count tables (TopCount/MicroBeta2 exports, XLSX table sheets). Giving
    /// one makes text files read as [`Format::CountTable`] unless `format` says otherwise.
    /// `None` = the usual header names.
    pub columns: Option<ColumnMap>,
}

/// Detects the format of a file's text from its content.
///
/// MicroBeta when the text has a `RUN INFORMATION:` block, or a `PLATES:`/`COLUMNS:` block
/// together with `Cassette information`; Hidex when it has `Sample;`, `Position;` and `CPM;`
/// lines; a plate grid when the first non-empty line (or the one after a plate-name line) is
/// the run of column numbers 1..N; a count table when a header with plate, well and CPM
/// columns follows a preamble or has a time or DPM column; a long table when a line has at
/// least three delimited columns with a well position (`A01`) in the second; otherwise `None`.
/// (XLSX is detected from bytes: [`detect_bytes`].)
#[must_use]
pub fn detect(text: &str) -> Option<Format> {
    let text = strip_bom(text);
    if microbeta::looks_like(text) {
        Some(Format::MicroBeta)
    } else if hidex::looks_like(text) {
        Some(Format::Hidex)
    } else if delimited::looks_like_grid(text) {
        Some(Format::GridCsv)
    } else if table::looks_like(text) {
        Some(Format::CountTable)
    } else if delimited::looks_like_long(text) {
        Some(Format::LongCsv)
    } else {
        None
    }
}

/// Detects the format of a file's bytes: XLSX by its ZIP magic (`PK\x03\x04`), otherwise
/// [`detect`] on the decoded text.
#[must_use]
pub fn detect_bytes(bytes: &[u8]) -> Option<Format> {
    if xlsx::looks_like(bytes) { Some(Format::Xlsx) } else { detect(&decode(bytes).0) }
}

/// Reads every plate in one file (format detected from content, default signal).
///
/// # Errors
/// [`IngestError`] naming the file and line when the file cannot be read or parsed.
pub fn read_file(path: &Path) -> Result<Vec<RawPlate>, IngestError> {
    read_file_with(path, &ReadOptions::default())
}

/// Reads every plate in one file with the user's choices (forced format, signal column).
///
/// # Errors
/// [`IngestError::Io`] when the file cannot be read or is larger than [`MAX_FILE_BYTES`],
/// [`IngestError::UnknownFormat`] when it is empty or not recognised, and
/// [`IngestError::Parse`] naming the line when its content breaks the format.
pub fn read_file_with(path: &Path, opts: &ReadOptions) -> Result<Vec<RawPlate>, IngestError> {
    let io_err = |source| IngestError::Io { path: path.to_path_buf(), source };
    let size = std::fs::metadata(path).map_err(io_err)?.len();
    if size > MAX_FILE_BYTES {
        return Err(io_err(std::io::Error::other(format!(
            "file is {size} bytes, more than the {MAX_FILE_BYTES}-byte limit for a plate export; \
             split it into smaller files"
        ))));
    }
    let bytes = std::fs::read(path).map_err(io_err)?;
    read_bytes(path, &bytes, opts)
}

/// Parses a file's bytes already in memory (XLSX or text); `path` is used in messages, as
/// [`RawPlate::source`] and, for a `.xlsx` extension, in detection.
///
/// # Errors
/// As [`read_file_with`], without the I/O errors.
pub fn read_bytes(
    path: &Path,
    bytes: &[u8],
    opts: &ReadOptions,
) -> Result<Vec<RawPlate>, IngestError> {
    let xlsx_ext = path.extension().is_some_and(|e| e.eq_ignore_ascii_case("xlsx"));
    let is_xlsx = match opts.format {
        Some(f) => f == Format::Xlsx,
        None => xlsx::looks_like(bytes) || xlsx_ext,
    };
    if is_xlsx {
        let mut plates = xlsx::parse(path, bytes, opts)?;
        warn_empty(&mut plates);
        return Ok(plates);
    }
    let (text, latin1) = decode(bytes);
    let mut plates = read_text(path, &text, opts)?;
    if latin1 {
        for p in &mut plates {
            p.meta.warnings.push("file is not UTF-8; decoded as Latin-1".to_string());
        }
    }
    Ok(plates)
}

/// Adds a warning to every plate without a single counted well.
fn warn_empty(plates: &mut [RawPlate]) {
    for p in plates {
        if p.values.iter().all(Option::is_none) {
            p.meta.warnings.push("no well of this plate has a count (empty plate)".to_string());
        }
    }
}

/// Parses text already in memory; `path` is only used in messages and [`RawPlate::source`].
///
/// # Errors
/// As [`read_file_with`], without the I/O errors.
pub fn read_text(
    path: &Path,
    text: &str,
    opts: &ReadOptions,
) -> Result<Vec<RawPlate>, IngestError> {
    let text = strip_bom(text);
    if text.trim().is_empty() {
        return Err(IngestError::UnknownFormat {
            path: path.to_path_buf(),
            why: "the file is empty; export the plate again".to_string(),
        });
    }
    let forced = opts.format.or_else(|| opts.columns.as_ref().map(|_| Format::CountTable));
    let format = match forced.or_else(|| detect(text)) {
        Some(f) => f,
        None => {
            return Err(IngestError::UnknownFormat {
                path: path.to_path_buf(),
                why: "expected a MicroBeta result file (RUN INFORMATION:), a Hidex export \
                      (Sample;/Position;/CPM; blocks), a plate grid (header 1..12), a count \
                      table (Plate,Well,CPM header) or a plate,well,value table; pass the \
                      format (and column map) explicitly if it is one of these"
                    .to_string(),
            });
        }
    };
    let signal = opts.signal.as_deref();
    let mut plates = match format {
        Format::MicroBeta => microbeta::parse(path, text, signal),
        Format::LongCsv => delimited::parse_long(path, text, signal),
        Format::GridCsv => delimited::parse_grid(path, text),
        Format::CountTable => {
            let map = opts.columns.clone().unwrap_or_default();
            table::parse(path, text, &map, signal)
        }
        Format::Hidex => hidex::parse(path, text, signal),
        Format::Xlsx => Err(IngestError::UnknownFormat {
            path: path.to_path_buf(),
            why: "XLSX was forced but the content is text; an XLSX workbook starts with the \
                  ZIP bytes PK"
                .to_string(),
        }),
    }?;
    warn_empty(&mut plates);
    Ok(plates)
}

/// Decodes bytes as UTF-8 (BOM dropped), falling back to Latin-1. Returns (text, used Latin-1).
pub(crate) fn decode(bytes: &[u8]) -> (String, bool) {
    let bytes = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes);
    match std::str::from_utf8(bytes) {
        Ok(s) => (s.to_string(), false),
        Err(_) => (bytes.iter().map(|&b| char::from(b)).collect(), true),
    }
}

/// The text without a leading UTF-8 byte-order mark.
fn strip_bom(text: &str) -> &str {
    text.strip_prefix('\u{feff}').unwrap_or(text)
}

/// A [`IngestError::Parse`] for `path` at 1-based `line`.
pub(crate) fn parse_error(path: &Path, line: usize, message: impl Into<String>) -> IngestError {
    IngestError::Parse { path: path.to_path_buf(), line, message: message.into() }
}

/// Parses a count (`1976`, `12.5`, `1e3`); `None` when it is not a finite number.
pub(crate) fn parse_number(s: &str) -> Option<f64> {
    s.trim().parse::<f64>().ok().filter(|v| v.is_finite())
}
