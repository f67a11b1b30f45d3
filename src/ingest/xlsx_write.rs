//! A one-sheet XLSX writer, for simulated concentration tables (`radbind simulate`) and tests.
//!
//! Owns the smallest workbook Excel, LibreOffice and calamine open: a ZIP of stored
//! (uncompressed) parts (content types, relationships, the workbook, one worksheet) with
//! numbers as numbers and text as inline strings. No styles, no shared strings.

use std::fmt::Write as _;

/// One cell of a sheet row.
#[derive(Debug, Clone, PartialEq)]
pub enum XlsxCell {
    /// Text (written as an inline string, XML-escaped).
    Text(String),
    /// A number (written with Rust's shortest round-trip form).
    Number(f64),
    /// Nothing in this cell.
    Empty,
}

/// The workbook bytes of one sheet named `sheet` holding `rows` (row 1 first).
#[must_use]
pub fn write_sheet(sheet: &str, rows: &[Vec<XlsxCell>]) -> Vec<u8> {
    let mut xml = String::from(
        r#"<?xml version="1.0" encoding="UTF-8" standalone="yes"?><worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"><sheetData>"#,
    );
    for (i, row) in rows.iter().enumerate() {
        let r = i + 1;
        let _ = write!(xml, r#"<row r="{r}">"#);
        for (j, cell) in row.iter().enumerate() {
            let at = format!("{}{r}", column_letters(j));
            match cell {
                XlsxCell::Text(t) => {
                    let _ = write!(
                        xml,
                        r#"<c r="{at}" t="inlineStr"><is><t>{}</t></is></c>"#,
                        escape(t)
                    );
                }
                XlsxCell::Number(v) if v.is_finite() => {
                    let _ = write!(xml, r#"<c r="{at}"><v>{v}</v></c>"#);
                }
                XlsxCell::Number(_) | XlsxCell::Empty => {}
            }
        }
        xml.push_str("</row>");
    }
    xml.push_str("</sheetData></worksheet>");
    let workbook = format!(
        r#"<?xml version="1.0" encoding="UTF-8" standalone="yes"?><workbook xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/relationships"><sheets><sheet name="{}" sheetId="1" r:id="rId1"/></sheets></workbook>"#,
        escape(sheet)
    );
    let parts: [(&str, String); 5] = [
        (
            "[Content_Types].xml",
            r#"<?xml version="1.0" encoding="UTF-8" standalone="yes"?><Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types"><Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/><Default Extension="xml" ContentType="application/xml"/><Override PartName="/xl/workbook.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"/><Override PartName="/xl/worksheets/sheet1.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml"/></Types>"#.to_string(),
        ),
        (
            "_rels/.rels",
            r#"<?xml version="1.0" encoding="UTF-8" standalone="yes"?><Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships"><Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/officeDocument" Target="xl/workbook.xml"/></Relationships>"#.to_string(),
        ),
        ("xl/workbook.xml", workbook),
        (
            "xl/_rels/workbook.xml.rels",
            r#"<?xml version="1.0" encoding="UTF-8" standalone="yes"?><Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships"><Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/worksheet" Target="worksheets/sheet1.xml"/></Relationships>"#.to_string(),
        ),
        ("xl/worksheets/sheet1.xml", xml),
    ];
    stored_zip(&parts)
}

/// Column letters of a 0-based column: 0 -> `A`, 26 -> `AA`.
fn column_letters(mut j: usize) -> String {
    let mut s = Vec::new();
    loop {
        s.push(b'A' + u8::try_from(j % 26).unwrap_or(0));
        if j < 26 {
            break;
        }
        j = j / 26 - 1;
    }
    s.reverse();
    String::from_utf8(s).unwrap_or_default()
}

/// Text as XML character data.
fn escape(t: &str) -> String {
    t.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;").replace('"', "&quot;")
}

/// CRC-32 (IEEE 802.3, reflected, polynomial 0xEDB88320), as ZIP entries carry.
fn crc32(data: &[u8]) -> u32 {
    let mut crc = !0u32;
    for &b in data {
        crc ^= u32::from(b);
        for _ in 0..8 {
            crc = if crc & 1 == 1 { (crc >> 1) ^ 0xEDB8_8320 } else { crc >> 1 };
        }
    }
    !crc
}

/// A ZIP archive of uncompressed (stored) entries (PKWARE APPNOTE 4.3: local headers, the
/// central directory, its end record). Sizes beyond 4 GiB are not needed here.
fn stored_zip(parts: &[(&str, String)]) -> Vec<u8> {
    fn u16le(v: &mut Vec<u8>, x: usize) {
        v.extend_from_slice(&u16::try_from(x).unwrap_or(u16::MAX).to_le_bytes());
    }
    fn u32le(v: &mut Vec<u8>, x: u32) {
        v.extend_from_slice(&x.to_le_bytes());
    }
    let len32 = |n: usize| u32::try_from(n).unwrap_or(u32::MAX);
    let mut out = Vec::new();
    let mut central = Vec::new();
    for (name, data) in parts {
        let data = data.as_bytes();
        let crc = crc32(data);
        let len = len32(data.len());
        let offset = len32(out.len());
        u32le(&mut out, 0x0403_4b50);
        // Version 2.0, no flags, stored, DOS time 0, date 1980-01-01.
        for x in [20, 0, 0, 0, 0x21] {
            u16le(&mut out, x);
        }
        for x in [crc, len, len] {
            u32le(&mut out, x);
        }
        u16le(&mut out, name.len());
        u16le(&mut out, 0);
        out.extend_from_slice(name.as_bytes());
        out.extend_from_slice(data);
        u32le(&mut central, 0x0201_4b50);
        for x in [20, 20, 0, 0, 0, 0x21] {
            u16le(&mut central, x);
        }
        for x in [crc, len, len] {
            u32le(&mut central, x);
        }
        for x in [name.len(), 0, 0, 0, 0] {
            u16le(&mut central, x);
        }
        u32le(&mut central, 0);
        u32le(&mut central, offset);
        central.extend_from_slice(name.as_bytes());
    }
    let cd_offset = len32(out.len());
    let cd_size = len32(central.len());
    out.extend_from_slice(&central);
    u32le(&mut out, 0x0605_4b50);
    for x in [0, 0, parts.len(), parts.len()] {
        u16le(&mut out, x);
    }
    u32le(&mut out, cd_size);
    u32le(&mut out, cd_offset);
    u16le(&mut out, 0);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn crc_and_letters() {
        assert_eq!(crc32(b"123456789"), 0xCBF4_3926);
        assert_eq!(column_letters(0), "A");
        assert_eq!(column_letters(25), "Z");
        assert_eq!(column_letters(26), "AA");
    }

    #[test]
    fn a_written_table_reads_back() {
        let rows = vec![
            vec![
                XlsxCell::Text("Compound".into()),
                XlsxCell::Text("Concentration (uM)".into()),
                XlsxCell::Text("CPM".into()),
            ],
            vec![XlsxCell::Text("a<&>".into()), XlsxCell::Number(0.0), XlsxCell::Number(2000.0)],
            vec![XlsxCell::Text("a<&>".into()), XlsxCell::Number(0.01), XlsxCell::Number(1500.0)],
        ];
        let bytes = write_sheet("Data", &rows);
        let opts = super::super::ReadOptions::default();
        let plates =
            super::super::read_bytes(std::path::Path::new("t.xlsx"), &bytes, &opts).unwrap();
        assert_eq!(plates.len(), 1);
        assert_eq!(plates[0].label, "Data");
        assert_eq!(plates[0].values[1], Some(1500.0));
        let c = plates[0].meta.contents.as_deref().unwrap();
        assert_eq!(c.rows[1].conc_nm, Some(10.0));
        assert_eq!(c.rows[1].compound.as_deref(), Some("a<&>"));
    }
}
