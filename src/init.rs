//! `radbind init`: an annotated example config, optionally scaffolded from an export file
//! (format, geometry and one `plates:` entry per plate found).

use std::fmt::Write as _;
use std::io::Write as _;
use std::path::Path;

use anyhow::{Context, Result};

use crate::ingest;
use crate::types::Geometry;

/// The annotated config text; with `from`, matched to that export's plates.
///
/// # Errors
/// When `from` cannot be read as an export.
pub fn scaffold(from: Option<&Path>) -> Result<String> {
    let (inputs, geometry, plates, format, note) = match from {
        None => (
            "sample_data/my-experiment/*.txt".to_string(),
            Geometry::W96,
            2,
            "auto".to_string(),
            String::new(),
        ),
        Some(p) => {
            let raws = ingest::read_file(p)
                .with_context(|| format!("cannot scaffold a config from {}", p.display()))?;
            let first = raws.first().with_context(|| format!("{} holds no plates", p.display()))?;
            let g = first.geometry;
            let note = format!(
                "# Scaffolded from {}: {} plate(s), {} ({} format).\n",
                p.display(),
                raws.len(),
                g,
                first.meta.format
            );
            // Absolute, so the config works wherever it is saved.
            let abs = std::fs::canonicalize(p).unwrap_or_else(|_| p.to_path_buf());
            (abs.display().to_string(), g, raws.len(), first.meta.format.to_string(), note)
        }
    };
    let last_col = geometry.cols;
    let last_row = crate::types::row_label(geometry.rows - 1);
    let mut t = String::new();
    t.push_str(&note);
    let _ = write!(
        t,
        r#"# radbind analysis config. Every key is described in the README ("Config reference").
# Relative paths are relative to this file.
experiment: my-experiment
# Where results go: <output>/runs/<time>/ and <output>/latest.
output: outputs/my-experiment
# Export files or globs.
inputs: ["{inputs}"]
# auto (detect from content), microbeta, long_csv or grid_csv.
format: {format}

# Per target: the radioligand, its concentration [L] and its Kd (for Cheng-Prusoff Ki).
targets:
  5-HT2A: {{radioligand: "[3H]ketanserin", radioligand_nM: 1.0, kd_nM: 0.4}}

# Plate layout templates. Well sets: A1, A1-H1, column 1, columns 2-11, row A, rows A-C.
layouts:
  standard:
    wells: {wells}
    total: column 1
    nsb: column {last_col}
    # One concentration per column, highest first; compounds are assigned by rows below.
    series: {{columns: 2-{series_end}, top: "10 µM", dilution: 3.162}}

# Which plate holds which target and compounds (plate numbers count over all inputs).
plates:
"#,
        wells = geometry.len(),
        series_end = last_col.saturating_sub(1).max(2),
    );
    for n in 1..=plates {
        let _ = writeln!(
            t,
            "  - {{plate: {n}, target: 5-HT2A, layout: standard, rows: {{A-{last_row}: compound-{n}}}}}"
        );
    }
    t.push_str(
        r"
# Curve fitting: four_parameter (variable slope) or one_site (Hill slope -1).
fit:
  model: four_parameter
  # fix: {top: 100, bottom: 0}

# Wells to leave out, with a reason.
# exclude:
#   - {plate: 1, wells: B05, reason: pipetting error}

qc:
  min_z_prime: 0.5
",
    );
    Ok(t)
}

/// Writes `text` to a new file; refuses to overwrite an existing one.
///
/// # Errors
/// When the file exists or cannot be written.
pub fn write_new(path: &Path, text: &str) -> Result<()> {
    let mut f =
        std::fs::OpenOptions::new().write(true).create_new(true).open(path).with_context(|| {
            format!("cannot create {} (radbind never overwrites a file)", path.display())
        })?;
    f.write_all(text.as_bytes()).with_context(|| format!("writing {}", path.display()))?;
    Ok(())
}
