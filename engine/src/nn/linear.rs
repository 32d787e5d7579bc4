//! `Linear`: `y = x W^T + b` with PyTorch's default initialisation.

use super::{init, Module};
use crate::error::Result;
use crate::rng::Rng;
use crate::tensor::Tensor;

/// A fully connected layer (`torch.nn.Linear`): weight `(out, in)`, bias `(out)`.
pub struct Linear {
    pub weight: Tensor,
    pub bias: Option<Tensor>,
    in_features: usize,
    out_features: usize,
}

impl Linear {
    /// Weight and bias from `U(-1/sqrt(in), 1/sqrt(in))`, weight drawn first.
    pub fn new(in_features: usize, out_features: usize, rng: &mut Rng) -> Linear {
        Linear::new_with_bias(in_features, out_features, true, rng)
    }

    /// Like [`Linear::new`], with or without a bias.
    pub fn new_with_bias(
        in_features: usize,
        out_features: usize,
        bias: bool,
        rng: &mut Rng,
    ) -> Linear {
        let weight = init::kaiming_uniform(&[out_features, in_features], 5f64.sqrt(), rng);
        let bound = 1.0 / (in_features.max(1) as f64).sqrt();
        let bias = bias.then(|| init::uniform(&[out_features], bound, rng));
        Linear {
            weight,
            bias,
            in_features,
            out_features,
        }
    }

    /// Drops the bias.
    pub fn no_bias(mut self) -> Linear {
        self.bias = None;
        self
    }
}

impl Module for Linear {
    fn forward(&self, x: &Tensor) -> Result<Tensor> {
        x.linear(&self.weight, self.bias.as_ref())
    }

    fn named_parameters(&self) -> Vec<(String, Tensor)> {
        init::weight_and_bias(&self.weight, self.bias.as_ref())
    }

    fn map_tensors(&mut self, f: &mut dyn FnMut(&Tensor) -> Result<Tensor>) -> Result<()> {
        init::remake_weight_and_bias(&mut self.weight, &mut self.bias, f)
    }

    fn describe(&self) -> String {
        format!(
            "Linear(in_features={}, out_features={}, bias={})",
            self.in_features,
            self.out_features,
            if self.bias.is_some() { "True" } else { "False" }
        )
    }
}
