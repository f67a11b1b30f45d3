//! Options -> Settings: defaults applied, units converted to nM, well sets parsed, globs
//! expanded, names cross-checked.
//!
//! [`load`] reads the YAML into [`Options`], then [`resolve`] resolves it. Every problem is
//! collected (not only the first) and each names the config key and, where it can be found,
//! its line. The resolver is split by config section: targets (`target.rs`), layouts and
//! plates (`plate.rs`), the fit (`fit.rs`); the top level and shared helpers are here.

mod fit;
mod plate;
mod primary;
mod reference;
mod target;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use super::error::{ConfigError, ConfigProblem};
use super::locate::{key_string, locate};
use super::options::{
    Choice, ColumnsOptions, ExcludeOptions, NegativeCounts, Options, PlateSelector,
};
use super::options::{CurveFigures, ErrorBars, Figures};
use super::scan::scan;
use super::settings::{Exclusion, Layout, Settings};
use super::wellset::WellSet;
use crate::ingest::{ColumnMap, Format, TableColumns};
use crate::units::parse_conc_nm;

/// Largest config file radbind reads (64 MiB): a campaign of a million curves lists 250,000
/// plates in some 28 MB, but nothing legitimate comes near this.
const MAX_CONFIG_BYTES: u64 = 64 << 20;

/// Reads and resolves a config file.
///
/// # Errors
/// [`ConfigError`] listing every problem found, each with its key and line.
pub fn load(path: &Path) -> Result<Settings, ConfigError> {
    let fail = |message: String| ConfigError::single(path, "", None, message);
    // At most MAX_CONFIG_BYTES + 1 bytes are read, whatever the path is (a pipe, a device).
    let bytes = crate::ingest::file::read_limited(path, MAX_CONFIG_BYTES)
        .map_err(|e| fail(format!("cannot read the config file: {e}")))?
        .map_err(|size| {
            if size > MAX_CONFIG_BYTES + 1 {
                fail(format!("config file is {size} bytes; radbind reads configs up to 64 MiB"))
            } else {
                fail("config is more than 64 MiB; radbind reads configs up to 64 MiB".to_string())
            }
        })?;
    let text = String::from_utf8(bytes).map_err(|e| {
        let bytes = e.as_bytes();
        match crate::ingest::utf16(bytes) {
            Some((big_endian, _, bom)) => fail(format!(
                "cannot read the config file: it is UTF-16{} text{}; a config is UTF-8 text: \
                 save it as UTF-8",
                if big_endian { "BE" } else { "LE" },
                if bom { " (with a byte-order mark)" } else { "" }
            )),
            None => fail(
                "cannot read the config file: stream did not contain valid UTF-8 (a config is \
                 UTF-8 text)"
                    .to_string(),
            ),
        }
    })?;
    if text.is_empty() && crate::ingest::file::not_a_file(path).is_some() {
        return Err(fail(
            "nothing to read: the config is a pipe or device that gave no text".to_string(),
        ));
    }
    // A UTF-8 byte-order mark (Windows editors) is not part of the YAML.
    let yaml = text.strip_prefix('\u{feff}').unwrap_or(&text);
    let scanned = scan(yaml);
    if !scanned.problems.is_empty() {
        return Err(ConfigError { path: path.to_path_buf(), problems: scanned.problems });
    }
    let options: Options = if scanned.merges {
        merged_options(path, yaml)?
    } else {
        serde_yaml::from_str(yaml).map_err(|e| {
            let line = e.location().map(|l| l.line());
            ConfigError::single(path, "", line, yaml_message(&e))
        })?
    };
    resolve(path, text, options)
}

/// Options from YAML that uses merge keys (`<<: *defaults`): the text as a YAML value with
/// the merges applied (a mapping's own keys win over merged ones), then deserialised.
///
/// A problem in the merged value is reported with serde's key path, and the line where that
/// path is found in `yaml` (serde has no position for a merged value).
fn merged_options(path: &Path, yaml: &str) -> Result<Options, ConfigError> {
    let at_line = |e: &serde_yaml::Error| {
        ConfigError::single(path, "", e.location().map(|l| l.line()), yaml_message(e))
    };
    let mut value: serde_yaml::Value = serde_yaml::from_str(yaml).map_err(|e| at_line(&e))?;
    // A merged mapping may carry merge keys of its own (an anchor that merges another).
    for _ in 0..MAX_MERGE_DEPTH {
        if !has_merge_key(&value) {
            break;
        }
        value.apply_merge().map_err(|e| at_line(&e))?;
    }
    let merged = serde_yaml::to_string(&value).map_err(|e| at_line(&e))?;
    serde_yaml::from_str(&merged).map_err(|e| {
        let message = yaml_message(&e);
        let line = message.split_once(": ").and_then(|(key, _)| {
            let segments = serde_path_segments(key);
            locate(yaml, &segments.iter().map(String::as_str).collect::<Vec<_>>())
        });
        ConfigError::single(path, "", line, message)
    })
}

/// Deepest chain of merges applied (an anchor merging an anchor merging ...).
const MAX_MERGE_DEPTH: usize = 16;

/// True when a mapping anywhere in `v` has a merge key `<<`.
fn has_merge_key(v: &serde_yaml::Value) -> bool {
    match v {
        serde_yaml::Value::Mapping(m) => m.contains_key("<<") || m.values().any(has_merge_key),
        serde_yaml::Value::Sequence(s) => s.iter().any(has_merge_key),
        serde_yaml::Value::Tagged(t) => has_merge_key(&t.value),
        _ => false,
    }
}

/// serde_norway's key path (`plates[0].rows`) as segments (`plates`, `0`, `rows`).
fn serde_path_segments(path: &str) -> Vec<String> {
    let mut out = Vec::new();
    for part in path.split('.') {
        let mut rest = part;
        if let Some(i) = rest.find('[') {
            if i > 0 {
                out.push(rest[..i].to_string());
            }
            rest = &rest[i..];
            while let Some(r) = rest.strip_prefix('[') {
                let Some((idx, after)) = r.split_once(']') else { break };
                out.push(idx.to_string());
                rest = after;
            }
        } else if !rest.is_empty() {
            out.push(rest.to_string());
        }
    }
    out
}

/// serde's message, with the location moved into our `file:line:` prefix and a hint for
/// unknown keys.
pub(super) fn yaml_message(e: &serde_yaml::Error) -> String {
    let msg = e.to_string();
    let msg = match msg.find(" at line ") {
        Some(i) => msg[..i].to_string(),
        None => msg,
    };
    let msg = msg
        .replace("expected f64", "expected a number")
        .replace("expected u32", "expected a whole number")
        .replace(
            "expected struct Options",
            "expected a mapping of config keys (experiment, inputs, targets, layouts, plates)",
        );
    if msg.contains("unknown field") {
        format!("{msg} (keys are case-sensitive; see the config reference in the README)")
    } else {
        msg
    }
}

/// Resolves parsed options; `text` is the config source used to locate keys.
///
/// # Errors
/// Every problem found.
pub fn resolve(path: &Path, text: String, o: Options) -> Result<Settings, ConfigError> {
    let mut r = Resolver { text: &text, problems: Vec::new() };
    let base = path.parent().map_or_else(|| PathBuf::from("."), Path::to_path_buf);
    let base = clean_path(&base);

    if o.experiment.trim().is_empty() {
        r.problem(&["experiment"], "experiment name is empty".into());
    }
    let output_dir = match &o.output {
        Some(out) => clean_path(&base.join(out)),
        None => PathBuf::from("outputs").join(crate::units::safe_name(&o.experiment)),
    };
    let inputs = r.inputs(&base, &o.inputs);
    let mut format = r.format(o.format.as_deref());
    let assay_date = o.assay_date.as_ref().and_then(|d| {
        crate::radioactivity::day_number(d).map_err(|e| r.problem(&["assay_date"], e)).ok()
    });
    // Concentration-table column names (or `format: concentration_table`) make the inputs
    // concentration tables; the other names are a count table's.
    let table_keys = o.columns.as_ref().is_some_and(ColumnsOptions::names_table_columns);
    if format.is_none() && table_keys {
        format = Some(Format::ConcentrationTable);
    }
    let (columns, table) = if format == Some(Format::ConcentrationTable) {
        (None, Some(r.table_columns(o.columns.as_ref())))
    } else {
        (r.columns(o.columns.as_ref(), format), None)
    };
    let keep_negative_counts = r.choice(
        &["negative_counts"],
        o.negative_counts.as_ref(),
        NegativeCounts::Exclude,
        |other| format!("unknown negative_counts `{other}`: use exclude or keep"),
    ) == NegativeCounts::Keep;
    let targets = o
        .targets
        .iter()
        .filter_map(|(name, t)| r.target(name, t, assay_date).map(|t| (name.clone(), t)))
        .collect::<BTreeMap<_, _>>();
    r.kd_sources(&targets);
    if o.targets.is_empty() {
        r.problem(&["targets"], "no targets: add at least one target with its radioligand".into());
    }
    let mut layouts = o
        .layouts
        .iter()
        .filter_map(|(name, l)| r.layout(name, l).map(|l| (name.clone(), l)))
        .collect::<BTreeMap<_, _>>();
    let plates = o
        .plates
        .iter()
        .enumerate()
        .filter_map(|(i, p)| r.plate(i, p, &o, &layouts, &targets, &base))
        .collect::<Vec<_>>();
    for spec in plates.iter().filter(|s| s.plate_map.is_some()) {
        layouts.entry(spec.layout.clone()).or_insert_with(|| placeholder_layout(&spec.layout));
    }
    if table.is_some() {
        if !o.plates.is_empty() {
            r.problem(
                &["plates"],
                "the inputs are concentration tables, whose plates are laid out from the \
                 table's columns: remove `plates:`"
                    .into(),
            );
        }
    } else if o.plates.is_empty() {
        r.problem(&["plates"], "no plates: say which plates hold which target".into());
    }
    let fit = r.fit(&o, &targets);
    let exclusions =
        o.exclude.iter().flatten().enumerate().filter_map(|(i, e)| r.exclusion(i, e)).collect();
    let min_z_prime = o.qc.as_ref().and_then(|q| q.min_z_prime).unwrap_or(0.5);
    let qc_value =
        |r: &mut Resolver<'_>, k: &'static str, v: Option<f64>, default: f64, max: f64| {
            let v = v.unwrap_or(default);
            if !(v.is_finite() && v >= 0.0 && v <= max) {
                r.problem(&["qc", k], format!("{k} must be a number from 0 to {max}, got {v}"));
            }
            v
        };
    let qc = o.qc.clone().unwrap_or_default();
    let min_signal_to_background =
        qc_value(&mut r, "min_signal_to_background", qc.min_signal_to_background, 3.0, 1e6);
    let max_fraction_bound_pct =
        qc_value(&mut r, "max_fraction_bound_pct", qc.max_fraction_bound_pct, 10.0, 100.0);
    let min_specific_at_kd_pct =
        qc_value(&mut r, "min_specific_at_kd_pct", qc.min_specific_at_kd_pct, 80.0, 100.0);
    let background_cpm = qc_value(&mut r, "background_cpm", qc.background_cpm, 20.0, 1e9);
    let png_scale = o.report.as_ref().and_then(|r| r.png_scale).unwrap_or(1.0);
    if !(0.25..=8.0).contains(&png_scale) {
        r.problem(
            &["report", "png_scale"],
            format!("png_scale must be 0.25 to 8, got {png_scale}"),
        );
    }
    let error_bars = r.choice(
        &["report", "error_bars"],
        o.report.as_ref().and_then(|r| r.error_bars.as_ref()),
        ErrorBars::Sd,
        |other| format!("unknown error bars `{other}`: use sd, sem or none"),
    );
    let figures = r.choice(
        &["report", "figures"],
        o.report.as_ref().and_then(|r| r.figures.as_ref()),
        Figures::SvgPng,
        |other| format!("unknown figures setting `{other}`: use svg+png, svg or none"),
    );
    let curve_figures = r.choice(
        &["report", "curve_figures"],
        o.report.as_ref().and_then(|r| r.curve_figures.as_ref()),
        CurveFigures::Auto,
        |other| format!("unknown curve_figures `{other}`: use auto, all, flagged or none"),
    );
    let screen = r.screen(o.screen.as_ref());
    let primary_target = o.report.as_ref().and_then(|r| r.primary_target.clone());
    if let Some(t) = primary_target.as_ref().filter(|t| !o.targets.contains_key(*t)) {
        let known: Vec<&str> = o.targets.keys().map(String::as_str).collect();
        r.problem(
            &["report", "primary_target"],
            format!("unknown target `{t}`; targets are: {}", known.join(", ")),
        );
    }

    let references = r.references(&o);
    let experiment_id = r.experiment_id(o.experiment_id.as_deref(), &["experiment_id"]);
    if !r.problems.is_empty() {
        return Err(ConfigError { path: path.to_path_buf(), problems: r.problems });
    }
    Ok(Settings {
        experiment: o.experiment.clone(),
        config_path: path.to_path_buf(),
        target_order: target_order(&text),
        config_text: text,
        output_dir,
        inputs,
        format,
        signal: o.signal.clone(),
        columns,
        table,
        keep_negative_counts,
        targets,
        layouts,
        plates,
        fit,
        exclusions,
        min_z_prime,
        min_signal_to_background,
        max_fraction_bound_pct,
        min_specific_at_kd_pct,
        background_cpm,
        figures,
        curve_figures,
        png_scale,
        error_bars,
        primary_target,
        experiment_id,
        assay_date: o.assay_date.clone(),
        references,
        screen,
        options: o,
    })
}

/// A plausible range of a config value. Values outside are typing or unit mistakes (a Kd of
/// 1e-320 nM gives Ki 0, a top of "1e-300 M" a pKi of 303), refused with the range. The
/// ranges are wide: any value a binding assay can have lies well inside; the README's config
/// reference lists them.
#[derive(Debug, Clone, Copy)]
pub(super) struct Range {
    lo: f64,
    hi: f64,
    /// Whether `lo` itself is allowed (`false`: the range is `lo < v <= hi`).
    lo_inclusive: bool,
    /// The range as the message says it.
    text: &'static str,
    /// Unit after the value in the message (`" nM"`, `""`).
    unit: &'static str,
}

impl Range {
    fn contains(self, v: f64) -> bool {
        v.is_finite() && (v > self.lo || self.lo_inclusive && v == self.lo) && v <= self.hi
    }
}

/// Kd and Km, [L] and [S]: 1 fM to 10 mM.
pub(super) const AFFINITY_NM: Range = Range {
    lo: 1e-6,
    hi: 1e7,
    lo_inclusive: true,
    text: "from 1e-6 nM (1 fM) to 1e7 nM (10 mM)",
    unit: " nM",
};
/// Concentrations in a well (a series' top, lowest and listed values, an agonist's
/// concentration and EC50): 1 fM to 1 M.
pub(super) const CONC_NM: Range = Range {
    lo: 1e-6,
    hi: 1e9,
    lo_inclusive: true,
    text: "from 1e-6 nM (1 fM) to 1e9 nM (1 M)",
    unit: " nM",
};
/// Dilution factor between neighbouring wells: above 1, at most 10,000.
pub(super) const DILUTION: Range =
    Range { lo: 1.0, hi: 1e4, lo_inclusive: false, text: "above 1 and at most 10000", unit: "" };
/// Specific activity, Ci/mmol: 0.001 to 10,000 (carrier-free 32P is about 9,100).
pub(super) const SPECIFIC_ACTIVITY: Range =
    Range { lo: 1e-3, hi: 1e4, lo_inclusive: true, text: "from 0.001 to 10000 Ci/mmol", unit: "" };
/// Assay volume per well, µL: 0.1 µL to 10 mL.
pub(super) const VOLUME_UL: Range =
    Range { lo: 0.1, hi: 1e4, lo_inclusive: true, text: "from 0.1 to 10000 µL", unit: "" };
/// Membrane protein per well, mg: 1 ng to 10 mg.
pub(super) const PROTEIN_MG: Range =
    Range { lo: 1e-6, hi: 10.0, lo_inclusive: true, text: "from 1e-6 to 10 mg", unit: "" };
/// Cells per well: 1 to 1e9.
pub(super) const CELLS: Range =
    Range { lo: 1.0, hi: 1e9, lo_inclusive: true, text: "from 1 to 1e9 cells", unit: "" };
/// Radioligand added per well, DPM: 1 to 1e10.
pub(super) const ADDED_DPM: Range =
    Range { lo: 1.0, hi: 1e10, lo_inclusive: true, text: "from 1 to 1e10 DPM", unit: "" };

/// A number for a message: plain from 0.001 to 1e6, in exponent form outside (`1e-320`, not
/// 320 zeros).
pub(super) fn shown(v: f64) -> String {
    if v == 0.0 || (1e-3..1e6).contains(&v.abs()) || !v.is_finite() {
        format!("{}", crate::units::plain_zero(v))
    } else {
        format!("{v:e}")
    }
}

/// The ways a series' concentrations can be written, as found in one YAML mapping.
#[derive(Clone, Copy)]
struct ConcFields<'a> {
    top_nm: Option<f64>,
    top: Option<&'a String>,
    dilution: Option<f64>,
    nm: Option<&'a Vec<f64>>,
    units: Option<&'a Vec<String>>,
}

struct Resolver<'a> {
    text: &'a str,
    problems: Vec<ConfigProblem>,
}

impl Resolver<'_> {
    fn problem(&mut self, key: &[&str], message: String) {
        let line = locate(self.text, key);
        self.problems.push(ConfigProblem { key: key_string(key), line, message });
    }

    /// The word at `key`: `default` when the key is absent; when the text is not one of the
    /// word's spellings, the problem `unknown(text)` (at `key`) and `default`.
    fn choice<T: Copy>(
        &mut self,
        key: &[&str],
        given: Option<&Choice<T>>,
        default: T,
        unknown: impl FnOnce(&str) -> String,
    ) -> T {
        match given {
            None => default,
            Some(Choice { value: Some(v), .. }) => *v,
            Some(Choice { text, value: None }) => {
                self.problem(key, unknown(text));
                default
            }
        }
    }

    fn inputs(&mut self, base: &Path, patterns: &[String]) -> Vec<PathBuf> {
        let mut out = Vec::new();
        if patterns.is_empty() {
            self.problem(&["inputs"], "no input files: list export files or globs".into());
        }
        for (i, pat) in patterns.iter().enumerate() {
            let idx = i.to_string();
            let full = clean_path(&base.join(pat));
            let full_str = full.to_string_lossy().to_string();
            if pat.contains(['*', '?', '[']) {
                match glob::glob(&full_str) {
                    Ok(paths) => {
                        let mut found: Vec<PathBuf> =
                            paths.filter_map(Result::ok).filter(|p| p.is_file()).collect();
                        found.sort_by(|a, b| {
                            natural_cmp(&a.to_string_lossy(), &b.to_string_lossy())
                        });
                        if found.is_empty() {
                            self.problem(
                                &["inputs", &idx],
                                format!(
                                    "`{pat}` matches no file (looked for {full_str}; paths are \
                                     relative to the config file)"
                                ),
                            );
                        }
                        out.extend(found);
                    }
                    Err(e) => self.problem(&["inputs", &idx], format!("bad glob `{pat}`: {e}")),
                }
            } else if full.is_file() {
                out.push(full);
            } else if full.is_dir() {
                self.problem(
                    &["inputs", &idx],
                    format!("{full_str} is a folder: name the export files, e.g. `{pat}/*.txt`"),
                );
            } else if let Some(kind) = crate::ingest::file::not_a_file(&full) {
                self.problem(
                    &["inputs", &idx],
                    format!("input {full_str} {kind}; list plate-reader export files"),
                );
            } else {
                self.problem(
                    &["inputs", &idx],
                    format!(
                        "input file {full_str} does not exist (paths are relative to the config \
                         file)"
                    ),
                );
            }
        }
        let mut seen = std::collections::HashSet::new();
        out.retain(|p| seen.insert(p.clone()));
        out
    }

    fn format(&mut self, f: Option<&str>) -> Option<Format> {
        match f {
            None | Some("auto") => None,
            Some(name) => Format::from_name(name).or_else(|| {
                self.problem(
                    &["format"],
                    format!(
                        "unknown format `{name}`: use auto, microbeta, long_csv, grid_csv, \
                         count_table, hidex, xlsx or concentration_table"
                    ),
                );
                None
            }),
        }
    }

    /// A concentration given in nM (`nm`) or with a unit (`text`), positive and within
    /// `range`.
    fn conc(
        &mut self,
        key: &[&str],
        nm: Option<f64>,
        text: Option<&String>,
        range: Range,
    ) -> Option<f64> {
        let base = key.last().copied().unwrap_or_default();
        let v = match (nm, text) {
            (Some(_), Some(_)) => {
                self.problem(key, format!("give `{base}_nM` or `{base}`, not both"));
                return None;
            }
            (Some(v), None) => v,
            (None, Some(t)) => {
                if let Some(v) = parse_conc_nm(t) {
                    v
                } else {
                    self.problem(
                        key,
                        format!(
                            "cannot read concentration `{t}`: write e.g. \"10 µM\" or \"2.5 nM\""
                        ),
                    );
                    return None;
                }
            }
            (None, None) => return None,
        };
        if !(v.is_finite() && v > 0.0) {
            self.problem(key, format!("concentration must be positive, got {v} nM"));
            return None;
        }
        self.in_range(key, v, range).then_some(v)
    }

    /// True when `v` lies in `range`; otherwise the problem (at `key`) says the range.
    fn in_range(&mut self, key: &[&str], v: f64, range: Range) -> bool {
        if range.contains(v) {
            return true;
        }
        let name = key.last().copied().unwrap_or_default();
        self.problem(
            key,
            format!(
                "{name} must be {}, got {}{}; check the number and its unit",
                range.text,
                shown(v),
                range.unit
            ),
        );
        false
    }

    fn wellset(&mut self, key: &[&str], expr: Option<&String>) -> Option<WellSet> {
        let expr = expr?;
        match WellSet::parse(expr) {
            Ok(w) => Some(w),
            Err(e) => {
                self.problem(key, e);
                None
            }
        }
    }

    fn selector(&mut self, key: &[&str], sel: &PlateSelector) -> Vec<u32> {
        let v = match sel {
            PlateSelector::One(n) => vec![*n],
            PlateSelector::List(v) => v.clone(),
            PlateSelector::Range(s) => {
                let parsed = s.split_once('-').and_then(|(a, b)| {
                    let a: u32 = a.trim().parse().ok()?;
                    let b: u32 = b.trim().parse().ok()?;
                    (b >= a).then(|| (a..=b).collect::<Vec<_>>())
                });
                parsed.or_else(|| s.trim().parse().ok().map(|n| vec![n])).unwrap_or_default()
            }
        };
        if v.is_empty() || v.contains(&0) {
            self.problem(key, "plate numbers start at 1: write `3`, `\"2-4\"` or `[1, 5]`".into());
        }
        v
    }

    fn exclusion(&mut self, i: usize, e: &ExcludeOptions) -> Option<Exclusion> {
        let idx = i.to_string();
        let plates = self.selector(&["exclude", &idx, "plate"], &e.plate);
        let wells = self.wellset(&["exclude", &idx, "wells"], Some(&e.wells))?;
        if e.reason.trim().is_empty() {
            self.problem(&["exclude", &idx, "reason"], "say why the wells are excluded".into());
        }
        Some(Exclusion { entry: i, plates, wells, reason: e.reason.clone() })
    }
}

/// Ingest-related resolution: the column map.
impl Resolver<'_> {
    fn columns(&mut self, c: Option<&ColumnsOptions>, format: Option<Format>) -> Option<ColumnMap> {
        let c = c?;
        if let Some(f) = format.filter(|f| !matches!(f, Format::CountTable | Format::Xlsx)) {
            self.problem(
                &["columns"],
                format!(
                    "a column map is for count_table and xlsx inputs, not format `{}`: remove \
                     `columns` or set `format: count_table`",
                    f.name()
                ),
            );
        }
        if let Some(f) = format.filter(|f| !matches!(f, Format::ConcentrationTable)) {
            for (k, v) in c.table_only() {
                if v.is_some() {
                    self.problem(
                        &["columns", k],
                        format!(
                            "`{k}` names a concentration-table column, not one of format `{}`: \
                             remove it or set `format: concentration_table`",
                            f.name()
                        ),
                    );
                }
            }
        }
        for (k, v) in
            [("plate", &c.plate), ("well", &c.well), ("value", &c.value), ("time", &c.time)]
        {
            if v.as_ref().is_some_and(|v| v.trim().is_empty()) {
                self.problem(
                    &["columns", k],
                    "empty column name: give the header text, or leave the key out to try the \
                     usual names"
                        .into(),
                );
            }
        }
        Some(ColumnMap {
            plate: c.plate.clone().unwrap_or_default(),
            well: c.well.clone().unwrap_or_default(),
            value: c.value.clone().unwrap_or_default(),
            time: c.time.clone(),
            skip_lines: c.skip_lines.unwrap_or(0),
        })
    }
}

/// Ingest-related resolution: the column map of concentration tables.
impl Resolver<'_> {
    fn table_columns(&mut self, c: Option<&ColumnsOptions>) -> TableColumns {
        let Some(c) = c else { return TableColumns::default() };
        for (k, v) in [("well", &c.well), ("value", &c.value), ("time", &c.time)] {
            if v.is_some() {
                let why = match k {
                    "well" => "a concentration table has no wells".to_string(),
                    "value" => "name the response column with `columns.response`".to_string(),
                    _ => "a concentration table has no counting-time column".to_string(),
                };
                self.problem(&["columns", k], format!("`{k}` is a count-table column: {why}"));
            }
        }
        let given = [("plate", &c.plate)].into_iter().chain(c.table_only());
        for (k, v) in given {
            if v.as_ref().is_some_and(|v| v.trim().is_empty()) {
                self.problem(
                    &["columns", k],
                    "empty column name: give the header text, or leave the key out to try the \
                     usual names"
                        .into(),
                );
            }
        }
        TableColumns {
            concentration: c.concentration.clone(),
            concentration_unit: c.concentration_unit.clone(),
            response: c.response.clone(),
            compound: c.compound.clone(),
            target: c.target.clone(),
            replicate: c.replicate.clone(),
            plate: c.plate.clone(),
            role: c.role.clone(),
            skip_lines: c.skip_lines.unwrap_or(0),
        }
    }
}

/// Natural order of file names: runs of digits compare as numbers (`run2` before `run10`),
/// the rest character by character; equal numbers with more leading zeros sort after
/// (`run02` after `run2`), so the order is total and does not depend on the file system.
pub(super) fn natural_cmp(a: &str, b: &str) -> std::cmp::Ordering {
    use std::cmp::Ordering;
    let (mut a, mut b) = (a, b);
    let digits = |s: &str| s.len() - s.trim_start_matches(|c: char| c.is_ascii_digit()).len();
    let mut zeros_tie = Ordering::Equal;
    loop {
        match (a.chars().next(), b.chars().next()) {
            (None, None) => return zeros_tie,
            (None, Some(_)) => return Ordering::Less,
            (Some(_), None) => return Ordering::Greater,
            (Some(x), Some(y)) if x.is_ascii_digit() && y.is_ascii_digit() => {
                let (na, nb) = (&a[..digits(a)], &b[..digits(b)]);
                let (ta, tb) = (na.trim_start_matches('0'), nb.trim_start_matches('0'));
                let by_value = ta.len().cmp(&tb.len()).then_with(|| ta.cmp(tb));
                if by_value != Ordering::Equal {
                    return by_value;
                }
                if zeros_tie == Ordering::Equal {
                    zeros_tie = na.len().cmp(&nb.len());
                }
                a = &a[na.len()..];
                b = &b[nb.len()..];
            }
            (Some(x), Some(y)) => {
                if x != y {
                    return x.cmp(&y);
                }
                a = &a[x.len_utf8()..];
                b = &b[y.len_utf8()..];
            }
        }
    }
}

/// The placeholder layout of plate-map entries: no wells, an empty one-lane series.
fn placeholder_layout(name: &str) -> Layout {
    Layout {
        name: name.to_string(),
        geometry: None,
        total: None,
        nsb: None,
        basal: None,
        blank: None,
        vehicle: None,
        series: None,
        top_from: None,
        bottom_from: None,
        primary: None,
        bottom_compound: None,
    }
}

/// Removes `.` and `dir/..` pairs lexically (`configs/../data` -> `data`), so messages and
/// manifests show the paths a user would write. Leading `..` are kept.
#[must_use]
pub fn clean_path(p: &Path) -> PathBuf {
    use std::path::Component;
    let mut out: Vec<Component> = Vec::new();
    for c in p.components() {
        match c {
            Component::CurDir => {}
            Component::ParentDir => match out.last() {
                Some(Component::Normal(_)) => {
                    out.pop();
                }
                Some(Component::RootDir | Component::Prefix(_)) => {}
                _ => out.push(c),
            },
            _ => out.push(c),
        }
    }
    if out.is_empty() {
        return PathBuf::from(".");
    }
    out.iter().collect()
}

/// The target names in the order the config text lists them under `targets:`; empty when
/// the text does not parse (`targets` keeps its name order then).
fn target_order(yaml: &str) -> Vec<String> {
    let Ok(serde_yaml::Value::Mapping(doc)) = serde_yaml::from_str::<serde_yaml::Value>(yaml)
    else {
        return Vec::new();
    };
    match doc.get("targets") {
        Some(serde_yaml::Value::Mapping(t)) => {
            t.keys().filter_map(|k| k.as_str().map(str::to_string)).collect()
        }
        _ => Vec::new(),
    }
}
