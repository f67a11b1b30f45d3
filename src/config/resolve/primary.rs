//! Resolving the primary-screen keys: a layout's `primary` blocks, a plate entry's
//! `compounds` / `compound_list`, and the top-level `screen` hit rule.

use std::path::Path;

use super::{CONC_NM, Resolver, clean_path};
use crate::config::options::{BlockOrder, PlateOptions, PrimaryOptions, ScreenOptions};
use crate::config::settings::{CompoundNames, PrimaryLayout, ScreenSettings};

/// `<rows>x<columns>` (`4x1`, `2 x 2`), each from 1 to 64.
fn parse_block(s: &str) -> Option<(u16, u16)> {
    let (a, b) = s.split_once(['x', 'X', '\u{d7}'])?;
    let (a, b): (u16, u16) = (a.trim().parse().ok()?, b.trim().parse().ok()?);
    ((1..=64).contains(&a) && (1..=64).contains(&b)).then_some((a, b))
}

impl Resolver<'_> {
    /// `layouts.<name>.primary`.
    pub(super) fn primary_layout(
        &mut self,
        name: &str,
        p: &PrimaryOptions,
    ) -> Option<PrimaryLayout> {
        let key = ["layouts", name, "primary"];
        let wells = self.wellset(&["layouts", name, "primary", "wells"], Some(&p.wells));
        let block = match p.block.as_deref() {
            None => Some((4, 1)),
            Some(b) => parse_block(b).or_else(|| {
                self.problem(
                    &["layouts", name, "primary", "block"],
                    format!(
                        "cannot read block `{b}`: write <rows>x<columns>, e.g. 4x1 (four wells \
                         down a column) or 1x3 (three along a row)"
                    ),
                );
                None
            }),
        };
        let order = self.choice(
            &["layouts", name, "primary", "order"],
            p.order.as_ref(),
            BlockOrder::DownThenAcross,
            |other| format!("unknown order `{other}`: use down_then_across or across_then_down"),
        );
        let conc = self.conc(
            &["layouts", name, "primary", "concentration"],
            p.concentration_nm,
            p.concentration.as_ref(),
            CONC_NM,
        );
        if conc.is_none() && p.concentration_nm.is_none() && p.concentration.is_none() {
            self.problem(
                &key,
                "say the screening concentration: `concentration: \"10 µM\"` (or \
                 `concentration_nM`)"
                    .into(),
            );
        }
        Some(PrimaryLayout { wells: wells?, block: block?, order, conc_nm: conc? })
    }

    /// A plate entry's compounds named in block order: `compounds` or `compound_list` (read
    /// through ingest). `wanted` says whether the entry takes them (a primary layout's
    /// blocks, or lanes listed as blocks, `rows: [A-B, C-D]`).
    pub(super) fn compound_names(
        &mut self,
        i: usize,
        p: &PlateOptions,
        wanted: bool,
        base: &Path,
    ) -> Option<CompoundNames> {
        let idx = i.to_string();
        if !wanted {
            for (k, given) in
                [("compounds", p.compounds.is_some()), ("compound_list", p.compound_list.is_some())]
            {
                if given {
                    self.problem(
                        &["plates", &idx, k],
                        "`compounds`/`compound_list` name the compounds of a primary-screen \
                         layout (one with `primary`) or of listed lane blocks (`rows: [A-B, \
                         C-D]`); this entry names its compounds by lane"
                            .into(),
                    );
                }
            }
            return None;
        }
        match (&p.compounds, &p.compound_list) {
            (Some(_), Some(_)) => {
                self.problem(
                    &["plates", &idx],
                    "give `compounds` or `compound_list`, not both".into(),
                );
                None
            }
            (None, None) => {
                self.problem(
                    &["plates", &idx],
                    "name the compounds in block order: `compounds: [A, B, ...]` or \
                     `compound_list: compounds.txt`"
                        .into(),
                );
                None
            }
            (Some(names), None) => {
                if let Some(k) = names.iter().position(|n| n.trim().is_empty()) {
                    self.problem(
                        &["plates", &idx, "compounds", &k.to_string()],
                        "empty compound name".into(),
                    );
                    return None;
                }
                Some(CompoundNames {
                    source: format!("plates[{i}].compounds"),
                    shared: names.iter().map(|n| n.trim().to_string()).collect(),
                    by_plate: std::collections::BTreeMap::new(),
                })
            }
            (None, Some(file)) => {
                let path = clean_path(&base.join(file));
                match crate::ingest::read_compound_list(&path) {
                    Ok(l) => Some(CompoundNames {
                        source: path.display().to_string(),
                        shared: l.names,
                        by_plate: l.by_plate,
                    }),
                    Err(crate::ingest::IngestError::Io { path, source }) => {
                        self.problem(
                            &["plates", &idx, "compound_list"],
                            format!(
                                "cannot read compound list {}: {source} (paths are relative to \
                                 the config file)",
                                path.display()
                            ),
                        );
                        None
                    }
                    Err(e) => {
                        self.problem(
                            &["plates", &idx, "compound_list"],
                            format!("compound list {e}"),
                        );
                        None
                    }
                }
            }
        }
    }

    /// The top-level `screen` section.
    pub(super) fn screen(&mut self, s: Option<&ScreenOptions>) -> ScreenSettings {
        let d = ScreenSettings::default();
        let Some(s) = s else { return d };
        let rule = self.choice(&["screen", "hit"], s.hit.as_ref(), d.rule, |other| {
            format!("unknown hit rule `{other}`: use inhibition, robust_z or both")
        });
        let number = |r: &mut Self, k: &str, v: Option<f64>, lo: f64, hi: f64, dflt: f64| match v {
            None => dflt,
            Some(x) if x.is_finite() && (lo..=hi).contains(&x) => x,
            Some(x) => {
                r.problem(&["screen", k], format!("{k} must be from {lo} to {hi}, got {x}"));
                dflt
            }
        };
        ScreenSettings {
            rule,
            min_inhibition_pct: number(
                self,
                "min_inhibition_pct",
                s.min_inhibition_pct,
                -100.0,
                200.0,
                d.min_inhibition_pct,
            ),
            min_robust_z: number(self, "min_robust_z", s.min_robust_z, 0.0, 100.0, d.min_robust_z),
            max_cv_pct: number(self, "max_cv_pct", s.max_cv_pct, 0.0, 1000.0, d.max_cv_pct),
            outlier_pct: number(self, "outlier_pct", s.outlier_pct, 0.0, 1000.0, d.outlier_pct),
        }
    }
}

/// Checks a primary layout's wells form one rectangle; used in tests of the resolver.
#[cfg(test)]
pub(super) fn is_rect(w: &crate::config::WellSet, g: crate::types::Geometry) -> bool {
    w.resolve(g).is_ok_and(|v| {
        let rows: std::collections::BTreeSet<u16> = v.iter().map(|p| p.row).collect();
        let cols: std::collections::BTreeSet<u16> = v.iter().map(|p| p.col).collect();
        rows.len() * cols.len() == v.len()
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::WellSet;

    #[test]
    fn blocks() {
        assert_eq!(parse_block("4x1"), Some((4, 1)));
        assert_eq!(parse_block(" 2 X 2 "), Some((2, 2)));
        assert_eq!(parse_block("0x1"), None);
        assert_eq!(parse_block("4"), None);
        let w = WellSet::parse("columns 2-11").expect("set");
        assert!(is_rect(&w, crate::types::Geometry::W96));
        let w = WellSet::parse("A1, B2").expect("set");
        assert!(!is_rect(&w, crate::types::Geometry::W96));
    }
}
