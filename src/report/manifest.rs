//! The run manifest, `run.json`: what made this run and from what, so a reader can verify the
//! inputs by hash and rerun it.
//!
//! Owns the manifest's JSON: [`manifest_json`], what the run knows of itself beyond its
//! results ([`RunContext`]) and the resolved configuration it records ([`resolved_config`],
//! with the plate mapping of the layout stage). It is written last, after the figures, so its
//! problem list is complete.

use serde_json::json;

use crate::config::Settings;
use crate::derive::rows::RunResults;
use crate::layout::Assignment;

/// What run.json records besides the results: the resolved configuration, the worker threads
/// and the wall time per stage.
#[derive(Debug, Clone, Default)]
pub struct RunContext {
    /// The resolved configuration (see [`resolved_config`]).
    pub resolved: serde_json::Value,
    /// Worker threads used.
    pub threads: usize,
    /// Wall time per stage, seconds, in stage order.
    pub timings: Vec<(&'static str, f64)>,
    /// The run was analysed in batches (`crate::stream`): `wells.csv|parquet` and
    /// `plates.csv|parquet` are written already.
    pub wells_written: bool,
    /// Some curves carry no points (a run in batches keeps them only for the curves it
    /// draws): the Prism files, which need every point, are left out.
    pub points_dropped: bool,
    /// A shard of a run (`--shard i/n`): `{index, count, config_sha256}`, recorded as
    /// `shard`.
    pub shard: Option<serde_json::Value>,
}

/// The manifest as pretty JSON. `problems` is the run's complete problem list (those of the
/// results and the figures that failed, [`super::ReportOutcome::problems`]).
#[must_use]
pub fn manifest_json(r: &RunResults, problems: &[String], ctx: &RunContext) -> String {
    let timings: serde_json::Map<String, serde_json::Value> =
        ctx.timings.iter().map(|(k, v)| ((*k).to_string(), json!(v))).collect();
    let inputs: Vec<_> = r
        .inputs
        .iter()
        .map(|i| json!({"path": i.path, "sha256": i.sha256, "bytes": i.bytes}))
        .collect();
    let counts = r.status_counts();
    let mut v = json!({
        "radbind_version": r.version,
        "experiment": r.experiment,
        "experiment_id": r.history.experiment_id,
        "assay_date": r.history.assay_date,
        // Per target (and experiment): the reference compound, its measured potency and
        // verdict (`in_range`, `out_of_range`, `not_measured: …`, `recorded`).
        "references": r.history.references.iter().map(|x| json!({
            "target": x.target,
            "compound": x.compound,
            "experiment_id": x.experiment_id,
            "measure": x.measure.to_string(),
            "value": if x.value.is_finite() { json!(x.value) } else { serde_json::Value::Null },
            "expected": x.expected.map(|e| e.0),
            "limit": x.expected.map(|e| e.1),
            "verdict": x.verdict.to_string(),
            "out_of_range": x.verdict.fails(),
        })).collect::<Vec<_>>(),
        "started": r.started,
        "finished": r.finished,
        "threads": ctx.threads,
        "timings_s": timings,
        "inputs": inputs,
        "config": ctx.resolved,
        "config_text": r.config_yaml,
        "problems": problems,
        // Per target: the assay, and where the Kd used for Ki came from (`config`, or
        // `saturation <target>` with the fitted value).
        "targets": r.targets.iter().map(|t| json!({
            "target": t.target,
            "assay": t.assay,
            "kd_nM": if t.kd_nm.is_finite() { json!(t.kd_nm) } else { serde_json::Value::Null },
            "kd_source": t.kd_source,
        })).collect::<Vec<_>>(),
        "counts": {
            "plates": r.plate_count(),
            "curves": r.curve_count(),
            "curves_ok": counts.ok,
            "curves_flagged": counts.flagged,
            "curves_failed": counts.failed,
        },
    });
    if let (Some(shard), Some(map)) = (&ctx.shard, v.as_object_mut()) {
        map.insert("shard".into(), shard.clone());
    }
    let mut s = serde_json::to_string_pretty(&v).expect("a JSON value always serialises");
    s.push('\n');
    s
}

/// The resolved configuration as JSON: the options, the expanded input list and output
/// directory (`resolved_inputs`, `resolved_output`), and the plate mapping
/// (`resolved_plates`: per config entry, the input file and position of its plate, or why
/// it is not analysed).
#[must_use]
pub fn resolved_config(s: &Settings, assignments: &[Assignment]) -> serde_json::Value {
    let mut v = serde_json::to_value(&s.options).unwrap_or(serde_json::Value::Null);
    if let Some(m) = v.as_object_mut() {
        m.insert(
            "resolved_inputs".into(),
            s.inputs.iter().map(|p| p.display().to_string()).collect::<Vec<_>>().into(),
        );
        m.insert("resolved_output".into(), s.output_dir.display().to_string().into());
        m.insert("resolved_plates".into(), plate_mapping(assignments));
    }
    v
}

/// The resolved plate mapping for run.json: per config entry, the input file and position of
/// its plate (or why it is not analysed), then the input plates no entry uses.
fn plate_mapping(assignments: &[Assignment]) -> serde_json::Value {
    assignments
        .iter()
        .map(|a| {
            json!({
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
