//! Pooling over `(N, C, H, W)`: max (argmax saved for backward), average (padding
//! counted, PyTorch's default), adaptive average (PyTorch's bins) and global average.
//! Kernels live in `backend/cpu/pool.rs`; each backward node sits under its forward.

use std::sync::Arc;

use crate::autograd::{record, BackwardOp};
use crate::backend::cpu;
use crate::backend::cpu::pool::{Sliding, Windows};
use crate::backend::cuda::{self, CudaStorage, DeviceBlock};
use crate::device::{CpuStorage, Storage};
use crate::dtype::Float;
use crate::error::{Error, Result};
use crate::ops::check_rank;
use crate::tensor::Tensor;

impl Tensor {
    /// Max pooling over `(N, C, H, W)`; padding counts as -inf.
    ///
    /// `padding` must be at most half the kernel (as in PyTorch); floor-mode output size.
    pub fn max_pool2d(
        &self,
        kernel: (usize, usize),
        stride: (usize, usize),
        padding: (usize, usize),
    ) -> Result<Tensor> {
        const OP: &str = "max_pool2d";
        let win = sliding_windows(self, kernel, stride, padding, OP)?;
        if self.dim(2) * self.dim(3) > u32::MAX as usize {
            return Err(Error::shape(OP, "planes over 2^32 elements"));
        }
        let x = self.contiguous()?;
        let (storage, argmax) = match &*x.read_storage() {
            Storage::Cpu(s) => crate::cpu_with!(s, |v: F| {
                let (out, idx) = cpu::pool::max_pool2d_fwd(&v[x.dense_range()], &win);
                (Storage::Cpu(F::into_storage(out)), Argmax::Host(idx))
            }),
            Storage::Cuda(s) => {
                let planes = x.dim(0) * x.dim(1);
                let (y, idx) = cuda::pool::max_fwd(s, x.dense_range().start, planes, &win)?;
                (Storage::Cuda(y), Argmax::Device(idx))
            }
        };
        let out = Tensor::from_storage(storage, out_shape(self, &win))?;
        Ok(record(out, &[self], || MaxPool2dBackward { win, argmax }))
    }

    /// Average pooling over `(N, C, H, W)`; zero padding is counted (PyTorch's default).
    pub fn avg_pool2d(
        &self,
        kernel: (usize, usize),
        stride: (usize, usize),
        padding: (usize, usize),
    ) -> Result<Tensor> {
        let win = sliding_windows(self, kernel, stride, padding, "avg_pool2d")?;
        self.avg_pool_with(win, "avg_pool2d")
    }

    /// Adaptive average pooling to `(out_h, out_w)` (PyTorch's bin boundaries).
    pub fn adaptive_avg_pool2d(&self, output: (usize, usize)) -> Result<Tensor> {
        const OP: &str = "adaptive_avg_pool2d";
        check_rank(OP, self, 4, "input (N, C, H, W)")?;
        let (h, w) = (self.dim(2), self.dim(3));
        if output.0 == 0 || output.1 == 0 || h == 0 || w == 0 {
            return Err(Error::argument(
                OP,
                format!(
                    "output size {output:?} and input {:?} must be non-empty",
                    self.shape()
                ),
            ));
        }
        let win = Windows {
            h,
            w,
            rows: cpu::pool::adaptive(h, output.0),
            cols: cpu::pool::adaptive(w, output.1),
            sliding: None,
        };
        self.avg_pool_with(win, OP)
    }

    /// Mean over each plane: `(N, C, H, W) -> (N, C, 1, 1)`.
    pub fn global_avg_pool2d(&self) -> Result<Tensor> {
        self.adaptive_avg_pool2d((1, 1))
    }

    fn avg_pool_with(&self, win: Windows, op: &'static str) -> Result<Tensor> {
        let x = self.contiguous()?;
        let storage = match &*x.read_storage() {
            Storage::Cpu(s) => Storage::Cpu(crate::cpu_map!(s, |v: F| {
                cpu::pool::avg_pool2d_fwd(&v[x.dense_range()], &win)
            })),
            Storage::Cuda(s) => {
                let planes = x.dim(0) * x.dim(1);
                Storage::Cuda(cuda::pool::avg(
                    s,
                    x.dense_range().start,
                    planes,
                    &win,
                    true,
                )?)
            }
        };
        let out = Tensor::from_storage(storage, out_shape(self, &win))?;
        Ok(record(out, &[self], || AvgPool2dBackward { win, op }))
    }
}

fn out_shape(x: &Tensor, win: &Windows) -> [usize; 4] {
    [x.dim(0), x.dim(1), win.rows.len(), win.cols.len()]
}

/// Validates a sliding-window pool's arguments and builds its windows.
fn sliding_windows(
    x: &Tensor,
    kernel: (usize, usize),
    stride: (usize, usize),
    padding: (usize, usize),
    op: &'static str,
) -> Result<Windows> {
    check_rank(op, x, 4, "input (N, C, H, W)")?;
    let (h, w) = (x.dim(2), x.dim(3));
    if kernel.0 == 0 || kernel.1 == 0 || stride.0 == 0 || stride.1 == 0 {
        return Err(Error::argument(
            op,
            format!("kernel {kernel:?} and stride {stride:?} must be positive"),
        ));
    }
    if padding.0 > kernel.0 / 2 || padding.1 > kernel.1 / 2 {
        return Err(Error::argument(
            op,
            format!("padding {padding:?} must be at most half the kernel {kernel:?}"),
        ));
    }
    if kernel.0 > h + 2 * padding.0 || kernel.1 > w + 2 * padding.1 {
        return Err(Error::shape(
            op,
            format!(
                "kernel {kernel:?} is larger than the padded input: input {:?}, padding {padding:?}",
                x.shape()
            ),
        ));
    }
    Ok(Windows {
        h,
        w,
        rows: cpu::pool::sliding(h, kernel.0, stride.0, padding.0),
        cols: cpu::pool::sliding(w, kernel.1, stride.1, padding.1),
        sliding: Some((
            Sliding {
                k: kernel.0,
                s: stride.0,
                p: padding.0,
            },
            Sliding {
                k: kernel.1,
                s: stride.1,
                p: padding.1,
            },
        )),
    })
}

/// The input gradient of a pool from the dense upstream gradient: `cpu` on host storage,
/// `gpu` on device storage (each given the storage and the gradient's element offset).
fn pool_grad(
    grad: &Tensor,
    shape: &[usize],
    cpu: impl Fn(&CpuStorage, std::ops::Range<usize>) -> Result<CpuStorage>,
    gpu: impl Fn(&CudaStorage, usize, usize) -> Result<CudaStorage>,
) -> Result<Tensor> {
    let dy = grad.contiguous()?;
    let planes = shape[0] * shape[1];
    let storage = match &*dy.read_storage() {
        Storage::Cpu(s) => Storage::Cpu(cpu(s, dy.dense_range())?),
        Storage::Cuda(s) => Storage::Cuda(gpu(s, dy.dense_range().start, planes)?),
    };
    Tensor::from_storage(storage, shape)
}

/// The in-plane index of every output's maximum, where the forward ran.
enum Argmax {
    Host(Vec<u32>),
    Device(Arc<DeviceBlock>),
}

/// Saves the windows and the in-plane argmax of every output.
struct MaxPool2dBackward {
    win: Windows,
    argmax: Argmax,
}

impl BackwardOp for MaxPool2dBackward {
    fn name(&self) -> &'static str {
        "max_pool2d"
    }
    /// Each output's gradient goes to exactly the input element that was its maximum.
    fn backward(&self, inputs: &[Tensor], grad: &Tensor) -> Result<Vec<Option<Tensor>>> {
        let wrong = || {
            Error::device(
                "max_pool2d",
                "gradient and saved argmax on different devices",
            )
        };
        let dx = pool_grad(
            grad,
            inputs[0].dims(),
            |s, r| match &self.argmax {
                Argmax::Host(idx) => Ok(crate::cpu_map!(s, |v: F| cpu::pool::max_pool2d_bwd(
                    &v[r.clone()],
                    idx,
                    &self.win
                ))),
                Argmax::Device(_) => Err(wrong()),
            },
            |s, offset, planes| match &self.argmax {
                Argmax::Device(idx) => cuda::pool::max_bwd(s, offset, idx, planes, &self.win),
                Argmax::Host(_) => Err(wrong()),
            },
        )?;
        Ok(vec![Some(dx)])
    }
}

/// Saves only the windows (average pools need no input values).
struct AvgPool2dBackward {
    win: Windows,
    op: &'static str,
}

impl BackwardOp for AvgPool2dBackward {
    fn name(&self) -> &'static str {
        self.op
    }
    /// Each output's gradient spread evenly over its window (divided by the divisor).
    fn backward(&self, inputs: &[Tensor], grad: &Tensor) -> Result<Vec<Option<Tensor>>> {
        let dx = pool_grad(
            grad,
            inputs[0].dims(),
            |s, r| {
                Ok(crate::cpu_map!(s, |v: F| cpu::pool::avg_pool2d_bwd(
                    &v[r.clone()],
                    &self.win
                )))
            },
            |s, offset, planes| cuda::pool::avg(s, offset, planes, &self.win, false),
        )?;
        Ok(vec![Some(dx)])
    }
}
