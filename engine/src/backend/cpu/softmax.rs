//! Softmax, log-softmax, the fused softmax + cross-entropy and nll, over a dense input seen as
//! `(outer, d, inner)` with the softmax along `d`. When `inner == 1` each row is
//! contiguous and rows run in parallel; otherwise each `d x inner` block is processed
//! with loops over contiguous `inner`-long runs (vectorizable), blocks in parallel.
//! All are max-subtracted, so large logits do not overflow.

use rayon::prelude::*;

use super::PAR_CHUNK;
use crate::dtype::Float;

/// Outer blocks (or rows) per rayon task for units of `len` elements.
fn per_task(len: usize) -> usize {
    (PAR_CHUNK / len.max(1)).max(1)
}

/// Runs `f(block_in, block_out)` on each `d * inner` block in parallel.
fn for_blocks<F: Float>(x: &[F], out: &mut [F], block: usize, f: impl Fn(&[F], &mut [F]) + Sync) {
    if block == 0 {
        return;
    }
    let n = per_task(block) * block;
    out.par_chunks_mut(n)
        .zip(x.par_chunks(n))
        .for_each(|(o, x)| {
            for (o, x) in o.chunks_exact_mut(block).zip(x.chunks_exact(block)) {
                f(x, o);
            }
        });
}

fn row_max<F: Float>(x: &[F]) -> F {
    x.iter().fold(F::NEG_INFINITY, |m, &v| m.max(v))
}

/// Softmax (or log-softmax when `log`) of `x` viewed as `(outer, d, inner)` along `d`.
pub fn softmax_fwd<F: Float>(x: &[F], d: usize, inner: usize, log: bool) -> Vec<F> {
    let mut out = vec![F::ZERO; x.len()];
    if inner == 1 {
        for_blocks(x, &mut out, d, |x, o| {
            let m = row_max(x);
            if log {
                let s: F = x.iter().map(|&v| (v - m).exp()).sum();
                let ls = s.ln();
                for (o, &v) in o.iter_mut().zip(x) {
                    *o = (v - m) - ls;
                }
            } else {
                let mut s = F::ZERO;
                for (o, &v) in o.iter_mut().zip(x) {
                    *o = (v - m).exp();
                    s += *o;
                }
                let inv = F::ONE / s;
                o.iter_mut().for_each(|o| *o *= inv);
            }
        });
        return out;
    }
    for_blocks(x, &mut out, d * inner, |x, o| {
        let mut m = vec![F::NEG_INFINITY; inner];
        for row in x.chunks_exact(inner) {
            for (m, &v) in m.iter_mut().zip(row) {
                *m = m.max(v);
            }
        }
        let mut s = vec![F::ZERO; inner];
        for (orow, row) in o.chunks_exact_mut(inner).zip(x.chunks_exact(inner)) {
            for i in 0..inner {
                let e = (row[i] - m[i]).exp();
                s[i] += e;
                orow[i] = e;
            }
        }
        if log {
            // (x - m) - ln s, not x - (m + ln s): no rounding at the scale of m.
            s.iter_mut().for_each(|s| *s = s.ln());
            for (orow, row) in o.chunks_exact_mut(inner).zip(x.chunks_exact(inner)) {
                for i in 0..inner {
                    orow[i] = (row[i] - m[i]) - s[i];
                }
            }
        } else {
            s.iter_mut().for_each(|s| *s = F::ONE / *s);
            for orow in o.chunks_exact_mut(inner) {
                for i in 0..inner {
                    orow[i] *= s[i];
                }
            }
        }
    });
    out
}

/// Input gradient given the output `y` and its gradient `dy`:
/// softmax `dx = y (dy - Σ dy y)`, log-softmax `dx = dy - exp(y) Σ dy`.
pub fn softmax_bwd<F: Float>(y: &[F], dy: &[F], d: usize, inner: usize, log: bool) -> Vec<F> {
    let mut dx = vec![F::ZERO; y.len()];
    let block = d * inner;
    if block == 0 {
        return dx;
    }
    let n = per_task(block) * block;
    dx.par_chunks_mut(n)
        .zip(y.par_chunks(n).zip(dy.par_chunks(n)))
        .for_each(|(dx, (y, dy))| {
            let mut s = vec![F::ZERO; inner];
            let blocks = dx.chunks_exact_mut(block);
            for (dx, (y, dy)) in blocks.zip(y.chunks_exact(block).zip(dy.chunks_exact(block))) {
                s.iter_mut().for_each(|s| *s = F::ZERO);
                for (yr, gr) in y.chunks_exact(inner).zip(dy.chunks_exact(inner)) {
                    for i in 0..inner {
                        s[i] += if log { gr[i] } else { gr[i] * yr[i] };
                    }
                }
                let rows = dx.chunks_exact_mut(inner);
                for (dr, (yr, gr)) in rows.zip(y.chunks_exact(inner).zip(dy.chunks_exact(inner))) {
                    for i in 0..inner {
                        dr[i] = if log {
                            gr[i] - yr[i].exp() * s[i]
                        } else {
                            yr[i] * (gr[i] - s[i])
                        };
                    }
                }
            }
        });
    dx
}

/// The targets of a class loss: one label per row, optional class weights, and the label
/// that marks a row as ignored (loss 0, weight 0). Labels are in range or ignored (checked
/// by the caller).
#[derive(Clone, Copy, Debug)]
pub struct ClassTargets<'a> {
    pub labels: &'a [usize],
    pub weight: Option<&'a [f64]>,
    pub ignore: Option<usize>,
}

impl ClassTargets<'_> {
    /// Row `i`'s label and its class weight, or `None` when the row is ignored.
    fn target(&self, i: usize) -> Option<(usize, f64)> {
        let t = self.labels[i];
        if Some(t) == self.ignore {
            return None;
        }
        Some((t, self.weight.map_or(1.0, |w| w[t])))
    }
    /// `Σ_j w_j` over `c` classes.
    pub fn weight_sum(&self, c: usize) -> f64 {
        self.weight.map_or(c as f64, |w| w.iter().sum())
    }
}

/// Fused softmax + cross-entropy of logits `(rows, c)` with label smoothing `eps`, class
/// weights and an ignored label (PyTorch's formula). Returns each row's `(max, ln Σ exp(x -
/// max))` interleaved (saved for the backward), and per row, in f64, the loss
/// `(1 - eps) w_t (lse - x_t) + eps / c Σ_j w_j (lse - x_j)` and the weight `w_t` (both 0 on
/// an ignored row).
pub fn cross_entropy_fwd<F: Float>(
    x: &[F],
    tg: &ClassTargets,
    c: usize,
    eps: f64,
) -> (Vec<F>, Vec<f64>, Vec<f64>) {
    let rows = tg.labels.len();
    let wsum = tg.weight_sum(c);
    let mut stats = vec![F::ZERO; 2 * rows];
    let mut loss = vec![0.0f64; rows];
    let mut wts = vec![0.0f64; rows];
    let k = per_task(c);
    stats
        .par_chunks_mut(2 * k)
        .zip(loss.par_chunks_mut(k).zip(wts.par_chunks_mut(k)))
        .zip(x.par_chunks(k * c))
        .enumerate()
        .for_each(|(chunk, ((stats, (loss, wts)), x))| {
            for (i, row) in x.chunks_exact(c).enumerate() {
                let m = row_max(row);
                let s: F = row.iter().map(|&v| (v - m).exp()).sum();
                let ls = s.ln();
                stats[2 * i] = m;
                stats[2 * i + 1] = ls;
                let Some((t, wt)) = tg.target(chunk * k + i) else {
                    continue;
                };
                // -log p_j = ls - (x_j - m), in f64 from here on.
                let (m, ls) = (m.to_f64(), ls.to_f64());
                let nll = ls - (row[t].to_f64() - m);
                wts[i] = wt;
                loss[i] = if eps == 0.0 {
                    wt * nll
                } else {
                    let centred: f64 = match tg.weight {
                        Some(w) => row.iter().zip(w).map(|(v, w)| w * (v.to_f64() - m)).sum(),
                        None => row.iter().map(|v| v.to_f64() - m).sum(),
                    };
                    (1.0 - eps) * wt * nll + eps / c as f64 * (wsum * ls - centred)
                };
            }
        });
    (stats, loss, wts)
}

/// `dx = scale_i (a softmax(x) - eps / c w - (1 - eps) w_t onehot(t))` with
/// `a = (1 - eps) w_t + eps / c Σ_j w_j`, from the saved per-row `(max, ln sum)`; `scale`
/// holds each row's upstream gradient. Ignored rows get 0.
pub fn cross_entropy_bwd<F: Float>(
    x: &[F],
    stats: &[F],
    tg: &ClassTargets,
    c: usize,
    eps: f64,
    scale: &[F],
) -> Vec<F> {
    let mut dx = vec![F::ZERO; x.len()];
    let k = per_task(c);
    let smooth = F::from_f64(eps / c as f64);
    let wsum = F::from_f64(tg.weight_sum(c));
    let weight: Option<Vec<F>> = tg
        .weight
        .map(|w| w.iter().map(|&v| F::from_f64(v)).collect());
    dx.par_chunks_mut(k * c)
        .zip(x.par_chunks(k * c))
        .zip(stats.par_chunks(2 * k).zip(scale.par_chunks(k)))
        .enumerate()
        .for_each(|(chunk, ((dx, x), (stats, scale)))| {
            for (i, (dr, xr)) in dx.chunks_exact_mut(c).zip(x.chunks_exact(c)).enumerate() {
                let Some((t, wt)) = tg.target(chunk * k + i) else {
                    continue;
                };
                let (m, ls, g) = (stats[2 * i], stats[2 * i + 1], scale[i]);
                let hit = F::from_f64((1.0 - eps) * wt);
                let a = hit + smooth * wsum;
                for (j, (d, &v)) in dr.iter_mut().zip(xr).enumerate() {
                    let wj = weight.as_ref().map_or(F::ONE, |w| w[j]);
                    let mut e = a * ((v - m) - ls).exp() - smooth * wj;
                    if j == t {
                        e -= hit;
                    }
                    *d = e * g;
                }
            }
        });
    dx
}

/// nll of log-probabilities `(rows, c)`: per row, in f64, the loss `-w_t x_t` and the weight
/// `w_t` (both 0 on an ignored row).
pub fn nll_loss_fwd<F: Float>(x: &[F], tg: &ClassTargets, c: usize) -> (Vec<f64>, Vec<f64>) {
    (0..tg.labels.len())
        .map(|i| match tg.target(i) {
            Some((t, wt)) => (-wt * x[i * c + t].to_f64(), wt),
            None => (0.0, 0.0),
        })
        .unzip()
}

/// `dx = -w_t scale_i` at each non-ignored row's label, 0 elsewhere.
pub fn nll_loss_bwd<F: Float>(tg: &ClassTargets, c: usize, scale: &[F]) -> Vec<F> {
    let mut dx = vec![F::ZERO; tg.labels.len() * c];
    for (i, &g) in scale.iter().enumerate() {
        if let Some((t, wt)) = tg.target(i) {
            dx[i * c + t] = -F::from_f64(wt) * g;
        }
    }
    dx
}
