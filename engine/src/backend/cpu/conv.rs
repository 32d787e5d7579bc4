//! Conv2d CPU kernels: im2col per image into a per-task buffer, then one GEMM per
//! (image, group) through `F::gemm`, rayon across the batch. Backward recomputes the
//! columns (cheaper than keeping them) and splits the batch into a fixed number of
//! chunks whose weight-gradient partial sums are added in chunk order, so results do
//! not depend on the thread count or on scheduling.

use rayon::prelude::*;

use std::mem::MaybeUninit;

use super::gemm::{gemm, gemm_uninit};
use crate::dtype::Float;

/// Geometry of one convolution (NCHW input, OIHW weight), validated by the op.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ConvGeom {
    pub n: usize,
    pub c_in: usize,
    pub h: usize,
    pub w: usize,
    pub c_out: usize,
    pub kh: usize,
    pub kw: usize,
    pub stride: (usize, usize),
    pub padding: (usize, usize),
    pub dilation: (usize, usize),
    pub groups: usize,
    pub oh: usize,
    pub ow: usize,
}

impl ConvGeom {
    /// Input channels per group.
    pub fn cg_in(&self) -> usize {
        self.c_in / self.groups
    }
    /// Output channels per group.
    pub fn cg_out(&self) -> usize {
        self.c_out / self.groups
    }
    /// Rows of the column matrix of one group: `cg_in * kh * kw`.
    pub fn k(&self) -> usize {
        self.cg_in() * self.kh * self.kw
    }
    /// Output pixels per channel.
    pub fn p(&self) -> usize {
        self.oh * self.ow
    }
    fn in_img(&self) -> usize {
        self.c_in * self.h * self.w
    }
    fn out_img(&self) -> usize {
        self.c_out * self.p()
    }
    /// 1x1, stride 1, no padding: the input plane already is the column matrix.
    fn pointwise(&self) -> bool {
        self.kh == 1 && self.kw == 1 && self.stride == (1, 1) && self.padding == (0, 0)
    }
}

/// Number of batch chunks in backward: fixed (not the thread count) for determinism,
/// enough for load balance, few enough that the partial weight gradients stay small.
const BWD_CHUNKS: usize = 16;

/// The outputs `o` in `0..out` whose input coordinate `o * s + off` lies in `0..size`.
fn valid_range(off: isize, s: usize, size: usize, out: usize) -> (usize, usize) {
    let s = s as isize;
    let lo = if off >= 0 { 0 } else { (-off + s - 1) / s };
    let hi = if off >= size as isize {
        0
    } else {
        (size as isize - off + s - 1) / s
    };
    let hi = (hi as usize).min(out);
    ((lo as usize).min(hi), hi)
}

/// Visits every (column row, output row) pair of one group's im2col matrix: `f(dst_row,
/// input_row, lo, hi, off_w)` where `input_row` is None in the padding.
#[inline]
fn for_each_col_row(g: &ConvGeom, mut f: impl FnMut(usize, Option<usize>, usize, usize, isize)) {
    let (sh, sw) = g.stride;
    let (ph, pw) = g.padding;
    let (dh, dw) = g.dilation;
    for c in 0..g.cg_in() {
        for ki in 0..g.kh {
            for kj in 0..g.kw {
                let r = (c * g.kh + ki) * g.kw + kj;
                let off_w = (kj * dw) as isize - pw as isize;
                let (lo, hi) = valid_range(off_w, sw, g.w, g.ow);
                for oy in 0..g.oh {
                    let iy = (oy * sh + ki * dh) as isize - ph as isize;
                    let src =
                        (iy >= 0 && (iy as usize) < g.h).then(|| (c * g.h + iy as usize) * g.w);
                    f(r * g.p() + oy * g.ow, src, lo, hi, off_w);
                }
            }
        }
    }
}

/// Unfolds one group of one image (`cg_in x h x w`) into `col` (`k x p`), zeros in the padding.
pub fn im2col<F: Float>(x: &[F], g: &ConvGeom, col: &mut [F]) {
    col[..g.k() * g.p()].fill(F::ZERO);
    im2col_valid(x, g, col);
}

/// [`im2col`] that writes only the taps inside the image: the padding entries of `col`
/// must already be zero. They are the same for every image, so a buffer zeroed once and
/// only ever refilled by this function keeps them zero without re-filling each time.
fn im2col_valid<F: Float>(x: &[F], g: &ConvGeom, col: &mut [F]) {
    let sw = g.stride.1;
    for_each_col_row(g, |d, src, lo, hi, off_w| {
        let Some(s) = src.filter(|_| hi > lo) else {
            return;
        };
        let dst = &mut col[d + lo..d + hi];
        let s0 = (s as isize + lo as isize * sw as isize + off_w) as usize;
        if sw == 1 {
            copy_row(dst, &x[s0..s0 + hi - lo]);
        } else {
            for (o, v) in dst.iter_mut().zip(x[s0..].iter().step_by(sw)) {
                *o = *v;
            }
        }
    });
}

/// `dst.copy_from_slice(src)` with inline overlapping fixed-width moves for rows of 4 to
/// 32 elements: a libc memcpy call per short im2col row costs more than the copy itself.
#[inline(always)]
fn copy_row<F: Copy>(dst: &mut [F], src: &[F]) {
    #[inline(always)]
    fn two<F: Copy, const W: usize>(dst: &mut [F], src: &[F]) {
        let n = dst.len();
        dst[..W].copy_from_slice(&src[..W]);
        dst[n - W..].copy_from_slice(&src[n - W..n]);
    }
    match dst.len() {
        4..=7 => two::<F, 4>(dst, src),
        8..=15 => two::<F, 8>(dst, src),
        16..=32 => two::<F, 16>(dst, src),
        _ => dst.copy_from_slice(src),
    }
}

/// Folds `col` (`k x p`) back onto one group of one image, adding overlapping taps.
pub fn col2im<F: Float>(col: &[F], g: &ConvGeom, x: &mut [F]) {
    let sw = g.stride.1;
    for_each_col_row(g, |d, src, lo, hi, off_w| {
        let Some(s) = src.filter(|_| hi > lo) else {
            return;
        };
        let row = &col[d + lo..d + hi];
        let s0 = (s as isize + lo as isize * sw as isize + off_w) as usize;
        if sw == 1 {
            for (o, v) in x[s0..s0 + hi - lo].iter_mut().zip(row) {
                *o += *v;
            }
        } else {
            for (o, v) in x[s0..].iter_mut().step_by(sw).zip(row) {
                *o += *v;
            }
        }
    });
}

/// Forward: `y[n, g] = W[g] @ im2col(x[n, g]) + bias`, one image per rayon task.
pub fn conv2d_fwd<F: Float>(x: &[F], wt: &[F], bias: Option<&[F]>, g: &ConvGeom) -> Vec<F> {
    let (k, p, cg_in, cg_out) = (g.k(), g.p(), g.cg_in(), g.cg_out());
    let plane = g.h * g.w;
    let len = g.n * g.out_img();
    if len == 0 {
        return Vec::new();
    }
    let col_len = if g.pointwise() { 0 } else { k * p };
    let mut out: Vec<F> = Vec::with_capacity(len);
    out.spare_capacity_mut()[..len]
        .par_chunks_mut(g.out_img())
        .enumerate()
        .for_each_init(
            || vec![F::ZERO; col_len],
            |col, (ni, y)| {
                let xi = &x[ni * g.in_img()..(ni + 1) * g.in_img()];
                for grp in 0..g.groups {
                    let xg = &xi[grp * cg_in * plane..(grp + 1) * cg_in * plane];
                    let cols: &[F] = if g.pointwise() {
                        xg
                    } else {
                        im2col_valid(xg, g, col);
                        col
                    };
                    let yg = &mut y[grp * cg_out * p..(grp + 1) * cg_out * p];
                    let wg = &wt[grp * cg_out * k..(grp + 1) * cg_out * k];
                    match bias {
                        // Bias goes in first and the GEMM accumulates onto it (beta = 1).
                        Some(b) => {
                            for (row, &bv) in yg.chunks_mut(p).zip(&b[grp * cg_out..]) {
                                row.fill(MaybeUninit::new(bv));
                            }
                            // SAFETY: every element of yg was just written (cg_out rows of p).
                            let yg = unsafe { &mut *(yg as *mut [MaybeUninit<F>] as *mut [F]) };
                            gemm(cg_out, k, p, wg, (k, 1), cols, (p, 1), F::ONE, yg);
                        }
                        None => gemm_uninit(cg_out, k, p, wg, (k, 1), cols, (p, 1), yg),
                    }
                }
            },
        );
    // SAFETY: every image's groups were written whole, by the bias fill or the GEMM.
    unsafe { out.set_len(len) };
    out
}

/// Backward of [`conv2d_fwd`]: `(grad_input, grad_weight)`, each only when asked for.
pub fn conv2d_bwd<F: Float>(
    x: &[F],
    wt: &[F],
    dy: &[F],
    g: &ConvGeom,
    need_dx: bool,
    need_dw: bool,
) -> (Option<Vec<F>>, Option<Vec<F>>) {
    let (k, p, cg_in, cg_out) = (g.k(), g.p(), g.cg_in(), g.cg_out());
    let plane = g.h * g.w;
    let w_len = g.c_out * k;
    let per_chunk = g.n.div_ceil(BWD_CHUNKS).max(1);
    let n_chunks = g.n.div_ceil(per_chunk);

    // One chunk of images: writes their input gradient into `dxc`, returns the chunk's
    // weight-gradient partial sum.
    let work = |ci: usize, mut dxc: Option<&mut [F]>| -> Vec<F> {
        let col_len = if g.pointwise() { 0 } else { k * p };
        let mut col = vec![F::ZERO; if need_dw { col_len } else { 0 }];
        let mut dcol = vec![F::ZERO; if need_dx { col_len } else { 0 }];
        let mut dw = vec![F::ZERO; if need_dw { w_len } else { 0 }];
        let images = ci * per_chunk..((ci + 1) * per_chunk).min(g.n);
        for (j, ni) in images.enumerate() {
            let xi = &x[ni * g.in_img()..(ni + 1) * g.in_img()];
            let dyi = &dy[ni * g.out_img()..(ni + 1) * g.out_img()];
            for grp in 0..g.groups {
                let dyg = &dyi[grp * cg_out * p..(grp + 1) * cg_out * p];
                let wg = &wt[grp * cg_out * k..(grp + 1) * cg_out * k];
                if need_dw {
                    let xg = &xi[grp * cg_in * plane..(grp + 1) * cg_in * plane];
                    let cols: &[F] = if g.pointwise() {
                        xg
                    } else {
                        im2col_valid(xg, g, &mut col);
                        &col
                    };
                    // dW[g] += dY[g] (cg_out x p) @ cols^T (p x k)
                    let dwg = &mut dw[grp * cg_out * k..(grp + 1) * cg_out * k];
                    gemm(cg_out, p, k, dyg, (p, 1), cols, (1, p), F::ONE, dwg);
                }
                if let Some(dxc) = dxc.as_deref_mut() {
                    let dxi = &mut dxc[j * g.in_img()..(j + 1) * g.in_img()];
                    let dxg = &mut dxi[grp * cg_in * plane..(grp + 1) * cg_in * plane];
                    // dcol = W[g]^T (k x cg_out) @ dY[g] (cg_out x p), folded back.
                    if g.pointwise() {
                        gemm(k, cg_out, p, wg, (1, k), dyg, (p, 1), F::ZERO, dxg);
                    } else {
                        gemm(k, cg_out, p, wg, (1, k), dyg, (p, 1), F::ZERO, &mut dcol);
                        col2im(&dcol, g, dxg);
                    }
                }
            }
        }
        dw
    };

    let (dx, partials) = if need_dx {
        let mut dx = vec![F::ZERO; g.n * g.in_img()];
        let partials: Vec<Vec<F>> = if dx.is_empty() {
            Vec::new()
        } else {
            dx.par_chunks_mut(per_chunk * g.in_img())
                .enumerate()
                .map(|(ci, dxc)| work(ci, Some(dxc)))
                .collect()
        };
        (Some(dx), partials)
    } else if need_dw {
        let partials = (0..n_chunks)
            .into_par_iter()
            .map(|ci| work(ci, None))
            .collect();
        (None, partials)
    } else {
        (None, Vec::new())
    };
    let dw = need_dw.then(|| {
        // Chunk partials added in chunk order: the same bits for any thread count.
        let mut total = vec![F::ZERO; w_len];
        for part in &partials {
            for (t, v) in total.iter_mut().zip(part) {
                *t += *v;
            }
        }
        total
    });
    (dx, dw)
}

/// Bias gradient: the sum of `dy (n, c_out, p)` over images and pixels, per channel.
pub fn conv2d_bias_bwd<F: Float>(dy: &[F], n: usize, c_out: usize, p: usize) -> Vec<F> {
    (0..c_out)
        .into_par_iter()
        .map(|co| {
            (0..n)
                .map(|ni| super::reduce::sum_slice(&dy[(ni * c_out + co) * p..][..p]))
                .fold(F::ZERO, |a, b| a + b)
        })
        .collect()
}
