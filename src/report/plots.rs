//! (placeholder until the figure module lands)
use super::CurveRow;
use std::path::Path;
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct PlotError(String);
pub fn curve_svg(_c: &CurveRow) -> Result<String, PlotError> {
    Ok("<svg xmlns=\"http://www.w3.org/2000/svg\"/>".into())
}
pub fn curve_png(_c: &CurveRow, path: &Path, _s: f64) -> Result<(), PlotError> {
    std::fs::write(path, b"").map_err(|e| PlotError(e.to_string()))
}
pub fn plot_file_stem(target: &str, compound: &str, index: usize) -> String {
    format!("{index:03}_{}_{}", super::safe_name(target), super::safe_name(compound))
}
