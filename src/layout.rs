//! Layout: turns raw plates into laid-out plates, where each well has a role (total, NSB,
//! blank, vehicle, sample, unused), a compound and a concentration.
//!
//! Resolves the config's `plates:` entries to the plates read, once, before anything is
//! analysed, undoes 180-degree rotation and applies masks. Problems with one plate (a well the
//! plate does not have, two roles for one well, a plate missing from the inputs) are collected
//! and that plate is left out; the others go on. Knows nothing about counts beyond carrying
//! them (and leaving out the wells whose count cell was bad).
//!
//! A plate's identity is its input file and its position in that file ([`PlateRef`]), or its
//! barcode. A config plate number counts plates over all inputs in order, so it can only be
//! placed while every earlier file's plate count is known ([`Source::plate_count`]). When an
//! input breaks, the entries whose plates are in it fail with the reason; an entry whose number
//! lies beyond a file of unknown plate count fails too (saying how to pin it with `file:`)
//! instead of shifting onto another file's plate. No plate ever moves.

use std::collections::BTreeMap;
use std::fmt;
use std::path::{Path, PathBuf};

use crate::config::{
    Axis, BlockOrder, ConcSpec, Layout, PlateMapSpec, PlateSpec, PrimaryLayout, SeriesEnd, Settings,
};
use crate::ingest::conc_table::TableContents;
use crate::ingest::{FileRead, PlateMeta, RawPlate};
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
    /// A single-concentration well of a primary screen: a replicate of its compound's block,
    /// never a curve point.
    Primary,
    /// Not part of the layout.
    Unused,
}

impl Role {
    /// The role a plate map or concentration table word names (ingest's
    /// [`crate::ingest::plate_map::ROLES`], `basal`); `empty` is [`Role::Unused`].
    #[must_use]
    pub fn of_word(word: &str) -> Option<Role> {
        Some(match word {
            "total" => Role::Total,
            "nsb" => Role::Nsb,
            "basal" => Role::Basal,
            "blank" => Role::Blank,
            "vehicle" => Role::Vehicle,
            "sample" => Role::Sample,
            "primary" => Role::Primary,
            "empty" => Role::Unused,
            _ => return None,
        })
    }

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
            Role::Primary => "primary",
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
    /// Where the well's content is described, for a plate laid out from a concentration
    /// table: the table's file and line (`ria.csv:5`, `, replicate 2` when the table says).
    pub source: Option<String>,
}

/// A plate with its layout applied.
#[derive(Debug, Clone)]
pub struct Plate {
    /// Output id: `P<number>`, or `F<file>P<position>` for a plate without a global number
    /// (pinned to a file that follows an input of unknown plate count).
    pub id: String,
    /// Global plate number (1-based, over all inputs in order); `None` when an earlier input's
    /// plate count is unknown.
    pub number: Option<u32>,
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
    /// The plate's label or barcode in the export (empty when it has none).
    pub label: String,
    /// Global number of the plate whose controls normalise this one, if not its own.
    pub controls_from: Option<u32>,
    /// Series wells that also serve as controls (`top_from`, `bottom_from` of the layout):
    /// `[100 % control, 0 % control]`.
    pub controls_in_series: [Option<SeriesEnd>; 2],
    /// The reference compound whose series end is the 0 % control of the whole plate
    /// (`bottom_compound`); `None`: each compound's own.
    pub bottom_compound: Option<String>,
    /// Wells in row-major order of the designed plate.
    pub wells: Vec<Well>,
    /// Instrument metadata.
    pub meta: PlateMeta,
    /// The independent experiment the plate belongs to (`PlateSpec::experiment`); its
    /// curves are fitted apart from those of other experiments.
    pub experiment: Option<String>,
}

/// Where a plate is: its input file (index into the inputs, in config order) and its 1-based
/// position in that file.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct PlateRef {
    /// Index of the input file.
    pub file: usize,
    /// 1-based position of the plate in the file.
    pub index_in_file: usize,
}

/// One input file as layout sees it.
#[derive(Debug, Clone, Copy)]
pub struct Source<'a> {
    /// The file.
    pub path: &'a Path,
    /// Its complete plates (positions `1..=plates.len()`).
    pub plates: &'a [RawPlate],
    /// Why the file, or its part after `plates`, could not be read.
    pub error: Option<&'a str>,
    /// How many plates it holds, when known (always when `error` is `None`).
    pub plate_count: Option<usize>,
}

/// How a config entry's plate was resolved, or an input plate that no entry uses. Kept in
/// `run.json` and printed by `validate`.
#[derive(Debug, Clone, PartialEq)]
pub struct Assignment {
    /// The config entry (`plates[i]`); `None` for an input plate no entry uses.
    pub entry: Option<usize>,
    /// The plate as the entry names it: `plate 4`, `plate 2 in files matching `x*.txt``,
    /// `barcode BC1`; empty for an unused plate.
    pub selector: String,
    /// The output id (`P4`) of a placed plate.
    pub plate: Option<String>,
    /// The input file and position of a placed plate.
    pub source: Option<(PathBuf, usize)>,
    /// The plate's own label in the file, when it was read.
    pub label: Option<String>,
    /// The entry's target; `None` for an unused plate.
    pub target: Option<String>,
    /// Why the entry's plate cannot be analysed (the plate is not read, or cannot be placed).
    pub failed: Option<String>,
}

impl fmt::Display for Assignment {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if let Some(e) = self.entry {
            write!(f, "plates entry {}, {}", e + 1, self.selector)?;
        } else if !self.selector.is_empty() {
            write!(f, "{}: ", self.selector)?;
        }
        match (&self.source, self.entry) {
            (Some((path, k)), Some(_)) => write!(f, " -> {} plate {k}", path.display())?,
            (Some((path, k)), None) => write!(f, "{} plate {k}", path.display())?,
            (None, _) => {}
        }
        if let Some(id) = &self.plate {
            write!(f, " ({id}")?;
            if let Some(l) = self.label.as_ref().filter(|l| !l.is_empty()) {
                write!(f, ", `{l}`")?;
            }
            write!(f, ")")?;
        }
        match (&self.target, &self.failed) {
            (_, Some(why)) => write!(f, ": NOT ANALYSED: {why}"),
            (Some(t), None) => write!(f, ", target {t}"),
            (None, None) => write!(f, ": not used by any config entry"),
        }
    }
}

/// Result of laying out: the plates that could be laid out, the problems, and how every entry
/// was resolved.
#[derive(Debug, Default)]
pub struct LayoutOutcome {
    /// Laid-out plates, in input order (file, then position).
    pub plates: Vec<Plate>,
    /// Problems (each names the config entry, plate and well).
    pub problems: Vec<String>,
    /// Input plates not assigned to any config entry (`plate n (file plate k)`).
    pub unassigned: Vec<String>,
    /// Every entry's plates as resolved, then the input plates no entry uses.
    pub assignments: Vec<Assignment>,
}

/// Lays out every plate named in the config, from plates that were all read (every file whole;
/// consecutive plates of one source file are one input).
#[must_use]
pub fn lay_out(raws: &[RawPlate], settings: &Settings) -> LayoutOutcome {
    let mut sources: Vec<Source<'_>> = Vec::new();
    let mut start = 0;
    for i in 1..=raws.len() {
        if i == raws.len() || raws[i].source != raws[start].source {
            let plates = &raws[start..i];
            sources.push(Source {
                path: &raws[start].source,
                plates,
                error: None,
                plate_count: Some(plates.len()),
            });
            start = i;
        }
    }
    lay_out_sources(&sources, settings)
}

/// Lays out every plate named in the config from the files as read (some may have failed).
#[must_use]
pub fn lay_out_files(
    files: &[FileRead],
    errors: &[Option<String>],
    settings: &Settings,
) -> LayoutOutcome {
    let sources: Vec<Source<'_>> = files
        .iter()
        .zip(errors)
        .map(|(f, e)| Source {
            path: &f.path,
            plates: &f.plates,
            error: e.as_deref(),
            plate_count: f.plate_count,
        })
        .collect();
    lay_out_sources(&sources, settings)
}

/// Global plate numbering: the number of plates before each file, while every earlier file's
/// count is known.
fn offsets(sources: &[Source<'_>]) -> Vec<Option<usize>> {
    let mut at = Some(0usize);
    sources
        .iter()
        .map(|s| {
            let here = at;
            at = at.zip(s.plate_count).map(|(a, c)| a + c);
            here
        })
        .collect()
}

/// Lays out every plate named in the config.
#[must_use]
pub fn lay_out_sources(sources: &[Source<'_>], settings: &Settings) -> LayoutOutcome {
    let offsets = offsets(sources);
    let counted: Vec<Counted<'_>> = sources.iter().map(Counted::of).collect();
    let number_of =
        |r: PlateRef| offsets[r.file].and_then(|o| u32::try_from(o + r.index_in_file).ok());
    let entry_at = |settings: &Settings, k: usize| crate::config::entry_at(settings, "plates", k);
    let id_of = |r: PlateRef| match number_of(r) {
        Some(n) => format!("P{n}"),
        None => format!("F{}P{}", r.file + 1, r.index_in_file),
    };
    let describe = |r: PlateRef| {
        let path = sources[r.file].path.display();
        match number_of(r) {
            Some(n) => format!("plate {n}, {path} plate {}", r.index_in_file),
            None => format!("{path} plate {}", r.index_in_file),
        }
    };
    let mut out = LayoutOutcome::default();
    let mut assigned: BTreeMap<PlateRef, usize> = BTreeMap::new();
    for spec in &settings.plates {
        for (selector, chosen) in select(sources, &counted, &offsets, spec) {
            let mut a = Assignment {
                entry: Some(spec.entry),
                selector,
                plate: None,
                source: None,
                label: None,
                target: Some(spec.target.clone()),
                failed: None,
            };
            let r = match chosen {
                Ok(r) => r,
                Err(why) => {
                    out.problems.push(format!("{}: {why}", entry_at(settings, spec.entry)));
                    a.failed = Some(why);
                    out.assignments.push(a);
                    continue;
                }
            };
            let raw = &sources[r.file].plates[r.index_in_file - 1];
            if raw.meta.contents.is_some() {
                let why = format!(
                    "{} is a plate of the concentration table {}, laid out from the table's \
                     columns; remove this entry",
                    describe(r),
                    sources[r.file].path.display()
                );
                out.problems.push(format!("{}: {why}", entry_at(settings, spec.entry)));
                a.failed = Some(why);
                out.assignments.push(a);
                continue;
            }
            a.plate = Some(id_of(r));
            a.source = Some((sources[r.file].path.to_path_buf(), r.index_in_file));
            a.label = Some(raw.label.clone());
            if let Some(prev) = assigned.insert(r, spec.entry) {
                let why = format!("plates entry {} claims the same plate", prev + 1);
                let (this, other) = (spec.entry.to_string(), prev.to_string());
                out.problems.push(format!(
                    "{} and {} both claim {}: a plate has one entry (a plate that holds its own \
                     controls needs no separate control entry)",
                    crate::config::key_at(settings, &["plates", &this]),
                    crate::config::key_at(settings, &["plates", &other]),
                    describe(r)
                ));
                a.failed = Some(why);
                out.assignments.push(a);
                continue;
            }
            match lay_out_entry(number_of(r), id_of(r), raw, spec, settings) {
                Ok(p) => out.plates.push(p),
                Err(e) => {
                    out.problems.push(format!(
                        "{} ({}): {e}",
                        entry_at(settings, spec.entry),
                        describe(r)
                    ));
                }
            }
            out.assignments.push(a);
        }
    }
    for (i, s) in sources.iter().enumerate() {
        for (k, raw) in s.plates.iter().enumerate() {
            let r = PlateRef { file: i, index_in_file: k + 1 };
            if assigned.contains_key(&r) {
                continue;
            }
            if let Some(contents) = &raw.meta.contents {
                let built = build_from_table(number_of(r), id_of(r), raw, contents, settings);
                let (target, failed) = match built {
                    Ok(p) => {
                        let t = p.target.clone();
                        out.plates.push(p);
                        (Some(t), None)
                    }
                    Err(e) => {
                        out.problems.push(format!("{}: {e}", describe(r)));
                        (None, Some(e))
                    }
                };
                out.assignments.push(Assignment {
                    entry: None,
                    selector: "concentration table".to_string(),
                    plate: Some(id_of(r)),
                    source: Some((s.path.to_path_buf(), k + 1)),
                    label: Some(raw.label.clone()),
                    target,
                    failed,
                });
                continue;
            }
            out.unassigned.push(match number_of(r) {
                Some(n) => format!("plate {n} ({} plate {})", s.path.display(), k + 1),
                None => format!("{} plate {}", s.path.display(), k + 1),
            });
            out.assignments.push(Assignment {
                entry: None,
                selector: String::new(),
                plate: Some(id_of(r)),
                source: Some((s.path.to_path_buf(), k + 1)),
                label: Some(raw.label.clone()),
                target: None,
                failed: None,
            });
        }
    }
    let file_index: BTreeMap<&Path, usize> =
        sources.iter().enumerate().map(|(i, s)| (s.path, i)).collect();
    out.plates.sort_by_key(|p| (file_index.get(p.source.as_path()).copied(), p.index_in_file));
    out
}

/// Lays out one plate as its config entry says (its layout or plate map).
pub(crate) fn lay_out_entry(
    number: Option<u32>,
    id: String,
    raw: &RawPlate,
    spec: &PlateSpec,
    settings: &Settings,
) -> Result<Plate, String> {
    match (&spec.plate_map, settings.layouts.get(&spec.layout)) {
        (Some(map), _) => build_from_map(number, id, raw, spec, map, settings),
        (None, Some(layout)) => build(number, id, raw, spec, layout, settings),
        (None, None) => Err(format!("layout `{}` is not defined", spec.layout)),
    }
}

/// An input file as [`place`] sees it: how many plates were read, how many it holds, why it
/// could not be read whole.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Counted<'a> {
    pub(crate) path: &'a Path,
    pub(crate) read: usize,
    pub(crate) plate_count: Option<usize>,
    pub(crate) error: Option<&'a str>,
}

impl<'a> Counted<'a> {
    fn of(s: &Source<'a>) -> Counted<'a> {
        Counted { path: s.path, read: s.plates.len(), plate_count: s.plate_count, error: s.error }
    }
}

/// The plates a config entry chooses, each with how the entry names it: the plate, or why it
/// cannot be analysed.
fn select(
    sources: &[Source<'_>],
    counted: &[Counted<'_>],
    offsets: &[Option<usize>],
    spec: &PlateSpec,
) -> Vec<(String, Result<PlateRef, String>)> {
    let mut chosen = Vec::new();
    let in_file = |s: &Source<'_>| {
        spec.file
            .as_ref()
            .is_none_or(|pat| s.path.file_name().is_some_and(|f| pat.matches(&f.to_string_lossy())))
    };
    let broken =
        |s: &Source<'_>| s.error.map(|e| format!("{} could not be read: {e}", s.path.display()));
    if let Some(code) = &spec.barcode {
        let selector = format!("barcode `{code}`");
        let before = chosen.len();
        for (i, s) in sources.iter().enumerate().filter(|(_, s)| in_file(s)) {
            for (k, r) in s.plates.iter().enumerate() {
                if &r.label == code {
                    chosen.push((selector.clone(), Ok(PlateRef { file: i, index_in_file: k + 1 })));
                }
            }
        }
        if chosen.len() == before {
            let failed: Vec<String> =
                sources.iter().filter(|s| in_file(s)).filter_map(broken).collect();
            let why = if failed.is_empty() {
                format!("no plate with barcode `{code}` in the inputs")
            } else {
                format!(
                    "no plate with barcode `{code}` in what could be read; {}",
                    failed.join("; ")
                )
            };
            chosen.push((selector, Err(why)));
        }
    }
    let total: usize = sources.iter().map(|s| s.plates.len()).sum();
    for &n in &spec.numbers {
        let k = n as usize;
        match &spec.file {
            Some(pat) => {
                let selector = format!("plate {n} in files matching `{pat}`");
                let mut any = false;
                for (i, s) in sources.iter().enumerate().filter(|(_, s)| in_file(s)) {
                    if k >= 1 && k <= s.plates.len() {
                        chosen.push((selector.clone(), Ok(PlateRef { file: i, index_in_file: k })));
                        any = true;
                    } else if let Some(why) =
                        broken(s).filter(|_| s.plate_count.is_none_or(|c| k <= c))
                    {
                        chosen.push((selector.clone(), Err(format!("plate {n} of {why}"))));
                        any = true;
                    }
                }
                if !any {
                    chosen.push((
                        selector,
                        Err(format!(
                            "plate {n} in files matching `{pat}` is not in the inputs ({total} \
                             plate(s) read); plates are numbered over all input files in order, \
                             or within `file:` when given"
                        )),
                    ));
                }
            }
            None => chosen.push((format!("plate {n}"), place(counted, offsets, k, total))),
        }
    }
    chosen
}

/// The plate with global number `n` (1-based over all inputs in order), or why it cannot be
/// analysed: it is in a file that could not be read, or it lies beyond a file whose plate count
/// is unknown (then no later file's plate can be told to be number `n`).
pub(crate) fn place(
    sources: &[Counted<'_>],
    offsets: &[Option<usize>],
    n: usize,
    total: usize,
) -> Result<PlateRef, String> {
    for (i, s) in sources.iter().enumerate() {
        let Some(base) = offsets[i] else { break };
        let read = s.read;
        if n > base && n <= base + read {
            return Ok(PlateRef { file: i, index_in_file: n - base });
        }
        let err = s.error.unwrap_or("no error");
        match s.plate_count {
            Some(c) if n > base && n <= base + c => {
                return Err(format!(
                    "plate {n} is plate {} of {}, which could not be read: {err}",
                    n - base,
                    s.path.display()
                ));
            }
            Some(_) => {}
            None if i + 1 == sources.len() => {
                return Err(format!(
                    "plate {n} would be plate {} of {}, which could not be read: {err}",
                    n - base,
                    s.path.display()
                ));
            }
            None => {
                return Err(format!(
                    "plate {n} cannot be placed: {} could not be read whole (its problem is \
                     listed with the inputs) and how many plates it holds is unknown, so plates \
                     numbered after its {read} readable plate(s) cannot be told apart; pin this \
                     entry to its file with `file:` and `plate:` its position in that file (or \
                     select it by `barcode:`)",
                    s.path.display()
                ));
            }
        }
    }
    Err(format!(
        "plate {n} is not in the inputs ({total} plate(s) read); plates are numbered over all \
         input files in order, or within `file:` when given"
    ))
}

fn build(
    number: Option<u32>,
    id: String,
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
    if let Some(primary) = &layout.primary {
        let names = spec
            .names
            .as_ref()
            .map(|n| {
                n.for_plate(number, &raw.label).map(|v| (n.source.as_str(), v)).ok_or_else(|| {
                    format!(
                        "{} names no compounds for plate {} (barcode `{}`): list them under \
                         its number or barcode",
                        n.source,
                        number.map_or_else(|| id.clone(), |n| n.to_string()),
                        raw.label
                    )
                })
            })
            .transpose()?;
        let blocks = primary_blocks(primary, g)
            .map_err(|e| format!("layout `{}` primary: {e}", layout.name))?;
        if let Some((source, names)) = names {
            if names.len() > blocks.len() {
                return Err(format!(
                    "{source} names {} compounds but layout `{}` has {} primary blocks",
                    names.len(),
                    layout.name,
                    blocks.len()
                ));
            }
            // `-` leaves a block empty.
            for (name, block) in names.iter().zip(&blocks).filter(|(n, _)| n.as_str() != "-") {
                for &pos in block {
                    let i = assign(pos, Role::Primary, "primary")?;
                    compound[i] = Some((name.as_str(), primary.conc_nm));
                }
            }
        }
        let roles: Vec<Role> = roles.iter().map(|r| r.map_or(Role::Unused, |(r, _)| r)).collect();
        let compound: Vec<Option<(String, f64)>> =
            compound.iter().map(|c| c.map(|(n, x)| (n.to_string(), x))).collect();
        let contents = Contents { roles: &roles, compound: &compound, sources: &[] };
        return finish(number, id, raw, &Placement::of(spec), &contents, settings);
    }
    let Some(series) = &layout.series else {
        // A controls-only layout: no compounds (the resolver refuses them).
        let roles: Vec<Role> = roles.iter().map(|r| r.map_or(Role::Unused, |(r, _)| r)).collect();
        let compound = vec![None; g.len()];
        let contents = Contents { roles: &roles, compound: &compound, sources: &[] };
        return finish(number, id, raw, &Placement::of(spec), &contents, settings);
    };
    for (name, block) in spec.named_blocks(number, &raw.label)? {
        let conc = block
            .conc
            .as_ref()
            .or(series.conc.as_ref())
            .map(|c: &ConcSpec| c.values_high_to_low(series.len()))
            .ok_or_else(|| format!("compound `{name}` has no concentrations"))?;
        for lane in block.lanes.0..=block.lanes.1 {
            for (k, step) in (series.lanes.0..=series.lanes.1).enumerate() {
                let pos = match series.axis {
                    Axis::Columns => WellPos { row: lane, col: step },
                    Axis::Rows => WellPos { row: step, col: lane },
                };
                let ci = if series.high_to_low { k } else { series.len() - 1 - k };
                let i = assign(pos, Role::Sample, "sample")?;
                compound[i] = Some((name, conc[ci]));
            }
        }
    }
    let roles: Vec<Role> = roles.iter().map(|r| r.map_or(Role::Unused, |(r, _)| r)).collect();
    let compound: Vec<Option<(String, f64)>> =
        compound.iter().map(|c| c.map(|(n, x)| (n.to_string(), x))).collect();
    let contents = Contents { roles: &roles, compound: &compound, sources: &[] };
    finish(number, id, raw, &Placement::of(spec), &contents, settings)
}

/// The blocks of replicate wells of a primary layout on a plate of geometry `g`, in the
/// order they take the compounds: the layout's wells must form one rectangle that the block
/// size tiles exactly.
///
/// # Errors
/// Wells the plate does not have, wells that are not one rectangle, or a rectangle the block
/// does not tile.
pub fn primary_blocks(
    p: &PrimaryLayout,
    g: crate::types::Geometry,
) -> Result<Vec<Vec<WellPos>>, String> {
    let wells = p.wells.resolve(g)?;
    let (Some(r0), Some(r1)) =
        (wells.iter().map(|w| w.row).min(), wells.iter().map(|w| w.row).max())
    else {
        return Err("no wells".into());
    };
    let c0 = wells.iter().map(|w| w.col).min().unwrap_or(0);
    let c1 = wells.iter().map(|w| w.col).max().unwrap_or(0);
    let (nr, nc) = (r1 - r0 + 1, c1 - c0 + 1);
    if usize::from(nr) * usize::from(nc) != wells.len() {
        return Err("the wells are not one rectangle (e.g. `columns 2-11` or `B2-G11`)".into());
    }
    let (h, w) = p.block;
    if nr % h != 0 || nc % w != 0 {
        return Err(format!(
            "blocks of {h}x{w} wells do not tile the {nr}x{nc} rectangle of wells"
        ));
    }
    let (br, bc) = (nr / h, nc / w);
    let at = |i: u16, j: u16| -> Vec<WellPos> {
        let mut v = Vec::new();
        for row in r0 + i * h..r0 + (i + 1) * h {
            for col in c0 + j * w..c0 + (j + 1) * w {
                v.push(WellPos { row, col });
            }
        }
        v
    };
    let mut out = Vec::new();
    match p.order {
        BlockOrder::DownThenAcross => {
            for j in 0..bc {
                for i in 0..br {
                    out.push(at(i, j));
                }
            }
        }
        BlockOrder::AcrossThenDown => {
            for i in 0..br {
                for j in 0..bc {
                    out.push(at(i, j));
                }
            }
        }
    }
    Ok(out)
}

/// Lays out a plate from its plate map: each listed well gets the map's role, compound and
/// concentration; wells the map does not list are unused.
fn build_from_map(
    number: Option<u32>,
    id: String,
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
        let Some(role) = Role::of_word(&e.role) else {
            return Err(format!("{at}: unknown role `{}`", e.role));
        };
        // `primary: true`: the map's sample wells are primary-screen wells.
        let role = if role == Role::Sample && spec.map_primary { Role::Primary } else { role };
        if role == Role::Primary {
            let Some(name) = e.compound.as_ref() else {
                return Err(format!("{at}: a primary well needs a compound"));
            };
            compound[i] = Some((name.clone(), e.conc_nm.unwrap_or(f64::NAN)));
        }
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
    let contents = Contents { roles: &roles, compound: &compound, sources: &[] };
    finish(number, id, raw, &Placement::of(spec), &contents, settings)
}

/// Lays out a plate read from a concentration table: each line's well gets its role, compound
/// and concentration (0 = a zero-dose point of the compound's curve) and the line as its
/// source. The target is the table's target column, or the config's only target.
pub(crate) fn build_from_table(
    number: Option<u32>,
    id: String,
    raw: &RawPlate,
    table: &TableContents,
    settings: &Settings,
) -> Result<Plate, String> {
    let g = raw.geometry;
    let file = raw
        .source
        .file_name()
        .map_or_else(|| raw.source.display().to_string(), |f| f.to_string_lossy().to_string());
    let first_line = table.rows.first().map_or(0, |r| r.line);
    let target = match &table.target {
        Some(t) if settings.targets.contains_key(t) => t.clone(),
        Some(t) => {
            let known: Vec<&str> = settings.targets.keys().map(String::as_str).collect();
            return Err(format!(
                "{file}:{first_line}: target `{t}` of the table's target column is not in \
                 `targets:` (targets are: {}); add it there",
                known.join(", ")
            ));
        }
        None if settings.targets.len() == 1 => {
            settings.targets.keys().next().cloned().unwrap_or_default()
        }
        None => {
            return Err(format!(
                "{file}: the table has no target column and the config has {} targets; add a \
                 target column (named with `columns.target`) or keep one target",
                settings.targets.len()
            ));
        }
    };
    let mut roles = vec![Role::Unused; g.len()];
    let mut compound: Vec<Option<(String, f64)>> = vec![None; g.len()];
    let mut sources: Vec<Option<String>> = vec![None; g.len()];
    for row in &table.rows {
        let i = g.index(row.well).ok_or_else(|| format!("{file}:{}: no well", row.line))?;
        let role = Role::of_word(row.role)
            .ok_or_else(|| format!("{file}:{}: unknown role `{}`", row.line, row.role))?;
        if let (Role::Sample, Some(name), Some(conc)) = (role, &row.compound, row.conc_nm) {
            compound[i] = Some((name.clone(), conc));
        }
        roles[i] = role;
        sources[i] = Some(match &row.replicate {
            Some(r) => format!("{file}:{}, replicate {r}", row.line),
            None => format!("{file}:{}", row.line),
        });
    }
    let placement = Placement {
        target,
        layout: "concentration table".to_string(),
        rotated: false,
        controls_from: None,
        experiment: settings.experiment_id.clone(),
    };
    let contents = Contents { roles: &roles, compound: &compound, sources: &sources };
    finish(number, id, raw, &placement, &contents, settings)
}

/// Where a laid-out plate belongs: its target, layout name, rotation and control plate.
struct Placement {
    target: String,
    layout: String,
    rotated: bool,
    controls_from: Option<u32>,
    /// The independent experiment of the plate (`PlateSpec::experiment`).
    experiment: Option<String>,
}

impl Placement {
    fn of(spec: &PlateSpec) -> Placement {
        Placement {
            target: spec.target.clone(),
            layout: spec.layout.clone(),
            rotated: spec.rotated,
            controls_from: spec.controls_from,
            experiment: spec.experiment.clone(),
        }
    }
}

/// What each well of a plate holds (row-major, designed orientation): role, compound and
/// concentration, and where that is written (empty = nowhere to point at).
struct Contents<'a> {
    roles: &'a [Role],
    compound: &'a [Option<(String, f64)>],
    sources: &'a [Option<String>],
}

/// The wells of a laid-out plate: counts read (rotation undone), masks applied.
fn finish(
    number: Option<u32>,
    id: String,
    raw: &RawPlate,
    spec: &Placement,
    contents: &Contents<'_>,
    settings: &Settings,
) -> Result<Plate, String> {
    let (roles, compound) = (contents.roles, contents.compound);
    let g = raw.geometry;
    let bad: BTreeMap<WellPos, &str> =
        raw.meta.bad_counts.iter().map(|b| (b.well, b.reason.as_str())).collect();
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
                .filter(|e| number.is_some_and(|n| e.plates.contains(&n)))
                .find(|e| e.wells.resolve(g).is_ok_and(|w| w.contains(&pos)))
                .map(|e| format!("masked: {}", e.reason))
                .or_else(|| {
                    bad.get(&read_at)
                        .filter(|_| role != Role::Unused)
                        .map(|why| format!("bad count: {why}"))
                })
                .or_else(|| {
                    (cpm.is_none() && role != Role::Unused).then(|| "not counted".to_string())
                });
            Well {
                pos,
                role,
                compound: compound[i].as_ref().map(|(c, _)| c.clone()),
                conc_nm: compound[i].as_ref().map(|(_, c)| *c).filter(|c| c.is_finite()),
                cpm,
                excluded,
                source: contents.sources.get(i).cloned().flatten(),
            }
        })
        .collect();
    Ok(Plate {
        id,
        number,
        source: raw.source.clone(),
        index_in_file: raw.index_in_file,
        geometry: g,
        target: spec.target.clone(),
        layout: spec.layout.clone(),
        rotated: spec.rotated,
        label: raw.label.clone(),
        controls_from: spec.controls_from,
        controls_in_series: settings
            .layouts
            .get(&spec.layout)
            .map_or([None; 2], |l| [l.top_from, l.bottom_from]),
        bottom_compound: settings.layouts.get(&spec.layout).and_then(|l| l.bottom_compound.clone()),
        wells,
        // The table's contents are in the wells now.
        meta: PlateMeta { contents: None, ..raw.meta.clone() },
        experiment: spec.experiment.clone(),
    })
}
