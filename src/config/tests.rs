//! Tests of the whole config path: YAML text -> options -> settings or problems with lines.

use std::path::{Path, PathBuf};

use super::error::ConfigError;
use super::locate::locate;
use super::options::Options;
use super::resolve::{clean_path, resolve, yaml_message};
use super::settings::Settings;

const GOOD: &str = r#"experiment: test
inputs: [data/*.txt]
targets:
  5-HT2A: {radioligand: "[3H]ketanserin", radioligand_nM: 1.0, kd_nM: 0.4}
  H1:
    radioligand: "[3H]pyrilamine"
    radioligand_conc: 1.5 nM
    kd: 1.2 nM
layouts:
  standard96:
    total: column 1
    nsb: column 12
    series: {columns: 2-11, top: 10 µM, dilution: 3.162}
plates:
  - {plate: 1, target: 5-HT2A, layout: standard96, rows: {A-B: mianserin, C-D: ketanserin}}
  - plate: 2-3
    target: H1
    layout: standard96
    rows: {A-C: mianserin}
"#;

fn resolve_text(text: &str) -> Result<Settings, ConfigError> {
    let o: Options = serde_yaml::from_str(text).map_err(|e| {
        ConfigError::single(
            Path::new("t.yaml"),
            "",
            e.location().map(|l| l.line()),
            yaml_message(&e),
        )
    })?;
    resolve(Path::new("/nonexistent/t.yaml"), text.to_string(), o)
}

#[test]
fn resolves_units_and_ranges() {
    let err = resolve_text(GOOD).unwrap_err();
    // Only the glob fails (no data next to this test config).
    assert_eq!(err.problems.len(), 1, "{err}");
    assert_eq!(err.problems[0].key, "inputs[0]");
    assert_eq!(err.problems[0].line, Some(2));
}

#[test]
fn unknown_key_names_line() {
    let bad = GOOD.replace("kd_nM: 0.4", "kd_nm: 0.4");
    let err = resolve_text(&bad).unwrap_err();
    let msg = err.to_string();
    assert!(msg.contains("unknown field `kd_nm`"), "{msg}");
    assert_eq!(err.problems[0].line, Some(4), "{msg}");
}

#[test]
fn semantic_errors_all_listed_with_lines() {
    let bad = GOOD.replace("target: H1", "target: H2").replace("dilution: 3.162", "dilution: 0.5");
    let err = resolve_text(&bad).unwrap_err();
    let keys: Vec<(&str, Option<usize>)> =
        err.problems.iter().map(|p| (p.key.as_str(), p.line)).collect();
    assert!(keys.contains(&("plates[1].target", Some(17))), "{keys:?}");
    assert!(keys.contains(&("layouts.standard96.series.dilution", Some(13))), "{keys:?}");
}

#[test]
fn paths_are_cleaned() {
    assert_eq!(clean_path(Path::new("configs/../sample_data/x")), PathBuf::from("sample_data/x"));
    assert_eq!(clean_path(Path::new("../a/./b")), PathBuf::from("../a/b"));
    assert_eq!(clean_path(Path::new("/a/../../b")), PathBuf::from("/b"));
}

#[test]
fn primary_target_must_name_a_target() {
    let ok = format!("{GOOD}report: {{primary_target: H1}}\n");
    let err = resolve_text(&ok).unwrap_err();
    // Only the glob fails.
    assert_eq!(err.problems.len(), 1, "{err}");
    let bad = format!("{GOOD}report:\n  figures: svg\n  primary_target: H2\n");
    let err = resolve_text(&bad).unwrap_err();
    let p = err
        .problems
        .iter()
        .find(|p| p.key == "report.primary_target")
        .unwrap_or_else(|| panic!("no primary_target problem: {err}"));
    assert_eq!(p.line, Some(GOOD.lines().count() + 3), "{err}");
    assert_eq!(p.message, "unknown target `H2`; targets are: 5-HT2A, H1");
}

#[test]
fn locate_finds_nested_keys() {
    assert_eq!(locate(GOOD, &["layouts", "standard96", "nsb"]), Some(12));
    assert_eq!(locate(GOOD, &["targets", "H1", "kd"]), Some(8));
    assert_eq!(locate(GOOD, &["plates", "1", "layout"]), Some(18));
    assert_eq!(locate(GOOD, &["plates", "0", "rows"]), Some(15));
}

#[test]
fn globs_expand_in_natural_order() {
    use super::resolve::natural_cmp;
    let mut names = vec!["run10.txt", "run2.txt", "run1.txt", "run02.txt", "run1b.txt", "Run3.txt"];
    names.sort_by(|a, b| natural_cmp(a, b));
    assert_eq!(names, ["Run3.txt", "run1.txt", "run1b.txt", "run2.txt", "run02.txt", "run10.txt"]);
    assert_eq!(natural_cmp("a/b9/x", "a/b10/x"), std::cmp::Ordering::Less);
    assert_eq!(natural_cmp("x", "x"), std::cmp::Ordering::Equal);

    let dir = tempfile::tempdir().unwrap();
    for n in 1..=12 {
        std::fs::write(dir.path().join(format!("run{n}.txt")), "").unwrap();
    }
    let cfg = dir.path().join("c.yaml");
    std::fs::write(&cfg, GOOD.replace("data/*.txt", "run*.txt")).unwrap();
    let s = super::load(&cfg).unwrap();
    let got: Vec<String> =
        s.inputs.iter().map(|p| p.file_name().unwrap().to_string_lossy().to_string()).collect();
    let want: Vec<String> = (1..=12).map(|n| format!("run{n}.txt")).collect();
    assert_eq!(got, want);
}

#[test]
fn merge_keys_apply_and_own_keys_win() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("a.txt"), "").unwrap();
    let text = GOOD.replace("data/*.txt", "a.txt").replace(
        "  H1:\n",
        "  base: &t {radioligand: \"[3H]x\", radioligand_nM: 2.0, kd_nM: 3.0}\n  H2: {<<: *t, kd_nM: 5.0}\n  H1:\n",
    );
    let cfg = dir.path().join("c.yaml");
    std::fs::write(&cfg, &text).unwrap();
    let s = super::load(&cfg).unwrap_or_else(|e| panic!("{e}"));
    let h2 = &s.targets["H2"];
    assert_eq!((h2.radioligand.as_str(), h2.radioligand_nm, h2.kd_nm), ("[3H]x", 2.0, 5.0));
    // The manifest keeps the text as written.
    assert!(s.config_text.contains("<<: *t"));
}

/// An entry that lists its lane blocks (`rows: [A-B, C-D]`) takes its compounds from
/// `compounds` (every plate the same, named now) or a `plate,compound` list (each plate its
/// own, kept by plate); what cannot work is a problem with its key.
#[test]
fn listed_lanes_take_compounds_in_block_order() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("a.txt"), "").unwrap();
    std::fs::write(dir.path().join("list.csv"), "plate,compound\n2,x1\n2,x2\n3,y1\n").unwrap();
    let with = |entry: &str| {
        let text = GOOD.replace("data/*.txt", "a.txt").replace(
            "  - {plate: 1, target: 5-HT2A, layout: standard96, rows: {A-B: mianserin, C-D: ketanserin}}",
            entry,
        );
        let cfg = dir.path().join("c.yaml");
        std::fs::write(&cfg, &text).unwrap();
        super::load(&cfg)
    };
    let s = with("  - {plate: 1, target: 5-HT2A, layout: standard96, rows: [A-B, C-D, E-F], compounds: [m, '-', k]}")
        .unwrap_or_else(|e| panic!("{e}"));
    let got: Vec<(&str, (u16, u16))> =
        s.plates[0].compounds.iter().map(|b| (b.name.as_str(), b.lanes)).collect();
    assert_eq!(got, [("m", (0, 1)), ("k", (4, 5))]);
    assert!(s.plates[0].names.is_none());

    let s = with("  - {plate: 2-3, target: 5-HT2A, layout: standard96, rows: [A-B, C-D], compound_list: list.csv}")
        .unwrap_or_else(|e| panic!("{e}"));
    let spec = &s.plates[0];
    let names = |n: u32| -> Vec<String> {
        spec.named_blocks(Some(n), "").unwrap().iter().map(|(n, _)| (*n).to_string()).collect()
    };
    assert_eq!(names(2), ["x1", "x2"]);
    assert_eq!(names(3), ["y1"]);
    let e = spec.named_blocks(Some(4), "BC4").unwrap_err();
    assert!(e.contains("names no compounds for plate 4 (barcode `BC4`)"), "{e}");

    for (entry, key, says) in [
        (
            "  - {plate: 1, target: 5-HT2A, layout: standard96, rows: [A-B, C-D]}",
            "plates[0]",
            "name the compounds in block order",
        ),
        (
            "  - {plate: 1, target: 5-HT2A, layout: standard96, rows: [A-B, 'x?'], compounds: [a, b]}",
            "plates[0].rows[1]",
            "cannot read rows `x?`",
        ),
        (
            "  - {plate: 1, target: 5-HT2A, layout: standard96, rows: [A-B], compounds: [a, b]}",
            "plates[0]",
            "names 2 compounds but `rows` lists 1 blocks",
        ),
        (
            "  - {plate: 2, target: 5-HT2A, layout: standard96, rows: [A-C, C-D], compound_list: list.csv}",
            "plates[0].rows",
            "block 1 and block 2 overlap",
        ),
        (
            "  - {plate: 1, target: 5-HT2A, layout: standard96, rows: [A-C, C-D], compounds: [a, b]}",
            "plates[0].rows",
            "`a` and `b` overlap",
        ),
        (
            "  - {plate: 1, target: 5-HT2A, layout: standard96, rows: {A-B: a}, compounds: [a]}",
            "plates[0].compounds",
            "this entry names its compounds by lane",
        ),
    ] {
        let err = with(entry).expect_err(entry);
        assert!(
            err.problems.iter().any(|p| p.key == key && p.message.contains(says)),
            "{entry}: want `{key}`: {says}, got {err}"
        );
    }
}
