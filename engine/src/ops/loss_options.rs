//! The losses' options, PyTorch's names and defaults: [`Reduction`], and the class losses'
//! [`CrossEntropyOptions`] / [`NllLossOptions`] (class weights, ignored label, label
//! smoothing); plus the reduction of per-row losses that cross-entropy and nll share, and
//! the per-row upstream gradient their backward passes read.

use crate::autograd::no_grad;
use crate::error::Result;
use crate::tensor::Tensor;

/// How a loss reduces its per-element values (`reduction=` in PyTorch).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Reduction {
    /// The mean; for the class losses with weights or ignored targets, the weighted sum
    /// divided by the sum of the weights of the targets that count (NaN when none does).
    #[default]
    Mean,
    Sum,
    /// One value per element (per row for the class losses).
    None,
}

/// `torch.nn.functional.cross_entropy`'s options for class-index targets.
#[derive(Clone, Debug, PartialEq)]
pub struct CrossEntropyOptions {
    pub reduction: Reduction,
    /// One weight per class (not differentiated, as in PyTorch).
    pub weight: Option<Vec<f64>>,
    /// Rows whose target equals it count for nothing (loss 0, left out of the mean). Any
    /// value is allowed; the default -100 matches no class index.
    pub ignore_index: i64,
    /// In [0, 1]: the target becomes `(1 - eps) onehot + eps / C` (its smoothing term
    /// weighted by the class weights, as in PyTorch).
    pub label_smoothing: f64,
}

impl Default for CrossEntropyOptions {
    fn default() -> Self {
        CrossEntropyOptions {
            reduction: Reduction::Mean,
            weight: None,
            ignore_index: -100,
            label_smoothing: 0.0,
        }
    }
}

/// `torch.nn.functional.nll_loss`'s options (cross-entropy's, without label smoothing).
#[derive(Clone, Debug, PartialEq)]
pub struct NllLossOptions {
    pub reduction: Reduction,
    pub weight: Option<Vec<f64>>,
    pub ignore_index: i64,
}

impl Default for NllLossOptions {
    fn default() -> Self {
        NllLossOptions {
            reduction: Reduction::Mean,
            weight: None,
            ignore_index: -100,
        }
    }
}

impl From<&NllLossOptions> for CrossEntropyOptions {
    fn from(o: &NllLossOptions) -> Self {
        CrossEntropyOptions {
            reduction: o.reduction,
            weight: o.weight.clone(),
            ignore_index: o.ignore_index,
            label_smoothing: 0.0,
        }
    }
}

/// How the backward turns the upstream gradient `g` into each row's scale:
/// `g[row or 0] * inv / denom` (`denom`: the device-side weight sum of a mean; on the host
/// the division is folded into `inv`).
#[derive(Clone)]
pub(crate) struct RowScaleRule {
    pub reduction: Reduction,
    pub inv: f64,
    pub denom: Option<Tensor>,
}

impl RowScaleRule {
    /// Each row's scale on the host, from the upstream gradient (shape `[n]` or `[]`).
    pub fn host(&self, g: &Tensor, n: usize) -> Result<Vec<f64>> {
        let g = g.to_vec_f64()?;
        Ok(match self.reduction {
            Reduction::None => g.iter().map(|v| v * self.inv).collect(),
            _ => vec![g[0] * self.inv; n],
        })
    }
    /// The stride of the upstream gradient per row.
    pub fn stride(&self) -> u32 {
        (self.reduction == Reduction::None) as u32
    }
}

/// Reduces host per-row losses and target weights (f64) to the loss in `dtype`.
pub(crate) fn reduce_host(
    rows: &[f64],
    weights: &[f64],
    reduction: Reduction,
    dtype: crate::dtype::DType,
) -> Result<(Tensor, RowScaleRule)> {
    let rule = |inv| RowScaleRule {
        reduction,
        inv,
        denom: None,
    };
    let scalar = |v: f64| Tensor::from_f64_in(&[v], Vec::<usize>::new(), dtype);
    let total: f64 = rows.iter().sum();
    Ok(match reduction {
        Reduction::None => (Tensor::from_f64_in(rows, [rows.len()], dtype)?, rule(1.0)),
        Reduction::Sum => (scalar(total)?, rule(1.0)),
        Reduction::Mean => {
            let wsum: f64 = weights.iter().sum();
            (scalar(total / wsum)?, rule(1.0 / wsum))
        }
    })
}

/// Reduces device per-row losses and target weights (`[n]` tensors) to the loss, on the
/// device. `weighted`: the mean must divide by the weight sum (class weights or an
/// ignorable label); otherwise it divides by `n` and skips that reduction.
pub(crate) fn reduce_device(
    rows: Tensor,
    weights: Tensor,
    reduction: Reduction,
    weighted: bool,
) -> Result<(Tensor, RowScaleRule)> {
    let _untracked = no_grad();
    let n = rows.numel();
    let rule = |inv, denom| RowScaleRule {
        reduction,
        inv,
        denom,
    };
    Ok(match reduction {
        Reduction::None => (rows, rule(1.0, None)),
        Reduction::Sum => (rows.sum_all()?, rule(1.0, None)),
        Reduction::Mean if weighted => {
            let wsum = weights.sum_all()?;
            (rows.sum_all()?.div(&wsum)?, rule(1.0, Some(wsum)))
        }
        Reduction::Mean => (
            rows.sum_all()?.mul_scalar(1.0 / n as f64)?,
            rule(1.0 / n as f64, None),
        ),
    })
}
