//! XLSX workbooks (read with `calamine`): a sheet per plate holding a plate grid (row letters
//! and column numbers, as in the grid CSV), or a long table (plate, well, value; or a count
//! table with a preamble and a column map) on one sheet.
//!
//! Owns opening the workbook from bytes and turning each sheet into rows of text cells;
//! the sheet content is then read by the delimited parsers ([`super::delimited`],
//! [`super::table`]) so grids and tables follow exactly the same rules as in CSV. Line numbers
//! in errors are sheet row numbers, and every message names the sheet. Sheets holding neither
//! a grid nor a table (notes, charts) are skipped.

use std::collections::BTreeMap;
use std::io::Cursor;
use std::path::Path;

use calamine::{DataRef, Reader, Xlsx};

use super::conc_table;
use super::table::{self, ColumnMap};
use super::{IngestError, RawPlate, ReadOptions, delimited};

/// The `format` recorded in [`super::PlateMeta`] for plates read from a workbook.
pub const FORMAT: &str = "xlsx";

/// True when the bytes start like a ZIP archive (`PK\x03\x04`), as every XLSX file does.
#[must_use]
pub fn looks_like(bytes: &[u8]) -> bool {
    bytes.starts_with(b"PK\x03\x04")
}

/// Most non-empty cells read from one sheet; a plate export has a few thousand.
pub const MAX_CELLS: usize = 2_000_000;

/// The text of a cell (numbers as Rust prints them, so `1234.0` is `1234`).
fn cell_text(d: &DataRef<'_>) -> String {
    let s = match d {
        DataRef::Empty => return String::new(),
        DataRef::Int(i) => i.to_string(),
        DataRef::Float(f) => f.to_string(),
        DataRef::String(s) | DataRef::DateTimeIso(s) | DataRef::DurationIso(s) => s.clone(),
        DataRef::SharedString(s) => (*s).to_string(),
        DataRef::Bool(b) => b.to_string(),
        DataRef::DateTime(t) => t.to_string(),
        DataRef::Error(e) => format!("#{e:?}"),
    };
    // Tabs and quotes would change the cell structure of the tab-joined text.
    s.replace(['\t', '\r', '\n'], " ").replace('"', "'")
}

/// Longest text a sheet may turn into (64 MiB).
const MAX_TEXT: usize = 64 << 20;

/// Sheet rows as tab-separated lines; line k is sheet row k (1-based). Cells are streamed
/// (never a dense range, so a stray cell far away costs little); `None` when the text would
/// exceed [`MAX_TEXT`] (cells scattered over a huge area).
fn sheet_text(cells: &BTreeMap<(u32, u32), String>) -> Option<String> {
    let mut text = String::new();
    let mut row = 0;
    let mut col = 0;
    for (&(r, c), value) in cells {
        while row < r {
            // Every line ends with a tab so the delimiter is always detected as tab, even
            // on a one-cell title line holding commas.
            text.push_str("\t\n");
            row += 1;
            col = 0;
        }
        while col < c {
            text.push('\t');
            col += 1;
        }
        text.push_str(value);
        if text.len() > MAX_TEXT {
            return None;
        }
    }
    text.push_str("\t\n");
    Some(text)
}

/// The non-empty cells of a sheet by (row, column), 0-based.
fn read_cells(
    book: &mut Xlsx<Cursor<&[u8]>>,
    name: &str,
) -> Result<BTreeMap<(u32, u32), String>, String> {
    let mut reader = book.worksheet_cells_reader(name).map_err(|e| e.to_string())?;
    let mut cells = BTreeMap::new();
    while let Some(cell) = reader.next_cell().map_err(|e| e.to_string())? {
        let text = cell_text(cell.get_value());
        if !text.trim().is_empty() {
            cells.insert(cell.get_position(), text);
            if cells.len() > MAX_CELLS {
                return Err(format!("more than {MAX_CELLS} cells; not a plate export"));
            }
        }
    }
    Ok(cells)
}

/// Plates of a concentration table on sheet `name`: labelled by the sheet (`Sheet1`, or
/// `Sheet1 / plate 2, target D2`) instead of the file.
fn sheet_labels(mut plates: Vec<RawPlate>, name: &str) -> Vec<RawPlate> {
    let whole = plates.len() == 1 && plates[0].label.ends_with(".xlsx");
    for p in &mut plates {
        p.label = if whole { name.to_string() } else { format!("{name} / {}", p.label) };
    }
    plates
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
    let forced_table = opts.format == Some(super::Format::ConcentrationTable);
    let table_map = opts.table.clone().unwrap_or_default();
    // The first sheet's error when a concentration table is forced and no sheet holds one.
    let mut table_error = None;
    for name in book.sheet_names() {
        let cells = read_cells(&mut book, &name)
            .map_err(|e| unknown(format!("sheet `{name}` cannot be read: {e}")))?;
        let text = sheet_text(&cells).ok_or_else(|| {
            unknown(format!("sheet `{name}` spreads its cells over too large an area"))
        })?;
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
        let plates = if forced_table {
            match conc_table::parse(path, &text, &table_map).map_err(in_sheet) {
                Ok(plates) => sheet_labels(plates, &name),
                Err(e) => {
                    table_error.get_or_insert(e);
                    continue;
                }
            }
        } else if delimited::looks_like_grid(&text) {
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
        } else if conc_table::looks_like(&text) {
            sheet_labels(conc_table::parse(path, &text, &table_map).map_err(in_sheet)?, &name)
        } else {
            continue;
        };
        let mut plates = plates;
        for b in plates.iter_mut().flat_map(|p| p.meta.bad_counts.iter_mut()) {
            b.reason = format!("sheet `{name}`, row {}: {}", b.line, b.reason);
        }
        out.extend(plates);
    }
    if out.is_empty() {
        if let Some(e) = table_error {
            return Err(e);
        }
        return Err(unknown(
            "no sheet holds a plate grid (header 1..12, rows A..H), a plate,well,value table or \
             a concentration table (concentration and response columns)"
                .to_string(),
        ));
    }
    for (i, p) in out.iter_mut().enumerate() {
        p.index_in_file = i + 1;
        p.meta.format = FORMAT;
    }
    Ok(out)
}
