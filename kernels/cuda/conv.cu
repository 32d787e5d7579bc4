// Conv2d data movement for im2col + GEMM (the GEMM is gemm.cu): the column matrix of a whole
// batch and its adjoint, the gather back into the input gradient.
//
// Column layout: cols[r][q] with row r = (c * kh + i) * kw + j (input channel c, kernel tap
// (i, j); a group's rows are contiguous) and column q = (b * OH + oy) * OW + ox (image b, output
// pixel). The forward GEMM W[OC, K] x cols[K, N*P] then gives [OC, N*P], which one strided copy
// turns into NCHW.
// Launch: 1-D, 256 threads per block, any grid (grid-stride loops).
#include "common.cuh"

#define CONV_THREADS 256

// cols[r][q] = x[b, c, oy*sh - ph + i*dh, ox*sw - pw + j*dw], 0 in the padding. Consecutive
// threads write consecutive q (coalesced stores; loads stride by sw).
template <typename T>
__device__ __forceinline__ void im2col(const T* __restrict__ x, T* __restrict__ cols,
                                       unsigned n, unsigned c, unsigned h, unsigned w,
                                       unsigned kh, unsigned kw, unsigned oh, unsigned ow,
                                       unsigned sh, unsigned sw, unsigned ph, unsigned pw,
                                       unsigned dh, unsigned dw) {
    unsigned long long np = (unsigned long long)n * oh * ow;
    unsigned long long total = (unsigned long long)c * kh * kw * np;
    GRID_STRIDE_LOOP(t, total) {
        unsigned long long q = t % np, r = t / np;
        unsigned j = r % kw, i = (r / kw) % kh, ci = r / ((unsigned long long)kw * kh);
        unsigned ox = q % ow, oy = (q / ow) % oh, b = q / ((unsigned long long)ow * oh);
        long long iy = (long long)oy * sh - ph + (long long)i * dh;
        long long ix = (long long)ox * sw - pw + (long long)j * dw;
        bool inside = iy >= 0 && iy < h && ix >= 0 && ix < w;
        cols[t] = inside ? x[(((unsigned long long)b * c + ci) * h + iy) * w + ix] : T(0);
    }
}

// dx[b, c, y, x] = sum over taps (i, j), in order, of dcols[(c*kh + i)*kw + j][q] for the
// output pixel q that read (y, x) through that tap (if any): a gather, no atomics.
template <typename T>
__device__ __forceinline__ void col2im(const T* __restrict__ dcols, T* __restrict__ dx,
                                       unsigned n, unsigned c, unsigned h, unsigned w,
                                       unsigned kh, unsigned kw, unsigned oh, unsigned ow,
                                       unsigned sh, unsigned sw, unsigned ph, unsigned pw,
                                       unsigned dh, unsigned dw) {
    unsigned long long np = (unsigned long long)n * oh * ow;
    unsigned long long total = (unsigned long long)n * c * h * w;
    GRID_STRIDE_LOOP(t, total) {
        unsigned xx = t % w, y = (t / w) % h;
        unsigned long long bc = t / ((unsigned long long)w * h);
        unsigned ci = bc % c, b = bc / c;
        T acc = T(0);
        for (unsigned i = 0; i < kh; ++i) {
            long long ty = (long long)y + ph - (long long)i * dh;  // = oy * sh
            if (ty < 0 || ty % sh != 0 || ty / sh >= oh) continue;
            unsigned oy = ty / sh;
            for (unsigned j = 0; j < kw; ++j) {
                long long tx = (long long)xx + pw - (long long)j * dw;
                if (tx < 0 || tx % sw != 0 || tx / sw >= ow) continue;
                unsigned ox = tx / sw;
                unsigned long long r = ((unsigned long long)ci * kh + i) * kw + j;
                unsigned long long q = ((unsigned long long)b * oh + oy) * ow + ox;
                acc += dcols[r * np + q];
            }
        }
        dx[t] = acc;
    }
}

#define CONV_PARAMS                                                                         \
    unsigned n, unsigned c, unsigned h, unsigned w, unsigned kh, unsigned kw, unsigned oh,  \
        unsigned ow, unsigned sh, unsigned sw, unsigned ph, unsigned pw, unsigned dh,       \
        unsigned dw
#define CONV_ARGS n, c, h, w, kh, kw, oh, ow, sh, sw, ph, pw, dh, dw
#define CONV_ENTRIES(T, S)                                                                  \
    extern "C" __global__ void __launch_bounds__(CONV_THREADS, 1)                              \
        conv2d_im2col_##S(const T* x, T* cols, CONV_PARAMS) {                               \
        im2col<T>(x, cols, CONV_ARGS);                                                      \
    }                                                                                       \
    extern "C" __global__ void __launch_bounds__(CONV_THREADS, 1)                              \
        conv2d_col2im_##S(const T* dcols, T* dx, CONV_PARAMS) {                             \
        col2im<T>(dcols, dx, CONV_ARGS);                                                    \
    }
CONV_ENTRIES(float, f32)
CONV_ENTRIES(double, f64)
