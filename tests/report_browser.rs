//! The HTML report in a real browser: runs sample configs into a temp directory, opens
//! `report.html` in headless Chromium and checks that it renders (summary and Ki tables, inline
//! SVG figures), logs no console error, makes no failed (or external) request, and that a
//! screenshot is not blank; that each assay's report speaks of its assay (headings, y axes);
//! that the competition tables sort by number and show their Flags column at 1,280 px; and
//! that a 300-plate report loads fast and its flagged-curve filter works.
//!
//! Layout and script results are read through a probe: a copy of the report with one more
//! script at its end that measures in the page and writes what it found into the DOM, which
//! `--dump-dom` then prints.
//!
//! Prints `SKIP` when `/usr/bin/chromium` is absent, unless `RADBIND_REQUIRE_BROWSER=1`, then
//! it fails.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::process::Command;

fn chromium() -> Option<PathBuf> {
    let p = PathBuf::from("/usr/bin/chromium");
    if p.exists() {
        return Some(p);
    }
    assert!(
        std::env::var_os("RADBIND_REQUIRE_BROWSER").is_none_or(|v| v != "1"),
        "RADBIND_REQUIRE_BROWSER=1 but /usr/bin/chromium is missing"
    );
    println!("SKIP report_browser: /usr/bin/chromium not found");
    None
}

fn headless(chromium: &Path, profile: &Path, extra: &[&str], url: &str) -> std::process::Output {
    Command::new(chromium)
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--no-first-run",
            "--enable-logging=stderr",
            "--v=0",
        ])
        .arg(format!("--user-data-dir={}", profile.display()))
        .args(extra)
        .arg(url)
        .output()
        .expect("running chromium")
}

/// Runs `radbind run` on `config` into `out` and returns the report's path.
fn run(config: &Path, out: &Path) -> PathBuf {
    let status = Command::new(env!("CARGO_BIN_EXE_radbind"))
        .args(["run", "--quiet", "--out"])
        .arg(out)
        .arg(config)
        .status()
        .expect("radbind run");
    assert!(status.code().is_some_and(|c| c <= 1), "radbind run: {status}");
    out.join("latest/report.html").canonicalize().expect("report.html")
}

fn sample(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("configs").join(name)
}

/// Loads a copy of `report` (beside it, so its relative links work) with `script` appended
/// at the end of the body, at `window` (`1280,2000`), and returns what the script wrote into
/// `<pre id="probe">`.
fn probe(chromium: &Path, report: &Path, script: &str, window: &str, hash: &str) -> String {
    let html = std::fs::read_to_string(report).expect("report");
    let probe = report.with_file_name("probe.html");
    let tail = format!(
        "<pre id=\"probe\"></pre><script>(function () {{ var out = []; \
         function say(k, v) {{ out.push(k + '=' + v); }}\n{script}\n\
         document.getElementById('probe').textContent = out.join('\\n'); }})();</script></body>"
    );
    std::fs::write(&probe, html.replacen("</body>", &tail, 1)).expect("probe written");
    let profile = report.with_file_name("chromium-profile");
    let url = format!("file://{}{hash}", probe.display());
    let out =
        headless(chromium, &profile, &["--dump-dom", &format!("--window-size={window}")], &url);
    let dom = String::from_utf8_lossy(&out.stdout).to_string();
    let start = dom.find("<pre id=\"probe\">").expect("probe in the DOM") + 16;
    let end = start + dom[start..].find("</pre>").expect("probe end");
    dom[start..end].replace("&gt;", ">").replace("&lt;", "<").replace("&amp;", "&")
}

/// The value the probe gave `key`.
fn said<'a>(probe: &'a str, key: &str) -> &'a str {
    probe
        .lines()
        .find_map(|l| l.strip_prefix(&format!("{key}=")))
        .unwrap_or_else(|| panic!("probe said nothing about {key}: {probe}"))
}

#[test]
fn report_renders_in_chromium() {
    let Some(chromium) = chromium() else {
        return;
    };
    let tmp = tempfile::tempdir().expect("tempdir");
    let report = run(&sample("example.yaml"), &tmp.path().join("out"));
    let url = format!("file://{}", report.display());

    let profile = tmp.path().join("profile");
    let dom = headless(&chromium, &profile, &["--dump-dom"], &url);
    let html = String::from_utf8_lossy(&dom.stdout);
    let log = String::from_utf8_lossy(&dom.stderr);
    assert!(html.contains("<section id=\"summary\">"), "summary rendered");
    assert!(html.contains("<table class=\"sortable matrix\">"), "Ki table rendered");
    assert!(html.contains("<svg"), "inline figures");
    for bad in ["Uncaught", "net::ERR_", "Failed to load resource", "ERROR:CONSOLE", "Refused to"] {
        let hits: Vec<&str> = log.lines().filter(|l| l.contains(bad)).collect();
        assert!(hits.is_empty(), "browser log has {bad}: {hits:#?}");
    }
    for l in log.lines().filter(|l| l.contains("CONSOLE")) {
        assert!(!l.to_ascii_lowercase().contains("error"), "console error: {l}");
    }

    let shot = tmp.path().join("shot.png");
    let _ = headless(
        &chromium,
        &profile,
        &[&format!("--screenshot={}", shot.display()), "--window-size=1300,2000"],
        &url,
    );
    let png = std::fs::read(&shot).expect("screenshot written");
    assert!(png.starts_with(b"\x89PNG"), "a PNG");
    // A blank 1300x2000 page compresses to a few kB; the rendered report is far larger.
    assert!(png.len() > 60_000, "screenshot is only {} bytes: blank?", png.len());
}

/// The probe script that reports the header line, the section anchors, the h2 headings and
/// the y-axis labels of the inline figures (the rotated text of each SVG).
const ASSAY_PROBE: &str = r"
say('header', document.querySelector('header p').textContent);
say('sections', Array.prototype.map.call(document.querySelectorAll('main > section'),
  function (s) { return s.id; }).join(','));
say('h2', Array.prototype.map.call(document.querySelectorAll('h2'),
  function (h) { return h.textContent; }).join('|'));
var y = [];
document.querySelectorAll('svg text').forEach(function (t) {
  if ((t.getAttribute('transform') || '').indexOf('rotate') >= 0) { y.push(t.textContent.trim()); }
});
say('yaxes', y.join('|'));
say('nav', Array.prototype.map.call(document.querySelectorAll('nav a'),
  function (a) { return a.getAttribute('href'); }).join(','));
say('text', document.body.innerText.replace(/\n/g, ' '));
";

#[test]
fn each_assay_report_speaks_of_its_assay() {
    let Some(chromium) = chromium() else {
        return;
    };
    let tmp = tempfile::tempdir().expect("tempdir");
    // (config, words the header must have, y-axis label of its curve figures)
    let cases = [
        ("gtpgs-example.yaml", "[35S]GTP\u{3b3}S functional assay", "% stimulation over basal"),
        ("uptake-example.yaml", "Uptake inhibition", "% specific uptake"),
        ("saturation-example.yaml", "Saturation binding", "bound (CPM)"),
    ];
    for (config, title, y) in cases {
        let report = run(&sample(config), &tmp.path().join(config));
        let p = probe(&chromium, &report, ASSAY_PROBE, "1300,2000", "");
        let header = said(&p, "header");
        // The saturation sample also has competition targets (Kd from the saturation fit):
        // its header names both, saturation first as the config lists it.
        assert!(header.starts_with(title), "{config}: header {header:?}");
        let mixed = config == "saturation-example.yaml";
        assert!(mixed || !header.contains("competition binding"), "{config}: header {header:?}");
        if config == "gtpgs-example.yaml" {
            assert!(!header.contains("Cheng"), "{config}: header {header:?}");
        }
        let yaxes = said(&p, "yaxes");
        assert!(yaxes.contains(y), "{config}: y axes {yaxes:?}");
        assert!(mixed || !yaxes.contains("% specific binding"), "{config}: y axes {yaxes:?}");
        let sections = said(&p, "sections");
        // Every section in the navigation exists, and only those.
        let nav = said(&p, "nav");
        for id in sections.split(',') {
            assert!(nav.contains(&format!("#{id}")), "{config}: {id} not in nav {nav}");
        }
        let text = said(&p, "text");
        assert!(!text.contains("no description available"), "{config}");
        if mixed {
            assert!(sections.contains("saturation"), "{sections}");
        } else if config == "gtpgs-example.yaml" {
            // No Ki: no Ki matrix, pKi map or selectivity panel.
            assert!(!sections.contains("ki") && !sections.contains("selectivity"), "{sections}");
            assert!(!text.contains("n.d."), "{config}: a map of n.d.");
        } else {
            assert!(text.contains("Km 250 nM"), "uptake says Km: {text}");
            assert!(!text.contains("Kd 250"), "uptake says Km, not Kd");
        }
        if config == "gtpgs-example.yaml" {
            assert!(said(&p, "h2").contains("GTP\u{3b3}S"), "{}", said(&p, "h2"));
            // The plate has basal wells and no totals: Z' n/a, not a failure.
            assert!(
                text.contains("PLATES FAILING QC 0") || text.contains("Plates failing QC 0"),
                "{text}"
            );
            assert!(text.contains("Basal mean"), "basal mean in the QC table");
        }
    }
}

/// Sorts the first results table by the column whose heading starts with `head` (one click:
/// ascending) and reports its cells' (data-sort, data-tie, text) in the new order.
const SORT_PROBE: &str = r"
function order(head) {
  var table = document.querySelector('#results table.results');
  var ths = Array.prototype.slice.call(table.tHead.rows[0].cells);
  var th = ths.filter(function (t) { return t.textContent.indexOf(head) === 0; })[0];
  th.click();
  var col = ths.indexOf(th);
  return Array.prototype.map.call(table.tBodies[0].rows, function (r) {
    var c = r.cells[col];
    return (c.getAttribute('data-sort') || '') + ';' + (c.getAttribute('data-tie') || '0') +
      ';' + c.textContent.trim();
  }).join('|');
}
say('ki', order('Ki'));
say('hill', order('Hill'));
say('pki', order('pKi'));
var flags = document.querySelector('#results table.results th:nth-last-child(2)');
say('flags_head', flags.textContent);
say('flags_right', flags.getBoundingClientRect().right);
say('viewport', document.documentElement.clientWidth);
say('page_width', document.documentElement.scrollWidth);
var worst = 0;
document.querySelectorAll('#results .scroll').forEach(function (w) {
  worst = Math.max(worst, w.scrollWidth - w.clientWidth);
});
say('table_overflow', worst);
";

/// Checks that the (key, tie) pairs of a sorted column are ascending, ties exact first, and
/// blanks last.
fn assert_ascending(column: &str, cells: &str) {
    let mut last: Option<(f64, u8)> = None;
    let mut blank = false;
    for cell in cells.split('|') {
        let mut parts = cell.splitn(3, ';');
        let (key, tie, text) =
            (parts.next().unwrap(), parts.next().unwrap(), parts.next().unwrap());
        if key.is_empty() {
            blank = true;
            continue;
        }
        assert!(!blank, "{column}: a number after a blank: {cells}");
        let k: f64 = key.parse().unwrap_or_else(|_| panic!("{column}: key {key:?} ({text})"));
        let t: u8 = tie.parse().unwrap();
        if let Some(l) = last {
            assert!(l <= (k, t), "{column}: {text} ({k}, {t}) sorts after {l:?}: {cells}");
        }
        last = Some((k, t));
    }
    assert!(last.is_some(), "{column}: no numbers: {cells}");
}

#[test]
fn competition_tables_sort_by_number_and_show_flags() {
    let Some(chromium) = chromium() else {
        return;
    };
    let tmp = tempfile::tempdir().expect("tempdir");
    let report = run(&sample("example.yaml"), &tmp.path().join("out"));
    let p = probe(&chromium, &report, SORT_PROBE, "1280,2000", "");
    assert_ascending("Ki", said(&p, "ki"));
    assert_ascending("pKi", said(&p, "pki"));
    assert_ascending("Hill", said(&p, "hill"));
    // Hill slopes are written with U+2212 and still sort as numbers.
    assert!(said(&p, "hill").contains('\u{2212}'), "{}", said(&p, "hill"));
    assert_eq!(said(&p, "flags_head"), "Flags");
    let right: f64 = said(&p, "flags_right").parse().unwrap();
    let viewport: f64 = said(&p, "viewport").parse().unwrap();
    assert!(right <= viewport, "Flags column ends at {right} px in a {viewport} px window");
    assert_eq!(said(&p, "table_overflow"), "0", "a results table scrolls sideways");
    let page: f64 = said(&p, "page_width").parse().unwrap();
    assert!(page <= viewport, "the page is {page} px wide in a {viewport} px window");
}

/// The config of a 300-plate campaign: the example's six targets, each plate its own four
/// compounds (1,200 curves), over the files `radbind simulate --repeat 50` writes.
fn campaign_config() -> String {
    let mut s = String::from(
        "experiment: campaign-300\noutput: out\n\
         inputs: [panel-run1_r*.txt, panel-run2_r*.txt]\ntargets:\n\
         \x20 H1:      {radioligand: \"[3H]pyrilamine\",  radioligand_nM: 1.5, kd_nM: 1.2}\n\
         \x20 5-HT2A:  {radioligand: \"[3H]ketanserin\",  radioligand_nM: 1.0, kd_nM: 0.4}\n\
         \x20 5-HT2C:  {radioligand: \"[3H]mesulergine\", radioligand_nM: 1.0, kd_nM: 1.0}\n\
         \x20 alpha2A: {radioligand: \"[3H]RX821002\",    radioligand_nM: 0.5, kd_nM: 0.3}\n\
         \x20 5-HT1A:  {radioligand: \"[3H]8-OH-DPAT\",   radioligand_nM: 1.0, kd_nM: 1.0}\n\
         \x20 SERT:    {radioligand: \"[3H]citalopram\",  radioligand_nM: 1.0, kd_nM: 1.5}\n\
         layouts:\n  standard96:\n    wells: 96\n    total: column 1\n    nsb: column 12\n\
         \x20   series: {columns: 2-11, top: \"10 µM\", dilution: 3.162}\n\
         report: {figures: svg}\nplates:\n",
    );
    let halves = [
        [("H1", "pyrilamine"), ("5-HT2A", "ketanserin"), ("5-HT2C", "mesulergine")],
        [("alpha2A", "yohimbine"), ("5-HT1A", "8-OH-DPAT"), ("SERT", "citalopram")],
    ];
    let mut n = 0;
    for half in halves {
        for r in 1..=50 {
            for (t, reference) in half {
                n += 1;
                let rot = if t == "SERT" { ", rotated: true" } else { "" };
                let _ = writeln!(
                    s,
                    "  - {{plate: {n}, target: {t}, layout: standard96{rot}, rows: {{A-B: \
                     mianserin-{r:02}, C-D: {{compound: {reference}-{r:02}, top: \"1 µM\", \
                     dilution: 3.162}}, E-F: clozapine-{r:02}, G-H: fluoxetine-{r:02}}}}}"
                );
            }
        }
    }
    s
}

/// The time from navigation to the first layout of the whole page, and the flagged filter:
/// rows shown before and after it (the page was opened with `#flagged`, which turns it on).
const LARGE_PROBE: &str = r"
document.documentElement.getBoundingClientRect();
say('load_ms', Math.round(performance.now()));
var rows = document.querySelectorAll('#results tbody tr');
var marked = document.querySelectorAll('#results tbody tr.flagged, #results tbody tr.failed');
var visible = function () {
  return Array.prototype.filter.call(rows, function (r) { return r.offsetParent !== null; }).length;
};
say('rows', rows.length);
say('marked', marked.length);
say('visible_filtered', visible());
var box = document.getElementById('only-flagged');
box.click();
say('visible_all', visible());
say('shown', document.getElementById('shown').textContent);
say('lazy', document.querySelectorAll('img[loading=lazy]').length);
say('plate_bars', document.querySelectorAll('details.plate').length);
say('first_bar', document.querySelector('details.plate summary').textContent.replace(/\s+/g, ' '));
say('first_section', document.querySelector('main > section').id);
say('second_section', document.querySelectorAll('main > section')[1].id);
say('placeholders', document.querySelectorAll('a.missing').length);
say('targets', document.querySelectorAll('#results div.target').length);
";

#[test]
fn a_300_plate_report_loads_fast_and_filters_flagged_curves() {
    let Some(chromium) = chromium() else {
        return;
    };
    let tmp = tempfile::tempdir().expect("tempdir");
    let data = tmp.path().join("data");
    let status = Command::new(env!("CARGO_BIN_EXE_radbind"))
        .args(["simulate", "--repeat", "50", "--out"])
        .arg(&data)
        .arg(sample("simulate-example.yaml"))
        .stdout(std::process::Stdio::null())
        .status()
        .expect("radbind simulate");
    assert!(status.success(), "radbind simulate: {status}");
    let config = data.join("campaign-300.yaml");
    std::fs::write(&config, campaign_config()).expect("config written");
    let report = run(&config, &tmp.path().join("out"));
    let p = probe(&chromium, &report, LARGE_PROBE, "1300,2000", "#flagged");
    assert_eq!(said(&p, "rows"), "1200", "{p}");
    assert_eq!(said(&p, "targets"), "6");
    let marked: usize = said(&p, "marked").parse().unwrap();
    assert!(marked > 0 && marked < 1200, "flagged curves: {marked}");
    assert_eq!(said(&p, "visible_filtered"), marked.to_string(), "the filter shows the flagged");
    assert_eq!(said(&p, "visible_all"), "1200", "unfiltered shows all");
    assert_eq!(said(&p, "shown"), "showing 1200 of 1200 curves");
    // The best of three loads: the machine may be busy with other work.
    let load = (0..3)
        .map(|_| {
            let p = probe(&chromium, &report, LARGE_PROBE, "1300,2000", "");
            said(&p, "load_ms").parse::<f64>().unwrap()
        })
        .fold(f64::INFINITY, f64::min);
    // 2 s is the goal on a quiet machine (RADBIND_STRICT_TIMING=1, as CI runs it); a machine
    // busy with other builds gets a looser bound, so the test fails on a real regression
    // (the unfixed report hung for minutes on its 1,800 eager images), not on load.
    let strict = std::env::var_os("RADBIND_STRICT_TIMING").is_some_and(|v| v == "1");
    let limit = if strict { 2000.0 } else { 10_000.0 };
    println!("300-plate report: {load} ms to load and lay out (limit {limit} ms)");
    assert!(load < limit, "the 300-plate report took {load} ms to load and lay out");
    assert!(said(&p, "lazy").parse::<usize>().unwrap() >= 1200, "lazy thumbnails");
    assert_eq!(said(&p, "plate_bars"), "300");
    let bar = said(&p, "first_bar");
    assert!(bar.contains("H1") && bar.contains("QC"), "plate bar {bar}");
    assert_eq!(said(&p, "first_section"), "summary");
    assert_eq!(said(&p, "second_section"), "flagged");
    assert_eq!(said(&p, "placeholders"), "0");
}
