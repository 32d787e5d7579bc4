//! Devices and checkpoints of a run: `best.safetensors` holds the model, `last.safetensors`
//! the model plus optimizer state and the run's progress, so `--resume` continues exactly.

use std::collections::HashMap;
use std::path::Path;

use engine::io::{load_checkpoint, load_state_dict, save_checkpoint, NamedTensors};
use engine::nn::{Module, Sequential};
use engine::optim::Optimizer;
use engine::{Device, Tensor};

use super::TrainError;
use crate::models::ModelKind;

/// Prefix of optimizer tensors inside `last.safetensors`.
const OPTIMIZER_PREFIX: &str = "optimizer.";
/// Version of the checkpoint layout, stored as the `format` metadata entry (absent in the
/// first checkpoints, which are format 1). A newer one is refused rather than misread.
pub const CHECKPOINT_FORMAT: u32 = 1;
/// Prefix of random-stream positions inside the checkpoint metadata.
const RNG_PREFIX: &str = "rng.";

/// Parses `--device`: `auto`, `cpu`, `cuda`, `cuda:N` or `cuda-sim`, with a one-line error
/// when the device cannot be used.
pub fn resolve_device(name: &str) -> Result<Device, TrainError> {
    let device = match name {
        "auto" => Device::best(),
        other => other
            .parse::<Device>()
            .map_err(|e| TrainError::Config(e.to_string()))?,
    };
    device.ensure_available()?;
    Ok(device)
}

/// Where a run stands; stored as checkpoint metadata.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Progress {
    pub epochs_done: usize,
    pub best_epoch: usize,
    pub best_val_accuracy: f64,
    pub best_val_loss: f64,
    pub epochs_without_improvement: usize,
}

impl Progress {
    /// Records finished epoch `epoch` (1-based) with its selection accuracy and loss
    /// (validation when there is a validation set). Returns whether this is the new best
    /// model (highest accuracy) and whether early stopping with `patience` should stop now
    /// (that many epochs without a lower loss).
    pub fn observe(
        &mut self,
        epoch: usize,
        accuracy: f64,
        loss: f64,
        patience: Option<usize>,
    ) -> (bool, bool) {
        let first = self.epochs_done == 0;
        self.epochs_done = epoch;
        let new_best = first || accuracy > self.best_val_accuracy;
        if new_best {
            self.best_val_accuracy = accuracy;
            self.best_epoch = epoch;
        }
        if first || loss < self.best_val_loss {
            self.best_val_loss = loss;
            self.epochs_without_improvement = 0;
        } else {
            self.epochs_without_improvement += 1;
        }
        let stop = patience.is_some_and(|p| self.epochs_without_improvement >= p);
        (new_best, stop)
    }

    fn to_metadata(&self, model: ModelKind) -> HashMap<String, String> {
        HashMap::from([
            ("model".to_string(), model.name().to_string()),
            ("format".into(), CHECKPOINT_FORMAT.to_string()),
            ("epochs_done".into(), self.epochs_done.to_string()),
            ("best_epoch".into(), self.best_epoch.to_string()),
            // `{:?}` keeps every bit of an f64, so a resumed run compares exactly.
            (
                "best_val_accuracy".into(),
                format!("{:?}", self.best_val_accuracy),
            ),
            ("best_val_loss".into(), format!("{:?}", self.best_val_loss)),
            (
                "epochs_without_improvement".into(),
                self.epochs_without_improvement.to_string(),
            ),
        ])
    }

    fn from_metadata(meta: &HashMap<String, String>, path: &Path) -> Result<Progress, TrainError> {
        let field = |key: &str| -> Result<&String, TrainError> {
            meta.get(key).ok_or_else(|| {
                TrainError::Config(format!(
                    "{}: not a training checkpoint (no '{key}' entry)",
                    path.display()
                ))
            })
        };
        let bad =
            |key: &str| TrainError::Config(format!("{}: corrupt '{key}' entry", path.display()));
        Ok(Progress {
            epochs_done: field("epochs_done")?
                .parse()
                .map_err(|_| bad("epochs_done"))?,
            best_epoch: field("best_epoch")?
                .parse()
                .map_err(|_| bad("best_epoch"))?,
            best_val_accuracy: field("best_val_accuracy")?
                .parse()
                .map_err(|_| bad("best_val_accuracy"))?,
            best_val_loss: field("best_val_loss")?
                .parse()
                .map_err(|_| bad("best_val_loss"))?,
            epochs_without_improvement: field("epochs_without_improvement")?
                .parse()
                .map_err(|_| bad("epochs_without_improvement"))?,
        })
    }
}

/// Saves the model (and, for `last`, the optimizer) atomically.
pub fn save_state(
    path: &Path,
    kind: ModelKind,
    model: &Sequential,
    optimizer: Option<&dyn Optimizer>,
    progress: &Progress,
) -> Result<(), TrainError> {
    let mut tensors: Vec<(String, Tensor)> = model.state_dict();
    if let Some(opt) = optimizer {
        tensors.extend(
            opt.state()
                .into_iter()
                .map(|(k, v)| (format!("{OPTIMIZER_PREFIX}{k}"), v)),
        );
    }
    let mut meta = progress.to_metadata(kind);
    // Dropout stream positions, so a resumed run draws the same masks.
    for (name, value) in model.rng_state() {
        meta.insert(format!("{RNG_PREFIX}{name}"), value.to_string());
    }
    save_checkpoint(path, &tensors, &meta)?;
    Ok(())
}

/// Restores model (and optimizer) from `path`, returning the saved progress.
pub fn load_state(
    path: &Path,
    model: &Sequential,
    optimizer: Option<&mut dyn Optimizer>,
) -> Result<Progress, TrainError> {
    let (tensors, meta) = load_checkpoint(path)?;
    restore_state(tensors, &meta, path, model, optimizer)
}

/// [`load_state`] on an already parsed checkpoint (`path` names it in errors).
pub fn restore_state(
    tensors: NamedTensors,
    meta: &HashMap<String, String>,
    path: &Path,
    model: &Sequential,
    optimizer: Option<&mut dyn Optimizer>,
) -> Result<Progress, TrainError> {
    check_format(meta, path)?;
    let (opt_state, model_state): (Vec<_>, Vec<_>) = tensors
        .into_iter()
        .partition(|(k, _)| k.starts_with(OPTIMIZER_PREFIX));
    load_state_dict(&model.state_dict(), &model_state)?;
    if let Some(opt) = optimizer {
        let state: Vec<(String, Tensor)> = opt_state
            .into_iter()
            .map(|(k, v)| (k[OPTIMIZER_PREFIX.len()..].to_string(), v))
            .collect();
        opt.load_state(&state)?;
    }
    let rng_state: Vec<(String, u64)> = meta
        .iter()
        .filter_map(|(k, v)| Some((k.strip_prefix(RNG_PREFIX)?.to_string(), v.parse().ok()?)))
        .collect();
    model.set_rng_state(&rng_state);
    Progress::from_metadata(meta, path)
}

/// Builds the checkpoint's model (its metadata names it, `kind` overrides) and loads it.
pub fn load_model_checkpoint(
    path: &Path,
    kind: Option<ModelKind>,
) -> Result<(ModelKind, Sequential), TrainError> {
    let (tensors, meta) = load_checkpoint(path)?;
    let kind = checkpoint_kind(&meta, kind, path)?;
    let model = kind.build(0);
    load_model_state(tensors, &model, kind, path)?;
    Ok((kind, model))
}

/// Refuses a checkpoint whose `format` entry is not one this build reads.
fn check_format(meta: &HashMap<String, String>, path: &Path) -> Result<(), TrainError> {
    let Some(text) = meta.get("format") else {
        return Ok(());
    };
    match text.parse::<u32>() {
        Ok(n) if (1..=CHECKPOINT_FORMAT).contains(&n) => Ok(()),
        Ok(n) if n > CHECKPOINT_FORMAT => Err(TrainError::Config(format!(
            "{}: checkpoint format {n} is newer than this build reads ({CHECKPOINT_FORMAT}); \
             update mnist",
            path.display()
        ))),
        _ => Err(TrainError::Config(format!(
            "{}: corrupt 'format' entry {text:?}",
            path.display()
        ))),
    }
}

/// The model a checkpoint holds: `kind` when given, else the one its metadata names.
pub fn checkpoint_kind(
    meta: &HashMap<String, String>,
    kind: Option<ModelKind>,
    path: &Path,
) -> Result<ModelKind, TrainError> {
    check_format(meta, path)?;
    Ok(match (kind, meta.get("model")) {
        (Some(k), _) => k,
        (None, Some(name)) => name
            .parse()
            .map_err(|e: String| TrainError::Config(format!("{}: {e}", path.display())))?,
        (None, None) => {
            return Err(TrainError::Config(format!(
                "{}: the checkpoint does not say which model it holds; pass --model",
                path.display()
            )))
        }
    })
}

/// Loads a parsed checkpoint's model tensors (optimizer state ignored) into `model`.
pub fn load_model_state(
    tensors: NamedTensors,
    model: &Sequential,
    kind: ModelKind,
    path: &Path,
) -> Result<(), TrainError> {
    let model_state: Vec<_> = tensors
        .into_iter()
        .filter(|(k, _)| !k.starts_with(OPTIMIZER_PREFIX))
        .collect();
    load_state_dict(&model.state_dict(), &model_state).map_err(|e| {
        TrainError::Config(format!(
            "{}: {e} (is this a '{kind}' checkpoint?)",
            path.display()
        ))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn best_model_and_early_stopping() {
        let mut p = Progress::default();
        // (accuracy, loss) per epoch; patience 2.
        assert_eq!(p.observe(1, 0.90, 0.50, Some(2)), (true, false));
        assert_eq!(p.observe(2, 0.95, 0.30, Some(2)), (true, false));
        assert_eq!(
            p.observe(3, 0.94, 0.35, Some(2)),
            (false, false),
            "one epoch without a lower loss"
        );
        assert_eq!(
            p.observe(4, 0.96, 0.31, Some(2)),
            (true, true),
            "two: stop, but epoch 4 is the best"
        );
        assert_eq!((p.best_epoch, p.best_val_loss, p.epochs_done), (4, 0.30, 4));
        // Without patience it never stops.
        assert_eq!(p.observe(5, 0.10, 9.0, None), (false, false));
    }
}
