//! One plain supervised step, for the benches and tests that time or replay training
//! without the trainer's metrics, schedule and checks (`train_epoch` does those in between).

use engine::nn::{Module, Sequential};
use engine::optim::Optimizer;
use engine::{Labels, Result, Tensor};

/// Forward, cross-entropy against `labels`, backward and one optimizer update; returns the
/// loss (PyTorch's `zero_grad(); loss = f(model(x), y); loss.backward(); step()`).
pub fn supervised_step(
    model: &Sequential,
    optimizer: &mut dyn Optimizer,
    x: &Tensor,
    labels: &Labels,
) -> Result<Tensor> {
    let loss = model.forward(x)?.cross_entropy_labels(labels, 0.0)?;
    optimizer.zero_grad();
    loss.backward()?;
    optimizer.step()?;
    Ok(loss)
}
