// Optimizer steps with the formulas and operation order of the CPU's
// engine/src/optim/{adam,sgd}.rs (PyTorch's Adam, AdamW, SGD): over one contiguous buffer
// (`adam_step`, `sgd_step`), or over up to MULTI_MAX tensors of a model in one launch
// (`adam_step_multi`, `sgd_step_multi`). The multi-tensor table travels by value in the
// launch's parameters (no device table to upload, whatever the addresses): tensor k covers
// elements off[k] .. off[k+1] of the concatenation, ptr[5k .. 5k+5] its (param, grad,
// state0, state1, state2) addresses.
// Launch: 1-D, 256 threads per block, any grid (grid-stride); elementwise, no races.
#include "common.cuh"
#include "math.cuh"

#define OPTIM_THREADS 256

// Adam (decoupled == 0: L2, the decay added to the gradient) or AdamW (decoupled != 0: the
// parameter shrunk by lr * weight_decay first). bias_correction1 = 1 - beta1^t,
// bias_correction2 = 1 - beta2^t for the step t (1-based) being taken:
//   g = grad + l2 * p;  p *= shrink;  m = b1 m + (1 - b1) g;  v = b2 v + (1 - b2) g g;
//   amsgrad: vmax = max(vmax, v) and vhat = vmax, else vhat = v (PyTorch: the maximum of
//   the raw second moments, bias-corrected afterwards);
//   p -= (lr / bc1) * m / (sqrt(vhat) / sqrt(bc2) + eps)
// The per-step coefficients once, and the update of element i of one tensor.
template <typename T> struct AdamRule {
    T l2, shrink, step_size, bc2_sqrt, beta1, beta2, one_b1, one_b2, eps;
    unsigned amsgrad;
    __device__ __forceinline__ AdamRule(T lr, T b1, T b2, T e, T weight_decay, T bc1, T bc2,
                                        unsigned decoupled, unsigned ams) {
        l2 = decoupled ? T(0) : weight_decay;
        shrink = decoupled ? T(1) - lr * weight_decay : T(1);
        step_size = lr / bc1;
        bc2_sqrt = dsqrt(bc2);
        beta1 = b1;
        beta2 = b2;
        one_b1 = T(1) - b1;
        one_b2 = T(1) - b2;
        eps = e;
        amsgrad = ams;
    }
    __device__ __forceinline__ void update(T* param, const T* grad, T* m, T* v, T* vmax,
                                           unsigned long long i) const {
        T p = param[i];
        T g = grad[i] + l2 * p;
        p *= shrink;
        T mi = beta1 * m[i] + one_b1 * g;
        T vi = beta2 * v[i] + one_b2 * g * g;
        m[i] = mi;
        v[i] = vi;
        if (amsgrad) {
            T old = vmax[i];
            vi = old >= vi ? old : vi;  // a NaN v propagates, like torch.maximum
            vmax[i] = vi;
        }
        param[i] = p - step_size * mi / (dsqrt(vi) / bc2_sqrt + eps);
    }
};

template <typename T>
__device__ __forceinline__ void adam_step(T* __restrict__ param, const T* __restrict__ grad,
                                          T* __restrict__ m, T* __restrict__ v, unsigned n,
                                          T lr, T beta1, T beta2, T eps, T weight_decay,
                                          T bias_correction1, T bias_correction2,
                                          unsigned decoupled, T* __restrict__ vmax,
                                          unsigned amsgrad) {
    AdamRule<T> rule(lr, beta1, beta2, eps, weight_decay, bias_correction1, bias_correction2,
                     decoupled, amsgrad);
    GRID_STRIDE_LOOP(i, n) { rule.update(param, grad, m, v, vmax, i); }
}

// SGD with optional momentum, dampening, weight decay and Nesterov:
//   d = grad + wd * p;
//   momentum == 0: p -= lr * d                       (buf not touched: may be null)
//   else: buf = first_step ? d : momentum * buf + (1 - dampening) * d;
//         p -= lr * (nesterov ? d + momentum * buf : buf)
template <typename T> struct SgdRule {
    T lr, momentum, keep, weight_decay;
    unsigned nesterov, first_step;
    __device__ __forceinline__ SgdRule(T l, T mom, T dampening, T wd, unsigned nest,
                                       unsigned first) {
        lr = l;
        momentum = mom;
        keep = T(1) - dampening;
        weight_decay = wd;
        nesterov = nest;
        first_step = first;
    }
    __device__ __forceinline__ void update(T* param, const T* grad, T* buf,
                                           unsigned long long i) const {
        T p = param[i];
        T d = grad[i] + weight_decay * p;
        if (momentum == T(0)) {
            param[i] = p - lr * d;
            return;
        }
        T b = first_step ? d : momentum * buf[i] + keep * d;
        buf[i] = b;
        param[i] = p - lr * (nesterov ? d + momentum * b : b);
    }
};

template <typename T>
__device__ __forceinline__ void sgd_step(T* __restrict__ param, const T* __restrict__ grad,
                                         T* __restrict__ buf, unsigned n, T lr, T momentum,
                                         T dampening, T weight_decay, unsigned nesterov,
                                         unsigned first_step) {
    SgdRule<T> rule(lr, momentum, dampening, weight_decay, nesterov, first_step);
    GRID_STRIDE_LOOP(i, n) { rule.update(param, grad, buf, i); }
}

#define MULTI_MAX 32
#define MULTI_PTRS 5

struct MultiTable {
    unsigned long long ptr[MULTI_PTRS * MULTI_MAX];
    unsigned off[MULTI_MAX + 1];
};

// The tensor of the table that holds element e: the last k with off[k] <= e.
__device__ __forceinline__ unsigned tensor_of(const MultiTable* t, unsigned count, unsigned e) {
    unsigned lo = 0, hi = count;  // t->off[lo] <= e < t->off[hi]
    while (hi - lo > 1) {
        unsigned mid = (lo + hi) / 2;
        if (t->off[mid] <= e) lo = mid; else hi = mid;
    }
    return lo;
}

// adam_step over every tensor of the table (the same coefficients for all).
template <typename T>
__device__ __forceinline__ void adam_step_multi(const MultiTable& t, unsigned count, T lr,
                                                T beta1, T beta2, T eps, T weight_decay,
                                                T bias_correction1, T bias_correction2,
                                                unsigned decoupled, unsigned amsgrad) {
    AdamRule<T> rule(lr, beta1, beta2, eps, weight_decay, bias_correction1, bias_correction2,
                     decoupled, amsgrad);
    GRID_STRIDE_LOOP(e, t.off[count]) {
        unsigned k = tensor_of(&t, count, e);
        const unsigned long long* a = t.ptr + MULTI_PTRS * k;
        rule.update((T*)a[0], (const T*)a[1], (T*)a[2], (T*)a[3], (T*)a[4], e - t.off[k]);
    }
}

// sgd_step over every tensor of the table (state0: the momentum buffer, unused at momentum 0).
template <typename T>
__device__ __forceinline__ void sgd_step_multi(const MultiTable& t, unsigned count, T lr,
                                               T momentum, T dampening, T weight_decay,
                                               unsigned nesterov, unsigned first_step) {
    SgdRule<T> rule(lr, momentum, dampening, weight_decay, nesterov, first_step);
    GRID_STRIDE_LOOP(e, t.off[count]) {
        unsigned k = tensor_of(&t, count, e);
        const unsigned long long* a = t.ptr + MULTI_PTRS * k;
        rule.update((T*)a[0], (const T*)a[1], (T*)a[2], e - t.off[k]);
    }
}

#define OPTIM_ENTRIES(T, S)                                                                    \
    extern "C" __global__ void __launch_bounds__(OPTIM_THREADS)                                \
        adam_step_##S(T* param, const T* grad, T* m, T* v, unsigned n, T lr, T beta1, T beta2,  \
                      T eps, T weight_decay, T bias_correction1, T bias_correction2,           \
                      unsigned decoupled, T* vmax, unsigned amsgrad) {                         \
        adam_step<T>(param, grad, m, v, n, lr, beta1, beta2, eps, weight_decay,                \
                     bias_correction1, bias_correction2, decoupled, vmax, amsgrad);            \
    }                                                                                          \
    extern "C" __global__ void __launch_bounds__(OPTIM_THREADS)                                \
        sgd_step_##S(T* param, const T* grad, T* momentum_buf, unsigned n, T lr, T momentum,    \
                     T dampening, T weight_decay, unsigned nesterov, unsigned first_step) {    \
        sgd_step<T>(param, grad, momentum_buf, n, lr, momentum, dampening, weight_decay,       \
                    nesterov, first_step);                                                     \
    }                                                                                          \
    extern "C" __global__ void __launch_bounds__(OPTIM_THREADS)                                \
        adam_step_multi_##S(MultiTable table, unsigned count, T lr, T beta1, T beta2, T eps,   \
                            T weight_decay, T bias_correction1, T bias_correction2,            \
                            unsigned decoupled, unsigned amsgrad) {                            \
        adam_step_multi<T>(table, count, lr, beta1, beta2, eps, weight_decay,                  \
                           bias_correction1, bias_correction2, decoupled, amsgrad);            \
    }                                                                                          \
    extern "C" __global__ void __launch_bounds__(OPTIM_THREADS)                                \
        sgd_step_multi_##S(MultiTable table, unsigned count, T lr, T momentum, T dampening,    \
                           T weight_decay, unsigned nesterov, unsigned first_step) {           \
        sgd_step_multi<T>(table, count, lr, momentum, dampening, weight_decay, nesterov,       \
                          first_step);                                                         \
    }
OPTIM_ENTRIES(float, f32)
OPTIM_ENTRIES(double, f64)
