//! Saturation binding: the radioligand's equilibrium dissociation constant `Kd` (nM) and the
//! receptor density `Bmax` (signal units, CPM) from total-binding and nonspecific-binding (NSB)
//! wells at 6-12 radioligand concentrations (DOMAIN.md §4).
//!
//! Two of Prism's models (GraphPad Prism curve-fitting guide, "Saturation binding"; Motulsky &
//! Christopoulos 2004, *Fitting models to biological data using linear and nonlinear
//! regression*, ch. 42-43):
//!
//! - [`SaturationModel::Global`], "One site -- Total and nonspecific binding": total and NSB
//!   wells fitted together with NS and Background shared ([`TotalAndNsb`]). The recommended fit.
//! - [`SaturationModel::Specific`], "One site -- Specific binding": specific = total - NSB per
//!   total well, then `Bmax L^h / (Kd^h + L^h)` ([`SpecificBinding`]).
//!
//! Both fit `LogKd` (log10 nM), so the 95% CI of Kd, `10^(LogKd -+ t se)`, is asymmetric and
//! positive, as for IC50 elsewhere in radbind. An optional ligand-depletion correction replaces
//! the added concentration by the free one ([`SaturationOptions::depletion`]).
//!
//! Owns these models, their starting values, the depletion correction and the result type.
//! The engine is [`crate::fit::maths::model_fit::fit_model`] (bounded Levenberg-Marquardt and
//! asymptotic SEs); reading wells and flagging results belong to the caller. Never panics on
//! data: input that cannot be fitted is an `Err`, a fit that does not reach a well-defined
//! optimum is a result with `converged == false` and the reason in `termination`.

use crate::fit::engine::Model;
use crate::fit::maths::four_pl::FourPl;
use crate::fit::maths::model_fit::{ModelFit, fit_model};

/// Lower bound of the Hill slope when it is fitted.
pub const HILL_MIN: f64 = 0.2;
/// Upper bound of the Hill slope when it is fitted.
pub const HILL_MAX: f64 = 5.0;
/// Distance (log10 units) beyond the tested concentration range that LogKd may move.
pub const LOG_KD_MARGIN: f64 = 3.0;

/// Index of Bmax (signal units) in the parameters of [`SpecificBinding`] and [`TotalAndNsb`].
pub const BMAX: usize = 0;
/// Index of LogKd (log10 nM).
pub const LOG_KD: usize = 1;
/// Index of the Hill slope (dimensionless).
pub const HILL: usize = 2;
/// Index of NS (signal units per nM) in the parameters of [`TotalAndNsb`].
pub const NS: usize = 3;
/// Index of Background (signal units) in the parameters of [`TotalAndNsb`].
pub const BACKGROUND: usize = 4;

/// One well of a saturation experiment.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct SaturationPoint {
    /// Added radioligand concentration, nM (`>= 0`).
    pub l_nm: f64,
    /// Measured signal, CPM (or any signal unit proportional to bound radioligand).
    pub y: f64,
    /// `true` for a total-binding well, `false` for an NSB well (excess unlabelled competitor).
    pub total: bool,
}

/// Which saturation model [`fit_saturation`] fits.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum SaturationModel {
    /// Prism's "One site -- Total and nonspecific binding": total and NSB wells fitted together
    /// ([`TotalAndNsb`]), NS and Background shared.
    #[default]
    Global,
    /// Prism's "One site -- Specific binding": each total well minus the mean NSB at its
    /// concentration, fitted with [`SpecificBinding`].
    Specific,
}

/// Options of [`fit_saturation`]. The default is the global model, Hill slope 1, no depletion
/// correction.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct SaturationOptions {
    /// Model to fit.
    pub model: SaturationModel,
    /// Fit the Hill slope `h` (bounded to [`HILL_MIN`]..[`HILL_MAX`]); `false` fixes `h = 1`.
    pub free_hill: bool,
    /// Ligand-depletion correction: signal units per nM of radioligand in the well (CPM/nM), so
    /// that bound radioligand in nM is `signal / cpm_per_nm`. `None` = no correction (x is the
    /// added concentration). Must be finite and positive.
    pub depletion: Option<f64>,
}

/// Specific binding `Bmax L^h / (Kd^h + L^h)` and its gradient `[dBmax, dLogKd, dHill]`.
///
/// Evaluated as the rising 4PL `FourPl(log10 L; Top = Bmax, Bottom = 0, h, LogIC50 = LogKd)`,
/// `Bmax / (1 + 10^(h (LogKd - log10 L)))`, which never overflows; `L = 0` gives exactly 0 with
/// a finite (zero) gradient. `L` in nM, `LogKd` in log10 nM.
#[inline]
fn specific_value_grad(l_nm: f64, bmax: f64, log_kd: f64, hill: f64, g: &mut [f64; 3]) -> f64 {
    let mut g4 = [0.0; 4];
    let y = FourPl.value_grad(l_nm.log10(), &[bmax, 0.0, hill, log_kd], &mut g4);
    *g = [g4[FourPl::TOP], g4[FourPl::LOG_IC50], g4[FourPl::HILL]];
    y
}

/// Prism's "One site -- Specific binding" (with the optional Hill slope),
/// `p = [bmax, log_kd, hill]`, `x = L` (free radioligand, nM):
///
/// `specific = Bmax L^h / (Kd^h + L^h)`, `Kd = 10^LogKd` (nM), Bmax in signal units.
/// `L = 0` gives exactly 0; negative `L` gives NaN.
///
/// With `s = L^h / (Kd^h + L^h)`: `dY/dBmax = s`, `dY/dLogKd = -Bmax h s (1 - s) ln 10`,
/// `dY/dh = Bmax s (1 - s) ln(L / Kd)` (Motulsky & Christopoulos 2004, ch. 42; DOMAIN.md §4).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct SpecificBinding;

impl Model<3> for SpecificBinding {
    #[inline]
    fn value(&self, x: f64, p: &[f64; 3]) -> f64 {
        let mut g = [0.0; 3];
        self.value_grad(x, p, &mut g)
    }

    #[inline]
    fn value_grad(&self, x: f64, p: &[f64; 3], grad: &mut [f64; 3]) -> f64 {
        let mut g = [0.0; 3];
        let y = specific_value_grad(x, p[BMAX], p[LOG_KD], p[HILL], &mut g);
        grad[BMAX] = g[0];
        grad[LOG_KD] = g[1];
        grad[HILL] = g[2];
        y
    }
}

/// Prism's "One site -- Total and nonspecific binding" as one mean function of both datasets,
/// `p = [bmax, log_kd, hill, ns, background]`:
///
/// ```text
/// NSB(L)   = NS L + Background
/// total(L) = Bmax L^h / (Kd^h + L^h) + NS L + Background,   Kd = 10^LogKd
/// ```
///
/// **Encoding of x:** `x = +L` is a total well at `L` nM, `x = -L` an NSB well at `L` nM. At
/// `L = 0` both datasets have the same value (Background) and gradient, so the ambiguity of
/// `x = 0` (and `-0.0`) is harmless, and no precision is lost for small `L`. Units: `L` nM,
/// Bmax and Background signal units (CPM), NS signal units per nM (GraphPad Prism
/// curve-fitting guide, "Saturation binding: total and nonspecific"; Motulsky & Christopoulos
/// 2004, ch. 43).
///
/// Gradient: `dNSB/dNS = L`, `dNSB/dBackground = 1`, zero for the specific parameters; a total
/// well adds the gradient of [`SpecificBinding`].
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct TotalAndNsb;

impl TotalAndNsb {
    /// The model's x for a well at `l_nm` (total: `+L`, NSB: `-L`).
    pub fn encode(l_nm: f64, total: bool) -> f64 {
        if total { l_nm } else { -l_nm }
    }
}

impl Model<5> for TotalAndNsb {
    #[inline]
    fn value(&self, x: f64, p: &[f64; 5]) -> f64 {
        let mut g = [0.0; 5];
        self.value_grad(x, p, &mut g)
    }

    #[inline]
    fn value_grad(&self, x: f64, p: &[f64; 5], grad: &mut [f64; 5]) -> f64 {
        let (l, total) = if x < 0.0 { (-x, false) } else { (x, true) };
        let mut y = p[NS] * l + p[BACKGROUND];
        grad[NS] = l;
        grad[BACKGROUND] = 1.0;
        if total {
            let mut g = [0.0; 3];
            y += specific_value_grad(l, p[BMAX], p[LOG_KD], p[HILL], &mut g);
            grad[BMAX] = g[0];
            grad[LOG_KD] = g[1];
            grad[HILL] = g[2];
        } else {
            grad[BMAX] = 0.0;
            grad[LOG_KD] = 0.0;
            grad[HILL] = 0.0;
        }
        y
    }
}

/// Result of [`fit_saturation`]. Statistics that are undefined (a fixed parameter, a singular
/// Jacobian, no degrees of freedom) are NaN; whenever `converged` is true, Kd, Bmax, their SEs
/// and CIs, R² and Sy.x are finite.
#[derive(Debug, Clone, PartialEq)]
pub struct SaturationFit {
    /// Which model was fitted.
    pub model: SaturationModel,
    /// `Kd = 10^log_kd`, nM (of free radioligand when the depletion correction is on).
    pub kd_nm: f64,
    /// Fitted LogKd, log10 nM.
    pub log_kd: f64,
    /// Asymptotic standard error of LogKd, log10 units.
    pub log_kd_se: f64,
    /// 95% CI of Kd, nM: `10^(LogKd -+ t(0.975, df) se)` (asymmetric, always positive).
    pub kd_ci_nm: (f64, f64),
    /// Maximal specific binding, signal units (CPM).
    pub bmax: f64,
    /// Asymptotic standard error of Bmax, signal units.
    pub bmax_se: f64,
    /// 95% CI of Bmax, signal units: `Bmax -+ t(0.975, df) se`.
    pub bmax_ci: (f64, f64),
    /// Hill slope `h` (dimensionless); exactly 1 when not fitted.
    pub hill: f64,
    /// Standard error of `h`; NaN when `h` is fixed.
    pub hill_se: f64,
    /// Slope of nonspecific binding, signal units per nM. Global model: fitted (shared by both
    /// datasets). Specific model: the least-squares line through the NSB wells (NaN when they
    /// span fewer than two concentrations).
    pub ns: f64,
    /// Standard error of `ns` (for the Specific model the OLS SE of the NSB line; NaN with two
    /// NSB wells or fewer).
    pub ns_se: f64,
    /// Nonspecific binding at `L = 0`, signal units; fitted (Global) or the NSB line's
    /// intercept (Specific), like `ns`.
    pub background: f64,
    /// Standard error of `background` (see `ns_se`).
    pub background_se: f64,
    /// `1 - RSS/TSS` of the fitted data (Global: total and NSB wells together; Specific: the
    /// specific-binding values).
    pub r_squared: f64,
    /// `sqrt(RSS / df)`, signal units (Prism's Sy.x).
    pub sy_x: f64,
    /// Number of fitted points (Global: total + NSB wells; Specific: total wells).
    pub n_points: usize,
    /// Degrees of freedom, `n_points -` fitted parameters.
    pub df: usize,
    /// True when the iteration reached a least-squares optimum with Bmax > 0 and finite
    /// standard errors of every fitted parameter.
    pub converged: bool,
    /// How the fit ended, in words (the engine's reason, or why the result is not usable).
    pub termination: String,
    /// `100 specific(Kd) / total(Kd)`, percent, from the fitted curves: the share of total
    /// binding that is specific at a radioligand concentration equal to Kd (DOMAIN.md §6: should
    /// exceed 80%).
    pub pct_specific_at_kd: f64,
    /// Largest fraction (0-1) of added radioligand bound in a total well,
    /// `signal / (L_added cpm_per_nm)`, over all total wells with finite data and `L_added > 0`
    /// (including wells dropped because their free concentration is not positive). NaN without
    /// the depletion correction. Above 0.1, free and added concentrations differ noticeably.
    pub max_fraction_bound: f64,
    /// Highest fitted total-well concentration (free when corrected for depletion) divided by
    /// Kd. Below about 5-10 the plateau is not reached and Bmax is poorly defined (Prism warns).
    pub highest_l_over_kd: f64,
    /// What was done to the data: dropped wells, NSB taken from the fitted line, and so on.
    pub notes: Vec<String>,
}

impl SaturationFit {
    /// Fitted specific binding at free radioligand `l_nm` (nM), signal units:
    /// `Bmax L^h / (Kd^h + L^h)`; 0 at `L = 0`, NaN for negative or NaN `L`.
    pub fn specific_at(&self, l_nm: f64) -> f64 {
        if !(l_nm >= 0.0) {
            return f64::NAN;
        }
        let mut g = [0.0; 3];
        specific_value_grad(l_nm, self.bmax, self.log_kd, self.hill, &mut g)
    }

    /// Fitted nonspecific binding `NS L + Background` at `l_nm` (nM), signal units; NaN for
    /// negative `L` or when the NSB line is unknown.
    pub fn nsb_at(&self, l_nm: f64) -> f64 {
        if !(l_nm >= 0.0) {
            return f64::NAN;
        }
        self.ns * l_nm + self.background
    }

    /// Fitted total binding, `specific_at + nsb_at`, signal units.
    pub fn total_at(&self, l_nm: f64) -> f64 {
        self.specific_at(l_nm) + self.nsb_at(l_nm)
    }
}

/// A usable well after validation and the depletion correction.
#[derive(Debug, Clone, Copy, PartialEq)]
struct Well {
    /// Added concentration, nM.
    l_added: f64,
    /// The model's concentration: free (depletion-corrected) or added, nM.
    x: f64,
    /// Signal.
    y: f64,
}

/// Wells split by dataset, with the notes on what was dropped.
#[derive(Debug, Clone, PartialEq)]
struct Prepared {
    total: Vec<Well>,
    nsb: Vec<Well>,
    notes: Vec<String>,
    max_fraction_bound: f64,
}

/// `1, 4, 7` (up to 10 indices, then `...`).
fn index_list(idx: &[usize]) -> String {
    let mut s: Vec<String> = idx.iter().take(10).map(ToString::to_string).collect();
    if idx.len() > 10 {
        s.push("...".into());
    }
    s.join(", ")
}

/// Validates the wells and applies the depletion correction.
///
/// Wells with a non-finite signal or a concentration that is negative or not finite are
/// dropped with a note. With `depletion = Some(c)` (signal units per nM), each well's x is the
/// free concentration `L_free = L_added - y / c` (Motulsky & Christopoulos 2004, ch. 43,
/// "ligand depletion"; total wells with their total counts, NSB wells with their own), and
/// wells with `L_free <= 0` are dropped with a note. `max_fraction_bound` is
/// `max y / (L_added c)` over the total wells with finite data and `L_added > 0`.
fn prepare(points: &[SaturationPoint], depletion: Option<f64>) -> Result<Prepared, String> {
    if let Some(c) = depletion {
        if !(c.is_finite() && c > 0.0) {
            return Err(format!(
                "depletion correction: signal per nM must be finite and positive, got {c}"
            ));
        }
    }
    let mut out = Prepared {
        total: Vec::new(),
        nsb: Vec::new(),
        notes: Vec::new(),
        max_fraction_bound: f64::NAN,
    };
    let mut bad = Vec::new();
    let mut depleted = Vec::new();
    let mut max_frac = f64::NEG_INFINITY;
    for (i, p) in points.iter().enumerate() {
        if !(p.y.is_finite() && p.l_nm.is_finite() && p.l_nm >= 0.0) {
            bad.push(i);
            continue;
        }
        let x = match depletion {
            Some(c) => {
                if p.total && p.l_nm > 0.0 {
                    max_frac = max_frac.max(p.y / (p.l_nm * c));
                }
                let free = p.l_nm - p.y / c;
                if !(free > 0.0) {
                    depleted.push(i);
                    continue;
                }
                free
            }
            None => p.l_nm,
        };
        let w = Well { l_added: p.l_nm, x, y: p.y };
        if p.total { out.total.push(w) } else { out.nsb.push(w) }
    }
    if !bad.is_empty() {
        out.notes.push(format!(
            "{} well(s) dropped: non-finite signal or concentration not a finite number >= 0 \
             (point index {})",
            bad.len(),
            index_list(&bad)
        ));
    }
    if !depleted.is_empty() {
        out.notes.push(format!(
            "{} well(s) dropped: free concentration after the depletion correction is <= 0 \
             (signal exceeds the added radioligand; point index {})",
            depleted.len(),
            index_list(&depleted)
        ));
    }
    if max_frac.is_finite() {
        out.max_fraction_bound = max_frac;
    }
    Ok(out)
}

/// Ordinary least-squares line `y = intercept + slope x` with the classical standard errors
/// `se(slope) = s / sqrt(Sxx)`, `se(intercept) = s sqrt(1/n + mean(x)^2 / Sxx)`,
/// `s^2 = RSS / (n - 2)` (NaN for `n <= 2`).
#[derive(Debug, Clone, Copy, PartialEq)]
struct Line {
    slope: f64,
    intercept: f64,
    slope_se: f64,
    intercept_se: f64,
}

impl Line {
    fn at(&self, x: f64) -> f64 {
        self.intercept + self.slope * x
    }
}

/// The OLS line through `(x, y)`; `None` with fewer than two distinct x.
fn fit_line(x: &[f64], y: &[f64]) -> Option<Line> {
    let n = x.len().min(y.len());
    let first = *x.first()?;
    if n < 2 || x[..n].iter().all(|v| *v == first) {
        return None;
    }
    let nf = n as f64;
    let xm = x[..n].iter().sum::<f64>() / nf;
    let ym = y[..n].iter().sum::<f64>() / nf;
    let sxx: f64 = x[..n].iter().map(|v| (v - xm).powi(2)).sum();
    let sxy: f64 = (0..n).map(|i| (x[i] - xm) * (y[i] - ym)).sum();
    if !(sxx > 0.0) {
        return None;
    }
    let slope = sxy / sxx;
    let intercept = ym - slope * xm;
    let (slope_se, intercept_se) = if n > 2 {
        let rss: f64 = (0..n).map(|i| (y[i] - intercept - slope * x[i]).powi(2)).sum();
        let s2 = rss / (nf - 2.0);
        ((s2 / sxx).sqrt(), (s2 * (1.0 / nf + xm * xm / sxx)).sqrt())
    } else {
        (f64::NAN, f64::NAN)
    };
    Some(Line { slope, intercept, slope_se, intercept_se })
}

/// Same concentration up to rounding (relative 1e-9).
fn same_conc(a: f64, b: f64) -> bool {
    (a - b).abs() <= 1e-9 * a.abs().max(b.abs())
}

/// Groups `(key, x, y)` by `key` (added concentration): `(key, mean x, mean y)` sorted by key.
fn levels(pts: impl IntoIterator<Item = (f64, f64, f64)>) -> Vec<(f64, f64, f64)> {
    let mut v: Vec<(f64, f64, f64)> = pts.into_iter().collect();
    v.sort_by(|a, b| a.0.total_cmp(&b.0));
    let mut out: Vec<(f64, f64, f64)> = Vec::new();
    let mut i = 0;
    while i < v.len() {
        let mut j = i;
        let (mut sx, mut sy) = (0.0, 0.0);
        while j < v.len() && same_conc(v[j].0, v[i].0) {
            sx += v[j].1;
            sy += v[j].2;
            j += 1;
        }
        let m = (j - i) as f64;
        out.push((v[i].0, sx / m, sy / m));
        i = j;
    }
    out
}

/// Starting `(Bmax, LogKd)` from specific binding averaged per concentration level
/// `(key, x, specific)`: Bmax = the largest level mean, Kd = the x where the level means first
/// reach half of it, interpolated linearly in log x (the lowest positive x if the first level
/// already does). Motulsky & Christopoulos 2004, ch. 28 (initial values). Always finite.
fn start_bmax_log_kd(levels: &[(f64, f64, f64)], scale: f64) -> (f64, f64) {
    let pos: Vec<(f64, f64)> =
        levels.iter().filter(|l| l.1 > 0.0 && l.2.is_finite()).map(|l| (l.1, l.2)).collect();
    let max = pos.iter().map(|l| l.1).fold(f64::NEG_INFINITY, f64::max);
    // Without any positive specific binding, start just above Bmax = 0 (its bound).
    let bmax = if max > 0.0 {
        max
    } else if scale > 0.0 {
        1e-3 * scale
    } else {
        1.0
    };
    let (xlo, xhi) = pos
        .iter()
        .fold((f64::INFINITY, f64::NEG_INFINITY), |(lo, hi), l| (lo.min(l.0), hi.max(l.0)));
    let mut log_kd = if xlo <= xhi { 0.5 * (xlo.log10() + xhi.log10()) } else { 0.0 };
    let half = 0.5 * bmax;
    for (k, &(x, s)) in pos.iter().enumerate() {
        if s >= half {
            log_kd = match k.checked_sub(1).map(|j| pos[j]) {
                Some((x0, s0)) if s > s0 => {
                    let (l0, l1) = (x0.log10(), x.log10());
                    l0 + (half - s0) / (s - s0) * (l1 - l0)
                }
                _ => x.log10(),
            };
            break;
        }
    }
    if !log_kd.is_finite() {
        log_kd = 0.0;
    }
    (bmax, log_kd)
}

/// Fits a saturation experiment (DOMAIN.md §4; GraphPad Prism curve-fitting guide, "Saturation
/// binding"; Motulsky & Christopoulos 2004, ch. 42-43).
///
/// - [`SaturationModel::Global`]: [`TotalAndNsb`] to all wells, `p = [Bmax, LogKd, h, NS,
///   Background]`; NS and Background start from the OLS line through the NSB wells.
/// - [`SaturationModel::Specific`]: for each total well, specific = signal - mean of the NSB
///   wells at the same added concentration; a total well whose concentration has no NSB well
///   uses the OLS line through all NSB wells at its x (a note says how many). Fitted with
///   [`SpecificBinding`]; the reported NS and Background are that line's. The SEs of Kd and
///   Bmax treat the specific values as data, as Prism does, ignoring the noise of the
///   subtracted NSB means (shared by the replicate total wells of a concentration), so its CIs
///   are too narrow: about 87% coverage of a nominal 95% CI in simulations with constant
///   noise, against about 94% for the global fit.
///
/// The fit is unweighted (least squares with constant variance, Prism's default). With noise
/// proportional to the signal (constant CV) the Kd CI of the global fit covers about 90%
/// instead of 95% in simulations (3% CV, the design of the unit tests).
///
/// Starting values from the data: NS and Background from the NSB line, Bmax = the largest mean
/// specific binding of a concentration, Kd where half of it is reached, h = 1. Bounds: Bmax >= 0,
/// LogKd within the tested positive x range +- [`LOG_KD_MARGIN`], h in [`HILL_MIN`]..[`HILL_MAX`]
/// when free. With the depletion correction all x are free concentrations (see
/// [`SaturationOptions::depletion`]) and Kd refers to free radioligand.
///
/// # Errors
///
/// A message when the data cannot be fitted at all: an invalid depletion factor, no total or no
/// NSB well left after validation, fewer wells than fitted parameters, or fewer distinct total
/// concentrations than specific-binding parameters (2, or 3 with a free Hill slope). Everything
/// else (flat data, Kd outside the range, no convergence) is an `Ok` with `converged == false`.
pub fn fit_saturation(
    points: &[SaturationPoint],
    opts: &SaturationOptions,
) -> Result<SaturationFit, String> {
    let prep = prepare(points, opts.depletion)?;
    if prep.total.is_empty() {
        return Err("saturation fit needs total-binding wells; none are usable".into());
    }
    if prep.nsb.is_empty() {
        return Err("saturation fit needs nonspecific-binding (NSB) wells; none are usable".into());
    }
    let n_specific = if opts.free_hill { 3 } else { 2 };
    let distinct = levels(prep.total.iter().map(|w| (w.l_added, w.x, w.y)))
        .iter()
        .filter(|l| l.0 > 0.0)
        .count();
    if distinct < n_specific {
        return Err(format!(
            "saturation fit needs total wells at {n_specific} or more distinct positive \
             concentrations, got {distinct}"
        ));
    }
    let nsb_line = fit_line(
        &prep.nsb.iter().map(|w| w.x).collect::<Vec<_>>(),
        &prep.nsb.iter().map(|w| w.y).collect::<Vec<_>>(),
    );
    match opts.model {
        SaturationModel::Global => fit_global(prep, nsb_line, opts),
        SaturationModel::Specific => fit_specific(prep, nsb_line, opts),
    }
}

/// Box bounds and fixed flags of the specific-binding parameters `[Bmax, LogKd, h]` for the
/// total wells' x.
fn specific_bounds(x_total: &[f64], free_hill: bool) -> ([f64; 3], [f64; 3], [bool; 3]) {
    let (lo, hi) = x_total
        .iter()
        .filter(|v| **v > 0.0)
        .fold((f64::INFINITY, f64::NEG_INFINITY), |(lo, hi), v| (lo.min(*v), hi.max(*v)));
    let (lo, hi) = if lo <= hi { (lo.log10(), hi.log10()) } else { (0.0, 0.0) };
    let (hl, hu) = if free_hill { (HILL_MIN, HILL_MAX) } else { (1.0, 1.0) };
    (
        [0.0, lo - LOG_KD_MARGIN, hl],
        [f64::INFINITY, hi + LOG_KD_MARGIN, hu],
        [false, false, !free_hill],
    )
}

fn fit_global(
    prep: Prepared,
    nsb_line: Option<Line>,
    opts: &SaturationOptions,
) -> Result<SaturationFit, String> {
    let free = if opts.free_hill { 5 } else { 4 };
    let n = prep.total.len() + prep.nsb.len();
    if n < free {
        return Err(format!("global saturation fit needs at least {free} wells, got {n}"));
    }
    // Start of the NSB line: OLS through the NSB wells; with a single NSB concentration, a line
    // through the origin (NSB proportional to L), or flat when that is at L = 0.
    let (ns0, bg0) = match nsb_line {
        Some(l) => (l.slope, l.intercept),
        None => {
            let m = prep.nsb.len() as f64;
            let xm = prep.nsb.iter().map(|w| w.x).sum::<f64>() / m;
            let ym = prep.nsb.iter().map(|w| w.y).sum::<f64>() / m;
            if xm > 0.0 { (ym / xm, 0.0) } else { (0.0, ym) }
        }
    };
    let lv = levels(prep.total.iter().map(|w| (w.l_added, w.x, w.y - (ns0 * w.x + bg0))));
    let scale = prep.total.iter().map(|w| w.y.abs()).fold(0.0, f64::max);
    let (bmax0, log_kd0) = start_bmax_log_kd(&lv, scale);
    let x_total: Vec<f64> = prep.total.iter().map(|w| w.x).collect();
    let (sl, su, sf) = specific_bounds(&x_total, opts.free_hill);
    let inf = f64::INFINITY;
    let lower = [sl[0], sl[1], sl[2], -inf, -inf];
    let upper = [su[0], su[1], su[2], inf, inf];
    let fixed = [sf[0], sf[1], sf[2], false, false];
    let start = [bmax0, log_kd0.clamp(lower[1], upper[1]), 1.0, ns0, bg0];
    let mut x = Vec::with_capacity(n);
    let mut y = Vec::with_capacity(n);
    for w in &prep.total {
        x.push(TotalAndNsb::encode(w.x, true));
        y.push(w.y);
    }
    for w in &prep.nsb {
        x.push(TotalAndNsb::encode(w.x, false));
        y.push(w.y);
    }
    let m = fit_model(&TotalAndNsb, &x, &y, None, start, fixed, lower, upper);
    let specific = [m.params[BMAX], m.params[LOG_KD], m.params[HILL]];
    let nsb = Nsb {
        ns: m.params[NS],
        ns_se: m.se[NS],
        background: m.params[BACKGROUND],
        background_se: m.se[BACKGROUND],
    };
    let ctx = Context {
        model: SaturationModel::Global,
        lower: sl,
        upper: su,
        x_total: &x_total,
        y_scale: y.iter().map(|v| v.abs()).fold(0.0, f64::max),
        nsb,
    };
    Ok(assemble(&m, specific, fixed, &ctx, prep))
}

fn fit_specific(
    mut prep: Prepared,
    nsb_line: Option<Line>,
    opts: &SaturationOptions,
) -> Result<SaturationFit, String> {
    let nsb_levels = levels(prep.nsb.iter().map(|w| (w.l_added, w.x, w.y)));
    let mut x = Vec::with_capacity(prep.total.len());
    let mut y = Vec::with_capacity(prep.total.len());
    let mut kept = Vec::with_capacity(prep.total.len());
    let (mut from_line, mut unpaired) = (0usize, 0usize);
    for w in &prep.total {
        let paired = nsb_levels.iter().find(|l| same_conc(l.0, w.l_added)).map(|l| l.2);
        let nsb = match (paired, nsb_line) {
            (Some(v), _) => v,
            (None, Some(line)) => {
                from_line += 1;
                line.at(w.x)
            }
            (None, None) => {
                unpaired += 1;
                continue;
            }
        };
        x.push(w.x);
        y.push(w.y - nsb);
        kept.push(*w);
    }
    if from_line > 0 {
        prep.notes.push(format!(
            "{from_line} total well(s) had no NSB well at their concentration: NSB taken from \
             the least-squares line through the NSB wells"
        ));
    }
    if unpaired > 0 {
        prep.notes.push(format!(
            "{unpaired} total well(s) dropped: no NSB well at their concentration, and the NSB \
             wells span fewer than two concentrations (no NSB line)"
        ));
    }
    let free = if opts.free_hill { 3 } else { 2 };
    let distinct = levels(kept.iter().map(|w| (w.l_added, w.x, w.y))).len();
    if x.len() < free || distinct < free {
        return Err(format!(
            "specific-binding fit needs total wells at {free} or more distinct concentrations \
             with an NSB value, got {} well(s) at {distinct}",
            x.len()
        ));
    }
    let lv = levels(kept.iter().zip(&y).map(|(w, s)| (w.l_added, w.x, *s)));
    let scale = y.iter().map(|v| v.abs()).fold(0.0, f64::max);
    let (bmax0, log_kd0) = start_bmax_log_kd(&lv, scale);
    let (lower, upper, fixed) = specific_bounds(&x, opts.free_hill);
    let start = [bmax0, log_kd0.clamp(lower[1], upper[1]), 1.0];
    let m = fit_model(&SpecificBinding, &x, &y, None, start, fixed, lower, upper);
    let nsb = match nsb_line {
        Some(l) => Nsb {
            ns: l.slope,
            ns_se: l.slope_se,
            background: l.intercept,
            background_se: l.intercept_se,
        },
        None => {
            Nsb { ns: f64::NAN, ns_se: f64::NAN, background: f64::NAN, background_se: f64::NAN }
        }
    };
    let ctx = Context {
        model: SaturationModel::Specific,
        lower,
        upper,
        x_total: &x,
        y_scale: scale,
        nsb,
    };
    Ok(assemble(&m, m.params, fixed, &ctx, prep))
}

/// The NSB line reported with a fit.
#[derive(Debug, Clone, Copy)]
struct Nsb {
    ns: f64,
    ns_se: f64,
    background: f64,
    background_se: f64,
}

/// What [`assemble`] needs besides the engine fit.
struct Context<'a> {
    model: SaturationModel,
    /// Bounds of `[Bmax, LogKd, h]`.
    lower: [f64; 3],
    upper: [f64; 3],
    /// Concentrations (x) of the fitted total wells, nM.
    x_total: &'a [f64],
    /// Largest |y| of the fitted data (what "Bmax is 0" is relative to).
    y_scale: f64,
    nsb: Nsb,
}

/// Builds the result from an engine fit. `specific = [Bmax, LogKd, h]`; `fixed` flags the
/// fitted model's parameters (each free one needs a finite SE for `converged`).
///
/// `converged` is cleared, and `termination` says why, when Bmax is 0 (to 1e-9 of the data
/// scale: no specific binding), LogKd or a free Hill slope ends on its bound (not determined by
/// the data), a parameter, SE, R² or Sy.x is not finite, or the CI of Kd overflows to
/// `(0, inf)` (Prism's "ambiguous").
fn assemble<const P: usize>(
    m: &ModelFit<P>,
    specific: [f64; 3],
    fixed: [bool; P],
    ctx: &Context<'_>,
    prep: Prepared,
) -> SaturationFit {
    let [bmax, log_kd, hill] = specific;
    let kd_nm = 10f64.powf(log_kd);
    let (ci_lo, ci_hi) = m.ci95[LOG_KD];
    let mut fit = SaturationFit {
        model: ctx.model,
        kd_nm,
        log_kd,
        log_kd_se: m.se[LOG_KD],
        kd_ci_nm: (10f64.powf(ci_lo), 10f64.powf(ci_hi)),
        bmax,
        bmax_se: m.se[BMAX],
        bmax_ci: m.ci95[BMAX],
        hill,
        hill_se: m.se[HILL],
        ns: ctx.nsb.ns,
        ns_se: ctx.nsb.ns_se,
        background: ctx.nsb.background,
        background_se: ctx.nsb.background_se,
        r_squared: m.r_squared,
        sy_x: m.sy_x,
        n_points: m.n,
        df: m.df,
        converged: m.termination.converged(),
        termination: m.termination.reason().to_string(),
        pct_specific_at_kd: f64::NAN,
        max_fraction_bound: prep.max_fraction_bound,
        highest_l_over_kd: ctx.x_total.iter().copied().fold(f64::NEG_INFINITY, f64::max) / kd_nm,
        notes: prep.notes,
    };
    fit.pct_specific_at_kd = 100.0 * fit.specific_at(kd_nm) / fit.total_at(kd_nm);
    let on = |v: f64, b: f64| (v - b).abs() <= 1e-9 * b.abs().max(1.0);
    let params_finite = m.params.iter().all(|v| v.is_finite());
    let se_finite = (0..P).all(|k| fixed[k] || m.se[k].is_finite());
    let stats_finite = fit.r_squared.is_finite() && fit.sy_x.is_finite();
    let (kd_lo, kd_hi) = fit.kd_ci_nm;
    let ci_bounded = kd_lo > 0.0 && kd_hi.is_finite() && fit.bmax_ci.1.is_finite();
    let problem = if !(bmax > 1e-9 * ctx.y_scale && ctx.y_scale > 0.0) {
        Some("no specific binding: Bmax fitted as 0 (total binding does not exceed NSB)")
    } else if on(log_kd, ctx.lower[LOG_KD]) {
        Some(
            "Kd ran to the lower end of its range (1000x below the lowest concentration): \
             not determined by the data",
        )
    } else if on(log_kd, ctx.upper[LOG_KD]) {
        Some(
            "Kd ran to the upper end of its range (1000x above the highest concentration): \
             binding does not saturate in the tested range",
        )
    } else if ctx.lower[HILL] < ctx.upper[HILL]
        && (on(hill, ctx.lower[HILL]) || on(hill, ctx.upper[HILL]))
    {
        Some("the Hill slope stopped at its bound (0.2 or 5): not determined by the data")
    } else if fit.converged && !(params_finite && se_finite && stats_finite) {
        Some(
            "the fit reached an optimum, but its standard errors are undefined (no degrees of \
             freedom, or Kd/Bmax not identifiable from the data)",
        )
    } else if fit.converged && !ci_bounded {
        Some(
            "ambiguous fit: the confidence interval of Kd or Bmax is unbounded (not determined \
             by the data)",
        )
    } else {
        None
    };
    if let Some(why) = problem {
        fit.converged = false;
        fit.termination = why.to_string();
    }
    fit
}

#[cfg(test)]
mod tests;
