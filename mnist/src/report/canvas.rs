//! A tiny RGB raster canvas for the report plots: rectangles, anti-aliased lines and dots,
//! text in an embedded 8x8 bitmap font (scaled by whole pixels), gray images, PNG output.
//!
//! Owning this (instead of a plotting crate) keeps compile time low and needs no system
//! fonts: the glyphs come from the `font8x8` crate (public-domain, compiled in).

use font8x8::{UnicodeFonts, BASIC_FONTS};

/// An sRGB colour.
pub type Rgb = [u8; 3];

pub const WHITE: Rgb = [255, 255, 255];
pub const BLACK: Rgb = [0, 0, 0];
pub const GRID: Rgb = [225, 225, 225];
pub const AXIS: Rgb = [60, 60, 60];
pub const BLUE: Rgb = [31, 119, 180];
pub const ORANGE: Rgb = [255, 127, 14];
pub const GREEN: Rgb = [44, 160, 44];
pub const RED: Rgb = [214, 39, 40];

/// Glyph cell size of the font, in pixels at scale 1.
pub const GLYPH: i32 = 8;

/// An RGB image being drawn.
#[derive(Debug, Clone)]
pub struct Canvas {
    width: u32,
    height: u32,
    pixels: Vec<Rgb>,
}

impl Canvas {
    pub fn new(width: u32, height: u32, background: Rgb) -> Self {
        Self {
            width,
            height,
            pixels: vec![background; width as usize * height as usize],
        }
    }

    pub fn width(&self) -> u32 {
        self.width
    }

    pub fn height(&self) -> u32 {
        self.height
    }

    /// The colour at (x, y); None outside.
    pub fn get(&self, x: i32, y: i32) -> Option<Rgb> {
        self.index(x, y).map(|i| self.pixels[i])
    }

    fn index(&self, x: i32, y: i32) -> Option<usize> {
        if x >= 0 && y >= 0 && (x as u32) < self.width && (y as u32) < self.height {
            Some(y as usize * self.width as usize + x as usize)
        } else {
            None
        }
    }

    /// Sets a pixel (ignored outside the canvas).
    pub fn set(&mut self, x: i32, y: i32, c: Rgb) {
        if let Some(i) = self.index(x, y) {
            self.pixels[i] = c;
        }
    }

    /// Blends `c` over a pixel with coverage `a` in [0, 1].
    pub fn blend(&mut self, x: i32, y: i32, c: Rgb, a: f32) {
        if let Some(i) = self.index(x, y) {
            let a = a.clamp(0.0, 1.0);
            let p = &mut self.pixels[i];
            for k in 0..3 {
                p[k] = (p[k] as f32 * (1.0 - a) + c[k] as f32 * a).round() as u8;
            }
        }
    }

    pub fn fill_rect(&mut self, x: i32, y: i32, w: i32, h: i32, c: Rgb) {
        for yy in y.max(0)..(y + h).min(self.height as i32) {
            for xx in x.max(0)..(x + w).min(self.width as i32) {
                self.set(xx, yy, c);
            }
        }
    }

    pub fn stroke_rect(&mut self, x: i32, y: i32, w: i32, h: i32, c: Rgb) {
        self.fill_rect(x, y, w, 1, c);
        self.fill_rect(x, y + h - 1, w, 1, c);
        self.fill_rect(x, y, 1, h, c);
        self.fill_rect(x + w - 1, y, 1, h, c);
    }

    /// An anti-aliased line of `width` pixels between pixel-centre coordinates.
    pub fn line(&mut self, x0: f32, y0: f32, x1: f32, y1: f32, width: f32, c: Rgb) {
        let r = width / 2.0;
        let (minx, maxx) = (x0.min(x1) - r - 1.0, x0.max(x1) + r + 1.0);
        let (miny, maxy) = (y0.min(y1) - r - 1.0, y0.max(y1) + r + 1.0);
        let (dx, dy) = (x1 - x0, y1 - y0);
        let len2 = dx * dx + dy * dy;
        for y in miny.floor() as i32..=maxy.ceil() as i32 {
            for x in minx.floor() as i32..=maxx.ceil() as i32 {
                let (px, py) = (x as f32, y as f32);
                let t = if len2 > 0.0 {
                    (((px - x0) * dx + (py - y0) * dy) / len2).clamp(0.0, 1.0)
                } else {
                    0.0
                };
                let (qx, qy) = (x0 + t * dx - px, y0 + t * dy - py);
                let d = (qx * qx + qy * qy).sqrt();
                let cover = r + 0.5 - d;
                if cover > 0.0 {
                    self.blend(x, y, c, cover);
                }
            }
        }
    }

    /// An anti-aliased filled disc.
    pub fn dot(&mut self, cx: f32, cy: f32, radius: f32, c: Rgb) {
        self.line(cx, cy, cx, cy, 2.0 * radius, c);
    }

    /// Draws `text` with its top-left corner at (x, y), glyphs scaled by `scale`.
    /// Characters outside the font are drawn as '?'.
    pub fn text(&mut self, x: i32, y: i32, text: &str, scale: i32, c: Rgb) {
        for (i, ch) in text.chars().enumerate() {
            let glyph = BASIC_FONTS
                .get(ch)
                .or_else(|| BASIC_FONTS.get('?'))
                .unwrap_or([0; 8]);
            let gx = x + i as i32 * GLYPH * scale;
            for (row, bits) in glyph.iter().enumerate() {
                for col in 0..8 {
                    if bits & (1 << col) != 0 {
                        self.fill_rect(gx + col * scale, y + row as i32 * scale, scale, scale, c);
                    }
                }
            }
        }
    }

    /// Text rotated 90 degrees counter-clockwise (reads bottom to top), for y-axis labels;
    /// (x, y) is the top-left of its bounding box.
    pub fn text_vertical(&mut self, x: i32, y: i32, text: &str, scale: i32, c: Rgb) {
        let w = text_width(text, scale);
        let mut tmp = Canvas::new(w as u32, (GLYPH * scale) as u32, WHITE);
        tmp.text(0, 0, text, scale, BLACK);
        for ty in 0..tmp.height as i32 {
            for tx in 0..tmp.width as i32 {
                if tmp.get(tx, ty) == Some(BLACK) {
                    self.set(x + ty, y + (w - 1 - tx), c);
                }
            }
        }
    }

    /// Centres `text` horizontally on `cx`.
    pub fn text_centered(&mut self, cx: i32, y: i32, text: &str, scale: i32, c: Rgb) {
        self.text(cx - text_width(text, scale) / 2, y, text, scale, c);
    }

    /// Draws a gray image (0 = black, 255 = white), each pixel as a `scale` x `scale` block.
    pub fn gray_image(&mut self, x: i32, y: i32, pixels: &[u8], w: usize, scale: i32) {
        for (i, &v) in pixels.iter().enumerate() {
            let (px, py) = ((i % w) as i32, (i / w) as i32);
            self.fill_rect(x + px * scale, y + py * scale, scale, scale, [v, v, v]);
        }
    }

    /// Encodes as an 8-bit RGB PNG.
    pub fn to_png(&self) -> Result<Vec<u8>, png::EncodingError> {
        let mut out = Vec::new();
        {
            let mut enc = png::Encoder::new(&mut out, self.width, self.height);
            enc.set_color(png::ColorType::Rgb);
            enc.set_depth(png::BitDepth::Eight);
            // Flat-colour plots shrink to about half with these, at no visible cost in time.
            enc.set_compression(png::Compression::Best);
            enc.set_adaptive_filter(png::AdaptiveFilterType::Adaptive);
            let mut w = enc.write_header()?;
            let flat: Vec<u8> = self.pixels.iter().flatten().copied().collect();
            w.write_image_data(&flat)?;
            w.finish()?;
        }
        Ok(out)
    }
}

/// Width in pixels of `text` at `scale`.
pub fn text_width(text: &str, scale: i32) -> i32 {
    text.chars().count() as i32 * GLYPH * scale
}

/// Linear blend of two colours, `t` in [0, 1].
pub fn mix(a: Rgb, b: Rgb, t: f32) -> Rgb {
    let t = t.clamp(0.0, 1.0);
    std::array::from_fn(|k| (a[k] as f32 + (b[k] as f32 - a[k] as f32) * t).round() as u8)
}
