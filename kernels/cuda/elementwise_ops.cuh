// The elementwise op tables: codes (the engine's enum order, mirrored as Rust consts in
// kernels/src/ptx.rs, `elementwise::UNARY_*` / `BINARY_*`) and each op's math.
//
// To add an op: append it to the X-list (next code), write its Unary<> (or Binary<>)
// specialisation below, mirror the code in ptx.rs. The kernels dispatch on the list.
#pragma once
#include "math.cuh"

// X(NAME, CODE) for every unary op, in engine/src/ops/elementwise.rs UnaryOp order.
#define UNARY_OP_LIST(X) \
    X(NEG, 0)            \
    X(EXP, 1)            \
    X(LOG, 2)            \
    X(SQRT, 3)           \
    X(ABS, 4)            \
    X(RELU, 5)           \
    X(SIGMOID, 6)        \
    X(TANH, 7)           \
    X(POWF, 8)           \
    X(ADD_SCALAR, 9)     \
    X(MUL_SCALAR, 10)    \
    X(LEAKY_RELU, 11)    \
    X(GELU, 12)          \
    X(GELU_TANH, 13)     \
    X(SILU, 14)          \
    X(CLAMP_MIN, 15)     \
    X(CLAMP_MAX, 16)

// X(NAME, CODE) for every binary op, in the engine's BinaryCode order. MAX_SHARE, POW_DBASE and
// POW_DEXP are gradient factors (of maximum/minimum and pow); the comparisons give 0/1 masks.
#define BINARY_OP_LIST(X) \
    X(ADD, 0)             \
    X(SUB, 1)             \
    X(MUL, 2)             \
    X(DIV, 3)             \
    X(MINIMUM, 4)         \
    X(MAXIMUM, 5)         \
    X(POW, 6)             \
    X(MAX_SHARE, 7)       \
    X(POW_DBASE, 8)       \
    X(POW_DEXP, 9)        \
    X(GT, 10)             \
    X(GE, 11)             \
    X(LT, 12)             \
    X(LE, 13)             \
    X(EQ, 14)             \
    X(NE, 15)

#define UNARY_ENUM_ITEM(NAME, CODE) UNARY_##NAME = CODE,
#define BINARY_ENUM_ITEM(NAME, CODE) BINARY_##NAME = CODE,
enum UnaryCode { UNARY_OP_LIST(UNARY_ENUM_ITEM) };
enum BinaryCode { BINARY_OP_LIST(BINARY_ENUM_ITEM) };

// The GELUs and SiLU, PyTorch's formulas (aten/src/ATen/native/cpu/Activation.cpp).
#define GELU_TANH_BETA 0.7978845608028654  // sqrt(2 / pi)
#define GELU_TANH_KAPPA 0.044715
#define INV_SQRT_2PI 0.3989422804014327
template <typename T> __forceinline__ T gelu_cdf(T x) {
    return T(0.5) * (T(1) + derf(x * T(0.7071067811865476)));
}
template <typename T> __forceinline__ T gelu_df(T x) {
    return gelu_cdf(x) + x * dexp(T(-0.5) * x * x) * T(INV_SQRT_2PI);
}
template <typename T> __forceinline__ T gelu_tanh_f(T x) {
    T inner = T(GELU_TANH_BETA) * (x + T(GELU_TANH_KAPPA) * x * x * x);
    return T(0.5) * x * (T(1) + dtanh(inner));
}
template <typename T> __forceinline__ T gelu_tanh_df(T x) {
    T t = dtanh(T(GELU_TANH_BETA) * (x + T(GELU_TANH_KAPPA) * x * x * x));
    return T(0.5) * (T(1) + t) +
           T(0.5) * x * (T(1) - t * t) * T(GELU_TANH_BETA) * (T(1) + T(3) * T(GELU_TANH_KAPPA) * x * x);
}
template <typename T> __forceinline__ T silu_df(T x) {
    T s = T(1) / (T(1) + dexp(-x));
    return s * (T(1) + x * (T(1) - s));
}

// Unary<OP, T>::f(x, p) = y and ::df(x, y, p) = dy/dx, the same formulas as the CPU's
// UnaryOp::f / UnaryOp::df (p is the op's scalar: exponent, added or multiplied constant).
template <unsigned OP, typename T> struct Unary;
#define UNARY_DEF(NAME, F, DF)                                      \
    template <typename T> struct Unary<UNARY_##NAME, T> {           \
        static __forceinline__ T f(T x, T p) { return F; }          \
        static __forceinline__ T df(T x, T y, T p) { return DF; }   \
    };
UNARY_DEF(NEG, -x, T(-1))
UNARY_DEF(EXP, dexp(x), y)
UNARY_DEF(LOG, dlog(x), T(1) / x)
UNARY_DEF(SQRT, dsqrt(x), T(0.5) / y)
UNARY_DEF(ABS, dabs(x), x > T(0) ? T(1) : (x < T(0) ? T(-1) : T(0)))
UNARY_DEF(RELU, x > T(0) ? x : T(0), x > T(0) ? T(1) : T(0))
UNARY_DEF(SIGMOID, T(1) / (T(1) + dexp(-x)), y * (T(1) - y))
UNARY_DEF(TANH, dtanh(x), T(1) - y * y)
UNARY_DEF(POWF, dpow(x, p), p * dpow(x, p - T(1)))
UNARY_DEF(ADD_SCALAR, x + p, T(1))
UNARY_DEF(MUL_SCALAR, x * p, p)
UNARY_DEF(LEAKY_RELU, x > T(0) ? x : x * p, x > T(0) ? T(1) : p)
UNARY_DEF(GELU, x * gelu_cdf(x), gelu_df(x))
UNARY_DEF(GELU_TANH, gelu_tanh_f(x), gelu_tanh_df(x))
UNARY_DEF(SILU, x / (T(1) + dexp(-x)), silu_df(x))
UNARY_DEF(CLAMP_MIN, x < p ? p : x, x >= p ? T(1) : T(0))
UNARY_DEF(CLAMP_MAX, x > p ? p : x, x <= p ? T(1) : T(0))

// Binary<OP, T>::f(a, b).
template <unsigned OP, typename T> struct Binary;
#define BINARY_DEF(NAME, F)                                      \
    template <typename T> struct Binary<BINARY_##NAME, T> {      \
        static __forceinline__ T f(T a, T b) { return F; }       \
    };
BINARY_DEF(ADD, a + b)
BINARY_DEF(SUB, a - b)
BINARY_DEF(MUL, a * b)
BINARY_DEF(DIV, a / b)
BINARY_DEF(MINIMUM, (disnan(a) || a < b) ? a : b)
BINARY_DEF(MAXIMUM, (disnan(a) || a > b) ? a : b)
BINARY_DEF(POW, dpow(a, b))
BINARY_DEF(MAX_SHARE, a == b ? T(0.5) : (a < b ? T(0) : T(1)))
BINARY_DEF(POW_DBASE, b == T(0) ? T(0) : b * dpow(a, b - T(1)))
BINARY_DEF(POW_DEXP, (a == T(0) && b >= T(0)) ? T(0) : dpow(a, b) * dlog(a))
BINARY_DEF(GT, a > b ? T(1) : T(0))
BINARY_DEF(GE, a >= b ? T(1) : T(0))
BINARY_DEF(LT, a < b ? T(1) : T(0))
BINARY_DEF(LE, a <= b ? T(1) : T(0))
BINARY_DEF(EQ, a == b ? T(1) : T(0))
BINARY_DEF(NE, a != b ? T(1) : T(0))
