//! Concentration tables: long tables with one line per measurement, a concentration column
//! (its unit in the header, `Concentration (uM)`, `conc_nM`, `dose [µM]`, or configured), a
//! response column (CPM or any signal) and optional compound, target, replicate, plate and
//! role columns, as labs and papers publish dose-response data. No plates or wells.
//!
//! Owns the column map ([`TableColumns`]), the header's unit, and turning the lines into
//! plates: each plate-column value and target (in order of first appearance) becomes one
//! plate, whose wells hold the lines in table order (well 1 = the group's first line), on the
//! smallest standard plate that holds them (more than 1536 lines: several plates). What each
//! well holds (role, compound, concentration, replicate, line) is the plate's
//! [`TableContents`]; the layout stage lays the plate out from it.
//!
//! A line with concentration 0 is a zero-dose point of its compound's curve (no competitor:
//! total binding in a competition assay): it is fitted at the top plateau (`X = -inf`), as R's
//! drc does with its control rows. A role column (`total`, `nsb`, `blank`, `vehicle`, `sample`,
//! `empty` and their aliases, as in plate maps) makes lines control wells instead.
//!
//! A line whose response is not a usable count, or whose concentration or compound is missing
//! or not understood, is left out with its line number ([`super::BadCount`]); the rest of the
//! table is read.

use std::collections::HashMap;
use std::path::Path;

use super::delimited::{Dialect, numbered};
use super::table::{PLATE_NAMES, norm};
use super::{BadCount, IngestError, PlateMeta, RawPlate, count_cell, parse_error};
use crate::types::{Geometry, WellPos};
use crate::units::{nm_from_log10_molar, nm_per_unit, parse_conc_nm};

/// The `format` recorded in [`PlateMeta`] for plates read from a concentration table.
pub const FORMAT: &str = "concentration-table";

/// Header names (unit removed, lower case) tried for the concentration column.
pub const CONC_NAMES: [&str; 14] = [
    "concentration",
    "conc",
    "dose",
    "x",
    "competitor concentration",
    "inhibitor concentration",
    "ligand concentration",
    "concentration of competitor",
    "[competitor]",
    "[inhibitor]",
    "[ligand]",
    "log concentration",
    "log conc",
    "log dose",
];
/// Header names tried (in this order) for the response column.
pub const RESPONSE_NAMES: [&str; 14] = [
    "cpm", "ccpm", "ccpm1", "cpm1", "counts", "count", "dpm", "response", "signal", "value", "y",
    "bound", "binding", "% bound",
];
/// Header names tried for the compound column.
pub const COMPOUND_NAMES: [&str; 6] =
    ["compound", "competitor", "ligand", "drug", "inhibitor", "compound name"];
/// Header names tried for the target column.
pub const TARGET_NAMES: [&str; 3] = ["target", "receptor", "assay"];
/// Header names tried for the replicate column.
pub const REPLICATE_NAMES: [&str; 4] = ["replicate", "rep", "replicate no", "repl"];
/// Header names tried for the role column.
pub const ROLE_NAMES: [&str; 3] = ["role", "well type", "well role"];

/// Most lines on one plate made from a table (a 1536-well plate); a larger group continues on
/// further plates.
pub const MAX_WELLS: usize = 1536;

/// Which columns of a concentration table hold what (`columns:` in a config). Header names are
/// matched case-insensitively with inner spaces collapsed; a concentration column also matches
/// without its unit (`concentration: Conc` finds `Conc (uM)`). `None` = try the usual names
/// ([`CONC_NAMES`], [`RESPONSE_NAMES`], ...); the optional columns are then used when present.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TableColumns {
    /// Concentration column.
    pub concentration: Option<String>,
    /// Unit of the concentration column (`M`, `mM`, `uM`, `nM`, `pM`, `fM`, or `log M` for
    /// log10 molar), overriding the header's. Required when the header gives none.
    pub concentration_unit: Option<String>,
    /// Response column (CPM, DPM or any signal).
    pub response: Option<String>,
    /// Compound column. Without one, every line is one compound named after the file.
    pub compound: Option<String>,
    /// Target column (its values are target names of the config). Without one, the config's
    /// only target.
    pub target: Option<String>,
    /// Replicate column (kept with each point, shown in `wells.csv`).
    pub replicate: Option<String>,
    /// Plate column: lines of one plate value are laid out on one plate.
    pub plate: Option<String>,
    /// Role column (`total`, `nsb`, `blank`, `vehicle`, `sample`, `empty`).
    pub role: Option<String>,
    /// Lines before the header to skip. 0 = the header is the first line holding a
    /// concentration and a response column.
    pub skip_lines: usize,
}

/// What one well of a plate made from a table holds.
#[derive(Debug, Clone, PartialEq)]
pub struct TableRow {
    /// The well the line was placed in.
    pub well: WellPos,
    /// One of [`super::plate_map::ROLES`].
    pub role: &'static str,
    /// Compound (sample lines).
    pub compound: Option<String>,
    /// Concentration, nM (sample lines; 0 = zero dose).
    pub conc_nm: Option<f64>,
    /// The replicate column's value.
    pub replicate: Option<String>,
    /// 1-based line of the table (the row for an XLSX sheet).
    pub line: usize,
}

/// What a plate read from a concentration table holds, well by well.
#[derive(Debug, Clone, PartialEq)]
pub struct TableContents {
    /// The target column's value for the plate's lines (`None` without a target column).
    pub target: Option<String>,
    /// The header text of each column found (`skip_lines` as given), for `radbind init`.
    pub columns: TableColumns,
    /// One entry per line placed on the plate, in table order.
    pub rows: Vec<TableRow>,
}

/// How the concentration column's numbers are written.
#[derive(Debug, Clone, Copy, PartialEq)]
enum ConcUnit {
    /// A molar unit: nM per unit.
    Molar(f64),
    /// log10 of a molar unit (`log M`: log10 molar): nM per unit.
    Log(f64),
}

impl ConcUnit {
    /// A unit as written in a header or a config: a molar unit (lower-case `um`, `nm`, `pm`,
    /// `fm` accepted), or `log M`/`log(M)`/`log10 M`/`logM` for log10 molar.
    fn parse(text: &str) -> Option<ConcUnit> {
        let t = text.trim();
        let compact: String = t.chars().filter(|c| !c.is_whitespace()).collect();
        let lower = compact.to_lowercase();
        for prefix in ["log10", "log"] {
            if let Some(rest) = lower.strip_prefix(prefix) {
                let rest = rest.trim_start_matches(['(', '[']).trim_end_matches([')', ']']);
                if let Some(ConcUnit::Molar(f)) = ConcUnit::parse_molar(rest) {
                    return Some(ConcUnit::Log(f));
                }
            }
        }
        ConcUnit::parse_molar(&compact)
    }

    /// A cell's number in nM: `v f`, or `10^v f` for a log unit (log M: `10^(v + 9)` nM).
    fn nm(self, v: f64) -> f64 {
        match self {
            ConcUnit::Molar(f) => v * f,
            ConcUnit::Log(f) => nm_from_log10_molar(v) * f / 1e9,
        }
    }

    /// A molar unit (`M`, `uM`, `µM`, lower case `um`, `nm`, `pm`, `fm`, `mol/l`).
    fn parse_molar(compact: &str) -> Option<ConcUnit> {
        let lower_case = match compact {
            "um" | "UM" => Some(1e3),
            "nm" | "NM" => Some(1.0),
            "pm" | "PM" => Some(1e-3),
            "fm" | "FM" => Some(1e-6),
            "m" | "mol/l" | "mol/L" => Some(1e9),
            _ => None,
        };
        nm_per_unit(compact).or(lower_case).map(ConcUnit::Molar)
    }
}

/// A header cell split into its name (normalised) and the unit it names: `Concentration (uM)`,
/// `dose [µM]`, `conc_nM`, `conc nM`, `log(M)`.
fn header_unit(cell: &str) -> (String, Option<ConcUnit>) {
    let h = cell.trim();
    if let Some(close) = h.strip_suffix(')').or_else(|| h.strip_suffix(']')) {
        if let Some(i) = close.rfind(['(', '[']) {
            if let Some(u) = ConcUnit::parse(&close[i + 1..]) {
                let base = norm(&close[..i]);
                // `log(M)`, `log conc (M)`: the numbers are logarithms of the unit.
                let u = match u {
                    ConcUnit::Molar(f) if base.starts_with("log") => ConcUnit::Log(f),
                    u => u,
                };
                return (if base == "log" { "log concentration".into() } else { base }, Some(u));
            }
        }
    }
    if let Some(i) = h.rfind(['_', ' ']) {
        if let Some(u) = ConcUnit::parse(&h[i + 1..]) {
            return (norm(&h[..i]), Some(u));
        }
    }
    (norm(h), None)
}

/// The columns found in a header.
struct Cols {
    conc: usize,
    unit: Option<ConcUnit>,
    response: usize,
    compound: Option<usize>,
    target: Option<usize>,
    replicate: Option<usize>,
    plate: Option<usize>,
    role: Option<usize>,
}

/// The index of the column named `want` (any header matching it, the concentration column also
/// without its unit), or of the first of `usual` found.
fn find(head: &[String], bases: &[String], want: Option<&String>, usual: &[&str]) -> Option<usize> {
    let normed: Vec<String> = head.iter().map(|h| norm(h)).collect();
    match want {
        Some(w) => {
            let w = norm(w);
            normed.iter().position(|h| *h == w).or_else(|| bases.iter().position(|b| *b == w))
        }
        None => usual.iter().find_map(|n| {
            normed.iter().position(|h| h == n).or_else(|| bases.iter().position(|b| b == n))
        }),
    }
}

/// The columns of a header line under `map`: `Ok(None)` when it holds no concentration and
/// response column; `Err(key)` when an optional column named in `map` is missing.
fn header(head: &[String], map: &TableColumns) -> Result<Option<Cols>, &'static str> {
    let split: Vec<(String, Option<ConcUnit>)> = head.iter().map(|h| header_unit(h)).collect();
    let bases: Vec<String> = split.iter().map(|(b, _)| b.clone()).collect();
    let none: Vec<String> = vec![String::new(); head.len()];
    let conc = find(head, &bases, map.concentration.as_ref(), &CONC_NAMES);
    let response = find(head, &none, map.response.as_ref(), &RESPONSE_NAMES);
    let (Some(conc), Some(response)) = (conc, response) else {
        return Ok(None);
    };
    if conc == response {
        return Ok(None);
    }
    let optional = |want: Option<&String>, usual: &[&str], key: &'static str| match want {
        Some(_) => find(head, &none, want, usual).map(Some).ok_or(key),
        None => Ok(find(head, &none, None, usual)),
    };
    let unit = split[conc].1;
    Ok(Some(Cols {
        conc,
        unit,
        response,
        compound: optional(map.compound.as_ref(), &COMPOUND_NAMES, "compound")?,
        target: optional(map.target.as_ref(), &TARGET_NAMES, "target")?,
        replicate: optional(map.replicate.as_ref(), &REPLICATE_NAMES, "replicate")?,
        plate: optional(map.plate.as_ref(), &PLATE_NAMES, "plate")?,
        role: optional(map.role.as_ref(), &ROLE_NAMES, "role")?,
    }))
}

/// True when a line within the first 20 non-empty lines is a header with a concentration and a
/// response column under the usual names, and no well column (a table of wells is a plate
/// export, not a concentration table).
#[must_use]
pub fn looks_like(text: &str) -> bool {
    numbered(text).into_iter().take(20).any(|(_, line)| {
        let head = Dialect::of(line).split(line);
        let has_well = head.iter().any(|h| super::table::WELL_NAMES.contains(&norm(h).as_str()));
        !has_well && matches!(header(&head, &TableColumns::default()), Ok(Some(_)))
    })
}

/// One line of the table, read.
struct Line {
    no: usize,
    role: &'static str,
    compound: Option<String>,
    conc_nm: Option<f64>,
    replicate: Option<String>,
    cell: super::Cell,
    /// Why the line cannot be placed (left out, with the line number).
    bad: Option<String>,
}

/// Parses a concentration table; `path` names the file in messages and is the compound name
/// when the table has no compound column.
///
/// # Errors
/// [`IngestError::Parse`] naming the line: no header with a concentration and a response
/// column, a column named in `map` that the header lacks, no unit for the concentrations, an
/// unknown role, no data lines.
pub fn parse(path: &Path, text: &str, map: &TableColumns) -> Result<Vec<RawPlate>, IngestError> {
    let lines: Vec<(usize, &str)> =
        numbered(text).into_iter().filter(|(no, _)| *no > map.skip_lines).collect();
    let mut found = None;
    for (k, &(no, line)) in lines.iter().enumerate().take(60) {
        let d = Dialect::of(line);
        let head = d.split(line);
        match header(&head, map) {
            Ok(Some(cols)) => {
                found = Some((k, no, d, head, cols));
                break;
            }
            Ok(None) => {}
            Err(key) => {
                return Err(parse_error(
                    path,
                    no,
                    format!(
                        "`columns.{key}` names a column this header does not have; the header \
                         has: {}",
                        head.join(", ")
                    ),
                ));
            }
        }
    }
    let Some((k, header_no, d, head, cols)) = found else {
        let name =
            |n: &Option<String>, d: &str| n.as_ref().map_or(d.to_string(), |n| format!("`{n}`"));
        return Err(parse_error(
            path,
            map.skip_lines + 1,
            format!(
                "expected a header line with a concentration column ({}) and a response column \
                 ({}); no line from {} on has them (name them with `columns.concentration` and \
                 `columns.response`)",
                name(&map.concentration, "Concentration (uM), conc_nM, Dose"),
                name(&map.response, "CPM, Counts, Response, Signal"),
                map.skip_lines + 1
            ),
        ));
    };
    let unit = match &map.concentration_unit {
        Some(u) => ConcUnit::parse(u).ok_or_else(|| {
            parse_error(
                path,
                header_no,
                format!(
                    "`columns.concentration_unit: {u}` is not a unit radbind knows; use M, mM, \
                     uM, nM, pM, fM or log M"
                ),
            )
        })?,
        None => cols.unit.ok_or_else(|| {
            parse_error(
                path,
                header_no,
                format!(
                    "the concentration column `{}` does not say its unit; write it in the header \
                     (`{} (nM)`, `{}_uM`) or set `columns.concentration_unit` (M, mM, uM, nM, pM, \
                     fM or log M)",
                    head[cols.conc], head[cols.conc], head[cols.conc]
                ),
            )
        })?,
    };
    let file_compound = path
        .file_stem()
        .map(|s| crate::units::printable(&s.to_string_lossy()).into_owned())
        .unwrap_or_else(|| "compound".to_string());
    // Lines grouped by (plate value, target value), groups in order of first appearance.
    let mut groups: Vec<((String, String), Vec<Line>)> = Vec::new();
    let mut index: HashMap<(String, String), usize> = HashMap::new();
    for &(no, text_line) in &lines[k + 1..] {
        let cells = d.split(text_line);
        if cells.iter().all(String::is_empty) {
            continue;
        }
        let cell = |i: Option<usize>| i.and_then(|i| cells.get(i)).map_or("", String::as_str);
        let line = read_line(path, no, d, &cells, &cols, unit, &file_compound)?;
        let key = (cell(cols.plate).to_string(), cell(cols.target).to_string());
        let g = *index.entry(key.clone()).or_insert_with(|| {
            groups.push((key, Vec::new()));
            groups.len() - 1
        });
        groups[g].1.push(line);
    }
    if groups.is_empty() {
        return Err(parse_error(path, header_no, "the table has a header but no data lines"));
    }
    let signal = head[cols.response].clone();
    let name = |i: Option<usize>| i.map(|i| head[i].clone());
    let found = TableColumns {
        concentration: name(Some(cols.conc)),
        concentration_unit: map.concentration_unit.clone(),
        response: name(Some(cols.response)),
        compound: name(cols.compound),
        target: name(cols.target),
        replicate: name(cols.replicate),
        plate: name(cols.plate),
        role: name(cols.role),
        skip_lines: map.skip_lines,
    };
    let file_name = path.file_name().map_or_else(String::new, |f| f.to_string_lossy().to_string());
    let mut plates = Vec::new();
    for ((plate, target), group) in groups {
        let chunks: Vec<&[Line]> = group.chunks(MAX_WELLS).collect();
        let n_chunks = chunks.len();
        for (c, chunk) in chunks.into_iter().enumerate() {
            let mut parts = Vec::new();
            if !plate.is_empty() {
                parts.push(format!("plate {plate}"));
            }
            if !target.is_empty() {
                parts.push(format!("target {target}"));
            }
            let mut label = if parts.is_empty() { file_name.clone() } else { parts.join(", ") };
            if n_chunks > 1 {
                label.push_str(&format!(" (part {})", c + 1));
            }
            let target = (!target.is_empty()).then(|| target.clone());
            let contents = TableContents { target, columns: found.clone(), rows: Vec::new() };
            plates.push(plate_of(path, plates.len() + 1, label, contents, chunk, &signal));
        }
    }
    Ok(plates)
}

/// Reads one data line (`Err` only for an unknown role, which says the column is not a role
/// column).
fn read_line(
    path: &Path,
    no: usize,
    d: Dialect,
    cells: &[String],
    cols: &Cols,
    unit: ConcUnit,
    file_compound: &str,
) -> Result<Line, IngestError> {
    let cell = |i: Option<usize>| i.and_then(|i| cells.get(i)).map_or("", String::as_str);
    let role = match cols.role {
        None => "sample",
        Some(_) => {
            let r = cell(cols.role);
            super::plate_map::role(r).ok_or_else(|| {
                parse_error(
                    path,
                    no,
                    format!(
                        "unknown role `{}`; expected one of {}",
                        crate::units::printable(r),
                        super::plate_map::ROLES.join(", ")
                    ),
                )
            })?
        }
    };
    let mut bad = None;
    let raw_conc = cell(Some(cols.conc));
    let conc_nm = if raw_conc.is_empty() || raw_conc == "-" {
        None
    } else {
        match d.number(raw_conc).map(|v| unit.nm(v)).or_else(|| parse_conc_nm(raw_conc)) {
            Some(v) if v.is_finite() && v >= 0.0 => Some(v),
            _ => {
                bad = Some(format!(
                    "concentration `{}` is not a concentration >= 0",
                    crate::units::printable(raw_conc)
                ));
                None
            }
        }
    };
    let compound = match cols.compound {
        Some(_) => Some(cell(cols.compound)).filter(|c| !c.is_empty()),
        None => Some(file_compound),
    }
    .map(|c| crate::units::printable(c).into_owned());
    if role == "sample" && bad.is_none() {
        if conc_nm.is_none() {
            bad = Some("no concentration".to_string());
        } else if compound.is_none() {
            bad = Some("no compound".to_string());
        }
    }
    let replicate = Some(cell(cols.replicate))
        .filter(|r| !r.is_empty())
        .map(|r| crate::units::printable(r).into_owned());
    Ok(Line {
        no,
        role,
        compound: compound.filter(|_| role == "sample"),
        conc_nm: conc_nm.filter(|_| role == "sample"),
        replicate,
        cell: count_cell(cell(Some(cols.response)), |s| d.number(s)),
        bad,
    })
}

/// The plate holding `lines` (at most [`MAX_WELLS`]) in table order, on the smallest standard
/// geometry that holds them.
fn plate_of(
    path: &Path,
    index_in_file: usize,
    label: String,
    mut contents: TableContents,
    lines: &[Line],
    signal: &str,
) -> RawPlate {
    let geometry =
        Geometry::STANDARD.into_iter().find(|g| g.len() >= lines.len()).unwrap_or(Geometry::W1536);
    let mut values = vec![None; geometry.len()];
    let mut bad_counts = Vec::new();
    let rows = &mut contents.rows;
    rows.reserve(lines.len());
    for (k, l) in lines.iter().enumerate() {
        let well = geometry.pos(k);
        match &l.bad {
            Some(why) => bad_counts.push(BadCount {
                well,
                line: l.no,
                reason: format!("{why}; the line is left out"),
                negative: None,
            }),
            None => {
                values[k] = l.cell.value();
                bad_counts.extend(l.cell.bad(well, l.no));
            }
        }
        rows.push(TableRow {
            well,
            role: if l.bad.is_some() { "empty" } else { l.role },
            compound: l.compound.clone(),
            conc_nm: l.conc_nm,
            replicate: l.replicate.clone(),
            line: l.no,
        });
    }
    RawPlate {
        source: path.to_path_buf(),
        index_in_file,
        label,
        geometry,
        values,
        meta: PlateMeta {
            format: FORMAT,
            signal: signal.to_string(),
            bad_counts,
            contents: Some(Box::new(contents)),
            ..PlateMeta::default()
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn read(text: &str, map: &TableColumns) -> Result<Vec<RawPlate>, IngestError> {
        parse(Path::new("ria.csv"), text, map)
    }

    fn contents(p: &RawPlate) -> &TableContents {
        p.meta.contents.as_deref().expect("a table plate has contents")
    }

    #[test]
    fn units_from_headers() {
        assert_eq!(header_unit("Concentration (uM)").1, Some(ConcUnit::Molar(1e3)));
        assert_eq!(header_unit("conc_nM").1, Some(ConcUnit::Molar(1.0)));
        assert_eq!(header_unit("dose [µM]").1, Some(ConcUnit::Molar(1e3)));
        assert_eq!(header_unit("log(M)").1, Some(ConcUnit::Log(1e9)));
        assert_eq!(header_unit("Conc (log M)").1, Some(ConcUnit::Log(1e9)));
        assert_eq!(header_unit("conc").1, None);
        assert_eq!(header_unit("conc (ng/ml)").1, None);
        assert_eq!(header_unit("Concentration (uM)").0, "concentration");
    }

    #[test]
    fn lines_become_wells_in_table_order() {
        let text = "Compound,Concentration (uM),Replicate,CPM\n\
                    A,0,1,2000\nA,0.01,1,1900\nA,1,1,300\nB,0.1,1,1000\nB,x,1,5\nB,1,2,-3\n";
        let plates = read(text, &TableColumns::default()).unwrap();
        assert_eq!(plates.len(), 1);
        let p = &plates[0];
        assert_eq!(p.geometry, Geometry::W24);
        assert_eq!(p.label, "ria.csv");
        assert_eq!(p.meta.signal, "CPM");
        let c = contents(p);
        assert_eq!(c.rows.len(), 6);
        assert_eq!(c.rows[0].conc_nm, Some(0.0));
        assert_eq!(c.rows[1].conc_nm, Some(10.0));
        assert_eq!(c.rows[3].compound.as_deref(), Some("B"));
        assert_eq!(c.rows[3].line, 5);
        assert_eq!(c.rows[3].replicate.as_deref(), Some("1"));
        // A bad concentration leaves the line out; a negative count excludes the well.
        assert_eq!(c.rows[4].role, "empty");
        assert_eq!(p.meta.bad_counts.len(), 2);
        assert_eq!(p.meta.bad_counts[0].line, 6);
        assert_eq!(p.values[2], Some(300.0));
    }

    #[test]
    fn plates_and_targets_group_lines() {
        let text = "plate\ttarget\tdrug\tconc_nM\tsignal\n\
                    1\tD2\ta\t1\t10\n2\tD2\ta\t1\t11\n1\tD3\ta\t1\t12\n1\tD2\ta\t10\t5\n";
        let plates = read(text, &TableColumns::default()).unwrap();
        let labels: Vec<&str> = plates.iter().map(|p| p.label.as_str()).collect();
        assert_eq!(labels, ["plate 1, target D2", "plate 2, target D2", "plate 1, target D3"]);
        assert_eq!(contents(&plates[0]).rows.len(), 2);
        assert_eq!(contents(&plates[2]).target.as_deref(), Some("D3"));
        assert_eq!(plates[2].index_in_file, 3);
    }

    #[test]
    fn unit_is_required_or_configured() {
        let text = "\"conc\",\"count\"\n0,23.9\n19.4,24.2\n";
        let e = read(text, &TableColumns::default()).unwrap_err().to_string();
        assert!(e.contains("ria.csv:1:") && e.contains("concentration_unit"), "{e}");
        let map = TableColumns { concentration_unit: Some("nM".into()), ..Default::default() };
        let p = read(text, &map).unwrap();
        assert_eq!(contents(&p[0]).rows[1].conc_nm, Some(19.4));
        assert_eq!(contents(&p[0]).rows[0].compound.as_deref(), Some("ria"));
    }

    #[test]
    fn named_columns_and_roles() {
        let text = "Dose [M],Y,Kind,Drug\n,5000,total,\n1e-9,3000,sample,Q\n";
        let map = TableColumns {
            concentration: Some("Dose".into()),
            response: Some("y".into()),
            role: Some("Kind".into()),
            ..Default::default()
        };
        let p = read(text, &map).unwrap();
        let c = contents(&p[0]);
        assert_eq!(c.rows[0].role, "total");
        assert_eq!(c.rows[1].conc_nm, Some(1.0));
        let missing = TableColumns { target: Some("Receptor".into()), ..map };
        let e = read(text, &missing).unwrap_err().to_string();
        assert!(e.contains("columns.target"), "{e}");
    }

    #[test]
    fn detection() {
        assert!(looks_like("Concentration (uM),CPM\n1,2\n"));
        assert!(!looks_like("plate,well,conc (nM),cpm\n1,A01,1,2\n"));
        assert!(!looks_like("a,b\n1,2\n"));
    }
}
