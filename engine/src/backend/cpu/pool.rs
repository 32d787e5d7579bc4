//! Pooling CPU kernels over dense `(planes, H, W)` buffers, rayon across groups of planes.
//! Every pool is described by its windows along each axis (start, end, divisor), so the
//! same loops serve max, average and adaptive average pooling. Backward writes each
//! plane's gradient from one task, so overlapping windows add up in a fixed order.

use rayon::prelude::*;

use super::PAR_CHUNK;
use crate::dtype::Float;

/// One pooling window along one axis: the input positions `start, start + step, ...` below
/// `end` (already clipped to the input; `step` is the dilation, 1 for average pools) and
/// the factor this axis contributes to the average's divisor.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Win {
    pub start: usize,
    pub end: usize,
    pub div: usize,
    pub step: usize,
}

/// The windows of a pool along both axes of a plane.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Windows {
    pub h: usize,
    pub w: usize,
    pub rows: Vec<Win>,
    pub cols: Vec<Win>,
}

/// A sliding window along one axis, PyTorch's pooling arguments: kernel size, stride,
/// padding, dilation, `ceil_mode`, and (average pools) `count_include_pad`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Sliding {
    pub k: usize,
    pub s: usize,
    pub p: usize,
    pub d: usize,
    pub ceil: bool,
    pub count_pad: bool,
}

impl Windows {
    /// Whether these are the common 2x2, stride 2, unpadded, undilated windows.
    fn is_2x2_stride_2(&self) -> bool {
        let pairs = |ws: &[Win]| {
            ws.iter()
                .enumerate()
                .all(|(i, w)| w.start == 2 * i && w.end == 2 * i + 2 && w.step == 1)
        };
        pairs(&self.rows) && pairs(&self.cols)
    }
    fn in_plane(&self) -> usize {
        self.h * self.w
    }
    fn out_plane(&self) -> usize {
        self.rows.len() * self.cols.len()
    }
    /// Planes per rayon task, so that tiny planes are not one task each.
    fn planes_per_task(&self) -> usize {
        (PAR_CHUNK / self.in_plane().max(1)).max(1)
    }
}

impl Sliding {
    /// PyTorch's `pooling_output_shape`: `(size + 2p - d(k - 1) - 1 [+ s - 1 in ceil mode]) / s
    /// + 1` rounded down, and in ceil mode one fewer when the last window would start in the
    /// right padding. `None` when that is below 1 (or the arguments are zero).
    pub fn out_len(&self, size: usize) -> Option<usize> {
        if self.k == 0 || self.s == 0 || self.d == 0 {
            return None;
        }
        let (size, k, s, p, d) = (
            size as i64,
            self.k as i64,
            self.s as i64,
            self.p as i64,
            self.d as i64,
        );
        let num = size + 2 * p - d * (k - 1) - 1 + if self.ceil { s - 1 } else { 0 };
        let mut out = num.div_euclid(s) + 1;
        if self.ceil && (out - 1) * s >= size + p {
            out -= 1;
        }
        (out >= 1).then_some(out as usize)
    }

    /// The windows over `size` inputs (`out_len` of them; empty when that is `None`). A
    /// window of a max pool holds the dilated taps that fall inside the input; an average
    /// pool's divisor is PyTorch's: the window clipped to the padded input when padding
    /// counts, else to the input.
    pub fn windows(&self, size: usize) -> Vec<Win> {
        let n = self.out_len(size).unwrap_or(0);
        let (k, p, d) = (self.k as i64, self.p as i64, self.d as i64);
        (0..n as i64)
            .map(|o| {
                let lo = o * self.s as i64 - p;
                // The first tap at or after 0, and one past the last tap, clipped.
                let first = if lo < 0 {
                    lo + (-lo + d - 1) / d * d
                } else {
                    lo
                };
                let end = (lo + d * (k - 1) + 1).min(size as i64);
                let padded = (lo + k).min(size as i64 + p) - lo;
                let clipped = (lo + k).min(size as i64) - lo.max(0);
                Win {
                    start: first as usize,
                    end: end.max(first) as usize,
                    div: if self.count_pad { padded } else { clipped } as usize,
                    step: self.d,
                }
            })
            .collect()
    }
}

/// PyTorch's adaptive bins: `floor(i * size / out) .. ceil((i + 1) * size / out)`.
pub fn adaptive(size: usize, out: usize) -> Vec<Win> {
    (0..out)
        .map(|i| {
            let start = i * size / out;
            let end = ((i + 1) * size).div_ceil(out);
            Win {
                start,
                end,
                div: end - start,
                step: 1,
            }
        })
        .collect()
}

/// Max pool forward: the maxima and, per output, the in-plane index of the first maximum
/// (a NaN wins, as in PyTorch).
pub fn max_pool2d_fwd<F: Float>(x: &[F], win: &Windows) -> (Vec<F>, Vec<u32>) {
    let (ip, op) = (win.in_plane(), win.out_plane());
    let planes = x.len() / ip.max(1);
    let mut out = vec![F::ZERO; planes * op];
    let mut idx = vec![0u32; planes * op];
    if out.is_empty() {
        return (out, idx);
    }
    let ppt = win.planes_per_task();
    let two_by_two = win.is_2x2_stride_2();
    out.par_chunks_mut(ppt * op)
        .zip(idx.par_chunks_mut(ppt * op))
        .zip(x.par_chunks(ppt * ip))
        .for_each(|((out, idx), x)| {
            // NaN (rare) needs the exact, branchy path.
            let nan = x.iter().any(|v| v.is_nan());
            for ((o, ix), xp) in out.chunks_mut(op).zip(idx.chunks_mut(op)).zip(x.chunks(ip)) {
                match (nan, two_by_two) {
                    (false, true) => max_plane_2x2(xp, win.w, o, ix),
                    (false, false) => max_plane::<F, false>(xp, win, o, ix),
                    (true, _) => max_plane::<F, true>(xp, win, o, ix),
                }
            }
        });
    (out, idx)
}

/// One plane, any windows: scans each window's taps in row-major order; strict `>` keeps the
/// first maximum. With `NAN`, a NaN always wins (as in PyTorch); without it the step
/// is a max and a conditional move, free of data-dependent branches.
fn max_plane<F: Float, const NAN: bool>(xp: &[F], win: &Windows, o: &mut [F], ix: &mut [u32]) {
    let mut i = 0;
    for r in &win.rows {
        for c in &win.cols {
            let (mut best, mut arg) = (F::NEG_INFINITY, r.start * win.w + c.start);
            for y in (r.start..r.end).step_by(r.step) {
                for (xx, &v) in xp[y * win.w + c.start..y * win.w + c.end]
                    .iter()
                    .step_by(c.step)
                    .enumerate()
                {
                    let take = if NAN {
                        v > best || v.is_nan()
                    } else {
                        v > best
                    };
                    arg = if take {
                        y * win.w + c.start + xx * c.step
                    } else {
                        arg
                    };
                    best = if take { v } else { best };
                }
            }
            o[i] = best;
            ix[i] = arg as u32;
            i += 1;
        }
    }
}

/// One plane of the common 2x2, stride 2, unpadded pool, for NaN-free input: with no NaN
/// the keep-if-greater step is a plain max and a conditional move, which compile without
/// data-dependent branches (random data would mispredict them).
fn max_plane_2x2<F: Float>(xp: &[F], w: usize, o: &mut [F], ix: &mut [u32]) {
    let ow = w / 2;
    for (oy, (ob, ib)) in o
        .chunks_exact_mut(ow)
        .zip(ix.chunks_exact_mut(ow))
        .enumerate()
    {
        let y0 = 2 * oy * w;
        let (r0, r1) = (&xp[y0..y0 + 2 * ow], &xp[y0 + w..y0 + w + 2 * ow]);
        for (ox, ((b, a), (p0, p1))) in ob
            .iter_mut()
            .zip(ib.iter_mut())
            .zip(r0.chunks_exact(2).zip(r1.chunks_exact(2)))
            .enumerate()
        {
            let i0 = (y0 + 2 * ox) as u32;
            let (mut best, mut arg) = (p0[0], i0);
            for (v, i) in [
                (p0[1], i0 + 1),
                (p1[0], i0 + w as u32),
                (p1[1], i0 + w as u32 + 1),
            ] {
                let gt = v > best;
                arg = if gt { i } else { arg };
                best = if gt { v } else { best };
            }
            *b = best;
            *a = arg;
        }
    }
}

/// Max pool backward: each output's gradient goes to its saved argmax.
pub fn max_pool2d_bwd<F: Float>(dy: &[F], idx: &[u32], win: &Windows) -> Vec<F> {
    let (ip, op) = (win.in_plane(), win.out_plane());
    let planes = dy.len() / op.max(1);
    let mut dx = vec![F::ZERO; planes * ip];
    if dx.is_empty() || op == 0 {
        return dx;
    }
    let ppt = win.planes_per_task();
    dx.par_chunks_mut(ppt * ip)
        .zip(dy.par_chunks(ppt * op))
        .zip(idx.par_chunks(ppt * op))
        .for_each(|((dx, dy), idx)| {
            for ((dxp, dyp), ixp) in dx.chunks_mut(ip).zip(dy.chunks(op)).zip(idx.chunks(op)) {
                for (&g, &i) in dyp.iter().zip(ixp) {
                    dxp[i as usize] += g;
                }
            }
        });
    dx
}

/// Average pool forward (plain or adaptive, by the windows given).
pub fn avg_pool2d_fwd<F: Float>(x: &[F], win: &Windows) -> Vec<F> {
    let (ip, op) = (win.in_plane(), win.out_plane());
    let planes = x.len() / ip.max(1);
    let mut out = vec![F::ZERO; planes * op];
    if out.is_empty() {
        return out;
    }
    let ppt = win.planes_per_task();
    out.par_chunks_mut(ppt * op)
        .zip(x.par_chunks(ppt * ip))
        .for_each(|(out, x)| {
            for (o, xp) in out.chunks_mut(op).zip(x.chunks(ip)) {
                let mut i = 0;
                for r in &win.rows {
                    for c in &win.cols {
                        let mut s = F::ZERO;
                        for y in r.start..r.end {
                            for &v in &xp[y * win.w + c.start..y * win.w + c.end] {
                                s += v;
                            }
                        }
                        o[i] = s / F::from_f64((r.div * c.div) as f64);
                        i += 1;
                    }
                }
            }
        });
    out
}

/// Average pool backward: each output's gradient spread evenly over its window.
pub fn avg_pool2d_bwd<F: Float>(dy: &[F], win: &Windows) -> Vec<F> {
    let (ip, op) = (win.in_plane(), win.out_plane());
    let planes = dy.len() / op.max(1);
    let mut dx = vec![F::ZERO; planes * ip];
    if dx.is_empty() || op == 0 {
        return dx;
    }
    let ppt = win.planes_per_task();
    dx.par_chunks_mut(ppt * ip)
        .zip(dy.par_chunks(ppt * op))
        .for_each(|(dx, dy)| {
            for (dxp, dyp) in dx.chunks_mut(ip).zip(dy.chunks(op)) {
                let mut i = 0;
                for r in &win.rows {
                    for c in &win.cols {
                        let g = dyp[i] / F::from_f64((r.div * c.div) as f64);
                        i += 1;
                        for y in r.start..r.end {
                            for d in &mut dxp[y * win.w + c.start..y * win.w + c.end] {
                                *d += g;
                            }
                        }
                    }
                }
            }
        });
    dx
}
