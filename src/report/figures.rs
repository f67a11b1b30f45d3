//! Figures beyond the single curve: overlays (all compounds at one target, one compound
//! across targets), residual plots, plate heat maps (CPM and % specific binding with the
//! layout drawn on) and the compound × target selectivity map.
//!
//! Every figure implements [`Figure`] and is rendered by [`to_svg`] (deterministic bytes) or
//! [`to_png`] (the bundled DejaVu Sans, any scale 0.25..=8). Coordinates are guarded: a NaN
//! or infinite value is never drawn. Colours come from one palette ([`palette_colour`]) so a
//! compound has the same colour in every overlay of a run.

use std::collections::BTreeMap;
use std::path::Path;

use plotters::coord::Shift;
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};

use super::plots::{
    EXCLUDED_COLOUR, GRID_COLOUR, PlotError, TEXT_COLOUR, TickedAxis, XLayout, ensure_font,
    mean_sd_groups, px, stroke, y_ticks,
};
use crate::derive::rows::{CurvePoint, CurveRow, PlateRow, WellRow};
use crate::fit::status::CurveStatus;
use crate::saturation::{SaturationRow, SaturationWell};

/// A figure that can be drawn on any plotters backend.
pub trait Figure {
    /// Size in pixels at scale 1.0 (SVG user units).
    fn size(&self) -> (u32, u32);
    /// A short name for error messages, e.g. `overlay 5-HT2A`.
    fn name(&self) -> String;
    /// Draws the whole figure; `s` scales lengths and text (1.0 = [`Figure::size`]).
    ///
    /// # Errors
    /// The backend's message when drawing fails.
    fn draw<DB: DrawingBackend>(&self, root: &DrawingArea<DB, Shift>, s: f64)
    -> Result<(), String>;
}

/// Renders a figure as an SVG document. Same figure, same bytes.
///
/// # Errors
/// [`PlotError::Font`] or [`PlotError::Figure`].
pub fn to_svg(fig: &impl Figure) -> Result<String, PlotError> {
    ensure_font()?;
    let mut svg = String::new();
    {
        let root = SVGBackend::with_string(&mut svg, fig.size()).into_drawing_area();
        let e = |message: String| PlotError::Figure { figure: fig.name(), message };
        fig.draw(&root, 1.0).map_err(e)?;
        root.present().map_err(|x| e(x.to_string()))?;
    }
    Ok(svg)
}

/// Writes a figure as a PNG at `scale` (2.0 doubles the pixel size, for print).
///
/// # Errors
/// [`PlotError::Scale`], [`PlotError::Font`], [`PlotError::Figure`], [`PlotError::Write`].
pub fn to_png(fig: &impl Figure, path: &Path, scale: f64) -> Result<(), PlotError> {
    if !scale.is_finite() || !(0.25..=8.0).contains(&scale) {
        return Err(PlotError::Scale(scale));
    }
    ensure_font()?;
    let (w, h) = fig.size();
    let dim = |v: u32| (f64::from(v) * scale).round() as u32;
    let root = BitMapBackend::new(path, (dim(w), dim(h))).into_drawing_area();
    fig.draw(&root, scale).map_err(|message| PlotError::Figure { figure: fig.name(), message })?;
    root.present()
        .map_err(|e| PlotError::Write { path: path.display().to_string(), message: e.to_string() })
}

/// Okabe-Ito (without yellow) followed by Paul Tol's muted colours; cycles after 15.
const PALETTE: [RGBColor; 15] = [
    RGBColor(0x00, 0x72, 0xB2),
    RGBColor(0xD5, 0x5E, 0x00),
    RGBColor(0x00, 0x9E, 0x73),
    RGBColor(0xCC, 0x79, 0xA7),
    RGBColor(0xE6, 0x9F, 0x00),
    RGBColor(0x56, 0xB4, 0xE9),
    RGBColor(0x1A, 0x1A, 0x1A),
    RGBColor(0x88, 0x22, 0x55),
    RGBColor(0x11, 0x77, 0x33),
    RGBColor(0x33, 0x22, 0x88),
    RGBColor(0x99, 0x99, 0x33),
    RGBColor(0xAA, 0x44, 0x99),
    RGBColor(0x44, 0xAA, 0x99),
    RGBColor(0xDD, 0xCC, 0x77),
    RGBColor(0x88, 0xCC, 0xEE),
];

/// Colour number `i` of the shared palette.
#[must_use]
pub fn palette_colour(i: usize) -> RGBColor {
    PALETTE[i % PALETTE.len()]
}

/// Index of each distinct name in sorted order: the colour key of a run (same compound, same
/// colour in every figure).
#[must_use]
pub fn colour_index<'a>(names: impl Iterator<Item = &'a str>) -> BTreeMap<String, usize> {
    let mut m: BTreeMap<String, usize> = names.map(|n| (n.to_string(), 0)).collect();
    for (i, v) in m.values_mut().enumerate() {
        *v = i;
    }
    m
}

/// Viridis, sampled at 9 stops; `t` in 0..=1 (clamped, NaN gives the first colour).
#[must_use]
pub fn viridis(t: f64) -> RGBColor {
    const STOPS: [(u8, u8, u8); 9] = [
        (0x44, 0x01, 0x54),
        (0x47, 0x2D, 0x7B),
        (0x3B, 0x52, 0x8B),
        (0x2C, 0x72, 0x8E),
        (0x21, 0x91, 0x8C),
        (0x28, 0xAE, 0x80),
        (0x5E, 0xC9, 0x62),
        (0xAD, 0xDC, 0x30),
        (0xFD, 0xE7, 0x25),
    ];
    let t = if t.is_finite() { t.clamp(0.0, 1.0) } else { 0.0 };
    let f = t * (STOPS.len() - 1) as f64;
    let i = (f.floor() as usize).min(STOPS.len() - 2);
    let u = f - i as f64;
    let mix = |a: u8, b: u8| (f64::from(a) + (f64::from(b) - f64::from(a)) * u).round() as u8;
    let (a, b) = (STOPS[i], STOPS[i + 1]);
    RGBColor(mix(a.0, b.0), mix(a.1, b.1), mix(a.2, b.2))
}

/// Black or white, whichever reads better on `c`.
fn ink_on(c: RGBColor) -> RGBColor {
    let lum = 0.299 * f64::from(c.0) + 0.587 * f64::from(c.1) + 0.114 * f64::from(c.2);
    if lum > 140.0 { TEXT_COLOUR } else { WHITE }
}

/// Cuts text to `n` characters with an ellipsis.
fn clip_text(s: &str, n: usize) -> String {
    if s.chars().count() <= n {
        s.to_string()
    } else {
        let mut t: String = s.chars().take(n.saturating_sub(1)).collect();
        t.push('\u{2026}');
        t
    }
}

fn font(s: f64, size: f64) -> TextStyle<'static> {
    ("sans-serif", size * s).into_font().color(&TEXT_COLOUR)
}

fn anchored(style: TextStyle<'static>, h: HPos, v: VPos) -> TextStyle<'static> {
    style.pos(Pos::new(h, v))
}

/// Title (and optional subtitle) centred at the top of `root`.
fn draw_titles<DB: DrawingBackend>(
    root: &DrawingArea<DB, Shift>,
    s: f64,
    title: &str,
    subtitle: &str,
) -> Result<(), String> {
    let (w, _) = root.dim_in_pixel();
    let cx = (w / 2) as i32;
    root.draw_text(title, &anchored(font(s, 24.0), HPos::Center, VPos::Top), (cx, px(s, 12.0)))
        .map_err(|e| e.to_string())?;
    if !subtitle.is_empty() {
        let st = anchored(
            ("sans-serif", 16.0 * s).into_font().color(&RGBColor(0x44, 0x44, 0x44)),
            HPos::Center,
            VPos::Top,
        );
        root.draw_text(subtitle, &st, (cx, px(s, 42.0))).map_err(|e| e.to_string())?;
    }
    Ok(())
}

// ---------------------------------------------------------------------------------------
// Overlays

/// Several curves on one pair of axes, one colour each, with a legend on the right.
/// Points are the mean per concentration (included points only); lines the 4PL fits.
pub struct OverlayFigure<'a> {
    /// Title, e.g. `5-HT2A` or `mianserin`.
    pub title: String,
    /// Subtitle, e.g. the radioligand.
    pub subtitle: String,
    /// (legend label, colour, curve).
    pub series: Vec<(String, RGBColor, &'a CurveRow)>,
}

impl OverlayFigure<'_> {
    /// A curve spanning every series' tested range and points, for a shared x layout.
    fn merged(&self) -> CurveRow {
        let mut points: Vec<CurvePoint> = Vec::new();
        let (mut lo, mut hi) = (f64::INFINITY, f64::NEG_INFINITY);
        for (_, _, c) in &self.series {
            points.extend(c.points.iter().filter(|p| p.conc_nm > 0.0).cloned());
            let (a, b) = c.tested_range_nm;
            if a.is_finite() && a > 0.0 {
                lo = lo.min(a);
            }
            if b.is_finite() && b > 0.0 {
                hi = hi.max(b);
            }
        }
        let base = self.series.first().map(|x| x.2);
        CurveRow {
            experiment: String::new(),
            target: String::new(),
            compound: String::new(),
            plates: Vec::new(),
            radioligand: String::new(),
            radioligand_nm: base.map_or(f64::NAN, |c| c.radioligand_nm),
            kd_nm: base.map_or(f64::NAN, |c| c.kd_nm),
            model: String::new(),
            n_points: points.len(),
            fit: None,
            status: CurveStatus::Ok,
            flags: Vec::new(),
            tested_range_nm: (lo, hi),
            points,
            n_outliers: 0,
            curve_class: String::new(),
            lack_of_fit_p: f64::NAN,
            comparison: None,
            functional: None,
            response_label: "% specific binding",
        }
    }
}

/// y range for a set of values: covers 0..100 and every finite value, on multiples of 20.
fn y_range_of(ys: impl Iterator<Item = f64>) -> (f64, f64) {
    let (lo, hi) =
        ys.filter(|y| y.is_finite()).fold((0.0f64, 100.0f64), |(a, b), y| (a.min(y), b.max(y)));
    let lo = ((lo - 5.0) / 20.0).floor() * 20.0;
    let hi = ((hi + 5.0) / 20.0).ceil() * 20.0;
    (lo.max(-1000.0), hi.min(1000.0).max(lo + 20.0))
}

impl Figure for OverlayFigure<'_> {
    fn size(&self) -> (u32, u32) {
        (1000, 600)
    }

    fn name(&self) -> String {
        format!("overlay {}", self.title)
    }

    fn draw<DB: DrawingBackend>(
        &self,
        root: &DrawingArea<DB, Shift>,
        s: f64,
    ) -> Result<(), String> {
        let err = |e: DrawingAreaErrorKind<DB::ErrorType>| e.to_string();
        root.fill(&WHITE).map_err(err)?;
        draw_titles(root, s, &self.title, &self.subtitle)?;
        let (w, _) = root.dim_in_pixel();
        let legend_w = px(s, 250.0);
        let body = root.margin(px(s, 70.0), px(s, 12.0), px(s, 8.0), 0);
        let (plot_area, legend_area) = body.split_horizontally(w as i32 - legend_w);

        let merged = self.merged();
        let xl = XLayout::new(&merged);
        let groups: Vec<_> =
            self.series.iter().map(|(_, _, c)| mean_sd_groups(&c.points, |v| xl.x_of(v))).collect();
        let (y_lo, y_hi) = y_range_of(groups.iter().flatten().map(|g| g.mean));
        let x_fmt = |v: &f64| format!("{v:.0}").replace('-', "\u{2212}");
        let y_fmt = |v: &f64| format!("{v:.0}").replace('-', "\u{2212}");
        let mut chart = ChartBuilder::on(&plot_area)
            .x_label_area_size(px(s, 52.0))
            .y_label_area_size(px(s, 64.0))
            .build_cartesian_2d(
                TickedAxis { lo: xl.axis_lo, hi: xl.axis_hi, ticks: xl.ticks() },
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
            .y_desc("% specific binding")
            .axis_desc_style(font(s, 19.0))
            .label_style(font(s, 17.0))
            .x_label_formatter(&x_fmt)
            .y_label_formatter(&y_fmt)
            .draw()
            .map_err(err)?;
        let in_view = |x: f64, y: f64| {
            x.is_finite()
                && y.is_finite()
                && (y_lo..=y_hi).contains(&y)
                && (xl.axis_lo..=xl.axis_hi).contains(&x)
        };
        for ((_, colour, c), g) in self.series.iter().zip(&groups) {
            let colour = *colour;
            if let Some(f) = c.fit.as_ref().filter(|f| {
                [f.top, f.bottom, f.hill_slope, f.log_ic50].iter().all(|v| v.is_finite())
            }) {
                let (a, b) = (xl.lo - 0.5, xl.hi + 0.5);
                let pts: Vec<(f64, f64)> = (0..200)
                    .map(|i| {
                        let x = a + (b - a) * f64::from(i) / 199.0;
                        (x, f.value(x))
                    })
                    .filter(|&(x, y)| x.is_finite() && y.is_finite())
                    .map(|(x, y)| (x, y.clamp(y_lo, y_hi)))
                    .collect();
                // A censored IC50: the line is an extrapolation; draw it dashed.
                let style = colour.stroke_width(stroke(s, 2.2));
                if f.censor.is_exact() {
                    chart.draw_series(LineSeries::new(pts, style)).map_err(err)?;
                } else {
                    chart
                        .draw_series(DashedLineSeries::new(pts, px(s, 7.0), px(s, 5.0), style))
                        .map_err(err)?;
                }
            }
            let pts: Vec<(f64, f64)> =
                g.iter().map(|g| (g.x, g.mean)).filter(|&(x, y)| in_view(x, y)).collect();
            chart
                .draw_series(pts.into_iter().map(|p| Circle::new(p, px(s, 4.5), colour.filled())))
                .map_err(err)?;
        }

        // Legend: one line per series, clipped to the legend area.
        let lh = px(s, 24.0);
        let top = px(s, 30.0);
        let max_rows = ((legend_area.dim_in_pixel().1 as i32 - top) / lh.max(1)).max(1) as usize;
        for (k, (label, colour, c)) in self.series.iter().enumerate().take(max_rows) {
            let y = top + lh * k as i32;
            let dashed = c.fit.as_ref().is_some_and(|f| !f.censor.is_exact());
            let x0 = px(s, 10.0);
            if dashed {
                for seg in 0..3 {
                    let a = x0 + px(s, 10.0) * seg;
                    legend_area
                        .draw(&PathElement::new(
                            vec![(a, y), (a + px(s, 6.0), y)],
                            colour.stroke_width(stroke(s, 2.2)),
                        ))
                        .map_err(err)?;
                }
            } else {
                legend_area
                    .draw(&PathElement::new(
                        vec![(x0, y), (x0 + px(s, 28.0), y)],
                        colour.stroke_width(stroke(s, 2.2)),
                    ))
                    .map_err(err)?;
            }
            legend_area
                .draw(&Circle::new((x0 + px(s, 14.0), y), px(s, 4.5), colour.filled()))
                .map_err(err)?;
            legend_area
                .draw_text(
                    &clip_text(label, 30),
                    &anchored(font(s, 15.0), HPos::Left, VPos::Center),
                    (x0 + px(s, 36.0), y),
                )
                .map_err(err)?;
        }
        if self.series.len() > max_rows {
            let y = top + lh * max_rows as i32;
            legend_area
                .draw_text(
                    &format!("\u{2026} and {} more", self.series.len() - max_rows),
                    &anchored(font(s, 14.0), HPos::Left, VPos::Center),
                    (px(s, 10.0), y),
                )
                .map_err(err)?;
        }
        Ok(())
    }
}

/// Legend label of a curve in an overlay: `name (Ki 2.35 nM)` or `name (Ki > 5 µM)`.
#[must_use]
pub fn overlay_label(name: &str, c: &CurveRow) -> String {
    format!("{} (Ki {})", clip_text(name, 16), c.ki_text())
}

// ---------------------------------------------------------------------------------------
// Residuals

/// Residuals (observed − fitted, % specific binding) against log concentration.
pub struct ResidualFigure<'a> {
    /// The curve.
    pub curve: &'a CurveRow,
}

/// A symmetric axis limit on a 1-2-5 step covering `m`, and its ticks.
fn symmetric_axis(m: f64) -> (f64, Vec<f64>) {
    let m = if m.is_finite() && m > 0.0 { m * 1.1 } else { 10.0 };
    let step = [1.0, 2.0, 5.0, 10.0, 20.0, 50.0, 100.0, 200.0, 500.0]
        .into_iter()
        .find(|st| m / st <= 3.0)
        .unwrap_or(1000.0);
    let lim = (m / step).ceil() * step;
    let n = (lim / step).round() as i64;
    ((lim), (-n..=n).map(|k| k as f64 * step).collect())
}

impl Figure for ResidualFigure<'_> {
    fn size(&self) -> (u32, u32) {
        (800, 340)
    }

    fn name(&self) -> String {
        format!("residuals {} / {}", self.curve.target, self.curve.compound)
    }

    fn draw<DB: DrawingBackend>(
        &self,
        root: &DrawingArea<DB, Shift>,
        s: f64,
    ) -> Result<(), String> {
        let err = |e: DrawingAreaErrorKind<DB::ErrorType>| e.to_string();
        let c = self.curve;
        root.fill(&WHITE).map_err(err)?;
        draw_titles(root, s, &format!("{} \u{2014} {}: residuals", c.target, c.compound), "")?;
        let area = root.margin(px(s, 44.0), px(s, 12.0), px(s, 8.0), px(s, 28.0));
        let xl = XLayout::new(c);
        let fit = c
            .fit
            .as_ref()
            .filter(|f| [f.top, f.bottom, f.hill_slope, f.log_ic50].iter().all(|v| v.is_finite()));
        let res: Vec<(f64, f64, bool)> = match fit {
            Some(f) => c
                .points
                .iter()
                .filter_map(|p| {
                    let x = xl.x_of(p.conc_nm)?;
                    // A zero dose sits at X = -inf, where the curve equals Top.
                    let fitted = f.value(if p.conc_nm == 0.0 { f64::NEG_INFINITY } else { x });
                    let r = p.y - fitted;
                    r.is_finite().then_some((x, r, p.excluded.is_some()))
                })
                .collect(),
            None => Vec::new(),
        };
        let m = res.iter().map(|r| r.1.abs()).fold(0.0f64, f64::max);
        let (lim, ticks) = symmetric_axis(m);
        let x_fmt = move |v: &f64| {
            if xl.zero_x.is_some_and(|z| (v - z).abs() < 1e-9) {
                "0".to_string()
            } else {
                format!("{v:.0}").replace('-', "\u{2212}")
            }
        };
        let y_fmt = |v: &f64| format!("{v:.0}").replace('-', "\u{2212}");
        let mut chart = ChartBuilder::on(&area)
            .x_label_area_size(px(s, 48.0))
            .y_label_area_size(px(s, 64.0))
            .build_cartesian_2d(
                TickedAxis { lo: xl.axis_lo, hi: xl.axis_hi, ticks: xl.ticks() },
                TickedAxis { lo: -lim, hi: lim, ticks },
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
            .y_desc("residual (% SB)")
            .axis_desc_style(font(s, 17.0))
            .label_style(font(s, 15.0))
            .x_label_formatter(&x_fmt)
            .y_label_formatter(&y_fmt)
            .draw()
            .map_err(err)?;
        chart
            .draw_series(std::iter::once(PathElement::new(
                vec![(xl.axis_lo, 0.0), (xl.axis_hi, 0.0)],
                TEXT_COLOUR.stroke_width(stroke(s, 1.0)),
            )))
            .map_err(err)?;
        if fit.is_none() {
            let st = anchored(font(s, 16.0), HPos::Center, VPos::Center);
            let pos = ((xl.axis_lo + xl.axis_hi) / 2.0, lim / 2.0);
            chart.draw_series(std::iter::once(Text::new("no fit", pos, st))).map_err(err)?;
            return Ok(());
        }
        let grey = RGBColor(0x44, 0x44, 0x44);
        chart
            .draw_series(res.iter().filter(|r| !r.2).map(|&(x, r, _)| {
                Circle::new((x, r), px(s, 4.0), grey.stroke_width(stroke(s, 1.5)))
            }))
            .map_err(err)?;
        chart
            .draw_series(res.iter().filter(|r| r.2).map(|&(x, r, _)| {
                Cross::new((x, r), px(s, 5.0), EXCLUDED_COLOUR.stroke_width(stroke(s, 2.0)))
            }))
            .map_err(err)?;
        Ok(())
    }
}

// ---------------------------------------------------------------------------------------
// Plate heat maps

/// Which value a plate heat map shows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HeatValue {
    /// Counts as read.
    Cpm,
    /// % specific binding.
    PctSpecific,
}

/// One plate as a grid of wells coloured by CPM or % specific binding, with the layout drawn
/// on: `T`/`N`/`B`/`V` in control wells, the compound letter in sample wells, thick outlines
/// around each block of wells of one role and compound, and a cross on excluded wells.
pub struct PlateHeatMap<'a> {
    /// The plate.
    pub plate: &'a PlateRow,
    /// Its wells (any order).
    pub wells: Vec<&'a WellRow>,
    /// What to colour by.
    pub value: HeatValue,
    /// Letter of each compound (the same on every plate of the run).
    pub letters: &'a BTreeMap<String, String>,
}

/// Row (0-based) and column (0-based) of a well label such as `B05` or `AA12`.
#[must_use]
pub fn parse_well(label: &str) -> Option<(usize, usize)> {
    let letters: String = label.chars().take_while(char::is_ascii_alphabetic).collect();
    let digits = &label[letters.len()..];
    if letters.is_empty() || digits.is_empty() || !digits.chars().all(|c| c.is_ascii_digit()) {
        return None;
    }
    let mut row = 0usize;
    for c in letters.chars() {
        row = row * 26 + (c.to_ascii_uppercase() as usize - 'A' as usize + 1);
    }
    let col: usize = digits.parse().ok()?;
    ((1..=96).contains(&col) && (1..=64).contains(&row)).then(|| (row - 1, col - 1))
}

/// Row label of a 0-based row index: A..Z, AA, AB, ...
fn row_label(r: usize) -> String {
    if r < 26 {
        char::from(b'A' + r as u8).to_string()
    } else {
        format!("{}{}", char::from(b'A' + (r / 26 - 1) as u8), char::from(b'A' + (r % 26) as u8))
    }
}

/// Letters for compounds: a, b, c, ... z, then aa, ab, ...
#[must_use]
pub fn compound_letters<'a>(names: impl Iterator<Item = &'a str>) -> BTreeMap<String, String> {
    colour_index(names)
        .into_iter()
        .map(|(n, i)| {
            let l = if i < 26 {
                char::from(b'a' + i as u8).to_string()
            } else {
                format!(
                    "{}{}",
                    char::from(b'a' + ((i / 26 - 1) % 26) as u8),
                    char::from(b'a' + (i % 26) as u8)
                )
            };
            (n, l)
        })
        .collect()
}

impl PlateHeatMap<'_> {
    fn grid(&self) -> (usize, usize, BTreeMap<(usize, usize), &WellRow>) {
        let mut m = BTreeMap::new();
        let (mut nr, mut nc) = (8usize, 12usize);
        for w in &self.wells {
            if let Some((r, c)) = parse_well(&w.well) {
                nr = nr.max(r + 1);
                nc = nc.max(c + 1);
                m.insert((r, c), *w);
            }
        }
        // Round up to a standard plate when close: 96 (8x12), 384 (16x24), 1536 (32x48).
        if nr > 8 || nc > 12 {
            if nr <= 16 && nc <= 24 {
                (nr, nc) = (16, 24);
            } else if nr <= 32 && nc <= 48 {
                (nr, nc) = (32, 48);
            }
        }
        (nr, nc, m)
    }

    fn value_of(&self, w: &WellRow) -> Option<f64> {
        match self.value {
            HeatValue::Cpm => w.cpm,
            HeatValue::PctSpecific => w.pct_specific,
        }
        .filter(|v| v.is_finite())
    }

    /// Colour scale limits: CPM from the plate's min to max; % SB fixed at 0..100.
    fn scale(&self) -> (f64, f64) {
        match self.value {
            HeatValue::PctSpecific => (0.0, 100.0),
            HeatValue::Cpm => {
                let vals: Vec<f64> = self.wells.iter().filter_map(|w| self.value_of(w)).collect();
                let lo = vals.iter().copied().fold(f64::INFINITY, f64::min);
                let hi = vals.iter().copied().fold(f64::NEG_INFINITY, f64::max);
                if lo.is_finite() && hi > lo { (lo, hi) } else { (0.0, 1.0) }
            }
        }
    }

    fn cell_size(&self) -> (i32, usize, usize) {
        let (nr, nc, _) = self.grid();
        let cell = if nc <= 12 {
            46
        } else if nc <= 24 {
            26
        } else {
            14
        };
        (cell, nr, nc)
    }
}

fn role_key(w: &WellRow) -> (String, String) {
    (w.role.to_string(), w.compound.clone().unwrap_or_default())
}

impl Figure for PlateHeatMap<'_> {
    fn size(&self) -> (u32, u32) {
        let (cell, nr, nc) = self.cell_size();
        let w = 50 + cell * nc as i32 + 150;
        let h = 96 + cell * nr as i32 + 34;
        (w.max(500) as u32, h as u32)
    }

    fn name(&self) -> String {
        format!("heat map {}", self.plate.plate)
    }

    #[allow(clippy::too_many_lines)]
    fn draw<DB: DrawingBackend>(
        &self,
        root: &DrawingArea<DB, Shift>,
        s: f64,
    ) -> Result<(), String> {
        let err = |e: DrawingAreaErrorKind<DB::ErrorType>| e.to_string();
        root.fill(&WHITE).map_err(err)?;
        let p = self.plate;
        let what = match self.value {
            HeatValue::Cpm => "CPM",
            HeatValue::PctSpecific => "% specific binding",
        };
        let title = format!("{} \u{b7} {} \u{2014} {what}", p.plate, p.target);
        let sub = format!(
            "{} #{}{}",
            clip_text(&p.source, 48),
            p.index_in_file,
            if p.rotated { " \u{b7} counted rotated 180\u{b0}, shown turned back" } else { "" }
        );
        draw_titles(root, s, &title, &sub)?;
        let (cell, nr, nc) = self.cell_size();
        let (_, _, grid) = self.grid();
        let c = |v: i32| px(s, f64::from(v));
        let (x0, y0) = (c(40), c(96));
        let cs = c(cell);
        let (lo, hi) = self.scale();
        let t_of = |v: f64| (v - lo) / (hi - lo);
        let label_font =
            anchored(font(s, if cell >= 40 { 13.0 } else { 10.0 }), HPos::Center, VPos::Center);
        // Column and row labels.
        for col in 0..nc {
            if nc > 24 && col % 4 != 0 {
                continue;
            }
            root.draw_text(
                &format!("{}", col + 1),
                &label_font,
                (x0 + cs * col as i32 + cs / 2, y0 - c(12)),
            )
            .map_err(err)?;
        }
        for row in 0..nr {
            if nr > 16 && row % 2 != 0 {
                continue;
            }
            root.draw_text(
                &row_label(row),
                &label_font,
                (x0 - c(16), y0 + cs * row as i32 + cs / 2),
            )
            .map_err(err)?;
        }
        let cell_font_size = if cell >= 40 {
            15.0
        } else if cell >= 20 {
            10.0
        } else {
            0.0
        };
        for row in 0..nr {
            for col in 0..nc {
                let (ax, ay) = (x0 + cs * col as i32, y0 + cs * row as i32);
                let rect = [(ax, ay), (ax + cs, ay + cs)];
                let w = grid.get(&(row, col)).copied();
                let fill = match w.and_then(|w| self.value_of(w)) {
                    Some(v) => viridis(t_of(v)),
                    None => RGBColor(0xEE, 0xEE, 0xEE),
                };
                root.draw(&Rectangle::new(rect, fill.filled())).map_err(err)?;
                root.draw(&Rectangle::new(rect, WHITE.stroke_width(stroke(s, 1.0))))
                    .map_err(err)?;
                let Some(w) = w else { continue };
                let tag = match w.role {
                    "total" => "T".to_string(),
                    "nsb" => "N".to_string(),
                    "blank" => "B".to_string(),
                    "vehicle" => "V".to_string(),
                    "sample" => w
                        .compound
                        .as_ref()
                        .and_then(|n| self.letters.get(n).cloned())
                        .unwrap_or_default(),
                    _ => String::new(),
                };
                if cell_font_size > 0.0 && !tag.is_empty() {
                    let st = anchored(
                        ("sans-serif", cell_font_size * s).into_font().color(&ink_on(fill)),
                        HPos::Center,
                        VPos::Center,
                    );
                    root.draw_text(&tag, &st, (ax + cs / 2, ay + cs / 2)).map_err(err)?;
                }
                if w.excluded.is_some() {
                    let m = cs / 6;
                    let style = EXCLUDED_COLOUR.stroke_width(stroke(s, 2.5));
                    root.draw(&PathElement::new(
                        vec![(ax + m, ay + m), (ax + cs - m, ay + cs - m)],
                        style,
                    ))
                    .map_err(err)?;
                    root.draw(&PathElement::new(
                        vec![(ax + cs - m, ay + m), (ax + m, ay + cs - m)],
                        style,
                    ))
                    .map_err(err)?;
                }
            }
        }
        // Block outlines: a thick edge wherever the (role, compound) of neighbours differs.
        let key = |r: usize, c: usize| grid.get(&(r, c)).map(|w| role_key(w));
        let edge = TEXT_COLOUR.stroke_width(stroke(s, 2.5));
        for row in 0..=nr {
            for col in 0..nc {
                let above = if row > 0 { key(row - 1, col) } else { None };
                let below = if row < nr { key(row, col) } else { None };
                if above != below {
                    let (ax, ay) = (x0 + cs * col as i32, y0 + cs * row as i32);
                    root.draw(&PathElement::new(vec![(ax, ay), (ax + cs, ay)], edge))
                        .map_err(err)?;
                }
            }
        }
        for col in 0..=nc {
            for row in 0..nr {
                let left = if col > 0 { key(row, col - 1) } else { None };
                let right = if col < nc { key(row, col) } else { None };
                if left != right {
                    let (ax, ay) = (x0 + cs * col as i32, y0 + cs * row as i32);
                    root.draw(&PathElement::new(vec![(ax, ay), (ax, ay + cs)], edge))
                        .map_err(err)?;
                }
            }
        }
        // Colour bar.
        let bx = x0 + cs * nc as i32 + c(24);
        let (bw, bh) = (c(18), cs * nr as i32);
        let steps = 64;
        for k in 0..steps {
            let t = 1.0 - (f64::from(k) + 0.5) / f64::from(steps);
            let ya = y0 + bh * k / steps;
            let yb = y0 + bh * (k + 1) / steps;
            root.draw(&Rectangle::new([(bx, ya), (bx + bw, yb)], viridis(t).filled()))
                .map_err(err)?;
        }
        root.draw(&Rectangle::new(
            [(bx, y0), (bx + bw, y0 + bh)],
            TEXT_COLOUR.stroke_width(stroke(s, 1.0)),
        ))
        .map_err(err)?;
        let tick_font = anchored(font(s, 13.0), HPos::Left, VPos::Center);
        for k in 0..=4 {
            let t = f64::from(k) / 4.0;
            let v = lo + (hi - lo) * t;
            let y = y0 + bh - (f64::from(bh) * t).round() as i32;
            let text = match self.value {
                HeatValue::Cpm => format!("{v:.0}"),
                HeatValue::PctSpecific => format!("{v:.0}%"),
            };
            root.draw_text(&text.replace('-', "\u{2212}"), &tick_font, (bx + bw + c(6), y))
                .map_err(err)?;
        }
        // Key below the grid.
        let key_text = "T total \u{b7} N NSB \u{b7} B blank \u{b7} V vehicle \u{b7} letters: compounds \u{b7} \u{d7} excluded";
        root.draw_text(
            key_text,
            &anchored(font(s, 13.0), HPos::Left, VPos::Top),
            (x0, y0 + cs * nr as i32 + c(10)),
        )
        .map_err(err)?;
        Ok(())
    }
}

// ---------------------------------------------------------------------------------------
// Selectivity

/// Compound × target map of pKi. Censored values (a bound, not a measurement) are hatched
/// and written with their sign (`< 5.30`); curves without a usable fit are grey (`n.d.`).
pub struct SelectivityFigure<'a> {
    /// Every curve of the run.
    pub curves: &'a [CurveRow],
    /// Column order.
    pub targets: Vec<String>,
    /// Row order.
    pub compounds: Vec<String>,
}

impl SelectivityFigure<'_> {
    fn cell(&self, compound: &str, target: &str) -> Option<&CurveRow> {
        self.curves.iter().find(|c| c.compound == compound && c.target == target)
    }

    /// pKi to colour by: the estimate, or the bound when censored.
    fn pki_value(c: &CurveRow) -> Option<f64> {
        let f = c.fit.as_ref().filter(|_| !c.is_failed())?;
        if f.censor.is_exact() {
            return f.pki.is_finite().then_some(f.pki);
        }
        let text = c.pki_text();
        text.trim_start_matches(['<', '>', ' ']).parse::<f64>().ok()
    }

    fn range(&self) -> (f64, f64) {
        let vals: Vec<f64> = self.curves.iter().filter_map(Self::pki_value).collect();
        let lo = vals.iter().copied().fold(f64::INFINITY, f64::min);
        let hi = vals.iter().copied().fold(f64::NEG_INFINITY, f64::max);
        if lo.is_finite() && hi.is_finite() {
            let (lo, hi) = (lo.floor(), hi.ceil());
            (lo, if hi > lo { hi } else { lo + 1.0 })
        } else {
            (5.0, 10.0)
        }
    }

    fn cell_wh(&self) -> (i32, i32) {
        (92, 40)
    }
}

impl Figure for SelectivityFigure<'_> {
    fn size(&self) -> (u32, u32) {
        let (cw, ch) = self.cell_wh();
        let w = 190 + cw * self.targets.len() as i32 + 130;
        let h = 110 + ch * self.compounds.len() as i32 + 60;
        (w.max(560) as u32, h as u32)
    }

    fn name(&self) -> String {
        "selectivity".to_string()
    }

    #[allow(clippy::too_many_lines)]
    fn draw<DB: DrawingBackend>(
        &self,
        root: &DrawingArea<DB, Shift>,
        s: f64,
    ) -> Result<(), String> {
        let err = |e: DrawingAreaErrorKind<DB::ErrorType>| e.to_string();
        root.fill(&WHITE).map_err(err)?;
        draw_titles(root, s, "Selectivity: pKi by compound and target", "")?;
        let c = |v: i32| px(s, f64::from(v));
        let (cw, ch) = self.cell_wh();
        let (cw, ch) = (c(cw), c(ch));
        let (x0, y0) = (c(190), c(110));
        let (lo, hi) = self.range();
        let head = anchored(font(s, 14.0), HPos::Center, VPos::Bottom);
        for (j, t) in self.targets.iter().enumerate() {
            root.draw_text(&clip_text(t, 12), &head, (x0 + cw * j as i32 + cw / 2, y0 - c(8)))
                .map_err(err)?;
        }
        let rowf = anchored(font(s, 14.0), HPos::Right, VPos::Center);
        for (i, comp) in self.compounds.iter().enumerate() {
            let y = y0 + ch * i as i32;
            root.draw_text(&clip_text(comp, 22), &rowf, (x0 - c(10), y + ch / 2)).map_err(err)?;
            for (j, t) in self.targets.iter().enumerate() {
                let x = x0 + cw * j as i32;
                let rect = [(x, y), (x + cw, y + ch)];
                let curve = self.cell(comp, t);
                let value = curve.and_then(Self::pki_value);
                let censored =
                    curve.is_some_and(|c| c.fit.as_ref().is_some_and(|f| !f.censor.is_exact()));
                let fill = match value {
                    Some(v) if censored => {
                        // A bound: a washed-out colour, hatched.
                        let col = viridis((v - lo) / (hi - lo));
                        RGBColor(
                            ((u16::from(col.0) + 2 * 255) / 3) as u8,
                            ((u16::from(col.1) + 2 * 255) / 3) as u8,
                            ((u16::from(col.2) + 2 * 255) / 3) as u8,
                        )
                    }
                    Some(v) => viridis((v - lo) / (hi - lo)),
                    None => RGBColor(0xEE, 0xEE, 0xEE),
                };
                root.draw(&Rectangle::new(rect, fill.filled())).map_err(err)?;
                if censored && value.is_some() {
                    hatch(
                        root,
                        rect,
                        c(9),
                        RGBColor(0x88, 0x88, 0x88).stroke_width(stroke(s, 1.0)),
                    )?;
                }
                root.draw(&Rectangle::new(rect, WHITE.stroke_width(stroke(s, 2.0))))
                    .map_err(err)?;
                let text = match (curve, value) {
                    (None, _) => String::new(),
                    (Some(c), Some(_)) => c.pki_text(),
                    (Some(_), None) => "n.d.".to_string(),
                };
                if !text.is_empty() {
                    let ink = if censored { TEXT_COLOUR } else { ink_on(fill) };
                    let st = anchored(
                        ("sans-serif", 15.0 * s).into_font().color(&ink),
                        HPos::Center,
                        VPos::Center,
                    );
                    root.draw_text(&text, &st, (x + cw / 2, y + ch / 2)).map_err(err)?;
                }
            }
        }
        // Colour bar and key.
        let bx = x0 + cw * self.targets.len() as i32 + c(28);
        let bh = (ch * self.compounds.len() as i32).max(c(120));
        let bw = c(18);
        let steps = 64;
        for k in 0..steps {
            let t = 1.0 - (f64::from(k) + 0.5) / f64::from(steps);
            let ya = y0 + bh * k / steps;
            let yb = y0 + bh * (k + 1) / steps;
            root.draw(&Rectangle::new([(bx, ya), (bx + bw, yb)], viridis(t).filled()))
                .map_err(err)?;
        }
        root.draw(&Rectangle::new(
            [(bx, y0), (bx + bw, y0 + bh)],
            TEXT_COLOUR.stroke_width(stroke(s, 1.0)),
        ))
        .map_err(err)?;
        let tick_font = anchored(font(s, 13.0), HPos::Left, VPos::Center);
        let n = (hi - lo).round().max(1.0) as i32;
        for k in 0..=n {
            let v = lo + f64::from(k);
            let y = y0 + bh - (f64::from(bh) * f64::from(k) / f64::from(n)).round() as i32;
            root.draw_text(&format!("{v:.0}"), &tick_font, (bx + bw + c(6), y)).map_err(err)?;
        }
        root.draw_text("pKi", &anchored(font(s, 13.0), HPos::Left, VPos::Bottom), (bx, y0 - c(8)))
            .map_err(err)?;
        let ky = y0 + (ch * self.compounds.len() as i32).max(bh) + c(14);
        let kr = [(x0, ky), (x0 + c(28), ky + c(18))];
        root.draw(&Rectangle::new(kr, RGBColor(0xDD, 0xDD, 0xDD).filled())).map_err(err)?;
        hatch(root, kr, c(7), RGBColor(0x88, 0x88, 0x88).stroke_width(stroke(s, 1.0)))?;
        root.draw_text(
            "hatched: censored, the value is a bound (IC50 outside the tested range) \u{b7} n.d.: no usable fit",
            &anchored(font(s, 13.0), HPos::Left, VPos::Center),
            (x0 + c(36), ky + c(9)),
        )
        .map_err(err)?;
        Ok(())
    }
}

/// Diagonal hatching inside a pixel rectangle (lines x + y = const, clipped).
fn hatch<DB: DrawingBackend>(
    root: &DrawingArea<DB, Shift>,
    rect: [(i32, i32); 2],
    gap: i32,
    style: ShapeStyle,
) -> Result<(), String> {
    let [(x0, y0), (x1, y1)] = rect;
    let gap = gap.max(2);
    let mut k = x0 + y0 + gap;
    while k < x1 + y1 {
        // Points on x + y = k inside the rectangle.
        let (ax, ay) = if k - y0 <= x1 { (k - y0, y0) } else { (x1, k - x1) };
        let (bx, by) = if k - y1 >= x0 { (k - y1, y1) } else { (x0, k - x0) };
        root.draw(&PathElement::new(vec![(ax, ay), (bx, by)], style)).map_err(|e| e.to_string())?;
        k += gap;
    }
    Ok(())
}

// ---------------------------------------------------------------------------------------
// Saturation

/// A saturation experiment: total and NSB wells (CPM) against added radioligand (nM, linear
/// axis as in Prism's saturation graphs), with the fitted total, NSB and specific binding
/// (`Bmax L^h / (Kd^h + L^h)`, `NS L + Background`). With the depletion correction the fit is
/// in free concentration; the curves are then drawn against free [L] too.
pub struct SaturationFigure<'a> {
    /// The saturation result.
    pub row: &'a SaturationRow,
}

impl Figure for SaturationFigure<'_> {
    fn size(&self) -> (u32, u32) {
        (800, 600)
    }

    fn name(&self) -> String {
        format!("saturation {}", self.row.target)
    }

    fn draw<DB: DrawingBackend>(
        &self,
        root: &DrawingArea<DB, Shift>,
        s: f64,
    ) -> Result<(), String> {
        let err = |e: DrawingAreaErrorKind<DB::ErrorType>| e.to_string();
        let r = self.row;
        root.fill(&WHITE).map_err(err)?;
        let sub = match r.fit.as_ref().filter(|f| f.kd_nm.is_finite()) {
            Some(f) => {
                let bmax = if r.bmax_fmol_per_mg.is_finite() {
                    format!("{:.0} fmol/mg", r.bmax_fmol_per_mg)
                } else {
                    format!("{:.0} CPM", f.bmax)
                };
                format!(
                    "Kd {} nM (95% CI {}\u{2013}{})  \u{b7}  Bmax {bmax}  \u{b7}  {}",
                    crate::units::nm_number(f.kd_nm),
                    crate::units::nm_number(f.kd_ci_nm.0),
                    crate::units::nm_number(f.kd_ci_nm.1),
                    r.radioligand
                )
            }
            None => format!("no fit ({})", r.status),
        };
        draw_titles(root, s, &format!("{}: saturation binding", r.target), &sub)?;
        let area = root.margin(px(s, 70.0), px(s, 16.0), px(s, 8.0), px(s, 24.0));
        let wells: Vec<&SaturationWell> =
            r.wells.iter().filter(|w| w.l_nm.is_finite() && w.cpm.is_finite()).collect();
        let x_hi = wells.iter().map(|w| w.l_nm).fold(0.0f64, f64::max).max(1e-3) * 1.05;
        let y_hi = wells.iter().map(|w| w.cpm).fold(0.0f64, f64::max).max(1.0) * 1.1;
        let mut chart = ChartBuilder::on(&area)
            .x_label_area_size(px(s, 48.0))
            .y_label_area_size(px(s, 72.0))
            .build_cartesian_2d(0.0..x_hi, 0.0..y_hi)
            .map_err(err)?;
        chart
            .configure_mesh()
            .disable_x_mesh()
            .bold_line_style(GRID_COLOUR.stroke_width(stroke(s, 1.0)))
            .light_line_style(TRANSPARENT)
            .axis_style(TEXT_COLOUR.stroke_width(stroke(s, 1.0)))
            .x_desc(if r.depletion_corrected {
                "[radioligand] (nM; points at added, curves at free [L])"
            } else {
                "[radioligand] added (nM)"
            })
            .y_desc("bound (CPM)")
            .y_label_formatter(&|v: &f64| format!("{v:.0}"))
            .axis_desc_style(font(s, 17.0))
            .label_style(font(s, 15.0))
            .draw()
            .map_err(err)?;
        let (total_c, nsb_c, spec_c) = (palette_colour(0), palette_colour(1), palette_colour(2));
        let point = |w: &&SaturationWell| (w.l_nm, w.cpm);
        chart
            .draw_series(
                wells
                    .iter()
                    .filter(|w| w.excluded.is_none() && w.total)
                    .map(|w| Circle::new(point(w), px(s, 4.0), total_c.filled())),
            )
            .map_err(err)?
            .label("total")
            .legend(move |(x, y)| Circle::new((x + 10, y), 4, total_c.filled()));
        chart
            .draw_series(
                wells
                    .iter()
                    .filter(|w| w.excluded.is_none() && !w.total)
                    .map(|w| TriangleMarker::new(point(w), px(s, 5.0), nsb_c.filled())),
            )
            .map_err(err)?
            .label("nonspecific")
            .legend(move |(x, y)| TriangleMarker::new((x + 10, y), 5, nsb_c.filled()));
        chart
            .draw_series(wells.iter().filter(|w| w.excluded.is_some()).map(|w| {
                Cross::new(point(w), px(s, 5.0), EXCLUDED_COLOUR.stroke_width(stroke(s, 2.0)))
            }))
            .map_err(err)?;
        if let Some(fit) = &r.fit {
            let xs: Vec<f64> = (0..=200).map(|i| x_hi * f64::from(i) / 200.0).collect();
            let line = |f: &dyn Fn(f64) -> f64| -> Vec<(f64, f64)> {
                xs.iter().map(|&x| (x, f(x))).filter(|p| p.1.is_finite()).collect()
            };
            for (pts, colour, label) in [
                (line(&|x| fit.total_at(x)), total_c, "total (fit)"),
                (line(&|x| fit.nsb_at(x)), nsb_c, "nonspecific (fit)"),
                (line(&|x| fit.specific_at(x)), spec_c, "specific (fit)"),
            ] {
                chart
                    .draw_series(std::iter::once(PathElement::new(
                        pts,
                        colour.stroke_width(stroke(s, 2.0)),
                    )))
                    .map_err(err)?
                    .label(label)
                    .legend(move |(x, y)| {
                        PathElement::new(vec![(x, y), (x + 20, y)], colour.stroke_width(2))
                    });
            }
        }
        chart
            .configure_series_labels()
            .position(SeriesLabelPosition::LowerRight)
            .background_style(WHITE.mix(0.9))
            .border_style(GRID_COLOUR)
            .label_font(font(s, 14.0))
            .draw()
            .map_err(err)?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wells_parse() {
        assert_eq!(parse_well("A01"), Some((0, 0)));
        assert_eq!(parse_well("H12"), Some((7, 11)));
        assert_eq!(parse_well("P24"), Some((15, 23)));
        assert_eq!(parse_well("AF48"), Some((31, 47)));
        assert_eq!(parse_well("12"), None);
        assert_eq!(parse_well("A"), None);
        assert_eq!(parse_well("A0"), None);
        assert_eq!(row_label(27), "AB");
    }

    #[test]
    fn palette_and_letters_are_sorted() {
        let m = colour_index(["b", "a", "b", "c"].into_iter());
        assert_eq!(m["a"], 0);
        assert_eq!(m["c"], 2);
        let l = compound_letters(["z", "y"].into_iter());
        assert_eq!(l["y"], "a");
        assert_eq!(viridis(f64::NAN), viridis(0.0));
        assert_eq!(viridis(2.0), RGBColor(0xFD, 0xE7, 0x25));
    }

    #[test]
    fn symmetric_axis_covers() {
        let (lim, ticks) = symmetric_axis(13.0);
        assert!(lim >= 13.0);
        assert_eq!(ticks.first().copied(), Some(-lim));
        let (lim, _) = symmetric_axis(f64::NAN);
        assert!(lim > 0.0);
    }
}
