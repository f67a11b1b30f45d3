//! Radioactivity arithmetic: counting efficiency, specific activity, decay, and the conversion of
//! counts to amounts of radioligand (DOMAIN.md §5).
//!
//! - Counting efficiency `E = CPM / DPM`, so `DPM = CPM / E`.
//! - `1 Ci = 2.22e12 DPM`, so a specific activity of `S` Ci/mmol is `S x 2.22` DPM per fmol
//!   (`2.22e12 DPM / 1e12 fmol`).
//! - Bound `fmol = DPM / (S x 2.22)`; per mg protein `fmol / mg`; sites per cell
//!   `fmol x 6.022e8 / cells` (`1 fmol = 1e-15 mol x 6.022e23 /mol`).
//! - Decay `A(t) = A0 x 2^(-t / T_half)`; the specific activity on the assay date follows the
//!   same law (as Prism's radioactivity calculator computes it).
//! - A concentration of 1 nM in `V` µL is `V` fmol, so `[L] (nM) = DPM / (S x 2.22) / V`.

use std::fmt;

/// DPM per curie: `1 Ci = 3.7e10 Bq = 3.7e10 x 60 DPM = 2.22e12 DPM`.
pub const DPM_PER_CI: f64 = 2.22e12;

/// Avogadro's number per femtomole: `6.02214076e23 / 1e15`.
pub const SITES_PER_FMOL: f64 = 6.022_140_76e8;

/// Days per (Julian) year, for half-lives given in years.
pub const DAYS_PER_YEAR: f64 = 365.25;

/// The isotopes of radioligand binding, with their half-lives.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Isotope {
    /// Tritium, 12.32 years.
    H3,
    /// Iodine-125, 59.4 days.
    I125,
    /// Sulfur-35, 87.4 days.
    S35,
    /// Phosphorus-33, 25.3 days.
    P33,
    /// Phosphorus-32, 14.3 days.
    P32,
}

impl Isotope {
    /// Every isotope, in the order the README lists them.
    pub const ALL: [Isotope; 5] =
        [Isotope::H3, Isotope::I125, Isotope::S35, Isotope::P33, Isotope::P32];

    /// Parses `3H`, `H-3`, `H3`, `tritium`, `125I`, `I-125`, `35S`, `33P`, `32P` (case and
    /// spaces ignored).
    #[must_use]
    pub fn parse(s: &str) -> Option<Isotope> {
        let k: String = s
            .chars()
            .filter(|c| !c.is_whitespace() && *c != '-' && *c != '[' && *c != ']')
            .collect::<String>()
            .to_ascii_lowercase();
        Some(match k.as_str() {
            "3h" | "h3" | "tritium" => Isotope::H3,
            "125i" | "i125" => Isotope::I125,
            "35s" | "s35" => Isotope::S35,
            "33p" | "p33" => Isotope::P33,
            "32p" | "p32" => Isotope::P32,
            _ => return None,
        })
    }

    /// Half-life in days (DOMAIN.md §5; NNDC/NuDat values: 3H 12.32 y, 125I 59.4 d,
    /// 35S 87.4 d, 33P 25.3 d, 32P 14.3 d).
    #[must_use]
    pub fn half_life_days(self) -> f64 {
        match self {
            Isotope::H3 => 12.32 * DAYS_PER_YEAR,
            Isotope::I125 => 59.4,
            Isotope::S35 => 87.4,
            Isotope::P33 => 25.3,
            Isotope::P32 => 14.3,
        }
    }

    /// The isotope guessed from a radioligand name such as `[3H]ketanserin` or
    /// `[125I]iodocyanopindolol`; `None` when the name has no bracketed isotope.
    #[must_use]
    pub fn from_radioligand(name: &str) -> Option<Isotope> {
        let start = name.find('[')?;
        let end = name[start..].find(']')? + start;
        Isotope::parse(&name[start + 1..end])
    }
}

impl fmt::Display for Isotope {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Isotope::H3 => "3H",
            Isotope::I125 => "125I",
            Isotope::S35 => "35S",
            Isotope::P33 => "33P",
            Isotope::P32 => "32P",
        })
    }
}

/// Fraction of the activity left after `days`: `2^(-days / T_half)`. `days` may be negative
/// (an assay before the calibration date gives a fraction above 1).
#[must_use]
pub fn decay_fraction(isotope: Isotope, days: f64) -> f64 {
    (-days / isotope.half_life_days()).exp2()
}

/// DPM per fmol at a specific activity of `ci_per_mmol`: `S x 2.22`
/// (`S Ci/mmol x 2.22e12 DPM/Ci / 1e12 fmol/mmol`).
#[must_use]
pub fn dpm_per_fmol(ci_per_mmol: f64) -> f64 {
    ci_per_mmol * DPM_PER_CI / 1e12
}

/// Days from `from` to `to`, both ISO dates `YYYY-MM-DD` (proleptic Gregorian calendar).
///
/// # Errors
/// A date that is not `YYYY-MM-DD` or not a real day.
pub fn days_between(from: &str, to: &str) -> Result<f64, String> {
    Ok((day_number(to)? - day_number(from)?) as f64)
}

/// The civil date `YYYY-MM-DD` of a day number (days since 1970-01-01; the inverse of
/// [`day_number`]). Algorithm: H. Hinnant, "chrono-compatible low-level date
/// algorithms" (`civil_from_days`).
#[must_use]
pub fn civil_date(days: i64) -> String {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    format!("{y:04}-{m:02}-{d:02}")
}

/// Days since 1970-01-01 of an ISO date `YYYY-MM-DD` (Howard Hinnant's `days_from_civil`).
///
/// # Errors
/// Not `YYYY-MM-DD`, or month/day out of range for that month.
pub fn day_number(date: &str) -> Result<i64, String> {
    let bad = || format!("{date:?} is not a date as YYYY-MM-DD");
    let parts: Vec<&str> = date.trim().split('-').collect();
    if parts.len() != 3 || parts[0].len() != 4 || parts[1].len() != 2 || parts[2].len() != 2 {
        return Err(bad());
    }
    let y: i64 = parts[0].parse().map_err(|_| bad())?;
    let m: i64 = parts[1].parse().map_err(|_| bad())?;
    let d: i64 = parts[2].parse().map_err(|_| bad())?;
    let leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
    let month_days = [31, if leap { 29 } else { 28 }, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31];
    if !(1..=12).contains(&m) || d < 1 || d > month_days[(m - 1) as usize] {
        return Err(format!("{date:?} is not a real day"));
    }
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    Ok(era * 146_097 + doe - 719_468)
}

/// What turns a plate's counts into amounts of radioligand: counting efficiency, specific
/// activity on the assay date, well volume, protein and cells per well.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Counting {
    /// Counting efficiency `E = CPM / DPM`, in (0, 1].
    pub efficiency: f64,
    /// Specific activity on the assay date, Ci/mmol (decay-corrected).
    pub specific_activity: f64,
    /// Assay volume per well, µL (`None` when not given).
    pub volume_ul: Option<f64>,
    /// Membrane protein per well, mg.
    pub protein_mg: Option<f64>,
    /// Cells per well.
    pub cells: Option<f64>,
}

impl Counting {
    /// `DPM = CPM / E`.
    #[must_use]
    pub fn dpm(&self, cpm: f64) -> f64 {
        cpm / self.efficiency
    }

    /// Radioligand bound, fmol per well: `CPM / E / (S x 2.22)`.
    #[must_use]
    pub fn fmol(&self, cpm: f64) -> f64 {
        self.dpm(cpm) / dpm_per_fmol(self.specific_activity)
    }

    /// fmol per mg of membrane protein (NaN without `protein_mg`).
    #[must_use]
    pub fn fmol_per_mg(&self, cpm: f64) -> f64 {
        self.protein_mg.map_or(f64::NAN, |mg| self.fmol(cpm) / mg)
    }

    /// Binding sites per cell: `fmol x 6.022e8 / cells` (NaN without `cells`).
    #[must_use]
    pub fn sites_per_cell(&self, cpm: f64) -> f64 {
        self.cells.map_or(f64::NAN, |n| self.fmol(cpm) * SITES_PER_FMOL / n)
    }

    /// CPM that 1 nM of radioligand in the well volume gives if all of it is counted:
    /// `E x S x 2.22 x V` (1 nM in `V` µL is `V` fmol). NaN without `volume_ul`.
    #[must_use]
    pub fn cpm_per_nm(&self) -> f64 {
        self.volume_ul
            .map_or(f64::NAN, |v| self.efficiency * dpm_per_fmol(self.specific_activity) * v)
    }

    /// Radioligand concentration from the DPM added per well: `DPM / (S x 2.22) / V` nM.
    /// NaN without `volume_ul`.
    #[must_use]
    pub fn conc_nm_from_dpm(&self, dpm: f64) -> f64 {
        self.volume_ul.map_or(f64::NAN, |v| dpm / dpm_per_fmol(self.specific_activity) / v)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn civil_dates_round_trip() {
        for d in ["1970-01-01", "2000-02-29", "2026-11-21", "2027-03-01"] {
            assert_eq!(civil_date(day_number(d).expect("date")), d);
        }
    }
    use approx::assert_relative_eq;

    #[test]
    fn tritium_keeps_0_9453_after_one_year() {
        // 2^(-1 / 12.32) = 0.945291...
        let f = decay_fraction(Isotope::H3, DAYS_PER_YEAR);
        assert_relative_eq!(f, 0.945_291_5, max_relative = 1e-6);
        assert!((f - 0.9453).abs() < 5e-5);
    }

    #[test]
    fn iodine_125_over_60_days() {
        // 2^(-60 / 59.4) = 0.496511...: just under half after one half-life plus 0.6 days.
        let f = decay_fraction(Isotope::I125, 60.0);
        assert_relative_eq!(f, 0.496_511_5, max_relative = 1e-6);
        assert_relative_eq!(decay_fraction(Isotope::I125, 59.4), 0.5, max_relative = 1e-12);
        assert_relative_eq!(decay_fraction(Isotope::S35, 2.0 * 87.4), 0.25, max_relative = 1e-12);
    }

    #[test]
    fn fifty_ci_per_mmol_is_111_dpm_per_fmol() {
        assert_relative_eq!(dpm_per_fmol(50.0), 111.0, max_relative = 1e-12);
    }

    #[test]
    fn bmax_in_fmol_per_mg_by_hand() {
        // 2000 CPM at 40% efficiency = 5000 DPM; at 80 Ci/mmol = 177.6 DPM/fmol -> 28.153 fmol;
        // with 0.05 mg protein per well -> 563.06 fmol/mg; 1e5 cells -> 169,542 sites/cell.
        let c = Counting {
            efficiency: 0.4,
            specific_activity: 80.0,
            volume_ul: Some(250.0),
            protein_mg: Some(0.05),
            cells: Some(1e5),
        };
        assert_relative_eq!(c.dpm(2000.0), 5000.0);
        assert_relative_eq!(c.fmol(2000.0), 5000.0 / 177.6, max_relative = 1e-12);
        assert_relative_eq!(c.fmol_per_mg(2000.0), 563.063_063, max_relative = 1e-8);
        assert_relative_eq!(c.sites_per_cell(2000.0), 169_542.25, max_relative = 1e-6);
        // 1 nM in 250 µL = 250 fmol = 44,400 DPM = 17,760 CPM.
        assert_relative_eq!(c.cpm_per_nm(), 17_760.0, max_relative = 1e-12);
        assert_relative_eq!(c.conc_nm_from_dpm(44_400.0), 1.0, max_relative = 1e-12);
    }

    #[test]
    fn dates() {
        assert_eq!(day_number("1970-01-01"), Ok(0));
        assert_eq!(day_number("2000-03-01"), Ok(11_017));
        assert_eq!(days_between("2025-11-21", "2026-11-21"), Ok(365.0));
        assert_eq!(days_between("2024-02-28", "2024-03-01"), Ok(2.0));
        assert!(day_number("2026-02-29").is_err());
        assert!(day_number("21/11/2026").is_err());
        assert!(day_number("2026-13-01").is_err());
    }

    #[test]
    fn isotope_names() {
        assert_eq!(Isotope::parse("3H"), Some(Isotope::H3));
        assert_eq!(Isotope::parse("H-3"), Some(Isotope::H3));
        assert_eq!(Isotope::parse("I-125"), Some(Isotope::I125));
        assert_eq!(Isotope::parse("35S"), Some(Isotope::S35));
        assert_eq!(Isotope::parse("14C"), None);
        assert_eq!(Isotope::from_radioligand("[35S]GTPγS"), Some(Isotope::S35));
        assert_eq!(Isotope::from_radioligand("[125I]CYP"), Some(Isotope::I125));
        assert_eq!(Isotope::from_radioligand("ketanserin"), None);
        for i in Isotope::ALL {
            assert_eq!(Isotope::parse(&i.to_string()), Some(i));
        }
    }
}
