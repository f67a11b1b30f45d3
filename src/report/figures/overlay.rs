//! Overlays: several curves on one pair of axes (all compounds at one target, or one compound
//! across targets), one colour each, with a legend on the right. The response axis is the
//! assay's (`CurveRow::response_label`).

use plotters::coord::Shift;
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, VPos};

use super::dose::{self, XLayout, drawable_fit, mean_sd_groups};
use super::{
    Figure, Frame, TITLES, anchored, chart, clip_text, draw_titles, font, px, stroke, whole,
};
use crate::derive::rows::CurveRow;

/// The response of competition binding, the default axis title.
const BINDING: &str = "% specific binding";

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
    /// The x layout spanning every series' tested range and (non-zero) points.
    fn x_layout(&self) -> XLayout {
        let (mut lo, mut hi) = (f64::INFINITY, f64::NEG_INFINITY);
        for (_, _, c) in &self.series {
            let (a, b) = c.tested_range_nm;
            if a.is_finite() && a > 0.0 {
                lo = lo.min(a);
            }
            if b.is_finite() && b > 0.0 {
                hi = hi.max(b);
            }
        }
        let points = self.series.iter().flat_map(|(_, _, c)| &c.points).filter(|p| p.conc_nm > 0.0);
        XLayout::of((lo, hi), points)
    }

    /// Title of the response axis: the assay's response, when every series shares it.
    fn y_desc(&self) -> &'static str {
        let first = self.series.first().map_or(BINDING, |s| s.2.response_label);
        if self.series.iter().all(|s| s.2.response_label == first) { first } else { "% response" }
    }
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
        draw_titles(root, s, TITLES, &self.title, &self.subtitle)?;
        let (w, _) = root.dim_in_pixel();
        let legend_w = px(s, 250.0);
        let body = root.margin(px(s, 70.0), px(s, 12.0), px(s, 8.0), 0);
        let (plot_area, legend_area) = body.split_horizontally(w as i32 - legend_w);

        let xl = self.x_layout();
        let groups: Vec<_> =
            self.series.iter().map(|(_, _, c)| mean_sd_groups(&c.points, |v| xl.x_of(v))).collect();
        let y_range = dose::y_range(groups.iter().flatten().map(|g| g.mean));
        let x_fmt = |v: &f64| xl.label(*v);
        let y_fmt = |v: &f64| whole(*v);
        let frame = Frame {
            x_desc: dose::X_DESC,
            y_desc: self.y_desc(),
            label_areas: (52.0, 64.0),
            fonts: (19.0, 17.0),
            tick_marks: Some(5.0),
            x_fmt: Some(&x_fmt),
            y_fmt: Some(&y_fmt),
        };
        let mut chart = chart(&plot_area, s, &frame, xl.axis(), dose::y_axis(y_range))?;
        for ((_, colour, c), g) in self.series.iter().zip(&groups) {
            let colour = *colour;
            if let Some(f) = drawable_fit(c) {
                let pts = xl.fitted_line(f, 200, y_range);
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
            let pts: Vec<(f64, f64)> = g
                .iter()
                .map(|g| (g.x, g.mean))
                .filter(|&(x, y)| xl.in_view(x, y, y_range))
                .collect();
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
}
