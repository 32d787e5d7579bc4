//! Pooling over `(N, C, H, W)`: max (argmax saved for backward; dilation, ceil mode),
//! average (ceil mode, padding counted or not), adaptive average (PyTorch's bins) and global
//! average. Every pool is a table of windows built once on the host (`Sliding::windows`),
//! which the CPU loops and the CUDA kernels both follow.
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

/// `max_pool2d`'s arguments beyond the kernel, with PyTorch's defaults: stride = kernel,
/// no padding, dilation 1, floor mode.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct MaxPool2dOptions {
    /// `None`: the kernel size.
    pub stride: Option<(usize, usize)>,
    pub padding: (usize, usize),
    /// `None`: 1 (an explicit 0 is an error, as in PyTorch).
    pub dilation: Option<(usize, usize)>,
    /// Round the output size up (the last window may start in the input or left padding,
    /// never in the right padding).
    pub ceil_mode: bool,
}

/// `avg_pool2d`'s arguments beyond the kernel, with PyTorch's defaults: stride = kernel, no
/// padding, floor mode, padding counted in the divisor.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct AvgPool2dOptions {
    /// `None`: the kernel size.
    pub stride: Option<(usize, usize)>,
    pub padding: (usize, usize),
    pub ceil_mode: bool,
    /// Divide by the window clipped to the padded input (true) or to the input (false).
    pub count_include_pad: bool,
}

impl Default for AvgPool2dOptions {
    fn default() -> Self {
        AvgPool2dOptions {
            stride: None,
            padding: (0, 0),
            ceil_mode: false,
            count_include_pad: true,
        }
    }
}

impl Tensor {
    /// Max pooling over `(N, C, H, W)`; padding counts as -inf. Floor mode, no dilation:
    /// [`Tensor::max_pool2d_with`] has the other options.
    pub fn max_pool2d(
        &self,
        kernel: (usize, usize),
        stride: (usize, usize),
        padding: (usize, usize),
    ) -> Result<Tensor> {
        let opts = MaxPool2dOptions {
            stride: Some(stride),
            padding,
            ..Default::default()
        };
        self.max_pool2d_with(kernel, &opts)
    }

    /// `torch.nn.functional.max_pool2d` with every option; `padding` must be at most half
    /// the kernel (as in PyTorch).
    pub fn max_pool2d_with(
        &self,
        kernel: (usize, usize),
        opts: &MaxPool2dOptions,
    ) -> Result<Tensor> {
        const OP: &str = "max_pool2d";
        let dilation = opts.dilation.unwrap_or((1, 1));
        let geometry = PoolGeometry {
            kernel,
            stride: opts.stride.unwrap_or(kernel),
            padding: opts.padding,
            dilation,
            ceil_mode: opts.ceil_mode,
            count_include_pad: true,
        };
        let win = sliding_windows(self, &geometry, OP)?;
        if let Some((axis, i)) = [("row", &win.rows), ("column", &win.cols)]
            .iter()
            .find_map(|(axis, ws)| ws.iter().position(|w| w.start >= w.end).map(|i| (*axis, i)))
        {
            return Err(Error::shape(
                OP,
                format!(
                    "output {axis} {i} would pool no input element (input {:?}, {geometry:?})",
                    self.shape()
                ),
            ));
        }
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

    /// Average pooling over `(N, C, H, W)`; zero padding is counted (PyTorch's default),
    /// floor mode: [`Tensor::avg_pool2d_with`] has the other options.
    pub fn avg_pool2d(
        &self,
        kernel: (usize, usize),
        stride: (usize, usize),
        padding: (usize, usize),
    ) -> Result<Tensor> {
        let opts = AvgPool2dOptions {
            stride: Some(stride),
            padding,
            ..Default::default()
        };
        self.avg_pool2d_with(kernel, &opts)
    }

    /// `torch.nn.functional.avg_pool2d` with `ceil_mode` and `count_include_pad` (PyTorch's
    /// divisor: a ceil-mode window that runs past the right padding is divided by its part
    /// inside the padded input).
    pub fn avg_pool2d_with(
        &self,
        kernel: (usize, usize),
        opts: &AvgPool2dOptions,
    ) -> Result<Tensor> {
        let geometry = PoolGeometry {
            kernel,
            stride: opts.stride.unwrap_or(kernel),
            padding: opts.padding,
            dilation: (1, 1),
            ceil_mode: opts.ceil_mode,
            count_include_pad: opts.count_include_pad,
        };
        let win = sliding_windows(self, &geometry, "avg_pool2d")?;
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

/// A sliding-window pool's arguments, both axes.
#[derive(Clone, Copy, Debug)]
struct PoolGeometry {
    kernel: (usize, usize),
    stride: (usize, usize),
    padding: (usize, usize),
    dilation: (usize, usize),
    ceil_mode: bool,
    count_include_pad: bool,
}

impl PoolGeometry {
    fn axis(&self, i: usize) -> Sliding {
        let pick = |p: (usize, usize)| if i == 0 { p.0 } else { p.1 };
        Sliding {
            k: pick(self.kernel),
            s: pick(self.stride),
            p: pick(self.padding),
            d: pick(self.dilation),
            ceil: self.ceil_mode,
            count_pad: self.count_include_pad,
        }
    }
}

/// Validates a sliding-window pool's arguments (PyTorch's `pool2d_shape_check`) and builds
/// its windows.
fn sliding_windows(x: &Tensor, g: &PoolGeometry, op: &'static str) -> Result<Windows> {
    check_rank(op, x, 4, "input (N, C, H, W)")?;
    let (h, w) = (x.dim(2), x.dim(3));
    let (kernel, stride, padding, dilation) = (g.kernel, g.stride, g.padding, g.dilation);
    if kernel.0 == 0 || kernel.1 == 0 || stride.0 == 0 || stride.1 == 0 {
        return Err(Error::argument(
            op,
            format!("kernel {kernel:?} and stride {stride:?} must be positive"),
        ));
    }
    if dilation.0 == 0 || dilation.1 == 0 {
        return Err(Error::argument(
            op,
            format!("dilation {dilation:?} must be positive"),
        ));
    }
    if padding.0 > kernel.0 / 2 || padding.1 > kernel.1 / 2 {
        return Err(Error::argument(
            op,
            format!("padding {padding:?} must be at most half the kernel {kernel:?}"),
        ));
    }
    let (rows, cols) = (g.axis(0), g.axis(1));
    let (Some(oh), Some(ow)) = (rows.out_len(h), cols.out_len(w)) else {
        return Err(Error::shape(
            op,
            format!(
                "output would be empty: input {:?}, kernel {kernel:?}, stride {stride:?}, \
                 padding {padding:?}, dilation {dilation:?}, ceil_mode {}",
                x.shape(),
                g.ceil_mode
            ),
        ));
    };
    let win = Windows {
        h,
        w,
        rows: rows.windows(h),
        cols: cols.windows(w),
    };
    debug_assert_eq!((win.rows.len(), win.cols.len()), (oh, ow));
    Ok(win)
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
