// Dataset-side kernels: batch gather + normalisation from the device-resident u8 dataset, label
// gather, and the per-batch accuracy / loss accumulation that lets the trainer read its
// metrics once per epoch (no host round trip per step).
// Launch: 1-D, 256 threads per block (a multiple of 32, at most 256: the launch bounds), any
// grid (grid-stride loops).
#include "common.cuh"
#include "math.cuh"
#include "block.cuh"

#define DATA_THREADS 256

// out[b, p] = (images[idx[b] * pixels + p] / 255 - mean) / std. Consecutive threads take
// consecutive pixels of one image: coalesced byte loads and T stores.
template <typename T>
__device__ __forceinline__ void gather_normalize(const unsigned char* __restrict__ images,
                                                 const unsigned* __restrict__ indices,
                                                 T* __restrict__ out, unsigned batch,
                                                 unsigned pixels, T mean, T std) {
    GRID_STRIDE_LOOP(k, (unsigned long long)batch * pixels) {
        unsigned long long b = k / pixels, p = k % pixels;
        T v = T(images[(unsigned long long)indices[b] * pixels + p]);
        out[k] = (v / T(255) - mean) / std;
    }
}

// Index of the first maximum of a row, or of its first NaN (the CPU's argmax_rows rule).
template <typename T> __device__ __forceinline__ unsigned row_argmax(const T* x, unsigned cols) {
    unsigned best = 0;
    for (unsigned c = 1; c < cols; ++c) {
        T v = x[c], b = x[best];
        if (v > b || (disnan(v) && !disnan(b))) best = c;
    }
    return best;
}

// *correct += #{r : argmax(logits[r]) == labels[r]} (integer atomicAdd, one per block: exact
// whatever the order); *loss_sum += mean_loss[0] * rows (the batch's summed loss from its mean,
// added by one thread: deterministic). Launch on the same stream after the batch's loss.
template <typename T>
__device__ __forceinline__ void accuracy_loss_accumulate(const T* __restrict__ logits,
                                                         const unsigned* __restrict__ labels,
                                                         const T* __restrict__ mean_loss,
                                                         unsigned rows, unsigned cols,
                                                         unsigned* __restrict__ correct,
                                                         T* __restrict__ loss_sum) {
    unsigned hits = 0;
    GRID_STRIDE_LOOP(r, rows) {
        hits += cols > 0 && row_argmax(logits + r * cols, cols) == labels[r];
    }
    unsigned block_hits = block_sum(hits);
    if (threadIdx.x == 0 && block_hits) atomicAdd(correct, block_hits);
    if (blockIdx.x == 0 && threadIdx.x == 0) *loss_sum += mean_loss[0] * T(rows);
}

#define DATA_ENTRIES(T, S)                                                                      \
    extern "C" __global__ void __launch_bounds__(DATA_THREADS)                                  \
        gather_normalize_u8_##S(const unsigned char* images, const unsigned* indices, T* out,   \
                                unsigned batch, unsigned pixels, T mean, T std) {               \
        gather_normalize<T>(images, indices, out, batch, pixels, mean, std);                    \
    }                                                                                           \
    extern "C" __global__ void __launch_bounds__(DATA_THREADS)                                  \
        accuracy_loss_accumulate_##S(const T* logits, const unsigned* labels,                   \
                                     const T* mean_loss, unsigned rows, unsigned cols,          \
                                     unsigned* correct, T* loss_sum) {                          \
        accuracy_loss_accumulate<T>(logits, labels, mean_loss, rows, cols, correct, loss_sum);  \
    }
DATA_ENTRIES(float, f32)
DATA_ENTRIES(double, f64)

// out[b] = labels[indices[b]] widened to u32.
extern "C" __global__ void __launch_bounds__(DATA_THREADS)
gather_labels_u32(const unsigned char* __restrict__ labels, const unsigned* __restrict__ indices,
                  unsigned* __restrict__ out, unsigned batch) {
    GRID_STRIDE_LOOP(b, batch) { out[b] = labels[indices[b]]; }
}
