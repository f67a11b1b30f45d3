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
//!
//! Owns the guarantees around them:
//! - **Unique run directories, chosen atomically**: the finished staging directory is renamed
//!   to `runs/<time>`, `runs/<time>-2`, ...; a rename onto a name another run took at the same
//!   moment fails (the other run's directory is never empty) and the next name is tried, so
//!   concurrent runs into one `OUT` all commit.
//! - **`latest` moves forward in time only**: it points at the newest run by name (the start
//!   time, then the `-k` suffix), never at an older one that happened to finish last. Every
//!   commit re-reads `runs/` after switching `latest` and switches again if a newer run
//!   appeared meanwhile, so when concurrent runs are done `latest` is the newest.
//! - **Leftovers are removed, committed runs never**: a run that fails while writing removes
//!   its staging directory; the `.incomplete-*` entries of killed runs (their process is gone,
//!   or the process now holding that id started after the leftover was last written) are
//!   removed when the next run begins. Only `OUT/.incomplete-*` is ever removed. (Without
//!   `/proc`, a process cannot be checked and leftovers are kept.)
//! - **`OUT/latest` must be radbind's symlink**: a regular file, a folder or a link elsewhere
//!   at `OUT/latest` is an error before any work ([`check_root`]).

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};

use anyhow::{Context, Result, bail};

/// Staging directories begun by this process (several runs in one process get distinct names).
static BEGUN: AtomicUsize = AtomicUsize::new(0);

/// Prefix of every entry of a run in progress (or of a killed one) in the output root.
const INCOMPLETE: &str = ".incomplete-";

/// Checks that `root` can take a run: absent or a folder, and `root/latest` absent or
/// radbind's symbolic link to `runs/<name>`.
///
/// # Errors
/// When `root` is not a folder or `root/latest` is something else (a file, a folder, a link
/// elsewhere); the message says to move it away.
pub fn check_root(root: &Path) -> Result<()> {
    if root.exists() && !root.is_dir() {
        bail!("output path {} exists and is not a directory", root.display());
    }
    #[cfg(unix)]
    {
        let latest = root.join("latest");
        let what = match std::fs::symlink_metadata(&latest) {
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(()),
            Err(e) => return Err(e).with_context(|| format!("checking {}", latest.display())),
            Ok(m) if m.file_type().is_symlink() => {
                let to = std::fs::read_link(&latest)?;
                if is_run_link(&to) {
                    return Ok(());
                }
                format!("a symbolic link to {}", to.display())
            }
            Ok(m) if m.is_dir() => "a folder".to_string(),
            Ok(_) => "a file".to_string(),
        };
        bail!(
            "{} is {what}, not radbind's link to the newest run; radbind keeps that name for \
             the link: move it away or choose another output directory",
            latest.display()
        );
    }
    #[cfg(not(unix))]
    Ok(())
}

/// True for a link target radbind writes: `runs/<name>`.
fn is_run_link(to: &Path) -> bool {
    let parts: Vec<_> = to.components().collect();
    matches!(parts.as_slice(), [std::path::Component::Normal(r), std::path::Component::Normal(_)] if *r == "runs")
}

/// A run directory being written.
#[derive(Debug)]
pub struct Staging {
    root: PathBuf,
    dir: PathBuf,
    name: String,
    /// Committed, or to be kept for the user (a failed commit): not removed on drop.
    keep: bool,
}

impl Staging {
    /// Creates `OUT/.incomplete-<name>-<pid>` for a run called `name` (a UTC timestamp),
    /// after removing the leftovers of killed runs.
    ///
    /// # Errors
    /// When the output root cannot be created or is not a directory, or `OUT/latest` is not
    /// radbind's link.
    pub fn begin(root: &Path, name: &str) -> Result<Staging> {
        check_root(root)?;
        std::fs::create_dir_all(root.join("runs"))
            .with_context(|| format!("creating output directory {}", root.display()))?;
        remove_leftovers(root);
        let dir = root.join(format!("{INCOMPLETE}{name}-{}", process_tag()));
        std::fs::create_dir(&dir).with_context(|| format!("creating {}", dir.display()))?;
        Ok(Staging { root: root.to_path_buf(), dir, name: name.to_string(), keep: false })
    }

    /// The directory to write into.
    #[must_use]
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// Moves the finished run to `OUT/runs/<name>` (or `<name>-2`, `-3`, ... when taken, also by
    /// a run committing at the same moment) and points `OUT/latest` at the newest run. Returns
    /// the final directory.
    ///
    /// # Errors
    /// When the rename fails for another reason (the staging directory is then kept and the
    /// message says where), or `latest` cannot be switched (the run is committed).
    pub fn commit(mut self) -> Result<PathBuf> {
        let runs = self.root.join("runs");
        let mut k = 1;
        let target = loop {
            let target = if k == 1 {
                runs.join(&self.name)
            } else {
                runs.join(format!("{}-{k}", self.name))
            };
            k += 1;
            if std::fs::symlink_metadata(&target).is_ok() {
                continue;
            }
            match std::fs::rename(&self.dir, &target) {
                Ok(()) => break target,
                // Taken by a run that committed between the check and the rename.
                Err(e) if taken(&e) && k < 100_000 => {}
                Err(e) => {
                    self.keep = true;
                    return Err(e).with_context(|| {
                        format!(
                            "moving {} to {} (the finished results stay in {})",
                            self.dir.display(),
                            target.display(),
                            self.dir.display()
                        )
                    });
                }
            }
        };
        self.keep = true;
        point_latest(&self.root)?;
        Ok(target)
    }
}

impl Drop for Staging {
    /// A run that did not commit (an error while writing, e.g. a full disk) removes what it
    /// wrote, so the space is free for the next run.
    fn drop(&mut self) {
        if !self.keep {
            let _ = std::fs::remove_dir_all(&self.dir);
        }
    }
}

/// `<pid>` for the first staging directory of this process, `<pid>.<k>` for later ones.
fn process_tag() -> String {
    let k = BEGUN.fetch_add(1, Ordering::Relaxed);
    let pid = std::process::id();
    if k == 0 { pid.to_string() } else { format!("{pid}.{k}") }
}

/// True when a rename failed because the target name is taken by a non-empty directory.
fn taken(e: &std::io::Error) -> bool {
    matches!(e.kind(), std::io::ErrorKind::DirectoryNotEmpty | std::io::ErrorKind::AlreadyExists)
}

/// The process id in a leftover's name (`.incomplete-<name>-<pid>[.<k>]`).
fn pid_of(entry: &str) -> Option<u32> {
    let rest = entry.strip_prefix(INCOMPLETE)?;
    let tag = rest.rsplit('-').next()?;
    tag.split('.').next()?.parse().ok()
}

/// Removes the `.incomplete-*` entries of runs whose process is gone. Errors are ignored: a
/// leftover that cannot be removed does not stop a run.
fn remove_leftovers(root: &Path) {
    let Ok(entries) = std::fs::read_dir(root) else { return };
    let me = std::process::id();
    for e in entries.flatten() {
        let name = e.file_name().to_string_lossy().to_string();
        let Some(pid) = pid_of(&name) else { continue };
        if pid == me {
            continue;
        }
        let Ok(meta) = std::fs::symlink_metadata(e.path()) else { continue };
        if !is_dead(pid, meta.modified().ok()) {
            continue;
        }
        let _ = if meta.is_dir() {
            std::fs::remove_dir_all(e.path())
        } else {
            std::fs::remove_file(e.path())
        };
    }
}

/// True when the run of process `pid` whose leftover was last written at `written` cannot be
/// running: no such process, or the process with that id started after the leftover was
/// written (the id was reused). `false` when it cannot be told.
fn is_dead(pid: u32, written: Option<std::time::SystemTime>) -> bool {
    let proc_dir = Path::new("/proc");
    if !proc_dir.join("self").exists() {
        return false;
    }
    let Ok(stat) = std::fs::read_to_string(proc_dir.join(format!("{pid}/stat"))) else {
        return true;
    };
    match (process_start(&stat), written) {
        // Two seconds of slack for clock-tick rounding.
        (Some(start), Some(w)) => start > w + std::time::Duration::from_secs(2),
        _ => false,
    }
}

/// When a process started, from its `/proc/<pid>/stat` (field 22, clock ticks after boot;
/// Linux reports them in USER_HZ = 100 per second) and the boot time in `/proc/stat`.
fn process_start(stat: &str) -> Option<std::time::SystemTime> {
    // Fields after the command name, which is in parentheses and may hold spaces.
    let after = &stat[stat.rfind(')')? + 1..];
    let ticks: u64 = after.split_whitespace().nth(19)?.parse().ok()?;
    let boot: u64 = std::fs::read_to_string("/proc/stat")
        .ok()?
        .lines()
        .find_map(|l| l.strip_prefix("btime "))?
        .trim()
        .parse()
        .ok()?;
    Some(std::time::UNIX_EPOCH + std::time::Duration::from_millis(boot * 1000 + ticks * 10))
}

/// Orders run names by time: `<time>` before `<time>-2` before `<time>-10`.
fn run_order(name: &str) -> (&str, u64) {
    match name.rsplit_once('-') {
        Some((stem, k)) if !k.is_empty() && k.bytes().all(|b| b.is_ascii_digit()) => {
            (stem, k.parse().unwrap_or(u64::MAX))
        }
        _ => (name, 1),
    }
}

/// The newest run in `runs` by [`run_order`].
fn newest_run(runs: &Path) -> Result<Option<String>> {
    let mut newest: Option<String> = None;
    for e in std::fs::read_dir(runs).with_context(|| format!("listing {}", runs.display()))? {
        let name = e?.file_name().to_string_lossy().to_string();
        if newest.as_deref().is_none_or(|n| run_order(&name) > run_order(n)) {
            newest = Some(name);
        }
    }
    Ok(newest)
}

/// Points `root/latest` at the newest run, atomically (new link, then rename over), and again
/// while a newer run appears meanwhile.
fn point_latest(root: &Path) -> Result<()> {
    let runs = root.join("runs");
    let mut pointed: Option<String> = None;
    for _ in 0..1000 {
        let newest = newest_run(&runs)?;
        if newest == pointed {
            return Ok(());
        }
        let Some(name) = newest.clone() else { return Ok(()) };
        switch_latest(root, &Path::new("runs").join(&name))?;
        pointed = newest;
    }
    Ok(())
}

/// Replaces `root/latest` with a symlink to `rel` (new link, then rename over); refuses to
/// replace anything but radbind's link.
#[cfg(unix)]
fn switch_latest(root: &Path, rel: &Path) -> Result<()> {
    let latest = root.join("latest");
    check_root(root)?;
    let tmp = root.join(format!("{INCOMPLETE}latest-{}", process_tag()));
    let _ = std::fs::remove_file(&tmp);
    std::os::unix::fs::symlink(rel, &tmp).with_context(|| format!("creating {}", tmp.display()))?;
    std::fs::rename(&tmp, &latest).map_err(|e| {
        let _ = std::fs::remove_file(&tmp);
        anyhow::Error::new(e).context(format!("updating {}", latest.display()))
    })
}

/// Without symlinks, `latest.txt` names the newest run.
#[cfg(not(unix))]
fn switch_latest(root: &Path, rel: &Path) -> Result<()> {
    let tmp = root.join(format!(".latest-{}.txt", process_tag()));
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

    #[test]
    fn latest_only_moves_forward() {
        let tmp = tempfile::tempdir().unwrap();
        let root = tmp.path().join("out");
        let newer = Staging::begin(&root, "2026-01-02T00-00-00Z").unwrap();
        let older = Staging::begin(&root, "2026-01-01T00-00-00Z").unwrap();
        std::fs::write(newer.dir().join("x"), "new").unwrap();
        std::fs::write(older.dir().join("x"), "old").unwrap();
        newer.commit().unwrap();
        // The older run finishes last; latest stays at the newer one.
        older.commit().unwrap();
        assert_eq!(std::fs::read_to_string(root.join("latest/x")).unwrap(), "new");
        assert!(run_order("t-10") > run_order("t-2") && run_order("t-2") > run_order("t"));
    }

    #[test]
    fn a_failed_run_removes_its_staging_directory() {
        let tmp = tempfile::tempdir().unwrap();
        let root = tmp.path().join("out");
        let s = Staging::begin(&root, "t1").unwrap();
        let dir = s.dir().to_path_buf();
        std::fs::write(dir.join("x"), "1").unwrap();
        drop(s);
        assert!(!dir.exists());
    }

    #[test]
    fn leftovers_of_dead_processes_are_removed() {
        let tmp = tempfile::tempdir().unwrap();
        let root = tmp.path().join("out");
        std::fs::create_dir_all(root.join("runs/t0")).unwrap();
        // No process has id 4194303 + ... (above Linux's pid_max): dead.
        let dead = root.join(".incomplete-t0-4294967290");
        std::fs::create_dir(&dead).unwrap();
        std::fs::write(dead.join("x"), "1").unwrap();
        // This process is alive: its leftover is kept.
        let mine = root.join(format!(".incomplete-t0-{}.99", std::process::id()));
        std::fs::create_dir(&mine).unwrap();
        let s = Staging::begin(&root, "t1").unwrap();
        assert_eq!(dead.exists(), !Path::new("/proc/self").exists());
        assert!(mine.exists() && root.join("runs/t0").exists());
        drop(s);
        assert_eq!(pid_of(".incomplete-2026-01-01T00-00-00Z-123.4"), Some(123));
        assert_eq!(pid_of(".incomplete-latest-77"), Some(77));
    }

    #[cfg(unix)]
    #[test]
    fn latest_that_is_not_our_link_is_an_error() {
        let tmp = tempfile::tempdir().unwrap();
        let root = tmp.path().join("out");
        std::fs::create_dir_all(&root).unwrap();
        std::fs::write(root.join("latest"), "mine").unwrap();
        let e = Staging::begin(&root, "t1").unwrap_err().to_string();
        assert!(e.contains("is a file, not radbind's link"), "{e}");
        assert_eq!(std::fs::read_to_string(root.join("latest")).unwrap(), "mine");
        std::fs::remove_file(root.join("latest")).unwrap();
        std::fs::create_dir(root.join("latest")).unwrap();
        assert!(check_root(&root).unwrap_err().to_string().contains("is a folder"));
        std::fs::remove_dir(root.join("latest")).unwrap();
        std::os::unix::fs::symlink("runs/x", root.join("latest")).unwrap();
        assert!(check_root(&root).is_ok());
    }
}
