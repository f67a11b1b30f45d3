//! `radbind simulate` with a `series:` section: an assay history of independent experiments
//! with known truth, for `radbind summarize`.
//!
//! Experiment k (1-based) of n gets, per target and compound, the true potency
//! `p_k = p + d_k + drift (k − 1) + bad_k`, in log units (pKi; pIC50/pEC50/pKb where the truth
//! gives IC50, EC50 or Kb), so every concentration of the truth is divided by `10^(p_k − p)`:
//! - `d_k ~ N(0, between_sd)`: the between-experiment variation, independent per experiment,
//!   target and compound;
//! - `drift`: a steady change per experiment (day-to-day drift of the assay);
//! - `bad_k = bad_run.shift` for the bad run's targets and compounds (all when none are
//!   named) in experiment `bad_run.experiment`, 0 otherwise: a failed membrane batch, a wrong
//!   radioligand dilution (all compounds), a wrong dilution of one compound's stock.
//!
//! Each experiment is written to `exp-KK/` (its exports and `analysis.yaml`, the analysis
//! config with `experiment_id: exp-KK`, `assay_date` = `start_date` + (k − 1) `step_days`,
//! inputs the exports beside it), and `truth_series.csv` holds every experiment's true values.
//! Plate noise of experiment k comes from the stream seeded `seed + k`.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use super::simulate::{SimOptions, SimSeries, SimTruth, truth_csv, write_exports};
use crate::config::Settings;
use anyhow::{Context, Result, bail};
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use rand_distr::{Distribution, Normal};

/// Writes the series (see the module docs); returns the files written.
///
/// # Errors
/// A bad `series` section, or files that cannot be written.
pub fn write_series(
    settings: &Settings,
    sim: &SimOptions,
    series: &SimSeries,
    out_dir: &Path,
) -> Result<Vec<PathBuf>> {
    if series.experiments == 0 {
        bail!("series.experiments must be at least 1");
    }
    if !(series.between_sd.is_finite() && series.between_sd >= 0.0) {
        bail!("series.between_sd must be a number >= 0, got {}", series.between_sd);
    }
    let start = series.start_date.as_deref().unwrap_or("2026-01-05");
    let start_day = crate::radioactivity::day_number(start)
        .map_err(|e| anyhow::anyhow!("series.start_date: {e}"))?;
    let step = series.step_days.unwrap_or(7);
    if let Some(b) = &series.bad_run {
        if b.experiment == 0 || b.experiment > series.experiments {
            bail!("series.bad_run.experiment must be 1 to {}", series.experiments);
        }
    }
    let normal = Normal::new(0.0, series.between_sd.max(0.0))
        .context("series.between_sd is not a valid SD")?;
    // The between-experiment offsets have their own stream, so the plate noise of an
    // experiment does not depend on how many compounds the truth lists.
    let mut offsets_rng = ChaCha8Rng::seed_from_u64(sim.seed ^ 0x5E41_E500);
    let mut written = Vec::new();
    let mut truth = String::from(
        "experiment_id,assay_date,target,compound,p_true,p_population,offset,bad_run\n",
    );
    for k in 1..=series.experiments {
        let id = format!("exp-{k:02}");
        let date = crate::radioactivity::civil_date(start_day + step * (k as i64 - 1));
        let dir = out_dir.join(&id);
        std::fs::create_dir_all(&dir).with_context(|| format!("creating {}", dir.display()))?;
        let mut sim_k = sim.clone();
        sim_k.series = None;
        for (target, compounds) in &mut sim_k.truth {
            let bad = series.bad_run.as_ref().filter(|b| {
                b.experiment == k && b.targets.as_ref().is_none_or(|t| t.contains(target))
            });
            for (compound, t) in compounds.iter_mut() {
                let d = normal.sample(&mut offsets_rng);
                let bad = bad.filter(|b| b.compounds.as_ref().is_none_or(|c| c.contains(compound)));
                let offset =
                    d + series.drift.unwrap_or(0.0) * (k - 1) as f64 + bad.map_or(0.0, |b| b.shift);
                let p = population_p(t);
                shift_truth(t, offset);
                let _ = writeln!(
                    truth,
                    "{id},{date},{target},{compound},{},{p},{offset},{}",
                    p + offset,
                    bad.is_some()
                );
            }
        }
        let mut rng = ChaCha8Rng::seed_from_u64(sim.seed.wrapping_add(k as u64));
        let files = write_exports(settings, &sim_k, &dir, &mut rng, 1)?;
        let names: Vec<String> = files
            .iter()
            .filter_map(|f| f.file_name().map(|n| n.to_string_lossy().into_owned()))
            .collect();
        let config = analysis_config(settings, &names, &id, &date)?;
        let p = dir.join("analysis.yaml");
        std::fs::write(&p, config).with_context(|| format!("writing {}", p.display()))?;
        written.extend(files);
        written.push(p);
    }
    let p = out_dir.join("truth_series.csv");
    std::fs::write(&p, truth).with_context(|| format!("writing {}", p.display()))?;
    written.push(p);
    let p = out_dir.join("truth.csv");
    std::fs::write(&p, truth_csv(settings, sim)?)
        .with_context(|| format!("writing {}", p.display()))?;
    written.push(p);
    Ok(written)
}

/// The population log potency of a truth entry: −log10 of its Ki (else IC50, EC50, Kb) in M.
fn population_p(t: &SimTruth) -> f64 {
    let c = t.ki_nm.or(t.ic50_nm).or(t.ec50_nm).or(t.kb_nm).unwrap_or(f64::NAN);
    crate::units::p_value(c)
}

/// Divides every concentration of a truth entry by `10^offset` (the log potency rises by
/// `offset`).
fn shift_truth(t: &mut SimTruth, offset: f64) {
    let f = 10f64.powf(-offset);
    for c in [&mut t.ki_nm, &mut t.ic50_nm, &mut t.ec50_nm, &mut t.kb_nm].into_iter().flatten() {
        *c *= f;
    }
}

/// The analysis config of one experiment: the series' analysis config with `inputs` the
/// experiment's exports (beside the config), `experiment_id`, `assay_date`, no `output`,
/// plate maps at absolute paths.
fn analysis_config(s: &Settings, files: &[String], id: &str, date: &str) -> Result<String> {
    let mut o = s.options.clone();
    o.inputs = files.to_vec();
    o.output = None;
    o.experiment_id = Some(id.to_string());
    o.assay_date = Some(date.to_string());
    let base = s.config_path.parent().unwrap_or(Path::new("."));
    for p in &mut o.plates {
        if let Some(m) = &p.plate_map {
            let abs = std::fs::canonicalize(base.join(m)).unwrap_or_else(|_| base.join(m));
            p.plate_map = Some(abs.display().to_string());
        }
    }
    let yaml = serde_yaml::to_string(&o).context("writing the analysis config")?;
    let mut out = format!(
        "# Experiment {id} of a simulated series (radbind simulate); run it with\n\
         #   radbind run <this file> --out <history directory>\n"
    );
    out.push_str(&yaml);
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shifting_a_truth_moves_every_potency() {
        let mut t: SimTruth = serde_yaml::from_str("{ki_nM: 10}").expect("truth");
        let p = population_p(&t);
        shift_truth(&mut t, 0.5);
        assert!((population_p(&t) - p - 0.5).abs() < 1e-12);
    }
}
