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
/// file that breaks part-way still gives its complete plates. Files are read in parallel (on
/// the current rayon pool); the result is in input order.
#[must_use]
pub fn read_inputs(paths: &[PathBuf], opts: &ReadOptions) -> Inputs {
    use rayon::prelude::*;
    let read: Vec<Input> = paths.par_iter().map(|p| read_input(p, opts)).collect();
    let mut out = Inputs::default();
    for i in read {
        out.files.push(i.file);
        out.problems.extend(i.problems);
        out.errors.push(i.error);
        out.reads.push(i.read);
    }
    out
}

/// One input file read and hashed: [`read_inputs`] for one file.
#[derive(Debug)]
pub struct Input {
    /// The file and its hash (empty when it could not be read).
    pub file: InputFile,
    /// Its complete plates, the error that stopped reading it, its plate count when known.
    pub read: FileRead,
    /// The error as text (`None` for a file read whole).
    pub error: Option<String>,
    /// The file's problems: the error with what was kept, and bad count cells.
    pub problems: Vec<String>,
}

/// Reads and hashes one input file (its bytes are read once, for both).
#[must_use]
pub fn read_input(path: &Path, opts: &ReadOptions) -> Input {
    let (read, sha256, bytes) = match super::file::read_regular(path, super::MAX_FILE_BYTES) {
        Ok(data) => {
            let digest = Sha256::digest(&data);
            let hex = digest.iter().fold(String::with_capacity(64), |mut s, b| {
                use std::fmt::Write as _;
                let _ = write!(s, "{b:02x}");
                s
            });
            (super::read_bytes_partial(path, &data, opts), hex, data.len() as u64)
        }
        // Files too large to read, and anything but a regular file, are refused by ingest
        // without reading them; they are not hashed.
        Err(_) => (super::read_file_partial(path, opts), String::new(), 0),
    };
    let file = InputFile { path: path.display().to_string(), sha256, bytes };
    let error = read.error.as_ref().map(ToString::to_string);
    // The message already names the file; say what was kept of a file that broke.
    let mut problems: Vec<String> = error
        .as_ref()
        .map(|e| match (read.plates.len(), read.plate_count) {
            (0, _) => e.clone(),
            (1, Some(c)) => format!("{e} (plate 1 of its {c} is read)"),
            (n, Some(c)) => format!("{e} (plates 1-{n} of its {c} are read)"),
            (n, None) => format!("{e} (its first {n} plate(s) are read)"),
        })
        .into_iter()
        .collect();
    for p in &read.plates {
        for b in &p.meta.bad_counts {
            problems.push(format!(
                "{}:{}: well {} of plate {}: {}; the well is left out",
                path.display(),
                b.line,
                b.well,
                p.label,
                b.reason
            ));
        }
    }
    Input { file, read, error, problems }
}
