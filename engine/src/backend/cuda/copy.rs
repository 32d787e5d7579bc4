//! Launchers for `kernels/cuda/copy.cu`: strided gather into contiguous memory, fill, and
//! f32 <-> f64 conversion.

use std::sync::Arc;

use kernels::ptx::{self, Bcast, Module, Strided, MAX_RANK};

use super::{u32_arg, Arg, CudaDevice, CudaStorage, LaunchShape};
use crate::dtype::DType;
use crate::error::{Error, Result};
use crate::shape::Layout;

/// The by-value view descriptor of `layout`, for kernels that read strided tensors.
pub fn strided(op: &'static str, layout: &Layout) -> Result<Strided> {
    let rank = layout.shape.rank();
    if rank > MAX_RANK {
        return Err(Error::shape(
            op,
            format!("rank {rank} exceeds the CUDA kernels' {MAX_RANK}"),
        ));
    }
    let mut s = Strided {
        rank: rank as u32,
        offset: layout.offset as i64,
        ..Strided::default()
    };
    for (d, (&n, &st)) in layout.dims().iter().zip(&layout.strides).enumerate() {
        s.dims[d] = u32::try_from(n).map_err(|_| Error::shape(op, "dimension exceeds u32"))?;
        s.strides[d] = st as i64;
    }
    Ok(s)
}

/// The elements of the view `layout` of `src`, gathered into fresh contiguous storage.
pub fn contiguous(src: &CudaStorage, layout: &Layout) -> Result<CudaStorage> {
    let n = layout.shape.numel();
    let dev = src.cuda_device();
    let out = CudaStorage::uninit(dev, n, src.dtype())?;
    let args = [
        Arg::Ptr(src.ptr()),
        Arg::Ptr(out.ptr()),
        u32_arg("contiguous", n)?,
        Arg::Bytes(strided("contiguous", layout)?.to_bytes()),
    ];
    let shape = LaunchShape::linear(n, ptx::copy::THREADS);
    dev.launch_typed(Module::Copy, "copy_strided", src.dtype(), shape, &args)?;
    Ok(out)
}

/// Writes the view `src_layout` of `src` into the region `dst_layout` of `dst` (same shape).
pub fn copy_into(
    op: &'static str,
    (src, src_layout): (&CudaStorage, &Layout),
    (dst, dst_layout): (&CudaStorage, &Layout),
) -> Result<()> {
    let n = src_layout.shape.numel();
    if n == 0 {
        return Ok(());
    }
    let (a, b) = (strided(op, src_layout)?, strided(op, dst_layout)?);
    let g = Bcast {
        rank: a.rank,
        contiguous: 0,
        dims: a.dims,
        a_strides: a.strides,
        b_strides: b.strides,
        a_offset: a.offset,
        b_offset: b.offset,
    };
    let args = [
        Arg::Ptr(src.ptr()),
        Arg::Ptr(dst.ptr()),
        u32_arg(op, n)?,
        Arg::Bytes(g.to_bytes()),
    ];
    let shape = LaunchShape::linear(n, ptx::copy::THREADS);
    src.cuda_device()
        .launch_typed(Module::Copy, "copy_into_strided", src.dtype(), shape, &args)
}

/// `n` elements of `dtype`, all `value`.
pub fn fill(dev: &Arc<CudaDevice>, n: usize, dtype: DType, value: f64) -> Result<CudaStorage> {
    let out = CudaStorage::uninit(dev, n, dtype)?;
    let args = [
        Arg::Ptr(out.ptr()),
        u32_arg("fill", n)?,
        super::scalar_arg(dtype, value),
    ];
    let shape = LaunchShape::linear(n, ptx::copy::THREADS);
    dev.launch_typed(Module::Copy, "fill", dtype, shape, &args)?;
    Ok(out)
}

/// Elements `offset..offset + n` of `src` converted to `dtype` (a copy even when equal).
pub fn convert(src: &CudaStorage, offset: usize, n: usize, dtype: DType) -> Result<CudaStorage> {
    let dev = src.cuda_device();
    let out = CudaStorage::uninit(dev, n, dtype)?;
    let entry = match (src.dtype(), dtype) {
        (DType::F32, DType::F64) => ptx::copy::CONVERT_F32_F64,
        (DType::F64, DType::F32) => ptx::copy::CONVERT_F64_F32,
        _ => {
            let bytes = n * dtype.size_in_bytes();
            dev.gpu().copy_dtod(out.ptr(), src.ptr_at(offset), bytes)?;
            return Ok(out);
        }
    };
    let args = [
        Arg::Ptr(src.ptr_at(offset)),
        Arg::Ptr(out.ptr()),
        u32_arg("to_dtype", n)?,
    ];
    let shape = LaunchShape::linear(n, ptx::copy::THREADS);
    dev.launch(Module::Copy, entry, shape, &args)?;
    Ok(out)
}
