//! Plate heat maps: one plate as a grid of wells coloured by CPM or by the assay's % response,
//! with the layout drawn on (control letters, compound letters, block outlines, excluded wells
//! crossed) and a colour bar.

use std::collections::BTreeMap;

use plotters::coord::Shift;
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, VPos};

use super::{
    EXCLUDED_COLOUR, Figure, TEXT_COLOUR, TITLES, anchored, clip_text, colour_bar, draw_titles,
    font, ink_on, px, stroke, viridis,
};
use crate::derive::rows::{PlateRow, WellRow};
use crate::types::{WellPos, row_label};

/// Which value a plate heat map shows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HeatValue {
    /// Counts as read.
    Cpm,
    /// The % response of the assay (% specific binding, % specific uptake, % stimulation
    /// over basal).
    PctSpecific,
}

/// One plate as a grid of wells coloured by CPM or % response, with the layout drawn
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
    /// What the % response is on this plate (`CurveRow::response_label` of its assay).
    pub response_label: &'a str,
}

/// Row and column (0-based) of a well label such as `B05` or `AA12`
/// ([`WellPos::parse`]), within the largest plate drawn (64 rows, 96 columns).
fn grid_pos(label: &str) -> Option<(usize, usize)> {
    let p = WellPos::parse(label)?;
    (p.row < 64 && p.col < 96).then_some((usize::from(p.row), usize::from(p.col)))
}

/// Letters for the compounds of one plate, in order of first appearance (a, b, … z, then
/// aa, ab, …: [`crate::types::compound_letter`]), as `validate` prints them: pass the
/// compounds of the plate's dosed wells in well order ([`plate_compounds`]).
#[must_use]
pub fn compound_letters<'a>(names: impl Iterator<Item = &'a str>) -> BTreeMap<String, String> {
    crate::types::compounds_in_order(names)
        .into_iter()
        .enumerate()
        .map(|(i, n)| (n.to_string(), crate::types::compound_letter(i)))
        .collect()
}

/// The compounds of a plate's dosed wells (a compound and a concentration, not primary-screen
/// wells) in well order: what `validate` letters.
pub fn plate_compounds<'a>(wells: &'a [&'a WellRow]) -> impl Iterator<Item = &'a str> + 'a {
    wells
        .iter()
        .filter(|w| w.role != "primary" && w.conc_nm.is_some())
        .filter_map(|w| w.compound.as_deref())
}

impl PlateHeatMap<'_> {
    fn grid(&self) -> (usize, usize, BTreeMap<(usize, usize), &WellRow>) {
        let mut m = BTreeMap::new();
        let (mut nr, mut nc) = (8usize, 12usize);
        for w in &self.wells {
            if let Some((r, c)) = grid_pos(&w.well) {
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
            HeatValue::PctSpecific => self.response_label,
        };
        let title = format!("{} \u{b7} {} \u{2014} {what}", p.plate, p.target);
        let sub = format!(
            "{} #{}{}",
            clip_text(&p.source, 48),
            p.index_in_file,
            if p.rotated { " \u{b7} counted rotated 180\u{b0}, shown turned back" } else { "" }
        );
        draw_titles(root, s, TITLES, &title, &sub)?;
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
                &row_label(row as u16),
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
        block_edges(root, (x0, y0), cs, (nr, nc), key, edge)?;
        // Colour bar.
        let bx = x0 + cs * nc as i32 + c(24);
        let (bw, bh) = (c(18), cs * nr as i32);
        let suffix = match self.value {
            HeatValue::Cpm => "",
            HeatValue::PctSpecific => "%",
        };
        colour_bar(root, s, (bx, y0), (bw, bh), (lo, hi), suffix)?;
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

/// Draws a thick edge between every two neighbouring cells of an `nr` x `nc` grid (cell size
/// `cs` px from `origin`) whose `key` differs, the plate's outer border included where a
/// cell has a key: the outlines of blocks (a layout's roles and compounds, a screen's hits).
pub(super) fn block_edges<DB: DrawingBackend, K: PartialEq>(
    root: &DrawingArea<DB, Shift>,
    (x0, y0): (i32, i32),
    cs: i32,
    (nr, nc): (usize, usize),
    key: impl Fn(usize, usize) -> Option<K>,
    edge: ShapeStyle,
) -> Result<(), String> {
    let err = |e: DrawingAreaErrorKind<DB::ErrorType>| e.to_string();
    for row in 0..=nr {
        for col in 0..nc {
            let above = if row > 0 { key(row - 1, col) } else { None };
            let below = if row < nr { key(row, col) } else { None };
            if above != below {
                let (ax, ay) = (x0 + cs * col as i32, y0 + cs * row as i32);
                root.draw(&PathElement::new(vec![(ax, ay), (ax + cs, ay)], edge)).map_err(err)?;
            }
        }
    }
    for col in 0..=nc {
        for row in 0..nr {
            let left = if col > 0 { key(row, col - 1) } else { None };
            let right = if col < nc { key(row, col) } else { None };
            if left != right {
                let (ax, ay) = (x0 + cs * col as i32, y0 + cs * row as i32);
                root.draw(&PathElement::new(vec![(ax, ay), (ax, ay + cs)], edge)).map_err(err)?;
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wells_parse() {
        assert_eq!(grid_pos("A01"), Some((0, 0)));
        assert_eq!(grid_pos("H12"), Some((7, 11)));
        assert_eq!(grid_pos("P24"), Some((15, 23)));
        assert_eq!(grid_pos("AF48"), Some((31, 47)));
        assert_eq!(grid_pos("12"), None);
        assert_eq!(grid_pos("A"), None);
        assert_eq!(grid_pos("A0"), None);
        assert_eq!(grid_pos("A97"), None);
        assert_eq!(grid_pos("BM1"), None);
        assert_eq!(row_label(27), "AB");
    }

    #[test]
    fn letters_in_order_of_appearance() {
        let l = compound_letters(["z", "y", "z"].into_iter());
        assert_eq!(l["z"], "a");
        assert_eq!(l["y"], "b");
    }
}
