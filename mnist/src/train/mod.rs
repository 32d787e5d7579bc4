//! Training: one epoch of SGD steps, evaluation, and the whole run (run folder,
//! checkpoints, early stopping, resume, final test of the best checkpoint).

mod batches;
mod board;
mod epoch;
mod error;
mod run;
mod schedule;
mod state;
mod step;

pub use batches::BatchSource;
pub use epoch::{evaluate, train_epoch, EpochResult, EvalResult, Interval};
pub(crate) use error::io_err;
pub use error::TrainError;
pub use run::{train, RunOptions, RunOutcome};
pub use schedule::LrPlan;
pub use state::{
    checkpoint_kind, load_model_checkpoint, load_model_state, resolve_device, restore_state,
    save_state, Progress, CHECKPOINT_FORMAT,
};
pub use step::supervised_step;
