//! (placeholder until the Markdown module lands)
use super::RunResults;
pub fn render_markdown(r: &RunResults, _p: &[Option<String>]) -> String {
    format!("# {}\n", r.experiment)
}
