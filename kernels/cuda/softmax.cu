// Row-wise softmax, log-softmax, fused softmax + cross-entropy and nll over a contiguous
// [rows, cols] matrix, forward and backward. The formulas are the CPU's
// (engine/src/backend/cpu/softmax.rs): max-subtracted, log-softmax as (x - m) - ln s.
//
// Thread <-> data: one warp per row (lanes stride the row: coalesced), rows grid-strided by
// warps; row statistics by butterfly shuffles, so every lane holds the same bits and the
// result does not depend on the grid. Launch: 1-D, 256 threads (a multiple of 32, at most 256:
// the launch bounds), any grid.
#include "common.cuh"
#include "math.cuh"

#define SOFTMAX_THREADS 256

// Butterfly max over the warp, NaN-ignoring like the CPU's row max (Rust's f32::max).
template <typename T> __forceinline__ T warp_allmax(T v) {
    for (unsigned offset = WARP_SIZE / 2; offset > 0; offset >>= 1)
        v = dfmax(v, __shfl_xor_sync(FULL_MASK, v, offset));
    return v;
}

// Row max m and s = sum_j exp(x_j - m); optionally also sum_j w_j (x_j - m) (w_j = 1 when
// weight is null).
template <typename T>
__device__ __forceinline__ void row_stats(const T* __restrict__ x, unsigned cols, T& m, T& s,
                                          T* centred_sum, const T* __restrict__ weight) {
    unsigned lane = threadIdx.x % WARP_SIZE;
    T mv = -dinf<T>();
    for (unsigned c = lane; c < cols; c += WARP_SIZE) mv = dfmax(mv, x[c]);
    m = warp_allmax(mv);
    T e = T(0), cs = T(0);
    for (unsigned c = lane; c < cols; c += WARP_SIZE) {
        e += dexp(x[c] - m);
        if (centred_sum) cs += (weight ? weight[c] : T(1)) * (x[c] - m);
    }
    s = warp_allsum(e);
    if (centred_sum) *centred_sum = warp_allsum(cs);
}

// y = log_softmax(x) (log != 0) or softmax(x), per row.
template <typename T>
__device__ __forceinline__ void softmax_fwd(const T* __restrict__ x, T* __restrict__ y,
                                            unsigned rows, unsigned cols, bool log) {
    unsigned lane = threadIdx.x % WARP_SIZE;
    FOR_WARP_ROWS(row, rows) {
        const T* xr = x + (unsigned long long)row * cols;
        T* yr = y + (unsigned long long)row * cols;
        T m, s;
        row_stats<T>(xr, cols, m, s, (T*)0, (const T*)0);
        if (log) {
            T ls = dlog(s);
            for (unsigned c = lane; c < cols; c += WARP_SIZE) yr[c] = (xr[c] - m) - ls;
        } else {
            T inv = T(1) / s;
            for (unsigned c = lane; c < cols; c += WARP_SIZE) yr[c] = dexp(xr[c] - m) * inv;
        }
    }
}

// From the forward's output y and its gradient dy:
// log-softmax dx = dy - exp(y) sum(dy); softmax dx = y (dy - sum(dy y)).
template <typename T>
__device__ __forceinline__ void softmax_bwd(const T* __restrict__ y, const T* __restrict__ dy,
                                            T* __restrict__ dx, unsigned rows, unsigned cols,
                                            bool log) {
    unsigned lane = threadIdx.x % WARP_SIZE;
    FOR_WARP_ROWS(row, rows) {
        unsigned long long base = (unsigned long long)row * cols;
        T s = T(0);
        for (unsigned c = lane; c < cols; c += WARP_SIZE)
            s += log ? dy[base + c] : dy[base + c] * y[base + c];
        s = warp_allsum(s);
        for (unsigned c = lane; c < cols; c += WARP_SIZE) {
            T g = dy[base + c], v = y[base + c];
            dx[base + c] = log ? g - dexp(v) * s : v * (g - s);
        }
    }
}

// The class losses (cross-entropy, nll) with PyTorch's options. Per row, label t:
// ignored (t == ignore): loss 0 and weight 0; t >= cols (not ignored): NaN (the engine
// rejects such host labels; the kernels never read out of bounds); else the class weight
// w_t (1 when weight is null). The forward writes each row's loss and weight (the 'mean'
// reduction divides the loss sum by the weight sum). The backward's upstream gradient per
// row is scale = g[row * g_stride] * inv (/ denom[0] when denom is not null): g_stride 1 for
// reduction 'none', 0 for a scalar loss.
template <typename T> struct RowScale {
    const T* g;
    unsigned g_stride;
    const T* denom;
    T inv;
    __device__ __forceinline__ T at(unsigned row) const {
        T s = g[(unsigned long long)row * g_stride] * inv;
        return denom ? s / denom[0] : s;
    }
};

// loss = (1 - eps) w_t (lse - (x_t - m)) + eps / cols (wsum lse - sum_j w_j (x_j - m)),
// lse = ln s, wsum = sum_j w_j (PyTorch's weighted label smoothing; eps = 0: w_t nll).
template <typename T>
__device__ __forceinline__ void cross_entropy_fwd(const T* __restrict__ x,
                                                  const unsigned* __restrict__ labels,
                                                  T* __restrict__ loss_rows,
                                                  T* __restrict__ weight_rows, unsigned rows,
                                                  unsigned cols, T eps,
                                                  const T* __restrict__ weight, T wsum,
                                                  unsigned ignore) {
    unsigned lane = threadIdx.x % WARP_SIZE;
    FOR_WARP_ROWS(row, rows) {
        const T* xr = x + (unsigned long long)row * cols;
        T m, s, cs;
        row_stats<T>(xr, cols, m, s, &cs, weight);
        T ls = dlog(s);
        if (lane == 0) {
            unsigned t = labels[row];
            T loss = T(0), wt = T(0);
            if (t == ignore) {
            } else if (t >= cols) {
                loss = wt = dnan<T>();
            } else {
                wt = weight ? weight[t] : T(1);
                T nll = ls - (xr[t] - m);
                loss = eps == T(0) ? wt * nll
                                   : (T(1) - eps) * wt * nll + eps / T(cols) * (wsum * ls - cs);
            }
            loss_rows[row] = loss;
            weight_rows[row] = wt;
        }
    }
}

// dlogits = scale (a softmax(x) - eps / cols w - (1 - eps) w_t onehot(t)),
// a = (1 - eps) w_t + eps / cols wsum; 0 on ignored rows. A label >= cols adds no w_t terms.
template <typename T>
__device__ __forceinline__ void cross_entropy_bwd(const T* __restrict__ x,
                                                  const unsigned* __restrict__ labels,
                                                  T* __restrict__ dx, unsigned rows,
                                                  unsigned cols, T eps,
                                                  const T* __restrict__ weight, T wsum,
                                                  unsigned ignore, RowScale<T> rs) {
    unsigned lane = threadIdx.x % WARP_SIZE;
    T smooth = eps / T(cols);
    FOR_WARP_ROWS(row, rows) {
        unsigned long long base = (unsigned long long)row * cols;
        unsigned t = labels[row];
        if (t == ignore) {  // the whole warp's row: a uniform branch
            for (unsigned c = lane; c < cols; c += WARP_SIZE) dx[base + c] = T(0);
            continue;
        }
        T scale = rs.at(row);
        T m, s;
        row_stats<T>(x + base, cols, m, s, (T*)0, (const T*)0);
        T ls = dlog(s);
        T wt = t < cols ? (weight ? weight[t] : T(1)) : T(0);
        T hit = (T(1) - eps) * wt, a = hit + smooth * wsum;
        for (unsigned c = lane; c < cols; c += WARP_SIZE) {
            T d = a * dexp((x[base + c] - m) - ls) - smooth * (weight ? weight[c] : T(1));
            if (c == t) d -= hit;
            dx[base + c] = d * scale;
        }
    }
}

// nll on log-probabilities: loss = -w_t x_t, one thread per row.
template <typename T>
__device__ __forceinline__ void nll_loss_fwd(const T* __restrict__ x,
                                             const unsigned* __restrict__ labels,
                                             T* __restrict__ loss_rows,
                                             T* __restrict__ weight_rows, unsigned rows,
                                             unsigned cols, const T* __restrict__ weight,
                                             unsigned ignore) {
    GRID_STRIDE_LOOP(row, rows) {
        unsigned t = labels[row];
        T loss = T(0), wt = T(0);
        if (t == ignore) {
        } else if (t >= cols) {
            loss = wt = dnan<T>();
        } else {
            wt = weight ? weight[t] : T(1);
            loss = -wt * x[row * cols + t];
        }
        loss_rows[row] = loss;
        weight_rows[row] = wt;
    }
}

// dx = -w_t scale at each row's (non-ignored, in-range) label, 0 elsewhere; one thread per
// element.
template <typename T>
__device__ __forceinline__ void nll_loss_bwd(const unsigned* __restrict__ labels,
                                             T* __restrict__ dx, unsigned rows, unsigned cols,
                                             const T* __restrict__ weight, unsigned ignore,
                                             RowScale<T> rs) {
    GRID_STRIDE_LOOP(e, (unsigned long long)rows * cols) {
        unsigned row = e / cols, c = e % cols;
        unsigned t = labels[row];
        T d = T(0);
        if (c == t && t != ignore) d = -(weight ? weight[t] : T(1)) * rs.at(row);
        dx[e] = d;
    }
}

#define SOFTMAX_ENTRIES(T, S)                                                                   \
    extern "C" __global__ void __launch_bounds__(SOFTMAX_THREADS)                               \
        log_softmax_fwd_##S(const T* x, T* y, unsigned rows, unsigned cols) {                  \
        softmax_fwd<T>(x, y, rows, cols, true);                                                 \
    }                                                                                           \
    extern "C" __global__ void __launch_bounds__(SOFTMAX_THREADS)                               \
        softmax_fwd_##S(const T* x, T* y, unsigned rows, unsigned cols) {                      \
        softmax_fwd<T>(x, y, rows, cols, false);                                                \
    }                                                                                           \
    extern "C" __global__ void __launch_bounds__(SOFTMAX_THREADS)                               \
        log_softmax_bwd_##S(const T* y, const T* dy, T* dx, unsigned rows, unsigned cols) {    \
        softmax_bwd<T>(y, dy, dx, rows, cols, true);                                            \
    }                                                                                           \
    extern "C" __global__ void __launch_bounds__(SOFTMAX_THREADS)                               \
        softmax_bwd_##S(const T* y, const T* dy, T* dx, unsigned rows, unsigned cols) {        \
        softmax_bwd<T>(y, dy, dx, rows, cols, false);                                           \
    }                                                                                           \
    extern "C" __global__ void __launch_bounds__(SOFTMAX_THREADS)                               \
        cross_entropy_fwd_##S(const T* logits, const unsigned* labels, T* loss_rows,           \
                              T* weight_rows, unsigned rows, unsigned cols,                    \
                              T label_smoothing, const T* weight, T weight_sum,                \
                              unsigned ignore) {                                               \
        cross_entropy_fwd<T>(logits, labels, loss_rows, weight_rows, rows, cols,               \
                             label_smoothing, weight, weight_sum, ignore);                     \
    }                                                                                           \
    extern "C" __global__ void __launch_bounds__(SOFTMAX_THREADS)                               \
        cross_entropy_bwd_##S(const T* logits, const unsigned* labels, T* dlogits,             \
                              unsigned rows, unsigned cols, T label_smoothing,                 \
                              const T* weight, T weight_sum, unsigned ignore, const T* g,      \
                              unsigned g_stride, const T* denom, T inv) {                      \
        RowScale<T> rs = {g, g_stride, denom, inv};                                             \
        cross_entropy_bwd<T>(logits, labels, dlogits, rows, cols, label_smoothing, weight,     \
                             weight_sum, ignore, rs);                                           \
    }                                                                                           \
    extern "C" __global__ void __launch_bounds__(SOFTMAX_THREADS)                               \
        nll_loss_fwd_##S(const T* logp, const unsigned* labels, T* loss_rows, T* weight_rows,  \
                         unsigned rows, unsigned cols, const T* weight, unsigned ignore) {     \
        nll_loss_fwd<T>(logp, labels, loss_rows, weight_rows, rows, cols, weight, ignore);     \
    }                                                                                           \
    extern "C" __global__ void __launch_bounds__(SOFTMAX_THREADS)                               \
        nll_loss_bwd_##S(const unsigned* labels, T* dlogp, unsigned rows, unsigned cols,       \
                         const T* weight, unsigned ignore, const T* g, unsigned g_stride,      \
                         const T* denom, T inv) {                                              \
        RowScale<T> rs = {g, g_stride, denom, inv};                                             \
        nll_loss_bwd<T>(labels, dlogp, rows, cols, weight, ignore, rs);                         \
    }
SOFTMAX_ENTRIES(float, f32)
SOFTMAX_ENTRIES(double, f64)
