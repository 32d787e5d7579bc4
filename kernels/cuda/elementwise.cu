// Elementwise ops: the unary table (forward and backward) and broadcasting binary ops.
// The op is a code (elementwise_ops.cuh); each entry switches on it ONCE, outside the element
// loop, into a loop specialised for that op, so the loop body has no branch on the op.
// An unknown code writes nothing (the engine validates codes).
//
// Launch: 1-D, 256 threads per block, any grid (grid-stride loops).
#include "common.cuh"
#include "math.cuh"
#include "strided.cuh"
#include "elementwise_ops.cuh"

#define EW_THREADS 256

template <unsigned OP, typename T>
__device__ __forceinline__ void unary_fwd_loop(T p, const T* __restrict__ x, T* __restrict__ y, unsigned n) {
    GRID_STRIDE_LOOP(i, n) { y[i] = Unary<OP, T>::f(x[i], p); }
}

template <unsigned OP, typename T>
__device__ __forceinline__ void unary_bwd_loop(T p, const T* __restrict__ x, const T* __restrict__ y,
                               const T* __restrict__ dy, T* __restrict__ dx, unsigned n) {
    GRID_STRIDE_LOOP(i, n) { dx[i] = dy[i] * Unary<OP, T>::df(x[i], y[i], p); }
}

// y = f(x) elementwise.
template <typename T>
__device__ __forceinline__ void unary_fwd(unsigned op, T p, const T* x, T* y, unsigned n) {
#define UNARY_FWD_CASE(NAME, CODE) \
    case CODE: unary_fwd_loop<CODE, T>(p, x, y, n); break;
    switch (op) { UNARY_OP_LIST(UNARY_FWD_CASE) default: break; }
#undef UNARY_FWD_CASE
}

// dx = dy * f'(x, y), y = f(x) saved by the forward (every op's derivative reads x or y).
template <typename T>
__device__ __forceinline__ void unary_bwd(unsigned op, T p, const T* x, const T* y, const T* dy, T* dx,
                          unsigned n) {
#define UNARY_BWD_CASE(NAME, CODE) \
    case CODE: unary_bwd_loop<CODE, T>(p, x, y, dy, dx, n); break;
    switch (op) { UNARY_OP_LIST(UNARY_BWD_CASE) default: break; }
#undef UNARY_BWD_CASE
}

// out[i] = op(a[ia], b[ib]) over the row-major output of shape g.dims; ia and ib from the
// strides (0 along broadcast dims) unless g.contiguous, which skips all index math.
template <unsigned OP, typename T>
__device__ __forceinline__ void binary_loop(const T* __restrict__ a, const T* __restrict__ b,
                            T* __restrict__ out, unsigned n, const Bcast& g) {
    if (g.contiguous) {
        const T* ap = a + g.a_offset;
        const T* bp = b + g.b_offset;
        GRID_STRIDE_LOOP(i, n) { out[i] = Binary<OP, T>::f(ap[i], bp[i]); }
        return;
    }
    GRID_STRIDE_LOOP(i, n) {
        long long ia = g.a_offset, ib = g.b_offset;
        strided_offsets2((unsigned)i, g.rank, g.dims, g.a_strides, g.b_strides, ia, ib);
        out[i] = Binary<OP, T>::f(a[ia], b[ib]);
    }
}

template <typename T>
__device__ __forceinline__ void binary_fwd(unsigned op, const T* a, const T* b, T* out, unsigned n,
                           const Bcast& g) {
#define BINARY_CASE(NAME, CODE) \
    case CODE: binary_loop<CODE, T>(a, b, out, n, g); break;
    switch (op) { BINARY_OP_LIST(BINARY_CASE) default: break; }
#undef BINARY_CASE
}

// out[i] = c[i] != 0 ? a[i] : b[i] over dense, equally shaped operands (the engine broadcasts
// them first). A NaN in the mask counts as true, as PyTorch's float -> bool does.
template <typename T>
__device__ __forceinline__ void where_fwd(const T* __restrict__ c, const T* __restrict__ a,
                                          const T* __restrict__ b, T* __restrict__ out,
                                          unsigned n) {
    GRID_STRIDE_LOOP(i, n) { out[i] = c[i] != T(0) ? a[i] : b[i]; }
}

#define ELEMENTWISE_ENTRIES(T, S)                                                              \
    extern "C" __global__ void __launch_bounds__(EW_THREADS)                                   \
        unary_fwd_##S(unsigned op, T p, const T* x, T* y, unsigned n) {                        \
        unary_fwd<T>(op, p, x, y, n);                                                          \
    }                                                                                          \
    extern "C" __global__ void __launch_bounds__(EW_THREADS)                                   \
        unary_bwd_##S(unsigned op, T p, const T* x, const T* y, const T* dy, T* dx,            \
                      unsigned n) {                                                            \
        unary_bwd<T>(op, p, x, y, dy, dx, n);                                                  \
    }                                                                                          \
    extern "C" __global__ void __launch_bounds__(EW_THREADS)                                   \
        binary_fwd_##S(unsigned op, const T* a, const T* b, T* out, unsigned n, Bcast g) {     \
        binary_fwd<T>(op, a, b, out, n, load_bcast(g));                                        \
    }                                                                                          \
    extern "C" __global__ void __launch_bounds__(EW_THREADS)                                   \
        where_fwd_##S(const T* c, const T* a, const T* b, T* out, unsigned n) {                \
        where_fwd<T>(c, a, b, out, n);                                                         \
    }
ELEMENTWISE_ENTRIES(float, f32)
ELEMENTWISE_ENTRIES(double, f64)
