//! Neutralised names: free-text experiment, target and compound names never become paths
//! outside the output directory, markup in the HTML report, formulas in CSV cells, or broken
//! Markdown tables.

use std::path::Path;

use assert_cmd::Command;
use common::{BASE_CONFIG, base_plate};

mod common;

const EVIL_TARGET: &str = "<script>alert(1)</script>";
const EVIL_A: &str = "../../x";
const EVIL_B: &str = "=HYPERLINK(\"http://example.invalid\",\"click\")";

fn files_below(dir: &Path) -> Vec<String> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).unwrap() {
            let p = e.unwrap().path();
            if p.is_dir() && !p.is_symlink() {
                stack.push(p.clone());
            }
            out.push(p.strip_prefix(dir).unwrap().display().to_string());
        }
    }
    out.sort();
    out
}

#[test]
fn hostile_names_stay_text() {
    let tmp = tempfile::tempdir().unwrap();
    let work = tmp.path().join("a/b/work");
    std::fs::create_dir_all(&work).unwrap();
    let cfg = BASE_CONFIG
        .replace(
            "experiment: bad-input-corpus\noutput: out\n",
            "experiment: \"../../../escape | /etc/passwd\"\n",
        )
        .replace("T1:", &format!("\"{}\":", EVIL_TARGET.replace('"', "\\\"")))
        .replace("target: T1", &format!("target: \"{EVIL_TARGET}\""))
        .replace("A-D: cmpd-a", &format!("A-D: \"{EVIL_A}\""))
        .replace("E-H: cmpd-b", &format!("E-H: '{EVIL_B}'"));
    std::fs::write(work.join("cfg.yaml"), &cfg).unwrap();
    std::fs::write(work.join("plate.csv"), base_plate()).unwrap();
    let out = Command::cargo_bin("radbind")
        .unwrap()
        .current_dir(&work)
        .args(["run", "cfg.yaml", "--quiet"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", String::from_utf8_lossy(&out.stderr));

    // Everything written is below work/outputs/<safe name>/.
    let all = files_below(tmp.path());
    let written: Vec<&String> =
        all.iter().filter(|f| !f.ends_with("cfg.yaml") && !f.ends_with("plate.csv")).collect();
    for f in &written {
        assert!(
            f.starts_with("a/b/work/outputs") || *f == "a" || *f == "a/b" || *f == "a/b/work",
            "{f} written outside the output directory"
        );
    }
    let outputs = std::fs::read_dir(work.join("outputs"))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().to_string())
        .collect::<Vec<_>>();
    assert_eq!(outputs.len(), 1);
    assert!(!outputs[0].contains('/') && !outputs[0].starts_with('.'), "{outputs:?}");
    let run = work.join("outputs").join(&outputs[0]).join("latest");
    for plot in std::fs::read_dir(run.join("plots")).unwrap() {
        let name = plot.unwrap().file_name().to_string_lossy().to_string();
        assert!(name.chars().all(|c| c.is_ascii_alphanumeric() || "-_.".contains(c)), "{name}");
    }

    // HTML: the names are escaped text, never markup.
    let html = std::fs::read_to_string(run.join("report.html")).unwrap();
    assert!(!html.contains(EVIL_TARGET), "raw <script> in report.html");
    assert!(html.contains("&lt;script&gt;alert(1)&lt;/script&gt;"));
    // SVG figures are inlined: they must not carry the raw name either.
    for plot in std::fs::read_dir(run.join("plots")).unwrap() {
        let p = plot.unwrap().path();
        if p.extension().is_some_and(|e| e == "svg") {
            assert!(!std::fs::read_to_string(&p).unwrap().contains(EVIL_TARGET), "{}", p.display());
        }
    }

    // CSV: a formula-like name is neutralised with a leading quote.
    let fits = std::fs::read_to_string(run.join("fits.csv")).unwrap();
    assert!(
        !fits.lines().any(|l| l.split(',').any(|c| c.trim_matches('"').starts_with('='))),
        "{fits}"
    );
    assert!(fits.contains("'=HYPERLINK"), "{fits}");

    // Markdown: every row of the results tables has as many cells as its header.
    let md = std::fs::read_to_string(run.join("report.md")).unwrap();
    let mut header_cells = None;
    for line in md.lines() {
        if !line.starts_with('|') {
            header_cells = None;
            continue;
        }
        let cells = line.replace("\\|", "").matches('|').count();
        match header_cells {
            None => header_cells = Some(cells),
            Some(n) => assert_eq!(cells, n, "broken Markdown row: {line}"),
        }
    }
}
