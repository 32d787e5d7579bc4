//! CPU kernels: rayon across rows/batches, plain slice loops that auto-vectorize, and
//! `matrixmultiply` for GEMM. Work is split into fixed-size chunks and partial results
//! are combined in a fixed order, so results are bit-identical run to run.

pub mod conv;
pub mod copy;
pub mod dropout;
pub mod elementwise;
pub mod gemm;
pub mod layer_norm;
pub mod norm;
pub mod pool;
pub mod reduce;
pub mod softmax;

/// Elements per parallel task: large enough to amortise rayon's scheduling cost.
pub const PAR_CHUNK: usize = 1 << 14;
