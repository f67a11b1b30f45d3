//! Resolving `targets:`: the assay and its options, [L] and Kd (or [S] and Km), the counting
//! section with decay correction, and `kd_from` cross-checks.

use std::collections::BTreeMap;

use super::{
    ADDED_DPM, AFFINITY_NM, CELLS, CONC_NM, PROTEIN_MG, Resolver, SPECIFIC_ACTIVITY, VOLUME_UL,
};
use crate::config::options::{
    AssayName, DepletionMode, HillSlopeMode, SaturationModelName, TargetOptions,
};
use crate::config::settings::{Assay, ConcSpec, GtpgsSpec, SaturationSpec, Target};
use crate::radioactivity::{Counting, Isotope};

impl Resolver<'_> {
    #[allow(clippy::too_many_lines)]
    pub(super) fn target(
        &mut self,
        name: &str,
        t: &TargetOptions,
        assay_date: Option<i64>,
    ) -> Option<Target> {
        let key = |k: &'static str| ["targets", name, k];
        let assay_name =
            self.choice(&key("assay"), t.assay.as_ref(), AssayName::Competition, |other| {
                format!("unknown assay `{other}`: use competition, saturation, gtpgs or uptake")
            });
        let assay = match assay_name {
            AssayName::Competition => Assay::Competition,
            AssayName::Uptake => Assay::Uptake,
            AssayName::Saturation => {
                let o = t.saturation.clone().unwrap_or_default();
                let model = self.choice(
                    &["targets", name, "saturation", "model"],
                    o.model.as_ref(),
                    SaturationModelName::Global,
                    |other| format!("unknown saturation model `{other}`: use global or specific"),
                );
                let hill_slope = self.choice(
                    &["targets", name, "saturation", "hill_slope"],
                    o.hill_slope.as_ref(),
                    HillSlopeMode::Fixed,
                    |other| format!("unknown hill_slope `{other}`: use fixed or free"),
                );
                let depletion = self.choice(
                    &["targets", name, "saturation", "depletion"],
                    o.depletion.as_ref(),
                    DepletionMode::Flag,
                    |other| format!("unknown depletion `{other}`: use flag or correct"),
                );
                Assay::Saturation(SaturationSpec {
                    global: model == SaturationModelName::Global,
                    free_hill: hill_slope == HillSlopeMode::Free,
                    correct_depletion: depletion == DepletionMode::Correct,
                })
            }
            AssayName::Gtpgs => {
                let o = t.gtpgs.clone().unwrap_or_default();
                let partial_below = o.partial_below.unwrap_or(0.8);
                if !(partial_below > 0.0 && partial_below <= 1.0) {
                    self.problem(
                        &["targets", name, "gtpgs", "partial_below"],
                        format!("partial_below must be in (0, 1], got {partial_below}"),
                    );
                }
                for (k, v) in [("agonist_nM", o.agonist_nm), ("agonist_ec50_nM", o.agonist_ec50_nm)]
                {
                    match v {
                        Some(v) if !(v.is_finite() && v > 0.0) => self.problem(
                            &["targets", name, "gtpgs", k],
                            format!("{k} must be a positive number (nM)"),
                        ),
                        Some(v) => {
                            self.in_range(&["targets", name, "gtpgs", k], v, CONC_NM);
                        }
                        None => {}
                    }
                }
                Assay::Gtpgs(GtpgsSpec {
                    reference_agonist: o.reference_agonist.clone(),
                    antagonists: o.antagonists.clone().unwrap_or_default(),
                    agonist_nm: o.agonist_nm,
                    agonist_ec50_nm: o.agonist_ec50_nm,
                    partial_below,
                })
            }
        };
        if t.saturation.is_some() && !matches!(assay, Assay::Saturation(_)) {
            self.problem(
                &key("saturation"),
                "`saturation` options need `assay: saturation`".into(),
            );
        }
        if t.gtpgs.is_some() && !matches!(assay, Assay::Gtpgs(_)) {
            self.problem(&key("gtpgs"), "`gtpgs` options need `assay: gtpgs`".into());
        }
        let uptake = assay == Assay::Uptake;
        if !uptake && (t.substrate_nm.is_some() || t.km_nm.is_some()) {
            self.problem(
                &key(if t.km_nm.is_some() { "km_nM" } else { "substrate_nM" }),
                "`substrate_nM` and `km_nM` are for `assay: uptake`; binding assays give \
                 `radioligand_nM` and `kd_nM`"
                    .into(),
            );
        }
        let (l_key, l_given) = if t.substrate_nm.is_some() {
            ("substrate_nM", t.substrate_nm)
        } else {
            ("radioligand_nM", t.radioligand_nm)
        };
        let (kd_key, kd_given) =
            if t.km_nm.is_some() { ("km_nM", t.km_nm) } else { ("kd_nM", t.kd_nm) };
        if t.substrate_nm.is_some() && (t.radioligand_nm.is_some() || t.radioligand_conc.is_some())
        {
            self.problem(
                &key("substrate_nM"),
                "give `substrate_nM` or `radioligand_nM`, not both".into(),
            );
        }
        if t.km_nm.is_some() && (t.kd_nm.is_some() || t.kd.is_some()) {
            self.problem(&key("km_nM"), "give `km_nM` or `kd_nM`, not both".into());
        }
        let l =
            self.conc(&["targets", name, l_key], l_given, t.radioligand_conc.as_ref(), AFFINITY_NM);
        let kd = self.conc(&["targets", name, kd_key], kd_given, t.kd.as_ref(), AFFINITY_NM);
        let needs_ki = matches!(assay, Assay::Competition | Assay::Uptake);
        let (what_l, what_kd) = if uptake {
            ("`substrate_nM`: the substrate concentration [S]", "`km_nM`: the substrate's Km")
        } else {
            ("`radioligand_nM`: the radioligand concentration [L]", "`kd_nM`: the radioligand's Kd")
        };
        let kd_text_given = kd_given.is_some() || t.kd.is_some();
        if t.kd_from.is_some() && kd_text_given {
            self.problem(&key("kd_from"), "give `kd_from` or `kd_nM`, not both".into());
        }
        if t.kd_from.is_some() && !needs_ki {
            self.problem(
                &key("kd_from"),
                format!("`kd_from` is for competition targets; this one is `{}`", assay.name()),
            );
        }
        // Neither [L] nor Kd: an IC50-only target (no Ki anywhere). One without the other is
        // a config slip, not a choice.
        let l_text_given = l_given.is_some() || t.radioligand_conc.is_some();
        let kd_any = kd_text_given || t.kd_from.is_some();
        if needs_ki && l_text_given && !kd_any {
            self.problem(
                &["targets", name],
                format!(
                    "missing {what_kd} is needed for Ki (Cheng-Prusoff){}; leave out {} as well \
                     to report IC50 only",
                    if uptake { "" } else { "; or take it from a saturation target: `kd_from`" },
                    if uptake { "`substrate_nM`" } else { "`radioligand_nM`" }
                ),
            );
        }
        if needs_ki && !l_text_given && kd_any {
            self.problem(
                &["targets", name],
                format!(
                    "missing {what_l} is needed for Ki; leave out {} as well to report IC50 only",
                    if uptake { "`km_nM`" } else { "`kd_nM`" }
                ),
            );
        }
        let (counting, decay) = self.counting(name, t, assay_date);
        if let Assay::Saturation(sp) = &assay {
            if sp.correct_depletion && counting.is_none_or(|c| c.volume_ul.is_none()) {
                self.problem(
                    &["targets", name, "saturation", "depletion"],
                    "depletion correction needs `specific_activity_Ci_per_mmol`, \
                     `counting_efficiency` and `volume_uL` on the target"
                        .into(),
                );
            }
        }
        // A value given but unreadable stops here (its problem is reported); an absent one
        // is NaN: the IC50-only target.
        if needs_ki && l_text_given && l.is_none() {
            return None;
        }
        if needs_ki && kd_text_given && kd.is_none() {
            return None;
        }
        let l = l.unwrap_or(f64::NAN);
        let kd = kd.unwrap_or(f64::NAN);
        Some(Target {
            name: name.to_string(),
            radioligand: t.radioligand.clone().unwrap_or_default(),
            radioligand_nm: l,
            kd_nm: kd,
            kd_from: t.kd_from.clone(),
            assay,
            counting,
            decay,
        })
    }

    /// The counting section of a target: efficiency and specific activity (decay-corrected to
    /// `assay_date` when both dates are given), volume, protein and cells.
    fn counting(
        &mut self,
        name: &str,
        t: &TargetOptions,
        assay_date: Option<i64>,
    ) -> (Option<Counting>, Option<(Isotope, f64, f64)>) {
        let positive = |r: &mut Self, k: &'static str, v: Option<f64>| -> Option<f64> {
            let range = match k {
                "specific_activity_Ci_per_mmol" => Some(SPECIFIC_ACTIVITY),
                "volume_uL" => Some(VOLUME_UL),
                "protein_mg_per_well" => Some(PROTEIN_MG),
                "cells_per_well" => Some(CELLS),
                _ => None,
            };
            match v {
                Some(x) if x.is_finite() && x > 0.0 => range
                    .is_none_or(|range| r.in_range(&["targets", name, k], x, range))
                    .then_some(x),
                Some(x) => {
                    r.problem(
                        &["targets", name, k],
                        format!("{k} must be a positive number, got {x}"),
                    );
                    None
                }
                None => None,
            }
        };
        let sa = positive(self, "specific_activity_Ci_per_mmol", t.specific_activity);
        let eff = positive(self, "counting_efficiency", t.counting_efficiency);
        if eff.is_some_and(|e| e > 1.0) {
            self.problem(
                &["targets", name, "counting_efficiency"],
                "counting_efficiency is CPM/DPM, at most 1 (write 0.4 for 40%)".into(),
            );
        }
        let volume_ul = positive(self, "volume_uL", t.volume_ul);
        let protein_mg = positive(self, "protein_mg_per_well", t.protein_mg_per_well);
        let cells = positive(self, "cells_per_well", t.cells_per_well);
        let isotope = match &t.isotope {
            Some(i) => {
                let parsed = Isotope::parse(i);
                if parsed.is_none() {
                    self.problem(
                        &["targets", name, "isotope"],
                        format!("unknown isotope `{i}`: use 3H, 125I, 35S, 33P or 32P"),
                    );
                }
                parsed
            }
            None => Isotope::from_radioligand(t.radioligand.as_deref().unwrap_or_default()),
        };
        let calibration = t.calibration_date.as_ref().and_then(|d| {
            crate::radioactivity::day_number(d)
                .map_err(|e| self.problem(&["targets", name, "calibration_date"], e))
                .ok()
        });
        let any_amount = volume_ul.is_some() || protein_mg.is_some() || cells.is_some();
        let (Some(sa), Some(eff)) = (sa, eff) else {
            if (sa.is_some() || any_amount || t.calibration_date.is_some())
                && eff.is_none()
                && t.counting_efficiency.is_none()
            {
                self.problem(
                    &["targets", name],
                    "counts convert to DPM and fmol only with `counting_efficiency` (CPM/DPM) \
                     and `specific_activity_Ci_per_mmol`"
                        .into(),
                );
            } else if eff.is_some() && t.specific_activity.is_none() {
                self.problem(
                    &["targets", name],
                    "`counting_efficiency` needs `specific_activity_Ci_per_mmol` to give fmol"
                        .into(),
                );
            }
            return (None, None);
        };
        let mut decay = None;
        let mut specific_activity = sa;
        if let (Some(cal), Some(day)) = (calibration, assay_date) {
            match isotope {
                Some(iso) => {
                    let days = (day - cal) as f64;
                    let f = crate::radioactivity::decay_fraction(iso, days);
                    specific_activity = sa * f;
                    decay = Some((iso, days, f));
                }
                None => self.problem(
                    &["targets", name, "isotope"],
                    format!(
                        "decay correction needs the isotope: add `isotope: 3H` (or 125I, 35S, \
                         33P, 32P); `{}` does not name one in brackets",
                        t.radioligand.as_deref().unwrap_or_default()
                    ),
                ),
            }
        } else if calibration.is_some() {
            self.problem(
                &["targets", name, "calibration_date"],
                "decay correction needs the top-level `assay_date: YYYY-MM-DD` as well".into(),
            );
        }
        (Some(Counting { efficiency: eff, specific_activity, volume_ul, protein_mg, cells }), decay)
    }

    /// Every `kd_from` names a saturation target of the config.
    pub(super) fn kd_sources(&mut self, targets: &BTreeMap<String, Target>) {
        for t in targets.values() {
            let Some(from) = &t.kd_from else { continue };
            match targets.get(from) {
                Some(s) if matches!(s.assay, Assay::Saturation(_)) => {}
                Some(s) => self.problem(
                    &["targets", &t.name, "kd_from"],
                    format!(
                        "`{from}` is a {} target; kd_from names a saturation target",
                        s.assay.name()
                    ),
                ),
                None => {
                    let sat: Vec<&str> = targets
                        .values()
                        .filter(|s| matches!(s.assay, Assay::Saturation(_)))
                        .map(|s| s.name.as_str())
                        .collect();
                    self.problem(
                        &["targets", &t.name, "kd_from"],
                        format!(
                            "unknown target `{from}`; saturation targets are: {}",
                            if sat.is_empty() { "none".to_string() } else { sat.join(", ") }
                        ),
                    );
                }
            }
        }
    }

    /// Concentrations (nM) from the radioligand DPM added per well:
    /// `[L] = DPM / (S x 2.22) / V` with the target's specific activity and volume.
    pub(super) fn dpm_conc(
        &mut self,
        key: &[&str],
        dpm: &[f64],
        target: Option<&Target>,
        n: usize,
    ) -> Option<ConcSpec> {
        if dpm.len() != n {
            self.problem(key, format!("{} values given for a series of {n} wells", dpm.len()));
            return None;
        }
        if dpm.iter().any(|v| !(v.is_finite() && *v > 0.0)) {
            self.problem(key, "added DPM must be positive numbers".into());
            return None;
        }
        if let Some(v) = dpm.iter().find(|v| !ADDED_DPM.contains(**v)) {
            self.in_range(key, *v, ADDED_DPM);
            return None;
        }
        if !self.in_series_order(key, dpm) {
            return None;
        }
        let t = target?;
        let Some(c) = t.counting.filter(|c| c.volume_ul.is_some()) else {
            self.problem(
                key,
                format!(
                    "added DPM convert to nM only with the target's \
                     `specific_activity_Ci_per_mmol`, `counting_efficiency` and `volume_uL` \
                     (target `{}`)",
                    t.name
                ),
            );
            return None;
        };
        Some(ConcSpec::List(dpm.iter().map(|d| c.conc_nm_from_dpm(*d)).collect()))
    }
}
