//! Elementwise maps: unary, fused backward (x, y, grad) and broadcasting binary.

use rayon::prelude::*;

use super::copy::outer_layout;
use super::uninit::par_build_uninit;
use super::PAR_CHUNK;
use crate::dtype::Float;
use crate::error::Result;
use crate::shape::{Layout, Shape};

/// `f` applied to every element of a dense slice.
pub fn unary<F: Float>(x: &[F], f: impl Fn(F) -> F + Sync) -> Vec<F> {
    // SAFETY: chunk t of the output and of x have the same length; each element is written.
    unsafe {
        par_build_uninit(x.len(), PAR_CHUNK, |t, o| {
            for (o, &x) in o.iter_mut().zip(&x[t * PAR_CHUNK..]) {
                o.write(f(x));
            }
        })
    }
}

/// `f(a[i], b[i], c[i])` over three dense slices of equal length.
pub fn ternary<F: Float>(a: &[F], b: &[F], c: &[F], f: impl Fn(F, F, F) -> F + Sync) -> Vec<F> {
    assert!(
        b.len() >= a.len() && c.len() >= a.len(),
        "ternary: operands of unequal length"
    );
    // SAFETY: b and c are at least as long as a (and the output), so the zip covers every
    // element of each output chunk.
    unsafe {
        par_build_uninit(a.len(), PAR_CHUNK, |t, o| {
            let r = t * PAR_CHUNK..;
            let (a, b, c) = (&a[r.clone()], &b[r.clone()], &c[r]);
            // Zipped iterators: no bounds checks, so the loop vectorizes.
            for ((o, &a), (&b, &c)) in o.iter_mut().zip(a).zip(b.iter().zip(c)) {
                o.write(f(a, b, c));
            }
        })
    }
}

/// `f(a, b)` with NumPy broadcasting of both (possibly strided) operands to `shape`
/// (an error when they do not broadcast to it).
pub fn binary<F: Float>(
    a: &[F],
    la: &Layout,
    b: &[F],
    lb: &Layout,
    shape: &Shape,
    f: impl Fn(F, F) -> F + Sync,
) -> Result<Vec<F>> {
    let n = shape.numel();
    let mut out = vec![F::ZERO; n];
    if n == 0 {
        return Ok(out);
    }
    // Fast path: both dense with the output's shape.
    if la.is_contiguous() && lb.is_contiguous() && la.shape == *shape && lb.shape == *shape {
        let (a, b) = (&a[la.offset..la.offset + n], &b[lb.offset..lb.offset + n]);
        out.par_chunks_mut(PAR_CHUNK)
            .zip(a.par_chunks(PAR_CHUNK).zip(b.par_chunks(PAR_CHUNK)))
            .for_each(|(o, (a, b))| {
                for i in 0..o.len() {
                    o[i] = f(a[i], b[i]);
                }
            });
        return Ok(out);
    }
    let (la, lb) = (la.broadcast_to(shape)?, lb.broadcast_to(shape)?);
    let (rank, inner) = (shape.rank(), shape.dims().last().copied().unwrap_or(1));
    let (sa, sb) = if rank == 0 {
        (0, 0)
    } else {
        (la.strides[rank - 1], lb.strides[rank - 1])
    };
    let starts: Vec<(usize, usize)> = if rank == 0 {
        vec![(la.offset, lb.offset)]
    } else {
        outer_layout(&la)
            .indices()
            .zip(outer_layout(&lb).indices())
            .collect()
    };
    let rows_per_task = (PAR_CHUNK / inner).max(1);
    out.par_chunks_mut(inner * rows_per_task)
        .zip(starts.par_chunks(rows_per_task))
        .for_each(|(dst, starts)| {
            for (row, &(pa, pb)) in dst.chunks_mut(inner).zip(starts) {
                match (sa, sb) {
                    // Row times a broadcast scalar (bias add): vectorizes.
                    (1, 0) => {
                        let (a, bv) = (&a[pa..pa + inner], b[pb]);
                        for (o, &x) in row.iter_mut().zip(a) {
                            *o = f(x, bv);
                        }
                    }
                    (1, 1) => {
                        let (a, b) = (&a[pa..pa + inner], &b[pb..pb + inner]);
                        for j in 0..inner {
                            row[j] = f(a[j], b[j]);
                        }
                    }
                    _ => {
                        for (j, o) in row.iter_mut().enumerate() {
                            *o = f(a[pa + j * sa], b[pb + j * sb]);
                        }
                    }
                }
            }
        });
    Ok(out)
}
