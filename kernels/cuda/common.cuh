// Shared helpers for the kernels in kernels/cuda/*.cu (compiled with NVRTC, -default-device).
#pragma once

#define WARP_SIZE 32
#define FULL_MASK 0xffffffffu

// Grid-stride loop over [0, n): thread (block b, thread t) visits b*blockDim + t, then strides by
// the total number of threads in the grid, so any n works with any launch size.
#define GRID_STRIDE_LOOP(i, n)                                                              \
    for (unsigned long long i = (unsigned long long)blockIdx.x * blockDim.x + threadIdx.x; \
         i < (unsigned long long)(n); i += (unsigned long long)blockDim.x * gridDim.x)

// Loops `row` over this warp's rows (one warp per row, rows grid-strided by warps).
#define FOR_WARP_ROWS(row, rows)                                                           \
    for (unsigned row = (blockIdx.x * blockDim.x + threadIdx.x) / WARP_SIZE; row < (rows); \
         row += gridDim.x * blockDim.x / WARP_SIZE)

// Mask of the lanes of this thread's warp that exist in the block: all 32, except in the last
// warp of a block whose size is not a multiple of 32 (those lanes are never launched).
__forceinline__ unsigned warp_members_mask() {
    unsigned threads = blockDim.x * blockDim.y * blockDim.z;
    unsigned linear = (threadIdx.z * blockDim.y + threadIdx.y) * blockDim.x + threadIdx.x;
    unsigned warp_start = linear & ~(WARP_SIZE - 1u);
    unsigned lanes = threads - warp_start;
    return lanes >= WARP_SIZE ? FULL_MASK : ((1u << lanes) - 1u);
}

// Sum of v over the lanes in `mask`, which must be a prefix 0..k-1 of the warp (as returned by
// warp_members_mask). Tree reduction with shuffles: at each step lane l adds lane l+offset when
// that lane is a member. The result is valid in lane 0.
__forceinline__ float warp_sum_prefix(float v, unsigned mask) {
    unsigned lane = threadIdx.x & (WARP_SIZE - 1u);
    for (unsigned offset = WARP_SIZE / 2; offset > 0; offset >>= 1) {
        float other = __shfl_down_sync(mask, v, offset);
        if (lane + offset < WARP_SIZE && ((mask >> (lane + offset)) & 1u)) v += other;
    }
    return v;
}
