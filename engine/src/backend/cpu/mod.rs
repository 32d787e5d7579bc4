//! CPU kernels: rayon across rows/batches, plain slice loops that auto-vectorize, and a
//! packed f32 GEMM with AVX-512 / AVX2 micro-kernels picked at run time (`simd`), with
//! `matrixmultiply` as the portable path and for f64. Work is split into fixed-size chunks and partial results
//! are combined in a fixed order, so results are bit-identical run to run.

pub mod conv;
pub mod copy;
pub mod dropout;
pub mod elementwise;
pub mod gemm;
pub mod gemm_avx2;
pub mod gemm_avx512;
pub mod gemm_blocked;
pub mod layer_norm;
pub mod norm;
pub mod pool;
pub mod reduce;
pub mod sgemm;
pub mod simd;
pub mod softmax;
pub mod uninit;

/// Elements per parallel task: large enough to amortise rayon's scheduling cost.
pub const PAR_CHUNK: usize = 1 << 14;
