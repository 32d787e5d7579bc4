//! Pooling layers: `MaxPool2d`, `AvgPool2d` and `AdaptiveAvgPool2d`.

use super::{pair_str, IntoPair, Module};
use crate::error::Result;
use crate::ops::{AvgPool2dOptions, MaxPool2dOptions};
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
    dilation: (usize, usize),
    ceil_mode: bool,
}

impl MaxPool2d {
    pub fn new(kernel: impl IntoPair) -> MaxPool2d {
        let kernel = kernel.into_pair();
        MaxPool2d {
            kernel,
            stride: kernel,
            padding: (0, 0),
            dilation: (1, 1),
            ceil_mode: false,
        }
    }
    pub fn dilation(mut self, d: impl IntoPair) -> MaxPool2d {
        self.dilation = d.into_pair();
        self
    }
    pub fn ceil_mode(mut self, on: bool) -> MaxPool2d {
        self.ceil_mode = on;
        self
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
        let opts = MaxPool2dOptions {
            stride: Some(self.stride),
            padding: self.padding,
            dilation: Some(self.dilation),
            ceil_mode: self.ceil_mode,
        };
        x.max_pool2d_with(self.kernel, &opts)
    }
    fn named_parameters(&self) -> Vec<(String, Tensor)> {
        vec![]
    }
    fn describe(&self) -> String {
        format!(
            "MaxPool2d(kernel_size={}, stride={}, padding={}, dilation={}, ceil_mode={})",
            size_str(self.kernel),
            size_str(self.stride),
            size_str(self.padding),
            size_str(self.dilation),
            if self.ceil_mode { "True" } else { "False" }
        )
    }
}

/// Average pooling (`torch.nn.AvgPool2d`; by default zero padding counted); stride defaults to
/// the kernel. PyTorch's repr shows only kernel, stride and padding, and so does ours.
#[derive(Clone, Copy, Debug)]
pub struct AvgPool2d {
    kernel: (usize, usize),
    stride: (usize, usize),
    padding: (usize, usize),
    ceil_mode: bool,
    count_include_pad: bool,
}

impl AvgPool2d {
    pub fn new(kernel: impl IntoPair) -> AvgPool2d {
        let kernel = kernel.into_pair();
        AvgPool2d {
            kernel,
            stride: kernel,
            padding: (0, 0),
            ceil_mode: false,
            count_include_pad: true,
        }
    }
    pub fn ceil_mode(mut self, on: bool) -> AvgPool2d {
        self.ceil_mode = on;
        self
    }
    pub fn count_include_pad(mut self, on: bool) -> AvgPool2d {
        self.count_include_pad = on;
        self
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
        let opts = AvgPool2dOptions {
            stride: Some(self.stride),
            padding: self.padding,
            ceil_mode: self.ceil_mode,
            count_include_pad: self.count_include_pad,
        };
        x.avg_pool2d_with(self.kernel, &opts)
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
