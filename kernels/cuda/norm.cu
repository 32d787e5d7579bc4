// LayerNorm's row kernels (one warp per row of a dense [rows, cols], like softmax.cu's; at the
// end of the file), and BatchNorm over dense (N, C, S) (S = H*W; 1 for BatchNorm1d), every step on the device:
// per-channel sums (one block per channel, f64 accumulation, fixed order), per-channel
// coefficient kernels (statistics, running-stat update, backward coefficients; one thread per
// channel, in f64 like the CPU), and the two elementwise passes the coefficients feed:
//   forward   y  = x * scale[c] + shift[c]
//   backward  dx = dy * k_dy[c] + x * k_x[c] + k_0[c]
// Launch: sums one block of 256 threads per channel (any grid, grid-stride over channels);
// the others 1-D, 256 threads per block, any grid.
#include "common.cuh"
#include "math.cuh"
#include "block.cuh"

#define NORM_THREADS 256

// Shift of channel ch: p[ch * stride], or 0 when p is null.
template <typename T>
__device__ __forceinline__ double shift_of(const T* p, unsigned stride, unsigned ch) {
    return p ? (double)p[(unsigned long long)ch * stride] : 0.0;
}

// sums[2ch] = sum (a - sa), sums[2ch + 1] = sum (a - sa)(b - sb) over channel ch, in f64.
template <typename T>
__device__ __forceinline__ void channel_sums(const T* __restrict__ a, const T* sa,
                                             unsigned sa_stride, const T* __restrict__ b,
                                             const T* sb, unsigned sb_stride,
                                             double* __restrict__ sums, unsigned n, unsigned c,
                                             unsigned s) {
    unsigned long long m = (unsigned long long)n * s;
    for (unsigned ch = blockIdx.x; ch < c; ch += gridDim.x) {
        double ka = shift_of(sa, sa_stride, ch), kb = shift_of(sb, sb_stride, ch);
        double s1 = 0.0, s2 = 0.0;
        for (unsigned long long e = threadIdx.x; e < m; e += blockDim.x) {
            unsigned long long i = (e / s * c + ch) * s + e % s;
            double u = (double)a[i] - ka, v = (double)b[i] - kb;
            s1 += u;
            s2 += u * v;
        }
        s1 = block_sum(s1);
        s2 = block_sum(s2);
        if (threadIdx.x == 0) {
            sums[2 * ch] = s1;
            sums[2 * ch + 1] = s2;
        }
    }
}

// Training statistics from the sums of x shifted by x[ch * s] (its first value), then the
// affine coefficients and the running-statistics update (unbiased variance), as the CPU does.
template <typename T>
__device__ __forceinline__ void bn_train_coeffs(
    const double* __restrict__ sums, const T* __restrict__ x, const T* gamma, const T* beta,
    T* running_mean, T* running_var, T* mean_out, T* inv_std_out, T* scale, T* shift,
    unsigned c, unsigned s, unsigned m, double eps, double momentum) {
    GRID_STRIDE_LOOP(ch, c) {
        double mu = sums[2 * ch] / m;
        double mean = (double)x[ch * s] + mu;
        double var = fmax(sums[2 * ch + 1] / m - mu * mu, 0.0);
        double inv = 1.0 / sqrt(var + eps);
        double g = gamma ? (double)gamma[ch] : 1.0, bt = beta ? (double)beta[ch] : 0.0;
        mean_out[ch] = T(mean);
        inv_std_out[ch] = T(inv);
        scale[ch] = T(g * inv);
        shift[ch] = T(bt - mean * (g * inv));
        if (running_mean) {
            double unbias = (double)m / (double)(m - 1);
            running_mean[ch] = T((1.0 - momentum) * (double)running_mean[ch] + momentum * mean);
            running_var[ch] =
                T((1.0 - momentum) * (double)running_var[ch] + momentum * var * unbias);
        }
    }
}

// Eval: the running statistics as constants.
template <typename T>
__device__ __forceinline__ void bn_eval_coeffs(const T* __restrict__ running_mean,
                                               const T* __restrict__ running_var,
                                               const T* gamma, const T* beta, T* mean_out,
                                               T* inv_std_out, T* scale, T* shift, unsigned c,
                                               double eps) {
    GRID_STRIDE_LOOP(ch, c) {
        double mean = running_mean[ch];
        double inv = 1.0 / sqrt((double)running_var[ch] + eps);
        double g = gamma ? (double)gamma[ch] : 1.0, bt = beta ? (double)beta[ch] : 0.0;
        mean_out[ch] = T(mean);
        inv_std_out[ch] = T(inv);
        scale[ch] = T(g * inv);
        shift[ch] = T(bt - mean * (g * inv));
    }
}

// Backward coefficients from sums = (sum dy, sum dy (x - mean)); dgamma/dbeta when non-null.
template <typename T>
__device__ __forceinline__ void bn_bwd_coeffs(const double* __restrict__ sums,
                                              const T* __restrict__ mean,
                                              const T* __restrict__ inv_std, const T* gamma,
                                              T* k_dy, T* k_x, T* k_0, T* dgamma, T* dbeta,
                                              unsigned c, unsigned m, unsigned training) {
    GRID_STRIDE_LOOP(ch, c) {
        double inv = inv_std[ch], g = gamma ? (double)gamma[ch] : 1.0;
        double s1 = sums[2 * ch], s2 = sums[2 * ch + 1];
        double a = g * inv;
        k_dy[ch] = T(a);
        if (training) {
            double b = -a * inv * inv * s2 / m;
            k_x[ch] = T(b);
            k_0[ch] = T(-a * s1 / m - b * (double)mean[ch]);
        } else {
            k_x[ch] = T(0);
            k_0[ch] = T(0);
        }
        if (dgamma) dgamma[ch] = T(s2 * inv);
        if (dbeta) dbeta[ch] = T(s1);
    }
}

template <typename T>
__device__ __forceinline__ void channel_affine(const T* __restrict__ x,
                                               const T* __restrict__ scale,
                                               const T* __restrict__ shift, T* __restrict__ y,
                                               unsigned n, unsigned c, unsigned s) {
    GRID_STRIDE_LOOP(i, (unsigned long long)n * c * s) {
        unsigned ch = (i / s) % c;
        y[i] = x[i] * scale[ch] + shift[ch];
    }
}

template <typename T>
__device__ __forceinline__ void channel_affine2(const T* __restrict__ dy,
                                                const T* __restrict__ x,
                                                const T* __restrict__ k_dy,
                                                const T* __restrict__ k_x,
                                                const T* __restrict__ k_0, T* __restrict__ dx,
                                                unsigned n, unsigned c, unsigned s) {
    GRID_STRIDE_LOOP(i, (unsigned long long)n * c * s) {
        unsigned ch = (i / s) % c;
        dx[i] = dy[i] * k_dy[ch] + x[i] * k_x[ch] + k_0[ch];
    }
}

#define NORM_ENTRIES(T, S)                                                                   \
    extern "C" __global__ void __launch_bounds__(NORM_THREADS, 1) channel_sums_##S(             \
        const T* a, const T* sa, unsigned sa_stride, const T* b, const T* sb,                \
        unsigned sb_stride, double* sums, unsigned n, unsigned c, unsigned s) {              \
        channel_sums<T>(a, sa, sa_stride, b, sb, sb_stride, sums, n, c, s);                  \
    }                                                                                        \
    extern "C" __global__ void __launch_bounds__(NORM_THREADS, 1) batch_norm_train_coeffs_##S(  \
        const double* sums, const T* x, const T* gamma, const T* beta, T* running_mean,      \
        T* running_var, T* mean, T* inv_std, T* scale, T* shift, unsigned c, unsigned s,     \
        unsigned m, double eps, double momentum) {                                           \
        bn_train_coeffs<T>(sums, x, gamma, beta, running_mean, running_var, mean, inv_std,   \
                           scale, shift, c, s, m, eps, momentum);                            \
    }                                                                                        \
    extern "C" __global__ void __launch_bounds__(NORM_THREADS, 1) batch_norm_eval_coeffs_##S(   \
        const T* running_mean, const T* running_var, const T* gamma, const T* beta,          \
        T* mean, T* inv_std, T* scale, T* shift, unsigned c, double eps) {                   \
        bn_eval_coeffs<T>(running_mean, running_var, gamma, beta, mean, inv_std, scale,      \
                          shift, c, eps);                                                    \
    }                                                                                        \
    extern "C" __global__ void __launch_bounds__(NORM_THREADS, 1) batch_norm_bwd_coeffs_##S(    \
        const double* sums, const T* mean, const T* inv_std, const T* gamma, T* k_dy,        \
        T* k_x, T* k_0, T* dgamma, T* dbeta, unsigned c, unsigned m, unsigned training) {    \
        bn_bwd_coeffs<T>(sums, mean, inv_std, gamma, k_dy, k_x, k_0, dgamma, dbeta, c, m,    \
                         training);                                                          \
    }                                                                                        \
    extern "C" __global__ void __launch_bounds__(NORM_THREADS, 1) channel_affine_##S(           \
        const T* x, const T* scale, const T* shift, T* y, unsigned n, unsigned c,            \
        unsigned s) {                                                                        \
        channel_affine<T>(x, scale, shift, y, n, c, s);                                      \
    }                                                                                        \
    extern "C" __global__ void __launch_bounds__(NORM_THREADS, 1) channel_affine2_##S(          \
        const T* dy, const T* x, const T* k_dy, const T* k_x, const T* k_0, T* dx,           \
        unsigned n, unsigned c, unsigned s) {                                                \
        channel_affine2<T>(dy, x, k_dy, k_x, k_0, dx, n, c, s);                              \
    }
NORM_ENTRIES(float, f32)
NORM_ENTRIES(double, f64)

// LayerNorm's normalisation of each row: mean, biased variance from centred squares (a second
// pass: no cancellation), xhat = (x - mean) rstd with rstd = 1 / sqrt(var + eps), saved per row
// for the backward. The affine part (weight, bias) is the broadcasting mul/add.
template <typename T>
__device__ __forceinline__ void layer_norm_fwd(const T* __restrict__ x, T* __restrict__ xhat,
                                               T* __restrict__ rstd, unsigned rows,
                                               unsigned cols, T eps) {
    unsigned lane = threadIdx.x % WARP_SIZE;
    FOR_WARP_ROWS(row, rows) {
        unsigned long long base = (unsigned long long)row * cols;
        T s = T(0);
        for (unsigned c = lane; c < cols; c += WARP_SIZE) s += x[base + c];
        T mean = warp_allsum(s) / T(cols);
        T v = T(0);
        for (unsigned c = lane; c < cols; c += WARP_SIZE) {
            T d = x[base + c] - mean;
            v += d * d;
        }
        T r = T(1) / dsqrt(warp_allsum(v) / T(cols) + eps);
        for (unsigned c = lane; c < cols; c += WARP_SIZE) xhat[base + c] = (x[base + c] - mean) * r;
        if (lane == 0) rstd[row] = r;
    }
}

// dx = rstd (dy - mean(dy) - xhat mean(dy xhat)) per row, from the forward's xhat and rstd.
template <typename T>
__device__ __forceinline__ void layer_norm_bwd(const T* __restrict__ xhat,
                                               const T* __restrict__ rstd,
                                               const T* __restrict__ dy, T* __restrict__ dx,
                                               unsigned rows, unsigned cols) {
    unsigned lane = threadIdx.x % WARP_SIZE;
    FOR_WARP_ROWS(row, rows) {
        unsigned long long base = (unsigned long long)row * cols;
        T a = T(0), b = T(0);
        for (unsigned c = lane; c < cols; c += WARP_SIZE) {
            T g = dy[base + c];
            a += g;
            b += g * xhat[base + c];
        }
        a = warp_allsum(a) / T(cols);
        b = warp_allsum(b) / T(cols);
        T r = rstd[row];
        for (unsigned c = lane; c < cols; c += WARP_SIZE)
            dx[base + c] = r * (dy[base + c] - a - xhat[base + c] * b);
    }
}

#define LAYER_NORM_ENTRIES(T, S)                                                                \
    extern "C" __global__ void __launch_bounds__(NORM_THREADS)                                  \
        layer_norm_fwd_##S(const T* x, T* xhat, T* rstd, unsigned rows, unsigned cols, T eps) { \
        layer_norm_fwd<T>(x, xhat, rstd, rows, cols, eps);                                      \
    }                                                                                           \
    extern "C" __global__ void __launch_bounds__(NORM_THREADS)                                  \
        layer_norm_bwd_##S(const T* xhat, const T* rstd, const T* dy, T* dx, unsigned rows,    \
                           unsigned cols) {                                                     \
        layer_norm_bwd<T>(xhat, rstd, dy, dx, rows, cols);                                      \
    }
LAYER_NORM_ENTRIES(float, f32)
LAYER_NORM_ENTRIES(double, f64)
