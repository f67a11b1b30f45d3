//! `radbind init`: an annotated example config, optionally scaffolded from an export file.
//!
//! From a plate export, the scaffold follows what the plates look like ([`super::survey`]):
//! plates with control columns get a layout with them, plates without get a curve layout along
//! the rows or the columns (direction from the signal), near-background plates are left out
//! (commented), and a plate whose gradient runs against the others is marked as possibly
//! counted rotated, in a comment beside `rotated: true`. From a concentration table, the
//! scaffold names the columns found and the targets in the table. Input paths are relative to
//! where the config is written. The scaffold runs with `radbind run` as written; what it cannot
//! know (concentrations, names, the radioligand) is marked `CHECK`.

use std::collections::BTreeSet;
use std::fmt::Write as _;
use std::io::Write as _;
use std::path::{Component, Path, PathBuf};

use anyhow::{Context, Result};

use super::survey::{PlateKind, PlateSurvey, rows_in_pairs, survey};
use crate::ingest::{self, Format, RawPlate, ReadOptions, TableColumns};
use crate::types::{Geometry, row_label};

/// The annotated config text; with `from`, matched to that export's plates, with input paths
/// relative to the current directory.
///
/// # Errors
/// When `from` cannot be read as an export.
pub fn scaffold(from: Option<&Path>) -> Result<String> {
    scaffold_for(from, None)
}

/// [`scaffold`] for a config to be written at `config` (input paths relative to its folder;
/// `None` = the current directory).
///
/// # Errors
/// When `from` cannot be read as an export.
pub fn scaffold_for(from: Option<&Path>, config: Option<&Path>) -> Result<String> {
    let Some(p) = from else { return Ok(example()) };
    let (raws, assumed_unit) = read_export(p)?;
    let first = raws.first().with_context(|| format!("{} holds no plates", p.display()))?;
    let input = relative_input(p, config);
    let stem =
        p.file_stem().map_or_else(|| "experiment".into(), |s| s.to_string_lossy().to_string());
    let experiment = crate::units::safe_name(&stem);
    if let Some(c) = first.meta.contents.as_deref() {
        return Ok(table_scaffold(p, &raws, &c.columns, assumed_unit, &input, &experiment));
    }
    Ok(plates_scaffold(p, &raws, &input, &experiment))
}

/// The export's plates; a concentration table whose header gives no unit is read with nM
/// (returned, so the scaffold says it assumed it).
fn read_export(p: &Path) -> Result<(Vec<RawPlate>, Option<&'static str>)> {
    let context = || format!("cannot scaffold a config from {}", p.display());
    match ingest::read_file(p) {
        Ok(raws) => Ok((raws, None)),
        Err(e) if e.to_string().contains("columns.concentration_unit") => {
            let opts = ReadOptions {
                format: Some(Format::ConcentrationTable),
                table: Some(TableColumns {
                    concentration_unit: Some("nM".into()),
                    ..TableColumns::default()
                }),
                ..ReadOptions::default()
            };
            Ok((ingest::read_file_with(p, &opts).with_context(context)?, Some("nM")))
        }
        Err(e) => Err(e).with_context(context),
    }
}

/// `path` as the config at `config` should name it: relative to the config's folder (the
/// current directory without one), so the config and its data can move together; absolute
/// only when no relative path leads there (another drive).
fn relative_input(path: &Path, config: Option<&Path>) -> String {
    let cwd = std::env::current_dir().ok();
    let absolute = |p: &Path| {
        std::fs::canonicalize(p)
            .ok()
            .or_else(|| cwd.as_ref().map(|c| c.join(p)))
            .unwrap_or_else(|| p.to_path_buf())
    };
    let abs = absolute(path);
    let dir = match config.and_then(Path::parent).filter(|d| !d.as_os_str().is_empty()) {
        Some(d) => Some(absolute(d)),
        None => cwd.clone(),
    };
    dir.and_then(|d| relative(&abs, &d)).unwrap_or(abs).display().to_string()
}

/// `target` relative to the folder `base` (both absolute): `../data/x.csv`; `None` when
/// they share no root (another drive) or `base` holds `..` that cannot be undone lexically.
fn relative(target: &Path, base: &Path) -> Option<PathBuf> {
    let t: Vec<Component> = target.components().collect();
    let b: Vec<Component> = base.components().collect();
    if t.first() != b.first() || b.iter().any(|c| matches!(c, Component::ParentDir)) {
        return None;
    }
    let common = t.iter().zip(&b).take_while(|(x, y)| x == y).count();
    let mut out = PathBuf::new();
    for _ in common..b.len() {
        out.push("..");
    }
    for c in &t[common..] {
        out.push(c.as_os_str());
    }
    if out.as_os_str().is_empty() {
        return None;
    }
    Some(out)
}

/// A YAML double-quoted scalar (a JSON string is one).
fn quoted(s: &str) -> String {
    serde_json::to_string(s).unwrap_or_else(|_| "\"?\"".to_string())
}

/// The scaffold of a concentration table: its columns and targets.
fn table_scaffold(
    p: &Path,
    raws: &[RawPlate],
    columns: &TableColumns,
    assumed_unit: Option<&str>,
    input: &str,
    experiment: &str,
) -> String {
    let contents = || raws.iter().filter_map(|r| r.meta.contents.as_deref());
    let targets: BTreeSet<String> = contents().filter_map(|c| c.target.clone()).collect();
    let compounds: BTreeSet<&str> =
        contents().flat_map(|c| c.rows.iter().filter_map(|r| r.compound.as_deref())).collect();
    let lines: usize = contents().map(|c| c.rows.len()).sum();
    let mut t = String::new();
    let _ = writeln!(
        t,
        "# Scaffolded from {}: a concentration table, {lines} line(s), {} compound(s), {} \
         (concentration_table format).",
        p.display(),
        compounds.len(),
        if targets.is_empty() {
            "no target column".to_string()
        } else {
            format!("{} target(s)", targets.len())
        },
    );
    t.push_str(
        "# Each line is one point; concentration 0 is a zero-dose point (no competitor: total\n\
         # binding) fitted at the top plateau. Curves are fitted on the response as given, with\n\
         # their plateaus free. Every key is described in the README (\"Concentration tables\").\n",
    );
    let _ = writeln!(t, "experiment: {experiment}\noutput: outputs/{experiment}");
    let _ = writeln!(t, "inputs: [{}]\nformat: concentration_table", quoted(input));
    t.push_str("# Which column holds what (found from the header; rename here if yours differ).\ncolumns:\n");
    for (key, v) in [
        ("concentration", &columns.concentration),
        ("response", &columns.response),
        ("compound", &columns.compound),
        ("target", &columns.target),
        ("replicate", &columns.replicate),
        ("plate", &columns.plate),
        ("role", &columns.role),
    ] {
        if let Some(v) = v {
            let _ = writeln!(t, "  {key}: {}", quoted(v));
        }
    }
    if let Some(u) = assumed_unit {
        let _ = writeln!(
            t,
            "  concentration_unit: {u}   # CHECK: the header gives no unit; {u} assumed (M, mM, \
             uM, nM, pM, fM or log M)"
        );
    }
    if columns.compound.is_none() {
        t.push_str("  # no compound column: every line is one compound, named after the file\n");
    }
    t.push_str("\n# Per target: the radioligand (CHECK: placeholders).\ntargets:\n");
    let names: Vec<String> =
        if targets.is_empty() { vec!["target".to_string()] } else { targets.into_iter().collect() };
    for name in names {
        let _ = writeln!(t, "  {}: {TARGET_PLACEHOLDER}", quoted(&name));
    }
    t.push_str(FIT_AND_QC);
    t
}

/// A target's placeholder radioligand.
const TARGET_PLACEHOLDER: &str = r#"{radioligand: "[3H]radioligand"}   # CHECK: the radioligand; add radioligand_nM and kd_nM for Ki (IC50 only without them)"#;

/// The fit and QC sections of a scaffold.
const FIT_AND_QC: &str = r"
# Curve fitting: four_parameter (variable slope) or one_site (Hill slope -1).
fit:
  model: four_parameter

qc:
  min_z_prime: 0.5
";

/// The layouts a plate export's scaffold may use, by the plates that need them.
#[derive(Default)]
struct Layouts {
    controls: Option<(bool, bool)>,
    along_columns: Option<bool>,
    along_rows: Option<bool>,
}

/// The scaffold of a plate export, following the survey of its plates.
fn plates_scaffold(p: &Path, raws: &[RawPlate], input: &str, experiment: &str) -> String {
    let first = &raws[0];
    let g = first.geometry;
    let format = config_format_name(first.meta.format);
    let by_barcode = has_barcodes(raws);
    let surveys = survey(raws);
    let pairs = rows_in_pairs(raws, &surveys);
    let all_background = surveys.iter().all(|s| matches!(s.kind, PlateKind::Background { .. }));
    let majority = |f: &dyn Fn(&PlateKind) -> Option<bool>| {
        let v: Vec<bool> = surveys.iter().filter_map(|s| f(&s.kind)).collect();
        (!v.is_empty()).then(|| v.iter().filter(|b| **b).count() * 2 >= v.len())
    };
    let mut layouts = Layouts::default();
    if let Some(high_first) = majority(&|k| {
        if let PlateKind::Controls { high_first, .. } = k { Some(*high_first) } else { None }
    }) {
        let rising = majority(&|k| {
            if let PlateKind::Controls { rising, .. } = k { Some(*rising) } else { None }
        });
        layouts.controls = Some((high_first, rising.unwrap_or(true)));
    }
    let curves = |cols: bool| {
        move |k: &PlateKind| match k {
            PlateKind::Curves { along_columns, rising, .. } if *along_columns == cols => {
                Some(*rising)
            }
            _ => None,
        }
    };
    layouts.along_columns = majority(&curves(true));
    layouts.along_rows = majority(&curves(false));
    if all_background {
        layouts.along_columns = Some(true);
    }
    let mut t = String::new();
    let _ = writeln!(
        t,
        "# Scaffolded from {}: {} plate(s), {g} ({format} format{}).",
        p.display(),
        raws.len(),
        if by_barcode { ", plates selected by barcode" } else { "" }
    );
    t.push_str("# What each plate looks like (CHECK it against your plate plan):\n");
    for (i, (r, s)) in raws.iter().zip(&surveys).enumerate() {
        let _ = writeln!(t, "#   plate {}: {}", i + 1, describe(r, s, g, all_background));
    }
    if pairs {
        t.push_str(
            "# Neighbouring rows look like replicates (A-B, C-D, ...): one compound per pair.\n",
        );
    }
    t.push_str(
        "# CHECK: concentrations (top, dilution), compound names and the radioligand are \
         placeholders.\n# Every key is described in the README (\"Config reference\").\n",
    );
    let _ = writeln!(t, "experiment: {experiment}\noutput: outputs/{experiment}");
    let _ = writeln!(t, "inputs: [{}]\nformat: {format}", quoted(input));
    let _ = writeln!(t, "\ntargets:\n  target-1: {TARGET_PLACEHOLDER}");
    t.push_str("\n# Plate layouts. Well sets: A1, A1-H1, column 1, columns 2-11, row A, rows A-C.\nlayouts:\n");
    let (cols, rows) = (g.cols, g.rows);
    let last_row = row_label(rows - 1);
    let series = r#"top: "10 µM", dilution: 3.162"#;
    let direction = |rising: bool| if rising { "high_to_low" } else { "low_to_high" };
    if let Some((high_first, rising)) = layouts.controls {
        let (total, nsb) = if high_first { (1, cols) } else { (cols, 1) };
        let _ = writeln!(
            t,
            "  controls: {{wells: {}, total: column {total}, nsb: column {nsb}, series: {{columns: 2-{}, {series}, direction: {}}}}}",
            g.len(),
            cols - 1,
            direction(rising)
        );
    }
    if let Some(rising) = layouts.along_columns {
        let _ = writeln!(
            t,
            "  curves: {{wells: {}, series: {{columns: 1-{cols}, {series}, direction: {}}}}}   # one curve per row, no controls",
            g.len(),
            direction(rising)
        );
    }
    if let Some(rising) = layouts.along_rows {
        let _ = writeln!(
            t,
            "  curves_by_column: {{wells: {}, series: {{rows: A-{last_row}, {series}, direction: {}}}}}   # one curve per column",
            g.len(),
            direction(rising)
        );
    }
    t.push_str("\n# Which plate holds which target and compounds (plate numbers count over all inputs).\nplates:\n");
    for (i, (r, s)) in raws.iter().zip(&surveys).enumerate() {
        let n = i + 1;
        let selector = if by_barcode {
            format!("barcode: {}", quoted(&r.label))
        } else {
            format!("plate: {n}")
        };
        let rotated = if s.maybe_rotated { ", rotated: true" } else { "" };
        let (layout, lanes) = match s.kind {
            PlateKind::Controls { .. } => ("controls", lanes_by_row(n, rows, pairs)),
            PlateKind::Curves { along_columns: false, .. } => {
                ("curves_by_column", lanes_by_column(n, cols))
            }
            PlateKind::Curves { .. } | PlateKind::Background { .. } => {
                ("curves", lanes_by_row(n, rows, pairs))
            }
        };
        let skip =
            (r.geometry != g) || matches!(s.kind, PlateKind::Background { .. }) && !all_background;
        let _ = writeln!(
            t,
            "  {}- {{{selector}, target: target-1, layout: {layout}{rotated}, {lanes}}}",
            if skip { "# " } else { "" }
        );
    }
    t.push_str(FIT_AND_QC);
    t
}

/// One line saying what the survey saw on a plate.
fn describe(r: &RawPlate, s: &PlateSurvey, g: Geometry, all_background: bool) -> String {
    if r.geometry != g {
        return format!("{}, not {g}: give it its own layout (left out below)", r.geometry);
    }
    let mut d = match s.kind {
        PlateKind::Background { median, max } => format!(
            "near background (median {median} CPM, highest {max} CPM){}",
            if all_background {
                "; every plate is, so all are kept"
            } else {
                ": left out below (not an assay plate?)"
            }
        ),
        PlateKind::Controls { high_first, .. } => format!(
            "control columns (high in column {}, low in column {})",
            if high_first { 1 } else { g.cols },
            if high_first { g.cols } else { 1 }
        ),
        PlateKind::Curves { along_columns, rising, clarity } => format!(
            "no control columns; curves along the {} (one per {}), signal {} with the {} number{}",
            if along_columns { "columns" } else { "rows" },
            if along_columns { "row" } else { "column" },
            if rising { "rising" } else { "falling" },
            if along_columns { "column" } else { "row" },
            if clarity < super::survey::CLEAR_GRADIENT {
                " (no clear gradient: flat or noisy)"
            } else {
                ""
            }
        ),
    };
    if s.maybe_rotated {
        d.push_str(
            "; runs against most plates: counted turned by 180°? `rotated: true` is set below; \
             remove it if the series really runs the other way on this plate",
        );
    }
    if s.counted < r.geometry.len() {
        let _ = write!(d, "; {} of {} wells counted", s.counted, r.geometry.len());
    }
    d
}

/// `rows: {A: p1-A, B: p1-B, ...}`: one compound per row, or per pair of rows (`A-B: p1-A`)
/// when neighbouring rows are replicates.
fn lanes_by_row(plate: usize, rows: u16, pairs: bool) -> String {
    let lanes: Vec<String> = if pairs {
        (0..rows)
            .step_by(2)
            .map(|r| format!("{}-{}: p{plate}-{}", row_label(r), row_label(r + 1), row_label(r)))
            .collect()
    } else {
        (0..rows).map(|r| format!("{}: p{plate}-{}", row_label(r), row_label(r))).collect()
    };
    format!("rows: {{{}}}", lanes.join(", "))
}

/// `columns: {1: p1-1, 2: p1-2, ...}`: one compound per column.
fn lanes_by_column(plate: usize, cols: u16) -> String {
    let lanes: Vec<String> = (1..=cols).map(|c| format!("{c}: p{plate}-{c}")).collect();
    format!("columns: {{{}}}", lanes.join(", "))
}

/// The annotated example config (no export given).
fn example() -> String {
    let (inputs, geometry, format) = ("sample_data/my-experiment/*.txt", Geometry::W96, "auto");
    let selectors = ["plate: 1", "plate: 2"];
    let last_col = geometry.cols;
    let last_row = row_label(geometry.rows - 1);
    let mut t = String::new();
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
    t
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

#[cfg(test)]
mod tests {
    use super::*;

    /// `init --from` names the export relative to the config's folder, wherever the two are
    /// (also across top-level folders), and never as an absolute path on one drive.
    #[test]
    fn input_paths_are_relative_to_the_config() {
        let tmp = tempfile::tempdir().expect("tempdir");
        let data = tmp.path().join("data");
        std::fs::create_dir_all(&data).expect("data");
        std::fs::create_dir_all(tmp.path().join("configs")).expect("configs");
        let export = data.join("run1.txt");
        std::fs::write(&export, "x").expect("export");
        let cfg = tmp.path().join("configs/run1.yaml");
        assert_eq!(relative_input(&export, Some(&cfg)), "../data/run1.txt");
        assert_eq!(relative_input(&export, Some(&tmp.path().join("run1.yaml"))), "data/run1.txt");
        // A config folder that does not exist yet is resolved as written.
        let later = tmp.path().join("new/run1.yaml");
        assert_eq!(relative_input(&export, Some(&later)), "../data/run1.txt");
        // Sharing only the root: still relative.
        assert_eq!(
            relative(Path::new("/tmp/x/run.txt"), Path::new("/work/configs")).expect("relative"),
            PathBuf::from("../../tmp/x/run.txt")
        );
    }
}
