//! LayerNorm's normalisation over the rows of a dense `[rows, cols]` (the CUDA kernels'
//! formulas, `kernels/cuda/norm.cu`): rows in parallel, each row's sums in order.

use rayon::prelude::*;

use crate::dtype::Float;

/// `(xhat, rstd)`: `xhat = (x - mean) * rstd` per row, `rstd = 1 / sqrt(var + eps)` with the
/// biased variance of centred values (a second pass: no cancellation).
pub fn forward<F: Float>(x: &[F], cols: usize, eps: F) -> (Vec<F>, Vec<F>) {
    let rows = x.len() / cols;
    let n = F::from_f64(cols as f64);
    let mut xhat = vec![F::ZERO; x.len()];
    let mut rstd = vec![F::ZERO; rows];
    xhat.par_chunks_mut(cols)
        .zip(rstd.par_iter_mut())
        .zip(x.par_chunks(cols))
        .for_each(|((out, r), row)| {
            let mean = row.iter().copied().sum::<F>() / n;
            let var = row.iter().map(|&v| (v - mean) * (v - mean)).sum::<F>() / n;
            *r = F::ONE / (var + eps).sqrt();
            for (o, &v) in out.iter_mut().zip(row) {
                *o = (v - mean) * *r;
            }
        });
    (xhat, rstd)
}

/// `dx = rstd (dy - mean(dy) - xhat mean(dy xhat))` per row.
pub fn backward<F: Float>(xhat: &[F], rstd: &[F], dy: &[F], cols: usize) -> Vec<F> {
    let n = F::from_f64(cols as f64);
    let mut dx = vec![F::ZERO; xhat.len()];
    dx.par_chunks_mut(cols)
        .zip(rstd.par_iter())
        .zip(xhat.par_chunks(cols).zip(dy.par_chunks(cols)))
        .for_each(|((out, &r), (xh, g))| {
            let a = g.iter().copied().sum::<F>() / n;
            let b = g.iter().zip(xh).map(|(&g, &x)| g * x).sum::<F>() / n;
            for ((o, &g), &x) in out.iter_mut().zip(g).zip(xh) {
                *o = r * (g - a - x * b);
            }
        });
    dx
}
