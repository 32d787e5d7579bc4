//! Launchers for `kernels/cuda/index.cu`: index_select and its backward, narrow's backward.

use kernels::ptx::{index, Module};

use super::{to_u32s, u32_arg, Arg, CudaStorage, LaunchShape};
use crate::error::Result;
use crate::shape::Layout;

/// `[outer, nsrc, inner]` at `src[offset..]` -> `[outer, indices.len(), inner]`, or the
/// backward (`forward == false`): `g` of the output's shape summed back into `[outer, nsrc, inner]`.
pub fn index_select(
    x: &CudaStorage,
    offset: usize,
    (outer, nsrc, inner): (usize, usize, usize),
    indices: &[usize],
    forward: bool,
) -> Result<CudaStorage> {
    let dev = x.cuda_device();
    let nidx = indices.len();
    let n = outer * inner * if forward { nidx } else { nsrc };
    let out = CudaStorage::uninit(dev, n, x.dtype())?;
    if n == 0 {
        return Ok(out);
    }
    let idx = dev.upload_u32(&to_u32s("index_select", indices)?)?;
    let args = [
        Arg::Ptr(x.ptr_at(offset)),
        Arg::Ptr(idx.ptr()),
        Arg::Ptr(out.ptr()),
        u32_arg("index_select", outer)?,
        u32_arg("index_select", nsrc)?,
        u32_arg("index_select", nidx)?,
        u32_arg("index_select", inner)?,
    ];
    let base = if forward {
        "index_select_fwd"
    } else {
        "index_select_bwd"
    };
    dev.launch_typed(
        Module::Index,
        base,
        x.dtype(),
        LaunchShape::linear(n, index::THREADS),
        &args,
    )?;
    Ok(out)
}

/// The gradient of `narrow(dim, start, len)`: `g` (`[outer, len, inner]`, dense at
/// `g[offset..]`) placed in zeros of `[outer, n, inner]`.
pub fn narrow_bwd(
    g: &CudaStorage,
    offset: usize,
    (outer, n, inner): (usize, usize, usize),
    (start, len): (usize, usize),
) -> Result<CudaStorage> {
    let dev = g.cuda_device();
    let total = outer * n * inner;
    let dx = CudaStorage::uninit(dev, total, g.dtype())?;
    if total == 0 {
        return Ok(dx);
    }
    let args = [
        Arg::Ptr(g.ptr_at(offset)),
        Arg::Ptr(dx.ptr()),
        u32_arg("narrow", outer)?,
        u32_arg("narrow", n)?,
        u32_arg("narrow", start)?,
        u32_arg("narrow", len)?,
        u32_arg("narrow", inner)?,
    ];
    let shape = LaunchShape::linear(total, index::THREADS);
    dev.launch_typed(Module::Index, "narrow_bwd", g.dtype(), shape, &args)?;
    Ok(dx)
}

/// `torch.gather`: `out[i] = x[base(i) + indices[i] * dim_stride]`, `n = indices.len()`
/// outputs; or (`backward: Some(n_dx)`) its backward: the dense `g` at `x[x_offset..]`
/// scattered and added into `n_dx` zeros. `base` is the view of `x` (or of the dense `dx`) with
/// the index's shape and stride 0 along the gathered dim.
pub fn gather(
    (x, x_offset): (&CudaStorage, usize),
    base: &Layout,
    dim_stride: usize,
    indices: &[usize],
    backward: Option<usize>,
) -> Result<CudaStorage> {
    const OP: &str = "gather";
    let dev = x.cuda_device();
    let n = indices.len();
    let out = match backward {
        Some(n_dx) => super::copy::fill(dev, n_dx, x.dtype(), 0.0)?,
        None => CudaStorage::uninit(dev, n, x.dtype())?,
    };
    if n == 0 {
        return Ok(out);
    }
    let idx = dev.upload_u32(&to_u32s(OP, indices)?)?;
    let args = [
        Arg::Ptr(x.ptr_at(x_offset)),
        Arg::Ptr(idx.ptr()),
        Arg::Ptr(out.ptr()),
        u32_arg(OP, n)?,
        Arg::U64(dim_stride as u64),
        Arg::Bytes(super::copy::strided(OP, base)?.to_bytes()),
    ];
    let entry = if backward.is_some() {
        "gather_bwd"
    } else {
        "gather_fwd"
    };
    let shape = LaunchShape::linear(n, index::THREADS);
    dev.launch_typed(Module::Index, entry, x.dtype(), shape, &args)?;
    Ok(out)
}
