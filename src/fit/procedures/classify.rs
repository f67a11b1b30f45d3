//! NCATS concentration-response curve classes (Inglese et al. 2006, *Quantitative
//! high-throughput screening*, PNAS 103:11473, Fig. 3 and text) for inhibition curves.
//!
//! Owns the classification rules only; the 4PL fit comes from [`crate::fit::maths::four_pl`].
//!
//! # Rules implemented
//!
//! Inputs: the data, the 4PL fit (falling curve, `hill_slope < 0`, responses in % of control,
//! e.g. % specific binding with Top near 100) and the tested range `(lo, hi)` of log10 molar
//! concentrations. Tested levels are the distinct finite x in `[lo, hi]`.
//!
//! - **Efficacy** `E = Top - Y_fit(hi)`: the inhibition the fitted curve reaches at the highest
//!   tested concentration, in response units (% inhibition for % data). For a complete curve it
//!   equals the span `Top - Bottom`; for an incomplete one it is what was observed, not the
//!   extrapolated span.
//! - **Active level**: a tested level whose mean response is at least [`ACTIVITY_THRESHOLD`]
//!   below Top.
//! - **Plateau points**: tested levels where the fitted fraction `(Y_fit - Bottom)/(Top - Bottom)`
//!   is `>= 1 - PLATEAU_FRACTION` (upper) or `<= PLATEAU_FRACTION` (lower), with
//!   [`PLATEAU_FRACTION`] = 0.2; an asymptote is "reached" with at least one such level.
//!
//! Classes, first match wins:
//! - **4** (inactive): no usable fit (non-finite parameters, not attempted), a rising or flat
//!   fit (`hill_slope >= 0` or `E <= 0`), or no active level.
//! - **3**: exactly one active level, the highest tested concentration (single-point activity).
//! - **1** (complete curve, both asymptotes reached, IC50 inside `[lo, hi]`, `r² >= 0.9`):
//!   **1.1** when `E > 80`, **1.2** otherwise.
//! - **2** (incomplete: one asymptote, or a complete curve with `r² < 0.9`): **2.1** when
//!   `E > 80` and `r² >= 0.9`, **2.2** otherwise.
//!
//! The paper's sub-classes 1.3/1.4 (complete but poor fit / weak) are folded into 2.2, and its
//! "efficacy > 6 SD of noise" activity cut-off is replaced by the fixed
//! [`ACTIVITY_THRESHOLD`] (20% inhibition), a common choice for normalised binding data.

use crate::fit::engine::Model;
use crate::fit::engine::Termination;
use crate::fit::maths::four_pl::FourPl;
use crate::fit::maths::four_pl::FourPlFit;

/// Minimum drop below Top (response units, % for normalised data) for a level to count as
/// active.
pub const ACTIVITY_THRESHOLD: f64 = 20.0;
/// Efficacy above which a curve is "full" (classes 1.1 and 2.1), response units.
pub const FULL_EFFICACY: f64 = 80.0;
/// Minimum r² for classes 1 and 2.1.
pub const MIN_R_SQUARED: f64 = 0.9;
/// A level is on a plateau when the fitted curve is within this fraction of the span of it.
pub const PLATEAU_FRACTION: f64 = 0.2;

/// NCATS curve class (Inglese et al. 2006).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum CurveClass {
    /// Complete curve, efficacy > 80%.
    Class1_1,
    /// Complete curve, efficacy <= 80%.
    Class1_2,
    /// Incomplete curve (one asymptote), efficacy > 80%, r² >= 0.9.
    Class2_1,
    /// Incomplete curve, efficacy <= 80% or r² < 0.9.
    Class2_2,
    /// Activity only at the highest concentration.
    Class3,
    /// Inactive.
    Class4,
}

impl CurveClass {
    /// `"1.1"`, `"1.2"`, `"2.1"`, `"2.2"`, `"3"` or `"4"`.
    pub fn label(self) -> &'static str {
        match self {
            Self::Class1_1 => "1.1",
            Self::Class1_2 => "1.2",
            Self::Class2_1 => "2.1",
            Self::Class2_2 => "2.2",
            Self::Class3 => "3",
            Self::Class4 => "4",
        }
    }
}

/// The class and the quantities it was decided from.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ClassDetails {
    /// The class.
    pub class: CurveClass,
    /// `Top - Y_fit(hi)` (response units).
    pub efficacy: f64,
    /// Tested levels on the upper plateau.
    pub upper_points: usize,
    /// Tested levels on the lower plateau.
    pub lower_points: usize,
    /// Tested levels at least [`ACTIVITY_THRESHOLD`] below Top.
    pub active_points: usize,
    /// LogIC50 within the tested range.
    pub ic50_in_range: bool,
    /// The fit's r².
    pub r_squared: f64,
}

/// NCATS curve class of an inhibition curve (see the module documentation for the rules).
/// `tested_log_range` = (lowest, highest) tested concentration, log10 molar.
pub fn curve_class(
    x: &[f64],
    y: &[f64],
    fit: &FourPlFit,
    tested_log_range: (f64, f64),
) -> CurveClass {
    classify(x, y, fit, tested_log_range).class
}

/// [`curve_class`] with the quantities behind the decision.
pub fn classify(
    x: &[f64],
    y: &[f64],
    fit: &FourPlFit,
    tested_log_range: (f64, f64),
) -> ClassDetails {
    let (lo, hi) = tested_log_range;
    let p = fit.params;
    let [top, bottom, hill, log_ic50] = p;
    let mut d = ClassDetails {
        class: CurveClass::Class4,
        efficacy: f64::NAN,
        upper_points: 0,
        lower_points: 0,
        active_points: 0,
        ic50_in_range: false,
        r_squared: fit.r_squared,
    };
    let usable = p.iter().all(|v| v.is_finite())
        && !matches!(fit.termination, Termination::InsufficientData | Termination::FlatResponse)
        && lo.is_finite()
        && hi.is_finite()
        && lo <= hi;
    if !usable {
        return d;
    }
    d.efficacy = top - FourPl.value(hi, &p);
    d.ic50_in_range = lo <= log_ic50 && log_ic50 <= hi;
    // Level means over the tested range.
    let n = x.len().min(y.len());
    let mut pts: Vec<(f64, f64)> = (0..n)
        .filter(|&i| x[i].is_finite() && x[i] >= lo && x[i] <= hi && y[i].is_finite())
        .map(|i| (x[i], y[i]))
        .collect();
    pts.sort_by(|a, b| a.0.total_cmp(&b.0));
    let mut levels: Vec<(f64, f64)> = Vec::new();
    let mut i = 0;
    while i < pts.len() {
        let mut j = i;
        while j < pts.len() && pts[j].0 == pts[i].0 {
            j += 1;
        }
        levels.push((pts[i].0, pts[i..j].iter().map(|q| q.1).sum::<f64>() / (j - i) as f64));
        i = j;
    }
    let span = top - bottom;
    for &(xl, yl) in &levels {
        if top - yl >= ACTIVITY_THRESHOLD {
            d.active_points += 1;
        }
        if span != 0.0 {
            let frac = (FourPl.value(xl, &p) - bottom) / span;
            if frac >= 1.0 - PLATEAU_FRACTION {
                d.upper_points += 1;
            }
            if frac <= PLATEAU_FRACTION {
                d.lower_points += 1;
            }
        }
    }
    if !(hill < 0.0) || !(d.efficacy > 0.0) || d.active_points == 0 {
        return d;
    }
    let highest_active = levels.last().is_some_and(|l| top - l.1 >= ACTIVITY_THRESHOLD);
    if d.active_points == 1 && highest_active {
        d.class = CurveClass::Class3;
        return d;
    }
    let full = d.efficacy > FULL_EFFICACY;
    let good = fit.r_squared >= MIN_R_SQUARED;
    let complete = d.upper_points >= 1 && d.lower_points >= 1 && d.ic50_in_range;
    d.class = match (complete && good, full && good) {
        (true, true) => CurveClass::Class1_1,
        (true, false) => CurveClass::Class1_2,
        (false, true) => CurveClass::Class2_1,
        (false, false) => CurveClass::Class2_2,
    };
    d
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fit::maths::four_pl::{FourPlOptions, fit_four_pl};

    const XS: [f64; 10] = [-10.0, -9.5, -9.0, -8.5, -8.0, -7.5, -7.0, -6.5, -6.0, -5.5];
    const NOISE: [f64; 7] = [1.3, -2.1, 0.4, 2.9, -0.8, -1.7, 0.6];
    const RANGE: (f64, f64) = (-10.0, -5.5);

    fn class_of(y_of: impl Fn(f64) -> f64, noise: f64) -> (CurveClass, ClassDetails) {
        let x: Vec<f64> = XS.iter().flat_map(|&v| [v, v]).collect();
        let y: Vec<f64> =
            x.iter().enumerate().map(|(i, &v)| y_of(v) + noise * NOISE[i % NOISE.len()]).collect();
        let f = fit_four_pl(&x, &y, &FourPlOptions::default());
        let d = classify(&x, &y, &f, RANGE);
        assert_eq!(curve_class(&x, &y, &f, RANGE), d.class);
        (d.class, d)
    }

    #[test]
    fn class_1_1_full_complete() {
        let (c, d) = class_of(|x| FourPl.value(x, &[100.0, 2.0, -1.0, -7.8]), 1.0);
        assert_eq!(c, CurveClass::Class1_1, "{d:?}");
        assert_eq!(c.label(), "1.1");
    }

    #[test]
    fn class_1_2_partial_complete() {
        let (c, d) = class_of(|x| FourPl.value(x, &[100.0, 45.0, -1.2, -7.8]), 0.5);
        assert_eq!(c, CurveClass::Class1_2, "{d:?}");
    }

    #[test]
    fn class_2_1_incomplete_full() {
        // IC50 near the top of the range: no lower plateau inside, but > 80% reached.
        let (c, d) = class_of(|x| FourPl.value(x, &[100.0, 0.0, -1.5, -6.0]), 1.0);
        assert_eq!(c, CurveClass::Class2_1, "{d:?}");
    }

    #[test]
    fn class_2_2_incomplete_partial() {
        let (c, d) = class_of(|x| FourPl.value(x, &[100.0, 0.0, -1.0, -5.5]), 1.0);
        assert_eq!(c, CurveClass::Class2_2, "{d:?}");
    }

    #[test]
    fn class_3_single_point() {
        let (c, d) = class_of(|x| if x >= -5.6 { 55.0 } else { 100.0 }, 1.0);
        assert_eq!(c, CurveClass::Class3, "{d:?}");
        assert_eq!(c.label(), "3");
    }

    #[test]
    fn class_4_inactive() {
        let (c, d) = class_of(|_| 100.0, 2.0);
        assert_eq!(c, CurveClass::Class4, "{d:?}");
        let f = fit_four_pl(&[-9.0, -8.0], &[1.0, 2.0], &FourPlOptions::default());
        assert_eq!(curve_class(&[-9.0, -8.0], &[1.0, 2.0], &f, RANGE), CurveClass::Class4);
    }
}
