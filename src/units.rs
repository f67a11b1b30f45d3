//! Units and names shared by every stage: the one home of each conversion and display rule.
//!
//! - Concentrations are carried in nM everywhere. [`log10_molar`] / [`log_molar`] give the
//!   x axis of the curve models and figures (log10 M) and [`nm_from_log10_molar`] turns it
//!   back, [`p_value`] the pKi / pIC50 scale
//!   (-log10 M).
//! - [`parse_conc_nm`] reads a concentration with a unit; [`format_conc_nm`],
//!   [`format_conc_range_nm`] and [`nm_number`] write one for people.
//! - [`safe_name`] turns free text (an experiment, a target) into a file or directory name;
//!   [`printable`] / [`printable_lines`] neutralise control and text-direction characters in
//!   text that reaches a terminal, an XML/HTML/CSV file or a message.
//! - [`plain_zero`] writes `-0` as `0`.
//!
//! Two display functions that look alike but write different text (say, `2.5 nM` and `2.5`)
//! stay two functions: each output format is pinned by the reports and tables.

/// Text for a value that was not determined (an em dash).
pub const NOT_DETERMINED: &str = "\u{2014}";

/// log10 of a concentration given in nM, in molar: `log10(c) - 9`; `-inf` for 0.
///
/// The x axis of every curve model (Prism's convention, X = log10 M).
///
/// ```
/// assert_eq!(radbind::units::log10_molar(1.0), -9.0);
/// assert_eq!(radbind::units::log10_molar(0.0), f64::NEG_INFINITY);
/// ```
#[must_use]
pub fn log10_molar(conc_nm: f64) -> f64 {
    if conc_nm > 0.0 { conc_nm.log10() - 9.0 } else { f64::NEG_INFINITY }
}

/// The concentration in nM of a log10 molar value, the inverse of [`log10_molar`]:
/// `10^(x + 9)`.
///
/// ```
/// assert_eq!(radbind::units::nm_from_log10_molar(-9.0), 1.0);
/// ```
#[must_use]
pub fn nm_from_log10_molar(log10_m: f64) -> f64 {
    10f64.powf(log10_m + 9.0)
}

/// log10 of a concentration in nM, as molar ([`log10_molar`]); `None` for zero, negative or
/// non-finite concentrations (points a log axis cannot show).
#[must_use]
pub fn log_molar(conc_nm: f64) -> Option<f64> {
    (conc_nm.is_finite() && conc_nm > 0.0).then(|| log10_molar(conc_nm))
}

/// `p` value of a concentration in nM (pKi, pIC50): `-log10(c in M) = 9 - log10(c nM)`.
///
/// `NaN` for a negative concentration, `+inf` for 0 (not [`log10_molar`] negated, which
/// gives `+inf` for both).
///
/// ```
/// assert_eq!(radbind::units::p_value(1.0), 9.0);
/// ```
#[must_use]
pub fn p_value(conc_nm: f64) -> f64 {
    9.0 - conc_nm.log10()
}

/// Parses a concentration with a unit (`10 uM`, `10µM`, `3.2e-9 M`, `500 pM`) into nanomolar.
///
/// Accepted units: those of [`nm_per_unit`] (`M`, `mM`, `uM`/`µM`/`μM`, `nM`, `pM`, `fM`; the
/// case of the prefix matters: `mM` is millimolar). Returns `None` for anything else.
///
/// ```
/// assert_eq!(radbind::units::parse_conc_nm("10 uM"), Some(10_000.0));
/// assert_eq!(radbind::units::parse_conc_nm("1e-9 M"), Some(1.0));
/// ```
#[must_use]
pub fn parse_conc_nm(s: &str) -> Option<f64> {
    let s = s.trim();
    let unit_start = s
        .char_indices()
        .find(|&(_, c)| c.is_alphabetic() && c != 'e' && c != 'E' || c == 'µ' || c == 'μ')
        .map_or(s.len(), |(i, _)| i);
    let (num, unit) = s.split_at(unit_start);
    let value: f64 = num.trim().parse().ok()?;
    let nm = value * nm_per_unit(unit.trim())?;
    nm.is_finite().then_some(nm)
}

/// nM in one of a molar concentration unit: `M` 1e9, `mM` 1e6, `uM`/`µM`/`μM` 1e3, `nM` 1,
/// `pM` 1e-3, `fM` 1e-6 (the prefix's case matters: `mM` is millimolar); `None` for anything
/// else.
///
/// ```
/// assert_eq!(radbind::units::nm_per_unit("µM"), Some(1e3));
/// assert_eq!(radbind::units::nm_per_unit("ng/ml"), None);
/// ```
#[must_use]
pub fn nm_per_unit(unit: &str) -> Option<f64> {
    Some(match unit {
        "M" => 1e9,
        "mM" => 1e6,
        "uM" | "µM" | "μM" => 1e3,
        "nM" => 1.0,
        "pM" => 1e-3,
        "fM" => 1e-6,
        _ => return None,
    })
}

/// Formats a concentration given in nM with a readable unit (`2.5 nM`, `10 µM`, `300 pM`):
/// the unit of [`ConcUnit::of`]; three significant digits without trailing zeros
/// ([`sig3`], for nominal concentrations such as a dilution series); `-` when not finite.
/// Measured values in report tables go through [`ConcUnit`] instead.
#[must_use]
pub fn format_conc_nm(nm: f64) -> String {
    if !nm.is_finite() {
        return "-".to_string();
    }
    let unit = ConcUnit::of(nm);
    format!("{} {}", sig3(nm / unit.nm), unit.symbol)
}

/// One molar unit for a whole column of concentrations, chosen from the column's values, so
/// the prefix never changes within a column or within a value and its CI. The one formatter
/// of measured concentrations (IC50, Ki, EC50, Kb, Kd) in the reports: three significant
/// figures with trailing zeros kept ([`sig3_fixed`]).
///
/// ```
/// use radbind::units::ConcUnit;
/// let u = ConcUnit::for_column([0.955, 1.3, 4.91]);
/// assert_eq!(u.symbol, "nM");
/// assert_eq!(u.number(1.3), "1.30");
/// assert_eq!(u.number(0.955), "0.955");
/// assert_eq!(u.range(0.758, 1.2), "0.758\u{2013}1.20");
/// ```
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ConcUnit {
    /// The unit's symbol: `pM`, `nM`, `µM`, `mM`.
    pub symbol: &'static str,
    /// nM in one of the unit.
    pub nm: f64,
}

/// The units [`ConcUnit`] chooses from, smallest first.
const CONC_UNITS: [ConcUnit; 4] = [
    ConcUnit { symbol: "pM", nm: 1e-3 },
    ConcUnit { symbol: "nM", nm: 1.0 },
    ConcUnit { symbol: "µM", nm: 1e3 },
    ConcUnit { symbol: "mM", nm: 1e6 },
];

impl ConcUnit {
    /// nM.
    pub const NM: ConcUnit = CONC_UNITS[1];

    /// The unit one value reads best in: the largest in which it is at least 1 (pM below
    /// 1 nM); nM when the value is not a positive number.
    #[must_use]
    pub fn of(nm: f64) -> ConcUnit {
        if !(nm.is_finite() && nm > 0.0) {
            return Self::NM;
        }
        CONC_UNITS.iter().rev().find(|u| nm >= u.nm).copied().unwrap_or(CONC_UNITS[0])
    }

    /// The unit of a column: that of the median of its finite, positive values, one prefix
    /// smaller while the smallest value would read below 0.1 in it (nM without any values),
    /// so most cells read between 1 and 999 and none as `0.00108`.
    #[must_use]
    pub fn for_column(values: impl IntoIterator<Item = f64>) -> ConcUnit {
        let mut v: Vec<f64> = values.into_iter().filter(|x| x.is_finite() && *x > 0.0).collect();
        if v.is_empty() {
            return Self::NM;
        }
        v.sort_by(f64::total_cmp);
        let mut i = CONC_UNITS.iter().position(|u| *u == Self::of(v[v.len() / 2])).unwrap_or(1);
        while i > 0 && v[0] / CONC_UNITS[i].nm < 0.1 {
            i -= 1;
        }
        CONC_UNITS[i]
    }

    /// A value (nM) as a number in this unit ([`sig3_fixed`]); [`NOT_DETERMINED`] when not
    /// finite.
    #[must_use]
    pub fn number(self, nm: f64) -> String {
        if nm.is_finite() { sig3_fixed(nm / self.nm) } else { NOT_DETERMINED.to_string() }
    }

    /// A value with the unit: `1.30 nM`.
    #[must_use]
    pub fn value(self, nm: f64) -> String {
        if nm.is_finite() {
            format!("{} {}", self.number(nm), self.symbol)
        } else {
            NOT_DETERMINED.to_string()
        }
    }

    /// A range (a CI) in this unit, numbers only: `0.758–1.20`.
    #[must_use]
    pub fn range(self, lo_nm: f64, hi_nm: f64) -> String {
        format!("{}\u{2013}{}", self.number(lo_nm), self.number(hi_nm))
    }
}

/// A number to three significant figures with trailing zeros kept (`1.30`, `4.91`,
/// `0.0500`, `123`, `4440`): measured values keep their precision visible. Values of 1000
/// and more are rounded to three significant figures and written without a decimal point.
///
/// ```
/// use radbind::units::sig3_fixed;
/// assert_eq!(sig3_fixed(1.3), "1.30");
/// assert_eq!(sig3_fixed(4437.0), "4440");
/// assert_eq!(sig3_fixed(0.05), "0.0500");
/// assert_eq!(sig3_fixed(-0.0), "0.00");
/// ```
#[must_use]
pub fn sig3_fixed(v: f64) -> String {
    let v = plain_zero(v);
    if !v.is_finite() {
        return NOT_DETERMINED.to_string();
    }
    if v == 0.0 {
        return "0.00".to_string();
    }
    let mag = v.abs().log10().floor() as i32;
    // Rounding can carry into the next decade (9.996 -> 10.0): measure again after it.
    let rounded = {
        let scale = 10f64.powi(2 - mag);
        (v * scale).round() / scale
    };
    let mag = if rounded == 0.0 { mag } else { rounded.abs().log10().floor() as i32 };
    if mag >= 3 {
        let scale = 10f64.powi(mag - 2);
        return format!("{:.0}", plain_zero((v / scale).round() * scale));
    }
    let decimals = usize::try_from((2 - mag).max(0)).unwrap_or(0);
    format!("{v:.decimals$}")
}

/// A concentration range (nM) for display in one unit, the one [`ConcUnit::for_column`]
/// chooses for its two ends, each to three significant digits ([`sig3`]), joined by an en
/// dash: `0.667–1.03 nM`, `0.9–1.2 µM`; the prefix never changes inside a range.
#[must_use]
pub fn format_conc_range_nm(lo_nm: f64, hi_nm: f64) -> String {
    format_conc_range_in(ConcUnit::for_column([lo_nm, hi_nm]), lo_nm, hi_nm)
}

/// A concentration range (nM) in a given unit: `600–1030 pM` for a CI written beside a value
/// of `800 pM`, so a value and its CI read in one unit; `-` for an end that is not finite.
#[must_use]
pub fn format_conc_range_in(unit: ConcUnit, lo_nm: f64, hi_nm: f64) -> String {
    // Three significant digits also above 999 (`1200`, not `1204`), where `sig3` keeps them all.
    let end = |v: f64| match v / unit.nm {
        x if !x.is_finite() => "-".to_string(),
        x if x.abs() >= 999.5 => sig3_fixed(x),
        x => sig3(x),
    };
    format!("{}\u{2013}{} {}", end(lo_nm), end(hi_nm), unit.symbol)
}

/// A concentration in nM as a plain number (no unit) with three significant digits
/// ([`sig3`]); [`NOT_DETERMINED`] when not finite. For columns headed "nM".
#[must_use]
pub fn nm_number(v: f64) -> String {
    if v.is_finite() { sig3(v) } else { NOT_DETERMINED.to_string() }
}

/// A number to three significant digits, without trailing zeros (`2.50` -> `2.5`).
#[must_use]
pub fn sig3(v: f64) -> String {
    let v = plain_zero(v);
    if v == 0.0 || !v.is_finite() {
        return format!("{v}");
    }
    let mag = v.abs().log10().floor() as i32;
    let decimals = usize::try_from((2 - mag).max(0)).unwrap_or(0);
    let s = format!("{v:.decimals$}");
    if s.contains('.') { s.trim_end_matches('0').trim_end_matches('.').to_string() } else { s }
}

/// A file- and directory-safe form of a free-text name: ASCII letters, digits, `-` and `_`
/// kept, everything else (`.` and `/` too) `_`; never empty, never `.`/`..`, at most 60
/// characters; `unnamed` when nothing but `_` would be left.
#[must_use]
pub fn safe_name(s: &str) -> String {
    let mut out: String = s
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() || c == '-' || c == '_' { c } else { '_' })
        .take(60)
        .collect();
    if out.trim_matches('_').is_empty() {
        out = "unnamed".to_string();
    }
    out
}

/// True for characters that must not reach a terminal, a file format or a message as they
/// are: control characters (C0 with NUL, form feed and ESC; DEL; C1) and the invisible
/// text-direction marks and overrides (U+061C, U+200E, U+200F, U+202A-U+202E, U+2066-U+2069)
/// that make text display in another order than it is stored ("Trojan source").
#[must_use]
pub fn is_unsafe_char(c: char) -> bool {
    c.is_control()
        || matches!(c, '\u{061c}' | '\u{200e}' | '\u{200f}' | '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}')
}

/// `s` with every [`is_unsafe_char`] written as its escape (`\u{1b}`, `\u{202e}`), so names
/// stay visible, distinct and inert everywhere: terminal output, messages, CSV cells, HTML
/// and XML (XML 1.0 forbids most C0 characters even as character references). Borrowed when
/// there is nothing to replace. Line breaks and tabs are replaced too: a name is one line.
///
/// ```
/// assert_eq!(radbind::units::printable("H1\u{1b}[31m"), "H1\\u{1b}[31m");
/// assert_eq!(radbind::units::printable("5-HT2A"), "5-HT2A");
/// ```
#[must_use]
pub fn printable(s: &str) -> std::borrow::Cow<'_, str> {
    neutralise(s, is_unsafe_char)
}

/// [`printable`] for text of several lines (messages, reports): keeps `\n` and `\t`.
#[must_use]
pub fn printable_lines(s: &str) -> std::borrow::Cow<'_, str> {
    neutralise(s, |c| c != '\n' && c != '\t' && is_unsafe_char(c))
}

fn neutralise(s: &str, unsafe_char: impl Fn(char) -> bool) -> std::borrow::Cow<'_, str> {
    // Printable ASCII (space to `~`) holds no unsafe character: the usual cell, checked a
    // byte at a time.
    if s.bytes().all(|b| (0x20..0x7f).contains(&b)) || !s.chars().any(&unsafe_char) {
        return std::borrow::Cow::Borrowed(s);
    }
    let mut out = String::with_capacity(s.len() + 8);
    for c in s.chars() {
        if unsafe_char(c) {
            out.extend(c.escape_unicode());
        } else {
            out.push(c);
        }
    }
    std::borrow::Cow::Owned(out)
}

/// `v` with a negative zero made positive (`-0.0` -> `0.0`), so no output writes `-0`; every
/// other value unchanged (`v + 0.0` in IEEE 754 round-to-nearest).
#[must_use]
pub fn plain_zero(v: f64) -> f64 {
    v + 0.0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn molar_logs() {
        assert_eq!(log10_molar(1.0), -9.0);
        assert_eq!(log10_molar(1000.0), -6.0);
        assert_eq!(log10_molar(0.0), f64::NEG_INFINITY);
        assert_eq!(log10_molar(-1.0), f64::NEG_INFINITY);
        assert_eq!(log_molar(10.0), Some(-8.0));
        assert_eq!(nm_from_log10_molar(-6.0), 1000.0);
        assert_eq!(nm_from_log10_molar(f64::NEG_INFINITY), 0.0);
        assert_eq!(log_molar(0.0), None);
        assert_eq!(log_molar(f64::INFINITY), None);
        assert_eq!(log_molar(f64::NAN), None);
    }

    #[test]
    fn p_values() {
        assert_eq!(p_value(1.0), 9.0);
        assert_eq!(p_value(10_000.0), 5.0);
        assert_eq!(p_value(0.0), f64::INFINITY);
        assert!(p_value(-1.0).is_nan());
        // The same number as the negated log10 M, bit for bit.
        for c in [0.37, 2.5, 812.0, 3.3e4] {
            assert_eq!(p_value(c), -log10_molar(c));
        }
    }

    #[test]
    fn concentrations_with_units() {
        assert_eq!(parse_conc_nm("10 µM"), Some(10_000.0));
        assert_eq!(parse_conc_nm("10uM"), Some(10_000.0));
        assert_eq!(parse_conc_nm("1 mM"), Some(1e6));
        assert_eq!(parse_conc_nm("500 pM"), Some(0.5));
        assert_eq!(parse_conc_nm("2.5e-9 M"), Some(2.5));
        assert_eq!(parse_conc_nm("10 kg"), None);
        assert_eq!(format_conc_nm(2.5), "2.5 nM");
        assert_eq!(format_conc_nm(10_000.0), "10 µM");
        assert_eq!(format_conc_nm(0.3), "300 pM");
        assert_eq!(format_conc_nm(2e6), "2 mM");
        assert_eq!(format_conc_nm(f64::NAN), "-");
    }

    #[test]
    fn concentration_ranges() {
        assert_eq!(format_conc_range_nm(0.667, 1.03), "0.667\u{2013}1.03 nM");
        assert_eq!(format_conc_range_in(ConcUnit::of(0.8), 0.6, 1.03), "600\u{2013}1030 pM");
        assert_eq!(format_conc_range_in(ConcUnit::of(0.955), 0.758, 1.204), "758\u{2013}1200 pM");
        assert_eq!(format_conc_range_nm(2.08, 3.25), "2.08\u{2013}3.25 nM");
        assert_eq!(format_conc_range_nm(900.0, 1200.0), "0.9\u{2013}1.2 µM");
    }

    #[test]
    fn fixed_significant_figures() {
        assert_eq!(sig3_fixed(1.3), "1.30");
        assert_eq!(sig3_fixed(4.91), "4.91");
        assert_eq!(sig3_fixed(9.996), "10.0");
        assert_eq!(sig3_fixed(999.6), "1000");
        assert_eq!(sig3_fixed(0.012345), "0.0123");
        assert_eq!(sig3_fixed(-2.5), "-2.50");
        assert_eq!(sig3_fixed(123_456.0), "123000");
        let u = ConcUnit::for_column([0.955, 4440.0, 2.0]);
        assert_eq!((u.symbol, u.number(4440.0)), ("nM", "4440".to_string()));
        // The median's unit (µM) would write 1.08 nM as 0.00108: one prefix down.
        assert_eq!(ConcUnit::for_column([1.08, 112.0, 1410.0, 5000.0]).symbol, "nM");
        assert_eq!(ConcUnit::for_column([2000.0, 5000.0, 300.0]).symbol, "µM");
        assert_eq!(ConcUnit::for_column([f64::NAN]).symbol, "nM");
        assert_eq!(ConcUnit::of(0.3).symbol, "pM");
        assert_eq!(ConcUnit::of(2e6).symbol, "mM");
    }

    #[test]
    fn plain_numbers() {
        assert_eq!(sig3(2.5), "2.5");
        assert_eq!(sig3(1234.6), "1235");
        assert_eq!(sig3(0.012345), "0.0123");
        assert_eq!(sig3(0.0), "0");
        assert_eq!(nm_number(0.8333), "0.833");
        assert_eq!(nm_number(f64::NAN), NOT_DETERMINED);
    }

    #[test]
    fn negative_zero_is_written_zero() {
        assert_eq!(sig3(-0.0), "0");
        assert_eq!(nm_number(-0.0), "0");
        assert_eq!(format!("{}", plain_zero(-0.0)), "0");
        assert_eq!(plain_zero(-2.5), -2.5);
        assert!(plain_zero(f64::NAN).is_nan());
    }

    #[test]
    fn control_and_bidi_characters_are_neutralised() {
        assert_eq!(printable("a\0b\x0c\x1b[31m"), "a\\u{0}b\\u{c}\\u{1b}[31m");
        assert_eq!(
            printable("x\u{202e}y\u{2066}\u{200f}\u{85}\u{7f}"),
            "x\\u{202e}y\\u{2066}\\u{200f}\\u{85}\\u{7f}"
        );
        assert_eq!(printable("a\nb\t"), "a\\u{a}b\\u{9}");
        assert_eq!(printable_lines("a\nb\tc\x1b"), "a\nb\tc\\u{1b}");
        assert!(matches!(printable("µM 5-HT2A ß"), std::borrow::Cow::Borrowed(_)));
        // Safe in file names as well.
        assert_eq!(safe_name("a\x1bb\u{202e}"), "a_b_");
    }

    #[test]
    fn safe_names() {
        assert_eq!(safe_name("5-HT2A"), "5-HT2A");
        assert_eq!(safe_name("../etc/passwd"), "___etc_passwd");
        assert_eq!(safe_name("."), "unnamed");
        assert_eq!(safe_name(""), "unnamed");
        assert_eq!(safe_name(&"x".repeat(100)).len(), 60);
    }
}
