//! Parameter-free layers: `ReLU` and `Flatten`.

use super::Module;
use crate::error::Result;
use crate::tensor::Tensor;

/// `max(x, 0)` elementwise (`torch.nn.ReLU`).
#[derive(Clone, Copy, Debug, Default)]
pub struct ReLU;

impl Module for ReLU {
    fn forward(&self, x: &Tensor) -> Result<Tensor> {
        x.relu()
    }
    fn named_parameters(&self) -> Vec<(String, Tensor)> {
        vec![]
    }
    fn describe(&self) -> String {
        "ReLU()".into()
    }
}

/// Merges all dims from 1 on (`torch.nn.Flatten()`): `(N, C, H, W)` -> `(N, C*H*W)`.
#[derive(Clone, Copy, Debug, Default)]
pub struct Flatten;

impl Module for Flatten {
    fn forward(&self, x: &Tensor) -> Result<Tensor> {
        if x.rank() < 2 {
            return Ok(x.clone());
        }
        x.flatten(1, x.rank() - 1)
    }
    fn named_parameters(&self) -> Vec<(String, Tensor)> {
        vec![]
    }
    fn describe(&self) -> String {
        "Flatten(start_dim=1, end_dim=-1)".into()
    }
}
