//! `LayerNorm` (`torch.nn.LayerNorm`): normalises over the last dims, then the optional
//! elementwise affine (weight ones, bias zeros at start, state_dict names "weight", "bias").

use super::{init, py_float, Module};
use crate::error::Result;
use crate::tensor::Tensor;

pub struct LayerNorm {
    /// `None` without elementwise affine.
    pub weight: Option<Tensor>,
    /// `None` without elementwise affine or with `bias(false)`.
    pub bias: Option<Tensor>,
    normalized_shape: Vec<usize>,
    eps: f64,
}

impl LayerNorm {
    /// `LayerNorm(normalized_shape, eps=1e-5, elementwise_affine=True, bias=True)`.
    pub fn new(normalized_shape: &[usize]) -> LayerNorm {
        LayerNorm {
            weight: Some(init::constant(normalized_shape, 1.0)),
            bias: Some(init::constant(normalized_shape, 0.0)),
            normalized_shape: normalized_shape.to_vec(),
            eps: 1e-5,
        }
    }
    pub fn eps(mut self, eps: f64) -> LayerNorm {
        self.eps = eps;
        self
    }
    /// Without `elementwise_affine` there is neither weight nor bias.
    pub fn elementwise_affine(mut self, on: bool) -> LayerNorm {
        if !on {
            (self.weight, self.bias) = (None, None);
        }
        self
    }
    /// `bias=False`: a weight but no bias.
    pub fn bias(mut self, on: bool) -> LayerNorm {
        if !on {
            self.bias = None;
        }
        self
    }
}

impl Module for LayerNorm {
    fn forward(&self, x: &Tensor) -> Result<Tensor> {
        x.layer_norm(
            &self.normalized_shape,
            self.weight.as_ref(),
            self.bias.as_ref(),
            self.eps,
        )
    }

    fn named_parameters(&self) -> Vec<(String, Tensor)> {
        [("weight", &self.weight), ("bias", &self.bias)]
            .into_iter()
            .filter_map(|(n, t)| t.as_ref().map(|t| (n.to_string(), t.clone())))
            .collect()
    }

    fn map_tensors(&mut self, f: &mut dyn FnMut(&Tensor) -> Result<Tensor>) -> Result<()> {
        for t in [&mut self.weight, &mut self.bias].into_iter().flatten() {
            *t = init::remake(t, f)?;
        }
        Ok(())
    }

    fn describe(&self) -> String {
        let dims: Vec<String> = self
            .normalized_shape
            .iter()
            .map(|d| d.to_string())
            .collect();
        let shape = if dims.len() == 1 {
            format!("({},)", dims[0])
        } else {
            format!("({})", dims.join(", "))
        };
        let affine = if self.weight.is_some() {
            "True"
        } else {
            "False"
        };
        let bias = if self.weight.is_some() && self.bias.is_none() {
            ", bias=False"
        } else {
            ""
        };
        format!(
            "LayerNorm({shape}, eps={}, elementwise_affine={affine}{bias})",
            py_float(self.eps)
        )
    }
}
