//! `gather(dim, index)` (`torch.gather`) and its scatter-add backward.
//!
//! The index is a tensor of exact non-negative integers in a float dtype, on the input's
//! device: the representation `argmax`/`argmin` return, so `x.gather(d, &x.argmax(d, true)?)`
//! works. Its values are read once on the host to be checked (PyTorch also rejects an
//! out-of-range index rather than wrapping it) and handed to the kernels as u32.

use crate::autograd::{record, BackwardOp};
use crate::backend::cuda;
use crate::cpu_map;
use crate::device::Storage;
use crate::dtype::Float;
use crate::error::{Error, Result};
use crate::shape::{Layout, Shape};
use crate::tensor::Tensor;

const OP: &str = "gather";

impl Tensor {
    /// `torch.gather(self, dim, index)`: `out[i][j][k] = self[index[i][j][k]][j][k]` for
    /// `dim == 0` (and so on). `index` has this tensor's rank, each dim but `dim` no larger
    /// than this tensor's; the output has the index's shape.
    pub fn gather(&self, dim: usize, index: &Tensor) -> Result<Tensor> {
        if index.device() != self.device() {
            return Err(Error::device(
                OP,
                format!("input on {}, index on {}", self.device(), index.device()),
            ));
        }
        if self.rank() == 0 && index.rank() == 0 && dim == 0 {
            // A 0-D gather is the 1-element one.
            let one = self.reshape([1])?.gather(0, &index.reshape([1])?)?;
            return one.reshape(Shape::new(vec![]));
        }
        if index.rank() != self.rank() {
            return Err(Error::shape(
                OP,
                format!(
                    "index {:?} must have the same number of dims as the input {:?}",
                    index.shape(),
                    self.shape()
                ),
            ));
        }
        if dim >= self.rank() {
            return Err(Error::argument(
                OP,
                format!("dim {dim} out of range for shape {:?}", self.shape()),
            ));
        }
        if let Some(d) = (0..self.rank()).find(|&d| d != dim && index.dims()[d] > self.dims()[d]) {
            return Err(Error::shape(
                OP,
                format!(
                    "index {:?} is larger than the input {:?} in dim {d} (only dim {dim} may differ)",
                    index.shape(),
                    self.shape()
                ),
            ));
        }
        let indices = checked_indices(index, self.dims()[dim], dim)?;
        let base = gather_base(self.layout(), index.shape(), dim);
        let dim_stride = self.layout().strides[dim];
        let storage = match &*self.read_storage() {
            Storage::Cpu(s) => Storage::Cpu(cpu_map!(s, |v: F| base
                .indices()
                .zip(&indices)
                .map(|(b, &k)| v[b + k * dim_stride])
                .collect())),
            Storage::Cuda(s) => Storage::Cuda(cuda::index::gather(
                (s, 0),
                &base,
                dim_stride,
                &indices,
                None,
            )?),
        };
        let out = Tensor::from_storage(storage, index.shape())?;
        Ok(record(out, &[self], || GatherBackward { dim, indices }))
    }
}

/// The index's values as `usize`, each an integer in `0..size`.
fn checked_indices(index: &Tensor, size: usize, dim: usize) -> Result<Vec<usize>> {
    index
        .to_vec::<f64>()?
        .into_iter()
        .map(|v| {
            if v.fract() != 0.0 || !(0.0..size as f64).contains(&v) {
                Err(Error::argument(
                    OP,
                    format!("index {v} is out of bounds for dimension {dim} with size {size}"),
                ))
            } else {
                Ok(v as usize)
            }
        })
        .collect()
}

/// `layout` seen with the index's shape and stride 0 along `dim`: the storage position of
/// each output element before its index moves it along `dim`.
fn gather_base(layout: &Layout, index_shape: &Shape, dim: usize) -> Layout {
    let mut strides = layout.strides.clone();
    strides[dim] = 0;
    Layout {
        shape: index_shape.clone(),
        strides,
        offset: layout.offset,
    }
}

struct GatherBackward {
    dim: usize,
    indices: Vec<usize>,
}

impl BackwardOp for GatherBackward {
    fn name(&self) -> &'static str {
        OP
    }
    /// `dx = zeros(x.shape).scatter_add(dim, index, g)`.
    fn backward(&self, inputs: &[Tensor], g: &Tensor) -> Result<Vec<Option<Tensor>>> {
        let x = &inputs[0];
        let g = g.contiguous()?;
        let dense = Layout::contiguous(x.shape().clone());
        let base = gather_base(&dense, g.shape(), self.dim);
        let dim_stride = dense.strides[self.dim];
        let range = g.dense_range();
        let storage = match &*g.read_storage() {
            Storage::Cpu(s) => Storage::Cpu(cpu_map!(s, |v: F| {
                let mut dx = vec![F::ZERO; x.numel()];
                for ((b, &k), &gv) in base.indices().zip(&self.indices).zip(&v[range.clone()]) {
                    dx[b + k * dim_stride] += gv;
                }
                dx
            })),
            Storage::Cuda(s) => Storage::Cuda(cuda::index::gather(
                (s, range.start),
                &base,
                dim_stride,
                &self.indices,
                Some(x.numel()),
            )?),
        };
        Ok(vec![Some(Tensor::from_storage(storage, x.shape())?)])
    }
}
