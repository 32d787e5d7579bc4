//! Embedded PTX modules.
//!
//! The CUDA C sources in `kernels/cuda/*.cu` are compiled to PTX by
//! `kernels/scripts/build_ptx.py` (NVRTC 11.8, `compute_70`) and the `.ptx` files are committed
//! in `kernels/ptx/`. They are embedded here with `include_str!`, so users need no CUDA
//! toolkit: the driver (or the simulator, [`crate::sim`]) loads the text as is.

/// One shipped PTX module (one `.cu` source file).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Module {
    /// `cuda/gemm.cu`: tiled SGEMM.
    Gemm,
    /// `cuda/reduce.cu`: block reductions.
    Reduce,
    /// `cuda/philox.cu`: Philox4x32-10 random numbers and dropout.
    Philox,
}

impl Module {
    /// Every shipped module.
    pub const ALL: [Module; 3] = [Module::Gemm, Module::Reduce, Module::Philox];

    /// The file stem: `kernels/cuda/<stem>.cu`, `kernels/ptx/<stem>.ptx`.
    pub fn stem(self) -> &'static str {
        match self {
            Module::Gemm => "gemm",
            Module::Reduce => "reduce",
            Module::Philox => "philox",
        }
    }

    /// The kernel entry points (`.entry` names) of the module.
    pub fn entries(self) -> &'static [&'static str] {
        match self {
            Module::Gemm => &[gemm::SGEMM_F32],
            Module::Reduce => &[reduce::SUM_F32, reduce::SUM_ROWS_F32],
            Module::Philox => &[
                philox::PHILOX_U32,
                philox::PHILOX_UNIFORM_F32,
                philox::DROPOUT_FWD_F32,
                philox::DROPOUT_BWD_F32,
            ],
        }
    }
}

/// The PTX text of a module.
pub fn ptx(m: Module) -> &'static str {
    match m {
        Module::Gemm => include_str!("../ptx/gemm.ptx"),
        Module::Reduce => include_str!("../ptx/reduce.ptx"),
        Module::Philox => include_str!("../ptx/philox.ptx"),
    }
}

/// Entry points of `gemm.ptx`.
pub mod gemm {
    /// `sgemm_f32(M, N, K: i32, alpha: f32, A: *f32, lda: i32, strideA: i64, transA: i32,
    /// B: *f32, ldb: i32, strideB: i64, transB: i32, beta: f32, C: *f32, ldc: i32,
    /// strideC: i64, batch: i32)`: `C[b] = alpha * op(A[b]) * op(B[b]) + beta * C[b]`, row-major;
    /// C is not read when beta == 0. Block (16, 16, 1); grid (ceil(N/64), ceil(M/64), batch) or
    /// any smaller grid.
    pub const SGEMM_F32: &str = "sgemm_f32";
    /// Threads per block dimension of `sgemm_f32` (block = (16, 16, 1)).
    pub const SGEMM_BLOCK: (u32, u32, u32) = (16, 16, 1);
    /// Output tile of one `sgemm_f32` block: 64 x 64.
    pub const SGEMM_TILE: u32 = 64;
}

/// Entry points of `reduce.ptx`.
pub mod reduce {
    /// `sum_f32(x: *f32, partial: *f32, n: u32)`: `partial[blockIdx.x]` = sum of the block's
    /// grid-stride share of `x`. Run twice (second time with one block) for a total.
    /// 1-D block of at most 1024 threads, any size.
    pub const SUM_F32: &str = "sum_f32";
    /// `sum_rows_f32(x: *f32, out: *f32, rows: u32, cols: u32)`: `out[r]` = sum of row r of a
    /// row-major matrix. 1-D block (at most 1024 threads), any 1-D grid.
    pub const SUM_ROWS_F32: &str = "sum_rows_f32";
}

/// Entry points of `philox.ptx`. The stream: key = (lo(seed), hi(seed)), counter block g =
/// (lo(offset + g), hi(offset + g), 0, 0), output `4g + j` = word j of Philox4x32-10.
pub mod philox {
    /// `philox_u32(out: *u32, n: u32, seed: u64, offset: u64)`: raw 32-bit words.
    pub const PHILOX_U32: &str = "philox_u32";
    /// `philox_uniform_f32(out: *f32, n: u32, seed: u64, offset: u64)`: `(word >> 8) * 2^-24`.
    pub const PHILOX_UNIFORM_F32: &str = "philox_uniform_f32";
    /// `dropout_fwd_f32(x: *f32, y: *f32, mask: *u8, n: u32, p: f32, seed: u64, offset: u64)`.
    pub const DROPOUT_FWD_F32: &str = "dropout_fwd_f32";
    /// `dropout_bwd_f32(dy: *f32, mask: *u8, dx: *f32, n: u32, p: f32)`.
    pub const DROPOUT_BWD_F32: &str = "dropout_bwd_f32";
}
