//! Pooling layers: `MaxPool2d`, `AvgPool2d` and `AdaptiveAvgPool2d`.

use super::{pair_str, IntoPair, Module};
use crate::error::Result;
use crate::tensor::Tensor;

/// Prints a square pair as one number, like PyTorch echoes an `int` argument.
fn size_str(p: (usize, usize)) -> String {
    if p.0 == p.1 {
        p.0.to_string()
    } else {
        pair_str(p)
    }
}

/// Max pooling (`torch.nn.MaxPool2d`); the stride defaults to the kernel size.
#[derive(Clone, Copy, Debug)]
pub struct MaxPool2d {
    kernel: (usize, usize),
    stride: (usize, usize),
    padding: (usize, usize),
}

impl MaxPool2d {
    pub fn new(kernel: impl IntoPair) -> MaxPool2d {
        let kernel = kernel.into_pair();
        MaxPool2d {
            kernel,
            stride: kernel,
            padding: (0, 0),
        }
    }
    pub fn stride(mut self, s: impl IntoPair) -> MaxPool2d {
        self.stride = s.into_pair();
        self
    }
    pub fn padding(mut self, p: impl IntoPair) -> MaxPool2d {
        self.padding = p.into_pair();
        self
    }
}

impl Module for MaxPool2d {
    fn forward(&self, x: &Tensor) -> Result<Tensor> {
        x.max_pool2d(self.kernel, self.stride, self.padding)
    }
    fn named_parameters(&self) -> Vec<(String, Tensor)> {
        vec![]
    }
    fn describe(&self) -> String {
        format!(
            "MaxPool2d(kernel_size={}, stride={}, padding={}, dilation=1, ceil_mode=False)",
            size_str(self.kernel),
            size_str(self.stride),
            size_str(self.padding)
        )
    }
}

/// Average pooling (`torch.nn.AvgPool2d`, zero padding counted); stride defaults to the kernel.
#[derive(Clone, Copy, Debug)]
pub struct AvgPool2d {
    kernel: (usize, usize),
    stride: (usize, usize),
    padding: (usize, usize),
}

impl AvgPool2d {
    pub fn new(kernel: impl IntoPair) -> AvgPool2d {
        let kernel = kernel.into_pair();
        AvgPool2d {
            kernel,
            stride: kernel,
            padding: (0, 0),
        }
    }
    pub fn stride(mut self, s: impl IntoPair) -> AvgPool2d {
        self.stride = s.into_pair();
        self
    }
    pub fn padding(mut self, p: impl IntoPair) -> AvgPool2d {
        self.padding = p.into_pair();
        self
    }
}

impl Module for AvgPool2d {
    fn forward(&self, x: &Tensor) -> Result<Tensor> {
        x.avg_pool2d(self.kernel, self.stride, self.padding)
    }
    fn named_parameters(&self) -> Vec<(String, Tensor)> {
        vec![]
    }
    fn describe(&self) -> String {
        format!(
            "AvgPool2d(kernel_size={}, stride={}, padding={})",
            size_str(self.kernel),
            size_str(self.stride),
            size_str(self.padding)
        )
    }
}

/// Average pooling to a fixed output size (`torch.nn.AdaptiveAvgPool2d`).
#[derive(Clone, Copy, Debug)]
pub struct AdaptiveAvgPool2d {
    output: (usize, usize),
}

impl AdaptiveAvgPool2d {
    pub fn new(output: impl IntoPair) -> AdaptiveAvgPool2d {
        AdaptiveAvgPool2d {
            output: output.into_pair(),
        }
    }
}

impl Module for AdaptiveAvgPool2d {
    fn forward(&self, x: &Tensor) -> Result<Tensor> {
        x.adaptive_avg_pool2d(self.output)
    }
    fn named_parameters(&self) -> Vec<(String, Tensor)> {
        vec![]
    }
    fn describe(&self) -> String {
        format!("AdaptiveAvgPool2d(output_size={})", pair_str(self.output))
    }
}
