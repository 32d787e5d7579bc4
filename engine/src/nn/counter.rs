//! Integer module state (BatchNorm's `num_batches_tracked`, an int64 in PyTorch): a shared
//! handle like a parameter's, so a model's checkpoint view and the layer see one value.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

/// A non-negative integer buffer. Clones share the value.
#[derive(Clone, Debug, Default)]
pub struct Counter(Arc<AtomicU64>);

impl Counter {
    pub fn new(value: u64) -> Counter {
        Counter(Arc::new(AtomicU64::new(value)))
    }
    pub fn get(&self) -> u64 {
        self.0.load(Ordering::Relaxed)
    }
    pub fn set(&self, value: u64) {
        self.0.store(value, Ordering::Relaxed);
    }
    /// Adds one (saturating: a counter never wraps to zero).
    pub fn increment(&self) {
        let _ = self
            .0
            .fetch_update(Ordering::Relaxed, Ordering::Relaxed, |v| v.checked_add(1));
    }
}
