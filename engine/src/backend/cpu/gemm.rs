//! Batched, strided GEMM on `matrixmultiply`. Transposed operands are just other
//! strides, so backward passes never copy to transpose.

use rayon::prelude::*;

use crate::dtype::Float;
use crate::error::{Error, Result};

/// One operand: its buffer, the offset of each batch's matrix, and its row/col strides.
pub struct MatRef<'a, F> {
    pub data: &'a [F],
    pub batch_offsets: Vec<usize>,
    pub row_stride: usize,
    pub col_stride: usize,
}

impl<F> MatRef<'_, F> {
    /// Checks that every batch's `rows x cols` matrix lies inside `data`, so the raw
    /// pointers handed to the GEMM stay in bounds.
    fn check(&self, rows: usize, cols: usize, what: &str) -> Result<()> {
        if rows == 0 || cols == 0 {
            return Ok(());
        }
        let strides = (self.row_stride, self.col_stride);
        for &o in &self.batch_offsets {
            let room = self.data.len().saturating_sub(o);
            if !fits(rows, cols, strides, room) {
                return Err(Error::shape(
                    "matmul",
                    format!(
                        "{what} ({rows} x {cols}, strides {}/{}, offset {o}) reaches past its buffer of {}",
                        self.row_stride,
                        self.col_stride,
                        self.data.len()
                    ),
                ));
            }
        }
        Ok(())
    }
}

/// Rows per parallel task when one large matrix is split across threads.
const ROWS_PER_TASK: usize = 64;

/// `C[b] = A[b] (m x k) * B[b] (k x n)` for every batch, into a dense `batch x m x n`.
/// An error when the operands' batch counts differ or a matrix lies outside its buffer.
pub fn batched<F: Float>(
    a: &MatRef<F>,
    b: &MatRef<F>,
    m: usize,
    k: usize,
    n: usize,
) -> Result<Vec<F>> {
    let batches = a.batch_offsets.len();
    if b.batch_offsets.len() != batches {
        return Err(Error::shape(
            "matmul",
            format!("{batches} left vs {} right matrices", b.batch_offsets.len()),
        ));
    }
    a.check(m, k, "left operand")?;
    b.check(k, n, "right operand")?;
    let len = batches
        .checked_mul(m)
        .and_then(|x| x.checked_mul(n))
        .ok_or_else(|| Error::shape("matmul", "output size overflows usize"))?;
    let mut out = vec![F::ZERO; len];
    // A zero inner size is a sum of no products: zeros (as PyTorch gives).
    if m * n == 0 || k == 0 {
        return Ok(out);
    }
    let one = |c: &mut [F], b_idx: usize, row0: usize, rows: usize| {
        let pa = a.batch_offsets[b_idx] + row0 * a.row_stride;
        let (ra, rb) = ((a.row_stride, a.col_stride), (b.row_stride, b.col_stride));
        let b0 = &b.data[b.batch_offsets[b_idx]..];
        gemm(rows, k, n, &a.data[pa..], ra, b0, rb, F::ZERO, c);
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
    Ok(out)
}

/// The last index a `rows x cols` matrix with these strides touches, if it fits `len`.
fn fits(rows: usize, cols: usize, (rs, cs): (usize, usize), len: usize) -> bool {
    let last = (rows - 1)
        .checked_mul(rs)
        .and_then(|r| r.checked_add((cols - 1).checked_mul(cs)?));
    last.is_some_and(|l| l < len)
}

/// `C (m x n) = A B + beta C` on dense or strided (e.g. transposed) views of slices: the
/// one safe wrapper around the raw-pointer GEMM, which it bounds-checks first.
#[allow(clippy::too_many_arguments)]
pub fn gemm<F: Float>(
    m: usize,
    k: usize,
    n: usize,
    a: &[F],
    sa: (usize, usize),
    b: &[F],
    sb: (usize, usize),
    beta: F,
    c: &mut [F],
) {
    if m == 0 || n == 0 {
        return;
    }
    // Checked arithmetic: a wrapped product must not pass the bounds test.
    assert!(k == 0 || fits(m, k, sa, a.len()), "gemm: A out of bounds");
    assert!(k == 0 || fits(k, n, sb, b.len()), "gemm: B out of bounds");
    assert!(
        m.checked_mul(n).is_some_and(|mn| mn <= c.len()),
        "gemm: C too short"
    );
    // SAFETY: the asserts above bound every element the GEMM reads or writes (with
    // k == 0 it only scales C, which is m x n dense with row stride n).
    unsafe {
        F::gemm(
            m,
            k,
            n,
            F::ONE,
            a.as_ptr(),
            sa.0 as isize,
            sa.1 as isize,
            b.as_ptr(),
            sb.0 as isize,
            sb.1 as isize,
            beta,
            c.as_mut_ptr(),
            n as isize,
            1,
        )
    }
}
