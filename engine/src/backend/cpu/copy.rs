//! Gathering strided views into dense row-major buffers.

use rayon::prelude::*;

use crate::dtype::Float;
use crate::shape::{Layout, Shape};

/// The elements of `layout` over `src`, in row-major order, as a new dense vector.
pub fn contiguous<F: Float>(src: &[F], layout: &Layout) -> Vec<F> {
    let n = layout.shape.numel();
    if layout.is_contiguous() {
        return src[layout.offset..layout.offset + n].to_vec();
    }
    let rank = layout.shape.rank();
    let (inner, inner_stride) = (layout.dims()[rank - 1], layout.strides[rank - 1]);
    let outer = outer_layout(layout);
    let starts: Vec<usize> = outer.indices().collect();
    let mut out = vec![F::ZERO; n];
    if inner == 0 {
        return out;
    }
    let rows_per_task = (super::PAR_CHUNK / inner).max(1);
    out.par_chunks_mut(inner * rows_per_task)
        .zip(starts.par_chunks(rows_per_task))
        .for_each(|(dst, starts)| {
            for (row, &s) in dst.chunks_mut(inner).zip(starts) {
                for (j, d) in row.iter_mut().enumerate() {
                    *d = src[s + j * inner_stride];
                }
            }
        });
    out
}

/// The layout of all dims but the last (the start index of each innermost row).
pub fn outer_layout(layout: &Layout) -> Layout {
    let rank = layout.shape.rank();
    Layout {
        shape: Shape::new(layout.dims()[..rank - 1].to_vec()),
        strides: layout.strides[..rank - 1].to_vec(),
        offset: layout.offset,
    }
}
