//! Softmax, log-softmax and the losses: `nll_loss` on log-probabilities and the fused
//! `cross_entropy` (softmax + negative log-likelihood + label smoothing in one kernel,
//! with its own backward `(softmax - smoothed one-hot) / N`). Kernels live in
//! `backend/cpu/softmax.rs`.

use crate::autograd::{no_grad, record, BackwardOp};
use crate::backend::{cpu, cuda};
use crate::cpu_map;
use crate::device::Storage;
use crate::dtype::Float;
use crate::error::{Error, Result};
use crate::labels::Labels;
use crate::tensor::{Reads, Tensor};

impl Tensor {
    /// `log(softmax(x))` along `dim`, computed stably.
    pub fn log_softmax(&self, dim: usize) -> Result<Tensor> {
        self.softmax_impl(dim, true)
    }
    /// Softmax along `dim`.
    pub fn softmax(&self, dim: usize) -> Result<Tensor> {
        self.softmax_impl(dim, false)
    }

    fn softmax_impl(&self, dim: usize, log: bool) -> Result<Tensor> {
        let op = if log { "log_softmax" } else { "softmax" };
        if dim >= self.rank() {
            return Err(Error::argument(
                op,
                format!("dim {dim} out of range for shape {:?}", self.shape()),
            ));
        }
        let d = self.dims()[dim];
        let inner: usize = self.dims()[dim + 1..].iter().product();
        let last = self.rank() - 1;
        if self.device().is_cuda() && inner != 1 {
            // The CUDA kernels work on rows: move `dim` last and back (tracked views).
            return self
                .transpose(dim, last)?
                .softmax_impl(last, log)?
                .transpose(dim, last);
        }
        let x = self.contiguous()?;
        let range = x.dense_range();
        let storage = match &*x.read_storage() {
            Storage::Cpu(s) => Storage::Cpu(cpu_map!(s, |v: F| cpu::softmax::softmax_fwd(
                &v[range.clone()],
                d,
                inner,
                log
            ))),
            Storage::Cuda(s) => Storage::Cuda(cuda::softmax::forward(
                s,
                range.start,
                x.numel() / d.max(1),
                d,
                log,
            )?),
        };
        let y = Tensor::from_storage(storage, x.shape())?;
        let saved = y.detach();
        Ok(record(y, &[&x], || SoftmaxBackward {
            y: saved,
            d,
            inner,
            log,
        }))
    }

    /// Mean negative log-likelihood of `targets` for log-probabilities `(N, C)`.
    pub fn nll_loss(&self, targets: &[usize]) -> Result<Tensor> {
        let (n, c) = check_targets("nll_loss", self, targets)?;
        if self.device().is_cuda() {
            // -mean(x[i, t_i]) as a masked sum; the one-hot mask is built on the host.
            let mut onehot = vec![0.0f64; n * c];
            for (i, &t) in targets.iter().enumerate() {
                onehot[i * c + t] = -1.0 / n as f64;
            }
            let mask = Tensor::from_vec(onehot, [n, c])?
                .to_dtype(self.dtype())?
                .to_device(self.device())?;
            return self.mul(&mask)?.sum_all();
        }
        let x = self.contiguous()?;
        let range = x.dense_range();
        let total = match &*x.read_storage() {
            Storage::Cpu(s) => crate::cpu_with!(s, |v: F| {
                let v = &v[range.clone()];
                targets
                    .iter()
                    .enumerate()
                    .map(|(i, &t)| v[i * c + t].to_f64())
                    .sum::<f64>()
            }),
            _ => {
                return Err(Error::device(
                    "nll_loss",
                    "CUDA inputs take the masked-sum path",
                ))
            }
        };
        let loss = scalar_like(&x, -total / n as f64)?;
        Ok(record(loss, &[&x], || NllBackward {
            targets: targets.to_vec(),
        }))
    }

    /// Mean cross-entropy of logits `(N, C)` against class indices, with optional label
    /// smoothing (PyTorch's definition).
    pub fn cross_entropy(&self, targets: &[usize], label_smoothing: f64) -> Result<Tensor> {
        // Host labels are range-checked in `cross_entropy_labels`.
        self.cross_entropy_labels(&Labels::host(targets), label_smoothing)
    }

    /// [`Tensor::cross_entropy`] with the targets as [`Labels`], which may already be on the
    /// logits' device (host labels are copied there). Device labels are not range-checked
    /// here (that would need a host read): an out-of-range one gives a NaN loss.
    pub fn cross_entropy_labels(&self, labels: &Labels, label_smoothing: f64) -> Result<Tensor> {
        const OP: &str = "cross_entropy";
        let (n, c) = match labels.host_slice() {
            Some(t) => check_targets(OP, self, t)?,
            None => check_logits(OP, self, labels.len())?,
        };
        if !(0.0..=1.0).contains(&label_smoothing) {
            return Err(Error::argument(
                OP,
                format!("label_smoothing must be in [0, 1], got {label_smoothing}"),
            ));
        }
        let x = self.contiguous()?;
        let range = x.dense_range();
        let labels = labels.to_device(x.device())?;
        let (stats, loss) = match &*x.read_storage() {
            Storage::Cpu(s) => crate::cpu_with!(s, |v: F| {
                let targets = labels.host_slice().unwrap_or_default();
                let (stats, total) =
                    cpu::softmax::cross_entropy_fwd(&v[range.clone()], targets, c, label_smoothing);
                let stats = Tensor::from_storage(Storage::Cpu(F::into_storage(stats)), [n, 2])?;
                (Some(stats), scalar_like(&x, total / n as f64)?)
            }),
            Storage::Cuda(s) => {
                let ptr = labels.device_ptr().unwrap_or_default();
                let rows = cuda::softmax::cross_entropy_rows(
                    s,
                    range.start,
                    ptr,
                    (n, c),
                    label_smoothing,
                )?;
                let _untracked = no_grad();
                let rows = Tensor::from_storage(Storage::Cuda(rows), [n])?;
                (None, rows.sum_all()?.mul_scalar(1.0 / n as f64)?)
            }
        };
        Ok(record(loss, &[&x], || CrossEntropyBackward {
            stats,
            labels,
            eps: label_smoothing,
        }))
    }
}

/// Checks `(N, C)` input and `N` targets below `C`; returns `(N, C)`.
fn check_targets(op: &'static str, x: &Tensor, targets: &[usize]) -> Result<(usize, usize)> {
    let (n, c) = check_logits(op, x, targets.len())?;
    if let Some((i, &t)) = targets.iter().enumerate().find(|(_, &t)| t >= c) {
        return Err(Error::argument(
            op,
            format!("target {t} at position {i} is out of range for {c} classes"),
        ));
    }
    Ok((n, c))
}

/// Checks `(N, C)` input with `N = targets` (at least one); returns `(N, C)`.
fn check_logits(op: &'static str, x: &Tensor, targets: usize) -> Result<(usize, usize)> {
    if x.rank() != 2 {
        return Err(Error::shape(
            op,
            format!("input must be (N, C), got {:?}", x.shape()),
        ));
    }
    let (n, c) = (x.dims()[0], x.dims()[1]);
    if targets != n {
        return Err(Error::shape(
            op,
            format!(
                "{targets} targets for input of shape {:?} (batch size {n})",
                x.shape()
            ),
        ));
    }
    if n == 0 {
        return Err(Error::shape(op, "empty batch: the mean loss is undefined"));
    }
    Ok((n, c))
}

/// A 0-D tensor with `value`, in `like`'s dtype.
fn scalar_like(like: &Tensor, value: f64) -> Result<Tensor> {
    Tensor::from_f64_in(&[value], Vec::<usize>::new(), like.dtype())
}

/// The upstream gradient of a scalar loss, as f64.
fn upstream(g: &Tensor) -> Result<f64> {
    g.item()
}

struct SoftmaxBackward {
    y: Tensor,
    d: usize,
    inner: usize,
    log: bool,
}

impl BackwardOp for SoftmaxBackward {
    fn name(&self) -> &'static str {
        if self.log {
            "log_softmax"
        } else {
            "softmax"
        }
    }
    fn backward(&self, _inputs: &[Tensor], g: &Tensor) -> Result<Vec<Option<Tensor>>> {
        let g = g.contiguous()?;
        let (ry, rg) = (self.y.dense_range(), g.dense_range());
        let reads = Reads::new(&[&self.y, &g]);
        let dx = match (reads.get(0), reads.get(1)) {
            (Storage::Cpu(a), Storage::Cpu(b)) => {
                Storage::Cpu(crate::cpu_map2!(self.name(), a, b, |y, dy: F| {
                    cpu::softmax::softmax_bwd(
                        &y[ry.clone()],
                        &dy[rg.clone()],
                        self.d,
                        self.inner,
                        self.log,
                    )
                })?)
            }
            (Storage::Cuda(y), Storage::Cuda(dy)) => Storage::Cuda(cuda::softmax::backward(
                (y, ry.start),
                (dy, rg.start),
                ry.len() / self.d.max(1),
                self.d,
                self.log,
            )?),
            _ => return Err(crate::ops::mixed_devices(self.name(), &self.y, &g)),
        };
        Ok(vec![Some(Tensor::from_storage(dx, self.y.shape())?)])
    }
}

struct NllBackward {
    targets: Vec<usize>,
}

impl BackwardOp for NllBackward {
    fn name(&self) -> &'static str {
        "nll_loss"
    }
    /// `-g / N` at each row's target, zero elsewhere.
    fn backward(&self, inputs: &[Tensor], g: &Tensor) -> Result<Vec<Option<Tensor>>> {
        let x = &inputs[0];
        let (n, c) = (x.dims()[0], x.dims()[1]);
        let v = -upstream(g)? / n as f64;
        let storage = match &*x.read_storage() {
            Storage::Cpu(s) => cpu_map!(s, |_s: F| {
                let mut dx = vec![F::ZERO; n * c];
                for (i, &t) in self.targets.iter().enumerate() {
                    dx[i * c + t] = F::from_f64(v);
                }
                dx
            }),
            _ => {
                return Err(Error::device(
                    self.name(),
                    "expected CPU storage (CUDA has its own path)",
                ))
            }
        };
        Ok(vec![Some(Tensor::from_storage(
            Storage::Cpu(storage),
            x.shape(),
        )?)])
    }
}

struct CrossEntropyBackward {
    /// CPU only: per row, the max logit and `ln Σ exp(x - max)`, shape `(N, 2)` (the CUDA
    /// kernel recomputes them, which is cheaper than a second buffer).
    stats: Option<Tensor>,
    labels: Labels,
    eps: f64,
}

impl BackwardOp for CrossEntropyBackward {
    fn name(&self) -> &'static str {
        "cross_entropy"
    }
    fn backward(&self, inputs: &[Tensor], g: &Tensor) -> Result<Vec<Option<Tensor>>> {
        let x = &inputs[0];
        let (n, c) = (x.dims()[0], x.dims()[1]);
        let rx = x.dense_range();
        let Some(stats) = &self.stats else {
            let g = g.contiguous()?;
            let dx = match (&*x.read_storage(), &*g.read_storage()) {
                (Storage::Cuda(xs), Storage::Cuda(gs)) => cuda::softmax::cross_entropy_bwd(
                    xs,
                    rx.start,
                    self.labels.device_ptr().unwrap_or_default(),
                    (n, c),
                    self.eps,
                    (gs, g.dense_range().start),
                    1.0 / n as f64,
                )?,
                _ => return Err(crate::ops::mixed_devices("cross_entropy", x, &g)),
            };
            return Ok(vec![Some(Tensor::from_storage(
                Storage::Cuda(dx),
                x.shape(),
            )?)]);
        };
        let scale = upstream(g)? / n as f64;
        let rs = stats.dense_range();
        let targets = self.labels.host_slice().unwrap_or_default();
        let reads = Reads::new(&[x, stats]);
        let dx = match (reads.get(0), reads.get(1)) {
            (Storage::Cpu(a), Storage::Cpu(b)) => {
                Storage::Cpu(crate::cpu_map2!("cross_entropy", a, b, |x, stats: F| {
                    cpu::softmax::cross_entropy_bwd(
                        &x[rx.clone()],
                        &stats[rs.clone()],
                        targets,
                        c,
                        self.eps,
                        F::from_f64(scale),
                    )
                })?)
            }
            _ => {
                return Err(Error::device(
                    self.name(),
                    "expected CPU storage (CUDA has its own path)",
                ))
            }
        };
        Ok(vec![Some(Tensor::from_storage(dx, x.shape())?)])
    }
}
