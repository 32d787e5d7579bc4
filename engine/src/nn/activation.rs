//! Parameter-free layers: the activations (`ReLU`, `LeakyReLU`, `GELU`, `SiLU`) and `Flatten`.

use super::{py_float, Module};
use crate::error::Result;
use crate::ops::GeluApproximate;
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

/// `torch.nn.LeakyReLU(negative_slope=0.01)`.
#[derive(Clone, Copy, Debug)]
pub struct LeakyReLU {
    pub negative_slope: f64,
}

impl LeakyReLU {
    pub fn new(negative_slope: f64) -> LeakyReLU {
        LeakyReLU { negative_slope }
    }
}

impl Default for LeakyReLU {
    fn default() -> Self {
        LeakyReLU::new(0.01)
    }
}

impl Module for LeakyReLU {
    fn forward(&self, x: &Tensor) -> Result<Tensor> {
        x.leaky_relu(self.negative_slope)
    }
    fn named_parameters(&self) -> Vec<(String, Tensor)> {
        vec![]
    }
    fn describe(&self) -> String {
        format!(
            "LeakyReLU(negative_slope={})",
            py_float(self.negative_slope)
        )
    }
}

/// `torch.nn.GELU(approximate='none' | 'tanh')`.
#[derive(Clone, Copy, Debug, Default)]
pub struct GELU {
    pub approximate: GeluApproximate,
}

impl GELU {
    pub fn new(approximate: GeluApproximate) -> GELU {
        GELU { approximate }
    }
}

impl Module for GELU {
    fn forward(&self, x: &Tensor) -> Result<Tensor> {
        x.gelu(self.approximate)
    }
    fn named_parameters(&self) -> Vec<(String, Tensor)> {
        vec![]
    }
    fn describe(&self) -> String {
        match self.approximate {
            GeluApproximate::None => "GELU(approximate='none')".into(),
            GeluApproximate::Tanh => "GELU(approximate='tanh')".into(),
        }
    }
}

/// `torch.nn.SiLU()`: `x * sigmoid(x)`.
#[derive(Clone, Copy, Debug, Default)]
pub struct SiLU;

impl Module for SiLU {
    fn forward(&self, x: &Tensor) -> Result<Tensor> {
        x.silu()
    }
    fn named_parameters(&self) -> Vec<(String, Tensor)> {
        vec![]
    }
    fn describe(&self) -> String {
        "SiLU()".into()
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
