//! `cat` and `stack`: tensors joined along a dim into one new tensor. Each input is copied
//! straight from its own (possibly strided) layout into its slice of the output: one strided
//! copy per input on either backend. The backward hands each input its slice of the gradient.

use crate::autograd::{record, BackwardOp};
use crate::backend::cuda;
use crate::device::Storage;
use crate::dtype::Float;
use crate::error::{Error, Result};
use crate::ops::check_same;
use crate::shape::{Layout, Shape};
use crate::tensor::Tensor;

impl Tensor {
    /// `torch.cat(tensors, dim)`: the tensors joined along `dim`; every other dim must match.
    /// Like PyTorch, 1-D empty tensors (shape `[0]`) are skipped whatever the others' shape.
    /// All tensors must share dtype and device (no type promotion).
    pub fn cat(tensors: &[&Tensor], dim: usize) -> Result<Tensor> {
        const OP: &str = "cat";
        let first = *tensors
            .first()
            .ok_or_else(|| Error::argument(OP, "expected a non-empty list of tensors"))?;
        for t in tensors {
            check_same(OP, first, t)?;
        }
        let legacy_empty = |t: &Tensor| t.rank() == 1 && t.numel() == 0;
        let Some(model) = tensors.iter().copied().find(|t| !legacy_empty(t)) else {
            return Tensor::zeros([0], first.dtype(), first.device());
        };
        if model.rank() == 0 {
            return Err(Error::argument(
                OP,
                "zero-dimensional tensors cannot be concatenated",
            ));
        }
        if dim >= model.rank() {
            return Err(Error::argument(
                OP,
                format!("dim {dim} out of range for rank {}", model.rank()),
            ));
        }
        let mut total = 0;
        for (i, t) in tensors.iter().enumerate() {
            if legacy_empty(t) {
                continue;
            }
            let matches = t.rank() == model.rank()
                && (0..t.rank()).all(|d| d == dim || t.dims()[d] == model.dims()[d]);
            if !matches {
                return Err(Error::shape(
                    OP,
                    format!(
                        "tensor {i} has shape {:?}, expected {:?} except in dim {dim}",
                        t.shape(),
                        model.shape()
                    ),
                ));
            }
            total += t.dims()[dim];
        }
        let mut dims = model.dims().to_vec();
        dims[dim] = total;
        let out_layout = Layout::contiguous(Shape::new(dims));
        let n = out_layout.shape.numel();
        // Each input's slice of the output: the output's strides, offset at its start.
        let mut regions = Vec::with_capacity(tensors.len());
        let mut start = 0;
        for t in tensors {
            let len = if legacy_empty(t) { 0 } else { t.dims()[dim] };
            let mut region = out_layout.clone();
            region.offset = start * out_layout.strides[dim];
            region.shape = t.shape().clone();
            regions.push((start, len, region));
            start += len;
        }
        let live = |i: usize| !legacy_empty(tensors[i]);
        let storage = if first.device().is_cuda() {
            let dev = cuda::CudaDevice::get(first.device())?;
            let out = cuda::CudaStorage::uninit(&dev, n, first.dtype())?;
            for (i, t) in tensors.iter().enumerate().filter(|&(i, _)| live(i)) {
                match &*t.read_storage() {
                    Storage::Cuda(s) => {
                        cuda::copy::copy_into(OP, (s, t.layout()), (&out, &regions[i].2))?
                    }
                    Storage::Cpu(_) => return Err(crate::ops::mixed_devices(OP, first, t)),
                }
            }
            Storage::Cuda(out)
        } else {
            let mut out = crate::device::CpuStorage::zeros(first.dtype(), n);
            for (i, t) in tensors.iter().enumerate().filter(|&(i, _)| live(i)) {
                match &*t.read_storage() {
                    Storage::Cpu(s) => copy_region(s, t.layout(), &mut out, &regions[i].2)?,
                    Storage::Cuda(_) => return Err(crate::ops::mixed_devices(OP, first, t)),
                }
            }
            Storage::Cpu(out)
        };
        let out = Tensor::from_storage(storage, out_layout.shape)?;
        let spans = regions.iter().map(|&(s, l, _)| (s, l)).collect();
        Ok(record(out, tensors, || CatBackward { dim, spans }))
    }

    /// `torch.stack(tensors, dim)`: equally shaped tensors joined along a new dim
    /// (`0..=rank`).
    pub fn stack(tensors: &[&Tensor], dim: usize) -> Result<Tensor> {
        const OP: &str = "stack";
        let first = *tensors
            .first()
            .ok_or_else(|| Error::argument(OP, "expected a non-empty list of tensors"))?;
        if dim > first.rank() {
            return Err(Error::argument(
                OP,
                format!("dim {dim} out of range for rank {} (+1)", first.rank()),
            ));
        }
        if let Some((i, t)) = tensors
            .iter()
            .enumerate()
            .find(|(_, t)| t.shape() != first.shape())
        {
            return Err(Error::shape(
                OP,
                format!(
                    "stack expects each tensor to be equal size, but tensor 0 is {:?} and tensor {i} is {:?}",
                    first.shape(),
                    t.shape()
                ),
            ));
        }
        let expanded = tensors
            .iter()
            .map(|t| t.unsqueeze(dim))
            .collect::<Result<Vec<_>>>()?;
        Tensor::cat(&expanded.iter().collect::<Vec<_>>(), dim)
    }
}

/// `dst[region] = src[layout]`, element by element in row-major order (same dtype).
fn copy_region(
    src: &crate::device::CpuStorage,
    layout: &Layout,
    dst: &mut crate::device::CpuStorage,
    region: &Layout,
) -> Result<()> {
    crate::cpu_with!(dst, |d: T| {
        let s = T::slice(src).ok_or_else(|| Error::dtype("cat", "operands differ in dtype"))?;
        for (o, i) in region.indices().zip(layout.indices()) {
            d[o] = s[i];
        }
        Ok(())
    })
}

struct CatBackward {
    dim: usize,
    /// (start, length) of each input along `dim` (length 0 for skipped empty inputs).
    spans: Vec<(usize, usize)>,
}

impl BackwardOp for CatBackward {
    fn name(&self) -> &'static str {
        "cat"
    }
    fn backward(&self, inputs: &[Tensor], g: &Tensor) -> Result<Vec<Option<Tensor>>> {
        inputs
            .iter()
            .zip(&self.spans)
            .map(|(x, &(start, len))| {
                if !x.requires_grad() {
                    return Ok(None);
                }
                if x.rank() == 1 && x.numel() == 0 && g.rank() != 1 {
                    return Ok(Some(x.zeros_like()?));
                }
                Ok(Some(g.narrow(self.dim, start, len)?.contiguous()?))
            })
            .collect()
    }
}
