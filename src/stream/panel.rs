//! The selectivity panel of a large run: each curve's Ki entry is spilled with the curve rows
//! (sorted by compound, target and experiment, the panel's order), and the panel is written
//! one compound at a time while the spill files are merged, so a run of a million curves never
//! holds a million entries. The rows are those of [`crate::report::selectivity::panel_of`]
//! over every entry: the panel compares a compound's entries only with each other.

use std::path::Path;

use anyhow::{Result, anyhow};

use crate::derive::rows::Censor;
use crate::fit::status::CurveStatus;
use crate::report::selectivity::{KiEntry, SelectivityRow, panel_of};
use crate::report::spill::{Cell, Key, Spill};
use crate::report::tables::{Col, TableSink, selectivity_columns};

/// Panel rows written at a time.
const ROWS: usize = 16_384;

/// The spill key of an entry: compound, target, experiment (the panel's sort; the run is
/// always the same).
pub(crate) fn key(e: &KiEntry) -> Key {
    (e.compound.clone(), e.target.clone(), Some(e.experiment_id.clone()))
}

/// Entries as spill columns; every number kept bit for bit (NaN included).
pub(crate) fn columns(e: &[KiEntry]) -> Vec<Col> {
    let s = |f: &dyn Fn(&KiEntry) -> String| e.iter().map(|x| Some(f(x))).collect();
    let f = |g: &dyn Fn(&KiEntry) -> f64| e.iter().map(|x| Some(g(x))).collect();
    vec![
        Col::Str("experiment", s(&|x| x.experiment.clone())),
        Col::Str("experiment_id", s(&|x| x.experiment_id.clone())),
        Col::Str("compound", s(&|x| x.compound.clone())),
        Col::Str("target", s(&|x| x.target.clone())),
        Col::Str("model", s(&|x| x.model.clone())),
        Col::Str("censor", s(&|x| x.ki_censor.mark().to_string())),
        Col::Str("status", s(&|x| x.status.to_string())),
        Col::Str("flags", e.iter().map(|x| Some(x.flags.join("\n"))).collect()),
        Col::F64("ki", f(&|x| x.ki_nm)),
        Col::F64("lo", f(&|x| x.ki_ci_nm.0)),
        Col::F64("hi", f(&|x| x.ki_ci_nm.1)),
        Col::F64("pki", f(&|x| x.pki)),
    ]
}

/// An entry from its spilled cells ([`columns`]).
fn entry(cells: Vec<Cell>) -> Result<KiEntry> {
    let mut text = Vec::new();
    let mut num = Vec::new();
    for c in cells {
        match c {
            Cell::Str(s) => text.push(s.unwrap_or_default()),
            Cell::F64(x) => num.push(x.unwrap_or(f64::NAN)),
            Cell::U64(_) | Cell::Bool(_) => {}
        }
    }
    let [experiment, experiment_id, compound, target, model, censor, status, flags] =
        <[String; 8]>::try_from(text).map_err(|_| anyhow!("a spilled Ki entry is incomplete"))?;
    let [ki, lo, hi, pki] =
        <[f64; 4]>::try_from(num).map_err(|_| anyhow!("a spilled Ki entry is incomplete"))?;
    Ok(KiEntry {
        run: String::new(),
        experiment,
        experiment_id,
        compound,
        target,
        model,
        ki_nm: ki,
        ki_censor: Censor::from_mark(&censor).ok_or_else(|| anyhow!("spilled censor {censor}"))?,
        ki_ci_nm: (lo, hi),
        pki,
        status: status.parse::<CurveStatus>().map_err(|e| anyhow!("spilled status: {e}"))?,
        flags: flags.split('\n').filter(|f| !f.is_empty()).map(str::to_string).collect(),
    })
}

/// Writes `selectivity.csv|parquet` in `dir` from the spilled entries, one compound's
/// entries at a time.
///
/// # Errors
/// When a spill file cannot be read or a table written.
pub(crate) fn write(spill: Spill, dir: &Path, primary: Option<&str>) -> Result<()> {
    let mut sink = TableSink::create(dir, "selectivity")?;
    let mut group: Vec<KiEntry> = Vec::new();
    let mut rows: Vec<SelectivityRow> = Vec::new();
    let flush = |rows: &mut Vec<SelectivityRow>, sink: &mut TableSink| -> Result<()> {
        sink.append(rows.len(), &selectivity_columns(rows))?;
        rows.clear();
        Ok(())
    };
    spill.merge_with(&columns(&[]), &mut |cells| {
        let e = entry(cells)?;
        if group.first().is_some_and(|g| g.compound != e.compound) {
            rows.extend(panel_of(std::mem::take(&mut group), primary));
            if rows.len() >= ROWS {
                flush(&mut rows, &mut sink)?;
            }
        }
        group.push(e);
        Ok(())
    })?;
    rows.extend(panel_of(group, primary));
    if !rows.is_empty() || !sink.started() {
        flush(&mut rows, &mut sink)?;
    }
    sink.finish()
}
