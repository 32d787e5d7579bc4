//! Seeded data augmentation for 28x28 digits: random rotation and translation (one affine
//! warp, bilinear interpolation) and optional elastic distortion (Simard et al. 2003).
//!
//! Outputs are raw intensities in `[0, 255]` as f32 (no re-quantization), which the loader
//! then normalizes. Pixels sampled from outside the image are background (0). With zero
//! angle, shift and no elastic field the warp is exactly the identity.
//!
//! Conventions: x to the right, y down, rotation centre at (13.5, 13.5), the centre of the
//! pixel grid; a positive angle turns the digit counter-clockwise as displayed, and a
//! positive `dx`/`dy` moves it right/down.

use crate::idx::{IMAGE_PIXELS, IMAGE_SIDE};
use crate::rng::Rng;

/// Elastic distortion: a random displacement field smoothed by a Gaussian of `sigma` pixels
/// and scaled by `alpha` pixels (Simard et al. use alpha 34, sigma 4).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Elastic {
    pub alpha: f32,
    pub sigma: f32,
}

/// Augmentation settings; each sample draws its own transform from these ranges.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct Augment {
    /// Rotation drawn uniformly from `[-max_rotation_deg, max_rotation_deg]`.
    pub max_rotation_deg: f32,
    /// Shift in x and y, each drawn uniformly from `[-max_shift, max_shift]` pixels.
    pub max_shift: f32,
    /// Optional elastic distortion on top of the affine warp.
    pub elastic: Option<Elastic>,
}

/// One concrete affine transform (degrees, pixels).
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct Warp {
    pub angle_deg: f32,
    pub dx: f32,
    pub dy: f32,
}

const CENTER: f32 = (IMAGE_SIDE as f32 - 1.0) / 2.0;

impl Augment {
    /// Rotation up to `deg` degrees and shifts up to `shift` pixels, no elastic distortion.
    pub fn new(deg: f32, shift: f32) -> Self {
        Self {
            max_rotation_deg: deg,
            max_shift: shift,
            elastic: None,
        }
    }

    /// Adds elastic distortion.
    pub fn with_elastic(mut self, alpha: f32, sigma: f32) -> Self {
        self.elastic = Some(Elastic { alpha, sigma });
        self
    }

    /// Draws one affine transform.
    pub fn sample_warp(&self, rng: &mut Rng) -> Warp {
        let r = self.max_rotation_deg.abs();
        let s = self.max_shift.abs();
        Warp {
            angle_deg: rng.uniform_f32(-r, r),
            dx: rng.uniform_f32(-s, s),
            dy: rng.uniform_f32(-s, s),
        }
    }

    /// Augments one 28x28 image `src` into `out` (784 intensities in [0, 255]).
    pub fn apply(&self, src: &[u8], out: &mut [f32], rng: &mut Rng) {
        let warp = self.sample_warp(rng);
        let field = self
            .elastic
            .filter(|e| e.alpha != 0.0)
            .map(|e| elastic_field(&e, rng));
        warp_into(src, &warp, field.as_ref(), out);
    }
}

/// A displacement field: per output pixel, offsets added to the source coordinates.
#[derive(Debug, Clone)]
pub struct Field {
    pub dx: Vec<f32>,
    pub dy: Vec<f32>,
}

/// Draws a smoothed random displacement field for [`Elastic`].
pub fn elastic_field(e: &Elastic, rng: &mut Rng) -> Field {
    let mut dx: Vec<f32> = (0..IMAGE_PIXELS)
        .map(|_| rng.uniform_f32(-1.0, 1.0))
        .collect();
    let mut dy: Vec<f32> = (0..IMAGE_PIXELS)
        .map(|_| rng.uniform_f32(-1.0, 1.0))
        .collect();
    let kernel = gaussian_kernel(e.sigma);
    blur(&mut dx, &kernel);
    blur(&mut dy, &kernel);
    dx.iter_mut()
        .chain(dy.iter_mut())
        .for_each(|v| *v *= e.alpha);
    Field { dx, dy }
}

/// A normalized 1-D Gaussian of radius ceil(3 sigma); a delta when sigma <= 0.
fn gaussian_kernel(sigma: f32) -> Vec<f32> {
    if sigma <= 0.0 || !sigma.is_finite() {
        return vec![1.0];
    }
    let radius = (3.0 * sigma).ceil().min(IMAGE_SIDE as f32) as i32;
    let k: Vec<f32> = (-radius..=radius)
        .map(|i| (-((i * i) as f32) / (2.0 * sigma * sigma)).exp())
        .collect();
    let sum: f32 = k.iter().sum();
    k.into_iter().map(|v| v / sum).collect()
}

/// Separable blur of a 28x28 field, zero outside.
fn blur(field: &mut [f32], kernel: &[f32]) {
    let mut tmp = vec![0.0f32; IMAGE_PIXELS];
    blur_pass(field, &mut tmp, kernel, true);
    blur_pass(&tmp, field, kernel, false);
}

/// One 1-D convolution pass along rows (`horizontal`) or columns.
fn blur_pass(src: &[f32], dst: &mut [f32], kernel: &[f32], horizontal: bool) {
    let n = IMAGE_SIDE as i32;
    let r = (kernel.len() / 2) as i32;
    for y in 0..n {
        for x in 0..n {
            let mut acc = 0.0;
            for (ki, &w) in kernel.iter().enumerate() {
                let o = ki as i32 - r;
                let (sx, sy) = if horizontal { (x + o, y) } else { (x, y + o) };
                if (0..n).contains(&sx) && (0..n).contains(&sy) {
                    acc += w * src[(sy * n + sx) as usize];
                }
            }
            dst[(y * n + x) as usize] = acc;
        }
    }
}

/// Bilinear sample of a 28x28 image at (x, y); 0 outside.
fn bilinear(src: &[u8], x: f32, y: f32) -> f32 {
    let n = IMAGE_SIDE as i32;
    let (x0, y0) = (x.floor(), y.floor());
    let (fx, fy) = (x - x0, y - y0);
    let (x0, y0) = (x0 as i32, y0 as i32);
    let px = |xi: i32, yi: i32| -> f32 {
        if (0..n).contains(&xi) && (0..n).contains(&yi) {
            src[(yi * n + xi) as usize] as f32
        } else {
            0.0
        }
    };
    let top = px(x0, y0) * (1.0 - fx) + px(x0 + 1, y0) * fx;
    let bottom = px(x0, y0 + 1) * (1.0 - fx) + px(x0 + 1, y0 + 1) * fx;
    top * (1.0 - fy) + bottom * fy
}

/// Applies `warp` (and an optional displacement field) to `src` (784 u8) into `out`
/// (784 f32 intensities in [0, 255]).
pub fn warp_into(src: &[u8], warp: &Warp, field: Option<&Field>, out: &mut [f32]) {
    assert_eq!(src.len(), IMAGE_PIXELS, "warp_into: source must be 28x28");
    assert_eq!(out.len(), IMAGE_PIXELS, "warp_into: output must be 28x28");
    let (sin, cos) = warp.angle_deg.to_radians().sin_cos();
    for y in 0..IMAGE_SIDE {
        for x in 0..IMAGE_SIDE {
            let i = y * IMAGE_SIDE + x;
            // Inverse map: undo the shift, then rotate by -angle about the centre.
            let u = x as f32 - CENTER - warp.dx;
            let v = y as f32 - CENTER - warp.dy;
            let mut sx = u * cos - v * sin + CENTER;
            let mut sy = u * sin + v * cos + CENTER;
            if let Some(f) = field {
                sx += f.dx[i];
                sy += f.dy[i];
            }
            out[i] = bilinear(src, sx, sy);
        }
    }
}

/// Convenience: the warped image as a new vector.
pub fn warp(src: &[u8], warp: &Warp) -> Vec<f32> {
    let mut out = vec![0.0; IMAGE_PIXELS];
    warp_into(src, warp, None, &mut out);
    out
}
