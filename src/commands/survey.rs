//! A first look at the plates of an export, for `radbind init --from`: which plates are near
//! background, which have control columns (and which way round), and which hold curves without
//! controls (along rows or along columns, and in which direction the signal runs).
//!
//! Owns these heuristics and nothing else: it reads counts, never configs. A plate whose
//! gradient runs against the other plates' is reported as possibly counted rotated; the
//! scaffold says so in a comment, it does not decide silently.

use crate::ingest::RawPlate;

/// A plate whose 95th percentile count is below this (CPM) is background: the run's default
/// `qc.background_cpm`, with the run's rule ([`crate::normalise::background_p95`]).
pub const BACKGROUND_CPM: f64 = 20.0;
/// Largest coefficient of variation (%) of a control column.
const CONTROL_CV_PCT: f64 = 25.0;
/// Smallest ratio between the two control columns' means.
const CONTROL_RATIO: f64 = 3.0;
/// Fewest wells a series axis may have (a 4PL has four parameters).
const MIN_SERIES: u16 = 6;
/// Smallest mean |correlation| of signal with position along the series for a clear gradient.
pub const CLEAR_GRADIENT: f64 = 0.5;
/// Smallest mean |correlation| for a plate's direction to count towards (or against) the
/// others': a plate counted rotated is only suggested when its curves are this clear.
const STRONG_GRADIENT: f64 = 0.7;

/// What a plate looks like.
#[derive(Debug, Clone, PartialEq)]
pub enum PlateKind {
    /// Counts near instrument background everywhere (or nothing counted).
    Background {
        /// Median count, CPM.
        median: f64,
        /// Highest count, CPM.
        max: f64,
    },
    /// High and low control columns at the plate's edges (first and last column).
    Controls {
        /// The first column holds the high (total) wells; otherwise the last does.
        high_first: bool,
        /// Signal rises along the columns between the controls (then the first series column
        /// holds the highest competitor concentration).
        rising: bool,
    },
    /// No control columns: curves along the columns (one per row) or along the rows.
    Curves {
        /// The series runs along the columns (one compound per row); else along the rows.
        along_columns: bool,
        /// Signal rises with the column (or row) index.
        rising: bool,
        /// Mean |correlation| of signal with position: near 1 for clear curves, near 0 flat.
        clarity: f64,
    },
}

/// The survey of one plate.
#[derive(Debug, Clone, PartialEq)]
pub struct PlateSurvey {
    /// What it looks like.
    pub kind: PlateKind,
    /// Counted wells.
    pub counted: usize,
    /// Its gradient (or control columns) run against most plates of the same kind: it may have
    /// been counted turned by 180 degrees.
    pub maybe_rotated: bool,
}

/// Surveys every plate. Plates without controls share one axis (the one along which the
/// signal changes more over all of them: a screen has one layout); then plates whose clear
/// gradient (or control columns) runs against most clear plates of their kind are marked as
/// possibly rotated.
#[must_use]
pub fn survey(plates: &[RawPlate]) -> Vec<PlateSurvey> {
    let looks: Vec<Look> = plates.iter().map(look).collect();
    let (cols, rows): (f64, f64) = looks
        .iter()
        .filter_map(|l| match l {
            Look::Curves { by_cols, by_rows } => Some((by_cols.abs(), by_rows.abs())),
            _ => None,
        })
        .fold((0.0, 0.0), |(a, b), (c, r)| (a + c, b + r));
    // A curve needs points for its four parameters: never along fewer than 6 wells.
    let g = plates.first().map_or(crate::types::Geometry::W96, |p| p.geometry);
    let along_columns = match (g.cols >= MIN_SERIES, g.rows >= MIN_SERIES) {
        (true, false) => true,
        (false, true) => false,
        _ => cols >= rows,
    };
    let mut out: Vec<PlateSurvey> = plates
        .iter()
        .zip(looks)
        .map(|(p, l)| PlateSurvey {
            kind: match l {
                Look::Kind(k) => k,
                Look::Curves { by_cols, by_rows } => {
                    let score = if along_columns { by_cols } else { by_rows };
                    PlateKind::Curves { along_columns, rising: score >= 0.0, clarity: score.abs() }
                }
            },
            counted: p.values.iter().flatten().count(),
            maybe_rotated: false,
        })
        .collect();
    // Direction by majority, among the clear plates of the same kind.
    let key = |k: &PlateKind| match *k {
        PlateKind::Controls { high_first, .. } => Some((0, high_first)),
        PlateKind::Curves { rising, clarity, .. } if clarity >= STRONG_GRADIENT => {
            Some((1, rising))
        }
        _ => None,
    };
    for group in 0..2u8 {
        let dirs: Vec<bool> =
            out.iter().filter_map(|s| key(&s.kind)).filter(|k| k.0 == group).map(|k| k.1).collect();
        let up = dirs.iter().filter(|d| **d).count();
        let down = dirs.len() - up;
        if up == down {
            continue;
        }
        let majority = up > down;
        for s in &mut out {
            if key(&s.kind).is_some_and(|k| k.0 == group && k.1 != majority) {
                s.maybe_rotated = true;
            }
        }
    }
    out
}

/// What a plate looks like before the export's common axis is known.
enum Look {
    /// Background or controls.
    Kind(PlateKind),
    /// Curves: mean correlation of signal with position along the columns and along the rows.
    Curves { by_cols: f64, by_rows: f64 },
}

/// True when, on the plates whose compounds run by rows (control columns, or curves along the
/// columns), neighbouring rows pair up as replicates (A-B, C-D, ...): rows within a pair are
/// on average less than half as far apart as the rows across pairs (B-C, D-E, ...), distance
/// being the mean |difference| between two rows relative to the plate's 10-90% count span.
#[must_use]
pub fn rows_in_pairs(plates: &[RawPlate], surveys: &[PlateSurvey]) -> bool {
    let (mut within, mut across) = (0.0, 0.0);
    for (p, s) in plates.iter().zip(surveys) {
        let g = p.geometry;
        let lanes = match s.kind {
            PlateKind::Controls { .. } if g.cols > 2 => 1..g.cols - 1,
            PlateKind::Curves { along_columns: true, .. } => 0..g.cols,
            _ => continue,
        };
        if g.rows < 4 || g.rows % 2 == 1 {
            continue;
        }
        let mut counted: Vec<f64> = p.values.iter().flatten().copied().collect();
        counted.sort_by(f64::total_cmp);
        let span = (quantile(&counted, 0.9) - quantile(&counted, 0.1)).max(1.0);
        let at = |r: u16, c: u16| p.values[usize::from(r) * usize::from(g.cols) + usize::from(c)];
        let distance = |a: u16, b: u16| {
            let d: Vec<f64> =
                lanes.clone().filter_map(|c| Some((at(a, c)? - at(b, c)?).abs() / span)).collect();
            if d.is_empty() { 0.0 } else { d.iter().sum::<f64>() / d.len() as f64 }
        };
        for r in (0..g.rows).step_by(2) {
            within += distance(r, r + 1);
            if r + 2 < g.rows {
                across += distance(r + 1, r + 2);
            }
        }
    }
    across > 0.0 && within < 0.5 * across
}

/// Quantile `q` (0..1) of sorted values (nearest rank).
fn quantile(sorted: &[f64], q: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    let i = ((sorted.len() - 1) as f64 * q).round() as usize;
    sorted[i.min(sorted.len() - 1)]
}

/// Mean and coefficient of variation (%) of counted values.
fn mean_cv(v: &[f64]) -> (f64, f64) {
    let n = v.len() as f64;
    let mean = v.iter().sum::<f64>() / n;
    let var = v.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / (n - 1.0).max(1.0);
    (mean, 100.0 * var.sqrt() / mean.abs().max(f64::MIN_POSITIVE))
}

/// Pearson correlation of `y` with its positions `x`; `None` with fewer than 4 points or no
/// spread.
fn correlation(points: &[(f64, f64)]) -> Option<f64> {
    if points.len() < 4 {
        return None;
    }
    let n = points.len() as f64;
    let (mx, my) = points.iter().fold((0.0, 0.0), |(a, b), (x, y)| (a + x / n, b + y / n));
    let (mut sxy, mut sxx, mut syy) = (0.0, 0.0, 0.0);
    for (x, y) in points {
        sxy += (x - mx) * (y - my);
        sxx += (x - mx).powi(2);
        syy += (y - my).powi(2);
    }
    (sxx > 0.0 && syy > 0.0).then(|| sxy / (sxx * syy).sqrt())
}

/// Mean correlation of signal with position along each lane: along the columns of each row
/// (`along_columns`) or along the rows of each column, over `cols` (columns used).
fn gradient(p: &RawPlate, along_columns: bool, cols: std::ops::Range<u16>) -> Option<f64> {
    let g = p.geometry;
    let at = |r: u16, c: u16| p.values[usize::from(r) * usize::from(g.cols) + usize::from(c)];
    let corr: Vec<f64> = if along_columns {
        (0..g.rows)
            .filter_map(|r| {
                let pts: Vec<(f64, f64)> =
                    cols.clone().filter_map(|c| at(r, c).map(|v| (f64::from(c), v))).collect();
                correlation(&pts)
            })
            .collect()
    } else {
        cols.clone()
            .filter_map(|c| {
                let pts: Vec<(f64, f64)> =
                    (0..g.rows).filter_map(|r| at(r, c).map(|v| (f64::from(r), v))).collect();
                correlation(&pts)
            })
            .collect()
    };
    (!corr.is_empty()).then(|| corr.iter().sum::<f64>() / corr.len() as f64)
}

/// What one plate looks like.
fn look(p: &RawPlate) -> Look {
    let mut counted: Vec<f64> = p.values.iter().flatten().copied().collect();
    counted.sort_by(f64::total_cmp);
    let background = crate::normalise::background_p95(counted.iter().copied(), BACKGROUND_CPM);
    if counted.is_empty() || background.is_some() {
        let median = quantile(&counted, 0.5);
        return Look::Kind(PlateKind::Background {
            median: if median.is_finite() { median } else { 0.0 },
            max: counted.last().copied().unwrap_or(0.0),
        });
    }
    let g = p.geometry;
    let column = |c: u16| -> Vec<f64> {
        (0..g.rows)
            .filter_map(|r| p.values[usize::from(r) * usize::from(g.cols) + usize::from(c)])
            .collect()
    };
    if g.cols >= 4 {
        let (first, last) = (column(0), column(g.cols - 1));
        if first.len() >= 2 && last.len() >= 2 {
            let ((m1, cv1), (m2, cv2)) = (mean_cv(&first), mean_cv(&last));
            let ratio = m1.max(m2) / m1.min(m2).max(1.0);
            // Between control columns the series runs against them (the well next to the
            // high control holds the top concentration: low signal), or is flat; a curve
            // without controls runs on from its first column to its last.
            let inner = gradient(p, true, 1..g.cols - 1).unwrap_or(0.0);
            let high_first = m1 > m2;
            let against = (inner > 0.0) == high_first || inner.abs() < CLEAR_GRADIENT;
            if cv1 < CONTROL_CV_PCT && cv2 < CONTROL_CV_PCT && ratio >= CONTROL_RATIO && against {
                return Look::Kind(PlateKind::Controls { high_first, rising: inner >= 0.0 });
            }
        }
    }
    Look::Curves {
        by_cols: gradient(p, true, 0..g.cols).unwrap_or(0.0),
        by_rows: gradient(p, false, 0..g.cols).unwrap_or(0.0),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ingest::PlateMeta;
    use crate::types::Geometry;

    fn plate(f: impl Fn(u16, u16) -> Option<f64>) -> RawPlate {
        let g = Geometry::W96;
        let values = (0..g.len()).map(|i| f(g.pos(i).row, g.pos(i).col)).collect();
        RawPlate {
            source: "x".into(),
            index_in_file: 1,
            label: String::new(),
            geometry: g,
            values,
            meta: PlateMeta::default(),
        }
    }

    /// A falling competition curve along the columns: high signal at low concentration.
    fn curve(col: u16) -> f64 {
        300.0 + 3000.0 / (1.0 + 10f64.powf((f64::from(col) - 5.5) * 0.7))
    }

    #[test]
    fn kinds_and_rotation() {
        let background = plate(|r, c| Some(3.0 + f64::from((r + c) % 4)));
        let controls = plate(|_, c| {
            Some(match c {
                0 => 4000.0,
                11 => 400.0,
                _ => 400.0 + 3600.0 / (1.0 + 10f64.powf(5.0 - f64::from(c))),
            })
        });
        // Columns 1..12 hold the series lowest first here: signal falls along the row.
        let curves = plate(|_, c| Some(curve(c)));
        let rotated = plate(|_, c| Some(curve(11 - c)));
        let plates = [background, controls, curves.clone(), curves, rotated];
        let s = survey(&plates);
        assert!(matches!(s[0].kind, PlateKind::Background { .. }));
        assert_eq!(s[1].kind, PlateKind::Controls { high_first: true, rising: true });
        assert!(
            matches!(s[2].kind, PlateKind::Curves { along_columns: true, rising: false, .. }),
            "{:?}",
            s[2]
        );
        assert!(!s[2].maybe_rotated && !s[3].maybe_rotated);
        assert!(s[4].maybe_rotated);
    }

    #[test]
    fn duplicate_rows_pair_up() {
        // Rows A-B one compound, C-D another, ...: IC50 shifts by 2 columns per pair.
        let pairs = plate(|r, c| Some(curve((c + 2 * (r / 2)).min(11))));
        let singles = plate(|r, c| Some(curve((c + r).min(11))));
        let (pairs, singles) = ([pairs], [singles]);
        assert!(rows_in_pairs(&pairs, &survey(&pairs)));
        assert!(!rows_in_pairs(&singles, &survey(&singles)));
    }

    #[test]
    fn curves_along_rows() {
        let p = plate(|r, c| Some(curve(r * 11 / 7) + f64::from(c % 3)));
        assert!(matches!(survey(&[p])[0].kind, PlateKind::Curves { along_columns: false, .. }));
    }
}
