//! Launcher for the Philox dropout of `kernels/cuda/philox.cu`. The mask is a pure function
//! of `(seed, offset)` and the element index, so the backward replays the forward on the
//! gradient (as the CPU does) instead of keeping the mask.

use kernels::ptx::Module;

use super::{scalar_arg, u32_arg, Arg, CudaStorage, LaunchShape};
use crate::error::Result;

/// Elements `start..start + n` of `x`, each kept with probability `1 - p` and scaled by
/// `1 / (1 - p)`.
pub fn dropout(
    x: &CudaStorage,
    start: usize,
    n: usize,
    p: f64,
    (seed, offset): (u64, u64),
) -> Result<CudaStorage> {
    let dev = x.cuda_device();
    let y = CudaStorage::uninit(dev, n, x.dtype())?;
    let mask = dev.pool().alloc(n)?;
    let args = [
        Arg::Ptr(x.ptr_at(start)),
        Arg::Ptr(y.ptr()),
        Arg::Ptr(mask.ptr()),
        u32_arg("dropout", n)?,
        scalar_arg(x.dtype(), p),
        Arg::U64(seed),
        Arg::U64(offset),
    ];
    // One thread per counter block of four elements.
    let shape = LaunchShape::linear(n.div_ceil(4), 256);
    dev.launch_typed(Module::Philox, "dropout_fwd", x.dtype(), shape, &args)?;
    Ok(y)
}
