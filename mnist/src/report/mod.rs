//! Run reports as PNG files, drawn from plain data (no engine types): loss and accuracy
//! curves, the confusion matrix, grids of example digits and the failure analysis.
//!
//! Every writer takes the data and a path and writes atomically (temporary file + rename).
//! Accuracies are fractions in [0, 1]; plots show them as percentages.

mod canvas;
mod confusion;
mod curves;
mod failure;
mod grid;

use std::fmt;
use std::io;
use std::path::{Path, PathBuf};

pub use canvas::{text_width, Canvas, Rgb};
pub use confusion::{confusion_matrix, confusion_matrix_png};
pub use curves::{accuracy_curve, loss_curve};
pub use failure::{
    analyse, class_scores, hardest_examples, hardest_examples_png, most_confused, ClassScores,
    ConfusedPair, FailureAnalysis, HardExample,
};
pub use grid::{digit_grid, example_grids, GridItem};

/// What one epoch produced; `val_*` are None when there is no validation set.
/// Serializable so the trainer can write it to `metrics.json` as is.
#[derive(Debug, Clone, Copy, PartialEq, Default, serde::Serialize, serde::Deserialize)]
pub struct EpochMetrics {
    /// 1-based epoch number.
    pub epoch: usize,
    pub train_loss: f32,
    /// Fraction in [0, 1].
    #[serde(rename = "train_accuracy")]
    pub train_acc: f32,
    pub val_loss: Option<f32>,
    /// Fraction in [0, 1].
    #[serde(rename = "val_accuracy")]
    pub val_acc: Option<f32>,
    /// Learning rate at the end of the epoch, the optimizer's f64 as is (an f32 here would
    /// write `--lr 1e-3` as 0.0010000000474974513).
    pub lr: f64,
    /// Wall-clock seconds the epoch took.
    pub seconds: f32,
    /// Training images the epoch went through (0 in files written before it was recorded).
    #[serde(default)]
    pub images: usize,
}

/// A report file that could not be produced.
#[derive(Debug)]
pub enum ReportError {
    /// The input cannot be drawn (empty, mismatched lengths...).
    InvalidInput {
        path: PathBuf,
        reason: String,
    },
    Encode {
        path: PathBuf,
        source: png::EncodingError,
    },
    Write {
        path: PathBuf,
        source: io::Error,
    },
}

impl fmt::Display for ReportError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ReportError::InvalidInput { path, reason } => {
                write!(f, "{}: cannot draw: {reason}", path.display())
            }
            ReportError::Encode { path, source } => {
                write!(f, "{}: PNG encoding failed: {source}", path.display())
            }
            ReportError::Write { path, source } => {
                write!(f, "{}: cannot write: {source}", path.display())
            }
        }
    }
}

impl std::error::Error for ReportError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            ReportError::InvalidInput { .. } => None,
            ReportError::Encode { source, .. } => Some(source),
            ReportError::Write { source, .. } => Some(source),
        }
    }
}

fn invalid(path: &Path, reason: impl Into<String>) -> ReportError {
    ReportError::InvalidInput {
        path: path.to_path_buf(),
        reason: reason.into(),
    }
}

/// Encodes `canvas` and writes it to `path` atomically.
pub fn save_png(canvas: &Canvas, path: &Path) -> Result<(), ReportError> {
    let bytes = canvas.to_png().map_err(|source| ReportError::Encode {
        path: path.to_path_buf(),
        source,
    })?;
    crate::fs_atomic::write_atomic(path, &bytes).map_err(|source| ReportError::Write {
        path: path.to_path_buf(),
        source,
    })
}
