//! Conv2d on the GPU as im2col + our GEMM, the same decomposition as the CPU: the column
//! matrix of the whole batch (`kernels/cuda/conv.cu`), one GEMM launch over the groups, and
//! strided copies between `[C_out, N*P]` and NCHW. Backward: `dW = dY cols^T`,
//! `dcols = W^T dY` then col2im (a gather), `db = Σ dY`.

use kernels::ptx::{conv, Module};

use super::elementwise::{binary, BinaryCode};
use super::matmul::{gemm, Operand};
use super::{copy, reduce, u32_arg, Arg, CudaStorage, LaunchShape};
use crate::backend::cpu::conv::ConvGeom;
use crate::error::Result;
use crate::shape::{Layout, Shape};

/// The geometry as the 14 scalar kernel arguments.
fn geom_args(g: &ConvGeom) -> Result<Vec<Arg>> {
    [
        g.n,
        g.c_in,
        g.h,
        g.w,
        g.kh,
        g.kw,
        g.oh,
        g.ow,
        g.stride.0,
        g.stride.1,
        g.padding.0,
        g.padding.1,
        g.dilation.0,
        g.dilation.1,
    ]
    .into_iter()
    .map(|v| u32_arg("conv2d", v))
    .collect()
}

/// The column matrix `[C_in*kh*kw, N*P]` of the dense input at `x[offset..]`.
fn im2col(x: &CudaStorage, offset: usize, g: &ConvGeom) -> Result<CudaStorage> {
    let dev = x.cuda_device();
    let n = g.c_in * g.kh * g.kw * g.n * g.p();
    let cols = CudaStorage::uninit(dev, n, x.dtype())?;
    let mut args = vec![Arg::Ptr(x.ptr_at(offset)), Arg::Ptr(cols.ptr())];
    args.extend(geom_args(g)?);
    let shape = LaunchShape::linear(n, conv::THREADS);
    dev.launch_typed(Module::Conv, "conv2d_im2col", x.dtype(), shape, &args)?;
    Ok(cols)
}

/// A `[a, b, p]` row-major buffer read as `[b, a, p]` (swapping the two outer dims).
fn swap_outer(
    s: &CudaStorage,
    offset: usize,
    (a, b, p): (usize, usize, usize),
) -> Result<CudaStorage> {
    let view = Layout {
        shape: Shape::new(vec![b, a, p]),
        strides: vec![p, b * p, 1],
        offset,
    };
    copy::contiguous(s, &view)
}

/// `y = conv2d(x, w) + bias` for dense `x`, `w` and `bias` (each with its element offset).
pub fn forward(
    (x, xo): (&CudaStorage, usize),
    (w, wo): (&CudaStorage, usize),
    bias: Option<(&CudaStorage, usize)>,
    g: &ConvGeom,
) -> Result<CudaStorage> {
    let dev = x.cuda_device();
    let (np, kg, og) = (g.n * g.p(), g.k(), g.cg_out());
    let cols = im2col(x, xo, g)?;
    let out_t = CudaStorage::uninit(dev, g.c_out * np, x.dtype())?;
    let a = Operand::new(w.ptr_at(wo), kg, og * kg, false);
    let b = Operand::new(cols.ptr(), np, kg * np, false);
    gemm(dev, x.dtype(), (og, np, kg), &a, &b, out_t.ptr(), g.groups)?;
    let y = swap_outer(&out_t, 0, (g.c_out, g.n, g.p()))?;
    let Some((bias, bo)) = bias else { return Ok(y) };
    let shape = Shape::new(vec![g.n, g.c_out, g.p()]);
    let bias_view = Layout {
        shape: Shape::new(vec![g.c_out, 1]),
        strides: vec![1, 0],
        offset: bo,
    };
    let y_view = Layout::contiguous(shape.clone());
    binary(
        "conv2d",
        BinaryCode::Add,
        (&y, &y_view),
        (bias, &bias_view),
        &shape,
    )
}

/// The gradients `(dx, dw, db)` that are asked for, from dense `x`, `w` and `dy`.
pub fn backward(
    (x, xo): (&CudaStorage, usize),
    (w, wo): (&CudaStorage, usize),
    (dy, dyo): (&CudaStorage, usize),
    g: &ConvGeom,
    (need_dx, need_dw, need_db): (bool, bool, bool),
) -> Result<(
    Option<CudaStorage>,
    Option<CudaStorage>,
    Option<CudaStorage>,
)> {
    let dev = x.cuda_device();
    let dtype = x.dtype();
    let (np, kg, og) = (g.n * g.p(), g.k(), g.cg_out());
    // dY as [C_out, N*P], the layout both GEMMs want.
    let dyp = swap_outer(dy, dyo, (g.n, g.c_out, g.p()))?;
    let dw = if need_dw {
        let cols = im2col(x, xo, g)?;
        let dw = CudaStorage::uninit(dev, g.c_out * kg, dtype)?;
        let a = Operand::new(dyp.ptr(), np, og * np, false);
        let b = Operand::new(cols.ptr(), np, kg * np, true);
        gemm(dev, dtype, (og, kg, np), &a, &b, dw.ptr(), g.groups)?;
        Some(dw)
    } else {
        None
    };
    let dx = if need_dx {
        let dcols = CudaStorage::uninit(dev, g.c_in * g.kh * g.kw * np, dtype)?;
        let a = Operand::new(w.ptr_at(wo), kg, og * kg, true);
        let b = Operand::new(dyp.ptr(), np, og * np, false);
        gemm(dev, dtype, (kg, np, og), &a, &b, dcols.ptr(), g.groups)?;
        let dx = CudaStorage::uninit(dev, g.n * g.c_in * g.h * g.w, dtype)?;
        let mut args = vec![Arg::Ptr(dcols.ptr()), Arg::Ptr(dx.ptr())];
        args.extend(geom_args(g)?);
        let shape = LaunchShape::linear(dx.len(), conv::THREADS);
        dev.launch_typed(Module::Conv, "conv2d_col2im", dtype, shape, &args)?;
        Some(dx)
    } else {
        None
    };
    let db = need_db
        .then(|| reduce::sum_axis(&dyp, 0, (g.c_out, np, 1)))
        .transpose()?;
    Ok((dx, dw, db))
}
