// GEMM (f32: sgemm_f32, f64: gemm_f64, one template), row-major, optionally transposed operands, optionally batched:
//
//     C[b] = alpha * op(A[b]) * op(B[b]) + beta * C[b]      for b in 0 .. batch
//
// op(A) is M x K, op(B) is K x N, C is M x N. Element (i, k) of op(A) is A[i*lda + k], or
// A[k*lda + i] when transA != 0; element (k, j) of op(B) is B[k*ldb + j], or B[j*ldb + k] when
// transB != 0; C(i, j) is C[i*ldc + j]. Batch b starts at A + b*strideA, B + b*strideB and
// C + b*strideC. When beta == 0, C is not read (it may hold NaN).
//
// Launch: block (16, 16, 1) = 256 threads; grid (ceil(N/64), ceil(M/64), batch) or smaller: the
// kernel strides over output tiles and batches, so any grid works. Any M, N, K >= 0.
#include "common.cuh"
#include "math.cuh"

#define TILE_M 64   // rows of C per block tile
#define TILE_N 64   // columns of C per block tile
#define TILE_K 16   // depth of one shared-memory stage
#define THREADS 256 // 16 x 16 threads, each computes 4 x 4 outputs
#define MICRO 4
// Shared tiles are stored k-major with a row of 66 floats: the transposing stores of the
// non-transposed A (and transposed B) then hit distinct banks (2k + m mod 32), and the compute
// loop reads 16 consecutive floats (B) or broadcasts (A).
#define SMEM_STRIDE (TILE_M + 2)

template <typename T>
__device__ __forceinline__ void gemm(int M, int N, int K, T alpha,
                                     const T* __restrict__ A, int lda, long long strideA, int transA,
                                     const T* __restrict__ B, int ldb, long long strideB, int transB,
                                     T beta, T* __restrict__ C, int ldc, long long strideC, int batch) {
    __shared__ T As[TILE_K][SMEM_STRIDE];  // As[k][m] = op(A)(tile_m0 + m, k0 + k)
    __shared__ T Bs[TILE_K][SMEM_STRIDE];  // Bs[k][n] = op(B)(k0 + k, tile_n0 + n)

    const int tx = threadIdx.x;               // 0..15: output columns tx, tx+16, tx+32, tx+48
    const int ty = threadIdx.y;               // 0..15: output rows    ty, ty+16, ty+32, ty+48
    const int tid = ty * 16 + tx;             // 0..255, used for the tile loads
    const int tiles_m = (M + TILE_M - 1) / TILE_M;
    const int tiles_n = (N + TILE_N - 1) / TILE_N;

    for (int b = blockIdx.z; b < batch; b += gridDim.z) {
        const T* Ab = A + b * strideA;
        const T* Bb = B + b * strideB;
        T* Cb = C + b * strideC;
        for (int tm = blockIdx.y; tm < tiles_m; tm += gridDim.y) {
            for (int tn = blockIdx.x; tn < tiles_n; tn += gridDim.x) {
                const int m0 = tm * TILE_M, n0 = tn * TILE_N;
                T acc[MICRO][MICRO];
#pragma unroll
                for (int i = 0; i < MICRO; ++i)
#pragma unroll
                    for (int j = 0; j < MICRO; ++j) acc[i][j] = T(0);

                for (int k0 = 0; k0 < K; k0 += TILE_K) {
                    // Load op(A)[m0 .. m0+64, k0 .. k0+16] into As (zeros outside the matrix).
                    // Each thread loads 4 elements; consecutive threads read consecutive
                    // addresses of the stored matrix (coalesced).
#pragma unroll
                    for (int r = 0; r < 4; ++r) {
                        int m, k;
                        if (!transA) { m = tid / TILE_K + 16 * r; k = tid % TILE_K; }  // k fastest
                        else         { m = tid % TILE_M; k = tid / TILE_M + 4 * r; }   // m fastest
                        int gm = m0 + m, gk = k0 + k;
                        T v = T(0);
                        if (gm < M && gk < K)
                            v = transA ? Ab[(long long)gk * lda + gm] : Ab[(long long)gm * lda + gk];
                        As[k][m] = v;
                    }
                    // Load op(B)[k0 .. k0+16, n0 .. n0+64] into Bs, same scheme.
#pragma unroll
                    for (int r = 0; r < 4; ++r) {
                        int k, n;
                        if (!transB) { n = tid % TILE_N; k = tid / TILE_N + 4 * r; }   // n fastest
                        else         { n = tid / TILE_K + 16 * r; k = tid % TILE_K; }  // k fastest
                        int gk = k0 + k, gn = n0 + n;
                        T v = T(0);
                        if (gk < K && gn < N)
                            v = transB ? Bb[(long long)gn * ldb + gk] : Bb[(long long)gk * ldb + gn];
                        Bs[k][n] = v;
                    }
                    __syncthreads();

                    // Register blocking: per k, 4 values of A and 4 of B feed 16 FMAs.
#pragma unroll
                    for (int k = 0; k < TILE_K; ++k) {
                        T a[MICRO], bv[MICRO];
#pragma unroll
                        for (int i = 0; i < MICRO; ++i) a[i] = As[k][ty + 16 * i];
#pragma unroll
                        for (int j = 0; j < MICRO; ++j) bv[j] = Bs[k][tx + 16 * j];
#pragma unroll
                        for (int i = 0; i < MICRO; ++i)
#pragma unroll
                            for (int j = 0; j < MICRO; ++j) acc[i][j] = dfma(a[i], bv[j], acc[i][j]);
                    }
                    __syncthreads();  // the tiles are overwritten by the next stage
                }

                // Epilogue: a warp writes two rows of 16 consecutive floats per store.
#pragma unroll
                for (int i = 0; i < MICRO; ++i) {
                    int gm = m0 + ty + 16 * i;
                    if (gm >= M) continue;
#pragma unroll
                    for (int j = 0; j < MICRO; ++j) {
                        int gn = n0 + tx + 16 * j;
                        if (gn >= N) continue;
                        T* c = Cb + (long long)gm * ldc + gn;
                        T v = alpha * acc[i][j];
                        *c = beta == T(0) ? v : dfma(beta, *c, v);
                    }
                }
            }
        }
    }
}

#define GEMM_ENTRY(T, NAME)                                                                      \
    extern "C" __global__ void __launch_bounds__(THREADS)                                        \
        NAME(int M, int N, int K, T alpha, const T* __restrict__ A, int lda, long long strideA,  \
             int transA, const T* __restrict__ B, int ldb, long long strideB, int transB,        \
             T beta, T* __restrict__ C, int ldc, long long strideC, int batch) {                 \
        gemm<T>(M, N, K, alpha, A, lda, strideA, transA, B, ldb, strideB, transB, beta, C, ldc,  \
                strideC, batch);                                                                 \
    }
GEMM_ENTRY(float, sgemm_f32)  // the historical name, kept for its callers
GEMM_ENTRY(double, gemm_f64)
