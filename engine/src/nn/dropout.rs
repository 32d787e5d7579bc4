//! `Dropout` with a counter-based mask: element `i` of a training forward uses
//! `uniform_at(seed, offset, i)`, and the offset advances by the element count after
//! each training forward, so consecutive steps draw fresh masks and a resume that
//! restores the offset replays them exactly.

use std::sync::atomic::{AtomicU64, Ordering};

use super::{py_float, Module};
use crate::error::Result;
use crate::tensor::Tensor;

/// Zeroes elements with probability `p` in training, scaling the rest by `1 / (1 - p)`.
pub struct Dropout {
    p: f64,
    seed: u64,
    offset: AtomicU64,
    training: bool,
}

impl Dropout {
    pub fn new(p: f64, seed: u64) -> Dropout {
        Dropout {
            p,
            seed,
            offset: AtomicU64::new(0),
            training: true,
        }
    }
    pub fn p(&self) -> f64 {
        self.p
    }
    pub fn seed(&self) -> u64 {
        self.seed
    }
    /// The counter position the next training forward starts at.
    pub fn offset(&self) -> u64 {
        self.offset.load(Ordering::Relaxed)
    }
    pub fn set_offset(&self, offset: u64) {
        self.offset.store(offset, Ordering::Relaxed);
    }
    pub fn is_training(&self) -> bool {
        self.training
    }
}

impl Module for Dropout {
    fn forward(&self, x: &Tensor) -> Result<Tensor> {
        if !self.training || self.p == 0.0 {
            return Ok(x.clone()); // identity: no mask, no offset advance
        }
        let offset = self.offset.fetch_add(x.numel() as u64, Ordering::Relaxed);
        x.dropout(self.p, true, self.seed, offset)
    }

    fn named_parameters(&self) -> Vec<(String, Tensor)> {
        vec![]
    }

    fn set_training(&mut self, training: bool) {
        self.training = training;
    }

    fn rng_state(&self) -> Vec<(String, u64)> {
        vec![("offset".into(), self.offset())]
    }

    fn set_rng_state(&self, state: &[(String, u64)]) {
        if let Some((_, v)) = state.iter().find(|(n, _)| n == "offset") {
            self.set_offset(*v);
        }
    }

    fn describe(&self) -> String {
        format!("Dropout(p={}, inplace=False)", py_float(self.p))
    }
}
