//! The commands beyond train, eval and predict: each takes plain arguments and returns a
//! one-line error, so the binary only parses flags and prints.

pub mod augment_preview;
pub mod ensemble;
pub mod sweep;
pub mod visualize;
