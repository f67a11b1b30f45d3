//! The `agonist` model of the pipeline ([`Agonist`]): Prism's "log(agonist) vs. response --
//! variable slope", the 4PL rising, LogEC50 in the LogIC50 slot. Its starting values and
//! one-curve fit are [`crate::fit::maths::agonist`].

use crate::config::FitSettings;
use crate::fit::maths::four_pl::FourPlFit;
use crate::fit::models::curve::{CurveData, CurveModel, CurveResult};
use crate::fit::models::four_pl::{self, FourPlModel};
use crate::fit::procedures::classify::{self, CurveClass};

/// The `agonist` model of the config as a [`CurveModel`]: the 4PL pipeline fit rising
/// ([`four_pl::fit_curve`] with
/// [`crate::fit::maths::agonist::fit_agonist`]; no incomplete-curve cascade, its plateaus are
/// not the controls).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Agonist;

impl CurveModel for Agonist {
    fn free_params(&self, settings: &FitSettings, functional: bool) -> usize {
        FourPlModel.free_params(settings, functional)
    }

    fn fit(&self, data: &CurveData<'_>) -> CurveResult {
        four_pl::fit_curve(data, true)
    }

    /// A rising curve `[T, B, h, L]` is the falling curve `[B, T, -h, L]` of the same values;
    /// negating y makes it a falling curve `[-B, -T, -h, L]` of equal span, which is classified.
    fn curve_class(&self, x: &[f64], y: &[f64], fit: &FourPlFit, range: (f64, f64)) -> CurveClass {
        let [t, b, h, l] = fit.params;
        let mirrored = FourPlFit { params: [-b, -t, -h, l], ..*fit };
        let ny: Vec<f64> = y.iter().map(|v| -v).collect();
        classify::curve_class(x, &ny, &mirrored, range)
    }
}
