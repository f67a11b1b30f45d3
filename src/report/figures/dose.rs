//! The log-dose frame the curve, overlay and residual figures share: where a concentration
//! goes on the x axis (log10 M, with a slot for zero-dose points), the response axis range,
//! the mean ± SD of the replicates and the sampled fitted line.

use super::{TickedAxis, whole, y_ticks};
use crate::derive::rows::{CurvePoint, CurveRow, FitNumbers};

/// Points each fitted line is drawn from (evenly spaced in log concentration over the tested
/// range ± 0.5 log, coordinates to 0.01 px in the SVG), enough for a smooth curve.
pub(super) const LINE_POINTS: u32 = 240;

/// Title of the concentration axis.
pub(super) const X_DESC: &str = "log10 [compound] (M)";

/// log10 of a concentration in nM, as molar; `None` for zero, negative or non-finite.
pub(super) fn log_molar(conc_nm: f64) -> Option<f64> {
    (conc_nm.is_finite() && conc_nm > 0.0).then(|| crate::units::log10_molar(conc_nm))
}

/// The fit of a curve when it can be drawn: plateaus, slope and log IC50 all finite.
pub(super) fn drawable_fit(curve: &CurveRow) -> Option<&FitNumbers> {
    curve
        .fit
        .as_ref()
        .filter(|f| [f.top, f.bottom, f.hill_slope, f.log_ic50].iter().all(|v| v.is_finite()))
}

/// Mean and sample SD (n - 1; `None` for n < 2) of the included points at one concentration.
#[derive(Debug, Clone, PartialEq)]
pub(super) struct Group {
    pub(super) x: f64,
    pub(super) mean: f64,
    pub(super) sd: Option<f64>,
    /// Number of points in the group.
    pub(super) n: usize,
}

/// Groups the finite, included points by concentration (relative tolerance 1e-6).
/// `x_of` maps a concentration to the plotted x.
pub(super) fn mean_sd_groups(
    points: &[CurvePoint],
    x_of: impl Fn(f64) -> Option<f64>,
) -> Vec<Group> {
    let mut included: Vec<(f64, f64)> = points
        .iter()
        .filter(|p| p.excluded.is_none() && p.y.is_finite() && p.conc_nm.is_finite())
        .map(|p| (p.conc_nm, p.y))
        .collect();
    included.sort_by(|a, b| a.0.total_cmp(&b.0).then(a.1.total_cmp(&b.1)));
    let mut groups: Vec<Vec<(f64, f64)>> = Vec::new();
    for p in included {
        match groups.last_mut() {
            Some(g) if (g[0].0 - p.0).abs() <= 1e-6 * g[0].0.abs().max(p.0.abs()) => g.push(p),
            _ => groups.push(vec![p]),
        }
    }
    groups
        .into_iter()
        .filter_map(|g| {
            let x = x_of(g[0].0)?;
            let n = g.len() as f64;
            let mean = g.iter().map(|p| p.1).sum::<f64>() / n;
            let sd = (g.len() >= 2)
                .then(|| (g.iter().map(|p| (p.1 - mean).powi(2)).sum::<f64>() / (n - 1.0)).sqrt());
            Some(Group { x, mean, sd, n: g.len() })
        })
        .collect()
}

/// The x layout: the tested range in log10 M, padded, plus a slot for zero-dose points.
#[derive(Debug, Clone, Copy)]
pub(super) struct XLayout {
    /// Lowest and highest tested log10 M.
    pub(super) lo: f64,
    pub(super) hi: f64,
    /// Left and right end of the axis.
    pub(super) axis_lo: f64,
    pub(super) axis_hi: f64,
    /// Where zero-concentration points go, if there are any.
    pub(super) zero_x: Option<f64>,
}

impl XLayout {
    /// The layout of one curve: its tested range and points.
    pub(super) fn new(curve: &CurveRow) -> Self {
        Self::of(curve.tested_range_nm, &curve.points)
    }

    /// The layout of a tested range (nM), widened to every point so that none falls off; a
    /// zero-dose slot when a point at zero has a finite response.
    pub(super) fn of<'p>(
        tested_range_nm: (f64, f64),
        points: impl IntoIterator<Item = &'p CurvePoint> + Clone,
    ) -> Self {
        let (t_lo, t_hi) = tested_range_nm;
        let from_points = || {
            let logs: Vec<f64> =
                points.clone().into_iter().filter_map(|p| log_molar(p.conc_nm)).collect();
            let lo = logs.iter().copied().fold(f64::INFINITY, f64::min);
            let hi = logs.iter().copied().fold(f64::NEG_INFINITY, f64::max);
            (lo.is_finite() && hi.is_finite()).then_some((lo, hi))
        };
        // The tested range, widened to any point outside it so that no point falls off.
        let (mut lo, mut hi) = match ((log_molar(t_lo), log_molar(t_hi)), from_points()) {
            ((Some(a), Some(b)), Some((pa, pb))) if a <= b => (a.min(pa), b.max(pb)),
            ((Some(a), Some(b)), None) if a <= b => (a, b),
            (_, pts) => pts.unwrap_or((-10.0, -5.0)),
        };
        if hi - lo < 1.0 {
            // A single concentration (or a very narrow range): give the axis some width.
            let mid = (lo + hi) / 2.0;
            lo = mid - 0.5;
            hi = mid + 0.5;
        }
        let has_zero = points.into_iter().any(|p| p.conc_nm == 0.0 && p.y.is_finite());
        let main_lo = lo - 0.5;
        let zero_x = has_zero.then_some(main_lo - 0.75);
        let axis_lo = zero_x.map_or(main_lo, |z| z - 0.4);
        Self { lo, hi, axis_lo, axis_hi: hi + 0.5, zero_x }
    }

    /// Plotted x of a concentration (nM).
    pub(super) fn x_of(&self, conc_nm: f64) -> Option<f64> {
        if conc_nm == 0.0 { self.zero_x } else { log_molar(conc_nm) }
    }

    /// Tick positions: the integers of the tested range, and the zero slot.
    pub(super) fn ticks(&self) -> Vec<f64> {
        let mut ticks = Vec::new();
        if let Some(z) = self.zero_x {
            ticks.push(z);
        }
        let first = (self.lo - 0.5).ceil() as i64;
        let last = (self.hi + 0.5).floor() as i64;
        let step = if last - first > 10 { 2 } else { 1 };
        let mut k = first;
        while k <= last {
            ticks.push(k as f64);
            k += step;
        }
        ticks
    }

    /// The x axis with these ticks.
    pub(super) fn axis(&self) -> TickedAxis {
        TickedAxis { lo: self.axis_lo, hi: self.axis_hi, ticks: self.ticks() }
    }

    /// Tick label of `v`: `0` at the zero slot, else the whole log10 M with a true minus.
    pub(super) fn label(&self, v: f64) -> String {
        if self.zero_x.is_some_and(|z| (v - z).abs() < 1e-9) { "0".to_string() } else { whole(v) }
    }

    /// Whether a point lies inside the axes (finite, within x and the y range given).
    pub(super) fn in_view(&self, x: f64, y: f64, (y_lo, y_hi): (f64, f64)) -> bool {
        x.is_finite()
            && y.is_finite()
            && (y_lo..=y_hi).contains(&y)
            && (self.axis_lo..=self.axis_hi).contains(&x)
    }

    /// The fitted curve sampled at `n` points over the tested range ± 0.5 log, values clamped
    /// to the y range (non-finite values left out).
    pub(super) fn fitted_line(
        &self,
        fit: &FitNumbers,
        n: u32,
        (y_lo, y_hi): (f64, f64),
    ) -> Vec<(f64, f64)> {
        let (a, b) = (self.lo - 0.5, self.hi + 0.5);
        let last = f64::from(n - 1);
        (0..n)
            .map(|i| {
                let x = a + (b - a) * f64::from(i) / last;
                (x, fit.value(x))
            })
            .filter(|&(x, y)| x.is_finite() && y.is_finite())
            .map(|(x, y)| (x, y.clamp(y_lo, y_hi)))
            .collect()
    }
}

/// Response axis range for a set of values: covers 0..100 and every finite value, on multiples
/// of 20, guarded against absurd values (a CPM column passed as %) to stay readable.
pub(super) fn y_range(ys: impl Iterator<Item = f64>) -> (f64, f64) {
    let (lo, hi) =
        ys.filter(|y| y.is_finite()).fold((0.0f64, 100.0f64), |(a, b), y| (a.min(y), b.max(y)));
    let lo = ((lo - 5.0) / 20.0).floor() * 20.0;
    let hi = ((hi + 5.0) / 20.0).ceil() * 20.0;
    (lo.max(-1000.0), hi.min(1000.0).max(lo + 20.0))
}

/// The response axis over a range from [`y_range`].
pub(super) fn y_axis((lo, hi): (f64, f64)) -> TickedAxis {
    TickedAxis { lo, hi, ticks: y_ticks(lo, hi) }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::figures::curve::tests::{curve, point};

    #[test]
    fn axis_covers_points_outside_tested_range() {
        let mut c = curve();
        c.tested_range_nm = (1.0, 100.0);
        let xl = XLayout::new(&c);
        assert!(xl.axis_lo < -10.0 && xl.axis_hi > -5.0, "{xl:?}");
    }

    #[test]
    fn mean_and_sd_per_concentration() {
        let pts = vec![
            point(10.0, 40.0, None),
            point(10.0, 60.0, None),
            point(10.0, 0.0, Some("outlier")),
            point(100.0, 5.0, None),
        ];
        let g = mean_sd_groups(&pts, log_molar);
        assert_eq!(g.len(), 2);
        assert!((g[0].x - -8.0).abs() < 1e-12);
        assert!((g[0].mean - 50.0).abs() < 1e-12);
        assert!((g[0].sd.expect("sd") - 200f64.sqrt()).abs() < 1e-9);
        assert_eq!(g[1].sd, None);
    }

    #[test]
    fn response_range_covers_0_to_100_and_every_point() {
        assert_eq!(y_range([50.0].into_iter()), (-20.0, 120.0));
        assert_eq!(y_range([-30.0, 130.0, f64::NAN].into_iter()), (-40.0, 140.0));
        assert_eq!(y_range([1e9].into_iter()), (-20.0, 1000.0));
    }

    #[test]
    fn zero_slot_has_its_own_tick_and_label() {
        let xl = XLayout::new(&curve());
        let z = xl.zero_x.expect("zero-dose points");
        assert_eq!(xl.ticks()[0], z);
        assert_eq!(xl.label(z), "0");
        assert_eq!(xl.label(-8.0), "\u{2212}8");
    }
}
