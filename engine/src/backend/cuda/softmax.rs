//! Launchers for `kernels/cuda/softmax.cu`: row-wise softmax / log-softmax, the fused
//! cross-entropy (label smoothing, class weights, ignored label) and nll, forward and
//! backward.

use kernels::ptx::{softmax, Module};

use super::{scalar_arg, u32_arg, Arg, CudaStorage, LaunchShape};
use crate::error::Result;

fn rows_launch(rows: usize) -> LaunchShape {
    let per_block = softmax::ROWS_PER_BLOCK as usize;
    LaunchShape::per_row(rows.div_ceil(per_block), softmax::THREADS)
}

/// Softmax (or log-softmax) of each row of the dense `[rows, cols]` at `x[offset..]`.
pub fn forward(
    x: &CudaStorage,
    offset: usize,
    rows: usize,
    cols: usize,
    log: bool,
) -> Result<CudaStorage> {
    let dev = x.cuda_device();
    let y = CudaStorage::uninit(dev, rows * cols, x.dtype())?;
    let base = if log {
        "log_softmax_fwd"
    } else {
        "softmax_fwd"
    };
    let args = [
        Arg::Ptr(x.ptr_at(offset)),
        Arg::Ptr(y.ptr()),
        u32_arg(base, rows)?,
        u32_arg(base, cols)?,
    ];
    dev.launch_typed(Module::Softmax, base, x.dtype(), rows_launch(rows), &args)?;
    Ok(y)
}

/// The input gradient of [`forward`] from its output `y` and the upstream `dy`.
pub fn backward(
    (y, yo): (&CudaStorage, usize),
    (dy, go): (&CudaStorage, usize),
    rows: usize,
    cols: usize,
    log: bool,
) -> Result<CudaStorage> {
    let dev = y.cuda_device();
    let dx = CudaStorage::uninit(dev, rows * cols, y.dtype())?;
    let base = if log {
        "log_softmax_bwd"
    } else {
        "softmax_bwd"
    };
    let args = [
        Arg::Ptr(y.ptr_at(yo)),
        Arg::Ptr(dy.ptr_at(go)),
        Arg::Ptr(dx.ptr()),
        u32_arg(base, rows)?,
        u32_arg(base, cols)?,
    ];
    dev.launch_typed(Module::Softmax, base, y.dtype(), rows_launch(rows), &args)?;
    Ok(dx)
}

/// Which class loss a launch computes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ClassLoss {
    /// Fused log-softmax + nll of logits, with label smoothing.
    CrossEntropy,
    /// nll of log-probabilities.
    Nll,
}

/// A class loss's targets on the device: u32 labels, class weights (`weight == 0`: none)
/// with their sum, and the ignored label (`u32::MAX` when none can match).
#[derive(Clone, Copy, Debug)]
pub struct ClassTargets {
    pub labels: u64,
    pub weight: u64,
    pub weight_sum: f64,
    pub ignore: u32,
}

/// The upstream gradient of each row: `g[row * stride] * inv / denom[0]` (`stride` 0 for a
/// scalar loss; no `denom`: 1).
pub struct RowScale<'a> {
    pub g: (&'a CudaStorage, usize),
    pub stride: u32,
    pub denom: Option<(&'a CudaStorage, usize)>,
    pub inv: f64,
}

impl RowScale<'_> {
    fn args(&self, dtype: crate::dtype::DType) -> [Arg; 4] {
        let (g, go) = self.g;
        [
            Arg::Ptr(g.ptr_at(go)),
            Arg::U32(self.stride),
            Arg::Ptr(self.denom.map_or(0, |(d, o)| d.ptr_at(o))),
            scalar_arg(dtype, self.inv),
        ]
    }
}

fn class_launch(kind: ClassLoss, rows: usize, elements: usize) -> LaunchShape {
    match kind {
        ClassLoss::CrossEntropy => rows_launch(rows),
        ClassLoss::Nll => LaunchShape::linear(elements, softmax::THREADS),
    }
}

/// Per-row loss and per-row target weight (0 when ignored) of the `[rows, cols]` input at
/// `x[offset..]`; `smoothing` is cross-entropy's label smoothing.
pub fn class_loss_rows(
    kind: ClassLoss,
    (x, offset): (&CudaStorage, usize),
    tg: &ClassTargets,
    (rows, cols): (usize, usize),
    smoothing: f64,
) -> Result<(CudaStorage, CudaStorage)> {
    const OP: &str = "class loss";
    let dev = x.cuda_device();
    let dt = x.dtype();
    let loss = CudaStorage::uninit(dev, rows, dt)?;
    let weights = CudaStorage::uninit(dev, rows, dt)?;
    let mut args = vec![
        Arg::Ptr(x.ptr_at(offset)),
        Arg::Ptr(tg.labels),
        Arg::Ptr(loss.ptr()),
        Arg::Ptr(weights.ptr()),
        u32_arg(OP, rows)?,
        u32_arg(OP, cols)?,
    ];
    let base = match kind {
        ClassLoss::CrossEntropy => {
            args.extend([
                scalar_arg(dt, smoothing),
                Arg::Ptr(tg.weight),
                scalar_arg(dt, tg.weight_sum),
            ]);
            "cross_entropy_fwd"
        }
        ClassLoss::Nll => {
            args.push(Arg::Ptr(tg.weight));
            "nll_loss_fwd"
        }
    };
    args.push(Arg::U32(tg.ignore));
    dev.launch_typed(
        Module::Softmax,
        base,
        dt,
        class_launch(kind, rows, rows),
        &args,
    )?;
    Ok((loss, weights))
}

/// The input gradient of a class loss, each row scaled by its upstream gradient `rs`.
pub fn class_loss_bwd(
    kind: ClassLoss,
    (x, offset): (&CudaStorage, usize),
    tg: &ClassTargets,
    (rows, cols): (usize, usize),
    smoothing: f64,
    rs: &RowScale,
) -> Result<CudaStorage> {
    const OP: &str = "class loss";
    let dev = x.cuda_device();
    let dt = x.dtype();
    let dx = CudaStorage::uninit(dev, rows * cols, dt)?;
    let (base, mut args) = match kind {
        ClassLoss::CrossEntropy => (
            "cross_entropy_bwd",
            vec![
                Arg::Ptr(x.ptr_at(offset)),
                Arg::Ptr(tg.labels),
                Arg::Ptr(dx.ptr()),
                u32_arg(OP, rows)?,
                u32_arg(OP, cols)?,
                scalar_arg(dt, smoothing),
                Arg::Ptr(tg.weight),
                scalar_arg(dt, tg.weight_sum),
            ],
        ),
        ClassLoss::Nll => (
            "nll_loss_bwd",
            vec![
                Arg::Ptr(tg.labels),
                Arg::Ptr(dx.ptr()),
                u32_arg(OP, rows)?,
                u32_arg(OP, cols)?,
                Arg::Ptr(tg.weight),
            ],
        ),
    };
    args.push(Arg::U32(tg.ignore));
    args.extend(rs.args(dt));
    let shape = class_launch(kind, rows, rows * cols);
    dev.launch_typed(Module::Softmax, base, dt, shape, &args)?;
    Ok(dx)
}
