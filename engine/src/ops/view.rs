//! Shape ops. Most are views (new layout over the same storage); `contiguous` and
//! `index_select` copy.

use crate::autograd::{record, BackwardOp};
use crate::backend::{cpu, cuda};
use crate::cpu_map;
use crate::device::Storage;
use crate::dtype::Float;
use crate::error::{Error, Result};
use crate::shape::{Layout, Shape};
use crate::tensor::Tensor;

impl Tensor {
    /// A dense row-major copy, or this tensor when it already is dense.
    pub fn contiguous(&self) -> Result<Tensor> {
        if self.is_contiguous() {
            return Ok(self.clone());
        }
        let storage = match &*self.read_storage() {
            Storage::Cpu(s) => Storage::Cpu(cpu_map!(s, |v: F| cpu::copy::contiguous::<F>(
                v,
                self.layout()
            ))),
            Storage::Cuda(s) => Storage::Cuda(cuda::copy::contiguous(s, self.layout())?),
        };
        let out = Tensor::from_storage(storage, self.shape())?;
        Ok(record(out, &[self], || Identity))
    }

    /// The same elements with a new shape of equal size (a view when dense).
    pub fn reshape(&self, shape: impl Into<Shape>) -> Result<Tensor> {
        let shape = shape.into();
        if shape.numel() != self.numel() {
            return Err(Error::shape(
                "reshape",
                format!(
                    "cannot reshape {:?} ({} elements) to {shape:?}",
                    self.shape(),
                    self.numel()
                ),
            ));
        }
        let x = self.contiguous()?;
        let layout = Layout {
            strides: shape.contiguous_strides(),
            shape,
            offset: x.layout().offset,
        };
        let out = x.view_as(layout)?;
        Ok(record(out, &[&x], || Reshape))
    }

    /// Merges dims `start..=end` into one (`torch.flatten`).
    pub fn flatten(&self, start: usize, end: usize) -> Result<Tensor> {
        if start > end || end >= self.rank() {
            return Err(Error::argument(
                "flatten",
                format!(
                    "dims {start}..={end} out of range for shape {:?}",
                    self.shape()
                ),
            ));
        }
        let d = self.dims();
        let mut dims = d[..start].to_vec();
        dims.push(d[start..=end].iter().product());
        dims.extend_from_slice(&d[end + 1..]);
        self.reshape(dims)
    }

    /// Inserts a size-1 dim at `dim` (`0..=rank`; a view).
    pub fn unsqueeze(&self, dim: usize) -> Result<Tensor> {
        if dim > self.rank() {
            return Err(Error::argument(
                "unsqueeze",
                format!("dim {dim} out of range for rank {}", self.rank()),
            ));
        }
        let mut layout = self.layout().clone();
        let mut dims = layout.dims().to_vec();
        // Any stride suits a size-1 dim; this one keeps a dense layout dense.
        let stride = layout.strides.get(dim).map_or(1, |&s| s * dims[dim]);
        dims.insert(dim, 1);
        layout.strides.insert(dim, stride);
        layout.shape = Shape::new(dims);
        Ok(record(self.view_as(layout)?, &[self], || Reshape))
    }

    /// `torch.squeeze(x, dim)`: drops `dim` when its size is 1, else returns the same shape
    /// (a view either way). `dim` must be `< rank` (or 0 for a 0-D tensor).
    pub fn squeeze(&self, dim: usize) -> Result<Tensor> {
        if dim >= self.rank().max(1) {
            return Err(Error::argument(
                "squeeze",
                format!("dim {dim} out of range for shape {:?}", self.shape()),
            ));
        }
        self.drop_unit_dims(|d| d == dim)
    }

    /// `torch.squeeze(x)`: every size-1 dim dropped (a view).
    pub fn squeeze_all(&self) -> Result<Tensor> {
        self.drop_unit_dims(|_| true)
    }

    /// The view without the size-1 dims `d` for which `pick(d)`.
    fn drop_unit_dims(&self, pick: impl Fn(usize) -> bool) -> Result<Tensor> {
        let l = self.layout();
        let keep: Vec<usize> = (0..self.rank())
            .filter(|&d| !(l.dims()[d] == 1 && pick(d)))
            .collect();
        let layout = Layout {
            shape: Shape::new(keep.iter().map(|&d| l.dims()[d]).collect()),
            strides: keep.iter().map(|&d| l.strides[d]).collect(),
            offset: l.offset,
        };
        Ok(record(self.view_as(layout)?, &[self], || Reshape))
    }

    /// Reorders dims: output dim `i` is input dim `dims[i]` (a view).
    pub fn permute(&self, dims: &[usize]) -> Result<Tensor> {
        let mut seen = vec![false; self.rank()];
        if dims.len() != self.rank()
            || dims
                .iter()
                .any(|&d| d >= self.rank() || std::mem::replace(&mut seen[d], true))
        {
            return Err(Error::argument(
                "permute",
                format!(
                    "{dims:?} is not a permutation of the dims of {:?}",
                    self.shape()
                ),
            ));
        }
        let l = self.layout();
        let layout = Layout {
            shape: Shape::new(dims.iter().map(|&d| l.dims()[d]).collect()),
            strides: dims.iter().map(|&d| l.strides[d]).collect(),
            offset: l.offset,
        };
        let mut inverse = vec![0; dims.len()];
        for (i, &d) in dims.iter().enumerate() {
            inverse[d] = i;
        }
        Ok(record(self.view_as(layout)?, &[self], || Permute {
            inverse,
        }))
    }

    /// Swaps two dims (a view).
    pub fn transpose(&self, d0: usize, d1: usize) -> Result<Tensor> {
        if d0 >= self.rank() || d1 >= self.rank() {
            return Err(Error::argument(
                "transpose",
                format!(
                    "dims ({d0}, {d1}) out of range for shape {:?}",
                    self.shape()
                ),
            ));
        }
        let mut dims: Vec<usize> = (0..self.rank()).collect();
        dims.swap(d0, d1);
        self.permute(&dims)
    }

    /// The matrix transpose of a 2-D tensor.
    pub fn t(&self) -> Result<Tensor> {
        crate::ops::check_rank("t", self, 2, "input")?;
        self.transpose(0, 1)
    }

    /// Elements `start..start + len` along `dim` (a view).
    pub fn narrow(&self, dim: usize, start: usize, len: usize) -> Result<Tensor> {
        if dim >= self.rank() || start + len > self.dims()[dim] {
            return Err(Error::argument(
                "narrow",
                format!(
                    "dim {dim}, range {start}..{} out of bounds for shape {:?}",
                    start + len,
                    self.shape()
                ),
            ));
        }
        let mut layout = self.layout().clone();
        layout.offset += start * layout.strides[dim];
        let mut dims = layout.dims().to_vec();
        dims[dim] = len;
        layout.shape = Shape::new(dims);
        Ok(record(self.view_as(layout)?, &[self], || Narrow {
            dim,
            start,
        }))
    }

    /// This tensor broadcast to `shape` (a view with zero strides).
    pub fn broadcast_to(&self, shape: impl Into<Shape>) -> Result<Tensor> {
        let layout = self.layout().broadcast_to(&shape.into())?;
        Ok(record(self.view_as(layout)?, &[self], || Expand))
    }

    /// Rows (or slices along `dim`) picked by `indices`, in that order (a copy).
    pub fn index_select(&self, dim: usize, indices: &[usize]) -> Result<Tensor> {
        if dim >= self.rank() {
            return Err(Error::argument(
                "index_select",
                format!("dim {dim} out of range for shape {:?}", self.shape()),
            ));
        }
        let size = self.dims()[dim];
        if let Some(&bad) = indices.iter().find(|&&i| i >= size) {
            return Err(Error::argument(
                "index_select",
                format!("index {bad} out of range for dim {dim} of size {size}"),
            ));
        }
        let x = self.contiguous()?;
        let (outer, inner) = split_at_dim(x.dims(), dim);
        let range = x.dense_range();
        let storage = match &*x.read_storage() {
            Storage::Cpu(s) => Storage::Cpu(cpu_map!(s, |v: F| {
                let v = &v[range.clone()];
                let mut out = Vec::with_capacity(outer * indices.len() * inner);
                for o in 0..outer {
                    for &i in indices {
                        let start = (o * size + i) * inner;
                        out.extend_from_slice(&v[start..start + inner]);
                    }
                }
                out
            })),
            Storage::Cuda(s) => Storage::Cuda(cuda::index::index_select(
                s,
                range.start,
                (outer, size, inner),
                indices,
                true,
            )?),
        };
        let mut dims = x.dims().to_vec();
        dims[dim] = indices.len();
        let out = Tensor::from_storage(storage, dims)?;
        Ok(record(out, &[&x], || IndexSelect {
            dim,
            indices: indices.to_vec(),
        }))
    }
}

/// (product of dims before `dim`, product of dims after `dim`).
pub(crate) fn split_at_dim(dims: &[usize], dim: usize) -> (usize, usize) {
    (
        dims[..dim].iter().product(),
        dims[dim + 1..].iter().product(),
    )
}

struct Identity;
impl BackwardOp for Identity {
    fn name(&self) -> &'static str {
        "contiguous"
    }
    fn backward(&self, _: &[Tensor], g: &Tensor) -> Result<Vec<Option<Tensor>>> {
        Ok(vec![Some(g.clone())])
    }
}

struct Reshape;
impl BackwardOp for Reshape {
    fn name(&self) -> &'static str {
        "reshape"
    }
    fn backward(&self, inputs: &[Tensor], g: &Tensor) -> Result<Vec<Option<Tensor>>> {
        Ok(vec![Some(g.reshape(inputs[0].shape())?)])
    }
}

struct Permute {
    inverse: Vec<usize>,
}
impl BackwardOp for Permute {
    fn name(&self) -> &'static str {
        "permute"
    }
    fn backward(&self, _: &[Tensor], g: &Tensor) -> Result<Vec<Option<Tensor>>> {
        Ok(vec![Some(g.permute(&self.inverse)?)])
    }
}

struct Expand;
impl BackwardOp for Expand {
    fn name(&self) -> &'static str {
        "broadcast_to"
    }
    fn backward(&self, inputs: &[Tensor], g: &Tensor) -> Result<Vec<Option<Tensor>>> {
        Ok(vec![Some(g.sum_to(inputs[0].shape())?)])
    }
}

struct Narrow {
    dim: usize,
    start: usize,
}
impl BackwardOp for Narrow {
    fn name(&self) -> &'static str {
        "narrow"
    }
    /// Scatters the gradient into a zero tensor of the input's shape.
    fn backward(&self, inputs: &[Tensor], g: &Tensor) -> Result<Vec<Option<Tensor>>> {
        let x = &inputs[0];
        if x.device().is_cuda() {
            let g = g.contiguous()?;
            let (outer, inner) = split_at_dim(x.dims(), self.dim);
            let lines = (outer, x.dims()[self.dim], inner);
            let dx = match &*g.read_storage() {
                Storage::Cuda(s) => {
                    let span = (self.start, g.dims()[self.dim]);
                    cuda::index::narrow_bwd(s, g.dense_range().start, lines, span)?
                }
                Storage::Cpu(_) => return Err(crate::ops::mixed_devices("narrow", x, &g)),
            };
            return Ok(vec![Some(Tensor::from_storage(
                Storage::Cuda(dx),
                x.shape(),
            )?)]);
        }
        let full = Layout::contiguous(x.shape().clone());
        let mut region = full.clone();
        region.offset = self.start * full.strides[self.dim];
        region.shape = g.shape().clone();
        let storage = match &*g.read_storage() {
            Storage::Cpu(s) => Storage::Cpu(cpu_map!(s, |v: F| {
                let mut out = vec![F::ZERO; x.numel()];
                for (dst, src) in region.indices().zip(g.layout().indices()) {
                    out[dst] = v[src];
                }
                out
            })),
            Storage::Cuda(_) => return Err(crate::ops::mixed_devices("narrow", x, g)),
        };
        Ok(vec![Some(Tensor::from_storage(storage, x.shape())?)])
    }
}

struct IndexSelect {
    dim: usize,
    indices: Vec<usize>,
}
impl BackwardOp for IndexSelect {
    fn name(&self) -> &'static str {
        "index_select"
    }
    /// Adds each selected slice's gradient back into its source position.
    fn backward(&self, inputs: &[Tensor], g: &Tensor) -> Result<Vec<Option<Tensor>>> {
        let x = &inputs[0];
        let g = g.contiguous()?;
        let (outer, inner) = split_at_dim(x.dims(), self.dim);
        let size = x.dims()[self.dim];
        let range = g.dense_range();
        let storage = match &*g.read_storage() {
            Storage::Cpu(s) => Storage::Cpu(cpu_map!(s, |v: F| {
                let v = &v[range.clone()];
                let mut out = vec![F::ZERO; x.numel()];
                let mut src = 0;
                for o in 0..outer {
                    for &i in &self.indices {
                        let dst = (o * size + i) * inner;
                        for (d, &s) in out[dst..dst + inner].iter_mut().zip(&v[src..src + inner]) {
                            *d += s;
                        }
                        src += inner;
                    }
                }
                out
            })),
            Storage::Cuda(s) => Storage::Cuda(cuda::index::index_select(
                s,
                range.start,
                (outer, size, inner),
                &self.indices,
                false,
            )?),
        };
        Ok(vec![Some(Tensor::from_storage(storage, x.shape())?)])
    }
}
