//! Devices and checkpoints of a run: `best.safetensors` holds the model, `last.safetensors`
//! the model plus optimizer state and the run's progress, so `--resume` continues exactly.

use std::collections::HashMap;
use std::path::Path;

use engine::io::{load_checkpoint, save_checkpoint, Checkpoint, NamedTensors};
use engine::nn::{Module, Sequential};
use engine::optim::Optimizer;
use engine::Device;

use super::TrainError;
use crate::models::ModelKind;

/// Prefix of optimizer tensors inside `last.safetensors`.
const OPTIMIZER_PREFIX: &str = "optimizer.";
/// Version of the checkpoint layout, stored as the `format` metadata entry (absent in the
/// first checkpoints, which are format 1). A newer one is refused rather than misread.
/// Format 2 stores `num_batches_tracked` as an int64 (format 1: a 0-d f32 tensor).
pub const CHECKPOINT_FORMAT: u32 = 2;
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
        Ok(Progress {
            epochs_done: parse_entry(meta, "epochs_done", path)?,
            best_epoch: parse_entry(meta, "best_epoch", path)?,
            best_val_accuracy: parse_entry(meta, "best_val_accuracy", path)?,
            best_val_loss: parse_entry(meta, "best_val_loss", path)?,
            epochs_without_improvement: parse_entry(meta, "epochs_without_improvement", path)?,
        })
    }
}

/// The metadata entry `key` of the checkpoint at `path`, parsed; a missing or corrupt entry
/// is an error naming the file and the key.
fn parse_entry<T: std::str::FromStr>(
    meta: &HashMap<String, String>,
    key: &str,
    path: &Path,
) -> Result<T, TrainError> {
    let value = meta.get(key).ok_or_else(|| {
        TrainError::Config(format!(
            "{}: not a training checkpoint (no '{key}' entry)",
            path.display()
        ))
    })?;
    value
        .parse()
        .map_err(|_| TrainError::Config(format!("{}: corrupt '{key}' entry", path.display())))
}

/// Saves the model (and, for `last`, the optimizer) atomically.
pub fn save_state(
    path: &Path,
    kind: ModelKind,
    model: &Sequential,
    optimizer: Option<&dyn Optimizer>,
    progress: &Progress,
) -> Result<(), TrainError> {
    let mut checkpoint = Checkpoint::of(model);
    if let Some(opt) = optimizer {
        checkpoint.tensors.extend(
            opt.state()
                .into_iter()
                .map(|(k, v)| (format!("{OPTIMIZER_PREFIX}{k}"), v)),
        );
    }
    let meta = &mut checkpoint.metadata;
    meta.extend(progress.to_metadata(kind));
    // Dropout stream positions, so a resumed run draws the same masks.
    for (name, value) in model.rng_state() {
        meta.insert(format!("{RNG_PREFIX}{name}"), value.to_string());
    }
    save_checkpoint(path, &checkpoint)?;
    Ok(())
}

/// Restores model (and optimizer) from `path`, returning the saved progress.
pub fn load_state(
    path: &Path,
    model: &Sequential,
    optimizer: Option<&mut dyn Optimizer>,
) -> Result<Progress, TrainError> {
    restore_state(load_checkpoint(path)?, path, model, optimizer)
}

/// [`load_state`] on an already parsed checkpoint (`path` names it in errors).
pub fn restore_state(
    checkpoint: Checkpoint,
    path: &Path,
    model: &Sequential,
    optimizer: Option<&mut dyn Optimizer>,
) -> Result<Progress, TrainError> {
    let (opt_state, model_state) = split_optimizer(upgrade(checkpoint, path)?);
    let meta = &model_state.metadata;
    model_state.load_into(model)?;
    if let Some(opt) = optimizer {
        opt.load_state(&opt_state)?;
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
    let checkpoint = load_checkpoint(path)?;
    let kind = checkpoint_kind(&checkpoint.metadata, kind, path)?;
    let model = kind.build(0);
    load_model_state(checkpoint, &model, kind, path)?;
    Ok((kind, model))
}

/// Separates the optimizer tensors (prefix removed) from the model's checkpoint.
fn split_optimizer(checkpoint: Checkpoint) -> (NamedTensors, Checkpoint) {
    let (opt_state, tensors): (Vec<_>, Vec<_>) = checkpoint
        .tensors
        .into_iter()
        .partition(|(k, _)| k.starts_with(OPTIMIZER_PREFIX));
    let opt_state = opt_state
        .into_iter()
        .map(|(k, v)| (k[OPTIMIZER_PREFIX.len()..].to_string(), v))
        .collect();
    (
        opt_state,
        Checkpoint {
            tensors,
            ..checkpoint
        },
    )
}

/// Checks the format and reads older layouts as the current one: format 1 kept each
/// `num_batches_tracked` as a 0-d float tensor, now an integer count.
fn upgrade(mut checkpoint: Checkpoint, path: &Path) -> Result<Checkpoint, TrainError> {
    if check_format(&checkpoint.metadata, path)? >= 2 {
        return Ok(checkpoint);
    }
    let (counters, tensors): (Vec<_>, Vec<_>) = checkpoint
        .tensors
        .into_iter()
        .partition(|(k, t)| k.ends_with("num_batches_tracked") && t.rank() == 0);
    checkpoint.tensors = tensors;
    for (name, t) in counters {
        let value = t.item()?;
        if !(value >= 0.0 && value.fract() == 0.0) {
            return Err(TrainError::Config(format!(
                "{}: {name} is {value}, not a count",
                path.display()
            )));
        }
        checkpoint.counts.push((name, value as u64));
    }
    Ok(checkpoint)
}

/// The checkpoint's format; refuses one whose `format` entry is not one this build reads.
fn check_format(meta: &HashMap<String, String>, path: &Path) -> Result<u32, TrainError> {
    let Some(text) = meta.get("format") else {
        return Ok(1);
    };
    match text.parse::<u32>() {
        Ok(n) if (1..=CHECKPOINT_FORMAT).contains(&n) => Ok(n),
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

/// Loads a parsed checkpoint's model state (optimizer state ignored) into `model`.
pub fn load_model_state(
    checkpoint: Checkpoint,
    model: &Sequential,
    kind: ModelKind,
    path: &Path,
) -> Result<(), TrainError> {
    let (_, model_state) = split_optimizer(upgrade(checkpoint, path)?);
    model_state.load_into(model).map_err(|e| {
        TrainError::Config(format!(
            "{}: {e} (is this a '{kind}' checkpoint?)",
            path.display()
        ))
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use engine::{DType, Tensor};

    #[test]
    fn progress_round_trips_and_bad_entries_name_their_key() {
        let p = Progress {
            epochs_done: 3,
            best_epoch: 2,
            best_val_accuracy: 0.985,
            best_val_loss: 0.0625,
            epochs_without_improvement: 1,
        };
        let path = Path::new("run/last.safetensors");
        let mut meta = p.to_metadata(ModelKind::Cnn);
        assert_eq!(Progress::from_metadata(&meta, path).unwrap(), p);
        meta.insert("best_val_loss".into(), "low".into());
        let e = Progress::from_metadata(&meta, path)
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("last.safetensors") && e.contains("corrupt 'best_val_loss'"),
            "{e}"
        );
        meta.remove("best_epoch");
        let e = Progress::from_metadata(&meta, path)
            .unwrap_err()
            .to_string();
        assert!(e.contains("no 'best_epoch' entry"), "{e}");
    }

    /// Format 1 stored each `num_batches_tracked` as a 0-d f32: such a checkpoint still
    /// loads, its counts become integers, and a fractional one is refused.
    #[test]
    fn format_1_counters_load_as_integers() {
        let kind = ModelKind::Cnn;
        let saved = kind.build(1);
        let as_float = |v: f64| Tensor::scalar(v, DType::F32, Device::Cpu).unwrap();
        let old = |nbt: f64| {
            let mut tensors = saved.state_dict();
            for (name, _) in saved.named_counters() {
                tensors.push((name, as_float(nbt)));
            }
            let metadata = HashMap::from([("model".to_string(), "cnn".to_string())]);
            Checkpoint {
                tensors,
                metadata,
                ..Checkpoint::default()
            }
        };
        let path = Path::new("old.safetensors");
        let model = kind.build(2);
        load_model_state(old(937.0), &model, kind, path).unwrap();
        assert!(model.counts().iter().all(|(_, v)| *v == 937));
        assert_eq!(
            model.state_dict()[0].1.to_vec_f32().unwrap(),
            saved.state_dict()[0].1.to_vec_f32().unwrap()
        );
        let err = load_model_state(old(2.5), &model, kind, path).unwrap_err();
        assert!(err.to_string().contains("is 2.5, not a count"), "{err}");
    }

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
