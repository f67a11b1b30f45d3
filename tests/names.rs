//! Neutralised names: free-text experiment, target and compound names never become paths
//! outside the output directory, markup in the HTML report, formulas in CSV cells, or broken
//! Markdown tables; control and text-direction characters in names from data files (plate
//! maps, plate labels, file names) never reach an output file or the terminal raw.

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

/// Characters that must never reach an output or the terminal raw.
const RAW: [char; 5] = ['\u{0}', '\u{c}', '\u{1b}', '\u{202e}', '\u{85}'];

/// A plate map compound name, a plate label and an input file name holding NUL, form feed,
/// ESC, U+202E and a C1 character: every file written is free of them (the Prism files are
/// valid XML), and so are stdout and stderr.
#[test]
fn control_characters_in_data_names_are_neutralised() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    let evil = "cmpd\u{0}\u{c}\u{1b}[2J\u{202e}x\u{85}y";
    let mut map = String::from("Well,Role,Compound,Concentration\n");
    for row in 'A'..='H' {
        for col in 1..=12 {
            let line = match col {
                1 => format!("{row}{col:02},total,,\n"),
                12 => format!("{row}{col:02},nsb,,\n"),
                c => {
                    let compound = if row < 'E' { evil } else { "cmpd-b" };
                    let conc = 10_000.0 / 3.162f64.powi(c - 2);
                    format!("{row}{col:02},sample,{compound},{conc:.3}\n")
                }
            };
            map.push_str(&line);
        }
    }
    std::fs::write(dir.join("map.csv"), map).unwrap();
    let data = "plate\u{1b}[31m.csv";
    let cfg = BASE_CONFIG
        .replace("inputs: [plate.csv]", "inputs: [\"plate*.csv\"]")
        .replace("layout: std, rows: {A-D: cmpd-a, E-H: cmpd-b}", "plate_map: map.csv");
    std::fs::write(dir.join("cfg.yaml"), cfg).unwrap();
    std::fs::write(dir.join(data), base_plate().replace("P1,", "P\u{1b}]0;x\u{7}1,")).unwrap();
    let out = Command::cargo_bin("radbind")
        .unwrap()
        .current_dir(dir)
        .args(["run", "cfg.yaml"])
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{stdout}{stderr}");
    for c in RAW.into_iter().chain(['\u{7}']) {
        assert!(
            !stdout.contains(c) && !stderr.contains(c),
            "{c:?} on the terminal: {stdout}{stderr}"
        );
    }
    let run = dir.join("out/latest");
    let mut checked = 0;
    for f in files_below(&run) {
        let p = run.join(&f);
        if p.is_dir() || f.ends_with(".png") || f.ends_with(".parquet") {
            continue;
        }
        let text = String::from_utf8(std::fs::read(&p).unwrap()).unwrap();
        // run.json keeps the config text as written; JSON escapes control characters.
        for c in RAW {
            assert!(!text.contains(c), "{c:?} in {f}");
        }
        if f.ends_with(".pzfx") || f.ends_with(".svg") {
            // XML 1.0: no C0 character but tab, line feed and carriage return.
            assert!(
                text.chars().all(|c| !c.is_control() || matches!(c, '\t' | '\n' | '\r')),
                "{f} is not valid XML"
            );
        }
        checked += 1;
    }
    assert!(checked > 5, "{checked} files checked");
    let fits = std::fs::read_to_string(run.join("fits.csv")).unwrap();
    assert!(fits.contains("cmpd\\u{0}\\u{c}\\u{1b}[2J\\u{202e}x\\u{85}y"), "{fits}");
    let prism = std::fs::read_dir(run.join("prism")).unwrap().next().unwrap().unwrap().path();
    let prism = std::fs::read_to_string(prism).unwrap();
    assert!(prism.contains("<Title>cmpd\\u{0}\\u{c}\\u{1b}[2J\\u{202e}x\\u{85}y</Title>"));
}
