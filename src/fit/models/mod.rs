//! The models of the pipeline, one file each, and the one map from a configured [`ModelKind`]
//! to its implementation ([`curve_model`]):
//!
//! - [`four_pl`]: `four_parameter` and `one_site` (the incomplete-curve cascade, the configured
//!   comparisons, the profile interval of LogIC50);
//! - [`fit_ki`]: "One site -- Fit Ki" (LogKi fitted directly, Cheng-Prusoff built in; its
//!   mathematics live in its file);
//! - [`two_site`]: "Two sites -- Fit logIC50";
//! - [`agonist`]: the rising 4PL ("log(agonist) vs. response");
//! - [`saturation`]: saturation binding (Kd, Bmax), fitted by the saturation stage.
//!
//! Each competition model implements [`curve::CurveModel`] (in [`curve`], with the data and
//! result types). A new model is a new file here (its mean function, starting values, fit and
//! `CurveModel` implementation), an arm in [`curve_model`] and its name in the config.
//!
//! The mathematics the procedures build on (the 4PL, two sites, the agonist fit, the generic
//! fit) is [`crate::fit::maths`]; the engine is [`crate::fit::engine`]. Model files import
//! those, the procedures and [`curve`], never this file.

pub mod agonist;
pub mod curve;
pub mod fit_ki;
pub mod four_pl;
pub mod saturation;
pub mod two_site;

use crate::config::ModelKind;
use curve::CurveModel;

/// The one map from a configured model to its implementation.
#[must_use]
pub fn curve_model(kind: ModelKind) -> &'static dyn CurveModel {
    match kind {
        ModelKind::FourParameter | ModelKind::OneSite => &four_pl::FourPlModel,
        ModelKind::FitKi => &fit_ki::FitKiModel,
        ModelKind::TwoSite => &two_site::TwoSiteModel,
        ModelKind::Agonist => &agonist::Agonist,
    }
}
