// Philox4x32-10 counter-based random numbers (Salmon et al., "Parallel random numbers: as easy
// as 1, 2, 3", SC'11). Stateless: output word j of counter block g depends only on
// (seed, offset + g), so any launch size gives the same stream, and a stream can be resumed at
// any offset (offset counts blocks of 4 outputs).
//
//   key     = (lo32(seed), hi32(seed))
//   counter = (lo32(offset + g), hi32(offset + g), 0, 0)
//   out[4g + j] = word j of philox4x32_10(counter, key), j = 0..3
#include "common.cuh"

#define PHILOX_M0 0xD2511F53u
#define PHILOX_M1 0xCD9E8D57u
#define PHILOX_W0 0x9E3779B9u  // golden ratio
#define PHILOX_W1 0xBB67AE85u  // sqrt(3) - 1

__forceinline__ uint4 philox4x32_10(uint4 c, uint2 k) {
#pragma unroll
    for (int round = 0; round < 10; ++round) {
        unsigned hi0 = __umulhi(PHILOX_M0, c.x), lo0 = PHILOX_M0 * c.x;
        unsigned hi1 = __umulhi(PHILOX_M1, c.z), lo1 = PHILOX_M1 * c.z;
        c = make_uint4(hi1 ^ c.y ^ k.x, lo1, hi0 ^ c.w ^ k.y, lo0);
        k.x += PHILOX_W0;
        k.y += PHILOX_W1;
    }
    return c;
}

__forceinline__ uint4 philox_block(unsigned long long seed, unsigned long long block) {
    uint4 c = make_uint4((unsigned)block, (unsigned)(block >> 32), 0u, 0u);
    uint2 k = make_uint2((unsigned)seed, (unsigned)(seed >> 32));
    return philox4x32_10(c, k);
}

// True when p is aligned for 16-byte vector accesses (then a full counter block is one
// st.global.v4 instead of four strided scalar stores: 4x fewer warp requests).
__forceinline__ bool aligned16(const void* p) { return ((unsigned long long)p & 15) == 0; }

// 24 high bits -> float in [0, 1), exactly representable: (u >> 8) * 2^-24.
__forceinline__ float u32_to_unit_f32(unsigned u) { return (float)(u >> 8) * 5.9604644775390625e-8f; }

// Thread <-> data: grid-stride over counter blocks g = 0 .. ceil(n/4); thread handling g writes
// out[4g .. 4g+3] (those < n): one 16-byte store when out is 16-byte aligned and the block is
// complete, else scalar stores. Raw 32-bit words.
extern "C" __global__ void philox_u32(unsigned* __restrict__ out, unsigned n,
                                      unsigned long long seed, unsigned long long offset) {
    unsigned long long blocks = ((unsigned long long)n + 3) / 4;
    bool vec = aligned16(out);
    GRID_STRIDE_LOOP(g, blocks) {
        uint4 r = philox_block(seed, offset + g);
        if (vec && 4 * g + 3 < n) {
            reinterpret_cast<uint4*>(out)[g] = r;
            continue;
        }
        unsigned words[4] = {r.x, r.y, r.z, r.w};
#pragma unroll
        for (int j = 0; j < 4; ++j)
            if (4 * g + j < n) out[4 * g + j] = words[j];
    }
}

// Uniform floats in [0, 1) (24-bit resolution): same mapping as philox_u32, then u32_to_unit_f32.
extern "C" __global__ void philox_uniform_f32(float* __restrict__ out, unsigned n,
                                              unsigned long long seed,
                                              unsigned long long offset) {
    unsigned long long blocks = ((unsigned long long)n + 3) / 4;
    bool vec = aligned16(out);
    GRID_STRIDE_LOOP(g, blocks) {
        uint4 r = philox_block(seed, offset + g);
        float v[4] = {u32_to_unit_f32(r.x), u32_to_unit_f32(r.y), u32_to_unit_f32(r.z),
                      u32_to_unit_f32(r.w)};
        if (vec && 4 * g + 3 < n) {
            reinterpret_cast<float4*>(out)[g] = make_float4(v[0], v[1], v[2], v[3]);
            continue;
        }
#pragma unroll
        for (int j = 0; j < 4; ++j)
            if (4 * g + j < n) out[4 * g + j] = v[j];
    }
}

// Dropout mask and scale in one pass: y[i] = x[i] * scale if u_i >= p else 0, where u_i is the
// i-th uniform of the (seed, offset) stream (same as philox_uniform_f32) and scale = 1/(1-p).
// mask[i] = 1 if kept else 0 (bytes), for the backward pass: dx = dy * mask * scale.
extern "C" __global__ void dropout_fwd_f32(const float* __restrict__ x, float* __restrict__ y,
                                           unsigned char* __restrict__ mask, unsigned n, float p,
                                           unsigned long long seed, unsigned long long offset) {
    float scale = p < 1.0f ? 1.0f / (1.0f - p) : 0.0f;
    unsigned long long blocks = ((unsigned long long)n + 3) / 4;
    // Vector path: x and y 16-byte aligned, mask 4-byte aligned, complete counter block.
    bool vec = aligned16(x) && aligned16(y) && ((unsigned long long)mask & 3) == 0;
    GRID_STRIDE_LOOP(g, blocks) {
        uint4 r = philox_block(seed, offset + g);
        if (vec && 4 * g + 3 < n) {
            float4 xv = reinterpret_cast<const float4*>(x)[g];
            bool k0 = u32_to_unit_f32(r.x) >= p, k1 = u32_to_unit_f32(r.y) >= p;
            bool k2 = u32_to_unit_f32(r.z) >= p, k3 = u32_to_unit_f32(r.w) >= p;
            reinterpret_cast<float4*>(y)[g] =
                make_float4(k0 ? xv.x * scale : 0.0f, k1 ? xv.y * scale : 0.0f,
                            k2 ? xv.z * scale : 0.0f, k3 ? xv.w * scale : 0.0f);
            reinterpret_cast<uchar4*>(mask)[g] = make_uchar4(k0, k1, k2, k3);
            continue;
        }
        unsigned words[4] = {r.x, r.y, r.z, r.w};
#pragma unroll
        for (int j = 0; j < 4; ++j) {
            unsigned long long i = 4 * g + j;
            if (i < n) {
                bool keep = u32_to_unit_f32(words[j]) >= p;
                y[i] = keep ? x[i] * scale : 0.0f;
                mask[i] = keep ? 1 : 0;
            }
        }
    }
}

// dx[i] = dy[i] * mask[i] * scale, scale = 1/(1-p). Grid-stride, one element per thread step.
extern "C" __global__ void dropout_bwd_f32(const float* __restrict__ dy,
                                           const unsigned char* __restrict__ mask,
                                           float* __restrict__ dx, unsigned n, float p) {
    float scale = p < 1.0f ? 1.0f / (1.0f - p) : 0.0f;
    GRID_STRIDE_LOOP(i, n) { dx[i] = mask[i] ? dy[i] * scale : 0.0f; }
}

// ---- f64 dropout: the same keep decision as dropout_fwd_f32 ----
// Element i is kept iff word (i % 4) of counter block offset + i / 4, as a 24-bit uniform,
// is >= (float)p: exactly the f32 kernel's test with the f32 kernel's p, so f32 and f64 masks
// agree for the same (p, seed, offset). scale = 1 / (1 - p) in double (0 when p >= 1).
//
// Thread <-> data: a warp takes 128 consecutive elements (32 counter blocks) at a time, lane l
// computing block l of them; the words are then redistributed with shuffles so that lane l
// handles elements l, l + 32, l + 64, l + 96: every load and store is coalesced (the f32
// kernel gets the same from 16-byte vectors, which would half-fill sectors for doubles).
// Launch: 1-D, 256 threads (at most; a multiple of 32), any grid.
extern "C" __global__ void __launch_bounds__(256)
dropout_fwd_f64(const double* __restrict__ x, double* __restrict__ y,
                unsigned char* __restrict__ mask, unsigned n, double p, unsigned long long seed,
                unsigned long long offset) {
    float pf = (float)p;
    double scale = p < 1.0 ? 1.0 / (1.0 - p) : 0.0;
    unsigned lane = threadIdx.x % WARP_SIZE;
    unsigned long long warp = ((unsigned long long)blockIdx.x * blockDim.x + threadIdx.x) / WARP_SIZE;
    unsigned long long warps = (unsigned long long)gridDim.x * blockDim.x / WARP_SIZE;
    unsigned long long chunks = ((unsigned long long)n + 127) / 128;
    for (unsigned long long c = warp; c < chunks; c += warps) {  // warp-uniform: shuffles below
        uint4 r = philox_block(seed, offset + c * 32 + lane);
#pragma unroll
        for (unsigned k = 0; k < 4; ++k) {
            unsigned src = k * 8 + lane / 4;  // the lane that computed this element's block
            unsigned wx = __shfl_sync(FULL_MASK, r.x, src), wy = __shfl_sync(FULL_MASK, r.y, src);
            unsigned wz = __shfl_sync(FULL_MASK, r.z, src), ww = __shfl_sync(FULL_MASK, r.w, src);
            unsigned j = lane % 4;
            unsigned word = j == 0 ? wx : j == 1 ? wy : j == 2 ? wz : ww;
            unsigned long long i = c * 128 + k * 32 + lane;
            if (i < n) {
                bool keep = u32_to_unit_f32(word) >= pf;
                y[i] = keep ? x[i] * scale : 0.0;
                mask[i] = keep ? 1 : 0;
            }
        }
    }
}

// dx[i] = dy[i] * mask[i] * scale, scale = 1/(1-p) in double. Grid-stride, 256 threads.
extern "C" __global__ void dropout_bwd_f64(const double* __restrict__ dy,
                                           const unsigned char* __restrict__ mask,
                                           double* __restrict__ dx, unsigned n, double p) {
    double scale = p < 1.0 ? 1.0 / (1.0 - p) : 0.0;
    GRID_STRIDE_LOOP(i, n) { dx[i] = mask[i] ? dy[i] * scale : 0.0; }
}
