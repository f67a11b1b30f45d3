//! `radbind simulate`: realistic plate exports with known truth, for sample data, tests and
//! benchmarks.
//!
//! A simulation config names an analysis config (whose layouts and plate list say what is on
//! each plate) and gives the truth: Ki (or IC50) and Hill slope per target and compound, the
//! counts of total and NSB wells, pipetting and counting noise, and a seed.
//!
//! Model of one well (all CPM):
//! - expected specific fraction `f = 1 / (1 + 10^((logIC50 - X) * HillSlope))` with
//!   X = log10 molar concentration and IC50 = Ki (1 + [L]/Kd) (Cheng-Prusoff, inverted);
//! - expected counts `mu = NSB + (Total - NSB) f`;
//! - pipetting noise: `mu * (1 + cv * z)`, z standard normal;
//! - counting noise: Poisson counts over `counting_minutes`, divided back to CPM, rounded.
//!
//! The same seed gives the same files on every machine (ChaCha8 stream).

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use rand_distr::{Distribution, Normal, Poisson};
use serde::Deserialize;

use crate::config::{self, Settings};
use crate::ingest::microbeta;
use crate::layout::{self, Role};
use crate::types::Geometry;

/// A simulation config.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SimOptions {
    /// The analysis config whose plate map is simulated (relative to this file).
    pub analysis: String,
    /// Seed of the random stream.
    pub seed: u64,
    /// Directory for the exports and truth.csv (relative to this file).
    pub output: String,
    /// Which plates (global numbers of the analysis config) go into which export file.
    /// Default: one file `plates.txt` with every plate.
    pub files: Option<Vec<SimFile>>,
    /// Default counts and noise.
    pub counts: SimCounts,
    /// Per-target count overrides.
    pub target_counts: Option<BTreeMap<String, SimCounts>>,
    /// Truth per target, per compound.
    pub truth: BTreeMap<String, BTreeMap<String, SimTruth>>,
    /// Plates (global numbers) to write as counted turned by 180 degrees.
    pub rotated_plates: Option<Vec<u32>>,
}

/// One export file and the plates in it.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SimFile {
    /// File name.
    pub name: String,
    /// Plate numbers, e.g. `"1-3"`.
    pub plates: String,
}

/// Counts and noise.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SimCounts {
    /// Mean total binding, CPM.
    pub total_cpm: Option<f64>,
    /// Mean NSB, CPM.
    pub nsb_cpm: Option<f64>,
    /// Mean blank, CPM.
    pub blank_cpm: Option<f64>,
    /// Counting time per well, minutes (Poisson noise on CPM x minutes).
    pub counting_minutes: Option<f64>,
    /// Pipetting CV, % (multiplicative normal noise).
    pub pipetting_cv_pct: Option<f64>,
}

/// The truth of one compound at one target.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SimTruth {
    /// True Ki, nM (IC50 follows from the target's [L] and Kd).
    #[serde(rename = "ki_nM")]
    pub ki_nm: Option<f64>,
    /// True IC50, nM (instead of Ki).
    #[serde(rename = "ic50_nM")]
    pub ic50_nm: Option<f64>,
    /// Hill slope (default -1).
    pub hill_slope: Option<f64>,
}

#[derive(Debug, Clone, Copy)]
struct Counts {
    total: f64,
    nsb: f64,
    blank: f64,
    minutes: f64,
    cv: f64,
}

impl Counts {
    fn merged(base: &SimCounts, over: Option<&SimCounts>) -> Counts {
        let pick = |f: fn(&SimCounts) -> Option<f64>, d: f64| {
            over.and_then(f).or_else(|| f(base)).unwrap_or(d)
        };
        Counts {
            total: pick(|c| c.total_cpm, 3000.0),
            nsb: pick(|c| c.nsb_cpm, 300.0),
            blank: pick(|c| c.blank_cpm, 25.0),
            minutes: pick(|c| c.counting_minutes, 1.0),
            cv: pick(|c| c.pipetting_cv_pct, 3.0) / 100.0,
        }
    }
}

/// Writes the simulated exports and `truth.csv`; returns the files written.
///
/// `repeat` > 1 writes the plate set that many times (files get a `_rN` suffix), for
/// benchmarks on many plates; the analysis config's inputs glob must match those names.
///
/// # Errors
/// A bad simulation or analysis config, or files that cannot be written.
pub fn simulate(path: &Path, out: Option<&Path>, repeat: usize) -> Result<Vec<PathBuf>> {
    let text = std::fs::read_to_string(path)
        .with_context(|| format!("cannot read simulation config {}", path.display()))?;
    let sim: SimOptions = serde_yaml::from_str(&text)
        .with_context(|| format!("{}: invalid simulation config", path.display()))?;
    let base = path.parent().unwrap_or(Path::new("."));
    let settings = match config::load(&base.join(&sim.analysis)) {
        Ok(s) => s,
        // The analysis config's inputs do not exist yet: that is what we are making.
        Err(e) if e.problems.iter().all(|p| p.key.starts_with("inputs")) => {
            let text = std::fs::read_to_string(base.join(&sim.analysis))?;
            let opts: config::options::Options = serde_yaml::from_str(&text)?;
            // Any existing file satisfies the input check; the simulator never reads inputs.
            let mut o = opts.clone();
            o.inputs = vec![std::fs::canonicalize(path)?.to_string_lossy().to_string()];
            config::settings::resolve(&base.join(&sim.analysis), text, o)
                .map_err(anyhow::Error::from)?
        }
        Err(e) => return Err(e.into()),
    };
    let out_dir = out.map_or_else(|| base.join(&sim.output), Path::to_path_buf);
    std::fs::create_dir_all(&out_dir).with_context(|| format!("creating {}", out_dir.display()))?;
    let plates = plan(&settings, &sim)?;
    let files = sim.files.clone().unwrap_or_else(|| {
        vec![SimFile { name: "plates.txt".into(), plates: format!("1-{}", plates.len()) }]
    });
    let mut rng = ChaCha8Rng::seed_from_u64(sim.seed);
    let mut written = Vec::new();
    for r in 0..repeat.max(1) {
        for f in &files {
            let numbers = parse_numbers(&f.plates)
                .with_context(|| format!("files: cannot read plate numbers `{}`", f.plates))?;
            let mut export = Vec::new();
            for n in numbers {
                let Some(plan) = plates.get(&n) else {
                    bail!("files: plate {n} is not in the analysis config's plate list");
                };
                export.push(draw(plan, &mut rng));
            }
            let name = if repeat > 1 { suffixed(&f.name, r + 1) } else { f.name.clone() };
            let p = out_dir.join(&name);
            let text =
                microbeta::write(&export, "RADBIND_SIMULATED_3H_1_MIN", "Sat 21-Nov-2026 12:00");
            std::fs::write(&p, text).with_context(|| format!("writing {}", p.display()))?;
            written.push(p);
        }
    }
    let truth = out_dir.join("truth.csv");
    std::fs::write(&truth, truth_csv(&settings, &sim)?)
        .with_context(|| format!("writing {}", truth.display()))?;
    written.push(truth);
    Ok(written)
}

fn suffixed(name: &str, r: usize) -> String {
    match name.rsplit_once('.') {
        Some((stem, ext)) => format!("{stem}_r{r:05}.{ext}"),
        None => format!("{name}_r{r:05}"),
    }
}

fn parse_numbers(s: &str) -> Option<Vec<u32>> {
    let mut out = Vec::new();
    for part in s.split(',') {
        let part = part.trim();
        if let Some((a, b)) = part.split_once('-') {
            let (a, b): (u32, u32) = (a.trim().parse().ok()?, b.trim().parse().ok()?);
            out.extend(a..=b);
        } else {
            out.push(part.parse().ok()?);
        }
    }
    Some(out)
}

/// What one plate should contain: expected CPM per designed well, or `None` (not counted).
struct PlatePlan {
    geometry: Geometry,
    expected: Vec<Option<f64>>,
    counts: Counts,
    rotated: bool,
}

fn plan(settings: &Settings, sim: &SimOptions) -> Result<BTreeMap<u32, PlatePlan>> {
    let mut out = BTreeMap::new();
    let rotated = sim.rotated_plates.clone().unwrap_or_default();
    for spec in &settings.plates {
        let layout = &settings.layouts[&spec.layout];
        let geometry = layout.geometry.unwrap_or(Geometry::W96);
        let target = &settings.targets[&spec.target];
        let counts = Counts::merged(
            &sim.counts,
            sim.target_counts.as_ref().and_then(|m| m.get(&spec.target)),
        );
        // Lay out an empty plate of the right size to learn each well's role and concentration.
        let blank_raw = crate::ingest::RawPlate {
            source: PathBuf::from("simulated"),
            index_in_file: 1,
            label: String::new(),
            geometry,
            values: vec![Some(0.0); geometry.len()],
            meta: crate::ingest::PlateMeta::default(),
        };
        let mut one = settings.clone();
        one.plates = vec![config::settings::PlateSpec {
            numbers: vec![1],
            file: None,
            rotated: false,
            ..spec.clone()
        }];
        one.exclusions.clear();
        let laid = layout::lay_out(std::slice::from_ref(&blank_raw), &one);
        let Some(plate) = laid.plates.into_iter().next() else {
            bail!("cannot lay out plates[{}]: {}", spec.entry, laid.problems.join("; "));
        };
        let mut expected = Vec::with_capacity(geometry.len());
        for w in &plate.wells {
            let v = match w.role {
                Role::Total | Role::Vehicle => Some(counts.total),
                Role::Nsb => Some(counts.nsb),
                Role::Blank => Some(counts.blank),
                Role::Unused => None,
                Role::Sample => {
                    let compound = w.compound.as_deref().unwrap_or_default();
                    let truth =
                        sim.truth.get(&spec.target).and_then(|m| m.get(compound)).with_context(
                            || format!("truth: no entry for {} / {compound}", spec.target),
                        )?;
                    let ic50 = ic50_of(truth, target)?;
                    let hill = truth.hill_slope.unwrap_or(-1.0);
                    let x = w.conc_nm.unwrap_or(0.0).log10() - 9.0;
                    let log_ic50 = ic50.log10() - 9.0;
                    let f = 1.0 / (1.0 + 10f64.powf((log_ic50 - x) * hill));
                    Some(counts.nsb + (counts.total - counts.nsb) * f)
                }
            };
            expected.push(v);
        }
        for &n in &spec.numbers {
            out.insert(
                n,
                PlatePlan {
                    geometry,
                    expected: expected.clone(),
                    counts,
                    rotated: spec.rotated || rotated.contains(&n),
                },
            );
        }
    }
    Ok(out)
}

fn ic50_of(t: &SimTruth, target: &config::settings::Target) -> Result<f64> {
    match (t.ki_nm, t.ic50_nm) {
        (Some(ki), None) => Ok(ki * (1.0 + target.radioligand_nm / target.kd_nm)),
        (None, Some(ic50)) => Ok(ic50),
        _ => bail!("truth for target {}: give exactly one of ki_nM or ic50_nM", target.name),
    }
}

/// Draws one noisy plate (in reader orientation) from its plan.
fn draw(plan: &PlatePlan, rng: &mut ChaCha8Rng) -> microbeta::WriteablePlate {
    let g = plan.geometry;
    let normal = Normal::new(0.0, 1.0).expect("unit normal is valid");
    let mut values = vec![None; g.len()];
    for (i, e) in plan.expected.iter().enumerate() {
        let Some(mu) = e else { continue };
        let pipetted = (mu * (1.0 + plan.counts.cv * normal.sample(rng))).max(0.0);
        let lambda = pipetted * plan.counts.minutes;
        let counts =
            if lambda > 0.0 { Poisson::new(lambda).map_or(lambda, |p| p.sample(rng)) } else { 0.0 };
        let cpm = (counts / plan.counts.minutes).round();
        let pos = g.pos(i);
        let at = if plan.rotated { g.rotate180(pos) } else { pos };
        values[g.index(at).expect("rotation stays on the plate")] = Some(cpm);
    }
    microbeta::WriteablePlate { geometry: g, values, label: "CCPM1".to_string() }
}

fn truth_csv(settings: &Settings, sim: &SimOptions) -> Result<String> {
    let mut t = String::from(
        "target,compound,ki_nM,ic50_nM,hill_slope,log_ic50,top_conc_nM,bottom_conc_nM,complete\n",
    );
    for (target_name, compounds) in &sim.truth {
        let Some(target) = settings.targets.get(target_name) else {
            bail!("truth: unknown target `{target_name}`");
        };
        for (compound, truth) in compounds {
            let ic50 = ic50_of(truth, target)?;
            let ki = ic50 / (1.0 + target.radioligand_nm / target.kd_nm);
            let (lo, hi) = tested_range(settings, target_name, compound);
            // "Complete" when the IC50 lies half a log unit inside the tested range, so both
            // plateaus are approached.
            let complete = lo > 0.0 && ic50 < hi / 10f64.sqrt() && ic50 > lo * 10f64.sqrt();
            let _ = writeln!(
                t,
                "{target_name},{compound},{ki},{ic50},{},{},{hi},{lo},{complete}",
                truth.hill_slope.unwrap_or(-1.0),
                ic50.log10() - 9.0
            );
        }
    }
    Ok(t)
}

/// Lowest and highest concentration (nM) of a compound at a target in the analysis config.
fn tested_range(settings: &Settings, target: &str, compound: &str) -> (f64, f64) {
    let mut lo = f64::INFINITY;
    let mut hi = 0.0f64;
    for spec in settings.plates.iter().filter(|p| p.target == target) {
        let series = &settings.layouts[&spec.layout].series;
        for b in spec.compounds.iter().filter(|b| b.name == compound) {
            if let Some(c) = b.conc.as_ref().or(series.conc.as_ref()) {
                let v = c.values_high_to_low(series.len());
                hi = hi.max(v[0]);
                lo = lo.min(v[v.len() - 1]);
            }
        }
    }
    if lo.is_finite() { (lo, hi) } else { (0.0, 0.0) }
}
