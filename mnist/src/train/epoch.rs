//! One training epoch and one evaluation pass.

use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Instant;

use engine::metrics::{MetricsSnapshot, RunningMetrics};
use engine::nn::{Module, Sequential};
use engine::optim::Optimizer;
use engine::{no_grad, DType, Device};
use indicatif::ProgressBar;

use super::batches::BatchSource;
use super::schedule::LrPlan;
use super::TrainError;

/// Batches between reads of the running metrics on a GPU (each read is a synchronisation);
/// on the CPU they are read every batch, which costs nothing.
const READ_EVERY: usize = 20;

/// Averages over one training epoch.
#[derive(Clone, Debug)]
pub struct EpochResult {
    pub loss: f64,
    pub accuracy: f64,
    pub images: usize,
    pub seconds: f64,
    /// True when stopped early by Ctrl-C.
    pub interrupted: bool,
}

/// Loss, accuracy, every prediction and every softmax probability over a dataset.
#[derive(Clone, Debug)]
pub struct EvalResult {
    pub loss: f64,
    pub accuracy: f64,
    pub predictions: Vec<u8>,
    /// n x 10, row-major: the model's class probabilities for each image, in order.
    pub probabilities: Vec<f32>,
}

/// The training loss and accuracy over the batches since the previous interval (the logging
/// interval is [`READ_EVERY`] batches), for TensorBoard.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Interval {
    /// Batches trained in the whole run, this one included (TensorBoard's step).
    pub step: usize,
    pub loss: f64,
    pub accuracy: f64,
    pub lr: f64,
}

/// Where the logits come out: the last parameter's device (the CPU head of a hybrid model).
fn output_device(model: &Sequential, batches: &BatchSource) -> Device {
    model
        .parameters()
        .last()
        .map_or(batches.device(), |p| p.device())
}

/// Runs one epoch of training steps; the learning rate follows `plan` per batch. The loss and
/// accuracy accumulate on the model's device and are read every [`READ_EVERY`] batches (every
/// batch on the CPU), which is also where a non-finite loss is caught; each read every
/// [`READ_EVERY`] batches is passed to `on_interval`.
#[allow(clippy::too_many_arguments)]
pub fn train_epoch(
    model: &mut Sequential,
    optimizer: &mut dyn Optimizer,
    batches: &BatchSource,
    epoch: usize,
    plan: &LrPlan,
    label_smoothing: f64,
    progress: &ProgressBar,
    stop: &AtomicBool,
    on_interval: &mut dyn FnMut(&Interval),
) -> Result<EpochResult, TrainError> {
    model.set_training(true);
    let start = Instant::now();
    let device = output_device(model, batches);
    let mut metrics = RunningMetrics::new(device, DType::F32)?;
    let batches_per_epoch = batches.num_batches();
    let mut interrupted = false;
    let mut checked = 0;
    // The running sums at the previous interval: (loss sum, correct, seen).
    let mut last = (0.0, 0, 0);
    let check = |m: &RunningMetrics, done: usize| -> Result<MetricsSnapshot, TrainError> {
        let snap = m.read()?;
        if !snap.loss.is_finite() {
            return Err(TrainError::NonFiniteLoss {
                epoch: epoch + 1,
                batch: done,
                value: snap.loss,
            });
        }
        Ok(snap)
    };
    batches.for_each(epoch, |i, x, y| {
        if stop.load(Ordering::Relaxed) {
            interrupted = true;
            return Ok(false);
        }
        optimizer.set_lr(plan.lr_at(epoch, i, batches_per_epoch));
        if let Some(m) = plan.momentum_at(epoch, i, batches_per_epoch) {
            optimizer.set_momentum(m);
        }
        let logits = model.forward(&x)?;
        let loss = logits.cross_entropy_labels(&y, label_smoothing)?;
        metrics.add(&logits.detach(), &y, &loss.detach())?;
        if device == Device::Cpu || i % READ_EVERY == 0 {
            // Before the step, so a diverged batch never updates the weights.
            let snap = check(&metrics, i + 1)?;
            checked = i + 1;
            if i % READ_EVERY == 0 {
                let seen = snap.seen - last.2;
                let loss_sum = snap.loss * snap.seen as f64;
                on_interval(&Interval {
                    step: epoch * batches_per_epoch + i + 1,
                    loss: (loss_sum - last.0) / seen.max(1) as f64,
                    accuracy: (snap.correct - last.1) as f64 / seen.max(1) as f64,
                    lr: optimizer.lr(),
                });
                last = (loss_sum, snap.correct, snap.seen);
                let rate = snap.seen as f64 / start.elapsed().as_secs_f64().max(1e-9);
                progress.set_message(format!(
                    "loss {:.4}  acc {:.2}%  {rate:.0} img/s",
                    snap.loss,
                    100.0 * snap.correct as f64 / snap.seen.max(1) as f64
                ));
            }
        }
        optimizer.zero_grad();
        loss.backward()?;
        optimizer.step()?;
        progress.inc(1);
        Ok(true)
    })?;
    let done = metrics.read()?;
    if !done.loss.is_finite() {
        return Err(TrainError::NonFiniteLoss {
            epoch: epoch + 1,
            batch: checked.max(1),
            value: done.loss,
        });
    }
    Ok(EpochResult {
        loss: done.loss,
        accuracy: done.correct as f64 / done.seen.max(1) as f64,
        images: done.seen,
        seconds: start.elapsed().as_secs_f64(),
        interrupted,
    })
}

/// Mean loss (without label smoothing), accuracy and predictions over `batches` (in order),
/// in eval mode.
pub fn evaluate(model: &mut Sequential, batches: &BatchSource) -> Result<EvalResult, TrainError> {
    model.set_training(false);
    let _guard = no_grad();
    let mut metrics = RunningMetrics::new(output_device(model, batches), DType::F32)?;
    let mut predictions = Vec::new();
    let mut probabilities = Vec::new();
    batches.for_each(0, |_, x, y| {
        let logits = model.forward(&x)?;
        let loss = logits.cross_entropy_labels(&y, 0.0)?;
        metrics.add(&logits, &y, &loss)?;
        let pred = logits.argmax(1, false)?.to_vec_f32()?;
        predictions.extend(pred.iter().map(|&p| p as u8));
        probabilities.extend(logits.softmax(1)?.to_vec_f32()?);
        Ok(true)
    })?;
    let m = metrics.read()?;
    Ok(EvalResult {
        loss: m.loss,
        accuracy: m.correct as f64 / m.seen.max(1) as f64,
        predictions,
        probabilities,
    })
}
