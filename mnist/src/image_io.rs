//! Reading a user's digit picture for prediction: PNG (any bit depth, gray/RGB/RGBA/indexed)
//! or PGM (P2 text, P5 binary) of any size, turned into 784 MNIST-like u8 pixels.
//!
//! MNIST digits are white on black, roughly 20x20 inside the 28x28 frame and centred by
//! their centre of mass. A photo or drawing is usually dark on light, so by default the
//! image is inverted when its border is light ([`Invert::Auto`]), cropped to the ink,
//! scaled to fit 20x20 and centred like MNIST ([`DigitOptions::center`]). Downscaling
//! averages areas (no aliasing); upscaling is bilinear.

use std::fmt;
use std::io::Cursor;
use std::path::Path;

use crate::idx::{IMAGE_PIXELS, IMAGE_SIDE};

/// Refuse images with more pixels than this (a 8k x 8k picture).
pub const MAX_PIXELS: u64 = 8192 * 8192;
/// The most deflate can expand its input (258-byte matches coded in 2 bits).
const MAX_DEFLATE_RATIO: u64 = 1032;

/// Whether to invert (make the digit white on black).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Invert {
    /// Invert when the border is lighter than mid-gray (dark digit on light paper).
    #[default]
    Auto,
    Always,
    Never,
}

/// How to turn a picture into an MNIST input.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DigitOptions {
    pub invert: Invert,
    /// Crop to the ink, fit into 20x20 keeping the aspect ratio, centre by mass (as MNIST
    /// was made). When false the whole picture is resized to 28x28.
    pub center: bool,
}

impl Default for DigitOptions {
    fn default() -> Self {
        Self {
            invert: Invert::Auto,
            center: true,
        }
    }
}

/// An 8-bit grayscale image (0 = black).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GrayImage {
    pub width: usize,
    pub height: usize,
    pub pixels: Vec<u8>,
}

/// A picture that could not be read; names the file.
#[derive(Debug)]
pub struct ImageError {
    pub file: String,
    pub problem: ImageProblem,
}

#[derive(Debug)]
pub enum ImageProblem {
    Io(std::io::Error),
    /// Neither PNG nor PGM (by magic bytes).
    UnknownFormat {
        first_bytes: Vec<u8>,
    },
    Png(String),
    Pgm(String),
}

impl fmt::Display for ImageError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: ", self.file)?;
        match &self.problem {
            ImageProblem::Io(e) => write!(f, "cannot read: {e}"),
            ImageProblem::UnknownFormat { first_bytes } => write!(
                f,
                "not a PNG or PGM (P2/P5) image; starts with {:02x?}",
                first_bytes
            ),
            ImageProblem::Png(e) => write!(f, "bad PNG: {e}"),
            ImageProblem::Pgm(e) => write!(f, "bad PGM: {e}"),
        }
    }
}

impl std::error::Error for ImageError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match &self.problem {
            ImageProblem::Io(e) => Some(e),
            _ => None,
        }
    }
}

/// Reads a digit picture with the default options: 784 pixels, white digit on black.
pub fn load_digit(path: &Path) -> Result<Vec<u8>, ImageError> {
    load_digit_with(path, &DigitOptions::default())
}

/// Reads a digit picture: 784 pixels ready for normalization like MNIST.
pub fn load_digit_with(path: &Path, opts: &DigitOptions) -> Result<Vec<u8>, ImageError> {
    Ok(to_mnist(&read_gray(path)?, opts))
}

/// Reads a PNG or PGM file as grayscale.
pub fn read_gray(path: &Path) -> Result<GrayImage, ImageError> {
    let bytes = std::fs::read(path).map_err(|e| ImageError {
        file: path.display().to_string(),
        problem: ImageProblem::Io(e),
    })?;
    decode_gray(&path.display().to_string(), &bytes)
}

/// Decodes PNG or PGM bytes (detected by magic) as grayscale; `file` names it in errors.
pub fn decode_gray(file: &str, bytes: &[u8]) -> Result<GrayImage, ImageError> {
    let err = |problem| ImageError {
        file: file.to_string(),
        problem,
    };
    let img = if bytes.starts_with(b"\x89PNG\r\n\x1a\n") {
        decode_png(bytes).map_err(|e| err(ImageProblem::Png(e)))?
    } else if bytes.starts_with(b"P5") || bytes.starts_with(b"P2") {
        decode_pgm(bytes).map_err(|e| err(ImageProblem::Pgm(e)))?
    } else {
        return Err(err(ImageProblem::UnknownFormat {
            first_bytes: bytes[..bytes.len().min(8)].to_vec(),
        }));
    };
    Ok(img)
}

fn check_size(width: u64, height: u64) -> Result<(), String> {
    let too_big = match width.checked_mul(height) {
        Some(n) => n > MAX_PIXELS,
        None => true,
    };
    if width == 0 || height == 0 || too_big {
        return Err(format!(
            "unsupported size {width}x{height} (1 to {MAX_PIXELS} pixels)"
        ));
    }
    Ok(())
}

/// Luma of sRGB values (ITU-R BT.601 weights, as PIL's "L" conversion).
fn luma(r: u8, g: u8, b: u8) -> f32 {
    0.299 * r as f32 + 0.587 * g as f32 + 0.114 * b as f32
}

fn decode_png(bytes: &[u8]) -> Result<GrayImage, String> {
    let mut decoder = png::Decoder::new_with_limits(
        Cursor::new(bytes),
        png::Limits {
            bytes: (MAX_PIXELS * 8) as usize,
        },
    );
    decoder.set_transformations(png::Transformations::EXPAND | png::Transformations::STRIP_16);
    let mut reader = decoder.read_info().map_err(|e| e.to_string())?;
    let (w, h) = (reader.info().width as u64, reader.info().height as u64);
    check_size(w, h)?;
    // The pixel buffer is sized from the header: first check that the file can hold that
    // many pixels at all (deflate expands at most 1032:1), so a tiny file claiming 8192x8192
    // is refused instead of allocating hundreds of megabytes.
    let raw = reader.info().raw_row_length() as u64 * h;
    if raw > MAX_DEFLATE_RATIO * bytes.len() as u64 + 1024 {
        return Err(format!(
            "truncated or corrupt: {w}x{h} needs {raw} bytes of pixel data, more than a \
             {}-byte file can hold",
            bytes.len()
        ));
    }
    let mut buf = vec![0; reader.output_buffer_size()];
    let frame = reader.next_frame(&mut buf).map_err(|e| e.to_string())?;
    let data = &buf[..frame.buffer_size()];
    let (width, height) = (frame.width as usize, frame.height as usize);
    if frame.bit_depth != png::BitDepth::Eight {
        return Err(format!("unexpected bit depth {:?}", frame.bit_depth));
    }
    // Transparent areas are composited over white, as a viewer shows them.
    let over_white = |v: f32, a: u8| {
        let a = a as f32 / 255.0;
        v * a + 255.0 * (1.0 - a)
    };
    let channels = frame.color_type.samples();
    let row = frame.line_size;
    let mut pixels = Vec::with_capacity(width * height);
    for y in 0..height {
        for x in 0..width {
            let p = &data[y * row + x * channels..y * row + (x + 1) * channels];
            let v = match frame.color_type {
                png::ColorType::Grayscale => p[0] as f32,
                png::ColorType::GrayscaleAlpha => over_white(p[0] as f32, p[1]),
                png::ColorType::Rgb => luma(p[0], p[1], p[2]),
                png::ColorType::Rgba => over_white(luma(p[0], p[1], p[2]), p[3]),
                png::ColorType::Indexed => return Err("palette was not expanded".into()),
            };
            pixels.push(v.round().clamp(0.0, 255.0) as u8);
        }
    }
    Ok(GrayImage {
        width,
        height,
        pixels,
    })
}

/// Splits PGM header tokens (skipping `#` comments); returns the tokens and the offset just
/// past the single whitespace byte that ends the last one.
fn pgm_header(bytes: &[u8], count: usize) -> Result<(Vec<&str>, usize), String> {
    let mut tokens = Vec::new();
    let mut i = 0;
    while tokens.len() < count {
        while i < bytes.len() && (bytes[i].is_ascii_whitespace() || bytes[i] == b'#') {
            if bytes[i] == b'#' {
                while i < bytes.len() && bytes[i] != b'\n' {
                    i += 1;
                }
            } else {
                i += 1;
            }
        }
        let start = i;
        while i < bytes.len() && !bytes[i].is_ascii_whitespace() && bytes[i] != b'#' {
            i += 1;
        }
        if start == i {
            return Err("header ends early (need magic, width, height, maxval)".into());
        }
        let tok = std::str::from_utf8(&bytes[start..i]).map_err(|_| "non-ASCII header")?;
        tokens.push(tok);
    }
    // Exactly one whitespace byte separates the header from binary data.
    Ok((tokens, (i + 1).min(bytes.len())))
}

fn decode_pgm(bytes: &[u8]) -> Result<GrayImage, String> {
    let (tokens, data_start) = pgm_header(bytes, 4)?;
    if tokens[0] != "P5" && tokens[0] != "P2" {
        return Err(format!("magic '{}' is not P2 or P5", tokens[0]));
    }
    let num = |s: &str, what: &str| -> Result<u64, String> {
        s.parse::<u64>()
            .map_err(|_| format!("{what} is '{s}', not a number"))
    };
    let (width, height) = (num(tokens[1], "width")?, num(tokens[2], "height")?);
    let maxval = num(tokens[3], "maxval")?;
    check_size(width, height)?;
    if !(1..=65535).contains(&maxval) {
        return Err(format!("maxval {maxval} outside 1..=65535"));
    }
    let n = (width * height) as usize;
    let scale = |v: u64| ((v as f64) * 255.0 / maxval as f64).round() as u8;
    let values: Vec<u64> = if tokens[0] == "P5" {
        let bpp = if maxval < 256 { 1 } else { 2 };
        let data = &bytes[data_start..];
        if data.len() < n * bpp {
            return Err(format!(
                "truncated: {width}x{height} needs {} bytes of data, found {}",
                n * bpp,
                data.len()
            ));
        }
        if bpp == 1 {
            data[..n].iter().map(|&v| v as u64).collect()
        } else {
            data[..2 * n]
                .chunks_exact(2)
                .map(|c| u16::from_be_bytes([c[0], c[1]]) as u64)
                .collect()
        }
    } else {
        let text = std::str::from_utf8(&bytes[data_start.min(bytes.len())..])
            .map_err(|_| "non-ASCII data in a P2 file")?;
        let vals: Vec<u64> = text
            .split_ascii_whitespace()
            .take(n)
            .map(|t| num(t, "a pixel"))
            .collect::<Result<_, _>>()?;
        if vals.len() < n {
            return Err(format!(
                "truncated: {width}x{height} needs {n} values, found {}",
                vals.len()
            ));
        }
        vals
    };
    if let Some(v) = values.iter().find(|&&v| v > maxval) {
        return Err(format!("pixel value {v} exceeds maxval {maxval}"));
    }
    // PGM is 0 = black, like our gray images.
    Ok(GrayImage {
        width: width as usize,
        height: height as usize,
        pixels: values.into_iter().map(scale).collect(),
    })
}

/// 1-D resampling weights: for each output index, (first source index, weights).
/// Downscaling averages the covered source area; upscaling interpolates linearly.
fn weights(src: usize, dst: usize) -> Vec<(usize, Vec<f32>)> {
    let s = src as f32 / dst as f32;
    (0..dst)
        .map(|i| {
            if s > 1.0 {
                let (lo, hi) = (i as f32 * s, (i + 1) as f32 * s);
                let first = lo.floor() as usize;
                let last = (hi.ceil() as usize).min(src);
                let w: Vec<f32> = (first..last)
                    .map(|j| ((j + 1) as f32).min(hi) - (j as f32).max(lo))
                    .collect();
                let sum: f32 = w.iter().sum();
                (first, w.into_iter().map(|v| v / sum).collect())
            } else {
                let c = ((i as f32 + 0.5) * s - 0.5).clamp(0.0, (src - 1) as f32);
                let j = (c.floor() as usize).min(src.saturating_sub(2));
                let f = c - j as f32;
                if src == 1 {
                    (0, vec![1.0])
                } else {
                    (j, vec![1.0 - f, f])
                }
            }
        })
        .collect()
}

/// Resizes a gray image (area averaging when shrinking, bilinear when enlarging).
pub fn resize(img: &GrayImage, width: usize, height: usize) -> GrayImage {
    let (wx, wy) = (weights(img.width, width), weights(img.height, height));
    // Horizontal pass into f32 rows, then vertical.
    let mut tmp = vec![0.0f32; width * img.height];
    for y in 0..img.height {
        let row = &img.pixels[y * img.width..(y + 1) * img.width];
        for (x, (first, w)) in wx.iter().enumerate() {
            tmp[y * width + x] = w
                .iter()
                .enumerate()
                .map(|(k, &wk)| wk * row[first + k] as f32)
                .sum();
        }
    }
    let mut pixels = vec![0u8; width * height];
    for (y, (first, w)) in wy.iter().enumerate() {
        for x in 0..width {
            let v: f32 = w
                .iter()
                .enumerate()
                .map(|(k, &wk)| wk * tmp[(first + k) * width + x])
                .sum();
            pixels[y * width + x] = v.round().clamp(0.0, 255.0) as u8;
        }
    }
    GrayImage {
        width,
        height,
        pixels,
    }
}

/// True when the outermost ring of pixels is lighter than mid-gray on average.
pub fn has_light_background(img: &GrayImage) -> bool {
    let (w, h) = (img.width, img.height);
    let border = (0..w * h).filter(|&i| {
        let (x, y) = (i % w, i / w);
        x == 0 || y == 0 || x == w - 1 || y == h - 1
    });
    let (sum, n) = border.fold((0u64, 0u64), |(s, n), i| (s + img.pixels[i] as u64, n + 1));
    n > 0 && sum / n > 127
}

/// Turns a gray picture into 784 MNIST-like pixels (white digit on black).
pub fn to_mnist(img: &GrayImage, opts: &DigitOptions) -> Vec<u8> {
    let invert = match opts.invert {
        Invert::Always => true,
        Invert::Never => false,
        Invert::Auto => has_light_background(img),
    };
    let mut img = img.clone();
    if invert {
        img.pixels.iter_mut().for_each(|p| *p = 255 - *p);
    }
    if opts.center {
        if let Some(out) = center_like_mnist(&img) {
            return out;
        }
    }
    resize(&img, IMAGE_SIDE, IMAGE_SIDE).pixels
}

/// Crop to the ink (contrast stretched), fit in 20x20 (aspect kept), paste centred by mass in 28x28.
/// None when the picture has no ink.
fn center_like_mnist(img: &GrayImage) -> Option<Vec<u8>> {
    let max = *img.pixels.iter().max()?;
    let min = *img.pixels.iter().min()?;
    if max.saturating_sub(min) < 32 {
        return None; // blank: nothing to centre
    }
    // Ink: clearly above the background level.
    let thr = min as u32 + (max - min) as u32 / 4;
    let (mut x0, mut y0, mut x1, mut y1) = (usize::MAX, usize::MAX, 0, 0);
    for (i, &p) in img.pixels.iter().enumerate() {
        if p as u32 > thr {
            let (x, y) = (i % img.width, i / img.width);
            (x0, y0, x1, y1) = (x0.min(x), y0.min(y), x1.max(x), y1.max(y));
        }
    }
    let (cw, ch) = (x1 - x0 + 1, y1 - y0 + 1);
    let mut crop = Vec::with_capacity(cw * ch);
    for y in y0..=y1 {
        crop.extend(
            img.pixels[y * img.width + x0..=y * img.width + x1]
                .iter()
                // Stretch the ink to the full 0..=255 range, as MNIST strokes are.
                .map(|&p| ((p - min) as u32 * 255 / (max - min) as u32) as u8),
        );
    }
    let crop = GrayImage {
        width: cw,
        height: ch,
        pixels: crop,
    };
    let fit = 20.0 / cw.max(ch) as f32;
    let (nw, nh) = (
        ((cw as f32 * fit).round() as usize).clamp(1, 20),
        ((ch as f32 * fit).round() as usize).clamp(1, 20),
    );
    let small = resize(&crop, nw, nh);
    // Centre of mass of the small image -> (14, 14) as in MNIST (measured: the test set's
    // mean is (14.01, 13.99)), kept inside the frame.
    let total: f32 = small.pixels.iter().map(|&p| p as f32).sum();
    let (mut mx, mut my) = (0.0f32, 0.0f32);
    for (i, &p) in small.pixels.iter().enumerate() {
        mx += (i % nw) as f32 * p as f32;
        my += (i / nw) as f32 * p as f32;
    }
    let (mx, my) = if total > 0.0 {
        (mx / total, my / total)
    } else {
        (nw as f32 / 2.0, nh as f32 / 2.0)
    };
    let side = IMAGE_SIDE as i32;
    let ox = ((14.0 - mx).round() as i32).clamp(0, side - nw as i32);
    let oy = ((14.0 - my).round() as i32).clamp(0, side - nh as i32);
    let mut out = vec![0u8; IMAGE_PIXELS];
    for y in 0..nh {
        for x in 0..nw {
            out[(oy as usize + y) * IMAGE_SIDE + ox as usize + x] = small.pixels[y * nw + x];
        }
    }
    Some(out)
}

/// Writes an 8-bit grayscale PNG (e.g. to save a preprocessed digit for inspection).
pub fn write_gray_png(path: &Path, img: &GrayImage) -> Result<(), ImageError> {
    let err = |problem| ImageError {
        file: path.display().to_string(),
        problem,
    };
    let mut bytes = Vec::new();
    {
        let mut enc = png::Encoder::new(&mut bytes, img.width as u32, img.height as u32);
        enc.set_color(png::ColorType::Grayscale);
        enc.set_depth(png::BitDepth::Eight);
        let mut w = enc
            .write_header()
            .map_err(|e| err(ImageProblem::Png(e.to_string())))?;
        w.write_image_data(&img.pixels)
            .map_err(|e| err(ImageProblem::Png(e.to_string())))?;
    }
    crate::fs_atomic::write_atomic(path, &bytes).map_err(|e| err(ImageProblem::Io(e)))
}
