//! Row reductions over a dense buffer viewed as `rows x row_len` (ops move the reduced
//! dims last first). Fixed chunking keeps sums bit-identical run to run.

use rayon::prelude::*;

use super::PAR_CHUNK;
use crate::dtype::Float;

/// Sum of a slice with eight independent accumulators (lets the loop vectorize).
pub fn sum_slice<F: Float>(x: &[F]) -> F {
    let mut acc = [F::ZERO; 8];
    let chunks = x.chunks_exact(8);
    let tail = chunks.remainder();
    for c in chunks {
        for i in 0..8 {
            acc[i] += c[i];
        }
    }
    let mut total = tree8(&acc);
    for &v in tail {
        total += v;
    }
    total
}

/// Pairwise sum of eight accumulators, in the fixed order every kernel uses.
#[inline(always)]
pub fn tree8<F: Float>(a: &[F; 8]) -> F {
    ((a[0] + a[4]) + (a[1] + a[5])) + ((a[2] + a[6]) + (a[3] + a[7]))
}

/// Sum of each of `rows` rows (an empty row sums to zero, like PyTorch).
pub fn sum_rows<F: Float>(x: &[F], rows: usize, row_len: usize) -> Vec<F> {
    if row_len == 0 {
        return vec![F::ZERO; rows];
    }
    if x.len() == row_len {
        // One long row: partial sums in parallel, combined in order.
        let partial: Vec<F> = x.par_chunks(PAR_CHUNK).map(sum_slice).collect();
        return vec![partial.into_iter().sum()];
    }
    map_rows(x, row_len, sum_slice)
}

/// Maximum of each row (NaN propagates, like PyTorch).
pub fn max_rows<F: Float>(x: &[F], row_len: usize) -> Vec<F> {
    map_rows(x, row_len, |r| {
        let mut m = F::NEG_INFINITY;
        for &v in r {
            if v.is_nan() {
                return v;
            }
            if v > m {
                m = v;
            }
        }
        m
    })
}

/// Index of the first maximum of each row, as a float.
pub fn argmax_rows<F: Float>(x: &[F], row_len: usize) -> Vec<F> {
    map_rows(x, row_len, |r| {
        let mut best = 0;
        for (i, &v) in r.iter().enumerate() {
            if v > r[best] || (v.is_nan() && !r[best].is_nan()) {
                best = i;
            }
        }
        F::from_f64(best as f64)
    })
}

fn map_rows<F: Float>(x: &[F], row_len: usize, f: impl Fn(&[F]) -> F + Sync) -> Vec<F> {
    let rows = x.len() / row_len;
    let mut out = vec![F::ZERO; rows];
    let rows_per_task = (PAR_CHUNK / row_len).max(1);
    out.par_chunks_mut(rows_per_task)
        .zip(x.par_chunks(rows_per_task * row_len))
        .for_each(|(o, x)| {
            for (o, row) in o.iter_mut().zip(x.chunks(row_len)) {
                *o = f(row);
            }
        });
    out
}
