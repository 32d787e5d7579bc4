//! Batch normalization (PyTorch's `F.batch_norm`): statistics over every dim but 1, in
//! one pass per channel; running statistics updated in place in training; a hand-written
//! fused backward that uses the saved mean and inverse standard deviation.
//!
//! With `m` values per channel, `xhat = (x - mean) * inv_std` and `y = gamma * xhat + beta`:
//! `dgamma = Σ dy xhat`, `dbeta = Σ dy`, and in training
//! `dx = gamma * inv_std / m * (m dy - Σ dy - xhat Σ dy xhat)`, which is
//! `dy * k_dy + x * k_x + k_0` per channel, so the input gradient is one elementwise pass.
//! In eval the statistics are constants and `dx = gamma * inv_std * dy`.

use crate::autograd::{no_grad, record, BackwardOp};
use crate::backend::cpu::norm::Ncs;
use crate::backend::{cpu, cuda};
use crate::cpu_with;
use crate::device::Storage;
use crate::dtype::{DType, Float};
use crate::error::{Error, Result};
use crate::ops::check_same;
use crate::tensor::{Reads, Tensor};

const OP: &str = "batch_norm";

impl Tensor {
    /// Batch norm over dim 1 of `(N, C)` or `(N, C, H, W)`. In training it normalizes with
    /// batch statistics and updates `running_mean`/`running_var` in place
    /// (`running = (1 - momentum) * running + momentum * batch`, unbiased batch variance);
    /// in eval it uses the running statistics.
    #[allow(clippy::too_many_arguments)]
    pub fn batch_norm(
        &self,
        running_mean: &Tensor,
        running_var: &Tensor,
        weight: Option<&Tensor>,
        bias: Option<&Tensor>,
        training: bool,
        momentum: f64,
        eps: f64,
    ) -> Result<Tensor> {
        if self.rank() < 2 {
            return Err(Error::shape(
                OP,
                format!(
                    "input must be (N, C) or (N, C, H, W), got {:?}",
                    self.shape()
                ),
            ));
        }
        let d = Ncs {
            n: self.dims()[0],
            c: self.dims()[1],
            s: self.dims()[2..].iter().product(),
        };
        let m = d.n * d.s;
        for (what, t) in [
            ("running_mean", Some(running_mean)),
            ("running_var", Some(running_var)),
        ]
        .into_iter()
        .chain([("weight", weight), ("bias", bias)])
        {
            let Some(t) = t else { continue };
            if t.dims() != [d.c] {
                return Err(Error::shape(
                    OP,
                    format!(
                        "{what} has shape {:?} but the input {:?} has {} channels",
                        t.shape(),
                        self.shape(),
                        d.c
                    ),
                ));
            }
            if what.starts_with("running") {
                if t.device() != self.device() {
                    return Err(Error::device(
                        OP,
                        format!("{what} on {}, input on {}", t.device(), self.device()),
                    ));
                }
            } else {
                check_same(OP, self, t)?;
            }
        }
        if training && m <= 1 {
            return Err(Error::argument(
                OP,
                format!(
                    "Expected more than 1 value per channel when training, got input of shape {:?}",
                    self.shape()
                ),
            ));
        }
        if eps.is_nan() || eps < 0.0 || !momentum.is_finite() {
            return Err(Error::argument(
                OP,
                format!("eps must be >= 0 and momentum finite, got eps {eps}, momentum {momentum}"),
            ));
        }

        let x = self.contiguous()?;
        if x.device().is_cuda() {
            let running = (running_mean, running_var);
            return batch_norm_cuda(&x, running, (weight, bias), training, (momentum, eps), d);
        }
        let (mean, var) = if training {
            batch_stats(&x, d)?
        } else {
            (running_mean.to_vec::<f64>()?, running_var.to_vec::<f64>()?)
        };
        let inv_std: Vec<f64> = var.iter().map(|v| 1.0 / (v + eps).sqrt()).collect();
        let gamma = param_or(weight, 1.0, d.c)?;
        let beta = param_or(bias, 0.0, d.c)?;
        let scale: Vec<f64> = (0..d.c).map(|j| gamma[j] * inv_std[j]).collect();
        let shift: Vec<f64> = (0..d.c).map(|j| beta[j] - mean[j] * scale[j]).collect();

        let range = x.dense_range();
        let storage = match &*x.read_storage() {
            Storage::Cpu(s) => Storage::Cpu(crate::cpu_map!(s, |v: F| {
                cpu::norm::channel_affine(&v[range.clone()], &cast::<F>(&scale), &cast(&shift), d)
            })),
            _ => {
                return Err(Error::device(
                    OP,
                    "expected CPU storage (CUDA has its own path)",
                ))
            }
        };
        let y = Tensor::from_storage(storage, x.shape())?;

        if training {
            let _guard = no_grad();
            let unbias = m as f64 / (m - 1) as f64;
            let rm = running_mean.to_vec::<f64>()?;
            let rv = running_var.to_vec::<f64>()?;
            let new_rm: Vec<f64> = (0..d.c)
                .map(|j| (1.0 - momentum) * rm[j] + momentum * mean[j])
                .collect();
            let new_rv: Vec<f64> = (0..d.c)
                .map(|j| (1.0 - momentum) * rv[j] + momentum * var[j] * unbias)
                .collect();
            running_mean.assign(&Tensor::from_vec(new_rm, [d.c])?)?;
            running_var.assign(&Tensor::from_vec(new_rv, [d.c])?)?;
        }

        let dtype = x.dtype();
        let stats = (
            channel_tensor(&mean, dtype)?,
            channel_tensor(&inv_std, dtype)?,
        );
        Ok(record_batch_norm(y, &x, (weight, bias), stats, d, training))
    }
}

/// [`Tensor::batch_norm`] on a GPU: statistics, coefficients and the running update all on
/// the device (the same formulas as the CPU path below, in f64 per channel).
fn batch_norm_cuda(
    x: &Tensor,
    (running_mean, running_var): (&Tensor, &Tensor),
    (weight, bias): (Option<&Tensor>, Option<&Tensor>),
    training: bool,
    (momentum, eps): (f64, f64),
    d: Ncs,
) -> Result<Tensor> {
    let ptr = |t: Option<&Tensor>| t.map_or(Ok(0), |t| t.cuda_ptr(OP));
    let affine = (ptr(weight)?, ptr(bias)?);
    let running = (ptr(Some(running_mean))?, ptr(Some(running_var))?);
    let x_ptr = x.cuda_ptr(OP)?;
    let (y, co) = {
        let xs = x.read_storage();
        let Storage::Cuda(xs) = &*xs else {
            return Err(Error::device(OP, "expected device storage"));
        };
        let co = if training {
            // The kernel updates the running statistics in place: hold their write locks.
            let _rm = running_mean.write_storage();
            let _rv = running_var.write_storage();
            cuda::norm::train_coeffs(xs, x_ptr, d, affine, running, eps, momentum)?
        } else {
            cuda::norm::eval_coeffs(xs.cuda_device(), xs.dtype(), d.c, affine, running, eps)?
        };
        (cuda::norm::affine(xs, x_ptr, &co, d)?, co)
    };
    let y = Tensor::from_storage(Storage::Cuda(y), x.shape())?;
    let mean = Tensor::from_storage(Storage::Cuda(co.mean), [d.c])?;
    let inv_std = Tensor::from_storage(Storage::Cuda(co.inv_std), [d.c])?;
    Ok(record_batch_norm(
        y,
        x,
        (weight, bias),
        (mean, inv_std),
        d,
        training,
    ))
}

/// Records the backward node of a batch norm whose statistics were `(mean, inv_std)`.
fn record_batch_norm(
    y: Tensor,
    x: &Tensor,
    (weight, bias): (Option<&Tensor>, Option<&Tensor>),
    (mean, inv_std): (Tensor, Tensor),
    d: Ncs,
    training: bool,
) -> Tensor {
    let mut inputs = vec![x];
    inputs.extend(weight);
    inputs.extend(bias);
    record(y, &inputs, || BatchNormBackward {
        mean,
        inv_std,
        d,
        training,
        has_weight: weight.is_some(),
        has_bias: bias.is_some(),
    })
}

/// Batch mean and biased variance per channel, from shifted one-pass sums.
fn batch_stats(x: &Tensor, d: Ncs) -> Result<(Vec<f64>, Vec<f64>)> {
    let range = x.dense_range();
    let sums = match &*x.read_storage() {
        Storage::Cpu(s) => cpu_with!(s, |v: F| {
            let v = &v[range.clone()];
            // Shift each channel by one of its own values: the sum of squares then
            // does not cancel when |mean| >> std.
            let shift: Vec<f64> = (0..d.c).map(|j| v[j * d.s].to_f64()).collect();
            let sums = cpu::norm::channel_sums(v, &shift, v, &shift, d);
            sums.into_iter().zip(shift).collect::<Vec<_>>()
        }),
        _ => {
            return Err(Error::device(
                OP,
                "expected CPU storage (CUDA has its own path)",
            ))
        }
    };
    let m = (d.n * d.s) as f64;
    Ok(sums
        .into_iter()
        .map(|((s1, s2), k)| {
            let mu = s1 / m;
            (k + mu, (s2 / m - mu * mu).max(0.0))
        })
        .unzip())
}

/// A `(C,)` tensor of `dtype` holding `v`.
fn channel_tensor(v: &[f64], dtype: DType) -> Result<Tensor> {
    Tensor::from_f64_in(v, [v.len()], dtype)
}

fn param_or(t: Option<&Tensor>, default: f64, c: usize) -> Result<Vec<f64>> {
    match t {
        Some(t) => t.to_vec::<f64>(),
        None => Ok(vec![default; c]),
    }
}

fn cast<F: Float>(v: &[f64]) -> Vec<F> {
    v.iter().map(|&a| F::from_f64(a)).collect()
}

struct BatchNormBackward {
    /// Batch mean in training, running mean in eval (shape `(C,)`, input dtype).
    mean: Tensor,
    /// `1 / sqrt(var + eps)` of the statistics used.
    inv_std: Tensor,
    d: Ncs,
    training: bool,
    has_weight: bool,
    has_bias: bool,
}

impl BatchNormBackward {
    /// The backward on a GPU: sums, coefficients and `dx` on the device.
    fn backward_cuda(
        &self,
        x: &Tensor,
        weight: Option<&Tensor>,
        g: &Tensor,
        need: (bool, bool, bool),
    ) -> Result<Vec<Option<Tensor>>> {
        let (dy, x) = (g.contiguous()?, x.contiguous()?);
        check_same(OP, &x, &dy)?;
        let ptrs = (dy.cuda_ptr(OP)?, x.cuda_ptr(OP)?);
        let stats = (self.mean.cuda_ptr(OP)?, self.inv_std.cuda_ptr(OP)?);
        let gamma = weight.map_or(Ok(0), |w| w.cuda_ptr(OP))?;
        let grads = match &*dy.read_storage() {
            Storage::Cuda(s) => {
                cuda::norm::backward(s, ptrs, stats, gamma, self.d, self.training, need)?
            }
            Storage::Cpu(_) => return Err(Error::device(OP, "expected device storage")),
        };
        let c = self.d.c;
        let wrap = |s: Option<crate::backend::cuda::CudaStorage>, shape: &[usize]| {
            s.map(|s| Tensor::from_storage(Storage::Cuda(s), shape))
                .transpose()
        };
        let mut out = vec![wrap(grads.dx, x.dims())?];
        if self.has_weight {
            out.push(wrap(grads.dgamma, &[c])?);
        }
        if self.has_bias {
            out.push(wrap(grads.dbeta, &[c])?);
        }
        Ok(out)
    }
}

impl BackwardOp for BatchNormBackward {
    fn name(&self) -> &'static str {
        OP
    }

    fn backward(&self, inputs: &[Tensor], g: &Tensor) -> Result<Vec<Option<Tensor>>> {
        let d = self.d;
        let x = &inputs[0];
        let weight = self.has_weight.then(|| &inputs[1]);
        let bias = self.has_bias.then(|| &inputs[1 + self.has_weight as usize]);
        let need_x = x.requires_grad();
        let need_w = weight.is_some_and(|w| w.requires_grad());
        let need_b = bias.is_some_and(|b| b.requires_grad());
        if x.device().is_cuda() {
            return self.backward_cuda(x, weight, g, (need_x, need_w, need_b));
        }
        let (mean, inv_std) = (self.mean.to_vec::<f64>()?, self.inv_std.to_vec::<f64>()?);
        let gamma = param_or(weight, 1.0, d.c)?;

        let dy = g.contiguous()?;
        let x = x.contiguous()?;
        let (rx, rd) = (x.dense_range(), dy.dense_range());
        let zeros = vec![0.0; d.c];
        let reads = Reads::new(&[&x, &dy]);
        let (dx, sums) = match (reads.get(0), reads.get(1)) {
            (Storage::Cpu(xs), Storage::Cpu(ds)) => cpu_with!(xs, |xv: F| {
                let xv = &xv[rx.clone()];
                let dv = &F::slice(ds).ok_or_else(|| {
                    Error::dtype(
                        OP,
                        format!("gradient is {}, input {}", ds.dtype(), F::DTYPE),
                    )
                })?[rd.clone()];
                // Σ dy and Σ dy (x - mean): needed for dgamma/dbeta, and for dx in training.
                let sums = if self.training || need_w || need_b {
                    cpu::norm::channel_sums(dv, &zeros, xv, &mean, d)
                } else {
                    Vec::new()
                };
                let dx = need_x.then(|| {
                    let m = (d.n * d.s) as f64;
                    let mut k_dy = vec![F::ZERO; d.c];
                    let mut k_x = vec![F::ZERO; d.c];
                    let mut k_0 = vec![F::ZERO; d.c];
                    for j in 0..d.c {
                        let a = gamma[j] * inv_std[j];
                        k_dy[j] = F::from_f64(a);
                        if self.training {
                            let (sum_dy, sum_dy_xc) = sums[j];
                            // xhat Σ dy xhat / m = (x - mean) * inv_std^2 * Σ dy (x - mean) / m
                            let b = -a * inv_std[j] * inv_std[j] * sum_dy_xc / m;
                            k_x[j] = F::from_f64(b);
                            k_0[j] = F::from_f64(-a * sum_dy / m - b * mean[j]);
                        }
                    }
                    let dx = cpu::norm::channel_affine2(dv, xv, &k_dy, &k_x, &k_0, d);
                    Tensor::from_storage(Storage::Cpu(F::into_storage(dx)), x.shape())
                });
                let dx = dx.transpose()?;
                (dx, sums)
            }),
            _ => {
                return Err(Error::device(
                    OP,
                    "expected CPU storage (CUDA has its own path)",
                ))
            }
        };
        let dtype = x.dtype();
        let mut grads = vec![dx];
        if self.has_weight {
            grads.push(if need_w {
                let dg: Vec<f64> = (0..d.c).map(|j| sums[j].1 * inv_std[j]).collect();
                Some(channel_tensor(&dg, dtype)?)
            } else {
                None
            });
        }
        if self.has_bias {
            grads.push(if need_b {
                let db: Vec<f64> = sums.iter().map(|s| s.0).collect();
                Some(channel_tensor(&db, dtype)?)
            } else {
                None
            });
        }
        Ok(grads)
    }
}
