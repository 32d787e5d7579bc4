//! Softmax and log-softmax along any dim, computed stably (max-subtracted), with their
//! backward from the saved output. Kernels: `backend/cpu/softmax.rs`, `softmax.cu`.

use crate::autograd::{record, BackwardOp};
use crate::backend::{cpu, cuda};
use crate::cpu_map;
use crate::device::Storage;
use crate::error::{Error, Result};
use crate::tensor::{Reads, Tensor};

impl Tensor {
    /// `log(softmax(x))` along `dim`, computed stably.
    pub fn log_softmax(&self, dim: usize) -> Result<Tensor> {
        self.softmax_impl(dim, true)
    }
    /// Softmax along `dim`.
    pub fn softmax(&self, dim: usize) -> Result<Tensor> {
        self.softmax_impl(dim, false)
    }

    fn softmax_impl(&self, dim: usize, log: bool) -> Result<Tensor> {
        let op = if log { "log_softmax" } else { "softmax" };
        if dim >= self.rank() {
            return Err(Error::argument(
                op,
                format!("dim {dim} out of range for shape {:?}", self.shape()),
            ));
        }
        let d = self.dims()[dim];
        let inner: usize = self.dims()[dim + 1..].iter().product();
        let last = self.rank() - 1;
        if self.device().is_cuda() && inner != 1 {
            // The CUDA kernels work on rows: move `dim` last and back (tracked views).
            return self
                .transpose(dim, last)?
                .softmax_impl(last, log)?
                .transpose(dim, last);
        }
        let x = self.contiguous()?;
        let range = x.dense_range();
        let storage = match &*x.read_storage() {
            Storage::Cpu(s) => Storage::Cpu(cpu_map!(s, |v: F| cpu::softmax::softmax_fwd(
                &v[range.clone()],
                d,
                inner,
                log
            ))),
            Storage::Cuda(s) => Storage::Cuda(cuda::softmax::forward(
                s,
                range.start,
                x.numel() / d.max(1),
                d,
                log,
            )?),
        };
        let y = Tensor::from_storage(storage, x.shape())?;
        let saved = y.detach();
        Ok(record(y, &[&x], || SoftmaxBackward {
            y: saved,
            d,
            inner,
            log,
        }))
    }
}

struct SoftmaxBackward {
    y: Tensor,
    d: usize,
    inner: usize,
    log: bool,
}

impl BackwardOp for SoftmaxBackward {
    fn name(&self) -> &'static str {
        if self.log {
            "log_softmax"
        } else {
            "softmax"
        }
    }
    fn backward(&self, _inputs: &[Tensor], g: &Tensor) -> Result<Vec<Option<Tensor>>> {
        let g = g.contiguous()?;
        let (ry, rg) = (self.y.dense_range(), g.dense_range());
        let reads = Reads::new(&[&self.y, &g]);
        let dx = match (reads.get(0), reads.get(1)) {
            (Storage::Cpu(a), Storage::Cpu(b)) => {
                Storage::Cpu(crate::cpu_map2!(self.name(), a, b, |y, dy: F| {
                    cpu::softmax::softmax_bwd(
                        &y[ry.clone()],
                        &dy[rg.clone()],
                        self.d,
                        self.inner,
                        self.log,
                    )
                })?)
            }
            (Storage::Cuda(y), Storage::Cuda(dy)) => Storage::Cuda(cuda::softmax::backward(
                (y, ry.start),
                (dy, rg.start),
                ry.len() / self.d.max(1),
                self.d,
                self.log,
            )?),
            _ => return Err(crate::ops::mixed_devices(self.name(), &self.y, &g)),
        };
        Ok(vec![Some(Tensor::from_storage(dx, self.y.shape())?)])
    }
}
