//! The run's input files, read and hashed: [`read_inputs`] gives every file's complete plates,
//! its error as text, its SHA-256 ([`InputFile`], for `run.json` and the reports) and the
//! problems (a file that cannot be read is a problem, not an abort).
//!
//! Owns the per-file bookkeeping of a run; the parsing is [`super::read_file_partial`].

use std::path::{Path, PathBuf};

use sha2::{Digest, Sha256};

use super::{FileRead, RawPlate, ReadOptions};

/// Inputs read: per file, its complete plates and what went wrong; file hashes; problems.
#[derive(Debug, Default)]
pub struct Inputs {
    /// Every input file as read, in input order: its complete plates, the error that stopped
    /// reading it, and its plate count when known.
    pub reads: Vec<FileRead>,
    /// The error of each file in `reads` as text (`None` for a file read whole).
    pub errors: Vec<Option<String>>,
    /// Every input file with its hash (unreadable ones included, hash empty).
    pub files: Vec<InputFile>,
    /// Files that could not be read or parsed (whole or in part), and wells whose count cell
    /// was bad (left out; the rest of the file is read).
    pub problems: Vec<String>,
}

impl Inputs {
    /// Every plate read, in input order.
    pub fn plates(&self) -> impl Iterator<Item = &RawPlate> {
        self.reads.iter().flat_map(|r| r.plates.iter())
    }
}

/// An input file and its SHA-256 (hex).
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct InputFile {
    /// Path as given (after glob expansion).
    pub path: String,
    /// Lowercase hex SHA-256 of the bytes read.
    pub sha256: String,
    /// Size in bytes.
    pub bytes: u64,
}

/// Reads and hashes every input file; a file that fails is a problem, not an abort, and a
/// file that breaks part-way still gives its complete plates.
#[must_use]
pub fn read_inputs(paths: &[PathBuf], opts: &ReadOptions) -> Inputs {
    let mut out = Inputs::default();
    for path in paths {
        // Files too large to read, and anything but a regular file, are refused by ingest
        // without reading them; don't hash them.
        let readable = super::file::not_a_file(path).is_none()
            && std::fs::metadata(path).is_ok_and(|m| m.len() <= super::MAX_FILE_BYTES);
        let (sha256, bytes) =
            if readable { hash_file(path).unwrap_or_default() } else { Default::default() };
        out.files.push(InputFile { path: path.display().to_string(), sha256, bytes });
        let read = super::read_file_partial(path, opts);
        let error = read.error.as_ref().map(ToString::to_string);
        // The message already names the file; say what was kept of a file that broke.
        out.problems.extend(error.as_ref().map(|e| match (read.plates.len(), read.plate_count) {
            (0, _) => e.clone(),
            (1, Some(c)) => format!("{e} (plate 1 of its {c} is read)"),
            (n, Some(c)) => format!("{e} (plates 1-{n} of its {c} are read)"),
            (n, None) => format!("{e} (its first {n} plate(s) are read)"),
        }));
        for p in &read.plates {
            for b in &p.meta.bad_counts {
                out.problems.push(format!(
                    "{}:{}: well {} of plate {}: {}; the well is left out",
                    path.display(),
                    b.line,
                    b.well,
                    p.label,
                    b.reason
                ));
            }
        }
        out.errors.push(error);
        out.reads.push(read);
    }
    out
}

/// SHA-256 (lowercase hex) and size of a file; `None` when it cannot be read.
fn hash_file(path: &Path) -> Option<(String, u64)> {
    let mut f = std::fs::File::open(path).ok()?;
    let mut h = Sha256::new();
    let n = std::io::copy(&mut f, &mut h).ok()?;
    let digest = h.finalize();
    Some((digest.iter().map(|b| format!("{b:02x}")).collect(), n))
}
