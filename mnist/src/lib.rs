//! MNIST data, model zoo and training.

pub mod allocator;
pub mod augment;
pub mod commands;
pub mod config;
pub mod data;
pub mod dataset;
pub mod download;
pub mod fs_atomic;
pub mod idx;
pub mod image_io;
pub mod models;
pub mod report;
pub mod rng;
pub mod run_dir;
pub mod tensorboard;
pub mod train;
