//! Primary-screen figures: a plate's % inhibition well by well with its hits outlined
//! ([`InhibitionMap`]), and the % inhibition of every compound per plate against the hit
//! threshold ([`InhibitionStrip`]).

use std::collections::{BTreeMap, BTreeSet};

use plotters::coord::Shift;
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, VPos};

use super::{
    EXCLUDED_COLOUR, Figure, Frame, TEXT_COLOUR, TITLES, anchored, chart, colour_bar, draw_titles,
    font, ink_on, px, stroke, viridis, whole,
};
use crate::derive::primary::PrimaryRow;
use crate::derive::rows::WellRow;
use crate::types::{WellPos, row_label};

/// Hits and points drawn in this colour (Okabe-Ito vermillion, as excluded points).
const HIT_COLOUR: RGBColor = EXCLUDED_COLOUR;
/// Non-hit points (Okabe-Ito blue).
const POINT_COLOUR: RGBColor = RGBColor(0x00, 0x72, 0xB2);

/// One primary-screen plate as a grid of wells coloured by % inhibition (100 − % specific
/// binding, 0..100 on the colour bar), with `T`/`N` in the control wells and a thick
/// outline and `H` on the wells of each hit.
pub struct InhibitionMap<'a> {
    /// Plate id.
    pub plate: &'a str,
    /// Target.
    pub target: &'a str,
    /// The plate's wells.
    pub wells: Vec<&'a WellRow>,
    /// The plate's primary rows (for the hit wells).
    pub rows: Vec<&'a PrimaryRow>,
    /// Rows and columns of the plate.
    pub shape: (usize, usize),
}

impl InhibitionMap<'_> {
    fn cell(&self) -> i32 {
        match self.shape.1 {
            0..=12 => 46,
            13..=24 => 26,
            _ => 14,
        }
    }
}

impl Figure for InhibitionMap<'_> {
    fn size(&self) -> (u32, u32) {
        let c = self.cell();
        let (nr, nc) = (self.shape.0 as i32, self.shape.1 as i32);
        ((50 + c * nc + 150).max(500) as u32, (96 + c * nr + 34) as u32)
    }

    fn name(&self) -> String {
        format!("% inhibition map {}", self.plate)
    }

    fn draw<DB: DrawingBackend>(
        &self,
        root: &DrawingArea<DB, Shift>,
        s: f64,
    ) -> Result<(), String> {
        let err = |e: DrawingAreaErrorKind<DB::ErrorType>| e.to_string();
        root.fill(&WHITE).map_err(err)?;
        let hits: BTreeSet<&str> = self
            .rows
            .iter()
            .filter(|r| r.hit)
            .flat_map(|r| r.wells.iter().map(String::as_str))
            .collect();
        let n_hits = self.rows.iter().filter(|r| r.hit).count();
        let title = format!("{} \u{b7} {} \u{2014} % inhibition", self.plate, self.target);
        let sub = format!("{} compound(s), {n_hits} hit(s) outlined (H)", self.rows.len());
        draw_titles(root, s, TITLES, &title, &sub)?;
        let (nr, nc) = self.shape;
        let c = |v: i32| px(s, f64::from(v));
        let (x0, y0, cs) = (c(40), c(96), c(self.cell()));
        let grid: BTreeMap<(usize, usize), &WellRow> = self
            .wells
            .iter()
            .filter_map(|w| {
                let p = WellPos::parse(&w.well)?;
                Some(((usize::from(p.row), usize::from(p.col)), *w))
            })
            .collect();
        let label =
            anchored(font(s, if cs >= c(40) { 13.0 } else { 10.0 }), HPos::Center, VPos::Center);
        for col in (0..nc).filter(|col| nc <= 24 || col % 4 == 0) {
            root.draw_text(
                &format!("{}", col + 1),
                &label,
                (x0 + cs * col as i32 + cs / 2, y0 - c(12)),
            )
            .map_err(err)?;
        }
        for row in (0..nr).filter(|row| nr <= 16 || row % 2 == 0) {
            root.draw_text(
                &row_label(row as u16),
                &label,
                (x0 - c(16), y0 + cs * row as i32 + cs / 2),
            )
            .map_err(err)?;
        }
        let edge = TEXT_COLOUR.stroke_width(stroke(s, 3.0));
        for ((row, col), w) in &grid {
            if *row >= nr || *col >= nc {
                continue;
            }
            let (ax, ay) = (x0 + cs * *col as i32, y0 + cs * *row as i32);
            let inh = w.pct_specific.filter(|v| v.is_finite()).map(|v| 100.0 - v);
            let fill = inh.map_or(RGBColor(0xEE, 0xEE, 0xEE), |v| viridis(v / 100.0));
            root.draw(&Rectangle::new([(ax, ay), (ax + cs, ay + cs)], fill.filled()))
                .map_err(err)?;
            root.draw(&Rectangle::new(
                [(ax, ay), (ax + cs, ay + cs)],
                WHITE.stroke_width(stroke(s, 1.0)),
            ))
            .map_err(err)?;
            let tag = match w.role {
                "total" => "T",
                "nsb" => "N",
                "primary" if hits.contains(w.well.as_str()) => "H",
                _ => "",
            };
            if !tag.is_empty() && cs >= c(20) {
                let st = anchored(
                    ("sans-serif", 13.0 * s).into_font().color(&ink_on(fill)),
                    HPos::Center,
                    VPos::Center,
                );
                root.draw_text(tag, &st, (ax + cs / 2, ay + cs / 2)).map_err(err)?;
            }
            if w.excluded.is_some() {
                let m = cs / 6;
                let st = EXCLUDED_COLOUR.stroke_width(stroke(s, 2.5));
                root.draw(&PathElement::new(
                    vec![(ax + m, ay + m), (ax + cs - m, ay + cs - m)],
                    st,
                ))
                .map_err(err)?;
            }
        }
        // A thick edge where a hit well meets a well that is not part of the same hit.
        let hit_of = |r: usize, col: usize| -> Option<&str> {
            grid.get(&(r, col))
                .filter(|w| hits.contains(w.well.as_str()))
                .and_then(|w| w.compound.as_deref())
        };
        super::heat_map::block_edges(root, (x0, y0), cs, (nr, nc), hit_of, edge)?;
        let bx = x0 + cs * nc as i32 + c(24);
        let (bw, bh) = (c(18), cs * nr as i32);
        colour_bar(root, s, (bx, y0), (bw, bh), (0.0, 100.0), "%")?;
        root.draw_text(
            "T total \u{b7} N NSB \u{b7} H hit (outlined) \u{b7} grey: no % inhibition",
            &anchored(font(s, 13.0), HPos::Left, VPos::Top),
            (x0, y0 + cs * nr as i32 + c(10)),
        )
        .map_err(err)?;
        Ok(())
    }
}

/// The % inhibition of every compound, one column of points per plate, with the hit
/// threshold as a dashed line; hits in vermillion.
pub struct InhibitionStrip<'a> {
    /// Target (title).
    pub target: &'a str,
    /// The rows of the target's plates, in plate order.
    pub rows: Vec<&'a PrimaryRow>,
    /// The hit threshold, % inhibition (`None` when the rule is the z-score alone).
    pub threshold: Option<f64>,
}

impl InhibitionStrip<'_> {
    fn plates(&self) -> Vec<&str> {
        let mut v: Vec<&str> = Vec::new();
        for r in &self.rows {
            if !v.contains(&r.plate.as_str()) {
                v.push(&r.plate);
            }
        }
        v
    }
}

impl Figure for InhibitionStrip<'_> {
    fn size(&self) -> (u32, u32) {
        let n = self.plates().len() as u32;
        ((200 + 48 * n).clamp(600, 1600), 520)
    }

    fn name(&self) -> String {
        format!("% inhibition distribution {}", self.target)
    }

    fn draw<DB: DrawingBackend>(
        &self,
        root: &DrawingArea<DB, Shift>,
        s: f64,
    ) -> Result<(), String> {
        let err = |e: DrawingAreaErrorKind<DB::ErrorType>| e.to_string();
        root.fill(&WHITE).map_err(err)?;
        let plates = self.plates();
        let hits = self.rows.iter().filter(|r| r.hit).count();
        draw_titles(
            root,
            s,
            TITLES,
            &format!("{} \u{2014} % inhibition per plate", self.target),
            &format!("{} compound result(s), {hits} hit(s)", self.rows.len()),
        )?;
        let area = root.margin(px(s, 70.0), px(s, 10.0), px(s, 10.0), px(s, 30.0));
        let vals = self.rows.iter().map(|r| r.pct_inhibition).filter(|v| v.is_finite());
        let lo = vals.clone().fold(-20.0f64, f64::min).max(-200.0);
        let hi = vals.fold(120.0f64, f64::max).min(300.0);
        let label_of = |x: &f64| {
            let k = x.round();
            if (x - k).abs() < 1e-9 && k >= 1.0 {
                plates.get(k as usize - 1).map_or(String::new(), |p| (*p).to_string())
            } else {
                String::new()
            }
        };
        let y_fmt = |v: &f64| whole(*v);
        let frame = Frame {
            x_desc: "plate",
            y_desc: "% inhibition",
            label_areas: (50.0, 70.0),
            fonts: (16.0, 13.0),
            tick_marks: None,
            x_fmt: Some(&label_of),
            y_fmt: Some(&y_fmt),
        };
        let n = plates.len().max(1) as f64;
        let mut ch = chart(&area, s, &frame, 0.5..n + 0.5, lo..hi)?;
        if let Some(t) = self.threshold {
            ch.draw_series(DashedLineSeries::new(
                vec![(0.5, t), (n + 0.5, t)],
                px(s, 6.0).max(1) as u32,
                px(s, 4.0).max(1) as u32,
                HIT_COLOUR.stroke_width(stroke(s, 1.5)),
            ))
            .map_err(err)?;
        }
        for (k, p) in plates.iter().enumerate() {
            let on: Vec<&&PrimaryRow> = self.rows.iter().filter(|r| r.plate == *p).collect();
            for (j, r) in on.iter().enumerate() {
                if !r.pct_inhibition.is_finite() {
                    continue;
                }
                // Deterministic spread across the column: no random jitter.
                let dx =
                    if on.len() > 1 { 0.6 * (j as f64 / (on.len() - 1) as f64 - 0.5) } else { 0.0 };
                let colour = if r.hit { HIT_COLOUR } else { POINT_COLOUR };
                ch.draw_series(std::iter::once(Circle::new(
                    (k as f64 + 1.0 + dx, r.pct_inhibition.clamp(lo, hi)),
                    px(s, 3.5),
                    colour.filled(),
                )))
                .map_err(err)?;
            }
        }
        Ok(())
    }
}
