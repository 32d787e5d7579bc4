// Optimizer steps: one fused launch over a flat contiguous parameter buffer (the engine keeps
// parameters, gradients and state as views into flat buffers), the formulas and operation
// order of the CPU's engine/src/optim/{adam,sgd}.rs (PyTorch's Adam, AdamW, SGD).
// Launch: 1-D, 256 threads per block, any grid (grid-stride); elementwise, no races.
#include "common.cuh"
#include "math.cuh"

#define OPTIM_THREADS 256

// Adam (decoupled == 0: L2, the decay added to the gradient) or AdamW (decoupled != 0: the
// parameter shrunk by lr * weight_decay first). bias_correction1 = 1 - beta1^t,
// bias_correction2 = 1 - beta2^t for the step t (1-based) being taken:
//   g = grad + l2 * p;  p *= shrink;  m = b1 m + (1 - b1) g;  v = b2 v + (1 - b2) g g;
//   p -= (lr / bc1) * m / (sqrt(v) / sqrt(bc2) + eps)
template <typename T>
__device__ __forceinline__ void adam_step(T* __restrict__ param, const T* __restrict__ grad,
                                          T* __restrict__ m, T* __restrict__ v, unsigned n,
                                          T lr, T beta1, T beta2, T eps, T weight_decay,
                                          T bias_correction1, T bias_correction2,
                                          unsigned decoupled) {
    T l2 = decoupled ? T(0) : weight_decay;
    T shrink = decoupled ? T(1) - lr * weight_decay : T(1);
    T step_size = lr / bias_correction1, bc2_sqrt = dsqrt(bias_correction2);
    T one_b1 = T(1) - beta1, one_b2 = T(1) - beta2;
    GRID_STRIDE_LOOP(i, n) {
        T p = param[i];
        T g = grad[i] + l2 * p;
        p *= shrink;
        T mi = beta1 * m[i] + one_b1 * g;
        T vi = beta2 * v[i] + one_b2 * g * g;
        m[i] = mi;
        v[i] = vi;
        param[i] = p - step_size * mi / (dsqrt(vi) / bc2_sqrt + eps);
    }
}

// SGD with optional momentum, dampening, weight decay and Nesterov:
//   d = grad + wd * p;
//   momentum == 0: p -= lr * d                       (momentum_buf not touched: may be null)
//   else: buf = first_step ? d : momentum * buf + (1 - dampening) * d;
//         p -= lr * (nesterov ? d + momentum * buf : buf)
template <typename T>
__device__ __forceinline__ void sgd_step(T* __restrict__ param, const T* __restrict__ grad,
                                         T* __restrict__ buf, unsigned n, T lr, T momentum,
                                         T dampening, T weight_decay, unsigned nesterov,
                                         unsigned first_step) {
    if (momentum == T(0)) {
        GRID_STRIDE_LOOP(i, n) {
            T p = param[i];
            param[i] = p - lr * (grad[i] + weight_decay * p);
        }
        return;
    }
    T keep = T(1) - dampening;
    GRID_STRIDE_LOOP(i, n) {
        T p = param[i];
        T d = grad[i] + weight_decay * p;
        T b = first_step ? d : momentum * buf[i] + keep * d;
        buf[i] = b;
        param[i] = p - lr * (nesterov ? d + momentum * b : b);
    }
}

#define OPTIM_ENTRIES(T, S)                                                                    \
    extern "C" __global__ void __launch_bounds__(OPTIM_THREADS)                                \
        adam_step_##S(T* param, const T* grad, T* m, T* v, unsigned n, T lr, T beta1, T beta2,  \
                      T eps, T weight_decay, T bias_correction1, T bias_correction2,           \
                      unsigned decoupled) {                                                    \
        adam_step<T>(param, grad, m, v, n, lr, beta1, beta2, eps, weight_decay,                \
                     bias_correction1, bias_correction2, decoupled);                           \
    }                                                                                          \
    extern "C" __global__ void __launch_bounds__(OPTIM_THREADS)                                \
        sgd_step_##S(T* param, const T* grad, T* momentum_buf, unsigned n, T lr, T momentum,    \
                     T dampening, T weight_decay, unsigned nesterov, unsigned first_step) {    \
        sgd_step<T>(param, grad, momentum_buf, n, lr, momentum, dampening, weight_decay,       \
                    nesterov, first_step);                                                     \
    }
OPTIM_ENTRIES(float, f32)
OPTIM_ENTRIES(double, f64)
