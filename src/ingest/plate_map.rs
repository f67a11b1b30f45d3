//! Plate map CSV: what each well holds (role, compound, concentration), one line per well, as
//! an alternative to a YAML layout. Comma, semicolon or tab delimited, decimal comma allowed
//! with `;`/tab, BOM and CRLF tolerated, header optional.
//!
//! Owns the file's columns, the role vocabulary ([`ROLES`]) and concentration parsing (a unit
//! in the cell, `10 uM`, or a plain number in nM). Does not apply the map to plates: that is
//! the layout stage's job.

use std::collections::HashMap;
use std::path::Path;

use super::delimited::{Dialect, numbered};
use super::{IngestError, MAX_FILE_BYTES, decode, parse_error};
use crate::types::WellPos;
use crate::units::parse_conc_nm;

/// Roles a plate map may give a well.
pub const ROLES: [&str; 7] = ["total", "nsb", "blank", "vehicle", "sample", "primary", "empty"];

/// What one well holds.
#[derive(Debug, Clone, PartialEq)]
pub struct PlateMapEntry {
    /// The well.
    pub well: WellPos,
    /// One of [`ROLES`], lower case.
    pub role: String,
    /// Compound (required for `sample`).
    pub compound: Option<String>,
    /// Concentration in nM (required for `sample`).
    pub conc_nm: Option<f64>,
    /// 1-based line of the entry in the map file (for messages).
    pub line: usize,
}

/// A plate map: one entry per listed well, in file order.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct PlateMap {
    /// Entries in file order.
    pub entries: Vec<PlateMapEntry>,
}

/// Reads a plate map CSV.
///
/// # Errors
/// [`IngestError::Io`] when the file cannot be read, [`IngestError::Parse`] naming the line as
/// [`parse_plate_map`].
pub fn read_plate_map(path: &Path) -> Result<PlateMap, IngestError> {
    let io_err = |source| IngestError::Io { path: path.to_path_buf(), source };
    let bytes = super::file::read_regular(path, MAX_FILE_BYTES).map_err(io_err)?;
    let (text, _) = decode(&bytes)
        .map_err(|why| IngestError::UnknownFormat { path: path.to_path_buf(), why })?;
    parse_plate_map(path, &text)
}

/// Header names of the columns (case-insensitive).
const WELL_NAMES: [&str; 3] = ["well", "pos", "position"];
const ROLE_NAMES: [&str; 3] = ["role", "type", "content"];
const COMPOUND_NAMES: [&str; 4] = ["compound", "competitor", "ligand", "drug"];
/// Concentration columns whose plain numbers are nM (units in the cell are always honoured).
const CONC_NAMES: [&str; 6] =
    ["concentration", "conc", "conc_nm", "conc (nm)", "concentration (nm)", "concentration_nm"];

/// Role aliases labs use, mapped to [`ROLES`].
pub(crate) fn role(s: &str) -> Option<&'static str> {
    let s = s.trim().to_lowercase();
    let r = match s.as_str() {
        "total" | "tb" | "b0" | "max" | "total binding" => "total",
        "nsb" | "ns" | "min" | "non-specific" | "nonspecific" | "non-specific binding" => "nsb",
        "blank" | "background" | "bkg" => "blank",
        "vehicle" | "veh" | "dmso" => "vehicle",
        "sample" | "compound" | "test" | "competitor" => "sample",
        "primary" | "screen" | "single" | "single_concentration" => "primary",
        "empty" | "unused" | "-" | "" => "empty",
        _ => return None,
    };
    Some(r)
}

/// Parses plate map text; `path` is used in messages only.
///
/// Columns are found by header name (well/pos, role/type, compound, concentration/conc/conc_nm);
/// without a header they are well, role, compound, concentration in that order.
/// Concentrations carry a unit (`10 uM`, `3e-9 M`) or are plain numbers in nM.
///
/// # Errors
/// [`IngestError::Parse`] naming the line: a missing column, a bad well or role, a well listed
/// twice, a sample without compound or concentration, a bad or negative concentration, no
/// entries.
pub fn parse_plate_map(path: &Path, text: &str) -> Result<PlateMap, IngestError> {
    let lines = numbered(text);
    let Some(&(first_no, first)) = lines.first() else {
        return Err(parse_error(
            path,
            1,
            "the plate map is empty; expected lines of well,role,compound,concentration",
        ));
    };
    let d = Dialect::of(first);
    let head = d.split(first);
    let has_header = head.first().and_then(|c| WellPos::parse(c)).is_none();
    let find = |names: &[&str]| {
        head.iter().position(|h| names.iter().any(|n| h.trim().eq_ignore_ascii_case(n)))
    };
    let (well, role_col, compound, conc) = if has_header {
        let well = find(&WELL_NAMES).ok_or_else(|| {
            parse_error(
                path,
                first_no,
                format!(
                    "expected a header with a well column (well/pos), a role column and \
                     optional compound and concentration columns; the header has: {}",
                    head.join(", ")
                ),
            )
        })?;
        let role_col = find(&ROLE_NAMES).ok_or_else(|| {
            parse_error(
                path,
                first_no,
                format!("expected a role column (role/type); the header has: {}", head.join(", ")),
            )
        })?;
        (well, role_col, find(&COMPOUND_NAMES), find(&CONC_NAMES))
    } else {
        (0, 1, Some(2), Some(3))
    };
    let mut seen: HashMap<WellPos, usize> = HashMap::new();
    let mut entries = Vec::new();
    for &(no, line) in &lines[usize::from(has_header)..] {
        let cells = d.split(line);
        if cells.iter().all(String::is_empty) {
            continue;
        }
        let cell = |i: Option<usize>| i.and_then(|i| cells.get(i)).map_or("", String::as_str);
        let wcell = cell(Some(well));
        let pos = WellPos::parse(wcell).ok_or_else(|| {
            parse_error(
                path,
                no,
                format!("expected a well like A01 in the well column, found `{wcell}`"),
            )
        })?;
        let rcell = cell(Some(role_col));
        let r = role(rcell).ok_or_else(|| {
            parse_error(
                path,
                no,
                format!("well {pos}: unknown role `{rcell}`; expected one of {}", ROLES.join(", ")),
            )
        })?;
        // Compound names reach file names, XML, CSV, HTML and the terminal: made safe here.
        let comp = Some(cell(compound))
            .filter(|c| !c.is_empty())
            .map(|c| crate::units::printable(c).into_owned());
        let ccell = cell(conc);
        let conc_nm = if ccell.is_empty() || ccell == "-" {
            None
        } else {
            let plain = if d.decimal_comma { ccell.replace(',', ".") } else { ccell.to_string() };
            let v = super::parse_number(&plain).or_else(|| parse_conc_nm(&plain)).ok_or_else(|| {
                parse_error(
                    path,
                    no,
                    format!(
                        "well {pos}: concentration `{ccell}` not understood; expected a number in nM \
                         or a value with a unit (M, mM, uM, nM, pM)"
                    ),
                )
            })?;
            if v < 0.0 {
                return Err(parse_error(
                    path,
                    no,
                    format!("well {pos}: concentration `{ccell}` is negative"),
                ));
            }
            Some(v)
        };
        if r == "sample" && (comp.is_none() || conc_nm.is_none()) {
            return Err(parse_error(
                path,
                no,
                format!("well {pos}: a sample well needs a compound and a concentration"),
            ));
        }
        if r == "primary" && comp.is_none() {
            return Err(parse_error(
                path,
                no,
                format!("well {pos}: a primary (single-concentration) well needs a compound"),
            ));
        }
        if let Some(first) = seen.insert(pos, no) {
            return Err(parse_error(
                path,
                no,
                format!(
                    "well {pos} is listed twice (lines {first} and {no}); expected one line per well"
                ),
            ));
        }
        entries.push(PlateMapEntry {
            well: pos,
            role: r.to_string(),
            compound: comp,
            conc_nm,
            line: no,
        });
    }
    if entries.is_empty() {
        return Err(parse_error(path, first_no, "the plate map has a header but no wells"));
    }
    Ok(PlateMap { entries })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn roles_and_aliases() {
        assert_eq!(role("B0"), Some("total"));
        assert_eq!(role(" NSB "), Some("nsb"));
        assert_eq!(role("unused"), Some("empty"));
        assert_eq!(role("foo"), None);
    }
}
