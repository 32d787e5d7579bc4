//! One training epoch and one evaluation pass.

use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Instant;

use engine::nn::{Module, Sequential};
use engine::optim::Optimizer;
use engine::{no_grad, Tensor};
use indicatif::ProgressBar;

use super::schedule::LrPlan;
use super::TrainError;
use crate::dataset::{Batch, Dataset, Loader};

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

/// Loss, accuracy and every prediction over a dataset.
#[derive(Clone, Debug)]
pub struct EvalResult {
    pub loss: f64,
    pub accuracy: f64,
    pub predictions: Vec<u8>,
}

/// A batch as the model's input `(N, 1, 28, 28)` and class indices.
pub fn batch_tensors(batch: &Batch) -> Result<(Tensor, Vec<usize>), TrainError> {
    let n = batch.len();
    let x = Tensor::from_vec(batch.pixels.clone(), [n, 1, 28, 28])?;
    let y = batch.labels.iter().map(|&l| l as usize).collect();
    Ok((x, y))
}

/// How many predictions (argmax of `logits`) equal `labels`.
fn count_correct(logits: &Tensor, labels: &[usize]) -> Result<(usize, Vec<u8>), TrainError> {
    let pred: Vec<u8> = logits
        .argmax(1, false)?
        .to_vec_f32()?
        .iter()
        .map(|&p| p as u8)
        .collect();
    let correct = pred
        .iter()
        .zip(labels)
        .filter(|(&p, &l)| p as usize == l)
        .count();
    Ok((correct, pred))
}

/// Runs one epoch of training steps; the learning rate follows `plan` per batch.
#[allow(clippy::too_many_arguments)]
pub fn train_epoch(
    model: &mut Sequential,
    optimizer: &mut dyn Optimizer,
    loader: &Loader,
    epoch: usize,
    plan: &LrPlan,
    label_smoothing: f64,
    progress: &ProgressBar,
    stop: &AtomicBool,
) -> Result<EpochResult, TrainError> {
    model.set_training(true);
    let start = Instant::now();
    let (mut loss_sum, mut correct, mut seen) = (0.0, 0, 0);
    let batches_per_epoch = loader.num_batches();
    let mut interrupted = false;
    for (i, batch) in loader.epoch(epoch).enumerate() {
        if stop.load(Ordering::Relaxed) {
            interrupted = true;
            break;
        }
        optimizer.set_lr(plan.lr_at(epoch, i, batches_per_epoch));
        if let Some(m) = plan.momentum_at(epoch, i, batches_per_epoch) {
            optimizer.set_momentum(m);
        }
        let (x, y) = batch_tensors(&batch)?;
        let logits = model.forward(&x)?;
        let loss = logits.cross_entropy(&y, label_smoothing)?;
        let value = loss.item()?;
        if !value.is_finite() {
            return Err(TrainError::NonFiniteLoss {
                epoch: epoch + 1,
                batch: i + 1,
                value,
            });
        }
        optimizer.zero_grad();
        loss.backward()?;
        optimizer.step()?;
        let (c, _) = count_correct(&logits.detach(), &y)?;
        loss_sum += value * y.len() as f64;
        correct += c;
        seen += y.len();
        progress.inc(1);
        if i % 20 == 0 {
            let rate = seen as f64 / start.elapsed().as_secs_f64().max(1e-9);
            progress.set_message(format!(
                "loss {:.4}  acc {:.2}%  {rate:.0} img/s",
                loss_sum / seen as f64,
                100.0 * correct as f64 / seen as f64
            ));
        }
    }
    Ok(EpochResult {
        loss: loss_sum / seen.max(1) as f64,
        accuracy: correct as f64 / seen.max(1) as f64,
        images: seen,
        seconds: start.elapsed().as_secs_f64(),
        interrupted,
    })
}

/// Mean loss (without label smoothing), accuracy and predictions over `data`, in eval mode.
pub fn evaluate(
    model: &mut Sequential,
    data: &Dataset,
    batch_size: usize,
) -> Result<EvalResult, TrainError> {
    model.set_training(false);
    let _guard = no_grad();
    let (mut loss_sum, mut correct) = (0.0, 0);
    let mut predictions = Vec::with_capacity(data.len());
    for batch in Loader::new(data, batch_size).epoch(0) {
        let (x, y) = batch_tensors(&batch)?;
        let logits = model.forward(&x)?;
        loss_sum += logits.cross_entropy(&y, 0.0)?.item()? * y.len() as f64;
        let (c, pred) = count_correct(&logits, &y)?;
        correct += c;
        predictions.extend(pred);
    }
    let n = data.len().max(1) as f64;
    Ok(EvalResult {
        loss: loss_sum / n,
        accuracy: correct as f64 / n,
        predictions,
    })
}
