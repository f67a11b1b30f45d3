//! The HTML report in a real browser: runs the example into a temp directory, opens
//! `report.html` in headless Chromium and checks that it renders (summary and Ki tables, inline
//! SVG figures), logs no console error, makes no failed (or external) request, and that a
//! screenshot is not blank.
//!
//! Prints `SKIP` when `/usr/bin/chromium` is absent, unless `RADBIND_REQUIRE_BROWSER=1`, then
//! it fails.

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

#[test]
fn report_renders_in_chromium() {
    let Some(chromium) = chromium() else {
        return;
    };
    let tmp = tempfile::tempdir().expect("tempdir");
    let out = tmp.path().join("out");
    let config = Path::new(env!("CARGO_MANIFEST_DIR")).join("configs/example.yaml");
    let status = Command::new(env!("CARGO_BIN_EXE_radbind"))
        .args(["run", "--quiet", "--out"])
        .arg(&out)
        .arg(&config)
        .status()
        .expect("radbind run");
    assert!(status.code().is_some_and(|c| c <= 1), "radbind run: {status}");
    let report = out.join("latest/report.html");
    let url = format!("file://{}", report.canonicalize().expect("report.html").display());

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
