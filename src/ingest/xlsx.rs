//! XLSX workbooks (read with `calamine`): a sheet per plate holding a plate grid (row letters
//! and column numbers, as in the grid CSV), or a long table (plate, well, value; or a count
//! table with a preamble and a column map) on one sheet.
//!
//! Owns opening the workbook from bytes and turning each sheet into rows of text cells;
//! the sheet content is then read by the delimited parsers ([`super::delimited`],
//! [`super::table`]) so grids and tables follow exactly the same rules as in CSV. Line numbers
//! in errors are sheet row numbers, and every message names the sheet. Sheets holding neither
//! a grid nor a table (notes, charts) are skipped.

use std::fmt::Write as _;
use std::io::Cursor;
use std::path::Path;

use calamine::{Data, Reader, Xlsx};

use super::table::{self, ColumnMap};
use super::{IngestError, RawPlate, ReadOptions, delimited};

/// The `format` recorded in [`super::PlateMeta`] for plates read from a workbook.
pub const FORMAT: &str = "xlsx";

/// True when the bytes start like a ZIP archive (`PK\x03\x04`), as every XLSX file does.
#[must_use]
pub fn looks_like(bytes: &[u8]) -> bool {
    bytes.starts_with(b"PK\x03\x04")
}

/// The text of a cell (numbers as Rust prints them, so `1234.0` is `1234`).
fn cell_text(d: &Data) -> String {
    let s = match d {
        Data::Empty => return String::new(),
        Data::Int(i) => i.to_string(),
        Data::Float(f) => f.to_string(),
        Data::String(s) | Data::DateTimeIso(s) | Data::DurationIso(s) => s.clone(),
        Data::Bool(b) => b.to_string(),
        Data::DateTime(t) => t.to_string(),
        Data::Error(e) => format!("#{e:?}"),
    };
    // Tabs and quotes would change the cell structure of the tab-joined text.
    s.replace(['\t', '\r', '\n'], " ").replace('"', "'")
}

/// Sheet rows as tab-separated lines; line k is sheet row k (1-based).
fn sheet_text(range: &calamine::Range<Data>) -> String {
    let mut text = String::new();
    let (start_row, start_col) = range.start().unwrap_or((0, 0));
    for _ in 0..start_row {
        text.push('\n');
    }
    for row in range.rows() {
        for _ in 0..start_col {
            text.push('\t');
        }
        for (i, cell) in row.iter().enumerate() {
            if i > 0 {
                text.push('\t');
            }
            let _ = write!(text, "{}", cell_text(cell));
        }
        text.push('\n');
    }
    text
}

/// Reads every plate of every sheet. `opts.columns` applies to table sheets, `opts.signal`
/// picks a long table's value column.
///
/// # Errors
/// [`IngestError::UnknownFormat`] when the bytes are not a readable workbook or no sheet holds
/// a plate; [`IngestError::Parse`] naming the sheet and row when a sheet's grid or table is
/// malformed.
pub fn parse(path: &Path, bytes: &[u8], opts: &ReadOptions) -> Result<Vec<RawPlate>, IngestError> {
    let unknown = |why: String| IngestError::UnknownFormat { path: path.to_path_buf(), why };
    let mut book = Xlsx::new(Cursor::new(bytes))
        .map_err(|e| unknown(format!("not a readable XLSX workbook: {e}")))?;
    let mut out: Vec<RawPlate> = Vec::new();
    for name in book.sheet_names() {
        let range = book
            .worksheet_range(&name)
            .map_err(|e| unknown(format!("sheet `{name}` cannot be read: {e}")))?;
        let text = sheet_text(&range);
        if text.trim().is_empty() {
            continue;
        }
        let in_sheet = |e: IngestError| match e {
            IngestError::Parse { path, line, message } => IngestError::Parse {
                path,
                line,
                message: format!("sheet `{name}`, row {line}: {message}"),
            },
            other => other,
        };
        let plates = if delimited::looks_like_grid(&text) {
            let mut plates = delimited::parse_grid(path, &text).map_err(in_sheet)?;
            if let [only] = plates.as_mut_slice() {
                only.label.clone_from(&name);
            } else {
                for p in &mut plates {
                    p.label = format!("{name} / {}", p.label);
                }
            }
            plates
        } else if let Some(map) = &opts.columns {
            table::parse(path, &text, map, opts.signal.as_deref()).map_err(in_sheet)?
        } else if table::looks_like(&text) {
            table::parse(path, &text, &ColumnMap::default(), opts.signal.as_deref())
                .map_err(in_sheet)?
        } else if delimited::looks_like_long(&text) {
            delimited::parse_long(path, &text, opts.signal.as_deref()).map_err(in_sheet)?
        } else {
            continue;
        };
        out.extend(plates);
    }
    if out.is_empty() {
        return Err(unknown(
            "no sheet holds a plate grid (header 1..12, rows A..H) or a plate,well,value table"
                .to_string(),
        ));
    }
    for (i, p) in out.iter_mut().enumerate() {
        p.index_in_file = i + 1;
        p.meta.format = FORMAT;
    }
    Ok(out)
}
