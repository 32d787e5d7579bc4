//! Launchers for the axis reductions of `kernels/cuda/reduce.cu`: a contiguous
//! `[outer, red, inner]` view reduced over its middle axis.

use kernels::ptx::{reduce::AXIS_THREADS, Module};

use super::{u32_arg, Arg, CudaStorage, DeviceBlock, LaunchShape};
use crate::error::Result;

/// The launch of an axis reduction: one warp per row when `inner == 1`, else one thread per
/// output element.
fn axis_launch(outer: usize, inner: usize) -> LaunchShape {
    let work = if inner == 1 {
        outer * 32
    } else {
        outer * inner
    };
    LaunchShape::linear(work, AXIS_THREADS)
}

fn dims_args(op: &'static str, outer: usize, red: usize, inner: usize) -> Result<[Arg; 3]> {
    Ok([u32_arg(op, outer)?, u32_arg(op, red)?, u32_arg(op, inner)?])
}

/// Sums over the middle axis of `x[offset..]` viewed as `[outer, red, inner]`.
pub fn sum_axis(
    x: &CudaStorage,
    offset: usize,
    (outer, red, inner): (usize, usize, usize),
) -> Result<CudaStorage> {
    let dev = x.cuda_device();
    let out = CudaStorage::uninit(dev, outer * inner, x.dtype())?;
    let mut args = vec![Arg::Ptr(x.ptr_at(offset)), Arg::Ptr(out.ptr())];
    args.extend(dims_args("sum", outer, red, inner)?);
    let shape = axis_launch(outer, inner);
    dev.launch_typed(Module::Reduce, "sum_axis", x.dtype(), shape, &args)?;
    Ok(out)
}

/// Maximum over the middle axis and its index (u32, first maximum; first NaN if any).
pub fn max_axis(
    x: &CudaStorage,
    offset: usize,
    (outer, red, inner): (usize, usize, usize),
) -> Result<(CudaStorage, DeviceBlock)> {
    let dev = x.cuda_device();
    let out = CudaStorage::uninit(dev, outer * inner, x.dtype())?;
    let argmax = dev.pool().alloc(outer * inner * 4)?;
    let mut args = vec![
        Arg::Ptr(x.ptr_at(offset)),
        Arg::Ptr(out.ptr()),
        Arg::Ptr(argmax.ptr()),
    ];
    args.extend(dims_args("max", outer, red, inner)?);
    let shape = axis_launch(outer, inner);
    dev.launch_typed(Module::Reduce, "max_axis", x.dtype(), shape, &args)?;
    Ok((out, argmax))
}

/// The gradient of [`max_axis`]: `dy` routed to each line's argmax, zeros elsewhere.
pub fn max_axis_bwd(
    dy: &CudaStorage,
    dy_offset: usize,
    argmax: &DeviceBlock,
    (outer, red, inner): (usize, usize, usize),
) -> Result<CudaStorage> {
    let dev = dy.cuda_device();
    let n = outer * red * inner;
    let dx = CudaStorage::uninit(dev, n, dy.dtype())?;
    let mut args = vec![
        Arg::Ptr(dy.ptr_at(dy_offset)),
        Arg::Ptr(argmax.ptr()),
        Arg::Ptr(dx.ptr()),
    ];
    args.extend(dims_args("max backward", outer, red, inner)?);
    let shape = LaunchShape::linear(n, AXIS_THREADS);
    dev.launch_typed(Module::Reduce, "max_axis_bwd", dy.dtype(), shape, &args)?;
    Ok(dx)
}
