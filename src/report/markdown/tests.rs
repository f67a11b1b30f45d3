//! Tests of the Markdown report, and the hand-built run the HTML report's tests share.

use super::*;
use crate::report::{CurvePoint, FitNumbers, InputFile, WellRow};

/// The whole Markdown report of a fixed, hand-built run (2 targets, a censored and a
/// failed curve, a plate failing Z'), reviewed like code in `src/report/markdown/snapshots/`.
#[test]
fn report_md_snapshot() {
    let r = sample_results();
    let pngs: Vec<Option<String>> =
        (1..=r.curves.len()).map(|i| Some(format!("plots/{i:03}.png"))).collect();
    insta::assert_snapshot!(render_markdown(&r, &pngs));
}

fn fit(ic50_nm: f64, factor: f64, hill: f64, censor: &'static str) -> FitNumbers {
    let ki = ic50_nm / factor;
    FitNumbers {
        top: 100.0,
        bottom: 0.0,
        hill_slope: hill,
        log_ic50: (ic50_nm * 1e-9).log10(),
        log_ic50_se: 0.05,
        plateau_hill_se: [1.0, 1.0, 0.05],
        ic50_nm,
        ic50_ci_nm: (ic50_nm * 0.8, ic50_nm * 1.25),
        ki_nm: ki,
        ki_ci_nm: (ki * 0.8, ki * 1.25),
        pki: -(ki * 1e-9).log10(),
        pic50: -(ic50_nm * 1e-9).log10(),
        r_squared: 0.99,
        sy_x: 3.0,
        censor,
        two_site: None,
        log_ic50_profile: (f64::NAN, f64::NAN),
        curve: None,
        df: 0,
    }
}

fn points(ic50_nm: f64) -> Vec<CurvePoint> {
    let mut v = Vec::new();
    for k in 0..8 {
        let c = 0.1 * 10f64.powi(k) / 10f64.powf(0.0);
        let y = 100.0 / (1.0 + c / ic50_nm);
        for (i, d) in [-2.0, 2.0].into_iter().enumerate() {
            v.push(CurvePoint {
                plate: if i == 0 { "P1" } else { "P2" }.into(),
                well: format!("B{:02}", k + 2),
                conc_nm: c,
                y: y + d,
                excluded: None,
            });
        }
    }
    v
}

fn curve(target: &str, compound: &str, l: f64, kd: f64) -> CurveRow {
    CurveRow {
        experiment: "Mianserin panel".into(),
        target: target.into(),
        compound: compound.into(),
        plates: vec!["P1".into(), "P2".into()],
        radioligand: String::new(),
        radioligand_nm: l,
        kd_nm: kd,
        model: "four_parameter".into(),
        n_points: 16,
        fit: None,
        status: "ok".into(),
        flags: vec![],
        tested_range_nm: (0.1, 1_000_000.0 / 100.0),
        points: points(2.6),
        n_outliers: 0,
        curve_class: String::new(),
        lack_of_fit_p: f64::NAN,
        comparison: None,
        functional: None,
        response_label: "% specific binding",
    }
}

/// Two targets, three curves (one measured, one censored, one failed), two plates.
pub(crate) fn sample_results() -> RunResults {
    let mut a = curve("5-HT2A", "mianserin", 1.0, 0.5);
    a.radioligand = "[3H]ketanserin".into();
    a.fit = Some(fit(7.8, 3.0, -0.98, ""));
    let mut b = curve("5-HT1A", "mianserin", 1.0, 1.0);
    b.radioligand = "[3H]8-OH-DPAT".into();
    b.fit = Some(fit(60_000.0, 2.0, -1.1, ">"));
    b.status = "flagged".into();
    b.flags = vec!["ic50_above_range".into(), "no_50pct_span".into()];
    b.points = points(60_000.0);
    let mut c = curve("5-HT1A", "cpd|7 <b>", 1.0, 1.0);
    c.radioligand = "[3H]8-OH-DPAT".into();
    c.status = "failed: fewer than 3 concentrations".into();
    c.flags = vec!["few_concentrations".into(), "new_flag_x".into()];
    c.n_points = 2;
    c.points.truncate(2);
    c.points[1].excluded = Some("ROUT outlier".into());
    let plate = |id: &str, target: &str, z: f64, flags: Vec<String>| PlateRow {
        plate: id.into(),
        source: "data/run1.csv".into(),
        index_in_file: 1,
        target: target.into(),
        layout: "col1_total_col12_nsb".into(),
        rotated: false,
        n_total: 8,
        total_mean: 5000.0,
        total_sd: 150.0,
        total_cv_pct: 3.0,
        n_nsb: 8,
        nsb_mean: 500.0,
        nsb_sd: 40.0,
        nsb_cv_pct: 8.0,
        z_prime: z,
        signal_to_background: 10.0,
        nsb_pct_of_total: 10.0,
        n_basal: 0,
        basal_mean: f64::NAN,
        basal_cv_pct: f64::NAN,
        fraction_bound_pct: f64::NAN,
        flags,
        instrument: "MicroBeta2".into(),
    };
    RunResults {
        experiment: "Mianserin panel".into(),
        version: "0.1.0".into(),
        plates: vec![
            plate("P1", "5-HT2A", 0.87, vec![]),
            plate("P2", "5-HT1A", 0.42, vec!["z_prime_below_0.5".into()]),
        ],
        wells: vec![
            WellRow {
                plate: "P2".into(),
                well: "C03".into(),
                role: "sample",
                compound: Some("cpd|7 <b>".into()),
                conc_nm: Some(1.0),
                cpm: Some(4123.0),
                specific: Some(3623.0),
                pct_specific: Some(80.5),
                excluded: Some("ROUT outlier".into()),
            },
            WellRow {
                plate: "P1".into(),
                well: "A01".into(),
                role: "total",
                compound: None,
                conc_nm: None,
                cpm: Some(5100.0),
                specific: Some(4600.0),
                pct_specific: Some(102.0),
                excluded: None,
            },
        ],
        curves: vec![a, b, c],
        saturation: Vec::new(),
        targets: vec![
            TargetRow {
                target: "5-HT2A".into(),
                radioligand: "[3H]ketanserin".into(),
                radioligand_nm: 1.0,
                kd_nm: 0.5,
                assay: "competition".into(),
                kd_source: "config".into(),
            },
            TargetRow {
                target: "5-HT1A".into(),
                radioligand: "[3H]8-OH-DPAT".into(),
                radioligand_nm: 1.0,
                kd_nm: 1.0,
                assay: "competition".into(),
                kd_source: "config".into(),
            },
        ],
        inputs: vec![InputFile {
            path: "data/run1.csv".into(),
            sha256: "ab".repeat(32),
            bytes: 12_345,
        }],
        config_yaml: "experiment: Mianserin panel\nfit:\n  model: four_parameter\n".into(),
        primary_target: None,
        problems: Vec::new(),
        started: "2025-01-01T10:00:00Z".into(),
        finished: "2025-01-01T10:00:05Z".into(),
    }
}

fn pngs() -> Vec<Option<String>> {
    vec![
        Some("plots/000_5-HT2A_mianserin.png".into()),
        Some("plots/001_5-HT1A_mianserin.png".into()),
        None,
    ]
}

#[test]
fn display_of_measured_censored_and_failed() {
    let r = sample_results();
    let [a, b, c] = [&r.curves[0], &r.curves[1], &r.curves[2]];
    assert_eq!(a.ic50_text(), "7.8 nM");
    assert_eq!(a.ki_with_ci_text(), "2.6 nM (2.08\u{2013}3.25 nM)");
    assert_eq!(a.pki_text(), "8.59");
    assert_eq!(b.ic50_text(), "> 10 µM");
    assert_eq!(b.ki_with_ci_text(), "> 5 µM");
    assert_eq!(b.pki_text(), "< 5.30");
    assert_eq!(c.ic50_text(), NOT_DETERMINED);
    assert_eq!(c.pki_text(), NOT_DETERMINED);
    assert!(c.is_failed() && !c.is_flagged() && b.is_flagged());
}

#[test]
fn summary_and_table_lines() {
    let md = render_markdown(&sample_results(), &pngs());
    assert!(md.starts_with("# Mianserin panel\n"));
    assert!(
        md.contains(
            "| Curves | 3 |\n| Curves flagged | 1 |\n| Curves failed (no usable fit) | 1 |"
        )
    );
    assert!(md.contains(
        "| Target | Radioligand | [L] (nM) | Kd (nM) | Compound | IC50 | Ki (95% CI) | pKi | Hill slope | n | Model | Class | Flags |\n\
         | --- | --- | ---: | ---: | --- | ---: | ---: | ---: | ---: | ---: | --- | --- | --- |\n"
    ));
    assert!(md.contains(
        "| 5-HT2A | [3H]ketanserin | 1 | 0.5 | mianserin | 7.8 nM | 2.6 nM (2.08–3.25 nM) | 8.59 | -0.98 | 16 | four_parameter |  |  |\n"
    ));
    assert!(md.contains(
        "| 5-HT1A | [3H]8-OH-DPAT | 1 | 1 | mianserin | > 10 µM | > 5 µM | < 5.30 | -1.10 | 16 | four_parameter |  | ic50_above_range; no_50pct_span |\n"
    ));
    assert!(md.contains("| P2 | 5-HT1A | data/run1.csv #1 | **0.42** |"));
    assert!(md.contains("![5-HT2A — mianserin](plots/000_5-HT2A_mianserin.png)"));
}

#[test]
fn pipes_and_newlines_do_not_break_tables() {
    let mut r = sample_results();
    r.curves[0].compound = "a|b\nc`d".into();
    let md = render_markdown(&r, &[]);
    assert!(md.contains("| a\\|b c\\`d |"));
    r.curves[1].compound = "<script>alert(1)</script>".into();
    let md = render_markdown(&r, &[]);
    assert!(md.contains("| &lt;script>alert(1)&lt;/script> |"));
    for line in md.lines().filter(|l| l.starts_with("| 5-HT1A")) {
        // 13 columns -> 14 unescaped pipes.
        let pipes = line.matches('|').count() - line.matches("\\|").count();
        assert_eq!(pipes, 14, "{line}");
    }
}

#[test]
fn flags_explained_and_unknown_listed() {
    let md = render_markdown(&sample_results(), &pngs());
    assert!(md.contains("- `ic50_above_range`: The fitted IC50 lies above"));
    assert!(md.contains("- `z_prime_below_0.5`: Z' of the plate"));
    assert!(md.contains("- `new_flag_x`: (no description available)"));
    for f in [
        "ic50_above_range",
        "ic50_below_range",
        "no_50pct_span",
        "hill_outside_0.5_2",
        "se_log_ic50_gt_0.5",
        "few_concentrations",
        "few_replicates",
        "top_off_control",
        "bottom_off_control",
        "not_converged",
        "ambiguous",
        "plate_z_prime_below_0.5",
    ] {
        assert!(flag_explanation(f).is_some(), "{f}");
    }
}

#[test]
fn excluded_wells_and_provenance() {
    let md = render_markdown(&sample_results(), &pngs());
    assert!(md.contains("| P2 | C03 | sample | cpd\\|7 &lt;b> | 1 nM | 4123 | ROUT outlier |"));
    assert!(md.contains(&format!("| data/run1.csv | 12345 | `{}` |", "ab".repeat(32))));
    assert!(md.contains("```yaml\nexperiment: Mianserin panel\n"));
}

#[test]
fn deterministic() {
    let r = sample_results();
    assert_eq!(render_markdown(&r, &pngs()), render_markdown(&r, &pngs()));
}

/// Writes a sample report to `$RADBIND_MD_SAMPLE` for looking at it.
#[test]
#[ignore = "writes a file for visual review"]
fn write_sample() {
    if let Some(path) = std::env::var_os("RADBIND_MD_SAMPLE") {
        std::fs::write(path, render_markdown(&sample_results(), &pngs())).expect("write");
    }
}

/// The selectivity section of the sample run (issue 4 item 6): the default primary
/// (5-HT2A, mianserin's only exact Ki: the censored 5-HT1A Ki gives `> 1920x`), then
/// 5-HT1A given as primary (censored itself: the exact 5-HT2A Ki gives a `<` ratio). The
/// failed curve has no ratio and says why.
#[test]
fn selectivity_section_snapshot() {
    let mut r = sample_results();
    let mut text = selectivity_markdown(&r);
    r.primary_target = Some("5-HT1A".into());
    text.push_str(&selectivity_markdown(&r));
    insta::assert_snapshot!(text);
}

#[test]
fn fence_is_longer_than_content_backticks() {
    assert_eq!(fence_for("a ``` b"), "````");
    assert_eq!(fence_for("plain"), "```");
}

/// The linked report is built in reading order: the linked sections sit between the plain
/// report's sections, and headings in user text (the config) do not move them.
#[test]
fn linked_sections_in_reading_order() {
    let mut r = sample_results();
    r.config_yaml = "note: |\n  ## Figures\n  ## Plate QC\n".into();
    let fig = |key: &str, png: &str| crate::report::FigureRef {
        key: key.into(),
        svg: None,
        svg_path: None,
        png_path: Some(png.into()),
    };
    let figs = crate::report::ReportFigures {
        curve_pngs: pngs(),
        residual_pngs: vec![Some("residuals/a.png".into()), None, None],
        target_overlays: vec![fig("5-HT2A", "figures/001_target_5-HT2A.png")],
        heatmaps: vec![(fig("P1", "qc/001_P1_cpm.png"), fig("P1", "qc/001_P1_pct.png"))],
        selectivity: Some(fig("selectivity", "figures/selectivity.png")),
        ..Default::default()
    };
    let outcome = crate::report::ReportOutcome {
        prism_files: vec!["prism/5-HT2A.pzfx".into()],
        ..Default::default()
    };
    let text = render_markdown_with(&r, &figs, &outcome);
    let order = [
        "## Summary\n",
        "## Ki by compound and target\n",
        "![Selectivity: pKi by compound and target](figures/selectivity.png)",
        "## Selectivity panel\n",
        "## Results by target\n",
        "## Overlays\n",
        "## Figures\n",
        "## Plate QC\n",
        "### Plate heat maps\n",
        "## Flags\n",
        "## Excluded wells\n",
        "## GraphPad Prism files\n",
        "## Residual plots\n",
        "## Provenance\n",
        "  ## Figures\n  ## Plate QC\n",
    ];
    let at: Vec<usize> = order.iter().map(|h| text.find(h).expect(h)).collect();
    assert!(at.windows(2).all(|w| w[0] < w[1]), "{at:?}");
    assert_eq!(text.matches("## Overlays").count(), 1);
    // Without the linked figures the plain report is a subsequence of the linked one.
    let plain = render_markdown(&r, &pngs());
    assert!(plain.starts_with(&text[..text.find("## Ki by compound").expect("ki")]));
    assert!(text.ends_with(&plain[plain.find("## Provenance").expect("provenance")..]));
}
