//! `--tensorboard`: the run's scalars as TensorBoard event files under `<run>/tensorboard`.

use std::path::Path;

use super::epoch::Interval;
use super::{io_err, TrainError};
use crate::report::EpochMetrics;
use crate::tensorboard::EventWriter;

/// The run's event file. Per logging interval: `batch/train_loss`, `batch/train_accuracy` and
/// `batch/lr` at the global batch step; per epoch: `epoch/train_loss`, `epoch/val_loss`,
/// `epoch/train_accuracy`, `epoch/val_accuracy` and `epoch/lr` at the epoch number.
pub struct Board {
    writer: EventWriter,
    /// The first write error inside an epoch, reported at the epoch's end.
    failed: Option<std::io::Error>,
}

impl Board {
    pub fn create(run: &Path) -> Result<Board, TrainError> {
        let dir = run.join("tensorboard");
        let writer = EventWriter::create(&dir).map_err(io_err(&dir))?;
        Ok(Board {
            writer,
            failed: None,
        })
    }

    pub fn interval(&mut self, i: &Interval) {
        if self.failed.is_some() {
            return;
        }
        let values = [
            ("batch/train_loss", i.loss),
            ("batch/train_accuracy", i.accuracy),
            ("batch/lr", i.lr),
        ];
        if let Err(e) = self.writer.scalars(i.step as u64, &values) {
            self.failed = Some(e);
        }
    }

    pub fn epoch(&mut self, m: &EpochMetrics) -> Result<(), TrainError> {
        self.check()?;
        let mut values = vec![
            ("epoch/train_loss", f64::from(m.train_loss)),
            ("epoch/train_accuracy", f64::from(m.train_acc)),
            ("epoch/lr", m.lr),
        ];
        if let (Some(loss), Some(acc)) = (m.val_loss, m.val_acc) {
            values.push(("epoch/val_loss", f64::from(loss)));
            values.push(("epoch/val_accuracy", f64::from(acc)));
        }
        let path = self.writer.path().to_path_buf();
        self.writer
            .scalars(m.epoch as u64, &values)
            .map_err(io_err(&path))
    }

    /// Reports a write error an interval met.
    pub fn finish(mut self) -> Result<(), TrainError> {
        self.check()
    }

    fn check(&mut self) -> Result<(), TrainError> {
        match self.failed.take() {
            Some(e) => Err(io_err(self.writer.path())(e)),
            None => Ok(()),
        }
    }
}
