//! Softmax and losses. (Signatures fixed; kernels being written.)

use crate::error::{Error, Result};
use crate::tensor::Tensor;

impl Tensor {
    /// `log(softmax(x))` along `dim`, computed stably.
    pub fn log_softmax(&self, dim: usize) -> Result<Tensor> {
        let _ = dim;
        Err(Error::argument("log_softmax", "not implemented yet"))
    }
    /// Softmax along `dim`.
    pub fn softmax(&self, dim: usize) -> Result<Tensor> {
        let _ = dim;
        Err(Error::argument("softmax", "not implemented yet"))
    }
    /// Mean negative log-likelihood of `targets` for log-probabilities `(N, C)`.
    pub fn nll_loss(&self, targets: &[usize]) -> Result<Tensor> {
        let _ = targets;
        Err(Error::argument("nll_loss", "not implemented yet"))
    }
    /// Mean cross-entropy of logits `(N, C)` against class indices, with optional label
    /// smoothing (PyTorch's definition).
    pub fn cross_entropy(&self, targets: &[usize], label_smoothing: f64) -> Result<Tensor> {
        let _ = (targets, label_smoothing);
        Err(Error::argument("cross_entropy", "not implemented yet"))
    }
}
