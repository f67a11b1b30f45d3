//! Procedures of the fit stage built on the models and the engine: weights from the fitted
//! curve, ROUT outliers, profile-likelihood intervals, model comparison, global
//! (shared-parameter) fits, the incomplete-curve cascade, NCATS curve classes, the replicates
//! test, the inactive (horizontal line) test, the confidence band of a fitted curve and the %
//! of the fitted span of a curve fitted on the raw signal.

pub mod band;
pub mod cascade;
pub mod classify;
pub mod compare;
pub mod global;
pub mod inactive;
pub mod profile;
pub mod replicates;
pub mod rout;
pub mod span;
pub mod weights;
