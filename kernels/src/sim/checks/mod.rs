//! Checkers that run beside execution (enabled by `SimOptions::checks`).
pub mod race;
