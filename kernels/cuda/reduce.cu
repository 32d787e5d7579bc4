// Reductions. Deterministic: no floating-point atomics, so a sum is bit-for-bit reproducible
// for a given launch size. A full sum of n values takes two launches:
//     sum_f32<<<G, B>>>(x, partial, n)      // partial[0..G) = per-block sums
//     sum_f32<<<1, B>>>(partial, out, G)    // out[0] = total
#include "common.cuh"

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
