// Recursive device functions, for the simulator's call stack: direct recursion (fib), mutual
// recursion through another function (is_even / is_odd), a local array per invocation
// (depth_sum), and a recursion as deep as asked (deep) that must stop at the depth limit.
//
// It lives in tests/ptx_nvrtc, not tests/cuda: recursion makes ptxas save callee-saved registers
// on the stack, which check_ptxas.py counts as spills (it fails on any). Regenerate by hand:
// copy it to tests/cuda, run scripts/build_ptx.py, move the .ptx here, remove the copy.

__device__ __noinline__ unsigned fib(unsigned n) { return n < 2 ? n : fib(n - 1) + fib(n - 2); }

__device__ __noinline__ unsigned is_odd(unsigned n);
__device__ __noinline__ unsigned is_even(unsigned n) { return n == 0 ? 1u : is_odd(n - 1); }
__device__ __noinline__ unsigned is_odd(unsigned n) { return n == 0 ? 0u : is_even(n - 1); }

// Each invocation keeps n in its own local array slot across the recursive call.
__device__ __noinline__ unsigned depth_sum(unsigned n) {
    volatile unsigned a[4];
    a[n & 3] = n;
    if (n == 0) return 0;
    unsigned r = depth_sum(n - 1);
    return r + a[n & 3];
}

// (3 * deep + 1 is no accumulator, so the compiler cannot turn the recursion into a loop)
__device__ __noinline__ unsigned deep(unsigned n) { return n == 0 ? 0u : deep(n - 1) * 3 + 1; }

extern "C" __global__ void recursion(unsigned* out, unsigned n) {
    unsigned t = blockIdx.x * blockDim.x + threadIdx.x;
    if (t >= n) return;
    out[3 * t] = fib(t % 16);
    out[3 * t + 1] = is_even(t);
    out[3 * t + 2] = depth_sum(t % 40);
}

extern "C" __global__ void deep_calls(unsigned* out, unsigned depth) {
    out[threadIdx.x] = deep(depth + threadIdx.x);
}
