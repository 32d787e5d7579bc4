//! `--scheduler` as the engine's LR schedules, each stepped at its own granularity.

use engine::optim::{ConstantLr, CosineAnnealing, LrSchedule, OneCycle, StepLr};

use crate::config::{SchedulerKind, TrainConfig};

/// The learning rate (and momentum, for one-cycle) of every batch of a run.
pub struct LrPlan {
    schedule: Box<dyn LrSchedule>,
    /// Step-LR counts epochs; the others count batches.
    per_epoch: bool,
}

impl LrPlan {
    pub fn new(config: &TrainConfig, batches_per_epoch: usize) -> LrPlan {
        let total_steps = (config.epochs * batches_per_epoch).max(1);
        let (schedule, per_epoch): (Box<dyn LrSchedule>, bool) = match config.scheduler {
            SchedulerKind::None => (Box::new(ConstantLr { lr: config.lr }), false),
            SchedulerKind::Step => (
                Box::new(StepLr {
                    base_lr: config.lr,
                    step_size: (config.epochs / 3).max(1),
                    gamma: 0.1,
                }),
                true,
            ),
            SchedulerKind::Cosine => (
                Box::new(CosineAnnealing {
                    base_lr: config.lr,
                    t_max: total_steps,
                    eta_min: 0.0,
                }),
                false,
            ),
            SchedulerKind::Onecycle => (Box::new(OneCycle::new(config.lr, total_steps)), false),
        };
        LrPlan {
            schedule,
            per_epoch,
        }
    }

    fn step(&self, epoch: usize, batch: usize, batches_per_epoch: usize) -> usize {
        if self.per_epoch {
            epoch
        } else {
            epoch * batches_per_epoch + batch
        }
    }

    /// Learning rate for `batch` of `epoch` (both 0-based).
    pub fn lr_at(&self, epoch: usize, batch: usize, batches_per_epoch: usize) -> f64 {
        self.schedule
            .lr_at(self.step(epoch, batch, batches_per_epoch))
    }

    /// Momentum (SGD) or beta1 (Adam) for that batch, when the schedule cycles it.
    pub fn momentum_at(&self, epoch: usize, batch: usize, batches_per_epoch: usize) -> Option<f64> {
        self.schedule
            .momentum_at(self.step(epoch, batch, batches_per_epoch))
    }
}
