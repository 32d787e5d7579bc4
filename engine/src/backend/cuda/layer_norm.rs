//! Launchers for the LayerNorm row kernels of `kernels/cuda/norm.cu` (one warp per row).

use kernels::ptx::{norm, Module};

use super::{scalar_arg, u32_arg, Arg, CudaStorage, LaunchShape};
use crate::error::Result;

const OP: &str = "layer_norm";

fn rows_launch(rows: usize) -> LaunchShape {
    let per_block = norm::LAYER_NORM_ROWS_PER_BLOCK as usize;
    LaunchShape::per_row(rows.div_ceil(per_block), norm::THREADS)
}

/// `(xhat, rstd)` of each row of the dense `[rows, cols]` at `x[offset..]`.
pub fn forward(
    x: &CudaStorage,
    offset: usize,
    (rows, cols): (usize, usize),
    eps: f64,
) -> Result<(CudaStorage, CudaStorage)> {
    let dev = x.cuda_device();
    let xhat = CudaStorage::uninit(dev, rows * cols, x.dtype())?;
    let rstd = CudaStorage::uninit(dev, rows, x.dtype())?;
    let args = [
        Arg::Ptr(x.ptr_at(offset)),
        Arg::Ptr(xhat.ptr()),
        Arg::Ptr(rstd.ptr()),
        u32_arg(OP, rows)?,
        u32_arg(OP, cols)?,
        scalar_arg(x.dtype(), eps),
    ];
    dev.launch_typed(
        Module::Norm,
        "layer_norm_fwd",
        x.dtype(),
        rows_launch(rows),
        &args,
    )?;
    Ok((xhat, rstd))
}

/// The input gradient of [`forward`] from its `xhat`, `rstd` and the upstream `dy` (each
/// dense, with its element offset).
pub fn backward(
    (xhat, xo): (&CudaStorage, usize),
    (rstd, ro): (&CudaStorage, usize),
    (dy, go): (&CudaStorage, usize),
    (rows, cols): (usize, usize),
) -> Result<CudaStorage> {
    let dev = xhat.cuda_device();
    let dx = CudaStorage::uninit(dev, rows * cols, xhat.dtype())?;
    let args = [
        Arg::Ptr(xhat.ptr_at(xo)),
        Arg::Ptr(rstd.ptr_at(ro)),
        Arg::Ptr(dy.ptr_at(go)),
        Arg::Ptr(dx.ptr()),
        u32_arg(OP, rows)?,
        u32_arg(OP, cols)?,
    ];
    dev.launch_typed(
        Module::Norm,
        "layer_norm_bwd",
        xhat.dtype(),
        rows_launch(rows),
        &args,
    )?;
    Ok(dx)
}
