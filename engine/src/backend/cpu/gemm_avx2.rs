//! The AVX2 + FMA micro-kernel: 6 rows x 16 columns (two ymm per row): 12 accumulators,
//! 2 rows of B and one broadcast fit the 16 registers (a 4 x 24 tile needs all 16 and
//! spilled); per depth step 2 loads of B and 6 broadcasts feed 12 FMAs.

#[cfg(target_arch = "x86_64")]
use std::arch::x86_64::{
    _mm256_fmadd_ps, _mm256_loadu_ps, _mm256_mul_ps, _mm256_set1_ps, _mm256_setzero_ps,
    _mm256_storeu_ps,
};

#[cfg(target_arch = "x86_64")]
super::gemm_blocked::micro_kernel!(
    Avx2,
    "avx2,fma",
    6,
    2,
    8,
    _mm256_setzero_ps,
    _mm256_loadu_ps,
    _mm256_storeu_ps,
    _mm256_set1_ps,
    _mm256_mul_ps,
    _mm256_fmadd_ps
);
