//! Launchers for `kernels/cuda/softmax.cu`: row-wise softmax / log-softmax and the fused
//! cross-entropy (with label smoothing), forward and backward.

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

/// Per-row cross-entropy of logits `[rows, cols]` against u32 `labels` (device address).
pub fn cross_entropy_rows(
    x: &CudaStorage,
    offset: usize,
    labels: u64,
    (rows, cols): (usize, usize),
    smoothing: f64,
) -> Result<CudaStorage> {
    let dev = x.cuda_device();
    let loss = CudaStorage::uninit(dev, rows, x.dtype())?;
    let args = [
        Arg::Ptr(x.ptr_at(offset)),
        Arg::Ptr(labels),
        Arg::Ptr(loss.ptr()),
        u32_arg("cross_entropy", rows)?,
        u32_arg("cross_entropy", cols)?,
        scalar_arg(x.dtype(), smoothing),
    ];
    dev.launch_typed(
        Module::Softmax,
        "cross_entropy_fwd",
        x.dtype(),
        rows_launch(rows),
        &args,
    )?;
    Ok(loss)
}

/// The logits' gradient of the mean (`inv_rows = 1/rows`) cross-entropy, scaled by the
/// upstream gradient read on the device from `dloss` (one element).
pub fn cross_entropy_bwd(
    x: &CudaStorage,
    offset: usize,
    labels: u64,
    (rows, cols): (usize, usize),
    smoothing: f64,
    (dloss, dloss_offset): (&CudaStorage, usize),
    inv_rows: f64,
) -> Result<CudaStorage> {
    let dev = x.cuda_device();
    let dx = CudaStorage::uninit(dev, rows * cols, x.dtype())?;
    let args = [
        Arg::Ptr(x.ptr_at(offset)),
        Arg::Ptr(labels),
        Arg::Ptr(dx.ptr()),
        u32_arg("cross_entropy", rows)?,
        u32_arg("cross_entropy", cols)?,
        scalar_arg(x.dtype(), smoothing),
        Arg::Ptr(dloss.ptr_at(dloss_offset)),
        scalar_arg(x.dtype(), inv_rows),
    ];
    dev.launch_typed(
        Module::Softmax,
        "cross_entropy_bwd",
        x.dtype(),
        rows_launch(rows),
        &args,
    )?;
    Ok(dx)
}
