//! Nothing lost: `radbind run` killed with SIGKILL at many points leaves the earlier results
//! intact and nothing that looks like a finished run.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Duration;

use sha2::{Digest, Sha256};

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn run(out: &Path) -> std::process::Child {
    Command::new(env!("CARGO_BIN_EXE_radbind"))
        .current_dir(root())
        .args(["run", "configs/example.yaml", "--quiet", "--out"])
        .arg(out)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("radbind starts")
}

/// SHA-256 of every file below `dir`, by relative path.
fn tree(dir: &Path) -> BTreeMap<String, String> {
    let mut out = BTreeMap::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).unwrap() {
            let p = e.unwrap().path();
            if p.is_dir() {
                stack.push(p);
            } else {
                let digest = Sha256::digest(std::fs::read(&p).unwrap());
                let hex: String = digest.iter().map(|b| format!("{b:02x}")).collect();
                out.insert(p.strip_prefix(dir).unwrap().display().to_string(), hex);
            }
        }
    }
    out
}

#[test]
fn sigkill_at_any_point_loses_nothing() {
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path();
    assert!(run(out).wait().unwrap().success());
    let first = std::fs::read_link(out.join("latest")).unwrap();
    let baseline = tree(&out.join(&first));
    let files: Vec<&String> = baseline.keys().collect();
    assert!(baseline.contains_key("run.json"));

    // Kill points spread over a whole run (a debug run of the example takes about 1-3 s).
    for delay_ms in [0, 20, 60, 120, 250, 400, 600, 900, 1300, 1800, 2500] {
        let mut child = run(out);
        std::thread::sleep(Duration::from_millis(delay_ms));
        let _ = child.kill();
        let _ = child.wait();

        // The first run is untouched, byte for byte.
        assert_eq!(
            tree(&out.join(&first)),
            baseline,
            "run {first:?} changed (kill at {delay_ms} ms)"
        );
        // Every directory under runs/ is a complete run with the full set of files.
        for e in std::fs::read_dir(out.join("runs")).unwrap() {
            let dir = e.unwrap().path();
            let t = tree(&dir);
            let names: Vec<&String> = t.keys().collect();
            assert_eq!(names, files, "{} is incomplete (kill at {delay_ms} ms)", dir.display());
        }
        // `latest` always points at a complete run.
        let latest = out.join("latest");
        assert!(latest.join("run.json").is_file(), "latest is not a complete run ({delay_ms} ms)");
        // Anything else in the output root is an .incomplete staging directory.
        for e in std::fs::read_dir(out).unwrap() {
            let name = e.unwrap().file_name().to_string_lossy().to_string();
            assert!(
                name == "runs" || name == "latest" || name.starts_with(".incomplete-"),
                "unexpected {name} after a kill at {delay_ms} ms"
            );
        }
    }
    // A run after all that still completes.
    assert!(run(out).wait().unwrap().success());
}
