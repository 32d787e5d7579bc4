//! BatchNorm kernels over a dense input seen as `(n, c, s)` (`s` = H*W, 1 for `(N, C)`):
//! per-channel sums in one pass (f64 accumulators, shifted for accuracy), the
//! per-channel affine map of the forward, and the fused three-coefficient map of the
//! backward. Planes of one channel are reduced in a fixed order, so results are
//! bit-identical run to run; channels (or plane groups) run in parallel.

use rayon::prelude::*;

use super::uninit::par_build_uninit;

use super::reduce::tree8;
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
            #[cfg(target_arch = "x86_64")]
            if std::arch::is_x86_feature_detected!("avx2") {
                // SAFETY: the CPU supports AVX2 (checked just above).
                return unsafe { one_channel_avx2(a, sa[ch], b, sb[ch], d, ch) };
            }
            one_channel(a, sa[ch], b, sb[ch], d, ch)
        })
        .collect()
}

/// [`one_channel`] compiled with AVX2: f32 -> f64 conversion four lanes at a time
/// (the SSE2 baseline shuffles scalars). Same operations in the same order, so the
/// result is bit-identical to the baseline path.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2")]
unsafe fn one_channel_avx2<F: Float>(
    a: &[F],
    ka: f64,
    b: &[F],
    kb: f64,
    d: Ncs,
    ch: usize,
) -> (f64, f64) {
    if F::DTYPE == crate::dtype::DType::F32 {
        // SAFETY: F is f32 (same size and layout), checked just above.
        let (a, b) = unsafe {
            (
                std::slice::from_raw_parts(a.as_ptr() as *const f32, a.len()),
                std::slice::from_raw_parts(b.as_ptr() as *const f32, b.len()),
            )
        };
        return unsafe { one_channel_f32_avx2(a, ka, b, kb, d, ch) };
    }
    one_channel(a, ka, b, kb, d, ch)
}

/// [`one_channel`] for f32 with explicit AVX2 conversions (the auto-vectorizer keeps
/// scalar loads here). Lane `k` of the two registers is `acc[k]` of the generic path and
/// the ops are the same (no FMA), so the sums are bit-identical to it.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2")]
unsafe fn one_channel_f32_avx2(
    a: &[f32],
    ka: f64,
    b: &[f32],
    kb: f64,
    d: Ncs,
    ch: usize,
) -> (f64, f64) {
    use std::arch::x86_64::*;
    let (vka, vkb) = (_mm256_set1_pd(ka), _mm256_set1_pd(kb));
    let mut s1 = [_mm256_setzero_pd(); 2];
    let mut s2 = [_mm256_setzero_pd(); 2];
    let (mut t1, mut t2) = (0.0f64, 0.0f64);
    let full = d.s / 8 * 8;
    for i in 0..d.n {
        let off = (i * d.c + ch) * d.s;
        let (pa, pb) = (&a[off..off + d.s], &b[off..off + d.s]);
        for j in (0..full).step_by(8) {
            for h in 0..2 {
                // SAFETY: j + 4h + 4 <= full <= pa.len() == pb.len().
                let (xa, xb) = unsafe {
                    (
                        _mm_loadu_ps(pa.as_ptr().add(j + 4 * h)),
                        _mm_loadu_ps(pb.as_ptr().add(j + 4 * h)),
                    )
                };
                let u = _mm256_sub_pd(_mm256_cvtps_pd(xa), vka);
                let v = _mm256_sub_pd(_mm256_cvtps_pd(xb), vkb);
                s1[h] = _mm256_add_pd(s1[h], u);
                s2[h] = _mm256_add_pd(s2[h], _mm256_mul_pd(u, v));
            }
        }
        for k in full..d.s {
            let u = pa[k] as f64 - ka;
            t1 += u;
            t2 += u * (pb[k] as f64 - kb);
        }
    }
    let (mut acc1, mut acc2) = ([0.0f64; 8], [0.0f64; 8]);
    for h in 0..2 {
        // SAFETY: each half of the arrays holds four f64.
        unsafe {
            _mm256_storeu_pd(acc1.as_mut_ptr().add(4 * h), s1[h]);
            _mm256_storeu_pd(acc2.as_mut_ptr().add(4 * h), s2[h]);
        }
    }
    (tree8(&acc1) + t1, tree8(&acc2) + t2)
}

/// The sums of [`channel_sums`] for channel `ch` of planar input (`s > 1`).
#[inline(always)]
fn one_channel<F: Float>(a: &[F], ka: f64, b: &[F], kb: f64, d: Ncs, ch: usize) -> (f64, f64) {
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
}

/// A vector of `n` elements filled in parallel by `fill(task, out)`, task `t` owning
/// elements `t * chunk ..`. The buffer starts zeroed, so an element `fill` skips is 0,
/// never uninitialised memory ([`par_build_uninit`] skips the zeroing where every element
/// is written).
pub(crate) fn par_build<F: Float>(
    n: usize,
    chunk: usize,
    fill: impl Fn(usize, &mut [F]) + Sync,
) -> Vec<F> {
    let mut out = vec![F::ZERO; n];
    out.par_chunks_mut(chunk.max(1))
        .enumerate()
        .for_each(|(t, o)| fill(t, o));
    out
}

/// Elements per task: whole planes of `s` (or rows of `c` when `s == 1`, where the
/// coefficients vary along the row), about PAR_CHUNK of them.
fn unit_and_chunk(d: Ncs) -> (usize, usize) {
    let unit = if d.s == 1 { d.c } else { d.s };
    (unit, (PAR_CHUNK / unit.max(1)).max(1) * unit)
}

/// `out = x * scale[ch] + shift[ch]` (the forward, both modes).
pub fn channel_affine<F: Float>(x: &[F], scale: &[F], shift: &[F], d: Ncs) -> Vec<F> {
    let (unit, chunk) = unit_and_chunk(d);
    assert!(
        x.len().is_multiple_of(unit.max(1)),
        "channel_affine: a partial channel unit"
    );
    // SAFETY: x.len() is n * c * s and chunk a multiple of unit (s, or c when s == 1), so
    // the units cover each output chunk and every element of a unit is written.
    unsafe {
        par_build_uninit(x.len(), chunk, |t, o| {
            let x = &x[t * chunk..t * chunk + o.len()];
            for (j, (o, x)) in o
                .chunks_exact_mut(unit)
                .zip(x.chunks_exact(unit))
                .enumerate()
            {
                if d.s == 1 {
                    for i in 0..unit {
                        o[i].write(x[i] * scale[i] + shift[i]);
                    }
                } else {
                    let ch = (t * chunk / unit + j) % d.c;
                    let (a, b) = (scale[ch], shift[ch]);
                    for (o, &x) in o.iter_mut().zip(x) {
                        o.write(x * a + b);
                    }
                }
            }
        })
    }
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
    let (unit, chunk) = unit_and_chunk(d);
    assert!(
        dy.len() == x.len() && x.len().is_multiple_of(unit.max(1)),
        "channel_affine2: bad lengths"
    );
    // SAFETY: x.len() is n * c * s and chunk a multiple of unit (s, or c when s == 1), so
    // the units cover each output chunk and every element of a unit is written.
    unsafe {
        par_build_uninit(x.len(), chunk, |t, o| {
            let r = t * chunk..t * chunk + o.len();
            let (x, dy) = (&x[r.clone()], &dy[r]);
            let units = o
                .chunks_exact_mut(unit)
                .zip(dy.chunks_exact(unit).zip(x.chunks_exact(unit)));
            for (j, (o, (dy, x))) in units.enumerate() {
                if d.s == 1 {
                    for i in 0..unit {
                        o[i].write(dy[i] * k_dy[i] + x[i] * k_x[i] + k_0[i]);
                    }
                } else {
                    let ch = (t * chunk / unit + j) % d.c;
                    let (a, b, k) = (k_dy[ch], k_x[ch], k_0[ch]);
                    for i in 0..unit {
                        o[i].write(dy[i] * a + x[i] * b + k);
                    }
                }
            }
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dispatched_sums_match_generic_path_bitwise() {
        let mut rng = crate::rng::Rng::new(3);
        for d in [Ncs { n: 3, c: 2, s: 29 }, Ncs { n: 2, c: 3, s: 16 }] {
            let len = d.n * d.c * d.s;
            let a: Vec<f32> = (0..len).map(|_| rng.normal() as f32).collect();
            let b: Vec<f32> = (0..len).map(|_| 5.0 + rng.normal() as f32).collect();
            let (sa, sb) = (vec![0.25, -1.0, 0.5], vec![5.0, 4.5, 6.0]);
            let got = channel_sums(&a, &sa, &b, &sb, d);
            for ch in 0..d.c {
                let want = one_channel(&a, sa[ch], &b, sb[ch], d, ch);
                assert_eq!(got[ch], want, "channel {ch} of {d:?}");
                let naive: f64 = (0..d.n)
                    .flat_map(|i| (0..d.s).map(move |k| (i * d.c + ch) * d.s + k))
                    .map(|j| (a[j] as f64 - sa[ch]) * (b[j] as f64 - sb[ch]))
                    .sum();
                assert!((want.1 - naive).abs() < 1e-9 * (1.0 + naive.abs()));
            }
        }
    }
}
