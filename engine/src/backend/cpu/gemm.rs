//! Batched, strided GEMM on `matrixmultiply`. Transposed operands are just other
//! strides, so backward passes never copy to transpose.

use rayon::prelude::*;

use crate::dtype::Float;

/// One operand: its buffer, the offset of each batch's matrix, and its row/col strides.
pub struct MatRef<'a, F> {
    pub data: &'a [F],
    pub batch_offsets: Vec<usize>,
    pub row_stride: usize,
    pub col_stride: usize,
}

/// Rows per parallel task when one large matrix is split across threads.
const ROWS_PER_TASK: usize = 64;

/// `C[b] = A[b] (m x k) * B[b] (k x n)` for every batch, into a dense `batch x m x n`.
pub fn batched<F: Float>(a: &MatRef<F>, b: &MatRef<F>, m: usize, k: usize, n: usize) -> Vec<F> {
    let batches = a.batch_offsets.len();
    let mut out = vec![F::ZERO; batches * m * n];
    if m * n == 0 {
        return out;
    }
    let one = |c: &mut [F], b_idx: usize, row0: usize, rows: usize| {
        let pa = a.batch_offsets[b_idx] + row0 * a.row_stride;
        // SAFETY: offsets and strides come from valid layouts of `a` and `b` (checked by
        // the op), and `c` is a dense rows x n block.
        unsafe {
            F::gemm(
                rows,
                k,
                n,
                F::ONE,
                a.data.as_ptr().add(pa),
                a.row_stride as isize,
                a.col_stride as isize,
                b.data.as_ptr().add(b.batch_offsets[b_idx]),
                b.row_stride as isize,
                b.col_stride as isize,
                F::ZERO,
                c.as_mut_ptr(),
                n as isize,
                1,
            )
        }
    };
    let flops = m * k * n;
    if batches > 1 || flops < (1 << 18) {
        out.par_chunks_mut(m * n)
            .enumerate()
            .for_each(|(bi, c)| one(c, bi, 0, m));
    } else {
        // At least two row blocks (multiples of 16 rows, the widest kernel), so a layer
        // with few rows (a batch of 64) still runs on two cores.
        let rows = ROWS_PER_TASK.min(m.div_ceil(2).next_multiple_of(16));
        out.par_chunks_mut(rows * n)
            .enumerate()
            .for_each(|(t, c)| one(c, 0, t * rows, c.len() / n));
    }
    out
}
