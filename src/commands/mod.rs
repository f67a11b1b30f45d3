//! The subcommands other than `run`: each takes paths from the command line, calls the
//! stages (or reads finished run directories) and returns text or files for `main` to write.
//!
//! - [`validate`]: `radbind validate` (config and inputs read, plate maps printed, nothing
//!   fitted) and the one-screen summary `radbind run` prints.
//! - [`init`]: `radbind init`, an annotated example config, optionally scaffolded from an
//!   export file.
//! - [`secondary`]: `radbind init --secondary`, the curve config for a primary screen's hits.
//! - [`simulate`]: `radbind simulate`, plate exports and concentration tables with known
//!   truth; [`series`]: a `series:` of independent experiments (assay history), built on
//!   [`simulate`]'s exports. [`write_simulation`] chooses between the two, so neither
//!   imports the other's caller.
//! - [`survey`]: what the plates of an export look like (controls, curves, background), for
//!   `init --from`.
//! - [`compare`]: `radbind compare`, what changed between two run directories.
//! - [`panel`]: `radbind panel`, the selectivity panel of one or more finished runs.
//! - [`merge`]: `radbind merge`, the shards of a run (`run --shard i/n`) joined into one run.
//! - [`summarize`]: `radbind summarize`, the assay history of finished runs (pooled
//!   potencies of independent experiments, reference-compound control charts).

pub mod compare;
pub mod init;
pub mod merge;
pub mod panel;
pub mod secondary;
pub mod series;
pub mod simulate;
pub mod summarize;
pub mod survey;
pub mod validate;

use std::path::{Path, PathBuf};

/// `radbind simulate`: reads the simulation config and writes one experiment's exports and
/// truth ([`simulate::write_single`]), or a series of experiments when the config has
/// `series:` ([`series::write_series`]); returns the files written.
///
/// # Errors
/// A bad simulation or analysis config, or files that cannot be written.
pub fn write_simulation(
    config: &Path,
    out: Option<&Path>,
    repeat: usize,
) -> anyhow::Result<Vec<PathBuf>> {
    let sim = simulate::load(config, out)?;
    match &sim.sim.series {
        Some(s) => series::write_series(&sim.settings, &sim.sim, s, &sim.out_dir),
        None => simulate::write_single(&sim, repeat),
    }
}
