//! The class losses, PyTorch's `cross_entropy` (fused softmax + negative log-likelihood
//! with label smoothing, one kernel, its own backward) and `nll_loss` on log-probabilities,
//! both with class weights, an ignored label and any [`Reduction`]. Each kernel writes a
//! per-row loss and target weight; `loss_options.rs` reduces them the same way for both.
//! Kernels: `backend/cpu/softmax.rs`, `kernels/cuda/softmax.cu`.

use crate::autograd::{record, BackwardOp};
use crate::backend::cpu::softmax::ClassTargets as HostTargets;
use crate::backend::cuda::softmax::{ClassLoss, ClassTargets as DeviceTargets, RowScale};
use crate::backend::{cpu, cuda};
use crate::device::Storage;
use crate::dtype::Float;
use crate::error::{Error, Result};
use crate::labels::Labels;
use crate::ops::loss_options::{
    reduce_device, reduce_host, CrossEntropyOptions, NllLossOptions, RowScaleRule,
};
use crate::tensor::{Reads, Tensor};

impl Tensor {
    /// Mean negative log-likelihood of `targets` for log-probabilities `(N, C)`.
    pub fn nll_loss(&self, targets: &[usize]) -> Result<Tensor> {
        self.nll_loss_with(targets, &NllLossOptions::default())
    }

    /// `torch.nn.functional.nll_loss(self, targets, weight, ignore_index, reduction)` for
    /// log-probabilities `(N, C)`; reduction `None` gives `(N)`.
    pub fn nll_loss_with(&self, targets: &[usize], opts: &NllLossOptions) -> Result<Tensor> {
        self.class_loss(ClassLoss::Nll, &Labels::host(targets), &opts.into())
    }

    /// Mean cross-entropy of logits `(N, C)` against class indices, with optional label
    /// smoothing (PyTorch's definition).
    pub fn cross_entropy(&self, targets: &[usize], label_smoothing: f64) -> Result<Tensor> {
        let opts = CrossEntropyOptions {
            label_smoothing,
            ..Default::default()
        };
        self.cross_entropy_with(targets, &opts)
    }

    /// `torch.nn.functional.cross_entropy` of logits `(N, C)` against class indices with
    /// every option; reduction `None` gives `(N)`.
    pub fn cross_entropy_with(
        &self,
        targets: &[usize],
        opts: &CrossEntropyOptions,
    ) -> Result<Tensor> {
        self.class_loss(ClassLoss::CrossEntropy, &Labels::host(targets), opts)
    }

    /// [`Tensor::cross_entropy`] with the targets as [`Labels`], which may already be on the
    /// logits' device (host labels are copied there). Device labels are not range-checked
    /// here (that would need a host read): an out-of-range one gives a NaN loss.
    pub fn cross_entropy_labels(&self, labels: &Labels, label_smoothing: f64) -> Result<Tensor> {
        let opts = CrossEntropyOptions {
            label_smoothing,
            ..Default::default()
        };
        self.cross_entropy_labels_with(labels, &opts)
    }

    /// [`Tensor::cross_entropy_with`] with the targets as [`Labels`] (see
    /// [`Tensor::cross_entropy_labels`]).
    pub fn cross_entropy_labels_with(
        &self,
        labels: &Labels,
        opts: &CrossEntropyOptions,
    ) -> Result<Tensor> {
        self.class_loss(ClassLoss::CrossEntropy, labels, opts)
    }

    fn class_loss(
        &self,
        kind: ClassLoss,
        labels: &Labels,
        opts: &CrossEntropyOptions,
    ) -> Result<Tensor> {
        let op = op_name(kind);
        // A negative ignore_index matches no label (ours are unsigned).
        let ignore = usize::try_from(opts.ignore_index).ok();
        let (n, c) = match labels.host_slice() {
            Some(t) => check_targets(op, self, t, ignore)?,
            None => check_logits(op, self, labels.len())?,
        };
        let eps = opts.label_smoothing;
        if !(0.0..=1.0).contains(&eps) {
            return Err(Error::argument(
                op,
                format!("label_smoothing must be in [0, 1], got {eps}"),
            ));
        }
        if let Some(w) = &opts.weight {
            if w.len() != c {
                return Err(Error::shape(
                    op,
                    format!("weight has {} elements for {c} classes", w.len()),
                ));
            }
        }
        let x = self.contiguous()?;
        let range = x.dense_range();
        let labels = labels.to_device(x.device())?;
        let mut saved = ClassLossBackward {
            kind,
            labels,
            weight: opts.weight.clone(),
            device_weight: None,
            ignore,
            eps,
            stats: None,
            rule: RowScaleRule {
                reduction: opts.reduction,
                inv: 1.0,
                denom: None,
            },
        };
        let (loss, rule, stats) = match &*x.read_storage() {
            Storage::Cpu(s) => crate::cpu_with!(s, |v: F| {
                let v = &v[range.clone()];
                let tg = saved.host_targets();
                let (rows, weights, stats) = match kind {
                    ClassLoss::CrossEntropy => {
                        let (stats, rows, weights) =
                            cpu::softmax::cross_entropy_fwd(v, &tg, c, eps);
                        let stats = Storage::Cpu(F::into_storage(stats));
                        (rows, weights, Some(Tensor::from_storage(stats, [n, 2])?))
                    }
                    ClassLoss::Nll => {
                        let (rows, weights) = cpu::softmax::nll_loss_fwd(v, &tg, c);
                        (rows, weights, None)
                    }
                };
                let (loss, rule) = reduce_host(&rows, &weights, opts.reduction, x.dtype())?;
                (loss, rule, stats)
            }),
            Storage::Cuda(s) => {
                if let Some(w) = &saved.weight {
                    saved.device_weight =
                        Some(Tensor::from_f64s(w.clone(), [c], x.dtype(), x.device())?);
                }
                let tg = saved.device_targets(c)?;
                let (rows, weights) =
                    cuda::softmax::class_loss_rows(kind, (s, range.start), &tg, (n, c), eps)?;
                let as_tensor = |r| Tensor::from_storage(Storage::Cuda(r), [n]);
                let weighted = saved.weight.is_some() || ignore.is_some();
                let (loss, rule) = reduce_device(
                    as_tensor(rows)?,
                    as_tensor(weights)?,
                    opts.reduction,
                    weighted,
                )?;
                (loss, rule, None)
            }
        };
        saved.rule = rule;
        saved.stats = stats;
        Ok(record(loss, &[&x], || saved))
    }
}

fn op_name(kind: ClassLoss) -> &'static str {
    match kind {
        ClassLoss::CrossEntropy => "cross_entropy",
        ClassLoss::Nll => "nll_loss",
    }
}

/// Checks `(N, C)` input and `N` targets, each below `C` or the ignored label; returns
/// `(N, C)`.
fn check_targets(
    op: &'static str,
    x: &Tensor,
    targets: &[usize],
    ignore: Option<usize>,
) -> Result<(usize, usize)> {
    let (n, c) = check_logits(op, x, targets.len())?;
    let bad = targets
        .iter()
        .enumerate()
        .find(|(_, &t)| t >= c && Some(t) != ignore);
    if let Some((i, &t)) = bad {
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
        return Err(Error::shape(op, "empty batch: the loss is undefined"));
    }
    Ok((n, c))
}

/// What a class loss's backward needs: the targets on the input's device, the options, and
/// how to scale each row by the upstream gradient.
struct ClassLossBackward {
    kind: ClassLoss,
    labels: Labels,
    weight: Option<Vec<f64>>,
    /// CUDA only: `weight` on the device, in the input's dtype.
    device_weight: Option<Tensor>,
    ignore: Option<usize>,
    eps: f64,
    /// CPU cross-entropy only: per row, the max logit and `ln Σ exp(x - max)`, `(N, 2)` (the
    /// CUDA kernel recomputes them, which is cheaper than a second buffer).
    stats: Option<Tensor>,
    rule: RowScaleRule,
}

impl ClassLossBackward {
    fn host_targets(&self) -> HostTargets<'_> {
        HostTargets {
            labels: self.labels.host_slice().unwrap_or_default(),
            weight: self.weight.as_deref(),
            ignore: self.ignore,
        }
    }

    fn device_targets(&self, c: usize) -> Result<DeviceTargets> {
        let op = op_name(self.kind);
        Ok(DeviceTargets {
            labels: self.labels.device_ptr().unwrap_or_default(),
            weight: match &self.device_weight {
                Some(w) => w.cuda_ptr(op)?,
                None => 0,
            },
            weight_sum: self.host_targets().weight_sum(c),
            // No u32 label equals u32::MAX below C, so it stands for "none".
            ignore: self
                .ignore
                .and_then(|i| u32::try_from(i).ok())
                .unwrap_or(u32::MAX),
        })
    }
}

impl BackwardOp for ClassLossBackward {
    fn name(&self) -> &'static str {
        op_name(self.kind)
    }
    fn backward(&self, inputs: &[Tensor], g: &Tensor) -> Result<Vec<Option<Tensor>>> {
        let x = &inputs[0];
        let (n, c) = (x.dims()[0], x.dims()[1]);
        let rx = x.dense_range();
        let g = g.contiguous()?;
        if x.device().is_cuda() {
            let tg = self.device_targets(c)?;
            let denom = self.rule.denom.as_ref();
            let reads = Reads::new(&[x, &g, denom.unwrap_or(&g)]);
            let dx = match (reads.get(0), reads.get(1), reads.get(2)) {
                (Storage::Cuda(xs), Storage::Cuda(gs), Storage::Cuda(ds)) => {
                    let rs = RowScale {
                        g: (gs, g.dense_range().start),
                        stride: self.rule.stride(),
                        denom: denom.map(|d| (ds, d.dense_range().start)),
                        inv: self.rule.inv,
                    };
                    let xs = (xs, rx.start);
                    cuda::softmax::class_loss_bwd(self.kind, xs, &tg, (n, c), self.eps, &rs)?
                }
                _ => return Err(crate::ops::mixed_devices(self.name(), x, &g)),
            };
            return Ok(vec![Some(Tensor::from_storage(
                Storage::Cuda(dx),
                x.shape(),
            )?)]);
        }
        let scale = self.rule.host(&g, n)?;
        let tg = self.host_targets();
        let stats = self.stats.as_ref().unwrap_or(x);
        let rs = stats.dense_range();
        let reads = Reads::new(&[x, stats]);
        let dx = match (reads.get(0), reads.get(1)) {
            (Storage::Cpu(a), Storage::Cpu(b)) => {
                Storage::Cpu(crate::cpu_map2!(self.name(), a, b, |x, stats: F| {
                    let scale: Vec<F> = scale.iter().map(|&v| F::from_f64(v)).collect();
                    match self.kind {
                        ClassLoss::CrossEntropy => cpu::softmax::cross_entropy_bwd(
                            &x[rx.clone()],
                            &stats[rs.clone()],
                            &tg,
                            c,
                            self.eps,
                            &scale,
                        ),
                        ClassLoss::Nll => cpu::softmax::nll_loss_bwd(&tg, c, &scale),
                    }
                })?)
            }
            _ => return Err(crate::ops::mixed_devices(self.name(), x, &g)),
        };
        Ok(vec![Some(Tensor::from_storage(dx, x.shape())?)])
    }
}
