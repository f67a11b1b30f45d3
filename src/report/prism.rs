//! GraphPad Prism export: one `.pzfx` file per target with one XY data table.
//!
//! X is log10 of the molar competitor concentration, Y is % specific binding with the
//! replicate wells as subcolumns (`YFormat="replicates"`), one Y data set per compound, in
//! the XML schema Prism writes (`<GraphPadPrismFile PrismXMLVersion="5.00">`, `<Table
//! TableType="XY">`, `<XColumn>`, `<YColumn>` with `<Subcolumn><d>…</d></Subcolumn>`).
//! Rows are the distinct concentrations of the target (all compounds); a compound without a
//! value at a row has empty cells. Points excluded by radbind are written with Prism's
//! `Excluded="1"` attribute, so Prism shows them struck out and leaves them out of its fit.
//! Zero-dose points have no log concentration; they are left out and the table notes say so.
//! Numbers are written with Rust's shortest round-trip formatting, so they read back exactly.
//! Names are XML text: escaped, with control and text-direction characters written as escapes
//! (`\u{1b}`), so the file stays valid XML whatever a name holds.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use crate::derive::rows::CurveRow;
use crate::units::{log_molar, log10_molar, plain_zero, printable};

/// The `.pzfx` document for one target's curves (all of them at that target).
///
/// Deterministic: rows sorted by concentration, compounds in the order given, replicates in
/// the order of their points.
#[must_use]
pub fn pzfx(experiment: &str, target: &str, curves: &[&CurveRow]) -> String {
    // Row key: log10 M rounded to 1e-6, so 3.162-fold dilutions from different compounds
    // that agree to that precision share a row.
    let key =
        |conc_nm: f64| -> Option<i64> { log_molar(conc_nm).map(|x| (x * 1e6).round() as i64) };
    let mut rows: BTreeMap<i64, f64> = BTreeMap::new();
    // Per compound: row -> values (with excluded flag).
    let mut data: Vec<BTreeMap<i64, Vec<(f64, bool)>>> = Vec::with_capacity(curves.len());
    let mut zero_dropped = 0usize;
    for c in curves {
        let mut m: BTreeMap<i64, Vec<(f64, bool)>> = BTreeMap::new();
        for p in &c.points {
            if !p.y.is_finite() {
                continue;
            }
            let Some(k) = key(p.conc_nm) else {
                if p.conc_nm == 0.0 {
                    zero_dropped += 1;
                }
                continue;
            };
            rows.entry(k).or_insert_with(|| log10_molar(p.conc_nm));
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
    for v in rows.values() {
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
            for k in rows.keys() {
                match m.get(k).and_then(|v| v.get(r)) {
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

    #[test]
    fn negative_zero_is_written_zero() {
        assert_eq!(number(-0.0), "0");
        assert_eq!(number(-8.5), "-8.5");
    }
}
