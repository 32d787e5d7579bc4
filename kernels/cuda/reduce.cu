// Reductions. Deterministic: no floating-point atomics, so a sum is bit-for-bit reproducible
// for a given launch size. A full sum of n values takes two launches:
//     sum_f32<<<G, B>>>(x, partial, n)      // partial[0..G) = per-block sums
//     sum_f32<<<1, B>>>(partial, out, G)    // out[0] = total
#include "common.cuh"
#include "math.cuh"

#define MAX_WARPS 32  // blockDim.x <= 1024

// Thread <-> data: block b, thread t sums x[b*B + t], x[b*B + t + G*B], ... (grid-stride, so any n
// and any grid size work). The block then reduces its B partial sums: shuffles within each warp
// (partial member mask in the last warp when B is not a multiple of 32), one value per warp into
// shared memory, and the first warp reduces those. Thread 0 writes partial[b].
// Launch: 1-D grid and block, blockDim.x <= 1024.
extern "C" __global__ void sum_f32(const float* __restrict__ x, float* __restrict__ partial,
                                   unsigned n) {
    __shared__ float warp_sums[MAX_WARPS];
    float acc = 0.0f;
    GRID_STRIDE_LOOP(i, n) { acc += x[i]; }

    unsigned lane = threadIdx.x % WARP_SIZE;
    unsigned warp = threadIdx.x / WARP_SIZE;
    unsigned nwarps = (blockDim.x + WARP_SIZE - 1) / WARP_SIZE;
    acc = warp_sum_prefix(acc, warp_members_mask());
    if (lane == 0) warp_sums[warp] = acc;
    __syncthreads();

    if (warp == 0) {
        // The first warp reduces the nwarps per-warp sums; only lanes < nwarps take part.
        if (lane < nwarps) {
            unsigned mask = nwarps >= WARP_SIZE ? FULL_MASK : ((1u << nwarps) - 1u);
            float v = warp_sums[lane];
            v = warp_sum_prefix(v, mask);
            if (lane == 0) partial[blockIdx.x] = v;
        }
    }
}

// Row sums of a row-major [rows, cols] matrix: out[r] = sum_c x[r*cols + c].
// Thread <-> data: one block per row (grid-stride over rows with blockIdx.x), the block's threads
// stride over the row's columns, then reduce as in sum_f32. Used for bias gradients and losses.
extern "C" __global__ void sum_rows_f32(const float* __restrict__ x, float* __restrict__ out,
                                        unsigned rows, unsigned cols) {
    __shared__ float warp_sums[MAX_WARPS];
    unsigned lane = threadIdx.x % WARP_SIZE;
    unsigned warp = threadIdx.x / WARP_SIZE;
    unsigned nwarps = (blockDim.x + WARP_SIZE - 1) / WARP_SIZE;
    for (unsigned r = blockIdx.x; r < rows; r += gridDim.x) {
        const float* row = x + (unsigned long long)r * cols;
        float acc = 0.0f;
        for (unsigned c = threadIdx.x; c < cols; c += blockDim.x) acc += row[c];
        acc = warp_sum_prefix(acc, warp_members_mask());
        if (lane == 0) warp_sums[warp] = acc;
        __syncthreads();
        if (warp == 0 && lane < nwarps) {
            unsigned mask = nwarps >= WARP_SIZE ? FULL_MASK : ((1u << nwarps) - 1u);
            float v = warp_sum_prefix(warp_sums[lane], mask);
            if (lane == 0) out[r] = v;
        }
        __syncthreads();  // warp_sums is reused by the next row
    }
}

// ---- Axis reductions over a contiguous [outer, red, inner] view, reducing the middle axis ----
// (every axis set, after the engine permutes and merges dims). f32 and f64, deterministic: the
// order of the additions depends only on the shape and blockDim.x (the engine launches 256),
// never on the grid or on scheduling. Three thread <-> data maps, chosen by shape alone:
//   inner == 1, red <  AXIS_BLOCK_ROW: one warp per row, lanes stride the row (coalesced),
//                                      shuffle tree; grid-stride over rows by warps.
//   inner == 1, red >= AXIS_BLOCK_ROW: one block per row, then per-warp trees, then warp 0.
//   inner > 1:  one thread per output (o, j), summing r = 0..red in order; consecutive threads
//               take consecutive j, so each step of the loop is a coalesced row of `inner`.
// Launch: 1-D, blockDim.x a multiple of 32 (<= 1024), any grid.
#define AXIS_BLOCK_ROW 4096

// A reduction's running state: add(x, r) folds element r in (r increasing within a thread),
// merge(o) folds a state of other elements in; shfl_down moves a state across lanes.
template <typename T> struct SumState {
    T s;
    static __forceinline__ SumState make(T s) {
        SumState r;  // NVRTC here compiles C++03: no brace initialisers, no nullptr
        r.s = s;
        return r;
    }
    static __forceinline__ SumState init() { return make(T(0)); }
    __forceinline__ void add(T x, unsigned) { s += x; }
    __forceinline__ void merge(const SumState& o) { s += o.s; }
    __forceinline__ SumState shfl_down(unsigned off) const {
        return make(__shfl_down_sync(FULL_MASK, s, off));
    }
    __forceinline__ void write(T* out, unsigned*, unsigned long long k) const { out[k] = s; }
};

// Max with its index: a total order (NaN first, lowest index among NaNs; else larger value,
// lowest index on ties), so any merge tree gives the CPU's sequential answer: the first NaN
// if any, else the first maximum. The identity (-inf, UINT_MAX) loses to every element.
template <typename T> struct MaxState {
    T v;
    unsigned i;
    static __forceinline__ MaxState make(T v, unsigned i) {
        MaxState r;
        r.v = v;
        r.i = i;
        return r;
    }
    static __forceinline__ MaxState init() { return make(-dinf<T>(), 0xffffffffu); }
    __forceinline__ bool beats(T ov, unsigned oi) const {
        bool n = disnan(v), on = disnan(ov);
        if (n != on) return n;
        if (!n && v != ov) return v > ov;
        return i < oi;
    }
    __forceinline__ void add(T x, unsigned r) {
        if (!beats(x, r)) { v = x; i = r; }
    }
    __forceinline__ void merge(const MaxState& o) {
        if (!beats(o.v, o.i)) { v = o.v; i = o.i; }
    }
    __forceinline__ MaxState shfl_down(unsigned off) const {
        return make(__shfl_down_sync(FULL_MASK, v, off), __shfl_down_sync(FULL_MASK, i, off));
    }
    // An empty axis (red == 0) gives (-inf, 0).
    __forceinline__ void write(T* out, unsigned* argmax, unsigned long long k) const {
        out[k] = v;
        argmax[k] = i == 0xffffffffu ? 0u : i;
    }
};

// Tree over the 32 lanes of a full warp: lane l merges lane l + off (off = 16 .. 1).
// The result is valid in lane 0.
template <typename S> __forceinline__ S warp_reduce_state(S st) {
    for (unsigned off = WARP_SIZE / 2; off > 0; off >>= 1) st.merge(st.shfl_down(off));
    return st;
}

template <typename S, typename T>
__device__ __forceinline__ void reduce_axis(const T* __restrict__ x, T* __restrict__ out,
                                            unsigned* __restrict__ argmax, unsigned outer,
                                            unsigned red, unsigned inner) {
    __shared__ S warp_states[MAX_WARPS];
    unsigned lane = threadIdx.x % WARP_SIZE;
    unsigned warp = threadIdx.x / WARP_SIZE;
    if (inner != 1) {
        GRID_STRIDE_LOOP(k, (unsigned long long)outer * inner) {
            unsigned long long o = k / inner, j = k % inner;
            const T* p = x + o * red * inner + j;
            S st = S::init();
            for (unsigned r = 0; r < red; ++r) st.add(p[(unsigned long long)r * inner], r);
            st.write(out, argmax, k);
        }
        return;
    }
    if (red < AXIS_BLOCK_ROW) {
        unsigned warps_per_block = blockDim.x / WARP_SIZE;
        for (unsigned row = blockIdx.x * warps_per_block + warp; row < outer;
             row += gridDim.x * warps_per_block) {
            const T* p = x + (unsigned long long)row * red;
            S st = S::init();
            for (unsigned r = lane; r < red; r += WARP_SIZE) st.add(p[r], r);
            st = warp_reduce_state(st);
            if (lane == 0) st.write(out, argmax, row);
        }
        return;
    }
    unsigned nwarps = blockDim.x / WARP_SIZE;
    for (unsigned row = blockIdx.x; row < outer; row += gridDim.x) {
        const T* p = x + (unsigned long long)row * red;
        S st = S::init();
        for (unsigned r = threadIdx.x; r < red; r += blockDim.x) st.add(p[r], r);
        st = warp_reduce_state(st);
        if (lane == 0) warp_states[warp] = st;
        __syncthreads();
        if (warp == 0) {
            S w = lane < nwarps ? warp_states[lane] : S::init();
            w = warp_reduce_state(w);
            if (lane == 0) w.write(out, argmax, row);
        }
        __syncthreads();  // warp_states is reused by the next row
    }
}

// dx[o, r, j] = dy[o, j] where r == argmax[o, j], else 0 (a gather: no atomics, no races).
template <typename T>
__device__ __forceinline__ void max_axis_bwd(const T* __restrict__ dy,
                                             const unsigned* __restrict__ argmax,
                                             T* __restrict__ dx, unsigned outer, unsigned red,
                                             unsigned inner) {
    unsigned long long block = (unsigned long long)red * inner;
    GRID_STRIDE_LOOP(k, (unsigned long long)outer * block) {
        unsigned long long o = k / block, rem = k % block;
        unsigned long long r = rem / inner, j = rem % inner;
        unsigned long long src = o * inner + j;
        dx[k] = argmax[src] == r ? dy[src] : T(0);
    }
}

#define REDUCE_AXIS_ENTRIES(T, S)                                                               \
    extern "C" __global__ void __launch_bounds__(1024)                                          \
        sum_axis_##S(const T* x, T* out, unsigned outer, unsigned red, unsigned inner) {        \
        reduce_axis<SumState<T>, T>(x, out, (unsigned*)0, outer, red, inner);                        \
    }                                                                                           \
    extern "C" __global__ void __launch_bounds__(1024)                                          \
        max_axis_##S(const T* x, T* out, unsigned* argmax, unsigned outer, unsigned red,        \
                     unsigned inner) {                                                          \
        reduce_axis<MaxState<T>, T>(x, out, argmax, outer, red, inner);                         \
    }                                                                                           \
    extern "C" __global__ void __launch_bounds__(1024)                                          \
        max_axis_bwd_##S(const T* dy, const unsigned* argmax, T* dx, unsigned outer,            \
                         unsigned red, unsigned inner) {                                        \
        max_axis_bwd<T>(dy, argmax, dx, outer, red, inner);                                     \
    }
REDUCE_AXIS_ENTRIES(float, f32)
REDUCE_AXIS_ENTRIES(double, f64)
