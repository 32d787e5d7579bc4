// Index ops over a contiguous tensor viewed as [outer, n, inner] along the indexed dim:
// index_select (gather of whole slices), its backward (a gather-sum over the positions that
// picked each slice, in index order: deterministic, no atomics), narrow's backward (the
// gradient placed in a zero tensor), and gather along a dim with its scatter-add backward.
// Launch: 1-D, 256 threads per block, any grid (grid-stride loops over the output).
#include "common.cuh"
#include "strided.cuh"

#define INDEX_THREADS 256

// dst[o, k, i] = src[o, idx[k], i] for k < nidx (src has nsrc slices).
template <typename T>
__device__ __forceinline__ void index_select_fwd(const T* __restrict__ src,
                                                 const unsigned* __restrict__ idx,
                                                 T* __restrict__ dst, unsigned outer,
                                                 unsigned nsrc, unsigned nidx, unsigned inner) {
    unsigned long long total = (unsigned long long)outer * nidx * inner;
    GRID_STRIDE_LOOP(t, total) {
        unsigned long long i = t % inner, k = (t / inner) % nidx, o = t / ((unsigned long long)inner * nidx);
        dst[t] = src[(o * nsrc + idx[k]) * inner + i];
    }
}

// dx[o, j, i] = sum over k with idx[k] == j of g[o, k, i], k ascending.
template <typename T>
__device__ __forceinline__ void index_select_bwd(const T* __restrict__ g,
                                                 const unsigned* __restrict__ idx,
                                                 T* __restrict__ dx, unsigned outer,
                                                 unsigned nsrc, unsigned nidx, unsigned inner) {
    unsigned long long total = (unsigned long long)outer * nsrc * inner;
    GRID_STRIDE_LOOP(t, total) {
        unsigned long long i = t % inner, j = (t / inner) % nsrc, o = t / ((unsigned long long)inner * nsrc);
        T acc = T(0);
        for (unsigned k = 0; k < nidx; ++k)
            if (idx[k] == j) acc += g[(o * nidx + k) * inner + i];
        dx[t] = acc;
    }
}

// dx[o, j, i] = g[o, j - start, i] when start <= j < start + len, else 0 (dx has n slices).
template <typename T>
__device__ __forceinline__ void narrow_bwd(const T* __restrict__ g, T* __restrict__ dx,
                                           unsigned outer, unsigned n, unsigned start,
                                           unsigned len, unsigned inner) {
    unsigned long long total = (unsigned long long)outer * n * inner;
    GRID_STRIDE_LOOP(t, total) {
        unsigned long long i = t % inner, j = (t / inner) % n, o = t / ((unsigned long long)inner * n);
        dx[t] = (j >= start && j < (unsigned long long)start + len)
                    ? g[(o * len + (j - start)) * inner + i]
                    : T(0);
    }
}

// gather along one dim: out[i] = x[base(i) + idx[i] * dim_stride], where base is x's view with
// the index's shape and stride 0 along the gathered dim (so any strided x is read in place).
template <typename T>
__device__ __forceinline__ void gather_fwd(const T* __restrict__ x,
                                           const unsigned* __restrict__ idx,
                                           T* __restrict__ out, unsigned n,
                                           long long dim_stride, const Strided& base) {
    GRID_STRIDE_LOOP(i, n) {
        out[i] = x[strided_offset((unsigned)i, base) + (long long)idx[i] * dim_stride];
    }
}

// Its backward, a scatter-add into dx (zeroed by the caller): repeated indices collide, so
// atomics (the order of the additions, hence f32 rounding, varies like PyTorch's scatter_add).
template <typename T>
__device__ __forceinline__ void gather_bwd(const T* __restrict__ g,
                                           const unsigned* __restrict__ idx, T* dx,
                                           unsigned n, long long dim_stride,
                                           const Strided& base) {
    GRID_STRIDE_LOOP(i, n) {
        atomicAdd(dx + strided_offset((unsigned)i, base) + (long long)idx[i] * dim_stride, g[i]);
    }
}

#define INDEX_ENTRIES(T, S)                                                                   \
    extern "C" __global__ void __launch_bounds__(INDEX_THREADS)                               \
        index_select_fwd_##S(const T* src, const unsigned* idx, T* dst, unsigned outer,       \
                             unsigned nsrc, unsigned nidx, unsigned inner) {                  \
        index_select_fwd<T>(src, idx, dst, outer, nsrc, nidx, inner);                         \
    }                                                                                         \
    extern "C" __global__ void __launch_bounds__(INDEX_THREADS)                               \
        index_select_bwd_##S(const T* g, const unsigned* idx, T* dx, unsigned outer,          \
                             unsigned nsrc, unsigned nidx, unsigned inner) {                  \
        index_select_bwd<T>(g, idx, dx, outer, nsrc, nidx, inner);                            \
    }                                                                                         \
    extern "C" __global__ void __launch_bounds__(INDEX_THREADS)                               \
        narrow_bwd_##S(const T* g, T* dx, unsigned outer, unsigned n, unsigned start,         \
                       unsigned len, unsigned inner) {                                        \
        narrow_bwd<T>(g, dx, outer, n, start, len, inner);                                    \
    }                                                                                         \
    extern "C" __global__ void __launch_bounds__(INDEX_THREADS)                               \
        gather_fwd_##S(const T* x, const unsigned* idx, T* out, unsigned n,                   \
                       long long dim_stride, Strided base) {                                  \
        gather_fwd<T>(x, idx, out, n, dim_stride, load_strided(base));                        \
    }                                                                                         \
    extern "C" __global__ void __launch_bounds__(INDEX_THREADS)                               \
        gather_bwd_##S(const T* g, const unsigned* idx, T* dx, unsigned n,                    \
                       long long dim_stride, Strided base) {                                  \
        gather_bwd<T>(g, idx, dx, n, dim_stride, load_strided(base));                         \
    }
INDEX_ENTRIES(float, f32)
INDEX_ENTRIES(double, f64)
