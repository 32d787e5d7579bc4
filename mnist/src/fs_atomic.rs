//! Atomic file writes (downloads, plots, run-folder files): the engine's one
//! implementation, re-exported where the data and report code look for it.

pub use engine::atomic::write_atomic;
