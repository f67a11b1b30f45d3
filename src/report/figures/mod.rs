//! Every figure radbind draws, through one path: the dose-response curve of each
//! [`CurveRow`](super::CurveRow), overlays (all compounds at one target, one compound across
//! targets), residual plots, plate heat maps (CPM and % response with the layout drawn on), the
//! compound × target selectivity map and the saturation figure.
//!
//! Owns the [`Figure`] trait and its rendering: [`to_svg`] (deterministic bytes) and [`to_png`]
//! (the bundled DejaVu Sans, registered with plotters' `ab_glyph` font table on first use, so
//! PNGs render the same on a machine without fonts; any scale 0.25..=8), the shared chart
//! set-up (`chart`: label areas, mesh, axes, fonts), titles, the colours and the palette
//! ([`palette_colour`]: a compound has the same colour in every overlay of a run). One file per
//! figure kind; `write` renders every figure of a run into the staging directory.
//! Coordinates are guarded: a NaN or infinite value is never drawn. Axis labels come from the
//! assay (`CurveRow::response_label`), the potency word (IC50 or EC50) from the curve.

pub mod control_chart;
pub mod curve;
pub(super) mod dose;
pub mod heat_map;
pub mod overlay;
pub mod primary;
mod raster;
pub mod residual;
pub mod saturation;
mod scan;
pub mod selectivity_map;
mod svg;
pub(super) mod write;

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::OnceLock;

use plotters::coord::Shift;
use plotters::coord::ranged1d::{
    AsRangedCoord, DefaultFormatting, KeyPointHint, Ranged, ValueFormatter,
};
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};
use plotters::style::{FontStyle, register_font};

use super::FigureRef;

pub use control_chart::{ChartSeries, ControlChart};
pub use curve::CurveFigure;
pub use heat_map::{HeatValue, PlateHeatMap, compound_letters, plate_compounds};
pub use overlay::{OverlayFigure, overlay_label};
pub use residual::ResidualFigure;
pub use saturation::SaturationFigure;
pub use selectivity_map::SelectivityFigure;

/// DejaVu Sans, bundled so text renders without system fonts (licence in `assets/fonts`).
const FONT_BYTES: &[u8] = include_bytes!("../../../assets/fonts/DejaVuSans.ttf");

/// Text and axes.
const TEXT_COLOUR: RGBColor = RGBColor(0x1A, 0x1A, 0x1A);
/// Horizontal grid lines.
const GRID_COLOUR: RGBColor = RGBColor(0xE6, 0xE6, 0xE6);
/// Subtitles.
const SUBTITLE_COLOUR: RGBColor = RGBColor(0x44, 0x44, 0x44);
/// Excluded points and wells (Okabe-Ito vermillion).
const EXCLUDED_COLOUR: RGBColor = RGBColor(0xD5, 0x5E, 0x00);

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
    #[error("could not draw the figure {figure}: {message}")]
    Figure {
        /// Which figure (e.g. `overlay 5-HT2A`, `5-HT2A / mianserin`).
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

/// Registers the bundled font as plotters' `sans-serif` once per process.
fn ensure_font() -> Result<(), PlotError> {
    static REGISTERED: OnceLock<bool> = OnceLock::new();
    let ok = *REGISTERED
        .get_or_init(|| register_font("sans-serif", FontStyle::Normal, FONT_BYTES).is_ok());
    if ok { Ok(()) } else { Err(PlotError::Font) }
}

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
/// The figure is drawn at [`svg::SUBPIXELS`] times its size and written back at scale 1, so
/// coordinates keep two decimals (no integer-pixel stair steps in curves).
///
/// # Errors
/// [`PlotError::Font`] or [`PlotError::Figure`].
pub fn to_svg(fig: &impl Figure) -> Result<String, PlotError> {
    render(fig, None).map(|(svg, _)| svg)
}

/// Renders a figure as an SVG document and, with a scale (2.0 doubles the pixel size, for
/// print), as a PNG drawn from the same drawing commands in the same pass
/// ([`raster`]: the bundled font, anti-aliased), so the PNG shows what the SVG shows.
///
/// # Errors
/// [`PlotError::Scale`], [`PlotError::Font`] or [`PlotError::Figure`].
pub fn render(
    fig: &impl Figure,
    png_scale: Option<f64>,
) -> Result<(String, Option<Vec<u8>>), PlotError> {
    if let Some(scale) = png_scale
        && (!scale.is_finite() || !(0.25..=8.0).contains(&scale))
    {
        return Err(PlotError::Scale(scale));
    }
    ensure_font()?;
    let e = |message: String| PlotError::Figure { figure: fig.name(), message };
    let mut canvas = match png_scale {
        Some(scale) => Some(raster::Canvas::new(fig.size(), scale, svg::SUBPIXELS).map_err(e)?),
        None => None,
    };
    let mut doc = String::new();
    {
        let root = svg::FineSvg::new(&mut doc, fig.size(), canvas.as_mut()).into_drawing_area();
        fig.draw(&root, f64::from(svg::SUBPIXELS)).map_err(e)?;
        root.present().map_err(|x| e(x.to_string()))?;
    }
    let png = match canvas {
        Some(c) => Some(c.encode_png().map_err(|m| e(format!("encoding the PNG: {m}")))?),
        None => None,
    };
    Ok((doc, png))
}

/// Writes a figure as a PNG at `scale` (2.0 doubles the pixel size, for print).
///
/// # Errors
/// [`PlotError::Scale`], [`PlotError::Font`], [`PlotError::Figure`], [`PlotError::Write`].
pub fn to_png(fig: &impl Figure, path: &Path, scale: f64) -> Result<(), PlotError> {
    let (_, png) = render(fig, Some(scale))?;
    std::fs::write(path, png.unwrap_or_default())
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

/// A vertical viridis colour bar with its frame and tick labels: the top of the box at
/// `(x, y)` is the top of the scale (t = 1, value `hi`), the bottom t = 0 (value `lo`), drawn
/// as 64 bands of `size = (width, height)` pixels. Ticks sit at round values
/// ([`nice_ticks`]), labelled with `suffix` (`%`, or nothing).
fn colour_bar<DB: DrawingBackend>(
    root: &DrawingArea<DB, Shift>,
    s: f64,
    (bx, y0): (i32, i32),
    (bw, bh): (i32, i32),
    (lo, hi): (f64, f64),
    suffix: &str,
) -> Result<(), String> {
    let err = |e: DrawingAreaErrorKind<DB::ErrorType>| e.to_string();
    let steps = 64;
    for k in 0..steps {
        let t = 1.0 - (f64::from(k) + 0.5) / f64::from(steps);
        let ya = y0 + bh * k / steps;
        // Each band overlaps the next by half a pixel, so anti-aliasing leaves no seams.
        let overlap = if k + 1 < steps { px(s, 0.5) } else { 0 };
        let yb = y0 + bh * (k + 1) / steps + overlap;
        root.draw(&Rectangle::new([(bx, ya), (bx + bw, yb)], viridis(t).filled())).map_err(err)?;
    }
    root.draw(&Rectangle::new(
        [(bx, y0), (bx + bw, y0 + bh)],
        TEXT_COLOUR.stroke_width(stroke(s, 1.0)),
    ))
    .map_err(err)?;
    let tick_font = anchored(font(s, 13.0), HPos::Left, VPos::Center);
    let ticks = nice_ticks(lo, hi, 6);
    for &v in &ticks.values {
        let t = if hi > lo { (v - lo) / (hi - lo) } else { 0.5 };
        let y = y0 + bh - (f64::from(bh) * t).round() as i32;
        root.draw(&PathElement::new(
            vec![(bx + bw, y), (bx + bw + px(s, 4.0), y)],
            TEXT_COLOUR.stroke_width(stroke(s, 1.0)),
        ))
        .map_err(err)?;
        let text = format!("{}{suffix}", ticks.label(v));
        root.draw_text(&text, &tick_font, (bx + bw + px(s, 7.0), y)).map_err(err)?;
    }
    Ok(())
}

/// Round tick values inside a range and the step between them.
#[derive(Debug, Clone, PartialEq)]
struct Ticks {
    values: Vec<f64>,
    step: f64,
}

impl Ticks {
    /// A tick's text: as many decimals as the step needs, a true minus sign.
    fn label(&self, v: f64) -> String {
        let decimals = (-self.step.log10().floor()).max(0.0) as usize;
        let v = if v.abs() < self.step * 1e-9 { 0.0 } else { v };
        format!("{v:.decimals$}").replace('-', "\u{2212}")
    }
}

/// Ticks at round values inside `lo..=hi`: multiples of a step of 1, 2 or 5 × 10^k, the
/// smallest step that gives at most `max` ticks (at least 2 ticks where the range allows).
/// A range of CPM from 351 to 5,580 gets 1000, 2000, …, 5000.
fn nice_ticks(lo: f64, hi: f64, max: usize) -> Ticks {
    if !(lo.is_finite() && hi.is_finite()) || hi <= lo {
        let v = if lo.is_finite() { lo } else { 0.0 };
        return Ticks { values: vec![v], step: 1.0 };
    }
    let max = max.max(2) as f64;
    let raw = (hi - lo) / (max - 1.0);
    let mag = 10f64.powf(raw.log10().floor());
    let mut step = mag * 10.0;
    for m in [1.0, 2.0, 5.0, 10.0] {
        let st = m * mag;
        let n = (hi / st + 1e-9).floor() - (lo / st - 1e-9).ceil() + 1.0;
        if n <= max {
            step = st;
            break;
        }
    }
    let first = (lo / step - 1e-9).ceil() as i64;
    let last = (hi / step + 1e-9).floor() as i64;
    let values = (first..=last).map(|k| k as f64 * step).collect();
    Ticks { values, step }
}

/// Cuts text to `n` characters with an ellipsis.
fn clip_text(s: &str, n: usize) -> String {
    let s = &*crate::units::printable(s);
    if s.chars().count() <= n {
        s.to_string()
    } else {
        let mut t: String = s.chars().take(n.saturating_sub(1)).collect();
        t.push('\u{2026}');
        t
    }
}

/// Width in pixels at scale 1 of `text` in the figure font at `size`, as plotters lays it out
/// (so a figure can be made wide enough for a key); about 0.6 em per character if the font
/// cannot be measured.
fn text_width(text: &str, size: f64) -> f64 {
    let measured = ensure_font()
        .ok()
        .and_then(|()| ("sans-serif", size).into_font().box_size(text).ok())
        .map(|(w, _)| f64::from(w));
    measured.unwrap_or_else(|| 0.6 * size * text.chars().count() as f64)
}

/// Breaks `text` at spaces into lines at most `width` px wide (scale 1) in the figure font at
/// `size`, at most `max_lines` of them; the last line of a text that does not fit ends in an
/// ellipsis (cut at a space where one is near).
fn wrap_text(text: &str, width: f64, size: f64, max_lines: usize) -> Vec<String> {
    let text = crate::units::printable(text);
    let fits = |t: &str| text_width(t, size) <= width;
    let mut lines: Vec<String> = Vec::new();
    let mut line = String::new();
    let words: Vec<&str> = text.split(' ').filter(|w| !w.is_empty()).collect();
    for (i, w) in words.iter().enumerate() {
        let candidate = if line.is_empty() { (*w).to_string() } else { format!("{line} {w}") };
        if fits(&candidate) || line.is_empty() {
            line = candidate;
            continue;
        }
        if lines.len() + 1 == max_lines.max(1) {
            // The last line: the rest, cut to fit.
            let rest = format!("{line} {}", words[i..].join(" "));
            lines.push(cut_to_width(&rest, width, size));
            return lines;
        }
        lines.push(std::mem::replace(&mut line, (*w).to_string()));
    }
    if !line.is_empty() {
        lines.push(if fits(&line) { line } else { cut_to_width(&line, width, size) });
    }
    lines
}

/// `text` cut with an ellipsis to fit `width` px at `size`, at a space when one is in the
/// last third.
fn cut_to_width(text: &str, width: f64, size: f64) -> String {
    let chars: Vec<char> = text.chars().collect();
    let mut n = chars.len();
    loop {
        let mut t: String = chars[..n].iter().collect();
        if n < chars.len() {
            if let Some(sp) = t.rfind(' ').filter(|&sp| sp * 3 >= t.len() * 2) {
                t.truncate(sp);
            }
            t = t.trim_end_matches([' ', ',', ';', ':', '(']).to_string();
            t.push('\u{2026}');
        }
        if n == 0 || text_width(&t, size) <= width {
            return t;
        }
        n -= 1;
    }
}

/// The figure's font at `size` points (scaled by `s`), in the text colour.
fn font(s: f64, size: f64) -> TextStyle<'static> {
    ("sans-serif", size * s).into_font().color(&TEXT_COLOUR)
}

fn anchored(style: TextStyle<'static>, h: HPos, v: VPos) -> TextStyle<'static> {
    style.pos(Pos::new(h, v))
}

/// A length in pixels at scale `s`.
fn px(s: f64, v: f64) -> i32 {
    (v * s).round() as i32
}

/// A stroke width in pixels at scale `s`, at least 1.
fn stroke(s: f64, w: f64) -> u32 {
    (w * s).round().max(1.0) as u32
}

/// A whole number with a true minus sign (`−9`), for tick labels.
fn whole(v: f64) -> String {
    format!("{v:.0}").replace('-', "\u{2212}")
}

/// Sizes of a figure's title and subtitle and their distance from the top, pixels at scale 1.
#[derive(Debug, Clone, Copy)]
struct Titles {
    title: f64,
    subtitle: f64,
    title_y: f64,
    subtitle_y: f64,
}

/// Line height of a subtitle of several lines, in multiples of its font size.
const SUBTITLE_LEADING: f64 = 1.3;

/// Titles of every figure but the curve figure.
const TITLES: Titles = Titles { title: 24.0, subtitle: 16.0, title_y: 12.0, subtitle_y: 42.0 };

/// Title (and optional subtitle, one or more lines) centred at the top of `root`.
fn draw_titles<DB: DrawingBackend>(
    root: &DrawingArea<DB, Shift>,
    s: f64,
    sizes: Titles,
    title: &str,
    subtitle: &str,
) -> Result<(), String> {
    let (w, _) = root.dim_in_pixel();
    let cx = (w / 2) as i32;
    let top = |size: f64, colour: RGBColor| {
        anchored(("sans-serif", size * s).into_font().color(&colour), HPos::Center, VPos::Top)
    };
    root.draw_text(title, &top(sizes.title, TEXT_COLOUR), (cx, px(s, sizes.title_y)))
        .map_err(|e| e.to_string())?;
    // A subtitle of several lines (`\n`), one below the other.
    for (i, line) in subtitle.lines().enumerate() {
        let y = sizes.subtitle_y + SUBTITLE_LEADING * sizes.subtitle * i as f64;
        root.draw_text(line, &top(sizes.subtitle, SUBTITLE_COLOUR), (cx, px(s, y)))
            .map_err(|e| e.to_string())?;
    }
    Ok(())
}

/// A linear f64 axis whose ticks are exactly the given values (plotters' own f64 axis
/// picks its own "nice" ticks; we want integers in log10 M plus the zero-dose slot).
#[derive(Debug, Clone)]
struct TickedAxis {
    lo: f64,
    hi: f64,
    ticks: Vec<f64>,
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

/// Ticks of a response axis from `lo` to `hi`: every 20, 50 or 100 (by the span).
fn y_ticks(lo: f64, hi: f64) -> Vec<f64> {
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

/// The frame of an x-y chart: axis titles, label areas, fonts and tick labels. Lengths and
/// font sizes in pixels at scale 1.
struct Frame<'a> {
    /// Title of the x axis.
    x_desc: &'a str,
    /// Title of the y axis.
    y_desc: &'a str,
    /// Height of the x label area and width of the y label area.
    label_areas: (f64, f64),
    /// Font sizes of the axis titles and of the tick labels.
    fonts: (f64, f64),
    /// Length of the tick marks; `None` keeps plotters' default.
    tick_marks: Option<f64>,
    /// Tick label text of the x axis; `None` keeps plotters' default.
    x_fmt: Option<&'a dyn Fn(&f64) -> String>,
    /// Tick label text of the y axis; `None` keeps plotters' default.
    y_fmt: Option<&'a dyn Fn(&f64) -> String>,
}

impl<'a> Frame<'a> {
    /// The frame of a dose-response chart (the curve and overlay figures): the log
    /// concentration axis labelled by `x_fmt`, the response `y_desc` with whole-number ticks.
    fn dose(y_desc: &'a str, x_fmt: &'a dyn Fn(&f64) -> String) -> Self {
        fn whole_label(v: &f64) -> String {
            whole(*v)
        }
        Frame {
            x_desc: dose::X_DESC,
            y_desc,
            label_areas: (52.0, 64.0),
            fonts: (19.0, 17.0),
            tick_marks: Some(5.0),
            x_fmt: Some(x_fmt),
            y_fmt: Some(&whole_label),
        }
    }
}

/// The chart [`chart`] makes: plotters' chart context on the coordinates of `X` and `Y`.
type Chart<'a, DB, X, Y> = ChartContext<
    'a,
    DB,
    Cartesian2d<<X as AsRangedCoord>::CoordDescType, <Y as AsRangedCoord>::CoordDescType>,
>;

/// A chart on `area` with the x and y ranges given and the house style: grey horizontal grid
/// lines only, axes and text in the text colour, the frame's titles, fonts and labels. The one
/// chart set-up of every x-y figure (curve, overlay, residual, saturation).
///
/// # Errors
/// The backend's message.
fn chart<'a, DB, X, Y>(
    area: &'a DrawingArea<DB, Shift>,
    s: f64,
    frame: &Frame<'_>,
    x: X,
    y: Y,
) -> Result<Chart<'a, DB, X, Y>, String>
where
    DB: DrawingBackend,
    X: AsRangedCoord<Value = f64>,
    Y: AsRangedCoord<Value = f64>,
    X::CoordDescType: ValueFormatter<f64>,
    Y::CoordDescType: ValueFormatter<f64>,
{
    let err = |e: DrawingAreaErrorKind<DB::ErrorType>| e.to_string();
    let mut chart = ChartBuilder::on(area)
        .x_label_area_size(px(s, frame.label_areas.0))
        .y_label_area_size(px(s, frame.label_areas.1))
        .build_cartesian_2d(x, y)
        .map_err(err)?;
    {
        let mut mesh = chart.configure_mesh();
        mesh.disable_x_mesh()
            .bold_line_style(GRID_COLOUR.stroke_width(stroke(s, 1.0)))
            .light_line_style(TRANSPARENT)
            .axis_style(TEXT_COLOUR.stroke_width(stroke(s, 1.0)))
            .x_desc(frame.x_desc)
            .y_desc(frame.y_desc)
            .axis_desc_style(font(s, frame.fonts.0))
            .label_style(font(s, frame.fonts.1));
        if let Some(t) = frame.tick_marks {
            mesh.set_all_tick_mark_size(px(s, t));
        }
        if let Some(f) = frame.x_fmt {
            mesh.x_label_formatter(f);
        }
        if let Some(f) = frame.y_fmt {
            mesh.y_label_formatter(f);
        }
        mesh.draw().map_err(err)?;
    }
    Ok(chart)
}

/// Renders `fig` to `dir/rel_dir/stem.svg` and, with a PNG scale, `.png`; the reference holds
/// the SVG and the relative paths.
///
/// # Errors
/// The message of the [`PlotError`] or of the failed write; a figure that fails leaves neither
/// file (no empty or truncated figure in a run).
pub(crate) fn write_figure(
    fig: &impl Figure,
    dir: &Path,
    rel_dir: &str,
    stem: &str,
    key: &str,
    png: Option<f64>,
) -> Result<FigureRef, String> {
    let (svg, png_bytes) = render(fig, png).map_err(|e| e.to_string())?;
    let svg_rel = format!("{rel_dir}/{stem}.svg");
    let png_rel = format!("{rel_dir}/{stem}.png");
    // A figure that fails leaves no empty or truncated file behind to be taken for it.
    let fail = |e: String| {
        for rel in [&svg_rel, &png_rel] {
            let _ = std::fs::remove_file(dir.join(rel));
        }
        e
    };
    std::fs::write(dir.join(&svg_rel), &svg)
        .map_err(|e| fail(format!("writing {svg_rel}: {e}")))?;
    let png_path = if let Some(bytes) = png_bytes {
        std::fs::write(dir.join(&png_rel), bytes)
            .map_err(|e| fail(format!("writing {png_rel}: {e}")))?;
        Some(png_rel)
    } else {
        None
    };
    Ok(FigureRef { key: key.to_string(), svg: Some(svg), svg_path: Some(svg_rel), png_path })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn palette_is_sorted_and_viridis_clamped() {
        let m = colour_index(["b", "a", "b", "c"].into_iter());
        assert_eq!(m["a"], 0);
        assert_eq!(m["c"], 2);
        assert_eq!(viridis(f64::NAN), viridis(0.0));
        assert_eq!(viridis(2.0), RGBColor(0xFD, 0xE7, 0x25));
    }

    /// A figure of one line of text, to check how text renders.
    struct TextFigure(&'static str);

    impl Figure for TextFigure {
        fn size(&self) -> (u32, u32) {
            (240, 60)
        }
        fn name(&self) -> String {
            "text".into()
        }
        fn draw<DB: DrawingBackend>(
            &self,
            root: &DrawingArea<DB, Shift>,
            s: f64,
        ) -> Result<(), String> {
            root.fill(&WHITE).map_err(|e| e.to_string())?;
            root.draw_text(self.0, &font(s, 30.0), (px(s, 5.0), px(s, 10.0)))
                .map_err(|e| e.to_string())
        }
    }

    /// Dark pixels per column of the PNG of `fig` (anti-aliased: any channel below 128).
    fn ink_columns(fig: &impl Figure) -> Vec<usize> {
        let png = render(fig, Some(1.0)).expect("png").1.expect("png");
        let img = tiny_skia::Pixmap::decode_png(&png).expect("decode");
        let w = img.width() as usize;
        let mut cols = vec![0; w];
        for (i, p) in img.pixels().iter().enumerate() {
            if p.red() < 128 {
                cols[i % w] += 1;
            }
        }
        cols
    }

    /// The PNG is the SVG rendered with the bundled font (no system fonts needed): text has
    /// ink, anti-aliased edges, and the glyphs of "5-HT1A" are spaced by the font's advances
    /// (no gap inside "HT" wider than the gap at the hyphen, the "5-H T1A" of hinted
    /// integer-pixel glyph placement).
    #[test]
    fn bundled_font_renders_text_shaped_and_antialiased() {
        let cols = ink_columns(&TextFigure("5-HT1A"));
        let dark: usize = cols.iter().sum();
        assert!(dark > 300, "only {dark} dark pixels: font not used");
        let png = render(&TextFigure("IC50"), Some(1.0)).expect("png").1.expect("png");
        let img = tiny_skia::Pixmap::decode_png(&png).expect("decode");
        let grey = img.pixels().iter().filter(|p| (40..215).contains(&p.red())).count();
        assert!(grey > 20, "{grey} intermediate pixels: text not anti-aliased");
        // Runs of blank columns between glyphs: the widest gap inside the word stays below
        // the advance of a space at 30 px (about 8 px).
        let first = cols.iter().position(|&n| n > 0).expect("ink");
        let last = cols.iter().rposition(|&n| n > 0).expect("ink");
        let mut gap = 0;
        let mut widest = 0;
        for &n in &cols[first..=last] {
            gap = if n == 0 { gap + 1 } else { 0 };
            widest = widest.max(gap);
        }
        assert!(widest <= 6, "a {widest} px gap inside \"5-HT1A\"");
    }

    #[test]
    fn svg_coordinates_are_not_whole_pixels() {
        let svg = to_svg(&TextFigure("x")).expect("svg");
        assert!(svg.starts_with("<svg width=\"240\" height=\"60\" viewBox=\"0 0 240 60\""));
        assert!(svg.contains("font-family=\"DejaVu Sans, sans-serif\""), "{svg}");
        assert!(svg.contains("x=\"5\" y=\"10\""), "{svg}");
    }

    /// Colour-bar ticks at 1, 2 or 5 × 10^k (not 209, 977, 1745: the quarters of a range).
    #[test]
    fn colour_bar_ticks_are_round() {
        let t = nice_ticks(351.0, 5580.0, 6);
        assert_eq!(t.values, vec![1000.0, 2000.0, 3000.0, 4000.0, 5000.0]);
        assert_eq!(t.label(2000.0), "2000");
        let t = nice_ticks(209.0, 1745.0, 6);
        assert_eq!(t.values, vec![500.0, 1000.0, 1500.0]);
        assert_eq!(nice_ticks(0.0, 100.0, 6).values, vec![0.0, 20.0, 40.0, 60.0, 80.0, 100.0]);
        assert_eq!(nice_ticks(5.0, 10.0, 6).values, vec![5.0, 6.0, 7.0, 8.0, 9.0, 10.0]);
        let t = nice_ticks(-0.37, 0.42, 6);
        assert!((t.step - 0.2).abs() < 1e-12, "{t:?}");
        assert_eq!(t.values.len(), 4);
        assert_eq!(t.label(t.values[0]), "\u{2212}0.2");
        assert_eq!(t.label(t.values[1]), "0.0");
        assert_eq!(nice_ticks(3.0, 3.0, 6).values, vec![3.0]);
        assert_eq!(nice_ticks(f64::NAN, 1.0, 6).values, vec![0.0]);
    }

    /// Long text is wrapped at spaces, and what does not fit in the last line is cut at a
    /// word with an ellipsis, not mid-word ("4 free pa…").
    #[test]
    fn long_text_wraps_at_words() {
        let reason =
            "failed: too few points to fit: 4 points at 2 concentrations (4 free parameters)";
        let lines = wrap_text(reason, 400.0, 18.0, 2);
        assert_eq!(lines.len(), 2, "{lines:?}");
        assert_eq!(lines.join(" "), reason);
        assert!(lines.iter().all(|l| text_width(l, 18.0) <= 400.0), "{lines:?}");
        let cut = wrap_text(reason, 300.0, 18.0, 1);
        assert_eq!(cut.len(), 1);
        assert!(cut[0].ends_with('\u{2026}') && text_width(&cut[0], 18.0) <= 300.0, "{cut:?}");
        let kept = cut[0].trim_end_matches('\u{2026}');
        assert!(reason.starts_with(kept), "{cut:?}");
        assert_eq!(reason.as_bytes().get(kept.len()), Some(&b' '), "cut at a word: {cut:?}");
        assert_eq!(wrap_text("short", 400.0, 18.0, 2), vec!["short".to_string()]);
    }

    #[test]
    fn response_ticks_step_with_the_span() {
        assert_eq!(y_ticks(-20.0, 120.0), vec![-20.0, 0.0, 20.0, 40.0, 60.0, 80.0, 100.0, 120.0]);
        assert_eq!(y_ticks(0.0, 300.0).len(), 7);
        assert_eq!(y_ticks(0.0, 1000.0).len(), 11);
    }
}
