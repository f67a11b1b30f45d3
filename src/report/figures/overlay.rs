//! Overlays: several curves on one pair of axes (all compounds at one target, or one compound
//! across targets), one colour each, with a legend on the right; many curves as small
//! multiples (panels of eight on shared axes). The response axis is the assay's
//! (`CurveRow::response_label`).

use plotters::coord::Shift;
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, VPos};

use super::dose::{self, Group, XLayout, drawable_fit, mean_sd_groups};
use super::{
    Figure, Frame, SUBTITLE_COLOUR, TITLES, anchored, chart, clip_text, draw_titles, font, px,
    stroke,
};
use crate::derive::rows::CurveRow;

/// The response of competition binding, the default axis title.
const BINDING: &str = "% specific binding";

/// Up to this many series are drawn on one pair of axes.
pub const SINGLE_PANEL_SERIES: usize = 10;
/// Series per panel when an overlay has more than [`SINGLE_PANEL_SERIES`].
pub const PANEL_SERIES: usize = 8;
/// At most this many panels (so at most 96 series); the figure says how many it leaves out.
pub const MAX_PANELS: usize = 12;

/// One series of an overlay: (legend label, colour, curve).
pub type Series<'a> = (String, RGBColor, &'a CurveRow);

/// Several curves on shared axes, one colour each, with a legend on the right. Points are
/// the mean per concentration (included points only); lines the fitted curves.
///
/// Up to [`SINGLE_PANEL_SERIES`] series share one panel. More are drawn as small multiples:
/// panels of [`PANEL_SERIES`] in two columns, all on the same x and y range, at most
/// [`MAX_PANELS`] of them; a note under the panels says how many series are not shown
/// (never nothing: a target with 40 compounds gets five panels, one with 4,000 twelve and
/// the note).
pub struct OverlayFigure<'a> {
    /// Title, e.g. `5-HT2A` or `mianserin`.
    pub title: String,
    /// Subtitle, e.g. the radioligand.
    pub subtitle: String,
    /// The series, in legend order.
    pub series: Vec<Series<'a>>,
}

/// Size of one panel of a multi-panel overlay, pixels at scale 1.
const PANEL: (u32, u32) = (800, 470);
/// Space for the titles above the panels and for the note below them, pixels at scale 1.
const PANEL_TOP: u32 = 76;
const PANEL_NOTE: u32 = 40;

impl OverlayFigure<'_> {
    /// The series of each panel, in order.
    fn panels(&self) -> Vec<&[Series<'_>]> {
        if self.series.len() <= SINGLE_PANEL_SERIES {
            vec![&self.series[..]]
        } else {
            self.series.chunks(PANEL_SERIES).take(MAX_PANELS).collect()
        }
    }

    /// Rows of the panel grid (two columns) of a multi-panel overlay.
    fn grid_rows(n_panels: usize) -> usize {
        n_panels.div_ceil(2)
    }

    /// The series drawn (all of them up to the panel limit).
    fn shown(&self) -> &[Series<'_>] {
        let n = self.panels().iter().map(|p| p.len()).sum();
        &self.series[..n]
    }

    /// The x layout spanning every drawn series' tested range and (non-zero) points.
    fn x_layout(&self) -> XLayout {
        let shown = self.shown();
        let (mut lo, mut hi) = (f64::INFINITY, f64::NEG_INFINITY);
        for (_, _, c) in shown {
            let (a, b) = c.tested_range_nm;
            if a.is_finite() && a > 0.0 {
                lo = lo.min(a);
            }
            if b.is_finite() && b > 0.0 {
                hi = hi.max(b);
            }
        }
        let points = shown.iter().flat_map(|(_, _, c)| &c.points).filter(|p| p.conc_nm > 0.0);
        XLayout::of((lo, hi), points)
    }

    /// Title of the response axis: the assay's response, when every series shares it.
    fn y_desc(&self) -> &'static str {
        let first = self.series.first().map_or(BINDING, |s| s.2.response_label);
        if self.series.iter().all(|s| s.2.response_label == first) { first } else { "% response" }
    }

    /// The note under a multi-panel overlay: what is shown, and what is not.
    fn note(&self) -> String {
        let (shown, total) = (self.shown().len(), self.series.len());
        if shown < total {
            format!(
                "{shown} of {total} shown (panels of {PANEL_SERIES}, same axes); the other {} \
                 have their own curve figures and rows in fits.csv",
                total - shown
            )
        } else {
            format!("{total} in {} panels of up to {PANEL_SERIES}, same axes", self.panels().len())
        }
    }
}

impl Figure for OverlayFigure<'_> {
    fn size(&self) -> (u32, u32) {
        let n = self.panels().len();
        if n == 1 {
            (1000, 600)
        } else {
            let rows = Self::grid_rows(n) as u32;
            (2 * PANEL.0, PANEL_TOP + rows * PANEL.1 + PANEL_NOTE)
        }
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
        draw_titles(root, s, TITLES, &self.title, &self.subtitle)?;
        let xl = self.x_layout();
        let panels = self.panels();
        let groups: Vec<Vec<Group>> = self
            .shown()
            .iter()
            .map(|(_, _, c)| mean_sd_groups(&c.points, |v| xl.x_of(v)))
            .collect();
        let y_range = dose::y_range(groups.iter().flatten().map(|g| g.mean));
        let axes = Axes { xl, y_range, y_desc: self.y_desc() };
        if panels.len() == 1 {
            let body = root.margin(px(s, 70.0), px(s, 12.0), px(s, 8.0), 0);
            return draw_panel(&body, s, &axes, (&self.series, &groups), 250.0, None);
        }
        let total = self.series.len();
        let (_, h) = root.dim_in_pixel();
        let grid = root.margin(px(s, f64::from(PANEL_TOP)), px(s, f64::from(PANEL_NOTE)), 0, 0);
        let cells = grid.split_evenly((Self::grid_rows(panels.len()), 2));
        let mut first = 0;
        for (panel, cell) in panels.iter().zip(&cells) {
            let n = panel.len();
            let label = format!("{}\u{2013}{} of {total}", first + 1, first + n);
            let area = cell.margin(px(s, 6.0), px(s, 10.0), px(s, 8.0), px(s, 6.0));
            draw_panel(&area, s, &axes, (panel, &groups[first..first + n]), 230.0, Some(&label))?;
            first += n;
        }
        root.draw_text(
            &self.note(),
            &anchored(font(s, 15.0), HPos::Left, VPos::Center),
            (px(s, 16.0), h as i32 - px(s, f64::from(PANEL_NOTE) / 2.0)),
        )
        .map_err(err)?;
        Ok(())
    }
}

/// The axes every panel of an overlay shares.
struct Axes {
    xl: XLayout,
    y_range: (f64, f64),
    y_desc: &'static str,
}

/// One panel: the chart on the left, the legend (`legend_w` px at scale 1, headed by `label`
/// when given) on the right; `series` and their concentration means `groups` in order.
fn draw_panel<DB: DrawingBackend>(
    area: &DrawingArea<DB, Shift>,
    s: f64,
    axes: &Axes,
    (series, groups): (&[Series<'_>], &[Vec<Group>]),
    legend_w: f64,
    label: Option<&str>,
) -> Result<(), String> {
    let err = |e: DrawingAreaErrorKind<DB::ErrorType>| e.to_string();
    let (w, _) = area.dim_in_pixel();
    let (plot_area, legend_area) = area.split_horizontally(w as i32 - px(s, legend_w));
    let (xl, y_range) = (axes.xl, axes.y_range);
    let x_fmt = |v: &f64| xl.label(*v);
    let frame = Frame::dose(axes.y_desc, &x_fmt);
    let mut chart = chart(&plot_area, s, &frame, xl.axis(), dose::y_axis(y_range))?;
    for ((_, colour, c), g) in series.iter().zip(groups) {
        let colour = *colour;
        if let Some(f) = drawable_fit(c) {
            let pts = xl.fitted_line(f, dose::LINE_POINTS, y_range);
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
            g.iter().map(|g| (g.x, g.mean)).filter(|&(x, y)| xl.in_view(x, y, y_range)).collect();
        chart
            .draw_series(pts.into_iter().map(|p| Circle::new(p, px(s, 4.5), colour.filled())))
            .map_err(err)?;
    }

    // Legend: one line per series, clipped to the legend area.
    let lh = px(s, 24.0);
    let top = px(s, 30.0);
    if let Some(label) = label {
        legend_area
            .draw_text(
                label,
                &anchored(font(s, 14.0).color(&SUBTITLE_COLOUR), HPos::Left, VPos::Center),
                (px(s, 10.0), px(s, 8.0)),
            )
            .map_err(err)?;
    }
    let max_rows = ((legend_area.dim_in_pixel().1 as i32 - top) / lh.max(1)).max(1) as usize;
    for (k, (label, colour, c)) in series.iter().enumerate().take(max_rows) {
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
    if series.len() > max_rows {
        let y = top + lh * max_rows as i32;
        legend_area
            .draw_text(
                &format!("\u{2026} and {} more", series.len() - max_rows),
                &anchored(font(s, 14.0), HPos::Left, VPos::Center),
                (px(s, 10.0), y),
            )
            .map_err(err)?;
    }
    Ok(())
}

/// Legend label of a curve in an overlay: `name (Ki 2.35 nM)` or `name (Ki > 5 µM)`; for a
/// curve without a Ki (functional, IC50-only target), its potency: `name (EC50 10.3 nM)`.
#[must_use]
pub fn overlay_label(name: &str, c: &CurveRow) -> String {
    if c.functional.is_some() || !c.has_ki() {
        format!("{} ({} {})", clip_text(name, 16), c.potency_word(), c.ic50_text())
    } else {
        format!("{} (Ki {})", clip_text(name, 16), c.ki_text())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::figures::curve::tests::{agonist, curve, well_formed};
    use crate::report::figures::{palette_colour, to_svg};

    fn overlay<'a>(curves: &[&'a CurveRow]) -> OverlayFigure<'a> {
        OverlayFigure {
            title: "5-HT1A".into(),
            subtitle: String::new(),
            series: curves
                .iter()
                .enumerate()
                .map(|(i, c)| (overlay_label(&c.compound, c), palette_colour(i), *c))
                .collect(),
        }
    }

    /// The y axis is the assay's response, the legend the Ki or, for a functional curve, its
    /// potency (EC50 for an agonist).
    #[test]
    fn axis_and_legend_from_the_assay() {
        let (binding, functional) = (curve(), agonist());
        let svg = to_svg(&overlay(&[&binding])).expect("svg");
        well_formed(&svg);
        assert!(svg.contains("% specific binding"));
        assert!(svg.contains("mianserin (Ki 833 pM)"), "{svg}");
        let svg = to_svg(&overlay(&[&functional])).expect("svg");
        assert!(svg.contains("% stimulation over basal") && !svg.contains("% specific binding"));
        assert!(svg.contains("8-OH-DPAT (EC50 2.5 nM)"));
        let mut uptake = curve();
        uptake.response_label = "% specific uptake";
        let svg = to_svg(&overlay(&[&uptake, &binding])).expect("svg");
        assert!(svg.contains("% response"), "mixed assays: a neutral axis title");
    }

    fn many(n: usize) -> Vec<CurveRow> {
        (0..n)
            .map(|i| {
                let mut c = curve();
                c.compound = format!("cpd-{i:04}");
                c
            })
            .collect()
    }

    /// A target with many compounds is drawn in panels of eight on shared axes, never left
    /// out: 8 compounds, one panel; 40, five panels; 200, twelve panels and a note saying
    /// what is not shown. See: issue 20, item 8.
    #[test]
    fn many_compounds_are_drawn_in_panels() {
        let eight = many(8);
        let fig = overlay(&eight.iter().collect::<Vec<_>>());
        assert_eq!(fig.size(), (1000, 600));
        let svg = to_svg(&fig).expect("svg");
        assert!(!svg.contains(" of 8<"), "one panel, no panel labels");

        let forty = many(40);
        let fig = overlay(&forty.iter().collect::<Vec<_>>());
        assert_eq!(fig.panels().len(), 5);
        let (w, h) = fig.size();
        assert_eq!((w, h), (1600, 76 + 3 * 470 + 40));
        let svg = to_svg(&fig).expect("svg");
        well_formed(&svg);
        for k in 0..5 {
            let label = format!(">{}\u{2013}{} of 40</text>", 8 * k + 1, 8 * k + 8);
            assert!(svg.contains(&label), "{label}");
        }
        for c in &forty {
            assert!(svg.contains(&format!(">{} (Ki", c.compound)), "{} in a legend", c.compound);
        }
        assert!(svg.contains("40 in 5 panels of up to 8, same axes"));
        assert_eq!(svg.matches("log10 [compound] (M)").count(), 5, "an x axis per panel");

        let lots = many(200);
        let fig = overlay(&lots.iter().collect::<Vec<_>>());
        assert_eq!(fig.panels().len(), MAX_PANELS);
        let svg = to_svg(&fig).expect("svg");
        assert!(svg.contains("96 of 200 shown"), "what is left out is said");
        assert!(svg.contains("the other 104 have their own curve figures"));
    }
}
