//! Compound list files of a primary screen: the compounds of a plate in block order, one name
//! per line; or `plate,compound` lines (comma, semicolon or tab) naming the compounds of
//! several plates by plate number or barcode, each plate's in block order.
//!
//! Blank lines and lines starting with `#` are skipped; a first line `plate,compound` (any
//! case) is a header. Owns the file's grammar only: which plate gets which names is the
//! layout stage's job.

use std::collections::BTreeMap;
use std::path::Path;

use super::{IngestError, MAX_FILE_BYTES, decode, parse_error};

/// A compound list as read: either one list for every plate, or lists by plate number or
/// barcode (the text of the first column).
#[derive(Debug, Clone, PartialEq, Default)]
pub struct CompoundList {
    /// Names of a one-column file, in file order.
    pub names: Vec<String>,
    /// Names of a two-column file by plate (number or barcode as written), in file order.
    pub by_plate: BTreeMap<String, Vec<String>>,
}

/// Reads a compound list file.
///
/// # Errors
/// [`IngestError::Io`] when the file cannot be read, [`IngestError::Parse`] naming the line
/// as [`parse_compound_list`].
pub fn read_compound_list(path: &Path) -> Result<CompoundList, IngestError> {
    let io_err = |source| IngestError::Io { path: path.to_path_buf(), source };
    let bytes = super::file::read_regular(path, MAX_FILE_BYTES).map_err(io_err)?;
    let (text, _) = decode(&bytes)
        .map_err(|why| IngestError::UnknownFormat { path: path.to_path_buf(), why })?;
    parse_compound_list(path, &text)
}

/// Parses compound list text; `path` is used in messages only.
///
/// # Errors
/// [`IngestError::Parse`] naming the line: one-column and two-column lines mixed, more than
/// two columns, an empty name, or no names at all.
pub fn parse_compound_list(path: &Path, text: &str) -> Result<CompoundList, IngestError> {
    let mut out = CompoundList::default();
    let mut two: Option<bool> = None;
    let mut first = true;
    for (i, raw) in text.lines().enumerate() {
        let line_no = i + 1;
        let line = raw.trim_start_matches('\u{feff}').trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let cells: Vec<&str> = line.split([',', ';', '\t']).map(str::trim).collect();
        if std::mem::take(&mut first)
            && cells.len() == 2
            && ["plate", "barcode"].iter().any(|h| cells[0].eq_ignore_ascii_case(h))
            && cells[1].eq_ignore_ascii_case("compound")
        {
            two = Some(true);
            continue;
        }
        let is_two = match cells.len() {
            1 => false,
            2 => true,
            n => {
                return Err(parse_error(
                    path,
                    line_no,
                    format!(
                        "{n} columns; a compound list has one name per line, or \
                         `plate,compound` lines"
                    ),
                ));
            }
        };
        if *two.get_or_insert(is_two) != is_two {
            return Err(parse_error(
                path,
                line_no,
                "one-column and `plate,compound` lines are mixed; use one form for the file",
            ));
        }
        let name = cells[cells.len() - 1];
        if name.is_empty() || (is_two && cells[0].is_empty()) {
            return Err(parse_error(path, line_no, "empty plate or compound name"));
        }
        if is_two {
            out.by_plate.entry(cells[0].to_string()).or_default().push(name.to_string());
        } else {
            out.names.push(name.to_string());
        }
    }
    if out.names.is_empty() && out.by_plate.is_empty() {
        return Err(parse_error(path, 1, "no compound names in the list"));
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(t: &str) -> Result<CompoundList, IngestError> {
        parse_compound_list(Path::new("list.txt"), t)
    }

    #[test]
    fn one_name_per_line() {
        let l = parse("# plate 1\nRB-1\n\nRB-2\r\n").expect("list");
        assert_eq!(l.names, ["RB-1", "RB-2"]);
        assert!(l.by_plate.is_empty());
    }

    #[test]
    fn names_by_plate_or_barcode() {
        let l = parse("plate,compound\n1,RB-1\n1,RB-2\nBC7;RB-3\n").expect("list");
        assert_eq!(l.by_plate["1"], ["RB-1", "RB-2"]);
        assert_eq!(l.by_plate["BC7"], ["RB-3"]);
    }

    #[test]
    fn mixed_forms_name_the_line() {
        let e = parse("RB-1\n1,RB-2\n").expect_err("mixed");
        assert!(e.to_string().contains(":2"), "{e}");
        assert!(parse("a,b,c\n").is_err());
        assert!(parse("# nothing\n").is_err());
    }
}
