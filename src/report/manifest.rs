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
    /// The per-plate lists of `resolved` (the config's `plates` and `resolved_plates`), held
    /// apart and written one element at a time ([`resolved_config_apart`]); `None` when
    /// `resolved` holds them.
    pub plate_lists: Option<PlateLists>,
}

/// The two per-plate lists of the resolved configuration, kept as the run has them rather
/// than as JSON values (a run of 250,000 plates would need some 500 MB for those).
#[derive(Debug, Clone, Default)]
pub struct PlateLists {
    /// The config's `plates` entries.
    pub entries: Vec<crate::config::options::PlateOptions>,
    /// The plate mapping ([`Assignment`]s).
    pub assignments: Vec<Assignment>,
}

/// Stands for a list in `resolved` until it is written (text no config can hold: YAML
/// configs refuse control characters).
const ENTRIES: &str = "\u{0}radbind:plates\u{0}";
const MAPPING: &str = "\u{0}radbind:resolved_plates\u{0}";

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

/// [`resolved_config`] with the per-plate lists held apart: `settings`' config entries are
/// moved out (nothing after the analysis reads them) into [`PlateLists`], written into
/// run.json element by element by [`write_manifest`] with the same text.
#[must_use]
pub fn resolved_config_apart(
    s: &mut Settings,
    assignments: Vec<Assignment>,
) -> (serde_json::Value, PlateLists) {
    let entries = std::mem::take(&mut s.options.plates);
    let mut v = resolved_config(s, &[]);
    if let Some(m) = v.as_object_mut() {
        // Without entries, the config's own (empty or absent) `plates` stays.
        if !entries.is_empty() {
            m.insert("plates".into(), ENTRIES.into());
        }
        m.insert("resolved_plates".into(), MAPPING.into());
    }
    (v, PlateLists { entries, assignments })
}

/// Writes run.json ([`manifest_json`]) to `path`, the per-plate lists held apart
/// ([`RunContext::plate_lists`]) written one element at a time.
///
/// # Errors
/// When the file cannot be written.
pub fn write_manifest(
    path: &std::path::Path,
    r: &RunResults,
    problems: &[String],
    ctx: &RunContext,
) -> anyhow::Result<()> {
    use anyhow::Context as _;
    use std::io::Write as _;
    let text = manifest_json(r, problems, ctx);
    let f = std::fs::File::create(path).with_context(|| format!("creating {}", path.display()))?;
    let mut w = std::io::BufWriter::new(f);
    let Some(lists) = &ctx.plate_lists else {
        w.write_all(text.as_bytes()).with_context(|| format!("writing {}", path.display()))?;
        return w.flush().with_context(|| format!("writing {}", path.display()));
    };
    let quoted = |p: &str| serde_json::to_string(p).expect("a string always serialises");
    let (entries, mapping) = (quoted(ENTRIES), quoted(MAPPING));
    let mut rest = text.as_str();
    let io = |e: std::io::Error| anyhow::anyhow!("writing {}: {e}", path.display());
    loop {
        let next = [(&entries, true), (&mapping, false)]
            .into_iter()
            .filter_map(|(p, is_entries)| rest.find(p.as_str()).map(|i| (i, p.len(), is_entries)))
            .min();
        let Some((at, len, is_entries)) = next else { break };
        let before = &rest[..at];
        w.write_all(before.as_bytes()).map_err(io)?;
        // The indentation of the line holding the list: serde_json's pretty printer writes
        // two spaces a level.
        let line = before.rsplit('\n').next().unwrap_or("");
        let indent = " ".repeat(line.len() - line.trim_start().len());
        let values: Box<dyn Iterator<Item = serde_json::Value>> = if is_entries {
            Box::new(
                lists
                    .entries
                    .iter()
                    .map(|e| serde_json::to_value(e).unwrap_or(serde_json::Value::Null)),
            )
        } else {
            Box::new(lists.assignments.iter().map(assignment_json))
        };
        write_array(&mut w, values, &indent).map_err(io)?;
        rest = &rest[at + len..];
    }
    w.write_all(rest.as_bytes()).map_err(io)?;
    w.flush().map_err(io)
}

/// A JSON array as serde_json's pretty printer writes it at the indentation `indent`.
fn write_array(
    w: &mut impl std::io::Write,
    values: impl Iterator<Item = serde_json::Value>,
    indent: &str,
) -> std::io::Result<()> {
    let inner = format!("{indent}  ");
    let mut any = false;
    for v in values {
        w.write_all(if any { b",\n" } else { b"[\n" })?;
        any = true;
        let text = serde_json::to_string_pretty(&v).map_err(std::io::Error::other)?;
        for (i, l) in text.split('\n').enumerate() {
            if i > 0 {
                w.write_all(b"\n")?;
            }
            w.write_all(inner.as_bytes())?;
            w.write_all(l.as_bytes())?;
        }
    }
    if any { write!(w, "\n{indent}]") } else { w.write_all(b"[]") }
}

/// The resolved plate mapping for run.json: per config entry, the input file and position of
/// its plate (or why it is not analysed), then the input plates no entry uses.
fn plate_mapping(assignments: &[Assignment]) -> serde_json::Value {
    assignments.iter().map(assignment_json).collect::<Vec<_>>().into()
}

/// One entry of the plate mapping.
fn assignment_json(a: &Assignment) -> serde_json::Value {
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
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plate_lists_written_apart_give_the_same_text() {
        let cfg = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("configs/example.yaml");
        let mut s = crate::config::load(&cfg).unwrap();
        assert!(!s.options.plates.is_empty());
        let a = Assignment {
            entry: Some(0),
            selector: "plate 1".into(),
            plate: Some("P1".into()),
            source: Some(("x.txt".into(), 1)),
            label: Some("Plate \"1\"".into()),
            target: Some("H1".into()),
            failed: None,
        };
        let mapping = vec![a.clone(), Assignment { failed: Some("no".into()), ..a }];
        let whole = RunContext { resolved: resolved_config(&s, &mapping), ..Default::default() };
        let (resolved, lists) = resolved_config_apart(&mut s, mapping);
        let apart = RunContext { resolved, plate_lists: Some(lists), ..Default::default() };
        let r = crate::test_support::sample_results();
        let tmp = tempfile::tempdir().unwrap();
        let (pa, pb) = (tmp.path().join("a.json"), tmp.path().join("b.json"));
        write_manifest(&pa, &r, &["p".into()], &whole).unwrap();
        write_manifest(&pb, &r, &["p".into()], &apart).unwrap();
        let (ta, tb) = (std::fs::read_to_string(pa).unwrap(), std::fs::read_to_string(pb).unwrap());
        assert!(ta.contains("\"resolved_plates\": [\n"), "{ta}");
        assert_eq!(ta, tb);
    }
}
