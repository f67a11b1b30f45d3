//! Anti-aliased polygons and strokes drawn straight onto the opaque RGBA canvas of
//! [`super::raster`], row by row, touching only the pixels near the shape.
//!
//! - [`fill_polygon`]: each pixel covered by the area of the polygon over it, by signed-area
//!   accumulation along each row (the method of font-rs and stb_truetype: every edge adds,
//!   to the cells it crosses, the area between it and the cell's right side, signed by its
//!   direction; a running sum along the row is the winding-weighted coverage), with
//!   `|sum|` capped at 1: the non-zero rule for a polygon that does not overlap itself (the
//!   confidence band, markers).
//! - [`stroke_polyline`]: a stroke `w` pixels wide with round joins and butt caps is the union
//!   of the segments' capsules, cut square at the two ends. A pixel's coverage is
//!   `clamp(w/2 + ½ − d, 0, min(1, w))` for `d` the distance from its centre to the nearest
//!   segment (the area of a straight edge of the stroke over the pixel, within a few percent),
//!   the largest over the segments (the union, so joins do not darken), times, beyond an end,
//!   `clamp(½ − e, 0, 1)` for `e` the distance past the end along the segment.
//!
//! Both composite `d = d + (c − d)·a` per channel in 8 bits, `a` the coverage times the
//! colour's opacity, as the boxes and glyphs of [`super::raster`] do.

use std::cell::RefCell;

/// A coverage × opacity in 0.0..=255.0 as a whole alpha, rounded (half up; the value is never
/// negative).
#[inline]
pub(super) fn alpha_u8(v: f32) -> u32 {
    ((v + 0.5) as u32).min(255)
}

/// Source-over of `rgb` at alpha `a` (0..=255) on an opaque pixel, per channel in 8 bits:
/// `d = (c·a + d·(255 − a) + 127) / 255`.
#[inline]
pub(super) fn blend_pixel(d: &mut [u8], rgb: (u8, u8, u8), a: u32) {
    if a >= 255 {
        d[..3].copy_from_slice(&[rgb.0, rgb.1, rgb.2]);
    } else if a > 0 {
        for (d, c) in d[..3].iter_mut().zip([rgb.0, rgb.1, rgb.2]) {
            *d = ((u32::from(c) * a + u32::from(*d) * (255 - a) + 127) / 255) as u8;
        }
    }
}

/// Blends a row of pixels with per-pixel alpha, reusing the last result while the background
/// and alpha repeat (a translucent fill over a plain background).
#[inline]
pub(super) fn blend_row(line: &mut [u8], alphas: impl Iterator<Item = u32>, rgb: (u8, u8, u8)) {
    let mut last: ([u8; 3], u32, [u8; 3]) = ([0; 3], 0, [0; 3]);
    for (d, a) in line.chunks_exact_mut(4).zip(alphas) {
        if a == 0 || a >= 255 {
            blend_pixel(d, rgb, a);
        } else if last.1 == a && d[..3] == last.0 {
            d[..3].copy_from_slice(&last.2);
        } else {
            let before = [d[0], d[1], d[2]];
            blend_pixel(d, rgb, a);
            last = (before, a, [d[0], d[1], d[2]]);
        }
    }
}

/// An opaque RGBA canvas: pixels, width and height.
pub(super) struct Target<'a> {
    pub data: &'a mut [u8],
    pub width: usize,
    pub height: usize,
}

thread_local! {
    /// Per-thread scratch: the accumulation row of [`fill_polygon`] and the coverage mask of
    /// [`stroke_polyline`], zero between uses.
    static SCRATCH: RefCell<Vec<f32>> = const { RefCell::new(Vec::new()) };
}

/// Adds the signed area of the part of an edge inside one row, from `xa` to `xb` (pixels,
/// within `0..=width`) over a height `d` (signed by the edge's direction), to the cells of
/// `acc`; returns the first and last cell touched.
fn accumulate(acc: &mut [f32], xa: f32, xb: f32, d: f32) -> (usize, usize) {
    let (x0, x1) = if xa < xb { (xa, xb) } else { (xb, xa) };
    let x0floor = x0.floor();
    let x0i = x0floor as usize;
    let x1ceil = x1.ceil();
    let x1i = x1ceil as usize;
    if x1i <= x0i + 1 {
        let xmf = 0.5 * (xa + xb) - x0floor;
        acc[x0i] += d - d * xmf;
        acc[x0i + 1] += d * xmf;
        return (x0i, x0i + 1);
    }
    let s = (x1 - x0).recip();
    let x0f = x0 - x0floor;
    let a0 = 0.5 * s * (1.0 - x0f) * (1.0 - x0f);
    let x1f = x1 - x1ceil + 1.0;
    let am = 0.5 * s * x1f * x1f;
    acc[x0i] += d * a0;
    if x1i == x0i + 2 {
        acc[x0i + 1] += d * (1.0 - a0 - am);
    } else {
        let a1 = s * (1.5 - x0f);
        acc[x0i + 1] += d * (a1 - a0);
        for cell in &mut acc[x0i + 2..x1i - 1] {
            *cell += d * s;
        }
        let a2 = a1 + (x1i - x0i - 3) as f32 * s;
        acc[x1i - 1] += d * (1.0 - a2 - am);
    }
    acc[x1i] += d * am;
    (x0i, x1i)
}

/// Fills the closed polygon `pts` (pixels) with `rgb` at opacity `alpha` (0..=255), each pixel
/// covered by the polygon's area over it.
pub(super) fn fill_polygon(t: &mut Target<'_>, pts: &[(f32, f32)], rgb: (u8, u8, u8), alpha: f32) {
    if pts.len() < 3 || pts.iter().any(|p| !(p.0.is_finite() && p.1.is_finite())) {
        return;
    }
    let wf = t.width as f32;
    // Edges from top to bottom: (x top, y top, x bottom, y bottom, +1 down / −1 up), x
    // clamped to the canvas (what lies left of it covers the first column's left edge).
    let mut edges: Vec<[f32; 5]> = Vec::with_capacity(pts.len());
    for (i, &p) in pts.iter().enumerate() {
        let q = pts[(i + 1) % pts.len()];
        if p.1 == q.1 {
            continue;
        }
        let (top, bottom, dir) = if p.1 < q.1 { (p, q, 1.0) } else { (q, p, -1.0) };
        edges.push([top.0, top.1, bottom.0, bottom.1, dir]);
    }
    edges.sort_by(|a, b| a[1].total_cmp(&b[1]));
    let y_lo = edges.first().map_or(0.0, |e| e[1]).max(0.0);
    let y_hi = edges.iter().map(|e| e[3]).fold(f32::MIN, f32::max).min(t.height as f32);
    if !(y_hi > y_lo) {
        return;
    }
    let stride = t.width * 4;
    SCRATCH.with(|acc| {
        let mut acc = acc.borrow_mut();
        if acc.len() < t.width + 2 {
            acc.resize(t.width + 2, 0.0);
        }
        let mut active: Vec<usize> = Vec::new();
        let mut next = 0;
        for y in y_lo.floor() as usize..y_hi.ceil() as usize {
            let (yt, yb) = (y as f32, y as f32 + 1.0);
            while next < edges.len() && edges[next][1] < yb {
                active.push(next);
                next += 1;
            }
            active.retain(|&e| edges[e][3] > yt);
            let (mut lo, mut hi) = (usize::MAX, 0);
            for &e in &active {
                let [x0, y0, x1, y1, dir] = edges[e];
                let (sy0, sy1) = (y0.max(yt), y1.min(yb));
                if sy1 <= sy0 {
                    continue;
                }
                let dxdy = (x1 - x0) / (y1 - y0);
                let xa = (x0 + (sy0 - y0) * dxdy).clamp(0.0, wf);
                let xb = (x0 + (sy1 - y0) * dxdy).clamp(0.0, wf);
                let (a, b) = accumulate(&mut acc, xa, xb, (sy1 - sy0) * dir);
                (lo, hi) = (lo.min(a), hi.max(b));
            }
            if lo > hi {
                continue;
            }
            // The running sum from the first touched cell; past the last it is back to 0.
            let end = (hi + 1).min(t.width);
            let mut sum = 0.0f32;
            let cells = &mut acc[lo..=hi];
            let alphas = cells.iter_mut().map(|cell| {
                sum += *cell;
                *cell = 0.0;
                alpha_u8(sum.abs().min(1.0) * alpha)
            });
            if lo < end {
                blend_row(&mut t.data[y * stride + lo * 4..y * stride + end * 4], alphas, rgb);
            } else {
                alphas.for_each(drop);
            }
            // Cells past the canvas's last column, if touched, are cleared too.
            for cell in &mut acc[lo..=hi] {
                *cell = 0.0;
            }
        }
    });
}

/// Largest area (pixels) a stroke's coverage mask may take: 4 M, 16 MiB of scratch.
const MAX_MASK: usize = 4 << 20;

/// Strokes the open polyline `pts` (pixels), `width` pixels wide, round joins and butt caps,
/// with `rgb` at opacity `alpha` (0..=255). `false` (nothing drawn) when the stroke's box is
/// larger than [`MAX_MASK`] pixels.
pub(super) fn stroke_polyline(
    t: &mut Target<'_>,
    pts: &[(f32, f32)],
    width: f32,
    rgb: (u8, u8, u8),
    alpha: f32,
) -> bool {
    if pts.len() < 2 || !(width > 0.0) || pts.iter().any(|p| !(p.0.is_finite() && p.1.is_finite()))
    {
        return true;
    }
    let hw = width / 2.0;
    let reach = hw + 1.0;
    let cap = width.min(1.0);
    // The rows and columns the stroke can touch, on the canvas.
    let (mut x_lo, mut y_lo, mut x_hi, mut y_hi) = (f32::MAX, f32::MAX, f32::MIN, f32::MIN);
    for p in pts {
        (x_lo, y_lo, x_hi, y_hi) = (x_lo.min(p.0), y_lo.min(p.1), x_hi.max(p.0), y_hi.max(p.1));
    }
    let bx0 = (x_lo - reach).floor().max(0.0) as usize;
    let by0 = (y_lo - reach).floor().max(0.0) as usize;
    let bx1 = ((x_hi + reach).ceil().max(0.0) as usize).min(t.width);
    let by1 = ((y_hi + reach).ceil().max(0.0) as usize).min(t.height);
    if bx1 <= bx0 || by1 <= by0 {
        return true;
    }
    let (bw, bh) = (bx1 - bx0, by1 - by0);
    if bw * bh > MAX_MASK {
        return false;
    }
    let mut spans = vec![(usize::MAX, 0usize); bh];
    let last = pts.len() - 2;
    SCRATCH.with(|mask| {
        let mut mask = mask.borrow_mut();
        if mask.len() < bw * bh {
            mask.resize(bw * bh, 0.0);
        }
        for (k, seg) in pts.windows(2).enumerate() {
            let (p, q) = (seg[0], seg[1]);
            let (dx, dy) = (q.0 - p.0, q.1 - p.1);
            let len2 = dx * dx + dy * dy;
            if len2 <= 1e-12 {
                continue;
            }
            let len = len2.sqrt();
            let (sx0, sx1) = (p.0.min(q.0) - reach, p.0.max(q.0) + reach);
            let ry0 = (p.1.min(q.1) - reach).floor().max(by0 as f32) as usize;
            let ry1 = ((p.1.max(q.1) + reach).ceil().max(0.0) as usize).min(by1);
            for y in ry0..ry1 {
                let yc = y as f32 + 0.5;
                // Columns within `reach` of the segment's line on this row.
                let (mut cx0, mut cx1) = (sx0, sx1);
                if dy.abs() > 1e-6 {
                    let xl = p.0 + (yc - p.1) * dx / dy;
                    let half = reach * len / dy.abs();
                    (cx0, cx1) = (cx0.max(xl - half), cx1.min(xl + half));
                }
                let x0 = cx0.floor().max(bx0 as f32) as usize;
                let x1 = (cx1.ceil().max(0.0) as usize).min(bx1);
                if x1 <= x0 {
                    continue;
                }
                let row = (y - by0) * bw;
                let mut touched = false;
                for x in x0..x1 {
                    let (ux, uy) = (x as f32 + 0.5 - p.0, yc - p.1);
                    let s = (ux * dx + uy * dy) / len2;
                    let tc = s.clamp(0.0, 1.0);
                    let (ex, ey) = (ux - tc * dx, uy - tc * dy);
                    let d = (ex * ex + ey * ey).sqrt();
                    let mut cov = (hw + 0.5 - d).clamp(0.0, cap);
                    // Butt caps: cut square at the polyline's two ends.
                    if k == 0 && s < 0.0 {
                        cov *= (0.5 + s * len).clamp(0.0, 1.0);
                    }
                    if k == last && s > 1.0 {
                        cov *= (0.5 - (s - 1.0) * len).clamp(0.0, 1.0);
                    }
                    if cov > 0.0 {
                        let m = &mut mask[row + x - bx0];
                        *m = m.max(cov);
                        touched = true;
                    }
                }
                if touched {
                    let sp = &mut spans[y - by0];
                    *sp = (sp.0.min(x0), sp.1.max(x1));
                }
            }
        }
        let stride = t.width * 4;
        for (r, &(s0, s1)) in spans.iter().enumerate() {
            if s0 >= s1 {
                continue;
            }
            let y = by0 + r;
            let cells = &mut mask[r * bw + s0 - bx0..r * bw + s1 - bx0];
            let alphas = cells.iter_mut().map(|m| {
                let a = alpha_u8(*m * alpha);
                *m = 0.0;
                a
            });
            blend_row(&mut t.data[y * stride + s0 * 4..y * stride + s1 * 4], alphas, rgb);
        }
    });
    true
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Ink (0..1 per pixel, from black on white) drawn by `f` on a white 40 x 30 canvas.
    fn ink(f: impl FnOnce(&mut Target<'_>)) -> Vec<f32> {
        let (w, h) = (40, 30);
        let mut data = vec![255u8; w * h * 4];
        f(&mut Target { data: &mut data, width: w, height: h });
        data.chunks_exact(4).map(|p| 1.0 - f32::from(p[0]) / 255.0).collect()
    }

    /// A polygon's pixels add up to its area, partly covered pixels included (a triangle with
    /// slanted edges and a square off the pixel grid), and a polygon past the canvas's edges
    /// covers the canvas where it lies.
    #[test]
    fn polygons_cover_their_area() {
        let tri: [(f32, f32); 3] = [(2.3, 3.1), (30.7, 5.4), (11.2, 25.9)];
        let area = 0.5
            * ((tri[1].0 - tri[0].0) * (tri[2].1 - tri[0].1)
                - (tri[2].0 - tri[0].0) * (tri[1].1 - tri[0].1))
                .abs();
        let total: f32 = ink(|t| fill_polygon(t, &tri, (0, 0, 0), 255.0)).iter().sum();
        assert!((total - area).abs() < 0.01 * area, "{total} against {area}");
        let sq = [(5.25, 5.5), (15.25, 5.5), (15.25, 15.5), (5.25, 15.5)];
        let px = ink(|t| fill_polygon(t, &sq, (0, 0, 0), 255.0));
        let total: f32 = px.iter().sum();
        assert!((total - 100.0).abs() < 1.0, "{total}");
        assert!((px[10 * 40 + 10] - 1.0).abs() < 0.01 && (px[10 * 40 + 5] - 0.75).abs() < 0.01);
        let big = [(-10.0, -10.0), (50.0, -10.0), (50.0, 40.0), (-10.0, 40.0)];
        let px = ink(|t| fill_polygon(t, &big, (0, 0, 0), 255.0));
        assert!(px.iter().all(|&v| v > 0.99), "canvas not covered");
    }

    /// A stroke covers about its length times its width, with square ends (no ink past an
    /// end), and a join of two segments does not darken where their capsules overlap.
    #[test]
    fn strokes_cover_length_times_width() {
        let line = [(5.0, 10.3), (35.0, 20.7)];
        let len = ((30.0f32).powi(2) + (10.4f32).powi(2)).sqrt();
        let px = ink(|t| {
            stroke_polyline(t, &line, 2.0, (0, 0, 0), 255.0);
        });
        let total: f32 = px.iter().sum();
        assert!((total - 2.0 * len).abs() < 0.05 * 2.0 * len, "{total} against {}", 2.0 * len);
        assert!(px[10 * 40 + 2] == 0.0 && px[21 * 40 + 38] == 0.0, "ink past a butt end");
        let bent = [(5.0, 5.5), (20.0, 5.5), (20.0, 25.5)];
        let px = ink(|t| {
            stroke_polyline(t, &bent, 3.0, (0, 0, 0), 255.0);
        });
        assert!(px.iter().all(|&v| v <= 1.0));
        let total: f32 = px.iter().sum();
        // Two arms of 15 and 20 px, 3 px wide, and the round join's quarter disc.
        let expected = 3.0 * 35.0 + std::f32::consts::PI * 1.5 * 1.5 / 4.0;
        assert!((total - expected).abs() < 0.05 * expected, "{total} against {expected}");
    }
}
