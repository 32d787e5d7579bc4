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

/// How `OneCycle` interpolates within a phase (`anneal_strategy`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Anneal {
    /// `end + (start - end) / 2 (cos(pi pct) + 1)` (PyTorch's default).
    #[default]
    Cos,
    /// `start + (end - start) pct`.
    Linear,
}

impl Anneal {
    fn at(self, start: f64, end: f64, pct: f64) -> f64 {
        match self {
            Anneal::Cos => end + (start - end) / 2.0 * ((PI * pct).cos() + 1.0),
            Anneal::Linear => (end - start) * pct + start,
        }
    }
}

/// `OneCycleLR`, per batch, with PyTorch's phases (`_schedule_phases`) exactly. Two phases
/// (default): the rate climbs from `initial = max_lr / div_factor` to `max_lr` until step
/// `pct_start * total_steps - 1`, then anneals to `initial / final_div_factor` at step
/// `total_steps - 1`. `three_phase`: up until `pct_start * total_steps - 1`, back down to
/// `initial` at `2 pct_start * total_steps - 2`, then to the minimum at `total_steps - 1`.
/// Momentum cycles the other way between `max_momentum` and `base_momentum` (staying at
/// `max_momentum` in the third phase). Indices past `total_steps` (an error in PyTorch)
/// give the value at `total_steps`; a phase of zero length (where PyTorch divides by zero)
/// is taken as finished.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct OneCycle {
    pub max_lr: f64,
    pub total_steps: usize,
    pub pct_start: f64,
    pub div_factor: f64,
    pub final_div_factor: f64,
    pub base_momentum: f64,
    pub max_momentum: f64,
    pub anneal: Anneal,
    pub three_phase: bool,
}

/// One phase: its last step, and (lr, momentum) at its start and end.
struct Phase {
    end_step: f64,
    lr: (f64, f64),
    momentum: (f64, f64),
}

impl OneCycle {
    /// PyTorch's defaults: pct_start 0.3, div_factor 25, final_div_factor 1e4,
    /// momentum 0.85..0.95, cosine annealing, two phases.
    pub fn new(max_lr: f64, total_steps: usize) -> OneCycle {
        OneCycle {
            max_lr,
            total_steps,
            pct_start: 0.3,
            div_factor: 25.0,
            final_div_factor: 1e4,
            base_momentum: 0.85,
            max_momentum: 0.95,
            anneal: Anneal::Cos,
            three_phase: false,
        }
    }

    /// PyTorch's `_schedule_phases`.
    fn phases(&self) -> Vec<Phase> {
        let initial = self.max_lr / self.div_factor;
        let min = initial / self.final_div_factor;
        let (lo_m, hi_m) = (self.base_momentum, self.max_momentum);
        let up = self.pct_start * self.total_steps as f64;
        let last = self.total_steps as f64 - 1.0;
        if self.three_phase {
            vec![
                Phase {
                    end_step: up - 1.0,
                    lr: (initial, self.max_lr),
                    momentum: (hi_m, lo_m),
                },
                Phase {
                    end_step: 2.0 * up - 2.0,
                    lr: (self.max_lr, initial),
                    momentum: (lo_m, hi_m),
                },
                Phase {
                    end_step: last,
                    lr: (initial, min),
                    momentum: (hi_m, hi_m),
                },
            ]
        } else {
            vec![
                Phase {
                    end_step: up - 1.0,
                    lr: (initial, self.max_lr),
                    momentum: (hi_m, lo_m),
                },
                Phase {
                    end_step: last,
                    lr: (self.max_lr, min),
                    momentum: (lo_m, hi_m),
                },
            ]
        }
    }

    /// PyTorch's `get_lr` walk: the first phase whose end is at or after `t` (or the last
    /// one), with `pct = (t - start) / (end - start)`; returns (lr, momentum).
    fn at(&self, t: usize) -> (f64, f64) {
        let t = t.min(self.total_steps) as f64;
        let phases = self.phases();
        let mut start = 0.0;
        for (i, ph) in phases.iter().enumerate() {
            if t <= ph.end_step || i == phases.len() - 1 {
                let len = ph.end_step - start;
                let pct = if len == 0.0 { 1.0 } else { (t - start) / len };
                return (
                    self.anneal.at(ph.lr.0, ph.lr.1, pct),
                    self.anneal.at(ph.momentum.0, ph.momentum.1, pct),
                );
            }
            start = ph.end_step;
        }
        unreachable!("the last phase always matches")
    }
}

impl LrSchedule for OneCycle {
    fn lr_at(&self, t: usize) -> f64 {
        self.at(t).0
    }

    fn momentum_at(&self, t: usize) -> Option<f64> {
        Some(self.at(t).1)
    }
}
