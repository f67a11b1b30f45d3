//! Output directories: every run writes into a fresh staging directory and is moved into place
//! only when complete, so nothing a user had is overwritten and an interrupted run leaves
//! nothing that looks finished.
//!
//! Layout under the output root `OUT`:
//! ```text
//! OUT/runs/<UTC timestamp>/        one directory per completed run (never overwritten)
//! OUT/latest -> runs/<timestamp>   symlink to the newest completed run (replaced atomically)
//! OUT/.incomplete-<timestamp>-<pid>/  a run in progress (or one that was killed)
//! ```

use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};

/// A run directory being written.
#[derive(Debug)]
pub struct Staging {
    root: PathBuf,
    dir: PathBuf,
    name: String,
}

impl Staging {
    /// Creates `OUT/.incomplete-<name>-<pid>` for a run called `name` (a UTC timestamp).
    ///
    /// # Errors
    /// When the output root cannot be created or is not a directory.
    pub fn begin(root: &Path, name: &str) -> Result<Staging> {
        if root.exists() && !root.is_dir() {
            bail!("output path {} exists and is not a directory", root.display());
        }
        std::fs::create_dir_all(root.join("runs"))
            .with_context(|| format!("creating output directory {}", root.display()))?;
        let dir = root.join(format!(".incomplete-{name}-{}", std::process::id()));
        std::fs::create_dir(&dir).with_context(|| format!("creating {}", dir.display()))?;
        Ok(Staging { root: root.to_path_buf(), dir, name: name.to_string() })
    }

    /// The directory to write into.
    #[must_use]
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// Moves the finished run to `OUT/runs/<name>` (adding `-2`, `-3`, ... if taken) and points
    /// `OUT/latest` at it. Returns the final directory.
    ///
    /// # Errors
    /// When the rename fails; the staging directory is then left as it is.
    pub fn commit(self) -> Result<PathBuf> {
        let runs = self.root.join("runs");
        let mut target = runs.join(&self.name);
        let mut k = 2;
        while target.exists() {
            target = runs.join(format!("{}-{k}", self.name));
            k += 1;
        }
        std::fs::rename(&self.dir, &target)
            .with_context(|| format!("moving {} to {}", self.dir.display(), target.display()))?;
        let rel = Path::new("runs").join(target.file_name().expect("run dir has a name"));
        point_latest(&self.root, &rel)?;
        Ok(target)
    }
}

/// Replaces `root/latest` with a symlink to `rel`, atomically (new link, then rename over).
#[cfg(unix)]
fn point_latest(root: &Path, rel: &Path) -> Result<()> {
    let tmp = root.join(format!(".incomplete-latest-{}", std::process::id()));
    let _ = std::fs::remove_file(&tmp);
    std::os::unix::fs::symlink(rel, &tmp).with_context(|| format!("creating {}", tmp.display()))?;
    std::fs::rename(&tmp, root.join("latest"))
        .with_context(|| format!("updating {}", root.join("latest").display()))?;
    Ok(())
}

/// Without symlinks, `latest.txt` names the newest run.
#[cfg(not(unix))]
fn point_latest(root: &Path, rel: &Path) -> Result<()> {
    let tmp = root.join(format!(".latest-{}.txt", std::process::id()));
    std::fs::write(&tmp, rel.to_string_lossy().as_bytes())?;
    std::fs::rename(&tmp, root.join("latest.txt"))?;
    Ok(())
}

/// A run name from a time: `2026-11-21T20-45-03Z` (file-name safe RFC 3339).
#[must_use]
pub fn run_name(t: std::time::SystemTime) -> String {
    let s = humantime::format_rfc3339_seconds(t).to_string();
    s.replace(':', "-")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn runs_are_kept_and_latest_moves() {
        let tmp = tempfile::tempdir().unwrap();
        let root = tmp.path().join("out");
        let a = Staging::begin(&root, "t1").unwrap();
        std::fs::write(a.dir().join("x"), "1").unwrap();
        let a = a.commit().unwrap();
        let b = Staging::begin(&root, "t1").unwrap();
        std::fs::write(b.dir().join("x"), "2").unwrap();
        let b = b.commit().unwrap();
        assert_ne!(a, b);
        assert_eq!(std::fs::read_to_string(a.join("x")).unwrap(), "1");
        assert_eq!(std::fs::read_to_string(root.join("latest/x")).unwrap(), "2");
        assert!(b.ends_with("runs/t1-2"));
    }
}
