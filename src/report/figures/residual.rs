//! Residual plots: observed − fitted response of each point of a curve against log
//! concentration, excluded points as crosses. The y axis says the assay's response
//! ([`residual_axis_title`]).

use plotters::coord::Shift;
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, VPos};

use super::dose::{self, XLayout, drawable_fit};
use super::{
    EXCLUDED_COLOUR, Figure, Frame, TEXT_COLOUR, TITLES, TickedAxis, anchored, chart, draw_titles,
    font, px, stroke, whole,
};
use crate::derive::rows::CurveRow;

/// Title of a residual axis: `residual (` the assay's response `)`, e.g. `residual (% specific
/// uptake)`; the response label comes from the assay through the curve
/// (`CurveRow::response_label`), so no assay is named here.
#[must_use]
pub fn residual_axis_title(response_label: &str) -> String {
    format!("residual ({response_label})")
}

/// Residuals (observed − fitted, in the assay's response units) against log concentration.
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
        draw_titles(
            root,
            s,
            TITLES,
            &format!("{} \u{2014} {}: residuals", c.target, c.compound),
            "",
        )?;
        let area = root.margin(px(s, 44.0), px(s, 12.0), px(s, 8.0), px(s, 28.0));
        let xl = XLayout::new(c);
        let fit = drawable_fit(c);
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
        let x_fmt = |v: &f64| xl.label(*v);
        let y_fmt = |v: &f64| whole(*v);
        let y_desc = residual_axis_title(c.response_label);
        let frame = Frame {
            x_desc: dose::X_DESC,
            y_desc: &y_desc,
            label_areas: (48.0, 64.0),
            fonts: (17.0, 15.0),
            tick_marks: Some(5.0),
            x_fmt: Some(&x_fmt),
            y_fmt: Some(&y_fmt),
        };
        let y_axis = TickedAxis { lo: -lim, hi: lim, ticks };
        let mut chart = chart(&area, s, &frame, xl.axis(), y_axis)?;
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::figures::curve::tests::{curve, well_formed};
    use crate::report::figures::to_svg;

    #[test]
    fn symmetric_axis_covers() {
        let (lim, ticks) = symmetric_axis(13.0);
        assert!(lim >= 13.0);
        assert_eq!(ticks.first().copied(), Some(-lim));
        let (lim, _) = symmetric_axis(f64::NAN);
        assert!(lim > 0.0);
    }

    /// The residual axis names the assay's response: binding, uptake, functional.
    #[test]
    fn residual_axis_from_the_assay() {
        let mut c = curve();
        let svg = to_svg(&ResidualFigure { curve: &c }).expect("svg");
        well_formed(&svg);
        assert!(svg.contains("residual (% specific binding)"));
        c.response_label = "% specific uptake";
        let svg = to_svg(&ResidualFigure { curve: &c }).expect("svg");
        assert!(svg.contains("residual (% specific uptake)") && !svg.contains("binding"));
        c.response_label = "% stimulation over basal";
        let svg = to_svg(&ResidualFigure { curve: &c }).expect("svg");
        assert!(svg.contains("residual (% stimulation over basal)") && !svg.contains("binding"));
    }
}
