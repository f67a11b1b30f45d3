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
    let (inputs, geometry, selectors, format, note) = match from {
        None => (
            "sample_data/my-experiment/*.txt".to_string(),
            Geometry::W96,
            vec!["plate: 1".to_string(), "plate: 2".to_string()],
            "auto".to_string(),
            String::new(),
        ),
        Some(p) => {
            let raws = ingest::read_file(p)
                .with_context(|| format!("cannot scaffold a config from {}", p.display()))?;
            let first = raws.first().with_context(|| format!("{} holds no plates", p.display()))?;
            let g = first.geometry;
            let format = config_format_name(first.meta.format);
            let by_barcode = has_barcodes(&raws);
            let mut note = format!(
                "# Scaffolded from {}: {} plate(s), {} ({format} format{}).\n",
                p.display(),
                raws.len(),
                g,
                if by_barcode { ", plates selected by barcode" } else { "" }
            );
            if raws.iter().any(|r| r.geometry != g) {
                note.push_str(
                    "# The file holds plates of several sizes: give each its own layout.\n",
                );
            }
            let selectors = raws
                .iter()
                .enumerate()
                .map(|(i, r)| {
                    if by_barcode {
                        // A JSON string is a valid YAML double-quoted scalar.
                        let code = serde_json::to_string(&r.label)
                            .unwrap_or_else(|_| format!("\"{}\"", i + 1));
                        format!("barcode: {code}")
                    } else {
                        format!("plate: {}", i + 1)
                    }
                })
                .collect();
            // Absolute, so the config works wherever it is saved.
            let abs = std::fs::canonicalize(p).unwrap_or_else(|_| p.to_path_buf());
            (abs.display().to_string(), g, selectors, format, note)
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
# auto (detect from content), microbeta, long_csv, grid_csv, count_table, hidex or xlsx.
format: {format}
# Count tables / XLSX sheets with other headers: which column holds what.
# columns: {{plate: Barcode, well: Well, value: CPM, time: "Time (s)", skip_lines: 0}}

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
# Instead of layout + rows, a plate map CSV (well,role,compound,concentration) per plate:
#   - {{plate: 1, target: 5-HT2A, plate_map: maps/plate1.csv}}
plates:
"#,
        wells = geometry.len(),
        series_end = last_col.saturating_sub(1).max(2),
    );
    for (i, sel) in selectors.iter().enumerate() {
        let n = i + 1;
        let _ = writeln!(
            t,
            "  - {{{sel}, target: 5-HT2A, layout: standard, rows: {{A-{last_row}: compound-{n}}}}}"
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

/// The config name of a format recorded in [`ingest::PlateMeta::format`] (`long-csv` ->
/// `long_csv`); `auto` when it is not one radbind can be told.
fn config_format_name(meta_format: &str) -> String {
    let name = meta_format.replace('-', "_");
    ingest::Format::from_name(&name).map_or_else(|| "auto".to_string(), |f| f.name().to_string())
}

/// True when every plate carries its own barcode or label: non-empty, distinct, and not just
/// a plate number (`Plate 3`, `3`) that numbering already gives.
fn has_barcodes(raws: &[ingest::RawPlate]) -> bool {
    let mut seen = std::collections::HashSet::new();
    raws.iter().all(|r| {
        let l = r.label.trim();
        let lower = l.to_lowercase();
        let bare = lower.strip_prefix("plate").map_or(lower.as_str(), str::trim);
        !l.is_empty() && bare.parse::<u64>().is_err() && seen.insert(l.to_string())
    })
}
