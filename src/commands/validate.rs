//! `radbind validate` and the run summary: human-readable text about a config, its plates and
//! what a run did. Fits nothing and writes no files.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::Path;

use anyhow::Result;

use crate::layout::{Plate, Role};
use crate::types::row_label;
use crate::units::format_conc_nm;
use crate::{RunSummary, config, ingest, layout};

/// What `validate` found.
#[derive(Debug)]
pub struct ValidateReport {
    /// The text to print.
    pub text: String,
    /// Number of problems (0 = the config and inputs are ready to run).
    pub problems: usize,
}

/// Reads the config and inputs, lays out every plate and describes them.
///
/// # Errors
/// A config that cannot be parsed or resolved (every problem listed in the error).
pub fn validate(config_path: &Path) -> Result<ValidateReport> {
    let settings = config::load(config_path)?;
    let inputs = ingest::inputs::read_inputs(&settings.inputs, &settings.read_options());
    let laid = layout::lay_out_files(&inputs.reads, &inputs.errors, &settings);
    let raws: Vec<&crate::ingest::RawPlate> = inputs.plates().collect();
    let mut t = String::new();
    let _ = writeln!(t, "experiment: {}", settings.experiment);
    let _ = writeln!(t, "inputs: {} file(s), {} plate(s) read", settings.inputs.len(), raws.len());
    // Which input plate each config entry is, resolved once (kept in run.json too).
    let _ = writeln!(t, "\nplates (config entry -> input file, plate in that file):");
    for a in &laid.assignments {
        let _ = writeln!(t, "  {a}");
    }
    for plate in &laid.plates {
        t.push('\n');
        t.push_str(&plate_map(plate));
    }
    // How each plate will be normalised, and the plates that will not be fitted.
    let rules = crate::normalise::QcRules::of(&settings);
    let (normalised, _) =
        crate::normalise::normalise_all(laid.plates.clone(), &rules, &settings.targets);
    let notes: Vec<String> = normalised.iter().filter_map(plate_note).collect();
    if !notes.is_empty() {
        let _ = writeln!(t, "\nplate checks:");
        for n in &notes {
            let _ = writeln!(t, "  {n}");
        }
    }
    let mut curves: BTreeMap<(&str, &str), (Vec<&str>, usize)> = BTreeMap::new();
    for p in normalised.iter().filter(|n| n.qc.background_p95.is_none()).map(|n| &n.plate) {
        for w in p.wells.iter().filter(|w| w.role == Role::Sample) {
            let c = w.compound.as_deref().unwrap_or("?");
            let e = curves.entry((p.target.as_str(), c)).or_default();
            if e.0.last() != Some(&p.id.as_str()) {
                e.0.push(&p.id);
            }
            e.1 += 1;
        }
    }
    let primary: Vec<String> = normalised
        .iter()
        .filter(|n| n.plate.wells.iter().any(|w| w.role == Role::Primary))
        .map(|n| format!("{} ({})", n.plate.id, n.plate.target))
        .collect();
    if !primary.is_empty() {
        let _ = writeln!(t, "\nprimary screen plates: {}: {}", primary.len(), primary.join(", "));
    }
    let _ = writeln!(t, "\ncurves to fit: {}", curves.len());
    for ((target, compound), (plates, n)) in &curves {
        let _ = writeln!(t, "  {target} / {compound}: {n} wells on {}", plates.join(", "));
    }
    let warnings = well_warnings(&raws, &laid.plates);
    if !warnings.is_empty() {
        let _ = writeln!(
            t,
            "\n{} warning(s) (the run goes on; these wells are left out):",
            warnings.len()
        );
        for w in &warnings {
            let _ = writeln!(t, "  {w}");
        }
    }
    // Every input file problem, then every layout problem, in one list.
    let problems: Vec<&String> = inputs.problems.iter().chain(&laid.problems).collect();
    if problems.is_empty() {
        let _ = writeln!(t, "\nno problems found");
    } else {
        let _ = writeln!(t, "\n{} problem(s):", problems.len());
        for p in &problems {
            let _ = writeln!(t, "  {p}");
        }
    }
    Ok(ValidateReport { text: t, problems: problems.len() })
}

/// What `validate` says about a plate's normalisation: a background plate, a curve-only
/// plate (raw signal), controls without a usable window (with the rotation hint); `None`
/// for a plate normalised to its controls.
fn plate_note(np: &crate::normalise::NormalisedPlate) -> Option<String> {
    let id = &np.plate.id;
    if let Some(b) = np.qc.background_text(id) {
        return Some(b);
    }
    if np.qc.normalisation == crate::normalise::Normalisation::Signal {
        return Some(format!(
            "{id}: no control wells: its curves are fitted on the raw signal (CPM) with free \
             plateaus and shown in % of the fitted span"
        ));
    }
    np.qc.unusable(id)
}

/// Most wells listed per plate in the warnings before "and n more".
const MAX_WELLS_LISTED: usize = 12;

/// Instrument/reader warnings of the plates read, and per plate the wells with a role but no
/// count (they are left out of QC and fits).
fn well_warnings(raws: &[&crate::ingest::RawPlate], plates: &[Plate]) -> Vec<String> {
    let mut out = Vec::new();
    for raw in raws {
        for w in &raw.meta.warnings {
            out.push(format!("{} plate {}: {w}", raw.source.display(), raw.index_in_file));
        }
    }
    for p in plates {
        let missing: Vec<String> = p
            .wells
            .iter()
            .filter(|w| w.role != Role::Unused && w.cpm.is_none())
            .map(|w| match (&w.compound, w.conc_nm) {
                (Some(c), Some(x)) => format!("{} ({c} {})", w.pos, format_conc_nm(x)),
                _ => format!("{} ({})", w.pos, w.role.name()),
            })
            .collect();
        if missing.is_empty() {
            continue;
        }
        let more = missing.len().saturating_sub(MAX_WELLS_LISTED);
        let mut listed = missing[..missing.len().min(MAX_WELLS_LISTED)].join(", ");
        if more > 0 {
            listed.push_str(&format!(" and {more} more"));
        }
        out.push(format!(
            "{} ({} plate {}): {} well(s) of the layout have no count: {listed}",
            p.id,
            p.source.display(),
            p.index_in_file,
            missing.len()
        ));
    }
    out
}

/// A plate map: one cell per well, `T` total, `N` NSB, `B` blank, `V` vehicle, `.` unused,
/// a compound letter with the concentration rank (1 = highest), `x` for excluded wells.
#[must_use]
pub fn plate_map(p: &Plate) -> String {
    let mut t = String::new();
    let _ = writeln!(
        t,
        "{}: {} plate {}, {}, target {}, layout {}{}",
        p.id,
        p.source.display(),
        p.index_in_file,
        p.geometry,
        p.target,
        p.layout,
        if p.rotated { ", rotated 180°" } else { "" }
    );
    // Compound letters in order of appearance; concentration ranks per compound (rank 0 =
    // zero dose, a concentration-table line with concentration 0).
    let mut letters: Vec<&str> = Vec::new();
    let mut concs: BTreeMap<&str, Vec<f64>> = BTreeMap::new();
    // Primary-screen compounds are numbered by their first well instead (`p1`, `p2`, ...).
    let mut primary: Vec<&str> = Vec::new();
    for w in p.wells.iter().filter(|w| w.role == Role::Primary) {
        if let Some(c) = w.compound.as_deref().filter(|c| !primary.contains(c)) {
            primary.push(c);
        }
    }
    let mut zero_dose: Vec<&str> = Vec::new();
    for w in p.wells.iter().filter(|w| w.role != Role::Primary) {
        if let (Some(c), Some(x)) = (w.compound.as_deref(), w.conc_nm) {
            if !letters.contains(&c) {
                letters.push(c);
            }
            if x > 0.0 {
                concs.entry(c).or_default().push(x);
            } else if !zero_dose.contains(&c) {
                zero_dose.push(c);
            }
        }
    }
    for v in concs.values_mut() {
        v.sort_by(|a, b| b.total_cmp(a));
        v.dedup();
    }
    let cols = usize::from(p.geometry.cols);
    let _ = write!(t, "     ");
    for c in 1..=cols {
        let _ = write!(t, "{c:>4}");
    }
    t.push('\n');
    for (r, row) in p.wells.chunks(cols).enumerate() {
        let _ = write!(t, "  {:<3}", row_label(u16::try_from(r).unwrap_or(0)));
        for w in row {
            let cell = match (w.role, w.compound.as_deref()) {
                (Role::Total, _) => "T".to_string(),
                (Role::Nsb, _) => "N".to_string(),
                (Role::Blank, _) => "B".to_string(),
                (Role::Vehicle, _) => "V".to_string(),
                (Role::Sample, Some(c)) => {
                    let li = letters.iter().position(|l| *l == c).unwrap_or(0);
                    let letter = crate::types::compound_letter(li);
                    let rank = concs
                        .get(c)
                        .and_then(|v| v.iter().position(|x| Some(*x) == w.conc_nm))
                        .map_or(0, |k| k + 1);
                    format!("{letter}{rank}")
                }
                (Role::Primary, Some(c)) => {
                    format!("p{}", primary.iter().position(|l| *l == c).map_or(0, |k| k + 1))
                }
                _ => ".".to_string(),
            };
            let mark = if w.excluded.is_some() && w.role != Role::Unused { "x" } else { "" };
            let _ = write!(t, "{:>4}", format!("{cell}{mark}"));
        }
        t.push('\n');
    }
    for (i, c) in letters.iter().enumerate() {
        let letter = crate::types::compound_letter(i);
        let zero = if zero_dose.contains(c) { ", and zero dose (0)" } else { "" };
        match concs.get(c).filter(|v| !v.is_empty()) {
            Some(v) => {
                let _ = writeln!(
                    t,
                    "  {letter} = {c}: {} concentrations, {} (1) to {}{zero}",
                    v.len(),
                    format_conc_nm(v[0]),
                    format_conc_nm(v[v.len() - 1])
                );
            }
            None => {
                let _ = writeln!(t, "  {letter} = {c}: zero dose (0) only");
            }
        }
    }
    if !primary.is_empty() {
        let conc = p
            .wells
            .iter()
            .find(|w| w.role == Role::Primary)
            .and_then(|w| w.conc_nm)
            .map_or_else(|| "a concentration not given".to_string(), format_conc_nm);
        let names: Vec<String> =
            primary.iter().enumerate().map(|(k, c)| format!("p{} = {c}", k + 1)).collect();
        let _ = writeln!(
            t,
            "  primary screen plate: {} compound(s) at {conc} (% inhibition, no curves): {}",
            primary.len(),
            names.join(", ")
        );
    }
    let excluded: Vec<String> = p
        .wells
        .iter()
        .filter(|w| w.role != Role::Unused)
        .filter_map(|w| w.excluded.as_ref().map(|e| format!("{} ({e})", w.pos)))
        .collect();
    if !excluded.is_empty() {
        let _ = writeln!(t, "  excluded: {}", excluded.join(", "));
    }
    t
}

/// The one-screen summary printed after a run.
#[must_use]
pub fn summary_text(s: &RunSummary) -> String {
    let mut t = String::new();
    let (pp, pn, hits, none) = s.primary;
    if pp == 0 {
        let _ = writeln!(
            t,
            "radbind: {} plate(s), {} curve(s): {} ok, {} flagged, {} failed",
            s.plates, s.curves, s.ok, s.flagged, s.failed
        );
    } else {
        let _ = writeln!(
            t,
            "radbind: {} plate(s) ({} curve, {pp} primary); {} curve(s): {} ok, {} flagged, {} \
             failed; primary screen: {pn} compound result(s), {hits} hit(s), {none} without a \
             response",
            s.plates,
            s.plates.saturating_sub(pp),
            s.curves,
            s.ok,
            s.flagged,
            s.failed
        );
    }
    for f in &s.failures {
        let _ = writeln!(t, "  {f}");
    }
    if let Some(note) = &s.figures_note {
        let _ = writeln!(t, "{note}");
    }
    for r in &s.references {
        let _ = writeln!(t, "reference {r}");
    }
    if s.figures_missing > 0 {
        let _ = writeln!(
            t,
            "completed with problems: {} figure(s) could not be written",
            s.figures_missing
        );
    }
    if !s.problems.is_empty() {
        let _ = writeln!(t, "{} problem(s):", s.problems.len());
        for p in &s.problems {
            let _ = writeln!(t, "  {p}");
        }
    }
    if !s.unused.is_empty() {
        let _ = writeln!(t, "{} input plate(s) not used by any config entry:", s.unused.len());
        for u in &s.unused {
            let _ = writeln!(t, "  {u}");
        }
    }
    let _ = writeln!(t, "results: {}", s.run_dir.display());
    let _ = writeln!(t, "report:  {}", s.out_root.join("latest").join("report.html").display());
    t
}
