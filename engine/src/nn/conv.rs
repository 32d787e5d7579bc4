//! `Conv2d` with PyTorch's builder-style options and default initialisation.

use super::{init, pair_str, IntoPair, Module};
use crate::error::Result;
use crate::ops::Conv2dParams;
use crate::rng::Rng;
use crate::tensor::Tensor;

/// A 2-D convolution (`torch.nn.Conv2d`): weight `(out, in / groups, kH, kW)`, bias `(out)`.
///
/// `new` forks a seed from the caller's generator and draws the weights from it, so
/// `.groups(g)` (which changes the weight shape and fan-in) can redraw them reproducibly.
pub struct Conv2d {
    pub weight: Tensor,
    pub bias: Option<Tensor>,
    in_channels: usize,
    out_channels: usize,
    kernel: (usize, usize),
    params: Conv2dParams,
    seed: u64,
}

impl Conv2d {
    /// Stride 1, no padding, dilation 1, one group, with bias.
    pub fn new(
        in_channels: usize,
        out_channels: usize,
        kernel: impl IntoPair,
        rng: &mut Rng,
    ) -> Conv2d {
        let mut conv = Conv2d {
            weight: init::constant(&[0], 0.0),
            bias: None,
            in_channels,
            out_channels,
            kernel: kernel.into_pair(),
            params: Conv2dParams::default(),
            seed: rng.fork_seed(),
        };
        conv.draw(true);
        conv
    }

    /// Weight then bias from `U(-1/sqrt(fan_in), 1/sqrt(fan_in))`.
    fn draw(&mut self, bias: bool) {
        let mut rng = Rng::new(self.seed);
        let g = self.params.groups.max(1);
        let shape = [
            self.out_channels,
            self.in_channels / g,
            self.kernel.0,
            self.kernel.1,
        ];
        self.weight = init::kaiming_uniform(&shape, 5f64.sqrt(), &mut rng);
        let bound = 1.0 / (init::fan_in(&shape) as f64).sqrt();
        self.bias = bias.then(|| init::uniform(&[self.out_channels], bound, &mut rng));
    }

    pub fn stride(mut self, s: impl IntoPair) -> Conv2d {
        self.params.stride = s.into_pair();
        self
    }
    pub fn padding(mut self, p: impl IntoPair) -> Conv2d {
        self.params.padding = p.into_pair();
        self
    }
    pub fn dilation(mut self, d: impl IntoPair) -> Conv2d {
        self.params.dilation = d.into_pair();
        self
    }
    /// Splits channels into `g` groups; redraws the weights for the new shape.
    pub fn groups(mut self, g: usize) -> Conv2d {
        self.params.groups = g;
        let bias = self.bias.is_some();
        self.draw(bias);
        self
    }
    /// Keeps or drops the bias.
    pub fn bias(mut self, on: bool) -> Conv2d {
        let had = self.bias.is_some();
        if on && !had {
            self.draw(true);
        } else if !on {
            self.bias = None;
        }
        self
    }
    pub fn conv_params(&self) -> Conv2dParams {
        self.params
    }
}

impl Module for Conv2d {
    fn forward(&self, x: &Tensor) -> Result<Tensor> {
        x.conv2d(&self.weight, self.bias.as_ref(), self.params)
    }

    fn named_parameters(&self) -> Vec<(String, Tensor)> {
        init::weight_and_bias(&self.weight, self.bias.as_ref())
    }

    fn map_tensors(&mut self, f: &mut dyn FnMut(&Tensor) -> Result<Tensor>) -> Result<()> {
        init::remake_weight_and_bias(&mut self.weight, &mut self.bias, f)
    }

    /// PyTorch's repr: padding, dilation, groups and bias only when not the default.
    fn describe(&self) -> String {
        let p = &self.params;
        let mut s = format!(
            "Conv2d({}, {}, kernel_size={}, stride={}",
            self.in_channels,
            self.out_channels,
            pair_str(self.kernel),
            pair_str(p.stride)
        );
        if p.padding != (0, 0) {
            s += &format!(", padding={}", pair_str(p.padding));
        }
        if p.dilation != (1, 1) {
            s += &format!(", dilation={}", pair_str(p.dilation));
        }
        if p.groups != 1 {
            s += &format!(", groups={}", p.groups);
        }
        if self.bias.is_none() {
            s += ", bias=False";
        }
        s + ")"
    }
}
