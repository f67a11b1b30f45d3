//! `write_report` on a hand-built `RunResults`: hostile names (`<script>`, `../../x`) stay
//! text and never change a file path; the Prism files are well-formed XML with Prism's
//! element structure and numbers that read back exactly; figures are deterministic.

use std::collections::BTreeMap;
use std::path::Path;

use radbind::derive::rows::{
    CurvePoint, CurveRow, FitNumbers, PlateRow, RunResults, TargetRow, WellRow,
};
use radbind::report::manifest::RunContext;
use radbind::report::write_report;

const EVIL_T: &str = "../../x";
const EVIL_C: &str = "<script>alert(1)</script>";

fn four_pl(x: f64, top: f64, bottom: f64, hill: f64, l: f64) -> f64 {
    bottom + (top - bottom) / (1.0 + 10f64.powf((l - x) * hill))
}

fn curve(target: &str, compound: &str, log_ic50: f64) -> CurveRow {
    let mut points = Vec::new();
    for k in 0..8 {
        let c = 0.1 * 10f64.powf(f64::from(k) * 0.5 + 0.5);
        let y = four_pl(c.log10() - 9.0, 100.0, 0.0, -1.0, log_ic50);
        for (r, d) in [(0, 2.5), (1, -2.0)] {
            let excluded = (k == 3 && r == 1).then(|| "manual: bubble".to_string());
            points.push(CurvePoint {
                plate: "P1".into(),
                well: format!("{}{:02}", ['A', 'B'][r], k + 2),
                conc_nm: c,
                y: y + d,
                excluded,
            });
        }
    }
    points.push(CurvePoint {
        plate: "P1".into(),
        well: "A01".into(),
        conc_nm: 0.0,
        y: 99.0,
        excluded: None,
    });
    let ic50 = 10f64.powf(log_ic50 + 9.0);
    CurveRow {
        experiment: "exp".into(),
        experiment_id: String::new(),
        target: target.into(),
        compound: compound.into(),
        plates: vec!["P1".into()],
        radioligand: "[3H]x".into(),
        radioligand_nm: 1.0,
        kd_nm: 1.0,
        model: "four_parameter".into(),
        n_points: points.len(),
        fit: Some(FitNumbers {
            top: 100.0,
            bottom: 0.0,
            hill_slope: -1.0,
            log_ic50,
            log_ic50_se: 0.05,
            plateau_hill_se: [1.0, 1.0, 0.05],
            ic50_nm: ic50,
            ic50_ci_nm: (ic50 / 1.3, ic50 * 1.3),
            ki_nm: ic50 / 2.0,
            ki_ci_nm: (ic50 / 2.6, ic50 / 1.54),
            pki: -(ic50 / 2.0 * 1e-9).log10(),
            pic50: -log_ic50,
            r_squared: 0.99,
            sy_x: 2.0,
            censor: radbind::derive::rows::Censor::Exact,
            two_site: None,
            log_ic50_profile: (f64::NAN, f64::NAN),
            curve: None,
            df: 0,
            signal_plateaus: None,
        }),
        status: radbind::fit::status::CurveStatus::Ok,
        flags: vec![],
        tested_range_nm: (0.316, 1000.0),
        points,
        n_outliers: 0,
        curve_class: "1.1".into(),
        lack_of_fit_p: f64::NAN,
        comparison: None,
        functional: None,
        response_label: "% specific binding",
    }
}

fn results() -> RunResults {
    let curves =
        vec![curve(EVIL_T, EVIL_C, -8.0), curve(EVIL_T, "b", -7.0), curve("T2", EVIL_C, -6.5)];
    let mut wells = Vec::new();
    for r in 0..8u8 {
        for c in 1..=12 {
            let (role, compound, conc) = match c {
                1 => ("total", None, None),
                12 => ("nsb", None, None),
                _ => (
                    "sample",
                    Some(if r < 4 { EVIL_C.to_string() } else { "b".to_string() }),
                    Some(f64::from(c)),
                ),
            };
            wells.push(WellRow {
                plate: "P1".into(),
                well: format!("{}{c:02}", char::from(b'A' + r)),
                role,
                compound,
                conc_nm: conc,
                cpm: Some(100.0 * f64::from(c) + f64::from(r)),
                specific: Some(50.0),
                pct_specific: Some(f64::from(c) * 8.0),
                excluded: (r == 2 && c == 5).then(|| "manual".to_string()),
                source: None,
            });
        }
    }
    RunResults {
        experiment: "exp <b>".into(),
        version: "0.1.0".into(),
        plates: vec![PlateRow {
            plate: "../P1".into(),
            source: "<img src=x>.txt".into(),
            index_in_file: 1,
            target: EVIL_T.into(),
            layout: "std".into(),
            rotated: true,
            n_total: 8,
            total_mean: 3000.0,
            total_sd: 100.0,
            total_cv_pct: 3.3,
            n_nsb: 8,
            nsb_mean: 200.0,
            nsb_sd: 20.0,
            nsb_cv_pct: 10.0,
            z_prime: 0.87,
            signal_to_background: 15.0,
            nsb_pct_of_total: 6.7,
            n_basal: 0,
            basal_mean: f64::NAN,
            basal_cv_pct: f64::NAN,
            fraction_bound_pct: f64::NAN,
            flags: vec![],
            instrument: String::new(),
            normalisation: "controls",
            pipetting_cv_pct: 4.0,
            counting_minutes: 1.0,
            background_sd_cpm: 0.0,
            variance_wells: 0,
        }],
        wells: wells
            .into_iter()
            .map(|mut w| {
                w.plate = "../P1".into();
                w
            })
            .collect(),
        curves,
        saturation: Vec::new(),
        targets: vec![
            TargetRow {
                target: EVIL_T.into(),
                radioligand: "[3H]x".into(),
                radioligand_nm: 1.0,
                kd_nm: 1.0,
                assay: "competition".into(),
                kd_source: "config".into(),
            },
            TargetRow {
                target: "T2".into(),
                radioligand: "[3H]y".into(),
                radioligand_nm: 1.0,
                kd_nm: 1.0,
                assay: "competition".into(),
                kd_source: "config".into(),
            },
        ],
        inputs: vec![],
        config_yaml: "experiment: x\n".into(),
        primary_target: None,
        primary: Default::default(),
        problems: Vec::new(),
        started: "2026-01-01T00:00:00Z".into(),
        finished: "2026-01-01T00:00:01Z".into(),
        history: radbind::derive::reference::RunHistory::default(),
        large: None,
    }
}

fn all_files(dir: &Path, out: &mut Vec<String>) {
    for e in std::fs::read_dir(dir).expect("read_dir") {
        let p = e.expect("entry").path();
        if p.is_dir() {
            all_files(&p, out);
        } else {
            out.push(p.display().to_string());
        }
    }
}

#[test]
fn hostile_names_stay_text_and_never_change_paths() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let run = tmp.path().join("run");
    std::fs::create_dir(&run).expect("mkdir");
    let outcome = write_report(
        &results(),
        &RunContext::default(),
        &run,
        radbind::report::FigureOptions::default(),
        &|_| {},
    )
    .expect("write_report");
    assert!(outcome.figure_failures.is_empty(), "{:?}", outcome.figure_failures);
    let mut files = Vec::new();
    all_files(tmp.path(), &mut files);
    let root = run.display().to_string();
    for f in &files {
        assert!(f.starts_with(&root), "file outside the run directory: {f}");
        let rel = &f[root.len()..];
        assert!(!rel.contains(".."), "{rel}");
        assert!(!rel.contains('<') && !rel.contains('>'), "{rel}");
    }
    assert!(files.iter().any(|f| f.ends_with("prism/x.pzfx")), "{files:?}");
    let html = std::fs::read_to_string(run.join("report.html")).expect("html");
    assert_eq!(html.matches("<script").count(), 1, "only radbind's own script");
    // Every image is one of the report's own lazily loaded figures, none made from a name.
    assert_eq!(
        html.matches("<img").count(),
        html.matches("<img class=\"thumb\" loading=\"lazy\" data-src=\"plots/").count()
            + html.matches("<img class=\"lazy\" loading=\"lazy\" data-src=\"").count()
    );
    assert!(html.contains("&lt;script&gt;alert(1)&lt;/script&gt;"));
    let md = std::fs::read_to_string(run.join("report.md")).expect("md");
    assert!(!md.contains("<script"));
    for f in files.iter().filter(|f| f.ends_with(".svg")) {
        let svg = std::fs::read_to_string(f).expect("svg");
        assert!(!svg.contains("<script"), "{f}");
        assert!(!svg.contains("NaN"), "{f}");
    }
}

#[test]
fn figures_are_deterministic() {
    let a = tempfile::tempdir().expect("tempdir");
    let b = tempfile::tempdir().expect("tempdir");
    write_report(
        &results(),
        &RunContext::default(),
        a.path(),
        radbind::report::FigureOptions::default(),
        &|_| {},
    )
    .expect("a");
    write_report(
        &results(),
        &RunContext::default(),
        b.path(),
        radbind::report::FigureOptions::default(),
        &|_| {},
    )
    .expect("b");
    let mut fa = Vec::new();
    all_files(a.path(), &mut fa);
    fa.sort();
    let mut n = 0;
    for f in
        fa.iter().filter(|f| f.ends_with(".svg") || f.ends_with(".pzfx") || f.ends_with(".html"))
    {
        let rel = &f[a.path().display().to_string().len()..];
        let other = format!("{}{rel}", b.path().display());
        assert_eq!(std::fs::read(f).expect("a"), std::fs::read(&other).expect("b"), "{rel}");
        n += 1;
    }
    assert!(n > 10, "{n} files compared");
}

/// A minimal XML reader: checks nesting and returns (element path, attributes, text) of
/// every element, enough to verify the structure of a `.pzfx` file.
#[derive(Debug)]
struct Elem {
    path: String,
    attrs: BTreeMap<String, String>,
    text: String,
}

fn parse_xml(doc: &str) -> Vec<Elem> {
    let doc = doc.strip_prefix("<?xml version=\"1.0\" encoding=\"UTF-8\"?>").expect("declaration");
    let mut stack: Vec<String> = Vec::new();
    let mut out: Vec<Elem> = Vec::new();
    let mut open: Vec<usize> = Vec::new();
    let mut rest = doc;
    while let Some(i) = rest.find('<') {
        let text = &rest[..i];
        if let Some(&k) = open.last() {
            out[k].text.push_str(text);
        } else {
            assert!(text.trim().is_empty(), "text outside the root: {text:?}");
        }
        let j = rest[i..].find('>').expect("unterminated tag") + i;
        let tag = &rest[i + 1..j];
        rest = &rest[j + 1..];
        if let Some(name) = tag.strip_prefix('/') {
            assert_eq!(stack.pop().as_deref(), Some(name), "mismatched </{name}>");
            open.pop();
            continue;
        }
        let self_closing = tag.ends_with('/');
        let tag = tag.trim_end_matches('/');
        let mut parts = tag.splitn(2, char::is_whitespace);
        let name = parts.next().expect("name").to_string();
        assert!(!name.is_empty() && name.chars().all(|c| c.is_ascii_alphanumeric()), "{name}");
        let mut attrs = BTreeMap::new();
        let mut a = parts.next().unwrap_or("").trim();
        while !a.is_empty() {
            let eq = a.find("=\"").expect("attribute");
            let key = a[..eq].trim().to_string();
            let end = a[eq + 2..].find('"').expect("attribute end") + eq + 2;
            attrs.insert(key, a[eq + 2..end].to_string());
            a = a[end + 1..].trim();
        }
        stack.push(name);
        out.push(Elem { path: stack.join("/"), attrs, text: String::new() });
        open.push(out.len() - 1);
        if self_closing {
            stack.pop();
            open.pop();
        }
    }
    assert!(stack.is_empty(), "unclosed: {stack:?}");
    assert!(rest.trim().is_empty());
    for e in &out {
        let t = e
            .text
            .replace("&lt;", "")
            .replace("&gt;", "")
            .replace("&amp;", "")
            .replace("&quot;", "")
            .replace("&#39;", "");
        assert!(!t.contains('&') && !t.contains('>'), "unescaped text {:?}", e.text);
    }
    out
}

#[test]
fn prism_file_structure_and_round_trip() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let r = results();
    write_report(
        &r,
        &RunContext::default(),
        tmp.path(),
        radbind::report::FigureOptions::default(),
        &|_| {},
    )
    .expect("write_report");
    let doc = std::fs::read_to_string(tmp.path().join("prism/x.pzfx")).expect("pzfx");
    let els = parse_xml(&doc);
    assert_eq!(els[0].path, "GraphPadPrismFile");
    assert_eq!(els[0].attrs.get("PrismXMLVersion").map(String::as_str), Some("5.00"));
    let table = els.iter().find(|e| e.path == "GraphPadPrismFile/Table").expect("Table");
    for (k, v) in [
        ("XFormat", "numbers"),
        ("YFormat", "replicates"),
        ("TableType", "XY"),
        ("Replicates", "2"),
    ] {
        assert_eq!(table.attrs.get(k).map(String::as_str), Some(v), "{k}");
    }
    let ycols: Vec<_> =
        els.iter().filter(|e| e.path == "GraphPadPrismFile/Table/YColumn").collect();
    assert_eq!(ycols.len(), 2, "one Y data set per compound");
    let xs: Vec<f64> = els
        .iter()
        .filter(|e| e.path == "GraphPadPrismFile/Table/XColumn/Subcolumn/d")
        .map(|e| e.text.parse().expect("x number"))
        .collect();
    assert_eq!(xs.len(), 8);
    let expect_x: Vec<f64> = r.curves[0]
        .points
        .iter()
        .filter(|p| p.conc_nm > 0.0)
        .map(|p| p.conc_nm.log10() - 9.0)
        .collect();
    for x in &xs {
        assert!(expect_x.contains(x), "x {x} round-trips");
    }
    let ys: Vec<(&Elem, f64)> = els
        .iter()
        .filter(|e| e.path == "GraphPadPrismFile/Table/YColumn/Subcolumn/d" && !e.text.is_empty())
        .map(|e| (e, e.text.parse().expect("y number")))
        .collect();
    // Both compounds: 16 points each (zero dose left out).
    assert_eq!(ys.len(), 32);
    let all_y: Vec<f64> = r.curves[..2]
        .iter()
        .flat_map(|c| c.points.iter().filter(|p| p.conc_nm > 0.0).map(|p| p.y))
        .collect();
    for (_, y) in &ys {
        assert!(all_y.contains(y), "y {y} round-trips");
    }
    let excluded: Vec<_> = ys.iter().filter(|(e, _)| e.attrs.contains_key("Excluded")).collect();
    assert_eq!(excluded.len(), 2, "the excluded point of each compound");
    let titles: Vec<&str> = els
        .iter()
        .filter(|e| e.path == "GraphPadPrismFile/Table/YColumn/Title")
        .map(|e| e.text.as_str())
        .collect();
    assert!(titles.contains(&"&lt;script&gt;alert(1)&lt;/script&gt;"), "{titles:?}");
}

/// A figure that cannot be written (here: its SVG path is taken by a directory, as a full disk
/// would refuse it) is a problem of the run: run.json lists it, both reports say so, the
/// summary says figures are missing and the exit code is 1.
#[test]
fn figure_write_failures_reach_run_json_reports_and_summary() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let run = tmp.path().join("run");
    let r = results();
    for (i, c) in r.curves.iter().enumerate() {
        let stem = radbind::report::plots::plot_file_stem(&c.target, &c.compound, i + 1);
        std::fs::create_dir_all(run.join("plots").join(format!("{stem}.svg"))).expect("mkdir");
    }
    let outcome = write_report(
        &r,
        &RunContext::default(),
        &run,
        radbind::report::FigureOptions::default(),
        &|_| {},
    )
    .expect("write_report");
    assert_eq!(outcome.figure_failures.len(), r.curves.len(), "{:?}", outcome.figure_failures);

    let manifest: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(run.join("run.json")).expect("run.json"))
            .expect("json");
    let problems: Vec<&str> = manifest["problems"]
        .as_array()
        .expect("problems")
        .iter()
        .filter_map(|p| p.as_str())
        .collect();
    let figure_problems: Vec<&&str> =
        problems.iter().filter(|p| p.starts_with("figure for ")).collect();
    assert_eq!(figure_problems.len(), r.curves.len(), "{problems:?}");
    assert!(figure_problems.iter().all(|p| p.contains("writing plots/")), "{problems:?}");

    let md = std::fs::read_to_string(run.join("report.md")).expect("md");
    assert!(md.contains("## Problems"), "report.md has no problems section");
    assert_eq!(md.matches("- figure for ").count(), r.curves.len());
    let html = std::fs::read_to_string(run.join("report.html")).expect("html");
    assert!(html.contains("<h2>Figures that failed</h2>"));

    let summary = radbind::RunSummary::new(run.clone(), tmp.path().into(), &r, &outcome, vec![]);
    assert_eq!(summary.exit_code(), radbind::exit::PROBLEMS);
    assert_eq!(summary.figures_missing, r.curves.len());
    let text = radbind::commands::validate::summary_text(&summary);
    assert!(
        text.contains(&format!(
            "completed with problems: {} figure(s) could not be written",
            r.curves.len()
        )),
        "{text}"
    );
}
