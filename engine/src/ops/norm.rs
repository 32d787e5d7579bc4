//! Batch normalization. (Signature fixed; kernels being written.)

use crate::error::{Error, Result};
use crate::tensor::Tensor;

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
        let _ = (
            running_mean,
            running_var,
            weight,
            bias,
            training,
            momentum,
            eps,
        );
        Err(Error::argument("batch_norm", "not implemented yet"))
    }
}
