//! The models' mathematics below the procedures: the mean functions with their analytic
//! derivatives (implementations of [`crate::fit::engine::Model`]), their starting values and
//! one-curve fits, for the models the procedures build on:
//!
//! - [`four_pl`]: Prism's "log(inhibitor) vs. response -- variable slope" ([`four_pl::FourPl`],
//!   also one site with slope -1), its starting values and [`four_pl::fit_four_pl`];
//! - [`two_site`]: "Two sites -- Fit logIC50" ([`two_site::TwoSite`], the multi-start fit);
//! - [`agonist`]: the rising 4PL ("log(agonist) vs. response"), [`agonist::fit_agonist`];
//! - [`model_fit`]: the generic one-curve fit of any model ([`model_fit::fit_model`],
//!   [`model_fit::ModelFit`] with SEs, 95% CIs, R², Sy.x and AICc).
//!
//! Imports only the engine and the statistics; the procedures ([`crate::fit::procedures`]) and
//! the pipeline models ([`crate::fit::models`]) sit above it. A model that no procedure needs
//! keeps its mathematics in its own file under `fit/models/` (e.g. `fit_ki`).

pub mod agonist;
pub mod four_pl;
pub mod model_fit;
pub mod two_site;

#[cfg(test)]
pub(crate) mod tests;
