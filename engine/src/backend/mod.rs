//! Compute backends. Ops in `crate::ops` dispatch here by matching on `Storage`.

pub mod cpu;
pub mod cuda;
