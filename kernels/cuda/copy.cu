// Copies: gather a strided view into a contiguous buffer, dtype conversion, fill.
// Launch: 1-D, 256 threads per block, any grid (grid-stride loops).
#include "common.cuh"
#include "strided.cuh"

#define COPY_THREADS 256

// dst[i] = src[offset + sum_d i_d strides[d]] for the row-major index i over s.dims (stride 0
// repeats an element: broadcast / expand). Consecutive threads write consecutive dst.
template <typename T>
__device__ __forceinline__ void copy_strided(const T* __restrict__ src, T* __restrict__ dst,
                                             unsigned n, const Strided& s) {
    GRID_STRIDE_LOOP(i, n) { dst[i] = src[strided_offset((unsigned)i, s)]; }
}

// dst[b_offset + sum_d i_d b_strides[d]] = src[a_offset + sum_d i_d a_strides[d]] for every
// row-major index i over g.dims: a strided view written into a strided region (cat writes each
// input into its slice of the output this way). The destination view must not overlap itself.
template <typename T>
__device__ __forceinline__ void copy_into_strided(const T* __restrict__ src, T* __restrict__ dst,
                                                  unsigned n, const Bcast& g) {
    GRID_STRIDE_LOOP(i, n) {
        long long is = g.a_offset, id = g.b_offset;
        strided_offsets2((unsigned)i, g.rank, g.dims, g.a_strides, g.b_strides, is, id);
        dst[id] = src[is];
    }
}

template <typename T>
__device__ __forceinline__ void fill(T* __restrict__ dst, unsigned n, T value) {
    GRID_STRIDE_LOOP(i, n) { dst[i] = value; }
}

template <typename S, typename D>
__device__ __forceinline__ void convert(const S* __restrict__ src, D* __restrict__ dst,
                                        unsigned n) {
    GRID_STRIDE_LOOP(i, n) { dst[i] = (D)src[i]; }  // f64 -> f32 rounds to nearest even
}

#define COPY_ENTRIES(T, S)                                                               \
    extern "C" __global__ void __launch_bounds__(COPY_THREADS)                           \
        copy_strided_##S(const T* src, T* dst, unsigned n, Strided s) {                  \
        copy_strided<T>(src, dst, n, load_strided(s));                                   \
    }                                                                                    \
    extern "C" __global__ void __launch_bounds__(COPY_THREADS)                           \
        copy_into_strided_##S(const T* src, T* dst, unsigned n, Bcast g) {               \
        copy_into_strided<T>(src, dst, n, load_bcast(g));                                \
    }                                                                                    \
    extern "C" __global__ void __launch_bounds__(COPY_THREADS)                           \
        fill_##S(T* dst, unsigned n, T value) {                                          \
        fill<T>(dst, n, value);                                                          \
    }
COPY_ENTRIES(float, f32)
COPY_ENTRIES(double, f64)

extern "C" __global__ void __launch_bounds__(COPY_THREADS)
convert_f32_f64(const float* src, double* dst, unsigned n) {
    convert<float, double>(src, dst, n);
}
extern "C" __global__ void __launch_bounds__(COPY_THREADS)
convert_f64_f32(const double* src, float* dst, unsigned n) {
    convert<double, float>(src, dst, n);
}
