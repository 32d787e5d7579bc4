//! The trainer's error: one line naming what went wrong, for the CLI to print.

use std::fmt;

use crate::data::DataError;
use crate::report::ReportError;

#[derive(Debug)]
pub enum TrainError {
    Config(String),
    Data(DataError),
    Engine(engine::Error),
    Report(ReportError),
    Io {
        path: String,
        source: std::io::Error,
    },
    /// The loss became NaN or infinite: training diverged.
    NonFiniteLoss {
        epoch: usize,
        batch: usize,
        value: f64,
    },
}

impl fmt::Display for TrainError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            TrainError::Config(msg) => write!(f, "{msg}"),
            TrainError::Data(e) => write!(f, "{e}"),
            TrainError::Engine(e) => write!(f, "{e}"),
            TrainError::Report(e) => write!(f, "{e}"),
            TrainError::Io { path, source } => write!(f, "{path}: {source}"),
            TrainError::NonFiniteLoss { epoch, batch, value } => write!(
                f,
                "training diverged: loss is {value} at epoch {epoch}, batch {batch} (try a lower --lr)"
            ),
        }
    }
}

impl std::error::Error for TrainError {}

impl From<engine::Error> for TrainError {
    fn from(e: engine::Error) -> Self {
        TrainError::Engine(e)
    }
}
impl From<DataError> for TrainError {
    fn from(e: DataError) -> Self {
        TrainError::Data(e)
    }
}
impl From<ReportError> for TrainError {
    fn from(e: ReportError) -> Self {
        TrainError::Report(e)
    }
}

/// Wraps an I/O error with its path.
pub(crate) fn io_err(path: &std::path::Path) -> impl FnOnce(std::io::Error) -> TrainError + '_ {
    move |source| TrainError::Io {
        path: path.display().to_string(),
        source,
    }
}
