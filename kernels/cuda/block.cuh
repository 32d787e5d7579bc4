// Block-wide reductions shared by the kernels (fixed order: deterministic).
#pragma once
#include "common.cuh"
#include "math.cuh"

#define MAX_WARPS 32

// Sum of v over the block (blockDim.x a multiple of 32), valid in thread 0; fixed order.
template <typename T> __device__ __forceinline__ T block_sum(T v) {
    __shared__ T warp_sums[MAX_WARPS];
    unsigned lane = threadIdx.x % WARP_SIZE, warp = threadIdx.x / WARP_SIZE;
    v = warp_allsum(v);
    if (lane == 0) warp_sums[warp] = v;
    __syncthreads();
    T total = T(0);
    if (warp == 0) {
        total = lane < blockDim.x / WARP_SIZE ? warp_sums[lane] : T(0);
        total = warp_allsum(total);
    }
    __syncthreads();  // warp_sums may be reused by a later call
    return total;
}
