//! Config: the YAML schema (`options`), well-set shorthands (`wellset`) and the resolved
//! settings the stages use (`settings`).

pub mod options;
pub mod settings;
pub mod wellset;

pub use settings::{
    Assay, CompareKind, CompareMethod, CompareSettings, ConfigError, FitSettings, ModelKind,
    Settings, Target, WeightingKind, load,
};
