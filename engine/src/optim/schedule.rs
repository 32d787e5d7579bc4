//! Learning-rate schedules as closed-form functions of the step or epoch index, matching
//! `torch.optim.lr_scheduler`'s values. Index 0 is the value before the first
//! `scheduler.step()` call; set `optimizer.set_lr(schedule.lr_at(t))` before update `t`.
//!
//! - [`StepLr`], [`CosineAnnealing`]: indexed by epoch (PyTorch users step them per
//!   epoch; `CosineAnnealing` also works per batch with `t_max` in batches).
//! - [`OneCycle`]: indexed by batch (optimizer step), `total_steps` = epochs * batches.

use std::f64::consts::PI;

/// A learning rate as a function of the step/epoch index.
pub trait LrSchedule: Send + Sync {
    fn lr_at(&self, t: usize) -> f64;
    /// The momentum (SGD) or beta1 (Adam) to use at `t`, for schedules that cycle it.
    fn momentum_at(&self, t: usize) -> Option<f64> {
        let _ = t;
        None
    }
}

/// A fixed learning rate.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct ConstantLr {
    pub lr: f64,
}

impl LrSchedule for ConstantLr {
    fn lr_at(&self, _: usize) -> f64 {
        self.lr
    }
}

/// `StepLR`: `base_lr * gamma ^ floor(epoch / step_size)`. Per epoch.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct StepLr {
    pub base_lr: f64,
    pub step_size: usize,
    pub gamma: f64,
}

impl LrSchedule for StepLr {
    fn lr_at(&self, epoch: usize) -> f64 {
        self.base_lr * self.gamma.powi((epoch / self.step_size.max(1)) as i32)
    }
}

/// `CosineAnnealingLR` (closed form):
/// `eta_min + (base_lr - eta_min) * (1 + cos(pi * t / t_max)) / 2`. Per epoch.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct CosineAnnealing {
    pub base_lr: f64,
    pub t_max: usize,
    pub eta_min: f64,
}

impl LrSchedule for CosineAnnealing {
    fn lr_at(&self, t: usize) -> f64 {
        let frac = t as f64 / self.t_max.max(1) as f64;
        self.eta_min + (self.base_lr - self.eta_min) * (1.0 + (PI * frac).cos()) / 2.0
    }
}

/// `OneCycleLR` with cosine annealing, two phases (PyTorch's default). Per batch.
///
/// The rate climbs from `max_lr / div_factor` to `max_lr` over the first
/// `pct_start * total_steps - 1` steps, then anneals to
/// `max_lr / div_factor / final_div_factor` at step `total_steps - 1`. Momentum cycles the
/// other way between `max_momentum` and `base_momentum`. Indices past `total_steps` (an
/// error in PyTorch) give the value at `total_steps`.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct OneCycle {
    pub max_lr: f64,
    pub total_steps: usize,
    pub pct_start: f64,
    pub div_factor: f64,
    pub final_div_factor: f64,
    pub base_momentum: f64,
    pub max_momentum: f64,
}

impl OneCycle {
    /// PyTorch's defaults: pct_start 0.3, div_factor 25, final_div_factor 1e4,
    /// momentum 0.85..0.95.
    pub fn new(max_lr: f64, total_steps: usize) -> OneCycle {
        OneCycle {
            max_lr,
            total_steps,
            pct_start: 0.3,
            div_factor: 25.0,
            final_div_factor: 1e4,
            base_momentum: 0.85,
            max_momentum: 0.95,
        }
    }

    /// Which phase `t` falls in and how far through it, as PyTorch's `get_lr` computes.
    fn phase(&self, t: usize) -> (bool, f64) {
        let t = t.min(self.total_steps) as f64;
        let end1 = self.pct_start * self.total_steps as f64 - 1.0;
        let end2 = self.total_steps as f64 - 1.0;
        if end1 > 0.0 && t <= end1 {
            (true, t / end1)
        } else if end2 > end1.max(0.0) {
            (false, (t - end1.max(0.0)) / (end2 - end1.max(0.0)))
        } else {
            (false, 1.0) // degenerate: too few steps for two phases
        }
    }
}

/// Cosine interpolation from `start` (pct 0) to `end` (pct 1).
fn anneal_cos(start: f64, end: f64, pct: f64) -> f64 {
    end + (start - end) / 2.0 * ((PI * pct).cos() + 1.0)
}

impl LrSchedule for OneCycle {
    fn lr_at(&self, t: usize) -> f64 {
        let initial = self.max_lr / self.div_factor;
        let min = initial / self.final_div_factor;
        match self.phase(t) {
            (true, pct) => anneal_cos(initial, self.max_lr, pct),
            (false, pct) => anneal_cos(self.max_lr, min, pct),
        }
    }

    fn momentum_at(&self, t: usize) -> Option<f64> {
        Some(match self.phase(t) {
            (true, pct) => anneal_cos(self.max_momentum, self.base_momentum, pct),
            (false, pct) => anneal_cos(self.base_momentum, self.max_momentum, pct),
        })
    }
}
