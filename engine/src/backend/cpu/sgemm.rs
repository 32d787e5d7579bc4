//! The f32 GEMM behind `f32::gemm`: the packed SIMD kernels of the run-time ISA
//! ([`super::simd::isa`]) for the products the engine makes (`alpha = 1`, B and C with
//! unit column stride, non-negative strides), `matrixmultiply` for everything else and on
//! CPUs without AVX2 (the portable path; it has AVX/AVX-512 kernels of its own).

use super::gemm_blocked::{self, View};
use super::simd::{self, Isa};

/// `C = alpha A B + beta C` with `matrixmultiply::sgemm`'s signature and contract.
///
/// # Safety
/// As `matrixmultiply::sgemm`: the pointers and strides describe valid m x k, k x n and
/// m x n matrices, C not overlapping A or B.
#[allow(clippy::too_many_arguments)]
pub unsafe fn sgemm(
    m: usize,
    k: usize,
    n: usize,
    alpha: f32,
    a: *const f32,
    rsa: isize,
    csa: isize,
    b: *const f32,
    rsb: isize,
    csb: isize,
    beta: f32,
    c: *mut f32,
    rsc: isize,
    csc: isize,
) {
    sgemm_on(
        simd::isa(),
        m,
        k,
        n,
        alpha,
        a,
        rsa,
        csa,
        b,
        rsb,
        csb,
        beta,
        c,
        rsc,
        csc,
    )
}

/// [`sgemm`] on a given path (the tests run every path the CPU has).
///
/// # Safety
/// As [`sgemm`], and `isa` must be supported by this CPU.
#[allow(clippy::too_many_arguments)]
pub unsafe fn sgemm_on(
    isa: Isa,
    m: usize,
    k: usize,
    n: usize,
    alpha: f32,
    a: *const f32,
    rsa: isize,
    csa: isize,
    b: *const f32,
    rsb: isize,
    csb: isize,
    beta: f32,
    c: *mut f32,
    rsc: isize,
    csc: isize,
) {
    let strides = [rsa, csa, rsb, csb, rsc];
    // A transposed B (column stride > 1) is gathered element by element when packed, which
    // made the packed path slower than `matrixmultiply` there (BENCHMARKS.md, gemm_paths).
    let packed = alpha == 1.0
        && csc == 1
        && csb == 1
        && m > 0
        && n > 0
        && k > 0
        && strides.iter().all(|&s| s >= 0)
        && rsc as usize >= n;
    let view = |p, rs: isize, cs: isize| View {
        ptr: p,
        rs: rs as usize,
        cs: cs as usize,
    };
    let (va, vb, rsc_u) = (view(a, rsa, csa), view(b, rsb, csb), rsc as usize);
    match isa {
        #[cfg(target_arch = "x86_64")]
        Isa::Avx512 if packed => {
            gemm_blocked::gemm::<super::gemm_avx512::Avx512>(m, k, n, va, vb, beta, c, rsc_u)
        }
        #[cfg(target_arch = "x86_64")]
        Isa::Avx2 if packed => {
            gemm_blocked::gemm::<super::gemm_avx2::Avx2>(m, k, n, va, vb, beta, c, rsc_u)
        }
        _ => matrixmultiply::sgemm(m, k, n, alpha, a, rsa, csa, b, rsb, csb, beta, c, rsc, csc),
    }
}
