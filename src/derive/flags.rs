//! The per-curve quality flags and their limits: what tells a pharmacologist whether to trust
//! a number (DOMAIN.md §2; Prism and the NIH Assay Guidance Manual), and the censoring rule
//! (an IC50 outside the tested range is reported as a bound).
//!
//! Owns the limits and the rules; [`super::derive`] applies them to one curve, in the order
//! the `flags` column lists them: data, then shape, then the fit stage's own flags, then
//! convergence, then the plates. Each flag is explained in the README and the reports.

use crate::config::ModelKind;
use crate::fit::engine::Termination;

use super::rows::Censor;

/// Limits of the quality flags.
pub mod limits {
    /// Hill slopes outside [-2, -0.5] (by magnitude) are flagged.
    pub const HILL_MIN: f64 = 0.5;
    /// Upper end of the Hill slope magnitudes not flagged.
    pub const HILL_MAX: f64 = 2.0;
    /// SE of log IC50 above this is flagged.
    pub const SE_LOG_IC50: f64 = 0.5;
    /// Fitted plateaus further than this (in % specific binding) from the controls
    /// (Top vs 100 %, Bottom vs 0 %) are flagged.
    pub const PLATEAU_OFF: f64 = 20.0;
    /// Fewer distinct concentrations than this is flagged.
    pub const MIN_CONCENTRATIONS: usize = 5;
    /// Parameter dependency above this makes a fit "ambiguous" (Prism).
    pub const DEPENDENCY: f64 = 0.9999;
}

/// Flags of the data alone, fitted or not: `few_concentrations` (fewer than
/// [`limits::MIN_CONCENTRATIONS`] distinct concentrations) and `few_replicates` (no
/// concentration with two points). `x` are the concentrations the fit uses.
#[must_use]
pub fn data_flags(x: &[f64]) -> Vec<String> {
    let mut flags = Vec::new();
    let n_conc = {
        let mut d = x.to_vec();
        d.sort_by(f64::total_cmp);
        d.dedup();
        d.len()
    };
    if n_conc < limits::MIN_CONCENTRATIONS {
        flags.push("few_concentrations".into());
    }
    if max_replicates(x) < 2 {
        flags.push("few_replicates".into());
    }
    flags
}

/// Where the data lie against the fitted curve's midpoint.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Shape {
    /// The IC50 (EC50) is outside the tested range, or the data stay on one side of the
    /// midpoint: reported as a bound.
    pub censor: Censor,
    /// The concentration means reach both sides of the midpoint.
    pub spans_mid: bool,
}

/// Censoring of a fitted curve. `x`, `y`: the fitted points (log10 M, response);
/// `log_range`: the tested range in log10 M; `mid`: the response that defines the IC50 (50 %
/// of the controls' window, or half-way between the fitted plateaus for a functional curve).
///
/// Where the data stay on the low-concentration side of `mid` the IC50 lies above the range
/// (`>`): above `mid` for a falling curve, below it for a `rising` (agonist) one; on the
/// high-concentration side it lies below (`<`). An IC50 fitted outside the range is censored
/// the same way, except when the data cross the midpoint (the mean at the lowest
/// concentration on one side, at the highest on the other, in the curve's direction): a curve
/// whose points cross 50 % always gets a number.
#[must_use]
pub fn shape(
    x: &[f64],
    y: &[f64],
    log_ic50: f64,
    log_range: (f64, f64),
    rising: bool,
    mid: f64,
) -> Shape {
    let means = concentration_means(x, y);
    let min_mean = means.iter().map(|m| m.1).fold(f64::INFINITY, f64::min);
    let max_mean = means.iter().map(|m| m.1).fold(f64::NEG_INFINITY, f64::max);
    let (stays_low_side, stays_high_side) =
        if rising { (max_mean < mid, min_mean > mid) } else { (min_mean > mid, max_mean < mid) };
    // The means at the lowest and highest concentration lie on either side of the midpoint,
    // in the curve's direction: the data cross 50 %, and the IC50 is measured (issue 17).
    let first = means.first().map_or(f64::NAN, |m| m.1);
    let last = means.last().map_or(f64::NAN, |m| m.1);
    let crosses = if rising { first < mid && last > mid } else { first > mid && last < mid };
    let censor = if crosses {
        Censor::Exact
    } else if log_ic50 > log_range.1 || stays_low_side {
        Censor::Above
    } else if log_ic50 < log_range.0 || stays_high_side {
        Censor::Below
    } else {
        Censor::Exact
    };
    Shape { censor, spans_mid: !(min_mean > mid || max_mean < mid) }
}

/// What the fit flags look at in one fitted curve.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct FitView {
    /// Censoring and span ([`shape`]).
    pub shape: Shape,
    /// `[top, bottom, hill_slope, log_ic50]` of the reported fit.
    pub params: [f64; 4],
    /// Standard error of log IC50.
    pub se_log_ic50: f64,
    /// The reported model.
    pub model: ModelKind,
    /// A functional ([35S]GTPγS) curve: its top is not the binding control.
    pub functional: bool,
    /// [`is_ambiguous`].
    pub ambiguous: bool,
}

/// Flags of a fitted curve's shape and numbers: `ic50_above_range` / `ic50_below_range`,
/// `no_50pct_span`, `hill_outside_0.5_2` (4PL and agonist), `not_rising` (agonist),
/// `not_falling` (a competition or inhibition curve whose fit rises, issue 16),
/// `se_log_ic50_gt_0.5`, `top_off_control` (not functional), `bottom_off_control`,
/// `ambiguous`.
#[must_use]
pub fn fit_flags(v: &FitView) -> Vec<String> {
    let [top, bottom, hill, _] = v.params;
    let rising = v.model == ModelKind::Agonist;
    let mut flags = Vec::new();
    if v.shape.censor == Censor::Above {
        flags.push("ic50_above_range".into());
    }
    if v.shape.censor == Censor::Below {
        flags.push("ic50_below_range".into());
    }
    if !v.shape.spans_mid {
        flags.push("no_50pct_span".into());
    }
    if matches!(v.model, ModelKind::FourParameter | ModelKind::Agonist)
        && !(limits::HILL_MIN..=limits::HILL_MAX).contains(&hill.abs())
    {
        flags.push("hill_outside_0.5_2".into());
    }
    // [T, B, h, L] and [B, T, -h, L] are the same curve: rising means (Top - Bottom) h > 0.
    if rising && !((top - bottom) * hill > 0.0) {
        flags.push("not_rising".into());
    }
    if !rising && v.model != ModelKind::TwoSite && (top - bottom) * hill > 0.0 {
        flags.push("not_falling".into());
    }
    if !(v.se_log_ic50 <= limits::SE_LOG_IC50) {
        flags.push("se_log_ic50_gt_0.5".into());
    }
    if !v.functional && (top - 100.0).abs() > limits::PLATEAU_OFF {
        flags.push("top_off_control".into());
    }
    if bottom.abs() > limits::PLATEAU_OFF {
        flags.push("bottom_off_control".into());
    }
    if v.ambiguous {
        flags.push("ambiguous".into());
    }
    flags
}

/// A fit is ambiguous when two parameters are nearly redundant (dependency above
/// [`limits::DEPENDENCY`], as Prism says) or the 95% interval of log IC50 is not bounded on
/// both sides.
#[must_use]
pub fn is_ambiguous(dependency: &[f64], log_ci: (f64, f64)) -> bool {
    dependency.iter().any(|d| *d > limits::DEPENDENCY)
        || !(log_ci.0.is_finite() && log_ci.1.is_finite())
}

/// Whether a fit counts as converged, and its flag (`parameter_at_bound` or
/// `not_converged`).
///
/// A parameter on its bound is expected for a censored (incomplete) curve: the censored value
/// is the result. A bound the user set (`fit.bounds`) gives the constrained optimum asked for
/// (flagged `at_bound_<parameter>` by the fit stage). Anywhere else it means the fit failed.
#[must_use]
pub fn convergence(
    termination: Termination,
    censor: Censor,
    at_user_bound: bool,
) -> (bool, Option<&'static str>) {
    let at_bound_censored = termination == Termination::AtBound && !censor.is_exact();
    let at_user_bound = termination == Termination::AtBound && at_user_bound;
    let converged = termination.converged() || at_bound_censored || at_user_bound;
    let flag = if at_bound_censored {
        Some("parameter_at_bound")
    } else if !converged {
        Some("not_converged")
    } else {
        None
    };
    (converged, flag)
}

/// Mean response per distinct concentration, sorted by concentration.
fn concentration_means(x: &[f64], y: &[f64]) -> Vec<(f64, f64)> {
    let mut pairs: Vec<(f64, f64)> = x.iter().copied().zip(y.iter().copied()).collect();
    pairs.sort_by(|a, b| a.0.total_cmp(&b.0));
    let mut out: Vec<(f64, f64, usize)> = Vec::new();
    for (xi, yi) in pairs {
        match out.last_mut() {
            Some(last) if last.0 == xi => {
                last.1 += yi;
                last.2 += 1;
            }
            _ => out.push((xi, yi, 1)),
        }
    }
    out.into_iter().map(|(x, s, n)| (x, s / n as f64)).collect()
}

/// The bound reported for a censored IC50, consistent with the data: `>` the highest tested
/// concentration, or the lower 95% confidence limit of the fit's IC50 when that is lower (the
/// data allow an IC50 down to it); `<` the lowest tested concentration, or the upper limit
/// when higher. `range_nm` is the tested range, `ci_nm` the fit's 95% interval of the IC50
/// (NaN sides are ignored). NaN for an exact value.
#[must_use]
pub fn censored_bound(censor: Censor, range_nm: (f64, f64), ci_nm: (f64, f64)) -> f64 {
    match censor {
        Censor::Above if ci_nm.0 > 0.0 => range_nm.1.min(ci_nm.0),
        Censor::Above => range_nm.1,
        Censor::Below if ci_nm.1.is_finite() => range_nm.0.max(ci_nm.1),
        Censor::Below => range_nm.0,
        Censor::Exact => f64::NAN,
    }
}

/// Largest number of points at one concentration.
fn max_replicates(x: &[f64]) -> usize {
    let mut d = x.to_vec();
    d.sort_by(f64::total_cmp);
    d.chunk_by(|a, b| a == b).map(<[f64]>::len).max().unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn means_and_replicates() {
        let x = [-9.0, -9.0, -8.0, -8.0, -7.0];
        let y = [90.0, 110.0, 40.0, 60.0, 5.0];
        assert_eq!(concentration_means(&x, &y), vec![(-9.0, 100.0), (-8.0, 50.0), (-7.0, 5.0)]);
        assert_eq!(max_replicates(&x), 2);
    }

    #[test]
    fn data_flags_count_concentrations_and_replicates() {
        assert_eq!(data_flags(&[-9.0, -8.0]), vec!["few_concentrations", "few_replicates"]);
        let x = [-10.0, -10.0, -9.0, -8.0, -7.0, -6.0];
        assert!(data_flags(&x).is_empty());
    }

    #[test]
    fn censoring_follows_the_data() {
        let x = [-9.0, -8.0, -7.0];
        // Falling data that never drop below 50 %: the IC50 lies above the range.
        let s = shape(&x, &[100.0, 90.0, 80.0], -7.5, (-9.0, -7.0), false, 50.0);
        assert_eq!(s, Shape { censor: Censor::Above, spans_mid: false });
        // Falling through 50 % inside the range: measured.
        let s = shape(&x, &[100.0, 50.0, 0.0], -8.0, (-9.0, -7.0), false, 50.0);
        assert_eq!(s, Shape { censor: Censor::Exact, spans_mid: true });
        // Crossing 50 % at the last point, the fitted IC50 just beyond: still measured.
        let s = shape(&x, &[100.0, 80.0, 49.0], -6.9, (-9.0, -7.0), false, 50.0);
        assert_eq!(s.censor, Censor::Exact);
        // A rising curve that stays low: the EC50 lies above the range.
        let s = shape(&x, &[0.0, 10.0, 20.0], -8.0, (-9.0, -7.0), true, 50.0);
        assert_eq!(s.censor, Censor::Above);
    }

    #[test]
    fn censored_bounds_follow_the_interval() {
        let r = (0.3, 10_000.0);
        assert_eq!(censored_bound(Censor::Above, r, (4_000.0, 30_000.0)), 4_000.0);
        assert_eq!(censored_bound(Censor::Above, r, (20_000.0, 90_000.0)), 10_000.0);
        assert_eq!(censored_bound(Censor::Above, r, (f64::NAN, f64::NAN)), 10_000.0);
        assert_eq!(censored_bound(Censor::Below, r, (0.01, 0.9)), 0.9);
        assert_eq!(censored_bound(Censor::Below, r, (0.01, 0.1)), 0.3);
    }

    #[test]
    fn a_rising_competition_curve_is_flagged() {
        let shape = Shape { censor: Censor::Exact, spans_mid: true };
        let v = FitView {
            shape,
            params: [0.0, 100.0, -1.0, -8.0],
            se_log_ic50: 0.1,
            model: ModelKind::FourParameter,
            functional: false,
            ambiguous: false,
        };
        assert!(fit_flags(&v).contains(&"not_falling".to_string()));
        let v = FitView { params: [100.0, 0.0, -1.0, -8.0], ..v };
        assert!(!fit_flags(&v).contains(&"not_falling".to_string()));
    }

    #[test]
    fn at_bound_is_converged_only_when_censored_or_asked_for() {
        let t = Termination::AtBound;
        assert_eq!(convergence(t, Censor::Above, false), (true, Some("parameter_at_bound")));
        assert_eq!(convergence(t, Censor::Exact, true), (true, None));
        assert_eq!(convergence(t, Censor::Exact, false), (false, Some("not_converged")));
    }
}
