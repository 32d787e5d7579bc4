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
    /// `cuda/elementwise.cu`: the unary op table (forward, backward) and broadcasting binary ops.
    Elementwise,
    /// `cuda/copy.cu`: strided gather into contiguous, dtype conversion, fill.
    Copy,
    /// `cuda/softmax.cu`: row softmax / log-softmax and fused cross-entropy, fwd and bwd.
    Softmax,
    /// `cuda/optim.cu`: fused Adam/AdamW and SGD steps over flat buffers.
    Optim,
    /// `cuda/data.cu`: batch gather + normalise from u8, label gather, metric accumulation.
    Data,
    /// `cuda/index.cu`: index_select forward and backward, narrow backward, gather and its
    /// scatter-add backward.
    Index,
    /// `cuda/conv.cu`: im2col of a batch and its adjoint (col2im) for conv2d via the GEMM.
    Conv,
    /// `cuda/pool.cu`: max / average / adaptive pooling over window tables, fwd and bwd.
    Pool,
    /// `cuda/norm.cu`: BatchNorm channel sums, coefficients and affine passes; LayerNorm rows.
    Norm,
}

impl Module {
    /// Every shipped module.
    pub const ALL: [Module; 12] = [
        Module::Gemm,
        Module::Reduce,
        Module::Philox,
        Module::Elementwise,
        Module::Copy,
        Module::Softmax,
        Module::Optim,
        Module::Data,
        Module::Index,
        Module::Conv,
        Module::Pool,
        Module::Norm,
    ];

    /// The file stem: `kernels/cuda/<stem>.cu`, `kernels/ptx/<stem>.ptx`.
    pub fn stem(self) -> &'static str {
        match self {
            Module::Gemm => "gemm",
            Module::Reduce => "reduce",
            Module::Philox => "philox",
            Module::Elementwise => "elementwise",
            Module::Copy => "copy",
            Module::Softmax => "softmax",
            Module::Optim => "optim",
            Module::Data => "data",
            Module::Index => "index",
            Module::Conv => "conv",
            Module::Pool => "pool",
            Module::Norm => "norm",
        }
    }

    /// The kernel entry points (`.entry` names) of the module.
    pub fn entries(self) -> &'static [&'static str] {
        match self {
            Module::Gemm => &[gemm::SGEMM_F32, gemm::GEMM_F64],
            Module::Reduce => reduce::ENTRIES,
            Module::Philox => &[
                philox::PHILOX_U32,
                philox::PHILOX_UNIFORM_F32,
                philox::DROPOUT_FWD_F32,
                philox::DROPOUT_BWD_F32,
                philox::DROPOUT_FWD_F64,
                philox::DROPOUT_BWD_F64,
            ],
            Module::Elementwise => elementwise::ENTRIES,
            Module::Copy => copy::ENTRIES,
            Module::Softmax => softmax::ENTRIES,
            Module::Optim => optim::ENTRIES,
            Module::Data => data::ENTRIES,
            Module::Index => index::ENTRIES,
            Module::Conv => conv::ENTRIES,
            Module::Pool => pool::ENTRIES,
            Module::Norm => norm::ENTRIES,
        }
    }
}

/// The PTX text of a module.
pub fn ptx(m: Module) -> &'static str {
    match m {
        Module::Gemm => include_str!("../ptx/gemm.ptx"),
        Module::Reduce => include_str!("../ptx/reduce.ptx"),
        Module::Philox => include_str!("../ptx/philox.ptx"),
        Module::Elementwise => include_str!("../ptx/elementwise.ptx"),
        Module::Copy => include_str!("../ptx/copy.ptx"),
        Module::Softmax => include_str!("../ptx/softmax.ptx"),
        Module::Optim => include_str!("../ptx/optim.ptx"),
        Module::Data => include_str!("../ptx/data.ptx"),
        Module::Index => include_str!("../ptx/index.ptx"),
        Module::Conv => include_str!("../ptx/conv.ptx"),
        Module::Pool => include_str!("../ptx/pool.ptx"),
        Module::Norm => include_str!("../ptx/norm.ptx"),
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
    /// `gemm_f64(...)`: [`SGEMM_F32`] in double precision (same template, same parameters with
    /// `f64` alpha, beta and pointers; same block, tile and grid rules).
    pub const GEMM_F64: &str = "gemm_f64";
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

    /// Threads per block the engine launches the axis reductions with (any multiple of 32 up to
    /// 1024 works; the summation order, hence the bits, depends on it).
    pub const AXIS_THREADS: u32 = 256;
    /// `sum_axis_T(x: *T, out: *T, outer: u32, red: u32, inner: u32)`: x is a contiguous
    /// `[outer, red, inner]` view; `out[o*inner + j] = sum_r x[(o*red + r)*inner + j]`.
    /// inner == 1: one warp per row (red < 4096) or one block per row; inner > 1: one thread
    /// per output, r in order (coalesced over j). Deterministic for a given block size; any
    /// 1-D grid. red == 0 gives 0.
    pub const SUM_AXIS_F32: &str = "sum_axis_f32";
    /// f64 twin of [`SUM_AXIS_F32`].
    pub const SUM_AXIS_F64: &str = "sum_axis_f64";
    /// `max_axis_T(x: *T, out: *T, argmax: *u32, outer: u32, red: u32, inner: u32)`: max over
    /// the middle axis and its index r: the first NaN if the line holds one (NaN propagates,
    /// as the CPU's max_rows / argmax_rows), else the first maximum. red == 0: (-inf, 0).
    /// Same launch as [`SUM_AXIS_F32`].
    pub const MAX_AXIS_F32: &str = "max_axis_f32";
    /// f64 twin of [`MAX_AXIS_F32`].
    pub const MAX_AXIS_F64: &str = "max_axis_f64";
    /// `max_axis_bwd_T(dy: *T, argmax: *u32, dx: *T, outer: u32, red: u32, inner: u32)`:
    /// `dx[(o*red + r)*inner + j] = r == argmax[o*inner + j] ? dy[o*inner + j] : 0` (every dx
    /// element written; a gather, no atomics). 1-D grid-stride over dx.
    pub const MAX_AXIS_BWD_F32: &str = "max_axis_bwd_f32";
    /// f64 twin of [`MAX_AXIS_BWD_F32`].
    pub const MAX_AXIS_BWD_F64: &str = "max_axis_bwd_f64";

    /// Every entry of the module.
    pub const ENTRIES: &[&str] = &[
        SUM_F32,
        SUM_ROWS_F32,
        SUM_AXIS_F32,
        MAX_AXIS_F32,
        MAX_AXIS_BWD_F32,
        SUM_AXIS_F64,
        MAX_AXIS_F64,
        MAX_AXIS_BWD_F64,
    ];
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
    /// `dropout_fwd_f64(x: *f64, y: *f64, mask: *u8, n: u32, p: f64, seed: u64, offset: u64)`:
    /// keeps element i iff `uniform_i >= (p as f32)`, uniform_i as in [`PHILOX_UNIFORM_F32`]:
    /// the same mask as [`DROPOUT_FWD_F32`] given `p as f32`; `y = x / (1 - p)` (scale in f64,
    /// 0 for p >= 1). A warp per 128 elements, words redistributed by shuffles (coalesced):
    /// 1-D block, a multiple of 32 threads, at most 256 (launch bounds); any grid.
    pub const DROPOUT_FWD_F64: &str = "dropout_fwd_f64";
    /// `dropout_bwd_f64(dy: *f64, mask: *u8, dx: *f64, n: u32, p: f64)`:
    /// `dx = mask ? dy / (1 - p) : 0`. Grid-stride, any launch.
    pub const DROPOUT_BWD_F64: &str = "dropout_bwd_f64";
}

// ===== kerna: elementwise, copy, reduce-axis, softmax, optim, data entries =====

/// Most dims of a strided view passed by value ([`Strided`], [`Bcast`]): `MAX_RANK` in
/// `cuda/strided.cuh`.
pub const MAX_RANK: usize = 8;

/// Appends the little-endian bytes of each field, in declaration order (repr(C) with only 4-
/// and 8-byte fields laid out so that no padding occurs).
macro_rules! le_bytes {
    ($out:ident; $($field:expr),* $(,)?) => {{
        $( $out.extend_from_slice(&$field.to_le_bytes()); )*
    }};
}

/// `struct Strided` of `cuda/strided.cuh`, by value: element `(i0, .., i{rank-1})` of the view
/// is at `offset + sum_d i_d * strides[d]` (element units; stride 0 = broadcast). Entries past
/// `rank` are ignored.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Strided {
    pub rank: u32,
    /// Always 0 (keeps the 8-byte fields aligned).
    pub pad: u32,
    pub dims: [u32; MAX_RANK],
    pub strides: [i64; MAX_RANK],
    pub offset: i64,
}

impl Strided {
    /// The parameter bytes (112, the C layout) for `Context::launch_packed` or a driver launch.
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(std::mem::size_of::<Self>());
        le_bytes!(out; self.rank, self.pad);
        self.dims.iter().for_each(|d| le_bytes!(out; d));
        self.strides.iter().for_each(|s| le_bytes!(out; s));
        le_bytes!(out; self.offset);
        out
    }
}

/// `struct Bcast` of `cuda/strided.cuh`, by value: the output has shape `dims[..rank]`; output
/// element `(i0, ..)` reads `a[a_offset + sum_d i_d a_strides[d]]` and likewise b (stride 0
/// along a broadcast dim). `contiguous != 0` promises both are dense with the output's shape:
/// the kernel then reads `a[a_offset + i]`, `b[b_offset + i]` with no index math.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Bcast {
    pub rank: u32,
    pub contiguous: u32,
    pub dims: [u32; MAX_RANK],
    pub a_strides: [i64; MAX_RANK],
    pub b_strides: [i64; MAX_RANK],
    pub a_offset: i64,
    pub b_offset: i64,
}

impl Bcast {
    /// The parameter bytes (184, the C layout).
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(std::mem::size_of::<Self>());
        le_bytes!(out; self.rank, self.contiguous);
        self.dims.iter().for_each(|d| le_bytes!(out; d));
        self.a_strides.iter().for_each(|s| le_bytes!(out; s));
        self.b_strides.iter().for_each(|s| le_bytes!(out; s));
        le_bytes!(out; self.a_offset, self.b_offset);
        out
    }
}

/// Entry points of `elementwise.ptx`. Every entry: 1-D block of at most
/// [`elementwise::THREADS`] threads (the launch bounds), any 1-D grid (grid-stride). `T` is `f32` for `_f32`, `f64` for `_f64`.
pub mod elementwise {
    /// Threads per block of every elementwise entry.
    pub const THREADS: u32 = 256;

    /// `unary_fwd_T(op: u32, p: T, x: *T, y: *T, n: u32)`: `y[i] = f_op(x[i])` with the op's
    /// scalar `p` (exponent of `UNARY_POWF`, constant of `UNARY_ADD_SCALAR`/`UNARY_MUL_SCALAR`,
    /// ignored by the others). An unknown op writes nothing.
    pub const UNARY_FWD_F32: &str = "unary_fwd_f32";
    /// f64 twin of [`UNARY_FWD_F32`].
    pub const UNARY_FWD_F64: &str = "unary_fwd_f64";
    /// `unary_bwd_T(op: u32, p: T, x: *T, y: *T, dy: *T, dx: *T, n: u32)`:
    /// `dx[i] = dy[i] * f'_op(x[i], y[i])` with `y` the forward's output (the CPU's `df`).
    pub const UNARY_BWD_F32: &str = "unary_bwd_f32";
    /// f64 twin of [`UNARY_BWD_F32`].
    pub const UNARY_BWD_F64: &str = "unary_bwd_f64";
    /// `binary_fwd_T(op: u32, a: *T, b: *T, out: *T, n: u32, g: Bcast)`:
    /// `out[i] = a[..] op b[..]` over the `n` elements of the row-major output `g.dims`, inputs
    /// addressed by [`super::Bcast`] (broadcast by zero strides; fast path when contiguous).
    pub const BINARY_FWD_F32: &str = "binary_fwd_f32";
    /// f64 twin of [`BINARY_FWD_F32`].
    pub const BINARY_FWD_F64: &str = "binary_fwd_f64";
    /// `where_fwd_T(c: *T, a: *T, b: *T, out: *T, n: u32)`: `out[i] = c[i] != 0 ? a[i] : b[i]`
    /// over dense operands of `n` elements (NaN in `c` is true).
    pub const WHERE_FWD_F32: &str = "where_fwd_f32";
    /// f64 twin of [`WHERE_FWD_F32`].
    pub const WHERE_FWD_F64: &str = "where_fwd_f64";

    /// Every entry of the module.
    pub const ENTRIES: &[&str] = &[
        UNARY_FWD_F32,
        UNARY_FWD_F64,
        UNARY_BWD_F32,
        UNARY_BWD_F64,
        BINARY_FWD_F32,
        BINARY_FWD_F64,
        WHERE_FWD_F32,
        WHERE_FWD_F64,
    ];

    // Unary op codes (`cuda/elementwise_ops.cuh`, the engine's `UnaryOp` order).
    pub const UNARY_NEG: u32 = 0;
    pub const UNARY_EXP: u32 = 1;
    pub const UNARY_LOG: u32 = 2;
    pub const UNARY_SQRT: u32 = 3;
    pub const UNARY_ABS: u32 = 4;
    pub const UNARY_RELU: u32 = 5;
    pub const UNARY_SIGMOID: u32 = 6;
    pub const UNARY_TANH: u32 = 7;
    /// `x^p`.
    pub const UNARY_POWF: u32 = 8;
    /// `x + p`.
    pub const UNARY_ADD_SCALAR: u32 = 9;
    /// `x * p`.
    pub const UNARY_MUL_SCALAR: u32 = 10;
    /// `x > 0 ? x : p x`.
    pub const UNARY_LEAKY_RELU: u32 = 11;
    /// `x Φ(x)` (erf).
    pub const UNARY_GELU: u32 = 12;
    /// The tanh-approximated GELU.
    pub const UNARY_GELU_TANH: u32 = 13;
    /// `x σ(x)`.
    pub const UNARY_SILU: u32 = 14;
    /// `max(x, p)`, NaN kept; derivative `x >= p`.
    pub const UNARY_CLAMP_MIN: u32 = 15;
    /// `min(x, p)`, NaN kept; derivative `x <= p`.
    pub const UNARY_CLAMP_MAX: u32 = 16;
    /// Number of unary codes (one past the last).
    pub const UNARY_COUNT: u32 = 17;

    // Binary op codes (the engine's `BinaryCode`).
    pub const BINARY_ADD: u32 = 0;
    pub const BINARY_SUB: u32 = 1;
    pub const BINARY_MUL: u32 = 2;
    pub const BINARY_DIV: u32 = 3;
    /// NaN-propagating minimum.
    pub const BINARY_MINIMUM: u32 = 4;
    /// NaN-propagating maximum.
    pub const BINARY_MAXIMUM: u32 = 5;
    /// `a^b`.
    pub const BINARY_POW: u32 = 6;
    /// `a == b ? 1/2 : (a < b ? 0 : 1)`: a's share of maximum's gradient.
    pub const BINARY_MAX_SHARE: u32 = 7;
    /// `b == 0 ? 0 : b a^(b-1)`.
    pub const BINARY_POW_DBASE: u32 = 8;
    /// `a == 0 && b >= 0 ? 0 : a^b ln a`.
    pub const BINARY_POW_DEXP: u32 = 9;
    /// Comparisons as 0/1: `>`, `>=`, `<`, `<=`, `==`, `!=`.
    pub const BINARY_GT: u32 = 10;
    pub const BINARY_GE: u32 = 11;
    pub const BINARY_LT: u32 = 12;
    pub const BINARY_LE: u32 = 13;
    pub const BINARY_EQ: u32 = 14;
    pub const BINARY_NE: u32 = 15;
    /// Number of binary codes.
    pub const BINARY_COUNT: u32 = 16;
}

/// Entry points of `copy.ptx`. Every entry: 1-D block of at most [`copy::THREADS`] threads
/// (the launch bounds), any 1-D grid (grid-stride).
pub mod copy {
    /// Threads per block of every copy entry.
    pub const THREADS: u32 = 256;

    /// `copy_strided_T(src: *T, dst: *T, n: u32, s: Strided)`: gathers the strided view `s` of
    /// `src` (rank <= 8, offset, stride 0 = broadcast/expand) into contiguous row-major
    /// `dst[0..n)`, n = product of `s.dims[..rank]`.
    pub const COPY_STRIDED_F32: &str = "copy_strided_f32";
    /// f64 twin of [`COPY_STRIDED_F32`].
    pub const COPY_STRIDED_F64: &str = "copy_strided_f64";
    /// `copy_into_strided_T(src: *T, dst: *T, n: u32, g: Bcast)`: over the `n` row-major
    /// indices of `g.dims`, the element of `src` at `g.a_*` written to `dst` at `g.b_*` (a view
    /// copied into a strided region; `g.contiguous` is ignored).
    pub const COPY_INTO_STRIDED_F32: &str = "copy_into_strided_f32";
    /// f64 twin of [`COPY_INTO_STRIDED_F32`].
    pub const COPY_INTO_STRIDED_F64: &str = "copy_into_strided_f64";
    /// `fill_T(dst: *T, n: u32, value: T)`: `dst[0..n) = value`.
    pub const FILL_F32: &str = "fill_f32";
    /// f64 twin of [`FILL_F32`].
    pub const FILL_F64: &str = "fill_f64";
    /// `convert_f32_f64(src: *f32, dst: *f64, n: u32)`: exact widening.
    pub const CONVERT_F32_F64: &str = "convert_f32_f64";
    /// `convert_f64_f32(src: *f64, dst: *f32, n: u32)`: round to nearest even (as Rust `as`).
    pub const CONVERT_F64_F32: &str = "convert_f64_f32";

    /// Every entry of the module.
    pub const ENTRIES: &[&str] = &[
        COPY_STRIDED_F32,
        FILL_F32,
        COPY_INTO_STRIDED_F32,
        COPY_STRIDED_F64,
        FILL_F64,
        COPY_INTO_STRIDED_F64,
        CONVERT_F32_F64,
        CONVERT_F64_F32,
    ];
}

/// Entry points of `softmax.ptx`, over a contiguous row-major `[rows, cols]` matrix, the
/// softmax along each row (the CPU's formulas: max-subtracted; log-softmax `(x - m) - ln s`).
/// Every entry: one warp per row, 1-D block of [`softmax::THREADS`] threads (a multiple of
/// 32, at most 256), any 1-D grid (rows grid-strided by warps); results independent of the grid.
pub mod softmax {
    /// Threads per block the engine launches with.
    pub const THREADS: u32 = 256;
    /// Rows one block of [`THREADS`] threads handles at a time (one per warp).
    pub const ROWS_PER_BLOCK: u32 = THREADS / 32;

    /// `log_softmax_fwd_T(x: *T, y: *T, rows: u32, cols: u32)`: `y = (x - m) - ln sum exp(x - m)`.
    pub const LOG_SOFTMAX_FWD_F32: &str = "log_softmax_fwd_f32";
    /// f64 twin of [`LOG_SOFTMAX_FWD_F32`].
    pub const LOG_SOFTMAX_FWD_F64: &str = "log_softmax_fwd_f64";
    /// `log_softmax_bwd_T(y: *T, dy: *T, dx: *T, rows: u32, cols: u32)`, y the forward's
    /// output: `dx = dy - exp(y) * sum_row(dy)`.
    pub const LOG_SOFTMAX_BWD_F32: &str = "log_softmax_bwd_f32";
    /// f64 twin of [`LOG_SOFTMAX_BWD_F32`].
    pub const LOG_SOFTMAX_BWD_F64: &str = "log_softmax_bwd_f64";
    /// `softmax_fwd_T(x: *T, y: *T, rows: u32, cols: u32)`: `y = exp(x - m) * (1 / s)`.
    pub const SOFTMAX_FWD_F32: &str = "softmax_fwd_f32";
    /// f64 twin of [`SOFTMAX_FWD_F32`].
    pub const SOFTMAX_FWD_F64: &str = "softmax_fwd_f64";
    /// `softmax_bwd_T(y: *T, dy: *T, dx: *T, rows: u32, cols: u32)`:
    /// `dx = y * (dy - sum_row(dy * y))`.
    pub const SOFTMAX_BWD_F32: &str = "softmax_bwd_f32";
    /// f64 twin of [`SOFTMAX_BWD_F32`].
    pub const SOFTMAX_BWD_F64: &str = "softmax_bwd_f64";
    /// `cross_entropy_fwd_T(logits: *T, labels: *u32, loss_rows: *T, weight_rows: *T,
    /// rows: u32, cols: u32, label_smoothing: T, weight: *T (null: none), weight_sum: T,
    /// ignore: u32)`: per row with label t, `loss = (1 - eps) w_t (lse - x_t) + eps/cols
    /// (weight_sum lse - sum_j w_j x_j)` (PyTorch's weighted label smoothing; lse =
    /// log-sum-exp) and `weight_rows = w_t`; both 0 for `t == ignore`, NaN for another
    /// `t >= cols` (never read out of bounds). 'mean' is sum(loss_rows) / sum(weight_rows).
    pub const CROSS_ENTROPY_FWD_F32: &str = "cross_entropy_fwd_f32";
    /// f64 twin of [`CROSS_ENTROPY_FWD_F32`].
    pub const CROSS_ENTROPY_FWD_F64: &str = "cross_entropy_fwd_f64";
    /// `cross_entropy_bwd_T(logits: *T, labels: *u32, dlogits: *T, rows: u32, cols: u32,
    /// label_smoothing: T, weight: *T, weight_sum: T, ignore: u32, g: *T, g_stride: u32,
    /// denom: *T (null: 1), inv: T)`: `dlogits = scale (a softmax(x) - eps/cols w - (1 - eps)
    /// w_t onehot(t))`, `a = (1 - eps) w_t + eps/cols weight_sum`, `scale = g[row g_stride]
    /// inv / denom[0]` (the upstream gradient read on the device); 0 on ignored rows.
    pub const CROSS_ENTROPY_BWD_F32: &str = "cross_entropy_bwd_f32";
    /// f64 twin of [`CROSS_ENTROPY_BWD_F32`].
    pub const CROSS_ENTROPY_BWD_F64: &str = "cross_entropy_bwd_f64";
    /// `nll_loss_fwd_T(logp: *T, labels: *u32, loss_rows: *T, weight_rows: *T, rows: u32,
    /// cols: u32, weight: *T, ignore: u32)`: `loss = -w_t logp_t`, one thread per row, the
    /// label rules of [`CROSS_ENTROPY_FWD_F32`]. Any 1-D launch.
    pub const NLL_LOSS_FWD_F32: &str = "nll_loss_fwd_f32";
    /// f64 twin of [`NLL_LOSS_FWD_F32`].
    pub const NLL_LOSS_FWD_F64: &str = "nll_loss_fwd_f64";
    /// `nll_loss_bwd_T(labels: *u32, dlogp: *T, rows: u32, cols: u32, weight: *T,
    /// ignore: u32, g: *T, g_stride: u32, denom: *T, inv: T)`: `-w_t scale` at each row's
    /// label, 0 elsewhere (scale as in [`CROSS_ENTROPY_BWD_F32`]); one thread per element.
    pub const NLL_LOSS_BWD_F32: &str = "nll_loss_bwd_f32";
    /// f64 twin of [`NLL_LOSS_BWD_F32`].
    pub const NLL_LOSS_BWD_F64: &str = "nll_loss_bwd_f64";

    /// Every entry of the module.
    pub const ENTRIES: &[&str] = &[
        LOG_SOFTMAX_FWD_F32,
        SOFTMAX_FWD_F32,
        LOG_SOFTMAX_BWD_F32,
        SOFTMAX_BWD_F32,
        CROSS_ENTROPY_FWD_F32,
        CROSS_ENTROPY_BWD_F32,
        NLL_LOSS_FWD_F32,
        NLL_LOSS_BWD_F32,
        LOG_SOFTMAX_FWD_F64,
        SOFTMAX_FWD_F64,
        LOG_SOFTMAX_BWD_F64,
        SOFTMAX_BWD_F64,
        CROSS_ENTROPY_FWD_F64,
        CROSS_ENTROPY_BWD_F64,
        NLL_LOSS_FWD_F64,
        NLL_LOSS_BWD_F64,
    ];
}

/// Entry points of `optim.ptx`: one fused, in-place launch over flat contiguous buffers of `n`
/// elements, the CPU's formulas (engine/src/optim). 1-D block of at most [`optim::THREADS`]
/// threads (the launch bounds), any 1-D grid (grid-stride).
pub mod optim {
    /// Threads per block the engine launches with.
    pub const THREADS: u32 = 256;

    /// `adam_step_T(param: *T, grad: *T, m: *T, v: *T, n: u32, lr: T, beta1: T, beta2: T,
    /// eps: T, weight_decay: T, bias_correction1: T, bias_correction2: T, decoupled: u32,
    /// vmax: *T, amsgrad: u32)`, with `bias_correction{1,2} = 1 - beta{1,2}^t` for the step
    /// t (1-based) being taken: `g = grad + l2 p; p *= shrink; m = b1 m + (1 - b1) g;
    /// v = b2 v + (1 - b2) g g; vhat = amsgrad ? (vmax = max(vmax, v)) : v;
    /// p -= (lr / bc1) m / (sqrt(vhat) / sqrt(bc2) + eps)`, where Adam (decoupled = 0) has
    /// `l2 = weight_decay, shrink = 1` and AdamW (decoupled = 1) `l2 = 0,
    /// shrink = 1 - lr weight_decay` (vmax is not touched without amsgrad: may be null).
    pub const ADAM_STEP_F32: &str = "adam_step_f32";
    /// f64 twin of [`ADAM_STEP_F32`].
    pub const ADAM_STEP_F64: &str = "adam_step_f64";
    /// `sgd_step_T(param: *T, grad: *T, momentum_buf: *T, n: u32, lr: T, momentum: T,
    /// dampening: T, weight_decay: T, nesterov: u32, first_step: u32)`: `d = grad + wd p`;
    /// momentum 0: `p -= lr d` (momentum_buf untouched, may be null); else
    /// `buf = first_step ? d : momentum buf + (1 - dampening) d` and
    /// `p -= lr (nesterov ? d + momentum buf : buf)`.
    pub const SGD_STEP_F32: &str = "sgd_step_f32";
    /// f64 twin of [`SGD_STEP_F32`].
    pub const SGD_STEP_F64: &str = "sgd_step_f64";

    /// Tensors one multi-tensor launch updates at most (`MULTI_MAX` of `optim.cu`).
    pub const MULTI_MAX: usize = 32;
    /// `adam_step_multi_T(table: MultiTable, count: u32, lr, beta1, beta2, eps,
    /// weight_decay, bias_correction1, bias_correction2: T, decoupled, amsgrad: u32)`:
    /// [`ADAM_STEP_F32`] over `count <= MULTI_MAX` tensors in one launch. `MultiTable` (by
    /// value, 1416 bytes) is `ptr: [u64; MULTI_PTRS * MULTI_MAX]` (tensor k's param, grad,
    /// m, v, vmax at `5k..5k+5`) then `off: [u32; MULTI_MAX + 1]` (tensor k is elements
    /// `off[k]..off[k+1]`), padded to 8.
    pub const ADAM_STEP_MULTI_F32: &str = "adam_step_multi_f32";
    /// f64 twin of [`ADAM_STEP_MULTI_F32`].
    pub const ADAM_STEP_MULTI_F64: &str = "adam_step_multi_f64";
    /// `sgd_step_multi_T(table: MultiTable, count: u32, lr, momentum, dampening,
    /// weight_decay: T, nesterov, first_step: u32)`: [`SGD_STEP_F32`] over many tensors,
    /// `ptr[5k + 2]` the momentum buffer (unused at momentum 0).
    pub const SGD_STEP_MULTI_F32: &str = "sgd_step_multi_f32";
    /// f64 twin of [`SGD_STEP_MULTI_F32`].
    pub const SGD_STEP_MULTI_F64: &str = "sgd_step_multi_f64";

    /// Addresses per tensor in a `MultiTable` (`MULTI_PTRS` of `optim.cu`).
    pub const MULTI_PTRS: usize = 5;

    /// The bytes of a `MultiTable` holding `tensors`: each `([param, grad, s0, s1, s2], len)`.
    pub fn multi_table(tensors: &[([u64; MULTI_PTRS], u32)]) -> Vec<u8> {
        assert!(
            tensors.len() <= MULTI_MAX,
            "at most MULTI_MAX tensors per table"
        );
        let mut ptr = [0u64; MULTI_PTRS * MULTI_MAX];
        let mut off = [0u32; MULTI_MAX + 1];
        for (k, (addrs, len)) in tensors.iter().enumerate() {
            ptr[MULTI_PTRS * k..MULTI_PTRS * (k + 1)].copy_from_slice(addrs);
            off[k + 1] = off[k] + len;
        }
        let end = off[tensors.len()];
        for o in off.iter_mut().skip(tensors.len() + 1) {
            *o = end;
        }
        let mut out: Vec<u8> = ptr.iter().flat_map(|p| p.to_le_bytes()).collect();
        out.extend(off.iter().flat_map(|o| o.to_le_bytes()));
        out.resize(out.len().next_multiple_of(8), 0);
        out
    }

    /// Every entry of the module.
    pub const ENTRIES: &[&str] = &[
        ADAM_STEP_F32,
        SGD_STEP_F32,
        ADAM_STEP_MULTI_F32,
        SGD_STEP_MULTI_F32,
        ADAM_STEP_F64,
        SGD_STEP_F64,
        ADAM_STEP_MULTI_F64,
        SGD_STEP_MULTI_F64,
    ];
}

/// Entry points of `data.ptx`. Every entry: 1-D block of [`data::THREADS`] threads (a
/// multiple of 32, at most 256), any 1-D grid (grid-stride).
pub mod data {
    /// Threads per block the engine launches with.
    pub const THREADS: u32 = 256;

    /// `gather_normalize_u8_T(images: *u8, indices: *u32, out: *T, batch: u32, pixels: u32,
    /// mean: T, std: T)`: `out[b*pixels + p] = (images[indices[b]*pixels + p] / 255 - mean) / std`.
    pub const GATHER_NORMALIZE_U8_F32: &str = "gather_normalize_u8_f32";
    /// f64 twin of [`GATHER_NORMALIZE_U8_F32`].
    pub const GATHER_NORMALIZE_U8_F64: &str = "gather_normalize_u8_f64";
    /// `gather_labels_u32(labels: *u8, indices: *u32, out: *u32, batch: u32)`:
    /// `out[b] = labels[indices[b]]`.
    pub const GATHER_LABELS_U32: &str = "gather_labels_u32";
    /// `accuracy_loss_accumulate_T(logits: *T, labels: *u32, mean_loss: *T, rows: u32,
    /// cols: u32, correct: *u32, loss_sum: *T)`: `*correct += #{r: argmax(logits[r]) ==
    /// labels[r]}` (first maximum, or first NaN, as the CPU's argmax; one integer atomicAdd
    /// per block) and `*loss_sum += mean_loss[0] * rows` (one thread: deterministic).
    /// Device-side accumulators, read by the host once per epoch.
    pub const ACCURACY_LOSS_ACCUMULATE_F32: &str = "accuracy_loss_accumulate_f32";
    /// f64 twin of [`ACCURACY_LOSS_ACCUMULATE_F32`].
    pub const ACCURACY_LOSS_ACCUMULATE_F64: &str = "accuracy_loss_accumulate_f64";

    /// Every entry of the module.
    pub const ENTRIES: &[&str] = &[
        GATHER_NORMALIZE_U8_F32,
        ACCURACY_LOSS_ACCUMULATE_F32,
        GATHER_NORMALIZE_U8_F64,
        ACCURACY_LOSS_ACCUMULATE_F64,
        GATHER_LABELS_U32,
    ];
}

/// Entry points of `index.ptx`: a contiguous tensor viewed as `[outer, n, inner]` along the
/// indexed dim. Every entry: 1-D block of [`index::THREADS`] threads, any grid (grid-stride).
pub mod index {
    /// Threads per block the engine launches with (at most 256: launch bounds).
    pub const THREADS: u32 = 256;
    /// `index_select_fwd_T(src: *T, idx: *u32, dst: *T, outer: u32, nsrc: u32, nidx: u32,
    /// inner: u32)`: `dst[o, k, i] = src[o, idx[k], i]` (indices checked by the engine).
    pub const INDEX_SELECT_FWD_F32: &str = "index_select_fwd_f32";
    /// f64 twin of [`INDEX_SELECT_FWD_F32`].
    pub const INDEX_SELECT_FWD_F64: &str = "index_select_fwd_f64";
    /// `index_select_bwd_T(g: *T, idx: *u32, dx: *T, outer, nsrc, nidx, inner: u32)`:
    /// `dx[o, j, i] = sum_{k: idx[k] == j} g[o, k, i]`, k ascending (a gather: no atomics).
    pub const INDEX_SELECT_BWD_F32: &str = "index_select_bwd_f32";
    /// f64 twin of [`INDEX_SELECT_BWD_F32`].
    pub const INDEX_SELECT_BWD_F64: &str = "index_select_bwd_f64";
    /// `narrow_bwd_T(g: *T, dx: *T, outer: u32, n: u32, start: u32, len: u32, inner: u32)`:
    /// `dx[o, j, i] = g[o, j - start, i]` for `start <= j < start + len`, else 0.
    pub const NARROW_BWD_F32: &str = "narrow_bwd_f32";
    /// f64 twin of [`NARROW_BWD_F32`].
    pub const NARROW_BWD_F64: &str = "narrow_bwd_f64";
    /// `gather_fwd_T(x: *T, idx: *u32, out: *T, n: u32, dim_stride: i64, base: Strided)`:
    /// `out[i] = x[offset_of(i in base) + idx[i] * dim_stride]`; `base` is x's view with the
    /// index's shape and stride 0 along the gathered dim (indices checked by the engine).
    pub const GATHER_FWD_F32: &str = "gather_fwd_f32";
    /// f64 twin of [`GATHER_FWD_F32`].
    pub const GATHER_FWD_F64: &str = "gather_fwd_f64";
    /// `gather_bwd_T(g: *T, idx: *u32, dx: *T, n, dim_stride, base)`: the scatter-add
    /// `dx[offset_of(i in base) + idx[i] * dim_stride] += g[i]` (atomics; dx zeroed first).
    pub const GATHER_BWD_F32: &str = "gather_bwd_f32";
    /// f64 twin of [`GATHER_BWD_F32`].
    pub const GATHER_BWD_F64: &str = "gather_bwd_f64";

    /// Every entry of the module.
    pub const ENTRIES: &[&str] = &[
        INDEX_SELECT_FWD_F32,
        INDEX_SELECT_BWD_F32,
        NARROW_BWD_F32,
        INDEX_SELECT_FWD_F64,
        INDEX_SELECT_BWD_F64,
        NARROW_BWD_F64,
        GATHER_FWD_F32,
        GATHER_BWD_F32,
        GATHER_FWD_F64,
        GATHER_BWD_F64,
    ];
}

/// Entry points of `conv.ptx`. Both take the geometry as 14 u32 scalars `n, c, h, w, kh, kw,
/// oh, ow, sh, sw, ph, pw, dh, dw` (batch, input channels and size, kernel, output size,
/// stride, padding, dilation). The column matrix is `[c*kh*kw, n*oh*ow]`, row
/// `(ci*kh + i)*kw + j`, column `(b*oh + oy)*ow + ox`. 1-D block of 256 threads, any grid.
pub mod conv {
    pub const THREADS: u32 = 256;
    /// `conv2d_im2col_T(x: *T, cols: *T, geometry..)`: the column matrix of the whole batch
    /// (zeros in the padding).
    pub const IM2COL_F32: &str = "conv2d_im2col_f32";
    /// f64 twin of [`IM2COL_F32`].
    pub const IM2COL_F64: &str = "conv2d_im2col_f64";
    /// `conv2d_col2im_T(dcols: *T, dx: *T, geometry..)`: the input gradient, each input
    /// element summing the column entries that read it, taps in order (no atomics).
    pub const COL2IM_F32: &str = "conv2d_col2im_f32";
    /// f64 twin of [`COL2IM_F32`].
    pub const COL2IM_F64: &str = "conv2d_col2im_f64";

    /// Every entry of the module.
    pub const ENTRIES: &[&str] = &[IM2COL_F32, COL2IM_F32, IM2COL_F64, COL2IM_F64];
}

/// Entry points of `pool.ptx` over dense `(planes, h, w)`; `tab` is the u32 window table
/// `rows[4*oh] | cols[4*ow] | row_cover[2*h] | col_cover[2*w]` (each window `start, end,
/// div, step`: the taps `start, start + step, ..` below `end`, step > 1 only for a dilated
/// max pool; each cover `first, last + 1` of the outputs whose window spans hold that input
/// line).
/// Dims are `planes, h, w, oh, ow: u32`. 1-D block of 256 threads, any grid.
pub mod pool {
    pub const THREADS: u32 = 256;
    /// `max_pool2d_fwd_T(x, y, argmax: *u32, tab, dims..)`: maxima over each window's taps
    /// and their in-plane index (first maximum; a NaN takes over, as on the CPU).
    pub const MAX_FWD_F32: &str = "max_pool2d_fwd_f32";
    pub const MAX_FWD_F64: &str = "max_pool2d_fwd_f64";
    /// `max_pool2d_bwd_T(dy, argmax, tab, dx, dims..)`: each input sums the upstream
    /// gradient of the covering outputs whose argmax it is (a gather).
    pub const MAX_BWD_F32: &str = "max_pool2d_bwd_f32";
    pub const MAX_BWD_F64: &str = "max_pool2d_bwd_f64";
    /// `avg_pool2d_fwd_T(x, y, tab, dims..)`: window sum / (row div * col div).
    pub const AVG_FWD_F32: &str = "avg_pool2d_fwd_f32";
    pub const AVG_FWD_F64: &str = "avg_pool2d_fwd_f64";
    /// `avg_pool2d_bwd_T(dy, tab, dx, dims..)`: each input sums `dy / div` of its covering
    /// outputs, in output order.
    pub const AVG_BWD_F32: &str = "avg_pool2d_bwd_f32";
    pub const AVG_BWD_F64: &str = "avg_pool2d_bwd_f64";

    /// Every entry of the module.
    pub const ENTRIES: &[&str] = &[
        MAX_FWD_F32,
        MAX_BWD_F32,
        AVG_FWD_F32,
        AVG_BWD_F32,
        MAX_FWD_F64,
        MAX_BWD_F64,
        AVG_FWD_F64,
        AVG_BWD_F64,
    ];
}

/// Entry points of `norm.ptx` (BatchNorm over dense `(n, c, s)`, s = H*W). `sums` are f64
/// pairs per channel. Pointers documented "nullable" may be 0.
pub mod norm {
    pub const THREADS: u32 = 256;
    /// `channel_sums_T(a, sa, sa_stride: u32, b, sb, sb_stride: u32, sums: *f64, n, c, s)`:
    /// `sums[2ch] = Σ (a - sa[ch*sa_stride])`, `sums[2ch+1] = Σ (a - ..)(b - sb[ch*sb_stride])`
    /// (sa, sb nullable: no shift). One block of 256 threads per channel, any grid.
    pub const CHANNEL_SUMS_F32: &str = "channel_sums_f32";
    pub const CHANNEL_SUMS_F64: &str = "channel_sums_f64";
    /// `batch_norm_train_coeffs_T(sums, x, gamma?, beta?, running_mean?, running_var?, mean,
    /// inv_std, scale, shift, c, s, m: u32, eps: f64, momentum: f64)`: statistics from sums of
    /// x shifted by `x[ch*s]`, the affine coefficients, and the running update (unbiased).
    pub const TRAIN_COEFFS_F32: &str = "batch_norm_train_coeffs_f32";
    pub const TRAIN_COEFFS_F64: &str = "batch_norm_train_coeffs_f64";
    /// `batch_norm_eval_coeffs_T(running_mean, running_var, gamma?, beta?, mean, inv_std,
    /// scale, shift, c, eps: f64)`.
    pub const EVAL_COEFFS_F32: &str = "batch_norm_eval_coeffs_f32";
    pub const EVAL_COEFFS_F64: &str = "batch_norm_eval_coeffs_f64";
    /// `batch_norm_bwd_coeffs_T(sums, mean, inv_std, gamma?, k_dy, k_x, k_0, dgamma?,
    /// dbeta?, c, m: u32, training: u32)` from `sums = (Σ dy, Σ dy (x - mean))`.
    pub const BWD_COEFFS_F32: &str = "batch_norm_bwd_coeffs_f32";
    pub const BWD_COEFFS_F64: &str = "batch_norm_bwd_coeffs_f64";
    /// `channel_affine_T(x, scale, shift, y, n, c, s)`: `y = x * scale[ch] + shift[ch]`.
    pub const AFFINE_F32: &str = "channel_affine_f32";
    pub const AFFINE_F64: &str = "channel_affine_f64";
    /// `channel_affine2_T(dy, x, k_dy, k_x, k_0, dx, n, c, s)`:
    /// `dx = dy * k_dy[ch] + x * k_x[ch] + k_0[ch]`.
    pub const AFFINE2_F32: &str = "channel_affine2_f32";
    pub const AFFINE2_F64: &str = "channel_affine2_f64";

    /// `layer_norm_fwd_T(x: *T, xhat: *T, rstd: *T, rows: u32, cols: u32, eps: T)`: per row of
    /// the dense `[rows, cols]`, `xhat = (x - mean) * rstd`, `rstd[row] = 1/sqrt(var + eps)`
    /// (biased variance). One warp per row: 1-D blocks of [`norm::THREADS`] threads, grid
    /// `ceil(rows / LAYER_NORM_ROWS_PER_BLOCK)` or any smaller one (rows grid-strided).
    pub const LAYER_NORM_FWD_F32: &str = "layer_norm_fwd_f32";
    pub const LAYER_NORM_FWD_F64: &str = "layer_norm_fwd_f64";
    /// `layer_norm_bwd_T(xhat: *T, rstd: *T, dy: *T, dx: *T, rows: u32, cols: u32)`:
    /// `dx = rstd (dy - mean(dy) - xhat mean(dy xhat))` per row (same launch).
    pub const LAYER_NORM_BWD_F32: &str = "layer_norm_bwd_f32";
    pub const LAYER_NORM_BWD_F64: &str = "layer_norm_bwd_f64";
    /// Rows one block of the LayerNorm kernels covers (a warp each).
    pub const LAYER_NORM_ROWS_PER_BLOCK: u32 = THREADS / 32;

    /// Every entry of the module.
    pub const ENTRIES: &[&str] = &[
        LAYER_NORM_FWD_F32,
        LAYER_NORM_BWD_F32,
        LAYER_NORM_FWD_F64,
        LAYER_NORM_BWD_F64,
        CHANNEL_SUMS_F32,
        TRAIN_COEFFS_F32,
        EVAL_COEFFS_F32,
        BWD_COEFFS_F32,
        AFFINE_F32,
        AFFINE2_F32,
        CHANNEL_SUMS_F64,
        TRAIN_COEFFS_F64,
        EVAL_COEFFS_F64,
        BWD_COEFFS_F64,
        AFFINE_F64,
        AFFINE2_F64,
    ];
}
