//! Matrix multiply: 2-D and batched (batch dims broadcast), on strided GEMM so that
//! transposed operands in the backward pass cost no copies; 1-D operands as in
//! `torch.matmul` (a vector becomes a one-row or one-column matrix, and that dim is dropped
//! from the result), so their backward is the matrix one through tracked reshapes.

use crate::autograd::{record, BackwardOp};
use crate::backend::cpu;
use crate::backend::cpu::gemm::MatRef;
use crate::device::Storage;
use crate::error::{Error, Result};
use crate::ops::check_same;
use crate::shape::{Layout, Shape};
use crate::tensor::{Reads, Tensor};

impl Tensor {
    /// `self (..., m, k) @ rhs (..., k, n)`, batch dims broadcast. Like `torch.matmul`, a
    /// 1-D `self` (k) is a `(1, k)` row and a 1-D `rhs` (k) a `(k, 1)` column whose added dim
    /// is removed from the result: vector @ matrix is `(n)` (batched: `(..., n)`), matrix @
    /// vector `(m)` (`(..., m)`), vector @ vector the 0-D dot product.
    pub fn matmul(&self, rhs: &Tensor) -> Result<Tensor> {
        check_same("matmul", self, rhs)?;
        if self.rank() == 0 || rhs.rank() == 0 {
            return Err(Error::shape(
                "matmul",
                format!(
                    "operands must be at least 1-D, got {:?} and {:?}",
                    self.shape(),
                    rhs.shape()
                ),
            ));
        }
        if self.rank() == 1 || rhs.rank() == 1 {
            return self.matmul_vectors(rhs);
        }
        let (ra, rb) = (self.rank(), rhs.rank());
        let (m, k) = (self.dims()[ra - 2], self.dims()[ra - 1]);
        let (k2, n) = (rhs.dims()[rb - 2], rhs.dims()[rb - 1]);
        if k != k2 {
            return Err(Error::shape(
                "matmul",
                format!(
                    "inner dimensions differ: {:?} @ {:?}",
                    self.shape(),
                    rhs.shape()
                ),
            ));
        }
        let batch_a = Shape::new(self.dims()[..ra - 2].to_vec());
        let batch_b = Shape::new(rhs.dims()[..rb - 2].to_vec());
        let batch = batch_a.broadcast(&batch_b, "matmul")?;
        let with_batch =
            |mat: [usize; 2]| Shape::new(batch.dims().iter().copied().chain(mat).collect());
        let la = self.layout().broadcast_to(&with_batch([m, k]))?;
        let lb = rhs.layout().broadcast_to(&with_batch([k, n]))?;
        let reads = Reads::new(&[self, rhs]);
        let storage = match (reads.get(0), reads.get(1)) {
            (Storage::Cpu(a), Storage::Cpu(b)) => {
                Storage::Cpu(crate::cpu_map2!("matmul", a, b, |a, b: F| {
                    cpu::gemm::batched::<F>(&mat_ref(a, &la), &mat_ref(b, &lb), m, k, n)?
                })?)
            }
            (Storage::Cuda(a), Storage::Cuda(b)) => Storage::Cuda(
                crate::backend::cuda::matmul::batched((a, &la), (b, &lb), m, k, n)?,
            ),
            _ => return Err(crate::ops::mixed_devices("matmul", self, rhs)),
        };
        let out = Tensor::from_storage(storage, with_batch([m, n]))?;
        Ok(record(out, &[self, rhs], || MatmulBackward))
    }

    /// [`Tensor::matmul`] with at least one 1-D operand, through the matrix product.
    fn matmul_vectors(&self, rhs: &Tensor) -> Result<Tensor> {
        let a = if self.rank() == 1 {
            self.unsqueeze(0)?
        } else {
            self.clone()
        };
        let b = if rhs.rank() == 1 {
            rhs.unsqueeze(1)?
        } else {
            rhs.clone()
        };
        let y = a.matmul(&b)?;
        let r = y.rank();
        // Drop the row dim a vector `self` added, then the column dim a vector `rhs` added.
        let mut dims = y.dims().to_vec();
        if rhs.rank() == 1 {
            dims.remove(r - 1);
        }
        if self.rank() == 1 {
            dims.remove(r - 2);
        }
        y.reshape(dims)
    }

    /// `self @ weight^T + bias` (PyTorch's `F.linear`): weight is (out, in).
    pub fn linear(&self, weight: &Tensor, bias: Option<&Tensor>) -> Result<Tensor> {
        let y = self.matmul(&weight.t()?)?;
        match bias {
            Some(b) => y.add(b),
            None => Ok(y),
        }
    }
}

/// Describes the matrices of a broadcast `[batch.., rows, cols]` layout for the GEMM.
fn mat_ref<'a, F>(data: &'a [F], l: &Layout) -> MatRef<'a, F> {
    let r = l.shape.rank();
    let batch = Layout {
        shape: Shape::new(l.dims()[..r - 2].to_vec()),
        strides: l.strides[..r - 2].to_vec(),
        offset: l.offset,
    };
    MatRef {
        data,
        batch_offsets: batch.indices().collect(),
        row_stride: l.strides[r - 2],
        col_stride: l.strides[r - 1],
    }
}

struct MatmulBackward;
impl BackwardOp for MatmulBackward {
    fn name(&self) -> &'static str {
        "matmul"
    }
    /// dA = dC @ B^T, dB = A^T @ dC, each summed over broadcast batch dims.
    fn backward(&self, inputs: &[Tensor], g: &Tensor) -> Result<Vec<Option<Tensor>>> {
        let (a, b) = (&inputs[0], &inputs[1]);
        let last_two_swapped = |t: &Tensor| t.transpose(t.rank() - 2, t.rank() - 1);
        let ga = if a.requires_grad() {
            Some(g.matmul(&last_two_swapped(b)?)?.sum_to(a.shape())?)
        } else {
            None
        };
        let gb = if b.requires_grad() {
            Some(last_two_swapped(a)?.matmul(g)?.sum_to(b.shape())?)
        } else {
            None
        };
        Ok(vec![ga, gb])
    }
}
