//! The saturation figure: total and NSB wells (CPM) against added radioligand with the fitted
//! total, nonspecific and specific binding.

use plotters::coord::Shift;
use plotters::prelude::*;

use super::{
    EXCLUDED_COLOUR, Figure, Frame, GRID_COLOUR, TITLES, chart, draw_titles, font, palette_colour,
    px, stroke,
};
use crate::saturation::{SaturationRow, SaturationWell};

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
        draw_titles(root, s, TITLES, &format!("{}: saturation binding", r.target), &sub)?;
        let area = root.margin(px(s, 70.0), px(s, 16.0), px(s, 8.0), px(s, 24.0));
        let wells: Vec<&SaturationWell> =
            r.wells.iter().filter(|w| w.l_nm.is_finite() && w.cpm.is_finite()).collect();
        let x_hi = wells.iter().map(|w| w.l_nm).fold(0.0f64, f64::max).max(1e-3) * 1.05;
        let y_hi = wells.iter().map(|w| w.cpm).fold(0.0f64, f64::max).max(1.0) * 1.1;
        let y_fmt = |v: &f64| format!("{v:.0}");
        let frame = Frame {
            x_desc: if r.depletion_corrected {
                "[radioligand] (nM; points at added, curves at free [L])"
            } else {
                "[radioligand] added (nM)"
            },
            y_desc: "bound (CPM)",
            label_areas: (48.0, 72.0),
            fonts: (17.0, 15.0),
            tick_marks: None,
            x_fmt: None,
            y_fmt: Some(&y_fmt),
        };
        let mut chart = chart(&area, s, &frame, 0.0..x_hi, 0.0..y_hi)?;
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
