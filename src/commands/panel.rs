//! `radbind panel`: the selectivity panel of one or more finished runs.
//!
//! Each run directory's `fits.csv` is read back (`report::tables::read_fits_ki`), the entries
//! of all runs are merged and [`report::selectivity::panel_of`] builds the same table a run
//! writes as `selectivity.csv`. Nothing is overwritten silently: a compound measured at a
//! target in two runs gives two rows, told apart by the `run` column (the run directory's
//! name, `latest` resolved to the run it points at).

use std::io::Write as _;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};

use crate::report::selectivity::{SelectivityRow, panel_of};
use crate::report::tables;

/// The selectivity panel of the given run directories (see the module docs), with `primary`
/// as the primary target (`None`: per compound, its lowest exact Ki).
///
/// # Errors
/// A directory without a readable `fits.csv`, the same run given twice, or a `primary` that
/// no run has measured.
pub fn panel(dirs: &[PathBuf], primary: Option<&str>) -> Result<Vec<SelectivityRow>> {
    let names = run_names(dirs)?;
    let mut entries = Vec::new();
    for (dir, name) in dirs.iter().zip(&names) {
        entries.extend(tables::read_fits_ki(&dir.join("fits.csv"), name)?);
    }
    if let Some(p) = primary {
        if !entries.iter().any(|e| e.target == p) {
            let mut known: Vec<&str> = entries.iter().map(|e| e.target.as_str()).collect();
            known.sort_unstable();
            known.dedup();
            bail!(
                "--primary {p}: no run has measured target `{p}`; targets are: {}",
                known.join(", ")
            );
        }
    }
    Ok(panel_of(entries, primary))
}

/// A name per run directory: the last component of its canonical path (so `OUT/latest`
/// becomes the `runs/<time>` it points at). Directories that share a name (runs of two
/// output roots started in the same second) are named by the path as given instead.
///
/// # Errors
/// A directory without `fits.csv`, or the same directory given twice.
fn run_names(dirs: &[PathBuf]) -> Result<Vec<String>> {
    let mut canonical = Vec::with_capacity(dirs.len());
    for dir in dirs {
        let fits = dir.join("fits.csv");
        if !fits.is_file() {
            bail!(
                "{}: no such file (is {} a radbind run directory?)",
                fits.display(),
                dir.display()
            );
        }
        let c = std::fs::canonicalize(dir).with_context(|| format!("reading {}", dir.display()))?;
        if let Some(k) = canonical.iter().position(|p: &PathBuf| *p == c) {
            bail!(
                "{} and {} are the same run; give each run once",
                dirs[k].display(),
                dir.display()
            );
        }
        canonical.push(c);
    }
    let last = |p: &Path| p.file_name().map(|n| n.to_string_lossy().into_owned());
    let short: Vec<String> = canonical
        .iter()
        .zip(dirs)
        .map(|(c, d)| last(c).unwrap_or_else(|| d.display().to_string()))
        .collect();
    Ok(short
        .iter()
        .zip(dirs)
        .map(|(s, d)| {
            if short.iter().filter(|o| *o == s).count() > 1 {
                d.display().to_string()
            } else {
                s.clone()
            }
        })
        .collect())
}

/// Writes `bytes` to `path`; an existing file is an error unless `force`.
///
/// # Errors
/// When the file exists (without `force`) or cannot be written.
pub fn write_file(path: &Path, bytes: &[u8], force: bool) -> Result<()> {
    let mut f = if force {
        std::fs::File::create(path).with_context(|| format!("creating {}", path.display()))?
    } else {
        std::fs::OpenOptions::new().write(true).create_new(true).open(path).map_err(|e| {
            if e.kind() == std::io::ErrorKind::AlreadyExists {
                anyhow::anyhow!("{} exists; use --force to overwrite it", path.display())
            } else {
                anyhow::Error::new(e).context(format!("creating {}", path.display()))
            }
        })?
    };
    f.write_all(bytes).with_context(|| format!("writing {}", path.display()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn runs_with_the_same_name_are_named_by_path() {
        let tmp = tempfile::tempdir().expect("tempdir");
        let dirs: Vec<PathBuf> = ["a/r1", "b/r1", "c/r2"]
            .iter()
            .map(|d| {
                let p = tmp.path().join(d);
                std::fs::create_dir_all(&p).expect("mkdir");
                std::fs::write(p.join("fits.csv"), "x\n").expect("write");
                p
            })
            .collect();
        let names = run_names(&dirs).expect("names");
        assert_eq!(names[0], dirs[0].display().to_string());
        assert_eq!(names[1], dirs[1].display().to_string());
        assert_eq!(names[2], "r2");
        let twice = [dirs[2].clone(), tmp.path().join("c/../c/r2")];
        let e = run_names(&twice).expect_err("same run twice");
        assert!(e.to_string().contains("are the same run"), "{e}");
        let e = run_names(&[tmp.path().join("nope")]).expect_err("no fits.csv");
        assert!(e.to_string().contains("fits.csv: no such file"), "{e}");
    }

    #[test]
    fn existing_files_need_force() {
        let tmp = tempfile::tempdir().expect("tempdir");
        let p = tmp.path().join("panel.csv");
        write_file(&p, b"a\n", false).expect("new file");
        let e = write_file(&p, b"b\n", false).expect_err("exists");
        assert!(e.to_string().contains("use --force"), "{e}");
        assert_eq!(std::fs::read(&p).expect("read"), b"a\n");
        write_file(&p, b"b\n", true).expect("forced");
        assert_eq!(std::fs::read(&p).expect("read"), b"b\n");
    }
}
