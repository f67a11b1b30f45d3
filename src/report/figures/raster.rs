//! The PNG of a figure, drawn from the same drawing commands as its SVG.
//!
//! [`super::svg::FineSvg`] hands every command it writes into the SVG document to a
//! [`Canvas`] as well: a tiny-skia pixmap at the PNG's scale, white, on which lines, rectangles,
//! polylines, circles and polygons are drawn anti-aliased with the SVG's paint (stroke widths,
//! butt caps, round joins for polylines, opacity), what resvg draws for the same elements, but
//! not all through tiny-skia's path filler, which costs far more per figure than the figure
//! needs:
//!
//! - axis-aligned rectangles and strokes (grid lines, ticks, error bars, heat-map wells,
//!   colour bars) are boxes filled with exact area coverage (the same pixels as a path to
//!   within its quarter-pixel sampling);
//! - polygons (the confidence band, markers) are filled with exact area coverage and
//!   polylines and slanted lines (the fitted curve) stroked with distance coverage, row by
//!   row, by [`super::scan`];
//! - circles (point markers) are tiny-skia paths rendered once per radius, outline and
//!   quarter-pixel offset and cached per thread, then composited; a circle of over 48 px is a
//!   path;
//! - text is laid out as an SVG renderer lays out the `<text>` the backend writes: the bundled
//!   DejaVu Sans, advances and the font's `kern` pairs, `text-anchor`, `dy` in `em` and `ex`
//!   (½ em, as resvg), rotated about its anchor. Glyphs are the font's outlines filled with
//!   anti-aliasing (tiny-skia), rendered once per glyph, size and quarter-pixel offset and
//!   cached per thread, then composited, so text costs a copy, not a fill.
//!
//! A thread keeps the pixmaps of its last figures and clears one for the next figure of the
//! same size instead of allocating it. [`Canvas::encode_png`] writes an 8-bit RGB PNG (the
//! canvas is opaque), rows filtered `Up` when they repeat the row above and `Sub` otherwise,
//! compressed by fdeflate's fast compressor.

use std::cell::RefCell;
use std::collections::HashMap;
use std::rc::Rc;
use std::sync::OnceLock;

use plotters_backend::BackendColor;
use tiny_skia::{
    Color, FillRule, LineCap, LineJoin, Mask, Paint, Path, PathBuilder, Pixmap, Rect, Stroke,
    Transform,
};
use ttf_parser::{Face, GlyphId};

use super::scan::{self, Target, alpha_u8, blend_pixel, blend_row};

/// Horizontal alignment of a text at its anchor (SVG `text-anchor`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Align {
    Start,
    Middle,
    End,
}

/// A text to draw: position and size in drawing units (user units × `SUBPIXELS`), except
/// `size`, the SVG `font-size` in user units as written; `dy_em` is the baseline shift in em;
/// `angle` the clockwise rotation in degrees about the anchor (0, 90, 180, 270).
pub(super) struct TextRun<'a> {
    pub text: &'a str,
    pub pos: (i32, i32),
    pub size: f64,
    pub align: Align,
    pub dy_em: f64,
    pub angle: u16,
    pub colour: BackendColor,
}

/// A white pixmap at the PNG's size and the factor from drawing units to its pixels.
pub(super) struct Canvas {
    pixmap: Pixmap,
    /// Pixels per drawing unit in x and y.
    k: (f32, f32),
    /// Pixels per user unit (font sizes are in user units).
    unit: f32,
    /// Nothing drawn yet: the canvas is all white (a white background needs no fill).
    blank: bool,
}

/// Largest pixmap (bytes) a thread keeps for a later figure: 8 MiB, a figure at scale 2.
const SPARE_LIMIT: usize = 8 << 20;
/// Pixmaps a thread keeps (the curve and residual figures alternate sizes).
const SPARES: usize = 4;

thread_local! {
    /// Pixmaps of this thread's last figures, cleared and reused by the next one of the same
    /// size (allocating and zeroing 1.9 MB per figure cost as much as clearing it twice).
    static SPARE: RefCell<Vec<Pixmap>> = const { RefCell::new(Vec::new()) };
}

impl Drop for Canvas {
    fn drop(&mut self) {
        if self.pixmap.data().len() <= SPARE_LIMIT
            && let Some(tiny) = Pixmap::new(1, 1)
        {
            let pixmap = std::mem::replace(&mut self.pixmap, tiny);
            SPARE.with(|s| {
                let mut s = s.borrow_mut();
                if s.len() >= SPARES {
                    s.remove(0);
                }
                s.push(pixmap);
            });
        }
    }
}

impl Canvas {
    /// A white canvas for a figure of `size` user units at `scale` (1.0 = one pixel a unit),
    /// whose drawing units are `subpixels` to a user unit.
    ///
    /// # Errors
    /// When the pixmap cannot be made (zero or huge size).
    pub(super) fn new(size: (u32, u32), scale: f64, subpixels: u32) -> Result<Self, String> {
        let dim = |v: u32| (f64::from(v) * scale).round().max(1.0) as u32;
        let (w, h) = (dim(size.0), dim(size.1));
        let spare = SPARE.with(|s| {
            let mut s = s.borrow_mut();
            let i = s.iter().position(|p| (p.width(), p.height()) == (w, h))?;
            Some(s.remove(i))
        });
        let mut pixmap = match spare {
            Some(p) => p,
            None => Pixmap::new(w, h).ok_or_else(|| format!("no {w} x {h} pixel image"))?,
        };
        pixmap.fill(Color::WHITE);
        let sub = subpixels as f32;
        let k = (w as f32 / (size.0.max(1) as f32 * sub), h as f32 / (size.1.max(1) as f32 * sub));
        Ok(Self { pixmap, k, unit: k.0 * sub, blank: true })
    }

    fn pt(&self, p: (i32, i32)) -> (f32, f32) {
        (p.0 as f32 * self.k.0, p.1 as f32 * self.k.1)
    }

    /// A stroke width in drawing units, in pixels.
    fn width(&self, w: u32) -> f32 {
        w as f32 * self.k.0
    }

    /// Whether a rectangle from `a` to `b` covers the whole canvas (the background every
    /// figure paints first, already there).
    fn covers_all(&self, a: (f32, f32), b: (f32, f32)) -> bool {
        let (w, h) = (self.pixmap.width() as f32, self.pixmap.height() as f32);
        a.0 <= 0.0 && a.1 <= 0.0 && b.0 >= w && b.1 >= h
    }

    fn stroke(&mut self, path: &Path, c: BackendColor, width: u32, join: LineJoin) {
        let stroke = Stroke {
            width: self.width(width),
            miter_limit: 4.0,
            line_cap: LineCap::Butt,
            line_join: join,
            dash: None,
        };
        self.blank = false;
        self.pixmap.stroke_path(path, &paint(c), &stroke, Transform::identity(), None);
    }

    fn fill(&mut self, path: &Path, c: BackendColor) {
        self.blank = false;
        self.pixmap.fill_path(path, &paint(c), FillRule::Winding, Transform::identity(), None);
    }

    /// A straight line (SVG `<line>`).
    pub(super) fn line(&mut self, a: (i32, i32), b: (i32, i32), c: BackendColor, width: u32) {
        if self.straight(a, b, c, width) {
            return;
        }
        self.stroke_poly(&[a, b], c, width);
    }

    /// A rectangle between two corners, filled or outlined with `width` (SVG `<rect>`).
    pub(super) fn rect(
        &mut self,
        a: (i32, i32),
        b: (i32, i32),
        c: BackendColor,
        outline: Option<u32>,
    ) {
        let (a, b) = (self.pt(a), self.pt(b));
        if outline.is_none() && c.alpha >= 1.0 && self.covers_all(a, b) {
            if !(self.blank && c.rgb == (255, 255, 255)) {
                self.pixmap.fill(Color::from_rgba8(c.rgb.0, c.rgb.1, c.rgb.2, 255));
                self.blank = false;
            }
            return;
        }
        let Some(r) = Rect::from_ltrb(a.0.min(b.0), a.1.min(b.1), a.0.max(b.0), a.1.max(b.1))
        else {
            return;
        };
        let (x0, y0, x1, y1) = (r.left(), r.top(), r.right(), r.bottom());
        match outline {
            None => self.fill_box(x0, y0, x1, y1, c),
            Some(w) => {
                // Four bands that meet without overlapping: a miter-joined outline.
                let h = self.width(w) / 2.0;
                self.fill_box(x0 - h, y0 - h, x1 + h, y0 + h, c);
                self.fill_box(x0 - h, y1 - h, x1 + h, y1 + h, c);
                self.fill_box(x0 - h, y0 + h, x0 + h, y1 - h, c);
                self.fill_box(x1 - h, y0 + h, x1 + h, y1 - h, c);
            }
        }
    }

    /// A horizontal or vertical stroke with butt caps is a box: drawn by [`Canvas::fill_box`]
    /// (`true`), or left to tiny-skia (`false`, any other direction).
    fn straight(&mut self, a: (i32, i32), b: (i32, i32), c: BackendColor, width: u32) -> bool {
        if a.0 != b.0 && a.1 != b.1 {
            return false;
        }
        let (a, b) = (self.pt(a), self.pt(b));
        let h = self.width(width) / 2.0;
        if a.1 == b.1 {
            self.fill_box(a.0.min(b.0), a.1 - h, a.0.max(b.0), a.1 + h, c);
        } else {
            self.fill_box(a.0 - h, a.1.min(b.1), a.0 + h, a.1.max(b.1), c);
        }
        true
    }

    /// Fills the box from `(x0, y0)` to `(x1, y1)` pixels with `c`, each pixel covered by the
    /// area of the box over it (exact anti-aliasing of an axis-aligned rectangle).
    fn fill_box(&mut self, x0: f32, y0: f32, x1: f32, y1: f32, c: BackendColor) {
        let (w, h) = (self.pixmap.width() as f32, self.pixmap.height() as f32);
        let (x0, x1) = (x0.max(0.0), x1.min(w));
        let (y0, y1) = (y0.max(0.0), y1.min(h));
        if !(x1 > x0 && y1 > y0) {
            return;
        }
        self.blank = false;
        let alpha = c.alpha.clamp(0.0, 1.0) as f32 * 255.0;
        let stride = self.pixmap.width() as usize * 4;
        let data = self.pixmap.data_mut();
        let (cx0, cx1) = (x0.floor() as usize, (x1.ceil() as usize).min(w as usize));
        // Coverage of each column (edges partial, the inside whole), computed once; a row
        // wholly inside the box uses it as it is (`a` of its pixels, rounded), an edge row
        // scales it by the row's share.
        let cover: Vec<f32> =
            (cx0..cx1).map(|px| x1.min(px as f32 + 1.0) - x0.max(px as f32)).collect();
        let inner: Vec<u32> = cover.iter().map(|&cx| alpha_u8(cx * alpha)).collect();
        // The columns an inside row covers whole with an opaque colour (one run: the box's
        // partial columns are its first and last).
        let solid =
            match (inner.iter().position(|&a| a >= 255), inner.iter().rposition(|&a| a >= 255)) {
                (Some(s), Some(e)) if inner[s..=e].iter().all(|&a| a >= 255) => s..e + 1,
                _ => 0..0,
            };
        let mut edge: Vec<u32> = Vec::new();
        for py in y0.floor() as usize..(y1.ceil() as usize).min(h as usize) {
            let cy = y1.min(py as f32 + 1.0) - y0.max(py as f32);
            let a_row = if cy >= 1.0 {
                &inner
            } else {
                edge.clear();
                edge.extend(cover.iter().map(|&cx| alpha_u8(cx * cy * alpha)));
                &edge
            };
            let line = &mut data[py * stride + cx0 * 4..py * stride + cx1 * 4];
            // Whole pixels of an opaque colour are a plain fill; the rest blend.
            if cy >= 1.0 && solid.len() > 2 {
                let (head, rest) = line.split_at_mut(solid.start * 4);
                let (mid, tail) = rest.split_at_mut(solid.len() * 4);
                blend_row(head, a_row[..solid.start].iter().copied(), c.rgb);
                let px = [c.rgb.0, c.rgb.1, c.rgb.2, 255];
                for d in mid.chunks_exact_mut(4) {
                    d.copy_from_slice(&px);
                }
                blend_row(tail, a_row[solid.end..].iter().copied(), c.rgb);
            } else {
                blend_row(line, a_row.iter().copied(), c.rgb);
            }
        }
    }

    /// An open polyline with round joins (SVG `<polyline>`).
    pub(super) fn polyline(&mut self, pts: &[(i32, i32)], c: BackendColor, width: u32) {
        if let [a, b] = pts
            && self.straight(*a, *b, c, width)
        {
            return;
        }
        self.stroke_poly(pts, c, width);
    }

    /// A stroke along `pts` with round joins and butt caps ([`scan::stroke_polyline`]; a
    /// tiny-skia path when it is too large for its mask).
    fn stroke_poly(&mut self, pts: &[(i32, i32)], c: BackendColor, width: u32) {
        let px: Vec<(f32, f32)> = pts.iter().map(|&p| self.pt(p)).collect();
        let w = self.width(width);
        self.blank = false;
        let mut t = self.target();
        if !scan::stroke_polyline(&mut t, &px, w, c.rgb, opacity(c)) {
            if let Some(p) = self.poly_path(pts, false) {
                self.stroke(&p, c, width, LineJoin::Round);
            }
        }
    }

    /// A filled polygon, non-zero rule (SVG `<polygon>`), by exact area coverage
    /// ([`scan::fill_polygon`]).
    pub(super) fn polygon(&mut self, pts: &[(i32, i32)], c: BackendColor) {
        let px: Vec<(f32, f32)> = pts.iter().map(|&p| self.pt(p)).collect();
        self.blank = false;
        let mut t = self.target();
        scan::fill_polygon(&mut t, &px, c.rgb, opacity(c));
    }

    /// The pixmap as a target for [`scan`].
    fn target(&mut self) -> Target<'_> {
        let (width, height) = (self.pixmap.width() as usize, self.pixmap.height() as usize);
        Target { data: self.pixmap.data_mut(), width, height }
    }

    fn poly_path(&self, pts: &[(i32, i32)], close: bool) -> Option<Path> {
        let mut pb = PathBuilder::with_capacity(pts.len() + 1, pts.len());
        for (i, &p) in pts.iter().enumerate() {
            let (x, y) = self.pt(p);
            if i == 0 {
                pb.move_to(x, y);
            } else {
                pb.line_to(x, y);
            }
        }
        if close {
            pb.close();
        }
        pb.finish()
    }

    /// A circle of radius `r` drawing units, filled or outlined with `width` (SVG `<circle>`).
    pub(super) fn circle(
        &mut self,
        centre: (i32, i32),
        r: u32,
        c: BackendColor,
        outline: Option<u32>,
    ) {
        let (x, y) = self.pt(centre);
        let radius = r as f32 * self.k.0;
        let width = outline.map(|w| self.width(w));
        if radius > MAX_MARKER_RADIUS {
            let Some(p) = PathBuilder::from_circle(x, y, radius) else {
                return;
            };
            match outline {
                None => self.fill(&p, c),
                Some(w) => self.stroke(&p, c, w, LineJoin::Miter),
            }
            return;
        }
        // A marker: the same circle at the same quarter-pixel offset is rendered once per
        // thread and composited like a glyph.
        let (ix, fx) = quarter(x);
        let (iy, fy) = quarter(y);
        let key = MarkerKey { radius: radius.to_bits(), width: width.map(f32::to_bits), fx, fy };
        self.blank = false;
        let alpha = (c.alpha.clamp(0.0, 1.0) * 255.0).round() as u32;
        let mask = MARKERS.with(|cache| {
            let mut cache = cache.borrow_mut();
            if cache.len() > 10_000 {
                cache.clear();
            }
            cache
                .entry(key)
                .or_insert_with(|| Rc::new(GlyphMask::circle(radius, width, fx, fy)))
                .clone()
        });
        blend_mask(&mut self.pixmap, &mask, (ix, iy), c.rgb, alpha);
    }

    /// A text run, laid out and composited from cached glyph masks.
    pub(super) fn text(&mut self, run: &TextRun<'_>) {
        let Some(face) = face() else { return };
        let text = collapse_spaces(run.text);
        if text.is_empty() {
            return;
        }
        // Font size in pixels and the font-unit scale.
        let px = run.size as f32 * self.unit;
        let upem = f32::from(face.units_per_em());
        let s = px / upem;
        let glyphs = layout(face, &text);
        let width = glyphs.last().map_or(0.0, |g| g.1 + g.2) * s;
        let start = match run.align {
            Align::Start => 0.0,
            Align::Middle => -width / 2.0,
            Align::End => -width,
        };
        let dy = (run.dy_em as f32) * px;
        let (cos, sin) = match run.angle % 360 {
            90 => (0.0, 1.0),
            180 => (-1.0, 0.0),
            270 => (0.0, -1.0),
            _ => (1.0, 0.0),
        };
        let (ax, ay) = self.pt(run.pos);
        let colour = run.colour;
        self.blank = false;
        let alpha = (colour.alpha.clamp(0.0, 1.0) * 255.0).round() as u32;
        GLYPHS.with(|cache| {
            let mut cache = cache.borrow_mut();
            if cache.len() > 100_000 {
                cache.clear();
            }
            for &(gid, x_units, _) in &glyphs {
                // The glyph origin in the text's own frame, then rotated about the anchor.
                let (lx, ly) = (start + x_units * s, dy);
                let (gx, gy) = (ax + lx * cos - ly * sin, ay + lx * sin + ly * cos);
                let (ix, fx) = quarter(gx);
                let (iy, fy) = quarter(gy);
                let key = GlyphKey { gid: gid.0, px: px.to_bits(), angle: run.angle, fx, fy };
                let mask = cache
                    .entry(key)
                    .or_insert_with(|| Rc::new(GlyphMask::render(face, gid, s, (cos, sin), fx, fy)))
                    .clone();
                blend_mask(&mut self.pixmap, &mask, (ix, iy), colour.rgb, alpha);
            }
        });
    }

    /// The canvas as an 8-bit RGB PNG, compressed by fdeflate (its fast compressor: runs of
    /// zero bytes and a fixed code for PNG-filtered data). Each row is filtered `Up` when it
    /// repeats the row above (all zeros), `Sub` otherwise.
    ///
    /// # Errors
    /// The compressor's message.
    pub(super) fn encode_png(&self) -> Result<Vec<u8>, String> {
        let (w, h) = (self.pixmap.width(), self.pixmap.height());
        let row = w as usize * 3;
        let mut out = Vec::with_capacity(64 * 1024);
        out.extend_from_slice(b"\x89PNG\r\n\x1a\n");
        let mut ihdr = [0u8; 13];
        ihdr[..4].copy_from_slice(&w.to_be_bytes());
        ihdr[4..8].copy_from_slice(&h.to_be_bytes());
        // 8 bits per sample, colour type 2 (RGB), deflate, adaptive filtering, no interlace.
        ihdr[8..].copy_from_slice(&[8, 2, 0, 0, 0]);
        png_chunk(&mut out, *b"IHDR", &ihdr);
        let e = |e: std::io::Error| e.to_string();
        let mut z = fdeflate::Compressor::new(Vec::with_capacity(64 * 1024)).map_err(e)?;
        let mut line = vec![0u8; row + 1];
        let mut prev: &[u8] = &[];
        for px in self.pixmap.data().chunks_exact(w as usize * 4) {
            // Opaque throughout (white, then paint over it): premultiplied equals straight.
            if px == prev {
                line[0] = 2;
                line[1..].fill(0);
            } else {
                line[0] = 1;
                line[1..4].copy_from_slice(&px[..3]);
                for (d, (a, b)) in line[4..]
                    .chunks_exact_mut(3)
                    .zip(px[4..].chunks_exact(4).zip(px.chunks_exact(4)))
                {
                    d[0] = a[0].wrapping_sub(b[0]);
                    d[1] = a[1].wrapping_sub(b[1]);
                    d[2] = a[2].wrapping_sub(b[2]);
                }
            }
            z.write_data(&line).map_err(e)?;
            prev = px;
        }
        let idat = z.finish().map_err(e)?;
        png_chunk(&mut out, *b"IDAT", &idat);
        png_chunk(&mut out, *b"IEND", &[]);
        Ok(out)
    }
}

/// Appends a PNG chunk: length, type, data, CRC-32 of type and data.
fn png_chunk(out: &mut Vec<u8>, kind: [u8; 4], data: &[u8]) {
    out.extend_from_slice(&u32::try_from(data.len()).unwrap_or(u32::MAX).to_be_bytes());
    let start = out.len();
    out.extend_from_slice(&kind);
    out.extend_from_slice(data);
    let crc = crc32fast::hash(&out[start..]);
    out.extend_from_slice(&crc.to_be_bytes());
}

/// The colour's opacity in 0.0..=255.0.
fn opacity(c: BackendColor) -> f32 {
    (c.alpha.clamp(0.0, 1.0) * 255.0) as f32
}

/// A solid paint of the backend colour, anti-aliased.
fn paint(c: BackendColor) -> Paint<'static> {
    let mut p = Paint::default();
    let a = (c.alpha.clamp(0.0, 1.0) * 255.0).round() as u8;
    p.set_color_rgba8(c.rgb.0, c.rgb.1, c.rgb.2, a);
    p.anti_alias = true;
    p
}

/// SVG's default white-space handling (`xml:space="default"`): tabs and line breaks become
/// spaces, runs of spaces one, and leading and trailing spaces go.
fn collapse_spaces(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        let c = if matches!(c, '\t' | '\n' | '\r') { ' ' } else { c };
        if c == ' ' && (out.is_empty() || out.ends_with(' ')) {
            continue;
        }
        out.push(c);
    }
    if out.ends_with(' ') {
        out.pop();
    }
    out
}

/// The bundled font, parsed once.
fn face() -> Option<&'static Face<'static>> {
    static FACE: OnceLock<Option<Face<'static>>> = OnceLock::new();
    FACE.get_or_init(|| Face::parse(super::FONT_BYTES, 0).ok()).as_ref()
}

/// Glyphs of `text` with their pen position and advance in font units: each advance plus the
/// font's `kern` pair value with the next glyph.
fn layout(face: &Face<'_>, text: &str) -> Vec<(GlyphId, f32, f32)> {
    let kern = face.tables().kern;
    let mut out: Vec<(GlyphId, f32, f32)> = Vec::with_capacity(text.len());
    let mut x = 0.0f32;
    let mut prev: Option<GlyphId> = None;
    for ch in text.chars() {
        let gid = face.glyph_index(ch).unwrap_or(GlyphId(0));
        if let (Some(p), Some(k)) = (prev, kern) {
            let adj = k
                .subtables
                .into_iter()
                .filter(|t| t.horizontal && !t.variable && !t.has_cross_stream)
                .find_map(|t| t.glyphs_kerning(p, gid));
            if let Some(adj) = adj {
                x += f32::from(adj);
                if let Some(last) = out.last_mut() {
                    last.2 += f32::from(adj);
                }
            }
        }
        let adv = f32::from(face.glyph_hor_advance(gid).unwrap_or(0));
        out.push((gid, x, adv));
        x += adv;
        prev = Some(gid);
    }
    out
}

/// A pixel coordinate split into its whole pixel and its offset in quarters of a pixel.
fn quarter(v: f32) -> (i32, u8) {
    let f = v.floor();
    let q = ((v - f) * 4.0).round() as i32;
    if q >= 4 { (f as i32 + 1, 0) } else { (f as i32, q as u8) }
}

/// A rendered glyph: which glyph, at which pixel size (`f32` bits), rotation and
/// quarter-pixel offset.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
struct GlyphKey {
    gid: u16,
    px: u32,
    angle: u16,
    fx: u8,
    fy: u8,
}

/// A glyph's anti-aliased coverage, `left`/`top` pixels from its origin's whole pixel.
struct GlyphMask {
    left: i32,
    top: i32,
    width: usize,
    data: Vec<u8>,
}

/// Largest circle (radius in pixels) drawn from a cached mask; larger ones are filled as paths.
const MAX_MARKER_RADIUS: f32 = 48.0;

/// A rendered circle: radius and outline width in pixels (`f32` bits; no width: filled) and
/// the quarter-pixel offset of its centre.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
struct MarkerKey {
    radius: u32,
    width: Option<u32>,
    fx: u8,
    fy: u8,
}

thread_local! {
    /// Rendered circles (point markers) of this thread.
    static MARKERS: RefCell<HashMap<MarkerKey, Rc<GlyphMask>>> = RefCell::new(HashMap::new());
    /// Rendered glyphs of this thread (figures are drawn by a few rayon threads).
    static GLYPHS: RefCell<HashMap<GlyphKey, Rc<GlyphMask>>> = RefCell::new(HashMap::new());
}

/// Builds a tiny-skia path from a glyph outline in font units (y up).
struct Outline(PathBuilder);

impl ttf_parser::OutlineBuilder for Outline {
    fn move_to(&mut self, x: f32, y: f32) {
        self.0.move_to(x, y);
    }
    fn line_to(&mut self, x: f32, y: f32) {
        self.0.line_to(x, y);
    }
    fn quad_to(&mut self, x1: f32, y1: f32, x: f32, y: f32) {
        self.0.quad_to(x1, y1, x, y);
    }
    fn curve_to(&mut self, x1: f32, y1: f32, x2: f32, y2: f32, x: f32, y: f32) {
        self.0.cubic_to(x1, y1, x2, y2, x, y);
    }
    fn close(&mut self) {
        self.0.close();
    }
}

impl GlyphMask {
    const EMPTY: GlyphMask = GlyphMask { left: 0, top: 0, width: 0, data: Vec::new() };

    /// The glyph's outline scaled by `s` (font units to pixels, y flipped), rotated by
    /// `(cos, sin)`, its origin at `(fx, fy)` quarters of a pixel, filled anti-aliased with
    /// the non-zero rule (as resvg fills text).
    fn render(
        face: &Face<'_>,
        gid: GlyphId,
        s: f32,
        (cos, sin): (f32, f32),
        fx: u8,
        fy: u8,
    ) -> Self {
        let mut b = Outline(PathBuilder::new());
        if face.outline_glyph(gid, &mut b).is_none() {
            return Self::EMPTY;
        }
        let Some(path) = b.0.finish() else { return Self::EMPTY };
        let (ox, oy) = (f32::from(fx) / 4.0, f32::from(fy) / 4.0);
        // x' = ox + s(cos·x + sin·y), y' = oy + s(sin·x − cos·y): scale, flip y, rotate.
        let ts = Transform::from_row(s * cos, s * sin, s * sin, -s * cos, ox, oy);
        let Some(b) = path.bounds().transform(ts) else { return Self::EMPTY };
        let (left, top) = (b.left().floor() as i32 - 1, b.top().floor() as i32 - 1);
        let (right, bottom) = (b.right().ceil() as i32 + 1, b.bottom().ceil() as i32 + 1);
        let (w, h) = ((right - left).max(1) as u32, (bottom - top).max(1) as u32);
        let Some(mut mask) = Mask::new(w, h) else { return Self::EMPTY };
        let ts = ts.post_translate(-left as f32, -top as f32);
        mask.fill_path(&path, FillRule::Winding, true, ts);
        Self { left, top, width: w as usize, data: mask.take() }
    }
}

impl GlyphMask {
    /// A circle of `radius` pixels centred `(fx, fy)` quarters of a pixel from its whole pixel,
    /// filled, or outlined `width` pixels wide, by tiny-skia as [`Canvas::circle`] draws a
    /// larger one (anti-aliased path fill or stroke), its coverage kept as the mask.
    fn circle(radius: f32, width: Option<f32>, fx: u8, fy: u8) -> Self {
        let reach = (radius + width.unwrap_or(0.0) / 2.0).ceil() as i32 + 2;
        let side = (2 * reach + 1) as u32;
        let (cx, cy) = (reach as f32 + f32::from(fx) / 4.0, reach as f32 + f32::from(fy) / 4.0);
        let (Some(mut pm), Some(path)) =
            (Pixmap::new(side, side), PathBuilder::from_circle(cx, cy, radius))
        else {
            return Self::EMPTY;
        };
        let mut paint = Paint::default();
        paint.set_color_rgba8(0, 0, 0, 255);
        paint.anti_alias = true;
        match width {
            None => pm.fill_path(&path, &paint, FillRule::Winding, Transform::identity(), None),
            Some(w) => {
                let stroke = Stroke {
                    width: w,
                    miter_limit: 4.0,
                    line_cap: LineCap::Butt,
                    line_join: LineJoin::Miter,
                    dash: None,
                };
                pm.stroke_path(&path, &paint, &stroke, Transform::identity(), None);
            }
        }
        let data = pm.data().chunks_exact(4).map(|p| p[3]).collect();
        Self { left: -reach, top: -reach, width: side as usize, data }
    }
}

/// Composites `colour` through a glyph mask at whole pixel `(x, y)` onto the opaque pixmap:
/// `d = d + (c − d)·m·α`, per channel in 8 bits.
fn blend_mask(
    pixmap: &mut Pixmap,
    mask: &GlyphMask,
    (x, y): (i32, i32),
    rgb: (u8, u8, u8),
    alpha: u32,
) {
    if mask.width == 0 {
        return;
    }
    let (pw, ph) = (pixmap.width() as i32, pixmap.height() as i32);
    let stride = pw as usize * 4;
    let data = pixmap.data_mut();
    // The mask's columns that fall on the pixmap, the same for every row.
    let x0 = x + mask.left;
    let c0 = (-x0).clamp(0, mask.width as i32) as usize;
    let c1 = (pw - x0).clamp(0, mask.width as i32) as usize;
    if c0 >= c1 {
        return;
    }
    for (row, line) in mask.data.chunks_exact(mask.width).enumerate() {
        let py = y + mask.top + row as i32;
        if !(0..ph).contains(&py) {
            continue;
        }
        let start = py as usize * stride + (x0 + c0 as i32) as usize * 4;
        let dst = &mut data[start..start + (c1 - c0) * 4];
        for (d, &m) in dst.chunks_exact_mut(4).zip(&line[c0..c1]) {
            if m != 0 {
                blend_pixel(d, rgb, (u32::from(m) * alpha + 127) / 255);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use resvg::usvg;

    use super::*;
    use crate::report::figures::curve::tests::curve;
    use crate::report::figures::{CurveFigure, Figure, ResidualFigure, render};

    /// The SVG document rendered by resvg with the bundled font only, as RGB bytes.
    fn resvg_rgb(svg: &str, scale: f32) -> (u32, u32, Vec<u8>) {
        let mut db = usvg::fontdb::Database::new();
        db.load_font_data(super::super::FONT_BYTES.to_vec());
        db.set_sans_serif_family("DejaVu Sans");
        let opt = usvg::Options {
            font_family: "DejaVu Sans".to_string(),
            fontdb: Arc::new(db),
            ..usvg::Options::default()
        };
        let tree = usvg::Tree::from_str(svg, &opt).expect("svg parses");
        let (w, h) = (
            (tree.size().width() * scale).round() as u32,
            (tree.size().height() * scale).round() as u32,
        );
        let mut pm = Pixmap::new(w, h).expect("pixmap");
        pm.fill(Color::WHITE);
        resvg::render(&tree, Transform::from_scale(scale, scale), &mut pm.as_mut());
        let rgb = pm.data().chunks_exact(4).flat_map(|p| [p[0], p[1], p[2]]).collect();
        (w, h, rgb)
    }

    /// Mean absolute difference per channel (0..255) and the share of pixels whose largest
    /// channel difference exceeds 96, between the figure's PNG and its SVG drawn by resvg.
    fn difference(fig: &impl Figure, scale: f64) -> (f64, f64) {
        let (svg, png) = render(fig, Some(scale)).expect("render");
        let ours = Pixmap::decode_png(&png.expect("png")).expect("decode");
        let (w, h, theirs) = resvg_rgb(&svg, scale as f32);
        assert_eq!((ours.width(), ours.height()), (w, h));
        // `RADBIND_PLOT_SAMPLES=/tmp/p cargo test --lib raster` keeps both for looking at.
        if let Some(dir) = std::env::var_os("RADBIND_PLOT_SAMPLES") {
            let dir = std::path::PathBuf::from(dir);
            let name = format!("{}_x{scale}", crate::units::safe_name(&fig.name()));
            std::fs::write(dir.join(format!("{name}_png.png")), ours.encode_png().expect("png"))
                .expect("write");
            let mut pm = Pixmap::new(w, h).expect("pixmap");
            for (d, s) in pm.data_mut().chunks_exact_mut(4).zip(theirs.chunks_exact(3)) {
                d.copy_from_slice(&[s[0], s[1], s[2], 255]);
            }
            std::fs::write(dir.join(format!("{name}_resvg.png")), pm.encode_png().expect("png"))
                .expect("write");
        }
        let mut sum = 0u64;
        let mut far = 0usize;
        for (a, b) in ours.data().chunks_exact(4).zip(theirs.chunks_exact(3)) {
            let d: Vec<u32> = (0..3).map(|i| u32::from(a[i].abs_diff(b[i]))).collect();
            sum += u64::from(d.iter().sum::<u32>());
            far += usize::from(d.iter().any(|&x| x > 96));
        }
        let n = f64::from(w * h);
        let (mean, far) = (sum as f64 / (3.0 * n), far as f64 / n);
        eprintln!("{} at {scale}: mean difference {mean:.3}, far {far:.5}", fig.name());
        (mean, far)
    }

    /// The PNG is the SVG: drawn from the same commands, it matches resvg's rendering of the
    /// SVG document to within anti-aliasing (a mean difference under one level in 255, and
    /// almost no pixel far off), at scale 1 and 2, text included.
    #[test]
    fn png_matches_the_svg_rendered_by_resvg() {
        let c = curve();
        for scale in [1.0, 2.0] {
            let (mean, far) = difference(&CurveFigure::new(&c), scale);
            assert!(mean < 1.0 && far < 0.002, "curve at {scale}: mean {mean:.3}, far {far:.4}");
            let (mean, far) = difference(&ResidualFigure { curve: &c }, scale);
            assert!(
                mean < 1.0 && far < 0.002,
                "residuals at {scale}: mean {mean:.3}, far {far:.4}"
            );
        }
    }

    #[test]
    fn white_space_collapses_as_in_svg() {
        assert_eq!(collapse_spaces("  a\t b\n"), "a b");
        assert_eq!(collapse_spaces(""), "");
        assert_eq!(quarter(2.9), (3, 0));
        assert_eq!(quarter(-0.25), (-1, 3));
    }
}
