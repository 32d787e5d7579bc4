//! Parameter initialisation matching PyTorch's defaults, drawn from a caller's [`Rng`].
//!
//! Linear and Conv2d use `kaiming_uniform_(a = sqrt(5))` for the weight, which works out
//! to `U(-1/sqrt(fan_in), 1/sqrt(fan_in))`, and the same bound for the bias.

use crate::error::Result;
use crate::rng::Rng;
use crate::tensor::Tensor;

/// `fan_in` of a weight shaped `(out, in, k...)`: `in * prod(k)` (PyTorch's rule).
pub fn fan_in(shape: &[usize]) -> usize {
    shape.iter().skip(1).product::<usize>().max(1)
}

/// A leaf F32 parameter with values from `U(-bound, bound)`.
pub fn uniform(shape: &[usize], bound: f64, rng: &mut Rng) -> Tensor {
    Tensor::from_fn(shape, || (-bound + 2.0 * bound * rng.uniform()) as f32).requires_grad_(true)
}

/// `torch.nn.init.kaiming_uniform_(w, a)` with `mode='fan_in'`, leaky-ReLU gain.
pub fn kaiming_uniform(shape: &[usize], a: f64, rng: &mut Rng) -> Tensor {
    let gain = (2.0 / (1.0 + a * a)).sqrt();
    let bound = 3f64.sqrt() * gain / (fan_in(shape) as f64).sqrt();
    uniform(shape, bound, rng)
}

/// A leaf F32 parameter filled with `value`.
pub fn constant(shape: &[usize], value: f32) -> Tensor {
    Tensor::from_fn(shape, || value).requires_grad_(true)
}

/// A non-trainable F32 buffer filled with `value`.
pub(crate) fn buffer(shape: &[usize], value: f32) -> Tensor {
    Tensor::from_fn(shape, || value)
}

/// `f(t)` as a fresh leaf tensor with `t`'s `requires_grad` (`t` itself when `f` leaves it
/// unchanged): how modules convert or move their parameters and buffers.
pub(crate) fn remake(t: &Tensor, f: &mut dyn FnMut(&Tensor) -> Result<Tensor>) -> Result<Tensor> {
    let out = f(&t.detach())?;
    if out.same_storage(t) && out.dtype() == t.dtype() {
        return Ok(t.clone());
    }
    Ok(out.requires_grad_(t.requires_grad()))
}

/// `[("weight", w), ("bias", b)]`, the bias only when there is one (Linear's and Conv2d's
/// parameters, in PyTorch's order).
pub(crate) fn weight_and_bias(weight: &Tensor, bias: Option<&Tensor>) -> Vec<(String, Tensor)> {
    let mut p = vec![("weight".to_string(), weight.clone())];
    if let Some(b) = bias {
        p.push(("bias".to_string(), b.clone()));
    }
    p
}

/// Converts a weight, then its bias if any, to `dtype` (see [`convert`]).
pub(crate) fn remake_weight_and_bias(
    weight: &mut Tensor,
    bias: &mut Option<Tensor>,
    f: &mut dyn FnMut(&Tensor) -> Result<Tensor>,
) -> Result<()> {
    *weight = remake(weight, f)?;
    if let Some(b) = bias {
        *b = remake(b, f)?;
    }
    Ok(())
}
