//! Small shared vocabulary used by more than one stage: well positions and plate geometry.
//! Concentration units, their parsing and display live in [`crate::units`].
//!
//! Stage outputs live with the stage that produces them; only cross-stage identifiers and
//! units belong here.

use std::fmt;

/// Rows x columns of a plate or cassette.
///
/// MicroBeta writes the geometry as `rows*cols` (`4*6`, `8*12`, `16*24`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Geometry {
    /// Number of rows (A, B, ...).
    pub rows: u16,
    /// Number of columns (1, 2, ...).
    pub cols: u16,
}

impl Geometry {
    /// 24-position cassette (4 x 6).
    pub const W24: Geometry = Geometry { rows: 4, cols: 6 };
    /// 96-well plate (8 x 12).
    pub const W96: Geometry = Geometry { rows: 8, cols: 12 };
    /// 384-well plate (16 x 24).
    pub const W384: Geometry = Geometry { rows: 16, cols: 24 };
    /// 1536-well plate (32 x 48).
    pub const W1536: Geometry = Geometry { rows: 32, cols: 48 };

    /// The standard geometries radbind knows, smallest first.
    pub const STANDARD: [Geometry; 4] = [Self::W24, Self::W96, Self::W384, Self::W1536];

    /// Number of wells.
    #[must_use]
    pub fn len(self) -> usize {
        usize::from(self.rows) * usize::from(self.cols)
    }

    /// True when the geometry has no wells (never for a parsed plate).
    #[must_use]
    pub fn is_empty(self) -> bool {
        self.len() == 0
    }

    /// The standard geometry with exactly `n` wells, if any.
    #[must_use]
    pub fn from_well_count(n: usize) -> Option<Geometry> {
        Self::STANDARD.into_iter().find(|g| g.len() == n)
    }

    /// Row-major index of a position, or `None` when it lies outside the plate.
    #[must_use]
    pub fn index(self, pos: WellPos) -> Option<usize> {
        (pos.row < self.rows && pos.col < self.cols)
            .then(|| usize::from(pos.row) * usize::from(self.cols) + usize::from(pos.col))
    }

    /// Position of a row-major index.
    #[must_use]
    pub fn pos(self, index: usize) -> WellPos {
        let cols = usize::from(self.cols);
        WellPos {
            row: u16::try_from(index / cols).expect("well index fits the geometry"),
            col: u16::try_from(index % cols).expect("well index fits the geometry"),
        }
    }

    /// Where a well counted on a plate turned by 180 degrees really was:
    /// A1 <-> last row/last column.
    #[must_use]
    pub fn rotate180(self, pos: WellPos) -> WellPos {
        WellPos { row: self.rows - 1 - pos.row, col: self.cols - 1 - pos.col }
    }
}

impl fmt::Display for Geometry {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}x{} ({} wells)", self.rows, self.cols, self.len())
    }
}

/// A well position, 0-based row and column. Displayed as `A01`, `H12`, `P24`, `AF48`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct WellPos {
    /// 0-based row (A = 0).
    pub row: u16,
    /// 0-based column (1 = 0).
    pub col: u16,
}

impl WellPos {
    /// Parses `A1`, `A01`, `a01`, `AF48`. Rows beyond Z continue AA, AB, ... (1536 plates).
    #[must_use]
    pub fn parse(s: &str) -> Option<WellPos> {
        let s = s.trim();
        let split = s.find(|c: char| c.is_ascii_digit())?;
        let (letters, digits) = s.split_at(split);
        if letters.is_empty() || letters.len() > 2 || digits.is_empty() {
            return None;
        }
        let row = parse_row(letters)?;
        if !digits.bytes().all(|b| b.is_ascii_digit()) {
            return None;
        }
        let col: u16 = digits.parse().ok()?;
        if col == 0 {
            return None;
        }
        Some(WellPos { row, col: col - 1 })
    }

    /// Row letters (`A`, `P`, `AF`).
    #[must_use]
    pub fn row_label(self) -> String {
        row_label(self.row)
    }
}

/// Row label for a 0-based row: 0 -> `A`, 25 -> `Z`, 26 -> `AA`.
#[must_use]
pub fn row_label(row: u16) -> String {
    if row < 26 {
        char::from(b'A' + u8::try_from(row).expect("row < 26")).to_string()
    } else {
        let first = u8::try_from(row / 26 - 1).unwrap_or(25).min(25);
        let second = u8::try_from(row % 26).expect("remainder < 26");
        format!("{}{}", char::from(b'A' + first), char::from(b'A' + second))
    }
}

/// Parses row letters (`A` -> 0, `AA` -> 26), case-insensitive.
#[must_use]
pub fn parse_row(letters: &str) -> Option<u16> {
    let up: Vec<u8> = letters.bytes().map(|b| b.to_ascii_uppercase()).collect();
    match up.as_slice() {
        [a] if a.is_ascii_uppercase() => Some(u16::from(a - b'A')),
        [a, b] if a.is_ascii_uppercase() && b.is_ascii_uppercase() => {
            Some(26 * (u16::from(a - b'A') + 1) + u16::from(b - b'A'))
        }
        _ => None,
    }
}

impl WellPos {
    /// The well's label, `B05` (row letters, column number of at least two digits): what
    /// `Display` writes, built without the formatting machinery (a run labels every well it
    /// writes to `wells.csv`).
    #[must_use]
    pub fn label(self) -> String {
        let mut s = String::with_capacity(4);
        if self.row < 26 {
            s.push(char::from(b'A' + u8::try_from(self.row).unwrap_or(25)));
        } else {
            s.push_str(&row_label(self.row));
        }
        let col = self.col + 1;
        if col < 10 {
            s.push('0');
        }
        let mut digits = [0u8; 5];
        let mut n = col;
        let mut k = digits.len();
        loop {
            k -= 1;
            digits[k] = b'0' + u8::try_from(n % 10).unwrap_or(0);
            n /= 10;
            if n == 0 {
                break;
            }
        }
        for &d in &digits[k..] {
            s.push(char::from(d));
        }
        s
    }
}

impl fmt::Display for WellPos {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.label())
    }
}

/// The letter of the `i`-th compound (0-based) of a plate map: `a` … `z`, then `aa`, `ab`, …
/// (`validate`'s plate maps and the plate heat maps use the same letters).
///
/// ```
/// assert_eq!(radbind::types::compound_letter(0), "a");
/// assert_eq!(radbind::types::compound_letter(26), "aa");
/// ```
#[must_use]
pub fn compound_letter(i: usize) -> String {
    let letter = |k: usize| char::from(b'a' + u8::try_from(k % 26).unwrap_or(0));
    if i < 26 { letter(i).to_string() } else { format!("{}{}", letter(i / 26 - 1), letter(i)) }
}

/// The compounds of one plate in order of first appearance (wells in row-major order), each
/// once: compound `k` of the list has letter [`compound_letter`]`(k)`.
#[must_use]
pub fn compounds_in_order<'a>(names: impl Iterator<Item = &'a str>) -> Vec<&'a str> {
    let mut out: Vec<&str> = Vec::new();
    for n in names {
        if !out.contains(&n) {
            out.push(n);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn well_labels_round_trip() {
        for label in ["A01", "H12", "P24", "AF48", "Z01", "AA03"] {
            let p = WellPos::parse(label).unwrap();
            assert_eq!(p.to_string(), label);
        }
        assert_eq!(WellPos::parse("b5"), Some(WellPos { row: 1, col: 4 }));
        assert_eq!(WellPos::parse("A0"), None);
        assert_eq!(WellPos::parse("12"), None);
        assert_eq!(WellPos::parse("A1x"), None);
        // `label` writes what `{}{:02}` of the row letters and the column number writes.
        for row in [0u16, 7, 25, 26, 31, 700] {
            for col in [0u16, 8, 9, 11, 98, 99, 999, 1234] {
                let p = WellPos { row, col };
                assert_eq!(p.label(), format!("{}{:02}", row_label(row), col + 1));
            }
        }
    }

    #[test]
    fn rotation_maps_corners() {
        let g = Geometry::W96;
        let a1 = WellPos::parse("A1").unwrap();
        assert_eq!(g.rotate180(a1).to_string(), "H12");
        assert_eq!(g.rotate180(g.rotate180(a1)), a1);
    }
}
