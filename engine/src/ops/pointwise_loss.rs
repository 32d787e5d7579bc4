//! Element-wise losses on tensors of any shape: `mse_loss` and
//! `binary_cross_entropy_with_logits` (PyTorch's stable form, with `weight` and
//! `pos_weight`), each followed by a [`Reduction`]. They are compositions of the
//! element-wise ops, so they run wherever those kernels do; the BCE has its own backward so
//! that its gradient is exact where the composition's would pass through `|x|` and
//! `relu(-x)` at 0.

use crate::autograd::{no_grad, record, BackwardOp};
use crate::error::{Error, Result};
use crate::ops::loss_options::Reduction;
use crate::tensor::Tensor;

/// `binary_cross_entropy_with_logits`' options beyond the reduction: a `weight` that
/// multiplies each element's loss and a `pos_weight` that multiplies the positive term
/// (both broadcast against the input, typically `pos_weight` of shape `(C)`; neither is
/// differentiated).
#[derive(Clone, Debug, Default)]
pub struct BceWithLogitsOptions {
    pub reduction: Reduction,
    pub weight: Option<Tensor>,
    pub pos_weight: Option<Tensor>,
}

impl Tensor {
    /// `torch.nn.functional.mse_loss`: `(self - target)^2`, reduced (`target` broadcasts).
    pub fn mse_loss(&self, target: &Tensor, reduction: Reduction) -> Result<Tensor> {
        let d = self.sub(target)?;
        reduce(&d.mul(&d)?, reduction)
    }

    /// `torch.nn.functional.binary_cross_entropy_with_logits` of logits `self` against
    /// `target` (same shape, values usually in [0, 1]):
    /// `weight * ((1 - y) x - (1 + (pos_weight - 1) y) log_sigmoid(x))`, with
    /// `log_sigmoid(x) = min(x, 0) - ln(1 + exp(-|x|))` (no overflow for any x).
    pub fn binary_cross_entropy_with_logits(
        &self,
        target: &Tensor,
        opts: &BceWithLogitsOptions,
    ) -> Result<Tensor> {
        const OP: &str = "binary_cross_entropy_with_logits";
        if target.shape() != self.shape() {
            return Err(Error::shape(
                OP,
                format!(
                    "target size {:?} must be the same as input size {:?}",
                    target.dims(),
                    self.dims()
                ),
            ));
        }
        let node = BceBackward {
            weight: opts.weight.as_ref().map(|w| w.detach()),
            pos_weight: opts.pos_weight.as_ref().map(|w| w.detach()),
        };
        let loss = {
            let _untracked = no_grad();
            let (x, y) = (self.detach(), target.detach());
            let positive = node.log_weight(&y)?.mul(&log_sigmoid(&x)?)?;
            let loss = y.neg()?.add_scalar(1.0)?.mul(&x)?.sub(&positive)?;
            let loss = node.weighted(loss)?;
            if loss.shape() != self.shape() {
                return Err(Error::shape(
                    OP,
                    format!(
                        "weight or pos_weight does not broadcast to the input size {:?}",
                        self.dims()
                    ),
                ));
            }
            loss
        };
        let loss = record(loss, &[self, target], || node);
        reduce(&loss, opts.reduction)
    }
}

/// Applies a loss reduction to element-wise values.
fn reduce(t: &Tensor, reduction: Reduction) -> Result<Tensor> {
    match reduction {
        Reduction::Mean => t.mean_all(),
        Reduction::Sum => t.sum_all(),
        Reduction::None => Ok(t.clone()),
    }
}

/// `min(x, 0) - ln(1 + exp(-|x|))`.
fn log_sigmoid(x: &Tensor) -> Result<Tensor> {
    let tail = x.abs()?.neg()?.exp()?.add_scalar(1.0)?.log()?;
    x.neg()?.relu()?.neg()?.sub(&tail)
}

/// The element-wise BCE's weights, for the backward:
/// `dL/dx = w ((1 - y) - lw sigmoid(-x))`, `dL/dy = w (-x - (pos_weight - 1) log_sigmoid(x))`
/// with `lw = 1 + (pos_weight - 1) y`.
struct BceBackward {
    weight: Option<Tensor>,
    pos_weight: Option<Tensor>,
}

impl BceBackward {
    /// `1 + (pos_weight - 1) y` (1 without pos_weight).
    fn log_weight(&self, y: &Tensor) -> Result<Tensor> {
        match &self.pos_weight {
            Some(pw) => pw.sub_scalar(1.0)?.mul(y)?.add_scalar(1.0),
            None => y.ones_like(),
        }
    }
    fn weighted(&self, t: Tensor) -> Result<Tensor> {
        match &self.weight {
            Some(w) => t.mul(w),
            None => Ok(t),
        }
    }
}

impl BackwardOp for BceBackward {
    fn name(&self) -> &'static str {
        "binary_cross_entropy_with_logits"
    }
    fn backward(&self, inputs: &[Tensor], g: &Tensor) -> Result<Vec<Option<Tensor>>> {
        let _untracked = no_grad();
        let (x, y) = (&inputs[0], &inputs[1]);
        let g = self.weighted(g.clone())?;
        let dx = if x.requires_grad() {
            let pull = self.log_weight(y)?.mul(&x.neg()?.sigmoid()?)?;
            Some(y.neg()?.add_scalar(1.0)?.sub(&pull)?.mul(&g)?)
        } else {
            None
        };
        let dy = if y.requires_grad() {
            let extra = match &self.pos_weight {
                Some(pw) => pw.sub_scalar(1.0)?.mul(&log_sigmoid(x)?)?,
                None => x.zeros_like()?,
            };
            Some(x.neg()?.sub(&extra)?.mul(&g)?)
        } else {
            None
        };
        Ok(vec![dx, dy])
    }
}
