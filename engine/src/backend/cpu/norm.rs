//! BatchNorm kernels over a dense input seen as `(n, c, s)` (`s` = H*W, 1 for `(N, C)`):
//! per-channel sums in one pass (f64 accumulators, shifted for accuracy), the
//! per-channel affine map of the forward, and the fused three-coefficient map of the
//! backward. Planes of one channel are reduced in a fixed order, so results are
//! bit-identical run to run; channels (or plane groups) run in parallel.

use rayon::prelude::*;

use super::PAR_CHUNK;
use crate::dtype::Float;

/// A BatchNorm input's dims: batch, channels, spatial size per channel plane.
#[derive(Clone, Copy, Debug)]
pub struct Ncs {
    pub n: usize,
    pub c: usize,
    pub s: usize,
}

/// Per channel `ch`: `(Σ (a - sa[ch]), Σ (a - sa[ch]) * (b - sb[ch]))`, in f64.
///
/// Forward statistics use `a = b = x` shifted by a sample of the channel (sum and sum of
/// squares without cancellation); the backward uses `a = dy` (no shift) and `b = x`
/// shifted by the saved mean (`Σ dy` and `Σ dy * (x - mean)`).
pub fn channel_sums<F: Float>(a: &[F], sa: &[f64], b: &[F], sb: &[f64], d: Ncs) -> Vec<(f64, f64)> {
    if d.s == 1 {
        // Rows of `c` values: accumulate down the rows, vectorized across channels.
        let mut s1 = vec![0.0f64; d.c];
        let mut s2 = vec![0.0f64; d.c];
        for (ra, rb) in a.chunks_exact(d.c).zip(b.chunks_exact(d.c)) {
            for j in 0..d.c {
                let u = ra[j].to_f64() - sa[j];
                let v = rb[j].to_f64() - sb[j];
                s1[j] += u;
                s2[j] += u * v;
            }
        }
        return s1.into_iter().zip(s2).collect();
    }
    (0..d.c)
        .into_par_iter()
        .map(|ch| {
            let (ka, kb) = (sa[ch], sb[ch]);
            let mut acc1 = [0.0f64; 8];
            let mut acc2 = [0.0f64; 8];
            let (mut t1, mut t2) = (0.0f64, 0.0f64);
            for i in 0..d.n {
                let off = (i * d.c + ch) * d.s;
                let (pa, pb) = (&a[off..off + d.s], &b[off..off + d.s]);
                let (ca, cb) = (pa.chunks_exact(8), pb.chunks_exact(8));
                let (ra, rb) = (ca.remainder(), cb.remainder());
                for (xa, xb) in ca.zip(cb) {
                    for k in 0..8 {
                        let u = xa[k].to_f64() - ka;
                        let v = xb[k].to_f64() - kb;
                        acc1[k] += u;
                        acc2[k] += u * v;
                    }
                }
                for (&xa, &xb) in ra.iter().zip(rb) {
                    let u = xa.to_f64() - ka;
                    t1 += u;
                    t2 += u * (xb.to_f64() - kb);
                }
            }
            (tree8(&acc1) + t1, tree8(&acc2) + t2)
        })
        .collect()
}

fn tree8(a: &[f64; 8]) -> f64 {
    ((a[0] + a[4]) + (a[1] + a[5])) + ((a[2] + a[6]) + (a[3] + a[7]))
}

/// Planes (or rows, when `s == 1`) handed to one rayon task.
fn units_per_task(len: usize) -> usize {
    (PAR_CHUNK / len.max(1)).max(1)
}

/// `out = x * scale[ch] + shift[ch]` (the forward, both modes).
pub fn channel_affine<F: Float>(x: &[F], scale: &[F], shift: &[F], d: Ncs) -> Vec<F> {
    let mut out = vec![F::ZERO; x.len()];
    if x.is_empty() {
        return out;
    }
    if d.s == 1 {
        let rows = units_per_task(d.c);
        out.par_chunks_mut(rows * d.c)
            .zip(x.par_chunks(rows * d.c))
            .for_each(|(o, x)| {
                for (o, x) in o.chunks_exact_mut(d.c).zip(x.chunks_exact(d.c)) {
                    for j in 0..d.c {
                        o[j] = x[j] * scale[j] + shift[j];
                    }
                }
            });
        return out;
    }
    let planes = units_per_task(d.s);
    out.par_chunks_mut(planes * d.s)
        .zip(x.par_chunks(planes * d.s))
        .enumerate()
        .for_each(|(t, (o, x))| {
            for (j, (o, x)) in o.chunks_exact_mut(d.s).zip(x.chunks_exact(d.s)).enumerate() {
                let ch = (t * planes + j) % d.c;
                let (a, b) = (scale[ch], shift[ch]);
                for (o, &x) in o.iter_mut().zip(x) {
                    *o = x * a + b;
                }
            }
        });
    out
}

/// `dx = dy * k_dy[ch] + x * k_x[ch] + k_0[ch]`: the BatchNorm input gradient with the
/// reductions folded into three per-channel coefficients (see `ops/norm.rs`).
pub fn channel_affine2<F: Float>(
    dy: &[F],
    x: &[F],
    k_dy: &[F],
    k_x: &[F],
    k_0: &[F],
    d: Ncs,
) -> Vec<F> {
    let mut out = vec![F::ZERO; x.len()];
    if x.is_empty() {
        return out;
    }
    if d.s == 1 {
        let rows = units_per_task(d.c);
        let len = rows * d.c;
        out.par_chunks_mut(len)
            .zip(dy.par_chunks(len).zip(x.par_chunks(len)))
            .for_each(|(o, (dy, x))| {
                let rows = o.chunks_exact_mut(d.c);
                for (o, (dy, x)) in rows.zip(dy.chunks_exact(d.c).zip(x.chunks_exact(d.c))) {
                    for j in 0..d.c {
                        o[j] = dy[j] * k_dy[j] + x[j] * k_x[j] + k_0[j];
                    }
                }
            });
        return out;
    }
    let planes = units_per_task(d.s);
    let len = planes * d.s;
    out.par_chunks_mut(len)
        .zip(dy.par_chunks(len).zip(x.par_chunks(len)))
        .enumerate()
        .for_each(|(t, (o, (dy, x)))| {
            let units = o
                .chunks_exact_mut(d.s)
                .zip(dy.chunks_exact(d.s).zip(x.chunks_exact(d.s)));
            for (j, (o, (dy, x))) in units.enumerate() {
                let ch = (t * planes + j) % d.c;
                let (a, b, k) = (k_dy[ch], k_x[ch], k_0[ch]);
                for i in 0..o.len() {
                    o[i] = dy[i] * a + x[i] * b + k;
                }
            }
        });
    out
}
