//! radbind: radioligand binding assay analysis, from plate-reader counts to Ki tables,
//! curve figures and reports.
//!
//! ```text
//! config ─► ingest ─► layout ─► normalise ─► saturation ─► fit (rayon) ─► derive ─► report
//! Settings  RawPlate   Plate    NormalisedPlate SaturationRow CurveFit     RunResults files
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
pub mod shard;
pub mod stream;
#[cfg(test)]
mod test_support;
pub mod types;
pub mod units;

use std::path::PathBuf;
use std::time::{Instant, SystemTime};

use anyhow::{Context, Result};

use config::Settings;
use derive::rows::RunResults;
pub use stream::Timings;

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
    /// Analyse only this part of the plates (`--shard i/n`, [`shard`]).
    pub shard: Option<shard::Shard>,
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
    /// Problems with files, plates or figures (as run.json and the reports list them).
    pub problems: Vec<String>,
    /// Figures that could not be written (each is also one of `problems`).
    pub figures_missing: usize,
    /// Curves that failed or did not converge: `target / compound: status`.
    pub failures: Vec<String>,
    /// Input plates no config entry uses (`plate n (file plate k)`); not a problem, but said.
    pub unused: Vec<String>,
    /// The reference compounds' verdicts, one line per target (`ReferenceRow::line`).
    pub references: Vec<String>,
    /// Primary screen: `(plates, compound results, hits, results without a response)`.
    pub primary: (usize, usize, usize, usize),
    /// Which curves got figures, when not all of them (`report.curve_figures`), for the
    /// summary: e.g. `curve figures: flagged curves only (…)`.
    pub figures_note: Option<String>,
}

impl RunSummary {
    /// The summary of a written run: its curves by status and failures, its problems
    /// (those of the results, then the figures that failed), and the input plates no config
    /// entry uses.
    #[must_use]
    pub fn new(
        run_dir: PathBuf,
        out_root: PathBuf,
        results: &RunResults,
        outcome: &report::ReportOutcome,
        unused: Vec<String>,
    ) -> RunSummary {
        let counts = results.status_counts();
        RunSummary {
            run_dir,
            out_root,
            plates: results.plate_count(),
            curves: results.curve_count(),
            ok: counts.ok,
            flagged: counts.flagged,
            failed: counts.failed,
            problems: outcome.problems(results),
            figures_missing: outcome.figure_failures.len(),
            failures: results.failures(),
            unused,
            references: results.history.references.iter().map(|r| r.line()).collect(),
            primary: primary_counts(&results.primary.rows),
            figures_note: None,
        }
    }

    /// Exit code for this outcome.
    #[must_use]
    pub fn exit_code(&self) -> u8 {
        if self.problems.is_empty() && self.failed == 0 && self.primary.3 == 0 {
            exit::OK
        } else {
            exit::PROBLEMS
        }
    }
}

/// Primary-screen counts: plates, compound results, hits, results without a response.
fn primary_counts(rows: &[derive::primary::PrimaryRow]) -> (usize, usize, usize, usize) {
    let mut plates: Vec<&str> = rows.iter().map(|r| r.plate.as_str()).collect();
    plates.dedup();
    let no_response =
        rows.iter().filter(|r| r.flags.contains(&derive::primary::PrimaryFlag::NoResponse)).count();
    (plates.len(), rows.len(), rows.iter().filter(|r| r.hit).count(), no_response)
}

/// Runs the whole analysis and writes a complete run directory.
///
/// # Errors
/// A config that cannot be used, no plate that could be laid out, or outputs that cannot be
/// written.
pub fn run(args: &RunArgs) -> Result<RunSummary> {
    let started = SystemTime::now();
    let mut settings = config::load(&args.config)?;
    let out_root = args.out.clone().unwrap_or_else(|| settings.output_dir.clone());
    // An output root radbind cannot use is an error before any work.
    output::check_root(&out_root)?;
    let pool = worker_pool(args.threads)?;
    let threads = pool.current_num_threads();
    let mut timings = Timings::default();
    let mut figures = report::FigureOptions::from_settings(&settings);
    let batch = stream::batch_size();
    let bar = progress_bar(
        args.progress,
        stream::files::configured_plates(&settings),
        "analysing plates",
    );
    let done = |n: usize| bar.inc(n as u64);
    let ctx = |dir| stream::Batched {
        settings: &settings,
        pool: &pool,
        dir,
        figures: if figures.draw { settings.curve_figures } else { config::CurveFigures::None },
        batch,
        done: &done,
    };
    let (mut results, staging, laid, streamed) = if args.shard.is_none()
        && stream::streams_files(&settings, batch)
    {
        // Many plates named by number: read, lay out and analyse a batch at a time.
        let staging = output::Staging::begin(&out_root, &output::run_name(started))?;
        let run = stream::run_files(&ctx(staging.dir()), started, &mut timings)?;
        let laid = layout::LayoutOutcome {
            assignments: run.assignments,
            unassigned: run.unassigned,
            ..Default::default()
        };
        (run.results, staging, laid, true)
    } else {
        let inputs = timings.time("read", || {
            pool.install(|| ingest::inputs::read_inputs(&settings.inputs, &settings.read_options()))
        });
        let mut laid = timings
            .time("layout", || layout::lay_out_files(&inputs.reads, &inputs.errors, &settings));
        let mut problems = [inputs.problems.as_slice(), &laid.problems].concat();
        if laid.plates.is_empty() {
            anyhow::bail!(
                "no plate could be laid out, nothing to analyse:\n  {}",
                listed(&problems)
            );
        }
        if let Some(part) = args.shard {
            laid.plates = shard::select(&settings, laid.plates, part)?;
        }
        let ingest::inputs::Inputs { reads, files, .. } = inputs;
        // The raw reads are laid out: what follows needs only the laid-out plates.
        drop(reads);
        let plates = std::mem::take(&mut laid.plates);
        if stream::batchable(&settings, &plates, batch) {
            let staging = output::Staging::begin(&out_root, &output::run_name(started))?;
            let results = stream::analyse(
                &ctx(staging.dir()),
                plates,
                problems,
                files,
                started,
                &mut timings,
            )?;
            (results, staging, laid, true)
        } else {
            let clock = Instant::now();
            let rules = normalise::QcRules::of(&settings);
            let (plates, norm_problems) =
                pool.install(|| normalise::normalise_all(plates, &rules, &settings.targets));
            problems.extend(norm_problems);
            // Saturation first: its Kd feeds the competition targets that name it in `kd_from`.
            let saturation = saturation::fit_all(&plates, &settings);
            let kd = saturation::resolve_kd(&settings, &saturation);
            problems.extend(kd.problems);
            let curves = pool.install(|| fit::build_curves(&plates, &settings.targets, &kd.fit));
            timings.lap("normalise", clock);
            let fits =
                timings.time("fit", || pool.install(|| fit::fit_all(curves, &kd.fit, &|| {})));
            let up = derive::Upstream {
                settings: &settings,
                targets: &kd.targets,
                plates: &plates,
                saturation,
                inputs: files,
                problems,
                started,
            };
            let results = timings.time("derive", || pool.install(|| derive::derive_all(up, &fits)));
            (results, output::Staging::begin(&out_root, &output::run_name(started))?, laid, false)
        }
    };
    bar.finish_and_clear();

    figures.curves = figures.curves.for_curves(results.curve_count());
    results.finished = humantime::format_rfc3339_seconds(SystemTime::now()).to_string();
    let (resolved, lists) =
        report::manifest::resolved_config_apart(&mut settings, laid.assignments);
    let manifest = report::manifest::RunContext {
        resolved,
        plate_lists: Some(lists),
        threads,
        timings: timings.0,
        wells_written: streamed,
        points_dropped: streamed && results.curves.iter().any(|c| c.points.is_empty()),
        shard: args.shard.map(|s| shard::manifest(s, &settings)),
    };
    let bar = progress_bar(args.progress, results.curves.len(), "writing figures");
    let outcome = pool.install(|| {
        report::write_report(&results, &manifest, staging.dir(), figures, &|step| match step {
            report::Step::Figure => bar.inc(1),
            // The reports are a step of their own, not the last figures.
            report::Step::Reports => {
                bar.set_position(bar.length().unwrap_or(0));
                bar.set_message("writing reports");
            }
        })
    })?;
    bar.finish_and_clear();
    if let Some(part) = args.shard {
        shard::write_outputs(&settings, &results, part, staging.dir())?;
    }
    let run_dir = staging.commit()?;
    let mut summary = RunSummary::new(run_dir, out_root, &results, &outcome, laid.unassigned);
    summary.figures_note = figures_note(&settings, &figures, results.curve_count());
    Ok(summary)
}

/// "no plates", or the problems one per line (indented).
fn listed(problems: &[String]) -> String {
    if problems.is_empty() { "no plates".to_string() } else { problems.join("\n  ") }
}

/// The worker threads for fitting and figures: `threads` of them, or one per core.
fn worker_pool(threads: Option<usize>) -> Result<rayon::ThreadPool> {
    rayon::ThreadPoolBuilder::new()
        .num_threads(threads.map_or(0, |t| capped_threads(t).0))
        .build()
        .context("starting worker threads")
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

/// What the summary says of the curve figures when not every curve got one.
fn figures_note(s: &Settings, f: &report::FigureOptions, curves: usize) -> Option<String> {
    use config::CurveFigures;
    if !f.draw {
        return None;
    }
    match (f.curves, s.curve_figures) {
        (CurveFigures::Flagged, CurveFigures::Auto) => Some(format!(
            "curve figures: flagged and failed curves only ({curves} curves, more than {}; \
             `report.curve_figures: all` draws every one)",
            CurveFigures::AUTO_ALL_LIMIT
        )),
        (CurveFigures::Flagged, _) => {
            Some("curve figures: flagged and failed curves only (report.curve_figures)".into())
        }
        (CurveFigures::None, _) => Some("curve figures: none (report.curve_figures)".into()),
        _ => None,
    }
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
