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
//! Other assays (`truth` per target follows the target's `assay`):
//! - uptake: as competition, with [S] and Km in place of [L] and Kd;
//! - [35S]GTPγS: basal wells at `basal_cpm`; an agonist well at
//!   `NSB + (basal - NSB) (1 + E / 100)` with `E = Emax / (1 + 10^((logEC50 - X) h))`
//!   (% stimulation over basal, h > 0); an antagonist well at the same with
//!   `E = top / (1 + 10^((X - logIC50) h))`, `IC50 = Kb ((2 + ([A]/EC50)^n)^(1/n) - 1)`
//!   (Leff & Dougall 1993) from the config's agonist concentration and EC50 (or the reference
//!   agonist's true EC50 and slope);
//! - saturation (`saturation:` truth): total wells at `Bmax L^h / (Kd^h + L^h) + NS L + B`,
//!   NSB wells at `NS L + B`, L the radioligand concentration of the well's column.
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
use crate::derive::{cheng_prusoff, ic50_from_ki};
use crate::ingest::microbeta;
use crate::layout::{self, Role};
use crate::types::Geometry;
use crate::units::log10_molar;

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
    /// Truth per target, per compound (competition, uptake, [35S]GTPγS targets).
    #[serde(default)]
    pub truth: BTreeMap<String, BTreeMap<String, SimTruth>>,
    /// Truth per saturation target.
    pub saturation: Option<BTreeMap<String, SimSaturation>>,
    /// Plates (global numbers) to write as counted turned by 180 degrees.
    pub rotated_plates: Option<Vec<u32>>,
    /// A series of independent experiments instead of one set of exports (assay history:
    /// between-experiment variation, drift, a bad run), written by `commands::series`.
    pub series: Option<SimSeries>,
    /// Primary-screen compounds without a `truth` entry: how their true inhibition is drawn.
    pub primary_screen: Option<SimPrimary>,
    /// A concentration table of every competition (and uptake) compound in `truth`, for an
    /// analysis config with `format: concentration_table`.
    pub table: Option<SimTable>,
}

/// The `series:` section of a simulation config (written by `commands::series`).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SimSeries {
    /// Number of independent experiments (at least 1).
    pub experiments: usize,
    /// Between-experiment SD of the log potency (log units, e.g. 0.15).
    pub between_sd: f64,
    /// Drift of the log potency per experiment (log units; default 0).
    pub drift: Option<f64>,
    /// Assay date of experiment 1, `YYYY-MM-DD` (default 2026-01-05).
    pub start_date: Option<String>,
    /// Days between experiments (default 7).
    pub step_days: Option<i64>,
    /// One bad experiment.
    pub bad_run: Option<SimBadRun>,
}

/// A bad experiment of a series: its potencies shifted.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SimBadRun {
    /// Which experiment (1-based).
    pub experiment: usize,
    /// Shift of the log potency, log units (e.g. −0.8: every Ki 6.3-fold higher).
    pub shift: f64,
    /// Targets affected (default: all).
    pub targets: Option<Vec<String>>,
    /// Compounds affected (default: all; e.g. one compound's stock diluted wrongly, while
    /// the reference compound is right).
    pub compounds: Option<Vec<String>>,
}

/// A simulated concentration table: one line per compound, concentration and replicate, the
/// same lines written to every file named.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SimTable {
    /// Files to write: `.csv` (comma), `.tsv` (tab) or `.xlsx` (one sheet `Data`).
    pub files: Vec<String>,
    /// Highest concentration with a unit, e.g. `"10 µM"`.
    pub top: String,
    /// Dilution factor between neighbouring concentrations, e.g. 3.162 (half-log).
    pub dilution: f64,
    /// Number of concentrations (above zero).
    pub points: usize,
    /// Lines per concentration. Default 3.
    pub replicates: Option<usize>,
    /// Also write zero-concentration lines (total binding), one per replicate. Default true.
    pub zero_dose: Option<bool>,
    /// Unit of the concentration column, in its header: `Concentration (<unit>)`. Default `uM`.
    pub unit: Option<String>,
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
    /// Mean basal [35S]GTPγS binding, CPM.
    pub basal_cpm: Option<f64>,
}

/// The truth of a saturation target (CPM and nM).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SimSaturation {
    /// Kd, nM.
    #[serde(rename = "kd_nM")]
    pub kd_nm: f64,
    /// Bmax, CPM.
    pub bmax_cpm: f64,
    /// NSB slope, CPM per nM.
    #[serde(rename = "ns_cpm_per_nM")]
    pub ns_cpm_per_nm: f64,
    /// NSB intercept (filter background), CPM.
    pub background_cpm: f64,
    /// Hill slope of specific binding (default 1).
    pub hill_slope: Option<f64>,
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
    /// Hill slope (default -1; GTPγS agonists +1).
    pub hill_slope: Option<f64>,
    /// [35S]GTPγS agonist: EC50, nM.
    #[serde(rename = "ec50_nM")]
    pub ec50_nm: Option<f64>,
    /// [35S]GTPγS: maximal stimulation over basal, % (agonists: Emax; antagonists: the
    /// stimulation by the fixed agonist concentration they inhibit).
    pub emax_pct: Option<f64>,
    /// [35S]GTPγS antagonist: Kb, nM.
    #[serde(rename = "kb_nM")]
    pub kb_nm: Option<f64>,
    /// Primary-screen wells: the true % inhibition (instead of Ki or IC50).
    pub inhibition_pct: Option<f64>,
}

/// How the true % inhibition of primary-screen compounds without a `truth` entry is drawn.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SimPrimary {
    /// Fraction of compounds that are actives, 0 to 1 (e.g. 0.2).
    pub active_fraction: f64,
    /// Range of an active's true % inhibition. Default `[60, 100]`.
    pub active_inhibition_pct: Option<[f64; 2]>,
    /// Range of an inactive's true % inhibition. Default `[-10, 30]`.
    pub inactive_inhibition_pct: Option<[f64; 2]>,
}

#[derive(Debug, Clone, Copy)]
struct Counts {
    total: f64,
    nsb: f64,
    basal: f64,
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
            basal: pick(|c| c.basal_cpm, 1000.0),
            blank: pick(|c| c.blank_cpm, 25.0),
            minutes: pick(|c| c.counting_minutes, 1.0),
            cv: pick(|c| c.pipetting_cv_pct, 3.0) / 100.0,
        }
    }
}

/// A simulation config read, with its analysis config resolved and the directory to write.
#[derive(Debug, Clone)]
pub struct Simulation {
    /// The analysis config (layouts and plate list).
    pub settings: Settings,
    /// The simulation config.
    pub sim: SimOptions,
    /// Where the files go (created).
    pub out_dir: PathBuf,
}

/// Reads a simulation config and its analysis config; creates the output directory (`out`,
/// else the config's `output`).
///
/// # Errors
/// A bad simulation or analysis config, or an output directory that cannot be created.
pub fn load(path: &Path, out: Option<&Path>) -> Result<Simulation> {
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
            let opts: config::Options = serde_yaml::from_str(&text)?;
            // Any existing file satisfies the input check; the simulator never reads inputs.
            let mut o = opts.clone();
            o.inputs = vec![std::fs::canonicalize(path)?.to_string_lossy().to_string()];
            config::resolve(&base.join(&sim.analysis), text, o).map_err(anyhow::Error::from)?
        }
        Err(e) => return Err(e.into()),
    };
    let mut settings = settings;
    // A competition target whose Kd comes from a saturation target (`kd_from`) has the
    // saturation truth's Kd.
    for t in settings.targets.values_mut() {
        if let Some(from) = &t.kd_from {
            if let Some(s) = sim.saturation.as_ref().and_then(|m| m.get(from)) {
                t.kd_nm = s.kd_nm;
            }
        }
    }
    let out_dir = out.map_or_else(|| base.join(&sim.output), Path::to_path_buf);
    std::fs::create_dir_all(&out_dir).with_context(|| format!("creating {}", out_dir.display()))?;
    Ok(Simulation { settings, sim, out_dir })
}

/// Writes one experiment's simulated exports and `truth.csv` (and the saturation, primary
/// and functional truths); returns the files written. A `series:` section is not this
/// function's: `commands::write_simulation` sends it to `commands::series`.
///
/// `repeat` > 1 writes the plate set that many times (files get a `_rN` suffix), for
/// benchmarks on many plates; the analysis config's inputs glob must match those names.
///
/// # Errors
/// Plate numbers not in the analysis config, or files that cannot be written.
pub fn write_single(s: &Simulation, repeat: usize) -> Result<Vec<PathBuf>> {
    let Simulation { settings, sim, out_dir } = s;
    let (settings, sim, out_dir) = (settings, sim, out_dir.as_path());
    // The primary-screen truth (the exports are planned again, identically, by write_exports).
    let (_, primary) = plan(settings, sim)?;
    let mut rng = ChaCha8Rng::seed_from_u64(sim.seed);
    let mut written = Vec::new();
    if let Some(table) = &sim.table {
        written.extend(write_tables(settings, sim, table, out_dir, &mut rng)?);
    }
    written.extend(write_exports(settings, sim, out_dir, &mut rng, repeat)?);
    let truth = out_dir.join("truth.csv");
    std::fs::write(&truth, truth_csv(settings, sim)?)
        .with_context(|| format!("writing {}", truth.display()))?;
    written.push(truth);
    if let Some(sat) = &sim.saturation {
        let mut t = String::from("target,kd_nM,bmax_cpm,ns_cpm_per_nM,background_cpm,hill_slope\n");
        for (name, s) in sat {
            let _ = writeln!(
                t,
                "{name},{},{},{},{},{}",
                s.kd_nm,
                s.bmax_cpm,
                s.ns_cpm_per_nm,
                s.background_cpm,
                s.hill_slope.unwrap_or(1.0)
            );
        }
        let p = out_dir.join("truth_saturation.csv");
        std::fs::write(&p, t).with_context(|| format!("writing {}", p.display()))?;
        written.push(p);
    }
    if !primary.is_empty() {
        let p = out_dir.join("truth_primary.csv");
        std::fs::write(&p, primary_truth_csv(settings, &primary))
            .with_context(|| format!("writing {}", p.display()))?;
        written.push(p);
    }
    if let Some(t) = functional_truth_csv(settings, sim)? {
        let p = out_dir.join("truth_functional.csv");
        std::fs::write(&p, t).with_context(|| format!("writing {}", p.display()))?;
        written.push(p);
    }
    Ok(written)
}

/// Writes one set of exports (the simulation's `files`, `repeat` times) drawn from `rng`;
/// returns the files written.
///
/// # Errors
/// Plate numbers that are not in the analysis config, or files that cannot be written.
pub(super) fn write_exports(
    settings: &Settings,
    sim: &SimOptions,
    out_dir: &Path,
    rng: &mut ChaCha8Rng,
    repeat: usize,
) -> Result<Vec<PathBuf>> {
    let (plates, _) = plan(settings, sim)?;
    let files = sim.files.clone().unwrap_or_else(|| {
        if plates.is_empty() {
            Vec::new()
        } else {
            vec![SimFile { name: "plates.txt".into(), plates: format!("1-{}", plates.len()) }]
        }
    });
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
                export.push(draw(plan, rng));
            }
            let name = if repeat > 1 { suffixed(&f.name, r + 1) } else { f.name.clone() };
            let p = out_dir.join(&name);
            let text =
                microbeta::write(&export, "RADBIND_SIMULATED_3H_1_MIN", "Sat 21-Nov-2026 12:00");
            std::fs::write(&p, text).with_context(|| format!("writing {}", p.display()))?;
            written.push(p);
        }
    }
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

/// True % inhibition of each primary-screen compound, by (target, compound).
type PrimaryTruth = BTreeMap<(String, String), f64>;

fn plan(settings: &Settings, sim: &SimOptions) -> Result<(BTreeMap<u32, PlatePlan>, PrimaryTruth)> {
    let mut out = BTreeMap::new();
    let mut primary = PrimaryTruth::new();
    // Its own stream, so primary truths do not shift the noise of the plates.
    let mut truth_rng = ChaCha8Rng::seed_from_u64(sim.seed ^ 0x5052_494d);
    let rotated: std::collections::BTreeSet<u32> =
        sim.rotated_plates.iter().flatten().copied().collect();
    // One copy of the settings without plates or masks, given one plate entry at a time (a
    // copy per entry would cost the whole plate list each time: quadratic in plates).
    let mut one = Settings { plates: Vec::new(), exclusions: Vec::new(), ..settings.clone() };
    for spec in &settings.plates {
        let layout = &settings.layouts[&spec.layout];
        let geometry = layout.geometry.unwrap_or(Geometry::W96);
        let target = &settings.targets[&spec.target];
        let counts = Counts::merged(
            &sim.counts,
            sim.target_counts.as_ref().and_then(|m| m.get(&spec.target)),
        );
        // The entry without its plates and names (a list may name a million compounds):
        // each plate below gets its own.
        let bare = config::PlateSpec { numbers: Vec::new(), names: None, ..spec.clone() };
        for &n in &spec.numbers {
            // Lay out an empty plate of the right size to learn each well's role, compound
            // and concentration (a primary plate's compounds by its number).
            let blank_raw = crate::ingest::RawPlate {
                source: PathBuf::from("simulated"),
                index_in_file: 1,
                label: String::new(),
                geometry,
                values: vec![Some(0.0); geometry.len()],
                meta: crate::ingest::PlateMeta::default(),
            };
            let names = spec.names.as_ref().map(|c| config::CompoundNames {
                shared: c.for_plate(Some(n), "").map(<[String]>::to_vec).unwrap_or_default(),
                by_plate: BTreeMap::new(),
                source: c.source.clone(),
            });
            one.plates = vec![config::PlateSpec {
                numbers: vec![1],
                file: None,
                rotated: false,
                names,
                ..bare.clone()
            }];
            let laid = layout::lay_out(std::slice::from_ref(&blank_raw), &one);
            let Some(plate) = laid.plates.into_iter().next() else {
                bail!(
                    "cannot lay out plates entry {}: {}",
                    spec.entry + 1,
                    laid.problems.join("; ")
                );
            };
            let mut expected = Vec::with_capacity(geometry.len());
            for w in &plate.wells {
                let v = match w.role {
                    Role::Total | Role::Vehicle => Some(counts.total),
                    Role::Nsb => Some(counts.nsb),
                    Role::Basal => Some(counts.basal),
                    Role::Blank => Some(counts.blank),
                    Role::Unused => None,
                    Role::Sample => Some(expected_sample(sim, &spec.target, target, w, &counts)?),
                    Role::Primary => {
                        let c = w.compound.clone().unwrap_or_default();
                        let key = (spec.target.clone(), c);
                        let inh = match primary.get(&key) {
                            Some(v) => *v,
                            None => {
                                let v = primary_truth(sim, target, w, &mut truth_rng)?;
                                primary.insert(key, v);
                                v
                            }
                        };
                        Some(counts.nsb + (counts.total - counts.nsb) * (1.0 - inh / 100.0))
                    }
                };
                expected.push(v);
            }
            out.insert(
                n,
                PlatePlan {
                    geometry,
                    expected,
                    counts,
                    rotated: spec.rotated || rotated.contains(&n),
                },
            );
        }
    }
    Ok((out, primary))
}

/// True % inhibition of a primary-screen compound: its `truth` entry (`inhibition_pct`, or
/// `100 (1 - f)` with the specific fraction `f` of its Ki or IC50 at the well's
/// concentration, as for curves), else drawn from `primary_screen` (an active with probability
/// `active_fraction`, uniform in `active_inhibition_pct`; otherwise uniform in
/// `inactive_inhibition_pct`).
fn primary_truth(
    sim: &SimOptions,
    target: &config::Target,
    w: &crate::layout::Well,
    rng: &mut ChaCha8Rng,
) -> Result<f64> {
    use rand::Rng;
    let compound = w.compound.as_deref().unwrap_or_default();
    if let Some(t) = sim.truth.get(&target.name).and_then(|m| m.get(compound)) {
        if let Some(v) = t.inhibition_pct {
            return Ok(v);
        }
        let ic50 = ic50_of(t, target)?;
        let conc = w.conc_nm.with_context(|| {
            format!("truth for {} / {compound}: a primary well without a concentration needs inhibition_pct", target.name)
        })?;
        let hill = t.hill_slope.unwrap_or(-1.0);
        let f = 1.0 / (1.0 + 10f64.powf((log10_molar(ic50) - log10_molar(conc)) * hill));
        return Ok(100.0 * (1.0 - f));
    }
    let p = sim.primary_screen.as_ref().with_context(|| {
        format!(
            "truth: no entry for {} / {compound}; give it `inhibition_pct`, or give \
             `primary_screen` to draw the inhibition of unlisted compounds",
            target.name
        )
    })?;
    let [alo, ahi] = p.active_inhibition_pct.unwrap_or([60.0, 100.0]);
    let [ilo, ihi] = p.inactive_inhibition_pct.unwrap_or([-10.0, 30.0]);
    let active = rng.random::<f64>() < p.active_fraction;
    let u = rng.random::<f64>();
    let (lo, hi) = if active { (alo, ahi) } else { (ilo, ihi) };
    // Rounded to 0.1 %, so truth_primary.csv holds the exact value simulated.
    Ok(((lo + (hi - lo) * u) * 10.0).round() / 10.0)
}

/// Expected CPM of a sample well (see the module documentation for each assay).
fn expected_sample(
    sim: &SimOptions,
    target_name: &str,
    target: &config::Target,
    w: &crate::layout::Well,
    counts: &Counts,
) -> Result<f64> {
    use config::Assay;
    let compound = w.compound.as_deref().unwrap_or_default();
    let conc = w.conc_nm.unwrap_or(0.0);
    let x = log10_molar(conc);
    if let Assay::Saturation(_) = target.assay {
        let t = sim
            .saturation
            .as_ref()
            .and_then(|m| m.get(target_name))
            .with_context(|| format!("saturation: no truth for target {target_name}"))?;
        let h = t.hill_slope.unwrap_or(1.0);
        let is_total = compound == "total";
        let bound = |free: f64| {
            let nsb = t.ns_cpm_per_nm * free + t.background_cpm;
            let specific = t.bmax_cpm * free.powf(h) / (t.kd_nm.powf(h) + free.powf(h));
            if is_total { nsb + specific } else { nsb }
        };
        // Ligand depletion is physics, not an analysis option: what binds is no longer free.
        // Free F solves F + bound(F) / (CPM per nM) = L (monotone in F; bisection on [0, L]).
        let k = target.counting.map_or(f64::NAN, |c| c.cpm_per_nm());
        if !(k.is_finite() && k > 0.0) || conc <= 0.0 {
            return Ok(bound(conc));
        }
        let (mut lo, mut hi) = (0.0, conc);
        for _ in 0..200 {
            let mid = 0.5 * (lo + hi);
            if mid + bound(mid) / k > conc { hi = mid } else { lo = mid }
        }
        return Ok(bound(0.5 * (lo + hi)));
    }
    let truth = sim
        .truth
        .get(target_name)
        .and_then(|m| m.get(compound))
        .with_context(|| format!("truth: no entry for {target_name} / {compound}"))?;
    if let Assay::Gtpgs(_) = target.assay {
        let (stim, _) = functional_truth(sim, target_name, target, compound, truth)?;
        let e = stim(x);
        return Ok(counts.nsb.min(counts.basal)
            + (counts.basal - counts.nsb.min(counts.basal)) * (1.0 + e / 100.0));
    }
    competition_cpm(truth, target, x, counts)
}

/// Expected CPM of a competition (or uptake) well at log10 molar concentration `x` (`-inf` =
/// zero dose): `NSB + (Total - NSB) / (1 + 10^((logIC50 - X) Hill))`.
fn competition_cpm(
    truth: &SimTruth,
    target: &config::Target,
    x: f64,
    counts: &Counts,
) -> Result<f64> {
    let ic50 = ic50_of(truth, target)?;
    let hill = truth.hill_slope.unwrap_or(-1.0);
    let log_ic50 = log10_molar(ic50);
    let f = 1.0 / (1.0 + 10f64.powf((log_ic50 - x) * hill));
    Ok(counts.nsb + (counts.total - counts.nsb) * f)
}

/// A response as a function of log10 molar concentration.
type Response = Box<dyn Fn(f64) -> f64>;

/// A [35S]GTPγS compound's true response (% stimulation over basal as a function of log10 M)
/// and its true IC50 in nM (antagonists; NaN for agonists).
fn functional_truth(
    sim: &SimOptions,
    target_name: &str,
    target: &config::Target,
    compound: &str,
    truth: &SimTruth,
) -> Result<(Response, f64)> {
    let config::Assay::Gtpgs(spec) = &target.assay else {
        bail!("target {target_name} is not a GTPγS target");
    };
    let emax = truth.emax_pct.with_context(|| {
        format!("truth for {target_name} / {compound}: give emax_pct (% stimulation over basal)")
    })?;
    if spec.antagonists.iter().any(|a| a == compound) {
        let kb = truth
            .kb_nm
            .with_context(|| format!("truth for antagonist {target_name} / {compound}: kb_nM"))?;
        let a = spec.agonist_nm.with_context(|| {
            format!("target {target_name}: gtpgs.agonist_nM is needed to simulate antagonists")
        })?;
        let reference = spec
            .reference_agonist
            .as_ref()
            .and_then(|r| sim.truth.get(target_name).and_then(|m| m.get(r)));
        let (ec50, n) = match (spec.agonist_ec50_nm, reference) {
            (Some(e), _) => (e, 1.0),
            (None, Some(r)) => (
                r.ec50_nm
                    .with_context(|| format!("reference agonist of {target_name}: ec50_nM"))?,
                r.hill_slope.unwrap_or(1.0).abs(),
            ),
            (None, None) => bail!(
                "target {target_name}: give gtpgs.agonist_ec50_nM or a reference agonist's truth"
            ),
        };
        let ic50 = kb * ((2.0 + (a / ec50).powf(n)).powf(1.0 / n) - 1.0);
        let h = truth.hill_slope.unwrap_or(-1.0).abs();
        let log_ic50 = log10_molar(ic50);
        Ok((Box::new(move |x| emax / (1.0 + 10f64.powf((x - log_ic50) * h))), ic50))
    } else {
        let ec50 = truth
            .ec50_nm
            .with_context(|| format!("truth for agonist {target_name} / {compound}: ec50_nM"))?;
        let h = truth.hill_slope.unwrap_or(1.0).abs();
        let log_ec50 = log10_molar(ec50);
        Ok((Box::new(move |x| emax / (1.0 + 10f64.powf((log_ec50 - x) * h))), f64::NAN))
    }
}

fn ic50_of(t: &SimTruth, target: &config::Target) -> Result<f64> {
    match (t.ki_nm, t.ic50_nm) {
        (Some(ki), None) => Ok(ic50_from_ki(ki, target.radioligand_nm, target.kd_nm)),
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
        let cpm = noisy_cpm(*mu, &plan.counts, &normal, rng);
        let pos = g.pos(i);
        let at = if plan.rotated { g.rotate180(pos) } else { pos };
        values[g.index(at).expect("rotation stays on the plate")] = Some(cpm);
    }
    microbeta::WriteablePlate { geometry: g, values, label: "CCPM1".to_string() }
}

/// `truth_primary.csv`: per target and primary-screen compound its true % inhibition and
/// whether that is a hit by the analysis config's `screen.min_inhibition_pct`.
fn primary_truth_csv(settings: &Settings, primary: &PrimaryTruth) -> String {
    let mut t = String::from("target,compound,inhibition_pct,hit\n");
    for ((target, compound), v) in primary {
        let hit = *v >= settings.screen.min_inhibition_pct;
        let _ = writeln!(t, "{target},{compound},{v},{hit}");
    }
    t
}

/// One well's counts: pipetting noise `mu (1 + cv z)`, then Poisson counting over the counting
/// time, back to CPM, rounded.
fn noisy_cpm(mu: f64, counts: &Counts, normal: &Normal<f64>, rng: &mut ChaCha8Rng) -> f64 {
    let pipetted = (mu * (1.0 + counts.cv * normal.sample(rng))).max(0.0);
    let lambda = pipetted * counts.minutes;
    let n = if lambda > 0.0 { Poisson::new(lambda).map_or(lambda, |p| p.sample(rng)) } else { 0.0 };
    (n / counts.minutes).round()
}

/// The concentrations of a simulated table, nM, lowest first.
fn table_concentrations(t: &SimTable) -> Result<Vec<f64>> {
    let top = crate::units::parse_conc_nm(&t.top)
        .with_context(|| format!("table.top: cannot read `{}` (write e.g. \"10 µM\")", t.top))?;
    if !(t.dilution > 1.0) || t.points < 2 {
        bail!("table: dilution must be above 1 and points at least 2");
    }
    let exponent = |k: usize| i32::try_from(k).unwrap_or(i32::MAX);
    Ok((0..t.points).rev().map(|k| top / t.dilution.powi(exponent(k))).collect())
}

/// A number with 4 significant digits, written plainly (`0.0003162`, `10`).
fn sig4(v: f64) -> f64 {
    format!("{v:.3e}").parse().unwrap_or(v)
}

/// Writes the simulated concentration table to each of `table.files`: columns Target,
/// Compound, Replicate, `Concentration (<unit>)`, CPM; per target and compound, the zero-dose
/// lines and then the concentrations lowest first, each with its replicates.
fn write_tables(
    settings: &Settings,
    sim: &SimOptions,
    table: &SimTable,
    out_dir: &Path,
    rng: &mut ChaCha8Rng,
) -> Result<Vec<PathBuf>> {
    use crate::ingest::xlsx_write::{XlsxCell, write_sheet};
    let unit = table.unit.clone().unwrap_or_else(|| "uM".to_string());
    let per_unit = crate::units::nm_per_unit(&unit)
        .with_context(|| format!("table.unit: `{unit}` is not M, mM, uM, nM, pM or fM"))?;
    let mut concs = table_concentrations(table)?;
    if table.zero_dose.unwrap_or(true) {
        concs.insert(0, 0.0);
    }
    let normal = Normal::new(0.0, 1.0).expect("unit normal is valid");
    let header = ["Target", "Compound", "Replicate", &format!("Concentration ({unit})"), "CPM"];
    let mut rows: Vec<Vec<XlsxCell>> =
        vec![header.iter().map(|h| XlsxCell::Text((*h).to_string())).collect()];
    for (target_name, compounds) in &sim.truth {
        let Some(target) = settings.targets.get(target_name) else {
            bail!("truth: unknown target `{target_name}`");
        };
        if !matches!(target.assay, config::Assay::Competition | config::Assay::Uptake) {
            continue;
        }
        let counts = Counts::merged(
            &sim.counts,
            sim.target_counts.as_ref().and_then(|m| m.get(target_name)),
        );
        for (compound, truth) in compounds {
            for &c in &concs {
                // The concentration as written is the one simulated (and fitted).
                let written = sig4(c / per_unit);
                let mu = competition_cpm(truth, target, log10_molar(written * per_unit), &counts)?;
                for r in 1..=table.replicates.unwrap_or(3) {
                    rows.push(vec![
                        XlsxCell::Text(target_name.clone()),
                        XlsxCell::Text(compound.clone()),
                        XlsxCell::Number(r as f64),
                        XlsxCell::Number(written),
                        XlsxCell::Number(noisy_cpm(mu, &counts, &normal, rng)),
                    ]);
                }
            }
        }
    }
    let mut written = Vec::new();
    for name in &table.files {
        let p = out_dir.join(name);
        let lower = name.to_lowercase();
        let bytes = if lower.ends_with(".xlsx") {
            write_sheet("Data", &rows)
        } else {
            let delim = if lower.ends_with(".tsv") { "\t" } else { "," };
            let cell = |c: &XlsxCell| match c {
                XlsxCell::Text(t) => t.clone(),
                XlsxCell::Number(v) => v.to_string(),
                XlsxCell::Empty => String::new(),
            };
            let mut text = String::new();
            for row in &rows {
                text.push_str(&row.iter().map(cell).collect::<Vec<_>>().join(delim));
                text.push('\n');
            }
            text.into_bytes()
        };
        std::fs::write(&p, bytes).with_context(|| format!("writing {}", p.display()))?;
        written.push(p);
    }
    Ok(written)
}

pub(super) fn truth_csv(settings: &Settings, sim: &SimOptions) -> Result<String> {
    let mut t = String::from(
        "target,compound,ki_nM,ic50_nM,hill_slope,log_ic50,top_conc_nM,bottom_conc_nM,complete\n",
    );
    // Every compound's range from one pass over the plates (a pass per compound is
    // quadratic in plates).
    let ranges = tested_ranges(settings);
    for (target_name, compounds) in &sim.truth {
        let Some(target) = settings.targets.get(target_name) else {
            bail!("truth: unknown target `{target_name}`");
        };
        if !matches!(target.assay, config::Assay::Competition | config::Assay::Uptake) {
            continue;
        }
        for (compound, truth) in compounds.iter().filter(|(_, t)| t.inhibition_pct.is_none()) {
            let ic50 = ic50_of(truth, target)?;
            // IC50-only targets (no [L] or Kd) have no Ki: the cell stays empty.
            let ki = Some(cheng_prusoff(ic50, target.radioligand_nm, target.kd_nm))
                .filter(|k| k.is_finite())
                .map_or_else(String::new, |k| k.to_string());
            let (lo, hi) = match sim.table.as_ref().map(table_concentrations).transpose()? {
                Some(c) => (c[0], c[c.len() - 1]),
                None => ranges
                    .get(&(target_name.as_str(), compound.as_str()))
                    .copied()
                    .unwrap_or((0.0, 0.0)),
            };
            // "Complete" when the IC50 lies half a log unit inside the tested range, so both
            // plateaus are approached.
            let complete = lo > 0.0 && ic50 < hi / 10f64.sqrt() && ic50 > lo * 10f64.sqrt();
            let _ = writeln!(
                t,
                "{target_name},{compound},{ki},{ic50},{},{},{hi},{lo},{complete}",
                truth.hill_slope.unwrap_or(-1.0),
                log10_molar(ic50)
            );
        }
    }
    Ok(t)
}

/// `truth_functional.csv` for the [35S]GTPγS targets (`None` without any): per compound its
/// role, EC50 or IC50 and Kb, Emax and relative efficacy against the reference agonist.
fn functional_truth_csv(settings: &Settings, sim: &SimOptions) -> Result<Option<String>> {
    let mut t = String::from(
        "target,compound,role,ec50_nM,ic50_nM,kb_nM,emax_pct,hill_slope,relative_efficacy\n",
    );
    let mut any = false;
    for (target_name, compounds) in &sim.truth {
        let Some(target) = settings.targets.get(target_name) else { continue };
        let config::Assay::Gtpgs(spec) = &target.assay else { continue };
        let ref_emax = spec
            .reference_agonist
            .as_ref()
            .and_then(|r| compounds.get(r))
            .and_then(|r| r.emax_pct)
            .unwrap_or(f64::NAN);
        for (compound, truth) in compounds {
            any = true;
            let (_, ic50) = functional_truth(sim, target_name, target, compound, truth)?;
            let antagonist = spec.antagonists.iter().any(|a| a == compound);
            let emax = truth.emax_pct.unwrap_or(f64::NAN);
            let fmt = |v: Option<f64>| v.map_or(String::new(), |v| v.to_string());
            let _ = writeln!(
                t,
                "{target_name},{compound},{},{},{},{},{emax},{},{}",
                if antagonist { "antagonist" } else { "agonist" },
                fmt(truth.ec50_nm.filter(|_| !antagonist)),
                if antagonist { ic50.to_string() } else { String::new() },
                fmt(truth.kb_nm.filter(|_| antagonist)),
                truth.hill_slope.unwrap_or(if antagonist { -1.0 } else { 1.0 }),
                if antagonist { String::new() } else { (emax / ref_emax).to_string() },
            );
        }
    }
    Ok(any.then_some(t))
}

/// Lowest and highest concentration (nM) of each compound at each target in the analysis
/// config, keyed by (target, compound); a compound without a series is absent.
fn tested_ranges(settings: &Settings) -> std::collections::HashMap<(&str, &str), (f64, f64)> {
    let mut out: std::collections::HashMap<(&str, &str), (f64, f64)> =
        std::collections::HashMap::new();
    for spec in &settings.plates {
        let Some(series) = &settings.layouts[&spec.layout].series else { continue };
        let blocks: Vec<(&str, &config::CompoundBlock)> = if spec.names.is_some() {
            spec.numbers
                .iter()
                .filter_map(|&n| spec.named_blocks(Some(n), "").ok())
                .flatten()
                .collect()
        } else {
            spec.compounds.iter().map(|b| (b.name.as_str(), b)).collect()
        };
        for (name, b) in blocks {
            if let Some(c) = b.conc.as_ref().or(series.conc.as_ref()) {
                let v = c.values_high_to_low(series.len());
                let e = out.entry((spec.target.as_str(), name)).or_insert((f64::INFINITY, 0.0f64));
                e.1 = e.1.max(v[0]);
                e.0 = e.0.min(v[v.len() - 1]);
            }
        }
    }
    out
}
