//! The verdict on one fitted curve, as the output rows report it: [`CurveStatus`].
//!
//! It lives in the fit stage because both stages that judge fits use it (saturation and
//! derive sit above fit and below each other), and fit is the lowest stage that knows what
//! "no fit" and "not converged" mean. `types.rs` holds only cross-stage identifiers and units.

use std::fmt;
use std::str::FromStr;

/// The verdict on a curve (competition, functional or saturation).
///
/// `Display` gives the text of the `status` column (`fits.csv`, `saturation.csv`, the
/// reports): `ok`, `flagged`, `not_converged: <reason>`, `failed: <reason>`; [`FromStr`]
/// reads it back.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub enum CurveStatus {
    /// Fitted, converged, no flags.
    Ok,
    /// Fitted and converged, with flags (a result to look at, not a failure).
    Flagged,
    /// A fit was made but found no least-squares optimum; the reason names the termination.
    NotConverged(String),
    /// No fit was possible; the reason says why.
    Failed(String),
}

impl CurveStatus {
    /// The status of a fit that was made: not converged (with `reason`) when
    /// `not_converged` is `Some`, else `flagged` when there are flags, else `ok`.
    #[must_use]
    pub fn of_fit(not_converged: Option<String>, flags: &[String]) -> CurveStatus {
        match not_converged {
            Some(reason) => CurveStatus::NotConverged(reason),
            None if flags.is_empty() => CurveStatus::Ok,
            None => CurveStatus::Flagged,
        }
    }

    /// `true` for `ok`.
    #[must_use]
    pub fn is_ok(&self) -> bool {
        *self == CurveStatus::Ok
    }

    /// `true` for `flagged`.
    #[must_use]
    pub fn is_flagged(&self) -> bool {
        *self == CurveStatus::Flagged
    }

    /// `true` when there is no usable fit: `failed` or `not_converged`.
    #[must_use]
    pub fn is_failed(&self) -> bool {
        matches!(self, CurveStatus::Failed(_) | CurveStatus::NotConverged(_))
    }

    /// A flag was added after the status was decided: `ok` becomes `flagged`; any other
    /// status stays.
    pub fn flag(&mut self) {
        if self.is_ok() {
            *self = CurveStatus::Flagged;
        }
    }
}

impl fmt::Display for CurveStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            CurveStatus::Ok => f.write_str("ok"),
            CurveStatus::Flagged => f.write_str("flagged"),
            CurveStatus::NotConverged(why) => write!(f, "not_converged: {why}"),
            CurveStatus::Failed(why) => write!(f, "failed: {why}"),
        }
    }
}

/// Text that is not a status.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UnknownStatus(pub String);

impl fmt::Display for UnknownStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "`{}` is not a status; expected ok, flagged, not_converged: <reason> or failed: \
             <reason>",
            self.0
        )
    }
}

impl std::error::Error for UnknownStatus {}

impl FromStr for CurveStatus {
    type Err = UnknownStatus;

    /// Reads the `status` column back: the inverse of `Display` (a missing reason is empty).
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let reason = |rest: &str| rest.strip_prefix(':').map_or("", str::trim_start).to_string();
        let s = s.trim();
        match s {
            "ok" => Ok(CurveStatus::Ok),
            "flagged" => Ok(CurveStatus::Flagged),
            _ => {
                if let Some(rest) = s.strip_prefix("not_converged") {
                    Ok(CurveStatus::NotConverged(reason(rest)))
                } else if let Some(rest) = s.strip_prefix("failed") {
                    Ok(CurveStatus::Failed(reason(rest)))
                } else {
                    Err(UnknownStatus(s.to_string()))
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn display_is_the_status_column_and_reads_back() {
        let all = [
            (CurveStatus::Ok, "ok"),
            (CurveStatus::Flagged, "flagged"),
            (CurveStatus::NotConverged("iteration limit".into()), "not_converged: iteration limit"),
            (CurveStatus::Failed("too few points".into()), "failed: too few points"),
        ];
        for (status, text) in all {
            assert_eq!(status.to_string(), text);
            assert_eq!(text.parse::<CurveStatus>(), Ok(status));
        }
        assert!("".parse::<CurveStatus>().is_err());
        assert!("fine".parse::<CurveStatus>().is_err());
    }

    #[test]
    fn verdict_of_a_fit() {
        let flags = vec!["few_replicates".to_string()];
        assert_eq!(CurveStatus::of_fit(None, &[]), CurveStatus::Ok);
        assert_eq!(CurveStatus::of_fit(None, &flags), CurveStatus::Flagged);
        assert_eq!(
            CurveStatus::of_fit(Some("x".into()), &flags),
            CurveStatus::NotConverged("x".into())
        );
        assert!(CurveStatus::Failed(String::new()).is_failed());
        assert!(CurveStatus::NotConverged(String::new()).is_failed());
        assert!(!CurveStatus::Flagged.is_failed() && !CurveStatus::Ok.is_failed());
        let mut s = CurveStatus::Ok;
        s.flag();
        assert_eq!(s, CurveStatus::Flagged);
        let mut s = CurveStatus::Failed("x".into());
        s.flag();
        assert!(s.is_failed());
    }
}
