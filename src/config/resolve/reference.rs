//! Resolving the assay-history keys: `experiment_id` (top level and per plate entry) and each
//! target's `reference` compound with its acceptance range.

use std::collections::BTreeMap;

use super::Resolver;
use crate::config::options::Options;
use crate::config::settings::Reference;

/// The default accepted distance of a reference's pKi from its expected value, log units,
/// when neither `limit` nor `sd` is given: a factor of about 3 either way.
pub(super) const DEFAULT_REFERENCE_LIMIT: f64 = 0.5;

impl Resolver<'_> {
    /// Each target's `reference`: the compound must be named, `pki` plausible (0 to 20), the
    /// limit (or `3 sd`) positive. The compound is not cross-checked against the plates: a run
    /// may leave the reference out, which the run then records as not measured.
    pub(super) fn references(&mut self, o: &Options) -> BTreeMap<String, Reference> {
        let mut out = BTreeMap::new();
        for (name, t) in &o.targets {
            let Some(r) = &t.reference else { continue };
            let key = |k: &'static str| ["targets", name.as_str(), "reference", k];
            if r.compound.trim().is_empty() {
                self.problem(&key("compound"), "reference compound is empty".into());
                continue;
            }
            let positive = |v: Option<f64>| v.is_none_or(|v| v.is_finite() && v > 0.0);
            if !positive(r.limit) {
                self.problem(&key("limit"), "limit must be a positive number of log units".into());
            }
            if !positive(r.sd) {
                self.problem(&key("sd"), "sd must be a positive number of log units".into());
            }
            let expected = match r.pki {
                Some(p) if !(p.is_finite() && (0.0..=20.0).contains(&p)) => {
                    self.problem(&key("pki"), format!("pki must be from 0 to 20, got {p}"));
                    None
                }
                Some(p) => {
                    let limit =
                        r.limit.or(r.sd.map(|s| 3.0 * s)).unwrap_or(DEFAULT_REFERENCE_LIMIT);
                    Some((p, limit))
                }
                None => None,
            };
            out.insert(name.clone(), Reference { compound: r.compound.clone(), expected });
        }
        out
    }

    /// An experiment id as given at `key`: `None` when absent; an empty one is a problem.
    pub(super) fn experiment_id(&mut self, id: Option<&str>, key: &[&str]) -> Option<String> {
        let id = id?;
        if id.trim().is_empty() {
            self.problem(key, "experiment id is empty".into());
            return None;
        }
        Some(id.trim().to_string())
    }
}
