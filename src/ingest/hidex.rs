//! Hidex 300 SL style exports: semicolon-separated `key;value` blocks, one block per sample
//! (`Sample;1`, `Position;A01`, `CPM;1234`, `DPM;…`, `Time;60`), blank lines between samples,
//! decimal comma allowed, an optional header block of `key;value` lines before the first
//! sample (protocol, date).
//!
//! Owns the block structure, the keys, grouping samples into plates (by a `Plate`/`Rack` key
//! when present, otherwise one plate per file) and the counting time (`Time`, in seconds as
//! the counter writes it; kept per plate in minutes). Does not own file reading or format
//! choice.

use std::collections::HashMap;
use std::path::Path;

use super::delimited::{Dialect, count, smallest_geometry};
use super::table::summarise_times;
use super::{BadCount, Cell, IngestError, PlateMeta, RawPlate, parse_error};
use crate::types::WellPos;

/// The `format` recorded in [`PlateMeta`] for these files.
pub const FORMAT: &str = "hidex";

/// Keys whose value names the plate/rack a sample belongs to.
const PLATE_KEYS: [&str; 4] = ["plate", "rack", "plate id", "barcode"];
/// Keys holding the well position.
const POSITION_KEYS: [&str; 3] = ["position", "pos", "well"];
/// Keys holding the counting time in seconds.
const TIME_KEYS: [&str; 4] = ["time", "count time", "counting time", "time (s)"];

/// The semicolon dialect of these files (decimal comma allowed).
const DIALECT: Dialect = Dialect { delim: ';', decimal_comma: true };

/// `key;value` of a line (key normalised to lower case), `None` for lines without `;`.
fn key_value(line: &str) -> Option<(String, String)> {
    if !line.contains(';') {
        return None;
    }
    let cells = DIALECT.split_n(line, 2);
    let key = cells.first()?.trim_end_matches(':').trim().to_lowercase();
    let value = cells.get(1).cloned().unwrap_or_default();
    Some((key, value))
}

/// True when, within the first 200 lines, there is a `Sample;` line, a `Position;` line and a
/// `CPM;` line.
#[must_use]
pub fn looks_like(text: &str) -> bool {
    let (mut sample, mut pos, mut cpm) = (false, false, false);
    for line in text.lines().take(200) {
        if let Some((k, _)) = key_value(line) {
            sample |= k == "sample";
            pos |= POSITION_KEYS.contains(&k.as_str());
            cpm |= k == "cpm";
        }
    }
    sample && pos && cpm
}

/// A plate being collected: id, wells (with the line of each) and counting times (min).
type HidexPlate = (String, HashMap<WellPos, (usize, Cell)>, Vec<f64>, Vec<BadCount>);

/// One sample block.
#[derive(Default)]
struct Sample {
    line: usize,
    fields: Vec<(usize, String, String)>,
}

impl Sample {
    fn get(&self, keys: &[&str]) -> Option<(usize, &str)> {
        self.fields
            .iter()
            .find(|(_, k, _)| keys.contains(&k.as_str()))
            .map(|(n, _, v)| (*n, v.as_str()))
    }
}

/// Parses a Hidex export. `signal` picks the count key (case-insensitive, e.g. `DPM`);
/// default `CPM`.
///
/// # Errors
/// [`IngestError::Parse`] naming the line: a sample without position or count, a bad well,
/// count or time, a position repeated on one plate, no sample at all.
pub fn parse(path: &Path, text: &str, signal: Option<&str>) -> Result<Vec<RawPlate>, IngestError> {
    let signal_key = signal.map_or_else(|| "cpm".to_string(), |s| s.trim().to_lowercase());
    let mut meta = PlateMeta { format: FORMAT, ..PlateMeta::default() };
    let mut samples: Vec<Sample> = Vec::new();
    let mut current: Option<Sample> = None;
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    for (i, line) in text.lines().enumerate() {
        let no = i + 1;
        if line.trim().is_empty() {
            samples.extend(current.take());
            continue;
        }
        let Some((key, value)) = key_value(line) else { continue };
        if key == "sample" {
            samples.extend(current.take());
            current = Some(Sample { line: no, fields: Vec::new() });
        } else if let Some(s) = current.as_mut() {
            s.fields.push((no, key, value));
        } else if key == "protocol" || key == "protocol name" || key == "assay" {
            meta.protocol.get_or_insert(value);
        } else if key == "date" || key == "date/time" || key == "measured" {
            meta.counted_at.get_or_insert(value);
        }
    }
    samples.extend(current);
    if samples.is_empty() {
        return Err(parse_error(path, 1, "expected sample blocks starting `Sample;1`; found none"));
    }
    let mut plates: Vec<HidexPlate> = Vec::new();
    let mut index: HashMap<String, usize> = HashMap::new();
    for s in &samples {
        let (pno, pcell) = s.get(&POSITION_KEYS).ok_or_else(|| {
            parse_error(path, s.line, "expected a `Position;A01` line in this sample block")
        })?;
        let pos = WellPos::parse(pcell).ok_or_else(|| {
            parse_error(
                path,
                pno,
                format!("expected a well like A01 after Position, found `{pcell}`"),
            )
        })?;
        let plate = s.get(&PLATE_KEYS).map_or("", |(_, v)| v).to_string();
        let what = if plate.is_empty() {
            format!("well {pos}")
        } else {
            format!("well {pos} of plate {plate}")
        };
        let (vno, vcell) = s.get(&[signal_key.as_str()]).ok_or_else(|| {
            parse_error(
                path,
                s.line,
                format!(
                    "{what}: expected a `{};…` line in this sample block",
                    signal_key.to_uppercase()
                ),
            )
        })?;
        let value = count(DIALECT, vcell);
        let time = match s.get(&TIME_KEYS) {
            Some((_, "" | "-")) | None => None,
            Some((tno, tcell)) => Some(
                DIALECT.number(tcell).filter(|t| *t >= 0.0).ok_or_else(|| {
                    parse_error(
                        path,
                        tno,
                        format!("{what}: counting time `{tcell}` is not a number of seconds"),
                    )
                })? / 60.0,
            ),
        };
        let k = *index.entry(plate.clone()).or_insert_with(|| {
            plates.push((plate.clone(), HashMap::new(), Vec::new(), Vec::new()));
            plates.len() - 1
        });
        let entry = &mut plates[k];
        entry.2.extend(time);
        entry.3.extend(value.bad(pos, vno));
        if let Some((first, _)) = entry.1.insert(pos, (pno, value)) {
            return Err(parse_error(
                path,
                pno,
                format!(
                    "{what} appears twice (lines {first} and {pno}); expected one sample per well"
                ),
            ));
        }
    }
    let all = plates.iter().flat_map(|p| p.1.keys());
    let max_row = all.clone().map(|p| p.row).max().unwrap_or(0);
    let max_col = all.map(|p| p.col).max().unwrap_or(0);
    let geometry = smallest_geometry(max_row, max_col).ok_or_else(|| {
        parse_error(path, 1, "expected positions within a 32x48 plate; some lie beyond AF48")
    })?;
    meta.signal = signal.map_or("CPM", str::trim).to_string();
    let mut out = Vec::with_capacity(plates.len());
    for (i, (id, wells, times, bad)) in plates.into_iter().enumerate() {
        let mut values = vec![None; geometry.len()];
        for (pos, (no, v)) in &wells {
            let idx = geometry.index(*pos).ok_or_else(|| {
                parse_error(path, *no, format!("well {pos} lies outside the {geometry} plate"))
            })?;
            values[idx] = v.value();
        }
        let mut meta = meta.clone();
        meta.bad_counts = bad;
        meta.counting_minutes = summarise_times(&times, &mut meta.warnings);
        out.push(RawPlate {
            source: path.to_path_buf(),
            index_in_file: i + 1,
            label: if id.is_empty() { format!("plate {}", i + 1) } else { id },
            geometry,
            values,
            meta,
        });
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn key_values() {
        assert_eq!(key_value("CPM;1234,5"), Some(("cpm".into(), "1234,5".into())));
        assert_eq!(key_value("Position:;A01;"), Some(("position".into(), "A01".into())));
        assert_eq!(key_value("no separator"), None);
    }
}
