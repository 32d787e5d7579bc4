//! `BatchNorm2d` (also for `(N, C)` input, hence the `BatchNorm1d` alias) with PyTorch's
//! defaults and buffers, including `num_batches_tracked`.

use super::{init, py_float, Counter, Module};
use crate::error::Result;
use crate::tensor::Tensor;

/// Batch normalization over dim 1 (`torch.nn.BatchNorm2d`): weight 1, bias 0, running
/// mean 0, running var 1, momentum 0.1, eps 1e-5; starts in training mode.
pub struct BatchNorm2d {
    pub weight: Tensor,
    pub bias: Tensor,
    pub running_mean: Tensor,
    pub running_var: Tensor,
    /// Counts training batches (int64 in PyTorch's state_dict, a u64 here). An integer on
    /// the host, whatever the layer's device: counting costs a GPU step nothing.
    pub num_batches_tracked: Counter,
    num_features: usize,
    momentum: f64,
    eps: f64,
    training: bool,
}

/// The same layer; it accepts `(N, C)` input.
pub type BatchNorm1d = BatchNorm2d;

impl BatchNorm2d {
    pub fn new(num_features: usize) -> BatchNorm2d {
        let c = [num_features];
        BatchNorm2d {
            weight: init::constant(&c, 1.0),
            bias: init::constant(&c, 0.0),
            running_mean: init::buffer(&c, 0.0),
            running_var: init::buffer(&c, 1.0),
            num_batches_tracked: Counter::new(0),
            num_features,
            momentum: 0.1,
            eps: 1e-5,
            training: true,
        }
    }
    /// Weight of the batch statistics in the running averages.
    pub fn momentum(mut self, m: f64) -> BatchNorm2d {
        self.momentum = m;
        self
    }
    pub fn eps(mut self, e: f64) -> BatchNorm2d {
        self.eps = e;
        self
    }
    pub fn is_training(&self) -> bool {
        self.training
    }
}

impl Module for BatchNorm2d {
    fn forward(&self, x: &Tensor) -> Result<Tensor> {
        let y = x.batch_norm(
            &self.running_mean,
            &self.running_var,
            Some(&self.weight),
            Some(&self.bias),
            self.training,
            self.momentum,
            self.eps,
        )?;
        if self.training {
            self.num_batches_tracked.increment();
        }
        Ok(y)
    }

    fn named_parameters(&self) -> Vec<(String, Tensor)> {
        vec![
            ("weight".into(), self.weight.clone()),
            ("bias".into(), self.bias.clone()),
        ]
    }

    fn named_buffers(&self) -> Vec<(String, Tensor)> {
        vec![
            ("running_mean".into(), self.running_mean.clone()),
            ("running_var".into(), self.running_var.clone()),
        ]
    }

    fn named_counters(&self) -> Vec<(String, Counter)> {
        vec![(
            "num_batches_tracked".into(),
            self.num_batches_tracked.clone(),
        )]
    }

    fn set_training(&mut self, training: bool) {
        self.training = training;
    }

    fn map_tensors(&mut self, f: &mut dyn FnMut(&Tensor) -> Result<Tensor>) -> Result<()> {
        for t in [
            &mut self.weight,
            &mut self.bias,
            &mut self.running_mean,
            &mut self.running_var,
        ] {
            *t = init::remake(t, f)?;
        }
        Ok(())
    }

    fn describe(&self) -> String {
        format!(
            "BatchNorm2d({}, eps={}, momentum={}, affine=True, track_running_stats=True)",
            self.num_features,
            py_float(self.eps),
            py_float(self.momentum)
        )
    }
}
