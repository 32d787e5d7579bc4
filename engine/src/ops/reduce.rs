//! Reductions over any set of dims, with `keepdim`: sum, mean, max (and argmax, which
//! has no gradient). The reduced dims are permuted last so each kernel reduces rows.

use crate::autograd::{record, BackwardOp};
use crate::backend::{cpu, cuda};
use crate::cpu_map;
use crate::device::Storage;
use crate::dtype::Float;
use crate::error::{Error, Result};
use crate::shape::Shape;
use crate::tensor::{Reads, Tensor};

#[derive(Clone, Copy, Debug, PartialEq)]
enum Reduce {
    Sum,
    Max,
    ArgMax,
}

impl Tensor {
    /// Sum over `dims` (all dims when empty), keeping them as size 1 when `keepdim`.
    pub fn sum(&self, dims: &[usize], keepdim: bool) -> Result<Tensor> {
        let out = self.reduce(dims, keepdim, Reduce::Sum, "sum")?;
        let dims = self.reduced_dims(dims, "sum")?;
        Ok(record(out, &[self], || SumBackward { dims }))
    }

    /// Sum of all elements, as a 0-D tensor.
    pub fn sum_all(&self) -> Result<Tensor> {
        self.sum(&[], false)
    }

    /// Mean over `dims` (all dims when empty).
    pub fn mean(&self, dims: &[usize], keepdim: bool) -> Result<Tensor> {
        let count: usize = self
            .reduced_dims(dims, "mean")?
            .iter()
            .map(|&d| self.dims()[d])
            .product();
        self.sum(dims, keepdim)?.mul_scalar(1.0 / count as f64)
    }

    /// Mean of all elements, as a 0-D tensor.
    pub fn mean_all(&self) -> Result<Tensor> {
        self.mean(&[], false)
    }

    /// Maximum over `dims`. The gradient is shared equally among tied maxima.
    pub fn max(&self, dims: &[usize], keepdim: bool) -> Result<Tensor> {
        let out = self.reduce(dims, keepdim, Reduce::Max, "max")?;
        let saved = out.detach();
        let dims = self.reduced_dims(dims, "max")?;
        Ok(record(out, &[self], || MaxBackward { out: saved, dims }))
    }

    /// Index of the first maximum along `dim`, as exact integers in this tensor's dtype.
    pub fn argmax(&self, dim: usize, keepdim: bool) -> Result<Tensor> {
        self.reduce(&[dim], keepdim, Reduce::ArgMax, "argmax")
    }

    /// Maximum of all elements, as a 0-D tensor (`torch.max(x)`; ties share the gradient).
    pub fn max_all(&self) -> Result<Tensor> {
        self.max(&[], false)
    }

    /// `torch.max(x, dim, keepdim)`: the maxima along `dim` and their indices (first
    /// maximum, exact integers in this dtype, as [`Tensor::argmax`]).
    pub fn max_dim(&self, dim: usize, keepdim: bool) -> Result<(Tensor, Tensor)> {
        Ok((self.max(&[dim], keepdim)?, self.argmax(dim, keepdim)?))
    }

    /// Minimum over `dims` (all when empty), NaN propagating like [`Tensor::max`], whose
    /// kernels and gradient rule it reuses as `-max(-x)` (negation is exact): ties share the
    /// gradient on the CPU, the first minimum takes it on CUDA.
    pub fn min(&self, dims: &[usize], keepdim: bool) -> Result<Tensor> {
        self.check_min_dims(dims, "min")?;
        self.neg()?.max(dims, keepdim)?.neg()
    }

    /// The errors `max` would give, named after the min op.
    fn check_min_dims(&self, dims: &[usize], op: &'static str) -> Result<()> {
        let dims = self.reduced_dims(dims, op)?;
        if dims.iter().any(|&d| self.dims()[d] == 0) {
            return Err(Error::argument(
                op,
                format!("reduction over an empty dim of {:?}", self.shape()),
            ));
        }
        Ok(())
    }

    /// Minimum of all elements, as a 0-D tensor (`torch.min(x)`).
    pub fn min_all(&self) -> Result<Tensor> {
        self.min(&[], false)
    }

    /// Index of the first minimum along `dim` (a NaN counts as the minimum, as in PyTorch).
    pub fn argmin(&self, dim: usize, keepdim: bool) -> Result<Tensor> {
        self.check_min_dims(&[dim], "argmin")?;
        let _untracked = crate::autograd::no_grad();
        self.neg()?.argmax(dim, keepdim)
    }

    /// `torch.min(x, dim, keepdim)`: the minima along `dim` and their indices.
    pub fn min_dim(&self, dim: usize, keepdim: bool) -> Result<(Tensor, Tensor)> {
        Ok((self.min(&[dim], keepdim)?, self.argmin(dim, keepdim)?))
    }

    /// Sums a broadcast gradient back down to `shape` (the inverse of broadcasting).
    pub fn sum_to(&self, shape: &Shape) -> Result<Tensor> {
        if self.shape() == shape {
            return Ok(self.clone());
        }
        let extra = self.rank().checked_sub(shape.rank()).ok_or_else(|| {
            Error::shape(
                "sum_to",
                format!("cannot reduce {:?} to {shape:?}", self.shape()),
            )
        })?;
        let mut dims: Vec<usize> = (0..extra).collect();
        for (i, &d) in shape.dims().iter().enumerate() {
            let have = self.dims()[extra + i];
            if d == 1 && have != 1 {
                dims.push(extra + i);
            } else if d != have {
                return Err(Error::shape(
                    "sum_to",
                    format!("cannot reduce {:?} to {shape:?}", self.shape()),
                ));
            }
        }
        self.sum(&dims, true)?.reshape(shape)
    }

    /// Validated, sorted, deduplicated dims; empty means all.
    fn reduced_dims(&self, dims: &[usize], op: &'static str) -> Result<Vec<usize>> {
        if let Some(&d) = dims.iter().find(|&&d| d >= self.rank()) {
            return Err(Error::argument(
                op,
                format!("dim {d} out of range for shape {:?}", self.shape()),
            ));
        }
        let mut dims = if dims.is_empty() {
            (0..self.rank()).collect()
        } else {
            dims.to_vec()
        };
        dims.sort_unstable();
        dims.dedup();
        Ok(dims)
    }

    fn reduce(
        &self,
        dims: &[usize],
        keepdim: bool,
        kind: Reduce,
        op: &'static str,
    ) -> Result<Tensor> {
        let dims = self.reduced_dims(dims, op)?;
        let kept: Vec<usize> = (0..self.rank()).filter(|d| !dims.contains(d)).collect();
        let row_len: usize = dims.iter().map(|&d| self.dims()[d]).product();
        let rows: usize = kept.iter().map(|&d| self.dims()[d]).product();
        if row_len == 0 && kind != Reduce::Sum {
            return Err(Error::argument(
                op,
                format!("reduction over an empty dim of {:?}", self.shape()),
            ));
        }
        let order: Vec<usize> = kept.iter().chain(&dims).copied().collect();
        // Permuting a view is free; `contiguous` then copies only when the reduced dims
        // were not already innermost.
        let x = {
            let _untracked = crate::autograd::no_grad();
            self.permute(&order)?.contiguous()?
        };
        let out_dims: Vec<usize> = if keepdim {
            (0..self.rank())
                .map(|d| if dims.contains(&d) { 1 } else { self.dims()[d] })
                .collect()
        } else {
            kept.iter().map(|&d| self.dims()[d]).collect()
        };
        let range = x.dense_range();
        let storage = match &*x.read_storage() {
            Storage::Cpu(s) => Storage::Cpu(cpu_map!(s, |v: F| {
                let v = &v[range.clone()];
                match kind {
                    Reduce::Sum => cpu::reduce::sum_rows(v, rows, row_len),
                    Reduce::Max => cpu::reduce::max_rows(v, row_len),
                    Reduce::ArgMax => cpu::reduce::argmax_rows(v, row_len),
                }
            })),
            Storage::Cuda(s) => {
                let lines = (rows, row_len, 1);
                match kind {
                    Reduce::Sum => Storage::Cuda(cuda::reduce::sum_axis(s, range.start, lines)?),
                    Reduce::Max => Storage::Cuda(cuda::reduce::max_axis(s, range.start, lines)?.0),
                    Reduce::ArgMax => {
                        // Exact floats of this dtype, like the CPU's. Read back and sent
                        // again: the kernels have no u32 -> float pass.
                        let (_, idx) = cuda::reduce::max_axis(s, range.start, lines)?;
                        let idx = s.cuda_device().download_u32(&idx, rows)?;
                        let values = idx.into_iter().map(f64::from).collect();
                        return Tensor::from_f64s(values, out_dims, self.dtype(), self.device());
                    }
                }
            }
        };
        Tensor::from_storage(storage, out_dims)
    }
}

/// Shape of a reduced tensor with its reduced dims put back as size 1.
fn keepdim_shape(input: &Shape, dims: &[usize]) -> Vec<usize> {
    input
        .dims()
        .iter()
        .enumerate()
        .map(|(i, &d)| if dims.contains(&i) { 1 } else { d })
        .collect()
}

struct SumBackward {
    dims: Vec<usize>,
}
impl BackwardOp for SumBackward {
    fn name(&self) -> &'static str {
        "sum"
    }
    /// Puts the reduced dims back as size 1, then broadcasts.
    fn backward(&self, inputs: &[Tensor], g: &Tensor) -> Result<Vec<Option<Tensor>>> {
        let x = &inputs[0];
        let g = g.reshape(keepdim_shape(x.shape(), &self.dims))?;
        Ok(vec![Some(g.broadcast_to(x.shape())?.contiguous()?)])
    }
}

struct MaxBackward {
    out: Tensor,
    dims: Vec<usize>,
}
impl BackwardOp for MaxBackward {
    fn name(&self) -> &'static str {
        "max"
    }
    fn backward(&self, inputs: &[Tensor], g: &Tensor) -> Result<Vec<Option<Tensor>>> {
        let x = &inputs[0];
        if x.device().is_cuda() {
            return Ok(vec![Some(max_backward_cuda(x, g, &self.dims)?)]);
        }
        let keep = keepdim_shape(x.shape(), &self.dims);
        let m = self
            .out
            .reshape(keep.clone())?
            .broadcast_to(x.shape())?
            .contiguous()?;
        let g = g.reshape(keep)?;
        let xc = x.contiguous()?;
        let (rx, rm) = (xc.dense_range(), m.dense_range());
        // mask = (x == max); each tie gets g / count.
        let reads = Reads::new(&[&xc, &m]);
        let mask = match (reads.get(0), reads.get(1)) {
            (Storage::Cpu(a), Storage::Cpu(b)) => {
                Storage::Cpu(crate::cpu_map2!("max backward", a, b, |a, b: F| {
                    a[rx.clone()]
                        .iter()
                        .zip(&b[rm.clone()])
                        .map(|(&x, &m)| if x == m { F::ONE } else { F::ZERO })
                        .collect()
                })?)
            }
            _ => return Err(crate::ops::mixed_devices("max backward", &xc, &m)),
        };
        let mask = Tensor::from_storage(mask, x.shape())?;
        let count = mask.sum(&self.dims, true)?;
        Ok(vec![Some(mask.mul(&g.div(&count)?)?)])
    }
}

/// Max backward on the GPU: the gradient goes to the first maximum of each reduced line (the
/// element `argmax` picks, as PyTorch's `max(dim)` routes it); the CPU splits it among ties,
/// which differs only when a line holds equal maxima.
fn max_backward_cuda(x: &Tensor, g: &Tensor, dims: &[usize]) -> Result<Tensor> {
    let kept: Vec<usize> = (0..x.rank()).filter(|d| !dims.contains(d)).collect();
    let order: Vec<usize> = kept.iter().chain(dims).copied().collect();
    let row_len: usize = dims.iter().map(|&d| x.dims()[d]).product();
    let rows = x.numel().checked_div(row_len).unwrap_or(0);
    let _untracked = crate::autograd::no_grad();
    let xp = x.permute(&order)?.contiguous()?;
    let g = g.contiguous()?;
    let (rx, rg) = (xp.dense_range(), g.dense_range());
    let dx = match (&*xp.read_storage(), &*g.read_storage()) {
        (Storage::Cuda(xs), Storage::Cuda(gs)) => {
            let (_, argmax) = cuda::reduce::max_axis(xs, rx.start, (rows, row_len, 1))?;
            cuda::reduce::max_axis_bwd(gs, rg.start, &argmax, (rows, row_len, 1))?
        }
        _ => return Err(crate::ops::mixed_devices("max backward", x, &g)),
    };
    let permuted = Tensor::from_storage(Storage::Cuda(dx), xp.shape())?;
    let mut inverse = vec![0; order.len()];
    for (i, &d) in order.iter().enumerate() {
        inverse[d] = i;
    }
    permuted.permute(&inverse)?.contiguous()
}
