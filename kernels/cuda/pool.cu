// 2-D pooling over dense (planes, H, W) with the windows given as tables, exactly as the CPU
// describes every pool (max, average, adaptive average): per output row and column the input
// range [start, end) and its share of the divisor; per input row and column the range of
// outputs whose windows cover it (windows are monotone), so the backward passes gather
// (each input sums its covering outputs in output order: deterministic, no atomics).
//
// tab (u32): rows[4*oh] | cols[4*ow] | row_cover[2*h] | col_cover[2*w], each window as
// (start, end, div, step: the taps start, start + step, ... below end; step > 1 only for a
// dilated max pool) and each cover as (first, last + 1) (for a dilated window, the outputs
// whose span covers the input: the argmax test picks the true ones).
// Launch: 1-D, 256 threads per block, any grid (grid-stride loops).
#include "common.cuh"
#include "math.cuh"

#define POOL_THREADS 256

struct PoolTabs {
    const unsigned *rows, *cols, *rcov, *ccov;
};

__device__ __forceinline__ PoolTabs pool_tabs(const unsigned* tab, unsigned h, unsigned oh,
                                              unsigned ow) {
    PoolTabs t;
    t.rows = tab;
    t.cols = tab + 4 * oh;
    t.rcov = tab + 4 * (oh + ow);
    t.ccov = t.rcov + 2 * h;
    return t;
}

// y = window maximum, argmax = its in-plane index: the first maximum in row-major window
// order, where a NaN always takes over (the CPU's rule).
template <typename T>
__device__ __forceinline__ void max_pool_fwd(const T* __restrict__ x, T* __restrict__ y,
                                             unsigned* __restrict__ argmax,
                                             const unsigned* __restrict__ tab, unsigned planes,
                                             unsigned h, unsigned w, unsigned oh, unsigned ow) {
    PoolTabs t = pool_tabs(tab, h, oh, ow);
    GRID_STRIDE_LOOP(k, (unsigned long long)planes * oh * ow) {
        unsigned ox = k % ow, oy = (k / ow) % oh;
        unsigned long long p = k / ((unsigned long long)ow * oh);
        const T* xp = x + p * h * w;
        unsigned r0 = t.rows[4 * oy], r1 = t.rows[4 * oy + 1], rs = t.rows[4 * oy + 3];
        unsigned c0 = t.cols[4 * ox], c1 = t.cols[4 * ox + 1], cs = t.cols[4 * ox + 3];
        T best = -dinf<T>();
        unsigned arg = r0 * w + c0;
        for (unsigned yy = r0; yy < r1; yy += rs)
            for (unsigned xx = c0; xx < c1; xx += cs) {
                T v = xp[yy * w + xx];
                if (v > best || disnan(v)) {
                    best = v;
                    arg = yy * w + xx;
                }
            }
        y[k] = best;
        argmax[k] = arg;
    }
}

// dx[p, y, x] = sum of dy over the covering outputs whose argmax is (y, x).
template <typename T>
__device__ __forceinline__ void max_pool_bwd(const T* __restrict__ dy,
                                             const unsigned* __restrict__ argmax,
                                             const unsigned* __restrict__ tab,
                                             T* __restrict__ dx, unsigned planes, unsigned h,
                                             unsigned w, unsigned oh, unsigned ow) {
    PoolTabs t = pool_tabs(tab, h, oh, ow);
    GRID_STRIDE_LOOP(k, (unsigned long long)planes * h * w) {
        unsigned xx = k % w, yy = (k / w) % h;
        unsigned long long p = k / ((unsigned long long)w * h);
        unsigned me = yy * w + xx;
        const T* dyp = dy + p * oh * ow;
        const unsigned* ap = argmax + p * oh * ow;
        unsigned ox0 = t.ccov[2 * xx], ox1 = t.ccov[2 * xx + 1];
        T acc = T(0);
        for (unsigned oy = t.rcov[2 * yy]; oy < t.rcov[2 * yy + 1]; ++oy)
            for (unsigned ox = ox0; ox < ox1; ++ox)
                if (ap[oy * ow + ox] == me) acc += dyp[oy * ow + ox];
        dx[k] = acc;
    }
}

// y = (sum of the window, row-major) / (row div * col div).
template <typename T>
__device__ __forceinline__ void avg_pool_fwd(const T* __restrict__ x, T* __restrict__ y,
                                             const unsigned* __restrict__ tab, unsigned planes,
                                             unsigned h, unsigned w, unsigned oh, unsigned ow) {
    PoolTabs t = pool_tabs(tab, h, oh, ow);
    GRID_STRIDE_LOOP(k, (unsigned long long)planes * oh * ow) {
        unsigned ox = k % ow, oy = (k / ow) % oh;
        unsigned long long p = k / ((unsigned long long)ow * oh);
        const T* xp = x + p * h * w;
        T s = T(0);
        for (unsigned yy = t.rows[4 * oy]; yy < t.rows[4 * oy + 1]; ++yy)
            for (unsigned xx = t.cols[4 * ox]; xx < t.cols[4 * ox + 1]; ++xx) s += xp[yy * w + xx];
        y[k] = s / T(t.rows[4 * oy + 2] * t.cols[4 * ox + 2]);
    }
}

// dx[p, y, x] = sum over the covering outputs (in output order) of dy / divisor.
template <typename T>
__device__ __forceinline__ void avg_pool_bwd(const T* __restrict__ dy,
                                             const unsigned* __restrict__ tab,
                                             T* __restrict__ dx, unsigned planes, unsigned h,
                                             unsigned w, unsigned oh, unsigned ow) {
    PoolTabs t = pool_tabs(tab, h, oh, ow);
    GRID_STRIDE_LOOP(k, (unsigned long long)planes * h * w) {
        unsigned xx = k % w, yy = (k / w) % h;
        unsigned long long p = k / ((unsigned long long)w * h);
        const T* dyp = dy + p * oh * ow;
        unsigned ox0 = t.ccov[2 * xx], ox1 = t.ccov[2 * xx + 1];
        T acc = T(0);
        for (unsigned oy = t.rcov[2 * yy]; oy < t.rcov[2 * yy + 1]; ++oy) {
            unsigned rdiv = t.rows[4 * oy + 2];
            for (unsigned ox = ox0; ox < ox1; ++ox)
                acc += dyp[oy * ow + ox] / T(rdiv * t.cols[4 * ox + 2]);
        }
        dx[k] = acc;
    }
}

#define POOL_DIMS unsigned planes, unsigned h, unsigned w, unsigned oh, unsigned ow
#define POOL_ENTRIES(T, S)                                                                  \
    extern "C" __global__ void __launch_bounds__(POOL_THREADS, 1) max_pool2d_fwd_##S(          \
        const T* x, T* y, unsigned* argmax, const unsigned* tab, POOL_DIMS) {               \
        max_pool_fwd<T>(x, y, argmax, tab, planes, h, w, oh, ow);                           \
    }                                                                                       \
    extern "C" __global__ void __launch_bounds__(POOL_THREADS, 1) max_pool2d_bwd_##S(          \
        const T* dy, const unsigned* argmax, const unsigned* tab, T* dx, POOL_DIMS) {       \
        max_pool_bwd<T>(dy, argmax, tab, dx, planes, h, w, oh, ow);                         \
    }                                                                                       \
    extern "C" __global__ void __launch_bounds__(POOL_THREADS, 1) avg_pool2d_fwd_##S(          \
        const T* x, T* y, const unsigned* tab, POOL_DIMS) {                                 \
        avg_pool_fwd<T>(x, y, tab, planes, h, w, oh, ow);                                   \
    }                                                                                       \
    extern "C" __global__ void __launch_bounds__(POOL_THREADS, 1) avg_pool2d_bwd_##S(          \
        const T* dy, const unsigned* tab, T* dx, POOL_DIMS) {                               \
        avg_pool_bwd<T>(dy, tab, dx, planes, h, w, oh, ow);                                 \
    }
POOL_ENTRIES(float, f32)
POOL_ENTRIES(double, f64)
