//! Fit: curve fitting. The least-squares engine lives in `lm`, models in `model`,
//! uncertainty in `stats`.

pub mod four_pl;
pub mod lm;
pub mod model;
pub mod stats;
