//! PerkinElmer/Wallac MicroBeta workstation result files: reading ([`parse`]) and writing
//! ([`write`], used by the simulator to produce realistic sample data).
//!
//! Owns the layout of these files: the `RUN INFORMATION:` block (protocol, date, warnings),
//! the `COLUMNS:` list (one line per counted well, row by row or column by column, positions
//! restarting once per plate) and
//! the `PLATES:` block (one matrix per label per plate, `-` = not counted). When both the list
//! and the matrices are present the matrices are used and the list must agree with them.
//!
//! A file that breaks inside its `PLATES:` block (a truncated export) yields the plates whose
//! matrices are complete ([`parse_partial`]); the COLUMNS list before the block, when there is
//! one, says how many plates the file holds (one run of positions per counted plate).
//!
//! Does not own decoding, size checks or format detection of arbitrary files (see
//! [`crate::ingest`]), nor anything about what the wells contain.

use std::fmt::Write as _;
use std::path::Path;

use super::{
    BadCount, Cell, IngestError, Partial, PlateMeta, RawPlate, count_cell, parse_error,
    parse_number,
};
use crate::types::{Geometry, WellPos, row_label};

/// The `format` recorded in [`PlateMeta`] for these files.
pub const FORMAT: &str = "microbeta";

/// Advice appended to errors at the end of a file.
const TRUNCATED: &str = "the export looks truncated; export it again from the workstation";

/// True when the text looks like a MicroBeta result file.
#[must_use]
pub fn looks_like(text: &str) -> bool {
    text.contains("RUN INFORMATION:")
        || ((text.contains("PLATES:") || text.contains("COLUMNS:"))
            && text.contains("Cassette information"))
}

/// Parses a MicroBeta result file into one [`RawPlate`] per plate/cassette.
///
/// `signal` picks the label used as values (case-insensitive, e.g. `CCPM2`); `None` = the
/// first CPM-like label. `path` is used in messages and as [`RawPlate::source`]. A count cell
/// that is not a count (not a number, negative, implausibly large) leaves that well out and is
/// recorded in [`PlateMeta::bad_counts`].
///
/// # Errors
/// [`IngestError::Parse`] with the 1-based line and what was expected: a truncated file, a
/// malformed matrix or list line, an unknown signal, or a list that disagrees with the
/// matrices.
pub fn parse(path: &Path, text: &str, signal: Option<&str>) -> Result<Vec<RawPlate>, IngestError> {
    parse_partial(path, text, signal).into_result()
}

/// [`parse`], keeping the plates complete before an error inside the `PLATES:` block (or a
/// missing `END`), with the file's plate count from its COLUMNS list when the list was read
/// whole (the `PLATES:` block followed it) and agrees with those plates.
pub(crate) fn parse_partial(path: &Path, text: &str, signal: Option<&str>) -> Partial {
    let mut cur = Cursor::new(path, text);
    let mut file = FileBlocks::default();
    let mut ended = false;
    let mut in_plates = false;
    let mut error = None;
    while let Some((_, line)) = cur.next() {
        let step = match line.trim() {
            "RUN INFORMATION:" => {
                file.info = parse_run_info(&mut cur);
                Ok(())
            }
            "COLUMNS:" => parse_list(&mut cur).map(|l| file.list = Some(l)),
            "PLATES:" => {
                in_plates = true;
                parse_plates(&mut cur, &mut file.plates)
            }
            "END" => {
                ended = true;
                break;
            }
            _ => Ok(()),
        };
        if let Err(e) = step {
            error = Some(e);
            break;
        }
    }
    if error.is_none() && !ended {
        error = Some(cur.eof_error("expected the closing `END` line"));
    }
    let Some(error) = error else {
        // Read to the end: the file holds its plate blocks, unless its list disagrees.
        let blocks = file.plates.len();
        let agreed = file.list.as_ref().is_none_or(|l| split_list(&l.entries).len() == blocks);
        let mut p = Partial::whole(assemble(path, file, signal, false));
        if p.error.is_some() && blocks > 0 && agreed {
            p.count = Some(blocks);
        }
        return p;
    };
    if !in_plates || file.plates.is_empty() {
        return Partial { error: Some(error), ..Partial::default() };
    }
    let listed = file.list.as_ref().map(|l| split_list(&l.entries).len());
    let seen = file.plates.len() + usize::from(cur.partial_plate);
    match assemble(path, file, signal, true) {
        Ok(plates) => Partial { count: listed.filter(|&n| n >= seen), plates, error: Some(error) },
        Err(_) => Partial { error: Some(error), ..Partial::default() },
    }
}

/// What the file holds, block by block.
#[derive(Default)]
struct FileBlocks {
    info: RunInfo,
    list: Option<ListBlock>,
    plates: Vec<PlateBlock>,
}

/// The `RUN INFORMATION:` block.
#[derive(Default)]
struct RunInfo {
    protocol: Option<String>,
    counted_at: Option<String>,
    warnings: Vec<String>,
}

/// The `COLUMNS:` list.
struct ListBlock {
    header_line: usize,
    /// Count labels in column order (the `%` error columns left out).
    labels: Vec<String>,
    entries: Vec<ListEntry>,
}

/// One line of the `COLUMNS:` list.
struct ListEntry {
    line: usize,
    pos: WellPos,
    /// One count cell per [`ListBlock::labels`].
    values: Vec<Cell>,
}

/// One `Plate n` ... `End of plate n` block.
struct PlateBlock {
    number: usize,
    line: usize,
    geometry: Geometry,
    matrices: Vec<Matrix>,
}

/// One label's matrix within a plate.
struct Matrix {
    label: String,
    /// Row-major values (bad cells not counted).
    values: Vec<Option<f64>>,
    /// Cells that are not counts.
    bad: Vec<BadCount>,
    /// Line number of each matrix row.
    row_lines: Vec<usize>,
}

/// Lines of the file with their 1-based numbers.
struct Cursor<'a> {
    path: &'a Path,
    lines: Vec<&'a str>,
    pos: usize,
    /// A `Plate n` block was started but not completed.
    partial_plate: bool,
}

impl<'a> Cursor<'a> {
    fn new(path: &'a Path, text: &'a str) -> Self {
        let text = text.strip_prefix('\u{feff}').unwrap_or(text);
        Cursor { path, lines: text.lines().collect(), pos: 0, partial_plate: false }
    }

    /// The next line and its number, without consuming it.
    fn peek(&self) -> Option<(usize, &'a str)> {
        self.lines.get(self.pos).map(|l| (self.pos + 1, *l))
    }

    fn next(&mut self) -> Option<(usize, &'a str)> {
        let item = self.peek();
        self.pos += usize::from(item.is_some());
        item
    }

    /// Skips blank lines and `====` underlines.
    fn skip_filler(&mut self) {
        while self.peek().is_some_and(|(_, l)| is_filler(l)) {
            self.pos += 1;
        }
    }

    /// The next line, or a truncation error saying what was expected.
    fn expect(&mut self, what: &str) -> Result<(usize, &'a str), IngestError> {
        self.next().ok_or_else(|| self.eof_error(what))
    }

    fn error(&self, line: usize, message: impl Into<String>) -> IngestError {
        parse_error(self.path, line, message)
    }

    fn eof_error(&self, what: &str) -> IngestError {
        let last = self.lines.len();
        self.error(last, format!("file ends after line {last}; {what}; {TRUNCATED}"))
    }
}

fn is_filler(line: &str) -> bool {
    let t = line.trim();
    t.is_empty() || t.bytes().all(|b| b == b'=')
}

/// True for lines that start a top-level block or end the file.
fn is_block_start(line: &str) -> bool {
    let t = line.trim();
    matches!(t, "RUN INFORMATION:" | "COLUMNS:" | "PLATES:" | "END")
        || t.starts_with("Total count rate")
}

/// Tab-separated cells, trimmed.
fn cells(line: &str) -> Vec<&str> {
    line.split('\t').map(str::trim).collect()
}

/// Cells without the trailing empty ones (MicroBeta ends every line with a tab).
fn cells_trimmed(line: &str) -> Vec<&str> {
    let mut c = cells(line);
    while c.last().is_some_and(|s| s.is_empty()) {
        c.pop();
    }
    c
}

fn parse_run_info(cur: &mut Cursor<'_>) -> RunInfo {
    let mut info = RunInfo::default();
    while let Some((_, line)) = cur.peek().filter(|(_, l)| !is_block_start(l)) {
        cur.pos += 1;
        let t = line.trim();
        if let Some(rest) = t.strip_prefix("Counting protocol no:") {
            let rest = rest.trim_start();
            let date = rest.split_once(char::is_whitespace).map_or("", |(_, d)| d.trim());
            info.counted_at = (!date.is_empty()).then(|| date.to_string());
        } else if let Some(name) = t.strip_prefix("Name:") {
            info.protocol = Some(name.trim().to_string());
        } else if t.starts_with("***") {
            info.warnings.push(t.trim_start_matches('*').trim().to_string());
        }
    }
    info
}

fn parse_list(cur: &mut Cursor<'_>) -> Result<ListBlock, IngestError> {
    cur.skip_filler();
    let (header_line, header) =
        cur.expect("expected the COLUMNS header (SAMPLE, POS, CCPM1, ...)")?;
    let names = cells(header);
    let find = |n: &str| names.iter().position(|c| c.eq_ignore_ascii_case(n));
    let pos_col = find("POS").ok_or_else(|| {
        cur.error(
            header_line,
            "expected the COLUMNS header with a POS column (SAMPLE, POS, CCPM1, ...)",
        )
    })?;
    let sample_col = find("SAMPLE");
    let label_cols: Vec<usize> = (0..names.len())
        .filter(|&i| i != pos_col && Some(i) != sample_col)
        .filter(|&i| !names[i].is_empty() && !names[i].ends_with('%'))
        .collect();
    let labels = label_cols.iter().map(|&i| names[i].to_string()).collect();
    let mut entries = Vec::new();
    while let Some((no, line)) =
        cur.peek().filter(|(_, l)| !l.trim().is_empty() && !is_block_start(l))
    {
        cur.pos += 1;
        entries.push(parse_list_line(cur, no, line, pos_col, &label_cols, &names)?);
    }
    Ok(ListBlock { header_line, labels, entries })
}

fn parse_list_line(
    cur: &Cursor<'_>,
    no: usize,
    line: &str,
    pos_col: usize,
    label_cols: &[usize],
    names: &[&str],
) -> Result<ListEntry, IngestError> {
    let c = cells(line);
    let needed = label_cols.iter().copied().chain([pos_col]).max().unwrap_or(pos_col) + 1;
    if c.len() < needed {
        return Err(cur.error(
            no,
            format!(
                "expected {needed} tab-separated columns as in the COLUMNS header, found {}",
                c.len()
            ),
        ));
    }
    let pos = WellPos::parse(c[pos_col]).ok_or_else(|| {
        cur.error(
            no,
            format!("expected a well position like A01 in column POS, found `{}`", c[pos_col]),
        )
    })?;
    let values = label_cols.iter().map(|&i| parse_count(names[i], c[i])).collect();
    Ok(ListEntry { line: no, pos, values })
}

/// One count cell of `label`: `-` (or empty) = not counted, a number >= 0 = a count, else a bad
/// cell whose reason names the label.
fn parse_count(label: &str, cell: &str) -> Cell {
    match count_cell(cell, parse_number) {
        Cell::Bad(reason, negative) => Cell::Bad(format!("{label}: {reason}"), negative),
        ok => ok,
    }
}

/// Reads `Plate n` blocks into `plates` until the next top-level block; on an error the
/// complete blocks before it stay in `plates`.
fn parse_plates(cur: &mut Cursor<'_>, plates: &mut Vec<PlateBlock>) -> Result<(), IngestError> {
    loop {
        cur.skip_filler();
        let Some((no, line)) = cur.peek() else { break };
        if is_block_start(line) {
            break;
        }
        let number = line
            .trim()
            .strip_prefix("Plate")
            .and_then(|n| n.trim().parse::<usize>().ok())
            .ok_or_else(|| {
                cur.error(
                    no,
                    format!("expected `Plate n` or `Total count rate:`, found `{}`", line.trim()),
                )
            })?;
        cur.pos += 1;
        cur.partial_plate = true;
        plates.push(parse_plate(cur, number, no)?);
        cur.partial_plate = false;
    }
    Ok(())
}

fn parse_plate(
    cur: &mut Cursor<'_>,
    number: usize,
    line: usize,
) -> Result<PlateBlock, IngestError> {
    let end = format!("End of plate {number}");
    let mut geometry = None;
    let mut matrices = Vec::new();
    loop {
        let (no, text) = cur.expect(&format!("expected `{end}`"))?;
        let t = text.trim();
        if t.is_empty() || t == "Cassette information:" {
            continue;
        } else if t.starts_with("End of plate") {
            break;
        } else if t.starts_with("Assay:") {
            geometry = Some(parse_geometry(cur, no, t)?);
        } else if is_block_start(t) || t.starts_with("Plate ") {
            return Err(cur.error(no, format!("expected `{end}` before `{t}`; {TRUNCATED}")));
        } else {
            let g = geometry.ok_or_else(|| {
                let msg = format!("expected the `Assay:.../4*6` line with the geometry before {t}");
                cur.error(no, msg)
            })?;
            matrices.push(parse_matrix(cur, t, g)?);
        }
    }
    let geometry = geometry.ok_or_else(|| {
        cur.error(
            line,
            format!("plate {number} has no `Assay:...` line giving its geometry (e.g. 8*12)"),
        )
    })?;
    Ok(PlateBlock { number, line, geometry, matrices })
}

/// The geometry at the end of `Assay:-/Prot:16/.../Shelf: 1/4*6`.
fn parse_geometry(cur: &Cursor<'_>, no: usize, line: &str) -> Result<Geometry, IngestError> {
    let last = line.rsplit('/').next().unwrap_or("").trim();
    let parsed = last.split_once('*').and_then(|(r, c)| {
        Some(Geometry { rows: r.trim().parse().ok()?, cols: c.trim().parse().ok()? })
    });
    match parsed {
        Some(g) if !g.is_empty() && g.rows <= 32 && g.cols <= 48 => Ok(g),
        _ => Err(cur.error(
            no,
            format!(
                "expected the geometry as rows*cols (e.g. 8*12, at most 32*48) at the end of \
                 the Assay line, found `{last}`"
            ),
        )),
    }
}

fn parse_matrix(cur: &mut Cursor<'_>, label: &str, g: Geometry) -> Result<Matrix, IngestError> {
    cur.skip_filler();
    let (hno, header) =
        cur.expect(&format!("expected the column numbers of the {label} matrix"))?;
    let expected: Vec<String> = (1..=g.cols).map(|c| c.to_string()).collect();
    let found: Vec<&str> = cells_trimmed(header).into_iter().skip_while(|c| c.is_empty()).collect();
    if found != expected {
        return Err(cur.error(
            hno,
            format!(
                "expected the column numbers 1..{} above the {label} matrix, found `{}`",
                g.cols,
                header.trim()
            ),
        ));
    }
    let mut values = Vec::with_capacity(g.len());
    let mut bad = Vec::new();
    let mut row_lines = Vec::with_capacity(usize::from(g.rows));
    for r in 0..g.rows {
        let letter = row_label(r);
        let what = format!("expected row {letter} of the {label} matrix ({} values)", g.cols);
        let (no, line) = cur.expect(&what)?;
        let c = cells_trimmed(line);
        if c.first().copied() != Some(letter.as_str()) {
            return Err(cur.error(no, format!("{what}, found `{}`", line.trim())));
        }
        if c.len() - 1 != usize::from(g.cols) {
            return Err(cur.error(
                no,
                format!(
                    "expected {} values after row letter {letter}, found {}",
                    g.cols,
                    c.len() - 1
                ),
            ));
        }
        for (col, cell) in c[1..].iter().enumerate() {
            let pos = WellPos { row: r, col: u16::try_from(col).expect("col < g.cols") };
            let cell = parse_count(label, cell);
            bad.extend(cell.bad(pos, no));
            values.push(cell.value());
        }
        row_lines.push(no);
    }
    Ok(Matrix { label: label.to_string(), values, bad, row_lines })
}

/// Turns the parsed blocks into plates: matrices when present (checked against the list),
/// the list split into plates otherwise.
/// With `partial`, the plates are the complete ones of a broken file: the list may hold more.
fn assemble(
    path: &Path,
    file: FileBlocks,
    signal: Option<&str>,
    partial: bool,
) -> Result<Vec<RawPlate>, IngestError> {
    let FileBlocks { info, list, plates } = file;
    let (available, first_line) = match (&list, plates.first()) {
        (_, Some(p)) => (p.matrices.iter().map(|m| m.label.clone()).collect(), p.line),
        (Some(l), None) => (l.labels.clone(), l.header_line),
        (None, None) => {
            return Err(parse_error(
                path,
                1,
                "expected a COLUMNS: list or a PLATES: block with counts; the file has neither",
            ));
        }
    };
    let label = choose_signal(path, first_line, &available, signal)?;
    let meta = PlateMeta {
        format: FORMAT,
        signal: label.clone(),
        protocol: info.protocol,
        counted_at: info.counted_at,
        warnings: info.warnings,
        counting_minutes: None,
        bad_counts: Vec::new(),
        contents: None,
    };
    let mut out = if plates.is_empty() {
        let list = list.as_ref().expect("checked above: a list when there are no plates");
        plates_from_list(path, list, &label, &meta)?
    } else {
        plates_from_matrices(path, &plates, &label, &meta)?
    };
    if let (Some(list), false) = (&list, plates.is_empty()) {
        check_list(path, list, &plates, &label, &mut out, partial)?;
    }
    Ok(out)
}

/// The label used as signal: the requested one, or the first CPM-like one.
fn choose_signal(
    path: &Path,
    line: usize,
    available: &[String],
    signal: Option<&str>,
) -> Result<String, IngestError> {
    let found = match signal {
        Some(s) => available.iter().find(|a| a.eq_ignore_ascii_case(s.trim())),
        None => {
            available.iter().find(|a| a.to_ascii_uppercase().contains("CPM")).or(available.first())
        }
    };
    found.cloned().ok_or_else(|| {
        let wanted = signal.map_or("a count label".to_string(), |s| format!("signal `{s}`"));
        parse_error(path, line, format!(
            "expected {wanted}, but the file's labels are: {}; choose one of them as the signal",
            if available.is_empty() { "none".to_string() } else { available.join(", ") }
        ))
    })
}

fn plates_from_matrices(
    path: &Path,
    plates: &[PlateBlock],
    label: &str,
    meta: &PlateMeta,
) -> Result<Vec<RawPlate>, IngestError> {
    plates
        .iter()
        .enumerate()
        .map(|(i, p)| {
            let m = p.matrices.iter().find(|m| m.label == label).ok_or_else(|| {
                let have: Vec<&str> = p.matrices.iter().map(|m| m.label.as_str()).collect();
                parse_error(
                    path,
                    p.line,
                    format!(
                        "expected a {label} matrix in plate {}, found: {}",
                        p.number,
                        have.join(", ")
                    ),
                )
            })?;
            let mut meta = meta.clone();
            meta.bad_counts.clone_from(&m.bad);
            Ok(RawPlate {
                source: path.to_path_buf(),
                index_in_file: i + 1,
                label: format!("Plate {}", p.number),
                geometry: p.geometry,
                values: m.values.clone(),
                meta,
            })
        })
        .collect()
}

/// Splits the list into plates: a new plate starts when a position does not come after the
/// previous one in the list's order (positions restart once per plate).
///
/// The order is row by row (A01, A02, ..., B01) unless the list runs column by column (A01,
/// B01, ..., H01, A02): some step goes back to row A of a later column and no step goes back
/// to column 1 of a later row. (Read row by row, such a list would be one plate per column.)
fn split_list(entries: &[ListEntry]) -> Vec<&[ListEntry]> {
    let by_row = |p: WellPos| (p.row, p.col);
    let by_col = |p: WellPos| (p.col, p.row);
    let steps = || entries.windows(2).map(|w| (w[0].pos, w[1].pos));
    let column_order = steps().any(|(a, b)| by_row(b) < by_row(a) && by_col(b) > by_col(a))
        && !steps().any(|(a, b)| by_row(b) > by_row(a) && by_col(b) < by_col(a));
    let key = |p: WellPos| if column_order { by_col(p) } else { by_row(p) };
    let mut groups = Vec::new();
    let mut start = 0;
    for i in 1..entries.len() {
        if key(entries[i].pos) <= key(entries[i - 1].pos) {
            groups.push(&entries[start..i]);
            start = i;
        }
    }
    if !entries.is_empty() {
        groups.push(&entries[start..]);
    }
    groups
}

fn plates_from_list(
    path: &Path,
    list: &ListBlock,
    label: &str,
    meta: &PlateMeta,
) -> Result<Vec<RawPlate>, IngestError> {
    let col =
        list.labels.iter().position(|l| l == label).expect("label chosen from the list labels");
    let max_row = list.entries.iter().map(|e| e.pos.row).max().unwrap_or(0);
    let max_col = list.entries.iter().map(|e| e.pos.col).max().unwrap_or(0);
    let geometry = Geometry::STANDARD
        .into_iter()
        .find(|g| g.rows > max_row && g.cols > max_col)
        .ok_or_else(|| {
            parse_error(
                path,
                list.header_line,
                "expected wells within a 32x48 plate; the list has positions beyond AF48",
            )
        })?;
    let mut out = Vec::new();
    for (i, group) in split_list(&list.entries).into_iter().enumerate() {
        let mut values = vec![None; geometry.len()];
        let mut meta = meta.clone();
        for e in group {
            values[geometry.index(e.pos).expect("geometry holds every listed position")] =
                e.values[col].value();
            meta.bad_counts.extend(e.values[col].bad(e.pos, e.line));
        }
        out.push(RawPlate {
            source: path.to_path_buf(),
            index_in_file: i + 1,
            label: format!("Plate {}", i + 1),
            geometry,
            values,
            meta,
        });
    }
    Ok(out)
}

/// Checks that every list entry agrees with the matrices of its plate (for every label that
/// has both a list column and a matrix); wells counted in the signal matrix but missing from
/// the list become a warning on that plate.
fn check_list(
    path: &Path,
    list: &ListBlock,
    plates: &[PlateBlock],
    label: &str,
    out: &mut [RawPlate],
    partial: bool,
) -> Result<(), IngestError> {
    let groups = split_list(&list.entries);
    for (k, group) in groups.iter().enumerate() {
        let (Some(plate), Some(raw)) = (plates.get(k), out.get_mut(k)) else {
            if partial {
                break;
            }
            return Err(parse_error(
                path,
                group[0].line,
                format!(
                    "the COLUMNS list holds {} plates (its positions restart at this line) but \
                     the PLATES block has {}; expected one list run per plate",
                    groups.len(),
                    plates.len()
                ),
            ));
        };
        for (col, lab) in list.labels.iter().enumerate() {
            if let Some(m) = plate.matrices.iter().find(|m| &m.label == lab) {
                for e in *group {
                    check_entry(path, plate, m, e, &e.values[col])?;
                }
            }
        }
        let m = plate.matrices.iter().find(|m| m.label == label).expect("checked when building");
        let counted = m.values.iter().filter(|v| v.is_some()).count();
        if counted > group.len() {
            raw.meta.warnings.push(format!(
                "COLUMNS list omits {} of the {counted} wells counted in the {label} matrix; \
                 the matrix values are used",
                counted - group.len()
            ));
        }
    }
    Ok(())
}

fn check_entry(
    path: &Path,
    plate: &PlateBlock,
    m: &Matrix,
    e: &ListEntry,
    cell: &Cell,
) -> Result<(), IngestError> {
    let listed = cell.value();
    let idx = plate.geometry.index(e.pos).ok_or_else(|| {
        parse_error(
            path,
            e.line,
            format!("well {} lies outside plate {} ({})", e.pos, plate.number, plate.geometry),
        )
    })?;
    let in_matrix = m.values[idx];
    let same = match (listed, in_matrix) {
        (Some(a), Some(b)) => (a - b).abs() <= 1e-9 * a.abs().max(b.abs()).max(1.0),
        (a, b) => a.is_none() && b.is_none(),
    };
    if same {
        return Ok(());
    }
    let show = |v: Option<f64>| v.map_or("-".to_string(), |v| v.to_string());
    let shown_listed = match cell {
        Cell::Bad(reason, _) => format!("a cell that is not a count ({reason})"),
        Cell::Count(v) => show(*v),
    };
    let mline = m.row_lines[usize::from(e.pos.row)];
    Err(parse_error(
        path,
        e.line,
        format!(
            "the COLUMNS list gives {} = {} for plate {} but the {} matrix on line {mline} \
             gives {}; the list and the matrices must agree, export the file again",
            e.pos,
            shown_listed,
            plate.number,
            m.label,
            show(in_matrix)
        ),
    ))
}

/// One plate to write with [`write`].
#[derive(Debug, Clone, PartialEq)]
pub struct WriteablePlate {
    /// Rows x columns (written as `rows*cols` on the `Assay:` line).
    pub geometry: Geometry,
    /// Counts per well, row-major, `geometry.len()` of them (extra ones are ignored, missing
    /// ones are not counted); `None` = not counted (`-`, left out of the list). Values must be
    /// finite and >= 0; anything else is written as not counted.
    pub values: Vec<Option<f64>>,
    /// The counting label, e.g. `CCPM1`. The file uses the first plate's label for all plates.
    pub label: String,
}

/// Writes plates as a MicroBeta result file (RUN INFORMATION, COLUMNS list with the label and
/// its counting error %, PLATES with matrices, Total count rate, END), readable by [`parse`].
///
/// Whole counts are written as integers, others in Rust's shortest exact form, so reading the
/// text back gives the same values. The counting error is `200/sqrt(max(count, 1))`.
#[must_use]
pub fn write(plates: &[WriteablePlate], protocol_name: &str, counted_at: &str) -> String {
    let label = plates.first().map_or("CCPM1", |p| p.label.as_str());
    let mut s = String::new();
    s.push_str("C:\\mbw\\results\\radbind_sim.txt\n");
    s.push_str("RUN INFORMATION:\n================\n");
    let _ = writeln!(s, "{:<58}{counted_at}", "Counting protocol no: 1");
    let _ = writeln!(s, "Name: {protocol_name}\nCPM normalization protocol no:  1\n\n");
    let _ = writeln!(s, "COLUMNS:\n========\n \tSAMPLE\tPOS\t{label}\t{label}%\t");
    let mut total = 0.0;
    for (k, p) in plates.iter().enumerate() {
        for (i, v) in p.values.iter().take(p.geometry.len()).enumerate() {
            if let Some(v) = writable(*v) {
                total += v;
                let err = 200.0 / v.max(1.0).sqrt();
                let sample = k * p.geometry.len() + i + 1;
                let _ = writeln!(
                    s,
                    " \tUnk_{sample}\t{}\t{}\t{err:.1}\t",
                    p.geometry.pos(i),
                    fmt_count(Some(v))
                );
            }
        }
    }
    s.push_str("\nPLATES:\n=======\n");
    for (k, p) in plates.iter().enumerate() {
        write_plate(&mut s, k + 1, k + 1 == plates.len(), p, label);
    }
    let unit = label.trim_end_matches(|c: char| c.is_ascii_digit());
    let _ = writeln!(s, "Total count rate:{total:>11.1} {unit}\nEND");
    s
}

fn write_plate(s: &mut String, n: usize, last: bool, p: &WriteablePlate, label: &str) {
    let (prot, func) = match (n, last) {
        (1, true) => ("1", "STOP"),
        (1, false) => ("1", "-"),
        (_, true) => ("-", "STOP"),
        _ => ("-", "-"),
    };
    let g = p.geometry;
    let _ = writeln!(s, "Plate {n}\nCassette information:");
    let _ = writeln!(
        s,
        "Assay:-/Prot:{prot}/Cass:{prot}/Func:{func}/Cassette no:{n:>4}/Shelf:{n:>2}/{}*{}",
        g.rows, g.cols
    );
    let _ = writeln!(s, "\n\n{label}\n");
    s.push_str(" \t");
    for c in 1..=g.cols {
        let _ = write!(s, "{c}\t");
    }
    s.push('\n');
    for r in 0..g.rows {
        let _ = write!(s, "{}\t", row_label(r));
        for c in 0..g.cols {
            let v = g
                .index(WellPos { row: r, col: c })
                .and_then(|i| p.values.get(i).copied().flatten());
            let _ = write!(s, "{}\t", fmt_count(writable(v)));
        }
        s.push('\n');
    }
    let _ = writeln!(s, "\nEnd of plate {n}");
}

/// The value when it can be written as a count.
fn writable(v: Option<f64>) -> Option<f64> {
    v.filter(|v| v.is_finite() && *v >= 0.0)
}

fn fmt_count(v: Option<f64>) -> String {
    match v {
        None => "-".to_string(),
        Some(v) if v.fract() == 0.0 && v.abs() < 1e15 => format!("{v:.0}"),
        Some(v) => v.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(well: &str) -> ListEntry {
        ListEntry { line: 0, pos: WellPos::parse(well).expect("test well"), values: vec![] }
    }

    #[test]
    fn list_splits_where_positions_restart() {
        let e: Vec<ListEntry> = ["A01", "A02", "D06", "A01", "D05", "D06", "D06"].map(entry).into();
        let sizes: Vec<usize> = split_list(&e).iter().map(|g| g.len()).collect();
        assert_eq!(sizes, [3, 3, 1]);
        assert!(split_list(&[]).is_empty());
    }

    #[test]
    fn list_in_column_order_splits_into_plates() {
        let wells: Vec<String> =
            (1..=12).flat_map(|c| ('A'..='H').map(move |r| format!("{r}{c:02}"))).collect();
        let e: Vec<ListEntry> = wells.iter().chain(&wells).map(|w| entry(w)).collect();
        let sizes: Vec<usize> = split_list(&e).iter().map(|g| g.len()).collect();
        assert_eq!(sizes, [96, 96]);
        // Row order is unchanged.
        let rows: Vec<String> =
            ('A'..='H').flat_map(|r| (1..=12).map(move |c| format!("{r}{c:02}"))).collect();
        let e: Vec<ListEntry> = rows.iter().chain(&rows).map(|w| entry(w)).collect();
        let sizes: Vec<usize> = split_list(&e).iter().map(|g| g.len()).collect();
        assert_eq!(sizes, [96, 96]);
    }

    #[test]
    fn geometry_from_assay_line() {
        let cur = Cursor::new(Path::new("x"), "");
        let g = parse_geometry(
            &cur,
            3,
            "Assay:-/Prot:16/Cass:16/Func:-/Cassette no:   1/Shelf: 1/8*12",
        );
        assert_eq!(g.expect("8*12"), Geometry::W96);
        assert!(parse_geometry(&cur, 3, "Assay:-/Shelf: 1/8x12").is_err());
    }

    #[test]
    fn signal_defaults_to_first_cpm_like_label() {
        let labels = ["DPM1", "CCPM2", "CCPM1"].map(String::from);
        let p = Path::new("x");
        assert_eq!(choose_signal(p, 1, &labels, None).expect("default"), "CCPM2");
        assert_eq!(choose_signal(p, 1, &labels, Some("dpm1")).expect("chosen"), "DPM1");
        assert_eq!(choose_signal(p, 1, &labels[..1], None).expect("fallback"), "DPM1");
        assert!(choose_signal(p, 1, &labels, Some("CPM9")).is_err());
    }

    #[test]
    fn counts_are_written_exactly() {
        assert_eq!(fmt_count(Some(1976.0)), "1976");
        assert_eq!(fmt_count(Some(12.25)), "12.25");
        assert_eq!(fmt_count(None), "-");
        assert_eq!(writable(Some(-1.0)), None);
    }
}
