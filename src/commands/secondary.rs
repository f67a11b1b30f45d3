//! `radbind init --secondary`: the curve config for the follow-up of a primary screen, from
//! a run's `followup.csv` (or `hits.csv`): the hits of each target on a standard 96-well
//! curve layout (total column 1, NSB column 12, a 10-point half-log series from 10 µM in
//! columns 2-11), four compounds per plate in duplicate rows. Targets are copied from the
//! primary run's config when its `run.json` lies beside the list.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::Path;

use anyhow::Result;

/// Compounds per curve plate (duplicate rows A-B, C-D, E-F, G-H).
const PER_PLATE: usize = 4;

/// The follow-up config text for the hits in `list`.
///
/// # Errors
/// When the list cannot be read or holds no hits.
pub fn scaffold(list: &Path) -> Result<String> {
    let hits = crate::report::tables::read_followup(list)?;
    anyhow::ensure!(!hits.is_empty(), "{} lists no hits: nothing to follow up", list.display());
    // Each compound once per target, in list order.
    let mut by_target: BTreeMap<&str, Vec<&str>> = BTreeMap::new();
    for (t, c) in &hits {
        let v = by_target.entry(t.as_str()).or_default();
        if !v.contains(&c.as_str()) {
            v.push(c);
        }
    }
    let targets = primary_targets(list);
    let q = |s: &str| serde_json::to_string(s).unwrap_or_default();
    let mut y = String::new();
    let _ = writeln!(
        y,
        "# Follow-up (secondary assay) of the primary-screen hits in {}:\n# {} compound(s) at \
         {} target(s), full curves for IC50 and Ki. Check the layout and the inputs, then run\n\
         #   radbind validate <this file>",
        list.display(),
        hits.len(),
        by_target.len()
    );
    y.push_str(
        "experiment: secondary-assay\ninputs: [secondary/*.txt]   # the curve plates' exports\n\n",
    );
    y.push_str("targets:\n");
    for t in by_target.keys() {
        match targets.get(*t) {
            Some(line) => {
                let _ = writeln!(y, "  {}: {line}", q(t));
            }
            None => {
                let _ = writeln!(
                    y,
                    "  {}: {{radioligand: \"TODO\", radioligand_nM: 1.0, kd_nM: 1.0}}   # TODO: [L] and Kd",
                    q(t)
                );
            }
        }
    }
    y.push_str(
        "\nlayouts:\n  curve96:\n    wells: 96\n    total: column 1\n    nsb: column 12\n    \
         series: {columns: 2-11, top: \"10 µM\", dilution: 3.162}\n\nplates:\n",
    );
    let mut n = 0;
    for (t, compounds) in &by_target {
        for chunk in compounds.chunks(PER_PLATE) {
            n += 1;
            let rows: Vec<String> = chunk
                .iter()
                .zip(["A-B", "C-D", "E-F", "G-H"])
                .map(|(c, r)| format!("{r}: {}", q(c)))
                .collect();
            let _ = writeln!(
                y,
                "  - {{plate: {n}, target: {}, layout: curve96, rows: {{{}}}}}",
                q(t),
                rows.join(", ")
            );
        }
    }
    y.push_str("\nfit:\n  model: four_parameter\n\nqc:\n  min_z_prime: 0.5\n");
    Ok(y)
}

/// The primary run's targets as one-line YAML flow mappings, when `run.json` lies beside the
/// list and holds the config; empty otherwise (the scaffold then leaves TODOs).
fn primary_targets(list: &Path) -> BTreeMap<String, String> {
    let Some(dir) = list.parent() else { return BTreeMap::new() };
    let read = || -> Option<BTreeMap<String, String>> {
        let text = std::fs::read_to_string(dir.join("run.json")).ok()?;
        let json: serde_json::Value = serde_json::from_str(&text).ok()?;
        let targets = json.pointer("/config/targets")?.as_object()?;
        Some(
            targets
                .iter()
                .map(|(k, v)| {
                    let mut v = v.clone();
                    if let Some(m) = v.as_object_mut() {
                        m.retain(|_, x| !x.is_null());
                    }
                    (k.clone(), serde_json::to_string(&v).unwrap_or_default())
                })
                .collect(),
        )
    };
    read().unwrap_or_default()
}

/// The scaffold's config, checked to be loadable YAML (a test helper).
#[cfg(test)]
fn parses(text: &str) -> bool {
    serde_yaml::from_str::<crate::config::Options>(text).is_ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hits_become_curve_plates() {
        let dir = std::env::temp_dir().join(format!("radbind-secondary-{}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("dir");
        let p = dir.join("followup.csv");
        let mut t = String::from("compound,target,source_plate\n");
        for k in 1..=5 {
            let _ = writeln!(t, "RB-{k},5-HT2A,P1");
        }
        t.push_str("\"a,b\",H1,P2\n");
        std::fs::write(&p, t).expect("write");
        let y = scaffold(&p).expect("scaffold");
        assert!(parses(&y), "{y}");
        let o: crate::config::Options = serde_yaml::from_str(&y).expect("yaml");
        assert_eq!(o.plates.len(), 3);
        assert!(y.contains("\"a,b\""), "{y}");
        let _ = std::fs::remove_dir_all(&dir);
    }
}
