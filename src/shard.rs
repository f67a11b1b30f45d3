//! Shards: `radbind run CONFIG --shard i/n` analyses a deterministic part of the plates, so a
//! campaign can be spread over the nodes of a cluster (a Slurm job array) and joined again by
//! `radbind merge` (`commands::merge`).
//!
//! The plates (in input order, as the layout stage gives them) are cut into the smallest runs
//! of consecutive plates that keep together what one curve row needs: the plates of a curve
//! (target × compound × experiment, [`crate::stream::curve_keys`]), all plates of one
//! experiment of a target with a reference compound (`references.<target>`: its verdict flags
//! every curve of the target and experiment), and all plates of a `[35S]GTPγS` target (its
//! relative efficacies need the reference agonist's curve). Shard `i` of `n` takes the groups
//! `⌊(i-1)·G/n⌋ .. ⌊i·G/n⌋` of the `G` groups: contiguous, in input order, independent of the
//! thread count. A shard can be empty (more shards than groups).
//!
//! Runs whose plates depend on each other across curves (`stream::dependency`: controls from
//! another plate, series ends, saturation, `kd_from`, shared parameters) are not sharded: the
//! run stops with an error naming the config key.

use std::fmt;
use std::str::FromStr;

use std::path::Path;

use anyhow::{Context, Result, bail};

use crate::config::{Assay, Settings};
use crate::derive::rows::RunResults;
use crate::layout::Plate;

/// Which part of a run: shard `index` (1-based) of `count`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Shard {
    /// 1-based shard number.
    pub index: usize,
    /// Number of shards.
    pub count: usize,
}

impl FromStr for Shard {
    type Err = String;

    /// `i/n` with `1 <= i <= n`.
    fn from_str(s: &str) -> Result<Shard, String> {
        let bad = || format!("`{s}` is not a shard: give i/n with 1 <= i <= n (e.g. 2/8)");
        let (i, n) = s.split_once('/').ok_or_else(bad)?;
        let index: usize = i.trim().parse().map_err(|_| bad())?;
        let count: usize = n.trim().parse().map_err(|_| bad())?;
        if index == 0 || count == 0 || index > count {
            return Err(bad());
        }
        Ok(Shard { index, count })
    }
}

impl fmt::Display for Shard {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.index, self.count)
    }
}

/// What keeps plates in one group: a curve, a reference target's experiment, a functional
/// target.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
enum GroupKey<'a> {
    Curve(&'a str, &'a str, Option<&'a str>),
    Reference(&'a str, Option<&'a str>),
    Functional(&'a str),
}

/// The end index (exclusive) of each group of consecutive plates (see the module docs).
#[must_use]
pub fn group_ends(settings: &Settings, plates: &[Plate]) -> Vec<usize> {
    let keys: Vec<Vec<GroupKey<'_>>> = plates
        .iter()
        .map(|p| {
            let mut ks: Vec<GroupKey<'_>> =
                crate::stream::curve_keys(p).map(|(t, c, e)| GroupKey::Curve(t, c, e)).collect();
            if settings.references.contains_key(&p.target) {
                ks.push(GroupKey::Reference(&p.target, p.experiment.as_deref()));
            }
            if settings.targets.get(&p.target).is_some_and(|t| matches!(t.assay, Assay::Gtpgs(_))) {
                ks.push(GroupKey::Functional(&p.target));
            }
            ks
        })
        .collect();
    crate::stream::cuts_by(&keys, 1)
}

/// The plates of `shard`: its contiguous range of groups ([`group_ends`]).
///
/// # Errors
/// When the plates depend on each other across curves (the message names the config key).
pub fn select(settings: &Settings, plates: Vec<Plate>, shard: Shard) -> Result<Vec<Plate>> {
    if let Some(key) = crate::stream::dependency(settings, &plates) {
        bail!(
            "--shard {shard}: this run cannot be sharded: its plates depend on each other \
             across curves ({key}); run it without --shard"
        );
    }
    let ends = group_ends(settings, &plates);
    let (from, to) = group_range(ends.len(), shard);
    let start = if from == 0 { 0 } else { ends[from - 1] };
    let end = if to == 0 { 0 } else { ends[to - 1] };
    Ok(plates.into_iter().skip(start).take(end.saturating_sub(start)).collect())
}

/// The groups `from..to` of `groups` that `shard` takes: `⌊(i-1)·G/n⌋ .. ⌊i·G/n⌋`.
#[must_use]
pub fn group_range(groups: usize, shard: Shard) -> (usize, usize) {
    ((shard.index - 1) * groups / shard.count, shard.index * groups / shard.count)
}

/// The SHA-256 of the config text (hex): shards of one run carry the same.
#[must_use]
pub fn config_sha256(settings: &Settings) -> String {
    use sha2::{Digest, Sha256};
    Sha256::digest(settings.config_text.as_bytes()).iter().map(|b| format!("{b:02x}")).collect()
}

/// What run.json records of a shard: `{"index", "count", "config_sha256",
/// "primary_target"}` (the selectivity panel's, for `radbind merge`).
#[must_use]
pub fn manifest(shard: Shard, settings: &Settings) -> serde_json::Value {
    serde_json::json!({
        "index": shard.index,
        "count": shard.count,
        "config_sha256": config_sha256(settings),
        "primary_target": settings.primary_target,
    })
}

/// The file of a shard's run directory that lists, per row of its `fits.csv`, the curve's
/// sort key `[target, compound, experiment or null]` (as the names are, before the CSV's
/// escapes): `radbind merge` orders the rows of all shards by it.
pub const FITS_KEYS: &str = "shard-fits-keys.json";

/// A shard's own outputs besides a run's: the hive-partitioned fits
/// ([`crate::report::tables::write_fits_partitioned`]) and [`FITS_KEYS`].
///
/// # Errors
/// When a file cannot be written.
pub fn write_outputs(
    settings: &Settings,
    results: &RunResults,
    shard: Shard,
    dir: &Path,
) -> Result<()> {
    crate::report::tables::write_fits_partitioned(&results.curves, dir, shard.index)?;
    // A curve's experiment is its plates' `plates[].experiment`, else the run's (no key of
    // its own: first, as `fit::build_curves` orders `None`).
    let run_experiment = settings.experiment_id.as_deref().unwrap_or("");
    let keys: Vec<serde_json::Value> = results
        .curves
        .iter()
        .map(|c| {
            let own = (c.experiment_id != run_experiment).then_some(&c.experiment_id);
            serde_json::json!([c.target, c.compound, own])
        })
        .collect();
    let path = dir.join(FITS_KEYS);
    std::fs::write(&path, serde_json::to_string(&keys)?)
        .with_context(|| format!("writing {}", path.display()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shards_parse_and_cover_every_group_once() {
        assert_eq!("2/8".parse::<Shard>(), Ok(Shard { index: 2, count: 8 }));
        for bad in ["0/2", "3/2", "1/0", "x", "1/", "1-2"] {
            assert!(bad.parse::<Shard>().is_err(), "{bad}");
        }
        for groups in [0, 1, 5, 17] {
            for count in 1..7 {
                let mut next = 0;
                for index in 1..=count {
                    let (from, to) = group_range(groups, Shard { index, count });
                    assert_eq!(from, next);
                    next = to;
                }
                assert_eq!(next, groups);
            }
        }
    }
}
