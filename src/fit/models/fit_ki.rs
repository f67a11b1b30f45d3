//! Prism's "One site -- Fit Ki": the competition curve with LogKi fitted directly.

use std::f64::consts::LN_10;

use crate::fit::models::four_pl::{FourPl, LOG_IC50_MARGIN, initial_estimates};
use crate::fit::models::{Model, ModelFit, finite_range, fit_model, fix_plateaus};

/// Prism's "One site -- Fit Ki" competition model, `p = [top, bottom, log_ki]`:
///
/// `Y = Bottom + (Top - Bottom) / (1 + 10^(X - LogIC50))`,
/// `LogIC50 = log10(10^LogKi (1 + [L]/Kd)) = LogKi + log10(1 + [L]/Kd)`
///
/// (Cheng & Prusoff 1973, Biochem Pharmacol 22:3099; GraphPad Prism curve-fitting guide,
/// "One site -- Fit Ki"). `X` and `LogKi` are log10 molar; `[L]` (radioligand concentration)
/// and `Kd` are constants in nM; only their ratio enters, so no unit conversion is needed.
/// The slope is fixed to -1 (a single site obeying the law of mass action). `X = -inf` gives
/// exactly Top.
///
/// Gradient: with `s = 1 / (1 + 10^(X - LogIC50))`, `dY/dTop = s`, `dY/dBottom = 1 - s`,
/// `dY/dLogKi = dY/dLogIC50 = (Top - Bottom) s (1 - s) ln 10`
/// (the 4PL gradient of [`FourPl`] at slope -1).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct FitKi {
    /// Radioligand concentration `[L]`, nM.
    pub radioligand_nm: f64,
    /// Radioligand dissociation constant `Kd`, nM.
    pub kd_nm: f64,
}

impl FitKi {
    /// Index of Top.
    pub const TOP: usize = 0;
    /// Index of Bottom.
    pub const BOTTOM: usize = 1;
    /// Index of LogKi (log10 molar).
    pub const LOG_KI: usize = 2;

    /// `log10(1 + [L]/Kd)`: `LogIC50 - LogKi` (Cheng-Prusoff shift, log10 units).
    pub fn log_shift(&self) -> f64 {
        (self.radioligand_nm / self.kd_nm).ln_1p() / LN_10
    }

    /// The 4PL parameters `[top, bottom, -1, log_ic50]` equivalent to `p`.
    pub fn four_pl_params(&self, p: &[f64; 3]) -> [f64; 4] {
        [p[0], p[1], -1.0, p[2] + self.log_shift()]
    }

    /// Data-driven start `[top, bottom, log_ki]`: the 4PL [`initial_estimates`] with LogIC50
    /// converted to LogKi.
    pub fn initial_estimates(&self, x: &[f64], y: &[f64]) -> [f64; 3] {
        let p = initial_estimates(x, y);
        let shift = self.log_shift();
        let log_ki = p[3] - if shift.is_finite() { shift } else { 0.0 };
        [p[0], p[1], log_ki]
    }
}

impl Model<3> for FitKi {
    #[inline]
    fn value(&self, x: f64, p: &[f64; 3]) -> f64 {
        FourPl.value(x, &self.four_pl_params(p))
    }

    #[inline]
    fn value_grad(&self, x: f64, p: &[f64; 3], grad: &mut [f64; 3]) -> f64 {
        let mut g = [0.0; 4];
        let y = FourPl.value_grad(x, &self.four_pl_params(p), &mut g);
        *grad = [g[0], g[1], g[3]];
        y
    }
}

/// Fits [`FitKi`] with Top/Bottom optionally fixed (`plateaus = [top, bottom]`), LogKi bounded
/// to the tested range +- [`LOG_IC50_MARGIN`] (shifted by the Cheng-Prusoff term), with
/// optional `weights` (see [`fit_model`]) and `start` (`None`: [`FitKi::initial_estimates`]).
pub fn fit_ki(
    model: &FitKi,
    x: &[f64],
    y: &[f64],
    plateaus: [Option<f64>; 2],
    weights: Option<&[f64]>,
    start: Option<[f64; 3]>,
) -> ModelFit<3> {
    let mut start = start.unwrap_or_else(|| model.initial_estimates(x, y));
    let fixed = fix_plateaus(&mut start, plateaus);
    let (lo, hi) = finite_range(x);
    let shift = model.log_shift();
    let shift = if shift.is_finite() { shift } else { 0.0 };
    let lower = [f64::NEG_INFINITY, f64::NEG_INFINITY, lo - LOG_IC50_MARGIN - shift];
    let upper = [f64::INFINITY, f64::INFINITY, hi + LOG_IC50_MARGIN - shift];
    fit_model(model, x, y, weights, start, fixed, lower, upper)
}
