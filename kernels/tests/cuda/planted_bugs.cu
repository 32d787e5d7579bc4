// Planted bugs for the simulator's checkers, each next to its correct twin. The tests expect the
// `_bad` kernel to be reported with one specific SimError kind and the `_ok` twin to run clean.

// Out-of-bounds write: `<=` writes y[n], one past the end of the allocation.
extern "C" __global__ void oob_write_bad(const float* x, float* y, unsigned n) {
    unsigned i = blockIdx.x * blockDim.x + threadIdx.x;
    if (i <= n) y[i] = (i < n ? x[i] : 0.0f) * 2.0f;
}
extern "C" __global__ void oob_write_ok(const float* x, float* y, unsigned n) {
    unsigned i = blockIdx.x * blockDim.x + threadIdx.x;
    if (i < n) y[i] = x[i] * 2.0f;
}

// Shared-memory race: each thread writes s[t] and reads its neighbour's s[t+1] with no barrier
// in between (read-after-write hazard across warps). The twin has the __syncthreads().
extern "C" __global__ void shared_race_bad(const float* x, float* y, unsigned n) {
    __shared__ float s[256];
    unsigned t = threadIdx.x, i = blockIdx.x * blockDim.x + t;
    s[t] = i < n ? x[i] : 0.0f;
    float right = s[(t + 1) % blockDim.x];
    if (i < n) y[i] = right;
}
extern "C" __global__ void shared_race_ok(const float* x, float* y, unsigned n) {
    __shared__ float s[256];
    unsigned t = threadIdx.x, i = blockIdx.x * blockDim.x + t;
    s[t] = i < n ? x[i] : 0.0f;
    __syncthreads();
    float right = s[(t + 1) % blockDim.x];
    if (i < n) y[i] = right;
}

// Divergent barrier: threads t < 16 wait at a __syncthreads() inside the branch while the others
// go on to the barrier after it; no thread has exited, so the block is split between two
// barriers. The twin keeps the branch but moves its barrier out.
extern "C" __global__ void barrier_divergence_bad(const float* x, float* y, unsigned n) {
    __shared__ float s[256];
    unsigned t = threadIdx.x, i = blockIdx.x * blockDim.x + t;
    s[t] = i < n ? x[i] : 0.0f;
    if (t < 16) {
        s[t] *= 2.0f;
        __syncthreads();
    }
    __syncthreads();
    if (i < n) y[i] = s[blockDim.x - 1 - t];
}
extern "C" __global__ void barrier_divergence_ok(const float* x, float* y, unsigned n) {
    __shared__ float s[256];
    unsigned t = threadIdx.x, i = blockIdx.x * blockDim.x + t;
    s[t] = i < n ? x[i] : 0.0f;
    if (t < 16) s[t] *= 2.0f;
    __syncthreads();
    if (i < n) y[i] = s[blockDim.x - 1 - t];
}
