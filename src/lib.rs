//! radbind: radioligand binding assay analysis.
//!
//! ```text
//! config (YAML) ─► ingest ─► layout ─► normalise ─► fit (rayon) ─► derive ─► report
//!                  RawPlate   Plate     NormPlate    CurveFit       Ki        files
//! ```

pub mod fit;
pub mod ingest;
pub mod report;
pub mod types;
