// Type-generic device math for the templated kernels (T = float or double): one name per
// function, overloaded, so a template body reads the same for both precisions.
#pragma once

__forceinline__ float dexp(float x) { return expf(x); }
__forceinline__ double dexp(double x) { return exp(x); }
__forceinline__ float dlog(float x) { return logf(x); }
__forceinline__ double dlog(double x) { return log(x); }
__forceinline__ float dsqrt(float x) { return sqrtf(x); }
__forceinline__ double dsqrt(double x) { return sqrt(x); }
__forceinline__ float dtanh(float x) { return tanhf(x); }
__forceinline__ double dtanh(double x) { return tanh(x); }
__forceinline__ float dpow(float x, float p) { return powf(x, p); }
// pow for double as exp(p ln|x|) with the sign and special cases of C's pow (relative error
// about |p ln x| * 1e-16). Why not CUDA's pow(double): it calls a forward-declared .func
// (__internal_accurate_pow) that the simulator cannot load yet.
__forceinline__ double dpow(double x, double p) {
    if (p == 0.0 || x == 1.0) return 1.0;
    if (x != x || p != p) return x + p;  // NaN
    double ax = fabs(x);
    bool p_int = floor(p) == p;
    if (x < 0.0 && !p_int) return __longlong_as_double(0x7ff8000000000000ll);
    double r = exp(p * log(ax));  // ax == 0: log = -inf, so r = 0 (p > 0) or inf (p < 0)
    bool odd = p_int && fabs(p) < 9007199254740992.0 && fmod(p, 2.0) != 0.0;
    return (x < 0.0 && odd) ? -r : r;
}
__forceinline__ float derf(float x) { return erff(x); }
__forceinline__ double derf(double x) { return erf(x); }
__forceinline__ float dabs(float x) { return fabsf(x); }
__forceinline__ double dabs(double x) { return fabs(x); }
__forceinline__ float dfma(float a, float b, float c) { return fmaf(a, b, c); }
__forceinline__ double dfma(double a, double b, double c) { return fma(a, b, c); }
// max ignoring NaN (like Rust's f32::max, used by the CPU softmax's row max).
__forceinline__ float dfmax(float a, float b) { return fmaxf(a, b); }
__forceinline__ double dfmax(double a, double b) { return fmax(a, b); }
template <typename T> __forceinline__ bool disnan(T x) { return x != x; }
template <typename T> __forceinline__ T dinf();
template <> __forceinline__ float dinf<float>() { return __int_as_float(0x7f800000); }
template <> __forceinline__ double dinf<double>() { return __longlong_as_double(0x7ff0000000000000ll); }
template <typename T> __forceinline__ T dnan();
template <> __forceinline__ float dnan<float>() { return __int_as_float(0x7fffffff); }
template <> __forceinline__ double dnan<double>() { return __longlong_as_double(0x7fffffffffffffffll); }

// Sum of v over the lanes in `mask` (a prefix 0..k-1 of the warp), the same tree as
// common.cuh's warp_sum_prefix, for any T. The result is valid in lane 0.
template <typename T> __forceinline__ T warp_sum_prefix_t(T v, unsigned mask) {
    unsigned lane = threadIdx.x & (WARP_SIZE - 1u);
    for (unsigned offset = WARP_SIZE / 2; offset > 0; offset >>= 1) {
        T other = __shfl_down_sync(mask, v, offset);
        if (lane + offset < WARP_SIZE && ((mask >> (lane + offset)) & 1u)) v += other;
    }
    return v;
}

// Full-warp sum, the result in every lane (butterfly: every lane ends with the same value,
// summed in the same order, so all lanes agree bit for bit).
template <typename T> __forceinline__ T warp_allsum(T v) {
    for (unsigned offset = WARP_SIZE / 2; offset > 0; offset >>= 1)
        v += __shfl_xor_sync(FULL_MASK, v, offset);
    return v;
}
