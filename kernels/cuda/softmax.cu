// Row-wise softmax, log-softmax and fused softmax + cross-entropy over a contiguous
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

// Row max m and s = sum_j exp(x_j - m); optionally also sum_j (x_j - m).
template <typename T>
__device__ __forceinline__ void row_stats(const T* __restrict__ x, unsigned cols, T& m, T& s,
                                          T* centred_sum) {
    unsigned lane = threadIdx.x % WARP_SIZE;
    T mv = -dinf<T>();
    for (unsigned c = lane; c < cols; c += WARP_SIZE) mv = dfmax(mv, x[c]);
    m = warp_allmax(mv);
    T e = T(0), cs = T(0);
    for (unsigned c = lane; c < cols; c += WARP_SIZE) {
        e += dexp(x[c] - m);
        cs += x[c] - m;
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
        row_stats<T>(xr, cols, m, s, (T*)0);
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

// loss_rows[r] = (1 - eps) (lse - (x_t - m)) + eps (lse - mean_j (x_j - m)), lse = ln s
// (PyTorch's label smoothing). A label >= cols gives NaN (the engine rejects such labels;
// the kernel only avoids reading out of bounds).
template <typename T>
__device__ __forceinline__ void cross_entropy_fwd(const T* __restrict__ x,
                                                  const unsigned* __restrict__ labels,
                                                  T* __restrict__ loss_rows, unsigned rows,
                                                  unsigned cols, T eps) {
    unsigned lane = threadIdx.x % WARP_SIZE;
    FOR_WARP_ROWS(row, rows) {
        const T* xr = x + (unsigned long long)row * cols;
        T m, s, cs;
        row_stats<T>(xr, cols, m, s, &cs);
        T ls = dlog(s);
        if (lane == 0) {
            unsigned t = labels[row];
            T loss = dnan<T>();
            if (t < cols) {
                T nll = ls - (xr[t] - m);
                loss = eps == T(0) ? nll : (T(1) - eps) * nll + eps * (ls - cs / T(cols));
            }
            loss_rows[row] = loss;
        }
    }
}

// dlogits = scale (softmax(x) - eps / cols - (1 - eps) onehot(t)), scale = dloss[0] * inv_rows
// (dloss: the upstream gradient of the mean loss, read on the device: no host round trip).
// A label >= cols contributes no one-hot term.
template <typename T>
__device__ __forceinline__ void cross_entropy_bwd(const T* __restrict__ x,
                                                  const unsigned* __restrict__ labels,
                                                  T* __restrict__ dx, unsigned rows,
                                                  unsigned cols, T eps,
                                                  const T* __restrict__ dloss, T inv_rows) {
    unsigned lane = threadIdx.x % WARP_SIZE;
    T scale = dloss[0] * inv_rows;
    T smooth = eps / T(cols), hit = T(1) - eps;
    FOR_WARP_ROWS(row, rows) {
        unsigned long long base = (unsigned long long)row * cols;
        T m, s;
        row_stats<T>(x + base, cols, m, s, (T*)0);
        T ls = dlog(s);
        unsigned t = labels[row];
        for (unsigned c = lane; c < cols; c += WARP_SIZE) {
            T d = (dexp((x[base + c] - m) - ls) - smooth) * scale;
            if (c == t) d -= hit * scale;
            dx[base + c] = d;
        }
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
                              unsigned rows, unsigned cols, T label_smoothing) {               \
        cross_entropy_fwd<T>(logits, labels, loss_rows, rows, cols, label_smoothing);           \
    }                                                                                           \
    extern "C" __global__ void __launch_bounds__(SOFTMAX_THREADS)                               \
        cross_entropy_bwd_##S(const T* logits, const unsigned* labels, T* dlogits,             \
                              unsigned rows, unsigned cols, T label_smoothing, const T* dloss, \
                              T inv_rows) {                                                     \
        cross_entropy_bwd<T>(logits, labels, dlogits, rows, cols, label_smoothing, dloss,       \
                             inv_rows);                                                         \
    }
SOFTMAX_ENTRIES(float, f32)
SOFTMAX_ENTRIES(double, f64)
