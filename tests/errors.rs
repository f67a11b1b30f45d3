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

/// A file of the sample panel (`sample_data/mianserin-panel/`).
fn sample(name: &str) -> String {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("sample_data/mianserin-panel");
    std::fs::read_to_string(dir.join(name)).unwrap()
}

/// `configs/example.yaml` reading `data/panel-run*.txt` and writing to `out`.
fn example_config() -> String {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("configs/example.yaml");
    std::fs::read_to_string(path)
        .unwrap()
        .replace("../sample_data/mianserin-panel/", "data/")
        .replace("../outputs/example", "out")
}

/// The first `n` lines of `text`.
fn head(text: &str, n: usize) -> String {
    text.lines().take(n).map(|l| format!("{l}\n")).collect()
}

/// panel-run1.txt with its plate 2 block copied after it and no COLUMNS list (so nothing in
/// the file says how many plates it holds).
fn run1_with_copied_block() -> String {
    let text = sample("panel-run1.txt");
    let list = text.find("COLUMNS:").unwrap();
    let plates = text.find("PLATES:").unwrap();
    let text = format!("{}{}", &text[..list], &text[plates..]);
    let start = text.find("Plate 2\n").unwrap();
    let end = text.find("End of plate 2\n").unwrap() + "End of plate 2\n".len();
    format!("{}{}{}", &text[..end], &text[start..end], &text[end..])
}

/// panel-run1.txt with well A05 of plate 2 written `NaN` (in the COLUMNS list and the matrix).
fn run1_with_nan_well() -> String {
    let text = sample("panel-run1.txt");
    let list = " \tUnk_101\tA05\t507\t";
    let row = "A\t4047\t440\t461\t444\t507\t";
    assert!(text.contains(list) && text.contains(row));
    text.replacen(list, " \tUnk_101\tA05\tNaN\t", 1).replacen(
        row,
        "A\t4047\t440\t461\t444\tNaN\t",
        1,
    )
}

/// The base plate's lines as plate `P2`, every count 10 higher (no header).
fn second_plate() -> String {
    base_plate()
        .lines()
        .skip(1)
        .map(|l| {
            let (well, cpm) = l.strip_prefix("P1,").unwrap().rsplit_once(',').unwrap();
            format!("P2,{well},{}\n", cpm.parse::<f64>().unwrap() + 10.0)
        })
        .collect()
}

/// `text` as UTF-16 little endian with a byte-order mark.
fn utf16le(text: &str) -> Vec<u8> {
    let mut out = vec![0xFF, 0xFE];
    for u in text.encode_utf16() {
        out.extend_from_slice(&u.to_le_bytes());
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
            .file("huge.yaml", format!("experiment: x\n# {}\n", "x".repeat(65 << 20)))
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
        // A map without any controls is a curve-only plate; total without NSB is a slip.
        Case::new("plate_map_total_without_nsb", 2).config(MAP_ENTRY).file(
            "map.csv",
            base_map("").lines().filter(|l| !l.contains("nsb")).collect::<Vec<_>>().join("\n"),
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
        // --- plate identity: a failed input fails exactly its plates; nothing moves
        // The issue's repro: panel-run1.txt cut inside its plate 2. Its COLUMNS list says it
        // holds 3 plates, so run2's plates stay plates 4-6 and plates 2-3 fail.
        Case::new("truncated_file_fails_only_its_plates", 2)
            .file("cfg.yaml", example_config())
            .file("data/panel-run1.txt", head(&sample("panel-run1.txt"), 330))
            .file("data/panel-run2.txt", sample("panel-run2.txt"))
            .args(&["validate", "cfg.yaml"]),
        // A file of unknown plate count before the plate: its number cannot be placed.
        Case::new("plate_after_unreadable_file_is_not_guessed", 2)
            .config(&[("inputs: [plate.csv]", "inputs: [broken.csv, plate.csv]")])
            .file("broken.csv", "plate,well,cpm\nP9,A01\n"),
        // ... and pinned to its file, it is read.
        Case::new("plate_pinned_to_its_file", 1)
            .config(&[
                ("inputs: [plate.csv]", "inputs: [broken.csv, plate.csv]"),
                ("plate: 1,", "file: plate.csv, plate: 1,"),
            ])
            .file("broken.csv", "plate,well,cpm\nP9,A01\n"),
        // A plate block copied twice: the plates from the copy on are not used.
        Case::new("copied_plate_block", 2)
            .file("cfg.yaml", example_config())
            .file("data/panel-run1.txt", run1_with_copied_block())
            .file("data/panel-run2.txt", sample("panel-run2.txt"))
            .args(&["validate", "cfg.yaml"]),
        Case::new("unused_plates_are_reported", 0).file("plate.csv", base_plate() + &second_plate()),
        // The same plate twice in one file (under another id) is a copied block.
        Case::new("copied_plate_in_long_table", 1).file(
            "plate.csv",
            base_plate() + &second_plate() + &base_plate().replace("P1,", "P3,").replacen("plate,well,cpm\n", "", 1),
        ),
        // --- per-well problems are per-well
        Case::new("bad_well_in_multi_plate_file", 1)
            .file("cfg.yaml", example_config())
            .file("data/panel-run1.txt", run1_with_nan_well())
            .file("data/panel-run2.txt", sample("panel-run2.txt")),
        Case::new("negative_counts_kept", 0)
            .config(&[("inputs: [plate.csv]", "inputs: [plate.csv]\nnegative_counts: keep")])
            .file("plate.csv", plate_with("B07", "-5")),
        Case::new("negative_counts_unknown_value", 2)
            .config(&[("inputs: [plate.csv]", "inputs: [plate.csv]\nnegative_counts: zero")]),
        // --- encodings, line ends and special files
        Case::new("input_utf16", 0).file("plate.csv", utf16le(&base_plate())),
        Case::new("input_utf16_broken", 2)
            .file("plate.csv", [utf16le(&base_plate()), vec![0x00, 0xD8, 0x41, 0x00]].concat()),
        Case::new("input_cr_line_ends", 0).file("plate.csv", base_plate().replace('\n', "\r")),
        Case::new("input_is_a_device", 2).config(&[("inputs: [plate.csv]", "inputs: [/dev/zero]")]),
        Case::new("config_is_a_device", 2).args(&["run", "/dev/zero"]),
        Case::new("config_with_byte_order_mark", 0)
            .file("bom.yaml", format!("\u{feff}{BASE_CONFIG}"))
            .args(&["run", "bom.yaml", "--quiet"]),
        // --- globs expand in natural order: run2 before run10
        Case::new("glob_natural_order", 0)
            .config(&[("inputs: [plate.csv]", "inputs: [\"run*.csv\"]")])
            .file("run1.csv", base_plate())
            .file("run10.csv", base_plate().replace("P1,", "P10,"))
            .file("run2.csv", format!("plate,well,cpm\n{}", second_plate())),
        // --- duplicate keys are errors naming both lines; merge keys work
        Case::new("duplicate_target", 2).config(&[(
            "  T1: {",
            "  T1: {radioligand: \"[3H]other\", radioligand_nM: 2.0, kd_nM: 2.0}\n  T1: {",
        )]),
        Case::new("duplicate_rows_key", 2)
            .config(&[("rows: {A-D: cmpd-a, E-H: cmpd-b}", "rows: {A-D: cmpd-a}, rows: {E-H: cmpd-b}")]),
        Case::new("duplicate_lanes", 2).config(&[("E-H: cmpd-b", "A-D: cmpd-b")]),
        Case::new("duplicate_layout", 2).config(&[(
            "layouts:\n",
            "layouts:\n  std: {series: {columns: 2-11, top: \"1 µM\", dilution: 10}}\n",
        )]),
        Case::new("merge_keys", 0).config(&[
            (
                "layouts:\n",
                "layouts:\n  base: &base {wells: 96, total: column 1, nsb: column 11, series: {columns: 2-10, top: \"1 µM\", dilution: 10}}\n",
            ),
            ("    wells: 96\n    total: column 1\n", "    <<: *base\n"),
        ]),
        Case::new("merge_keys_unknown_field", 2).config(&[
            ("layouts:\n", "layouts:\n  base: &base {wells: 96, totl: column 1}\n"),
            ("    wells: 96\n", "    <<: *base\n"),
        ]),
        // --- control and text-direction characters in config text are refused
        Case::new("control_character_in_name", 2).config(&[("A-D: cmpd-a", "A-D: \"cmpd\\e[31ma\"")]),
        Case::new("bidi_character_in_key", 2).config(&[("  T1:", "  \"T1\\u202E\":")]),
        Case::new("config_utf16", 2)
            .file("cfg16.yaml", utf16le(BASE_CONFIG))
            .args(&["validate", "cfg16.yaml"]),
        // --- implausible values are refused with the range
        Case::new("kd_implausible", 2).config(&[("kd_nM: 1.0", "kd_nM: 1e-320")]),
        Case::new("radioligand_implausible", 2).config(&[("radioligand_nM: 1.0", "radioligand_nM: 1e308")]),
        Case::new("dilution_implausible", 2).config(&[("dilution: 3.162", "dilution: 1e200")]),
        Case::new("top_implausible", 2).config(&[("top: \"10 µM\"", "top: \"1e-300 M\"")]),
        Case::new("series_falls_too_low", 2)
            .config(&[("top: \"10 µM\", dilution: 3.162", "top: \"1 pM\", dilution: 10")]),
        Case::new("specific_activity_implausible", 2).config(&[(
            "kd_nM: 1.0}",
            "kd_nM: 1.0, counting_efficiency: 0.4, specific_activity_Ci_per_mmol: 1e9}",
        )]),
        // --- an explicit list out of order is refused, not re-sorted
        Case::new("concentration_list_out_of_order", 2).config(&[(
            "top: \"10 µM\", dilution: 3.162",
            "concentrations_nM: [10000, 3162, 316, 1000, 100, 31.6, 10, 3.16, 1, 0.316]",
        )]),
        // --- the output directory
        Case::new("latest_is_a_file", 2).file("out/latest", "my notes\n"),
        Case::new("latest_is_a_folder", 2).file("out/latest/notes.txt", "my notes\n"),
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
    assert!(html.contains("<h2>Problems</h2>") && html.contains("broken.csv:2"));
}

/// Figures that cannot be written (here every file is capped at 200 KiB with `ulimit -f`, so
/// the curve PNGs at `png_scale: 8` fail with EFBIG as they would with ENOSPC, while the tables and reports
/// fit) are problems of the run: run.json lists them, both reports say so, the summary line
/// says figures are missing and the exit code is 1.
#[cfg(target_os = "linux")]
#[test]
fn figures_that_fail_to_write_are_problems_of_the_run() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    let cfg = format!("{BASE_CONFIG}report: {{png_scale: 8}}\n");
    std::fs::write(dir.join("cfg.yaml"), cfg).unwrap();
    std::fs::write(dir.join("plate.csv"), base_plate()).unwrap();
    let bin = assert_cmd::cargo::cargo_bin("radbind");
    // SIGXFSZ ignored, so a write past the limit fails with EFBIG instead of killing radbind.
    let script = format!("trap '' XFSZ; ulimit -f 200; exec '{}' run cfg.yaml", bin.display());
    let Ok(out) =
        std::process::Command::new("bash").current_dir(dir).args(["-c", &script]).output()
    else {
        eprintln!("skipped: no bash");
        return;
    };
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(1), "{stdout}\n{}", String::from_utf8_lossy(&out.stderr));
    let missing = stdout
        .lines()
        .find_map(|l| l.strip_prefix("completed with problems: "))
        .unwrap_or_else(|| panic!("no summary of missing figures:\n{stdout}"));
    assert!(missing.ends_with("figure(s) could not be written"), "{missing}");
    let run = dir.join("out/latest");
    let manifest: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(run.join("run.json")).unwrap()).unwrap();
    let problems: Vec<&str> =
        manifest["problems"].as_array().unwrap().iter().filter_map(|p| p.as_str()).collect();
    for curve in ["figure for T1 / cmpd-a failed", "figure for T1 / cmpd-b failed"] {
        assert!(problems.iter().any(|p| p.starts_with(curve)), "{curve} not in {problems:?}");
    }
    assert!(problems.iter().all(|p| p.contains("os error 27")), "{problems:?}");
    // No truncated file is left to be taken for a figure.
    for f in ["plots/001_T1_cmpd-a.png", "plots/001_T1_cmpd-a.svg"] {
        assert!(!run.join(f).exists(), "{f} left behind");
    }
    let md = std::fs::read_to_string(run.join("report.md")).unwrap();
    assert!(md.contains("## Problems") && md.contains("- figure for T1 / cmpd-a failed"), "{md}");
    let html = std::fs::read_to_string(run.join("report.html")).unwrap();
    assert!(html.contains("<h2>Figures that failed</h2>") && html.contains("T1 / cmpd-a"));
}

/// Runs radbind in `dir` with `args`; returns (exit code, stdout, stderr).
fn radbind(dir: &Path, args: &[&str]) -> (Option<i32>, String, String) {
    let out = Command::cargo_bin("radbind").unwrap().current_dir(dir).args(args).output().unwrap();
    let text = |b: &[u8]| String::from_utf8_lossy(b).to_string();
    (out.status.code(), text(&out.stdout), text(&out.stderr))
}

/// The issue's repro: panel-run1.txt truncated after line 330 (inside its plate 2). Every
/// plate that survives keeps its target; plates 2 and 3 fail with the file's error; nothing
/// of panel-run2.txt moves up into their numbers.
#[test]
fn truncated_file_fails_exactly_its_plates() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    std::fs::create_dir(dir.join("data")).unwrap();
    std::fs::write(dir.join("cfg.yaml"), example_config()).unwrap();
    std::fs::write(dir.join("data/panel-run1.txt"), head(&sample("panel-run1.txt"), 330)).unwrap();
    std::fs::write(dir.join("data/panel-run2.txt"), sample("panel-run2.txt")).unwrap();
    let (code, _, stderr) = radbind(dir, &["run", "cfg.yaml", "--quiet"]);
    assert_eq!(code, Some(1), "{stderr}");
    let cut = "data/panel-run1.txt:330: file ends after line 330; expected row C of the CCPM1 \
               matrix (12 values); the export looks truncated; export it again from the \
               workstation";
    let expected = [
        format!("{cut} (plate 1 of its 3 is read)"),
        format!(
            "cfg.yaml:32: plates entry 2: plate 2 is plate 2 of data/panel-run1.txt, which could not be read: {cut}"
        ),
        format!(
            "cfg.yaml:36: plates entry 3: plate 3 is plate 3 of data/panel-run1.txt, which could not be read: {cut}"
        ),
    ];
    let shown: Vec<&str> = stderr.lines().collect();
    let wanted: Vec<String> = expected.iter().map(|p| format!("problem: {p}")).collect();
    assert_eq!(shown, wanted);

    // Every fitted curve is on the plate its config entry names, with that entry's target.
    let fits = std::fs::read_to_string(dir.join("out/latest/fits.csv")).unwrap();
    let mut header = fits.lines().next().unwrap().split(',');
    let col = |name: &str| fits.lines().next().unwrap().split(',').position(|c| c == name).unwrap();
    assert!(header.any(|c| c == "plates"));
    let (t, p) = (col("target"), col("plates"));
    let mut pairs: Vec<(String, String)> = fits
        .lines()
        .skip(1)
        .map(|l| {
            let c: Vec<&str> = l.split(',').collect();
            (c[p].to_string(), c[t].to_string())
        })
        .collect();
    pairs.dedup();
    let want = [("P4", "alpha2A"), ("P5", "5-HT1A"), ("P6", "SERT"), ("P1", "H1")];
    let mut want: Vec<(String, String)> =
        want.iter().map(|(a, b)| ((*a).to_string(), (*b).to_string())).collect();
    want.sort();
    pairs.sort();
    pairs.dedup();
    assert_eq!(pairs, want);

    // run.json keeps the mapping: entries 1 and 2 failed, the others on their file and position.
    let manifest: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(dir.join("out/latest/run.json")).unwrap())
            .unwrap();
    let mapping = manifest["config"]["resolved_plates"].as_array().unwrap();
    let row = |e: usize| mapping.iter().find(|m| m["entry"] == e).unwrap();
    for (entry, file, k) in [
        (0, "panel-run1.txt", 1),
        (3, "panel-run2.txt", 1),
        (4, "panel-run2.txt", 2),
        (5, "panel-run2.txt", 3),
    ] {
        let m = row(entry);
        assert!(m["file"].as_str().unwrap().ends_with(file), "{m}");
        assert_eq!((m["index_in_file"].as_u64(), m["failed"].is_null()), (Some(k), true), "{m}");
    }
    for entry in [1, 2] {
        let failed = row(entry)["failed"].as_str().unwrap().to_string();
        assert!(failed.contains("data/panel-run1.txt, which could not be read"), "{failed}");
    }
}

/// A NaN in one well of a 3-plate MicroBeta file leaves that well out (wells.csv says why)
/// and every plate of the file is analysed.
#[test]
fn bad_well_is_excluded_with_its_reason() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    std::fs::create_dir(dir.join("data")).unwrap();
    std::fs::write(dir.join("cfg.yaml"), example_config()).unwrap();
    std::fs::write(dir.join("data/panel-run1.txt"), run1_with_nan_well()).unwrap();
    std::fs::write(dir.join("data/panel-run2.txt"), sample("panel-run2.txt")).unwrap();
    let (code, stdout, _) = radbind(dir, &["run", "cfg.yaml"]);
    assert_eq!(code, Some(1));
    assert!(stdout.starts_with("radbind: 6 plate(s), 24 curve(s)"), "{stdout}");
    let wells = std::fs::read_to_string(dir.join("out/latest/wells.csv")).unwrap();
    let line = wells.lines().find(|l| l.starts_with("P2,A05,")).unwrap();
    assert!(
        line.ends_with(
            ",\"bad count: CCPM1: `NaN` is not a number; expected a count >= 0, `-` or an empty \
             cell\","
        ),
        "{line}"
    );
}

/// `--threads` far beyond the machine is lowered, with a note, never a panic.
#[test]
fn threads_are_capped() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    std::fs::write(dir.join("cfg.yaml"), BASE_CONFIG).unwrap();
    std::fs::write(dir.join("plate.csv"), base_plate()).unwrap();
    let (code, _, stderr) = radbind(dir, &["run", "cfg.yaml", "--quiet", "--threads", "100000"]);
    assert_eq!(code, Some(0), "{stderr}");
    let cores = std::thread::available_parallelism().unwrap().get();
    assert_eq!(
        stderr,
        format!(
            "note: --threads 100000 is more than 4 per core; using {} ({cores} core(s))\n",
            4 * cores
        )
    );
}

/// Named pipes, symlink loops and a pipe fed more than the cap: the right message, nothing
/// blocks.
#[cfg(unix)]
#[test]
fn special_files_get_the_right_message() {
    use std::io::Write;
    use std::process::Stdio;
    use std::time::{Duration, Instant};

    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    let mkfifo = |name: &str| {
        let ok = std::process::Command::new("mkfifo").arg(dir.join(name)).status().unwrap();
        assert!(ok.success());
    };
    mkfifo("plate.csv");
    std::fs::write(dir.join("cfg.yaml"), BASE_CONFIG).unwrap();
    let (code, _, stderr) = radbind(dir, &["run", "cfg.yaml"]);
    assert_eq!(code, Some(2));
    assert_eq!(
        stderr,
        "error: cfg.yaml has 1 problem:\n  cfg.yaml:3: `inputs[0]`: input plate.csv is a named \
         pipe (FIFO), not a file; list plate-reader export files\n"
    );
    std::fs::remove_file(dir.join("plate.csv")).unwrap();
    std::os::unix::fs::symlink(dir.join("loop.csv"), dir.join("plate.csv")).unwrap();
    std::os::unix::fs::symlink(dir.join("plate.csv"), dir.join("loop.csv")).unwrap();
    let (code, _, stderr) = radbind(dir, &["run", "cfg.yaml"]);
    assert_eq!(code, Some(2));
    assert!(
        stderr.contains(
            "plate.csv is a symbolic link that loops (too many levels of symbolic links)"
        ),
        "{stderr}"
    );

    // A config that is a named pipe nobody writes to: an error at once, not a hang.
    mkfifo("fifo.yaml");
    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_radbind"))
        .current_dir(dir)
        .args(["run", "fifo.yaml"])
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let start = Instant::now();
    while child.try_wait().unwrap().is_none() {
        if start.elapsed() > Duration::from_secs(20) {
            let _ = child.kill();
            panic!("radbind blocked on a named pipe");
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    let out = child.wait_with_output().unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert_eq!(
        String::from_utf8_lossy(&out.stderr),
        "error: fifo.yaml has 1 problem:\n  fifo.yaml: nothing to read: the config is a pipe or \
         device that gave no text\n"
    );

    // `radbind run /dev/stdin` fed 65 MiB stops reading at the 64 MiB cap.
    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_radbind"))
        .current_dir(dir)
        .args(["run", "/dev/stdin"])
        .stdin(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdin = child.stdin.take().unwrap();
    let writer = std::thread::spawn(move || {
        let chunk = vec![b'#'; 1 << 20];
        for _ in 0..65 {
            if stdin.write_all(&chunk).is_err() {
                break;
            }
        }
    });
    let out = child.wait_with_output().unwrap();
    writer.join().unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert_eq!(
        String::from_utf8_lossy(&out.stderr),
        "error: /dev/stdin has 1 problem:\n  /dev/stdin: config is more than 64 MiB; radbind \
         reads configs up to 64 MiB\n"
    );
}
