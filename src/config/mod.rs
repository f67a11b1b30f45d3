//! Config: from a YAML file to the [`Settings`] every later stage reads.
//!
//! - `options.rs`: the YAML schema (serde), exactly what a user writes;
//! - `resolve/`: options -> settings ([`load`], [`resolve`]): defaults, units, cross-checks,
//!   every problem collected with its key and line;
//! - `settings.rs`: the resolved types (targets, assays, layouts, plates, fit settings);
//! - `wellset.rs`: well-set shorthands (`column 1`, `A1-H1`);
//! - `scan.rs`: a pass over the YAML text before serde: duplicate keys (with both lines),
//!   control and text-direction characters, merge keys (`<<: *defaults`);
//! - `locate.rs`: YAML key path -> line, for messages; `error.rs`: [`ConfigError`].
//!
//! Config sits above the shared vocabulary (types, units, radioactivity) and ingest (formats,
//! column maps, plate maps) and imports nothing from a later stage. Outside this module, use
//! the re-exports here (`crate::config::Settings`), not the files.

mod error;
mod locate;
pub mod options;
mod resolve;
mod scan;
mod settings;
#[cfg(test)]
mod tests;
mod wellset;

pub use error::{ConfigError, ConfigProblem};
pub use locate::{entry_at, key_at};
pub use options::{
    BlockOrder, CurveFigures, ErrorBars, Figures, HitRule, ModelKind, Options, SeriesEnd,
};
pub use resolve::{clean_path, load, resolve};
pub use settings::{
    Assay, Axis, CompareKind, CompareMethod, CompareSettings, CompoundBlock, CompoundNames,
    ConcSpec, Exclusion, FitSettings, GtpgsSpec, Layout, PlateMapSpec, PlateSpec, PrimaryLayout,
    Reference, SaturationSpec, ScreenSettings, Series, Settings, Target, WeightingKind,
};
pub use wellset::WellSet;
