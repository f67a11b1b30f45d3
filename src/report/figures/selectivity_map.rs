//! The selectivity map: compound × target pKi as coloured cells (viridis), censored values
//! hatched and written as bounds, a colour bar and a key.

use plotters::coord::Shift;
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, VPos};

use super::{
    Figure, TEXT_COLOUR, TITLES, anchored, clip_text, colour_bar, draw_titles, font, ink_on, px,
    stroke, viridis,
};
use crate::derive::rows::CurveRow;

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

    /// Height of the colour bar: the rows, at least 120 px (scale 1).
    fn bar_height(&self) -> i32 {
        (self.cell_wh().1 * self.compounds.len() as i32).max(120)
    }
}

/// The key under the map, one line each.
const KEY: [&str; 2] = [
    "hatched: censored, the value is a bound (IC50 outside the tested range)",
    "n.d.: no usable fit",
];

/// Left edge of the cells and top of the first row, pixels at scale 1.
const ORIGIN: (i32, i32) = (190, 110);
/// Height of a key line, pixels at scale 1.
const KEY_LINE: i32 = 22;

impl Figure for SelectivityFigure<'_> {
    /// Wide enough for the cells, the colour bar and the key; tall enough for the rows or
    /// the colour bar (whichever is taller) and the key lines.
    fn size(&self) -> (u32, u32) {
        let (cw, _) = self.cell_wh();
        let cells = ORIGIN.0 + cw * self.targets.len() as i32 + 130;
        let key = KEY.iter().map(|k| super::text_width(k, 13.0)).fold(0.0, f64::max);
        let key = ORIGIN.0 + 36 + key.ceil() as i32 + 24;
        let h = ORIGIN.1 + self.bar_height() + 14 + KEY_LINE * KEY.len() as i32 + 16;
        (cells.max(key).max(560) as u32, h as u32)
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
        draw_titles(root, s, TITLES, "Selectivity: pKi by compound and target", "")?;
        let c = |v: i32| px(s, f64::from(v));
        let (cw, ch) = self.cell_wh();
        let (cw, ch) = (c(cw), c(ch));
        let (x0, y0) = (c(ORIGIN.0), c(ORIGIN.1));
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
        let bh = c(self.bar_height());
        let bw = c(18);
        colour_bar(root, s, (bx, y0), (bw, bh), (lo, hi), "")?;
        root.draw_text("pKi", &anchored(font(s, 13.0), HPos::Left, VPos::Bottom), (bx, y0 - c(8)))
            .map_err(err)?;
        let ky = y0 + bh + c(14);
        let kr = [(x0, ky), (x0 + c(28), ky + c(18))];
        root.draw(&Rectangle::new(kr, RGBColor(0xDD, 0xDD, 0xDD).filled())).map_err(err)?;
        hatch(root, kr, c(7), RGBColor(0x88, 0x88, 0x88).stroke_width(stroke(s, 1.0)))?;
        for (i, line) in KEY.iter().enumerate() {
            root.draw_text(
                line,
                &anchored(font(s, 13.0), HPos::Left, VPos::Center),
                (x0 + c(36), ky + c(9) + c(KEY_LINE) * i as i32),
            )
            .map_err(err)?;
        }
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
