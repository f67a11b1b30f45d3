//! Control charts of an assay history (`radbind summarize`): the Levey-Jennings chart of a
//! target's reference compound (its potency per run against the assay date, the mean and the
//! ±2 SD and ±3 SD lines, rejected runs marked) and plate-QC trends (Z', signal/background,
//! mean total and NSB counts per run, one line per target, with the acceptance threshold
//! where there is one).
//!
//! One figure type for both: [`ControlChart`], through the shared chart set-up.

use plotters::coord::Shift;
use plotters::element::DashedPathElement;
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, VPos};

use super::{
    EXCLUDED_COLOUR, Figure, Frame, TEXT_COLOUR, TITLES, TickedAxis, anchored, chart, clip_text,
    draw_titles, font, palette_colour, px, stroke,
};

/// One line of points on a control chart.
#[derive(Debug, Clone, PartialEq)]
pub struct ChartSeries {
    /// Legend label (a target).
    pub name: String,
    /// `(x, y, marked)`: x the day number of the assay date (or the run's position), y the
    /// value; marked points (rejected runs) are drawn as crosses in the alert colour.
    pub points: Vec<(f64, f64, bool)>,
}

/// A control chart: series of values per run, optional mean ± 2 SD / ± 3 SD lines and an
/// optional threshold line.
#[derive(Debug, Clone, PartialEq)]
pub struct ControlChart {
    /// Title, e.g. `5-HT2A: ketanserin (reference)`.
    pub title: String,
    /// Subtitle, e.g. `mean 9.30, SD 0.10, MSR 1.92 (18 accepted runs)`.
    pub subtitle: String,
    /// Title of the y axis, e.g. `pKi`.
    pub y_desc: String,
    /// The series (a Levey-Jennings chart has one).
    pub series: Vec<ChartSeries>,
    /// Mean and SD: the centre line and the ±2 SD (dashed) and ±3 SD lines.
    pub limits: Option<(f64, f64)>,
    /// A horizontal acceptance line and its label (e.g. Z' 0.5).
    pub threshold: Option<(f64, String)>,
    /// Tick labels of the x axis: `(x, label)`, e.g. the assay dates.
    pub x_labels: Vec<(f64, String)>,
}

/// Colour of the ±3 SD lines (Okabe-Ito vermillion, as excluded points).
const LIMIT3: RGBColor = EXCLUDED_COLOUR;
/// Colour of the ±2 SD lines (Okabe-Ito orange).
const LIMIT2: RGBColor = RGBColor(0xE6, 0x9F, 0x00);

impl ControlChart {
    /// The x range (with a margin) and at most 8 tick positions from `x_labels`.
    fn x_axis(&self) -> TickedAxis {
        let xs = self.series.iter().flat_map(|s| s.points.iter().map(|p| p.0));
        let (lo, hi) = min_max(xs.chain(self.x_labels.iter().map(|l| l.0)));
        let (lo, hi) = if lo.is_finite() { (lo, hi) } else { (0.0, 1.0) };
        let pad = ((hi - lo) * 0.05).max(0.5);
        let step = self.x_labels.len().div_ceil(8).max(1);
        let ticks = self.x_labels.iter().step_by(step).map(|l| l.0).collect();
        TickedAxis { lo: lo - pad, hi: hi + pad, ticks }
    }

    /// The y range: the values, the ±3 SD lines and the threshold, with a margin.
    fn y_range(&self) -> (f64, f64) {
        let ys = self.series.iter().flat_map(|s| s.points.iter().map(|p| p.1));
        let lims = self.limits.into_iter().flat_map(|(m, sd)| [m - 3.0 * sd, m + 3.0 * sd]);
        let (lo, hi) = min_max(ys.chain(lims).chain(self.threshold.iter().map(|t| t.0)));
        if !lo.is_finite() {
            return (0.0, 1.0);
        }
        let pad = ((hi - lo) * 0.08).max(0.05);
        (lo - pad, hi + pad)
    }
}

/// Smallest and largest finite value (`(inf, -inf)` without any).
fn min_max(v: impl Iterator<Item = f64>) -> (f64, f64) {
    v.filter(|x| x.is_finite())
        .fold((f64::INFINITY, f64::NEG_INFINITY), |(a, b), x| (a.min(x), b.max(x)))
}

impl Figure for ControlChart {
    fn size(&self) -> (u32, u32) {
        (900, 420)
    }

    fn name(&self) -> String {
        format!("control chart {}", self.title)
    }

    fn draw<DB: DrawingBackend>(
        &self,
        root: &DrawingArea<DB, Shift>,
        s: f64,
    ) -> Result<(), String> {
        let err = |e: DrawingAreaErrorKind<DB::ErrorType>| e.to_string();
        root.fill(&WHITE).map_err(err)?;
        draw_titles(root, s, TITLES, &clip_text(&self.title, 70), &clip_text(&self.subtitle, 100))?;
        let (w, _) = root.dim_in_pixel();
        let legend_w = if self.series.len() > 1 { px(s, 150.0) } else { px(s, 70.0) };
        let body = root.margin(px(s, 70.0), px(s, 12.0), px(s, 8.0), 0);
        let (plot_area, legend_area) = body.split_horizontally(w as i32 - legend_w);
        let x_axis = self.x_axis();
        let (lo, hi) = self.y_range();
        let labels = &self.x_labels;
        let x_fmt = |v: &f64| {
            labels.iter().find(|l| (l.0 - v).abs() < 1e-9).map_or_else(String::new, |l| l.1.clone())
        };
        // Decimals from the range: pKi and Z′ to 0.01, counts in whole CPM.
        let decimals = match hi - lo {
            r if r >= 20.0 => 0,
            r if r >= 2.0 => 1,
            _ => 2,
        };
        let y_fmt = |v: &f64| format!("{v:.decimals$}").replace('-', "\u{2212}");
        let frame = Frame {
            x_desc: "assay date",
            y_desc: &self.y_desc,
            label_areas: (52.0, 70.0),
            fonts: (17.0, 14.0),
            tick_marks: Some(5.0),
            x_fmt: Some(&x_fmt),
            y_fmt: Some(&y_fmt),
        };
        let (xa, xb) = (x_axis.lo, x_axis.hi);
        let mut chart = chart(&plot_area, s, &frame, x_axis, lo..hi)?;
        let hline = |y: f64| vec![(xa, y), (xb, y)];
        let mut notes: Vec<(f64, String, &'static RGBColor)> = Vec::new();
        if let Some((m, sd)) = self.limits.filter(|(m, sd)| m.is_finite() && sd.is_finite()) {
            chart
                .draw_series(std::iter::once(PathElement::new(
                    hline(m),
                    TEXT_COLOUR.stroke_width(stroke(s, 1.5)),
                )))
                .map_err(err)?;
            notes.push((m, "mean".into(), &TEXT_COLOUR));
            for (k, colour) in [(2.0, &LIMIT2), (3.0, &LIMIT3)] {
                for sign in [-1.0, 1.0] {
                    let y = m + sign * k * sd;
                    let style = colour.stroke_width(stroke(s, 1.2));
                    chart
                        .draw_series(std::iter::once(DashedPathElement::new(
                            hline(y),
                            px(s, 6.0),
                            px(s, if k > 2.5 { 2.0 } else { 5.0 }),
                            style,
                        )))
                        .map_err(err)?;
                    let sign_text = if sign > 0.0 { "+" } else { "\u{2212}" };
                    notes.push((y, format!("{sign_text}{k:.0} SD"), colour));
                }
            }
        }
        if let Some((y, label)) = &self.threshold {
            chart
                .draw_series(std::iter::once(DashedPathElement::new(
                    hline(*y),
                    px(s, 6.0),
                    px(s, 4.0),
                    LIMIT3.stroke_width(stroke(s, 1.2)),
                )))
                .map_err(err)?;
            notes.push((*y, label.clone(), &LIMIT3));
        }
        for (i, series) in self.series.iter().enumerate() {
            let colour = palette_colour(i);
            let pts: Vec<(f64, f64)> = series
                .points
                .iter()
                .filter(|p| p.0.is_finite() && p.1.is_finite())
                .map(|p| (p.0, p.1))
                .collect();
            chart
                .draw_series(LineSeries::new(pts.clone(), colour.stroke_width(stroke(s, 1.2))))
                .map_err(err)?;
            let ok = series.points.iter().filter(|p| !p.2 && p.0.is_finite() && p.1.is_finite());
            chart
                .draw_series(ok.map(|p| Circle::new((p.0, p.1), px(s, 4.0), colour.filled())))
                .map_err(err)?;
            let bad = series.points.iter().filter(|p| p.2 && p.0.is_finite() && p.1.is_finite());
            chart
                .draw_series(bad.map(|p| {
                    Cross::new((p.0, p.1), px(s, 7.0), LIMIT3.stroke_width(stroke(s, 2.5)))
                }))
                .map_err(err)?;
        }
        // Line labels at the right edge, then the legend of several series.
        let (_, lh) = plot_area.dim_in_pixel();
        let y_px = |y: f64| {
            let top = 0.0;
            let frac = (hi - y) / (hi - lo);
            (top + frac * (f64::from(lh) - 52.0 * s)).round() as i32
        };
        if self.series.len() <= 1 {
            for (y, label, colour) in &notes {
                let st = anchored(font(s, 12.0).color(*colour), HPos::Left, VPos::Center);
                legend_area.draw_text(label, &st, (px(s, 4.0), y_px(*y))).map_err(err)?;
            }
        } else {
            for (i, series) in self.series.iter().enumerate() {
                let y = px(s, 20.0) + px(s, 22.0) * i as i32;
                let colour = palette_colour(i);
                legend_area
                    .draw(&Circle::new((px(s, 12.0), y), px(s, 4.0), colour.filled()))
                    .map_err(err)?;
                let st = anchored(font(s, 13.0), HPos::Left, VPos::Center);
                legend_area
                    .draw_text(&clip_text(&series.name, 16), &st, (px(s, 22.0), y))
                    .map_err(err)?;
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::figures::to_svg;

    /// A Levey-Jennings chart draws its mean and four limit lines, labels them, and the
    /// rejected run as a cross; the data, not the pixels, are checked.
    #[test]
    fn levey_jennings_chart_has_its_lines_and_marks() {
        let fig = ControlChart {
            title: "5-HT2A: ketanserin (reference)".into(),
            subtitle: "mean 9.30".into(),
            y_desc: "pKi".into(),
            series: vec![ChartSeries {
                name: "5-HT2A".into(),
                points: vec![(0.0, 9.3, false), (7.0, 9.2, false), (14.0, 8.4, true)],
            }],
            limits: Some((9.3, 0.1)),
            threshold: None,
            x_labels: vec![(0.0, "2026-11-02".into()), (14.0, "2026-11-16".into())],
        };
        let svg = to_svg(&fig).expect("svg");
        for label in ["mean", "+3 SD", "\u{2212}2 SD", "2026-11-16", "pKi", "ketanserin"] {
            assert!(svg.contains(label), "{label} missing");
        }
        assert!(fig.y_range().0 < 8.4);
        let empty = ControlChart { series: vec![], limits: None, x_labels: vec![], ..fig };
        to_svg(&empty).expect("an empty chart still draws");
    }
}
