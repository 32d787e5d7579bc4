//! `where_cond(cond, a, b)` (`torch.where`): picks `a` where the mask is true, else `b`, all
//! three broadcast together.
//!
//! The engine has no bool dtype, so a mask is a tensor of the values' dtype and device where
//! any nonzero element (NaN included, as PyTorch's float -> bool) means true; the comparisons
//! `gt`, `ge`, `lt`, `le`, `eq`, `ne` make such 0/1 masks. The mask gets no gradient.

use crate::autograd::{record, BackwardOp};
use crate::backend::{cpu, cuda};
use crate::device::Storage;
use crate::dtype::Float;
use crate::error::Result;
use crate::ops::{check_same, mixed_devices};
use crate::tensor::{Reads, Tensor};

const OP: &str = "where";

impl Tensor {
    /// `torch.where(cond, a, b)`: `a` where `cond != 0`, else `b`, broadcasting all three.
    /// The gradient of `a` is the upstream gradient where the mask is true and exactly 0
    /// elsewhere (likewise `b` where it is false), summed back to each input's shape.
    pub fn where_cond(cond: &Tensor, a: &Tensor, b: &Tensor) -> Result<Tensor> {
        check_same(OP, a, b)?;
        check_same(OP, cond, a)?;
        let shape = cond
            .shape()
            .broadcast(a.shape(), OP)?
            .broadcast(b.shape(), OP)?;
        // Dense operands of the output's shape: views when they already are, else one
        // strided copy each (the copy kernel does the broadcasting).
        let dense = |t: &Tensor| -> Result<Tensor> {
            let _untracked = crate::autograd::no_grad();
            t.broadcast_to(&shape)?.contiguous()
        };
        let (c, x, y) = (dense(cond)?, dense(a)?, dense(b)?);
        let (rc, rx, ry) = (c.dense_range(), x.dense_range(), y.dense_range());
        let reads = Reads::new(&[&c, &x, &y]);
        let storage = match (reads.get(0), reads.get(1), reads.get(2)) {
            (Storage::Cpu(cs), Storage::Cpu(xs), Storage::Cpu(ys)) => {
                Storage::Cpu(crate::cpu_map2!(OP, xs, ys, |xv, yv: F| {
                    let cv = F::slice(cs).ok_or_else(|| {
                        crate::error::Error::dtype(OP, "mask and values differ in dtype")
                    })?;
                    cpu::elementwise::ternary(
                        &cv[rc.clone()],
                        &xv[rx.clone()],
                        &yv[ry.clone()],
                        |c: F, x: F, y: F| if c != F::ZERO { x } else { y },
                    )
                })?)
            }
            (Storage::Cuda(cs), Storage::Cuda(xs), Storage::Cuda(ys)) => {
                Storage::Cuda(cuda::elementwise::where_fwd(
                    (cs, rc.start),
                    (xs, rx.start),
                    (ys, ry.start),
                    shape.numel(),
                )?)
            }
            _ => return Err(mixed_devices(OP, a, b)),
        };
        drop(reads);
        let out = Tensor::from_storage(storage, shape)?;
        let mask = cond.detach();
        Ok(record(out, &[cond, a, b], || WhereBackward { mask }))
    }
}

struct WhereBackward {
    mask: Tensor,
}

impl BackwardOp for WhereBackward {
    fn name(&self) -> &'static str {
        OP
    }
    fn backward(&self, inputs: &[Tensor], g: &Tensor) -> Result<Vec<Option<Tensor>>> {
        let (a, b) = (&inputs[1], &inputs[2]);
        let zero = Tensor::zeros(crate::shape::Shape::new(vec![]), g.dtype(), g.device())?;
        let ga = if a.requires_grad() {
            Some(Tensor::where_cond(&self.mask, g, &zero)?.sum_to(a.shape())?)
        } else {
            None
        };
        let gb = if b.requires_grad() {
            Some(Tensor::where_cond(&self.mask, &zero, g)?.sum_to(b.shape())?)
        } else {
            None
        };
        Ok(vec![None, ga, gb])
    }
}
