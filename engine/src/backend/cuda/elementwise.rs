//! Launchers for `kernels/cuda/elementwise.cu`: the unary op table (forward and fused backward)
//! and broadcasting binary ops.

use kernels::ptx::{self, Bcast, Module, MAX_RANK};

use super::{scalar_arg, u32_arg, Arg, CudaStorage, LaunchShape};
use crate::error::{Error, Result};
use crate::ops::UnaryOp;
use crate::shape::{Layout, Shape};

/// The kernel's op code and scalar parameter for a row of the unary table.
fn unary_code(op: UnaryOp) -> (u32, f64) {
    use kernels::ptx::elementwise as e;
    match op {
        UnaryOp::Neg => (e::UNARY_NEG, 0.0),
        UnaryOp::Exp => (e::UNARY_EXP, 0.0),
        UnaryOp::Log => (e::UNARY_LOG, 0.0),
        UnaryOp::Sqrt => (e::UNARY_SQRT, 0.0),
        UnaryOp::Abs => (e::UNARY_ABS, 0.0),
        UnaryOp::Relu => (e::UNARY_RELU, 0.0),
        UnaryOp::Sigmoid => (e::UNARY_SIGMOID, 0.0),
        UnaryOp::Tanh => (e::UNARY_TANH, 0.0),
        UnaryOp::Powf(p) => (e::UNARY_POWF, p),
        UnaryOp::AddScalar(c) => (e::UNARY_ADD_SCALAR, c),
        UnaryOp::MulScalar(c) => (e::UNARY_MUL_SCALAR, c),
        UnaryOp::LeakyRelu(s) => (e::UNARY_LEAKY_RELU, s),
        UnaryOp::Gelu => (e::UNARY_GELU, 0.0),
        UnaryOp::GeluTanh => (e::UNARY_GELU_TANH, 0.0),
        UnaryOp::Silu => (e::UNARY_SILU, 0.0),
        UnaryOp::ClampMin(c) => (e::UNARY_CLAMP_MIN, c),
        UnaryOp::ClampMax(c) => (e::UNARY_CLAMP_MAX, c),
    }
}

/// `op` over elements `offset..offset + n` of `x`.
pub fn unary(x: &CudaStorage, offset: usize, n: usize, op: UnaryOp) -> Result<CudaStorage> {
    let dev = x.cuda_device();
    let y = CudaStorage::uninit(dev, n, x.dtype())?;
    let (code, p) = unary_code(op);
    let args = [
        Arg::U32(code),
        scalar_arg(x.dtype(), p),
        Arg::Ptr(x.ptr_at(offset)),
        Arg::Ptr(y.ptr()),
        u32_arg(op.name(), n)?,
    ];
    let shape = LaunchShape::linear(n, ptx::elementwise::THREADS);
    dev.launch_typed(Module::Elementwise, "unary_fwd", x.dtype(), shape, &args)?;
    Ok(y)
}

/// `dy * f'(x, y)` for dense `x`, `y`, `dy` (each given with its element offset).
pub fn unary_bwd(
    op: UnaryOp,
    (x, xo): (&CudaStorage, usize),
    (y, yo): (&CudaStorage, usize),
    (dy, go): (&CudaStorage, usize),
    n: usize,
) -> Result<CudaStorage> {
    let dev = x.cuda_device();
    let dx = CudaStorage::uninit(dev, n, x.dtype())?;
    let (code, p) = unary_code(op);
    let args = [
        Arg::U32(code),
        scalar_arg(x.dtype(), p),
        Arg::Ptr(x.ptr_at(xo)),
        Arg::Ptr(y.ptr_at(yo)),
        Arg::Ptr(dy.ptr_at(go)),
        Arg::Ptr(dx.ptr()),
        u32_arg(op.name(), n)?,
    ];
    let shape = LaunchShape::linear(n, ptx::elementwise::THREADS);
    dev.launch_typed(Module::Elementwise, "unary_bwd", x.dtype(), shape, &args)?;
    Ok(dx)
}

/// The binary ops of the kernel, by code (`kernels::ptx::elementwise::BINARY_*`).
#[derive(Clone, Copy, Debug)]
pub enum BinaryCode {
    Add = 0,
    Sub = 1,
    Mul = 2,
    Div = 3,
    Minimum = 4,
    Maximum = 5,
    Pow = 6,
    MaxShare = 7,
    PowDBase = 8,
    PowDExp = 9,
    Gt = 10,
    Ge = 11,
    Lt = 12,
    Le = 13,
    Eq = 14,
    Ne = 15,
}

/// `a op b` with both operands broadcast (by strides) to `shape`.
pub fn binary(
    name: &'static str,
    code: BinaryCode,
    (a, la): (&CudaStorage, &Layout),
    (b, lb): (&CudaStorage, &Layout),
    shape: &Shape,
) -> Result<CudaStorage> {
    let (la, lb) = (la.broadcast_to(shape)?, lb.broadcast_to(shape)?);
    let rank = shape.rank();
    if rank > MAX_RANK {
        return Err(Error::shape(
            name,
            format!("rank {rank} exceeds the CUDA kernels' {MAX_RANK}"),
        ));
    }
    let mut g = Bcast {
        rank: rank as u32,
        contiguous: (la.is_contiguous() && lb.is_contiguous()) as u32,
        a_offset: la.offset as i64,
        b_offset: lb.offset as i64,
        ..Bcast::default()
    };
    for d in 0..rank {
        g.dims[d] = u32::try_from(shape.dims()[d])
            .map_err(|_| Error::shape(name, "dimension exceeds u32"))?;
        g.a_strides[d] = la.strides[d] as i64;
        g.b_strides[d] = lb.strides[d] as i64;
    }
    let n = shape.numel();
    let dev = a.cuda_device();
    let out = CudaStorage::uninit(dev, n, a.dtype())?;
    let args = [
        Arg::U32(code as u32),
        Arg::Ptr(a.ptr()),
        Arg::Ptr(b.ptr()),
        Arg::Ptr(out.ptr()),
        u32_arg(name, n)?,
        Arg::Bytes(g.to_bytes()),
    ];
    let launch = LaunchShape::linear(n, ptx::elementwise::THREADS);
    dev.launch_typed(Module::Elementwise, "binary_fwd", a.dtype(), launch, &args)?;
    Ok(out)
}

/// `c != 0 ? a : b` over three dense operands of `n` elements (each with its element offset).
pub fn where_fwd(
    (c, co): (&CudaStorage, usize),
    (a, ao): (&CudaStorage, usize),
    (b, bo): (&CudaStorage, usize),
    n: usize,
) -> Result<CudaStorage> {
    let dev = a.cuda_device();
    let out = CudaStorage::uninit(dev, n, a.dtype())?;
    let args = [
        Arg::Ptr(c.ptr_at(co)),
        Arg::Ptr(a.ptr_at(ao)),
        Arg::Ptr(b.ptr_at(bo)),
        Arg::Ptr(out.ptr()),
        u32_arg("where", n)?,
    ];
    let launch = LaunchShape::linear(n, ptx::elementwise::THREADS);
    dev.launch_typed(Module::Elementwise, "where_fwd", a.dtype(), launch, &args)?;
    Ok(out)
}
