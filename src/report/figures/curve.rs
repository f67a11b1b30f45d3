//! The curve figure: one dose-response figure per [`CurveRow`] (replicates, mean ± SD or SEM,
//! excluded points, the fitted curve with its 95% confidence band, the IC50 or EC50 and the Ki
//! marked), 800 x 600 at scale 1.
//!
//! It does not fit anything: the line is the fitted model of [`FitNumbers::value`] (the
//! 4PL in Prism's convention, or the two-site model), evaluated by `crate::fit`.
//!
//! ```text
//! Y = Bottom + (Top - Bottom) / (1 + 10^((LogIC50 - X) * HillSlope)),   X = log10 [M]
//! ```
//!
//! Output is deterministic: the same curve gives a byte-identical SVG.

use plotters::coord::Shift;
use plotters::prelude::*;
use plotters::style::text_anchor;

use super::dose::{self, XLayout, drawable_fit, log_molar, mean_sd_groups};
use super::{EXCLUDED_COLOUR, Figure, Frame, TEXT_COLOUR, Titles, chart, draw_titles, px, stroke};
use crate::config::ErrorBars;
use crate::derive::rows::{CurveRow, FunctionalRole};
use crate::fit::procedures::band::FittedCurve;
use crate::fit::status::CurveStatus;
use crate::report::plots::CurveStyle;

/// Colours (Okabe-Ito, safe for colour-blind readers) and greys.
const CURVE_COLOUR: RGBColor = RGBColor(0x00, 0x72, 0xB2);
const MEAN_COLOUR: RGBColor = RGBColor(0x1A, 0x1A, 0x1A);
const POINT_COLOUR: RGBColor = RGBColor(0x6E, 0x6E, 0x6E);
/// Ki marker colour (Okabe-Ito reddish purple).
const KI_COLOUR: RGBColor = RGBColor(0xB0, 0x3A, 0x7E);
const IC50_COLOUR: RGBColor = RGBColor(0x55, 0x55, 0x55);

/// Titles of the curve figure: a little larger than the other figures'.
const CURVE_TITLES: Titles =
    Titles { title: 27.0, subtitle: 18.0, title_y: 14.0, subtitle_y: 46.0 };

/// Widest line of the subtitle, pixels at scale 1 (the figure is 800 wide).
const SUBTITLE_WIDTH: f64 = 760.0;

/// The dose-response figure of one curve.
#[derive(Debug, Clone, Copy)]
pub struct CurveFigure<'a> {
    /// The curve.
    pub curve: &'a CurveRow,
    /// Error bars, band, Ki marker.
    pub style: CurveStyle,
}

impl<'a> CurveFigure<'a> {
    /// The figure of `curve` in the default style.
    #[must_use]
    pub fn new(curve: &'a CurveRow) -> Self {
        Self { curve, style: CurveStyle::default() }
    }
}

impl Figure for CurveFigure<'_> {
    fn size(&self) -> (u32, u32) {
        (800, 600)
    }

    fn name(&self) -> String {
        format!("{} / {}", self.curve.target, self.curve.compound)
    }

    fn draw<DB: DrawingBackend>(
        &self,
        root: &DrawingArea<DB, Shift>,
        s: f64,
    ) -> Result<(), String> {
        draw_curve(root, self.curve, s, &self.style)
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

/// Text for the potency annotation: `IC50 2.5 nM`, `IC50 > 10 µM`, `IC50 < 0.1 nM`; `EC50 …`
/// for an agonist curve.
fn ic50_annotation(curve: &CurveRow) -> Option<String> {
    let fit = curve.fit.as_ref()?;
    let measured = fit.ic50_nm.is_finite() && fit.ic50_nm > 0.0;
    (!fit.censor.is_exact() || measured)
        .then(|| format!("{} {}", curve.potency_word(), curve.ic50_text()))
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
                None if curve.has_ki() => format!(
                    "Ki {}{ci}  \u{b7}  pKi {}  \u{b7}  Hill {hill}  \u{b7}  {n}",
                    curve.ki_text(),
                    curve.pki_text()
                ),
                None => {
                    let ci = curve.ic50_ci_text();
                    let ci = if ci.is_empty() { String::new() } else { format!(" (95% CI {ci})") };
                    format!(
                        "{} {}{ci}  \u{b7}  p{} {}  \u{b7}  Hill {hill}  \u{b7}  {n}",
                        curve.potency_word(),
                        curve.ic50_text(),
                        curve.potency_word(),
                        curve.pic50_text()
                    )
                }
            }
        }
        None => {
            let what = match &curve.status {
                CurveStatus::Failed(why) => format!("No fit: {why}"),
                CurveStatus::NotConverged(why) => format!("Not converged: {why}"),
                other => format!("No fit ({other})"),
            };
            format!("{what}  \u{b7}  {n}")
        }
    }
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
    let title = format!("{} \u{2014} {}", curve.target, curve.compound);
    // A long subtitle (a failure's reason) wraps to a second line; the plot moves down.
    let sub = super::wrap_text(&subtitle(curve), SUBTITLE_WIDTH, CURVE_TITLES.subtitle, 2);
    draw_titles(root, s, CURVE_TITLES, &title, &sub.join("\n"))?;
    let extra = super::SUBTITLE_LEADING * CURVE_TITLES.subtitle * (sub.len().max(1) - 1) as f64;
    let plot_area = root.margin(px(s, 76.0 + extra), px(s, 12.0), px(s, 8.0), px(s, 28.0));

    let xl = XLayout::new(curve);
    let y_range = dose::y_range(curve.points.iter().map(|p| p.y));
    let (y_lo, y_hi) = y_range;
    let x_fmt = |v: &f64| xl.label(*v);
    let frame = Frame::dose(curve.response_label, &x_fmt);
    let mut chart = chart(&plot_area, s, &frame, xl.axis(), dose::y_axis(y_range))?;

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

    let in_view = |x: f64, y: f64| xl.in_view(x, y, y_range);

    // Fitted 4PL over the tested range +- 0.5 log.
    let fit = drawable_fit(curve);
    // The band is drawn for a measured IC50 only: a censored curve is an extrapolation.
    let band_fit = fit.filter(|f| opts.confidence_band && f.censor.is_exact());
    if let Some(f) = band_fit {
        let (a, b) = (xl.lo - 0.5, xl.hi + 0.5);
        let last = f64::from(dose::LINE_POINTS - 1);
        let band: Option<Vec<(f64, f64, f64)>> = (0..dose::LINE_POINTS)
            .map(|i| {
                let x = a + (b - a) * f64::from(i) / last;
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
        let curve_pts = xl.fitted_line(f, dose::LINE_POINTS, y_range);
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
pub(super) mod tests;
