//! Well-set shorthands used in layouts and exclusions.
//!
//! Grammar (items separated by commas or semicolons, case-insensitive):
//! - `A1`, `B05`: one well;
//! - `A1-H1`, `B2-G11`: the rectangle with those corners;
//! - `column 1`, `columns 2-11`, `col 12`: whole columns;
//! - `row A`, `rows A-C`: whole rows (`rows` needs the plate geometry, so it is kept symbolic
//!   until [`WellSet::resolve`]).

use crate::types::{Geometry, WellPos, parse_row};

/// A parsed well set, resolved against a plate geometry with [`WellSet::resolve`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WellSet {
    items: Vec<Item>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Item {
    Rect(WellPos, WellPos),
    Columns(u16, u16),
    Rows(u16, u16),
}

impl WellSet {
    /// Parses a well-set expression.
    ///
    /// # Errors
    /// A message saying which part was not understood and what is accepted.
    pub fn parse(expr: &str) -> Result<WellSet, String> {
        let mut items = Vec::new();
        for part in expr.split([',', ';']).map(str::trim).filter(|p| !p.is_empty()) {
            items.push(parse_item(part).ok_or_else(|| {
                format!(
                    "cannot read well set item {part:?}: expected a well (A1), a range (A1-H1), \
                     `column 1`, `columns 2-11`, `row A` or `rows A-C`"
                )
            })?);
        }
        if items.is_empty() {
            return Err("empty well set".to_string());
        }
        Ok(WellSet { items })
    }

    /// The wells of the set on a plate of geometry `g`, in row-major order without duplicates.
    ///
    /// # Errors
    /// The first well that the plate does not have.
    pub fn resolve(&self, g: Geometry) -> Result<Vec<WellPos>, String> {
        let mut out = Vec::new();
        for item in &self.items {
            let (r0, r1, c0, c1) = match *item {
                Item::Rect(a, b) => {
                    (a.row.min(b.row), a.row.max(b.row), a.col.min(b.col), a.col.max(b.col))
                }
                Item::Columns(a, b) => (0, g.rows - 1, a, b),
                Item::Rows(a, b) => (a, b, 0, g.cols - 1),
            };
            for row in r0..=r1 {
                for col in c0..=c1 {
                    let pos = WellPos { row, col };
                    if g.index(pos).is_none() {
                        return Err(format!("well {pos} is not on a {g} plate"));
                    }
                    out.push(pos);
                }
            }
        }
        out.sort_unstable();
        out.dedup();
        Ok(out)
    }
}

fn parse_item(part: &str) -> Option<Item> {
    let lower = part.to_ascii_lowercase();
    let words: Vec<&str> = lower.split_whitespace().collect();
    match words.as_slice() {
        ["column" | "columns" | "col" | "cols", range] => {
            let (a, b) = parse_number_range(range)?;
            Some(Item::Columns(a - 1, b - 1))
        }
        ["row" | "rows", range] => {
            let (a, b) = parse_row_range(range)?;
            Some(Item::Rows(a, b))
        }
        [single] => {
            if let Some((a, b)) = single.split_once('-') {
                Some(Item::Rect(WellPos::parse(a)?, WellPos::parse(b)?))
            } else {
                let p = WellPos::parse(single)?;
                Some(Item::Rect(p, p))
            }
        }
        _ => None,
    }
}

/// Parses `3` or `2-11` (1-based, inclusive) into an ordered pair.
#[must_use]
pub fn parse_number_range(s: &str) -> Option<(u16, u16)> {
    let (a, b) = s.split_once('-').unwrap_or((s, s));
    let a: u16 = a.trim().parse().ok()?;
    let b: u16 = b.trim().parse().ok()?;
    (a >= 1 && b >= a).then_some((a, b))
}

/// Parses `A` or `A-C` (0-based rows, inclusive) into an ordered pair.
#[must_use]
pub fn parse_row_range(s: &str) -> Option<(u16, u16)> {
    let (a, b) = s.split_once('-').unwrap_or((s, s));
    let a = parse_row(a.trim())?;
    let b = parse_row(b.trim())?;
    (b >= a).then_some((a, b))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn labels(expr: &str, g: Geometry) -> Vec<String> {
        WellSet::parse(expr).unwrap().resolve(g).unwrap().iter().map(ToString::to_string).collect()
    }

    #[test]
    fn shorthands() {
        assert_eq!(labels("column 1", Geometry::W96).len(), 8);
        assert_eq!(labels("columns 2-11", Geometry::W96).len(), 80);
        assert_eq!(labels("rows A-B", Geometry::W96).len(), 24);
        assert_eq!(labels("A1-B2", Geometry::W96), ["A01", "A02", "B01", "B02"]);
        assert_eq!(labels("H12-G11", Geometry::W96), ["G11", "G12", "H11", "H12"]);
        assert_eq!(labels("b5, A1; b5", Geometry::W96), ["A01", "B05"]);
        assert_eq!(labels("row P", Geometry::W384).len(), 24);
    }

    #[test]
    fn errors_say_what_is_wrong() {
        assert!(WellSet::parse("colum 1").unwrap_err().contains("\"colum 1\""));
        assert!(WellSet::parse("").is_err());
        let err = WellSet::parse("column 13").unwrap().resolve(Geometry::W96).unwrap_err();
        assert!(err.contains("A13"), "{err}");
    }
}
