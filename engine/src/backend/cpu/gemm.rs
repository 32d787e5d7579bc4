//! Batched, strided GEMM on `matrixmultiply`. Transposed operands are just other
//! strides, so backward passes never copy to transpose.

use std::mem::MaybeUninit;

use super::uninit::par_build_uninit;
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
    // A zero inner size is a sum of no products: zeros (as PyTorch gives).
    if m * n == 0 || k == 0 {
        return Ok(vec![F::ZERO; len]);
    }
    let one = |c: &mut [MaybeUninit<F>], b_idx: usize, row0: usize, rows: usize| {
        let pa = a.batch_offsets[b_idx] + row0 * a.row_stride;
        let (ra, rb) = ((a.row_stride, a.col_stride), (b.row_stride, b.col_stride));
        let b0 = &b.data[b.batch_offsets[b_idx]..];
        gemm_uninit(rows, k, n, &a.data[pa..], ra, b0, rb, c);
    };
    // Each task's GEMM writes its whole chunk (rows x n, rows = chunk length / n).
    let flops = m * k * n;
    let out = if batches > 1 || flops < (1 << 18) {
        // SAFETY: chunk bi is batch bi's whole m x n matrix, written by its GEMM.
        unsafe { par_build_uninit(len, m * n, |bi, c| one(c, bi, 0, m)) }
    } else {
        // At least two row blocks (multiples of 16 rows, the widest kernel), so a layer
        // with few rows (a batch of 64) still runs on two cores.
        let rows = ROWS_PER_TASK.min(m.div_ceil(2).next_multiple_of(16));
        // SAFETY: chunk t is rows t * rows.. of C, len / n whole rows, written by its GEMM.
        unsafe { par_build_uninit(len, rows * n, |t, c| one(c, 0, t * rows, c.len() / n)) }
    };
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
/// safe wrapper around the raw-pointer GEMM, which it bounds-checks first.
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
    // SAFETY: c is initialised, so beta * C may read it.
    unsafe { gemm_raw(m, k, n, a, sa, b, sb, beta, c.as_mut_ptr(), c.len()) }
}

/// `C = A B` into memory not yet initialised: with `beta = 0` the GEMM writes every element
/// of the m x n (row stride n) C without reading it, so the output needs no zeroing first.
#[allow(clippy::too_many_arguments)]
pub fn gemm_uninit<F: Float>(
    m: usize,
    k: usize,
    n: usize,
    a: &[F],
    sa: (usize, usize),
    b: &[F],
    sb: (usize, usize),
    c: &mut [MaybeUninit<F>],
) {
    // SAFETY: beta = 0 never reads C (matrixmultiply's and sgemm's contract); with k == 0
    // the GEMM writes zeros.
    unsafe {
        gemm_raw(
            m,
            k,
            n,
            a,
            sa,
            b,
            sb,
            F::ZERO,
            c.as_mut_ptr().cast(),
            c.len(),
        )
    }
}

/// The bounds checks and the call of both wrappers.
///
/// # Safety
/// `c` points to `c_len` writable elements, initialised unless `beta` is zero.
#[allow(clippy::too_many_arguments)]
unsafe fn gemm_raw<F: Float>(
    m: usize,
    k: usize,
    n: usize,
    a: &[F],
    sa: (usize, usize),
    b: &[F],
    sb: (usize, usize),
    beta: F,
    c: *mut F,
    c_len: usize,
) {
    if m == 0 || n == 0 {
        return;
    }
    // Checked arithmetic: a wrapped product must not pass the bounds test.
    assert!(k == 0 || fits(m, k, sa, a.len()), "gemm: A out of bounds");
    assert!(k == 0 || fits(k, n, sb, b.len()), "gemm: B out of bounds");
    assert!(
        m.checked_mul(n).is_some_and(|mn| mn <= c_len),
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
            c,
            n as isize,
            1,
        )
    }
}
