//! The run manifest, `run.json`: what made this run and from what, so a reader can verify the
//! inputs by hash and rerun it.

use serde_json::json;

use crate::derive::rows::RunResults;

/// The manifest as pretty JSON. `resolved` is the resolved configuration (already JSON).
#[must_use]
pub fn manifest_json(
    r: &RunResults,
    resolved: &serde_json::Value,
    threads: usize,
    timings: &[(&str, f64)],
) -> String {
    let timings: serde_json::Map<String, serde_json::Value> =
        timings.iter().map(|(k, v)| ((*k).to_string(), json!(v))).collect();
    let inputs: Vec<_> = r
        .inputs
        .iter()
        .map(|i| json!({"path": i.path, "sha256": i.sha256, "bytes": i.bytes}))
        .collect();
    let counts = r.status_counts();
    let v = json!({
        "radbind_version": r.version,
        "experiment": r.experiment,
        "started": r.started,
        "finished": r.finished,
        "threads": threads,
        "timings_s": timings,
        "inputs": inputs,
        "config": resolved,
        "config_text": r.config_yaml,
        "problems": r.problems,
        // Per target: the assay, and where the Kd used for Ki came from (`config`, or
        // `saturation <target>` with the fitted value).
        "targets": r.targets.iter().map(|t| json!({
            "target": t.target,
            "assay": t.assay,
            "kd_nM": if t.kd_nm.is_finite() { json!(t.kd_nm) } else { serde_json::Value::Null },
            "kd_source": t.kd_source,
        })).collect::<Vec<_>>(),
        "counts": {
            "plates": r.plates.len(),
            "curves": r.curves.len(),
            "curves_ok": counts.ok,
            "curves_flagged": counts.flagged,
            "curves_failed": counts.failed,
        },
    });
    let mut s = serde_json::to_string_pretty(&v).expect("a JSON value always serialises");
    s.push('\n');
    s
}
