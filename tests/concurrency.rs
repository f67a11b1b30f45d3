//! Many runs into one output directory at once: every run commits to its own directory,
//! `latest` ends at the newest, and nothing is left in `.incomplete-*`. Leftovers of killed
//! runs are removed by the next run; committed runs never are.

use std::path::Path;
use std::process::{Command, Stdio};

use common::{BASE_CONFIG, base_plate};

mod common;

/// Orders run names by time: `<time>` before `<time>-2` before `<time>-10`.
fn run_order(name: &str) -> (String, u64) {
    match name.rsplit_once('-') {
        Some((stem, k)) if k.bytes().all(|b| b.is_ascii_digit()) => {
            (stem.to_string(), k.parse().unwrap())
        }
        _ => (name.to_string(), 1),
    }
}

fn entries(dir: &Path) -> Vec<String> {
    let mut v: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().to_string())
        .collect();
    v.sort();
    v
}

#[test]
fn sixteen_runs_into_one_directory_all_commit() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    std::fs::write(dir.join("cfg.yaml"), BASE_CONFIG).unwrap();
    std::fs::write(dir.join("plate.csv"), base_plate()).unwrap();
    // A leftover of a killed run (no process has this id) and a committed run.
    let leftover = dir.join("out/.incomplete-2020-01-01T00-00-00Z-4294967290");
    std::fs::create_dir_all(&leftover).unwrap();
    std::fs::write(leftover.join("fits.csv"), "half").unwrap();
    std::fs::create_dir_all(dir.join("out/runs/2020-01-01T00-00-00Z")).unwrap();
    std::fs::write(dir.join("out/runs/2020-01-01T00-00-00Z/run.json"), "{}").unwrap();

    let children: Vec<_> = (0..16)
        .map(|_| {
            Command::new(env!("CARGO_BIN_EXE_radbind"))
                .current_dir(dir)
                .args(["run", "cfg.yaml", "--quiet", "--threads", "1"])
                .stdout(Stdio::null())
                .stderr(Stdio::piped())
                .spawn()
                .unwrap()
        })
        .collect();
    for c in children {
        let out = c.wait_with_output().unwrap();
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    }
    let out = dir.join("out");
    let runs = entries(&out.join("runs"));
    assert_eq!(runs.len(), 17, "{runs:?}");
    for r in &runs {
        assert!(out.join("runs").join(r).join("run.json").is_file(), "{r} is incomplete");
    }
    // Only the run directories and the link: no stranded staging directory, no leftover.
    assert_eq!(entries(&out), ["latest", "runs"]);
    let newest = runs.iter().max_by_key(|r| run_order(r)).unwrap();
    let latest = std::fs::read_link(out.join("latest")).unwrap();
    assert_eq!(latest, Path::new("runs").join(newest));
    assert_eq!(
        std::fs::read_to_string(out.join("runs/2020-01-01T00-00-00Z/run.json")).unwrap(),
        "{}"
    );
}
