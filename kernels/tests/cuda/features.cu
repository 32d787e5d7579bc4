// Test-only kernels exercising features of the PTX simulator that the shipped kernels use
// little or not at all. Each is checked against a Rust reference in tests/kernels_features.rs.
#include "common.cuh"

#define HIST_BINS 256

// Histogram of bytes with shared-memory atomics. Thread <-> data: grid-stride over x; each
// block counts into its own shared bins (atomicAdd on shared), then adds its bins to the global
// histogram (atomicAdd on global, one per bin per block). Any blockDim.x, any grid.
extern "C" __global__ void histogram_u8(const unsigned char* __restrict__ x, unsigned n,
                                        unsigned* __restrict__ bins) {
    __shared__ unsigned local[HIST_BINS];
    for (unsigned b = threadIdx.x; b < HIST_BINS; b += blockDim.x) local[b] = 0;
    __syncthreads();
    GRID_STRIDE_LOOP(i, n) { atomicAdd(&local[x[i]], 1u); }
    __syncthreads();
    for (unsigned b = threadIdx.x; b < HIST_BINS; b += blockDim.x)
        if (local[b]) atomicAdd(&bins[b], local[b]);
}

// 3-D grid and block: out[z][y][x] (dims nx, ny, nz) = x + 1000*y + 1000000*z, with every index
// computed from all three components of blockIdx/blockDim/threadIdx (grid-stride in each).
extern "C" __global__ void grid3d_index(unsigned* __restrict__ out, unsigned nx, unsigned ny,
                                        unsigned nz) {
    for (unsigned z = blockIdx.z * blockDim.z + threadIdx.z; z < nz; z += blockDim.z * gridDim.z)
        for (unsigned y = blockIdx.y * blockDim.y + threadIdx.y; y < ny;
             y += blockDim.y * gridDim.y)
            for (unsigned x = blockIdx.x * blockDim.x + threadIdx.x; x < nx;
                 x += blockDim.x * gridDim.x)
                out[((unsigned long long)z * ny + y) * nx + x] = x + 1000u * y + 1000000u * z;
}

// A real call: __noinline__ keeps `call.uni` with .param passing in the PTX. Two levels deep,
// with a branch inside the callee.
__noinline__ float clamp_scale(float v, float lo, float hi) {
    if (v < lo) return lo;
    if (v > hi) return hi;
    return v;
}
__noinline__ float poly3(float x, float a, float b, float c) {
    float y = fmaf(fmaf(a, x, b), x, c);  // a*x^2 + b*x + c
    return clamp_scale(y, -10.0f, 10.0f);
}
// y[i] = clamp(a*x^2 + b*x + c, -10, 10)
extern "C" __global__ void devfunc_poly(const float* __restrict__ x, float* __restrict__ y,
                                        unsigned n, float a, float b, float c) {
    GRID_STRIDE_LOOP(i, n) { y[i] = poly3(x[i], a, b, c); }
}

// A per-thread array indexed with runtime values, which forces local memory (ld/st.local):
// buf[k] = x[i] * (k + 1) for k < 16, then y[i] = buf[idx[i] % 16] + buf[(idx[i] * 7) % 16].
extern "C" __global__ void local_array(const float* __restrict__ x,
                                       const unsigned* __restrict__ idx, float* __restrict__ y,
                                       unsigned n) {
    GRID_STRIDE_LOOP(i, n) {
        float buf[16];
        for (int k = 0; k < 16; ++k) buf[k] = x[i] * (float)(k + 1);
        unsigned j = idx[i];
        y[i] = buf[j % 16] + buf[(j * 7) % 16];
    }
}

// Dynamic shared memory (size given at launch: blockDim.x floats). Each block reverses its
// segment of x: thread t of block b loads x[b*B + t] into s[t]; after the barrier it writes
// s[count - 1 - t] where count is the number of valid elements in the segment (n may not be a
// multiple of B). One segment per block per grid-stride step.
extern "C" __global__ void reverse_segments(const float* __restrict__ x, float* __restrict__ y,
                                            unsigned n) {
    extern __shared__ float s[];
    for (unsigned base = blockIdx.x * blockDim.x; base < n; base += blockDim.x * gridDim.x) {
        unsigned count = min(blockDim.x, n - base);
        unsigned t = threadIdx.x;
        if (t < count) s[t] = x[base + t];
        __syncthreads();
        if (t < count) y[base + t] = s[count - 1 - t];
        __syncthreads();
    }
}

// Early return before a barrier, with blockDim.x not a multiple of 32: threads past the end
// exit, the rest meet at __syncthreads (exited threads must not hold it up) and then read a
// neighbour's value: y[i] = x[i] + x[next], next = the following element in the block, wrapping
// to the block's first. Launched with a grid that covers n exactly once (no grid-stride: the
// return would end the loop).
extern "C" __global__ void early_return_neighbor(const float* __restrict__ x,
                                                 float* __restrict__ y, unsigned n) {
    __shared__ float s[1024];
    unsigned base = blockIdx.x * blockDim.x;
    unsigned i = base + threadIdx.x;
    if (i >= n) return;
    s[threadIdx.x] = x[i];
    __syncthreads();
    unsigned count = min(blockDim.x, n - base);
    y[i] = s[threadIdx.x] + s[(threadIdx.x + 1) % count];
}

// Warp vote and shuffle variants with a partial mask: lanes t < 8 of each warp only.
// out[i] (for i's lane < 8) = ballot of (x > 0) among those lanes + 1000 * sum of the lane's
// xor-butterfly partner values over widths 8 (via __shfl_xor_sync).
extern "C" __global__ void warp_partial(const int* __restrict__ x, int* __restrict__ out,
                                        unsigned n) {
    unsigned i = blockIdx.x * blockDim.x + threadIdx.x;
    unsigned lane = threadIdx.x % 32;
    if (i < n && lane < 8) {
        int v = x[i];
        unsigned ballot = __ballot_sync(0xffu, v > 0);
        int s = v;
        for (int m = 4; m > 0; m >>= 1) s += __shfl_xor_sync(0xffu, s, m, 8);
        out[i] = (int)ballot + 1000 * s;
    }
}
