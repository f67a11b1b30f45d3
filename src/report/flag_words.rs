//! Flags in words: a short label and a description for every flag radbind sets on a curve,
//! a saturation fit or a plate, shared by both reports. The codes (`ic50_above_range`) stay
//! in the tables; people read the words.

/// What a flag means, in words, for the flag sections of the reports.
///
/// Returns `None` for a flag radbind does not know; [`flag_description`] covers those (and
/// the flags that carry a number or a plate).
///
/// ```
/// use radbind::report::markdown::flag_explanation;
/// assert!(flag_explanation("ic50_above_range").is_some());
/// assert_eq!(flag_explanation("something_new"), None);
/// ```
#[must_use]
pub fn flag_explanation(flag: &str) -> Option<&'static str> {
    Some(match flag {
        "ic50_above_range" => {
            "The fitted IC50 lies above the highest tested concentration. The value is \
             censored: only a lower bound (\"> top concentration\") is reported, and Ki is \
             a lower bound too."
        }
        "ic50_below_range" => {
            "The fitted IC50 lies below the lowest tested concentration. The value is \
             censored: only an upper bound (\"< lowest concentration\") is reported."
        }
        "no_50pct_span" => {
            "The data do not span 50% specific binding, so the IC50 is not defined by the \
             data and should not be used for a Ki."
        }
        "hill_outside_0.5_2" => {
            "The magnitude of the Hill slope is outside 0.5 to 2. A shallow slope can mean \
             two binding sites or negative cooperativity; a steep one can mean aggregation, \
             ligand depletion or a system not at equilibrium."
        }
        "se_log_ic50_gt_0.5" => {
            "The standard error of log IC50 is above 0.5 log units: the IC50 is poorly \
             determined (its 95% CI spans more than about two orders of magnitude)."
        }
        "few_concentrations" => {
            "Fewer than 5 concentrations were available for the fit; the curve shape is \
             poorly constrained."
        }
        "few_replicates" => "Fewer than 2 replicates per concentration.",
        "no_controls" | "plate_no_controls" => {
            "The plate has no control wells: its curves were fitted on the raw signal (CPM) \
             with free plateaus, and their points and plateaus are shown in % of the fitted \
             span (Top = 100%, Bottom = 0%); fits.csv gives the plateaus in CPM \
             (top_signal, bottom_signal)."
        }
        "background_plate" => {
            "Nearly every well of the plate counts below qc.background_cpm: an empty or blank \
             plate in the export. It is listed, not fitted."
        }
        "looks_rotated" | "plate_looks_rotated" => {
            "The plate's total/NSB window is unusable as laid out, but its counts read the \
             right way round turned by 180\u{b0}: check `rotated` on its plates entry."
        }
        "top_off_control" => {
            "The fitted top plateau is more than 20% away from the total-binding controls."
        }
        "bottom_off_control" => {
            "The fitted bottom plateau is more than 20% away from the non-specific binding \
             controls."
        }
        "not_converged" => "The curve fit did not converge; the parameters are not reliable.",
        "bottom_fixed_0" => {
            "The data do not define the lower plateau (no point near it, or the free fit put \
             Bottom more than 20% below the NSB level, or ran into a bound): the curve was \
             fitted with Bottom fixed at 0% (the NSB level)."
        }
        "top_fixed_100" => {
            "The data do not define the upper plateau (or the fit did not settle with Bottom \
             fixed): the curve was fitted with Top fixed at 100% (the total-binding level)."
        }
        "inactive" => {
            "A horizontal line fits the data as well as the curve (F test, p >= 0.05): the \
             compound shows no effect in the tested range (NCATS class 4). No IC50; reported \
             as above the highest concentration and drawn as the line."
        }
        "not_falling" => {
            "The competition (inhibition) fit rises with concentration, which the assay cannot \
             give: check the dilution direction, a rotated plate or the layout. The IC50 is not \
             meaningful."
        }
        "parameter_at_bound" => {
            "A fitted parameter stopped on its internal bound (log IC50 within 3 log units of \
             the tested range, |Hill slope| at most 10): the data do not determine it. Expected \
             for compounds that barely inhibit at the top concentration."
        }
        "ambiguous" => {
            "The fit is ambiguous: its parameters are almost perfectly dependent \
             (dependency > 0.9999), so the data do not define them."
        }
        "rout_skipped" => {
            "ROUT (fit.outliers) would have excluded more than 20% of the points, which means \
             the model misses the data rather than that the data hold outliers; nothing was \
             excluded."
        }
        "lack_of_fit" => {
            "The replicates test for lack of fit (p < 0.05): the curve deviates from the data \
             more than the scatter among replicates allows. Consider another model (e.g. two \
             sites) or look for a systematic problem."
        }
        "not_rising" => {
            "The agonist fit did not give a rising curve (Top above Bottom with a positive Hill \
             slope): the EC50 is not meaningful."
        }
        "at_bound_top" | "at_bound_bottom" | "at_bound_hill_slope" | "at_bound_log_ic50" => {
            "A parameter ended on a bound set in fit.bounds: the value is the best fit within \
             the bounds, not an unconstrained estimate, and its SE/CI are not reliable."
        }
        "plate_z_prime_below_0.5" => {
            "At least one plate this curve comes from has Z' below 0.5 (see the plate QC \
             table)."
        }
        "z_prime_below_0.5" => {
            "Z' of the plate is below 0.5: the window between total and non-specific \
             binding is small compared with their scatter (Zhang et al. 1999)."
        }
        "partial_agonist" => {
            "The agonist's Emax is below the configured fraction of the reference agonist's \
             (gtpgs.partial_below): a partial agonist at this receptor."
        }
        "reference_out_of_range" => {
            "The target's reference compound measured outside its expected range in this run \
             (references in the config): every curve of the target and experiment is flagged."
        }
        "ligand_depletion" => {
            "More than 10% of the added radioligand is bound at some concentration: the free \
             concentration is below the added one (ligand depletion), so Kd is overestimated \
             unless the fit uses the free [L]."
        }
        "low_specific_at_kd" => {
            "Specific binding at [L] = Kd is a small fraction of the total (below \
             qc.min_specific_at_kd_pct): nonspecific binding dominates and Kd and Bmax are \
             poorly determined."
        }
        "range_below_5x_kd" => {
            "The highest radioligand concentration is below 5 \u{d7} Kd: the curve does not \
             approach Bmax, so Bmax (and Kd) are extrapolated."
        }
        "no_basal_wells" => {
            "The [35S]GTP\u{3b3}S plate has no basal (no agonist) wells: stimulation over basal \
             cannot be computed."
        }
        "no_total_wells" => "The plate has no total-binding wells: it cannot be normalised.",
        "no_nsb_wells" => "The plate has no nonspecific-binding wells: it cannot be normalised.",
        "total_not_above_nsb" => {
            "The total-binding controls do not count above the nonspecific-binding controls: \
             no specific binding window (empty wells, wrong layout or a rotated plate)."
        }
        _ => return None,
    })
}

/// A short human label for a flag (`IC50 above the tested range`), for table cells; flags
/// that carry a number or a plate (`z_prime_below_0.5`, `plate_…`, `controls_from_P2`) are
/// spelled out with it; a flag radbind does not know gets its code with spaces.
///
/// ```
/// use radbind::report::flag_words::flag_label;
/// assert_eq!(flag_label("ic50_above_range"), "IC50 above tested range");
/// assert_eq!(flag_label("plate_z_prime_below_0.5"), "plate: Z\u{2032} below 0.5");
/// ```
#[must_use]
pub fn flag_label(flag: &str) -> String {
    if let Some(rest) = flag.strip_prefix("plate_") {
        if !matches!(rest, "no_controls" | "looks_rotated") {
            return format!("plate: {}", flag_label(rest));
        }
    }
    if let Some(v) = flag.strip_prefix("z_prime_below_") {
        return format!("Z\u{2032} below {v}");
    }
    if let Some(v) = flag.strip_prefix("signal_to_background_below_") {
        return format!("S/B below {v}");
    }
    if let Some(p) = flag.strip_prefix("controls_from_") {
        return format!("controls from plate {p}");
    }
    if let Some(n) = flag.strip_prefix("no_controls_plate_") {
        return format!("no controls (plate {n})");
    }
    if let Some(p) = flag.strip_prefix("at_bound_") {
        return format!("{} at its bound", p.replace('_', " "));
    }
    let known = match flag {
        "ic50_above_range" => "IC50 above tested range",
        "ic50_below_range" => "IC50 below tested range",
        "no_50pct_span" => "does not cross 50%",
        "hill_outside_0.5_2" => "Hill slope outside 0.5\u{2013}2",
        "se_log_ic50_gt_0.5" => "imprecise IC50",
        "few_concentrations" => "few concentrations",
        "few_replicates" => "few replicates",
        "no_controls" | "plate_no_controls" => "no control wells",
        "background_plate" => "background plate",
        "looks_rotated" | "plate_looks_rotated" => "looks rotated",
        "top_off_control" => "top off the controls",
        "bottom_off_control" => "bottom off the controls",
        "not_converged" => "not converged",
        "bottom_fixed_0" => "bottom fixed at 0%",
        "top_fixed_100" => "top fixed at 100%",
        "inactive" => "inactive",
        "not_falling" => "does not fall",
        "not_rising" => "does not rise",
        "parameter_at_bound" => "parameter at its bound",
        "ambiguous" => "ambiguous fit",
        "rout_skipped" => "ROUT skipped",
        "lack_of_fit" => "lack of fit",
        "partial_agonist" => "partial agonist",
        "reference_out_of_range" => "reference out of range",
        "ligand_depletion" => "ligand depletion",
        "low_specific_at_kd" => "low specific binding at Kd",
        "range_below_5x_kd" => "range below 5\u{d7} Kd",
        "no_basal_wells" => "no basal wells",
        "no_total_wells" => "no total wells",
        "no_nsb_wells" => "no NSB wells",
        "total_not_above_nsb" => "total not above NSB",
        other => return other.replace('_', " "),
    };
    known.to_string()
}

/// What a flag means, for the Flags sections: [`flag_explanation`], or for the flags that
/// carry a number or a plate a sentence built from it; a flag radbind does not know is
/// described as such with its code.
#[must_use]
pub fn flag_description(flag: &str) -> String {
    if let Some(t) = flag_explanation(flag) {
        return t.to_string();
    }
    if let Some(rest) = flag.strip_prefix("plate_") {
        return format!(
            "A plate this curve comes from is flagged: {} (see the plate QC table).",
            flag_description(rest).trim_end_matches('.')
        );
    }
    if let Some(v) = flag.strip_prefix("z_prime_below_") {
        return format!(
            "Z\u{2032} of the plate is below {v} (qc.min_z_prime): the window between the \
             high and low controls is small compared with their scatter (Zhang et al. 1999)."
        );
    }
    if let Some(v) = flag.strip_prefix("signal_to_background_below_") {
        return format!(
            "The signal-to-background ratio of the plate's controls is below {v} \
             (qc.min_signal_to_background)."
        );
    }
    if let Some(p) = flag.strip_prefix("controls_from_") {
        return format!(
            "The plate was normalised with the control wells of plate {p} (controls_from)."
        );
    }
    if let Some(n) = flag.strip_prefix("no_controls_plate_") {
        return format!(
            "The plate has no control wells of its own and plate {n}, named for them, gives none."
        );
    }
    format!("A flag radbind set (code {flag}); see the README's list of flags.")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_flag_has_words() {
        for f in [
            "ic50_above_range",
            "partial_agonist",
            "reference_out_of_range",
            "plate_z_prime_below_0.5",
            "z_prime_below_0.5",
            "plate_no_basal_wells",
            "ligand_depletion",
            "low_specific_at_kd",
            "range_below_5x_kd",
            "controls_from_P2",
            "at_bound_hill_slope",
        ] {
            assert!(!flag_label(f).contains('_'), "{f}: {}", flag_label(f));
            assert!(!flag_description(f).contains("no description"), "{f}");
        }
        assert_eq!(flag_label("plate_looks_rotated"), "looks rotated");
    }
}
