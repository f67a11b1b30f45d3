//! Prism's "replicates test for lack of fit": does the curve deviate from the data more than
//! the scatter among replicates allows?
//!
//! Owns only the test; the fit's RSS comes from the caller, the F distribution from
//! [`crate::fit::procedures::compare`].

use crate::fit::procedures::compare::f_sf;

/// Outcome of [`replicates_test`].
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ReplicatesTest {
    /// `F = (SS_lack / df_lack) / (SS_pure / df_pure)`.
    pub f: f64,
    /// `P(F(df_lack, df_pure) > f)`: a small value means the model misses the data (the
    /// replicates agree with each other better than with the curve).
    pub p_value: f64,
    /// Pure-error sum of squares, sum over concentrations of squared deviations of replicates
    /// from their concentration's mean.
    pub ss_pure: f64,
    /// Lack-of-fit sum of squares, `RSS - SS_pure` (clamped at 0).
    pub ss_lack: f64,
    /// `n_conc - K`.
    pub df_lack: usize,
    /// `n - n_conc`.
    pub df_pure: usize,
}

/// Replicates test for lack of fit (Draper & Smith 1998, *Applied regression analysis*, §2.1;
/// Motulsky & Christopoulos 2004, ch. 14; GraphPad Prism "Replicates test"):
///
/// `SS_pure = sum_j sum_i (y_ij - mean_j)^2` over the distinct x levels `j` (exact equality;
/// zero dose at `-inf` is a level), `df_pure = n - n_conc`;
/// `SS_lack = RSS - SS_pure`, `df_lack = n_conc - K`;
/// `F = (SS_lack / df_lack) / (SS_pure / df_pure)`, p-value from F(df_lack, df_pure).
///
/// `rss` is the unweighted residual sum of squares of the fit to exactly these points, `k` its
/// number of fitted parameters. `None` without replicates (`df_pure == 0`), with
/// `n_conc <= K` (nothing left to test), when the replicates agree exactly (`SS_pure = 0`), or
/// for non-finite input.
pub fn replicates_test(x: &[f64], y: &[f64], rss: f64, k: usize) -> Option<ReplicatesTest> {
    let n = x.len().min(y.len());
    if !rss.is_finite()
        || y[..n].iter().any(|v| !v.is_finite())
        || x[..n].iter().any(|v| v.is_nan())
    {
        return None;
    }
    let mut pts: Vec<(f64, f64)> = x[..n].iter().copied().zip(y[..n].iter().copied()).collect();
    pts.sort_by(|a, b| a.0.total_cmp(&b.0));
    let mut ss_pure = 0.0;
    let mut n_conc = 0usize;
    let mut i = 0;
    while i < n {
        let mut j = i;
        while j < n && pts[j].0 == pts[i].0 {
            j += 1;
        }
        let mean = pts[i..j].iter().map(|p| p.1).sum::<f64>() / (j - i) as f64;
        ss_pure += pts[i..j].iter().map(|p| (p.1 - mean).powi(2)).sum::<f64>();
        n_conc += 1;
        i = j;
    }
    let df_pure = n - n_conc;
    if df_pure == 0 || n_conc <= k || !(ss_pure > 0.0) {
        return None;
    }
    let df_lack = n_conc - k;
    let ss_lack = (rss - ss_pure).max(0.0);
    let f = (ss_lack / df_lack as f64) / (ss_pure / df_pure as f64);
    let p_value = f_sf(f, df_lack as f64, df_pure as f64);
    Some(ReplicatesTest { f, p_value, ss_pure, ss_lack, df_lack, df_pure })
}

#[cfg(test)]
mod tests {
    use super::*;
    use approx::assert_abs_diff_eq;

    #[test]
    fn hand_worked_example() {
        // 4 concentrations in duplicate: (1, 3), (4, 6), (9, 9), (10, 14).
        // Means 2, 5, 9, 12; SS_pure = 2 + 2 + 0 + 8 = 12 on 8 - 4 = 4 df.
        // A K = 2 fit with RSS = 30: SS_lack = 18 on 4 - 2 = 2 df.
        // F = (18/2) / (12/4) = 3; P(F(2, 4) > 3) = (1 + 2*3/4)^(-2) = 0.16.
        let x = [-9.0, -9.0, -8.0, -8.0, -7.0, -7.0, -6.0, -6.0];
        let y = [1.0, 3.0, 4.0, 6.0, 9.0, 9.0, 10.0, 14.0];
        let t = replicates_test(&x, &y, 30.0, 2).expect("has replicates");
        assert_abs_diff_eq!(t.ss_pure, 12.0, epsilon = 1e-12);
        assert_abs_diff_eq!(t.ss_lack, 18.0, epsilon = 1e-12);
        assert_eq!((t.df_lack, t.df_pure), (2, 4));
        assert_abs_diff_eq!(t.f, 3.0, epsilon = 1e-12);
        assert_abs_diff_eq!(t.p_value, 0.16, epsilon = 1e-12);
    }

    #[test]
    fn none_without_replicates() {
        let x = [-9.0, -8.0, -7.0, -6.0, -5.0];
        assert!(replicates_test(&x, &[1.0, 2.0, 3.0, 4.0, 5.0], 1.0, 2).is_none());
        // 4 levels, 4 parameters: no df for lack of fit.
        let x = [-9.0, -9.0, -8.0, -8.0, -7.0, -7.0, -6.0, -6.0];
        let y = [1.0, 3.0, 4.0, 6.0, 9.0, 9.0, 10.0, 14.0];
        assert!(replicates_test(&x, &y, 13.0, 4).is_none());
        assert!(replicates_test(&x, &y, f64::NAN, 2).is_none());
    }
}
