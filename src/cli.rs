//! The command line (clap derive). No logic here: `main.rs` maps each subcommand to a library
//! call.

use std::path::PathBuf;

use clap::{Parser, Subcommand};

const AFTER_HELP: &str = "\
Exit codes:
  0  completed; every curve fitted (flagged curves are results, see the report)
  1  completed with problems: a file, plate, curve or figure failed; the rest was written
  2  nothing done: bad command line, config or inputs, or outputs could not be written

Examples:
  radbind run configs/example.yaml
  radbind validate configs/example.yaml
  radbind simulate configs/simulate-example.yaml
  radbind compare outputs/before outputs/after
  radbind panel outputs/example/latest outputs/other/latest --out panel.csv
  radbind summarize outputs/example --out history
  radbind init --from plate_export.txt > my-experiment.yaml
  radbind completions bash > ~/.local/share/bash-completion/completions/radbind
  radbind man > radbind.1";

/// Radioligand binding assays: plate-reader counts to IC50, Ki, figures and reports.
#[derive(Debug, Parser)]
#[command(name = "radbind", version, about, after_help = AFTER_HELP, arg_required_else_help = true)]
pub struct Cli {
    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

/// Subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Analyse an experiment: read exports, fit every curve, write tables, figures and reports.
    ///
    /// Results go to OUT/runs/<time>/ (OUT from --out or the config's `output`), and
    /// OUT/latest points at the newest run. Earlier runs are never overwritten.
    #[command(after_help = "Example:\n  radbind run configs/example.yaml --threads 2")]
    Run {
        /// The experiment's YAML config.
        config: PathBuf,
        /// Output root directory (default: the config's `output`).
        #[arg(long)]
        out: Option<PathBuf>,
        /// Worker threads (default: all cores; at most 4 per core). Results are identical for
        /// any value.
        #[arg(long)]
        threads: Option<usize>,
        /// Print nothing but errors.
        #[arg(long, short)]
        quiet: bool,
        /// Analyse only shard i of n (1-based): a fixed part of the plates made of whole
        /// curves; join the shards with `radbind merge`.
        #[arg(long, value_name = "i/n")]
        shard: Option<crate::shard::Shard>,
    },
    /// Join the run directories of `radbind run --shard i/n` (shards 1..n of one config) into
    /// one run: the tables, figures, reports and run.json one run writes.
    #[command(after_help = "Example:\n  radbind merge shards/*/latest --out merged")]
    Merge {
        /// The shards' run directories (any order).
        #[arg(required = true)]
        shards: Vec<PathBuf>,
        /// Output root directory: the merged run goes to OUT/runs/<time>/, OUT/latest.
        #[arg(long)]
        out: PathBuf,
    },
    /// Check a config and its inputs without fitting: prints each plate's map and the curves
    /// that would be fitted, and every problem found. Exit 2 when there are problems.
    #[command(after_help = "Example:\n  radbind validate configs/example.yaml")]
    Validate {
        /// The experiment's YAML config.
        config: PathBuf,
    },
    /// Write an annotated example config (to stdout, or to --output).
    ///
    /// With --from, the config matches that export: format, geometry and one entry per plate.
    #[command(after_help = "Example:\n  radbind init --from run1.txt --output configs/run1.yaml")]
    Init {
        /// An export file to scaffold the config from.
        #[arg(long, conflicts_with = "secondary")]
        from: Option<PathBuf>,
        /// The follow-up curve config for the hits of a primary screen: a run's
        /// `followup.csv` (or `hits.csv`).
        #[arg(long)]
        secondary: Option<PathBuf>,
        /// Write the config here instead of stdout (never overwrites an existing file).
        #[arg(long, short)]
        output: Option<PathBuf>,
    },
    /// Compare two runs: config changes, inputs, curves whose Ki (by more than 1 %), status
    /// or flags changed.
    ///
    /// A run is a run directory (`OUT/runs/<time>`, `OUT/latest`) or an output directory
    /// (`--out` of `radbind run`: its latest run). Curves are target × compound, × experiment
    /// in runs of several independent experiments. Exit 0 when nothing differs, 1 when
    /// something does.
    #[command(after_help = "Examples:\n  \
        radbind compare outputs/before outputs/after\n  \
        radbind compare outputs/example/runs/2026-11-20T10-00-00Z outputs/example/latest --html diff.html")]
    Compare {
        /// The earlier run (run directory or output directory).
        run_a: PathBuf,
        /// The later run (run directory or output directory).
        run_b: PathBuf,
        /// Also write the comparison as a self-contained HTML page (never overwrites a file).
        #[arg(long)]
        html: Option<PathBuf>,
    },
    /// Selectivity panel of one or more runs: per compound, Ki at every target and the ratio
    /// Ki(target) / Ki(primary target), censored values kept as bounds, as CSV (the columns
    /// of a run's selectivity.csv).
    ///
    /// A run is a run directory (`OUT/runs/<time>`) or `OUT/latest`; its fits.csv is read.
    /// A compound measured at a target in several runs gives one row per run (column `run`).
    /// Exit 0 when the panel was written, 2 when a run cannot be read or --out exists.
    #[command(after_help = "Examples:\n  \
        radbind panel outputs/example/latest\n  \
        radbind panel outputs/day1/latest outputs/day2/latest --primary H1 --out panel.csv")]
    Panel {
        /// Run directories, each holding a fits.csv.
        #[arg(required = true)]
        runs: Vec<PathBuf>,
        /// Primary target of the ratios (default: per compound, the target with its lowest
        /// exact Ki, so every exact ratio is >= 1).
        #[arg(long, value_name = "TARGET")]
        primary: Option<String>,
        /// Write the CSV to this file instead of stdout (an existing file only with --force).
        #[arg(long, value_name = "FILE.csv")]
        out: Option<PathBuf>,
        /// Overwrite the --out file if it exists.
        #[arg(long, requires = "out")]
        force: bool,
    },
    /// Assay history of finished runs: per compound and target the mean pKi (pIC50, pEC50)
    /// of independent experiments with SD, SEM, 95 % CI and geometric-mean Ki, experiments
    /// that disagree (MSR), each target's reference compound on a Levey-Jennings chart
    /// (Westgard 1_3s, 2_2s), plate QC trends.
    ///
    /// Writes summary.csv/.parquet, experiments.csv/.parquet, references.csv/.parquet,
    /// summary.html and figures/ into --out. Exit 0 when written, 1 when a figure failed,
    /// 2 when a run cannot be read.
    #[command(after_help = "Examples:\n  \
        radbind summarize outputs/example\n  \
        radbind summarize outputs/day1/latest outputs/day2/latest --out history")]
    Summarize {
        /// Run directories (`OUT/runs/<time>`, `OUT/latest`) or output directories (every run
        /// under `runs/`).
        #[arg(required = true)]
        runs: Vec<PathBuf>,
        /// Directory to write into (default: `summary/` in the first output directory given,
        /// else ./summary). Files of an earlier summary there are replaced.
        #[arg(long)]
        out: Option<PathBuf>,
        /// Accepted reference runs before the history's limits (mean ± 3 SD) apply.
        #[arg(long, default_value_t = radbind_baseline())]
        baseline: usize,
    },
    /// Write realistic plate exports from a simulation config (true Ki, Hill slope, counts,
    /// noise, seed), with the true values beside them in truth.csv.
    #[command(
        after_help = "Example:\n  radbind simulate configs/simulate-example.yaml --out /tmp/sim"
    )]
    Simulate {
        /// The simulation config.
        config: PathBuf,
        /// Directory to write into (default: the simulation config's `output`).
        #[arg(long)]
        out: Option<PathBuf>,
        /// Repeat the analysis config's plates this many times (for benchmarks).
        #[arg(long, default_value_t = 1)]
        repeat: usize,
    },
    /// Print a shell completion script for radbind (bash, zsh, fish, elvish, powershell).
    #[command(after_help = "Examples:\n  \
        radbind completions bash > ~/.local/share/bash-completion/completions/radbind\n  \
        radbind completions zsh > ~/.zfunc/_radbind\n  \
        radbind completions fish > ~/.config/fish/completions/radbind.fish")]
    Completions {
        /// The shell.
        #[arg(value_enum)]
        shell: clap_complete::Shell,
    },
    /// Print the man page (roff) of radbind and its subcommands.
    #[command(after_help = "Example:\n  radbind man > radbind.1 && man ./radbind.1")]
    Man,
}

/// The completion script of `shell` for the whole command line.
#[must_use]
pub fn completions(shell: clap_complete::Shell) -> Vec<u8> {
    use clap::CommandFactory;
    let mut out = Vec::new();
    clap_complete::generate(shell, &mut Cli::command(), "radbind", &mut out);
    out
}

/// The man page (roff): the top-level page, then one section per subcommand.
///
/// # Errors
/// When roff cannot be written (not expected into memory).
pub fn man_page() -> std::io::Result<Vec<u8>> {
    use clap::CommandFactory;
    let cmd = Cli::command();
    let mut out = Vec::new();
    clap_mangen::Man::new(cmd.clone()).render(&mut out)?;
    for sub in cmd.get_subcommands() {
        let name = format!("radbind-{}", sub.get_name());
        let sub = sub.clone().name(name);
        clap_mangen::Man::new(sub).render(&mut out)?;
    }
    Ok(out)
}

/// The default of `summarize --baseline`.
fn radbind_baseline() -> usize {
    crate::commands::summarize::DEFAULT_BASELINE
}

#[cfg(test)]
mod tests {
    use clap::CommandFactory;

    #[test]
    fn cli_is_consistent() {
        super::Cli::command().debug_assert();
    }
}
