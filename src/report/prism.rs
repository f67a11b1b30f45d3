//! GraphPad Prism export: one `.pzfx` file per target with one XY data table.
//!
//! X is log10 of the molar competitor concentration, Y is % specific binding with the
//! replicate wells as subcolumns (`YFormat="replicates"`), one Y data set per compound, in
//! the XML schema Prism writes (`<GraphPadPrismFile PrismXMLVersion="5.00">`, `<Table
//! TableType="XY">`, `<XColumn>`, `<YColumn>` with `<Subcolumn><d>…</d></Subcolumn>`).
//! Rows are the distinct concentrations of the target (all compounds), one row per
//! concentration: values within [`X_TOLERANCE_LOG`] log units are the same concentration
//! (e.g. −9.499733 and −9.499657, the same nominal 316 pM from two dilution schemes), so
//! Prism shows one X row with its replicates side by side; a compound without a value at a
//! row has empty cells. Points excluded by radbind are written with Prism's
//! `Excluded="1"` attribute, so Prism shows them struck out and leaves them out of its fit.
//! Zero-dose points have no log concentration; they are left out and the table notes say so.
//! Numbers are written with Rust's shortest round-trip formatting, so they read back exactly.
//! Names are XML text: escaped, with control and text-direction characters written as escapes
//! (`\u{1b}`), so the file stays valid XML whatever a name holds.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use crate::derive::rows::CurveRow;
use crate::units::{log_molar, plain_zero, printable};

/// The `.pzfx` document for one target's curves (all of them at that target).
///
/// Deterministic: rows sorted by concentration, compounds in the order given, replicates in
/// the order of their points.
#[must_use]
pub fn pzfx(experiment: &str, target: &str, curves: &[&CurveRow]) -> String {
    let logs = curves.iter().flat_map(|c| &c.points).filter(|p| p.y.is_finite());
    let rows = XRows::of(logs.filter_map(|p| log_molar(p.conc_nm)));
    // Per compound: row -> values (with excluded flag).
    let mut data: Vec<BTreeMap<usize, Vec<(f64, bool)>>> = Vec::with_capacity(curves.len());
    let mut zero_dropped = 0usize;
    for c in curves {
        let mut m: BTreeMap<usize, Vec<(f64, bool)>> = BTreeMap::new();
        for p in &c.points {
            if !p.y.is_finite() {
                continue;
            }
            let Some(k) = log_molar(p.conc_nm).and_then(|x| rows.row_of(x)) else {
                if p.conc_nm == 0.0 {
                    zero_dropped += 1;
                }
                continue;
            };
            m.entry(k).or_default().push((p.y, p.excluded.is_some()));
        }
        data.push(m);
    }
    let reps = data.iter().flat_map(|m| m.values().map(Vec::len)).max().unwrap_or(1).max(1);

    let mut x = String::with_capacity(16 * 1024);
    x.push_str("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
    x.push_str("<GraphPadPrismFile PrismXMLVersion=\"5.00\">\n");
    x.push_str("<Created>\n<OriginalVersion CreatedByProgram=\"radbind\" CreatedByVersion=\"");
    x.push_str(&escape(env!("CARGO_PKG_VERSION")));
    x.push_str("\"></OriginalVersion>\n</Created>\n");
    x.push_str("<InfoSequence>\n<Ref ID=\"Info0\" Selected=\"1\"></Ref>\n</InfoSequence>\n");
    let _ = write!(x, "<Info ID=\"Info0\">\n<Title>{}</Title>\n<Notes>\n", escape(experiment));
    let _ = writeln!(
        x,
        "Competition binding at {}: X = log10 [compound] (M), Y = % specific binding, \
         replicate wells as subcolumns. Exported by radbind.",
        escape(target)
    );
    if zero_dropped > 0 {
        let _ = writeln!(
            x,
            "{zero_dropped} zero-concentration point(s) have no log concentration and are not in the table."
        );
    }
    x.push_str("</Notes>\n");
    let _ = writeln!(
        x,
        "<Constant><Name>Experiment ID</Name><Value>{}</Value></Constant>",
        escape(experiment)
    );
    x.push_str(
        "</Info>\n<TableSequence>\n<Ref ID=\"Table0\" Selected=\"1\"></Ref>\n</TableSequence>\n",
    );
    let _ = writeln!(
        x,
        "<Table ID=\"Table0\" XFormat=\"numbers\" YFormat=\"replicates\" Replicates=\"{reps}\" \
         TableType=\"XY\" EVFormat=\"AsteriskAfterNumber\">"
    );
    let _ = writeln!(x, "<Title>{}</Title>", escape(target));
    x.push_str("<XColumn Width=\"100\" Decimals=\"3\" Subcolumns=\"1\">\n<Title>log10 [compound] (M)</Title>\n<Subcolumn>\n");
    for v in &rows.x {
        let _ = writeln!(x, "<d>{}</d>", number(*v));
    }
    x.push_str("</Subcolumn>\n</XColumn>\n");
    for (c, m) in curves.iter().zip(&data) {
        let _ = writeln!(
            x,
            "<YColumn Width=\"{}\" Decimals=\"2\" Subcolumns=\"{reps}\">\n<Title>{}</Title>",
            81 * reps,
            escape(&c.compound)
        );
        for r in 0..reps {
            x.push_str("<Subcolumn>\n");
            for k in 0..rows.x.len() {
                match m.get(&k).and_then(|v| v.get(r)) {
                    Some((y, true)) => {
                        let _ = writeln!(x, "<d Excluded=\"1\">{}</d>", number(*y));
                    }
                    Some((y, false)) => {
                        let _ = writeln!(x, "<d>{}</d>", number(*y));
                    }
                    None => x.push_str("<d/>\n"),
                }
            }
            x.push_str("</Subcolumn>\n");
        }
        x.push_str("</YColumn>\n");
    }
    x.push_str("</Table>\n</GraphPadPrismFile>\n");
    x
}

/// Concentrations closer than this in log10 M are one X row (a 0.23% difference in
/// concentration): the same nominal concentration reached by different dilution arithmetic
/// (`10 µM / 3.162^k` against half-log steps from another top) is one row, while the steps
/// of any real dilution series (at least 0.05 log, a 1.12-fold dilution) stay apart.
pub const X_TOLERANCE_LOG: f64 = 1e-3;

/// The X rows of a table: concentrations (log10 M) grouped so that values within
/// [`X_TOLERANCE_LOG`] of the first of their group share a row.
#[derive(Debug, Clone, PartialEq)]
struct XRows {
    /// First and last log10 M of each group, ascending.
    bounds: Vec<(f64, f64)>,
    /// The row's X: the mean log10 M of the group's points, rounded to 1e-6.
    x: Vec<f64>,
}

impl XRows {
    /// Groups finite log10 M values (one per point, so the mean weighs points).
    fn of(logs: impl Iterator<Item = f64>) -> Self {
        let mut v: Vec<f64> = logs.filter(|x| x.is_finite()).collect();
        v.sort_by(f64::total_cmp);
        let (mut bounds, mut x) = (Vec::new(), Vec::new());
        let mut i = 0;
        while i < v.len() {
            let start = v[i];
            let n = v[i..].iter().take_while(|&&y| y - start <= X_TOLERANCE_LOG).count();
            let group = &v[i..i + n];
            let mean = group.iter().sum::<f64>() / n as f64;
            bounds.push((start, group[n - 1]));
            x.push(plain_zero((mean * 1e6).round() / 1e6));
            i += n;
        }
        Self { bounds, x }
    }

    /// The row of a value that went into [`XRows::of`].
    fn row_of(&self, v: f64) -> Option<usize> {
        let i = self.bounds.partition_point(|&(_, hi)| hi < v);
        self.bounds.get(i).filter(|&&(lo, hi)| (lo..=hi).contains(&v)).map(|_| i)
    }
}

/// A finite number in Rust's shortest round-trip form (`-8.5`, `97.25`; `-0` as `0`).
fn number(v: f64) -> String {
    if v.is_finite() { format!("{}", plain_zero(v)) } else { String::new() }
}

/// Text for XML element content: control and text-direction characters written as escapes
/// (XML 1.0 forbids most C0 characters even as character references), then `&`, `<`, `>`,
/// `"`, `'` escaped.
fn escape(s: &str) -> String {
    super::text::escape(&printable(s))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_support::sample_results;

    #[test]
    fn table_shape_and_escaping() {
        let mut r = sample_results();
        r.curves[0].compound = "<b>&\"x\"".into();
        let t = r.curves[0].target.clone();
        let cs: Vec<&CurveRow> = r.curves.iter().filter(|c| c.target == t).collect();
        let doc = pzfx("exp <1>", &t, &cs);
        assert!(doc.starts_with("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<GraphPadPrismFile"));
        assert!(doc.contains("TableType=\"XY\""));
        assert!(doc.contains("YFormat=\"replicates\""));
        assert_eq!(doc.matches("<YColumn ").count(), cs.len());
        assert!(doc.contains("<Title>&lt;b&gt;&amp;&quot;x&quot;</Title>"));
        assert!(doc.contains("<Title>exp &lt;1&gt;</Title>"));
        assert!(!doc.contains("NaN") && !doc.contains("inf"));
    }

    #[test]
    fn control_characters_keep_the_xml_valid() {
        let mut r = sample_results();
        r.curves[0].compound = "a\u{0}b\u{c}c\u{1b}[31m\u{202e}".into();
        let t = r.curves[0].target.clone();
        let cs: Vec<&CurveRow> = r.curves.iter().filter(|c| c.target == t).collect();
        let doc = pzfx("exp\u{1b}", &t, &cs);
        assert!(doc.contains("<Title>a\\u{0}b\\u{c}c\\u{1b}[31m\\u{202e}</Title>"), "{doc}");
        // XML 1.0 characters only: tab, line feed, carriage return and U+0020 up.
        assert!(doc.chars().all(|c| !c.is_control() || matches!(c, '\t' | '\n' | '\r')));
        assert!(!doc.contains('\u{202e}'));
    }

    /// The document read back with an XML parser: X values, and per Y column its title and
    /// subcolumns (each a list of cells, `None` when empty).
    #[allow(clippy::type_complexity)]
    fn read_back(doc: &str) -> (Vec<f64>, Vec<(String, Vec<Vec<Option<f64>>>)>) {
        use resvg::usvg::roxmltree::{Document, Node};
        let d = Document::parse(doc).expect("well-formed XML");
        let cells = |col: Node<'_, '_>| -> Vec<Vec<Option<f64>>> {
            col.children()
                .filter(|n| n.has_tag_name("Subcolumn"))
                .map(|sc| {
                    sc.children()
                        .filter(|n| n.has_tag_name("d"))
                        .map(|c| c.text().map(|t| t.parse().expect("number")))
                        .collect()
                })
                .collect()
        };
        let title = |col: Node<'_, '_>| {
            col.children()
                .find(|n| n.has_tag_name("Title"))
                .and_then(|t| t.text())
                .unwrap_or_default()
                .to_string()
        };
        let table = d.descendants().find(|n| n.has_tag_name("Table")).expect("table");
        let xcol = table.children().find(|n| n.has_tag_name("XColumn")).expect("X column");
        let x = cells(xcol).concat().into_iter().map(|v| v.expect("X value")).collect();
        let y = table
            .children()
            .filter(|n| n.has_tag_name("YColumn"))
            .map(|c| (title(c), cells(c)))
            .collect();
        (x, y)
    }

    fn curve_with(compound: &str, conc_nm: &[f64], reps: usize) -> CurveRow {
        let mut c = sample_results().curves[0].clone();
        c.compound = compound.into();
        c.points = conc_nm
            .iter()
            .flat_map(|&x| {
                (0..reps).map(move |r| crate::derive::rows::CurvePoint {
                    plate: "P1".into(),
                    well: format!("A{r}"),
                    conc_nm: x,
                    y: 50.0 + r as f64,
                    excluded: None,
                })
            })
            .collect();
        c
    }

    /// Two compounds on the same nominal 10-point half-log series, one diluted 3.162-fold
    /// from 10 µM, one at exact half-log steps: Prism gets 10 X rows (one per concentration,
    /// not 20 with −9.499733 and −9.499657 apart) and every cell of both compounds filled.
    /// See: issue 20, item 9.
    #[test]
    fn one_x_row_per_concentration_round_trip() {
        let by_dilution: Vec<f64> = (0..10).map(|k| 10_000.0 / 3.162f64.powi(k)).collect();
        let half_log: Vec<f64> = (0..10).map(|k| 10f64.powf(4.0 - 0.5 * f64::from(k))).collect();
        assert!(
            (log_molar(by_dilution[9]).unwrap() - log_molar(half_log[9]).unwrap()).abs() > 1e-4
        );
        let (a, b) = (curve_with("a", &by_dilution, 2), curve_with("b", &half_log, 3));
        let doc = pzfx("e", "T", &[&a, &b]);
        let (x, y) = read_back(&doc);
        assert_eq!(x.len(), 10, "{x:?}");
        assert!(x.windows(2).all(|w| w[1] - w[0] > 0.4), "ascending, half a log apart: {x:?}");
        assert!((x[0] - -9.5).abs() < 1e-3 && (x[9] - -5.0).abs() < 1e-9, "{x:?}");
        assert_eq!(y.len(), 2);
        for (title, subcolumns) in &y {
            assert_eq!(subcolumns.len(), 3, "{title}: Replicates = the most per row");
            for sc in subcolumns {
                assert_eq!(sc.len(), 10, "{title}: one cell per X row");
            }
        }
        let filled = |sub: &Vec<Vec<Option<f64>>>| sub.iter().flatten().flatten().count();
        assert_eq!(filled(&y[0].1), 20, "compound a: 10 concentrations in duplicate");
        assert_eq!(filled(&y[1].1), 30, "compound b: 10 concentrations in triplicate");
        assert!(y[0].1[2].iter().all(Option::is_none), "a has no third replicate");
    }

    /// Different concentrations stay different rows, even close ones (a 1.12-fold step).
    #[test]
    fn distinct_concentrations_keep_their_rows() {
        let (a, b) = (curve_with("a", &[1.0, 10.0, 100.0], 1), curve_with("b", &[1.12, 30.0], 1));
        let (x, y) = read_back(&pzfx("e", "T", &[&a, &b]));
        assert_eq!(x.len(), 5, "{x:?}");
        assert_eq!(y[1].1[0], vec![None, Some(50.0), None, Some(50.0), None]);
        let rows = XRows::of([-8.0, -8.0004, -7.9995].into_iter());
        assert_eq!(rows.x.len(), 1, "{rows:?}");
        assert_eq!(rows.row_of(-8.0004), Some(0));
        assert_eq!(rows.row_of(-7.5), None);
    }

    #[test]
    fn negative_zero_is_written_zero() {
        assert_eq!(number(-0.0), "0");
        assert_eq!(number(-8.5), "-8.5");
    }
}
