//! Cells of the report tables that hold measured values: an IC50/EC50 or Ki as a value with
//! its CI or as a censored bound, written in one unit per column ([`ConcUnit`]), with a
//! numeric sort key (censored values sort at their bound, after exact values on ties), and
//! the flags of a curve in words. Shared by the HTML and Markdown reports.

use std::fmt::Write as _;

use super::flag_words::flag_label;
use super::text::escape;
use crate::derive::rows::{Censor, CurveRow};
use crate::units::{ConcUnit, NOT_DETERMINED, p_value};

/// A measured concentration of a curve: the value, or the bound it lies beyond, with its CI.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct Measured {
    /// The value or bound (nM); NaN when not determined.
    pub nm: f64,
    /// Exact, or the side of the bound.
    pub censor: Censor,
    /// 95% CI (nM); NaN ends when there is none (always for a bound).
    pub ci: (f64, f64),
}

impl Measured {
    const NONE: Measured =
        Measured { nm: f64::NAN, censor: Censor::Exact, ci: (f64::NAN, f64::NAN) };

    fn of(c: &CurveRow, exact: Option<(f64, (f64, f64))>, bound: Option<f64>) -> Measured {
        let Some(fit) = &c.fit else { return Self::NONE };
        if fit.censor.is_exact() {
            return match exact {
                Some((v, ci)) if v.is_finite() && v > 0.0 => {
                    Measured { nm: v, censor: Censor::Exact, ci }
                }
                _ => Self::NONE,
            };
        }
        match bound {
            Some(b) => Measured { nm: b, censor: fit.censor, ci: (f64::NAN, f64::NAN) },
            None => Self::NONE,
        }
    }

    /// The IC50 (EC50) of a curve.
    pub fn ic50(c: &CurveRow) -> Measured {
        let exact = c.fit.as_ref().map(|f| (f.ic50_nm, f.ic50_ci_nm));
        Self::of(c, exact, c.ic50_bound_nm())
    }

    /// The Ki of a curve.
    pub fn ki(c: &CurveRow) -> Measured {
        let exact = c.fit.as_ref().map(|f| (f.ki_nm, f.ki_ci_nm));
        Self::of(c, exact, c.censored_ki_nm())
    }

    /// The Ki where the curve has one, else its IC50 (EC50): what the matrix shows.
    pub fn headline(c: &CurveRow) -> Measured {
        if c.has_ki() { Self::ki(c) } else { Self::ic50(c) }
    }

    /// The value as a number in `unit`: `1.30`, `> 4440`, `—`.
    pub fn value_text(&self, unit: ConcUnit) -> String {
        if !self.nm.is_finite() {
            return NOT_DETERMINED.to_string();
        }
        match self.censor {
            Censor::Exact => unit.number(self.nm),
            c => format!("{} {}", c.mark(), unit.number(self.nm)),
        }
    }

    /// The CI in `unit`, `0.758–1.20`; empty without one.
    pub fn ci_text(&self, unit: ConcUnit) -> String {
        let (lo, hi) = self.ci;
        if self.censor.is_exact() && lo.is_finite() && hi.is_finite() && lo > 0.0 {
            unit.range(lo, hi)
        } else {
            String::new()
        }
    }

    /// Value and CI in `unit`: `1.30 (0.958–1.76)`.
    pub fn with_ci_text(&self, unit: ConcUnit) -> String {
        let ci = self.ci_text(unit);
        if ci.is_empty() {
            self.value_text(unit)
        } else {
            format!("{} ({ci})", self.value_text(unit))
        }
    }

    /// The p value (pKi, pIC50) as text: `8.97`, `< 5.30` for a bound (the side turned).
    pub fn p_text(&self) -> String {
        if !self.nm.is_finite() {
            return NOT_DETERMINED.to_string();
        }
        let p = p_value(self.nm);
        match self.censor {
            Censor::Exact => format!("{p:.2}"),
            Censor::Above => format!("< {p:.2}"),
            Censor::Below => format!("> {p:.2}"),
        }
    }

    /// True for a bound.
    pub fn is_censored(&self) -> bool {
        self.nm.is_finite() && !self.censor.is_exact()
    }

    /// The sort attributes of the value's cell ([`sort_attrs`]).
    pub fn sort(&self) -> String {
        sort_attrs(Some(self.nm), self.is_censored())
    }

    /// The sort attributes of the p value's cell.
    pub fn p_sort(&self) -> String {
        sort_attrs(Some(p_value(self.nm)), self.is_censored())
    }
}

/// `data-sort` (the number the column sorts by, in full precision) and `data-tie` (1 for a
/// censored bound, so it sorts after an exact value equal to it); an empty `data-sort` for a
/// cell without a number (it sorts last either way).
pub(crate) fn sort_attrs(v: Option<f64>, censored: bool) -> String {
    match v {
        Some(v) if v.is_finite() => {
            format!(" data-sort=\"{v:e}\" data-tie=\"{}\"", u8::from(censored))
        }
        _ => " data-sort=\"\"".to_string(),
    }
}

/// The unit of a column of measured values: [`ConcUnit::for_column`] over them.
pub(crate) fn column_unit<'a>(values: impl Iterator<Item = &'a Measured>) -> ConcUnit {
    ConcUnit::for_column(values.map(|m| m.nm))
}

/// A number cell with `decimals` decimals and a typographic minus (`−0.97`); `—` when not
/// finite.
pub(crate) fn signed(v: f64, decimals: usize) -> String {
    if v.is_finite() {
        format!("{:.decimals$}", crate::units::plain_zero(v)).replace('-', "\u{2212}")
    } else {
        NOT_DETERMINED.to_string()
    }
}

/// Flags of a curve (and its status when it failed) as HTML badges: the words, the code on
/// hover, linked to the Flags section that describes each (one description per flag, not
/// one per badge: a large run has thousands of badges).
pub(crate) fn flag_badges_html(status_failed: Option<String>, flags: &[String]) -> String {
    let mut s = String::new();
    if let Some(st) = status_failed {
        let _ = write!(s, "<span class=\"status\">{}</span> ", escape(&st));
    }
    for f in flags {
        let _ = write!(
            s,
            "<a class=\"flag\" href=\"#flags\" title=\"{}\">{}</a>",
            escape(f),
            escape(&flag_label(f))
        );
    }
    s
}

/// Flags of a curve in words for a Markdown cell: `failed: …; IC50 above tested range`.
pub(crate) fn flag_words_text(status_failed: Option<String>, flags: &[String]) -> String {
    status_failed
        .into_iter()
        .chain(flags.iter().map(|f| flag_label(f)))
        .collect::<Vec<_>>()
        .join("; ")
}

impl CurveRow {
    /// True when the curve reports a Ki: its target gives [L] and Kd (an IC50-only target
    /// does not) and it is not a functional-assay curve.
    #[must_use]
    pub fn has_ki(&self) -> bool {
        self.radioligand_nm.is_finite() && self.kd_nm.is_finite() && self.functional.is_none()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sort_keys_are_numbers_and_bounds_sort_after_ties() {
        assert_eq!(sort_attrs(Some(4440.0), true), " data-sort=\"4.44e3\" data-tie=\"1\"");
        assert_eq!(sort_attrs(Some(f64::NAN), false), " data-sort=\"\"");
        let m = Measured { nm: 5300.0, censor: Censor::Above, ci: (f64::NAN, f64::NAN) };
        assert_eq!(m.p_text(), "< 5.28");
        assert_eq!(m.value_text(ConcUnit::NM), "> 5300");
        assert_eq!(signed(-0.974, 2), "\u{2212}0.97");
    }
}
