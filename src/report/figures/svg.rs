//! radbind's SVG backend for plotters, with sub-pixel coordinates, drawing the PNG beside it.
//!
//! plotters hands a backend integer pixel coordinates, so its own SVG backend writes curves as
//! integer polylines (`points="72,135 76,136 …"`) that show stair steps when zoomed or
//! printed. Here a figure is drawn at [`SUBPIXELS`] times its size (the figure's scale `s`
//! multiplied by it) and [`FineSvg`] writes every coordinate, radius, stroke width and font
//! size divided back, in hundredths of a pixel (`72.35,135.12`). The document keeps the
//! figure's size (`width`, `height` and `viewBox` at scale 1).
//!
//! Text keeps plotters' anchoring (`text-anchor`, `dy` of `0.76em` top / `0.5ex` centre /
//! `-0.5ex` bottom) and names the bundled font first (`DejaVu Sans, sans-serif`), the font
//! plotters measures text with, so a browser with DejaVu Sans lays it out as measured.
//!
//! With a [`Canvas`] the backend draws every command it writes on it too, so the PNG is made
//! from the same drawing commands as the SVG, in the same pass ([`super::raster`]).

use std::fmt::Write as _;

use plotters_backend::text_anchor::{HPos, VPos};
use plotters_backend::{
    BackendColor, BackendCoord, BackendStyle, BackendTextStyle, DrawingBackend, DrawingErrorKind,
    FontStyle, FontTransform,
};

use super::raster::{Align, Canvas, TextRun};

/// Drawing units per SVG user unit: coordinates are written to 1/100 px.
pub(super) const SUBPIXELS: u32 = 100;

/// The font family written into every `<text>`: the bundled font, then the generic family.
const FONT_FAMILY: &str = "DejaVu Sans, sans-serif";

/// plotters' text size is in its layout units; SVG's `font-size` is this factor smaller
/// (the same conversion as plotters' own SVG backend, so text measures as drawn).
const FONT_SIZE_FACTOR: f64 = 1.24;

/// The backend: an SVG document written into a string, drawn at [`SUBPIXELS`] times `size`;
/// [`DrawingBackend::present`] closes the document.
pub(super) struct FineSvg<'a> {
    buf: &'a mut String,
    /// The PNG's canvas, drawn with the same commands ([`super::raster`]).
    raster: Option<&'a mut Canvas>,
    /// Size in SVG user units (pixels at scale 1).
    size: (u32, u32),
    closed: bool,
}

/// Never produced: writing to a `String` cannot fail.
#[derive(Debug, thiserror::Error)]
#[error("SVG backend error")]
pub(super) struct SvgError;

impl<'a> FineSvg<'a> {
    /// A document of `size` user units in `buf`; plotters draws on `size × SUBPIXELS`.
    pub(super) fn new(
        buf: &'a mut String,
        size: (u32, u32),
        raster: Option<&'a mut Canvas>,
    ) -> Self {
        buf.reserve(32 * 1024);
        let _ = writeln!(
            buf,
            "<svg width=\"{w}\" height=\"{h}\" viewBox=\"0 0 {w} {h}\" \
             xmlns=\"http://www.w3.org/2000/svg\">",
            w = size.0,
            h = size.1
        );
        Self { buf, raster, size, closed: false }
    }

    fn close(&mut self) {
        if !self.closed {
            self.buf.push_str("</svg>\n");
            self.closed = true;
        }
    }

    /// Colour and opacity attributes of a fill or stroke.
    fn paint(&mut self, attr: &str, c: BackendColor) {
        let (r, g, b) = c.rgb;
        let _ = write!(self.buf, " {attr}=\"#{r:02X}{g:02X}{b:02X}\"");
        if c.alpha < 1.0 {
            let _ = write!(self.buf, " {attr}-opacity=\"{}\"", c.alpha);
        }
    }

    fn stroke_width(&mut self, w: u32) {
        let _ = write!(self.buf, " stroke-width=\"{}\"", Len(i64::from(w)));
    }

    /// A closed shape's paint: filled in the style's colour, or outlined in it.
    fn fill_or_outline<S: BackendStyle>(&mut self, s: &S, fill: bool) {
        if fill {
            self.paint("fill", s.color());
        } else {
            self.buf.push_str(" fill=\"none\"");
            self.paint("stroke", s.color());
            self.stroke_width(s.stroke_width());
        }
    }

    fn points(&mut self, path: impl IntoIterator<Item = BackendCoord>) {
        self.buf.push_str(" points=\"");
        let mut first = true;
        for (x, y) in path {
            if !first {
                self.buf.push(' ');
            }
            first = false;
            let _ = write!(self.buf, "{},{}", Len(x.into()), Len(y.into()));
        }
        self.buf.push('"');
    }
}

/// A length in drawing units, written in user units with up to two decimals (`72.35`, `72.3`,
/// `72`, `-0.05`).
struct Len(i64);

impl std::fmt::Display for Len {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let sub = i64::from(SUBPIXELS);
        let (sign, v) = if self.0 < 0 { ("-", -self.0) } else { ("", self.0) };
        let (whole, frac) = (v / sub, v % sub);
        match frac {
            0 => write!(f, "{sign}{whole}"),
            _ if frac % 10 == 0 => write!(f, "{sign}{whole}.{}", frac / 10),
            _ => write!(f, "{sign}{whole}.{frac:02}"),
        }
    }
}

/// Text for XML content and attributes.
fn escape_into(buf: &mut String, s: &str) {
    for c in s.chars() {
        match c {
            '<' => buf.push_str("&lt;"),
            '>' => buf.push_str("&gt;"),
            '&' => buf.push_str("&amp;"),
            '"' => buf.push_str("&quot;"),
            '\'' => buf.push_str("&apos;"),
            c => buf.push(c),
        }
    }
}

type Res = Result<(), DrawingErrorKind<SvgError>>;

impl DrawingBackend for FineSvg<'_> {
    type ErrorType = SvgError;

    fn get_size(&self) -> (u32, u32) {
        (self.size.0 * SUBPIXELS, self.size.1 * SUBPIXELS)
    }

    fn ensure_prepared(&mut self) -> Res {
        Ok(())
    }

    fn present(&mut self) -> Res {
        self.close();
        Ok(())
    }

    fn draw_pixel(&mut self, p: BackendCoord, c: BackendColor) -> Res {
        if c.alpha == 0.0 {
            return Ok(());
        }
        let one = Len(i64::from(SUBPIXELS));
        let _ = write!(
            self.buf,
            "<rect x=\"{}\" y=\"{}\" width=\"{one}\" height=\"{one}\"",
            Len(p.0.into()),
            Len(p.1.into())
        );
        self.paint("fill", c);
        self.buf.push_str("/>\n");
        if let Some(r) = self.raster.as_deref_mut() {
            let one = SUBPIXELS as i32;
            r.rect(p, (p.0 + one, p.1 + one), c, None);
        }
        Ok(())
    }

    fn draw_line<S: BackendStyle>(&mut self, a: BackendCoord, b: BackendCoord, s: &S) -> Res {
        if s.color().alpha == 0.0 {
            return Ok(());
        }
        let _ = write!(
            self.buf,
            "<line x1=\"{}\" y1=\"{}\" x2=\"{}\" y2=\"{}\"",
            Len(a.0.into()),
            Len(a.1.into()),
            Len(b.0.into()),
            Len(b.1.into())
        );
        self.paint("stroke", s.color());
        self.stroke_width(s.stroke_width());
        self.buf.push_str("/>\n");
        if let Some(r) = self.raster.as_deref_mut() {
            r.line(a, b, s.color(), s.stroke_width());
        }
        Ok(())
    }

    fn draw_rect<S: BackendStyle>(
        &mut self,
        ul: BackendCoord,
        br: BackendCoord,
        s: &S,
        fill: bool,
    ) -> Res {
        if s.color().alpha == 0.0 {
            return Ok(());
        }
        // Corners in either order: SVG forbids a negative width or height.
        let (x0, x1) = (ul.0.min(br.0), ul.0.max(br.0));
        let (y0, y1) = (ul.1.min(br.1), ul.1.max(br.1));
        let _ = write!(
            self.buf,
            "<rect x=\"{}\" y=\"{}\" width=\"{}\" height=\"{}\"",
            Len(x0.into()),
            Len(y0.into()),
            Len(i64::from(x1) - i64::from(x0)),
            Len(i64::from(y1) - i64::from(y0))
        );
        self.fill_or_outline(s, fill);
        self.buf.push_str("/>\n");
        if let Some(r) = self.raster.as_deref_mut() {
            r.rect((x0, y0), (x1, y1), s.color(), (!fill).then(|| s.stroke_width()));
        }
        Ok(())
    }

    fn draw_path<S: BackendStyle, I: IntoIterator<Item = BackendCoord>>(
        &mut self,
        path: I,
        s: &S,
    ) -> Res {
        if s.color().alpha == 0.0 {
            return Ok(());
        }
        let pts: Vec<BackendCoord> = path.into_iter().collect();
        self.buf.push_str("<polyline fill=\"none\"");
        self.paint("stroke", s.color());
        self.stroke_width(s.stroke_width());
        self.buf.push_str(" stroke-linejoin=\"round\"");
        self.points(pts.iter().copied());
        self.buf.push_str("/>\n");
        if let Some(r) = self.raster.as_deref_mut() {
            r.polyline(&pts, s.color(), s.stroke_width());
        }
        Ok(())
    }

    fn draw_circle<S: BackendStyle>(&mut self, c: BackendCoord, r_: u32, s: &S, fill: bool) -> Res {
        if s.color().alpha == 0.0 {
            return Ok(());
        }
        let _ = write!(
            self.buf,
            "<circle cx=\"{}\" cy=\"{}\" r=\"{}\"",
            Len(c.0.into()),
            Len(c.1.into()),
            Len(r_.into())
        );
        self.fill_or_outline(s, fill);
        self.buf.push_str("/>\n");
        if let Some(r) = self.raster.as_deref_mut() {
            r.circle(c, r_, s.color(), (!fill).then(|| s.stroke_width()));
        }
        Ok(())
    }

    fn fill_polygon<S: BackendStyle, I: IntoIterator<Item = BackendCoord>>(
        &mut self,
        path: I,
        s: &S,
    ) -> Res {
        if s.color().alpha == 0.0 {
            return Ok(());
        }
        let pts: Vec<BackendCoord> = path.into_iter().collect();
        self.buf.push_str("<polygon");
        self.paint("fill", s.color());
        self.points(pts.iter().copied());
        self.buf.push_str("/>\n");
        if let Some(r) = self.raster.as_deref_mut() {
            r.polygon(&pts, s.color());
        }
        Ok(())
    }

    fn draw_text<T: BackendTextStyle>(&mut self, text: &str, s: &T, pos: BackendCoord) -> Res {
        let colour = s.color();
        if colour.alpha == 0.0 {
            return Ok(());
        }
        let (anchor, align) = match s.anchor().h_pos {
            HPos::Left => ("start", Align::Start),
            HPos::Right => ("end", Align::End),
            HPos::Center => ("middle", Align::Middle),
        };
        // An `ex` is half an `em` (as resvg and usvg resolve it).
        let (dy, dy_em) = match s.anchor().v_pos {
            VPos::Top => ("0.76em", 0.76),
            VPos::Center => ("0.5ex", 0.25),
            VPos::Bottom => ("-0.5ex", -0.25),
        };
        let (x, y) = (Len(pos.0.into()), Len(pos.1.into()));
        let size = s.size() / FONT_SIZE_FACTOR / f64::from(SUBPIXELS);
        let size = (size * 100.0).round() / 100.0;
        let _ = write!(
            self.buf,
            "<text x=\"{x}\" y=\"{y}\" dy=\"{dy}\" text-anchor=\"{anchor}\" \
             font-family=\"{FONT_FAMILY}\" font-size=\"{size}\""
        );
        self.paint("fill", colour);
        match s.style() {
            FontStyle::Normal => {}
            FontStyle::Bold => self.buf.push_str(" font-weight=\"bold\""),
            other => {
                let _ = write!(self.buf, " font-style=\"{}\"", other.as_str());
            }
        }
        let angle = match s.transform() {
            FontTransform::Rotate90 => Some(90),
            FontTransform::Rotate180 => Some(180),
            FontTransform::Rotate270 => Some(270),
            FontTransform::None => None,
        };
        if let Some(a) = angle {
            let _ = write!(self.buf, " transform=\"rotate({a}, {x}, {y})\"");
        }
        self.buf.push('>');
        escape_into(self.buf, text);
        self.buf.push_str("</text>\n");
        if let Some(r) = self.raster.as_deref_mut() {
            let angle = angle.unwrap_or(0);
            r.text(&TextRun { text, pos, size, align, dy_em, angle, colour });
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lengths_in_hundredths_of_a_pixel() {
        assert_eq!(Len(7235).to_string(), "72.35");
        assert_eq!(Len(7230).to_string(), "72.3");
        assert_eq!(Len(7200).to_string(), "72");
        assert_eq!(Len(-5).to_string(), "-0.05");
        assert_eq!(Len(0).to_string(), "0");
    }
}
