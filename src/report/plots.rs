//! Curve figures: one dose-response figure per [`CurveRow`], as SVG (inlined in the HTML
//! report) or PNG (for papers and slides).
//!
//! Owns the figure layout and the file stems of the plot files. It does not decide where
//! files go (the caller passes a path inside the staging directory) and it does not fit
//! anything: the curve drawn is the 4PL from [`FitNumbers`] in Prism's convention,
//!
//! ```text
//! Y = Bottom + (Top - Bottom) / (1 + 10^((LogIC50 - X) * HillSlope)),   X = log10 [M]
//! ```
//!
//! Text is drawn with the DejaVu Sans bundled in the binary (registered with plotters'
//! `ab_glyph` font table on first use), so PNGs render the same on a machine without fonts.
//! Output is deterministic: the same curve gives a byte-identical SVG.

use std::path::Path;
use std::sync::OnceLock;

use plotters::coord::Shift;
use plotters::coord::ranged1d::{DefaultFormatting, KeyPointHint, Ranged};
use plotters::prelude::*;
use plotters::style::{FontStyle, register_font, text_anchor};

use crate::config::ErrorBars;
use crate::derive::rows::{CurvePoint, CurveRow, FunctionalRole};
use crate::fit::procedures::band::FittedCurve;
use crate::units::log_molar;

/// DejaVu Sans, bundled so text renders without system fonts (licence in `assets/fonts`).
pub(super) const FONT_BYTES: &[u8] = include_bytes!("../../assets/fonts/DejaVuSans.ttf");

/// Figure size at `dpi_scale = 1.0`, pixels.
const WIDTH: u32 = 800;
/// Figure height at `dpi_scale = 1.0`, pixels.
const HEIGHT: u32 = 600;

/// Colours (Okabe-Ito, safe for colour-blind readers) and greys.
const CURVE_COLOUR: RGBColor = RGBColor(0x00, 0x72, 0xB2);
const MEAN_COLOUR: RGBColor = RGBColor(0x1A, 0x1A, 0x1A);
const POINT_COLOUR: RGBColor = RGBColor(0x6E, 0x6E, 0x6E);
pub(super) const EXCLUDED_COLOUR: RGBColor = RGBColor(0xD5, 0x5E, 0x00);
/// Ki marker colour (Okabe-Ito reddish purple).
const KI_COLOUR: RGBColor = RGBColor(0xB0, 0x3A, 0x7E);
const IC50_COLOUR: RGBColor = RGBColor(0x55, 0x55, 0x55);
pub(super) const TEXT_COLOUR: RGBColor = RGBColor(0x1A, 0x1A, 0x1A);
pub(super) const GRID_COLOUR: RGBColor = RGBColor(0xE6, 0xE6, 0xE6);

/// A figure could not be made or written.
#[derive(Debug, thiserror::Error)]
pub enum PlotError {
    /// The bundled font could not be parsed (a broken build, not a data problem).
    #[error("the bundled font assets/fonts/DejaVuSans.ttf could not be loaded")]
    Font,
    /// `dpi_scale` outside the supported range.
    #[error("dpi_scale {0} is not supported: use a value between 0.25 and 8 (1.0 = 800x600 px)")]
    Scale(f64),
    /// plotters failed while drawing.
    #[error("could not draw the figure for {target} / {compound}: {message}")]
    Draw {
        /// Target of the curve.
        target: String,
        /// Compound of the curve.
        compound: String,
        /// The backend's message.
        message: String,
    },
    /// plotters failed while drawing a figure other than a single curve.
    #[error("could not draw the figure {figure}: {message}")]
    Figure {
        /// Which figure (e.g. `overlay 5-HT2A`).
        figure: String,
        /// The backend's message.
        message: String,
    },
    /// The PNG could not be written.
    #[error("could not write the figure {path}: {message}")]
    Write {
        /// Path of the PNG.
        path: String,
        /// The backend's message.
        message: String,
    },
}

/// Options of the curve figure.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct CurveStyle {
    /// Error bars on the mean points.
    pub error_bars: ErrorBars,
    /// Shade the pointwise 95% confidence band of the fitted curve (delta method on the
    /// asymptotic covariance, [`FitNumbers::band`]).
    pub confidence_band: bool,
    /// Mark Ki on the concentration axis besides the IC50.
    pub mark_ki: bool,
}

impl Default for CurveStyle {
    fn default() -> Self {
        Self { error_bars: ErrorBars::Sd, confidence_band: true, mark_ki: true }
    }
}

/// Registers the bundled font as plotters' `sans-serif` once per process.
pub(super) fn ensure_font() -> Result<(), PlotError> {
    static REGISTERED: OnceLock<bool> = OnceLock::new();
    let ok = *REGISTERED
        .get_or_init(|| register_font("sans-serif", FontStyle::Normal, FONT_BYTES).is_ok());
    if ok { Ok(()) } else { Err(PlotError::Font) }
}

/// The curve figure as an SVG document (800 x 600 user units).
///
/// Deterministic: the same curve gives the same bytes. User text (target, compound) is
/// XML-escaped by the SVG backend.
///
/// # Errors
/// [`PlotError::Font`] if the bundled font is broken, [`PlotError::Draw`] if plotters fails.
pub fn curve_svg(curve: &CurveRow) -> Result<String, PlotError> {
    curve_svg_with(curve, &CurveStyle::default())
}

/// [`curve_svg`] with explicit options.
///
/// # Errors
/// As [`curve_svg`].
pub fn curve_svg_with(curve: &CurveRow, style: &CurveStyle) -> Result<String, PlotError> {
    ensure_font()?;
    let mut svg = String::new();
    {
        let root = SVGBackend::with_string(&mut svg, (WIDTH, HEIGHT)).into_drawing_area();
        draw_curve(&root, curve, 1.0, style).map_err(|message| draw_error(curve, message))?;
        root.present().map_err(|e| draw_error(curve, e.to_string()))?;
    }
    Ok(svg)
}

/// Writes the curve figure as a PNG of `800 * dpi_scale` x `600 * dpi_scale` pixels.
///
/// Use `dpi_scale = 2.0` or more for print. Lines and text scale with the image.
///
/// # Errors
/// [`PlotError::Scale`] for a scale outside 0.25..=8, [`PlotError::Draw`] if drawing fails,
/// [`PlotError::Write`] if the file cannot be written.
pub fn curve_png(curve: &CurveRow, path: &Path, dpi_scale: f64) -> Result<(), PlotError> {
    curve_png_with(curve, path, dpi_scale, &CurveStyle::default())
}

/// [`curve_png`] with explicit options.
///
/// # Errors
/// As [`curve_png`].
pub fn curve_png_with(
    curve: &CurveRow,
    path: &Path,
    dpi_scale: f64,
    style: &CurveStyle,
) -> Result<(), PlotError> {
    if !dpi_scale.is_finite() || !(0.25..=8.0).contains(&dpi_scale) {
        return Err(PlotError::Scale(dpi_scale));
    }
    ensure_font()?;
    let w = (f64::from(WIDTH) * dpi_scale).round() as u32;
    let h = (f64::from(HEIGHT) * dpi_scale).round() as u32;
    let root = BitMapBackend::new(path, (w, h)).into_drawing_area();
    draw_curve(&root, curve, dpi_scale, style).map_err(|message| draw_error(curve, message))?;
    root.present()
        .map_err(|e| PlotError::Write { path: path.display().to_string(), message: e.to_string() })
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

fn draw_error(curve: &CurveRow, message: String) -> PlotError {
    PlotError::Draw { target: curve.target.clone(), compound: curve.compound.clone(), message }
}

/// Mean and sample SD (n - 1; `None` for n < 2) of the included points at one concentration.
#[derive(Debug, Clone, PartialEq)]
pub(super) struct Group {
    pub(super) x: f64,
    pub(super) mean: f64,
    pub(super) sd: Option<f64>,
    /// Number of points in the group.
    pub(super) n: usize,
}

/// Groups the finite, included points by concentration (relative tolerance 1e-6).
/// `x_of` maps a concentration to the plotted x.
pub(super) fn mean_sd_groups(
    points: &[CurvePoint],
    x_of: impl Fn(f64) -> Option<f64>,
) -> Vec<Group> {
    let mut included: Vec<(f64, f64)> = points
        .iter()
        .filter(|p| p.excluded.is_none() && p.y.is_finite() && p.conc_nm.is_finite())
        .map(|p| (p.conc_nm, p.y))
        .collect();
    included.sort_by(|a, b| a.0.total_cmp(&b.0).then(a.1.total_cmp(&b.1)));
    let mut groups: Vec<Vec<(f64, f64)>> = Vec::new();
    for p in included {
        match groups.last_mut() {
            Some(g) if (g[0].0 - p.0).abs() <= 1e-6 * g[0].0.abs().max(p.0.abs()) => g.push(p),
            _ => groups.push(vec![p]),
        }
    }
    groups
        .into_iter()
        .filter_map(|g| {
            let x = x_of(g[0].0)?;
            let n = g.len() as f64;
            let mean = g.iter().map(|p| p.1).sum::<f64>() / n;
            let sd = (g.len() >= 2)
                .then(|| (g.iter().map(|p| (p.1 - mean).powi(2)).sum::<f64>() / (n - 1.0)).sqrt());
            Some(Group { x, mean, sd, n: g.len() })
        })
        .collect()
}

/// The x layout: the tested range in log10 M, padded, plus a slot for zero-dose points.
#[derive(Debug, Clone, Copy)]
pub(super) struct XLayout {
    /// Lowest and highest tested log10 M.
    pub(super) lo: f64,
    pub(super) hi: f64,
    /// Left and right end of the axis.
    pub(super) axis_lo: f64,
    pub(super) axis_hi: f64,
    /// Where zero-concentration points go, if there are any.
    pub(super) zero_x: Option<f64>,
}

impl XLayout {
    pub(super) fn new(curve: &CurveRow) -> Self {
        let (t_lo, t_hi) = curve.tested_range_nm;
        let from_points = || {
            let logs: Vec<f64> = curve.points.iter().filter_map(|p| log_molar(p.conc_nm)).collect();
            let lo = logs.iter().copied().fold(f64::INFINITY, f64::min);
            let hi = logs.iter().copied().fold(f64::NEG_INFINITY, f64::max);
            (lo.is_finite() && hi.is_finite()).then_some((lo, hi))
        };
        // The tested range, widened to any point outside it so that no point falls off.
        let (mut lo, mut hi) = match ((log_molar(t_lo), log_molar(t_hi)), from_points()) {
            ((Some(a), Some(b)), Some((pa, pb))) if a <= b => (a.min(pa), b.max(pb)),
            ((Some(a), Some(b)), None) if a <= b => (a, b),
            (_, pts) => pts.unwrap_or((-10.0, -5.0)),
        };
        if hi - lo < 1.0 {
            // A single concentration (or a very narrow range): give the axis some width.
            let mid = (lo + hi) / 2.0;
            lo = mid - 0.5;
            hi = mid + 0.5;
        }
        let has_zero = curve.points.iter().any(|p| p.conc_nm == 0.0 && p.y.is_finite());
        let main_lo = lo - 0.5;
        let zero_x = has_zero.then_some(main_lo - 0.75);
        let axis_lo = zero_x.map_or(main_lo, |z| z - 0.4);
        Self { lo, hi, axis_lo, axis_hi: hi + 0.5, zero_x }
    }

    /// Plotted x of a concentration (nM).
    pub(super) fn x_of(&self, conc_nm: f64) -> Option<f64> {
        if conc_nm == 0.0 { self.zero_x } else { log_molar(conc_nm) }
    }

    /// Tick positions: the integers of the tested range, and the zero slot.
    pub(super) fn ticks(&self) -> Vec<f64> {
        let mut ticks = Vec::new();
        if let Some(z) = self.zero_x {
            ticks.push(z);
        }
        let first = (self.lo - 0.5).ceil() as i64;
        let last = (self.hi + 0.5).floor() as i64;
        let step = if last - first > 10 { 2 } else { 1 };
        let mut k = first;
        while k <= last {
            ticks.push(k as f64);
            k += step;
        }
        ticks
    }
}

/// A corner of the plotting area.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Corner {
    UpperRight,
    LowerLeft,
    LowerRight,
    UpperLeft,
}

impl Corner {
    fn legend_position(self) -> SeriesLabelPosition {
        match self {
            Self::UpperRight => SeriesLabelPosition::UpperRight,
            Self::LowerLeft => SeriesLabelPosition::LowerLeft,
            Self::LowerRight => SeriesLabelPosition::LowerRight,
            Self::UpperLeft => SeriesLabelPosition::UpperLeft,
        }
    }
}

/// The four corners ordered from emptiest to fullest: how many of `pts` fall in a box of
/// 35% x 30% of the axes at each corner. Ties keep the order upper right, lower left,
/// lower right, upper left (sorting is stable, so the result is deterministic).
fn corners_by_emptiness(pts: &[(f64, f64)], xl: &XLayout, y_lo: f64, y_hi: f64) -> [Corner; 4] {
    let (xw, yh) = ((xl.axis_hi - xl.axis_lo) * 0.35, (y_hi - y_lo) * 0.3);
    let count = |c: Corner| {
        let right = matches!(c, Corner::UpperRight | Corner::LowerRight);
        let upper = matches!(c, Corner::UpperRight | Corner::UpperLeft);
        pts.iter()
            .filter(|(x, y)| x.is_finite() && y.is_finite())
            .filter(|&&(x, y)| {
                let in_x = if right { x >= xl.axis_hi - xw } else { x <= xl.axis_lo + xw };
                let in_y = if upper { y >= y_hi - yh } else { y <= y_lo + yh };
                in_x && in_y
            })
            .count()
    };
    let mut corners =
        [Corner::UpperRight, Corner::LowerLeft, Corner::LowerRight, Corner::UpperLeft];
    corners.sort_by_key(|&c| count(c));
    corners
}

/// Anchor and position (data coordinates) for a text label in a corner.
fn corner_anchor(
    c: Corner,
    xl: &XLayout,
    y_lo: f64,
    y_hi: f64,
) -> (text_anchor::HPos, text_anchor::VPos, (f64, f64)) {
    let (dx, dy) = ((xl.axis_hi - xl.axis_lo) * 0.03, (y_hi - y_lo) * 0.05);
    match c {
        Corner::UpperRight => {
            (text_anchor::HPos::Right, text_anchor::VPos::Top, (xl.axis_hi - dx, y_hi - dy))
        }
        Corner::LowerLeft => {
            (text_anchor::HPos::Left, text_anchor::VPos::Bottom, (xl.axis_lo + dx, y_lo + dy))
        }
        Corner::LowerRight => {
            (text_anchor::HPos::Right, text_anchor::VPos::Bottom, (xl.axis_hi - dx, y_lo + dy))
        }
        Corner::UpperLeft => {
            (text_anchor::HPos::Left, text_anchor::VPos::Top, (xl.axis_lo + dx, y_hi - dy))
        }
    }
}

/// A linear f64 axis whose ticks are exactly the given values (plotters' own f64 axis
/// picks its own "nice" ticks; we want integers in log10 M plus the zero-dose slot).
#[derive(Debug, Clone)]
pub(super) struct TickedAxis {
    pub(super) lo: f64,
    pub(super) hi: f64,
    pub(super) ticks: Vec<f64>,
}

impl Ranged for TickedAxis {
    type FormatOption = DefaultFormatting;
    type ValueType = f64;

    fn map(&self, v: &f64, limit: (i32, i32)) -> i32 {
        let span = self.hi - self.lo;
        let frac =
            if span > 0.0 && v.is_finite() { ((v - self.lo) / span).clamp(-1.0, 2.0) } else { 0.5 };
        limit.0 + (f64::from(limit.1 - limit.0) * frac).round() as i32
    }

    fn key_points<Hint: KeyPointHint>(&self, _hint: Hint) -> Vec<f64> {
        self.ticks.clone()
    }

    fn range(&self) -> std::ops::Range<f64> {
        self.lo..self.hi
    }
}

/// y axis range: covers 0..100 and every finite point, on multiples of 20.
fn y_range(curve: &CurveRow) -> (f64, f64) {
    let ys = curve.points.iter().map(|p| p.y).filter(|y| y.is_finite());
    let (lo, hi) = ys.fold((0.0f64, 100.0f64), |(lo, hi), y| (lo.min(y), hi.max(y)));
    let lo = ((lo - 5.0) / 20.0).floor() * 20.0;
    let hi = ((hi + 5.0) / 20.0).ceil() * 20.0;
    // Guard against absurd values (a CPM column passed as %): keep the axis readable.
    (lo.max(-1000.0), hi.min(1000.0).max(lo + 20.0))
}

pub(super) fn y_ticks(lo: f64, hi: f64) -> Vec<f64> {
    let span = hi - lo;
    let step = if span <= 160.0 {
        20.0
    } else if span <= 400.0 {
        50.0
    } else {
        100.0
    };
    let mut ticks = Vec::new();
    let mut t = (lo / step).ceil() * step;
    while t <= hi + 1e-9 {
        ticks.push(t);
        t += step;
    }
    ticks
}

/// Text for the IC50 annotation: `IC50 2.5 nM`, `IC50 > 10 µM`, `IC50 < 0.1 nM`.
fn ic50_annotation(curve: &CurveRow) -> Option<String> {
    let fit = curve.fit.as_ref()?;
    let measured = fit.ic50_nm.is_finite() && fit.ic50_nm > 0.0;
    (!fit.censor.is_exact() || measured).then(|| format!("IC50 {}", curve.ic50_text()))
}

/// Subtitle: Ki with CI, pKi, Hill slope and n, or why there is no fit.
fn subtitle(curve: &CurveRow) -> String {
    let n = format!("n = {}", curve.n_points);
    match &curve.fit {
        Some(fit) => {
            let ci = curve.ki_ci_text();
            let ci = if ci.is_empty() { String::new() } else { format!(" (95% CI {ci})") };
            let hill = if fit.hill_slope.is_finite() {
                format!("{:.2}", fit.hill_slope).replace('-', "\u{2212}")
            } else {
                "n.d.".to_string()
            };
            match &curve.functional {
                Some(f) if f.role == FunctionalRole::Agonist => {
                    let rel = if f.relative_efficacy.is_finite() {
                        format!("  \u{b7}  rel. efficacy {:.2}", f.relative_efficacy)
                    } else {
                        String::new()
                    };
                    format!(
                        "EC50 {}  \u{b7}  Emax {:.0}%{rel}  \u{b7}  Hill {hill}  \u{b7}  {n}",
                        curve.ic50_text(),
                        f.emax_pct
                    )
                }
                Some(f) => {
                    let kb = if f.kb_nm.is_finite() {
                        format!("  \u{b7}  Kb {} nM", crate::units::nm_number(f.kb_nm))
                    } else {
                        String::new()
                    };
                    format!("IC50 {}{kb}  \u{b7}  Hill {hill}  \u{b7}  {n}", curve.ic50_text())
                }
                None => format!(
                    "Ki {}{ci}  \u{b7}  pKi {}  \u{b7}  Hill {hill}  \u{b7}  {n}",
                    curve.ki_text(),
                    curve.pki_text()
                ),
            }
        }
        None => {
            let full = curve.status.to_string();
            let status: String = full.chars().take(70).collect();
            let more = if full.chars().count() > 70 { "\u{2026}" } else { "" };
            format!("No fit ({status}{more})  \u{b7}  {n}")
        }
    }
}

pub(super) fn stroke(s: f64, w: f64) -> u32 {
    (w * s).round().max(1.0) as u32
}

pub(super) fn px(s: f64, v: f64) -> i32 {
    (v * s).round() as i32
}

/// Draws the whole figure on `root`; `s` scales sizes (1.0 = 800 x 600).
#[allow(clippy::too_many_lines)]
fn draw_curve<DB: DrawingBackend>(
    root: &DrawingArea<DB, Shift>,
    curve: &CurveRow,
    s: f64,
    opts: &CurveStyle,
) -> Result<(), String> {
    let err = |e: DrawingAreaErrorKind<DB::ErrorType>| e.to_string();
    root.fill(&WHITE).map_err(err)?;

    // Title and subtitle.
    let (w, _) = root.dim_in_pixel();
    let cx = (w / 2) as i32;
    let title = format!("{} \u{2014} {}", curve.target, curve.compound);
    let title_style = ("sans-serif", 27.0 * s)
        .into_font()
        .color(&TEXT_COLOUR)
        .pos(text_anchor::Pos::new(text_anchor::HPos::Center, text_anchor::VPos::Top));
    root.draw_text(&title, &title_style, (cx, px(s, 14.0))).map_err(err)?;
    let sub_style = ("sans-serif", 18.0 * s)
        .into_font()
        .color(&RGBColor(0x44, 0x44, 0x44))
        .pos(text_anchor::Pos::new(text_anchor::HPos::Center, text_anchor::VPos::Top));
    root.draw_text(&subtitle(curve), &sub_style, (cx, px(s, 46.0))).map_err(err)?;
    let plot_area = root.margin(px(s, 76.0), px(s, 12.0), px(s, 8.0), px(s, 28.0));

    let xl = XLayout::new(curve);
    let (y_lo, y_hi) = y_range(curve);
    let x_ticks = xl.ticks();
    let zero_x = xl.zero_x;
    let x_fmt = move |v: &f64| -> String {
        if zero_x.is_some_and(|z| (v - z).abs() < 1e-9) {
            "0".to_string()
        } else {
            format!("{v:.0}").replace('-', "\u{2212}")
        }
    };
    let y_fmt = |v: &f64| format!("{v:.0}").replace('-', "\u{2212}");

    let mut chart = ChartBuilder::on(&plot_area)
        .x_label_area_size(px(s, 52.0))
        .y_label_area_size(px(s, 64.0))
        .build_cartesian_2d(
            TickedAxis { lo: xl.axis_lo, hi: xl.axis_hi, ticks: x_ticks },
            TickedAxis { lo: y_lo, hi: y_hi, ticks: y_ticks(y_lo, y_hi) },
        )
        .map_err(err)?;
    chart
        .configure_mesh()
        .disable_x_mesh()
        .bold_line_style(GRID_COLOUR.stroke_width(stroke(s, 1.0)))
        .light_line_style(TRANSPARENT)
        .axis_style(TEXT_COLOUR.stroke_width(stroke(s, 1.0)))
        .set_all_tick_mark_size(px(s, 5.0))
        .x_desc("log10 [compound] (M)")
        .y_desc(curve.response_label)
        .axis_desc_style(("sans-serif", 19.0 * s).into_font().color(&TEXT_COLOUR))
        .label_style(("sans-serif", 17.0 * s).into_font().color(&TEXT_COLOUR))
        .x_label_formatter(&x_fmt)
        .y_label_formatter(&y_fmt)
        .draw()
        .map_err(err)?;

    // Axis break between the zero slot and the log axis.
    if let Some(z) = xl.zero_x {
        let xb = (z + xl.lo - 0.5) / 2.0;
        let dx = (xl.axis_hi - xl.axis_lo) * 0.006;
        let dy = (y_hi - y_lo) * 0.02;
        for off in [-dx, dx] {
            chart
                .draw_series(std::iter::once(PathElement::new(
                    vec![(xb + off - dx, y_lo), (xb + off + dx, y_lo + dy)],
                    TEXT_COLOUR.stroke_width(stroke(s, 1.0)),
                )))
                .map_err(err)?;
        }
    }

    let in_view = |x: f64, y: f64| {
        x.is_finite()
            && y.is_finite()
            && (y_lo..=y_hi).contains(&y)
            && (xl.axis_lo..=xl.axis_hi).contains(&x)
    };

    // Fitted 4PL over the tested range +- 0.5 log.
    let fit = curve
        .fit
        .as_ref()
        .filter(|f| [f.top, f.bottom, f.hill_slope, f.log_ic50].iter().all(|v| v.is_finite()));
    // The band is drawn for a measured IC50 only: a censored curve is an extrapolation.
    let band_fit = fit.filter(|f| opts.confidence_band && f.censor.is_exact());
    if let Some(f) = band_fit {
        let (a, b) = (xl.lo - 0.5, xl.hi + 0.5);
        let band: Option<Vec<(f64, f64, f64)>> = (0..120)
            .map(|i| {
                let x = a + (b - a) * f64::from(i) / 119.0;
                f.band(x).map(|(lo, hi)| (x, lo.clamp(y_lo, y_hi), hi.clamp(y_lo, y_hi)))
            })
            .collect();
        if let Some(band) = band {
            let poly: Vec<(f64, f64)> = band
                .iter()
                .map(|&(x, _, hi)| (x, hi))
                .chain(band.iter().rev().map(|&(x, lo, _)| (x, lo)))
                .collect();
            let fill = CURVE_COLOUR.mix(0.18).filled();
            chart
                .draw_series(std::iter::once(Polygon::new(poly, fill)))
                .map_err(err)?
                .label("95% confidence band")
                .legend(move |(x, y)| {
                    Rectangle::new(
                        [(x - px(s, 8.0), y - px(s, 5.0)), (x + px(s, 8.0), y + px(s, 5.0))],
                        fill,
                    )
                });
        }
    }
    if let Some(f) = fit {
        let (a, b) = (xl.lo - 0.5, xl.hi + 0.5);
        let curve_pts: Vec<(f64, f64)> = (0..200)
            .map(|i| {
                let x = a + (b - a) * f64::from(i) / 199.0;
                (x, f.value(x))
            })
            .filter(|&(x, y)| x.is_finite() && y.is_finite())
            .map(|(x, y)| (x, y.clamp(y_lo, y_hi)))
            .collect();
        let label = match f.curve {
            Some(FittedCurve::TwoSite { .. }) => "two-site fit",
            _ if curve.functional.as_ref().is_some_and(|n| n.role == FunctionalRole::Agonist) => {
                "agonist fit"
            }
            _ => "4PL fit",
        };
        chart
            .draw_series(LineSeries::new(curve_pts, CURVE_COLOUR.stroke_width(stroke(s, 2.5))))
            .map_err(err)?
            .label(label)
            .legend(move |(x, y)| {
                PathElement::new(
                    vec![(x - px(s, 8.0), y), (x + px(s, 8.0), y)],
                    CURVE_COLOUR.stroke_width(stroke(s, 2.5)),
                )
            });
    }

    // Corners by how much they hold: the emptiest takes the legend, the next a censored label.
    let mut occupied: Vec<(f64, f64)> =
        curve.points.iter().filter_map(|p| Some((xl.x_of(p.conc_nm)?, p.y))).collect();
    if let Some(f) = fit {
        occupied.extend((0..50).map(|i| {
            let x = xl.lo - 0.5 + (xl.hi - xl.lo + 1.0) * f64::from(i) / 49.0;
            (x, f.value(x))
        }));
    }
    let ki_x = fit.filter(|_| opts.mark_ki).and_then(|f| {
        let x = log_molar(f.ki_nm)?;
        (f.censor.is_exact() && x > xl.axis_lo && x < xl.axis_hi).then_some(x)
    });
    if let Some(kx) = ki_x {
        // The Ki label sits at the bottom, left of the marker: keep the legend off it.
        let w = (xl.axis_hi - xl.axis_lo) * 0.2;
        occupied.extend((0..6).map(|i| (kx - w * f64::from(i) / 5.0, y_lo + (y_hi - y_lo) * 0.06)));
    }
    let corners = corners_by_emptiness(&occupied, &xl, y_lo, y_hi);
    let (legend_corner, label_corner) = (corners[0], corners[1]);

    // IC50: a dashed line at log IC50 (only when measured), a label either way.
    if let (Some(f), Some(label)) = (fit, ic50_annotation(curve)) {
        let label_style = ("sans-serif", 17.0 * s).into_font().color(&TEXT_COLOUR);
        if f.censor.is_exact() && f.log_ic50 > xl.axis_lo && f.log_ic50 < xl.axis_hi {
            let mid = (f.top + f.bottom) / 2.0;
            let mid_c = mid.clamp(y_lo, y_hi);
            chart
                .draw_series(DashedLineSeries::new(
                    vec![(f.log_ic50, y_lo), (f.log_ic50, mid_c)],
                    px(s, 6.0),
                    px(s, 4.0),
                    IC50_COLOUR.stroke_width(stroke(s, 1.2)),
                ))
                .map_err(err)?;
            // Label in the empty corner next to the midpoint: below-left of a falling
            // curve, above-left of a rising one.
            let falling = f.hill_slope < 0.0;
            let dy = (y_hi - y_lo) * 0.05;
            let ly = if falling { mid_c - dy } else { mid_c + dy };
            let (lx, h) = if f.log_ic50 - xl.axis_lo > 1.6 {
                (f.log_ic50 - 0.08, text_anchor::HPos::Right)
            } else {
                (f.log_ic50 + 0.08, text_anchor::HPos::Left)
            };
            let style = label_style.pos(text_anchor::Pos::new(h, text_anchor::VPos::Center));
            chart.draw_series(std::iter::once(Text::new(label, (lx, ly), style))).map_err(err)?;
        } else {
            // Censored or off-axis: say so in an empty corner, draw no marker.
            let (h, v, pos) = corner_anchor(label_corner, &xl, y_lo, y_hi);
            let style = label_style.pos(text_anchor::Pos::new(h, v));
            chart.draw_series(std::iter::once(Text::new(label, pos, style))).map_err(err)?;
        }
    }

    // Ki: a triangle on the concentration axis and its value.
    if let Some(kx) = ki_x {
        let dy = (y_hi - y_lo) * 0.035;
        let dx = (xl.axis_hi - xl.axis_lo) * 0.012;
        chart
            .draw_series(std::iter::once(Polygon::new(
                vec![(kx, y_lo + dy), (kx - dx, y_lo), (kx + dx, y_lo)],
                KI_COLOUR.filled(),
            )))
            .map_err(err)?;
        let label = format!("Ki {}", curve.ki_text());
        let ly = y_lo + (y_hi - y_lo) * 0.07;
        let (lx, h) = if kx - xl.axis_lo > 1.6 {
            (kx - 0.05, text_anchor::HPos::Right)
        } else {
            (kx + 0.05, text_anchor::HPos::Left)
        };
        let style = ("sans-serif", 16.0 * s)
            .into_font()
            .color(&KI_COLOUR)
            .pos(text_anchor::Pos::new(h, text_anchor::VPos::Center));
        chart.draw_series(std::iter::once(Text::new(label, (lx, ly), style))).map_err(err)?;
    }

    // Replicates: open circles; excluded points: crosses.
    let replicates: Vec<(f64, f64)> = curve
        .points
        .iter()
        .filter(|p| p.excluded.is_none())
        .filter_map(|p| Some((xl.x_of(p.conc_nm)?, p.y)))
        .filter(|&(x, y)| in_view(x, y))
        .collect();
    let excluded: Vec<(f64, f64)> = curve
        .points
        .iter()
        .filter(|p| p.excluded.is_some())
        .filter_map(|p| Some((xl.x_of(p.conc_nm)?, p.y)))
        .filter(|&(x, y)| in_view(x, y))
        .collect();
    let groups = mean_sd_groups(&curve.points, |c| xl.x_of(c));

    // Error bars first, so the mean markers sit on top.
    let cap = (xl.axis_hi - xl.axis_lo) * 0.008;
    for g in &groups {
        let bar = match opts.error_bars {
            ErrorBars::Sd => g.sd,
            ErrorBars::Sem => g.sd.map(|sd| sd / (g.n as f64).sqrt()),
            ErrorBars::None => None,
        };
        let Some(sd) = bar.filter(|v| v.is_finite() && *v > 0.0) else {
            continue;
        };
        let (lo, hi) = ((g.mean - sd).max(y_lo), (g.mean + sd).min(y_hi));
        if !(in_view(g.x, lo) && in_view(g.x, hi)) {
            continue;
        }
        let style = MEAN_COLOUR.stroke_width(stroke(s, 1.2));
        let segs = [
            vec![(g.x, lo), (g.x, hi)],
            vec![(g.x - cap, lo), (g.x + cap, lo)],
            vec![(g.x - cap, hi), (g.x + cap, hi)],
        ];
        chart.draw_series(segs.into_iter().map(|v| PathElement::new(v, style))).map_err(err)?;
    }

    let rep_style = POINT_COLOUR.stroke_width(stroke(s, 1.0));
    if !replicates.is_empty() {
        chart
            .draw_series(replicates.iter().map(|&p| Circle::new(p, px(s, 3.5), rep_style)))
            .map_err(err)?
            .label("replicate")
            .legend(move |c| Circle::new(c, px(s, 3.5), rep_style));
    }
    let mean_pts: Vec<(f64, f64)> =
        groups.iter().map(|g| (g.x, g.mean)).filter(|&(x, y)| in_view(x, y)).collect();
    if !mean_pts.is_empty() {
        chart
            .draw_series(mean_pts.iter().map(|&p| Circle::new(p, px(s, 4.5), MEAN_COLOUR.filled())))
            .map_err(err)?
            .label(match opts.error_bars {
                ErrorBars::Sd => "mean \u{b1} SD",
                ErrorBars::Sem => "mean \u{b1} SEM",
                ErrorBars::None => "mean",
            })
            .legend(move |c| Circle::new(c, px(s, 4.5), MEAN_COLOUR.filled()));
    }
    let ex_style = EXCLUDED_COLOUR.stroke_width(stroke(s, 2.0));
    if !excluded.is_empty() {
        chart
            .draw_series(excluded.iter().map(|&p| Cross::new(p, px(s, 4.5), ex_style)))
            .map_err(err)?
            .label("excluded")
            .legend(move |c| Cross::new(c, px(s, 4.5), ex_style));
    }

    let has_series =
        fit.is_some() || !replicates.is_empty() || !mean_pts.is_empty() || !excluded.is_empty();
    if has_series {
        chart
            .configure_series_labels()
            .position(legend_corner.legend_position())
            .margin(px(s, 10.0))
            .legend_area_size(px(s, 22.0))
            .background_style(WHITE.mix(0.9))
            .border_style(RGBColor(0xBB, 0xBB, 0xBB).stroke_width(stroke(s, 1.0)))
            .label_font(("sans-serif", 16.0 * s).into_font().color(&TEXT_COLOUR))
            .draw()
            .map_err(err)?;
    }
    if replicates.is_empty() && excluded.is_empty() {
        let style = ("sans-serif", 16.0 * s)
            .into_font()
            .color(&IC50_COLOUR)
            .pos(text_anchor::Pos::new(text_anchor::HPos::Center, text_anchor::VPos::Center));
        let pos = ((xl.axis_lo + xl.axis_hi) / 2.0, (y_lo + y_hi) / 2.0);
        chart.draw_series(std::iter::once(Text::new("no data points", pos, style))).map_err(err)?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::derive::rows::{Censor, FitNumbers};
    use crate::fit::models::four_pl::FourPl;
    use crate::fit::models::model::Model;
    use crate::fit::status::CurveStatus;

    fn point(conc_nm: f64, y: f64, excluded: Option<&str>) -> CurvePoint {
        CurvePoint {
            plate: "P1".into(),
            well: "B02".into(),
            conc_nm,
            y,
            excluded: excluded.map(str::to_string),
        }
    }

    /// A falling curve, IC50 2.5 nM, duplicates at 0.1 nM .. 10 µM, one excluded point
    /// and two zero-dose points.
    fn curve() -> CurveRow {
        let (top, bottom, hill, log_ic50) = (100.0, 0.0, -1.0, (2.5e-9f64).log10());
        let mut points = vec![point(0.0, 101.0, None), point(0.0, 97.0, None)];
        for k in 0..9 {
            let c = 0.1 * 10f64.powf(k as f64 * 0.625);
            let y = FourPl.value(c.log10() - 9.0, &[top, bottom, hill, log_ic50]);
            points.push(point(c, y + 3.0, None));
            points.push(point(c, y - 3.0, None));
        }
        points.push(point(1.0, 20.0, Some("ROUT outlier (Q = 1%)")));
        CurveRow {
            experiment: "panel".into(),
            target: "5-HT2A".into(),
            compound: "mianserin".into(),
            plates: vec!["P1".into()],
            radioligand: "[3H]ketanserin".into(),
            radioligand_nm: 1.0,
            kd_nm: 0.5,
            model: "four_parameter".into(),
            n_points: 20,
            fit: Some(FitNumbers {
                top,
                bottom,
                hill_slope: hill,
                log_ic50,
                log_ic50_se: 0.05,
                plateau_hill_se: [1.0, 1.0, 0.05],
                ic50_nm: 2.5,
                ic50_ci_nm: (2.0, 3.1),
                ki_nm: 2.5 / 3.0,
                ki_ci_nm: (2.0 / 3.0, 3.1 / 3.0),
                pki: 9.08,
                pic50: 8.6,
                r_squared: 0.99,
                sy_x: 3.0,
                censor: Censor::Exact,
                two_site: None,
                log_ic50_profile: (f64::NAN, f64::NAN),
                curve: Some(FittedCurve::FourPl {
                    params: [top, bottom, hill, log_ic50],
                    cov: [
                        [1.0, 0.1, 0.0, 0.0],
                        [0.1, 1.0, 0.0, 0.0],
                        [0.0, 0.0, 0.0025, 0.0],
                        [0.0, 0.0, 0.0, 0.0025],
                    ],
                }),
                df: 16,
            }),
            status: CurveStatus::Ok,
            flags: vec![],
            tested_range_nm: (0.1, 10_000.0),
            points,
            n_outliers: 1,
            curve_class: "1.1".into(),
            lack_of_fit_p: f64::NAN,
            comparison: None,
            functional: None,
            response_label: "% specific binding",
        }
    }

    fn censored() -> CurveRow {
        let mut c = curve();
        c.compound = "weak".into();
        if let Some(f) = c.fit.as_mut() {
            f.log_ic50 = -4.2;
            f.ic50_nm = 63_000.0;
            f.censor = Censor::Above;
        }
        for p in &mut c.points {
            p.y = 100.0 - p.conc_nm.max(0.0) / 300.0;
        }
        c.flags = vec!["ic50_above_range".into()];
        c
    }

    fn well_formed(svg: &str) {
        assert!(svg.starts_with("<svg"), "{}", &svg[..svg.len().min(80)]);
        assert!(svg.trim_end().ends_with("</svg>"));
        assert!(!svg.contains("NaN"));
        assert!(!svg.contains("inf"));
    }

    #[test]
    fn svg_has_title_axes_and_curve() {
        let svg = curve_svg(&curve()).expect("svg");
        well_formed(&svg);
        assert!(svg.contains("5-HT2A \u{2014} mianserin"));
        assert!(svg.contains("log10 [compound] (M)"));
        assert!(svg.contains("% specific binding"));
        assert!(svg.contains("IC50 2.5 nM"));
        assert!(svg.contains("stroke=\"#0072B2\""), "fitted curve is drawn");
        // "0" twice: on the y axis and at the zero-dose slot of the x axis.
        assert_eq!(svg.matches(">\n0\n</text>").count(), 2, "zero slot label");
    }

    /// The band is `f -+ t sqrt(g' C g)`: narrowest where the curve is pinned by the plateaus'
    /// small variance, widest near the IC50 where LogIC50 and the slope matter; drawn only with
    /// a covariance and a measured IC50.
    #[test]
    fn confidence_band_from_covariance() {
        let c = curve();
        let f = c.fit.as_ref().expect("fit");
        let log_ic50 = f.log_ic50;
        let t = crate::fit::stats::t975(16);
        let (lo, hi) = f.band(log_ic50).expect("band");
        // At the IC50: dY/dLogIC50 = -(Top - Bottom)/4 * Hill * ln 10, dY/dTop = dY/dBottom = 1/2.
        let g = [0.5, 0.5, 0.0, 100.0 / 4.0 * std::f64::consts::LN_10];
        let var = 0.25 * (1.0 + 1.0 + 0.2) + g[3] * g[3] * 0.0025;
        assert!((hi - lo - 2.0 * t * var.sqrt()).abs() < 1e-9, "{lo} {hi}");
        let (lo_far, hi_far) = f.band(log_ic50 + 4.0).expect("band");
        assert!(hi_far - lo_far < (hi - lo) / 2.0);

        let svg = curve_svg(&c).expect("svg");
        assert!(svg.contains("95% confidence band"));
        let mut censored = c.clone();
        censored.fit.as_mut().expect("fit").censor = Censor::Above;
        assert!(!curve_svg(&censored).expect("svg").contains("95% confidence band"));
        let mut no_cov = c.clone();
        no_cov.fit.as_mut().expect("fit").curve = None;
        assert!(!curve_svg(&no_cov).expect("svg").contains("95% confidence band"));
    }

    /// A two-site fit is drawn with the two-site model (a shoulder between the sites), not as the
    /// 4PL of its high-affinity site.
    #[test]
    fn two_site_curve_is_drawn_as_two_sites() {
        let mut c = curve();
        let f = c.fit.as_mut().expect("fit");
        f.curve = Some(FittedCurve::TwoSite {
            params: [100.0, 0.0, 0.4, -9.0, -6.0],
            cov: [[0.0; 5]; 5],
        });
        // Between the sites the high-affinity 40% has gone: about 60%, where the 4PL of the
        // high site alone would be near 0.
        assert!((f.value(-7.5) - 60.0).abs() < 2.0);
        let svg = curve_svg(&c).expect("svg");
        well_formed(&svg);
        assert!(svg.contains("two-site fit"));
    }

    #[test]
    fn svg_is_deterministic() {
        let c = curve();
        assert_eq!(curve_svg(&c).expect("svg"), curve_svg(&c).expect("svg"));
    }

    #[test]
    fn svg_escapes_user_text() {
        let mut c = curve();
        c.compound = "<script>alert(1)</script> & co".into();
        let svg = curve_svg(&c).expect("svg");
        well_formed(&svg);
        assert!(!svg.contains("<script"));
        assert!(svg.contains("&lt;script&gt;alert(1)&lt;/script&gt; &amp; co"));
    }

    #[test]
    fn svg_without_fit() {
        let mut c = curve();
        c.fit = None;
        c.status = CurveStatus::Failed("fewer than 3 concentrations".into());
        let svg = curve_svg(&c).expect("svg");
        well_formed(&svg);
        assert!(!svg.contains("#0072B2"), "no curve without a fit");
        assert!(svg.contains("No fit (failed: fewer than 3 concentrations)"));
    }

    #[test]
    fn svg_all_excluded_single_point_and_empty() {
        let mut c = curve();
        for p in &mut c.points {
            p.excluded = Some("manual".into());
        }
        well_formed(&curve_svg(&c).expect("all excluded"));

        let mut c = curve();
        c.points.truncate(3);
        c.tested_range_nm = (0.1, 0.1);
        c.fit = None;
        well_formed(&curve_svg(&c).expect("single point"));

        let mut c = curve();
        c.points.clear();
        c.tested_range_nm = (f64::NAN, 0.0);
        let svg = curve_svg(&c).expect("no points");
        well_formed(&svg);
        assert!(svg.contains("no data points"));
    }

    #[test]
    fn svg_guards_nan() {
        let mut c = curve();
        c.points.push(point(f64::NAN, 50.0, None));
        c.points.push(point(10.0, f64::INFINITY, None));
        if let Some(f) = c.fit.as_mut() {
            f.hill_slope = f64::NAN;
            f.ki_nm = f64::NAN;
        }
        well_formed(&curve_svg(&c).expect("svg"));
    }

    #[test]
    fn censored_curve_has_no_marker() {
        let svg = curve_svg(&censored()).expect("svg");
        well_formed(&svg);
        assert!(svg.contains("IC50 &gt; 10 \u{b5}M"), "censored label");
        assert!(!svg.contains("IC50 63"), "no extrapolated value");
        assert!(svg.contains("Ki &gt; 3.33 \u{b5}M"));
    }

    #[test]
    fn png_is_written() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("curve.png");
        curve_png(&curve(), &path, 1.0).expect("png");
        let bytes = std::fs::read(&path).expect("read png");
        assert!(bytes.starts_with(b"\x89PNG"));
        assert!(bytes.len() > 10_000, "png is {} bytes", bytes.len());
        assert!(matches!(curve_png(&curve(), &path, 0.0), Err(PlotError::Scale(_))));
    }

    #[test]
    fn bundled_font_renders_text() {
        ensure_font().expect("font");
        let (w, h) = (200u32, 60u32);
        let mut buf = vec![255u8; (w * h * 3) as usize];
        {
            let root = BitMapBackend::with_buffer(&mut buf, (w, h)).into_drawing_area();
            root.draw_text("IC50 2.5 nM", &("sans-serif", 30.0).into_font().color(&BLACK), (5, 10))
                .expect("draw text");
            root.present().expect("present");
        }
        let dark = buf.chunks(3).filter(|px| px[0] < 100).count();
        assert!(dark > 100, "only {dark} dark pixels: font not used");
    }

    /// Writes sample figures to `$RADBIND_PLOT_SAMPLES` for looking at them:
    /// `RADBIND_PLOT_SAMPLES=/tmp/p cargo test --lib write_samples -- --ignored`.
    #[test]
    #[ignore = "writes files for visual review"]
    fn write_samples() {
        let Some(dir) = std::env::var_os("RADBIND_PLOT_SAMPLES") else {
            return;
        };
        let dir = std::path::PathBuf::from(dir);
        std::fs::create_dir_all(&dir).expect("mkdir");
        let mut nofit = curve();
        nofit.fit = None;
        nofit.status = CurveStatus::Failed("singular Jacobian".into());
        for (name, c) in [("measured", curve()), ("censored", censored()), ("nofit", nofit)] {
            std::fs::write(dir.join(format!("{name}.svg")), curve_svg(&c).expect("svg"))
                .expect("write");
            curve_png(&c, &dir.join(format!("{name}.png")), 1.0).expect("png");
        }
        curve_png(&curve(), &dir.join("measured_x2.png"), 2.0).expect("png");
    }

    #[test]
    fn axis_covers_points_outside_tested_range() {
        let mut c = curve();
        c.tested_range_nm = (1.0, 100.0);
        let xl = XLayout::new(&c);
        assert!(xl.axis_lo < -10.0 && xl.axis_hi > -5.0, "{xl:?}");
    }

    #[test]
    fn mean_and_sd_per_concentration() {
        let pts = vec![
            point(10.0, 40.0, None),
            point(10.0, 60.0, None),
            point(10.0, 0.0, Some("outlier")),
            point(100.0, 5.0, None),
        ];
        let g = mean_sd_groups(&pts, log_molar);
        assert_eq!(g.len(), 2);
        assert!((g[0].x - -8.0).abs() < 1e-12);
        assert!((g[0].mean - 50.0).abs() < 1e-12);
        assert!((g[0].sd.expect("sd") - 200f64.sqrt()).abs() < 1e-9);
        assert_eq!(g[1].sd, None);
    }

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
