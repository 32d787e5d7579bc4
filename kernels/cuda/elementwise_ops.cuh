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
    X(MUL_SCALAR, 10)

// X(NAME, CODE) for every binary op (codes 4.. reserved for min, max, pow).
#define BINARY_OP_LIST(X) \
    X(ADD, 0)             \
    X(SUB, 1)             \
    X(MUL, 2)             \
    X(DIV, 3)

#define UNARY_ENUM_ITEM(NAME, CODE) UNARY_##NAME = CODE,
#define BINARY_ENUM_ITEM(NAME, CODE) BINARY_##NAME = CODE,
enum UnaryCode { UNARY_OP_LIST(UNARY_ENUM_ITEM) };
enum BinaryCode { BINARY_OP_LIST(BINARY_ENUM_ITEM) };

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
