//! Optimizers (`torch.optim` update rules) and learning-rate schedules.
//!
//! Updates run in place on each parameter's storage: one fused loop per parameter over
//! its (param, grad, state...) slices, split into fixed chunks across rayon (elementwise,
//! so results do not depend on the thread count). Parameters without a gradient are skipped.

mod adam;
mod schedule;
mod sgd;

pub use adam::{Adam, AdamW};
pub use schedule::{Anneal, ConstantLr, CosineAnnealing, LrSchedule, OneCycle, StepLr};
pub use sgd::Sgd;

use rayon::prelude::*;

use kernels::ptx::Module;

use crate::backend::cuda::{scalar_arg, u32_arg, Arg, CudaDevice, LaunchShape};
use crate::device::Device;
use crate::device::{CpuStorage, Storage};
use crate::dtype::DType;
use crate::dtype::Float;
use crate::error::{Error, Result};
use crate::tensor::Tensor;

/// A parameter-updating rule (`torch.optim.Optimizer`).
pub trait Optimizer {
    /// Applies one update from the parameters' current gradients.
    fn step(&mut self) -> Result<()>;
    /// Clears every parameter's gradient (PyTorch's `set_to_none=True`).
    fn zero_grad(&mut self);
    fn lr(&self) -> f64;
    fn set_lr(&mut self, lr: f64);
    /// SGD's momentum or Adam's beta1 (what `OneCycle` cycles); a no-op where meaningless.
    fn set_momentum(&mut self, momentum: f64) {
        let _ = momentum;
    }
    /// Per-parameter state by name ("{index}.exp_avg", "{index}.step", ...), for checkpoints.
    fn state(&self) -> Vec<(String, Tensor)>;
    /// Restores [`Optimizer::state`] output, checking names and shapes against the parameters.
    fn load_state(&mut self, state: &[(String, Tensor)]) -> Result<()>;
}

/// The [`Optimizer`] methods every optimizer implements alike over its `params` and `lr`
/// fields: `zero_grad`, `lr` and `set_lr`.
macro_rules! params_and_lr_methods {
    () => {
        fn zero_grad(&mut self) {
            for p in &self.params {
                p.zero_grad();
            }
        }

        fn lr(&self) -> f64 {
            self.lr
        }

        fn set_lr(&mut self, lr: f64) {
            self.lr = lr;
        }
    };
}
use params_and_lr_methods;

/// Elements per rayon task: big enough to amortize scheduling, small enough to split
/// the 400k-element fc weight across cores.
const CHUNK: usize = 1 << 14;

/// State tensors per parameter at most (Adam with AMSGrad: exp_avg, exp_avg_sq and
/// max_exp_avg_sq); the CUDA table has room for them after the parameter and gradient.
const MAX_STATES: usize = kernels::ptx::optim::MULTI_PTRS - 2;

/// A per-element update over a chunk: `p` the parameter, `g` its gradient, `s` up to
/// [`MAX_STATES`] optimizer state slices (as many as the optimizer keeps).
pub(crate) trait FusedUpdate: Sync {
    fn apply<F: Float>(&self, p: &mut [F], g: &[F], s: &mut [&mut [F]]);
    /// The same update as a CUDA kernel of `kernels/cuda/optim.cu`.
    fn cuda_kernel(&self) -> CudaUpdate;
}

/// A fused update kernel (its `_multi` form takes `(table, count, scalars.., flags..)`): scalars in
/// the element type, flags as u32.
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct CudaUpdate {
    pub base: &'static str,
    pub scalars: Vec<f64>,
    pub flags: Vec<u32>,
}

/// `grad` checked against `param` (contiguous, same shape, dtype and device), as a private
/// dense copy when it is strided or aliases the parameter (reading it while holding the
/// parameter's write lock would deadlock).
fn dense_grad(op: &'static str, param: &Tensor, grad: &Tensor) -> Result<Tensor> {
    if !param.is_contiguous() {
        return Err(Error::argument(op, "parameters must be contiguous"));
    }
    if grad.shape() != param.shape() {
        return Err(Error::shape(
            op,
            format!(
                "gradient {:?} for parameter {:?}",
                grad.shape(),
                param.shape()
            ),
        ));
    }
    if grad.dtype() != param.dtype() || grad.device() != param.device() {
        return Err(Error::dtype(
            op,
            format!(
                "gradient is {} on {}, parameter {} on {}",
                grad.dtype(),
                grad.device(),
                param.dtype(),
                param.device()
            ),
        ));
    }
    if !grad.is_contiguous() || grad.same_storage(param) {
        let _untracked = crate::autograd::no_grad();
        return grad.mul_scalar(1.0); // a fresh dense copy on the gradient's device
    }
    Ok(grad.clone())
}

/// One parameter's update: the parameter, its gradient, its state tensors and the rule.
pub(crate) struct Update<'a, K> {
    pub param: &'a Tensor,
    pub grad: Tensor,
    pub states: Vec<&'a Tensor>,
    pub kernel: K,
}

/// Applies every update: on the CPU one fused loop per parameter; on a CUDA device one
/// launch for all the parameters that share the device, dtype and coefficients (in chunks
/// of `MULTI_MAX` tensors).
pub(crate) fn apply_updates<K: FusedUpdate>(op: &'static str, updates: &[Update<K>]) -> Result<()> {
    let mut groups: Vec<(Device, DType, CudaUpdate, Vec<&Update<K>>)> = Vec::new();
    for u in updates {
        let device = u.param.device();
        if !device.is_cuda() {
            update_in_place(op, u.param, &u.grad, &u.states, &u.kernel)?;
            continue;
        }
        let (dtype, kernel) = (u.param.dtype(), u.kernel.cuda_kernel());
        match groups
            .iter_mut()
            .find(|g| g.0 == device && g.1 == dtype && g.2 == kernel)
        {
            Some(g) => g.3.push(u),
            None => groups.push((device, dtype, kernel, vec![u])),
        }
    }
    for (device, dtype, kernel, items) in groups {
        for chunk in items.chunks(kernels::ptx::optim::MULTI_MAX) {
            launch_multi(op, (device, dtype), &kernel, chunk)?;
        }
    }
    Ok(())
}

/// One `<kernel>_multi` launch over `items`; their addresses travel in the launch's
/// parameters, so nothing is copied to the device whatever the addresses are.
fn launch_multi<K>(
    op: &'static str,
    (device, dtype): (Device, DType),
    kernel: &CudaUpdate,
    items: &[&Update<K>],
) -> Result<()> {
    let mut tensors = Vec::with_capacity(items.len());
    let mut dense = Vec::with_capacity(items.len()); // keeps gradient copies alive
    let mut total = 0usize;
    for u in items {
        let g = dense_grad(op, u.param, &u.grad)?;
        let mut addrs = [u.param.cuda_ptr(op)?, g.cuda_ptr(op)?, 0, 0, 0];
        for (slot, s) in addrs[2..].iter_mut().zip(&u.states) {
            if s.dtype() != dtype || s.device() != device {
                return Err(Error::device(
                    op,
                    "optimizer state is not on the parameter's device",
                ));
            }
            *slot = s.cuda_ptr(op)?;
        }
        total += u.param.numel();
        if total > u32::MAX as usize {
            return Err(Error::shape(op, "more than 2^32 parameters in one launch"));
        }
        tensors.push((addrs, u.param.numel() as u32));
        dense.push(g);
    }
    let mut args = vec![
        Arg::Bytes(kernels::ptx::optim::multi_table(&tensors)),
        u32_arg(op, items.len())?,
    ];
    args.extend(kernel.scalars.iter().map(|&v| scalar_arg(dtype, v)));
    args.extend(kernel.flags.iter().map(|&f| Arg::U32(f)));
    let dev = CudaDevice::get(device)?;
    let base = format!("{}_multi", kernel.base);
    let shape = LaunchShape::linear(total, kernels::ptx::optim::THREADS);
    dev.launch_typed(Module::Optim, &base, dtype, shape, &args)
}

/// Runs `k` over the CPU `param` with `grad` and up to two state tensors, in place.
pub(crate) fn update_in_place<K: FusedUpdate>(
    op: &'static str,
    param: &Tensor,
    grad: &Tensor,
    state: &[&Tensor],
    k: &K,
) -> Result<()> {
    let grad = dense_grad(op, param, grad)?;
    let (pr, gr) = (param.dense_range(), grad.dense_range());
    let srs: Vec<_> = state.iter().map(|s| s.dense_range()).collect();
    let mut pw = param.write_storage();
    let gs = grad.read_storage();
    let mut sw: Vec<_> = state.iter().map(|s| s.write_storage()).collect();
    match (&mut *pw, &*gs) {
        (Storage::Cpu(CpuStorage::F32(p)), Storage::Cpu(g)) => {
            run::<f32, K>(op, &mut p[pr], g, gr, &mut sw, &srs, k)
        }
        (Storage::Cpu(CpuStorage::F64(p)), Storage::Cpu(g)) => {
            run::<f64, K>(op, &mut p[pr], g, gr, &mut sw, &srs, k)
        }
        // CUDA parameters go through `launch_multi` (see `apply_updates`).
        _ => Err(Error::device(
            op,
            format!("a CPU update of a parameter on {}", param.device()),
        )),
    }
}

fn run<F: Float, K: FusedUpdate>(
    op: &'static str,
    p: &mut [F],
    g: &CpuStorage,
    gr: std::ops::Range<usize>,
    sw: &mut [std::sync::RwLockWriteGuard<'_, Storage>],
    srs: &[std::ops::Range<usize>],
    k: &K,
) -> Result<()> {
    let dtype_err = || Error::dtype(op, format!("gradient or state is not {}", F::DTYPE));
    let g = &F::slice(g).ok_or_else(dtype_err)?[gr];
    let mut states: Vec<&mut [F]> = Vec::with_capacity(2);
    for (s, r) in sw.iter_mut().zip(srs) {
        let Storage::Cpu(cpu) = &mut **s else {
            return Err(Error::device(
                op,
                "optimizer state is not on the parameter's device",
            ));
        };
        states.push(&mut F::slice_mut(cpu).ok_or_else(dtype_err)?[r.clone()]);
    }
    if states.len() > MAX_STATES {
        return Err(Error::argument(
            op,
            format!("at most {MAX_STATES} state tensors per parameter"),
        ));
    }
    // Chunk every slice alike; each task gets its chunk of the parameter, gradient and
    // states.
    let mut state_chunks: Vec<std::slice::ChunksMut<'_, F>> =
        states.iter_mut().map(|s| s.chunks_mut(CHUNK)).collect();
    let tasks: Vec<_> = p
        .chunks_mut(CHUNK)
        .zip(g.chunks(CHUNK))
        .map(|(p, g)| {
            let s: Vec<&mut [F]> = state_chunks
                .iter_mut()
                .map(|c| c.next().unwrap_or_default())
                .collect();
            (p, g, s)
        })
        .collect();
    tasks
        .into_par_iter()
        .for_each(|(p, g, mut s)| k.apply(p, g, &mut s));
    Ok(())
}

/// A zeroed contiguous tensor shaped and typed like `param`, outside autograd.
pub(crate) fn zeros_like(param: &Tensor) -> Result<Tensor> {
    Tensor::zeros(param.shape(), param.dtype(), param.device())
}

/// A private copy of `src` with `like`'s dtype, after checking its shape.
pub(crate) fn state_copy(
    op: &'static str,
    name: &str,
    src: &Tensor,
    like: &Tensor,
) -> Result<Tensor> {
    if src.shape() != like.shape() {
        return Err(Error::Checkpoint(format!(
            "{op} state {name} has shape {:?} but the parameter has {:?}",
            src.dims(),
            like.dims()
        )));
    }
    let out = zeros_like(like)?;
    out.assign(src)?;
    Ok(out)
}

/// Splits "3.exp_avg" into (3, "exp_avg"), checking the index against `n` parameters.
pub(crate) fn parse_state_name<'a>(
    op: &'static str,
    name: &'a str,
    n: usize,
) -> Result<(usize, &'a str)> {
    let bad = || unexpected_state_entry(op, name);
    let (i, field) = name.split_once('.').ok_or_else(bad)?;
    let i: usize = i.parse().map_err(|_| bad())?;
    if i >= n {
        return Err(Error::Checkpoint(format!(
            "{op} state entry {name} names parameter {i}, but the optimizer has {n}"
        )));
    }
    Ok((i, field))
}

/// The error for a state entry the optimizer does not keep.
pub(crate) fn unexpected_state_entry(op: &str, name: &str) -> Error {
    Error::Checkpoint(format!("{op} state has unexpected entry {name}"))
}
