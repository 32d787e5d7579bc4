//! Neural-network layers in PyTorch's shape: the [`Module`] trait, the layers of the
//! MNIST models, and [`Sequential`] with PyTorch's state_dict names ("0.weight", ...).
//!
//! Parameters are F32 CPU leaf tensors that require grad, shared by handle: the optimizer
//! and the checkpoint loader update them in place through [`Tensor::assign`].

mod activation;
mod batchnorm;
mod conv;
mod counter;
mod dropout;
pub mod init;
mod layer_norm;
mod linear;
mod pool;
mod sequential;

pub use activation::{Flatten, LeakyReLU, ReLU, SiLU, GELU};
pub use batchnorm::{BatchNorm1d, BatchNorm2d};
pub use conv::Conv2d;
pub use counter::Counter;
pub use dropout::Dropout;
pub use layer_norm::LayerNorm;
pub use linear::Linear;
pub use pool::{AdaptiveAvgPool2d, AvgPool2d, MaxPool2d};
pub use sequential::{LayerSummary, Sequential};

use crate::device::Device;
use crate::dtype::DType;
use crate::error::Result;
use crate::tensor::Tensor;

/// A layer or a container of layers (`torch.nn.Module`).
pub trait Module: Send + Sync {
    /// Applies the layer to `x`.
    fn forward(&self, x: &Tensor) -> Result<Tensor>;

    /// Trainable tensors with their PyTorch names ("weight", "0.bias", ...).
    fn named_parameters(&self) -> Vec<(String, Tensor)>;

    /// Non-trainable state saved with the model (BatchNorm's running statistics).
    fn named_buffers(&self) -> Vec<(String, Tensor)> {
        vec![]
    }

    /// Integer state saved with the model (BatchNorm's `num_batches_tracked`), by name.
    fn named_counters(&self) -> Vec<(String, Counter)> {
        vec![]
    }

    /// Switches between training and evaluation behaviour (BatchNorm, Dropout).
    fn set_training(&mut self, training: bool) {
        let _ = training;
    }

    /// Counter-based RNG positions (Dropout's offset), by name, for exact resumes.
    fn rng_state(&self) -> Vec<(String, u64)> {
        vec![]
    }

    /// Restores positions returned by [`Module::rng_state`]; unknown names are ignored.
    fn set_rng_state(&self, state: &[(String, u64)]) {
        let _ = state;
    }

    /// Replaces every parameter and buffer `t` by `f(t)` (as new leaf tensors keeping their
    /// `requires_grad`). Layers with tensors implement this once; conversions build on it.
    fn map_tensors(&mut self, f: &mut dyn FnMut(&Tensor) -> Result<Tensor>) -> Result<()> {
        let _ = f;
        Ok(())
    }

    /// Converts parameters and buffers to `dtype` (rebuild optimizers after).
    fn to_dtype(&mut self, dtype: DType) -> Result<()> {
        self.map_tensors(&mut |t| t.to_dtype(dtype))
    }

    /// Moves parameters and buffers to `device` (rebuild optimizers after), like `.to(device)`.
    fn to_device(&mut self, device: Device) -> Result<()> {
        self.map_tensors(&mut |t| t.to_device(device))
    }

    /// One line in PyTorch's repr style, e.g. `Linear(in_features=3, out_features=2, bias=True)`.
    fn describe(&self) -> String;

    /// The trainable tensors, in [`Module::named_parameters`] order.
    fn parameters(&self) -> Vec<Tensor> {
        self.named_parameters()
            .into_iter()
            .map(|(_, t)| t)
            .collect()
    }

    /// Parameters then buffers, under PyTorch's names.
    fn state_dict(&self) -> Vec<(String, Tensor)> {
        let mut all = self.named_parameters();
        all.extend(self.named_buffers());
        all
    }

    /// Copies `loaded` into this module's parameters and buffers after checking that the
    /// names, shapes and dtypes match exactly (see [`crate::io::load_state_dict`]).
    fn load_state_dict(&self, loaded: &[(String, Tensor)]) -> Result<()> {
        crate::io::load_state_dict(&self.state_dict(), loaded)
    }

    /// The integer state's values under their names (a checkpoint's int64 entries).
    fn counts(&self) -> Vec<(String, u64)> {
        self.named_counters()
            .into_iter()
            .map(|(n, c)| (n, c.get()))
            .collect()
    }

    /// Sets every counter from `loaded` after checking that the names match exactly.
    fn load_counts(&self, loaded: &[(String, u64)]) -> Result<()> {
        crate::io::load_counts(&self.named_counters(), loaded)
    }

    /// The number of trainable scalars.
    fn num_parameters(&self) -> usize {
        self.named_parameters().iter().map(|(_, t)| t.numel()).sum()
    }

    /// `set_training(true)`.
    fn train(&mut self) {
        self.set_training(true);
    }

    /// `set_training(false)`.
    fn eval(&mut self) {
        self.set_training(false);
    }
}

/// A size given as one number (square) or a pair, like PyTorch's `int or tuple`.
pub trait IntoPair {
    fn into_pair(self) -> (usize, usize);
}

impl IntoPair for usize {
    fn into_pair(self) -> (usize, usize) {
        (self, self)
    }
}

impl IntoPair for (usize, usize) {
    fn into_pair(self) -> (usize, usize) {
        self
    }
}

/// Formats a pair as PyTorch prints it: `(3, 3)`.
pub(crate) fn pair_str(p: (usize, usize)) -> String {
    format!("({}, {})", p.0, p.1)
}

/// Formats a float as Python's `repr` does for the usual hyperparameters (0.1, 1e-05).
pub(crate) fn py_float(v: f64) -> String {
    if v != 0.0 && v.abs() < 1e-4 {
        let s = format!("{v:e}"); // "1e-5"
        match s.split_once('e') {
            Some((m, e)) => {
                let (sign, digits) = e.strip_prefix('-').map_or(("+", e), |d| ("-", d));
                format!("{m}e{sign}{digits:0>2}")
            }
            None => s,
        }
    } else if v.fract() == 0.0 && v.abs() < 1e16 {
        format!("{v:.1}")
    } else {
        format!("{v}")
    }
}

/// Prefixes every name with `prefix.`.
pub(crate) fn prefixed<T>(prefix: &str, items: Vec<(String, T)>) -> Vec<(String, T)> {
    items
        .into_iter()
        .map(|(n, t)| (format!("{prefix}.{n}"), t))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::py_float;

    #[test]
    fn python_float_repr() {
        assert_eq!(py_float(1e-5), "1e-05");
        assert_eq!(py_float(0.1), "0.1");
        assert_eq!(py_float(0.5), "0.5");
        assert_eq!(py_float(1.0), "1.0");
        assert_eq!(py_float(1e-3), "0.001");
    }
}
