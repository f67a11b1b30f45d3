//! Tests of the Markdown report (the hand-built run they use is `crate::test_support`).

use super::*;
use crate::test_support::sample_results;

/// The whole Markdown report of a fixed, hand-built run (2 targets, a censored and a
/// failed curve, a plate failing Z'), reviewed like code in `src/report/markdown/snapshots/`.
#[test]
fn report_md_snapshot() {
    let r = sample_results();
    let pngs: Vec<Option<String>> =
        (1..=r.curves.len()).map(|i| Some(format!("plots/{i:03}.png"))).collect();
    insta::assert_snapshot!(render_markdown(&r, &pngs));
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
    // One unit per column (in the heading), three significant figures, bounds in it.
    assert!(md.contains(
        "| Compound | IC50 (nM) | Ki (nM) (95% CI) | pKi | Hill | n | Model | Class | Flags |\n\
         | --- | ---: | ---: | ---: | ---: | ---: | --- | --- | --- |\n"
    ));
    assert!(md.contains(
        "| mianserin | 7.80 | 2.60 (2.08–3.25) | 8.59 | \u{2212}0.98 | 16 | four_parameter |  |  |\n"
    ));
    assert!(md.contains(
        "| mianserin | > 10.0 | > 5.00 | < 5.30 | \u{2212}1.10 | 16 | four_parameter |  | IC50 above tested range; does not cross 50% |\n"
    ), "{md}");
    assert!(md.contains("| P2 | 5-HT1A | data/run1.csv #1 | fail | **0.42** |"));
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
    for line in md.lines().filter(|l| l.starts_with("| &lt;script")) {
        // 9 columns -> 10 unescaped pipes.
        let pipes = line.matches('|').count() - line.matches("\\|").count();
        assert_eq!(pipes, 10, "{line}");
    }
}

#[test]
fn flags_explained_and_unknown_listed() {
    let md = render_markdown(&sample_results(), &pngs());
    assert!(md.contains(
        "- **IC50 above tested range** (`ic50_above_range`): The fitted IC50 lies above"
    ));
    assert!(md.contains("- **Z′ below 0.5** (`z_prime_below_0.5`): Z' of the plate"));
    assert!(md.contains("- **new flag x** (`new_flag_x`): A flag radbind set"));
    assert!(!md.contains("no description available"));
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
