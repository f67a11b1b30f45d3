//! Delimited text exports: the long table (`plate,well,value`, one line per well) and the
//! plate grid (a header of column numbers 1..N, one line per row letter).
//!
//! Owns the text quirks of these files: delimiter detection (comma, semicolon, tab), decimal
//! comma (with `;` or tab delimiters), quoted fields, header names, several grids per file.
//! Does not own file reading, decoding or format choice (see [`crate::ingest`]); plain Rust
//! parsing only (polars is kept for output tables).

use std::collections::HashMap;
use std::path::Path;

use super::{
    Cell, IngestError, Partial, PlateMeta, RawPlate, count_cell, parse_error, parse_number,
};
use crate::types::{Geometry, WellPos, parse_row, row_label};

/// The `format` recorded in [`PlateMeta`] for long tables.
pub const LONG_FORMAT: &str = "long-csv";
/// The `format` recorded in [`PlateMeta`] for plate grids.
pub const GRID_FORMAT: &str = "grid-csv";

/// Accepted header names of the plate column (case-insensitive).
pub const PLATE_NAMES: [&str; 3] = ["plate", "plate_id", "barcode"];
/// Accepted header names of the well column.
pub const WELL_NAMES: [&str; 3] = ["well", "pos", "position"];
/// Accepted header names of the value column, in order of preference when several exist.
pub const VALUE_NAMES: [&str; 4] = ["cpm", "value", "counts", "ccpm1"];

/// Signal name used when a file has no header naming its value column.
const DEFAULT_SIGNAL: &str = "cpm";

/// How fields and decimals are written.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Dialect {
    pub(crate) delim: char,
    pub(crate) decimal_comma: bool,
}

impl Dialect {
    /// Tab if the line has one outside quotes, else semicolon, else comma. Decimal comma goes
    /// with tab and semicolon.
    pub(crate) fn of(line: &str) -> Dialect {
        let (mut tabs, mut semis, mut quoted) = (0, 0, false);
        for c in line.chars() {
            match c {
                '"' => quoted = !quoted,
                '\t' if !quoted => tabs += 1,
                ';' if !quoted => semis += 1,
                _ => {}
            }
        }
        let delim = if tabs > 0 {
            '\t'
        } else if semis > 0 {
            ';'
        } else {
            ','
        };
        Dialect { delim, decimal_comma: delim != ',' }
    }

    /// Fields of a line, unquoted (`""` inside quotes = one `"`) and trimmed.
    pub(crate) fn split(self, line: &str) -> Vec<String> {
        self.split_n(line, usize::MAX)
    }

    /// The first `n` (at least 1) fields of a line, as [`Dialect::split`] would give them; the
    /// rest of the line is not scanned.
    pub(crate) fn split_n(self, line: &str, n: usize) -> Vec<String> {
        let mut fields = vec![String::new()];
        let mut quoted = false;
        let mut chars = line.chars().peekable();
        while let Some(c) = chars.next() {
            let field = fields.last_mut().expect("always one field");
            match c {
                '"' if quoted && chars.peek() == Some(&'"') => {
                    field.push('"');
                    chars.next();
                }
                '"' => quoted = !quoted,
                c if c == self.delim && !quoted => {
                    if fields.len() == n {
                        break;
                    }
                    fields.push(String::new());
                }
                c => field.push(c),
            }
        }
        for f in &mut fields {
            let (start, len) = (f.len() - f.trim_start().len(), f.trim().len());
            if len != f.len() {
                f.truncate(start + len);
                f.drain(..start);
            }
        }
        fields
    }

    /// A number in this dialect (`1234,5` with decimal comma).
    pub(crate) fn number(self, cell: &str) -> Option<f64> {
        if self.decimal_comma { parse_number(&cell.replace(',', ".")) } else { parse_number(cell) }
    }
}

/// Non-empty lines with their 1-based numbers (BOM dropped, CRLF handled).
pub(crate) fn numbered(text: &str) -> Vec<(usize, &str)> {
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    text.lines()
        .enumerate()
        .map(|(i, l)| (i + 1, l))
        .filter(|(_, l)| !l.trim().is_empty())
        .collect()
}

/// Every line with its number, blank ones included.
pub(crate) fn all_lines(text: &str) -> Vec<(usize, &str)> {
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    text.lines().enumerate().map(|(i, l)| (i + 1, l)).collect()
}

/// The plate id, well and count cell of one table row, from the cells at the
/// `[plate, well, value]` column indices; errors name the line and what was expected.
pub(crate) fn plate_well_count(
    path: &Path,
    no: usize,
    d: Dialect,
    cells: &[String],
    [plate, well, value]: [usize; 3],
) -> Result<(String, WellPos, Cell), IngestError> {
    let needed = plate.max(well).max(value) + 1;
    if cells.len() < needed {
        return Err(parse_error(
            path,
            no,
            format!(
                "expected at least {needed} fields (plate, well and value columns), found {}",
                cells.len()
            ),
        ));
    }
    let id = cells[plate].clone();
    let pos = WellPos::parse(&cells[well]).ok_or_else(|| {
        parse_error(
            path,
            no,
            format!("expected a well like A01 in the well column, found `{}`", cells[well]),
        )
    })?;
    Ok((id, pos, count(d, &cells[value])))
}

/// A count cell in this dialect: empty or `-` = not counted, a number >= 0 = a count, anything
/// else a bad cell (see [`count_cell`]).
pub(crate) fn count(d: Dialect, cell: &str) -> Cell {
    count_cell(cell, |c| d.number(c))
}

/// The [`BadCount`](super::BadCount)s of wells read as `(line, cell)`, in line order.
pub(crate) fn bad_counts<'a>(
    wells: impl Iterator<Item = (&'a WellPos, &'a (usize, Cell))>,
) -> Vec<super::BadCount> {
    let mut bad: Vec<_> = wells.filter_map(|(pos, (no, c))| c.bad(*pos, *no)).collect();
    bad.sort_by_key(|b| (b.line, b.well));
    bad
}

/// The smallest standard geometry holding rows `0..=max_row` and columns `0..=max_col`.
pub(crate) fn smallest_geometry(max_row: u16, max_col: u16) -> Option<Geometry> {
    Geometry::STANDARD.into_iter().find(|g| g.rows > max_row && g.cols > max_col)
}

// ---------------------------------------------------------------------------------------------
// Long table

/// True when one of the first two non-empty lines has at least three delimited columns with a
/// well position (or a well header name) in the second.
#[must_use]
pub fn looks_like_long(text: &str) -> bool {
    numbered(text).into_iter().take(2).any(|(_, line)| {
        let cells = Dialect::of(line).split(line);
        cells.len() >= 3
            && (WellPos::parse(&cells[1]).is_some()
                || WELL_NAMES.iter().any(|n| n.eq_ignore_ascii_case(&cells[1])))
    })
}

/// Which fields hold plate, well and value.
struct Columns {
    plate: usize,
    well: usize,
    value: usize,
    signal: String,
}

/// Parses a long table (plate, well, value) into plates in order of first appearance.
///
/// With a header, columns are found by name ([`PLATE_NAMES`], [`WELL_NAMES`],
/// [`VALUE_NAMES`]) and `signal` may name another value column; without one, the first three
/// fields are plate, well, value. All plates get the smallest standard geometry holding every
/// well of the file.
///
/// # Errors
/// [`IngestError::Parse`] naming the line: missing columns, a bad well or count, a well listed
/// twice on one plate, an unknown signal column.
pub fn parse_long(
    path: &Path,
    text: &str,
    signal: Option<&str>,
) -> Result<Vec<RawPlate>, IngestError> {
    let lines = numbered(text);
    let (first_no, first) =
        *lines.first().ok_or_else(|| parse_error(path, 1, "the file is empty"))?;
    let d = Dialect::of(first);
    let head = d.split(first);
    let has_header = head.get(1).and_then(|c| WellPos::parse(c)).is_none();
    let cols = if has_header {
        header_columns(path, first_no, &head, signal)?
    } else {
        Columns { plate: 0, well: 1, value: 2, signal: DEFAULT_SIGNAL.to_string() }
    };
    let mut plates = LongPlates::default();
    for &(no, line) in &lines[usize::from(has_header)..] {
        plates.add(path, no, d, &d.split(line), &cols)?;
    }
    plates.finish(path, &cols.signal)
}

/// Finds the plate, well and value columns by header name.
fn header_columns(
    path: &Path,
    no: usize,
    head: &[String],
    signal: Option<&str>,
) -> Result<Columns, IngestError> {
    let find =
        |names: &[&str]| head.iter().position(|h| names.iter().any(|n| h.eq_ignore_ascii_case(n)));
    let missing = |what: &str, names: &[&str]| {
        parse_error(
            path,
            no,
            format!(
                "expected a {what} column named one of {}; the header has: {}",
                names.join("/"),
                head.join(", ")
            ),
        )
    };
    let plate = find(&PLATE_NAMES).ok_or_else(|| missing("plate", &PLATE_NAMES))?;
    let well = find(&WELL_NAMES).ok_or_else(|| missing("well", &WELL_NAMES))?;
    let value = match signal {
        Some(s) => find(&[s.trim()]).ok_or_else(|| {
            parse_error(
                path,
                no,
                format!(
                    "expected a column named `{s}` (the chosen signal); the header has: {}",
                    head.join(", ")
                ),
            )
        })?,
        None => VALUE_NAMES
            .iter()
            .find_map(|n| find(&[n]))
            .ok_or_else(|| missing("value", &VALUE_NAMES))?,
    };
    Ok(Columns { plate, well, value, signal: head[value].clone() })
}

/// Wells of one plate of a long table, with the line each came from.
struct LongPlate {
    id: String,
    wells: HashMap<WellPos, (usize, Cell)>,
}

/// Plates of a long table in order of first appearance.
#[derive(Default)]
struct LongPlates {
    plates: Vec<LongPlate>,
    index: HashMap<String, usize>,
}

impl LongPlates {
    fn add(
        &mut self,
        path: &Path,
        no: usize,
        d: Dialect,
        cells: &[String],
        cols: &Columns,
    ) -> Result<(), IngestError> {
        let (id, pos, value) =
            plate_well_count(path, no, d, cells, [cols.plate, cols.well, cols.value])?;
        let k = *self.index.entry(id.clone()).or_insert_with(|| {
            self.plates.push(LongPlate { id: id.clone(), wells: HashMap::new() });
            self.plates.len() - 1
        });
        if let Some((first, _)) = self.plates[k].wells.insert(pos, (no, value)) {
            return Err(parse_error(
                path,
                no,
                format!(
                    "well {pos} of plate {id} appears twice (lines {first} and {no}); \
                     expected one line per well"
                ),
            ));
        }
        Ok(())
    }

    fn finish(self, path: &Path, signal: &str) -> Result<Vec<RawPlate>, IngestError> {
        let all = self.plates.iter().flat_map(|p| p.wells.keys());
        let max_row = all.clone().map(|p| p.row).max();
        let max_col = all.map(|p| p.col).max();
        let (Some(max_row), Some(max_col)) = (max_row, max_col) else {
            return Err(parse_error(
                path,
                1,
                "expected lines of plate, well, value; the table has none",
            ));
        };
        let geometry = smallest_geometry(max_row, max_col).ok_or_else(|| {
            parse_error(
                path,
                1,
                "expected wells within a 32x48 plate; the table has wells beyond AF48",
            )
        })?;
        let meta =
            PlateMeta { format: LONG_FORMAT, signal: signal.to_string(), ..PlateMeta::default() };
        let plates = self.plates.into_iter().enumerate().map(|(i, p)| {
            let mut values = vec![None; geometry.len()];
            for (pos, (_, v)) in &p.wells {
                values[geometry.index(*pos).expect("geometry holds every well")] = v.value();
            }
            let mut meta = meta.clone();
            meta.bad_counts = bad_counts(p.wells.iter());
            RawPlate {
                source: path.to_path_buf(),
                index_in_file: i + 1,
                label: p.id,
                geometry,
                values,
                meta,
            }
        });
        Ok(plates.collect())
    }
}

// ---------------------------------------------------------------------------------------------
// Plate grid

/// N when the cells are the column numbers 1..N (after an optional leading empty cell,
/// trailing empty cells ignored).
fn header_cols(cells: &[String]) -> Option<u16> {
    let start = usize::from(cells.first().is_some_and(String::is_empty));
    let end = cells.iter().rposition(|c| !c.is_empty())? + 1;
    let body = cells.get(start..end)?;
    let n = u16::try_from(body.len()).ok()?;
    let run = body.iter().zip(1..=n).all(|(c, i)| c.parse::<u16>().ok() == Some(i));
    (n > 0 && run).then_some(n)
}

/// The delimiter of a grid file: that of its first line with a delimiter.
fn grid_dialect(lines: &[(usize, &str)]) -> Dialect {
    lines
        .iter()
        .find(|(_, l)| l.contains(['\t', ';', ',']))
        .map_or(Dialect { delim: ',', decimal_comma: false }, |(_, l)| Dialect::of(l))
}

/// True when the first non-empty line (or the one after a plate-name line) is 1..N.
#[must_use]
pub fn looks_like_grid(text: &str) -> bool {
    let lines = numbered(text);
    let d = grid_dialect(&lines);
    lines.iter().take(2).any(|(_, l)| header_cols(&d.split(l)).is_some_and(|n| n >= 2))
}

/// Parses one or more plate grids. Grids are separated by blank lines or a line naming the
/// plate (`Plate 2`, `plate,2`), whose text becomes the plate's label (`Plate k` otherwise).
/// Rows x columns must be a standard geometry (4x6, 8x12, 16x24, 32x48).
///
/// # Errors
/// [`IngestError::Parse`] naming the line: rows out of order, a wrong number of values, a bad
/// count, a non-standard grid, or no grid at all.
pub fn parse_grid(path: &Path, text: &str) -> Result<Vec<RawPlate>, IngestError> {
    parse_grid_partial(path, text).into_result()
}

/// [`parse_grid`] keeping the complete grids before an error (how many grids follow is then
/// unknown).
pub(crate) fn parse_grid_partial(path: &Path, text: &str) -> Partial {
    let lines = all_lines(text);
    let d = grid_dialect(&lines);
    let mut plates = Vec::new();
    let mut name: Option<String> = None;
    let mut i = 0;
    let stop =
        |plates: Vec<RawPlate>, e: IngestError| Partial { plates, error: Some(e), count: None };
    while let Some(&(no, line)) = lines.get(i) {
        i += 1;
        let cells = d.split(line);
        if line.trim().is_empty() {
            continue;
        }
        if let Some(n) = header_cols(&cells) {
            let label = name.take().unwrap_or_else(|| format!("Plate {}", plates.len() + 1));
            match parse_one_grid(path, &lines[i..], d, no, n, label, plates.len() + 1) {
                Ok((plate, used)) => {
                    plates.push(plate);
                    i += used;
                }
                Err(e) => return stop(plates, e),
            }
        } else if is_row_line(&cells) {
            let e = parse_error(
                path,
                no,
                "expected a header line of column numbers 1..N before the first row",
            );
            return stop(plates, e);
        } else {
            let words: Vec<&str> =
                cells.iter().map(String::as_str).filter(|c| !c.is_empty()).collect();
            name = Some(words.join(" "));
        }
    }
    if plates.is_empty() {
        let e = parse_error(
            path,
            1,
            "expected a plate grid: a line of column numbers 1..N, then one line per row letter",
        );
        return stop(plates, e);
    }
    Partial { count: Some(plates.len()), plates, error: None }
}

/// True when the first cell is a row letter and a second cell exists.
fn is_row_line(cells: &[String]) -> bool {
    cells.len() >= 2 && cells[0].len() <= 2 && parse_row(&cells[0]).is_some()
}

/// Parses the rows after a header line; returns the plate and how many lines it used.
fn parse_one_grid(
    path: &Path,
    rest: &[(usize, &str)],
    d: Dialect,
    header_no: usize,
    cols: u16,
    label: String,
    index: usize,
) -> Result<(RawPlate, usize), IngestError> {
    let mut values = Vec::new();
    let mut bad = Vec::new();
    let mut rows: u16 = 0;
    for &(no, line) in rest {
        let cells = d.split(line);
        if line.trim().is_empty() || !is_row_line(&cells) {
            break;
        }
        let letter = row_label(rows);
        if !cells[0].eq_ignore_ascii_case(&letter) {
            return Err(parse_error(
                path,
                no,
                format!("expected row letter {letter}, found `{}`", cells[0]),
            ));
        }
        for (col, cell) in grid_row(path, no, d, &cells, &letter, cols)?.into_iter().enumerate() {
            let pos = WellPos { row: rows, col: u16::try_from(col).expect("col < cols") };
            bad.extend(cell.bad(pos, no));
            values.push(cell.value());
        }
        rows += 1;
    }
    let geometry = Geometry { rows, cols };
    if !Geometry::STANDARD.contains(&geometry) {
        return Err(parse_error(
            path,
            header_no,
            format!(
                "expected a standard plate grid (4x6, 8x12, 16x24 or 32x48), \
                 found {rows} rows x {cols} columns"
            ),
        ));
    }
    let meta = PlateMeta {
        format: GRID_FORMAT,
        signal: DEFAULT_SIGNAL.to_string(),
        bad_counts: bad,
        ..PlateMeta::default()
    };
    let plate = RawPlate {
        source: path.to_path_buf(),
        index_in_file: index,
        label,
        geometry,
        values,
        meta,
    };
    Ok((plate, usize::from(rows)))
}

/// The count cells of one grid row (cells after the row letter).
fn grid_row(
    path: &Path,
    no: usize,
    d: Dialect,
    cells: &[String],
    letter: &str,
    cols: u16,
) -> Result<Vec<Cell>, IngestError> {
    let n = usize::from(cols);
    let vals = &cells[1..];
    let used = vals.iter().rposition(|c| !c.is_empty()).map_or(0, |i| i + 1);
    if vals.len() < n || used > n {
        let found = if vals.len() < n { vals.len() } else { used };
        return Err(parse_error(
            path,
            no,
            format!("expected {n} values after row letter {letter}, found {found}"),
        ));
    }
    Ok((0..n).map(|c| count(d, &cells[c + 1])).collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dialect_detection_and_quotes() {
        let d = Dialect::of("\"a;b\",A01,\"1\"\"2\"");
        assert_eq!(d.delim, ',');
        assert_eq!(d.split("\"a;b\", A01 ,\"1\"\"2\""), ["a;b", "A01", "1\"2"]);
        let d = Dialect::of("p;A01;1,5");
        assert_eq!((d.delim, d.number("1,5")), (';', Some(1.5)));
        assert_eq!(Dialect::of("p\tA01\t1;2").delim, '\t');
    }

    #[test]
    fn first_fields_as_split_gives_them() {
        let d = Dialect::of("a;b");
        for line in ["", ";", " Sample ; 1 ; x", "\"P;x\" ; \"a\"\"b;\";c", "one", "a;;b;"] {
            let all = d.split(line);
            for n in 1..5 {
                assert_eq!(d.split_n(line, n), all[..n.min(all.len())], "{line:?} n={n}");
            }
        }
    }

    #[test]
    fn header_of_column_numbers() {
        let cells = |s: &str| Dialect::of(s).split(s);
        assert_eq!(header_cols(&cells(",1,2,3,4,5,6")), Some(6));
        assert_eq!(header_cols(&cells("1\t2\t3\t")), Some(3));
        assert_eq!(header_cols(&cells(",1,3")), None);
        assert_eq!(header_cols(&cells("plate,2")), None);
    }

    #[test]
    fn smallest_standard_geometry() {
        assert_eq!(smallest_geometry(3, 5), Some(Geometry::W24));
        assert_eq!(smallest_geometry(3, 6), Some(Geometry::W96));
        assert_eq!(smallest_geometry(8, 0), Some(Geometry::W384));
        assert_eq!(smallest_geometry(40, 0), None);
    }
}
