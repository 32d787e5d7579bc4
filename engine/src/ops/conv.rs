//! 2-D convolution. (Signature fixed; kernels being written.)

use crate::error::{Error, Result};
use crate::tensor::Tensor;

/// Geometry of a 2-D convolution, as in `torch.nn.functional.conv2d`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Conv2dParams {
    pub stride: (usize, usize),
    pub padding: (usize, usize),
    pub dilation: (usize, usize),
    pub groups: usize,
}

impl Default for Conv2dParams {
    fn default() -> Self {
        Conv2dParams {
            stride: (1, 1),
            padding: (0, 0),
            dilation: (1, 1),
            groups: 1,
        }
    }
}

impl Tensor {
    /// `input (N, C_in, H, W)` convolved with `weight (C_out, C_in / groups, kH, kW)`, plus `bias (C_out)`.
    pub fn conv2d(
        &self,
        weight: &Tensor,
        bias: Option<&Tensor>,
        params: Conv2dParams,
    ) -> Result<Tensor> {
        let _ = (weight, bias, params);
        Err(Error::argument("conv2d", "not implemented yet"))
    }
}
