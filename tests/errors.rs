//! Errors as a user meets them: a corpus of bad configs and bad inputs, each run through the
//! real binary, with the exit code and the exact messages snapshotted (`tests/snapshots/`).
//!
//! Every case starts from a small valid experiment (one 96-well plate as a long CSV) and breaks
//! one thing. Messages must name the file, the line or well, and the config key, and say what
//! to do; no case may panic or print a backtrace.
//!
//! Review changed messages with `INSTA_UPDATE=always cargo test --test errors` and `git diff`.

use std::path::Path;

use assert_cmd::Command;
use common::{BASE_CONFIG, base_plate};

mod common;

struct Case {
    name: &'static str,
    /// Replacements applied to the base config text, in order.
    config: &'static [(&'static str, &'static str)],
    /// Files to write besides `cfg.yaml` (`plate.csv` defaults to the clean plate).
    files: Vec<(&'static str, Vec<u8>)>,
    /// Arguments; `cfg.yaml` is relative to the case directory.
    args: &'static [&'static str],
    code: i32,
}

impl Case {
    fn new(name: &'static str, code: i32) -> Case {
        Case { name, config: &[], files: Vec::new(), args: &["run", "cfg.yaml"], code }
    }
    fn config(mut self, r: &'static [(&'static str, &'static str)]) -> Case {
        self.config = r;
        self
    }
    fn file(mut self, name: &'static str, bytes: impl Into<Vec<u8>>) -> Case {
        self.files.push((name, bytes.into()));
        self
    }
    fn args(mut self, a: &'static [&'static str]) -> Case {
        self.args = a;
        self
    }
}

/// The clean plate with the count of one well (e.g. `C05`) replaced by `value`.
fn plate_with(well: &str, value: &str) -> String {
    let prefix = format!("P1,{well},");
    let p = base_plate();
    assert!(p.contains(&prefix), "{well} not in the base plate");
    p.lines()
        .map(|l| if l.starts_with(&prefix) { format!("{prefix}{value}") } else { l.to_string() })
        .collect::<Vec<_>>()
        .join("\n")
        + "\n"
}

/// A plate map CSV equivalent to the base config's layout, with `extra` lines appended.
fn base_map(extra: &str) -> String {
    let mut s = String::from("Well,Role,Compound,Concentration\n");
    for row in 'A'..='H' {
        for col in 1..=12 {
            let line = match col {
                1 => format!("{row}{col:02},total,,\n"),
                12 => format!("{row}{col:02},nsb,,\n"),
                c => {
                    let compound = if row < 'E' { "cmpd-a" } else { "cmpd-b" };
                    let conc = 10_000.0 / 3.162f64.powi(c - 2);
                    format!("{row}{col:02},sample,{compound},{conc:.3}\n")
                }
            };
            s.push_str(&line);
        }
    }
    s + extra
}

/// The base config with its plate laid out by `map.csv` instead of the YAML layout.
const MAP_ENTRY: &[(&str, &str)] =
    &[("layout: std, rows: {A-D: cmpd-a, E-H: cmpd-b}", "plate_map: map.csv")];

fn run_case(case: &Case) -> String {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    let mut cfg = BASE_CONFIG.to_string();
    for (from, to) in case.config {
        assert!(cfg.contains(from), "case {}: `{from}` not in the base config", case.name);
        cfg = cfg.replacen(from, to, 1);
    }
    std::fs::write(dir.join("cfg.yaml"), cfg).unwrap();
    if !case.files.iter().any(|(n, _)| *n == "plate.csv") {
        std::fs::write(dir.join("plate.csv"), base_plate()).unwrap();
    }
    for (name, bytes) in &case.files {
        if let Some(parent) = dir.join(name).parent() {
            std::fs::create_dir_all(parent).unwrap();
        }
        std::fs::write(dir.join(name), bytes).unwrap();
    }
    let out =
        Command::cargo_bin("radbind").unwrap().current_dir(dir).args(case.args).output().unwrap();
    let stdout = normalise(&String::from_utf8_lossy(&out.stdout), dir);
    let stderr = normalise(&String::from_utf8_lossy(&out.stderr), dir);
    assert!(
        !stderr.contains("panicked") && !stderr.contains("RUST_BACKTRACE"),
        "{}: {stderr}",
        case.name
    );
    assert_eq!(
        out.status.code(),
        Some(case.code),
        "{}: stdout {stdout}\nstderr {stderr}",
        case.name
    );
    format!("exit: {}\n--- stdout\n{stdout}--- stderr\n{stderr}", case.code)
}

/// Replaces the temp directory with `[TMP]` and run timestamps with `[TIME]`.
fn normalise(s: &str, dir: &Path) -> String {
    let s = s.replace(&dir.display().to_string(), "[TMP]");
    // Run directories are named like 2026-11-21T20-45-03Z.
    let mut out = String::new();
    for line in s.lines() {
        let mut l = line.to_string();
        if let Some(i) = l.find("runs/") {
            let start = i + 5;
            if l.len() >= start + 20 {
                l.replace_range(start..start + 20, "[TIME]");
            }
        }
        out.push_str(&l);
        out.push('\n');
    }
    out
}

/// A YAML alias bomb ("billion laughs") inside a key the schema accepts.
fn alias_bomb() -> String {
    let mut s = String::from(
        "experiment: bomb\ninputs:\n  - &a0 [\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\"]\n",
    );
    for i in 1..10 {
        let refs = vec![format!("*a{}", i - 1); 9].join(",");
        s.push_str(&format!("  - &a{i} [{refs}]\n"));
    }
    s
}

fn cases() -> Vec<Case> {
    let mut v = vec![
        // --- the config file itself
        Case::new("config_missing", 2).args(&["run", "nope.yaml"]),
        Case::new("config_empty", 2).file("empty.yaml", "").args(&["run", "empty.yaml"]),
        Case::new("config_binary", 2).file("bin.yaml", vec![0u8, 159, 146, 150, 0, 1, 2]).args(&["run", "bin.yaml"]),
        Case::new("config_too_large", 2)
            .file("huge.yaml", format!("experiment: x\n# {}\n", "x".repeat(17 << 20)))
            .args(&["run", "huge.yaml"]),
        Case::new("config_alias_bomb", 2).file("bomb.yaml", alias_bomb()).args(&["run", "bomb.yaml"]),
        Case::new("config_deep_nesting", 2)
            .file("deep.yaml", format!("experiment: {}{}\n", "[".repeat(5000), "]".repeat(5000)))
            .args(&["run", "deep.yaml"]),
        Case::new("config_not_a_mapping", 2).file("list.yaml", "- a\n- b\n").args(&["run", "list.yaml"]),
        // --- keys, types, units
        Case::new("unknown_top_level_key", 2).config(&[("experiment:", "experment:")]),
        Case::new("misspelt_nested_key", 2).config(&[("kd_nM: 1.0", "kd_nm: 1.0")]),
        Case::new("wrong_type_number", 2).config(&[("radioligand_nM: 1.0", "radioligand_nM: one")]),
        Case::new("missing_kd", 2).config(&[(", kd_nM: 1.0", "")]),
        Case::new("missing_radioligand_conc", 2).config(&[("radioligand_nM: 1.0, ", "")]),
        Case::new("unknown_unit", 2).config(&[("top: \"10 µM\"", "top: \"10 kg\"")]),
        Case::new("negative_kd", 2).config(&[("kd_nM: 1.0", "kd_nM: -1.0")]),
        Case::new("dilution_not_above_1", 2).config(&[("dilution: 3.162", "dilution: 0.3")]),
        Case::new("top_without_dilution", 2).config(&[(", dilution: 3.162", "")]),
        Case::new("top_and_list", 2).config(&[("dilution: 3.162", "dilution: 3.162, concentrations_nM: [1, 2]")]),
        Case::new("list_wrong_length", 2)
            .config(&[("top: \"10 µM\", dilution: 3.162", "concentrations_nM: [1000, 100, 10]")]),
        Case::new("unknown_direction", 2).config(&[("dilution: 3.162}", "dilution: 3.162, direction: sideways}")]),
        Case::new("series_without_axis", 2).config(&[("columns: 2-11, ", "")]),
        Case::new("bad_well_set", 2).config(&[("total: column 1", "total: colum 1")]),
        Case::new("not_a_plate_size", 2).config(&[("wells: 96", "wells: 100")]),
        Case::new("layout_without_nsb", 2).config(&[("    nsb: column 12\n", "")]),
        Case::new("unknown_target", 2).config(&[("target: T1", "target: T2")]),
        Case::new("unknown_layout", 2).config(&[("layout: std", "layout: standard")]),
        Case::new("overlapping_compounds", 2).config(&[("E-H: cmpd-b", "D-H: cmpd-b")]),
        Case::new("plate_number_zero", 2).config(&[("plate: 1,", "plate: 0,")]),
        Case::new("unknown_model", 2).config(&[("plates:\n", "fit: {model: five_parameter}\nplates:\n")]),
        Case::new("unknown_format", 2).config(&[("inputs: [plate.csv]", "inputs: [plate.csv]\nformat: excel")]),
        Case::new("exclude_without_reason", 2)
            .config(&[("inputs: [plate.csv]", "inputs: [plate.csv]\nexclude: [{plate: 1, wells: B05, reason: \"\"}]")]),
        Case::new("several_problems_at_once", 2)
            .config(&[("kd_nM: 1.0", "kd_nM: 0"), ("target: T1", "target: T9"), ("total: column 1", "total: column one")]),
        // --- input files
        Case::new("glob_matches_nothing", 2).config(&[("inputs: [plate.csv]", "inputs: [\"plates/*.csv\"]")]),
        Case::new("input_missing", 2).config(&[("inputs: [plate.csv]", "inputs: [plate-1.csv]")]),
        Case::new("input_is_a_directory", 2)
            .config(&[("inputs: [plate.csv]", "inputs: [adir]")])
            .file("adir/.keep", ""),
        Case::new("input_empty", 2).file("plate.csv", ""),
        Case::new("input_binary", 2).file("plate.csv", (0..=255u8).cycle().take(4096).collect::<Vec<u8>>()),
        Case::new("input_nan_count", 1).file("plate.csv", plate_with("C05", "NaN")),
        Case::new("input_negative_count", 1).file("plate.csv", plate_with("B07", "-5")),
        Case::new("input_text_count", 1).file("plate.csv", plate_with("A03", "lots")),
        Case::new("input_absurd_count", 1).file("plate.csv", plate_with("H11", "9e15")),
        Case::new("input_duplicate_well", 2).file("plate.csv", base_plate() + "P1,A01,2990\n"),
        Case::new("input_bad_well_name", 2).file("plate.csv", base_plate() + "P1,Q99,100\n"),
        Case::new("input_truncated_microbeta", 2).file(
            "plate.csv",
            "C:\\mbw\\results\\x.txt\nRUN INFORMATION:\n================\nCounting protocol no: 1   Sat 21-Nov-2026 12:00\nName: P\n\nPLATES:\n=======\nPlate 1\nCassette information:\nAssay:-/Prot:1/Cass:1/Func:-/Cassette no:   1/Shelf: 1/8*12\n\n\nCCPM1\n\n \t1\t2\t3\t4\t5\t6\t7\t8\t9\t10\t11\t12\t\nA\t1\t2\t3\n",
        ),
        Case::new("wrong_geometry", 2)
            .file("plate.csv", "plate,well,cpm\nP1,A01,100\nP1,D06,200\n"),
        Case::new("plate_missing_from_inputs", 2).config(&[("plate: 1,", "plate: 2,")]),
        Case::new("two_roles_for_one_well", 2).config(&[("nsb: column 12", "nsb: column 12, A2")]),
        Case::new("layout_well_off_plate", 2).config(&[("nsb: column 12", "nsb: column 13")]),
        // --- runs that complete with problems (exit 1): the rest is written
        Case::new("missing_nsb_wells_fail_curves", 1).file(
            "plate.csv",
            base_plate().lines().filter(|l| !l.contains("12,")).collect::<Vec<_>>().join("\n") + "\n",
        ),
        Case::new("one_bad_file_among_good", 1)
            .config(&[("inputs: [plate.csv]", "inputs: [plate.csv, broken.csv]")])
            .file("broken.csv", "plate,well,cpm\nP9,A01,oops\n"),
        // --- input formats, column maps and plate maps
        Case::new("format_names_listed", 2).config(&[("inputs: [plate.csv]", "inputs: [plate.csv]\nformat: topcount")]),
        Case::new("columns_with_other_format", 2).config(&[(
            "inputs: [plate.csv]",
            "inputs: [plate.csv]\nformat: microbeta\ncolumns: {plate: Barcode, well: \"\"}",
        )]),
        Case::new("columns_header_not_found", 2)
            .config(&[("inputs: [plate.csv]", "inputs: [plate.csv]\ncolumns: {plate: Barcode, value: CPM}")]),
        Case::new("plate_map_well_off_plate", 2)
            .config(MAP_ENTRY)
            .file("map.csv", base_map("P24,nsb,,\n")),
        Case::new("plate_map_sample_without_concentration", 2)
            .config(MAP_ENTRY)
            .file("map.csv", base_map("").replace("C05,sample,cmpd-a,316.311", "C05,sample,cmpd-a,")),
        Case::new("plate_map_missing", 2).config(MAP_ENTRY),
        Case::new("plate_map_with_layout_keys", 2)
            .config(&[("layout: std, rows:", "plate_map: map.csv, layout: std, rows:")])
            .file("map.csv", base_map("")),
        Case::new("plate_map_without_controls", 2).config(MAP_ENTRY).file(
            "map.csv",
            base_map("").lines().filter(|l| !l.contains("total") && !l.contains("nsb")).collect::<Vec<_>>().join("\n"),
        ),
        Case::new("plate_without_layout", 2).config(&[("layout: std, rows: {A-D: cmpd-a, E-H: cmpd-b}", "rows: {A-D: cmpd-a}")]),
        // `validate` lists every input and layout problem of a run together.
        Case::new("validate_lists_every_problem", 2)
            .config(&[
                ("inputs: [plate.csv]", "inputs: [plate.csv, broken1.csv, broken2.csv, plate2.csv]"),
                // Pinned to its file: broken2.csv before it has an unknown plate count.
                ("plates:\n", "plates:\n  - {file: plate2.csv, plate: 1, target: T1, plate_map: map.csv}\n"),
            ])
            .file("broken1.csv", "plate,well,cpm\nP9,A01,oops\n")
            .file("broken2.csv", "")
            .file("plate.csv", base_plate().lines().filter(|l| !l.starts_with("P1,C05,")).collect::<Vec<_>>().join("\n"))
            .file("plate2.csv", base_plate().replace("P1,", "P2,"))
            .file("map.csv", base_map("P24,nsb,,\n"))
            .args(&["validate", "cfg.yaml"]),
    ];
    // A file of several GB (sparse: no disk used) is refused from its size, before reading.
    v.push(Case::new("input_several_gb", 2));
    v
}

#[test]
fn bad_inputs_give_clear_messages_and_exit_codes() {
    let cases = cases();
    assert!(cases.len() >= 40, "the corpus has {} cases", cases.len());
    let mut failures = Vec::new();
    for case in &cases {
        let text =
            if case.name == "input_several_gb" { several_gb_case(case) } else { run_case(case) };
        let result = std::panic::catch_unwind(|| {
            insta::with_settings!({snapshot_suffix => case.name, prepend_module_to_snapshot => false}, {
                insta::assert_snapshot!("errors", text);
            });
        });
        if result.is_err() {
            failures.push(case.name);
        }
    }
    assert!(failures.is_empty(), "snapshots differ: {failures:?}");
}

fn several_gb_case(case: &Case) -> String {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    std::fs::write(dir.join("cfg.yaml"), BASE_CONFIG).unwrap();
    let f = std::fs::File::create(dir.join("plate.csv")).unwrap();
    f.set_len(3 << 30).unwrap();
    drop(f);
    let out =
        Command::cargo_bin("radbind").unwrap().current_dir(dir).args(case.args).output().unwrap();
    let stderr = normalise(&String::from_utf8_lossy(&out.stderr), dir);
    assert_eq!(out.status.code(), Some(case.code), "{stderr}");
    format!(
        "exit: {}\n--- stdout\n{}--- stderr\n{stderr}",
        case.code,
        normalise(&String::from_utf8_lossy(&out.stdout), dir)
    )
}

/// A run that completes with problems records them in run.json and both reports.
#[test]
fn problems_are_recorded_in_the_outputs() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    let cfg = BASE_CONFIG.replace("inputs: [plate.csv]", "inputs: [plate.csv, broken.csv]");
    std::fs::write(dir.join("cfg.yaml"), cfg).unwrap();
    std::fs::write(dir.join("plate.csv"), base_plate()).unwrap();
    std::fs::write(dir.join("broken.csv"), "plate,well,cpm\nP9,A01,oops\n").unwrap();
    let out = Command::cargo_bin("radbind")
        .unwrap()
        .current_dir(dir)
        .args(["run", "cfg.yaml", "--quiet"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let run = dir.join("out/latest");
    let manifest: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(run.join("run.json")).unwrap()).unwrap();
    let problems = manifest["problems"].as_array().unwrap();
    assert_eq!(problems.len(), 1);
    assert!(problems[0].as_str().unwrap().contains("broken.csv:2: well A01 of plate P9"));
    let md = std::fs::read_to_string(run.join("report.md")).unwrap();
    assert!(md.contains("## Problems") && md.contains("broken.csv:2"), "{md}");
    let html = std::fs::read_to_string(run.join("report.html")).unwrap();
    assert!(html.contains("<h3>Problems</h3>") && html.contains("broken.csv:2"));
}
