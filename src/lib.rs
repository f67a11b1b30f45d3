//! radbind: radioligand binding assay analysis, from plate-reader counts to Ki tables,
//! curve figures and reports.
//!
//! ```text
//! config ─► ingest ─► layout ─► normalise ─► saturation ─► fit (rayon) ─► derive ─► report
//! Settings  RawPlate   Plate    NormalisedPlate SaturationRow CurveFit     CurveRow   files
//! ```
//!
//! [`run`] calls the stages in that order. Setup problems (a bad config, no readable input)
//! are errors; problems with one file, plate, curve or figure are collected and reported while
//! the rest of the run completes (exit code 1, "completed with problems").

pub mod cli;
pub mod commands;
pub mod config;
pub mod derive;
pub mod fit;
pub mod ingest;
pub mod layout;
pub mod normalise;
pub mod output;
pub mod radioactivity;
pub mod report;
pub mod saturation;
pub mod types;
pub mod units;

use std::path::{Path, PathBuf};
use std::time::SystemTime;

use anyhow::{Context, Result};
use sha2::{Digest, Sha256};

use config::Settings;
use derive::rows::{InputFile, PlateRow, RunResults, TargetRow, WellRow};
use ingest::RawPlate;
use normalise::NormalisedPlate;

/// Exit codes, documented in `--help` and the README.
pub mod exit {
    /// Everything ran; no curve failed (flagged curves are results, not failures).
    pub const OK: u8 = 0;
    /// The run completed with problems: a file, plate, curve or figure failed; the rest was
    /// written.
    pub const PROBLEMS: u8 = 1;
    /// Nothing was done: bad command line, config or inputs, or the outputs could not be
    /// written.
    pub const ERROR: u8 = 2;
}

/// What the command line asks of a run.
#[derive(Debug, Clone)]
pub struct RunArgs {
    /// Config file.
    pub config: PathBuf,
    /// Output root (overrides the config's `output`).
    pub out: Option<PathBuf>,
    /// Worker threads for fitting and figures (default: all cores).
    pub threads: Option<usize>,
    /// Show progress bars (only drawn when stderr is a terminal).
    pub progress: bool,
}

/// What a run did, for the one-screen summary and the exit code.
#[derive(Debug)]
pub struct RunSummary {
    /// The completed run directory.
    pub run_dir: PathBuf,
    /// The output root (holding `latest`).
    pub out_root: PathBuf,
    /// Plates analysed.
    pub plates: usize,
    /// Curves by status.
    pub curves: usize,
    /// Curves with status `ok`.
    pub ok: usize,
    /// Curves with status `flagged`.
    pub flagged: usize,
    /// Curves that failed or did not converge.
    pub failed: usize,
    /// Problems with files, plates or figures.
    pub problems: Vec<String>,
    /// Curves that failed or did not converge: `target / compound: status`.
    pub failures: Vec<String>,
    /// Input plates no config entry uses (`plate n (file plate k)`); not a problem, but said.
    pub unused: Vec<String>,
}

impl RunSummary {
    /// Exit code for this outcome.
    #[must_use]
    pub fn exit_code(&self) -> u8 {
        if self.problems.is_empty() && self.failed == 0 { exit::OK } else { exit::PROBLEMS }
    }
}

/// Wall time per stage, seconds, in stage order (recorded in run.json as `timings_s`).
#[derive(Debug, Default, Clone)]
pub struct Timings(pub Vec<(&'static str, f64)>);

impl Timings {
    fn lap(&mut self, stage: &'static str, since: std::time::Instant) {
        self.0.push((stage, since.elapsed().as_secs_f64()));
    }
}

/// Inputs read: per file, its complete plates and what went wrong; file hashes; problems.
#[derive(Debug, Default)]
pub struct Inputs {
    /// Every input file as read, in input order: its complete plates, the error that stopped
    /// reading it, and its plate count when known.
    pub reads: Vec<ingest::FileRead>,
    /// The error of each file in `reads` as text (`None` for a file read whole).
    pub errors: Vec<Option<String>>,
    /// Every input file with its hash (unreadable ones included, hash empty).
    pub files: Vec<InputFile>,
    /// Files that could not be read or parsed (whole or in part), and wells whose count cell
    /// was bad (left out; the rest of the file is read).
    pub problems: Vec<String>,
}

impl Inputs {
    /// Every plate read, in input order.
    pub fn plates(&self) -> impl Iterator<Item = &RawPlate> {
        self.reads.iter().flat_map(|r| r.plates.iter())
    }
}

/// Reads and hashes every input file; a file that fails is a problem, not an abort, and a
/// file that breaks part-way still gives its complete plates.
#[must_use]
pub fn read_inputs(settings: &Settings) -> Inputs {
    let opts = ingest::ReadOptions {
        format: settings.format,
        signal: settings.signal.clone(),
        columns: settings.columns.clone(),
        keep_negative: settings.keep_negative_counts,
    };
    let mut out = Inputs::default();
    for path in &settings.inputs {
        // Files too large to read, and anything but a regular file, are refused by ingest
        // without reading them; don't hash them.
        let readable = ingest::file::not_a_file(path).is_none()
            && std::fs::metadata(path).is_ok_and(|m| m.len() <= ingest::MAX_FILE_BYTES);
        let (sha256, bytes) =
            if readable { hash_file(path).unwrap_or_default() } else { Default::default() };
        out.files.push(InputFile { path: path.display().to_string(), sha256, bytes });
        let read = ingest::read_file_partial(path, &opts);
        let error = read.error.as_ref().map(ToString::to_string);
        // The message already names the file; say what was kept of a file that broke.
        out.problems.extend(error.as_ref().map(|e| match (read.plates.len(), read.plate_count) {
            (0, _) => e.clone(),
            (1, Some(c)) => format!("{e} (plate 1 of its {c} is read)"),
            (n, Some(c)) => format!("{e} (plates 1-{n} of its {c} are read)"),
            (n, None) => format!("{e} (its first {n} plate(s) are read)"),
        }));
        for p in &read.plates {
            for b in &p.meta.bad_counts {
                out.problems.push(format!(
                    "{}:{}: well {} of plate {}: {}; the well is left out",
                    path.display(),
                    b.line,
                    b.well,
                    p.label,
                    b.reason
                ));
            }
        }
        out.errors.push(error);
        out.reads.push(read);
    }
    out
}

fn hash_file(path: &Path) -> Option<(String, u64)> {
    let mut f = std::fs::File::open(path).ok()?;
    let mut h = Sha256::new();
    let n = std::io::copy(&mut f, &mut h).ok()?;
    let digest = h.finalize();
    Some((digest.iter().map(|b| format!("{b:02x}")).collect(), n))
}

/// Runs the whole analysis and writes a complete run directory.
///
/// # Errors
/// A config that cannot be used, no plate that could be laid out, or outputs that cannot be
/// written.
pub fn run(args: &RunArgs) -> Result<RunSummary> {
    let started = SystemTime::now();
    let settings = config::load(&args.config)?;
    let out_root = args.out.clone().unwrap_or_else(|| settings.output_dir.clone());
    // An output root radbind cannot use is an error before any work.
    output::check_root(&out_root)?;
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(args.threads.map_or(0, |t| capped_threads(t).0))
        .build()
        .context("starting worker threads")?;
    let threads = pool.current_num_threads();

    let mut timings = Timings::default();
    let clock = std::time::Instant::now();
    let inputs = read_inputs(&settings);
    timings.lap("read", clock);
    let clock = std::time::Instant::now();
    let laid = layout::lay_out_files(&inputs.reads, &inputs.errors, &settings);
    timings.lap("layout", clock);
    let mut problems = inputs.problems.clone();
    problems.extend(laid.problems.iter().cloned());
    if laid.plates.is_empty() {
        anyhow::bail!(
            "no plate could be laid out, nothing to analyse:\n  {}",
            if problems.is_empty() { "no plates".to_string() } else { problems.join("\n  ") }
        );
    }
    let clock = std::time::Instant::now();
    let rules = normalise::QcRules {
        min_z_prime: settings.min_z_prime,
        min_signal_to_background: settings.min_signal_to_background,
        max_fraction_bound_pct: settings.max_fraction_bound_pct,
    };
    let (plates, norm_problems) = normalise::normalise_all(laid.plates, &rules, &settings.targets);
    problems.extend(norm_problems);
    // Saturation first: its Kd feeds the competition targets that name it in `kd_from`.
    let saturation_rows = saturation::fit_all(&plates, &settings);
    let mut targets = settings.targets.clone();
    problems.extend(saturation::resolve_kd(&mut targets, &saturation_rows));
    let mut fit_settings = settings.fit.clone();
    for t in targets.values().filter(|t| t.kd_from.is_some()) {
        fit_settings.ligand.insert(t.name.clone(), (t.radioligand_nm, t.kd_nm));
    }
    let curves = fit::build_curves(&plates, &settings.targets, &fit_settings);
    timings.lap("normalise", clock);
    let clock = std::time::Instant::now();
    let bar = progress_bar(args.progress, curves.len(), "fitting curves");
    let fits = pool.install(|| fit::fit_all(curves, &fit_settings, &|| bar.inc(1)));
    bar.finish_and_clear();
    timings.lap("fit", clock);
    let clock = std::time::Instant::now();
    let mut rows: Vec<_> = fits
        .iter()
        .map(|f| derive::derive(f, &targets[&f.curve.target], &settings.experiment))
        .collect();

    problems.extend(derive::functional_results(&mut rows, &targets));
    timings.lap("derive", clock);
    let mut results = RunResults {
        experiment: settings.experiment.clone(),
        version: env!("CARGO_PKG_VERSION").to_string(),
        plates: plates.iter().map(plate_row).collect(),
        wells: plates.iter().flat_map(well_rows).collect(),
        curves: rows,
        saturation: saturation_rows,
        targets: targets
            .values()
            .map(|t| TargetRow {
                target: t.name.clone(),
                radioligand: t.radioligand.clone(),
                radioligand_nm: t.radioligand_nm,
                kd_nm: t.kd_nm,
                assay: t.assay.name().to_string(),
                kd_source: match (&t.kd_from, &t.assay) {
                    (Some(from), _) => format!("saturation {from}"),
                    (None, config::Assay::Competition | config::Assay::Uptake) => {
                        "config".to_string()
                    }
                    _ => String::new(),
                },
            })
            .collect(),
        inputs: inputs.files,
        config_yaml: settings.config_text.clone(),
        primary_target: settings.primary_target.clone(),
        problems: problems.clone(),
        started: humantime::format_rfc3339_seconds(started).to_string(),
        finished: String::new(),
    };
    derive::mark_fit_exclusions(&mut results.wells, &results.curves);

    let staging = output::Staging::begin(&out_root, &output::run_name(started))?;
    results.finished = humantime::format_rfc3339_seconds(SystemTime::now()).to_string();
    let mut resolved = resolved_config(&settings);
    if let Some(m) = resolved.as_object_mut() {
        m.insert("resolved_plates".into(), plate_mapping(&laid.assignments));
    }
    let manifest = report::manifest::manifest_json(&results, &resolved, threads, &timings.0);
    let bar = progress_bar(args.progress, results.curves.len(), "writing figures");
    let outcome = pool.install(|| {
        report::write_report(&results, &manifest, staging.dir(), figure_options(&settings), &|| {
            bar.inc(1)
        })
    })?;
    bar.finish_and_clear();
    for (curve, e) in &outcome.figure_failures {
        problems.push(format!("figure for {curve} failed: {e}"));
    }
    let run_dir = staging.commit()?;
    let counts = results.status_counts();
    Ok(RunSummary {
        run_dir,
        out_root,
        plates: results.plates.len(),
        curves: results.curves.len(),
        ok: counts.ok,
        flagged: counts.flagged,
        failed: counts.failed,
        failures: results.failures(),
        problems,
        unused: laid.unassigned,
    })
}

/// Most worker threads per core: more only adds overhead (and, by the ten thousand, cannot
/// be started at all).
pub const MAX_THREADS_PER_CORE: usize = 4;

/// The number of worker threads to use for a requested number: at most
/// [`MAX_THREADS_PER_CORE`] x the cores; with a message when the request was lowered.
#[must_use]
pub fn capped_threads(requested: usize) -> (usize, Option<String>) {
    let cores = std::thread::available_parallelism().map_or(1, std::num::NonZero::get);
    let max = MAX_THREADS_PER_CORE * cores;
    if requested > max {
        let msg = format!(
            "--threads {requested} is more than {MAX_THREADS_PER_CORE} per core; using {max} \
             ({cores} core(s))"
        );
        (max, Some(msg))
    } else {
        (requested, None)
    }
}

/// The resolved plate mapping for run.json: per config entry, the input file and position of
/// its plate (or why it is not analysed), then the input plates no entry uses.
fn plate_mapping(assignments: &[layout::Assignment]) -> serde_json::Value {
    assignments
        .iter()
        .map(|a| {
            serde_json::json!({
                "entry": a.entry,
                "selector": a.selector,
                "plate": a.plate,
                "file": a.source.as_ref().map(|(p, _)| p.display().to_string()),
                "index_in_file": a.source.as_ref().map(|(_, k)| k),
                "label": a.label,
                "target": a.target,
                "failed": a.failed,
            })
        })
        .collect::<Vec<_>>()
        .into()
}

fn figure_options(s: &Settings) -> report::FigureOptions {
    use config::Figures;
    let (draw, png) = match s.figures {
        Figures::None => (false, false),
        Figures::Svg => (true, false),
        Figures::SvgPng => (true, true),
    };
    let style = report::plots::CurveStyle { error_bars: s.error_bars, ..Default::default() };
    report::FigureOptions { draw, png, png_scale: s.png_scale, style }
}

/// A progress bar on stderr; hidden when `show` is false or stderr is not a terminal.
fn progress_bar(show: bool, len: usize, what: &'static str) -> indicatif::ProgressBar {
    if !show {
        return indicatif::ProgressBar::hidden();
    }
    let bar = indicatif::ProgressBar::new(len as u64);
    if let Ok(style) =
        indicatif::ProgressStyle::with_template("{msg:>16} [{bar:30}] {pos}/{len} {elapsed}")
    {
        bar.set_style(style.progress_chars("=> "));
    }
    bar.set_message(what);
    bar
}

/// The resolved configuration as JSON: the options plus the expanded input list.
fn resolved_config(s: &Settings) -> serde_json::Value {
    let mut v = serde_json::to_value(&s.options).unwrap_or(serde_json::Value::Null);
    if let Some(m) = v.as_object_mut() {
        m.insert(
            "resolved_inputs".into(),
            s.inputs.iter().map(|p| p.display().to_string()).collect::<Vec<_>>().into(),
        );
        m.insert("resolved_output".into(), s.output_dir.display().to_string().into());
    }
    v
}

fn plate_row(np: &NormalisedPlate) -> PlateRow {
    let p = &np.plate;
    let q = &np.qc;
    let mut instrument = Vec::new();
    if let Some(proto) = &p.meta.protocol {
        instrument.push(proto.clone());
    }
    if let Some(at) = &p.meta.counted_at {
        instrument.push(at.clone());
    }
    instrument.extend(p.meta.warnings.iter().cloned());
    PlateRow {
        plate: p.id.clone(),
        source: p.source.display().to_string(),
        index_in_file: p.index_in_file,
        target: p.target.clone(),
        layout: p.layout.clone(),
        rotated: p.rotated,
        n_total: q.n_total,
        total_mean: q.total_mean,
        total_sd: q.total_sd,
        total_cv_pct: q.total_cv_pct(),
        n_nsb: q.n_nsb,
        nsb_mean: q.nsb_mean,
        nsb_sd: q.nsb_sd,
        nsb_cv_pct: q.nsb_cv_pct(),
        z_prime: q.z_prime,
        signal_to_background: q.signal_to_background(),
        nsb_pct_of_total: q.nsb_pct_of_total(),
        n_basal: q.n_basal,
        basal_mean: q.basal_mean,
        basal_cv_pct: q.basal_cv_pct(),
        fraction_bound_pct: q.fraction_bound_pct,
        flags: q.flags.clone(),
        instrument: instrument.join("; "),
    }
}

fn well_rows(np: &NormalisedPlate) -> Vec<WellRow> {
    let p = &np.plate;
    p.wells
        .iter()
        .enumerate()
        .map(|(i, w)| WellRow {
            plate: p.id.clone(),
            well: w.pos.to_string(),
            role: w.role.name(),
            compound: w.compound.clone(),
            conc_nm: w.conc_nm,
            cpm: w.cpm,
            specific: np.specific[i],
            pct_specific: np.pct_specific[i],
            excluded: w.excluded.clone(),
        })
        .collect()
}
