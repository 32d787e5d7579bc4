//! Dropout. (Signature fixed; kernels being written.)

use crate::error::{Error, Result};
use crate::tensor::Tensor;

impl Tensor {
    /// Zeroes each element with probability `p` and scales the rest by `1 / (1 - p)` when
    /// `training`; identity otherwise. The mask is a pure function of `(seed, offset)`.
    pub fn dropout(&self, p: f64, training: bool, seed: u64, offset: u64) -> Result<Tensor> {
        let _ = (p, training, seed, offset);
        Err(Error::argument("dropout", "not implemented yet"))
    }
}
