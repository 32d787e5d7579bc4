//! Pooling. (Signatures fixed; kernels being written.)

use crate::error::{Error, Result};
use crate::tensor::Tensor;

impl Tensor {
    /// Max pooling over `(N, C, H, W)`; padding counts as -inf.
    pub fn max_pool2d(
        &self,
        kernel: (usize, usize),
        stride: (usize, usize),
        padding: (usize, usize),
    ) -> Result<Tensor> {
        let _ = (kernel, stride, padding);
        Err(Error::argument("max_pool2d", "not implemented yet"))
    }
    /// Average pooling over `(N, C, H, W)`; zero padding is counted (PyTorch's default).
    pub fn avg_pool2d(
        &self,
        kernel: (usize, usize),
        stride: (usize, usize),
        padding: (usize, usize),
    ) -> Result<Tensor> {
        let _ = (kernel, stride, padding);
        Err(Error::argument("avg_pool2d", "not implemented yet"))
    }
    /// Adaptive average pooling to `(out_h, out_w)` (PyTorch's bin boundaries).
    pub fn adaptive_avg_pool2d(&self, output: (usize, usize)) -> Result<Tensor> {
        let _ = output;
        Err(Error::argument(
            "adaptive_avg_pool2d",
            "not implemented yet",
        ))
    }
}
