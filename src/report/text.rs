//! Text building blocks shared by the HTML and Markdown reports (and the report sections of
//! the other assays): escaping for HTML and Markdown, table rows, link targets and the HTML
//! figure block. Pure functions of their arguments; nothing here knows a report's order.

use std::fmt::Write as _;

use super::FigureRef;
use crate::derive::rows::TargetRow;
use crate::units::nm_number;

/// Escapes text for HTML element content and quoted attribute values: `&`, `<`, `>`, `"`
/// and `'`; control and text-direction characters other than line breaks and tabs are
/// written as escapes (`\u{1b}`, [`crate::units::printable`]).
///
/// ```
/// use radbind::report::text::escape;
/// assert_eq!(escape(r#"<a href="x">'&'</a>"#), "&lt;a href=&quot;x&quot;&gt;&#39;&amp;&#39;&lt;/a&gt;");
/// ```
#[must_use]
pub fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c if c != '\n' && c != '\t' && crate::units::is_unsafe_char(c) => {
                out.extend(c.escape_unicode())
            }
            c => out.push(c),
        }
    }
    out
}

/// A figure block: inline SVG linked to its PNG, with a caption and file links.
pub(crate) fn figure_block(h: &mut String, f: &FigureRef, caption: &str) {
    let svg = f.svg.as_deref().and_then(inline_svg);
    let png = f.png_path.as_deref().and_then(png_href);
    let svg_file = f.svg_path.as_deref().and_then(png_href);
    h.push_str("<figure>");
    match (&svg, &png) {
        (Some(svg), Some(href)) => {
            let _ = write!(h, "<a href=\"{href}\" title=\"PNG\">{svg}</a>");
        }
        (Some(svg), None) => h.push_str(svg),
        (None, _) => match png.as_ref().or(svg_file.as_ref()) {
            // Linked, not inlined (large runs keep the page small): an image the report's
            // script loads only when it comes into view (a closed `<details>` never does);
            // `loading="lazy"` alone loads every image of a page opened from disk.
            Some(href) => {
                let _ = write!(
                    h,
                    "<a href=\"{href}\"><img class=\"lazy\" loading=\"lazy\" data-src=\"{href}\" alt=\"{}\"></a>",
                    escape(caption)
                );
            }
            None => h.push_str("<div class=\"missing\">No figure</div>"),
        },
    }
    let _ = write!(h, "<figcaption>{}", escape(caption));
    if let Some(href) = &png {
        let _ = write!(h, " \u{b7} <a href=\"{href}\">PNG</a>");
    }
    if let Some(href) = &svg_file {
        let _ = write!(h, " \u{b7} <a href=\"{href}\">SVG</a>");
    }
    h.push_str("</figcaption></figure>\n");
}

/// The SVG to inline, or `None` when the text is not an SVG document we can trust.
/// Removes the namespace attributes (their values are URLs; HTML does not need them).
pub(crate) fn inline_svg(svg: &str) -> Option<String> {
    let svg = svg.trim();
    let lower = svg.to_ascii_lowercase();
    if !lower.starts_with("<svg") || lower.contains("<script") || lower.contains("<foreignobject") {
        return None;
    }
    let mut out = svg.to_string();
    for attr in
        [" xmlns=\"http://www.w3.org/2000/svg\"", " xmlns:xlink=\"http://www.w3.org/1999/xlink\""]
    {
        out = out.replacen(attr, "", 1);
    }
    // Anything else that names a URL is not ours: refuse it rather than fetch it.
    let lower = out.to_ascii_lowercase();
    if lower.contains("http:") || lower.contains("https:") || lower.contains("href") {
        return None;
    }
    Some(out.replacen("<svg", "<svg role=\"img\"", 1))
}

/// A relative link to a PNG, or `None` when the name is absolute or names a scheme.
pub(crate) fn png_href(name: &str) -> Option<String> {
    let bad = name.is_empty()
        || name.contains(':')
        || name.starts_with('/')
        || name.starts_with('\\')
        || name.chars().any(char::is_control);
    (!bad).then(|| escape(name))
}

/// Escapes text for a Markdown table cell or a line of prose: `\`, `|`, backticks and `*`
/// are backslash-escaped, a `<` that could open an HTML tag becomes `&lt;`, line breaks
/// become spaces and other control and text-direction characters are dropped. `>` needs nothing inside a line,
/// so bounds such as `> 10 µM` stay readable in the raw text.
pub(crate) fn md(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut chars = s.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '\\' | '|' | '`' | '*' => {
                out.push('\\');
                out.push(c);
            }
            '<' if chars
                .peek()
                .is_some_and(|n| n.is_ascii_alphabetic() || matches!(n, '/' | '!' | '?')) =>
            {
                out.push_str("&lt;");
            }
            '\r' | '\n' => out.push(' '),
            c if crate::units::is_unsafe_char(c) => {}
            c => out.push(c),
        }
    }
    out
}

pub(crate) fn table_row(cells: &[String]) -> String {
    format!("| {} |\n", cells.join(" | "))
}

/// A link destination: wrapped in `<>` when it contains spaces or parentheses.
pub(crate) fn link_target(path: &str) -> String {
    if path.contains([' ', '(', ')']) {
        format!("<{}>", path.replace(['<', '>'], ""))
    } else {
        path.to_string()
    }
}

/// What a target's radioligand (or substrate) line says: `[3H]ketanserin at 1 nM, Kd 0.4 nM`;
/// for uptake `[3H]5-HT: [S] 20 nM, Km 500 nM`; without [L] and Kd (an IC50-only target, a
/// [35S]GTPγS target) the name alone, or `IC50 only` without a name.
#[must_use]
pub fn ligand_text(t: &TargetRow) -> String {
    let known = t.radioligand_nm.is_finite() && t.kd_nm.is_finite();
    let kind = super::words::AssayKind::from_name(&t.assay);
    match (known, kind, t.radioligand.is_empty()) {
        (true, super::words::AssayKind::Uptake, _) => format!(
            "{}: [S] {} nM, Km {} nM",
            t.radioligand,
            nm_number(t.radioligand_nm),
            nm_number(t.kd_nm)
        ),
        (true, ..) => {
            format!(
                "{} at {} nM, Kd {} nM",
                t.radioligand,
                nm_number(t.radioligand_nm),
                nm_number(t.kd_nm)
            )
        }
        (false, k, true) if k.reports_ki() => "IC50 only".to_string(),
        (false, k, false) if k.reports_ki() => format!("{} (IC50 only)", t.radioligand),
        (false, ..) => t.radioligand.clone(),
    }
}

/// `<th>` cells of a header row.
pub(crate) fn head_row(cols: &[(&str, bool)]) -> String {
    let mut s = String::from("<thead><tr>");
    for (c, num) in cols {
        let class = if *num { " class=\"num\"" } else { "" };
        let _ = write!(s, "<th scope=\"col\"{class}>{}</th>", escape(c));
    }
    s.push_str("</tr></thead>");
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn untrusted_svg_is_not_inlined() {
        assert_eq!(inline_svg("<div>x</div>"), None);
        assert_eq!(inline_svg("<svg><script>x</script></svg>"), None);
        assert_eq!(inline_svg("<svg><image href=\"https://x/y.png\"/></svg>"), None);
        assert_eq!(png_href("javascript:alert(1)"), None);
        assert_eq!(png_href("/etc/passwd"), None);
    }
}
