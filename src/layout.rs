//! Layout: turns raw plates into laid-out plates, where each well has a role (total, NSB,
//! blank, vehicle, sample, unused), a compound and a concentration.
//!
//! Matches the config's `plates:` entries to the plates read, undoes 180-degree rotation and
//! applies masks. Problems with one plate (a well the plate does not have, two roles for one
//! well, a plate missing from the inputs) are collected and that plate is left out; the others
//! go on. Knows nothing about counts beyond carrying them.

use std::collections::BTreeMap;
use std::path::PathBuf;

use crate::config::{Axis, ConcSpec, Layout, PlateMapSpec, PlateSpec, Settings};
use crate::ingest::{PlateMeta, RawPlate};
use crate::types::{Geometry, WellPos};

/// What a well is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Role {
    /// Total binding (radioligand, no competitor).
    Total,
    /// Non-specific binding (saturating unlabelled ligand).
    Nsb,
    /// Basal [35S]GTPγS binding (no agonist).
    Basal,
    /// Background (no membranes).
    Blank,
    /// Vehicle (zero competitor).
    Vehicle,
    /// A competitor concentration.
    Sample,
    /// Not part of the layout.
    Unused,
}

impl Role {
    /// Lower-case name used in tables.
    #[must_use]
    pub fn name(self) -> &'static str {
        match self {
            Role::Total => "total",
            Role::Nsb => "nsb",
            Role::Basal => "basal",
            Role::Blank => "blank",
            Role::Vehicle => "vehicle",
            Role::Sample => "sample",
            Role::Unused => "unused",
        }
    }
}

/// One well after layout.
#[derive(Debug, Clone, PartialEq)]
pub struct Well {
    /// Position on the plate as designed (rotation undone).
    pub pos: WellPos,
    /// Role.
    pub role: Role,
    /// Compound (sample wells).
    pub compound: Option<String>,
    /// Concentration, nM (sample wells).
    pub conc_nm: Option<f64>,
    /// Counts; `None` when not counted.
    pub cpm: Option<f64>,
    /// Why the well is left out of QC and fits.
    pub excluded: Option<String>,
}

/// A plate with its layout applied.
#[derive(Debug, Clone)]
pub struct Plate {
    /// Output id, `P<number>`.
    pub id: String,
    /// Global plate number (1-based, over all inputs in order).
    pub number: u32,
    /// Source file.
    pub source: PathBuf,
    /// Plate position within the file.
    pub index_in_file: usize,
    /// Geometry.
    pub geometry: Geometry,
    /// Target name.
    pub target: String,
    /// Layout name.
    pub layout: String,
    /// Turned back from a 180-degree rotation.
    pub rotated: bool,
    /// Global number of the plate whose controls normalise this one, if not its own.
    pub controls_from: Option<u32>,
    /// Wells in row-major order of the designed plate.
    pub wells: Vec<Well>,
    /// Instrument metadata.
    pub meta: PlateMeta,
}

/// Result of laying out: the plates that could be laid out, the problems, and input plates no
/// config entry mentions.
#[derive(Debug, Default)]
pub struct LayoutOutcome {
    /// Laid-out plates, by global number.
    pub plates: Vec<Plate>,
    /// Problems (each names the config entry, plate and well).
    pub problems: Vec<String>,
    /// Input plates not assigned to any config entry (`file #n`).
    pub unassigned: Vec<String>,
}

/// Lays out every plate named in the config.
#[must_use]
pub fn lay_out(raws: &[RawPlate], settings: &Settings) -> LayoutOutcome {
    let mut out = LayoutOutcome::default();
    let mut assigned: BTreeMap<usize, usize> = BTreeMap::new();
    for spec in &settings.plates {
        for idx in select(raws, spec, &mut out.problems) {
            if let Some(prev) = assigned.insert(idx, spec.entry) {
                out.problems.push(format!(
                    "plates[{}] and plates[{prev}] both claim plate {} ({} plate {})",
                    spec.entry,
                    idx + 1,
                    raws[idx].source.display(),
                    raws[idx].index_in_file
                ));
                continue;
            }
            let built = match (&spec.plate_map, settings.layouts.get(&spec.layout)) {
                (Some(map), _) => build_from_map(idx, &raws[idx], spec, map, settings),
                (None, Some(layout)) => build(idx, &raws[idx], spec, layout, settings),
                (None, None) => Err(format!("layout `{}` is not defined", spec.layout)),
            };
            match built {
                Ok(p) => out.plates.push(p),
                Err(e) => out.problems.push(format!(
                    "plates[{}] (plate {}, {} plate {}): {e}",
                    spec.entry,
                    idx + 1,
                    raws[idx].source.display(),
                    raws[idx].index_in_file
                )),
            }
        }
    }
    for (idx, raw) in raws.iter().enumerate() {
        if !assigned.contains_key(&idx) {
            out.unassigned.push(format!(
                "plate {} ({} plate {})",
                idx + 1,
                raw.source.display(),
                raw.index_in_file
            ));
        }
    }
    out.plates.sort_by_key(|p| p.number);
    out
}

/// Indices into `raws` chosen by a config entry.
fn select(raws: &[RawPlate], spec: &PlateSpec, problems: &mut Vec<String>) -> Vec<usize> {
    let mut chosen = Vec::new();
    if let Some(code) = &spec.barcode {
        let in_file = |r: &RawPlate| {
            spec.file.as_ref().is_none_or(|pat| {
                r.source.file_name().is_some_and(|f| pat.matches(&f.to_string_lossy()))
            })
        };
        chosen.extend(
            raws.iter().enumerate().filter(|(_, r)| &r.label == code && in_file(r)).map(|(i, _)| i),
        );
        if chosen.is_empty() {
            problems.push(format!(
                "plates[{}]: no plate with barcode `{code}` in the inputs",
                spec.entry
            ));
        }
    }
    for &n in &spec.numbers {
        let hits: Vec<usize> = match &spec.file {
            None => (n as usize).checked_sub(1).filter(|&i| i < raws.len()).into_iter().collect(),
            Some(pat) => raws
                .iter()
                .enumerate()
                .filter(|(_, r)| {
                    r.index_in_file == n as usize
                        && r.source.file_name().is_some_and(|f| pat.matches(&f.to_string_lossy()))
                })
                .map(|(i, _)| i)
                .collect(),
        };
        if hits.is_empty() {
            let within =
                spec.file.as_ref().map_or(String::new(), |p| format!(" in files matching `{p}`"));
            problems.push(format!(
                "plates[{}]: plate {n}{within} is not in the inputs ({} plate(s) read); plates \
                 are numbered over all input files in order, or within `file:` when given",
                spec.entry,
                raws.len()
            ));
        }
        chosen.extend(hits);
    }
    chosen
}

fn build(
    idx: usize,
    raw: &RawPlate,
    spec: &PlateSpec,
    layout: &Layout,
    settings: &Settings,
) -> Result<Plate, String> {
    let g = raw.geometry;
    if let Some(expected) = layout.geometry.filter(|&e| e != g) {
        return Err(format!(
            "layout `{}` is for {expected} plates but this plate is {g}",
            layout.name
        ));
    }
    let mut roles: Vec<Option<(Role, &'static str)>> = vec![None; g.len()];
    let mut compound: Vec<Option<(&str, f64)>> = vec![None; g.len()];
    let mut assign = |pos: WellPos, role: Role, what: &'static str| -> Result<usize, String> {
        let i = g.index(pos).ok_or_else(|| format!("{what} well {pos} is not on a {g} plate"))?;
        if let Some((_, prev)) = roles[i] {
            return Err(format!(
                "well {pos} is both {prev} and {what} in layout `{}`",
                layout.name
            ));
        }
        roles[i] = Some((role, what));
        Ok(i)
    };
    for (set, role, what) in [
        (&layout.total, Role::Total, "total"),
        (&layout.nsb, Role::Nsb, "nsb"),
        (&layout.basal, Role::Basal, "basal"),
        (&layout.blank, Role::Blank, "blank"),
        (&layout.vehicle, Role::Vehicle, "vehicle"),
    ] {
        if let Some(set) = set {
            for pos in
                set.resolve(g).map_err(|e| format!("layout `{}` {what}: {e}", layout.name))?
            {
                assign(pos, role, what)?;
            }
        }
    }
    let series = &layout.series;
    for block in &spec.compounds {
        let conc = block
            .conc
            .as_ref()
            .or(series.conc.as_ref())
            .map(|c: &ConcSpec| c.values_high_to_low(series.len()))
            .ok_or_else(|| format!("compound `{}` has no concentrations", block.name))?;
        for lane in block.lanes.0..=block.lanes.1 {
            for (k, step) in (series.lanes.0..=series.lanes.1).enumerate() {
                let pos = match series.axis {
                    Axis::Columns => WellPos { row: lane, col: step },
                    Axis::Rows => WellPos { row: step, col: lane },
                };
                let ci = if series.high_to_low { k } else { series.len() - 1 - k };
                let i = assign(pos, Role::Sample, "sample")?;
                compound[i] = Some((block.name.as_str(), conc[ci]));
            }
        }
    }
    let roles: Vec<Role> = roles.iter().map(|r| r.map_or(Role::Unused, |(r, _)| r)).collect();
    let compound: Vec<Option<(String, f64)>> =
        compound.iter().map(|c| c.map(|(n, x)| (n.to_string(), x))).collect();
    finish(idx, raw, spec, &roles, &compound, settings)
}

/// Lays out a plate from its plate map: each listed well gets the map's role, compound and
/// concentration; wells the map does not list are unused.
fn build_from_map(
    idx: usize,
    raw: &RawPlate,
    spec: &PlateSpec,
    map: &PlateMapSpec,
    settings: &Settings,
) -> Result<Plate, String> {
    let g = raw.geometry;
    let file = map.path.display();
    let mut roles = vec![Role::Unused; g.len()];
    let mut compound: Vec<Option<(String, f64)>> = vec![None; g.len()];
    for e in &map.map.entries {
        let at = format!("plate map {file}:{}: well {}", e.line, e.well);
        let i = g.index(e.well).ok_or_else(|| {
            format!("{at} is not on this {g} plate; the map is for another plate size")
        })?;
        let role = match e.role.as_str() {
            "total" => Role::Total,
            "nsb" => Role::Nsb,
            "basal" => Role::Basal,
            "blank" => Role::Blank,
            "vehicle" => Role::Vehicle,
            "sample" => Role::Sample,
            "empty" => Role::Unused,
            other => return Err(format!("{at}: unknown role `{other}`")),
        };
        if role == Role::Sample {
            let (Some(name), Some(conc)) = (e.compound.as_ref(), e.conc_nm) else {
                return Err(format!("{at}: a sample well needs a compound and a concentration"));
            };
            if !(conc > 0.0) {
                return Err(format!(
                    "{at}: sample of `{name}` at concentration 0; mark zero-competitor wells \
                     `vehicle`"
                ));
            }
            compound[i] = Some((name.clone(), conc));
        }
        roles[i] = role;
    }
    finish(idx, raw, spec, &roles, &compound, settings)
}

/// The wells of a laid-out plate: counts read (rotation undone), masks applied.
fn finish(
    idx: usize,
    raw: &RawPlate,
    spec: &PlateSpec,
    roles: &[Role],
    compound: &[Option<(String, f64)>],
    settings: &Settings,
) -> Result<Plate, String> {
    let g = raw.geometry;
    let number = u32::try_from(idx + 1).expect("plate count fits u32");
    let wells = (0..g.len())
        .map(|i| {
            let pos = g.pos(i);
            // A plate counted turned by 180 degrees has the designed well `pos` where the
            // reader reported `rotate180(pos)`.
            let read_at = if spec.rotated { g.rotate180(pos) } else { pos };
            let cpm = g.index(read_at).and_then(|j| raw.values[j]);
            let role = roles[i];
            let excluded = settings
                .exclusions
                .iter()
                .filter(|e| e.plates.contains(&number))
                .find(|e| e.wells.resolve(g).is_ok_and(|w| w.contains(&pos)))
                .map(|e| format!("masked: {}", e.reason))
                .or_else(|| {
                    (cpm.is_none() && role != Role::Unused).then(|| "not counted".to_string())
                });
            Well {
                pos,
                role,
                compound: compound[i].as_ref().map(|(c, _)| c.clone()),
                conc_nm: compound[i].as_ref().map(|(_, c)| *c),
                cpm,
                excluded,
            }
        })
        .collect();
    Ok(Plate {
        id: format!("P{number}"),
        number,
        source: raw.source.clone(),
        index_in_file: raw.index_in_file,
        geometry: g,
        target: spec.target.clone(),
        layout: spec.layout.clone(),
        rotated: spec.rotated,
        controls_from: spec.controls_from,
        wells,
        meta: raw.meta.clone(),
    })
}
