//! Instrument count tables: TopCount and MicroBeta2 style delimited exports, one line per well
//! with a plate id or barcode, a well position, a count (CPM, optionally DPM) and often the
//! counting time, usually after a preamble of `key,value` lines.
//!
//! Owns the column map ([`ColumnMap`]: which header names hold plate, well, value and time;
//! matched case-insensitively), finding the header line after the preamble, grouping lines
//! into plates by the plate column, inferring the geometry, and the counting time per plate
//! ([`PlateMeta::counting_minutes`]). Shares the delimiter/decimal-comma rules and count
//! checks with [`super::delimited`]. Does not own file reading or format choice.

use std::collections::HashMap;
use std::path::Path;

use super::delimited::{Dialect, bad_counts, numbered, plate_well_count, smallest_geometry};
use super::{Cell, IngestError, PlateMeta, RawPlate, parse_error};
use crate::types::WellPos;

/// The `format` recorded in [`PlateMeta`] for count tables.
pub const FORMAT: &str = "count-table";

/// Header names tried for the plate column when [`ColumnMap::plate`] is empty.
pub const PLATE_NAMES: [&str; 11] = [
    "plate",
    "plate_id",
    "plate id",
    "plateid",
    "plate no",
    "plateno",
    "plate number",
    "barcode",
    "plate barcode",
    "plate_barcode",
    "platebarcode",
];
/// Header names tried for the well column when [`ColumnMap::well`] is empty.
pub const WELL_NAMES: [&str; 7] =
    ["well", "pos", "position", "well position", "wellpos", "well id", "well_id"];
/// Header names tried (in this order) for the value column when [`ColumnMap::value`] is empty.
pub const VALUE_NAMES: [&str; 7] =
    ["cpm", "ccpm", "ccpm1", "corrected cpm", "cpm1", "counts", "value"];
/// Header names tried for the counting-time column when [`ColumnMap::time`] is `None`.
pub const TIME_NAMES: [&str; 10] = [
    "time",
    "time (min)",
    "time(min)",
    "count time",
    "counting time",
    "count time (min)",
    "time (s)",
    "time(s)",
    "count time (s)",
    "counting time (s)",
];

/// Which columns of a count table hold what. Header names are matched case-insensitively with
/// surrounding spaces ignored. An empty name means "try the usual names" ([`PLATE_NAMES`],
/// [`WELL_NAMES`], [`VALUE_NAMES`], [`TIME_NAMES`]), so `ColumnMap::default()` reads the usual
/// TopCount/MicroBeta2 headers.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ColumnMap {
    /// Plate id or barcode column (`Plate`, `Barcode`).
    pub plate: String,
    /// Well position column (`Well`, `Pos`).
    pub well: String,
    /// Count column used as the signal (`CPM`, `DPM`).
    pub value: String,
    /// Counting time column. Minutes, unless the header says seconds (`Time (s)`, `sec`);
    /// `hh:mm:ss` cells are read as such. `None` = use one of [`TIME_NAMES`] if present.
    pub time: Option<String>,
    /// Lines before the header to skip (preamble). 0 = the header is found automatically: the
    /// first line holding the plate, well and value columns.
    pub skip_lines: usize,
}

/// Normalised header text: lower case, inner whitespace collapsed, trimmed (one allocation:
/// every line before the header is normalised cell by cell while the header is looked for).
pub(crate) fn norm(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for word in s.split_whitespace() {
        if !out.is_empty() {
            out.push(' ');
        }
        if word.is_ascii() {
            out.extend(word.chars().map(|c| c.to_ascii_lowercase()));
        } else {
            out.extend(word.chars().flat_map(char::to_lowercase));
        }
    }
    out
}

/// Index of the first cell of the normalised header `head` ([`norm`]) matching `name`, or, when
/// `name` is empty, one of `fallback` (in the fallback's order).
fn find_col(head: &[String], name: &str, fallback: &[&str]) -> Option<usize> {
    if name.trim().is_empty() {
        fallback.iter().find_map(|n| head.iter().position(|h| h == n))
    } else {
        let want = norm(name);
        head.iter().position(|h| *h == want)
    }
}

/// Column indexes found in a header line.
struct Cols {
    plate: usize,
    well: usize,
    value: usize,
    time: Option<(usize, TimeUnit)>,
    signal: String,
}

/// Unit of the counting-time column.
#[derive(Clone, Copy)]
enum TimeUnit {
    Minutes,
    Seconds,
}

impl TimeUnit {
    fn of_header(h: &str) -> TimeUnit {
        let h = norm(h);
        if h.contains("(s)") || h.contains("[s]") || h.contains("sec") {
            TimeUnit::Seconds
        } else {
            TimeUnit::Minutes
        }
    }
}

/// What a line holds of a header under a column map.
enum Header {
    /// Plate, well and value columns: the header.
    Full(Cols),
    /// Plate and well columns but no value column (named in the error when no line is a header).
    NoValue,
    /// Not a header.
    No,
}

/// The columns of `head` under `map`, when plate, well and value are all present.
fn header(head: &[String], map: &ColumnMap, signal: Option<&str>) -> Option<Cols> {
    match classify(head, map, signal) {
        Header::Full(cols) => Some(cols),
        Header::NoValue | Header::No => None,
    }
}

/// How much of a header under `map` the cells `head` hold.
fn classify(head: &[String], map: &ColumnMap, signal: Option<&str>) -> Header {
    let normed: Vec<String> = head.iter().map(|h| norm(h)).collect();
    let (Some(plate), Some(well)) =
        (find_col(&normed, &map.plate, &PLATE_NAMES), find_col(&normed, &map.well, &WELL_NAMES))
    else {
        return Header::No;
    };
    let value_name = if map.value.trim().is_empty() { signal.unwrap_or("") } else { &map.value };
    let Some(value) = find_col(&normed, value_name, &VALUE_NAMES) else {
        return Header::NoValue;
    };
    let time = match &map.time {
        Some(t) => find_col(&normed, t, &[]),
        None => find_col(&normed, "", &TIME_NAMES),
    }
    .map(|i| (i, TimeUnit::of_header(&head[i])));
    Header::Full(Cols { plate, well, value, time, signal: head[value].clone() })
}

/// True when a line within the first 60 non-empty lines is a header with plate, well and CPM
/// columns under the usual names and the table is not a plain long table (the header is not
/// the first line, or a time or DPM column is present).
#[must_use]
pub fn looks_like(text: &str) -> bool {
    numbered(text).into_iter().take(60).enumerate().any(|(k, (_, line))| {
        let d = Dialect::of(line);
        let head = d.split(line);
        header(&head, &ColumnMap::default(), None).is_some_and(|c| {
            k > 0 || c.time.is_some() || head.iter().any(|h| norm(h).starts_with("dpm"))
        })
    })
}

/// Preamble keys whose value is kept as the protocol name.
const PROTOCOL_KEYS: [&str; 4] = ["protocol", "protocol name", "assay", "assay name"];
/// Preamble keys whose value is kept as the counting date/time.
const DATE_KEYS: [&str; 6] = ["date", "count date", "counted", "date/time", "datetime", "run date"];

/// Parses a count table with the column map `map`; `signal` names the value column when
/// `map.value` is empty.
///
/// # Errors
/// [`IngestError::Parse`] naming the line: no header with the mapped columns, a short line, a
/// bad well, count or time, a well listed twice on one plate, no data lines.
pub fn parse(
    path: &Path,
    text: &str,
    map: &ColumnMap,
    signal: Option<&str>,
) -> Result<Vec<RawPlate>, IngestError> {
    let lines: Vec<(usize, &str)> =
        numbered(text).into_iter().filter(|(no, _)| *no > map.skip_lines).collect();
    let (mut found, mut near) = (None, None);
    for (k, &(no, line)) in lines.iter().enumerate() {
        let d = Dialect::of(line);
        let head = d.split(line);
        match classify(&head, map, signal) {
            Header::Full(cols) => {
                found = Some((k, no, d, cols));
                break;
            }
            // The first line with the plate and well columns but not the value column: the
            // error says what it has.
            Header::NoValue if near.is_none() => near = Some((no, head)),
            Header::NoValue | Header::No => {}
        }
    }
    let Some((k, header_no, d, cols)) = found else {
        let name = |n: &str, dflt: &str| {
            if n.trim().is_empty() { dflt.to_string() } else { format!("`{n}`") }
        };
        let value = if map.value.trim().is_empty() { signal.unwrap_or("") } else { &map.value };
        if let Some((no, head)) = near {
            return Err(parse_error(
                path,
                no,
                format!(
                    "expected a value column named {}; the header has: {}",
                    name(value, "CPM/CCPM1/Counts"),
                    head.join(", ")
                ),
            ));
        }
        return Err(parse_error(
            path,
            map.skip_lines + 1,
            format!(
                "expected a header line with a plate column ({}), a well column ({}) and a \
                 value column ({}); no line from {} on has them",
                name(&map.plate, "Plate/Barcode"),
                name(&map.well, "Well/Pos"),
                name(value, "CPM/CCPM1/Counts"),
                map.skip_lines + 1
            ),
        ));
    };
    let mut meta =
        PlateMeta { format: FORMAT, signal: cols.signal.clone(), ..PlateMeta::default() };
    for &(_, line) in &lines[..k] {
        preamble_line(&mut meta, line);
    }
    let mut plates = Plates::default();
    for &(no, line) in &lines[k + 1..] {
        let cells = d.split(line);
        if cells.iter().all(String::is_empty) {
            continue;
        }
        plates.add(path, no, d, &cells, &cols)?;
    }
    plates.finish(path, header_no, &meta)
}

/// Keeps protocol and date from a `key,value` preamble line.
fn preamble_line(meta: &mut PlateMeta, line: &str) {
    let cells = Dialect::of(line).split(line);
    let mut it = cells.iter().filter(|c| !c.is_empty());
    let (Some(key), Some(value)) = (it.next(), it.next()) else { return };
    let key = norm(key.trim_end_matches(':'));
    if PROTOCOL_KEYS.contains(&key.as_str()) && meta.protocol.is_none() {
        meta.protocol = Some(value.clone());
    } else if DATE_KEYS.contains(&key.as_str()) && meta.counted_at.is_none() {
        meta.counted_at = Some(value.clone());
    }
}

/// Parses a counting time cell into minutes (`1.00`, `60` with seconds, `00:01:00`).
fn minutes(d: Dialect, cell: &str, unit: TimeUnit) -> Option<f64> {
    if cell.contains(':') {
        let parts: Vec<f64> = cell.split(':').map(|p| d.number(p)).collect::<Option<_>>()?;
        let secs = match parts.as_slice() {
            [m, s] => m * 60.0 + s,
            [h, m, s] => h * 3600.0 + m * 60.0 + s,
            _ => return None,
        };
        return Some(secs / 60.0).filter(|m| m.is_finite() && *m >= 0.0);
    }
    let v = d.number(cell)?;
    let m = match unit {
        TimeUnit::Minutes => v,
        TimeUnit::Seconds => v / 60.0,
    };
    (m >= 0.0).then_some(m)
}

/// Wells of one plate, with the line each came from.
struct Plate {
    id: String,
    wells: HashMap<WellPos, (usize, Cell)>,
    times: Vec<f64>,
}

/// Plates in order of first appearance.
#[derive(Default)]
struct Plates {
    plates: Vec<Plate>,
    index: HashMap<String, usize>,
}

impl Plates {
    fn add(
        &mut self,
        path: &Path,
        no: usize,
        d: Dialect,
        cells: &[String],
        cols: &Cols,
    ) -> Result<(), IngestError> {
        let (id, pos, value) =
            plate_well_count(path, no, d, cells, [cols.plate, cols.well, cols.value])?;
        let what = format!("well {pos} of plate {id}");
        let time = match cols.time {
            Some((i, unit)) => match cells.get(i).map(String::as_str).unwrap_or("") {
                "" | "-" => None,
                cell => Some(minutes(d, cell, unit).ok_or_else(|| {
                    parse_error(
                        path,
                        no,
                        format!(
                            "{what}: counting time `{cell}` is not a time; expected minutes \
                             (or seconds when the header says so) or hh:mm:ss"
                        ),
                    )
                })?),
            },
            None => None,
        };
        let k = *self.index.entry(id.clone()).or_insert_with(|| {
            self.plates.push(Plate { id: id.clone(), wells: HashMap::new(), times: Vec::new() });
            self.plates.len() - 1
        });
        let plate = &mut self.plates[k];
        plate.times.extend(time);
        if let Some((first, _)) = plate.wells.insert(pos, (no, value)) {
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

    fn finish(
        self,
        path: &Path,
        header_no: usize,
        meta: &PlateMeta,
    ) -> Result<Vec<RawPlate>, IngestError> {
        let all = self.plates.iter().flat_map(|p| p.wells.keys());
        let max_row = all.clone().map(|p| p.row).max();
        let max_col = all.map(|p| p.col).max();
        let (Some(max_row), Some(max_col)) = (max_row, max_col) else {
            return Err(parse_error(
                path,
                header_no,
                "expected one line per well after this header; the table has none",
            ));
        };
        let geometry = smallest_geometry(max_row, max_col).ok_or_else(|| {
            parse_error(
                path,
                header_no,
                "expected wells within a 32x48 plate; the table has wells beyond AF48",
            )
        })?;
        let mut out = Vec::with_capacity(self.plates.len());
        for (i, p) in self.plates.into_iter().enumerate() {
            let mut values = vec![None; geometry.len()];
            for (pos, (no, v)) in &p.wells {
                let idx = geometry.index(*pos).ok_or_else(|| {
                    parse_error(path, *no, format!("well {pos} lies outside the {geometry} plate"))
                })?;
                values[idx] = v.value();
            }
            let mut meta = meta.clone();
            meta.bad_counts = bad_counts(p.wells.iter());
            meta.counting_minutes = summarise_times(&p.times, &mut meta.warnings);
            let label = if p.id.is_empty() {
                meta.warnings.push("no plate id or barcode; wells grouped as one plate".into());
                format!("plate {}", i + 1)
            } else {
                p.id
            };
            out.push(RawPlate {
                source: path.to_path_buf(),
                index_in_file: i + 1,
                label,
                geometry,
                values,
                meta,
            });
        }
        Ok(out)
    }
}

/// The counting time of a plate: the common value, or the mean with a warning when wells
/// were counted for different times.
pub(crate) fn summarise_times(times: &[f64], warnings: &mut Vec<String>) -> Option<f64> {
    let first = *times.first()?;
    let (lo, hi) = times.iter().fold((first, first), |(lo, hi), &t| (lo.min(t), hi.max(t)));
    let mean = times.iter().sum::<f64>() / times.len() as f64;
    if hi - lo > 1e-9 * hi.abs().max(1.0) {
        warnings.push(format!(
            "counting time varies across wells ({lo} to {hi} min); the mean ({mean:.4} min) is kept"
        ));
    }
    Some(if hi - lo > 0.0 { mean } else { first })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn headers_match_case_insensitively() {
        let head: Vec<String> =
            ["Barcode", " WELL ", "Sample", "CCPM1", "Count Time (s)"].map(String::from).into();
        let c = header(&head, &ColumnMap::default(), None).unwrap();
        assert_eq!((c.plate, c.well, c.value), (0, 1, 3));
        assert!(matches!(c.time, Some((4, TimeUnit::Seconds))));
        let map = ColumnMap { value: "sample".into(), ..ColumnMap::default() };
        assert_eq!(header(&head, &map, None).unwrap().value, 2);
    }

    #[test]
    fn times_in_minutes() {
        let d = Dialect::of("a;b");
        assert_eq!(minutes(d, "1,5", TimeUnit::Minutes), Some(1.5));
        assert_eq!(minutes(d, "90", TimeUnit::Seconds), Some(1.5));
        assert_eq!(minutes(d, "00:01:30", TimeUnit::Minutes), Some(1.5));
        assert_eq!(minutes(d, "-1", TimeUnit::Minutes), None);
        assert_eq!(minutes(d, "1:2:3:4", TimeUnit::Minutes), None);
    }
}
