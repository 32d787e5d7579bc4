//! MNIST data, model zoo and training.

pub mod augment;
pub mod data;
pub mod dataset;
pub mod download;
pub mod idx;
pub mod rng;
