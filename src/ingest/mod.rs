//! Ingest: reads plate-reader exports into [`RawPlate`]s. Owns every file format quirk;
//! later stages never see a file. Formats are detected from content (see [`detect`]).
//!
//! Does not know about layouts, targets or compounds: a plate here is a grid of numbers
//! plus what the instrument said about it.
//!
//! Text decoding: files are read as UTF-8 (a leading byte-order mark is dropped). UTF-16 with
//! a byte-order mark (and UTF-16 without one, recognised from its zero bytes) is decoded.
//! Files that are none of these are decoded as Latin-1 (Windows workstations write protocol
//! names with `µ` that way), and every plate from such a file carries a warning saying so.
//! Formats are one table, [`FORMATS`]: each format's config name, detector and reader.
//! Nothing is ever replaced lossily. Line ends may be LF, CRLF or CR alone. Only regular files
//! are read ([`file`]: pipes, devices and folders are refused with what they are, nothing
//! blocks), and files larger than [`MAX_FILE_BYTES`] are refused before reading. XLSX
//! workbooks are recognised by their ZIP magic bytes (or a `.xlsx` extension) before any
//! decoding. Plate map CSVs (what each well holds) are read by [`plate_map::read_plate_map`].
//!
//! Counts are checked the same way by every reader ([`count_cell`]): a count must be a finite
//! number, not negative and not above [`MAX_COUNT`]. A cell that is not is a problem of that
//! well only: the well is left out (not counted) and recorded in [`PlateMeta::bad_counts`] with
//! its line and the reason; the rest of the file is read. Negative counts can be kept instead
//! ([`ReadOptions::keep_negative`]: instruments that subtract background write them). A plate
//! with no counted well is kept with a warning.
//!
//! Text a plate carries from its file (label, protocol, warnings, quoted cells) has its control
//! and text-direction characters written as escapes ([`crate::units::printable`]).
//!
//! A file that breaks part-way (a truncated MicroBeta file or plate grid) still yields its
//! complete plates ([`read_file_partial`]), with the error and, when the file says it, how
//! many plates it holds. A plate block that repeats an earlier one of the same file (same
//! label, or the same counts in every well) ends the file's usable plates there: positions
//! after a copied block cannot be trusted.

use std::path::{Path, PathBuf};

use crate::types::{Geometry, WellPos};

pub mod compound_list;
pub mod conc_table;
pub mod delimited;
pub mod file;
pub mod hidex;
pub mod inputs;
pub mod microbeta;
pub mod plate_map;
pub mod table;
pub mod xlsx;
pub mod xlsx_write;

pub use compound_list::{CompoundList, read_compound_list};
pub use conc_table::TableColumns;
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
    /// Wells whose count cell was not a usable count (they are not counted), in line order.
    pub bad_counts: Vec<BadCount>,
    /// What each well holds, for a plate read from a concentration table (`None` for
    /// plate-reader exports, whose wells the config's layouts describe).
    pub contents: Option<Box<conc_table::TableContents>>,
}

/// A count cell that is not a usable count. The well is left out with this reason; the plate
/// and the file are read on.
#[derive(Debug, Clone, PartialEq)]
pub struct BadCount {
    /// The well, as the instrument reported it.
    pub well: WellPos,
    /// 1-based line of the cell (the row within its sheet for XLSX).
    pub line: usize,
    /// What is wrong, e.g. "`NaN` is not a number; expected a count >= 0, `-` or an empty
    /// cell".
    pub reason: String,
    /// The value when the cell is a negative number (kept with
    /// [`ReadOptions::keep_negative`]).
    pub negative: Option<f64>,
}

/// One count cell as read: a count, not counted, or a bad cell.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Cell {
    /// A usable count, or `None` = not counted (`-` or empty).
    Count(Option<f64>),
    /// Not a usable count: why, and the value when it is a negative number.
    Bad(String, Option<f64>),
}

impl Cell {
    /// The count (bad cells are not counted).
    pub(crate) fn value(&self) -> Option<f64> {
        match self {
            Cell::Count(v) => *v,
            Cell::Bad(..) => None,
        }
    }

    /// The [`BadCount`] of a bad cell at `well`, `line`.
    pub(crate) fn bad(&self, well: WellPos, line: usize) -> Option<BadCount> {
        match self {
            Cell::Count(_) => None,
            Cell::Bad(reason, negative) => {
                Some(BadCount { well, line, reason: reason.clone(), negative: *negative })
            }
        }
    }
}

/// Classifies a count cell, the same way for every reader: empty or `-` = not counted; a
/// finite number from 0 to [`MAX_COUNT`] = a count; anything else is a bad cell with the
/// reason. `number` parses a number in the file's dialect.
pub(crate) fn count_cell(cell: &str, number: impl Fn(&str) -> Option<f64>) -> Cell {
    let raw = cell.trim();
    if raw.is_empty() || raw == "-" {
        return Cell::Count(None);
    }
    // The reason quotes the cell: as text that is safe to show anywhere.
    let cell = crate::units::printable(raw);
    match number(raw) {
        None => Cell::Bad(
            format!("`{cell}` is not a number; expected a count >= 0, `-` or an empty cell"),
            None,
        ),
        Some(v) if v < 0.0 => Cell::Bad(
            format!(
                "count is negative ({cell}); counts are >= 0 (set `negative_counts: keep` to \
                 keep background-subtracted counts)"
            ),
            Some(v),
        ),
        Some(v) if v > MAX_COUNT => Cell::Bad(
            format!(
                "count {cell} is implausibly large (more than {MAX_COUNT:e}); check the export"
            ),
            None,
        ),
        Some(v) => Cell::Count(Some(v)),
    }
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
    /// A concentration table (concentration, response, optional compound/target/replicate/
    /// plate/role columns; no wells), as CSV/TSV text or on an XLSX sheet, read through
    /// [`ReadOptions::table`].
    ConcentrationTable,
}

impl Format {
    /// Every format, in detection order (the order of [`FORMATS`]).
    pub const ALL: [Format; FORMATS.len()] = {
        let mut all = [Format::MicroBeta; FORMATS.len()];
        let mut i = 0;
        while i < FORMATS.len() {
            all[i] = FORMATS[i].format;
            i += 1;
        }
        all
    };

    /// The format's row of [`FORMATS`].
    #[must_use]
    pub fn spec(self) -> &'static FormatSpec {
        FORMATS.iter().find(|s| s.format == self).expect("every format has a row in FORMATS")
    }

    /// The name used in configs (`microbeta`, `long_csv`, `grid_csv`, `count_table`, `hidex`,
    /// `xlsx`, `concentration_table`).
    #[must_use]
    pub fn name(self) -> &'static str {
        self.spec().name
    }

    /// The format with config name `name` (see [`Format::name`]).
    #[must_use]
    pub fn from_name(name: &str) -> Option<Format> {
        FORMATS.iter().find(|s| s.name == name).map(|s| s.format)
    }
}

/// One row of the format table: how a format is named, recognised and read.
#[derive(Debug)]
pub struct FormatSpec {
    /// The format.
    pub format: Format,
    /// Its name in configs (`format: microbeta`).
    pub name: &'static str,
    /// How it is recognised and read.
    kind: Kind,
}

/// A reader of a binary format: a file's bytes to its plates.
type ReadBytes = fn(&Path, &[u8], &ReadOptions) -> Result<Vec<RawPlate>, IngestError>;

/// Whether a format is text (decoded first) or bytes (a binary container).
#[derive(Debug)]
enum Kind {
    /// Recognised from the decoded text, read from it.
    Text { looks_like: fn(&str) -> bool, read: fn(&Path, &str, &ReadOptions) -> Partial },
    /// Recognised from the bytes (or a file extension, lower case), read from them.
    Bytes {
        looks_like: fn(&[u8]) -> bool,
        extension: &'static str,
        read: ReadBytes,
        /// Why text cannot be this format (when it is forced on text).
        not_text: &'static str,
    },
}

impl FormatSpec {
    /// True when `text` looks like this (text) format.
    #[must_use]
    pub fn looks_like_text(&self, text: &str) -> bool {
        matches!(self.kind, Kind::Text { looks_like, .. } if looks_like(text))
    }

    /// True when `bytes` (of a file at `path`) are this binary format: by content, or by
    /// file extension.
    #[must_use]
    pub fn looks_like_bytes(&self, path: Option<&Path>, bytes: &[u8]) -> bool {
        match self.kind {
            Kind::Bytes { looks_like, extension, .. } => {
                looks_like(bytes)
                    || path
                        .and_then(Path::extension)
                        .is_some_and(|e| e.eq_ignore_ascii_case(extension))
            }
            Kind::Text { .. } => false,
        }
    }
}

/// Every format radbind reads, in detection order: the first whose detector accepts a
/// file's content is its format (binary formats are tried on the bytes before any decoding).
/// Adding a format takes its reader file, a [`Format`] variant and a row here.
pub const FORMATS: [FormatSpec; 7] = [
    FormatSpec {
        format: Format::MicroBeta,
        name: "microbeta",
        kind: Kind::Text {
            looks_like: microbeta::looks_like,
            read: |path, text, o| microbeta::parse_partial(path, text, o.signal.as_deref()),
        },
    },
    FormatSpec {
        format: Format::Hidex,
        name: "hidex",
        kind: Kind::Text {
            looks_like: hidex::looks_like,
            read: |path, text, o| Partial::whole(hidex::parse(path, text, o.signal.as_deref())),
        },
    },
    FormatSpec {
        format: Format::GridCsv,
        name: "grid_csv",
        kind: Kind::Text {
            looks_like: delimited::looks_like_grid,
            read: |path, text, _| delimited::parse_grid_partial(path, text),
        },
    },
    FormatSpec {
        format: Format::CountTable,
        name: "count_table",
        kind: Kind::Text {
            looks_like: table::looks_like,
            read: |path, text, o| {
                let map = o.columns.clone().unwrap_or_default();
                Partial::whole(table::parse(path, text, &map, o.signal.as_deref()))
            },
        },
    },
    FormatSpec {
        format: Format::LongCsv,
        name: "long_csv",
        kind: Kind::Text {
            looks_like: delimited::looks_like_long,
            read: |path, text, o| {
                Partial::whole(delimited::parse_long(path, text, o.signal.as_deref()))
            },
        },
    },
    FormatSpec {
        format: Format::Xlsx,
        name: "xlsx",
        kind: Kind::Bytes {
            looks_like: xlsx::looks_like,
            extension: "xlsx",
            read: xlsx::parse,
            not_text: "XLSX was forced but the content is text; an XLSX workbook starts with the \
                       ZIP bytes PK",
        },
    },
    // Last: a concentration table has no well column, so no plate format above takes it.
    FormatSpec {
        format: Format::ConcentrationTable,
        name: "concentration_table",
        kind: Kind::Text {
            looks_like: conc_table::looks_like,
            read: |path, text, o| {
                let map = o.table.clone().unwrap_or_default();
                Partial::whole(conc_table::parse(path, text, &map))
            },
        },
    },
];

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
    /// The plates of the file contradict each other (a plate block copied twice).
    #[error("{path}: {message}")]
    Plates {
        /// File.
        path: PathBuf,
        /// What was found and what to do.
        message: String,
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
    /// Keep negative counts as counts (background-subtracted exports) instead of leaving
    /// those wells out.
    pub keep_negative: bool,
    /// Column map of concentration tables ([`Format::ConcentrationTable`], text or an XLSX
    /// sheet). `None` = the usual header names.
    pub table: Option<TableColumns>,
}

/// What one file yielded: its complete plates, why the rest could not be read, and how many
/// plates it holds when that is known.
#[derive(Debug)]
pub struct FileRead {
    /// The file.
    pub path: PathBuf,
    /// Complete plates, in file order: positions `1..=plates.len()` of the file.
    pub plates: Vec<RawPlate>,
    /// Why the file (or its part after `plates`) could not be read.
    pub error: Option<IngestError>,
    /// How many plates the file holds: `plates.len()` when it was read whole; when it broke
    /// part-way, the number the file states (a MicroBeta COLUMNS list), or `None` when that
    /// cannot be known.
    pub plate_count: Option<usize>,
}

/// Plates read from text, with the error that stopped reading (if any) and the file's plate
/// count when the error leaves it known.
#[derive(Debug, Default)]
pub(crate) struct Partial {
    pub(crate) plates: Vec<RawPlate>,
    pub(crate) error: Option<IngestError>,
    pub(crate) count: Option<usize>,
}

impl Partial {
    /// A reader's all-or-nothing result.
    fn whole(r: Result<Vec<RawPlate>, IngestError>) -> Partial {
        match r {
            Ok(plates) => Partial { count: Some(plates.len()), plates, error: None },
            Err(e) => Partial { error: Some(e), ..Partial::default() },
        }
    }

    fn into_result(self) -> Result<Vec<RawPlate>, IngestError> {
        match self.error {
            Some(e) => Err(e),
            None => Ok(self.plates),
        }
    }
}

/// Detects the format of a file's text from its content.
///
/// MicroBeta when the text has a `RUN INFORMATION:` block, or a `PLATES:`/`COLUMNS:` block
/// together with `Cassette information`; Hidex when it has `Sample;`, `Position;` and `CPM;`
/// lines; a plate grid when the first non-empty line (or the one after a plate-name line) is
/// the run of column numbers 1..N; a count table when a header with plate, well and CPM
/// columns follows a preamble or has a time or DPM column; a long table when a line has at
/// least three delimited columns with a well position (`A01`) in the second; otherwise `None`.
/// (XLSX is detected from bytes: [`detect_bytes`].) The order is that of [`FORMATS`].
#[must_use]
pub fn detect(text: &str) -> Option<Format> {
    let text = strip_bom(text);
    FORMATS.iter().find(|s| s.looks_like_text(text)).map(|s| s.format)
}

/// Detects the format of a file's bytes: a binary format by its content (XLSX by its ZIP
/// magic, `PK\x03\x04`), otherwise [`detect`] on the decoded text.
#[must_use]
pub fn detect_bytes(bytes: &[u8]) -> Option<Format> {
    match FORMATS.iter().find(|s| s.looks_like_bytes(None, bytes)) {
        Some(s) => Some(s.format),
        None => decode(bytes).ok().and_then(|(text, _)| detect(&text)),
    }
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
/// [`IngestError::Io`] when the file cannot be read, is not a regular file or is larger than
/// [`MAX_FILE_BYTES`], [`IngestError::UnknownFormat`] when it is empty or not recognised,
/// [`IngestError::Parse`] naming the line when its content breaks the format, and
/// [`IngestError::Plates`] for a copied plate block.
pub fn read_file_with(path: &Path, opts: &ReadOptions) -> Result<Vec<RawPlate>, IngestError> {
    let r = read_file_partial(path, opts);
    match r.error {
        Some(e) => Err(e),
        None => Ok(r.plates),
    }
}

/// Reads one file as far as it can be read: the complete plates, the error that stopped
/// reading, and the file's plate count when known (see [`FileRead`]).
#[must_use]
pub fn read_file_partial(path: &Path, opts: &ReadOptions) -> FileRead {
    let p = match file::read_regular(path, MAX_FILE_BYTES) {
        Ok(bytes) => read_partial(path, &bytes, opts),
        Err(source) => Partial {
            error: Some(IngestError::Io { path: path.to_path_buf(), source }),
            ..Partial::default()
        },
    };
    FileRead { path: path.to_path_buf(), plates: p.plates, error: p.error, plate_count: p.count }
}

/// [`read_file_partial`] of a file's bytes already in memory.
#[must_use]
pub fn read_bytes_partial(path: &Path, bytes: &[u8], opts: &ReadOptions) -> FileRead {
    let p = read_partial(path, bytes, opts);
    FileRead { path: path.to_path_buf(), plates: p.plates, error: p.error, plate_count: p.count }
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
    read_partial(path, bytes, opts).into_result()
}

/// [`read_bytes`], keeping the complete plates of a file that breaks part-way.
fn read_partial(path: &Path, bytes: &[u8], opts: &ReadOptions) -> Partial {
    let binary = match opts.format {
        // A concentration table may be an XLSX sheet: the workbook reader reads it as one.
        Some(Format::ConcentrationTable) if xlsx::looks_like(bytes) => Some(Format::Xlsx.spec()),
        Some(f) => Some(f.spec()),
        None => FORMATS.iter().find(|s| s.looks_like_bytes(Some(path), bytes)),
    };
    let mut p = if let Some(Kind::Bytes { read, .. }) = binary.map(|s| &s.kind) {
        let mut p = Partial::whole(read(path, bytes, opts));
        finish_plates(&mut p.plates);
        p
    } else {
        match decode(bytes) {
            Err(why) => Partial {
                error: Some(IngestError::UnknownFormat { path: path.to_path_buf(), why }),
                ..Partial::default()
            },
            Ok((text, note)) => {
                let mut p = text_partial(path, &text, opts);
                if let Some(note) = note {
                    for plate in &mut p.plates {
                        plate.meta.warnings.push(note.to_string());
                    }
                }
                p
            }
        }
    };
    if opts.keep_negative {
        for plate in &mut p.plates {
            keep_negative(plate);
        }
    }
    check_copies(path, &mut p);
    p
}

/// Makes the negative counts of a plate counts again.
fn keep_negative(p: &mut RawPlate) {
    let g = p.geometry;
    p.meta.bad_counts.retain(|b| match (b.negative, g.index(b.well)) {
        (Some(v), Some(i)) => {
            p.values[i] = Some(v);
            false
        }
        _ => true,
    });
}

/// Fewest counted wells for two plates with the same counts everywhere to be taken as one
/// block copied twice (small or nearly empty plates can agree by chance).
const MIN_WELLS_FOR_COPY: usize = 12;

/// Ends a file's plates at the first block that repeats an earlier one: the same label, or the
/// same counts in every well. The plates before it are kept; where the later ones belong
/// cannot be known.
fn check_copies(path: &Path, p: &mut Partial) {
    let same_counts = |a: &RawPlate, b: &RawPlate| {
        a.geometry == b.geometry
            && a.values.iter().flatten().count() >= MIN_WELLS_FOR_COPY
            && a.values == b.values
    };
    for k in 1..p.plates.len() {
        let Some(j) = (0..k).find(|&j| {
            p.plates[j].label == p.plates[k].label || same_counts(&p.plates[j], &p.plates[k])
        }) else {
            continue;
        };
        let (a, b) = (&p.plates[j], &p.plates[k]);
        let what =
            if a.label == b.label { "the same label" } else { "the same counts in every well" };
        let message = format!(
            "plate {} of the file (`{}`) repeats plate {} (`{}`): {what}; a plate block was \
             copied twice, so the file's plates from {} on are not used; export the file again",
            k + 1,
            b.label,
            j + 1,
            a.label,
            k + 1
        );
        p.plates.truncate(k);
        p.error = Some(IngestError::Plates { path: path.to_path_buf(), message });
        p.count = None;
        return;
    }
}

/// Makes the text a plate carries from its file safe to show ([`neutralise_text`]) and adds a
/// warning to every plate without a single counted well.
fn finish_plates(plates: &mut [RawPlate]) {
    for p in plates {
        neutralise_text(p);
        if p.values.iter().all(Option::is_none) {
            p.meta.warnings.push("no well of this plate has a count (empty plate)".to_string());
        }
    }
}

/// Control and text-direction characters in the text a plate carries from its file (label,
/// signal, protocol, date, warnings) are written as escapes ([`crate::units::printable`]):
/// they reach file names, XML, CSV, HTML and the terminal from here.
fn neutralise_text(p: &mut RawPlate) {
    let clean = |s: &mut String| {
        if let std::borrow::Cow::Owned(t) = crate::units::printable(s) {
            *s = t;
        }
    };
    clean(&mut p.label);
    clean(&mut p.meta.signal);
    p.meta.protocol.iter_mut().for_each(clean);
    p.meta.counted_at.iter_mut().for_each(clean);
    p.meta.warnings.iter_mut().for_each(clean);
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
    let mut p = text_partial(path, text, opts);
    if opts.keep_negative {
        for plate in &mut p.plates {
            keep_negative(plate);
        }
    }
    check_copies(path, &mut p);
    p.into_result()
}

/// [`read_text`] keeping the complete plates of a file that breaks part-way.
fn text_partial(path: &Path, text: &str, opts: &ReadOptions) -> Partial {
    let text = strip_bom(text);
    if text.trim().is_empty() {
        return Partial::whole(Err(IngestError::UnknownFormat {
            path: path.to_path_buf(),
            why: "the file is empty; export the plate again".to_string(),
        }));
    }
    let forced = opts.format.or_else(|| opts.columns.as_ref().map(|_| Format::CountTable));
    let format = match forced.or_else(|| detect(text)) {
        Some(f) => f,
        None => {
            return Partial::whole(Err(IngestError::UnknownFormat {
                path: path.to_path_buf(),
                why: "expected a MicroBeta result file (RUN INFORMATION:), a Hidex export \
                      (Sample;/Position;/CPM; blocks), a plate grid (header 1..12), a count \
                      table (Plate,Well,CPM header) or a plate,well,value table; pass the \
                      format (and column map) explicitly if it is one of these"
                    .to_string(),
            }));
        }
    };
    let mut p = match format.spec().kind {
        Kind::Text { read, .. } => read(path, text, opts),
        Kind::Bytes { not_text, .. } => Partial::whole(Err(IngestError::UnknownFormat {
            path: path.to_path_buf(),
            why: not_text.to_string(),
        })),
    };
    finish_plates(&mut p.plates);
    p
}

/// Decodes bytes: UTF-8 (BOM dropped), UTF-16 (with a BOM, or without one when every other
/// byte is zero as in ASCII text), else Latin-1. Line ends become `\n` (CR alone included).
/// Returns the text and a warning for the plates when the decoding was a guess.
///
/// # Errors
/// UTF-16 that is not valid UTF-16, naming the encoding.
pub(crate) fn decode(bytes: &[u8]) -> Result<(String, Option<&'static str>), String> {
    let bytes = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes);
    let (text, note) = if let Some((big_endian, rest, bom)) = utf16(bytes) {
        let units = rest.chunks(2).map(|c| {
            let pair = [c[0], c.get(1).copied().unwrap_or(0)];
            if big_endian { u16::from_be_bytes(pair) } else { u16::from_le_bytes(pair) }
        });
        let name = if big_endian { "UTF-16BE" } else { "UTF-16LE" };
        let text = char::decode_utf16(units).collect::<Result<String, _>>().map_err(|e| {
            format!(
                "the file looks like {name} text but is not valid {name} ({e}); save the \
                 export as UTF-8"
            )
        })?;
        if rest.len() % 2 == 1 {
            return Err(format!(
                "the file looks like {name} text but has an odd number of bytes; save the \
                 export as UTF-8"
            ));
        }
        (text, (!bom).then_some("file has no byte-order mark; decoded as UTF-16"))
    } else {
        match std::str::from_utf8(bytes) {
            Ok(s) => (s.to_string(), None),
            Err(_) => (
                bytes.iter().map(|&b| char::from(b)).collect(),
                Some("file is not UTF-8; decoded as Latin-1"),
            ),
        }
    };
    Ok((normalise_line_ends(text), note))
}

/// `Some((big endian, the bytes after any BOM, had a BOM))` when the bytes are UTF-16 text:
/// a UTF-16 byte-order mark, or (at least 8 bytes) a zero in every odd (little endian) or
/// every even (big endian) position and none in the others.
pub(crate) fn utf16(bytes: &[u8]) -> Option<(bool, &[u8], bool)> {
    if let Some(rest) = bytes.strip_prefix(b"\xFF\xFE") {
        return Some((false, rest, true));
    }
    if let Some(rest) = bytes.strip_prefix(b"\xFE\xFF") {
        return Some((true, rest, true));
    }
    if bytes.len() < 8 || bytes.len() % 2 == 1 {
        return None;
    }
    let zeros = |start: usize| bytes.iter().skip(start).step_by(2).all(|&b| b == 0);
    let none = |start: usize| bytes.iter().skip(start).step_by(2).all(|&b| b != 0);
    if zeros(1) && none(0) {
        Some((false, bytes, false))
    } else if zeros(0) && none(1) {
        Some((true, bytes, false))
    } else {
        None
    }
}

/// CR LF and CR alone become LF (old Mac exports end lines with CR only).
fn normalise_line_ends(text: String) -> String {
    if text.contains('\r') { text.replace("\r\n", "\n").replace('\r', "\n") } else { text }
}

/// The text without a leading UTF-8 byte-order mark.
fn strip_bom(text: &str) -> &str {
    text.strip_prefix('\u{feff}').unwrap_or(text)
}

/// A [`IngestError::Parse`] for `path` at 1-based `line`.
pub(crate) fn parse_error(path: &Path, line: usize, message: impl Into<String>) -> IngestError {
    IngestError::Parse { path: path.to_path_buf(), line, message: message.into() }
}

/// Parses a number (`1976`, `12.5`, `1e3`); `None` when it is not a finite number.
pub(crate) fn parse_number(s: &str) -> Option<f64> {
    s.trim().parse::<f64>().ok().filter(|v| v.is_finite())
}
