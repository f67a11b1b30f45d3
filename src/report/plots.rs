//! Options of the curve figure (error bars, confidence band, Ki marker) as the config sets them,
//! and the file stems of figure files. The figures themselves are drawn in
//! [`super::figures`].

use crate::config::ErrorBars;

/// Options of the curve figure.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct CurveStyle {
    /// Error bars on the mean points.
    pub error_bars: ErrorBars,
    /// Shade the pointwise 95% confidence band of the fitted curve (delta method on the
    /// asymptotic covariance, [`super::FitNumbers::band`]).
    pub confidence_band: bool,
    /// Mark Ki on the concentration axis besides the IC50.
    pub mark_ki: bool,
}

impl Default for CurveStyle {
    fn default() -> Self {
        Self { error_bars: ErrorBars::Sd, confidence_band: true, mark_ki: true }
    }
}

/// A file stem for the figures of a curve: `{index:03}_{target}_{compound}`, reduced to
/// ASCII letters, digits, `-` and `_`, at most 80 characters, never empty.
///
/// The index prefix keeps stems unique when two names reduce to the same text.
///
/// ```
/// use radbind::report::plots::plot_file_stem;
/// assert_eq!(plot_file_stem("5-HT2A", "mianserin", 3), "003_5-HT2A_mianserin");
/// assert_eq!(plot_file_stem("../etc", "a/b c", 12), "012_etc_a_b_c");
/// ```
#[must_use]
pub fn plot_file_stem(target: &str, compound: &str, index: usize) -> String {
    fn clean(s: &str) -> String {
        let mut out = String::new();
        for c in s.chars() {
            let keep = c.is_ascii_alphanumeric() || c == '-';
            let c = if keep { c } else { '_' };
            // Collapse runs of separators.
            if c == '_' && (out.is_empty() || out.ends_with('_')) {
                continue;
            }
            out.push(c);
        }
        let trimmed = out.trim_matches(|c| c == '_' || c == '-');
        if trimmed.is_empty() { "x".to_string() } else { trimmed.to_string() }
    }
    let mut stem = format!("{index:03}_{}_{}", clean(target), clean(compound));
    if stem.len() > 80 {
        // ASCII only, so byte truncation is on a char boundary.
        stem.truncate(80);
        while stem.ends_with(['_', '-']) {
            stem.pop();
        }
    }
    stem
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn file_stems_are_safe() {
        assert_eq!(plot_file_stem("5-HT2A", "mianserin", 3), "003_5-HT2A_mianserin");
        assert_eq!(plot_file_stem("..", "../../x", 0), "000_x_x");
        assert_eq!(plot_file_stem("", "", 7), "007_x_x");
        assert_eq!(plot_file_stem("α2A", "(±)-compound 7", 1), "001_2A_compound_7");
        let long = plot_file_stem(&"T".repeat(100), &"c".repeat(100), 42);
        assert!(long.len() <= 80);
        for s in [long, plot_file_stem("a/b\\c", "..\0x", 5)] {
            assert!(!s.contains(".."));
            assert!(s.chars().all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_'));
        }
    }
}
