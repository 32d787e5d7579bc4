//! Training configuration: every hyperparameter of a run, with PyTorch-script defaults,
//! loadable from a TOML, YAML or JSON file and recorded in the run folder as config.json.

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::augment::Augment;
use crate::models::ModelKind;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, clap::ValueEnum)]
#[serde(rename_all = "lowercase")]
pub enum OptimizerKind {
    Sgd,
    Adam,
    Adamw,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, clap::ValueEnum)]
#[serde(rename_all = "lowercase")]
pub enum SchedulerKind {
    /// Constant learning rate.
    None,
    /// Multiply by 0.1 every `max(1, epochs / 3)` epochs.
    Step,
    /// Cosine annealing to 0 over the run, stepped per batch.
    Cosine,
    /// One-cycle: warm up to `lr` over 30% of the batches, then anneal (per batch).
    Onecycle,
}

/// Where the model's layers run.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize, clap::ValueEnum)]
#[serde(rename_all = "lowercase")]
pub enum Placement {
    /// The whole model on `device`.
    #[default]
    Single,
    /// The convolutional blocks on `device` (a GPU), the head (Flatten onwards) on the CPU.
    Hybrid,
}

/// Everything that defines a training run.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct TrainConfig {
    pub model: ModelKind,
    /// `auto`, `cpu`, `cuda`, `cuda:N` or `cuda-sim`.
    pub device: String,
    pub placement: Placement,
    pub epochs: usize,
    pub batch_size: usize,
    pub lr: f64,
    pub optimizer: OptimizerKind,
    /// SGD momentum (ignored by Adam/AdamW).
    pub momentum: f64,
    pub weight_decay: f64,
    pub scheduler: SchedulerKind,
    pub label_smoothing: f64,
    pub seed: u64,
    /// Random rotation (±10°) and translation (±2 px) of training images.
    pub augment: bool,
    /// Elastic distortion (alpha 34, sigma 4) on top of `augment`.
    pub elastic: bool,
    /// Training images held out for validation (model selection, early stopping).
    pub val_split: usize,
    /// Stop after this many epochs without a lower validation loss.
    pub patience: Option<usize>,
    /// Use only the first N training images (quick experiments and tests).
    pub train_limit: Option<usize>,
    pub data_dir: Option<PathBuf>,
    pub out_dir: PathBuf,
    /// Also write TensorBoard event files under `<run folder>/tensorboard`.
    pub tensorboard: bool,
}

impl Default for TrainConfig {
    fn default() -> Self {
        TrainConfig {
            model: ModelKind::Cnn,
            device: "auto".into(),
            placement: Placement::Single,
            epochs: 3,
            batch_size: 64,
            lr: 1e-3,
            optimizer: OptimizerKind::Adam,
            momentum: 0.9,
            weight_decay: 0.0,
            scheduler: SchedulerKind::None,
            label_smoothing: 0.0,
            seed: 42,
            augment: false,
            elastic: false,
            val_split: 5_000,
            patience: None,
            train_limit: None,
            data_dir: None,
            out_dir: PathBuf::from("runs"),
            tensorboard: false,
        }
    }
}

impl TrainConfig {
    /// Reads a TOML (`.toml`), YAML (`.yaml`, `.yml`) or JSON (any other extension) config.
    pub fn from_file(path: &Path) -> Result<TrainConfig, String> {
        let text = std::fs::read_to_string(path)
            .map_err(|e| format!("{}: cannot read config: {e}", path.display()))?;
        Self::parse_as(
            &path.display().to_string(),
            &text,
            ConfigFormat::of_path(path),
        )
    }

    /// Parses config text as TOML (`toml`) or JSON; `file` names it in errors.
    pub fn parse(file: &str, text: &str, toml: bool) -> Result<TrainConfig, String> {
        let format = if toml {
            ConfigFormat::Toml
        } else {
            ConfigFormat::Json
        };
        Self::parse_as(file, text, format)
    }

    /// Parses config text in `format`; `file` names it in errors.
    pub fn parse_as(file: &str, text: &str, format: ConfigFormat) -> Result<TrainConfig, String> {
        format.parse(file, text)
    }
}

/// The languages a config file may be written in, told apart by the file's extension.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ConfigFormat {
    Toml,
    Yaml,
    Json,
}

impl ConfigFormat {
    /// `.toml` is TOML, `.yaml`/`.yml` YAML, anything else JSON.
    pub fn of_path(path: &Path) -> ConfigFormat {
        match path.extension().and_then(|e| e.to_str()) {
            Some("toml") => ConfigFormat::Toml,
            Some("yaml" | "yml") => ConfigFormat::Yaml,
            _ => ConfigFormat::Json,
        }
    }

    /// Deserializes `text` (any serde type: the training config, a sweep file); an error is one
    /// line naming `file`.
    pub fn parse<T: serde::de::DeserializeOwned>(
        self,
        file: &str,
        text: &str,
    ) -> Result<T, String> {
        let parsed = match self {
            ConfigFormat::Toml => toml::from_str(text).map_err(|e| e.message().to_string()),
            ConfigFormat::Yaml => serde_norway::from_str(text).map_err(|e| e.to_string()),
            ConfigFormat::Json => serde_json::from_str(text).map_err(|e| e.to_string()),
        };
        parsed.map_err(|e| format!("{file}: invalid config: {}", one_line(&e)))
    }
}

/// Parser messages can span lines (a YAML snippet); the CLI prints one line per error.
fn one_line(message: &str) -> String {
    message.split_whitespace().collect::<Vec<_>>().join(" ")
}

impl TrainConfig {
    /// The training-time augmentation (`augment`, `elastic`), as the loader applies it.
    pub fn augmentation(&self) -> Option<Augment> {
        (self.augment || self.elastic).then(|| {
            let warp = Augment::new(10.0, 2.0);
            if self.elastic {
                warp.with_elastic(34.0, 4.0)
            } else {
                warp
            }
        })
    }

    /// Rejects values no run can use, naming the setting.
    pub fn validate(&self) -> Result<(), String> {
        let bad = |name: &str, why: &str| Err(format!("invalid {name}: {why}"));
        if self.epochs == 0 {
            return bad("epochs", "must be at least 1");
        }
        if self.batch_size == 0 {
            return bad("batch size", "must be at least 1");
        }
        if !(self.lr.is_finite() && self.lr > 0.0) {
            return bad(
                "learning rate",
                &format!("{} is not a positive number", self.lr),
            );
        }
        if !(0.0..1.0).contains(&self.momentum) {
            return bad("momentum", &format!("{} is outside [0, 1)", self.momentum));
        }
        if !(self.weight_decay.is_finite() && self.weight_decay >= 0.0) {
            return bad(
                "weight decay",
                &format!("{} is negative or not finite", self.weight_decay),
            );
        }
        // The range PyTorch's cross_entropy accepts.
        if !(0.0..=1.0).contains(&self.label_smoothing) {
            return bad(
                "label smoothing",
                &format!("{} is outside [0, 1]", self.label_smoothing),
            );
        }
        if self.val_split >= 60_000 {
            return bad(
                "validation split",
                &format!("{} leaves no training images", self.val_split),
            );
        }
        if self.patience == Some(0) {
            return bad("patience", "must be at least 1");
        }
        if self.train_limit == Some(0) {
            return bad("train limit", "must be at least 1");
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn label_smoothing_accepts_pytorchs_closed_range() {
        let with = |eps| TrainConfig {
            label_smoothing: eps,
            ..TrainConfig::default()
        };
        for eps in [0.0, 0.5, 1.0] {
            assert!(with(eps).validate().is_ok(), "{eps}");
        }
        for eps in [-0.1, 1.01, f64::NAN] {
            assert!(with(eps).validate().is_err(), "{eps}");
        }
    }
}
