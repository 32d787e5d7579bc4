//! Launchers for `kernels/cuda/norm.cu`: BatchNorm entirely on the device. Statistics,
//! coefficients and the running-stat update stay there, so a training step reads nothing back.
//! Pointer arguments given as `0` are the kernels' "absent" (no weight, no bias, ...).

use kernels::ptx::{norm, Module};

use super::{u32_arg, Arg, CudaDevice, CudaStorage, DeviceBlock, LaunchShape};
use crate::backend::cpu::norm::Ncs;
use crate::dtype::DType;
use crate::error::Result;

/// The `(N, C, S)` dims as kernel arguments.
fn dims(d: Ncs) -> Result<[Arg; 3]> {
    Ok([
        u32_arg("batch_norm", d.n)?,
        u32_arg("batch_norm", d.c)?,
        u32_arg("batch_norm", d.s)?,
    ])
}

fn len(d: Ncs) -> usize {
    d.n * d.c * d.s
}

/// Per-channel `(Σ (a - sa), Σ (a - sa)(b - sb))` in f64, shifts read at `sa[ch * stride]`.
pub fn channel_sums(
    dev: &CudaDevice,
    dtype: DType,
    (a, (sa, sa_stride)): (u64, (u64, usize)),
    (b, (sb, sb_stride)): (u64, (u64, usize)),
    d: Ncs,
) -> Result<DeviceBlock> {
    let sums = dev.pool().alloc(d.c * 2 * 8)?;
    let mut args = vec![
        Arg::Ptr(a),
        Arg::Ptr(sa),
        u32_arg("batch_norm", sa_stride)?,
        Arg::Ptr(b),
        Arg::Ptr(sb),
        u32_arg("batch_norm", sb_stride)?,
        Arg::Ptr(sums.ptr()),
    ];
    args.extend(dims(d)?);
    let shape = LaunchShape::per_row(d.c, norm::THREADS);
    dev.launch_typed(Module::Norm, "channel_sums", dtype, shape, &args)?;
    Ok(sums)
}

/// Mean, inverse std, and the affine `scale`/`shift` of each channel.
pub struct Coeffs {
    pub mean: CudaStorage,
    pub inv_std: CudaStorage,
    pub scale: CudaStorage,
    pub shift: CudaStorage,
}

impl Coeffs {
    fn new(dev: &std::sync::Arc<CudaDevice>, c: usize, dtype: DType) -> Result<Coeffs> {
        let new = || CudaStorage::uninit(dev, c, dtype);
        Ok(Coeffs {
            mean: new()?,
            inv_std: new()?,
            scale: new()?,
            shift: new()?,
        })
    }
    fn out_args(&self) -> [Arg; 4] {
        [
            Arg::Ptr(self.mean.ptr()),
            Arg::Ptr(self.inv_std.ptr()),
            Arg::Ptr(self.scale.ptr()),
            Arg::Ptr(self.shift.ptr()),
        ]
    }
}

/// Training coefficients from the batch (dense `x` at address `x`), updating the running
/// statistics in place when given.
#[allow(clippy::too_many_arguments)]
pub fn train_coeffs(
    x: &CudaStorage,
    x_ptr: u64,
    d: Ncs,
    (gamma, beta): (u64, u64),
    (running_mean, running_var): (u64, u64),
    eps: f64,
    momentum: f64,
) -> Result<Coeffs> {
    let dev = x.cuda_device();
    let dtype = x.dtype();
    let sums = channel_sums(dev, dtype, (x_ptr, (x_ptr, d.s)), (x_ptr, (x_ptr, d.s)), d)?;
    let co = Coeffs::new(dev, d.c, dtype)?;
    let mut args = vec![
        Arg::Ptr(sums.ptr()),
        Arg::Ptr(x_ptr),
        Arg::Ptr(gamma),
        Arg::Ptr(beta),
        Arg::Ptr(running_mean),
        Arg::Ptr(running_var),
    ];
    args.extend(co.out_args());
    args.extend([
        u32_arg("batch_norm", d.c)?,
        u32_arg("batch_norm", d.s)?,
        u32_arg("batch_norm", d.n * d.s)?,
        Arg::F64(eps),
        Arg::F64(momentum),
    ]);
    let shape = LaunchShape::linear(d.c, norm::THREADS);
    dev.launch_typed(Module::Norm, "batch_norm_train_coeffs", dtype, shape, &args)?;
    Ok(co)
}

/// Eval coefficients from the running statistics.
pub fn eval_coeffs(
    dev: &std::sync::Arc<CudaDevice>,
    dtype: DType,
    c: usize,
    (gamma, beta): (u64, u64),
    (running_mean, running_var): (u64, u64),
    eps: f64,
) -> Result<Coeffs> {
    let co = Coeffs::new(dev, c, dtype)?;
    let mut args = vec![
        Arg::Ptr(running_mean),
        Arg::Ptr(running_var),
        Arg::Ptr(gamma),
        Arg::Ptr(beta),
    ];
    args.extend(co.out_args());
    args.extend([u32_arg("batch_norm", c)?, Arg::F64(eps)]);
    let shape = LaunchShape::linear(c, norm::THREADS);
    dev.launch_typed(Module::Norm, "batch_norm_eval_coeffs", dtype, shape, &args)?;
    Ok(co)
}

/// `y = x * scale[c] + shift[c]`.
pub fn affine(x: &CudaStorage, x_ptr: u64, co: &Coeffs, d: Ncs) -> Result<CudaStorage> {
    let dev = x.cuda_device();
    let y = CudaStorage::uninit(dev, len(d), x.dtype())?;
    let mut args = vec![
        Arg::Ptr(x_ptr),
        Arg::Ptr(co.scale.ptr()),
        Arg::Ptr(co.shift.ptr()),
        Arg::Ptr(y.ptr()),
    ];
    args.extend(dims(d)?);
    let shape = LaunchShape::linear(len(d), norm::THREADS);
    dev.launch_typed(Module::Norm, "channel_affine", x.dtype(), shape, &args)?;
    Ok(y)
}

/// The backward: `dx` (when `need_x`), `dgamma`, `dbeta` (when asked).
pub struct Grads {
    pub dx: Option<CudaStorage>,
    pub dgamma: Option<CudaStorage>,
    pub dbeta: Option<CudaStorage>,
}

/// BatchNorm backward from dense `dy` and `x`, the saved `mean` / `inv_std` and `gamma`.
#[allow(clippy::too_many_arguments)]
pub fn backward(
    dy: &CudaStorage,
    (dy_ptr, x_ptr): (u64, u64),
    (mean, inv_std): (u64, u64),
    gamma: u64,
    d: Ncs,
    training: bool,
    (need_x, need_w, need_b): (bool, bool, bool),
) -> Result<Grads> {
    let dev = dy.cuda_device();
    let dtype = dy.dtype();
    let sums = channel_sums(dev, dtype, (dy_ptr, (0, 0)), (x_ptr, (mean, 1)), d)?;
    let new = || CudaStorage::uninit(dev, d.c, dtype);
    let (k_dy, k_x, k_0) = (new()?, new()?, new()?);
    let dgamma = need_w.then(new).transpose()?;
    let dbeta = need_b.then(new).transpose()?;
    let ptr = |s: &Option<CudaStorage>| s.as_ref().map_or(0, |s| s.ptr());
    let args = [
        Arg::Ptr(sums.ptr()),
        Arg::Ptr(mean),
        Arg::Ptr(inv_std),
        Arg::Ptr(gamma),
        Arg::Ptr(k_dy.ptr()),
        Arg::Ptr(k_x.ptr()),
        Arg::Ptr(k_0.ptr()),
        Arg::Ptr(ptr(&dgamma)),
        Arg::Ptr(ptr(&dbeta)),
        u32_arg("batch_norm", d.c)?,
        u32_arg("batch_norm", d.n * d.s)?,
        Arg::U32(training as u32),
    ];
    let shape = LaunchShape::linear(d.c, norm::THREADS);
    dev.launch_typed(Module::Norm, "batch_norm_bwd_coeffs", dtype, shape, &args)?;
    let dx = if need_x {
        let dx = CudaStorage::uninit(dev, len(d), dtype)?;
        let mut args = vec![
            Arg::Ptr(dy_ptr),
            Arg::Ptr(x_ptr),
            Arg::Ptr(k_dy.ptr()),
            Arg::Ptr(k_x.ptr()),
            Arg::Ptr(k_0.ptr()),
            Arg::Ptr(dx.ptr()),
        ];
        args.extend(dims(d)?);
        let shape = LaunchShape::linear(len(d), norm::THREADS);
        dev.launch_typed(Module::Norm, "channel_affine2", dtype, shape, &args)?;
        Some(dx)
    } else {
        None
    };
    Ok(Grads { dx, dgamma, dbeta })
}
